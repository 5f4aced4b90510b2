// pkram-cli save / restore: a directory tree into a node and back.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "pkram/tree.hpp"

namespace pkram::cli {

namespace {

struct TreeArgs {
	std::string dir;
	std::string node;
	bool checksum = false;
};

TreeProgress progress_line(const char *verb)
{
	if (!isatty(STDERR_FILENO))
		return {};
	return [verb](const TreeStats &s) {
		if (s.entries % 64 == 0)
			std::fprintf(stderr, "\r%s %llu entries, %s", verb,
				     static_cast<unsigned long long>(s.entries),
				     human_bytes(s.bytes).c_str());
	};
}

int print_stats(const Context &ctx, const char *what, const TreeArgs &args, const TreeStats &s)
{
	if (isatty(STDERR_FILENO))
		std::fprintf(stderr, "\n");
	if (ctx.json) {
		std::cout << nlohmann::json{{"node", args.node},
					    {"dir", args.dir},
					    {"entries", s.entries},
					    {"files", s.files},
					    {"bytes", s.bytes}}
				     .dump(2)
			  << "\n";
		return Exit::ok;
	}
	std::printf("%s %s: %llu entries, %llu files, %s of data\n", what, args.node.c_str(),
		    static_cast<unsigned long long>(s.entries), static_cast<unsigned long long>(s.files),
		    human_bytes(s.bytes).c_str());
	return Exit::ok;
}

} // namespace

void setup_save(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<TreeArgs>();
	auto *cmd = app.add_subcommand("save", "save a directory tree into a new node and seal it");
	cmd->add_option("DIR", args->dir, "directory to save")->required()->check(CLI::ExistingDirectory);
	cmd->add_option("NODE", args->node, "name of the new node")->required();
	cmd->add_flag("--checksum", args->checksum,
		      "seal with a CRC32C of all data, for pkram-cli verify (reads all data once)");
	cmd->callback([&ctx, args] {
		auto dev = open_device(ctx);
		if (!dev) {
			ctx.exit_code = report(dev.error());
			return;
		}
		auto stats = save_tree(*dev, args->dir, args->node,
				       {.data_crc = args->checksum, .progress = progress_line("saving")});
		ctx.exit_code = stats ? print_stats(ctx, "saved and sealed", *args, *stats)
				      : report(stats.error());
	});
}

void setup_restore(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<TreeArgs>();
	auto *cmd = app.add_subcommand("restore", "rebuild a node's tree in a directory");
	cmd->add_option("NODE", args->node, "node to restore")->required();
	cmd->add_option("DIR", args->dir, "target directory (created if missing)")->required();
	cmd->callback([&ctx, args] {
		auto dev = open_device(ctx);
		if (!dev) {
			ctx.exit_code = report(dev.error());
			return;
		}
		auto stats = restore_tree(*dev, args->node, args->dir, progress_line("restoring"));
		ctx.exit_code = stats ? print_stats(ctx, "restored", *args, *stats)
				      : report(stats.error());
	});
}

} // namespace pkram::cli
