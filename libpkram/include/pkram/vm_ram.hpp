// Guest RAM in a pkram node: the object that holds it and the QEMU arguments
// that map it. QEMU opens a path for a memory backend, so the object fd is
// passed as /proc/self/fd/N: opening that path opens the object again, and
// QEMU maps pool pages directly (no page cache, no second copy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pkram/result.hpp"

namespace pkram {

// The object of a VM node that holds its guest RAM.
inline constexpr const char *vm_ram_object = "ram";
// Guest RAM is made of whole 2 MiB pages, so every page can be a PMD mapping.
inline constexpr uint64_t vm_ram_align = 2ull << 20;

// A size for guest RAM: nonzero and a multiple of 2 MiB, or why not.
Result<uint64_t> check_vm_ram_size(uint64_t bytes);

// What QEMU needs to use guest RAM of `bytes` at fd `fd` (which must be
// inherited): a shared file memory backend on /proc/self/fd/FD, 2 MiB
// aligned, as the machine's RAM, and -m to match.
std::vector<std::string> qemu_ram_args(uint64_t bytes, int fd);

// argv of `command` with the RAM arguments after it (QEMU takes the last -m).
std::vector<std::string> with_qemu_ram(const std::vector<std::string> &command, uint64_t bytes, int fd);

// A shell-readable rendering of argv, for showing what is run.
std::string shell_words(const std::vector<std::string> &argv);

} // namespace pkram
