// pkram-cli verify: check a node's data against its seal-time checksums.
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
};

int run_verify(const Context &ctx, const NodeArgs &args)
{
	auto opened = open_node(ctx, args.node);
	if (!opened)
		return report(opened.error());
	Node &node = opened->node;
	auto rep = node.verify();
	if (!rep)
		return report(rep.error());
	if (ctx.json)
		std::cout << nlohmann::json{{"node", args.node},
					    {"checked_extents", rep->checked_extents},
					    {"checked_bytes", rep->checked_bytes},
					    {"bad_extents", rep->bad_extents},
					    {"bad_objects", rep->bad_objects},
					    {"ok", rep->bad_extents == 0}}
				     .dump(2)
			  << "\n";
	else
		std::printf("%s: %llu extents, %s checked: %s\n", args.node.c_str(),
			    static_cast<unsigned long long>(rep->checked_extents),
			    human_bytes(rep->checked_bytes).c_str(),
			    rep->bad_extents ? (std::to_string(rep->bad_extents) + " bad extents in " +
						std::to_string(rep->bad_objects) + " objects")
						       .c_str()
					     : "all match");
	return rep->bad_extents ? Exit::failed : Exit::ok;
}

} // namespace

void setup_verify(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand(
		"verify", "check a node's data against the checksums stored at seal (exit 1 on mismatch)");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->callback([&ctx, args] { ctx.exit_code = run_verify(ctx, *args); });
}

} // namespace pkram::cli
