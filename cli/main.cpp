// pkram-cli: manage memory preserved across kexec.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"

#ifndef PKRAM_VERSION
#define PKRAM_VERSION "0.0.0"
#endif

namespace pkram::cli {

namespace {
// Set once from --json: then every error is one JSON object on stderr.
bool errors_as_json = false;

void print_error(const std::string &text, int errnum, const char *hint)
{
	if (errors_as_json)
		std::cerr << nlohmann::json{{"error", text}, {"errno", errnum}}.dump() << "\n";
	else
		std::fprintf(stderr, "pkram-cli: %s\n%s", text.c_str(), hint);
}
} // namespace

int report(const Error &error)
{
	print_error(error.what(), error.errnum, "");
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
		report(make_error(0, action + ": not a terminal, pass -y to confirm"));
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

// The first word that is not an option (or --device's value): the command.
std::string command_word(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		std::string word = argv[i];
		if (word == "--device")
			i++;
		else if (word.empty() || word[0] != '-')
			return word;
	}
	return {};
}

// A usage error: CLI11's message, or for an unknown command its name and
// the commands there are.
int report_usage(const CLI::App &app, const CLI::ParseError &e, const std::string &command)
{
	std::string message = e.what();
	std::string names;
	bool known = false;
	for (const auto *sub : app.get_subcommands([](const CLI::App *) { return true; })) {
		names += " " + sub->get_name();
		known |= sub->get_name() == command;
	}
	if (!command.empty() && !known)
		message = "unknown command '" + command + "'; the commands:" + names;
	print_error(message, EINVAL, "Run with --help for more information.\n");
	return Exit::usage;
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
	// Subcommands inherit the footer: each COMMAND --help names the global options.
	app.footer("Global options, before the command: --device PATH (default " + ctx.device +
		   "), --json (results, and errors as {\"error\": ..., \"errno\": ...} on stderr, as JSON).\n"
		   "Exit status: 0 success, 1 the operation failed (the message says why), 2 bad usage.");
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
	setup_lend(app, ctx);
	// From argv, not ctx.json: a parse error comes before CLI11 sets the flag.
	for (int i = 1; i < argc; i++)
		errors_as_json |= std::strcmp(argv[i], "--json") == 0;
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
			app.exit(e); // --help, --help-all, --version
			return Exit::ok;
		}
		return report_usage(app, e, command_word(argc, argv));
	}
	return ctx.exit_code;
}
