// pkramfs's view of one node: the tree its objects make, with each entry's
// metadata from its byte stream. Paths are object names ("" is the root).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "pkram/client.hpp"
#include "pkram/entry_meta.hpp"

namespace pkramfs {

struct Entry {
	pkram::EntryMeta meta;
	bool has_object = false; // false: a directory implied by its children
	uint64_t data_size = 0;  // files: the page stream's size
	uint64_t ino = 0;        // pkramfs's inode number, from its first use on
	uint32_t links = 1;      // files: the names that reach its data (itself
				 // and the hardlink entries naming it)
};

class NodeTree {
      public:
	// Loads every object of the node (one open per object and stream).
	static pkram::Result<NodeTree> load(const pkram::Node &node);

	const Entry *find(const std::string &path) const;
	Entry *find(const std::string &path);
	const std::set<std::string> *children(const std::string &dir) const;
	void put(const std::string &path, Entry entry); // adds parents as needed
	void erase(const std::string &path);
	// Moves path (and, for a directory, everything under it) to to.
	void move(const std::string &from, const std::string &to);
	// Every path at or under `path`, parents first.
	std::vector<std::string> subtree(const std::string &path) const;
	// How many entries are hard links (none: renames need not look for them).
	size_t hardlinks() const { return hardlinks_; }

      private:
	void count(const std::string &path, int delta);

	std::map<std::string, Entry> entries_;
	std::map<std::string, std::set<std::string>> children_;
	size_t hardlinks_ = 0;
};

std::string parent_of(const std::string &path);
std::string base_of(const std::string &path);
std::string join(const std::string &dir, std::string_view name);

} // namespace pkramfs
