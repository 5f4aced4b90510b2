// pkram-cli lend and reclaim: free pool memory lent to the system, and back.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "commands.hpp"
#include "pkram/lending.hpp"
#include "pkram/setup.hpp"

namespace pkram::cli {
namespace {

// "pool: 4G, 1.2G used, 512M free, 2.3G lent to the system"
void print_pool(const Device &dev)
{
	if (auto st = dev.status())
		std::printf("pool: %s, %s used, %s free, %s lent to the system\n",
			    human_bytes(st->pool_bytes).c_str(), human_bytes(st->used_bytes).c_str(),
			    human_bytes(st->free_bytes).c_str(), human_bytes(st->lent_bytes).c_str());
}

int run_lend(const Context &ctx, const std::string &keep)
{
	std::optional<uint64_t> keep_bytes;
	if (!keep.empty()) {
		auto b = parse_size(keep);
		if (!b)
			return report(b.error());
		keep_bytes = *b;
	}
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto lent = lend_movable(*dev, keep_bytes);
	if (!lent)
		return report(lent.error());
	std::printf("lent %s to the system (%u memory blocks onlined to ZONE_MOVABLE)\n",
		    human_bytes(lent->lent_bytes).c_str(), lent->onlined_blocks);
	print_pool(*dev);
	return Exit::ok;
}

int run_reclaim(const Context &ctx, const std::string &size)
{
	uint64_t bytes = 0;
	if (!size.empty()) {
		auto b = parse_size(size);
		if (!b)
			return report(b.error());
		if (!*b)
			return report(
				make_error(EINVAL, "reclaim: SIZE must not be 0 (leave it out for all)"));
		bytes = *b;
	}
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto back = dev->reclaim(bytes);
	if (!back) {
		int rc = report(back.error());
		print_pool(*dev);
		return rc;
	}
	std::printf("took %s back from the system\n", human_bytes(*back).c_str());
	print_pool(*dev);
	return Exit::ok;
}

} // namespace

void setup_lend(CLI::App &app, Context &ctx)
{
	auto keep = std::make_shared<std::string>();
	auto *lend = app.add_subcommand(
		"lend", "lend free pool memory to the system until it is needed (whole memory blocks, "
			"onlined to ZONE_MOVABLE; pkram takes them back when a node needs the room)");
	lend->add_option("--keep", *keep,
			 "free pool memory to keep unlent (512M, 1G; default: the module's lend_keep_mb)");
	lend->callback([&ctx, keep] { ctx.exit_code = run_lend(ctx, *keep); });

	auto size = std::make_shared<std::string>();
	auto *reclaim = app.add_subcommand(
		"reclaim", "take lent memory back from the system (the kernel migrates its pages out)");
	reclaim->add_option("SIZE", *size, "at least this much (default: all of it)");
	reclaim->callback([&ctx, size] { ctx.exit_code = run_reclaim(ctx, *size); });
}

} // namespace pkram::cli
