// Saving a directory tree into a node and restoring it. Each file system
// entry becomes one object named by its path relative to the tree's root:
// file data goes in the page stream, and the entry's metadata (type, mode,
// owner, times, size, link target) in the byte stream as JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "pkram/client.hpp"

namespace pkram {

struct EntryMeta {
	enum class Type { file, dir, symlink } type = Type::file;
	uint32_t mode = 0; // permission bits only
	uint32_t uid = 0;
	uint32_t gid = 0;
	int64_t mtime_ns = 0;
	int64_t atime_ns = 0;
	uint64_t size = 0;  // files: the logical size (trailing holes included)
	std::string target; // symlinks
};

std::string encode_meta(const EntryMeta &meta);
Result<EntryMeta> decode_meta(std::string_view text);

struct TreeStats {
	uint64_t entries = 0;
	uint64_t files = 0;
	uint64_t bytes = 0; // file data bytes copied
};

// Called after each entry; for progress output.
using TreeProgress = std::function<void(const TreeStats &)>;

struct SaveOptions {
	bool data_crc = false; // seal with data checksums
	TreeProgress progress;
};

// Creates node `node_name`, saves the tree under `dir` into it and seals it.
Result<TreeStats> save_tree(Device &dev, const std::string &dir, const std::string &node_name,
			    const SaveOptions &options = {});

// Rebuilds the tree of node `node_name` under `dir` (created if missing).
Result<TreeStats> restore_tree(Device &dev, const std::string &node_name, const std::string &dir,
			       const TreeProgress &progress = {});

} // namespace pkram
