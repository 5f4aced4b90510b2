// The session's /dev/fuse I/O: libfuse's own, plus one INIT flag it lacks.
#pragma once

struct fuse_session;

namespace pkramfs {

// Replaces a mounted session's I/O with plain read/writev/splice that also
// grant FUSE_HANDLE_KILLPRIV_V2 when the kernel offers it; 0 or -errno.
int use_session_io(fuse_session *se);

} // namespace pkramfs
