// pkram::lend_movable against a stand-in sysfs tree and a stand-in module:
// the auto-online policy is online_movable during the lend and restored
// after, and only the pool's offline memory blocks are onlined as movable.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <linux/pkram.h>

#include "pkram/lending.hpp"

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path &p)
{
	std::ifstream in(p);
	std::string word;
	in >> word;
	return word;
}

void put(const fs::path &p, const std::string &text)
{
	fs::create_directories(p.parent_path());
	std::ofstream(p) << text << '\n';
}

// A module with a 1 GiB pool at 4 GiB that lends 256 MiB, noting the
// auto-online policy it saw.
struct LendingModule : pkram::Transport {
	fs::path sysfs;
	std::string policy_at_lend;
	int ioctl(int, unsigned long cmd, void *arg) override
	{
		if (cmd == PKRAM_IOC_POOL_STATUS) {
			auto *st = static_cast<pkram_pool_status *>(arg);
			st->pool_base = 0x100000000;
			st->pool_bytes = 1ull << 30;
			st->lend_block_bytes = 128 << 20;
			return 0;
		}
		if (cmd == PKRAM_IOC_POOL_LEND) {
			policy_at_lend = slurp(sysfs / "auto_online_blocks");
			static_cast<pkram_pool_lend *>(arg)->lent_bytes = 256 << 20;
			return 0;
		}
		errno = ENOTTY;
		return -1;
	}
};

struct Lending : ::testing::Test {
	fs::path sysfs = fs::temp_directory_path() / ("pkram-lending-" + std::to_string(getpid()));
	void SetUp() override
	{
		fs::remove_all(sysfs);
		put(sysfs / "auto_online_blocks", "online");
		put(sysfs / "block_size_bytes", "8000000");
		put(sysfs / "memory31/state", "offline"); // below the pool
		put(sysfs / "memory38/state", "offline"); // lent, left offline (6.1)
		put(sysfs / "memory39/state", "online");  // lent, onlined by the policy
		put(sysfs / "memory40/state", "offline"); // above the pool
	}
	void TearDown() override { fs::remove_all(sysfs); }
};

TEST_F(Lending, OnlinesThePoolsOfflineBlocksAsMovableAndRestoresThePolicy)
{
	auto module = std::make_shared<LendingModule>();
	module->sysfs = sysfs;
	pkram::Device dev(pkram::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)), module);
	auto report = pkram::lend_movable(dev, 512 << 20, sysfs.string());
	ASSERT_TRUE(report.ok()) << report.error().what();
	EXPECT_EQ(256u << 20, report->lent_bytes);
	EXPECT_EQ(1u, report->onlined_blocks);
	EXPECT_EQ("online_movable", module->policy_at_lend);
	EXPECT_EQ("online", slurp(sysfs / "auto_online_blocks"));
	EXPECT_EQ("online_movable", slurp(sysfs / "memory38/state"));
	EXPECT_EQ("online", slurp(sysfs / "memory39/state"));
	EXPECT_EQ("offline", slurp(sysfs / "memory31/state"));
	EXPECT_EQ("offline", slurp(sysfs / "memory40/state"));
}

TEST_F(Lending, AFailedLendStillRestoresThePolicy)
{
	struct Refusing : pkram::Transport {
		int ioctl(int, unsigned long, void *) override
		{
			errno = EOPNOTSUPP;
			return -1;
		}
	};
	pkram::Device dev(pkram::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
			  std::make_shared<Refusing>());
	auto report = pkram::lend_movable(dev, std::nullopt, sysfs.string());
	ASSERT_FALSE(report.ok());
	EXPECT_EQ(EOPNOTSUPP, report.error().errnum);
	EXPECT_NE(std::string::npos, report.error().message.find("cannot lend")) << report.error().message;
	EXPECT_EQ("online", slurp(sysfs / "auto_online_blocks"));
}

} // namespace
