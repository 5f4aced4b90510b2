// System calls on a writable pkramfs node, inside the VM guest: the directory
// comes from $PKRAMFS_DIR (an open node's directory under a pkramfs mount).
// Run by tests/vm/scenarios/fuse.sh.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
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

std::string read_file(const std::string &p)
{
	int fd = open(p.c_str(), O_RDONLY);
	if (fd < 0)
		return "<open failed: " + std::string(std::strerror(errno)) + ">";
	std::string out;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		out.append(buf, static_cast<size_t>(n));
	close(fd);
	return out;
}

void write_file(const std::string &p, const std::string &data)
{
	int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_GE(fd, 0) << p << ": " << std::strerror(errno);
	ASSERT_EQ(static_cast<ssize_t>(data.size()), write(fd, data.data(), data.size()));
	ASSERT_EQ(0, close(fd));
}

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

} // namespace
