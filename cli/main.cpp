// pkram-cli: manage memory preserved across kexec.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.hpp"

#ifndef PKRAM_VERSION
#define PKRAM_VERSION "0.0.0"
#endif

namespace pkram::cli {

int report(const Error &error)
{
	std::fprintf(stderr, "pkram-cli: %s\n", error.what().c_str());
	return Exit::failed;
}

Result<Device> open_device(const Context &ctx) { return Device::open(ctx.device); }

Result<OpenedNode> open_node(const Context &ctx, const std::string &name, bool write)
{
	auto dev = open_device(ctx);
	if (!dev)
		return dev.error();
	auto node = dev->open_node(name, write);
	if (!node)
		return node.error();
	return OpenedNode{std::move(*dev), std::move(*node)};
}

Result<OpenedNode> create_node(const Context &ctx, const std::string &name)
{
	auto dev = open_device(ctx);
	if (!dev)
		return dev.error();
	auto node = dev->create_node(name);
	if (!node)
		return node.error();
	return OpenedNode{std::move(*dev), std::move(*node)};
}

int confirm(bool yes, const std::string &action, const std::string &question)
{
	if (yes)
		return Exit::ok;
	if (!isatty(STDIN_FILENO)) {
		std::fprintf(stderr, "pkram-cli: %s: not a terminal, pass -y to confirm\n", action.c_str());
		return Exit::usage;
	}
	std::printf("%s [y/N] ", question.c_str());
	std::fflush(stdout);
	std::string answer;
	std::getline(std::cin, answer);
	if (answer == "y" || answer == "Y" || answer == "yes")
		return Exit::ok;
	std::printf("nothing done\n");
	return Exit::failed;
}

std::string human_bytes(uint64_t bytes)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = static_cast<double>(bytes);
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	char buf[32];
	std::snprintf(buf, sizeof(buf), u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

} // namespace pkram::cli

int main(int argc, char **argv)
{
	using namespace pkram::cli;
	Context ctx;
	CLI::App app{"pkram-cli: manage memory preserved across kexec (pkram nodes in the pool)"};
	app.set_version_flag("--version", std::string("pkram-cli ") + PKRAM_VERSION);
	app.add_option("--device", ctx.device, "the pkram device")->capture_default_str();
	app.add_flag("--json", ctx.json, "print results as JSON");
	app.fallthrough();
	app.require_subcommand(1);
	app.footer("Exit status: 0 success, 1 the operation failed (the message says why), 2 bad usage.");
	setup_status(app, ctx);
	setup_ls(app, ctx);
	setup_info(app, ctx);
	setup_free(app, ctx);
	setup_seal(app, ctx);
	setup_verify(app, ctx);
	setup_cat(app, ctx);
	setup_save(app, ctx);
	setup_restore(app, ctx);
	setup_kexec(app, ctx);
	setup_create(app, ctx);
	setup_put(app, ctx);
	setup_setup(app, ctx);
	setup_vm(app, ctx);
	setup_adopt(app, ctx);
	setup_discard(app, ctx);
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		int code = app.exit(e);
		return code ? Exit::usage : Exit::ok;
	}
	return ctx.exit_code;
}
