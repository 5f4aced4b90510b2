// pkram-cli info, seal, free, cat: one node at a time.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace pkram::cli {

namespace {

struct NodeArgs {
	std::string node;
	std::string object;
	bool yes = false;
	bool bytes = false;
	bool checksum = false;
};

int run_info(const Context &ctx, const NodeArgs &args)
{
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto node = dev->open_node(args.node);
	if (!node)
		return report(node.error());
	auto info = node->info();
	if (!info)
		return report(info.error());
	auto objects = node->objects();
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
						{"data_bytes", o.data_bytes}});
		std::cout << j.dump(2) << "\n";
		return Exit::ok;
	}
	std::printf("node %s: %s, %u objects, %s data, %s metadata\n", info->name.c_str(),
		    std::string(to_string(info->state)).c_str(), info->nr_objects,
		    human_bytes(info->data_bytes).c_str(), human_bytes(info->meta_bytes).c_str());
	std::printf("%14s %10s  %s\n", "SIZE", "BYTES", "OBJECT");
	for (const auto &o : *objects)
		std::printf("%14llu %10llu  %s\n", static_cast<unsigned long long>(o.page_size),
			    static_cast<unsigned long long>(o.byte_size), o.name.c_str());
	return Exit::ok;
}

int run_seal(const Context &ctx, const NodeArgs &args)
{
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto node = dev->open_node(args.node);
	if (!node)
		return report(node.error());
	if (auto s = node->seal(args.checksum); !s)
		return report(s.error());
	std::printf("sealed %s%s: it will be handed over at the next kexec\n", args.node.c_str(),
		    args.checksum ? " with data checksums" : "");
	return Exit::ok;
}

int run_verify(const Context &ctx, const NodeArgs &args)
{
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto node = dev->open_node(args.node);
	if (!node)
		return report(node.error());
	auto rep = node->verify();
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

int run_free(const Context &ctx, const NodeArgs &args)
{
	if (!args.yes) {
		if (!isatty(STDIN_FILENO)) {
			std::fprintf(stderr, "pkram-cli: free %s: not a terminal, pass -y to confirm\n",
				     args.node.c_str());
			return Exit::usage;
		}
		std::printf("free node %s and every page it holds? [y/N] ", args.node.c_str());
		std::fflush(stdout);
		std::string answer;
		std::getline(std::cin, answer);
		if (answer != "y" && answer != "Y" && answer != "yes") {
			std::printf("not freed\n");
			return Exit::failed;
		}
	}
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	if (auto s = dev->free_node(args.node); !s)
		return report(s.error());
	std::printf("freed %s\n", args.node.c_str());
	return Exit::ok;
}

int run_cat(const Context &ctx, const NodeArgs &args)
{
	auto dev = open_device(ctx);
	if (!dev)
		return report(dev.error());
	auto node = dev->open_node(args.node);
	if (!node)
		return report(node.error());
	auto obj = node->open_object(args.object,
				     {.stream = args.bytes ? Stream::bytes : Stream::pages});
	if (!obj)
		return report(obj.error());
	std::vector<char> buf(1 << 20);
	for (uint64_t pos = 0;;) {
		auto n = obj->pread(buf.data(), buf.size(), pos);
		if (!n)
			return report(n.error());
		if (*n == 0)
			break;
		if (std::fwrite(buf.data(), 1, *n, stdout) != *n)
			return report(errno_error("write to standard output"));
		pos += *n;
	}
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

void setup_seal(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand("seal", "make a node read-only and hand it over at the next kexec");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->add_flag("--checksum", args->checksum,
		      "also store a CRC32C of all data, for pkram-cli verify (reads all data once)");
	cmd->callback([&ctx, args] { ctx.exit_code = run_seal(ctx, *args); });
}

void setup_verify(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand(
		"verify", "check a node's data against the checksums stored at seal (exit 1 on mismatch)");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->callback([&ctx, args] { ctx.exit_code = run_verify(ctx, *args); });
}

void setup_free(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand("free", "give every page of a node back to the pool (asks first)");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->add_flag("-y,--yes", args->yes, "do not ask");
	cmd->callback([&ctx, args] { ctx.exit_code = run_free(ctx, *args); });
}

void setup_cat(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<NodeArgs>();
	auto *cmd = app.add_subcommand("cat", "write an object's data to standard output");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->add_option("OBJECT", args->object, "object name (a relative path)")->required();
	cmd->add_flag("--bytes", args->bytes, "the byte stream (metadata) instead of the data");
	cmd->callback([&ctx, args] { ctx.exit_code = run_cat(ctx, *args); });
}

} // namespace pkram::cli
