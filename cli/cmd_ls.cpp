// pkram-cli ls: the nodes, one line each.
#include "commands.hpp"

namespace pkram::cli {

void setup_ls(CLI::App &app, Context &ctx)
{
	auto *ls = app.add_subcommand("ls", "list nodes with state, object count and size");
	ls->callback([&ctx] { ctx.exit_code = run_status(ctx, true); });
}

} // namespace pkram::cli
