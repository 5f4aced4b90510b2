// pkram-cli create: an empty, open node.
#include <cstdio>

#include "commands.hpp"

namespace pkram::cli {

namespace {

struct CreateArgs {
	std::string node;
};

int run_create(const Context &ctx, const CreateArgs &args)
{
	if (auto created = create_node(ctx, args.node); !created)
		return report(created.error());
	std::printf("created %s (open: seal it to hand it over)\n", args.node.c_str());
	return Exit::ok;
}

} // namespace

void setup_create(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<CreateArgs>();
	auto *cmd = app.add_subcommand("create", "create an empty, open node (not handed over until sealed)");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->callback([&ctx, args] { ctx.exit_code = run_create(ctx, *args); });
}

} // namespace pkram::cli
