// pkram-cli vm: guest RAM for a VMM in a node. `vm create` makes the node and
// its RAM object; `vm run` opens it for writing (a restored node reopens in
// place) and execs the VMM with the object inherited and mapped as the
// machine's RAM through /proc/self/fd/N (see pkram/vm_ram.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pkram/setup.hpp"
#include "pkram/vm_ram.hpp"

namespace pkram::cli {

namespace {

struct VmCreateArgs {
	std::string node;
	std::string size;
	bool prealloc = false;
};

struct VmRunArgs {
	std::string node;
	std::vector<std::string> command;
	bool dry_run = false;
};

// Backs every page now, in 2 MiB pieces (each one a chunk of the pool).
Status prealloc(Object &ram, uint64_t bytes)
{
	const std::string zeros(vm_ram_align, '\0');
	for (uint64_t off = 0; off < bytes; off += zeros.size())
		if (auto s = ram.pwrite_all(zeros.data(), zeros.size(), off); !s)
			return s;
	return {};
}

int run_vm_create(const Context &ctx, const VmCreateArgs &args)
{
	auto bytes = parse_size(args.size);
	if (!bytes)
		return report(bytes.error());
	if (auto ok = check_vm_ram_size(*bytes); !ok)
		return report(ok.error());
	auto created = create_node(ctx, args.node);
	if (!created)
		return report(created.error());
	auto ram = created->node.open_object(vm_ram_object, {.create = true, .exclusive = true});
	if (!ram)
		return report(ram.error());
	if (auto s = ram->truncate(*bytes); !s)
		return report(s.error());
	if (args.prealloc)
		if (auto s = prealloc(*ram, *bytes); !s)
			return report(s.error());
	std::printf("created %s: %s of guest RAM%s; start the VMM with\n"
		    "  pkram-cli vm run %s -- qemu-system-x86_64 ...\n",
		    args.node.c_str(), human_bytes(*bytes).c_str(), args.prealloc ? ", all backed" : "",
		    args.node.c_str());
	return Exit::ok;
}

int run_vm_run(const Context &ctx, const VmRunArgs &args)
{
	auto opened = open_node(ctx, args.node, true);
	if (!opened)
		return report(opened.error());
	auto ram = opened->node.open_object(vm_ram_object);
	if (!ram)
		return report(ram.error());
	auto info = ram->info();
	if (!info)
		return report(info.error());
	if (auto ok = check_vm_ram_size(info->page_size); !ok)
		return report(make_error(EINVAL,
					 "node '" + args.node + "' holds no VM RAM: " + ok.error().message));
	// The VMM inherits the object fd; the node stays open while it runs.
	int fd = ram->fd();
	if (::fcntl(fd, F_SETFD, 0))
		return report(make_error(errno, "keep the RAM fd across exec"));
	auto argv = with_qemu_ram(args.command, info->page_size, fd);
	std::fprintf(stderr, "pkram-cli: %s %s\n", args.dry_run ? "would run" : "running",
		     shell_words(argv).c_str());
	if (args.dry_run)
		return Exit::ok;
	std::vector<char *> cargv;
	for (auto &a : argv)
		cargv.push_back(a.data());
	cargv.push_back(nullptr);
	::execvp(cargv[0], cargv.data());
	return report(make_error(errno, "run " + argv[0]));
}

} // namespace

void setup_vm(CLI::App &app, Context &ctx)
{
	auto *vm = app.add_subcommand("vm", "guest RAM for a VMM (QEMU) in a node, mapped from the pool");
	vm->require_subcommand(1);

	auto create = std::make_shared<VmCreateArgs>();
	auto *c =
		vm->add_subcommand("create", "create a node with an object 'ram' of SIZE bytes of guest RAM");
	c->add_option("NODE", create->node, "node name")->required();
	c->add_option("SIZE", create->size, "guest RAM, a multiple of 2 MiB (512M, 4G)")->required();
	c->add_flag("--prealloc", create->prealloc, "back all of it now (else as the guest touches it)");
	c->callback([&ctx, create] { ctx.exit_code = run_vm_create(ctx, *create); });

	auto run = std::make_shared<VmRunArgs>();
	auto *r = vm->add_subcommand(
		"run", "open NODE's RAM for writing and exec COMMAND (QEMU) with it as the machine's RAM; "
		       "adds -object memory-backend-file,...,mem-path=/proc/self/fd/N -machine "
		       "memory-backend=... -m");
	r->add_option("NODE", run->node, "node name")->required();
	r->add_flag("--dry-run", run->dry_run, "print the command, do not run it");
	r->add_option("COMMAND", run->command, "the VMM and its arguments, after --")->required();
	r->callback([&ctx, run] { ctx.exit_code = run_vm_run(ctx, *run); });
}

} // namespace pkram::cli
