// pkram-cli cat: an object's data (or byte stream) on standard output.
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
	std::string object;
	bool bytes = false;
};

int run_cat(const Context &ctx, const NodeArgs &args)
{
	auto opened = open_node(ctx, args.node);
	if (!opened)
		return report(opened.error());
	Node &node = opened->node;
	auto obj = node.open_object(args.object, {.stream = args.bytes ? Stream::bytes : Stream::pages});
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
