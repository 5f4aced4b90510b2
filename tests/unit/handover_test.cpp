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
	ASSERT_EQ(6u, argv.size());
	EXPECT_EQ("-s", argv[1]);
	EXPECT_EQ("/boot/vmlinuz", argv[3]);
	EXPECT_EQ("--initrd=/boot/initrd", argv[4]);
	EXPECT_EQ("--append=a b", argv[5]);
}

TEST(Handover, MissingTokenFileSaysWhy)
{
	auto token = pkram::read_handover_token("/nonexistent/handover");
	ASSERT_FALSE(token.ok());
	EXPECT_NE(std::string::npos, token.error().message.find("module loaded"));
}
