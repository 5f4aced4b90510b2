// An in-memory pool behind the client library, for host tests of the code
// above it (tree save/restore): it speaks the ioctl ABI of
// kmod/include/uapi/linux/pkram.h through pkram::Transport, checks names
// with the format's own rules (pkram_fmt_check_node_name/_obj_name), and
// keeps each object stream in a memfd, so object fds read, write, sendfile,
// seek holes and map as the module's do. Not modelled: the pool's size
// (nothing is ever ENOSPC), mappings' rules, data checksums (verify checks
// nothing), restore validation. The real module is tested in the VM.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pkram/client.hpp"

namespace pkram::test {

class MemoryPool : public Transport, public std::enable_shared_from_this<MemoryPool> {
      public:
	static std::shared_ptr<MemoryPool> create() { return std::shared_ptr<MemoryPool>(new MemoryPool()); }
	// A handle on the pool, as Device::open gives one on /dev/pkram.
	Device device();
	// Thread-safe, as the module's ioctls are.
	int ioctl(int fd, unsigned long cmd, void *arg) override;
	// What a kexec does to the pool: sealed nodes come back restored, open
	// ones are gone. Every fd of the old "kernel" must be closed first.
	void kexec();

      private:
	struct Object {
		uint64_t id;
		std::string name;
		UniqueFd stream[2]; // memfds: the page stream, the byte stream
	};
	struct Node {
		std::string name;
		NodeState state = NodeState::open;
		bool data_crc = false;
		uint64_t next_id = 0;
		std::vector<std::shared_ptr<Object>> objects; // in creation order
	};
	// What an fd stands for, by its inode: fd numbers are reused once closed.
	struct Handle {
		std::shared_ptr<Node> node;     // null: the device
		std::shared_ptr<Object> object; // null: the node (or the device)
		int stream = 0;
	};

	MemoryPool() = default;
	int new_handle(Handle h); // a fresh fd standing for h (a memfd's own inode)
	int object_fd(const std::shared_ptr<Node> &node, const std::shared_ptr<Object> &obj, int stream);
	const Handle *handle_of(int fd) const;
	std::shared_ptr<Node> find_node(const std::string &name) const;

	int pool_status(void *arg);
	int node_create_open(unsigned long cmd, void *arg);
	int node_free(void *arg);
	int node_stat(const Handle &h, unsigned long cmd, void *arg);
	int node_seal(const Handle &h, void *arg);
	int node_verify(const Handle &h, void *arg);
	int obj_open(const Handle &h, void *arg);
	int obj_stat(const Handle &h, unsigned long cmd, void *arg);
	int obj_delete(const Handle &h, void *arg);
	int obj_rename(const Handle &h, void *arg);
	int obj_truncate(int fd, const Handle &h, void *arg);

	std::vector<std::shared_ptr<Node>> nodes_;
	std::mutex lock_; // held by every call: clients call from many threads, as on the module
	std::map<ino_t, Handle> handles_; // every memfd made registers its inode here
};

} // namespace pkram::test
