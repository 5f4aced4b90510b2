// pkram-cli restore: rebuild a node's tree in a directory.
#include "tree_output.hpp"

namespace pkram::cli {

void setup_restore(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<TreeArgs>();
	auto *cmd = app.add_subcommand("restore", "rebuild a node's tree in a directory");
	cmd->add_option("NODE", args->node, "node to restore")->required();
	cmd->add_option("DIR", args->dir, "target directory (created if missing)")->required();
	add_tree_options(cmd, *args);
	auto through_mapping = std::make_shared<bool>(false);
	cmd->add_flag(
		"--through-mapping", *through_mapping,
		"fill each big file through one shared mapping: the threads' page faults insert its pages "
		"in parallel (the seed's restore; slower than write(2) under emulation)");
	cmd->callback([&ctx, args, through_mapping] {
		auto dev = open_device(ctx);
		if (!dev) {
			ctx.exit_code = report(dev.error());
			return;
		}
		auto stats = restore_tree(*dev, args->node, args->dir,
					  {.threads = args->threads,
					   .progress = progress_bar("restoring", args->progress),
					   .through_mapping = *through_mapping});
		ctx.exit_code = stats ? print_stats(ctx, "restored", *args, *stats) : report(stats.error());
	});
}

} // namespace pkram::cli
