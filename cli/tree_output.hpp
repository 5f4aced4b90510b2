// What pkram-cli save and restore share: their options and their output.
#pragma once

#include <algorithm>
#include <string>
#include <thread>

#include "commands.hpp"
#include "pkram/tree.hpp"

namespace pkram::cli {

struct TreeArgs {
	std::string dir;
	std::string node;
	bool checksum = false;
	unsigned threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
	bool progress = true;
};

// A progress bar on stderr when it is a terminal (and wanted).
TreeProgress progress_bar(const char *verb, bool wanted);
// The result: a line, or JSON with --json.
int print_stats(const Context &ctx, const char *what, const TreeArgs &args, const TreeStats &s);
// -j/--threads and --no-progress.
void add_tree_options(CLI::App *cmd, TreeArgs &args);

} // namespace pkram::cli
