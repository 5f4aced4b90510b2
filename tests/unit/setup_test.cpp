#include <gtest/gtest.h>

#include "pkram/setup.hpp"

using pkram::MemRange;

namespace {

const std::vector<MemRange> big_server = {
	{0x0, 0x9fbff, "System RAM"},
	{0x9fc00, 0xfffff, "Reserved"},
	{0x100000, 0x7ffdffff, "System RAM"},
	{0x7ffe0000, 0x7fffffff, "Reserved"},
	{0x100000000, 0x87fffffff, "System RAM"}, // 30 GiB above 4 GiB
};

const std::vector<MemRange> small_vm = {
	{0x0, 0x9fbff, "System RAM"},
	{0x100000, 0x7ffdffff, "System RAM"},
	{0x7ffe0000, 0x7fffffff, "Reserved"},
};

} // namespace

TEST(Setup, PrefersTheTopOfHighMemoryOnGibBoundaries)
{
	auto plan = pkram::plan_pool(big_server, 4ull << 30);
	ASSERT_TRUE(plan.ok()) << plan.error().what();
	EXPECT_EQ(0x780000000u, plan->base);
	EXPECT_EQ("memmap=4G$0x780000000", plan->memmap_arg);
	EXPECT_EQ("pkram.pool=4G@0x780000000", plan->pool_arg);
	EXPECT_EQ("memmap=4G\\\\\\$0x780000000 pkram.pool=4G@0x780000000", plan->grub_words);
}

TEST(Setup, BelowFourGibItAvoidsTheTopAndTheFirstGib)
{
	auto plan = pkram::plan_pool(small_vm, 256ull << 20);
	ASSERT_TRUE(plan.ok()) << plan.error().what();
	EXPECT_EQ(0x5fe00000u, plan->base); // 2 MiB-aligned, ending 256 MiB below the range's top
	EXPECT_GE(plan->base, 1ull << 30);
	EXPECT_LE(plan->base + plan->size, 0x7ffe0000u - (256u << 20));
}

TEST(Setup, ExplainsWhyNothingFits)
{
	auto too_big = pkram::plan_pool(small_vm, 1536ull << 20);
	ASSERT_FALSE(too_big.ok());
	EXPECT_NE(std::string::npos, too_big.error().message.find("more than half"));
	auto no_room = pkram::plan_pool(small_vm, 900ull << 20);
	ASSERT_FALSE(no_room.ok());
	EXPECT_NE(std::string::npos, no_room.error().message.find("no RAM range holds 900M"));
	EXPECT_FALSE(pkram::plan_pool(small_vm, 3ull << 20).ok()); // not a multiple of 2 MiB
}

TEST(Setup, SizesRoundTrip)
{
	EXPECT_EQ("4G", pkram::size_arg(4ull << 30));
	EXPECT_EQ("1536M", pkram::size_arg(1536ull << 20));
	EXPECT_EQ(512ull << 20, *pkram::parse_size("512M"));
	EXPECT_EQ(4ull << 30, *pkram::parse_size("4g"));
	EXPECT_EQ(4096u, *pkram::parse_size("4096"));
	for (const char *bad : {"", "G", "-1G", "1.5G", "12Q", "99999999999999999999"})
		EXPECT_FALSE(pkram::parse_size(bad).ok()) << bad;
}
