// pkram-cli discard: free the stale pool the module kept at load.
#include <cstdio>

#include "commands.hpp"

namespace pkram::cli {

void setup_discard(CLI::App &app, Context &ctx)
{
	auto yes = std::make_shared<bool>(false);
	auto *cmd =
		app.add_subcommand("discard", "free the stale pool the module kept at load, every node in it "
					      "(asks first)");
	cmd->add_flag("-y,--yes", *yes, "do not ask");
	cmd->callback([&ctx, yes] {
		if (int rc = confirm(*yes, "discard", "free the stale pool and every node in it?");
		    rc != Exit::ok) {
			ctx.exit_code = rc;
			return;
		}
		auto dev = open_device(ctx);
		if (!dev) {
			ctx.exit_code = report(dev.error());
			return;
		}
		if (auto s = dev->discard(); !s) {
			ctx.exit_code = report(s.error());
			return;
		}
		std::printf("discarded the stale pool: it starts empty\n");
	});
}

} // namespace pkram::cli
