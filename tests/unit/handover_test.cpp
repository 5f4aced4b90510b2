#include <gtest/gtest.h>

#include "pkram/handover.hpp"

TEST(Handover, ReplacesAStaleTokenAndDropsBootloaderWords)
{
	EXPECT_EQ("console=ttyS0 memmap=256M$0x30000000 quiet pkram.handover=0xabc",
		  pkram::next_cmdline("BOOT_IMAGE=/vmlinuz console=ttyS0 pkram.handover=0x123 "
				      "memmap=256M$0x30000000 initrd=/initrd.img",
				      "quiet", "0xabc"));
}

TEST(Handover, WorksWithoutABaseCommandLine)
{
	EXPECT_EQ("pkram.handover=0x1", pkram::next_cmdline("", "", "0x1"));
}

TEST(Handover, LoadsWithKexecFileLoad)
{
	auto argv = pkram::kexec_load_argv("/boot/vmlinuz", "/boot/initrd", "a b");
	EXPECT_EQ((std::vector<std::string>{"kexec", "-s", "-l", "/boot/vmlinuz", "--initrd=/boot/initrd",
					    "--append=a b"}),
		  argv);
}

TEST(Handover, KexecLoadIsConfinedAwayFromThePool)
{
	using pkram::KexecSyscall;
	auto high = pkram::kexec_load_argv("k", "", "c", KexecSyscall::load, {0x7bc00000, 64 << 20});
	EXPECT_EQ((std::vector<std::string>{"kexec", "-l", "k", "--mem-max=0x7bbfffff", "--append=c"}), high);
	auto low = pkram::kexec_load_argv("k", "", "c", KexecSyscall::load, {0x1000000, 16 << 20});
	EXPECT_EQ("--mem-min=0x2000000", low[3]);
}

TEST(Handover, ParsesThePoolRange)
{
	auto r = pkram::parse_pool_range("268435456@0x30000000\n");
	ASSERT_TRUE(r.ok()) << r.error().what();
	EXPECT_EQ(0x30000000u, r->base);
	EXPECT_EQ(256u << 20, r->size);
	for (const char *bad : {"", "12", "@0x1", "12@", "x@0x1", "0@0x1", "1@0x1zz"})
		EXPECT_FALSE(pkram::parse_pool_range(bad).ok()) << bad;
}

TEST(Handover, MissingTokenFileSaysWhy)
{
	auto token = pkram::read_handover_token("/nonexistent/handover");
	ASSERT_FALSE(token.ok());
	EXPECT_NE(std::string::npos, token.error().message.find("module loaded"));
}

TEST(Handover, AResizedPoolReplacesItsOwnWordsOnly)
{
	// Another memmap= (emulated pmem) stays; the pool's own words change.
	EXPECT_EQ("console=ttyS0 memmap=1G!0x220000000 pkram.handover=0x1 memmap=768M$0x100000000 "
		  "pkram.pool=768M@0x100000000",
		  pkram::with_pool_words("console=ttyS0 memmap=1G$0x100000000 memmap=1G!0x220000000 "
					 "pkram.pool=1G@0x100000000 pkram.handover=0x1",
					 {0x100000000, 768 << 20}));
	EXPECT_EQ("memmap=2G$0x100000000 pkram.pool=2G@0x100000000",
		  pkram::with_pool_words("", {0x100000000, 2ull << 30}));
}

TEST(Handover, APoolGrowsOnlyIntoSystemRam)
{
	const std::string iomem = "00000000-00000fff : Reserved\n"
				  "00001000-0009fbff : System RAM\n"
				  "00100000-bffdffff : System RAM\n"
				  "  01000000-01ffffff : Kernel code\n"
				  "100000000-12fffffff : Reserved\n"
				  "  100000000-12fffffff : pkram\n"
				  "130000000-13fffffff : System RAM\n"
				  "140000000-147ffffff : System RAM (pkram)\n";
	EXPECT_TRUE(pkram::check_system_ram(iomem, 0x130000000, 0x140000000).ok());
	EXPECT_TRUE(pkram::check_system_ram(iomem, 0x200000, 0x300000).ok());
	auto past = pkram::check_system_ram(iomem, 0x130000000, 0x148000000);
	ASSERT_FALSE(past.ok());
	EXPECT_NE(std::string::npos, past.error().message.find("from 0x140000000 it is not"))
		<< past.error().message;
	EXPECT_FALSE(pkram::check_system_ram(iomem, 0x12f000000, 0x131000000).ok());
}
