#include "pkram/client.hpp"
#include "pkram/setup.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <linux/pkram.h>

namespace pkram {

const size_t object_name_max = PKRAM_OBJ_NAME_MAX;

std::shared_ptr<Transport> kernel_transport()
{
	struct Kernel : Transport {
		int ioctl(int fd, unsigned long cmd, void *arg) override { return ::ioctl(fd, cmd, arg); }
	};
	static const std::shared_ptr<Transport> kernel = std::make_shared<Kernel>();
	return kernel;
}

namespace {

template <typename T> T zeroed_arg()
{
	T arg{};
	arg.size = sizeof(T);
	return arg;
}

uint64_t ptr(const void *p) { return reinterpret_cast<uintptr_t>(p); }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The errno of a failed call, with what the name rules are when it was the name.
constexpr const char *held_hint =
	": a stale pool is held (pkram-cli status says why); pkram-cli adopt restores it, "
	"pkram-cli discard frees it";

Error name_error(std::string what, bool node_name)
{
	int err = errno;
	if (err == ESTALE)
		what += held_hint;
	if (err == EINVAL || err == ENAMETOOLONG)
		what += node_name ? " (node names are 1 to " + std::to_string(PKRAM_NODE_NAME_MAX) +
					    " bytes, no '/' or NUL, not '.' or '..')"
				  : " (object names are relative paths of at most " +
					    std::to_string(PKRAM_OBJ_NAME_MAX) +
					    " bytes, without empty, '.' or '..' parts)";
	return make_error(err, what);
}

} // namespace

std::string_view to_string(NodeState state)
{
	switch (state) {
	case NodeState::open:
		return "open";
	case NodeState::sealed:
		return "sealed";
	case NodeState::restored:
		return "restored";
	}
	return "unknown";
}

Result<size_t> Object::pread(void *buf, size_t len, uint64_t off) const
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = ::pread(fd_.get(), static_cast<char *>(buf) + done, len - done,
				    static_cast<off_t>(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno_error("read object data");
		if (n == 0)
			break;
		done += static_cast<size_t>(n);
	}
	return done;
}

Result<std::string> Object::read_all() const
{
	// Reads from one page, doubling up to 1 MiB: metadata streams are a few
	// hundred bytes, and each read zero-fills what it asks for first (a
	// 1 MiB first read cost a megabyte of memset per entry of a node).
	std::string out;
	size_t chunk = pool_page_size;
	for (;;) {
		size_t old = out.size();
		out.resize(old + chunk);
		auto n = pread(out.data() + old, chunk, old);
		if (!n)
			return n.error();
		out.resize(old + *n);
		if (*n < chunk)
			return out;
		chunk = std::min<size_t>(chunk * 2, 1 << 20);
	}
}

Status Object::pwrite_all(const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = ::pwrite(fd_.get(), static_cast<const char *>(buf) + done, len - done,
				     static_cast<off_t>(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno_error("write object data");
		done += static_cast<size_t>(n);
	}
	return {};
}

Status Object::truncate(uint64_t size)
{
	auto arg = zeroed_arg<pkram_obj_truncate>();
	arg.length = size;
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_OBJ_TRUNCATE, &arg))
		return errno_error("set object size to " + std::to_string(size));
	return {};
}

static ObjectInfo to_object_info(const pkram_obj_stat &st, const char *name)
{
	return ObjectInfo{st.id, name, st.page_size, st.byte_size, st.data_bytes, st.nr_extents, st.nr_huge};
}

Result<ObjectInfo> Object::info() const
{
	std::string name(PKRAM_OBJ_NAME_MAX + 1, '\0');
	auto arg = zeroed_arg<pkram_obj_stat>();
	arg.name = ptr(name.data());
	arg.name_buf_len = static_cast<uint32_t>(name.size());
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_OBJ_INFO, &arg))
		return errno_error("object info");
	return to_object_info(arg, name.c_str());
}

Result<Object> Node::open_object(std::string_view name, ObjectOpen how) const
{
	auto arg = zeroed_arg<pkram_obj_open>();
	arg.name = ptr(name.data());
	arg.name_len = static_cast<uint32_t>(name.size());
	arg.flags = (how.create ? PKRAM_OBJ_CREATE : 0) | (how.exclusive ? PKRAM_OBJ_EXCL : 0) |
		    (how.stream == Stream::bytes ? PKRAM_OBJ_BYTES : 0);
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_OBJ_OPEN, &arg))
		return name_error((how.create ? "create object " : "open object ") + quoted(name) +
					  " in node " + quoted(name_),
				  false);
	return Object(UniqueFd(arg.fd), transport_);
}

Status Node::seal(bool data_crc)
{
	auto arg = zeroed_arg<pkram_node_seal>();
	arg.flags = data_crc ? PKRAM_SEAL_DATA_CRC : 0;
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_NODE_SEAL, &arg)) {
		int err = errno;
		if (err == EBUSY)
			return make_error(err, "seal node " + quoted(name_) +
						       ": an object is mapped writable; unmap it first");
		return make_error(err, "seal node " + quoted(name_));
	}
	return {};
}

Result<VerifyReport> Node::verify() const
{
	auto arg = zeroed_arg<pkram_node_verify>();
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_NODE_VERIFY, &arg)) {
		int err = errno;
		if (err == ENODATA)
			return make_error(
				err, "verify node " + quoted(name_) +
					     ": it was not sealed with data checksums (seal --checksum)");
		if (err == EBADMSG)
			return make_error(err, "verify node " + quoted(name_) +
						       ": its metadata is damaged (see the kernel log)");
		return make_error(err, "verify node " + quoted(name_));
	}
	return VerifyReport{arg.checked_extents, arg.checked_bytes, arg.bad_extents, arg.bad_objects};
}

static NodeInfo to_node_info(const pkram_node_stat &st)
{
	return NodeInfo{st.name,
			static_cast<NodeState>(st.state),
			st.nr_objects,
			st.data_bytes,
			st.meta_bytes,
			st.open_fds,
			(st.flags & PKRAM_NODE_HAS_DATA_CRC) != 0};
}

Result<NodeInfo> Node::info() const
{
	auto arg = zeroed_arg<pkram_node_stat>();
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_NODE_INFO, &arg))
		return errno_error("node info of " + quoted(name_));
	return to_node_info(arg);
}

Result<std::vector<ObjectInfo>> Node::objects() const
{
	std::vector<ObjectInfo> out;
	std::string name(PKRAM_OBJ_NAME_MAX + 1, '\0');
	for (uint64_t cursor = 0;;) {
		auto arg = zeroed_arg<pkram_obj_stat>();
		arg.cursor = cursor;
		arg.name = ptr(name.data());
		arg.name_buf_len = static_cast<uint32_t>(name.size());
		if (transport_->ioctl(fd_.get(), PKRAM_IOC_OBJ_STAT, &arg)) {
			if (errno == ENOENT)
				return out;
			return errno_error("list objects of node " + quoted(name_));
		}
		out.push_back(to_object_info(arg, name.c_str()));
		cursor = arg.id + 1;
	}
}

Status Node::delete_object(std::string_view name)
{
	auto arg = zeroed_arg<pkram_obj_delete>();
	arg.name = ptr(name.data());
	arg.name_len = static_cast<uint32_t>(name.size());
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_OBJ_DELETE, &arg))
		return name_error("delete object " + quoted(name) + " of node " + quoted(name_), false);
	return {};
}

Status Node::rename_object(std::string_view from, std::string_view to, bool noreplace)
{
	auto arg = zeroed_arg<pkram_obj_rename>();
	arg.flags = noreplace ? PKRAM_RENAME_NOREPLACE : 0;
	arg.old_name = ptr(from.data());
	arg.old_len = static_cast<uint32_t>(from.size());
	arg.new_name = ptr(to.data());
	arg.new_len = static_cast<uint32_t>(to.size());
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_OBJ_RENAME, &arg))
		return name_error("rename object " + quoted(from) + " to " + quoted(to) + " in node " +
					  quoted(name_),
				  false);
	return {};
}

Result<Device> Device::open(const std::string &path)
{
	int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		std::string hint = err == ENOENT   ? " (is the pkram module loaded?)"
				   : err == EACCES ? " (root, or a group granted by udev, is needed)"
						   : "";
		return make_error(err, "open " + path + hint);
	}
	return Device(UniqueFd(fd), kernel_transport());
}

Result<PoolStatus> Device::status() const
{
	auto arg = zeroed_arg<pkram_pool_status>();
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_POOL_STATUS, &arg))
		return errno_error("pool status");
	return PoolStatus{arg.abi_version,    arg.format_version,       arg.nr_nodes,
			  arg.pool_base,      arg.pool_bytes,           arg.used_bytes,
			  arg.free_bytes,     arg.generation,           arg.restored_nodes,
			  arg.rejected_nodes, arg.stale_discarded != 0, arg.stale_held != 0,
			  -arg.stale_error,   arg.lent_bytes,           arg.lend_block_bytes,
			  arg.next_pool_bytes};
}

// Why lending or taking back failed, in the module's words (pkram.h).
static Error lend_error(const std::string &what, int err)
{
	switch (err) {
	case EOPNOTSUPP:
		return make_error(err, what + ": this kernel or pool cannot lend (no memory hot-remove, "
					      "or a pool not aligned to 128 MiB; see the kernel log)");
	case ESTALE:
		return make_error(err, what + ": a stale pool is held (adopt or discard it first)");
	case EBUSY:
		return make_error(err, what + ": the kernel could not empty a lent block in time; it stays "
					      "lent (the kernel log names it)");
	default:
		return make_error(err, what);
	}
}

Result<uint64_t> Device::lend(std::optional<uint64_t> keep_bytes)
{
	auto arg = zeroed_arg<pkram_pool_lend>();
	arg.keep_bytes = keep_bytes ? *keep_bytes : PKRAM_LEND_KEEP_DEFAULT;
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_POOL_LEND, &arg))
		return lend_error("lend free pool memory", errno);
	return arg.lent_bytes;
}

Status Device::resize_next(uint64_t bytes)
{
	auto arg = zeroed_arg<pkram_pool_resize>();
	arg.next_bytes = bytes;
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_POOL_RESIZE, &arg)) {
		int err = errno;
		std::string what = "resize the pool to " + size_arg(bytes) + " for the next kernel";
		if (err == ERANGE)
			return make_error(
				err, what + ": nodes lie up to " + size_arg(arg.min_bytes) +
					     " from the pool's base, and data never moves (free nodes, or "
					     "ask for at least " +
					     size_arg(arg.min_bytes) + ")");
		if (err == EINVAL)
			return make_error(err, what + ": the size must be a nonzero multiple of 2 MiB");
		return lend_error(what, err);
	}
	return {};
}

Result<uint64_t> Device::reclaim(uint64_t bytes)
{
	auto arg = zeroed_arg<pkram_pool_reclaim>();
	arg.bytes = bytes;
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_POOL_RECLAIM, &arg)) {
		int err = errno;
		return lend_error("take lent memory back (" + std::to_string(arg.reclaimed_bytes >> 20) +
					  " MiB came back)",
				  err);
	}
	return arg.reclaimed_bytes;
}

std::string stale_reason(int err)
{
	switch (err) {
	case ESTALE:
		return "no handover token, or not the one of the kernel that wrote it";
	case EBADMSG:
		return "its superblock is damaged (both copies)";
	case EPROTO:
		return "it was written in a format this module does not know";
	case EINVAL:
		return "it was written for a pool of another size (check pkram.pool=)";
	default:
		return std::strerror(err);
	}
}

Result<AdoptReport> Device::adopt()
{
	auto arg = zeroed_arg<pkram_pool_adopt>();
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_POOL_ADOPT, &arg)) {
		int err = errno;
		if (err == ENOENT)
			return make_error(err, "adopt: no stale pool is held");
		return make_error(err, "adopt the stale pool: " + stale_reason(err) +
					       (err == ESTALE ? "" : "; only pkram-cli discard can free it"));
	}
	return AdoptReport{arg.restored_nodes, arg.rejected_nodes, arg.verified_nodes};
}

Status Device::discard()
{
	auto arg = zeroed_arg<pkram_pool_discard>();
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_POOL_DISCARD, &arg))
		return errno == ENOENT ? make_error(ENOENT, "discard: no stale pool is held")
				       : errno_error("discard the stale pool");
	return {};
}

Result<Node> Device::create_node(std::string_view name)
{
	auto arg = zeroed_arg<pkram_node_open>();
	arg.name = ptr(name.data());
	arg.name_len = static_cast<uint32_t>(name.size());
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_NODE_CREATE, &arg))
		return name_error("create node " + quoted(name), true);
	return Node(UniqueFd(arg.fd), std::string(name), transport_);
}

Result<Node> Device::open_node(std::string_view name, bool write)
{
	auto arg = zeroed_arg<pkram_node_open>();
	arg.name = ptr(name.data());
	arg.name_len = static_cast<uint32_t>(name.size());
	arg.flags = write ? PKRAM_NODE_OPEN_WRITE : 0;
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_NODE_OPEN, &arg))
		return name_error("open node " + quoted(name), true);
	return Node(UniqueFd(arg.fd), std::string(name), transport_);
}

Status Device::free_node(std::string_view name)
{
	auto arg = zeroed_arg<pkram_node_free>();
	arg.name = ptr(name.data());
	arg.name_len = static_cast<uint32_t>(name.size());
	if (transport_->ioctl(fd_.get(), PKRAM_IOC_NODE_FREE, &arg)) {
		int err = errno;
		if (err == EBUSY)
			return make_error(err,
					  "free node " + quoted(name) +
						  ": it is in use (open fds or mappings); close them first");
		return make_error(err, "free node " + quoted(name));
	}
	return {};
}

Result<std::vector<NodeInfo>> Device::nodes() const
{
	std::vector<NodeInfo> out;
	for (uint32_t i = 0;; i++) {
		auto arg = zeroed_arg<pkram_node_stat>();
		arg.index = i;
		if (transport_->ioctl(fd_.get(), PKRAM_IOC_NODE_STAT, &arg)) {
			if (errno == ENOENT)
				return out;
			return errno_error("list nodes");
		}
		out.push_back(to_node_info(arg));
	}
}

} // namespace pkram
