// pkram-cli info: show a node and its objects.
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

int run_info(const Context &ctx, const NodeArgs &args)
{
	auto opened = open_node(ctx, args.node);
	if (!opened)
		return report(opened.error());
	Node &node = opened->node;
	auto info = node.info();
	if (!info)
		return report(info.error());
	auto objects = node.objects();
	if (!objects)
		return report(objects.error());
	if (ctx.json) {
		nlohmann::json j = {{"name", info->name},
				    {"state", to_string(info->state)},
				    {"data_bytes", info->data_bytes},
				    {"meta_bytes", info->meta_bytes},
				    {"data_checksums", info->has_data_crc},
				    {"objects", nlohmann::json::array()}};
		for (const auto &o : *objects)
			j["objects"].push_back({{"name", o.name},
						{"page_size", o.page_size},
						{"byte_size", o.byte_size},
						{"data_bytes", o.data_bytes},
						{"nr_extents", o.nr_extents},
						{"nr_huge", o.nr_huge}});
		std::cout << j.dump(2) << "\n";
		return Exit::ok;
	}
	std::printf("node %s: %s, %u objects, %s data, %s metadata\n", info->name.c_str(),
		    std::string(to_string(info->state)).c_str(), info->nr_objects,
		    human_bytes(info->data_bytes).c_str(), human_bytes(info->meta_bytes).c_str());
	std::printf("%14s %10s %8s %8s  %s\n", "SIZE", "BYTES", "EXTENTS", "2MIB", "OBJECT");
	for (const auto &o : *objects)
		std::printf("%14llu %10llu %8u %8u  %s\n", static_cast<unsigned long long>(o.page_size),
			    static_cast<unsigned long long>(o.byte_size), o.nr_extents, o.nr_huge,
			    o.name.c_str());
	return Exit::ok;
}

} // namespace

void setup_info(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand("info", "show a node and its objects");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->callback([&ctx, args] { ctx.exit_code = run_info(ctx, *args); });
}

} // namespace pkram::cli
