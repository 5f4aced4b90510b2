// pkramfs's FUSE callbacks; the session's userdata is the mount's Fs.
#pragma once

#include <fuse3/fuse_lowlevel.h>

namespace pkramfs {

extern const fuse_lowlevel_ops operations;

} // namespace pkramfs
