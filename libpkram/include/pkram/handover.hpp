// What the next kernel must be told: the handover token the module exports in
// /sys/kernel/pkram/handover, carried as pkram.handover= on its command line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pkram/client.hpp"
#include "pkram/result.hpp"

namespace pkram {

inline constexpr const char *handover_sysfs = "/sys/kernel/pkram/handover";
inline constexpr const char *handover_param = "pkram.handover";

// Reads the token ("0x..." as the module prints it).
Result<std::string> read_handover_token(const std::string &path = handover_sysfs);

// The next kernel's command line: `base` (e.g. /proc/cmdline) without any
// pkram.handover= and BOOT_IMAGE=/initrd= words, then `extra`, then the token.
std::string next_cmdline(std::string_view base, std::string_view extra, std::string_view token);

inline constexpr const char *pool_sysfs = "/sys/kernel/pkram/pool";

// The pool's physical range, [base, base + size).
struct PoolRange {
	uint64_t base = 0;
	uint64_t size = 0;
};

// Parses "SIZE@0xBASE" as /sys/kernel/pkram/pool shows it.
Result<PoolRange> parse_pool_range(std::string_view text);
Result<PoolRange> read_pool_range(const std::string &path = pool_sysfs);

// cmdline with the pool's words for a pool at `pool`: memmap=SIZE$BASE and
// pkram.pool=SIZE@BASE, in place of any pkram.pool= and of the memmap= that
// names the same base (a resized pool for the next kernel).
std::string with_pool_words(std::string_view cmdline, PoolRange pool);

// Whether [start, end) lies wholly in the plain System RAM of an iomem
// listing (/proc/iomem): where a pool may grow for the next kernel.
Status check_system_ram(const std::string &iomem, uint64_t start, uint64_t end);

// Records bytes as the next kernel's pool size with the module (the same
// base; a larger pool only into System RAM of the iomem listing); the next
// pool's range.
Result<PoolRange> resize_next_pool(Device &dev, uint64_t bytes,
				   const std::string &iomem_path = "/proc/iomem");

enum class KexecSyscall {
	file, // kexec_file_load (kexec -s): the kernel never places segments in the pool
	load, // kexec_load (kexec -l): kexec-tools plans from /sys/firmware/memmap,
	      // which lists the pool as free RAM, so the placement window must exclude it
};

// The kexec-tools invocation that loads the next kernel. For KexecSyscall::load
// the segments are confined below the pool (--mem-max) when at least 256 MiB
// of RAM can lie below it, else above it (--mem-min).
std::vector<std::string> kexec_load_argv(const std::string &kernel, const std::string &initrd,
					 const std::string &cmdline,
					 KexecSyscall syscall = KexecSyscall::file, PoolRange pool = {});

} // namespace pkram
