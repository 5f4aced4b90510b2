// Lending free pool memory to the system: the module's ioctls, and the
// kernel's memory-block sysfs around them (online to ZONE_MOVABLE).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pkram/client.hpp"

namespace pkram {

inline const std::string memory_sysfs = "/sys/devices/system/memory";

struct LendReport {
	uint64_t lent_bytes = 0; // by this call
	unsigned onlined_blocks = 0;
};

// Lends free pool memory (keeping keep_bytes unlent; nullopt: the module's
// default) with the kernel's auto-online policy set to online_movable for
// the call, then onlines to ZONE_MOVABLE any block of the pool still offline
// (6.1 adds hot-plugged memory offline). Movable, so the kernel can always
// migrate its pages out when pkram takes a block back.
Result<LendReport> lend_movable(Device &dev, std::optional<uint64_t> keep_bytes,
				const std::string &sysfs = memory_sysfs);

} // namespace pkram
