// Timing probes for the benchmark (scenario bench), run inside the VM guest.
// Each prints one JSON object; every figure the report shows is a ratio to
// the memcpy bandwidth measured in the same guest run.
//
//   pkram_bench memcpy MIB            memcpy bandwidth over MIB-sized buffers
//   pkram_bench fill NODE MIB LAYOUT  new node of MIB MiB (0: an empty node),
//                                     LAYOUT contiguous or fragmented (every
//                                     other 4 KiB page of an object, so every
//                                     extent is one page); then the seal, timed
//                                     (best of 3: reopened for writing between)
//   pkram_bench ingest HOW MIB [DIR]  write() or mmap MIB MiB into a new
//                                     object; for write, pread it back in
//                                     turns with the same bytes in a tmpfs
//                                     file in DIR (/tmp), best of 3 each
//   pkram_bench objects NODE COUNT    new node of COUNT empty objects, sealed
//   pkram_bench tmpfs DIR MIB         the kernel copy ceiling on tmpfs: pwrite
//                                     of 1 MiB pieces into a new file, pread
//                                     back (best of 3), and mmap fault-in of a
//                                     new file
//   pkram_bench read NODE             read every object of a node (readable,
//                                     and a checksum to compare)
//   pkram_bench map-hash HOW SOURCE   time to data, as a user of each side
//                                     gets it: map SOURCE read-only in place
//                                     (HOW pkram: NODE/OBJECT through the
//                                     module; file: a file, e.g. on DAX) and
//                                     checksum it: open+mmap, first byte, the
//                                     rest, separately
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pkram/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t MiB = 1 << 20;

double seconds_since(Clock::time_point t0)
{
	return std::chrono::duration<double>(Clock::now() - t0).count();
}

int fail(const pkram::Error &e)
{
	std::fprintf(stderr, "pkram_bench: %s\n", e.what().c_str());
	return 1;
}

// Repeatable work is timed three times and the quickest kept, as for the
// memcpy unit: each ratio then compares best with best.
constexpr int kTries = 3;

template <typename Fn> pkram::Result<double> best_of(Fn &&fn)
{
	double best = 1e9;
	for (int i = 0; i < kTries; i++) {
		auto t0 = Clock::now();
		if (auto s = fn(); !s)
			return s.error();
		best = std::min(best, seconds_since(t0));
	}
	return best;
}

void fill_pattern(char *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w = (seed + i) * 0x9E3779B97F4A7C15ull;
		std::memcpy(p + i, &w, 8);
	}
}

int bench_memcpy(size_t mib)
{
	std::vector<char> a(mib * MiB), b(mib * MiB);
	fill_pattern(a.data(), a.size(), 1);
	std::memcpy(b.data(), a.data(), a.size()); // fault both in
	double best = 1e9;
	for (int i = 0; i < kTries; i++) {
		auto t0 = Clock::now();
		std::memcpy(b.data(), a.data(), a.size());
		best = std::min(best, seconds_since(t0));
	}
	std::printf("%s\n", nlohmann::json{{"probe", "memcpy"},
					   {"bytes", a.size()},
					   {"seconds", best},
					   {"bytes_per_second", static_cast<double>(a.size()) / best}}
				    .dump()
				    .c_str());
	return 0;
}

// The device and a new node of it, for a probe that fills and seals one.
struct NewNode {
	pkram::Device dev;
	pkram::Node node;
};

pkram::Result<NewNode> new_node(const std::string &name)
{
	auto dev = pkram::Device::open();
	if (!dev)
		return dev.error();
	auto node = dev->create_node(name);
	if (!node)
		return node.error();
	return NewNode{std::move(*dev), std::move(*node)};
}

int bench_fill(const std::string &name, size_t mib, const std::string &layout)
{
	auto created = new_node(name);
	if (!created)
		return fail(created.error());
	auto &[dev, node] = *created;
	std::vector<char> chunk(MiB);
	fill_pattern(chunk.data(), chunk.size(), mib);
	auto t0 = Clock::now();
	if (layout == "contiguous") {
		auto obj = node.open_object("data", {.create = true});
		if (!obj)
			return fail(obj.error());
		for (size_t off = 0; off < mib * MiB; off += MiB)
			if (auto s = obj->pwrite_all(chunk.data(), MiB, off); !s)
				return fail(s.error());
	} else {
		// Every other page of the object: each extent is one 4 KiB page.
		auto obj = node.open_object("sparse", {.create = true});
		if (!obj)
			return fail(obj.error());
		for (size_t off = 0; off < mib * MiB; off += 4096)
			if (auto s = obj->pwrite_all(chunk.data() + off % MiB, 4096, 2 * off); !s)
				return fail(s.error());
	}
	double write_s = seconds_since(t0);
	auto objects = node.objects();
	uint64_t extents = 0;
	if (objects)
		for (const auto &o : *objects)
			extents += o.nr_extents;
	// Sealed three times (reopened for writing in between, which drops
	// the metadata), the quickest kept.
	double seal_s = 1e9;
	for (int i = 0; i < kTries; i++) {
		if (i) {
			auto reopened = dev.open_node(name, true);
			if (!reopened)
				return fail(reopened.error());
			node = std::move(*reopened);
		}
		t0 = Clock::now();
		if (auto s = node.seal(); !s)
			return fail(s.error());
		seal_s = std::min(seal_s, seconds_since(t0));
	}
	auto info = node.info();
	std::printf("%s\n", nlohmann::json{{"probe", "fill"},
					   {"node", name},
					   {"layout", layout},
					   {"bytes", mib * MiB},
					   {"extents", extents},
					   {"meta_bytes", info ? info->meta_bytes : 0},
					   {"write_seconds", write_s},
					   {"seal_seconds", seal_s}}
				    .dump()
				    .c_str());
	return 0;
}

// A node of count empty objects, sealed: what a restore costs per object.
int bench_objects(const std::string &name, size_t count)
{
	auto created = new_node(name);
	if (!created)
		return fail(created.error());
	auto &[dev, node] = *created;
	auto t0 = Clock::now();
	char obj_name[32];
	for (size_t i = 0; i < count; i++) {
		std::snprintf(obj_name, sizeof(obj_name), "o%08zu", i);
		if (auto obj = node.open_object(obj_name, {.create = true, .exclusive = true}); !obj)
			return fail(obj.error());
	}
	double create_s = seconds_since(t0);
	t0 = Clock::now();
	if (auto s = node.seal(); !s)
		return fail(s.error());
	double seal_s = seconds_since(t0);
	auto info = node.info();
	std::printf("%s\n", nlohmann::json{{"probe", "objects"},
					   {"node", name},
					   {"objects", count},
					   {"meta_bytes", info ? info->meta_bytes : 0},
					   {"create_seconds", create_s},
					   {"seal_seconds", seal_s}}
				    .dump()
				    .c_str());
	return 0;
}

struct Ingest {
	double seconds = 0, read_seconds = 0, peer_read_seconds = 0;
};

// Reads a file of mib MiB in 1 MiB preads.
pkram::Status read_all(int fd, std::vector<char> &chunk, size_t mib)
{
	for (size_t off = 0; off < mib * MiB; off += MiB)
		if (::pread(fd, chunk.data(), MiB, static_cast<off_t>(off)) != static_cast<ssize_t>(MiB))
			return pkram::errno_error("pread");
	return {};
}

// Seconds to put mib MiB into a new object of node through write() or mmap.
// For write, the object is then read back with pread, in turns with the same
// bytes in a tmpfs file under peer_dir (best of three each): the read ratio
// compares two reads of one moment, not of two points of the run.
pkram::Result<Ingest> timed_ingest(pkram::Node &node, const std::string &how, size_t mib,
				   const std::string &peer_dir)
{
	Ingest r;
	auto obj = node.open_object("data", {.create = true});
	if (!obj)
		return obj.error();
	std::vector<char> chunk(MiB);
	fill_pattern(chunk.data(), chunk.size(), 7);
	auto t0 = Clock::now();
	if (how == "write") {
		for (size_t off = 0; off < mib * MiB; off += MiB)
			if (auto s = obj->pwrite_all(chunk.data(), MiB, off); !s)
				return s.error();
		r.seconds = seconds_since(t0);
		std::string path = peer_dir + "/pkram-bench-peer";
		::unlink(path.c_str());
		pkram::UniqueFd peer(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
		if (peer.get() < 0)
			return pkram::errno_error("open " + path);
		for (size_t off = 0; off < mib * MiB; off += MiB)
			if (::pwrite(peer.get(), chunk.data(), MiB, static_cast<off_t>(off)) !=
			    static_cast<ssize_t>(MiB))
				return pkram::errno_error("pwrite " + path);
		r.read_seconds = r.peer_read_seconds = 1e9;
		for (int i = 0; i < kTries; i++) {
			t0 = Clock::now();
			if (auto s = read_all(obj->fd(), chunk, mib); !s)
				return s.error();
			r.read_seconds = std::min(r.read_seconds, seconds_since(t0));
			t0 = Clock::now();
			if (auto s = read_all(peer.get(), chunk, mib); !s)
				return s.error();
			r.peer_read_seconds = std::min(r.peer_read_seconds, seconds_since(t0));
		}
		::unlink(path.c_str());
		return r;
	} else {
		if (auto s = obj->truncate(mib * MiB); !s)
			return s.error();
		void *p = mmap(nullptr, mib * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, obj->fd(), 0);
		if (p == MAP_FAILED)
			return pkram::errno_error("mmap");
		for (size_t off = 0; off < mib * MiB; off += MiB)
			std::memcpy(static_cast<char *>(p) + off, chunk.data(), MiB);
		munmap(p, mib * MiB);
	}
	r.seconds = seconds_since(t0);
	return r;
}

int bench_ingest(const std::string &how, size_t mib, const std::string &peer_dir)
{
	auto dev = pkram::Device::open();
	if (!dev)
		return fail(dev.error());
	std::string name = "ingest-" + how;
	pkram::Result<Ingest> seconds = Ingest{};
	{
		auto node = dev->create_node(name);
		if (!node)
			return fail(node.error());
		seconds = timed_ingest(*node, how, mib, peer_dir);
	} // the node's fds are closed here, so it can be freed
	if (auto s = dev->free_node(name); !s)
		return fail(s.error());
	if (!seconds)
		return fail(seconds.error());
	std::printf("%s\n", nlohmann::json{{"probe", "ingest"},
					   {"how", how},
					   {"bytes", mib * MiB},
					   {"seconds", seconds->seconds},
					   {"read_seconds", seconds->read_seconds},
					   {"peer_read_seconds", seconds->peer_read_seconds}}
				    .dump()
				    .c_str());
	return 0;
}

// The same work on tmpfs: what the kernel's own page cache path costs.
int bench_tmpfs(const std::string &dir, size_t mib)
{
	std::vector<char> chunk(MiB);
	fill_pattern(chunk.data(), chunk.size(), 7);
	std::string path = dir + "/pkram-bench-tmpfs";
	::unlink(path.c_str());
	int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return fail(pkram::errno_error("open " + path));
	auto t0 = Clock::now();
	for (size_t off = 0; off < mib * MiB; off += MiB)
		if (::pwrite(fd, chunk.data(), MiB, static_cast<off_t>(off)) != static_cast<ssize_t>(MiB))
			return fail(pkram::errno_error("pwrite"));
	double write_s = seconds_since(t0);
	auto read_s = best_of([&]() -> pkram::Status {
		for (size_t off = 0; off < mib * MiB; off += MiB)
			if (::pread(fd, chunk.data(), MiB, static_cast<off_t>(off)) !=
			    static_cast<ssize_t>(MiB))
				return pkram::errno_error("pread");
		return {};
	});
	if (!read_s)
		return fail(read_s.error());
	::close(fd);
	::unlink(path.c_str());
	fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(mib * MiB)) != 0)
		return fail(pkram::errno_error("ftruncate"));
	t0 = Clock::now();
	void *p = mmap(nullptr, mib * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail(pkram::errno_error("mmap"));
	for (size_t off = 0; off < mib * MiB; off += MiB)
		std::memcpy(static_cast<char *>(p) + off, chunk.data(), MiB);
	munmap(p, mib * MiB);
	double mmap_s = seconds_since(t0);
	::close(fd);
	::unlink(path.c_str());
	std::printf("%s\n", nlohmann::json{{"probe", "tmpfs"},
					   {"bytes", mib * MiB},
					   {"pwrite_seconds", write_s},
					   {"pread_seconds", *read_s},
					   {"mmap_seconds", mmap_s}}
				    .dump()
				    .c_str());
	return 0;
}

int bench_read(const std::string &name)
{
	auto dev = pkram::Device::open();
	if (!dev)
		return fail(dev.error());
	auto t0 = Clock::now();
	auto node = dev->open_node(name);
	if (!node)
		return fail(node.error());
	auto objects = node->objects();
	if (!objects)
		return fail(objects.error());
	std::vector<char> buf(4 * MiB);
	uint64_t sum = 0, bytes = 0;
	for (const auto &o : *objects) {
		auto obj = node->open_object(o.name);
		if (!obj)
			return fail(obj.error());
		for (uint64_t off = 0; off < o.page_size; off += buf.size()) {
			auto n = obj->pread(buf.data(), buf.size(), off);
			if (!n)
				return fail(n.error());
			for (size_t i = 0; i + 8 <= *n; i += 8) {
				uint64_t w;
				std::memcpy(&w, buf.data() + i, 8);
				sum = sum * 31 + w;
			}
			bytes += *n;
		}
	}
	std::printf("%s\n", nlohmann::json{{"probe", "read"},
					   {"node", name},
					   {"bytes", bytes},
					   {"seconds", seconds_since(t0)},
					   {"checksum", sum}}
				    .dump()
				    .c_str());
	return 0;
}

// The same checksum bench_read computes, over a mapping.
uint64_t checksum(const char *p, size_t n, uint64_t sum)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t w;
		std::memcpy(&w, p + i, 8);
		sum = sum * 31 + w;
	}
	return sum;
}

int bench_map_hash(const std::string &how, const std::string &source)
{
	auto t0 = Clock::now();
	std::optional<pkram::Device> dev;
	std::optional<pkram::Node> node;
	std::optional<pkram::Object> obj;
	int fd = -1;
	size_t bytes = 0;
	if (how == "pkram") {
		auto slash = source.find('/');
		if (slash == std::string::npos)
			return fail(pkram::make_error(EINVAL, "pkram source is NODE/OBJECT: " + source));
		auto d = pkram::Device::open();
		if (!d)
			return fail(d.error());
		dev.emplace(std::move(*d));
		auto n = dev->open_node(source.substr(0, slash));
		if (!n)
			return fail(n.error());
		node.emplace(std::move(*n));
		auto o = node->open_object(source.substr(slash + 1));
		if (!o)
			return fail(o.error());
		obj.emplace(std::move(*o));
		auto info = obj->info();
		if (!info)
			return fail(info.error());
		fd = obj->fd();
		bytes = info->page_size;
	} else if (how == "file") {
		fd = open(source.c_str(), O_RDONLY);
		if (fd < 0)
			return fail(pkram::make_error(errno, "open " + source));
		bytes = static_cast<size_t>(lseek(fd, 0, SEEK_END));
	} else {
		return fail(pkram::make_error(EINVAL, "HOW is pkram or file: " + how));
	}
	void *map = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return fail(pkram::make_error(errno, "mmap " + source));
	double open_s = seconds_since(t0);
	auto t1 = Clock::now();
	const char *p = static_cast<const char *>(map);
	volatile char first = p[0];
	(void)first;
	double first_s = seconds_since(t1);
	auto t2 = Clock::now();
	uint64_t sum = checksum(p, bytes, 0);
	double consume_s = seconds_since(t2);
	munmap(map, bytes);
	if (how == "file")
		close(fd);
	std::printf("%s\n", nlohmann::json{{"probe", "map_hash"},
					   {"how", how},
					   {"bytes", bytes},
					   {"open_seconds", open_s},
					   {"first_byte_seconds", first_s},
					   {"consume_seconds", consume_s},
					   {"checksum", sum}}
				    .dump()
				    .c_str());
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> a(argv + 1, argv + argc);
	if (a.size() == 2 && a[0] == "memcpy")
		return bench_memcpy(std::stoul(a[1]));
	if (a.size() == 4 && a[0] == "fill")
		return bench_fill(a[1], std::stoul(a[2]), a[3]);
	if (a.size() == 3 && a[0] == "objects")
		return bench_objects(a[1], std::stoul(a[2]));
	if ((a.size() == 3 || a.size() == 4) && a[0] == "ingest")
		return bench_ingest(a[1], std::stoul(a[2]), a.size() == 4 ? a[3] : "/tmp");
	if (a.size() == 2 && a[0] == "read")
		return bench_read(a[1]);
	if (a.size() == 3 && a[0] == "tmpfs")
		return bench_tmpfs(a[1], std::stoul(a[2]));
	if (a.size() == 3 && a[0] == "map-hash")
		return bench_map_hash(a[1], a[2]);
	std::fprintf(stderr,
		     "usage: pkram_bench memcpy MIB | fill NODE MIB contiguous|fragmented | "
		     "ingest write|mmap MIB [PEER_DIR] | objects NODE COUNT | tmpfs DIR MIB | read NODE | "
		     "map-hash pkram|file NODE/OBJECT|FILE\n");
	return 2;
}
