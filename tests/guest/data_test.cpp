// The data path against the real module, inside the VM guest: extents, not
// pages (a stream written any way is one extent on 2 MiB-aligned pool
// chunks), SEEK_DATA/SEEK_HOLE, splice and sendfile, and that no byte a
// stream never wrote shows old pool contents. Run by
// tests/vm/scenarios/data_path.sh on a pool larger than 4 GiB.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include <linux/pkram.h>

#include "pkram/client.hpp"

namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

class DataPath : public ::testing::Test {
      protected:
	void SetUp() override
	{
		auto dev = pkram::Device::open();
		ASSERT_TRUE(dev.ok()) << dev.error().what();
		dev_.emplace(std::move(dev.value()));
		used_before_ = dev_->status()->used_bytes;
	}
	void TearDown() override
	{
		objects_.clear();
		for (const auto &n : nodes_)
			EXPECT_TRUE(dev_->free_node(n).ok()) << n;
		// Every test gives back exactly what it took.
		EXPECT_EQ(used_before_, dev_->status()->used_bytes);
	}
	pkram::Node node()
	{
		std::string n = ::testing::UnitTest::GetInstance()->current_test_info()->name();
		n = n.substr(0, PKRAM_NODE_NAME_MAX);
		nodes_.push_back(n);
		auto node = dev_->create_node(n);
		EXPECT_TRUE(node.ok()) << node.error().what();
		return std::move(node.value());
	}
	pkram::Object &object(pkram::Node &n, const std::string &name)
	{
		auto o = n.open_object(name, {.create = true});
		EXPECT_TRUE(o.ok()) << o.error().what();
		objects_.push_back(std::move(o.value()));
		return objects_.back();
	}
	std::optional<pkram::Device> dev_;
	std::vector<std::string> nodes_;
	std::deque<pkram::Object> objects_; // references stay valid as it grows
	uint64_t used_before_ = 0;
};

std::string random_bytes(size_t n, unsigned seed)
{
	std::mt19937_64 rng(seed);
	std::string s(n, '\0');
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t v = rng();
		std::memcpy(&s[i], &v, 8);
	}
	return s;
}

bool all_zero(const std::string &s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (s[i])
			return false;
	return true;
}

// The case: 4 GiB + 8 KiB with 1 MiB pwrites is one extent, every
// whole 2 MiB of it on aligned pool memory; the bytes come back.
TEST_F(DataPath, FourGiBWrittenInMiBPiecesIsOneExtent)
{
	auto n = node();
	auto &o = object(n, "big");
	std::string piece(MiB, '\0');
	const uint64_t size = 4 * GiB + 8 * KiB;
	for (uint64_t off = 0; off < size; off += MiB) {
		std::memset(piece.data(), static_cast<int>(off / MiB % 251), piece.size());
		size_t len = std::min<uint64_t>(MiB, size - off);
		ASSERT_TRUE(o.pwrite_all(piece.data(), len, off).ok()) << off;
	}
	auto info = o.info();
	ASSERT_TRUE(info.ok());
	EXPECT_EQ(size, info->page_size);
	EXPECT_EQ(1u, info->nr_extents);
	EXPECT_EQ(2048u, info->nr_huge);
	EXPECT_EQ(size, info->data_bytes);
	std::string back(MiB, '\0');
	for (uint64_t off : {uint64_t{0}, 2047 * MiB, 4 * GiB}) {
		auto got = o.pread(back.data(), back.size(), off);
		ASSERT_TRUE(got.ok());
		ASSERT_GT(*got, 0u);
		EXPECT_EQ(std::string(*got, static_cast<char>(off / MiB % 251)), back.substr(0, *got)) << off;
	}
}

// 4 KiB writes, the size head(1) and cp write in, still make one extent.
TEST_F(DataPath, SmallSequentialWritesMakeOneExtent)
{
	auto n = node();
	auto &o = object(n, "small");
	std::string data = random_bytes(8 * MiB, 1);
	for (size_t off = 0; off < data.size(); off += 4 * KiB)
		ASSERT_TRUE(o.pwrite_all(data.data() + off, 4 * KiB, off).ok());
	EXPECT_EQ(1u, o.info()->nr_extents);
	EXPECT_EQ(4u, o.info()->nr_huge);
	EXPECT_EQ(data, *o.read_all());
}

// Page faults of a writable mapping, one 4 KiB page at a time.
TEST_F(DataPath, FaultsMakeOneExtent)
{
	auto n = node();
	auto &o = object(n, "faulted");
	ASSERT_TRUE(o.truncate(8 * MiB).ok());
	void *p = ::mmap(nullptr, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, o.fd(), 0);
	ASSERT_NE(MAP_FAILED, p);
	auto *bytes = static_cast<unsigned char *>(p);
	for (size_t off = 0; off < 8 * MiB; off += 4 * KiB) {
		EXPECT_EQ(0, bytes[off + 17]) << "a fresh page reads zero";
		bytes[off] = static_cast<unsigned char>(off / (4 * KiB));
	}
	ASSERT_EQ(0, ::munmap(p, 8 * MiB));
	EXPECT_EQ(1u, o.info()->nr_extents);
	EXPECT_EQ(4u, o.info()->nr_huge);
	unsigned char c = 0;
	ASSERT_TRUE(o.pread(&c, 1, 5 * MiB).ok());
	EXPECT_EQ(static_cast<unsigned char>(5 * MiB / (4 * KiB)), c);
}

TEST_F(DataPath, SeekDataAndHoleFollowTheExtents)
{
	auto n = node();
	auto &o = object(n, "sparse");
	std::string page(4 * KiB, 'd');
	ASSERT_TRUE(o.pwrite_all(page.data(), page.size(), 0).ok());
	ASSERT_TRUE(o.pwrite_all(page.data(), page.size(), 10 * MiB).ok());
	ASSERT_TRUE(o.truncate(20 * MiB).ok());
	int fd = o.fd();
	EXPECT_EQ(0, ::lseek(fd, 0, SEEK_DATA));
	EXPECT_EQ(off_t(4 * KiB), ::lseek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(off_t(10 * MiB), ::lseek(fd, 4 * KiB, SEEK_DATA));
	EXPECT_EQ(off_t(10 * MiB + 100), ::lseek(fd, 10 * MiB + 100, SEEK_DATA));
	EXPECT_EQ(off_t(10 * MiB + 4 * KiB), ::lseek(fd, 10 * MiB, SEEK_HOLE));
	errno = 0;
	EXPECT_EQ(-1, ::lseek(fd, 10 * MiB + 4 * KiB, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(off_t(15 * MiB), ::lseek(fd, 15 * MiB, SEEK_HOLE));
	errno = 0;
	EXPECT_EQ(-1, ::lseek(fd, 20 * MiB, SEEK_HOLE));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(2u, o.info()->nr_extents);
	EXPECT_EQ(8 * KiB, o.info()->data_bytes);
}

// A kernel-side copy out of an object into tmpfs gives identical bytes.
TEST_F(DataPath, SendfileIntoTmpfs)
{
	auto n = node();
	auto &o = object(n, "src");
	std::string data = random_bytes(16 * MiB + 123, 2);
	ASSERT_TRUE(o.pwrite_all(data.data(), data.size(), 0).ok());
	int out = ::open("/tmp/sendfile.out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(out, 0);
	off_t in_off = 0;
	size_t left = data.size();
	while (left) {
		ssize_t n_sent = ::sendfile(out, o.fd(), &in_off, left);
		ASSERT_GT(n_sent, 0) << std::strerror(errno);
		left -= static_cast<size_t>(n_sent);
	}
	std::string back(data.size(), '\0');
	ASSERT_EQ(ssize_t(data.size()), ::pread(out, back.data(), back.size(), 0));
	::close(out);
	::unlink("/tmp/sendfile.out");
	EXPECT_TRUE(data == back);
}

// splice(2) both ways through a pipe: object -> pipe -> object.
TEST_F(DataPath, SpliceBothWays)
{
	auto n = node();
	auto &src = object(n, "src");
	auto &dst = object(n, "dst");
	std::string data = random_bytes(3 * MiB + 5, 3);
	ASSERT_TRUE(src.pwrite_all(data.data(), data.size(), 0).ok());
	int pipefd[2];
	ASSERT_EQ(0, ::pipe(pipefd));
	loff_t in = 0, out = 0;
	while (in < loff_t(data.size())) {
		ssize_t got = ::splice(src.fd(), &in, pipefd[1], nullptr, 64 * KiB, 0);
		ASSERT_GT(got, 0) << std::strerror(errno);
		while (got > 0) {
			ssize_t put =
				::splice(pipefd[0], nullptr, dst.fd(), &out, static_cast<size_t>(got), 0);
			ASSERT_GT(put, 0) << std::strerror(errno);
			got -= put;
		}
	}
	::close(pipefd[0]);
	::close(pipefd[1]);
	EXPECT_TRUE(data == *dst.read_all());
}

// Pages a stream has but never wrote read as zeros, however the size moved:
// first the pool is filled with a pattern, freed, and then reused.
TEST_F(DataPath, UnwrittenBytesReadZeroOnReusedPool)
{
	{
		auto dirty = dev_->create_node("dirty");
		ASSERT_TRUE(dirty.ok());
		auto o = dirty->open_object("o", {.create = true});
		std::string junk(64 * MiB, '\xaa');
		ASSERT_TRUE(o->pwrite_all(junk.data(), junk.size(), 0).ok());
	}
	ASSERT_TRUE(dev_->free_node("dirty").ok());
	auto n = node();
	auto &o = object(n, "o");
	// A byte in the middle of a chunk, then one past a gap.
	ASSERT_TRUE(o.pwrite_all("x", 1, 1 * MiB + 3).ok());
	ASSERT_TRUE(o.pwrite_all("y", 1, 5 * MiB + 7).ok());
	// Grown by truncate, then shrunk and grown again.
	ASSERT_TRUE(o.truncate(9 * MiB).ok());
	ASSERT_TRUE(o.truncate(5 * MiB + 100).ok());
	ASSERT_TRUE(o.truncate(7 * MiB).ok());
	std::string all = *o.read_all();
	ASSERT_EQ(7 * MiB, all.size());
	EXPECT_EQ('x', all[1 * MiB + 3]);
	EXPECT_EQ('y', all[5 * MiB + 7]);
	all[1 * MiB + 3] = all[5 * MiB + 7] = 0;
	EXPECT_TRUE(all_zero(all, 0, all.size())) << "old pool bytes leaked";
	// The last page of a mapping shows zeros past the size.
	auto &m = object(n, "m");
	ASSERT_TRUE(m.pwrite_all("z", 1, 4 * KiB + 10).ok());
	void *p = ::mmap(nullptr, 8 * KiB, PROT_READ, MAP_SHARED, m.fd(), 0);
	ASSERT_NE(MAP_FAILED, p);
	std::string mapped(static_cast<char *>(p), 8 * KiB);
	::munmap(p, 8 * KiB);
	EXPECT_EQ('z', mapped[4 * KiB + 10]);
	mapped[4 * KiB + 10] = 0;
	EXPECT_TRUE(all_zero(mapped, 0, mapped.size()));
}

// Many small files do not each hold a 2 MiB chunk: they cost their pages.
TEST_F(DataPath, SmallObjectsCostTheirPages)
{
	auto n = node();
	const uint64_t before = dev_->status()->used_bytes;
	for (int i = 0; i < 200; i++) {
		auto &o = object(n, "f" + std::to_string(i));
		ASSERT_TRUE(o.pwrite_all("hello", 5, 0).ok());
	}
	EXPECT_EQ(200 * 4 * KiB, dev_->status()->used_bytes - before);
	objects_.clear();
}

long minor_faults()
{
	rusage ru{};
	::getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

// A mapping of an object is made of 2 MiB PMDs where its extent allows:
// touching every 4 KiB page of 64 MiB takes one fault per 2 MiB, not 16384.
// (smaps' FilePmdMapped does not count ZONE_DEVICE pages, as for device-dax,
// so the fault count is the evidence.)
TEST_F(DataPath, MappingsUsePmds)
{
	auto n = node();
	auto &o = object(n, "pmd");
	std::string data = random_bytes(64 * MiB, 4);
	ASSERT_TRUE(o.pwrite_all(data.data(), data.size(), 0).ok());
	ASSERT_EQ(32u, o.info()->nr_huge);
	void *p = ::mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, o.fd(), 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(p) % (2 * MiB)) << "2 MiB-aligned address";
	const auto *bytes = static_cast<const unsigned char *>(p);
	long before = minor_faults();
	unsigned sum = 0;
	for (size_t off = 0; off < data.size(); off += 4 * KiB)
		sum += bytes[off];
	long faults = minor_faults() - before;
	EXPECT_LE(faults, 64) << "faults for 64 MiB (sum " << sum << ")";
	EXPECT_EQ(0, std::memcmp(bytes, data.data(), data.size()));
	// Writable mappings of holes get whole chunks too.
	auto &w = object(n, "pmd-write");
	ASSERT_TRUE(w.truncate(16 * MiB).ok());
	void *q = ::mmap(nullptr, 16 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, w.fd(), 0);
	ASSERT_NE(MAP_FAILED, q);
	before = minor_faults();
	for (size_t off = 0; off < 16 * MiB; off += 4 * KiB)
		static_cast<unsigned char *>(q)[off] = 1;
	EXPECT_LE(minor_faults() - before, 16);
	EXPECT_EQ(8u, w.info()->nr_huge);
	::munmap(q, 16 * MiB);
	::munmap(p, data.size());
}

// get_user_pages works on a mapping: process_vm_readv pins the pages.
TEST_F(DataPath, ProcessVmReadvReadsAMapping)
{
	auto n = node();
	auto &o = object(n, "gup");
	std::string data = random_bytes(4 * MiB, 5);
	ASSERT_TRUE(o.pwrite_all(data.data(), data.size(), 0).ok());
	void *p = ::mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, o.fd(), 0);
	ASSERT_NE(MAP_FAILED, p);
	std::string back(data.size(), '\0');
	iovec local{back.data(), back.size()}, remote{p, data.size()};
	EXPECT_EQ(ssize_t(data.size()), ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0))
		<< std::strerror(errno);
	EXPECT_TRUE(data == back);
	::munmap(p, data.size());
}

// O_DIRECT reads from a file on ext4 (a loop device, set up by the
// scenario) straight into a writable pkram mapping: the block layer pins
// the mapping's pages and DMAs into them.
TEST_F(DataPath, ODirectReadIntoAMapping)
{
	const char *path = std::getenv("PKRAM_DIRECT_FILE");
	ASSERT_NE(nullptr, path) << "the scenario sets PKRAM_DIRECT_FILE";
	int fd = ::open(path, O_RDONLY | O_DIRECT);
	ASSERT_GE(fd, 0) << std::strerror(errno);
	std::string want(8 * MiB, '\0');
	int plain = ::open(path, O_RDONLY);
	ASSERT_EQ(ssize_t(want.size()), ::pread(plain, want.data(), want.size(), 0));
	::close(plain);
	auto n = node();
	auto &o = object(n, "direct");
	ASSERT_TRUE(o.truncate(want.size()).ok());
	void *p = ::mmap(nullptr, want.size(), PROT_READ | PROT_WRITE, MAP_SHARED, o.fd(), 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(ssize_t(want.size()), ::pread(fd, p, want.size(), 0)) << std::strerror(errno);
	::close(fd);
	EXPECT_EQ(0, std::memcmp(p, want.data(), want.size()));
	::munmap(p, want.size());
	EXPECT_TRUE(want == *o.read_all());
}

// Pages a pipe holds (vmsplice takes references, as get_user_pages does)
// keep the node: it cannot be freed, even with every mapping and fd gone,
// until the pipe lets go.
TEST_F(DataPath, PagesHeldByAPipeKeepTheNode)
{
	int pipefd[2];
	ASSERT_EQ(0, ::pipe(pipefd));
	{
		auto held = dev_->create_node("held");
		ASSERT_TRUE(held.ok());
		auto o = held->open_object("o", {.create = true});
		ASSERT_TRUE(o.ok());
		ASSERT_TRUE(o->truncate(4 * MiB).ok());
		void *p = ::mmap(nullptr, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd(), 0);
		ASSERT_NE(MAP_FAILED, p);
		std::memset(p, 7, 4 * MiB);
		iovec iov{p, 64 * KiB};
		ASSERT_EQ(ssize_t(64 * KiB), ::vmsplice(pipefd[1], &iov, 1, 0)) << std::strerror(errno);
		::munmap(p, 4 * MiB);
	}
	auto busy = dev_->free_node("held");
	ASSERT_FALSE(busy.ok());
	EXPECT_EQ(EBUSY, busy.error().errnum);
	std::string drained(64 * KiB, '\0');
	ASSERT_EQ(ssize_t(drained.size()), ::read(pipefd[0], drained.data(), drained.size()));
	EXPECT_EQ(std::string(64 * KiB, '\7'), drained);
	::close(pipefd[0]);
	::close(pipefd[1]);
	EXPECT_TRUE(dev_->free_node("held").ok());
}

bool kernel_at_least(int major, int minor)
{
	utsname u{};
	::uname(&u);
	int ma = 0, mi = 0;
	std::sscanf(u.release, "%d.%d", &ma, &mi);
	return ma > major || (ma == major && mi >= minor);
}

// A long-term pin (FOLL_LONGTERM, as VFIO takes it) through io_uring fixed
// buffers: it holds the node until unregistered. io_uring of the 6.1 line
// takes no file-backed memory at all (shmem and hugetlbfs aside; device-dax
// neither), so there it is refused with EOPNOTSUPP before pinning.
TEST_F(DataPath, LongTermPinKeepsTheNode)
{
	auto pinned = dev_->create_node("pinned");
	ASSERT_TRUE(pinned.ok());
	io_uring_params params{};
	int ring = static_cast<int>(::syscall(__NR_io_uring_setup, 4, &params));
	ASSERT_GE(ring, 0) << std::strerror(errno);
	long reg;
	{
		auto o = pinned->open_object("o", {.create = true});
		ASSERT_TRUE(o.ok());
		ASSERT_TRUE(o->truncate(4 * MiB).ok());
		void *p = ::mmap(nullptr, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd(), 0);
		ASSERT_NE(MAP_FAILED, p);
		iovec buf{p, 4 * MiB};
		reg = ::syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &buf, 1);
		int err = errno;
		::munmap(p, 4 * MiB);
		if (!kernel_at_least(6, 6)) {
			EXPECT_EQ(-1, reg);
			EXPECT_EQ(EOPNOTSUPP, err);
		} else {
			ASSERT_EQ(0, reg) << std::strerror(err);
		}
	}
	{
		pkram::Node closed = std::move(pinned.value());
	}
	if (reg == 0) {
		auto busy = dev_->free_node("pinned");
		ASSERT_FALSE(busy.ok());
		EXPECT_EQ(EBUSY, busy.error().errnum);
		ASSERT_EQ(0, ::syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, nullptr, 0));
	}
	::close(ring);
	EXPECT_TRUE(dev_->free_node("pinned").ok());
}

// open(2) of /proc/self/fd/N of an object fd opens the object again (what a
// VMM's mem-path=/proc/self/fd/N does): the same bytes, both ways, a
// mapping of it, read-only once the node is sealed, and the node busy while
// such an fd is open.
TEST_F(DataPath, ReopenThroughProcFd)
{
	auto n = node();
	auto &o = object(n, "ram");
	std::string data = random_bytes(4 * MiB, 7);
	ASSERT_TRUE(o.pwrite_all(data.data(), data.size(), 0).ok());
	const std::string path = "/proc/self/fd/" + std::to_string(o.fd());
	{
		pkram::Object again(pkram::UniqueFd(::open(path.c_str(), O_RDWR)), pkram::kernel_transport());
		ASSERT_GE(again.fd(), 0) << std::strerror(errno);
		EXPECT_EQ(data, *again.read_all());
		ASSERT_TRUE(again.pwrite_all("again", 5, 0).ok());
		data.replace(0, 5, "again");
		EXPECT_EQ(data, *o.read_all());
		void *p = ::mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, again.fd(), 0);
		ASSERT_NE(MAP_FAILED, p);
		static_cast<char *>(p)[MiB] = 'm';
		data[MiB] = 'm';
		::munmap(p, data.size());
		EXPECT_EQ(data, *o.read_all());
		auto busy = dev_->free_node(nodes_.back());
		ASSERT_FALSE(busy.ok());
		EXPECT_EQ(EBUSY, busy.error().errnum);
	}
	ASSERT_TRUE(n.seal().ok());
	EXPECT_EQ(-1, ::open(path.c_str(), O_RDWR));
	EXPECT_EQ(EROFS, errno);
	pkram::Object sealed(pkram::UniqueFd(::open(path.c_str(), O_RDONLY)), pkram::kernel_transport());
	ASSERT_GE(sealed.fd(), 0) << std::strerror(errno);
	EXPECT_EQ(data, *sealed.read_all());
}

} // namespace
