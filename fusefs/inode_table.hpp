// The inode table: the numbers pkramfs gives the kernel and what each stands
// for while the kernel holds a lookup of it. An entry's number is the entry's
// own (kept in its Entry): renames keep it, forgets do not end it.
#pragma once

#include <fuse3/fuse_lowlevel.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "model.hpp"

namespace pkramfs {

static_assert(sizeof(fuse_ino_t) == 8, "inode numbers are 64-bit");

enum class Kind { root, nodes_dir, status, entry };

// The inode numbers of /pkram/nodes and /pkram/status; entries' numbers
// come after them.
constexpr fuse_ino_t nodes_dir_ino = FUSE_ROOT_ID + 1;
constexpr fuse_ino_t status_ino = FUSE_ROOT_ID + 2;

// What the kernel knows by an inode number, while it holds a lookup.
struct Inode {
	Kind kind = Kind::entry;
	std::string node; // Kind::entry
	std::string path; // Kind::entry: "" is the node's root; follows renames
	uint64_t nlookup = 0;
	// An entry removed from its tree while the kernel holds it (an unlinked
	// file still open): its last metadata, kept here until the forget.
	std::optional<Entry> unlinked;
};

class InodeTable {
      public:
	// The root: the node `single` with -o pkram=NAME, else the list of nodes.
	explicit InodeTable(const std::string &single);

	Inode *inode(fuse_ino_t ino);
	// The inode of /pkram/nodes or /pkram/status.
	fuse_ino_t fixed_ino(Kind kind);
	// An entry's inode number, given on first use.
	fuse_ino_t number(Entry &e);
	// The inode of the entry at path, for the kernel to hold.
	fuse_ino_t entry_ino(const std::string &node, const std::string &path, Entry &e);
	void forget(fuse_ino_t ino, uint64_t n);
	// Moves the inodes at and under from to `to`, so open handles follow.
	void rekey(const std::string &node, const std::string &from, const std::string &to);
	// e leaves its tree: an inode the kernel holds keeps its metadata, so an
	// unlinked file stays usable through its open descriptors.
	void detach(const Entry &e);

      private:
	std::map<fuse_ino_t, Inode> inodes_;
	fuse_ino_t next_ino_ = status_ino + 1;
};

} // namespace pkramfs
