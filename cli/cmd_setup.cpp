// pkram-cli setup: where the pool can go, and the boot parameters for it.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "pkram/handover.hpp"
#include "pkram/setup.hpp"

namespace pkram::cli {

void setup_setup(CLI::App &app, Context &ctx)
{
	auto size = std::make_shared<std::string>();
	auto memmap = std::make_shared<std::string>("/sys/firmware/memmap");
	auto *cmd = app.add_subcommand(
		"setup",
		"pick a free physical range for a pool and print the boot parameters (and GRUB line)");
	cmd->add_option("--size", *size, "pool size, e.g. 4G or 512M (a multiple of 2 MiB)")->required();
	cmd->add_option("--memmap", *memmap, "firmware memory map to read")->capture_default_str();
	auto resize = std::make_shared<bool>(false);
	cmd->add_flag("--resize", *resize,
		      "the loaded pool at its base, grown or shrunk around its nodes for the next boot "
		      "(recorded with the module, as kexec --pool-size does)");
	cmd->callback([&ctx, size, memmap, resize] {
		auto bytes = parse_size(*size);
		if (!bytes) {
			ctx.exit_code = report(bytes.error());
			return;
		}
		Result<PoolPlan> plan = make_error(EINVAL, "no plan");
		if (*resize) {
			auto dev = open_device(ctx);
			if (!dev) {
				ctx.exit_code = report(dev.error());
				return;
			}
			auto next = resize_next_pool(*dev, *bytes);
			if (!next) {
				ctx.exit_code = report(next.error());
				return;
			}
			plan = plan_at(next->base, next->size);
		} else {
			auto map = read_firmware_memmap(*memmap);
			if (!map) {
				ctx.exit_code = report(map.error());
				return;
			}
			plan = plan_pool(*map, *bytes);
		}
		if (!plan) {
			ctx.exit_code =
				report(make_error(plan.error().errnum, "setup: " + plan.error().message));
			return;
		}
		if (ctx.json) {
			std::cout << nlohmann::json{{"base", plan->base},
						    {"size", plan->size},
						    {"kernel_args", plan->memmap_arg + " " + plan->pool_arg},
						    {"grub_cmdline_linux", plan->grub_words}}
					     .dump(2)
				  << "\n";
		} else {
			if (*resize)
				std::printf("The next boot's pool: %s at %#llx (recorded with the module).\n",
					    size->c_str(), static_cast<unsigned long long>(plan->base));
			else
				std::printf("A pool of %s fits at %#llx (in RAM %#llx-%#llx).\n",
					    size->c_str(), static_cast<unsigned long long>(plan->base),
					    static_cast<unsigned long long>(plan->ram.start),
					    static_cast<unsigned long long>(plan->ram.end));
			std::printf("Add to the kernel command line:\n  %s %s\n", plan->memmap_arg.c_str(),
				    plan->pool_arg.c_str());
			std::printf("With GRUB, add to GRUB_CMDLINE_LINUX in /etc/default/grub ($ escaped),\n"
				    "then run update-grub and reboot:\n  %s\n",
				    plan->grub_words.c_str());
		}
		ctx.exit_code = Exit::ok;
	});
}

} // namespace pkram::cli
