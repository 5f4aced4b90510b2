// pkram-cli seal: seal a node.
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
	bool checksum = false;
};

int run_seal(const Context &ctx, const NodeArgs &args)
{
	auto opened = open_node(ctx, args.node);
	if (!opened)
		return report(opened.error());
	Node &node = opened->node;
	if (auto s = node.seal(args.checksum); !s)
		return report(s.error());
	std::printf("sealed %s%s: it will be handed over at the next kexec\n", args.node.c_str(),
		    args.checksum ? " with data checksums" : "");
	return Exit::ok;
}

} // namespace

void setup_seal(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand("seal", "make a node read-only and hand it over at the next kexec");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->add_flag("--checksum", args->checksum,
		      "also store a CRC32C of all data, for pkram-cli verify (reads all data once)");
	cmd->callback([&ctx, args] { ctx.exit_code = run_seal(ctx, *args); });
}

} // namespace pkram::cli
