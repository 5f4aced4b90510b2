// pkram-cli save: save a directory tree into a new node and seal it.
#include "tree_output.hpp"

namespace pkram::cli {

void setup_save(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<TreeArgs>();
	auto *cmd = app.add_subcommand("save", "save a directory tree into a new node and seal it");
	cmd->add_option("DIR", args->dir, "directory to save")->required()->check(CLI::ExistingDirectory);
	cmd->add_option("NODE", args->node, "name of the new node")->required();
	cmd->add_flag("--checksum", args->checksum,
		      "seal with a CRC32C of all data, for pkram-cli verify (reads all data once)");
	add_tree_options(cmd, *args);
	cmd->callback([&ctx, args] {
		auto dev = open_device(ctx);
		if (!dev) {
			ctx.exit_code = report(dev.error());
			return;
		}
		auto stats = save_tree(*dev, args->dir, args->node,
				       {.data_crc = args->checksum,
					.threads = args->threads,
					.progress = progress_bar("saving", args->progress)});
		ctx.exit_code =
			stats ? print_stats(ctx, "saved and sealed", *args, *stats) : report(stats.error());
	});
}

} // namespace pkram::cli
