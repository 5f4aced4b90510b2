// pkram-cli free: give a node's pages back to the pool.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace pkram::cli {

namespace {

struct NodeArgs {
	std::string node;
	bool yes = false;
};

int run_free(const Context &ctx, const NodeArgs &args)
{
	if (int rc = confirm(args.yes, "free " + args.node,
			     "free node " + args.node + " and every page it holds?");
	    rc != Exit::ok)
		return rc;
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	if (auto s = dev->free_node(args.node); !s)
		return report(s.error());
	std::printf("freed %s\n", args.node.c_str());
	return Exit::ok;
}

} // namespace

void setup_free(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand("free", "give every page of a node back to the pool (asks first)");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->add_flag("-y,--yes", args->yes, "do not ask");
	cmd->callback([&ctx, args] { ctx.exit_code = run_free(ctx, *args); });
}

} // namespace pkram::cli
