// pkram-cli save / restore: a directory tree into a node and back.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
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
	unsigned threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
	bool progress = true;
};

// A progress bar on stderr when it is a terminal, redrawn at most 10 times a second.
TreeProgress progress_bar(const char *verb, bool wanted)
{
	if (!wanted || !isatty(STDERR_FILENO))
		return {};
	auto last = std::make_shared<std::chrono::steady_clock::time_point>();
	return [verb, last](const TreeStats &s) {
		auto now = std::chrono::steady_clock::now();
		if (now - *last < std::chrono::milliseconds(100) && s.bytes < s.total_bytes)
			return;
		*last = now;
		double frac = s.total_bytes ? static_cast<double>(s.bytes) / static_cast<double>(s.total_bytes) : 1.0;
		int filled = static_cast<int>(frac * 30);
		std::fprintf(stderr, "\r%s [%-30s] %3d%% %s / %s, %llu entries", verb,
			     std::string(static_cast<size_t>(filled), '#').c_str(), static_cast<int>(frac * 100),
			     human_bytes(s.bytes).c_str(), human_bytes(s.total_bytes).c_str(),
			     static_cast<unsigned long long>(s.entries));
	};
}

int print_stats(const Context &ctx, const char *what, const TreeArgs &args, const TreeStats &s)
{
	if (args.progress && isatty(STDERR_FILENO))
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
	cmd->add_option("-j,--threads", args->threads, "threads copying file data")
		->check(CLI::Range(1u, 64u))
		->capture_default_str();
	cmd->add_flag("!--no-progress", args->progress, "no progress bar");
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
	cmd->add_option("-j,--threads", args->threads, "threads copying file data")
		->check(CLI::Range(1u, 64u))
		->capture_default_str();
	cmd->add_flag("!--no-progress", args->progress, "no progress bar");
	cmd->callback([&ctx, args] {
		auto dev = open_device(ctx);
		if (!dev) {
			ctx.exit_code = report(dev.error());
			return;
		}
		auto stats = restore_tree(*dev, args->node, args->dir,
					  {.threads = args->threads,
					   .progress = progress_bar("restoring", args->progress)});
		ctx.exit_code = stats ? print_stats(ctx, "restored", *args, *stats)
				      : report(stats.error());
	});
}

} // namespace pkram::cli
