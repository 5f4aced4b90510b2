// A restored node's extent index, against the real module across a kexec
// (tests/vm/scenarios/data_path.sh): a 4 KiB-fragmented object written
// before the kexec (RestoredNode.Write) reads back the same after it, by
// read, SEEK_DATA/SEEK_HOLE and a mapping, and keeps working when its node is
// reopened and the object grown into its holes and truncated
// (RestoredNode.ReadThenChange). The node is named by PKRAM_RESTORED_NODE.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "pkram/client.hpp"

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPages = 4096; // 16 MiB, every other page written

// Page i of the object: random bytes for even i, a hole (zeros) for odd i.
std::string expected(uint64_t pages)
{
	std::string s(pages * kPage, '\0');
	std::mt19937_64 rng(20261201);
	for (uint64_t i = 0; i < pages; i += 2)
		for (uint64_t off = 0; off < kPage; off += 8) {
			uint64_t v = rng();
			std::memcpy(&s[i * kPage + off], &v, 8);
		}
	return s;
}

std::string node_name()
{
	const char *n = std::getenv("PKRAM_RESTORED_NODE");
	return n ? n : "";
}

TEST(RestoredNode, Write)
{
	ASSERT_FALSE(node_name().empty()) << "PKRAM_RESTORED_NODE names the node";
	auto dev = pkram::Device::open();
	ASSERT_TRUE(dev.ok()) << dev.error().what();
	auto node = dev->create_node(node_name());
	ASSERT_TRUE(node.ok()) << node.error().what();
	auto o = node->open_object("frag", {.create = true});
	ASSERT_TRUE(o.ok()) << o.error().what();
	const std::string data = expected(kPages);
	for (uint64_t i = 0; i < kPages; i += 2)
		ASSERT_TRUE(o->pwrite_all(&data[i * kPage], kPage, i * kPage).ok()) << i;
	ASSERT_TRUE(o->truncate(kPages * kPage).ok());
	EXPECT_EQ(kPages / 2, o->info()->nr_extents);
	ASSERT_TRUE(node->seal().ok());
}

TEST(RestoredNode, ReadThenChange)
{
	ASSERT_FALSE(node_name().empty()) << "PKRAM_RESTORED_NODE names the node";
	auto dev = pkram::Device::open();
	ASSERT_TRUE(dev.ok()) << dev.error().what();
	std::string data = expected(kPages);
	{
		auto node = dev->open_node(node_name());
		ASSERT_TRUE(node.ok()) << node.error().what();
		auto o = node->open_object("frag");
		ASSERT_TRUE(o.ok()) << o.error().what();
		EXPECT_EQ(kPages / 2, o->info()->nr_extents);
		EXPECT_EQ(data, *o->read_all());
		EXPECT_EQ(off_t(2 * kPage), ::lseek(o->fd(), kPage + 1, SEEK_DATA));
		EXPECT_EQ(off_t(3 * kPage), ::lseek(o->fd(), 2 * kPage + 1, SEEK_HOLE));
		EXPECT_EQ(off_t(-1), ::lseek(o->fd(), kPages * kPage - 1, SEEK_DATA));
		void *p = ::mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, o->fd(), 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(0, std::memcmp(p, data.data(), data.size()));
		::munmap(p, data.size());
	}
	// Reopened: a write into a hole and one past the end, then a truncation.
	auto node = dev->open_node(node_name(), true);
	ASSERT_TRUE(node.ok()) << node.error().what();
	auto o = node->open_object("frag");
	ASSERT_TRUE(o.ok()) << o.error().what();
	std::string page(kPage, 'h');
	ASSERT_TRUE(o->pwrite_all(page.data(), kPage, 7 * kPage).ok());
	data.replace(7 * kPage, kPage, page);
	EXPECT_EQ(kPages / 2 - 1, o->info()->nr_extents); // 6, 7, 8 joined
	std::string tail(3 * kPage, 't');
	ASSERT_TRUE(o->pwrite_all(tail.data(), tail.size(), data.size()).ok());
	data += tail;
	EXPECT_EQ(kPages / 2, o->info()->nr_extents);
	EXPECT_EQ(data, *o->read_all());
	const uint64_t cut = 1000 * kPage + 123;
	ASSERT_TRUE(o->truncate(cut).ok());
	data.resize(cut);
	auto info = o->info();
	ASSERT_TRUE(info.ok());
	EXPECT_EQ(cut, info->page_size);
	EXPECT_EQ(500u, info->nr_extents); // pages 0, 2, ..., 1000, 6 to 8 as one
	EXPECT_EQ(data, *o->read_all());
	ASSERT_TRUE(node->seal().ok());
}

} // namespace
