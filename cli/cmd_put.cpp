// pkram-cli put: standard input into an object of an open node.
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "commands.hpp"

namespace pkram::cli {

namespace {

struct PutArgs {
	std::string node;
	std::string object;
	bool bytes = false;
};

int run_put(const Context &ctx, const PutArgs &args)
{
	auto opened = open_node(ctx, args.node);
	if (!opened)
		return report(opened.error());
	Node &node = opened->node;
	auto obj = node.open_object(args.object,
				    {.stream = args.bytes ? Stream::bytes : Stream::pages, .create = true});
	if (!obj)
		return report(obj.error());
	std::vector<char> buf(1 << 20);
	uint64_t pos = 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf.data(), buf.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return report(errno_error("read standard input"));
		if (n == 0)
			break;
		if (auto s = obj->pwrite_all(buf.data(), static_cast<size_t>(n), pos); !s)
			return report(s.error());
		pos += static_cast<uint64_t>(n);
	}
	return Exit::ok;
}

} // namespace

void setup_put(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<PutArgs>();
	auto *cmd = app.add_subcommand("put", "write standard input into an object of an open node");
	cmd->add_option("NODE", args->node, "node name")->required();
	cmd->add_option("OBJECT", args->object, "object name (a relative path)")->required();
	cmd->add_flag("--bytes", args->bytes, "write the byte stream instead of the data");
	cmd->callback([&ctx, args] { ctx.exit_code = run_put(ctx, *args); });
}

} // namespace pkram::cli
