// The /dev/pkram ABI against the real module, inside the VM guest: one
// behaviour per test, exact errno asserted. Run by tests/vm/scenarios/ioctl_api.sh.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <linux/pkram.h>

#include "pkram/client.hpp"

namespace {

using pkram::Device;
using pkram::Stream;

class Pkram : public ::testing::Test {
      protected:
	void SetUp() override
	{
		auto dev = Device::open();
		ASSERT_TRUE(dev.ok()) << dev.error().what();
		dev_.emplace(std::move(dev.value()));
		fd_ = ::open(pkram::default_device, O_RDWR | O_CLOEXEC);
		ASSERT_GE(fd_, 0);
		auto st = dev_->status();
		ASSERT_TRUE(st.ok());
		used_before_ = st->used_bytes;
	}
	void TearDown() override
	{
		for (const auto &name : created_)
			(void)dev_->free_node(name);
		if (fd_ >= 0)
			::close(fd_);
		// Every test gives back what it took.
		auto st = dev_->status();
		ASSERT_TRUE(st.ok());
		EXPECT_EQ(used_before_, st->used_bytes);
	}
	std::string name(const std::string &base)
	{
		std::string n = base + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
		n = n.substr(0, PKRAM_NODE_NAME_MAX);
		created_.push_back(n);
		return n;
	}
	pkram::Node node(const std::string &base)
	{
		auto n = dev_->create_node(name(base));
		EXPECT_TRUE(n.ok()) << n.error().what();
		return std::move(n.value());
	}
	int raw_create(const void *nm, uint32_t len, uint32_t flags = 0)
	{
		pkram_node_open arg{};
		arg.size = sizeof(arg);
		arg.flags = flags;
		arg.name = reinterpret_cast<uintptr_t>(nm);
		arg.name_len = len;
		int r = ioctl(fd_, PKRAM_IOC_NODE_CREATE, &arg);
		if (r == 0)
			::close(arg.fd);
		return r == 0 ? 0 : errno;
	}

	std::optional<Device> dev_;
	int fd_ = -1;
	uint64_t used_before_ = 0;
	std::vector<std::string> created_;
};

TEST_F(Pkram, StatusReportsVersionsAndPool)
{
	auto st = dev_->status();
	ASSERT_TRUE(st.ok());
	EXPECT_EQ(PKRAM_ABI_VERSION, st->abi_version);
	EXPECT_EQ(3u, st->format_version); // the shadow, object names to 4095 bytes
	EXPECT_EQ(256ull << 20, st->pool_bytes);
	EXPECT_EQ(0x30000000ull, st->pool_base);
	EXPECT_EQ(st->pool_bytes, st->used_bytes + st->free_bytes + st->lent_bytes);
}

// A resize for the next kernel is itself a pool the next module accepts: a
// nonzero multiple of 2 MiB, and at least the 4 MiB a pool needs (its
// superblock's chunk and one data chunk), even when the nodes need less.
TEST_F(Pkram, ResizeForTheNextKernelIsAPoolTheNextModuleLoads)
{
	pkram_pool_resize r{};
	r.size = sizeof(r);
	r.next_bytes = 3 << 20;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_RESIZE, &r));
	EXPECT_EQ(EINVAL, errno);
	r.next_bytes = 2 << 20;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_RESIZE, &r)) << "a 2 MiB pool is refused at load";
	EXPECT_EQ(ERANGE, errno);
	EXPECT_GE(r.min_bytes, 4u << 20);
	auto st = dev_->status();
	ASSERT_TRUE(st.ok());
	EXPECT_EQ(0u, st->next_pool_bytes);
	ASSERT_TRUE(dev_->resize_next(st->pool_bytes / 2).ok());
	EXPECT_EQ(st->pool_bytes / 2, dev_->status()->next_pool_bytes);
	ASSERT_TRUE(dev_->resize_next(st->pool_bytes).ok()) << "its own size cancels";
	EXPECT_EQ(0u, dev_->status()->next_pool_bytes);
}

// Adopt and discard act on a held stale pool only (stale_pool and handover
// scenarios hold one); a fresh pool holds none.
TEST_F(Pkram, AdoptAndDiscardNeedAStalePool)
{
	auto st = dev_->status();
	ASSERT_TRUE(st.ok());
	EXPECT_FALSE(st->stale_held);
	pkram_pool_adopt adopt{};
	adopt.size = sizeof(adopt);
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_ADOPT, &adopt));
	EXPECT_EQ(ENOENT, errno);
	adopt.flags = 1;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_ADOPT, &adopt));
	EXPECT_EQ(EINVAL, errno);
	adopt.flags = 0;
	adopt.verified_nodes = 1; // outputs come in zero
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_ADOPT, &adopt));
	EXPECT_EQ(EINVAL, errno);
	pkram_pool_discard discard{};
	discard.size = sizeof(discard);
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_DISCARD, &discard));
	EXPECT_EQ(ENOENT, errno);
	discard.flags = 1;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_DISCARD, &discard));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(ENOENT, dev_->adopt().error().errnum);
}

TEST_F(Pkram, TooSmallStructIsEINVAL)
{
	pkram_pool_status st{};
	st.size = 4;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_STATUS, &st));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(Pkram, LargerStructNeedsAZeroTail)
{
	struct {
		pkram_pool_status st;
		uint64_t future;
	} big{};
	big.st.size = sizeof(big);
	EXPECT_EQ(0, ioctl(fd_, PKRAM_IOC_POOL_STATUS, &big));
	EXPECT_EQ(sizeof(pkram_pool_status), big.st.size); // the size the module knows
	big.st.size = sizeof(big);
	big.future = 1;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_STATUS, &big));
	EXPECT_EQ(EINVAL, errno);
}

// The module never scans more than a page of user memory for a zero tail.
TEST_F(Pkram, StructLargerThanAPageIsE2BIG)
{
	std::vector<char> huge(8192, '\0');
	auto *st = reinterpret_cast<pkram_pool_status *>(huge.data());
	st->size = static_cast<uint32_t>(huge.size());
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_STATUS, st));
	EXPECT_EQ(E2BIG, errno);
	st->size = 0xffffffffu;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_POOL_STATUS, st));
	EXPECT_EQ(E2BIG, errno);
}

TEST_F(Pkram, UnknownFlagsAndReservedFieldsAreEINVAL)
{
	std::string n = name("flags");
	EXPECT_EQ(EINVAL, raw_create(n.data(), static_cast<uint32_t>(n.size()), 1u << 7));
	pkram_node_free fr{};
	fr.size = sizeof(fr);
	fr.name = reinterpret_cast<uintptr_t>(n.data());
	fr.name_len = static_cast<uint32_t>(n.size());
	fr.reserved = 1;
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_NODE_FREE, &fr));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(Pkram, BadNodeNames)
{
	EXPECT_EQ(EINVAL, raw_create("", 0));
	EXPECT_EQ(EINVAL, raw_create("a/b", 3));
	EXPECT_EQ(EINVAL, raw_create("..", 2));
	EXPECT_EQ(EINVAL, raw_create(".", 1));
	EXPECT_EQ(EINVAL, raw_create("a\0b", 3));
	EXPECT_EQ(EINVAL, raw_create("a\nb", 3)); // would forge a kernel log line
	EXPECT_EQ(EINVAL, raw_create("\x1b[31m", 5));
	std::string long_name(PKRAM_NODE_NAME_MAX + 1, 'x');
	EXPECT_EQ(ENAMETOOLONG, raw_create(long_name.data(), static_cast<uint32_t>(long_name.size())));
	EXPECT_EQ(EFAULT, raw_create(reinterpret_cast<void *>(16), 4));
}

TEST_F(Pkram, BadObjectNames)
{
	auto n = node("objnames");
	for (const char *bad : {"/abs", "a//b", "../x", "a/./b", "x/", "."}) {
		auto o = n.open_object(bad, {.create = true});
		ASSERT_FALSE(o.ok()) << bad;
		EXPECT_EQ(EINVAL, o.error().errnum) << bad;
	}
	std::string long_name(PKRAM_OBJ_NAME_MAX + 1, 'y');
	auto o = n.open_object(long_name, {.create = true});
	ASSERT_FALSE(o.ok());
	EXPECT_EQ(ENAMETOOLONG, o.error().errnum);
}

// An object name holds a full path (PATH_MAX less its NUL): created, found
// by name, described, listed and renamed whole.
TEST_F(Pkram, PathLongObjectNames)
{
	auto n = node("pathnames");
	std::string path;
	for (int i = 0; path.size() < PKRAM_OBJ_NAME_MAX; i++)
		path += std::string(250, static_cast<char>('a' + i % 26)) + "/";
	path.resize(PKRAM_OBJ_NAME_MAX);
	path.back() = 'f';
	ASSERT_EQ(4095u, path.size());
	auto o = n.open_object(path, {.create = true});
	ASSERT_TRUE(o.ok()) << o.error().what();
	ASSERT_TRUE(o->pwrite_all("deep", 4, 0).ok());
	auto info = o->info();
	ASSERT_TRUE(info.ok()) << info.error().what();
	EXPECT_EQ(path, info->name);
	auto again = n.open_object(path);
	ASSERT_TRUE(again.ok()) << again.error().what();
	auto list = n.objects();
	ASSERT_TRUE(list.ok()) << list.error().what();
	ASSERT_EQ(1u, list->size());
	EXPECT_EQ(path, list->front().name);
	std::string moved = path;
	moved.back() = 'g';
	ASSERT_TRUE(n.rename_object(path, moved).ok());
	EXPECT_EQ(moved, n.objects()->front().name);
	// A caller with a buffer for the old limit learns the length it needs.
	pkram_obj_stat st{};
	char small[1024];
	st.size = sizeof(st);
	st.name = reinterpret_cast<uintptr_t>(small);
	st.name_buf_len = sizeof(small);
	EXPECT_EQ(-1, ioctl(o->fd(), PKRAM_IOC_OBJ_INFO, &st));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(4095u, st.name_len);
}

TEST_F(Pkram, UnknownIoctlIsENOTTY)
{
	EXPECT_EQ(-1, ioctl(fd_, _IO(PKRAM_IOC_MAGIC, 0x7f), nullptr));
	EXPECT_EQ(ENOTTY, errno);
	// A node-fd ioctl on the device fd is unknown there too.
	pkram_node_seal seal{};
	seal.size = sizeof(seal);
	EXPECT_EQ(-1, ioctl(fd_, PKRAM_IOC_NODE_SEAL, &seal));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(Pkram, CreateTwiceIsEEXISTAndMissingIsENOENT)
{
	auto n = node("twice");
	auto again = dev_->create_node(n.name());
	ASSERT_FALSE(again.ok());
	EXPECT_EQ(EEXIST, again.error().errnum);
	auto missing = dev_->open_node("no-such-node");
	ASSERT_FALSE(missing.ok());
	EXPECT_EQ(ENOENT, missing.error().errnum);
	auto obj = n.open_object("missing");
	ASSERT_FALSE(obj.ok());
	EXPECT_EQ(ENOENT, obj.error().errnum);
	ASSERT_TRUE(n.open_object("x", {.create = true}).ok());
	auto excl = n.open_object("x", {.create = true, .exclusive = true});
	ASSERT_FALSE(excl.ok());
	EXPECT_EQ(EEXIST, excl.error().errnum);
}

TEST_F(Pkram, WritesAndReadsAtOddOffsetsWithHolesAsZeros)
{
	auto n = node("io");
	auto o = n.open_object("f", {.create = true});
	ASSERT_TRUE(o.ok());
	std::string a(5000, 'a'), b(3, 'b');
	ASSERT_TRUE(o->pwrite_all(a.data(), a.size(), 4093).ok());
	ASSERT_TRUE(o->pwrite_all(b.data(), b.size(), (1 << 20) + 7).ok());
	auto info = o->info();
	ASSERT_TRUE(info.ok());
	EXPECT_EQ((1u << 20) + 10, info->page_size);
	EXPECT_EQ(4u * 4096, info->data_bytes); // pages 0-2 for a, one for b: holes take nothing
	std::string all(info->page_size + 100, 'z');
	auto got = o->pread(all.data(), all.size(), 0);
	ASSERT_TRUE(got.ok());
	ASSERT_EQ(info->page_size, *got); // short read at the end
	EXPECT_EQ(std::string(4093, '\0'), all.substr(0, 4093));
	EXPECT_EQ(a, all.substr(4093, 5000));
	EXPECT_EQ(std::string((1 << 20) + 7 - 9093, '\0'), all.substr(9093, (1 << 20) + 7 - 9093));
	EXPECT_EQ(b, all.substr((1 << 20) + 7, 3));
	EXPECT_EQ(static_cast<off_t>(info->page_size), lseek(o->fd(), 0, SEEK_END));
	EXPECT_EQ(-1, pwrite(o->fd(), "x", 1, static_cast<off_t>(PKRAM_OBJ_MAX_SIZE)));
	EXPECT_EQ(EFBIG, errno);
	// Through syscall(): the compiler rightly refuses to let pwrite() see a bad buffer.
	EXPECT_EQ(-1, syscall(SYS_pwrite64, o->fd(), 16L, 10L, 0L));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(Pkram, ByteStreamIsSeparateFromPageStream)
{
	auto n = node("bytes");
	auto pages = n.open_object("o", {.create = true});
	auto bytes = n.open_object("o", {.stream = Stream::bytes});
	ASSERT_TRUE(pages.ok() && bytes.ok());
	std::string meta(10000, 'm');
	ASSERT_TRUE(bytes->pwrite_all(meta.data(), meta.size(), 0).ok());
	ASSERT_TRUE(pages->pwrite_all("data", 4, 0).ok());
	EXPECT_EQ(meta, *bytes->read_all());
	EXPECT_EQ("data", *pages->read_all());
	auto info = pages->info();
	EXPECT_EQ(10000u, info->byte_size);
	EXPECT_EQ(4u, info->page_size);
}

TEST_F(Pkram, SealedNodeIsReadOnly)
{
	auto n = node("sealed");
	auto o = n.open_object("f", {.create = true});
	ASSERT_TRUE(o->pwrite_all("abc", 3, 0).ok());
	ASSERT_TRUE(n.seal().ok());
	ASSERT_TRUE(n.seal().ok()); // sealing twice is harmless
	EXPECT_EQ(-1, pwrite(o->fd(), "x", 1, 0));
	EXPECT_EQ(EROFS, errno);
	auto created = n.open_object("g", {.create = true});
	ASSERT_FALSE(created.ok());
	EXPECT_EQ(EROFS, created.error().errnum);
	auto reopened = n.open_object("f");
	ASSERT_TRUE(reopened.ok());
	EXPECT_EQ(-1, pwrite(reopened->fd(), "x", 1, 0));
	EXPECT_EQ(EBADF, errno); // fds of a sealed node are read-only
	EXPECT_EQ("abc", *reopened->read_all());
	EXPECT_EQ(pkram::NodeState::sealed, n.info()->state);
}

TEST_F(Pkram, OpenForWriteUnsealsInPlace)
{
	auto n = node("unseal");
	{
		auto o = n.open_object("f", {.create = true});
		ASSERT_TRUE(o->pwrite_all("abc", 3, 0).ok());
	}
	ASSERT_TRUE(n.seal().ok());
	auto w = dev_->open_node(n.name(), true);
	ASSERT_TRUE(w.ok());
	EXPECT_EQ(pkram::NodeState::open, w->info()->state);
	EXPECT_EQ(0u, w->info()->meta_bytes);
	auto o = w->open_object("f");
	ASSERT_TRUE(o->pwrite_all("X", 1, 1).ok());
	EXPECT_EQ("aXc", *o->read_all());
	ASSERT_TRUE(w->seal().ok());
	EXPECT_EQ(pkram::NodeState::sealed, w->info()->state);
}

TEST_F(Pkram, FreeWhileOpenIsEBUSYThenFreesEverything)
{
	std::string nm;
	{
		auto n = node("busy");
		nm = n.name();
		auto o = n.open_object("f", {.create = true});
		std::string data(3 << 20, 'd');
		ASSERT_TRUE(o->pwrite_all(data.data(), data.size(), 0).ok());
		ASSERT_TRUE(n.seal().ok());
		auto st = dev_->free_node(nm);
		ASSERT_FALSE(st.ok());
		EXPECT_EQ(EBUSY, st.error().errnum);
	}
	EXPECT_TRUE(dev_->free_node(nm).ok());
	auto again = dev_->free_node(nm);
	ASSERT_FALSE(again.ok());
	EXPECT_EQ(ENOENT, again.error().errnum);
}

TEST_F(Pkram, FullPoolIsENOSPCAndOtherNodesAreIntact)
{
	auto keep = node("keep");
	auto k = keep.open_object("k", {.create = true});
	std::string pattern(1 << 20, 'k');
	ASSERT_TRUE(k->pwrite_all(pattern.data(), pattern.size(), 0).ok());
	auto fill = node("fill");
	auto f = fill.open_object("f", {.create = true});
	std::string chunk(1 << 20, 'f');
	uint64_t pos = 0;
	int err = 0;
	for (;;) {
		ssize_t w = pwrite(f->fd(), chunk.data(), chunk.size(), static_cast<off_t>(pos));
		if (w < 0) {
			err = errno;
			break;
		}
		pos += static_cast<uint64_t>(w);
		ASSERT_LT(pos, 512ull << 20) << "the pool never filled";
	}
	EXPECT_EQ(ENOSPC, err);
	// What was written is consistent: the size covers exactly the accepted bytes.
	EXPECT_EQ(pos, f->info()->page_size);
	auto st = dev_->status();
	EXPECT_LT(st->free_bytes, 4096u * 2);
	// Sealing needs metadata pages: with the pool full it fails cleanly.
	auto seal = fill.seal();
	EXPECT_TRUE(seal.ok() || seal.error().errnum == ENOSPC) << seal.error().what();
	EXPECT_EQ(pattern, *k->read_all());
}

// The per-node object cap (module parameter max_objects): one more create is
// ENOSPC, opening existing objects still works, other nodes are not limited.
TEST_F(Pkram, ObjectCapIsENOSPC)
{
	const char *param = "/sys/module/pkram/parameters/max_objects";
	std::string old_cap;
	{
		FILE *f = std::fopen(param, "r");
		ASSERT_NE(nullptr, f) << param;
		char buf[32] = {};
		ASSERT_NE(nullptr, std::fgets(buf, sizeof(buf), f));
		std::fclose(f);
		old_cap = buf;
	}
	auto set_cap = [&](const std::string &v) {
		FILE *f = std::fopen(param, "w");
		ASSERT_NE(nullptr, f);
		std::fputs(v.c_str(), f);
		ASSERT_EQ(0, std::fclose(f));
	};
	EXPECT_EQ("1048576\n", old_cap);
	set_cap("5");
	auto n = node("cap");
	for (int i = 0; i < 5; i++)
		EXPECT_TRUE(n.open_object("o" + std::to_string(i), {.create = true}).ok()) << i;
	auto over = n.open_object("o5", {.create = true});
	set_cap(old_cap);
	ASSERT_FALSE(over.ok());
	EXPECT_EQ(ENOSPC, over.error().errnum);
	EXPECT_TRUE(n.open_object("o4").ok());
	EXPECT_EQ(5u, n.info()->nr_objects);
	// With the default back, the node takes more.
	EXPECT_TRUE(n.open_object("o5", {.create = true}).ok());
}

TEST_F(Pkram, ObjectIterationAndShortNameBuffers)
{
	auto n = node("iter");
	for (int i = 0; i < 50; i++)
		ASSERT_TRUE(n.open_object("dir/obj-" + std::to_string(i), {.create = true}).ok());
	auto objs = n.objects();
	ASSERT_TRUE(objs.ok());
	ASSERT_EQ(50u, objs->size());
	EXPECT_EQ("dir/obj-49", objs->back().name);
	int nfd = -1;
	{
		pkram_node_open arg{};
		arg.size = sizeof(arg);
		arg.name = reinterpret_cast<uintptr_t>(n.name().data());
		arg.name_len = static_cast<uint32_t>(n.name().size());
		ASSERT_EQ(0, ioctl(fd_, PKRAM_IOC_NODE_OPEN, &arg));
		nfd = arg.fd;
	}
	char small[4];
	pkram_obj_stat st{};
	st.size = sizeof(st);
	st.name = reinterpret_cast<uintptr_t>(small);
	st.name_buf_len = sizeof(small);
	EXPECT_EQ(-1, ioctl(nfd, PKRAM_IOC_OBJ_STAT, &st));
	EXPECT_EQ(ENAMETOOLONG, errno);
	EXPECT_EQ(9u, st.name_len);
	::close(nfd);
}

// Names that differ in their last characters only (a directory's files):
// every create succeeds while the name table grows, and each is found again.
TEST_F(Pkram, ManySimilarNamesAreAllCreatedAndFound)
{
	auto n = node("similar");
	constexpr int count = 20000;
	for (int i = 0; i < count; i++) {
		auto o = n.open_object("rsync/many/f" + std::to_string(i), {.create = true});
		ASSERT_TRUE(o.ok()) << i << ": " << o.error().what();
	}
	for (int i = 0; i < count; i += 7)
		ASSERT_TRUE(n.open_object("rsync/many/f" + std::to_string(i)).ok()) << i;
	EXPECT_EQ(static_cast<uint32_t>(count), n.info()->nr_objects);
}

TEST_F(Pkram, ManyThreadsOnOneNodeAndOnSeveral)
{
	constexpr int threads = 6;
	auto shared = node("shared");
	std::vector<pkram::Node> own;
	for (int t = 0; t < threads; t++)
		own.push_back(node("own" + std::to_string(t)));
	std::atomic<int> failures{0};
	std::vector<std::thread> pool;
	for (int t = 0; t < threads; t++)
		pool.emplace_back([&, t] {
			std::string data(300000 + t * 4099, static_cast<char>('A' + t));
			for (pkram::Node *n : {&shared, &own[t]}) {
				auto o = n->open_object("t" + std::to_string(t), {.create = true});
				if (!o.ok()) {
					failures++;
					continue;
				}
				for (size_t off = 0; off < data.size(); off += 777)
					if (!o->pwrite_all(data.data() + off,
							   std::min<size_t>(777, data.size() - off), off)
						     .ok())
						failures++;
				if (*o->read_all() != data)
					failures++;
			}
		});
	for (auto &th : pool)
		th.join();
	EXPECT_EQ(0, failures.load());
	EXPECT_EQ(static_cast<uint32_t>(threads), shared.info()->nr_objects);
}

// A MAP_SHARED mapping of an object; unmapped on scope exit.
struct Mapping {
	Mapping(int fd, size_t length, int prot) : len(length)
	{
		addr = mmap(nullptr, len, prot, MAP_SHARED, fd, 0);
	}
	~Mapping()
	{
		if (addr != MAP_FAILED)
			munmap(addr, len);
	}
	char *bytes() const { return static_cast<char *>(addr); }
	void *addr;
	size_t len;
};

TEST_F(Pkram, SharedMappingSeesWritesBothWays)
{
	auto n = node("mmap");
	auto o = n.open_object("guest-ram", {.create = true});
	ASSERT_TRUE(o->truncate(3 * 4096).ok());
	ASSERT_TRUE(o->pwrite_all("via-write", 9, 4096).ok());
	Mapping m(o->fd(), 3 * 4096, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, m.addr) << std::strerror(errno);
	EXPECT_EQ(0, std::memcmp(m.bytes() + 4096, "via-write", 9));
	EXPECT_EQ(0, m.bytes()[0]); // a hole reads as zero
	std::memcpy(m.bytes() + 2 * 4096 + 5, "via-mmap", 8);
	char back[8];
	ASSERT_EQ(8u, *o->pread(back, 8, 2 * 4096 + 5));
	EXPECT_EQ(0, std::memcmp(back, "via-mmap", 8));
	EXPECT_EQ(3u * 4096, o->info()->data_bytes); // the faults allocated the holes
}

TEST_F(Pkram, WriteFromAMappingOfTheSameObject)
{
	auto n = node("selfcopy");
	auto o = n.open_object("f", {.create = true});
	std::string page(4096, 's');
	ASSERT_TRUE(o->pwrite_all(page.data(), page.size(), 4096).ok());
	Mapping m(o->fd(), 2 * 4096, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, m.addr);
	// The source pages are not faulted in yet: the module must not deadlock.
	ASSERT_TRUE(o->pwrite_all(m.bytes() + 4096, 4096, 0).ok());
	EXPECT_EQ(page + page, *o->read_all());
	ASSERT_EQ(4096u, *o->pread(m.bytes(), 4096, 4096));
}

TEST_F(Pkram, PrivateMappingIsEINVAL)
{
	auto n = node("private");
	auto o = n.open_object("f", {.create = true});
	ASSERT_TRUE(o->truncate(4096).ok());
	void *p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, o->fd(), 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

// touch, run in a child, must die of SIGBUS.
template <typename Touch> void expect_sigbus(Touch touch)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		touch();
		_exit(0);
	}
	int status = 0;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGBUS, WTERMSIG(status));
}

// A fault that needs a page of a full pool is SIGBUS, not an endless retry.
TEST_F(Pkram, FaultOnAFullPoolIsSIGBUS)
{
	auto fill = node("fullfault");
	auto f = fill.open_object("f", {.create = true});
	std::string chunk(1 << 20, 'f');
	for (uint64_t pos = 0;; pos += chunk.size()) {
		if (pwrite(f->fd(), chunk.data(), chunk.size(), static_cast<off_t>(pos)) < 0) {
			ASSERT_EQ(ENOSPC, errno);
			break;
		}
		ASSERT_LT(pos, 512ull << 20) << "the pool never filled";
	}
	// Take what single pages are left, too.
	for (uint64_t pos = f->info()->page_size;; pos += 4096)
		if (pwrite(f->fd(), chunk.data(), 4096, static_cast<off_t>(pos)) < 0)
			break;
	auto o = fill.open_object("hole", {.create = true});
	ASSERT_TRUE(o->truncate(4096).ok());
	Mapping m(o->fd(), 4096, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, m.addr);
	expect_sigbus([&m] { m.bytes()[0] = 1; });
}

// A read-only mapping of an open node shows a hole as zeros; once write(2)
// fills it, the mapping shows the data (the zero page is zapped).
TEST_F(Pkram, ReadOnlyMappingSeesAFilledHole)
{
	auto n = node("zapped");
	auto o = n.open_object("f", {.create = true});
	ASSERT_TRUE(o->truncate(2 * 4096).ok());
	Mapping m(o->fd(), 2 * 4096, PROT_READ);
	ASSERT_NE(MAP_FAILED, m.addr);
	EXPECT_EQ(0, m.bytes()[4096 + 5]);
	ASSERT_TRUE(o->pwrite_all("data", 4, 4096 + 5).ok());
	EXPECT_EQ('d', m.bytes()[4096 + 5]);
}

TEST_F(Pkram, TouchingPastTheSizeIsSIGBUS)
{
	auto n = node("sigbus");
	auto o = n.open_object("f", {.create = true});
	ASSERT_TRUE(o->truncate(4096).ok());
	Mapping m(o->fd(), 2 * 4096, PROT_READ);
	ASSERT_NE(MAP_FAILED, m.addr);
	expect_sigbus([&m] {
		volatile char c = m.bytes()[4096];
		(void)c;
	});
}

TEST_F(Pkram, MappingsBlockSealReopenShrinkAndFree)
{
	std::string nm;
	{
		auto n = node("maps");
		nm = n.name();
		auto o = n.open_object("f", {.create = true});
		ASSERT_TRUE(o->truncate(2 * 4096).ok());
		{
			Mapping rw(o->fd(), 2 * 4096, PROT_READ | PROT_WRITE);
			ASSERT_NE(MAP_FAILED, rw.addr);
			rw.bytes()[0] = 'x';
			auto seal = n.seal();
			ASSERT_FALSE(seal.ok());
			EXPECT_EQ(EBUSY, seal.error().errnum);
			auto shrink = o->truncate(4096);
			ASSERT_FALSE(shrink.ok());
			EXPECT_EQ(EBUSY, shrink.error().errnum);
		}
		ASSERT_TRUE(n.seal().ok());
		auto ro_fd = n.open_object("f");
		Mapping ro(ro_fd->fd(), 2 * 4096, PROT_READ);
		ASSERT_NE(MAP_FAILED, ro.addr);
		EXPECT_EQ('x', ro.bytes()[0]);
		// A sealed node's fds are read-only: no writable mapping.
		void *w = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro_fd->fd(), 0);
		EXPECT_EQ(MAP_FAILED, w);
		EXPECT_EQ(EACCES, errno);
		auto reopen = dev_->open_node(nm, true);
		ASSERT_FALSE(reopen.ok());
		EXPECT_EQ(EBUSY, reopen.error().errnum);
		// The mapping alone (fds closed below) keeps the node busy.
		void *keep = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, ro_fd->fd(), 0);
		ASSERT_NE(MAP_FAILED, keep);
		ro_fd = pkram::make_error(0, "closed");
		o = pkram::make_error(0, "closed");
		auto busy = dev_->free_node(nm);
		ASSERT_FALSE(busy.ok());
		EXPECT_EQ(EBUSY, busy.error().errnum);
		munmap(keep, 4096);
	}
	EXPECT_TRUE(dev_->free_node(nm).ok());
}

TEST_F(Pkram, TruncateShrinksFreesAndGrowsWithZeros)
{
	auto n = node("trunc");
	auto o = n.open_object("f", {.create = true});
	std::string data(5 * 4096, 'd');
	ASSERT_TRUE(o->pwrite_all(data.data(), data.size(), 0).ok());
	ASSERT_TRUE(o->truncate(4096 + 10).ok());
	EXPECT_EQ(2u * 4096, o->info()->data_bytes);
	ASSERT_TRUE(o->truncate(3 * 4096).ok());
	auto all = o->read_all();
	ASSERT_EQ(3u * 4096, all->size());
	EXPECT_EQ(std::string(4096 + 10, 'd'), all->substr(0, 4096 + 10));
	EXPECT_EQ(std::string(2 * 4096 - 10, '\0'), all->substr(4096 + 10));
}

TEST_F(Pkram, SealWithChecksumsThenVerify)
{
	auto n = node("crc");
	auto o = n.open_object("f", {.create = true});
	std::string data(3 << 20, 'c');
	ASSERT_TRUE(o->pwrite_all(data.data(), data.size(), 0).ok());
	ASSERT_TRUE(o->pwrite_all("x", 1, 10 << 20).ok()); // a second extent after a hole
	auto unsealed = n.verify();
	ASSERT_FALSE(unsealed.ok());
	EXPECT_EQ(ENODATA, unsealed.error().errnum);
	ASSERT_TRUE(n.seal(true).ok());
	EXPECT_TRUE(n.info()->has_data_crc);
	auto rep = n.verify();
	ASSERT_TRUE(rep.ok()) << rep.error().what();
	EXPECT_GE(rep->checked_extents, 2u);
	EXPECT_EQ((3u << 20) + 4096, rep->checked_bytes);
	EXPECT_EQ(0u, rep->bad_extents);
}

TEST_F(Pkram, VerifyNeedsChecksums)
{
	auto n = node("nocrc");
	ASSERT_TRUE(n.open_object("f", {.create = true})->pwrite_all("a", 1, 0).ok());
	ASSERT_TRUE(n.seal().ok());
	EXPECT_FALSE(n.info()->has_data_crc);
	auto rep = n.verify();
	ASSERT_FALSE(rep.ok());
	EXPECT_EQ(ENODATA, rep.error().errnum);
	pkram_node_seal bad{};
	bad.size = sizeof(bad);
	bad.flags = 1u << 9;
	auto n2 = node("badflag");
	// Unknown seal flags are rejected (through the raw ioctl on a fresh node fd).
	pkram_node_open arg{};
	arg.size = sizeof(arg);
	arg.name = reinterpret_cast<uintptr_t>(n2.name().data());
	arg.name_len = static_cast<uint32_t>(n2.name().size());
	ASSERT_EQ(0, ioctl(fd_, PKRAM_IOC_NODE_OPEN, &arg));
	EXPECT_EQ(-1, ioctl(arg.fd, PKRAM_IOC_NODE_SEAL, &bad));
	EXPECT_EQ(EINVAL, errno);
	::close(arg.fd);
}

TEST_F(Pkram, AlignedTwoMegabyteWritesGetAlignedPoolMemory)
{
	auto n = node("huge");
	auto o = n.open_object("f", {.create = true});
	std::string data(4 << 20, 'h');
	ASSERT_TRUE(o->pwrite_all(data.data(), data.size(), 0).ok());
	// Shifted by 4 KiB, only the one 2 MiB chunk it covers whole is huge.
	auto u = n.open_object("unaligned", {.create = true});
	ASSERT_TRUE(u->pwrite_all(data.data(), data.size(), 4096).ok());
	// Short of 2 MiB: 4 KiB pages only.
	auto s = n.open_object("short", {.create = true});
	ASSERT_TRUE(s->pwrite_all(data.data(), (2 << 20) - 4096, 0).ok());
	auto info = o->info();
	EXPECT_EQ(2u, info->nr_huge);
	EXPECT_EQ(1u, info->nr_extents);
	EXPECT_EQ(1u, u->info()->nr_huge);
	EXPECT_EQ(0u, s->info()->nr_huge);
	EXPECT_EQ(data, o->read_all()->substr(0));
}

TEST_F(Pkram, DeletedObjectLivesUntilItsLastFdCloses)
{
	auto n = node("delete");
	auto o = n.open_object("f", {.create = true});
	std::string data(3 << 20, 'x');
	ASSERT_TRUE(o->pwrite_all(data.data(), data.size(), 0).ok());
	ASSERT_TRUE(n.delete_object("f").ok());
	EXPECT_EQ(0u, n.info()->nr_objects);
	EXPECT_FALSE(n.open_object("f").ok());
	EXPECT_EQ(data, *o->read_all()); // still readable through the open fd
	auto again = n.delete_object("f");
	ASSERT_FALSE(again.ok());
	EXPECT_EQ(ENOENT, again.error().errnum);
	// TearDown checks every page came back once the fd closed.
}

TEST_F(Pkram, RenameReplacesUnlessNoReplace)
{
	auto n = node("rename");
	ASSERT_TRUE(n.open_object("a", {.create = true})->pwrite_all("A", 1, 0).ok());
	ASSERT_TRUE(n.open_object("b", {.create = true})->pwrite_all("B", 1, 0).ok());
	auto refused = n.rename_object("a", "b", true);
	ASSERT_FALSE(refused.ok());
	EXPECT_EQ(EEXIST, refused.error().errnum);
	ASSERT_TRUE(n.rename_object("a", "dir/b2").ok());
	EXPECT_EQ("A", *n.open_object("dir/b2")->read_all());
	ASSERT_TRUE(n.rename_object("dir/b2", "b").ok()); // replaces b
	EXPECT_EQ("A", *n.open_object("b")->read_all());
	EXPECT_EQ(1u, n.info()->nr_objects);
	auto bad = n.rename_object("b", "../escape");
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(EINVAL, bad.error().errnum);
	ASSERT_TRUE(n.seal().ok());
	auto sealed = n.rename_object("b", "c");
	ASSERT_FALSE(sealed.ok());
	EXPECT_EQ(EROFS, sealed.error().errnum);
}

TEST_F(Pkram, NonRootIsDenied)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct passwd *nobody = getpwnam("nobody");
		if (!nobody || setgid(nobody->pw_gid) || setuid(nobody->pw_uid))
			_exit(2);
		int fd = ::open(pkram::default_device, O_RDWR);
		_exit(fd < 0 && errno == EACCES ? 0 : 1);
	}
	int status = 0;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

} // namespace
