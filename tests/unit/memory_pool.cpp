// The in-memory pool: the ioctl ABI of /dev/pkram over memfds (see the header).
#include "memory_pool.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <linux/pkram.h>

extern "C" {
#include "pkram_format.h"
}

namespace pkram::test {

namespace {

int fail(int err)
{
	errno = err;
	return -1;
}

ino_t inode_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) ? 0 : st.st_ino;
}

std::string_view user_string(uint64_t ptr, uint32_t len)
{
	return {reinterpret_cast<const char *>(static_cast<uintptr_t>(ptr)), len};
}

// A name passed as pointer and length, checked by the format's rule for its
// kind (pkram_fmt_check_node_name or _obj_name); 0 or an errno.
int checked_name(uint64_t ptr, uint32_t len, int (*rule)(const char *, size_t), std::string &name)
{
	name = user_string(ptr, len);
	return -rule(name.data(), name.size());
}

// The ABI's size rule, kept simple: the struct this test was built with.
template <typename T> T *arg_of(void *arg)
{
	auto *a = static_cast<T *>(arg);
	return a->size == sizeof(T) ? a : nullptr;
}

// Data runs of a stream (the module's extents, without its 2 MiB rules).
uint32_t data_runs(int fd)
{
	uint32_t runs = 0;
	for (off_t off = 0;; runs++) {
		off_t data = lseek(fd, off, SEEK_DATA);
		if (data < 0)
			return runs;
		off = lseek(fd, data, SEEK_HOLE);
		if (off < 0)
			return runs + 1;
	}
}

uint64_t allocated_bytes(int fd)
{
	struct stat st;
	return fstat(fd, &st) ? 0 : static_cast<uint64_t>(st.st_blocks) * 512;
}

uint64_t size_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) ? 0 : static_cast<uint64_t>(st.st_size);
}

} // namespace

int MemoryPool::new_handle(Handle h)
{
	int fd = memfd_create("pkram-handle", MFD_CLOEXEC);
	if (fd >= 0)
		handles_[inode_of(fd)] = std::move(h);
	return fd;
}

Device MemoryPool::device()
{
	std::lock_guard guard(lock_);
	return Device(UniqueFd(new_handle({})), shared_from_this());
}

const MemoryPool::Handle *MemoryPool::handle_of(int fd) const
{
	auto it = handles_.find(inode_of(fd));
	return it == handles_.end() ? nullptr : &it->second;
}

std::shared_ptr<MemoryPool::Node> MemoryPool::find_node(const std::string &name) const
{
	for (const auto &n : nodes_)
		if (n->name == name)
			return n;
	return nullptr;
}

// An object fd: the stream's memfd opened again, read-only unless the node is open.
int MemoryPool::object_fd(const std::shared_ptr<Node> &node, const std::shared_ptr<Object> &obj, int stream)
{
	std::string path = "/proc/self/fd/" + std::to_string(obj->stream[stream].get());
	int flags = (node->state == NodeState::open ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	return ::open(path.c_str(), flags);
}

int MemoryPool::ioctl(int fd, unsigned long cmd, void *arg)
{
	std::lock_guard guard(lock_);
	const Handle *h = handle_of(fd);
	if (!h)
		return fail(EBADF);
	Handle here = *h; // the calls below may change the handle table
	bool device = !here.node, node = here.node && !here.object;
	switch (cmd) {
	case PKRAM_IOC_POOL_STATUS:
		return device ? pool_status(arg) : fail(ENOTTY);
	case PKRAM_IOC_NODE_CREATE:
	case PKRAM_IOC_NODE_OPEN:
		return device ? node_create_open(cmd, arg) : fail(ENOTTY);
	case PKRAM_IOC_NODE_FREE:
		return device ? node_free(arg) : fail(ENOTTY);
	case PKRAM_IOC_NODE_STAT:
		return device ? node_stat(here, cmd, arg) : fail(ENOTTY);
	case PKRAM_IOC_POOL_ADOPT:
	case PKRAM_IOC_POOL_DISCARD:
		return device ? fail(ENOENT) : fail(ENOTTY); // never a stale pool
	case PKRAM_IOC_NODE_INFO:
		return node ? node_stat(here, cmd, arg) : fail(ENOTTY);
	case PKRAM_IOC_NODE_SEAL:
		return node ? node_seal(here, arg) : fail(ENOTTY);
	case PKRAM_IOC_NODE_VERIFY:
		return node ? node_verify(here, arg) : fail(ENOTTY);
	case PKRAM_IOC_OBJ_OPEN:
		return node ? obj_open(here, arg) : fail(ENOTTY);
	case PKRAM_IOC_OBJ_STAT:
		return node ? obj_stat(here, cmd, arg) : fail(ENOTTY);
	case PKRAM_IOC_OBJ_DELETE:
		return node ? obj_delete(here, arg) : fail(ENOTTY);
	case PKRAM_IOC_OBJ_RENAME:
		return node ? obj_rename(here, arg) : fail(ENOTTY);
	case PKRAM_IOC_OBJ_INFO:
		return here.object ? obj_stat(here, cmd, arg) : fail(ENOTTY);
	case PKRAM_IOC_OBJ_TRUNCATE:
		return here.object ? obj_truncate(fd, here, arg) : fail(ENOTTY);
	default:
		return fail(ENOTTY);
	}
}

int MemoryPool::pool_status(void *arg)
{
	auto *a = arg_of<pkram_pool_status>(arg);
	if (!a)
		return fail(EINVAL);
	a->abi_version = PKRAM_ABI_VERSION;
	a->format_version = PKRAM_FMT_VERSION;
	a->nr_nodes = static_cast<uint32_t>(nodes_.size());
	uint64_t used = 0;
	for (const auto &n : nodes_)
		for (const auto &o : n->objects)
			used += allocated_bytes(o->stream[0].get()) + allocated_bytes(o->stream[1].get());
	a->used_bytes = used;
	a->pool_bytes = used; // no size of its own: never full
	return 0;
}

int MemoryPool::node_create_open(unsigned long cmd, void *arg)
{
	auto *a = arg_of<pkram_node_open>(arg);
	if (!a || (a->flags & ~PKRAM_NODE_OPEN_WRITE) || (cmd == PKRAM_IOC_NODE_CREATE && a->flags))
		return fail(EINVAL);
	std::string name;
	if (int err = checked_name(a->name, a->name_len, pkram_fmt_check_node_name, name))
		return fail(err);
	auto node = find_node(name);
	if (cmd == PKRAM_IOC_NODE_CREATE) {
		if (node)
			return fail(EEXIST);
		node = std::make_shared<Node>();
		node->name = name;
		nodes_.push_back(node);
	} else if (!node) {
		return fail(ENOENT);
	} else if (a->flags & PKRAM_NODE_OPEN_WRITE) {
		node->state = NodeState::open;
		node->data_crc = false;
	}
	a->fd = new_handle({node, nullptr, 0});
	return a->fd < 0 ? -1 : 0;
}

int MemoryPool::node_free(void *arg)
{
	auto *a = arg_of<pkram_node_free>(arg);
	if (!a || a->flags || a->reserved)
		return fail(EINVAL);
	std::string name;
	if (int err = checked_name(a->name, a->name_len, pkram_fmt_check_node_name, name))
		return fail(err);
	for (auto it = nodes_.begin(); it != nodes_.end(); ++it)
		if ((*it)->name == name) {
			nodes_.erase(it);
			return 0;
		}
	return fail(ENOENT);
}

int MemoryPool::node_stat(const Handle &h, unsigned long cmd, void *arg)
{
	auto *a = arg_of<pkram_node_stat>(arg);
	if (!a)
		return fail(EINVAL);
	std::shared_ptr<Node> node = h.node;
	if (cmd == PKRAM_IOC_NODE_STAT) {
		if (a->index >= nodes_.size())
			return fail(ENOENT);
		node = nodes_[a->index];
	}
	std::memset(a->name, 0, sizeof(a->name));
	std::memcpy(a->name, node->name.data(), node->name.size());
	a->state = static_cast<uint32_t>(node->state);
	a->nr_objects = static_cast<uint32_t>(node->objects.size());
	a->data_bytes = 0;
	for (const auto &o : node->objects)
		a->data_bytes += allocated_bytes(o->stream[0].get()) + allocated_bytes(o->stream[1].get());
	a->meta_bytes = 0;
	a->open_fds = 0;
	a->flags = node->data_crc ? PKRAM_NODE_HAS_DATA_CRC : 0;
	return 0;
}

int MemoryPool::node_seal(const Handle &h, void *arg)
{
	auto *a = arg_of<pkram_node_seal>(arg);
	if (!a || (a->flags & ~PKRAM_SEAL_DATA_CRC))
		return fail(EINVAL);
	if (h.node->state != NodeState::open)
		return 0;
	h.node->state = NodeState::sealed;
	h.node->data_crc = a->flags & PKRAM_SEAL_DATA_CRC;
	return 0;
}

int MemoryPool::node_verify(const Handle &h, void *arg)
{
	auto *a = arg_of<pkram_node_verify>(arg);
	if (!a || a->flags)
		return fail(EINVAL);
	if (h.node->state == NodeState::open || !h.node->data_crc)
		return fail(ENODATA);
	a->checked_extents = a->checked_bytes = a->bad_extents = 0;
	a->bad_objects = 0;
	for (const auto &o : h.node->objects) {
		a->checked_extents += data_runs(o->stream[0].get());
		a->checked_bytes += allocated_bytes(o->stream[0].get());
	}
	return 0;
}

int MemoryPool::obj_open(const Handle &h, void *arg)
{
	auto *a = arg_of<pkram_obj_open>(arg);
	if (!a || (a->flags & ~(PKRAM_OBJ_CREATE | PKRAM_OBJ_EXCL | PKRAM_OBJ_BYTES)))
		return fail(EINVAL);
	std::string name;
	if (int err = checked_name(a->name, a->name_len, pkram_fmt_check_obj_name, name))
		return fail(err);
	int stream = (a->flags & PKRAM_OBJ_BYTES) ? 1 : 0;
	std::shared_ptr<Object> obj;
	for (const auto &o : h.node->objects)
		if (o->name == name)
			obj = o;
	if (obj && (a->flags & PKRAM_OBJ_CREATE) && (a->flags & PKRAM_OBJ_EXCL))
		return fail(EEXIST);
	if (!obj) {
		if (!(a->flags & PKRAM_OBJ_CREATE))
			return fail(ENOENT);
		if (h.node->state != NodeState::open)
			return fail(EROFS);
		obj = std::make_shared<Object>();
		obj->id = h.node->next_id++;
		obj->name = name;
		for (int s = 0; s < 2; s++) {
			obj->stream[s].reset(memfd_create("pkram-object", MFD_CLOEXEC));
			if (!obj->stream[s].valid())
				return -1;
			handles_[inode_of(obj->stream[s].get())] = {h.node, obj, s};
		}
		h.node->objects.push_back(obj);
	}
	a->fd = object_fd(h.node, obj, stream);
	return a->fd < 0 ? -1 : 0;
}

int MemoryPool::obj_stat(const Handle &h, unsigned long cmd, void *arg)
{
	auto *a = arg_of<pkram_obj_stat>(arg);
	if (!a || a->reserved || a->id || a->name_len || a->nr_extents || a->nr_huge)
		return fail(EINVAL);
	std::shared_ptr<Object> obj = h.object;
	if (cmd == PKRAM_IOC_OBJ_STAT) {
		for (const auto &o : h.node->objects)
			if (o->id >= a->cursor) {
				obj = o;
				break;
			}
		if (!obj)
			return fail(ENOENT);
	}
	int pages = obj->stream[0].get(), bytes = obj->stream[1].get();
	a->id = obj->id;
	a->page_size = size_of(pages);
	a->byte_size = size_of(bytes);
	a->data_bytes = allocated_bytes(pages) + allocated_bytes(bytes);
	a->name_len = static_cast<uint32_t>(obj->name.size());
	a->nr_extents = data_runs(pages);
	a->nr_huge = 0;
	if (a->name_buf_len < a->name_len + 1)
		return fail(ENAMETOOLONG);
	std::memcpy(reinterpret_cast<char *>(static_cast<uintptr_t>(a->name)), obj->name.c_str(),
		    a->name_len + 1);
	return 0;
}

int MemoryPool::obj_delete(const Handle &h, void *arg)
{
	auto *a = arg_of<pkram_obj_delete>(arg);
	if (!a || a->flags || a->reserved)
		return fail(EINVAL);
	std::string name;
	if (int err = checked_name(a->name, a->name_len, pkram_fmt_check_obj_name, name))
		return fail(err);
	if (h.node->state != NodeState::open)
		return fail(EROFS);
	auto &objs = h.node->objects;
	for (auto it = objs.begin(); it != objs.end(); ++it)
		if ((*it)->name == name) {
			objs.erase(it); // open fds keep the memfds' data until closed
			return 0;
		}
	return fail(ENOENT);
}

int MemoryPool::obj_rename(const Handle &h, void *arg)
{
	auto *a = arg_of<pkram_obj_rename>(arg);
	if (!a || (a->flags & ~PKRAM_RENAME_NOREPLACE) || a->reserved || a->pad)
		return fail(EINVAL);
	std::string from, to;
	if (int err = checked_name(a->old_name, a->old_len, pkram_fmt_check_obj_name, from))
		return fail(err);
	if (int err = checked_name(a->new_name, a->new_len, pkram_fmt_check_obj_name, to))
		return fail(err);
	if (h.node->state != NodeState::open)
		return fail(EROFS);
	auto &objs = h.node->objects;
	std::shared_ptr<Object> src;
	auto dst = objs.end();
	for (auto it = objs.begin(); it != objs.end(); ++it) {
		if ((*it)->name == from)
			src = *it;
		if ((*it)->name == to)
			dst = it;
	}
	if (!src)
		return fail(ENOENT);
	if (from == to)
		return 0;
	if (dst != objs.end()) {
		if (a->flags & PKRAM_RENAME_NOREPLACE)
			return fail(EEXIST);
		objs.erase(dst);
	}
	src->name = to;
	return 0;
}

int MemoryPool::obj_truncate(int fd, const Handle &h, void *arg)
{
	auto *a = arg_of<pkram_obj_truncate>(arg);
	if (!a || a->flags)
		return fail(EINVAL);
	if (h.node->state != NodeState::open)
		return fail(EROFS);
	return ftruncate(fd, static_cast<off_t>(a->length));
}

void MemoryPool::kexec()
{
	std::lock_guard guard(lock_);
	std::vector<std::shared_ptr<Node>> kept;
	for (auto &n : nodes_)
		if (n->state != NodeState::open) {
			n->state = NodeState::restored;
			kept.push_back(n);
		}
	nodes_ = std::move(kept);
}

} // namespace pkram::test
