// Guest RAM rules and the QEMU arguments pkram-cli vm run adds.
#include <gtest/gtest.h>

#include "pkram/vm_ram.hpp"

namespace {

TEST(VmRam, SizesAreWholeHugePages)
{
	EXPECT_EQ(1ull << 30, *pkram::check_vm_ram_size(1ull << 30));
	EXPECT_EQ(2ull << 20, *pkram::check_vm_ram_size(2ull << 20));
	for (uint64_t bad : {0ull, 4096ull, (1ull << 30) + 4096}) {
		auto r = pkram::check_vm_ram_size(bad);
		ASSERT_FALSE(r.ok()) << bad;
		EXPECT_EQ(EINVAL, r.error().errnum);
		EXPECT_NE(std::string::npos, r.error().message.find("multiple of 2 MiB"));
	}
}

TEST(VmRam, QemuArgumentsMapTheFdAsMachineRam)
{
	std::vector<std::string> want = {
		"qemu-system-x86_64",
		"-nodefaults",
		"-object",
		"memory-backend-file,id=pkram-ram,mem-path=/proc/self/fd/3,share=on,size=1G,align=2M",
		"-machine",
		"memory-backend=pkram-ram",
		"-m",
		"1G"};
	EXPECT_EQ(want, pkram::with_qemu_ram({"qemu-system-x86_64", "-nodefaults"}, 1ull << 30, 3));
	auto args = pkram::qemu_ram_args(64ull << 20, 7);
	EXPECT_NE(std::string::npos, args[1].find("mem-path=/proc/self/fd/7,share=on,size=64M,"));
	EXPECT_EQ("64M", args.back());
}

TEST(VmRam, ShellWordsQuoteWhatNeedsIt)
{
	EXPECT_EQ("qemu -m 1G 'a b' 'it'\\''s' ''",
		  pkram::shell_words({"qemu", "-m", "1G", "a b", "it's", ""}));
}

} // namespace
