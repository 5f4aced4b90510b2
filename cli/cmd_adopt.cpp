// pkram-cli adopt: restore, on purpose, the stale pool the module kept at load.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace pkram::cli {

namespace {

int run_adopt(const Context &ctx)
{
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto rep = dev->adopt();
	if (!rep)
		return report(rep.error());
	if (ctx.json) {
		std::cout << nlohmann::json{{"restored_nodes", rep->restored_nodes},
					    {"rejected_nodes", rep->rejected_nodes},
					    {"verified_nodes", rep->verified_nodes}}
				     .dump(2)
			  << "\n";
	} else {
		std::printf("adopted %u nodes (%u with their data verified against their checksums, %u "
			    "unverified), "
			    "refused %u\n",
			    rep->restored_nodes, rep->verified_nodes,
			    rep->restored_nodes - rep->verified_nodes, rep->rejected_nodes);
	}
	if (!rep->rejected_nodes)
		return Exit::ok;
	return report(make_error(0, "adopt: " + std::to_string(rep->rejected_nodes) +
					    " nodes refused (the kernel log names each and why)"));
}

} // namespace

void setup_adopt(CLI::App &app, Context &ctx)
{
	auto *cmd = app.add_subcommand(
		"adopt",
		"restore the stale pool the module kept at load (after a warm reset or a kexec without "
		"the token): nodes are validated, those sealed with checksums verified first");
	cmd->footer("Exit status: 0 every node adopted, 1 some refused or no stale pool, 2 bad usage.");
	cmd->callback([&ctx] { ctx.exit_code = run_adopt(ctx); });
}

} // namespace pkram::cli
