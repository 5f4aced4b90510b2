// One mount's state: the inode table and the node cache under one lock
// (data I/O runs without it).
#pragma once

#include <mutex>
#include <string>

#include "inode_table.hpp"
#include "node_cache.hpp"

namespace pkramfs {

struct Fs {
	Fs(pkram::Device dev, const std::string &single, bool unseal)
	    : inodes(single), nodes(std::move(dev), single, unseal)
	{}

	std::mutex lock;
	InodeTable inodes;
	NodeCache nodes;
};

} // namespace pkramfs
