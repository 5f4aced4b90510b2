// The node cache (node_cache.hpp).
#include "node_cache.hpp"

#include <fuse3/fuse_lowlevel.h>

namespace pkramfs {

pkram::Result<Mounted *> NodeCache::mounted(const std::string &name)
{
	if (auto it = nodes_.find(name); it != nodes_.end())
		return it->second.get();
	bool write = unseal_ && name == single_;
	auto handle = dev_.open_node(name, write);
	if (!handle && handle.error().errnum == ENOENT && name == single_)
		handle = dev_.create_node(name);
	if (!handle)
		return handle.error();
	auto info = handle->info();
	if (!info)
		return info.error();
	auto tree = NodeTree::load(*handle);
	if (!tree)
		return tree.error();
	if (name == single_)
		tree->find("")->ino = FUSE_ROOT_ID; // the mount's root
	auto m = std::make_unique<Mounted>(Mounted{std::move(*handle), std::move(*tree),
						   info->state == pkram::NodeState::open, info->state});
	auto *raw = m.get();
	nodes_[name] = std::move(m);
	return raw;
}

} // namespace pkramfs
