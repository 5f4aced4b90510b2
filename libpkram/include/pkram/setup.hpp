// Choosing where the pool goes: a range of usable RAM from the firmware memory
// map (/sys/firmware/memmap, which memmap= does not change), turned into the
// boot parameters that reserve it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pkram/result.hpp"

namespace pkram {

struct MemRange {
	uint64_t start = 0;
	uint64_t end = 0; // inclusive, as the firmware map writes it
	std::string type; // "System RAM", "Reserved", ...
};

Result<std::vector<MemRange>> read_firmware_memmap(const std::string &dir = "/sys/firmware/memmap");

struct PoolPlan {
	uint64_t base = 0;
	uint64_t size = 0;
	MemRange ram;           // the RAM range it sits in
	std::string memmap_arg; // memmap=SIZE$BASE
	std::string pool_arg;   // pkram.pool=SIZE@BASE
	std::string grub_words; // for GRUB_CMDLINE_LINUX ($ escaped)
};

// Picks a place for a pool of `size` bytes (a multiple of 2 MiB): the top of
// the highest RAM range above 4 GiB that holds it, else below 4 GiB in the
// largest range, leaving its top 256 MiB (firmware tables, kexec_load's
// segments) and its bottom 1 GiB alone. Explains why when nothing fits.
Result<PoolPlan> plan_pool(const std::vector<MemRange> &map, uint64_t size);

// The boot parameters of a pool at base (ram left empty).
PoolPlan plan_at(uint64_t base, uint64_t size);

// "4G", "256M", "1536K": the largest unit that divides exactly.
std::string size_arg(uint64_t bytes);
// Parses "4G", "512M", "1048576" (binary units).
Result<uint64_t> parse_size(std::string_view text);

} // namespace pkram
