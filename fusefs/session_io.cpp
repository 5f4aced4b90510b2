// The session's /dev/fuse I/O (libfuse's custom I/O hooks), which adds
// FUSE_HANDLE_KILLPRIV_V2 to the INIT reply.
//
// Without that flag the kernel asks the daemon for security.capability
// (a GETXATTR round trip) on every write(2), even with the writeback
// cache: a stream of 8 KiB writes then runs at a twentieth of tmpfs. With
// it the superblock is SB_NOSEC and the kernel asks once per attribute
// refresh. libfuse 3.14 has no FUSE_CAP for it, so the reply is amended
// here; in exchange pkramfs clears set-user-ID and set-group-ID itself on
// write, truncation and chown (kill_suidgid in entries.cpp), which libfuse's
// default FUSE_CAP_HANDLE_KILLPRIV asks of it already.

#include "session_io.hpp"

#include <fuse3/fuse_lowlevel.h>
#include <linux/fuse.h>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace pkramfs {
namespace {

// The INIT request's id and whether its flags offered KILLPRIV_V2.
std::atomic<uint64_t> init_unique{0};
std::atomic<bool> init_offers_v2{false};
std::atomic<bool> v2_granted{false};

ssize_t io_read(int fd, void *buf, size_t len, void *)
{
	ssize_t n = ::read(fd, buf, len);
	// INIT arrives first and never by splice (libfuse splices only once
	// the protocol is known).
	if (n >= static_cast<ssize_t>(sizeof(fuse_in_header) + sizeof(fuse_init_in)) && !init_unique.load()) {
		fuse_in_header in;
		std::memcpy(&in, buf, sizeof(in));
		if (in.opcode == FUSE_INIT) {
			fuse_init_in arg;
			std::memcpy(&arg, static_cast<const char *>(buf) + sizeof(in), sizeof(arg));
			init_offers_v2 = arg.flags & FUSE_HANDLE_KILLPRIV_V2;
			init_unique = in.unique;
		}
	}
	return n;
}

ssize_t io_writev(int fd, struct iovec *iov, int count, void *)
{
	// The INIT reply: a header, then fuse_init_out (flags at a fixed offset).
	if (count >= 2 && init_offers_v2 && !v2_granted && iov[0].iov_len == sizeof(fuse_out_header) &&
	    iov[1].iov_len >= offsetof(fuse_init_out, flags) + sizeof(uint32_t)) {
		fuse_out_header out;
		std::memcpy(&out, iov[0].iov_base, sizeof(out));
		if (out.unique == init_unique && out.error == 0) {
			auto *flags =
				reinterpret_cast<char *>(iov[1].iov_base) + offsetof(fuse_init_out, flags);
			uint32_t f;
			std::memcpy(&f, flags, sizeof(f));
			f |= FUSE_HANDLE_KILLPRIV_V2;
			std::memcpy(flags, &f, sizeof(f));
			v2_granted = true;
		}
	}
	return ::writev(fd, iov, count);
}

ssize_t io_splice_receive(int fdin, off_t *offin, int fdout, off_t *offout, size_t len, unsigned int flags,
			  void *)
{
	return ::splice(fdin, offin, fdout, offout, len, flags);
}

} // namespace

int use_session_io(fuse_session *se)
{
	// No splice_send: pkramfs wants no spliced replies (see op_init).
	static const fuse_custom_io io = {
		.writev = io_writev,
		.read = io_read,
		.splice_receive = io_splice_receive,
		.splice_send = nullptr,
	};
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

} // namespace pkramfs
