// The inode table (inode_table.hpp).
#include "inode_table.hpp"

#include <algorithm>

namespace pkramfs {

InodeTable::InodeTable(const std::string &single)
{
	Inode root;
	root.kind = single.empty() ? Kind::root : Kind::entry;
	root.node = single;
	root.nlookup = 1;
	inodes_[FUSE_ROOT_ID] = root;
}

Inode *InodeTable::inode(fuse_ino_t ino)
{
	auto it = inodes_.find(ino);
	return it == inodes_.end() ? nullptr : &it->second;
}

fuse_ino_t InodeTable::fixed_ino(Kind kind)
{
	fuse_ino_t ino = kind == Kind::nodes_dir ? nodes_dir_ino : status_ino;
	inodes_[ino].kind = kind;
	return ino;
}

fuse_ino_t InodeTable::number(Entry &e)
{
	if (!e.ino)
		e.ino = next_ino_++;
	return e.ino;
}

fuse_ino_t InodeTable::entry_ino(const std::string &node, const std::string &path, Entry &e)
{
	Inode &in = inodes_[number(e)];
	in.kind = Kind::entry;
	in.node = node;
	in.path = path;
	return e.ino;
}

void InodeTable::forget(fuse_ino_t ino, uint64_t n)
{
	auto it = inodes_.find(ino);
	if (it == inodes_.end() || ino == FUSE_ROOT_ID)
		return;
	it->second.nlookup -= std::min(n, it->second.nlookup);
	if (!it->second.nlookup)
		inodes_.erase(it);
}

void InodeTable::rekey(const std::string &node, const std::string &from, const std::string &to)
{
	for (auto &[ino, in] : inodes_) {
		if (in.kind != Kind::entry || in.node != node || in.unlinked)
			continue;
		if (in.path == from || in.path.rfind(from + "/", 0) == 0)
			in.path = to + in.path.substr(from.size());
	}
}

void InodeTable::detach(const Entry &e)
{
	if (auto it = inodes_.find(e.ino); e.ino && it != inodes_.end())
		it->second.unlinked = e;
}

} // namespace pkramfs
