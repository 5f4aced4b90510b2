// The mount's readahead window: what INIT asks for, and the sysfs knob the
// kernel also caps it by.
#pragma once

#include <cstddef>
#include <string>

namespace pkramfs {

// Bytes the kernel may read ahead of a reader: four full-size READ requests
// (1 MiB: max_pages is 256 on 6.1 and 6.12) in flight, so the daemon's
// threads fetch while the reader consumes. (A cold md5sum of 256 MiB: 3.2 s
// with 128 KiB, 2.0-2.5 s with 1 MiB, 1.9-2.5 s with 4 MiB; tmpfs 1.3-1.8 s.)
inline constexpr size_t readahead_bytes = size_t{4} << 20;

// The FUSE mount at mountpoint (the newest there) gets a readahead window of
// readahead_bytes. The kernel takes the smaller of INIT's max_readahead and
// its per-device default (128 KiB), so without this a cold sequential read
// is a round trip per 128 KiB. Empty on success, else why not (the mount
// then reads with the default window).
std::string raise_readahead(const std::string &mountpoint);

} // namespace pkramfs
