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
