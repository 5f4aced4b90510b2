// pkram-cli status: the pool and its nodes.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "pkram/status_json.hpp"

namespace pkram::cli {

int run_status(const Context &ctx, bool nodes_only)
{
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto st = dev->status();
	if (!st)
		return report(st.error());
	auto nodes = dev->nodes();
	if (!nodes)
		return report(nodes.error());
	if (ctx.json) {
		std::cout << status_json(*st, *nodes);
		return Exit::ok;
	}
	if (!nodes_only) {
		std::printf("pool: %s at %#llx, %s used, %s free, generation %llu\n",
			    human_bytes(st->pool_bytes).c_str(),
			    static_cast<unsigned long long>(st->pool_base),
			    human_bytes(st->used_bytes).c_str(), human_bytes(st->free_bytes).c_str(),
			    static_cast<unsigned long long>(st->generation));
		if (st->next_pool_bytes)
			std::printf(
				"the next kernel's pool: %s at the same base (recorded by pkram-cli kexec "
				"--pool-size)\n",
				human_bytes(st->next_pool_bytes).c_str());
		if (st->lent_bytes)
			std::printf("lent to the system: %s (taken back as nodes need it; pkram-cli "
				    "reclaim)\n",
				    human_bytes(st->lent_bytes).c_str());
		std::printf("at load: %u nodes restored, %u rejected%s\n", st->restored_nodes,
			    st->rejected_nodes, st->stale_discarded ? ", a stale pool was discarded" : "");
		if (st->stale_held)
			std::printf("stale pool held untouched: %s; pkram-cli adopt restores it, pkram-cli "
				    "discard "
				    "frees it\n",
				    stale_reason(st->stale_error).c_str());
	}
	std::printf("%-24s %-9s %8s %12s\n", "NODE", "STATE", "OBJECTS", "DATA");
	for (const auto &n : *nodes)
		std::printf("%-24s %-9s %8u %12s\n", n.name.c_str(), std::string(to_string(n.state)).c_str(),
			    n.nr_objects, human_bytes(n.data_bytes).c_str());
	return Exit::ok;
}

void setup_status(CLI::App &app, Context &ctx)
{
	auto *status = app.add_subcommand("status",
					  "show the pool (size, use, what happened at load) and its nodes");
	status->callback([&ctx] { ctx.exit_code = run_status(ctx, false); });
}

} // namespace pkram::cli
