#include "tree_output.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

namespace pkram::cli {

// Redrawn at most 10 times a second.
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
		double frac = s.total_bytes
				      ? static_cast<double>(s.bytes) / static_cast<double>(s.total_bytes)
				      : 1.0;
		int filled = static_cast<int>(frac * 30);
		std::fprintf(stderr, "\r%s [%-30s] %3d%% %s / %s, %llu entries", verb,
			     std::string(static_cast<size_t>(filled), '#').c_str(),
			     static_cast<int>(frac * 100), human_bytes(s.bytes).c_str(),
			     human_bytes(s.total_bytes).c_str(), static_cast<unsigned long long>(s.entries));
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

void add_tree_options(CLI::App *cmd, TreeArgs &args)
{
	cmd->add_option("-j,--threads", args.threads, "threads copying file data")
		->check(CLI::Range(1u, 64u))
		->capture_default_str();
	cmd->add_flag("!--no-progress", args.progress, "no progress bar");
}

} // namespace pkram::cli
