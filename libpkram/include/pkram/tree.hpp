// Saving a directory tree into a node and restoring it. Each file system
// entry becomes one object named by its path relative to the tree's root:
// file data goes in its page stream (holes stay holes), the entry's metadata
// (pkram/entry_meta.hpp) in its byte stream. Regular files, directories,
// symlinks, hard links, FIFOs, sockets and device nodes are kept, with mode,
// owner, times and extended attributes. File data moves on `threads` threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "pkram/client.hpp"
#include "pkram/entry_meta.hpp"

namespace pkram {

struct TreeStats {
	uint64_t entries = 0;
	uint64_t files = 0;       // regular files whose data was copied
	uint64_t bytes = 0;       // file data bytes copied
	uint64_t total_bytes = 0; // file data bytes to copy, known after the walk
};

// Called from worker threads, serialized, after each entry: for progress output.
using TreeProgress = std::function<void(const TreeStats &)>;

struct SaveOptions {
	bool data_crc = false; // seal with data checksums
	unsigned threads = 1;
	TreeProgress progress;
};

struct RestoreOptions {
	unsigned threads = 1;
	TreeProgress progress;
	// Fill files shared by several threads through one shared mapping of
	// each: page faults insert the pages in parallel (as the seed's in-kernel
	// restore does), where write(2) serializes writers of a file on its lock.
	// Under TCG it measured slower than write(2) (1.5 s against 0.95 s for a
	// 48 MiB file on four vCPUs), so it is asked for, not the default.
	bool through_mapping = false;
};

// Creates node `node_name`, saves the tree under `dir` into it and seals it.
// On failure the half-written node is freed again.
Result<TreeStats> save_tree(Device &dev, const std::string &dir, const std::string &node_name,
			    const SaveOptions &options = {});

// Rebuilds the tree of node `node_name` under `dir` (created if missing; what
// it contains must not collide with the tree).
Result<TreeStats> restore_tree(Device &dev, const std::string &node_name, const std::string &dir,
			       const RestoreOptions &options = {});

} // namespace pkram
