// pkramfs: pkram nodes as a file system (libfuse3, low-level API).
//
//   pkramfs [-f] [-d] [-o OPTIONS] [none] MOUNTPOINT
//   mount -t fuse.pkramfs [-o OPTIONS] none MOUNTPOINT
//
// Without -o pkram=NAME the mount shows every node: MOUNTPOINT/nodes/NODE/...
// and MOUNTPOINT/status (the pool as JSON). mkdir MOUNTPOINT/nodes/NAME
// creates an open node; rmdir frees an empty one. With -o pkram=NAME the mount
// is the tree of node NAME alone (created if missing), like the seed's tmpfs.
// Files, directories, symlinks and special files written into an open node
// become its objects. setfattr -n user.pkram.seal -v 1 (or -v checksum) on
// any directory of a node seals it; sealed and restored nodes are read-only
// (-o unseal makes the node of -o pkram=NAME writable again).
#define FUSE_USE_VERSION 34

#include <fuse3/fuse_lowlevel.h>

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "model.hpp"
#include "pkram/client.hpp"
#include "session_io.hpp"

namespace pkramfs {

using pkram::EntryMeta;

static_assert(sizeof(fuse_ino_t) == 8, "inode numbers are 64-bit");

constexpr double attr_timeout = 1.0;
constexpr const char *seal_xattr = "user.pkram.seal";
constexpr const char *state_xattr = "user.pkram.state";

enum class Kind { root, nodes_dir, status, entry };

struct Inode {
	Kind kind = Kind::entry;
	std::string node; // Kind::entry
	std::string path; // Kind::entry: "" is the node's root
	uint64_t nlookup = 0;
};

// A node the file system has loaded.
struct Mounted {
	pkram::Node handle;
	NodeTree tree;
	bool writable = false;
	pkram::NodeState state = pkram::NodeState::open;
};

// An open file: an object fd, or the text of the status file.
struct FileHandle {
	std::unique_ptr<pkram::Object> obj;
	std::string node, path;
	std::string text;
	bool dirty = false;
};

struct DirHandle {
	std::vector<std::pair<std::string, mode_t>> entries;
};

int64_t now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

mode_t type_bits(EntryMeta::Type t)
{
	switch (t) {
	case EntryMeta::Type::dir:
		return S_IFDIR;
	case EntryMeta::Type::symlink:
		return S_IFLNK;
	case EntryMeta::Type::fifo:
		return S_IFIFO;
	case EntryMeta::Type::chr:
		return S_IFCHR;
	case EntryMeta::Type::blk:
		return S_IFBLK;
	case EntryMeta::Type::sock:
		return S_IFSOCK;
	default:
		return S_IFREG;
	}
}

// Lock order: Fs::lock, then nothing: data I/O runs without it.
class Fs {
      public:
	Fs(pkram::Device dev, std::string single, bool unseal)
		: dev_(std::move(dev)), single_(std::move(single)), unseal_(unseal)
	{
		Inode root;
		root.kind = single_.empty() ? Kind::root : Kind::entry;
		root.node = single_;
		root.nlookup = 1;
		inodes_[FUSE_ROOT_ID] = root;
		by_key_[key(root)] = FUSE_ROOT_ID;
	}

	std::mutex lock;

	pkram::Device &dev() { return dev_; }
	const std::string &single() const { return single_; }

	Inode *inode(fuse_ino_t ino)
	{
		auto it = inodes_.find(ino);
		return it == inodes_.end() ? nullptr : &it->second;
	}

	fuse_ino_t ino_for(Kind kind, const std::string &node, const std::string &path)
	{
		Inode in;
		in.kind = kind;
		in.node = node;
		in.path = path;
		auto [it, fresh] = by_key_.try_emplace(key(in), next_ino_);
		if (fresh)
			inodes_[next_ino_++] = in;
		return it->second;
	}

	void forget(fuse_ino_t ino, uint64_t n)
	{
		auto it = inodes_.find(ino);
		if (it == inodes_.end() || ino == FUSE_ROOT_ID)
			return;
		it->second.nlookup -= std::min(n, it->second.nlookup);
		if (!it->second.nlookup) {
			by_key_.erase(key(it->second));
			inodes_.erase(it);
		}
	}

	// Renames the inodes at and under from, so open handles follow.
	void rekey(const std::string &node, const std::string &from, const std::string &to)
	{
		for (auto &[ino, in] : inodes_) {
			if (in.kind != Kind::entry || in.node != node)
				continue;
			if (in.path == from || in.path.rfind(from + "/", 0) == 0) {
				by_key_.erase(key(in));
				in.path = to + in.path.substr(from.size());
				by_key_[key(in)] = ino;
			}
		}
	}

	// Loads a node on first use.
	pkram::Result<Mounted *> mounted(const std::string &name)
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
		auto m = std::make_unique<Mounted>(
			Mounted{std::move(*handle), std::move(*tree), info->state == pkram::NodeState::open,
				info->state});
		auto *raw = m.get();
		nodes_[name] = std::move(m);
		return raw;
	}

	void unload(const std::string &name) { nodes_.erase(name); }

      private:
	static std::tuple<int, std::string, std::string> key(const Inode &in)
	{
		return {static_cast<int>(in.kind), in.node, in.path};
	}

	pkram::Device dev_;
	std::string single_;
	bool unseal_;
	std::map<fuse_ino_t, Inode> inodes_;
	std::map<std::tuple<int, std::string, std::string>, fuse_ino_t> by_key_;
	fuse_ino_t next_ino_ = FUSE_ROOT_ID + 1;
	std::map<std::string, std::unique_ptr<Mounted>> nodes_;
};

Fs &fs_of(fuse_req_t req) { return *static_cast<Fs *>(fuse_req_userdata(req)); }

// Every callback replies exactly once; an exception never reaches libfuse.
template <typename F> void guarded(fuse_req_t req, F &&body)
{
	try {
		int err = body();
		if (err)
			fuse_reply_err(req, err);
	} catch (const std::bad_alloc &) {
		fuse_reply_err(req, ENOMEM);
	} catch (...) {
		fuse_reply_err(req, EIO);
	}
}

// The return value of guarded bodies that replied themselves.
constexpr int replied = 0;

pkram::Status store_meta(Mounted &m, const std::string &path, const EntryMeta &meta)
{
	auto obj = m.handle.open_object(path, {.stream = pkram::Stream::bytes, .create = true});
	if (!obj)
		return obj.error();
	std::string text = pkram::encode_meta(meta);
	if (auto s = obj->pwrite_all(text.data(), text.size(), 0); !s)
		return s;
	return obj->truncate(text.size());
}

// Whether the requesting process holds CAP_FSETID, so that its writes and
// truncations keep set-ID bits (as the kernel decides for local files);
// its uid decides when it is gone.
bool caller_keeps_setid(fuse_req_t req)
{
	const fuse_ctx *ctx = fuse_req_ctx(req);
	__user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, static_cast<int>(ctx->pid)};
	__user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3]{};
	if (ctx->pid > 0 && syscall(SYS_capget, &hdr, caps) == 0)
		return caps[CAP_TO_INDEX(CAP_FSETID)].effective & CAP_TO_MASK(CAP_FSETID);
	return ctx->uid == 0;
}

// Writing, truncating or chowning a file clears its set-user-ID bit, and
// set-group-ID when group execute is set. The kernel leaves that to pkramfs
// (FUSE_HANDLE_KILLPRIV and _V2); true when meta changed.
bool kill_suidgid(EntryMeta &meta)
{
	uint32_t kill = S_ISUID | ((meta.mode & S_IXGRP) ? S_ISGID : 0);
	if (meta.type == EntryMeta::Type::dir || !(meta.mode & kill))
		return false;
	meta.mode &= ~kill;
	return true;
}

// Set-ID bits of path's entry dropped and stored, unless the caller keeps
// them; 0 or errno.
int drop_setid_unless_kept(fuse_req_t req, Mounted &m, const std::string &path, Entry &e)
{
	EntryMeta meta = e.meta;
	if (!kill_suidgid(meta) || caller_keeps_setid(req))
		return 0;
	if (auto s = store_meta(m, path, meta); !s)
		return s.error().errnum;
	e.meta = meta;
	return 0;
}

void fill_stat(const Inode &in, const Mounted *m, fuse_ino_t ino, struct stat *st)
{
	std::memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	if (in.kind == Kind::root || in.kind == Kind::nodes_dir) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	}
	if (in.kind == Kind::status) {
		st->st_mode = S_IFREG | 0444;
		st->st_size = 4096; // read with direct I/O: the real length
		return;
	}
	const Entry *e = m->tree.find(in.path);
	const EntryMeta &meta = e->meta;
	st->st_mode = type_bits(meta.type) | meta.mode;
	if (in.path.empty() && !m->writable)
		st->st_mode &= ~static_cast<mode_t>(0222);
	st->st_uid = meta.uid;
	st->st_gid = meta.gid;
	st->st_rdev = static_cast<dev_t>(meta.rdev);
	st->st_mtim = {meta.mtime_ns / 1000000000, meta.mtime_ns % 1000000000};
	st->st_atim = {meta.atime_ns / 1000000000, meta.atime_ns % 1000000000};
	st->st_ctim = st->st_mtim;
	if (meta.type == EntryMeta::Type::dir)
		st->st_nlink = 2;
	else if (meta.type == EntryMeta::Type::symlink)
		st->st_size = static_cast<off_t>(meta.target.size());
	else
		st->st_size = static_cast<off_t>(e->data_size);
	st->st_blocks = (st->st_size + 511) / 512;
}

// The node and entry of an inode, loading the node; errno on failure.
int resolve(Fs &fs, fuse_ino_t ino, Inode *&in, Mounted *&m, Entry *&e)
{
	in = fs.inode(ino);
	m = nullptr;
	e = nullptr;
	if (!in)
		return ESTALE;
	if (in->kind != Kind::entry)
		return 0;
	auto mounted = fs.mounted(in->node);
	if (!mounted)
		return mounted.error().errnum ? mounted.error().errnum : EIO;
	m = *mounted;
	e = m->tree.find(in->path);
	return e ? 0 : ENOENT;
}

// What a callback works on: the inode, its loaded node and its entry.
struct Target {
	Fs &fs;
	Inode *in;
	Mounted *m; // nullptr unless in->kind == Kind::entry
	Entry *e;   // likewise
};

// Runs body(target) under the lock, with the inode resolved (and its node
// loaded); body returns an errno, or `replied`.
template <typename F> void with_inode(fuse_req_t req, fuse_ino_t ino, F &&body)
{
	guarded(req, [&]() -> int {
		Fs &fs = fs_of(req);
		std::lock_guard guard(fs.lock);
		Inode *in;
		Mounted *m;
		Entry *e;
		if (int err = resolve(fs, ino, in, m, e))
			return err;
		return body(Target{fs, in, m, e});
	});
}

// The same, for an entry of a node that may be written.
template <typename F> void with_writable_entry(fuse_req_t req, fuse_ino_t ino, F &&body)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		if (t.in->kind != Kind::entry)
			return EPERM;
		if (!t.m->writable)
			return EROFS;
		return body(t);
	});
}

int reply_entry(fuse_req_t req, Fs &fs, Kind kind, const std::string &node, const std::string &path,
		const Mounted *m)
{
	fuse_entry_param ep{};
	ep.ino = fs.ino_for(kind, node, path);
	Inode *in = fs.inode(ep.ino);
	fill_stat(*in, m, ep.ino, &ep.attr);
	ep.attr_timeout = attr_timeout;
	ep.entry_timeout = kind == Kind::entry && !path.empty() ? attr_timeout : 0;
	in->nlookup++;
	fuse_reply_entry(req, &ep);
	return replied;
}

bool node_exists(Fs &fs, const std::string &name)
{
	auto nodes = fs.dev().nodes();
	if (!nodes)
		return false;
	for (const auto &n : *nodes)
		if (n.name == name)
			return true;
	return false;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	with_inode(req, parent, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		if (in->kind == Kind::root) {
			if (!std::strcmp(name, "nodes"))
				return reply_entry(req, fs, Kind::nodes_dir, "", "", nullptr);
			if (!std::strcmp(name, "status"))
				return reply_entry(req, fs, Kind::status, "", "", nullptr);
			return ENOENT;
		}
		if (in->kind == Kind::nodes_dir) {
			if (!node_exists(fs, name))
				return ENOENT;
			auto mounted = fs.mounted(name);
			if (!mounted)
				return mounted.error().errnum;
			return reply_entry(req, fs, Kind::entry, name, "", *mounted);
		}
		if (in->kind != Kind::entry || e->meta.type != EntryMeta::Type::dir)
			return ENOTDIR;
		std::string path = join(in->path, name);
		if (!m->tree.find(path))
			return ENOENT;
		return reply_entry(req, fs, Kind::entry, in->node, path, m);
	});
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	Fs &fs = fs_of(req);
	{
		std::lock_guard guard(fs.lock);
		fs.forget(ino, nlookup);
	}
	fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data *forgets)
{
	Fs &fs = fs_of(req);
	{
		std::lock_guard guard(fs.lock);
		for (size_t i = 0; i < count; i++)
			fs.forget(forgets[i].ino, forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info *)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		struct stat st;
		fill_stat(*in, m, ino, &st);
		fuse_reply_attr(req, &st, attr_timeout);
		return replied;
	});
}


void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, fuse_file_info *fi)
{
	with_writable_entry(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		EntryMeta meta = e->meta;
		if (to_set & FUSE_SET_ATTR_MODE)
			meta.mode = attr->st_mode & 07777;
		if (to_set & FUSE_SET_ATTR_UID)
			meta.uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			meta.gid = attr->st_gid;
		if (to_set & FUSE_SET_ATTR_MTIME)
			meta.mtime_ns = int64_t{attr->st_mtim.tv_sec} * 1000000000 + attr->st_mtim.tv_nsec;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			meta.mtime_ns = now_ns();
		if (to_set & FUSE_SET_ATTR_ATIME)
			meta.atime_ns = int64_t{attr->st_atim.tv_sec} * 1000000000 + attr->st_atim.tv_nsec;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			meta.atime_ns = now_ns();
		// A chown always, a truncation by a caller without CAP_FSETID
		// (an explicit chmod in the same request decides itself).
		if (!(to_set & FUSE_SET_ATTR_MODE) &&
		    ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) ||
		     ((to_set & FUSE_SET_ATTR_SIZE) && !caller_keeps_setid(req))))
			kill_suidgid(meta);
		if (to_set & FUSE_SET_ATTR_SIZE) {
			if (meta.type != EntryMeta::Type::file)
				return EINVAL;
			auto *fh = fi ? reinterpret_cast<FileHandle *>(fi->fh) : nullptr;
			std::unique_ptr<pkram::Object> own;
			pkram::Object *obj = fh && fh->obj ? fh->obj.get() : nullptr;
			if (!obj) {
				auto opened = m->handle.open_object(in->path, {.create = true});
				if (!opened)
					return opened.error().errnum;
				own = std::make_unique<pkram::Object>(std::move(*opened));
				obj = own.get();
			}
			if (auto s = obj->truncate(static_cast<uint64_t>(attr->st_size)); !s)
				return s.error().errnum;
			e->data_size = static_cast<uint64_t>(attr->st_size);
			if (!(to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)))
				meta.mtime_ns = now_ns();
		}
		meta.size = e->data_size;
		if (auto s = store_meta(*m, in->path, meta); !s)
			return s.error().errnum;
		e->meta = meta;
		e->has_object = true;
		struct stat st;
		fill_stat(*in, m, ino, &st);
		fuse_reply_attr(req, &st, attr_timeout);
		return replied;
	});
}

void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		if (!e || e->meta.type != EntryMeta::Type::symlink)
			return EINVAL;
		fuse_reply_readlink(req, e->meta.target.c_str());
		return replied;
	});
}

// Creates an entry of a writable node: its object(s), then the tree and reply.
int make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, EntryMeta meta, bool with_data,
	       fuse_file_info *fi)
{
	Fs &fs = fs_of(req);
	std::lock_guard guard(fs.lock);
	Inode *in;
	Mounted *m;
	Entry *e;
	if (int err = resolve(fs, parent, in, m, e))
		return err;
	if (in->kind == Kind::nodes_dir) {
		// mkdir nodes/NAME: a new open node.
		if (meta.type != EntryMeta::Type::dir)
			return EPERM;
		auto node = fs.dev().create_node(name);
		if (!node)
			return node.error().errnum;
		auto mounted = fs.mounted(name);
		if (!mounted)
			return mounted.error().errnum;
		return reply_entry(req, fs, Kind::entry, name, "", *mounted);
	}
	if (in->kind != Kind::entry)
		return EPERM;
	if (!m->writable)
		return EROFS;
	if (e->meta.type != EntryMeta::Type::dir)
		return ENOTDIR;
	std::string path = join(in->path, name);
	if (m->tree.find(path))
		return EEXIST;
	const fuse_ctx *ctx = fuse_req_ctx(req);
	meta.uid = ctx->uid;
	meta.gid = ctx->gid;
	meta.mtime_ns = meta.atime_ns = now_ns();
	std::unique_ptr<pkram::Object> data;
	if (with_data) {
		auto obj = m->handle.open_object(path, {.create = true, .exclusive = true});
		if (!obj)
			return obj.error().errnum;
		data = std::make_unique<pkram::Object>(std::move(*obj));
	}
	if (auto s = store_meta(*m, path, meta); !s) {
		(void)m->handle.delete_object(path);
		return s.error().errnum;
	}
	Entry entry;
	entry.meta = meta;
	entry.has_object = true;
	m->tree.put(path, entry);
	if (!fi)
		return reply_entry(req, fs, Kind::entry, in->node, path, m);
	fuse_entry_param ep{};
	ep.ino = fs.ino_for(Kind::entry, in->node, path);
	Inode *child = fs.inode(ep.ino);
	fill_stat(*child, m, ep.ino, &ep.attr);
	ep.attr_timeout = ep.entry_timeout = attr_timeout;
	auto fh = std::make_unique<FileHandle>();
	fh->obj = std::move(data);
	fh->node = in->node;
	fh->path = path;
	fi->fh = reinterpret_cast<uint64_t>(fh.get());
	child->nlookup++;
	if (fuse_reply_create(req, &ep, fi) == 0)
		fh.release();
	return replied;
}

EntryMeta new_meta(EntryMeta::Type type, mode_t mode)
{
	EntryMeta meta;
	meta.type = type;
	meta.mode = mode & 07777;
	return meta;
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	guarded(req, [&]() -> int {
		EntryMeta::Type type;
		switch (mode & S_IFMT) {
		case S_IFREG:
			type = EntryMeta::Type::file;
			break;
		case S_IFIFO:
			type = EntryMeta::Type::fifo;
			break;
		case S_IFCHR:
			type = EntryMeta::Type::chr;
			break;
		case S_IFBLK:
			type = EntryMeta::Type::blk;
			break;
		case S_IFSOCK:
			type = EntryMeta::Type::sock;
			break;
		default:
			return EINVAL;
		}
		EntryMeta meta = new_meta(type, mode);
		meta.rdev = rdev;
		return make_entry(req, parent, name, meta, type == EntryMeta::Type::file, nullptr);
	});
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	guarded(req, [&] {
		return make_entry(req, parent, name, new_meta(EntryMeta::Type::dir, mode), false, nullptr);
	});
}

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	guarded(req, [&] {
		EntryMeta meta = new_meta(EntryMeta::Type::symlink, 0777);
		meta.target = link;
		return make_entry(req, parent, name, meta, false, nullptr);
	});
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, fuse_file_info *fi)
{
	guarded(req, [&] {
		return make_entry(req, parent, name, new_meta(EntryMeta::Type::file, mode), true, fi);
	});
}

// A directory that exists only because of its children (no object of its
// own) would vanish with the last of them: give it an object, keep it.
int keep_emptied_dir(Mounted &m, const std::string &dir)
{
	Entry *p = m.tree.find(dir);
	if (dir.empty() || !p || p->has_object || !m.tree.children(dir)->empty())
		return 0;
	if (auto s = store_meta(m, dir, p->meta); !s)
		return s.error().errnum;
	p->has_object = true;
	return 0;
}

// Removes path's objects; its directory stays even when emptied.
int remove_entry(Mounted &m, const std::string &path)
{
	Entry *e = m.tree.find(path);
	if (e->has_object)
		if (auto s = m.handle.delete_object(path); !s)
			return s.error().errnum;
	m.tree.erase(path);
	return keep_emptied_dir(m, parent_of(path));
}

int unlink_common(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	Fs &fs = fs_of(req);
	std::lock_guard guard(fs.lock);
	Inode *in;
	Mounted *m;
	Entry *e;
	if (int err = resolve(fs, parent, in, m, e))
		return err;
	if (in->kind == Kind::nodes_dir) {
		// rmdir nodes/NAME frees the node, if it holds nothing.
		if (!dir)
			return EISDIR;
		auto mounted = fs.mounted(name);
		if (!mounted)
			return mounted.error().errnum;
		if (!(*mounted)->tree.children("")->empty())
			return ENOTEMPTY;
		fs.unload(name);
		auto s = fs.dev().free_node(name);
		return s ? 0 : s.error().errnum;
	}
	if (in->kind != Kind::entry)
		return EPERM;
	if (!m->writable)
		return EROFS;
	std::string path = join(in->path, name);
	Entry *victim = m->tree.find(path);
	if (!victim)
		return ENOENT;
	bool is_dir = victim->meta.type == EntryMeta::Type::dir;
	if (dir && !is_dir)
		return ENOTDIR;
	if (!dir && is_dir)
		return EISDIR;
	if (dir && !m->tree.children(path)->empty())
		return ENOTEMPTY;
	return remove_entry(*m, path);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	guarded(req, [&] {
		int err = unlink_common(req, parent, name, false);
		if (!err)
			fuse_reply_err(req, 0);
		return err;
	});
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	guarded(req, [&] {
		int err = unlink_common(req, parent, name, true);
		if (!err)
			fuse_reply_err(req, 0);
		return err;
	});
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags)
{
	guarded(req, [&]() -> int {
		if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE))
			return EINVAL;
		Fs &fs = fs_of(req);
		std::lock_guard guard(fs.lock);
		Inode *from_dir, *to_dir;
		Mounted *m, *m2;
		Entry *e, *e2;
		if (int err = resolve(fs, parent, from_dir, m, e))
			return err;
		if (int err = resolve(fs, newparent, to_dir, m2, e2))
			return err;
		if (from_dir->kind != Kind::entry || to_dir->kind != Kind::entry)
			return EPERM;
		if (m != m2)
			return EXDEV; // objects move within a node only
		if (!m->writable)
			return EROFS;
		if (e2->meta.type != EntryMeta::Type::dir)
			return ENOTDIR;
		std::string from = join(from_dir->path, name), to = join(to_dir->path, newname);
		Entry *src = m->tree.find(from);
		if (!src)
			return ENOENT;
		if (from == to)
			return fuse_reply_err(req, 0), replied;
		bool src_dir = src->meta.type == EntryMeta::Type::dir;
		if (src_dir && (to.rfind(from + "/", 0) == 0))
			return EINVAL; // into itself
		if (Entry *dst = m->tree.find(to)) {
			if (flags & RENAME_NOREPLACE)
				return EEXIST;
			bool dst_dir = dst->meta.type == EntryMeta::Type::dir;
			if (src_dir && !dst_dir)
				return ENOTDIR;
			if (!src_dir && dst_dir)
				return EISDIR;
			if (dst_dir && !m->tree.children(to)->empty())
				return ENOTEMPTY;
			if (int err = remove_entry(*m, to))
				return err;
		}
		for (const auto &p : m->tree.subtree(from)) {
			const Entry *each = m->tree.find(p);
			if (each && each->has_object)
				if (auto s = m->handle.rename_object(p, to + p.substr(from.size())); !s)
					return s.error().errnum;
		}
		std::string old_parent = parent_of(from);
		m->tree.move(from, to);
		fs.rekey(from_dir->node, from, to);
		if (int err = keep_emptied_dir(*m, old_parent))
			return err;
		fuse_reply_err(req, 0);
		return replied;
	});
}

std::string status_text(Fs &fs)
{
	auto st = fs.dev().status();
	auto nodes = fs.dev().nodes();
	if (!st || !nodes)
		return "{}\n";
	nlohmann::json j;
	j["pool"] = {{"base", st->pool_base},	    {"bytes", st->pool_bytes},
		     {"used_bytes", st->used_bytes}, {"free_bytes", st->free_bytes},
		     {"generation", st->generation}, {"restored_nodes", st->restored_nodes},
		     {"rejected_nodes", st->rejected_nodes},
		     {"stale_pool_discarded", st->stale_discarded},
		     {"stale_pool_held", st->stale_held}};
	j["nodes"] = nlohmann::json::array();
	for (const auto &n : *nodes)
		j["nodes"].push_back({{"name", n.name},
				      {"state", pkram::to_string(n.state)},
				      {"objects", n.nr_objects},
				      {"data_bytes", n.data_bytes}});
	return j.dump(2) + "\n";
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		auto fh = std::make_unique<FileHandle>();
		if (in->kind == Kind::status) {
			if ((fi->flags & O_ACCMODE) != O_RDONLY)
				return EACCES;
			fh->text = status_text(fs);
			fi->direct_io = 1;
		} else if (in->kind != Kind::entry) {
			return EISDIR;
		} else {
			std::string path = in->path;
			if (e->meta.type == EntryMeta::Type::hardlink)
				path = e->meta.target;
			else if (e->meta.type != EntryMeta::Type::file)
				return e->meta.type == EntryMeta::Type::dir ? EISDIR : ENXIO;
			bool write = (fi->flags & O_ACCMODE) != O_RDONLY;
			if (write && !m->writable)
				return EROFS;
			auto obj = m->handle.open_object(path, {.create = write});
			if (!obj)
				return obj.error().errnum;
			if (write && (fi->flags & O_TRUNC)) {
				if (auto s = obj->truncate(0); !s)
					return s.error().errnum;
				e->data_size = 0;
				fh->dirty = true;
				if (int err = drop_setid_unless_kept(req, *m, in->path, *e))
					return err;
			}
			fh->obj = std::make_unique<pkram::Object>(std::move(*obj));
			fh->node = in->node;
			fh->path = in->path;
			// Sealed data never changes: the page cache may keep it.
			fi->keep_cache = !m->writable;
		}
		fi->fh = reinterpret_cast<uint64_t>(fh.get());
		if (fuse_reply_open(req, fi) == 0)
			fh.release();
		return replied;
	});
}

// size bytes of an object at off, as libfuse's fd-backed buffer.
fuse_bufvec object_bytes(const FileHandle &fh, size_t size, off_t off)
{
	fuse_bufvec v = FUSE_BUFVEC_INIT(size);
	v.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
	v.buf[0].fd = fh.obj->fd();
	v.buf[0].pos = off;
	return v;
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info *fi)
{
	guarded(req, [&]() -> int {
		auto *fh = reinterpret_cast<FileHandle *>(fi->fh);
		if (!fh->obj) {
			size_t start = std::min(static_cast<size_t>(off), fh->text.size());
			size_t n = std::min(size, fh->text.size() - start);
			fuse_reply_buf(req, fh->text.data() + start, n);
			return replied;
		}
		// The reply is the object's fd and offset: libfuse reads the
		// bytes from it straight into its reply (a short read at the end).
		fuse_bufvec data = object_bytes(*fh, size, off);
		fuse_reply_data(req, &data, FUSE_BUF_SPLICE_MOVE);
		return replied;
	});
}

// size bytes at off reached the object: the entry's size follows.
void note_written(fuse_req_t req, FileHandle *fh, off_t off, size_t size)
{
	Fs &fs = fs_of(req);
	std::lock_guard guard(fs.lock);
	auto mounted = fs.mounted(fh->node);
	if (mounted)
		if (Entry *e = (*mounted)->tree.find(fh->path))
			e->data_size = std::max<uint64_t>(e->data_size, off + size);
	fh->dirty = true;
}

// Before a write by its caller (not the page cache's writeback): set-ID
// bits dropped first, so that no data lands while they stand.
int kill_suidgid_for_write(fuse_req_t req, const fuse_file_info *fi)
{
	if (fi->writepage)
		return 0;
	auto *fh = reinterpret_cast<FileHandle *>(fi->fh);
	Fs &fs = fs_of(req);
	std::lock_guard guard(fs.lock);
	auto mounted = fs.mounted(fh->node);
	Entry *e = mounted ? (*mounted)->tree.find(fh->path) : nullptr;
	return e ? drop_setid_unless_kept(req, **mounted, fh->path, *e) : 0;
}

void op_write(fuse_req_t req, fuse_ino_t, const char *buf, size_t size, off_t off, fuse_file_info *fi)
{
	guarded(req, [&]() -> int {
		auto *fh = reinterpret_cast<FileHandle *>(fi->fh);
		if (!fh->obj)
			return EBADF;
		if (int err = kill_suidgid_for_write(req, fi))
			return err;
		if (auto s = fh->obj->pwrite_all(buf, size, static_cast<uint64_t>(off)); !s)
			return s.error().errnum;
		note_written(req, fh, off, size);
		fuse_reply_write(req, size);
		return replied;
	});
}

// A write whose data may still be in the /dev/fuse pipe: spliced into the
// object fd at off, never copied through a buffer of ours.
void op_write_buf(fuse_req_t req, fuse_ino_t, fuse_bufvec *in, off_t off, fuse_file_info *fi)
{
	guarded(req, [&]() -> int {
		auto *fh = reinterpret_cast<FileHandle *>(fi->fh);
		if (!fh->obj)
			return EBADF;
		if (int err = kill_suidgid_for_write(req, fi))
			return err;
		fuse_bufvec out = object_bytes(*fh, fuse_buf_size(in), off);
		ssize_t n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
		if (n < 0)
			return static_cast<int>(-n);
		note_written(req, fh, off, static_cast<size_t>(n));
		fuse_reply_write(req, static_cast<size_t>(n));
		return replied;
	});
}

// After writes: the entry's mtime and size go to its byte stream.
int write_back(Fs &fs, FileHandle *fh)
{
	std::lock_guard guard(fs.lock);
	if (!fh->dirty)
		return 0;
	fh->dirty = false;
	auto mounted = fs.mounted(fh->node);
	if (!mounted)
		return mounted.error().errnum;
	Entry *e = (*mounted)->tree.find(fh->path);
	if (!e || !(*mounted)->writable)
		return 0; // unlinked meanwhile, or sealed: nothing to record
	e->meta.mtime_ns = now_ns();
	e->meta.size = e->data_size;
	auto s = store_meta(**mounted, fh->path, e->meta);
	return s ? 0 : s.error().errnum;
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info *fi)
{
	guarded(req, [&]() -> int {
		auto *fh = reinterpret_cast<FileHandle *>(fi->fh);
		int err = fh->obj ? write_back(fs_of(req), fh) : 0;
		if (!err)
			fuse_reply_err(req, 0);
		return err;
	});
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info *fi)
{
	std::unique_ptr<FileHandle> fh(reinterpret_cast<FileHandle *>(fi->fh));
	guarded(req, [&]() -> int {
		if (fh->obj)
			(void)write_back(fs_of(req), fh.get());
		fuse_reply_err(req, 0);
		return replied;
	});
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		auto dh = std::make_unique<DirHandle>();
		dh->entries = {{".", S_IFDIR}, {"..", S_IFDIR}};
		if (in->kind == Kind::root) {
			dh->entries.push_back({"nodes", S_IFDIR});
			dh->entries.push_back({"status", S_IFREG});
		} else if (in->kind == Kind::nodes_dir) {
			auto nodes = fs.dev().nodes();
			if (!nodes)
				return nodes.error().errnum;
			for (const auto &n : *nodes)
				dh->entries.push_back({n.name, S_IFDIR});
		} else if (in->kind == Kind::entry && e->meta.type == EntryMeta::Type::dir) {
			for (const auto &child : *m->tree.children(in->path))
				dh->entries.push_back(
					{child, type_bits(m->tree.find(join(in->path, child))->meta.type)});
		} else {
			return ENOTDIR;
		}
		fi->fh = reinterpret_cast<uint64_t>(dh.get());
		if (fuse_reply_open(req, fi) == 0)
			dh.release();
		return replied;
	});
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info *fi)
{
	guarded(req, [&]() -> int {
		auto *dh = reinterpret_cast<DirHandle *>(fi->fh);
		std::vector<char> buf(size);
		size_t used = 0;
		for (size_t i = static_cast<size_t>(off); i < dh->entries.size(); i++) {
			struct stat st {};
			st.st_mode = dh->entries[i].second;
			// d_ino must not be 0; it is not used to look anything up.
			st.st_ino = std::hash<std::string>{}(dh->entries[i].first) | 1;
			size_t need = fuse_add_direntry(req, buf.data() + used, size - used,
							dh->entries[i].first.c_str(), &st,
							static_cast<off_t>(i + 1));
			if (need > size - used)
				break;
			used += need;
		}
		fuse_reply_buf(req, buf.data(), used);
		return replied;
	});
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info *fi)
{
	delete reinterpret_cast<DirHandle *>(fi->fh);
	fuse_reply_err(req, 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t)
{
	guarded(req, [&]() -> int {
		Fs &fs = fs_of(req);
		auto st = fs.dev().status();
		if (!st)
			return st.error().errnum;
		struct statvfs sv {};
		sv.f_bsize = sv.f_frsize = 4096;
		sv.f_blocks = st->pool_bytes / 4096;
		sv.f_bfree = sv.f_bavail = st->free_bytes / 4096;
		sv.f_namemax = 255;
		fuse_reply_statfs(req, &sv);
		return replied;
	});
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
		 int flags)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		if (in->kind != Kind::entry)
			return ENOTSUP;
		if (!std::strcmp(name, seal_xattr)) {
			// The seed's "remount,preserve,ro": seal the node this entry is in.
			std::string how(value, size);
			if (how != "1" && how != "checksum")
				return EINVAL;
			if (auto s = m->handle.seal(how == "checksum"); !s)
				return s.error().errnum;
			m->writable = false;
			m->state = pkram::NodeState::sealed;
			fuse_reply_err(req, 0);
			return replied;
		}
		if (!m->writable)
			return EROFS;
		EntryMeta meta = e->meta;
		bool exists = meta.xattrs.count(name);
		if ((flags & XATTR_CREATE) && exists)
			return EEXIST;
		if ((flags & XATTR_REPLACE) && !exists)
			return ENODATA;
		meta.xattrs[name] = std::string(value, size);
		if (auto s = store_meta(*m, in->path, meta); !s)
			return s.error().errnum;
		e->meta = meta;
		e->has_object = true;
		fuse_reply_err(req, 0);
		return replied;
	});
}

// Replies with a value, or its size when size is 0 (the xattr protocol).
int reply_value(fuse_req_t req, const std::string &value, size_t size)
{
	if (!size)
		fuse_reply_xattr(req, value.size());
	else if (size < value.size())
		return ERANGE;
	else
		fuse_reply_buf(req, value.data(), value.size());
	return replied;
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		if (in->kind != Kind::entry)
			return ENODATA;
		if (!std::strcmp(name, state_xattr))
			return reply_value(req, std::string(pkram::to_string(m->state)), size);
		auto it = e->meta.xattrs.find(name);
		if (it == e->meta.xattrs.end())
			return ENODATA;
		return reply_value(req, it->second, size);
	});
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	with_inode(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		std::string names;
		if (in->kind == Kind::entry)
			for (const auto &[k, v] : e->meta.xattrs)
				names += k + '\0';
		return reply_value(req, names, size);
	});
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	with_writable_entry(req, ino, [&](const Target &t) -> int {
		auto &[fs, in, m, e] = t;
		EntryMeta meta = e->meta;
		if (!meta.xattrs.erase(name))
			return ENODATA;
		if (auto s = store_meta(*m, in->path, meta); !s)
			return s.error().errnum;
		e->meta = meta;
		fuse_reply_err(req, 0);
		return replied;
	});
}

void op_init(void *, fuse_conn_info *conn)
{
	// Large requests: no round trip per 4 KiB to the module. (max_read must
	// stay as the mount options set it: libfuse refuses a mismatch.)
	conn->max_write = 1 << 20;
	conn->max_readahead = 1 << 20;
	// Small writes (head, cp, a database's pages) gather in the page cache
	// and reach the node as large ones, written back on close or fsync.
	if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	// Write data is spliced from /dev/fuse into object fds (write_buf).
	// Read replies are not: spliced replies measured slower (a cold md5sum
	// of 64 MiB: 2.4 s against 1.7 s with libfuse reading the object fd
	// into one buffer per reply).
	conn->want |= conn->capable & FUSE_CAP_SPLICE_READ;
	conn->want &= ~(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
}

const fuse_lowlevel_ops operations = [] {
	fuse_lowlevel_ops ops{};
	ops.init = op_init;
	ops.lookup = op_lookup;
	ops.forget = op_forget;
	ops.forget_multi = op_forget_multi;
	ops.getattr = op_getattr;
	ops.setattr = op_setattr;
	ops.readlink = op_readlink;
	ops.mknod = op_mknod;
	ops.mkdir = op_mkdir;
	ops.symlink = op_symlink;
	ops.unlink = op_unlink;
	ops.rmdir = op_rmdir;
	ops.rename = op_rename;
	ops.create = op_create;
	ops.open = op_open;
	ops.read = op_read;
	ops.write = op_write;
	ops.write_buf = op_write_buf;
	ops.flush = op_flush;
	ops.release = op_release;
	ops.opendir = op_opendir;
	ops.readdir = op_readdir;
	ops.releasedir = op_releasedir;
	ops.statfs = op_statfs;
	ops.setxattr = op_setxattr;
	ops.getxattr = op_getxattr;
	ops.listxattr = op_listxattr;
	ops.removexattr = op_removexattr;
	return ops;
}();

} // namespace pkramfs

namespace {

struct Options {
	char *node = nullptr;
	char *device = nullptr;
	int unseal = 0;
};

const fuse_opt option_spec[] = {
	{"pkram=%s", offsetof(Options, node), 0},
	{"device=%s", offsetof(Options, device), 0},
	{"unseal", offsetof(Options, unseal), 1},
	FUSE_OPT_END,
};

void usage(const char *prog)
{
	std::printf("usage: %s [options] [none] MOUNTPOINT\n"
		    "       mount -t fuse.pkramfs [-o options] none MOUNTPOINT\n\n"
		    "pkram nodes as a file system: MOUNTPOINT/nodes/NODE/... and MOUNTPOINT/status.\n\n"
		    "pkramfs options (-o):\n"
		    "    pkram=NAME       mount node NAME alone (created if missing)\n"
		    "    unseal           with pkram=NAME: make a sealed or restored node writable\n"
		    "                     (it must be sealed again to be handed over)\n"
		    "    device=PATH      the pkram device (default /dev/pkram)\n"
		    "    allow_other      let other users in (needs user_allow_other for non-root)\n\n"
		    "Seal a node: setfattr -n user.pkram.seal -v 1 DIR (or -v checksum).\n\n",
		    prog);
}

} // namespace

int main(int argc, char *argv[])
{
	// mount(8) passes "none MOUNTPOINT": drop the source, fuse takes one path.
	std::vector<char *> argv_kept(argv, argv + argc);
	std::vector<size_t> positional;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			positional.push_back(static_cast<size_t>(i));
		} else if (!std::strcmp(argv[i], "-o") && i + 1 < argc) {
			i++;
		}
	}
	if (positional.size() == 2)
		argv_kept.erase(argv_kept.begin() + static_cast<long>(positional[0]));

	fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv_kept.size()), argv_kept.data());
	Options opts;
	if (fuse_opt_parse(&args, &opts, option_spec, nullptr) == -1)
		return 2;
	fuse_cmdline_opts cmd{};
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		return 2;
	if (cmd.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		return 0;
	}
	if (cmd.show_version) {
		std::printf("pkramfs %s, FUSE library %s\n", PKRAM_VERSION, fuse_pkgversion());
		return 0;
	}
	if (!cmd.mountpoint) {
		usage(argv[0]);
		return 2;
	}
	if (opts.unseal && !opts.node) {
		std::fprintf(stderr, "pkramfs: -o unseal needs -o pkram=NAME\n");
		return 2;
	}
	auto dev = pkram::Device::open(opts.device ? opts.device : pkram::default_device);
	if (!dev) {
		std::fprintf(stderr, "pkramfs: %s\n", dev.error().what().c_str());
		return 1;
	}
	pkramfs::Fs fs(std::move(*dev), opts.node ? opts.node : "", opts.unseal);
	if (opts.node) {
		std::lock_guard guard(fs.lock);
		if (auto m = fs.mounted(opts.node); !m) {
			std::fprintf(stderr, "pkramfs: node %s: %s\n", opts.node, m.error().what().c_str());
			return 1;
		}
	}
	// The kernel checks permissions against the modes pkram keeps.
	fuse_opt_add_arg(&args, "-odefault_permissions,fsname=pkram,subtype=pkramfs");

	int ret = 1;
	fuse_session *se = fuse_session_new(&args, &pkramfs::operations, sizeof(pkramfs::operations), &fs);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, cmd.mountpoint) != 0)
		goto out_signals;
	if (int err = pkramfs::use_session_io(se); err) {
		std::fprintf(stderr, "pkramfs: custom session I/O: %s\n", std::strerror(-err));
		goto out_unmount;
	}
	fuse_daemonize(cmd.foreground);
	{
		fuse_loop_config *config = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(config, 0);
		fuse_loop_cfg_set_max_threads(config, 8);
		ret = cmd.singlethread ? fuse_session_loop(se) : fuse_session_loop_mt(se, config);
		fuse_loop_cfg_destroy(config);
	}
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	return ret ? 1 : 0;
}
