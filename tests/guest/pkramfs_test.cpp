// System calls on a writable pkramfs node, inside the VM guest: the directory
// comes from $PKRAMFS_DIR (an open node's directory under a pkramfs mount).
// Run by tests/vm/scenarios/fuse.sh.
#include <gtest/gtest.h>

#include "files.hpp"

#include <dirent.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string dir()
{
	const char *d = std::getenv("PKRAMFS_DIR");
	return d ? d : "/pkram/nodes/work";
}

std::string path(const std::string &rel) { return dir() + "/" + rel; }

using pkram::test::read_file;
using pkram::test::write_file;

TEST(Pkramfs, WriteReadAndPositionalIoAtOddOffsets)
{
	write_file(path("io"), "hello");
	EXPECT_EQ("hello", read_file(path("io")));
	int fd = open(path("io").c_str(), O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(3, pwrite(fd, "XYZ", 3, 4093));
	char buf[8] = {};
	ASSERT_EQ(3, pread(fd, buf, 3, 4093));
	EXPECT_STREQ("XYZ", buf);
	ASSERT_EQ(2, pread(fd, buf, 2, 1));
	EXPECT_EQ(0, std::memcmp(buf, "el", 2));
	close(fd);
	std::string all = read_file(path("io"));
	ASSERT_EQ(4096u, all.size());
	EXPECT_EQ(std::string(4093 - 5, '\0'), all.substr(5, 4093 - 5)); // the gap reads as zeros
}

TEST(Pkramfs, TruncateUpAndDown)
{
	write_file(path("trunc"), std::string(10000, 't'));
	ASSERT_EQ(0, truncate(path("trunc").c_str(), 100));
	EXPECT_EQ(std::string(100, 't'), read_file(path("trunc")));
	ASSERT_EQ(0, truncate(path("trunc").c_str(), 5000));
	std::string grown = read_file(path("trunc"));
	ASSERT_EQ(5000u, grown.size());
	EXPECT_EQ(std::string(4900, '\0'), grown.substr(100));
	struct stat st;
	ASSERT_EQ(0, stat(path("trunc").c_str(), &st));
	EXPECT_EQ(5000, st.st_size);
}

TEST(Pkramfs, MkdirRenameUnlinkRmdir)
{
	ASSERT_EQ(0, mkdir(path("d1").c_str(), 0750));
	ASSERT_EQ(0, mkdir(path("d1/sub").c_str(), 0755));
	write_file(path("d1/sub/f"), "inner");
	ASSERT_EQ(0, rename(path("d1").c_str(), path("d2").c_str()));
	EXPECT_EQ("inner", read_file(path("d2/sub/f")));
	struct stat st;
	EXPECT_EQ(-1, stat(path("d1").c_str(), &st));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, stat(path("d2").c_str(), &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0750u, st.st_mode & 07777);
	EXPECT_EQ(-1, rmdir(path("d2/sub").c_str()));
	EXPECT_EQ(ENOTEMPTY, errno);
	ASSERT_EQ(0, rename(path("d2/sub/f").c_str(), path("moved").c_str()));
	EXPECT_EQ("inner", read_file(path("moved")));
	ASSERT_EQ(0, rmdir(path("d2/sub").c_str()));
	ASSERT_EQ(0, rmdir(path("d2").c_str()));
	write_file(path("victim"), "old");
	ASSERT_EQ(0, rename(path("moved").c_str(), path("victim").c_str())); // replaces
	EXPECT_EQ("inner", read_file(path("victim")));
	ASSERT_EQ(0, unlink(path("victim").c_str()));
	EXPECT_EQ(-1, unlink(path("victim").c_str()));
	EXPECT_EQ(ENOENT, errno);
}

TEST(Pkramfs, SymlinksAndStat)
{
	write_file(path("target"), "pointed-to");
	ASSERT_EQ(0, symlink("target", path("link").c_str()));
	char buf[64] = {};
	ASSERT_EQ(6, readlink(path("link").c_str(), buf, sizeof(buf)));
	EXPECT_STREQ("target", buf);
	EXPECT_EQ("pointed-to", read_file(path("link")));
	struct stat st;
	ASSERT_EQ(0, lstat(path("link").c_str(), &st));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	ASSERT_EQ(0, chmod(path("target").c_str(), 0600));
	ASSERT_EQ(0, stat(path("target").c_str(), &st));
	EXPECT_EQ(0600u, st.st_mode & 07777);
	EXPECT_EQ(10, st.st_size);
	ASSERT_EQ(0, mkfifo(path("fifo").c_str(), 0644));
	ASSERT_EQ(0, lstat(path("fifo").c_str(), &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(Pkramfs, ReaddirWithManyEntries)
{
	ASSERT_EQ(0, mkdir(path("many").c_str(), 0755));
	for (int i = 0; i < 1000; i++)
		write_file(path("many/entry-" + std::to_string(i)), std::to_string(i));
	DIR *d = opendir(path("many").c_str());
	ASSERT_NE(nullptr, d);
	std::set<std::string> seen;
	while (dirent *de = readdir(d))
		seen.insert(de->d_name);
	closedir(d);
	EXPECT_EQ(1002u, seen.size()); // with . and ..
	EXPECT_TRUE(seen.count("entry-999"));
}

TEST(Pkramfs, ConcurrentReaders)
{
	std::string data;
	for (int i = 0; i < (4 << 20) / 8; i++)
		data += "0123456" + std::string(1, static_cast<char>('a' + i % 26));
	write_file(path("shared"), data);
	std::atomic<int> bad{0};
	std::vector<std::thread> readers;
	for (int t = 0; t < 4; t++)
		readers.emplace_back([&] {
			if (read_file(path("shared")) != data)
				bad++;
		});
	for (auto &r : readers)
		r.join();
	EXPECT_EQ(0, bad.load());
}

TEST(Pkramfs, ExclusiveCreateAndErrors)
{
	int fd = open(path("excl").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-1, open(path("excl").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, mkdir(path("excl").c_str(), 0755));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, rmdir(path("excl").c_str()));
	EXPECT_EQ(ENOTDIR, errno);
}

// The permission bits as pkramfs has them now (not the kernel's cached copy).
unsigned mode_of(const std::string &p)
{
	struct statx stx;
	if (statx(AT_FDCWD, p.c_str(), AT_STATX_FORCE_SYNC, STATX_MODE, &stx))
		return ~0u;
	return stx.stx_mode & 07777;
}

// Runs body in a child that has dropped CAP_FSETID (a root process without
// it is treated as any writer); true when the child's body succeeded.
template <typename F> bool without_fsetid(F &&body)
{
	pid_t pid = fork();
	if (pid == 0) {
		__user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
		__user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3]{};
		if (syscall(SYS_capget, &hdr, caps))
			_exit(2);
		caps[CAP_TO_INDEX(CAP_FSETID)].effective &= ~CAP_TO_MASK(CAP_FSETID);
		if (syscall(SYS_capset, &hdr, caps))
			_exit(3);
		_exit(body() ? 0 : 1);
	}
	int status = 0;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// As on a local file system: a write, truncation or O_TRUNC open by a
// process without CAP_FSETID clears set-user-ID, and set-group-ID when group
// execute is set; a chown clears them whoever does it; root keeps them.
TEST(Pkramfs, SetIdBitsDroppedAsOnLocalFiles)
{
	const std::string f = path("setid");
	write_file(f, "data");
	auto setid = [&](unsigned mode) { return chmod(f.c_str(), mode) == 0 && mode_of(f) == mode; };

	ASSERT_TRUE(setid(06755));
	write_file(f, "root writes");
	EXPECT_EQ(06755u, mode_of(f)) << "a write with CAP_FSETID keeps them";

	ASSERT_TRUE(setid(06755));
	EXPECT_TRUE(without_fsetid([&] {
		int fd = open(f.c_str(), O_WRONLY | O_APPEND);
		bool ok = fd >= 0 && write(fd, "x", 1) == 1;
		return close(fd) == 0 && ok;
	}));
	EXPECT_EQ(0755u, mode_of(f)) << "write";

	ASSERT_TRUE(setid(02745));
	EXPECT_TRUE(without_fsetid([&] { return truncate(f.c_str(), 2) == 0; }));
	EXPECT_EQ(02745u, mode_of(f)) << "set-group-ID without group execute stays";

	ASSERT_TRUE(setid(06755));
	EXPECT_TRUE(without_fsetid([&] { return truncate(f.c_str(), 1) == 0; }));
	EXPECT_EQ(0755u, mode_of(f)) << "truncate";

	ASSERT_TRUE(setid(04755));
	EXPECT_TRUE(without_fsetid([&] {
		int fd = open(f.c_str(), O_WRONLY | O_TRUNC);
		return fd >= 0 && close(fd) == 0;
	}));
	EXPECT_EQ(0755u, mode_of(f)) << "open O_TRUNC";

	ASSERT_TRUE(setid(06755));
	ASSERT_EQ(0, chown(f.c_str(), 0, 0));
	EXPECT_EQ(0755u, mode_of(f)) << "chown by root";
	EXPECT_EQ("", read_file(f));
}

// What pkramfs says of p now, not the kernel's cached attributes.
struct statx fresh_statx(const std::string &p)
{
	struct statx stx {};
	if (statx(AT_FDCWD, p.c_str(), AT_STATX_FORCE_SYNC | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx))
		stx.stx_ino = 0;
	return stx;
}

int64_t ns(const statx_timestamp &t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

// The kernel forgets every inode nothing holds (FUSE_FORGET to pkramfs).
void drop_caches()
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	ASSERT_GE(fd, 0) << std::strerror(errno);
	ASSERT_EQ(1, write(fd, "2", 1));
	close(fd);
}

// A file keeps its inode number when renamed (also over another file, and
// inside a renamed directory), however often the kernel forgets it.
TEST(Pkramfs, InodeNumbersFollowTheFileNotThePath)
{
	ASSERT_EQ(0, mkdir(path("ino_d").c_str(), 0755));
	write_file(path("ino_d/f"), "f");
	write_file(path("ino_a"), "a");
	write_file(path("ino_victim"), "v");
	uint64_t dir = fresh_statx(path("ino_d")).stx_ino, f = fresh_statx(path("ino_d/f")).stx_ino;
	uint64_t a = fresh_statx(path("ino_a")).stx_ino, victim = fresh_statx(path("ino_victim")).stx_ino;
	ASSERT_NE(0u, dir);
	ASSERT_NE(0u, a);
	EXPECT_EQ(4u, std::set<uint64_t>({dir, f, a, victim}).size());
	drop_caches();
	ASSERT_EQ(0, rename(path("ino_d").c_str(), path("ino_e").c_str()));
	ASSERT_EQ(0, rename(path("ino_a").c_str(), path("ino_victim").c_str()));
	drop_caches();
	EXPECT_EQ(dir, fresh_statx(path("ino_e")).stx_ino);
	EXPECT_EQ(f, fresh_statx(path("ino_e/f")).stx_ino);
	EXPECT_EQ(a, fresh_statx(path("ino_victim")).stx_ino);
	drop_caches();
	EXPECT_EQ(a, fresh_statx(path("ino_victim")).stx_ino) << "the replaced file's forget took the name";
	EXPECT_EQ("a", read_file(path("ino_victim")));
	bool listed = false;
	DIR *d = opendir(path("ino_e").c_str());
	ASSERT_NE(nullptr, d);
	while (dirent *de = readdir(d))
		if (!std::strcmp(de->d_name, "f")) {
			listed = true;
			EXPECT_EQ(f, de->d_ino) << "readdir's d_ino is the inode number";
		}
	closedir(d);
	EXPECT_TRUE(listed);
}

// Unlinked while open, a file goes on working through its descriptors
// (fstat, read, write, ftruncate), apart from a new file of the same name.
TEST(Pkramfs, UnlinkedOpenFileKeepsWorking)
{
	write_file(path("unl"), "abc");
	int fd = open(path("unl").c_str(), O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, unlink(path("unl").c_str()));
	struct stat st;
	EXPECT_EQ(-1, stat(path("unl").c_str(), &st));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, fstat(fd, &st)) << std::strerror(errno);
	EXPECT_EQ(0u, st.st_nlink);
	EXPECT_EQ(3, st.st_size);
	write_file(path("unl"), "new file");
	ASSERT_EQ(4, pwrite(fd, "defg", 4, 3)) << std::strerror(errno);
	char buf[16] = {};
	ASSERT_EQ(7, pread(fd, buf, sizeof(buf), 0)) << std::strerror(errno);
	EXPECT_STREQ("abcdefg", buf);
	ASSERT_EQ(0, ftruncate(fd, 5)) << std::strerror(errno);
	ASSERT_EQ(0, fsync(fd)) << std::strerror(errno);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(5, st.st_size);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ("new file", read_file(path("unl")));

	// Its pages go back to the pool at the last close, not at the unlink.
	auto free_bytes = [] {
		struct statvfs sv {};
		statvfs(dir().c_str(), &sv);
		return uint64_t{sv.f_bfree} * sv.f_frsize;
	};
	const std::string big(8 << 20, 'b');
	write_file(path("unl_big"), big);
	fd = open(path("unl_big").c_str(), O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, unlink(path("unl_big").c_str()));
	uint64_t held = free_bytes();
	char one;
	EXPECT_EQ(1, pread(fd, &one, 1, big.size() - 1)) << "the data is still there";
	EXPECT_EQ(0, close(fd));
	// (The kernel sends FUSE_RELEASE after close(2) returns: wait for it.)
	for (int i = 0; i < 100 && free_bytes() < held + big.size(); i++)
		usleep(50000);
	EXPECT_GE(free_bytes(), held + big.size()) << "8 MiB back in the pool after the last close";
	// tmpfile(3)'s way: O_TMPFILE is not offered, an unlinked file is.
	FILE *tmp = std::fopen(path("unl_tmp").c_str(), "w+");
	ASSERT_NE(nullptr, tmp);
	ASSERT_EQ(0, unlink(path("unl_tmp").c_str()));
	ASSERT_EQ(5, std::fprintf(tmp, "hello"));
	ASSERT_EQ(0, std::fflush(tmp));
	std::rewind(tmp);
	char got[8] = {};
	ASSERT_EQ(5u, std::fread(got, 1, sizeof(got), tmp));
	EXPECT_STREQ("hello", got);
	std::fclose(tmp);
}

// Adding or removing an entry changes its directory's mtime and ctime; a
// chmod, chown or rename changes the entry's ctime and leaves its mtime.
TEST(Pkramfs, DirectoryAndStatusChangeTimes)
{
	const std::string d = path("times");
	ASSERT_EQ(0, mkdir(d.c_str(), 0755));
	auto changes_dir = [&](const char *what, auto &&op) {
		struct statx before = fresh_statx(d);
		usleep(20000);
		ASSERT_TRUE(op()) << what << ": " << std::strerror(errno);
		struct statx after = fresh_statx(d);
		EXPECT_GT(ns(after.stx_mtime), ns(before.stx_mtime)) << what << ": mtime";
		EXPECT_GT(ns(after.stx_ctime), ns(before.stx_ctime)) << what << ": ctime";
	};
	const std::string f = d + "/f", g = d + "/g", s = d + "/s", p = d + "/p", sub = d + "/sub";
	changes_dir("open O_CREAT", [&] {
		int fd = open(f.c_str(), O_WRONLY | O_CREAT, 0644);
		return fd >= 0 && close(fd) == 0;
	});
	changes_dir("mkdir", [&] { return mkdir(sub.c_str(), 0755) == 0; });
	changes_dir("rmdir", [&] { return rmdir(sub.c_str()) == 0; });
	changes_dir("symlink", [&] { return symlink("f", s.c_str()) == 0; });
	changes_dir("mkfifo", [&] { return mkfifo(p.c_str(), 0644) == 0; });
	changes_dir("rename", [&] { return rename(f.c_str(), g.c_str()) == 0; });
	changes_dir("rename out", [&] { return rename(g.c_str(), path("times_out").c_str()) == 0; });
	changes_dir("rename in", [&] { return rename(path("times_out").c_str(), g.c_str()) == 0; });
	changes_dir("unlink", [&] { return unlink(s.c_str()) == 0; });

	struct statx before = fresh_statx(g);
	usleep(20000);
	ASSERT_EQ(0, chmod(g.c_str(), 0600));
	struct statx after = fresh_statx(g);
	EXPECT_GT(ns(after.stx_ctime), ns(before.stx_ctime)) << "chmod: ctime";
	EXPECT_EQ(ns(after.stx_mtime), ns(before.stx_mtime)) << "chmod: mtime";
	usleep(20000);
	ASSERT_EQ(0, chown(g.c_str(), 0, 0));
	struct statx owned = fresh_statx(g);
	EXPECT_GT(ns(owned.stx_ctime), ns(after.stx_ctime)) << "chown: ctime";
	usleep(20000);
	ASSERT_EQ(0, rename(g.c_str(), f.c_str()));
	EXPECT_GT(ns(fresh_statx(f).stx_ctime), ns(owned.stx_ctime)) << "rename: the entry's ctime";
}

// NAME_MAX (255) per component, as statfs says; longer is ENAMETOOLONG.
TEST(Pkramfs, NameMaxPerComponent)
{
	struct statvfs sv;
	ASSERT_EQ(0, statvfs(dir().c_str(), &sv));
	EXPECT_EQ(255u, sv.f_namemax);
	const std::string longest(255, 'n'), too_long(256, 'n');
	write_file(path(longest), "fits");
	EXPECT_EQ("fits", read_file(path(longest)));
	auto fails_long = [&](const char *what, int rc) {
		EXPECT_EQ(-1, rc) << what;
		EXPECT_EQ(ENAMETOOLONG, errno) << what;
	};
	fails_long("open O_CREAT", open(path(too_long).c_str(), O_WRONLY | O_CREAT, 0644));
	fails_long("mkdir", mkdir(path(too_long).c_str(), 0755));
	fails_long("symlink", symlink("x", path(too_long).c_str()));
	fails_long("mkfifo", mkfifo(path(too_long).c_str(), 0644));
	fails_long("rename", rename(path(longest).c_str(), path(too_long).c_str()));
	struct stat st;
	fails_long("stat", stat(path(too_long).c_str(), &st));
	EXPECT_EQ(0, unlink(path(longest).c_str()));
}

// Paths to PATH_MAX below the node: a deep tree (16 directories of 240
// bytes) holds a file whose path is 4095 bytes; one byte more, or a rename
// that would push a descendant past it, is ENAMETOOLONG and changes nothing.
TEST(Pkramfs, PathsUpToPathMax)
{
	std::vector<int> fds{open(dir().c_str(), O_RDONLY | O_DIRECTORY)};
	ASSERT_GE(fds.back(), 0);
	size_t depth = 0;
	for (int i = 0; i < 16; i++) {
		const std::string name(240, static_cast<char>('a' + i));
		ASSERT_EQ(0, mkdirat(fds.back(), name.c_str(), 0755)) << i << ": " << std::strerror(errno);
		fds.push_back(openat(fds.back(), name.c_str(), O_RDONLY | O_DIRECTORY));
		ASSERT_GE(fds.back(), 0) << i;
		depth += name.size() + 1;
	}
	ASSERT_EQ(3856u, depth);
	const std::string file(4095 - depth, 'f'), over(4096 - depth, 'f');
	int fd = openat(fds.back(), file.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
	ASSERT_GE(fd, 0) << "a 4095-byte path: " << std::strerror(errno);
	ASSERT_EQ(4, write(fd, "deep", 4));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(-1, openat(fds.back(), over.c_str(), O_RDWR | O_CREAT, 0644));
	EXPECT_EQ(ENAMETOOLONG, errno) << "a 4096-byte path";
	EXPECT_EQ(-1, mkdirat(fds.back(), over.c_str(), 0755));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(-1, renameat(fds.back(), file.c_str(), fds.back(), over.c_str()));
	EXPECT_EQ(ENAMETOOLONG, errno);
	// Renaming the top directory one byte longer would lengthen every path below it.
	const std::string top(240, 'a'), longer(241, 'a'), shorter(239, 'a');
	EXPECT_EQ(-1, rename(path(top).c_str(), path(longer).c_str()));
	EXPECT_EQ(ENAMETOOLONG, errno) << "a rename that grows a descendant's path";
	drop_caches();
	char buf[8] = {};
	fd = openat(fds.back(), file.c_str(), O_RDONLY);
	ASSERT_GE(fd, 0) << "still where it was: " << std::strerror(errno);
	EXPECT_EQ(4, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("deep", buf);
	close(fd);
	ASSERT_EQ(0, rename(path(top).c_str(), path(shorter).c_str())) << std::strerror(errno);
	drop_caches();
	fd = openat(fds.back(), file.c_str(), O_RDONLY);
	ASSERT_GE(fd, 0) << "found through the renamed directory: " << std::strerror(errno);
	std::memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("deep", buf);
	close(fd);
	// Removed from the bottom up, by the fds that reach each level.
	ASSERT_EQ(0, unlinkat(fds.back(), file.c_str(), 0));
	for (int i = 15; i >= 0; i--) {
		close(fds[static_cast<size_t>(i) + 1]);
		const std::string name = i ? std::string(240, static_cast<char>('a' + i)) : shorter;
		ASSERT_EQ(0, unlinkat(fds[static_cast<size_t>(i)], name.c_str(), AT_REMOVEDIR)) << i;
	}
	close(fds[0]);
}

// Runs body in a child as uid:gid (no supplementary groups) with umask
// mask; returns what body found wrong, one line each ("" when nothing).
std::string as_user(uid_t uid, gid_t gid, mode_t mask, const std::function<std::string()> &body)
{
	int fds[2];
	if (pipe(fds))
		return "pipe failed";
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		std::string out;
		if (setgroups(0, nullptr) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
			out = "cannot become the user: " + std::string(std::strerror(errno));
		else {
			umask(mask);
			out = body();
		}
		(void)!write(fds[1], out.data(), out.size());
		_exit(0);
	}
	close(fds[1]);
	std::string got;
	char buf[4096];
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		got.append(buf, static_cast<size_t>(n));
	close(fds[0]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		got += "the child did not exit normally\n";
	return got;
}

// "" when call returned want (0, or -1 with errno want_errno), else a line.
std::string expect_call(const char *what, int rc, int want_errno = 0)
{
	int err = rc < 0 ? errno : 0;
	if ((want_errno == 0 && rc >= 0) || (want_errno && rc == -1 && err == want_errno))
		return "";
	return std::string(what) + ": rc " + std::to_string(rc) + " errno " + std::strerror(err) +
	       ", expected " + (want_errno ? std::strerror(want_errno) : "success") + "\n";
}

// "" when p's owner and mode are as given, else a line.
std::string expect_owner_mode(const std::string &p, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;
	if (stat(p.c_str(), &st))
		return p + ": stat failed: " + std::strerror(errno) + "\n";
	if (st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == mode)
		return "";
	char line[512];
	std::snprintf(line, sizeof(line), "%s: %u:%u %04o, expected %u:%u %04o\n", p.c_str(), st.st_uid,
		      st.st_gid, st.st_mode & 07777, uid, gid, mode);
	return line;
}

// Other users, through allow_other and default_permissions (the kernel
// checks permissions against what pkramfs reports): new entries belong to
// the caller with its umask applied (or to the directory's group where it
// is set-group-ID), and the caller gets EACCES or EPERM where a local file
// system gives them.
TEST(Pkramfs, NonRootCallersUnderAllowOther)
{
	constexpr uid_t user = 1000;
	constexpr gid_t group = 1000, other_group = 2000;
	const std::string shared = path("nr_shared"), priv = path("nr_private"), sticky = path("nr_sticky"),
			  sgid = path("nr_sgid"), secret = path("nr_secret");
	ASSERT_EQ(0, mkdir(shared.c_str(), 0777));
	ASSERT_EQ(0, chmod(shared.c_str(), 0777));
	ASSERT_EQ(0, mkdir(priv.c_str(), 0700));
	ASSERT_EQ(0, mkdir(sticky.c_str(), 0777));
	ASSERT_EQ(0, chmod(sticky.c_str(), 01777));
	ASSERT_EQ(0, mkdir(sgid.c_str(), 0777));
	ASSERT_EQ(0, chown(sgid.c_str(), 0, other_group));
	ASSERT_EQ(0, chmod(sgid.c_str(), 02777));
	write_file(secret, "root only");
	ASSERT_EQ(0, chmod(secret.c_str(), 0600));
	write_file(sticky + "/roots", "r");
	ASSERT_EQ(0, chmod((sticky + "/roots").c_str(), 0666));

	EXPECT_EQ("", as_user(user, group, 022, [&] {
			  std::string out;
			  int fd = open((shared + "/f").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
			  out += expect_call("create in a 0777 directory", fd);
			  if (fd >= 0)
				  out += expect_call("write own file",
						     static_cast<int>(write(fd, "mine", 4)) - 4);
			  close(fd);
			  out += expect_owner_mode(shared + "/f", user, group, 0644);
			  out += expect_call("mkdir", mkdir((shared + "/d").c_str(), 0777));
			  out += expect_owner_mode(shared + "/d", user, group, 0755);
			  out += expect_call("symlink", symlink("f", (shared + "/l").c_str()));
			  struct stat st;
			  if (lstat((shared + "/l").c_str(), &st) || st.st_uid != user || st.st_gid != group)
				  out += "the symlink does not belong to the caller\n";
			  out += expect_call("mkfifo", mkfifo((shared + "/p").c_str(), 0666));
			  out += expect_owner_mode(shared + "/p", user, group, 0644);
			  umask(077);
			  fd = open((shared + "/private").c_str(), O_WRONLY | O_CREAT, 0666);
			  out += expect_call("create with umask 077", fd);
			  close(fd);
			  out += expect_owner_mode(shared + "/private", user, group, 0600);
			  umask(022);

			  out += expect_call("create in root's 0700 directory",
					     open((priv + "/x").c_str(), O_WRONLY | O_CREAT, 0644), EACCES);
			  out += expect_call("list root's 0700 directory", access(priv.c_str(), R_OK),
					     EACCES);
			  out += expect_call("read root's 0600 file", open(secret.c_str(), O_RDONLY), EACCES);
			  out += expect_call("truncate root's file", truncate(secret.c_str(), 0), EACCES);
			  out += expect_call("chmod root's file", chmod(secret.c_str(), 0666), EPERM);
			  out += expect_call("chown root's file", chown(secret.c_str(), user, group), EPERM);
			  const struct timespec epoch[2] = {};
			  out += expect_call("touch root's file with times",
					     utimensat(AT_FDCWD, secret.c_str(), epoch, 0), EPERM);
			  out += expect_call("touch root's file to now",
					     utimensat(AT_FDCWD, secret.c_str(), nullptr, 0), EACCES);
			  out += expect_call("give own file away", chown((shared + "/f").c_str(), 0, -1),
					     EPERM);
			  out += expect_call("chgrp own file to a group not held",
					     chown((shared + "/f").c_str(), -1, other_group), EPERM);
			  out += expect_call("chmod own file", chmod((shared + "/f").c_str(), 0444));
			  out += expect_call("write own 0444 file", open((shared + "/f").c_str(), O_WRONLY),
					     EACCES);
			  out += expect_call("remove root's file from a sticky directory",
					     unlink((sticky + "/roots").c_str()), EPERM);
			  out += expect_call("rename root's file in a sticky directory",
					     rename((sticky + "/roots").c_str(), (sticky + "/moved").c_str()),
					     EPERM);
			  fd = open((sticky + "/mine").c_str(), O_WRONLY | O_CREAT, 0644);
			  out += expect_call("create in a sticky directory", fd);
			  close(fd);
			  out += expect_call("remove own file from a sticky directory",
					     unlink((sticky + "/mine").c_str()));
			  fd = open((sgid + "/f").c_str(), O_WRONLY | O_CREAT, 0644);
			  out += expect_call("create in a set-group-ID directory", fd);
			  close(fd);
			  out += expect_owner_mode(sgid + "/f", user, other_group, 0644);
			  out += expect_call("mkdir in a set-group-ID directory",
					     mkdir((sgid + "/d").c_str(), 0755));
			  out += expect_owner_mode(sgid + "/d", user, other_group, 02755);
			  return out;
		  }));
	// What the other user made is what root sees, after the kernel forgot it.
	drop_caches();
	EXPECT_EQ(user, fresh_statx(shared + "/f").stx_uid);
	EXPECT_EQ("mine", read_file(shared + "/f"));
	EXPECT_EQ("root only", read_file(secret));
	EXPECT_EQ("r", read_file(sticky + "/roots"));
	EXPECT_EQ(other_group, fresh_statx(sgid + "/d").stx_gid);
}

// link(2): one file under two names (one inode, st_nlink 2), surviving the
// removal of the name that holds its data, renames of either name, and a
// rename of one name onto the other (which POSIX makes a no-op).
TEST(Pkramfs, HardLinks)
{
	write_file(path("hl_a"), "data");
	ASSERT_EQ(0, link(path("hl_a").c_str(), path("hl_b").c_str())) << std::strerror(errno);
	struct statx a = fresh_statx(path("hl_a")), b = fresh_statx(path("hl_b"));
	EXPECT_EQ(a.stx_ino, b.stx_ino);
	EXPECT_EQ(2u, b.stx_nlink);
	int fd = open(path("hl_b").c_str(), O_WRONLY | O_APPEND);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(5, write(fd, "+more", 5));
	close(fd);
	EXPECT_EQ("data+more", read_file(path("hl_a")));
	ASSERT_EQ(0, chmod(path("hl_b").c_str(), 0600));
	EXPECT_EQ(0600u, mode_of(path("hl_a")));

	EXPECT_EQ(-1, link(path("hl_a").c_str(), path("hl_b").c_str()));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(0, mkdir(path("hl_dir").c_str(), 0755));
	EXPECT_EQ(-1, link(path("hl_dir").c_str(), path("hl_dir2").c_str()));
	EXPECT_EQ(EPERM, errno);

	ASSERT_EQ(0, rename(path("hl_a").c_str(), path("hl_b").c_str())) << "one file's two names";
	EXPECT_EQ(2u, fresh_statx(path("hl_a")).stx_nlink);

	drop_caches();
	ASSERT_EQ(0, unlink(path("hl_a").c_str())) << "the name holding the data";
	drop_caches();
	struct statx left = fresh_statx(path("hl_b"));
	EXPECT_EQ(a.stx_ino, left.stx_ino);
	EXPECT_EQ(1u, left.stx_nlink);
	EXPECT_EQ("data+more", read_file(path("hl_b")));

	ASSERT_EQ(0, link(path("hl_b").c_str(), path("hl_dir/c").c_str()));
	ASSERT_EQ(0, rename(path("hl_b").c_str(), path("hl_moved").c_str()));
	ASSERT_EQ(0, rename(path("hl_dir").c_str(), path("hl_dir_moved").c_str()));
	drop_caches();
	EXPECT_EQ("data+more", read_file(path("hl_dir_moved/c")));
	EXPECT_EQ(2u, fresh_statx(path("hl_dir_moved/c")).stx_nlink);
	ASSERT_EQ(0, unlink(path("hl_moved").c_str()));
	EXPECT_EQ("data+more", read_file(path("hl_dir_moved/c")));
	EXPECT_EQ(1u, fresh_statx(path("hl_dir_moved/c")).stx_nlink);
}

} // namespace
