// pkramfs: pkram nodes as a file system (libfuse3, low-level API).
//
//   pkramfs [-f] [-d] [-o OPTIONS] [none] MOUNTPOINT
//   mount -t fuse.pkramfs [-o OPTIONS] none MOUNTPOINT
//
// Without -o pkram=NAME the mount shows every node: MOUNTPOINT/nodes/NODE/...
// and MOUNTPOINT/status (the pool as JSON). mkdir MOUNTPOINT/nodes/NAME
// creates an open node; rmdir frees an empty one. With -o pkram=NAME the mount
// is the tree of node NAME alone (created if missing), like the seed's tmpfs.
// Files, directories, symlinks and special files written into an open node
// become its objects. setfattr -n user.pkram.seal -v 1 (or -v checksum) on
// any directory of a node seals it; sealed and restored nodes are read-only
// (-o unseal makes the node of -o pkram=NAME writable again).
#include <fuse3/fuse_lowlevel.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "callbacks.hpp"
#include "fs.hpp"
#include "readahead.hpp"
#include "session_io.hpp"

namespace {

struct Options {
	char *node = nullptr;
	char *device = nullptr;
	int unseal = 0;
};

const fuse_opt option_spec[] = {
	{"pkram=%s", offsetof(Options, node), 0},
	{"device=%s", offsetof(Options, device), 0},
	{"unseal", offsetof(Options, unseal), 1},
	FUSE_OPT_END,
};

void usage(const char *prog)
{
	std::printf("usage: %s [options] [none] MOUNTPOINT\n"
		    "       mount -t fuse.pkramfs [-o options] none MOUNTPOINT\n\n"
		    "pkram nodes as a file system: MOUNTPOINT/nodes/NODE/... and MOUNTPOINT/status.\n\n"
		    "pkramfs options (-o):\n"
		    "    pkram=NAME       mount node NAME alone (created if missing)\n"
		    "    unseal           with pkram=NAME: make a sealed or restored node writable\n"
		    "                     (it must be sealed again to be handed over)\n"
		    "    device=PATH      the pkram device (default /dev/pkram)\n"
		    "    allow_other      let other users in (needs user_allow_other for non-root)\n\n"
		    "Seal a node: setfattr -n user.pkram.seal -v 1 DIR (or -v checksum).\n\n",
		    prog);
}

} // namespace

int main(int argc, char *argv[])
{
	// mount(8) passes "none MOUNTPOINT": drop the source, fuse takes one path.
	std::vector<char *> argv_kept(argv, argv + argc);
	std::vector<size_t> positional;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			positional.push_back(static_cast<size_t>(i));
		} else if (!std::strcmp(argv[i], "-o") && i + 1 < argc) {
			i++;
		}
	}
	if (positional.size() == 2)
		argv_kept.erase(argv_kept.begin() + static_cast<long>(positional[0]));

	fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv_kept.size()), argv_kept.data());
	Options opts;
	if (fuse_opt_parse(&args, &opts, option_spec, nullptr) == -1)
		return 2;
	fuse_cmdline_opts cmd{};
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		return 2;
	if (cmd.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		return 0;
	}
	if (cmd.show_version) {
		std::printf("pkramfs %s, FUSE library %s\n", PKRAM_VERSION, fuse_pkgversion());
		return 0;
	}
	if (!cmd.mountpoint) {
		usage(argv[0]);
		return 2;
	}
	if (opts.unseal && !opts.node) {
		std::fprintf(stderr, "pkramfs: -o unseal needs -o pkram=NAME\n");
		return 2;
	}
	auto dev = pkram::Device::open(opts.device ? opts.device : pkram::default_device);
	if (!dev) {
		std::fprintf(stderr, "pkramfs: %s\n", dev.error().what().c_str());
		return 1;
	}
	pkramfs::Fs fs(std::move(*dev), opts.node ? opts.node : "", opts.unseal);
	if (opts.node) {
		std::lock_guard guard(fs.lock);
		if (auto m = fs.nodes.mounted(opts.node); !m) {
			std::fprintf(stderr, "pkramfs: node %s: %s\n", opts.node, m.error().what().c_str());
			return 1;
		}
	}
	// The kernel checks permissions against the modes pkram keeps.
	fuse_opt_add_arg(&args, "-odefault_permissions,fsname=pkram,subtype=pkramfs");

	int ret = 1;
	fuse_session *se = fuse_session_new(&args, &pkramfs::operations, sizeof(pkramfs::operations), &fs);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, cmd.mountpoint) != 0)
		goto out_signals;
	if (int err = pkramfs::use_session_io(se); err) {
		std::fprintf(stderr, "pkramfs: custom session I/O: %s\n", std::strerror(-err));
		goto out_unmount;
	}
	if (std::string why = pkramfs::raise_readahead(cmd.mountpoint); !why.empty())
		std::fprintf(stderr, "pkramfs: readahead stays at the kernel's default: %s\n", why.c_str());
	fuse_daemonize(cmd.foreground);
	{
		fuse_loop_config *config = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(config, 0);
		fuse_loop_cfg_set_max_threads(config, 8);
		ret = cmd.singlethread ? fuse_session_loop(se) : fuse_session_loop_mt(se, config);
		fuse_loop_cfg_destroy(config);
	}
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	return ret ? 1 : 0;
}
