// The C++ client of /dev/pkram: RAII handles for the device, a node and an
// object. Everything in userspace talks to the module through this. Each
// handle carries the transport its device was opened with (the kernel's, or
// a stand-in: pkram/transport.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkram/result.hpp"
#include "pkram/transport.hpp"
#include "pkram/unique_fd.hpp"

namespace pkram {

inline constexpr const char *default_device = "/dev/pkram";

enum class NodeState : uint32_t { open = 1, sealed = 2, restored = 3 };
std::string_view to_string(NodeState state);

enum class Stream { pages, bytes };

// The pool's page: the unit of its extents and accounting (statfs's block).
constexpr uint32_t pool_page_size = 4096;
// The longest object name, a path below the node (the UAPI's PKRAM_OBJ_NAME_MAX).
extern const size_t object_name_max;

struct PoolStatus {
	uint32_t abi_version = 0;
	uint32_t format_version = 0;
	uint32_t nr_nodes = 0;
	uint64_t pool_base = 0;
	uint64_t pool_bytes = 0;
	uint64_t used_bytes = 0;
	uint64_t free_bytes = 0;
	uint64_t generation = 0;
	uint32_t restored_nodes = 0;
	uint32_t rejected_nodes = 0;
	bool stale_discarded = false;
	// A stale pool found at load and kept untouched until adopt or discard.
	bool stale_held = false;
	int stale_error = 0; // why, as a positive errno (ESTALE: the token)
	// Free pool memory lent to the system, and the unit it is lent in (a
	// memory block; 0 when this module or kernel cannot lend).
	uint64_t lent_bytes = 0;
	uint64_t lend_block_bytes = 0;
	// The next kernel's pool size when a resize is recorded, else 0.
	uint64_t next_pool_bytes = 0;
};

struct AdoptReport {
	uint32_t restored_nodes = 0;
	uint32_t rejected_nodes = 0;
	uint32_t verified_nodes = 0; // of the restored: data checked against their checksums
};

// Why a held stale pool is stale, for people.
std::string stale_reason(int err);

struct NodeInfo {
	std::string name;
	NodeState state = NodeState::open;
	uint32_t nr_objects = 0;
	uint64_t data_bytes = 0;
	uint64_t meta_bytes = 0;
	uint32_t open_fds = 0;
	bool has_data_crc = false; // sealed with data checksums (verify works)
};

struct VerifyReport {
	uint64_t checked_extents = 0;
	uint64_t checked_bytes = 0;
	uint64_t bad_extents = 0;
	uint32_t bad_objects = 0;
};

struct ObjectInfo {
	uint64_t id = 0;
	std::string name;
	uint64_t page_size = 0; // logical size of the page stream
	uint64_t byte_size = 0; // length of the byte stream
	uint64_t data_bytes = 0;
	uint32_t nr_extents = 0; // page stream: runs of contiguous pool pages
	uint32_t nr_huge = 0;    // page stream: 2 MiB chunks on 2 MiB-aligned pool memory
};

class Object {
      public:
	Object(UniqueFd fd, std::shared_ptr<Transport> transport)
	    : fd_(std::move(fd)), transport_(std::move(transport))
	{}
	// Reads up to len bytes at off; fewer only at the end of the stream.
	Result<size_t> pread(void *buf, size_t len, uint64_t off) const;
	// Reads the whole stream.
	Result<std::string> read_all() const;
	Status pwrite_all(const void *buf, size_t len, uint64_t off);
	// Sets the stream's size; pages past it go back to the pool.
	Status truncate(uint64_t size);
	Result<ObjectInfo> info() const;
	int fd() const { return fd_.get(); }

      private:
	UniqueFd fd_;
	std::shared_ptr<Transport> transport_;
};

struct ObjectOpen {
	Stream stream = Stream::pages;
	bool create = false;
	bool exclusive = false;
};

class Node {
      public:
	Node(UniqueFd fd, std::string name, std::shared_ptr<Transport> transport)
	    : fd_(std::move(fd)), name_(std::move(name)), transport_(std::move(transport))
	{}
	const std::string &name() const { return name_; }
	Result<Object> open_object(std::string_view name, ObjectOpen how = {}) const;
	// data_crc: also store a CRC32C of every extent's data, for verify().
	Status seal(bool data_crc = false);
	// Checks the data of a node sealed with data_crc against its CRCs.
	Result<VerifyReport> verify() const;
	Result<NodeInfo> info() const;
	Result<std::vector<ObjectInfo>> objects() const;
	// Open nodes only. Open fds of a deleted object keep working until closed.
	Status delete_object(std::string_view name);
	// Replaces an object of the new name unless noreplace.
	Status rename_object(std::string_view from, std::string_view to, bool noreplace = false);

	// Lets go of the node fd (e.g. before freeing the node).
	void close() { fd_.reset(); }

      private:
	UniqueFd fd_;
	std::string name_;
	std::shared_ptr<Transport> transport_;
};

class Device {
      public:
	static Result<Device> open(const std::string &path = default_device);
	// A device fd reached through another transport (a stand-in pool).
	Device(UniqueFd fd, std::shared_ptr<Transport> transport)
	    : fd_(std::move(fd)), transport_(std::move(transport))
	{}
	Result<PoolStatus> status() const;
	// The held stale pool: restore it on purpose, or throw it away.
	Result<AdoptReport> adopt();
	Status discard();
	// Lends wholly free memory blocks to the system, keeping keep_bytes of
	// the pool free and unlent (nullopt: the module's lend_keep_mb); the
	// bytes lent by this call. Root only.
	Result<uint64_t> lend(std::optional<uint64_t> keep_bytes);
	// Takes lent blocks back until bytes more are free (0: all); the bytes
	// taken back, or why a block could not be (with what came back before).
	Result<uint64_t> reclaim(uint64_t bytes);
	// Records the next kernel's pool size (same base); refused, naming the
	// smallest size that holds every node, when data would fall outside.
	Status resize_next(uint64_t bytes);
	Result<Node> create_node(std::string_view name);
	// write: make a sealed or restored node writable again (it must be
	// sealed again to be handed over).
	Result<Node> open_node(std::string_view name, bool write = false);
	Status free_node(std::string_view name);
	Result<std::vector<NodeInfo>> nodes() const;

      private:
	UniqueFd fd_;
	std::shared_ptr<Transport> transport_;
};

} // namespace pkram
