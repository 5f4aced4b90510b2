// pkram::save_tree and restore_tree on the host, against the in-memory pool
// (memory_pool.hpp): every file type, hard links, sparse files, owners,
// modes, times and xattrs come back exactly, on one thread and on four; a
// tree never writes through a symlink; a failed save leaves no node. The
// same code against the real module, across a real kexec: the cli_tree VM
// scenario.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "files.hpp"
#include "memory_pool.hpp"
#include "pkram/entry_meta.hpp"
#include "pkram/tree.hpp"

namespace fs = std::filesystem;

namespace {

// A directory of its own under the system's temporary directory, removed after.
class TempDir {
      public:
	TempDir()
	{
		std::string t = (fs::temp_directory_path() / "pkram-tree-XXXXXX").string();
		path_ = mkdtemp(t.data());
	}
	~TempDir() { fs::remove_all(path_); }
	const fs::path &path() const { return path_; }

      private:
	fs::path path_;
};

using pkram::test::read_file;
using pkram::test::write_file;

std::string random_bytes(size_t n, unsigned seed)
{
	std::mt19937 rng(seed);
	std::string s(n, '\0');
	for (auto &c : s)
		c = static_cast<char>(rng());
	return s;
}

void set_times(const fs::path &p, int64_t sec, long nsec)
{
	const timespec t[2] = {{sec, nsec}, {sec, nsec}};
	ASSERT_EQ(0, utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW)) << p;
}

bool root() { return geteuid() == 0; }

// Every file type and attribute save/restore promises to keep.
void make_tree(const fs::path &d)
{
	fs::create_directories(d / "dir/nested/deeper");
	fs::create_directories(d / "empty-dir");
	write_file(d / "big", random_bytes(3 << 20, 1));
	write_file(d / "small", "hello\n");
	write_file(d / "empty", "");
	// Sparse: 1 MiB of data at 8 MiB in a 16 MiB file, the rest holes.
	int fd = open((d / "sparse").c_str(), O_WRONLY | O_CREAT, 0600);
	ASSERT_GE(fd, 0);
	std::string mid = random_bytes(1 << 20, 2);
	ASSERT_EQ(static_cast<ssize_t>(mid.size()), pwrite(fd, mid.data(), mid.size(), 8 << 20));
	ASSERT_EQ(0, ftruncate(fd, 16 << 20));
	close(fd);
	write_file(d / "dir/nested/file", "secret\n");
	ASSERT_EQ(0, chmod((d / "dir/nested/file").c_str(), 04751));
	ASSERT_EQ(0, link((d / "big").c_str(), (d / "dir/big-hardlink").c_str()));
	ASSERT_EQ(0, symlink("../big", (d / "dir/symlink").c_str()));
	ASSERT_EQ(0, symlink("/nonexistent/absolute", (d / "dangling").c_str()));
	ASSERT_EQ(0, mkfifo((d / "fifo").c_str(), 0640));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	sockaddr_un addr{};
	addr.sun_family = AF_UNIX;
	std::string sock = (d / "socket").string();
	ASSERT_LT(sock.size(), sizeof(addr.sun_path));
	std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
	ASSERT_EQ(0, bind(s, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)));
	close(s);
	ASSERT_EQ(0, setxattr((d / "big").c_str(), "user.pkram", "\x00\xff\x10", 3, 0));
	ASSERT_EQ(0, setxattr((d / "dir").c_str(), "user.note", "hello", 5, 0));
	// Metadata of more than a page (the xattr hex-encoded): read whole.
	const std::string big = random_bytes(3000, 3);
	ASSERT_EQ(0, setxattr((d / "small").c_str(), "user.big", big.data(), big.size(), 0));
	if (root()) {
		ASSERT_EQ(0, mknod((d / "chardev").c_str(), S_IFCHR | 0600, makedev(1, 3)));
		ASSERT_EQ(0, mknod((d / "blockdev").c_str(), S_IFBLK | 0600, makedev(7, 0)));
		ASSERT_EQ(0, lchown((d / "dir/nested/file").c_str(), 1234, 5678));
		ASSERT_EQ(0, chmod((d / "dir/nested/file").c_str(), 04751)); // chown cleared set-ID
		ASSERT_EQ(0, setxattr((d / "dir").c_str(), "trusted.pkram", "t", 1, 0));
	}
	for (int i = 0; i < 300; i++)
		write_file(d / "dir" / ("f" + std::to_string(i)), std::to_string(i));
	set_times(d / "dir/nested/file", 981173106, 123456789);
	set_times(d / "dir/symlink", 1015045567, 500000000);
	set_times(d / "dangling", -86400, 250); // before 1970
	set_times(d / "dir/nested/deeper", 1049519228, 0);
	set_times(d / "dir", 1049519228, 1);
}

std::map<std::string, std::string> xattrs_of(const fs::path &p)
{
	std::map<std::string, std::string> out;
	char names[4096];
	ssize_t len = llistxattr(p.c_str(), names, sizeof(names));
	for (ssize_t i = 0; i > -1 && i < len; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
		char value[4096];
		ssize_t v = lgetxattr(p.c_str(), names + i, value, sizeof(value));
		out[names + i] = v < 0 ? "<error>" : std::string(value, static_cast<size_t>(v));
	}
	return out;
}

// One line per entry: everything save/restore keeps (not atime or ctime),
// content, hard-link groups (by the first name of each inode) and xattrs.
std::vector<std::string> manifest(const fs::path &root)
{
	std::vector<std::string> out;
	std::map<ino_t, std::string> first_name;
	std::vector<fs::path> paths;
	for (const auto &e : fs::recursive_directory_iterator(root))
		paths.push_back(e.path());
	std::sort(paths.begin(), paths.end());
	for (const auto &p : paths) {
		struct stat st;
		if (lstat(p.c_str(), &st))
			return {"lstat failed: " + p.string()};
		std::string rel = p.lexically_relative(root).string();
		std::string line = rel + " mode=" + std::to_string(st.st_mode) +
				   " uid=" + std::to_string(st.st_uid) + " gid=" + std::to_string(st.st_gid);
		line += " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
			std::to_string(st.st_mtim.tv_nsec);
		if (!S_ISDIR(st.st_mode))
			line += " nlink=" + std::to_string(st.st_nlink);
		if (S_ISREG(st.st_mode)) {
			auto [it, fresh] = first_name.try_emplace(st.st_ino, rel);
			line += " size=" + std::to_string(st.st_size) + " same-as=" + it->second +
				" content-hash=" + std::to_string(std::hash<std::string>{}(read_file(p)));
		}
		if (S_ISLNK(st.st_mode))
			line += " target=" + fs::read_symlink(p).string();
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			line += " rdev=" + std::to_string(st.st_rdev);
		for (const auto &[name, value] : xattrs_of(p))
			line += " xattr:" + name + "=" + std::to_string(std::hash<std::string>{}(value));
		out.push_back(line);
	}
	return out;
}

class Tree : public ::testing::Test {
      protected:
	std::shared_ptr<pkram::test::MemoryPool> pool_ = pkram::test::MemoryPool::create();
	pkram::Device dev_ = pool_->device();
	TempDir tmp_;
	fs::path src_ = tmp_.path() / "src", dst_ = tmp_.path() / "dst";
};

class TreeThreads : public Tree, public ::testing::WithParamInterface<unsigned> {};

TEST_P(TreeThreads, EveryFileTypeComesBackExactly)
{
	make_tree(src_);
	if (HasFatalFailure())
		return;
	const unsigned threads = GetParam();
	pkram::SaveOptions save;
	save.data_crc = true;
	save.threads = threads;
	auto saved = pkram::save_tree(dev_, src_.string(), "tree", save);
	ASSERT_TRUE(saved.ok()) << saved.error().what();
	// The file data copied: big (3 MiB), small, nested/file, the sparse
	// file's one data run (1 MiB) and f0..f299 (790 bytes); not the hard link.
	EXPECT_EQ((3u << 20) + 6 + 7 + (1u << 20) + 790, saved->bytes);
	auto node = dev_.open_node("tree");
	ASSERT_TRUE(node.ok());
	EXPECT_EQ(pkram::NodeState::sealed, node->info()->state);
	node->close();
	pool_->kexec();

	pkram::RestoreOptions restore;
	restore.threads = threads;
	auto restored = pkram::restore_tree(dev_, "tree", dst_.string(), restore);
	ASSERT_TRUE(restored.ok()) << restored.error().what();
	EXPECT_EQ(saved->entries, restored->entries);
	const auto want = manifest(src_);
	ASSERT_GE(want.size(), 314u) << "every entry of make_tree is compared";
	EXPECT_EQ(want, manifest(dst_));
	// The sparse file stays sparse: one 1 MiB run of data, the rest holes.
	struct stat st;
	ASSERT_EQ(0, stat((dst_ / "sparse").c_str(), &st));
	EXPECT_EQ(16 << 20, st.st_size);
	EXPECT_LE(st.st_blocks * 512, 2 << 20);
	EXPECT_EQ(fs::file_type::fifo, fs::symlink_status(dst_ / "fifo").type());
	EXPECT_EQ(fs::file_type::socket, fs::symlink_status(dst_ / "socket").type());
	struct stat a, b;
	ASSERT_EQ(0, stat((dst_ / "big").c_str(), &a));
	ASSERT_EQ(0, stat((dst_ / "dir/big-hardlink").c_str(), &b));
	EXPECT_EQ(a.st_ino, b.st_ino) << "the hard link is one file again";
	EXPECT_EQ(2u, a.st_nlink);
}

INSTANTIATE_TEST_SUITE_P(OneAndFourThreads, TreeThreads, ::testing::Values(1u, 4u));

// The hard link's second name is kept as a link entry, not a second copy.
TEST_F(Tree, HardLinksAreSavedOnce)
{
	fs::create_directories(src_);
	write_file(src_ / "a", std::string(100000, 'a'));
	ASSERT_EQ(0, link((src_ / "a").c_str(), (src_ / "b").c_str()));
	auto saved = pkram::save_tree(dev_, src_.string(), "links");
	ASSERT_TRUE(saved.ok()) << saved.error().what();
	EXPECT_EQ(100000u, saved->bytes);
	auto node = dev_.open_node("links");
	auto objs = node->objects();
	ASSERT_TRUE(objs.ok());
	uint64_t data = 0;
	for (const auto &o : *objs)
		data += o.page_size;
	EXPECT_EQ(100000u, data) << "one object holds the data";
}

// A node naming a symlink and an entry below it (which save_tree never
// writes, but a pool is untrusted input) must not write outside the target.
TEST_F(Tree, NothingIsWrittenThroughASymlinkOfTheTree)
{
	fs::path outside = tmp_.path() / "outside";
	fs::create_directories(outside);
	{
		auto node = dev_.create_node("evil");
		ASSERT_TRUE(node.ok());
		pkram::EntryMeta link;
		link.type = pkram::EntryMeta::Type::symlink;
		link.mode = 0777;
		link.target = outside.string();
		pkram::EntryMeta file;
		file.type = pkram::EntryMeta::Type::file;
		file.mode = 0644;
		for (const auto &[name, meta] : {std::pair{"a", link}, std::pair{"a/x", file}}) {
			auto bytes =
				node->open_object(name, {.stream = pkram::Stream::bytes, .create = true});
			ASSERT_TRUE(bytes.ok()) << bytes.error().what();
			std::string text = pkram::encode_meta(meta);
			ASSERT_TRUE(bytes->pwrite_all(text.data(), text.size(), 0).ok());
		}
		auto data = node->open_object("a/x", {.create = true});
		ASSERT_TRUE(data->pwrite_all("pwned", 5, 0).ok());
		ASSERT_TRUE(node->seal().ok());
	}
	auto restored = pkram::restore_tree(dev_, "evil", dst_.string());
	EXPECT_TRUE(fs::is_empty(outside)) << "restore wrote through the tree's own symlink";
	(void)restored;
}

// A symlink already in the destination is never followed: the restore fails
// and the place it points at stays untouched.
TEST_F(Tree, ASymlinkInTheDestinationIsNotFollowed)
{
	fs::create_directories(src_ / "dir");
	write_file(src_ / "dir/file", "data");
	ASSERT_TRUE(pkram::save_tree(dev_, src_.string(), "t").ok());
	fs::path outside = tmp_.path() / "outside";
	fs::create_directories(outside);
	fs::create_directories(dst_);
	ASSERT_EQ(0, symlink(outside.c_str(), (dst_ / "dir").c_str()));
	auto restored = pkram::restore_tree(dev_, "t", dst_.string());
	EXPECT_FALSE(restored.ok());
	EXPECT_TRUE(fs::is_empty(outside)) << "restore followed a symlink it did not make";
}

// A save that fails leaves no node behind; a name taken is refused as such.
TEST_F(Tree, AFailedSaveLeavesNoNode)
{
	fs::create_directories(src_);
	write_file(src_ / "f", "x");
	ASSERT_TRUE(pkram::save_tree(dev_, src_.string(), "taken").ok());
	auto again = pkram::save_tree(dev_, src_.string(), "taken");
	ASSERT_FALSE(again.ok());
	EXPECT_EQ(EEXIST, again.error().errnum);
	EXPECT_EQ(1u, dev_.nodes()->size());
	auto bad = pkram::save_tree(dev_, src_.string(), "bad/name");
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(EINVAL, bad.error().errnum);
	auto missing = pkram::save_tree(dev_, (tmp_.path() / "missing").string(), "missing");
	ASSERT_FALSE(missing.ok());
	EXPECT_EQ(1u, dev_.nodes()->size());
}

// Restoring a node over files of the same names is refused, not merged.
TEST_F(Tree, RestoreDoesNotOverwrite)
{
	fs::create_directories(src_);
	write_file(src_ / "f", "new");
	ASSERT_TRUE(pkram::save_tree(dev_, src_.string(), "t").ok());
	fs::create_directories(dst_);
	write_file(dst_ / "f", "old");
	EXPECT_FALSE(pkram::restore_tree(dev_, "t", dst_.string()).ok());
	EXPECT_EQ("old", read_file(dst_ / "f"));
}

} // namespace
