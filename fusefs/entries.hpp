// What a change to an entry does to its node: the entry's metadata stored
// with its object, directory times, set-ID rules, hard links (an entry of
// type hardlink names the file holding the data), removal; and the stat of
// an entry. Everything here runs under Fs::lock.
#pragma once

#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "fs.hpp"

namespace pkramfs {

int64_t now_ns();
pkram::Status store_meta(Mounted &m, const std::string &path, const pkram::EntryMeta &meta);
// Whether the requesting process holds CAP_FSETID (keeps set-ID bits).
bool caller_keeps_setid(fuse_req_t req);
// Clears set-user-ID (and set-group-ID with group execute); true if changed.
bool kill_suidgid(pkram::EntryMeta &meta);
// The entry of inode `in` gets new metadata: stored with its object, unless
// it was unlinked; 0 or errno.
int save_entry(Mounted &m, const Inode &in, Entry &e, const pkram::EntryMeta &meta);
// An entry was added to or removed from dir: its mtime and ctime are now.
int touch_dir(Mounted &m, const std::string &dir, int64_t now);
// Set-ID bits of the entry dropped and stored, unless the caller keeps them.
int drop_setid_unless_kept(fuse_req_t req, Mounted &m, const Inode &in, Entry &e);
// A name component longer than NAME_MAX.
bool name_too_long(const char *name);
// A path below the node longer than an object name may be: PATH_MAX less
// its NUL, so a path the kernel passes always fits unless a rename grows it.
bool path_too_long(size_t len);
void fill_stat(const Inode &in, const Mounted *m, const Entry *e, fuse_ino_t ino, struct stat *st);
// The inode, its loaded node and its entry; errno on failure.
int resolve(Fs &fs, fuse_ino_t ino, Inode *&in, Mounted *&m, Entry *&e);
// The file an entry stands for (a hard link: the file it names; path
// becomes that file's); nullptr when it names no file.
Entry *file_of(Mounted &m, std::string &path);
// Hard links that name from (or a file under it) name `to` instead.
int retarget_links(Mounted &m, const std::string &from, const std::string &to);
// Removes the entry at path of node `node` and its objects; 0 or errno.
int remove_entry(Fs &fs, Mounted &m, const std::string &node, const std::string &path, int64_t now);

} // namespace pkramfs
