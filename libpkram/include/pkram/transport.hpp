// How the client library reaches a pool: ioctl(2) on /dev/pkram and on the
// fds it returns, or a stand-in that speaks the same ABI (the host tests'
// in-memory pool, tests/unit/memory_pool.hpp). Object data always moves
// through the object fds themselves (pread, pwrite, sendfile, mmap).
#pragma once

#include <memory>

namespace pkram {

class Transport {
      public:
	virtual ~Transport() = default;
	// As ioctl(2): 0, or -1 with errno set.
	virtual int ioctl(int fd, unsigned long cmd, void *arg) = 0;
};

// The kernel's: ioctl(2) itself.
std::shared_ptr<Transport> kernel_transport();

} // namespace pkram
