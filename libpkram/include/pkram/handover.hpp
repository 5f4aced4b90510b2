// What the next kernel must be told: the handover token the module exports in
// /sys/kernel/pkram/handover, carried as pkram.handover= on its command line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pkram/result.hpp"

namespace pkram {

inline constexpr const char *handover_sysfs = "/sys/kernel/pkram/handover";
inline constexpr const char *handover_param = "pkram.handover";

// Reads the token ("0x..." as the module prints it).
Result<std::string> read_handover_token(const std::string &path = handover_sysfs);

// The next kernel's command line: `base` (e.g. /proc/cmdline) without any
// pkram.handover= and BOOT_IMAGE=/initrd= words, then `extra`, then the token.
std::string next_cmdline(std::string_view base, std::string_view extra, std::string_view token);

// The kexec-tools invocation that loads the next kernel. kexec_file_load
// (-s) never places segments inside the reserved pool; plain kexec_load plans
// from /sys/firmware/memmap, which lists the pool as free RAM.
std::vector<std::string> kexec_load_argv(const std::string &kernel, const std::string &initrd,
					 const std::string &cmdline);

} // namespace pkram
