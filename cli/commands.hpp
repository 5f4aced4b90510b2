// pkram-cli subcommands: cmd_X.cpp adds subcommand X with setup_X(), whose
// callback stores the exit code of running it in Context::exit_code.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "pkram/client.hpp"

namespace pkram::cli {

// Exit codes (documented in README and --help).
enum Exit : int { ok = 0, failed = 1, usage = 2 };

struct Context {
	std::string device = default_device;
	bool json = false;
	int exit_code = Exit::ok;
};

// Prints "pkram-cli: <message>" on stderr and returns Exit::failed.
int report(const Error &error);
// Opens the device or says why not.
Result<Device> open_device(const Context &ctx);

// The device and one of its nodes (its fd keeps the node from being freed).
struct OpenedNode {
	Device dev;
	Node node;
};
Result<OpenedNode> open_node(const Context &ctx, const std::string &name, bool write = false);
// The device and a new, open node.
Result<OpenedNode> create_node(const Context &ctx, const std::string &name);
std::string human_bytes(uint64_t bytes);
// Asks `question` [y/N] unless `yes`; refuses without a terminal (naming
// `action` and -y). Returns Exit::ok to go on, else the exit code.
int confirm(bool yes, const std::string &action, const std::string &question);

// status, and with nodes_only the node table alone (ls).
int run_status(const Context &ctx, bool nodes_only);

void setup_status(CLI::App &app, Context &ctx);
void setup_ls(CLI::App &app, Context &ctx);
void setup_info(CLI::App &app, Context &ctx);
void setup_free(CLI::App &app, Context &ctx);
void setup_seal(CLI::App &app, Context &ctx);
void setup_verify(CLI::App &app, Context &ctx);
void setup_cat(CLI::App &app, Context &ctx);
void setup_save(CLI::App &app, Context &ctx);
void setup_restore(CLI::App &app, Context &ctx);
void setup_kexec(CLI::App &app, Context &ctx);
void setup_create(CLI::App &app, Context &ctx);
void setup_put(CLI::App &app, Context &ctx);
void setup_setup(CLI::App &app, Context &ctx);
void setup_vm(CLI::App &app, Context &ctx);
void setup_adopt(CLI::App &app, Context &ctx);
void setup_discard(CLI::App &app, Context &ctx);
void setup_lend(CLI::App &app, Context &ctx);

} // namespace pkram::cli
