// What a change to an entry does to its node (entries.hpp).
#include "entries.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <ctime>

namespace pkramfs {

using pkram::EntryMeta;

int64_t now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return pkram::ns_of(ts);
}

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

// The entry of inode `in` gets new metadata: stored with its object, unless
// it was unlinked (then only its inode holds it); 0 or errno.
int save_entry(Mounted &m, const Inode &in, Entry &e, const EntryMeta &meta)
{
	if (!in.unlinked) {
		if (auto s = store_meta(m, in.path, meta); !s)
			return s.error().errnum;
		e.has_object = true;
	}
	e.meta = meta;
	return 0;
}

// An entry was added to or removed from dir: its mtime and ctime are now.
// A node's root has no object: it keeps them in memory.
int touch_dir(Mounted &m, const std::string &dir, int64_t now)
{
	Entry *d = m.tree.find(dir);
	if (!d)
		return 0;
	EntryMeta meta = d->meta;
	meta.mtime_ns = meta.ctime_ns = now;
	if (!dir.empty()) {
		if (auto s = store_meta(m, dir, meta); !s)
			return s.error().errnum;
		d->has_object = true;
	}
	d->meta = meta;
	return 0;
}

// Set-ID bits of the entry dropped and stored, unless the caller keeps
// them; 0 or errno.
int drop_setid_unless_kept(fuse_req_t req, Mounted &m, const Inode &in, Entry &e)
{
	EntryMeta meta = e.meta;
	if (!kill_suidgid(meta) || caller_keeps_setid(req))
		return 0;
	meta.ctime_ns = now_ns();
	return save_entry(m, in, e, meta);
}

// A name component longer than a local file system takes.
bool name_too_long(const char *name) { return std::strlen(name) > NAME_MAX; }

bool path_too_long(size_t len) { return len > pkram::object_name_max; }

void fill_stat(const Inode &in, const Mounted *m, const Entry *e, fuse_ino_t ino, struct stat *st)
{
	std::memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	st->st_blksize = pkram::pool_page_size;
	if (in.kind == Kind::root || in.kind == Kind::nodes_dir) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	}
	if (in.kind == Kind::status) {
		st->st_mode = S_IFREG | 0444;
		st->st_size = pkram::pool_page_size; // read with direct I/O: the real length
		return;
	}
	const EntryMeta &meta = e->meta;
	st->st_mode = pkram::file_type_bits(meta.type) | meta.mode;
	if (in.path.empty() && !in.unlinked && !m->writable)
		st->st_mode &= ~static_cast<mode_t>(0222);
	st->st_uid = meta.uid;
	st->st_gid = meta.gid;
	st->st_rdev = static_cast<dev_t>(meta.rdev);
	st->st_mtim = pkram::timespec_of(meta.mtime_ns);
	st->st_atim = pkram::timespec_of(meta.atime_ns);
	st->st_ctim = pkram::timespec_of(meta.ctime_ns);
	if (meta.type == EntryMeta::Type::dir)
		st->st_nlink = 2;
	else if (meta.type == EntryMeta::Type::file)
		st->st_nlink = e->links;
	if (meta.type == EntryMeta::Type::symlink)
		st->st_size = static_cast<off_t>(meta.target.size());
	else
		st->st_size = static_cast<off_t>(e->data_size);
	st->st_blocks = (st->st_size + 511) / 512;
	if (in.unlinked)
		st->st_nlink = 0;
}

// The node and entry of an inode, loading the node; errno on failure.
int resolve(Fs &fs, fuse_ino_t ino, Inode *&in, Mounted *&m, Entry *&e)
{
	in = fs.inodes.inode(ino);
	m = nullptr;
	e = nullptr;
	if (!in)
		return ESTALE;
	if (in->kind != Kind::entry)
		return 0;
	auto mounted = fs.nodes.mounted(in->node);
	if (!mounted)
		return mounted.error().errnum ? mounted.error().errnum : EIO;
	m = *mounted;
	e = in->unlinked ? &*in->unlinked : m->tree.find(in->path);
	return e ? 0 : ENOENT;
}

// The entry an inode stands for: path's own, or for a hard link the file
// it names (path becomes that file's); nullptr when it names no file.
Entry *file_of(Mounted &m, std::string &path)
{
	Entry *e = m.tree.find(path);
	if (!e || e->meta.type != EntryMeta::Type::hardlink)
		return e;
	path = e->meta.target;
	Entry *file = m.tree.find(path);
	return file && file->meta.type == EntryMeta::Type::file ? file : nullptr;
}

// Hard links that name from (or a file under it) name `to` instead.
int retarget_links(Mounted &m, const std::string &from, const std::string &to)
{
	if (!m.tree.hardlinks())
		return 0;
	for (const auto &p : m.tree.subtree("")) {
		Entry *l = m.tree.find(p);
		const std::string &t = l->meta.target;
		if (l->meta.type != EntryMeta::Type::hardlink || (t != from && t.rfind(from + "/", 0) != 0))
			continue;
		EntryMeta meta = l->meta;
		meta.target = to + t.substr(from.size());
		if (auto s = store_meta(m, p, meta); !s)
			return s.error().errnum;
		l->meta = meta;
	}
	return 0;
}

// The name holding a file's data goes while hard links to it remain: the
// data and metadata move to one of them, which the others then name.
int hand_data_to_a_link(Fs &fs, Mounted &m, const std::string &node, const std::string &path, int64_t now)
{
	std::string heir;
	for (const auto &p : m.tree.subtree(""))
		if (const Entry *l = m.tree.find(p);
		    l->meta.type == EntryMeta::Type::hardlink && l->meta.target == path) {
			heir = p;
			break;
		}
	if (heir.empty())
		return EIO;
	Entry file = *m.tree.find(path);
	file.links--;
	file.meta.ctime_ns = now;
	if (auto s = m.handle.rename_object(path, heir); !s) // replaces the link's object
		return s.error().errnum;
	if (auto s = store_meta(m, heir, file.meta); !s)
		return s.error().errnum;
	m.tree.erase(path);
	m.tree.put(heir, file);
	fs.inodes.rekey(node, path, heir);
	if (int err = retarget_links(m, path, heir))
		return err;
	return touch_dir(m, parent_of(path), now);
}

// Removes path's objects. Its directory gets new times, so an object of its
// own: a directory implied by its children stays when emptied. An inode the
// kernel still holds for the entry lives on, unlinked; a file with other
// names (hard links) lives on in them.
int remove_entry(Fs &fs, Mounted &m, const std::string &node, const std::string &path, int64_t now)
{
	Entry *e = m.tree.find(path);
	if (e->meta.type == EntryMeta::Type::file && e->links > 1)
		return hand_data_to_a_link(fs, m, node, path, now);
	if (e->meta.type == EntryMeta::Type::hardlink) {
		std::string data_path = path;
		if (Entry *file = file_of(m, data_path)) {
			EntryMeta meta = file->meta;
			meta.ctime_ns = now;
			if (auto s = store_meta(m, data_path, meta); !s)
				return s.error().errnum;
			file->meta = meta;
			file->links--;
		}
	}
	if (e->has_object)
		if (auto s = m.handle.delete_object(path); !s)
			return s.error().errnum;
	e->meta.ctime_ns = now;
	fs.inodes.detach(*e);
	m.tree.erase(path);
	return touch_dir(m, parent_of(path), now);
}

} // namespace pkramfs
