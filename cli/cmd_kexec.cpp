// pkram-cli kexec: load the next kernel with the handover token appended.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "pkram/handover.hpp"
#include "pkram/setup.hpp"

namespace pkram::cli {

namespace {

struct KexecArgs {
	std::string kernel;
	std::string initrd;
	std::string append;
	bool reuse_cmdline = false;
	bool exec = false;
	bool dry_run = false;
	std::string syscall = "file";
	std::string pool_size;
};

// --pool-size: the next kernel's pool, recorded with the module, and the
// command-line words for it. A pool grows into RAM this kernel uses, where
// kexec_file_load could put the next kernel: growing takes kexec_load with
// its window outside the grown pool.
Result<PoolRange> resize_for_next(const std::string &size, KexecSyscall syscall, bool dry_run)
{
	auto bytes = parse_size(size);
	if (!bytes)
		return bytes.error();
	auto range = read_pool_range();
	if (!range)
		return range.error();
	if (*bytes > range->size && syscall == KexecSyscall::file)
		return make_error(EINVAL, "growing the pool needs --syscall load: kexec_file_load may "
					  "place the next kernel in the RAM the pool grows into");
	if (dry_run)
		return PoolRange{range->base, *bytes};
	auto dev = Device::open();
	if (!dev)
		return dev.error();
	return resize_next_pool(*dev, *bytes);
}

std::string shell_quote(const std::string &s)
{
	std::string out = "'";
	for (char c : s)
		out += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return out + "'";
}

Status run_program(const std::vector<std::string> &argv)
{
	std::vector<char *> cargv;
	for (const auto &a : argv)
		cargv.push_back(const_cast<char *>(a.c_str()));
	cargv.push_back(nullptr);
	pid_t pid = fork();
	if (pid < 0)
		return errno_error("fork");
	if (pid == 0) {
		execvp(cargv[0], cargv.data());
		std::fprintf(stderr, "pkram-cli: cannot run %s: %s\n", cargv[0], std::strerror(errno));
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno_error("wait for " + argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return make_error(0, argv[0] + " failed (exit status " +
					     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
					     ")");
	return {};
}

int run_kexec(const KexecArgs &args)
{
	auto token = read_handover_token();
	if (!token)
		return report(token.error());
	std::string base;
	if (args.reuse_cmdline) {
		std::ifstream in("/proc/cmdline");
		std::getline(in, base);
	}
	std::string cmdline = next_cmdline(base, args.append, *token);
	KexecSyscall syscall = args.syscall == "load" ? KexecSyscall::load : KexecSyscall::file;
	PoolRange pool;
	if (syscall == KexecSyscall::load) {
		auto range = read_pool_range();
		if (!range)
			return report(range.error());
		pool = *range;
	}
	if (!args.pool_size.empty()) {
		auto next = resize_for_next(args.pool_size, syscall, args.dry_run);
		if (!next)
			return report(next.error());
		cmdline = with_pool_words(cmdline, *next);
		// The kexec_load window stays out of the larger of the two pools.
		pool.size = std::max(pool.size, next->size);
	}
	auto argv = kexec_load_argv(args.kernel, args.initrd, cmdline, syscall, pool);
	std::string shown;
	for (const auto &a : argv)
		shown += (shown.empty() ? "" : " ") + shell_quote(a);
	if (args.dry_run) {
		std::printf("%s\n", shown.c_str());
		if (args.exec)
			std::printf("'kexec' '-e'\n");
		return Exit::ok;
	}
	if (auto s = run_program(argv); !s)
		return report(s.error());
	std::printf("loaded %s with %s=%s\n", args.kernel.c_str(), handover_param, token->c_str());
	if (args.exec) {
		std::fflush(stdout);
		sync();
		if (auto s = run_program({"kexec", "-e"}); !s)
			return report(s.error());
	}
	return Exit::ok;
}

} // namespace

void setup_kexec(CLI::App &app, Context &ctx)
{
	auto args = std::make_shared<KexecArgs>();
	auto *cmd = app.add_subcommand(
		"kexec", "load the next kernel (kexec -s) with the handover token on its command line");
	cmd->add_option("--kernel", args->kernel, "the next kernel image (bzImage)")
		->required()
		->check(CLI::ExistingFile);
	cmd->add_option("--initrd", args->initrd, "its initramfs")->check(CLI::ExistingFile);
	cmd->add_option("--append", args->append, "more command-line words for the next kernel");
	cmd->add_flag("--reuse-cmdline", args->reuse_cmdline,
		      "start from this kernel's command line (stale pkram.handover= removed)");
	cmd->add_flag("--exec", args->exec, "jump to the loaded kernel right away (kexec -e)");
	cmd->add_flag("--dry-run", args->dry_run, "print the kexec command instead of running it");
	cmd->add_option("--syscall", args->syscall,
			"file: kexec_file_load (kexec -s, safe by construction); load: kexec_load "
			"(kexec -l) with segments confined away from the pool (--mem-max/--mem-min)")
		->check(CLI::IsMember({"file", "load"}))
		->capture_default_str();
	cmd->add_option("--pool-size", args->pool_size,
			"the next kernel's pool, grown or shrunk at the same base around the nodes (data "
			"never moves; growing needs --syscall load); memmap= and pkram.pool= are rewritten");
	cmd->callback([&ctx, args] { ctx.exit_code = run_kexec(*args); });
}

} // namespace pkram::cli
