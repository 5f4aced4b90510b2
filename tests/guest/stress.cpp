// Concurrency stress for the real module, run inside the VM guest.
//
//   pkram_stress mix SECONDS THREADS SEED [FUSE_MOUNT]
//     THREADS threads for SECONDS: each creates, writes (pwrite and mmap),
//     reads back, seals and frees nodes of its own (data checked byte for
//     byte) and races the others on a few shared nodes (create, write, seal,
//     free, list); with FUSE_MOUNT (a pkramfs mount of all nodes) they also
//     make nodes and files through it. Errors the API documents for a race
//     (EEXIST, ENOENT, EBUSY, ENOSPC, EROFS, EPERM) are counted; any other
//     error or a data mismatch fails. Prints a JSON summary; exit 1 on failure.
//
//   pkram_stress writer NODE
//     Writes an open node forever through pwrite and a shared mapping, never
//     sealing it (for a kexec while writers are active). Prints "writing"
//     once the first pass is done.
//
//   pkram_stress committer PREFIX
//     Rewrites the superblock as fast as it can, forever: creates a node
//     PREFIX<n> with one page, seals it, frees the one before it (a seal and a
//     free each commit), so a kexec lands in a commit. Prints "committing"
//     after the first hundred.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pkram/client.hpp"

namespace {

using pkram::Device;
using pkram::Error;
using Clock = std::chrono::steady_clock;

constexpr int shared_names = 6;

bool race_errno(int e)
{
	return e == EEXIST || e == ENOENT || e == EBUSY || e == ENOSPC || e == EROFS || e == EPERM;
}

class Tally {
      public:
	void op(const std::string &name)
	{
		std::lock_guard lock(mu_);
		ops_[name]++;
	}
	// A failed call: fine when the race explains it, a failure otherwise.
	void error(const std::string &what, const Error &err)
	{
		std::lock_guard lock(mu_);
		if (race_errno(err.errnum))
			expected_[strerrorname(err.errnum)]++;
		else if (unexpected_.size() < 50)
			unexpected_.push_back(what + ": " + err.what());
		else
			dropped_++;
	}
	void mismatch(const std::string &what)
	{
		std::lock_guard lock(mu_);
		mismatches_.push_back(what);
	}
	bool failed() const { return !unexpected_.empty() || dropped_ || !mismatches_.empty(); }
	nlohmann::json json() const
	{
		return {{"ops", ops_},
			{"expected_errors", expected_},
			{"unexpected_errors", unexpected_},
			{"unexpected_dropped", dropped_},
			{"mismatches", mismatches_}};
	}

      private:
	static std::string strerrorname(int e)
	{
		switch (e) {
		case EEXIST:
			return "EEXIST";
		case ENOENT:
			return "ENOENT";
		case EBUSY:
			return "EBUSY";
		case ENOSPC:
			return "ENOSPC";
		case EROFS:
			return "EROFS";
		default:
			return "EPERM";
		}
	}
	std::mutex mu_;
	std::map<std::string, uint64_t> ops_;
	std::map<std::string, uint64_t> expected_;
	std::vector<std::string> unexpected_;
	std::vector<std::string> mismatches_;
	uint64_t dropped_ = 0;
};

std::string pattern(std::mt19937_64 &rng, size_t len)
{
	std::string s(len, '\0');
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = rng();
		std::memcpy(s.data() + i, &w, std::min<size_t>(8, len - i));
	}
	return s;
}

// One private node: written with pwrite and through a mapping, read back,
// maybe sealed and read again, freed. Nobody else touches it.
void private_cycle(Device &dev, Tally &t, std::mt19937_64 &rng, const std::string &name)
{
	std::string ctx = "private " + name;
	{
		auto node = dev.create_node(name);
		if (!node)
			return t.error(ctx + " create", node.error());
		t.op("create");
		auto obj = node->open_object("data", {.create = true});
		if (!obj)
			return t.error(ctx + " open object", obj.error());
		size_t off = rng() % 65536;
		std::string data = pattern(rng, 1 + rng() % (3 << 20));
		if (auto s = obj->pwrite_all(data.data(), data.size(), off); !s)
			return t.error(ctx + " pwrite", s.error());
		t.op("pwrite");
		// A second object filled through a shared mapping.
		auto mobj = node->open_object("mapped", {.create = true});
		if (!mobj)
			return t.error(ctx + " open mapped", mobj.error());
		size_t mlen = 4096 * (1 + rng() % 256);
		std::string mdata = pattern(rng, mlen);
		if (auto s = mobj->truncate(mlen); !s)
			return t.error(ctx + " truncate", s.error());
		void *p = mmap(nullptr, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, mobj->fd(), 0);
		if (p == MAP_FAILED)
			return t.error(ctx + " mmap", pkram::errno_error("mmap"));
		std::memcpy(p, mdata.data(), mlen);
		munmap(p, mlen);
		t.op("mmap_write");
		auto check = [&](const char *when) {
			std::string back(data.size(), '\0');
			auto n = obj->pread(back.data(), back.size(), off);
			if (!n)
				return t.error(ctx + " pread", n.error());
			if (*n != data.size() || back != data)
				t.mismatch(ctx + ": pwrite data differs " + when);
			std::string mback(mlen, '\0');
			auto m = mobj->pread(mback.data(), mlen, 0);
			if (!m)
				return t.error(ctx + " pread mapped", m.error());
			if (*m != mlen || mback != mdata)
				t.mismatch(ctx + ": mapped data differs " + when);
			t.op("read_check");
		};
		check("before seal");
		if (rng() % 2) {
			// Open fds do not block a seal; a writable mapping would, and
			// this one is gone.
			bool data_crc = rng() % 2;
			if (auto s = node->seal(data_crc); !s)
				return t.error(ctx + " seal", s.error());
			t.op("seal");
			check("after seal");
			auto v = node->verify();
			if (data_crc && !v)
				t.error(ctx + " verify", v.error());
			else if (data_crc && v->bad_extents)
				t.mismatch(ctx + ": verify found bad extents");
			else if (!data_crc && (v || v.error().errnum != ENODATA))
				t.mismatch(ctx +
					   ": verify of a node sealed without checksums did not say ENODATA");
			t.op("verify");
		}
	}
	if (auto s = dev.free_node(name); !s)
		return t.error(ctx + " free", s.error());
	t.op("free");
}

// The shared nodes: anything goes, every thread at once.
void shared_op(Device &dev, Tally &t, std::mt19937_64 &rng)
{
	std::string name = "shared" + std::to_string(rng() % shared_names);
	switch (rng() % 6) {
	case 0:
		if (auto n = dev.create_node(name); !n)
			t.error("shared create", n.error());
		t.op("shared_create");
		break;
	case 1: {
		auto n = dev.open_node(name);
		if (!n)
			return t.error("shared open", n.error());
		auto o = n->open_object("o" + std::to_string(rng() % 3), {.create = true});
		if (!o)
			return t.error("shared open object", o.error());
		std::string data = pattern(rng, 1 + rng() % 200000);
		// Sealed meanwhile: the node and its objects opened read-only, so
		// the write fails as on any read-only fd.
		if (auto s = o->pwrite_all(data.data(), data.size(), rng() % 100000);
		    !s && s.error().errnum != EBADF)
			t.error("shared pwrite", s.error());
		t.op("shared_write");
		break;
	}
	case 2: {
		auto n = dev.open_node(name);
		if (!n)
			return t.error("shared open for seal", n.error());
		if (auto s = n->seal(); !s)
			t.error("shared seal", s.error());
		t.op("shared_seal");
		break;
	}
	case 3:
		if (auto s = dev.free_node(name); !s)
			t.error("shared free", s.error());
		t.op("shared_free");
		break;
	case 4: {
		auto nodes = dev.nodes();
		if (!nodes)
			return t.error("list", nodes.error());
		auto st = dev.status();
		if (!st)
			return t.error("status", st.error());
		if (st->used_bytes > st->pool_bytes)
			t.mismatch("status: used " + std::to_string(st->used_bytes) + " > pool");
		t.op("list");
		break;
	}
	default: {
		auto n = dev.open_node(name, true);
		if (!n)
			return t.error("shared reopen for write", n.error());
		t.op("shared_reopen");
		break;
	}
	}
}

// A node made, written, read back and removed through pkramfs.
void fuse_cycle(const std::string &mount, Tally &t, std::mt19937_64 &rng, const std::string &name)
{
	namespace fs = std::filesystem;
	fs::path dir = fs::path(mount) / "nodes" / name;
	std::string ctx = "fuse " + name;
	if (mkdir(dir.c_str(), 0755))
		return t.error(ctx + " mkdir", pkram::errno_error("mkdir"));
	std::string data = pattern(rng, 1 + rng() % (1 << 20));
	fs::path file = dir / "f";
	{
		pkram::UniqueFd fd(::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644));
		if (fd.get() < 0)
			return t.error(ctx + " create", pkram::errno_error("open"));
		if (write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
			return t.error(ctx + " write", pkram::errno_error("write"));
	}
	{
		pkram::UniqueFd fd(::open(file.c_str(), O_RDONLY));
		std::string back(data.size() + 1, '\0');
		ssize_t n = fd.get() < 0 ? -1 : read(fd.get(), back.data(), back.size());
		if (n < 0)
			return t.error(ctx + " read", pkram::errno_error("read"));
		back.resize(static_cast<size_t>(n));
		if (back != data)
			t.mismatch(ctx + ": data read back through pkramfs differs");
	}
	if (unlink(file.c_str()))
		return t.error(ctx + " unlink", pkram::errno_error("unlink"));
	if (rmdir(dir.c_str()))
		return t.error(ctx + " rmdir", pkram::errno_error("rmdir"));
	t.op("fuse_cycle");
}

int mix(double seconds, int threads, uint64_t seed, const std::string &fuse_mount)
{
	Tally tally;
	auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
	std::vector<std::thread> pool;
	for (int i = 0; i < threads; i++)
		pool.emplace_back([&, i] {
			std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(i));
			auto dev = Device::open();
			if (!dev)
				return tally.error("open device", dev.error());
			for (uint64_t n = 0; Clock::now() < deadline; n++) {
				std::string own = "t" + std::to_string(i) + "-" + std::to_string(n);
				unsigned pick = rng() % 10;
				if (pick < 4)
					private_cycle(*dev, tally, rng, own);
				else if (pick < 6 && !fuse_mount.empty())
					fuse_cycle(fuse_mount, tally, rng, "f" + own);
				else
					shared_op(*dev, tally, rng);
			}
		});
	for (auto &th : pool)
		th.join();
	// Everything is closed now: nothing may refuse to go.
	auto dev = Device::open();
	if (!dev) {
		std::fprintf(stderr, "pkram_stress: %s\n", dev.error().what().c_str());
		return 1;
	}
	for (int s = 0; s < shared_names; s++)
		if (auto st = dev->free_node("shared" + std::to_string(s));
		    !st && st.error().errnum != ENOENT)
			tally.error("final free", st.error());
	auto left = dev->nodes();
	if (!left)
		tally.error("final list", left.error());
	else
		for (const auto &n : *left)
			if (n.name.starts_with("t") || n.name.starts_with("ft") ||
			    n.name.starts_with("shared"))
				tally.mismatch("node left behind: " + n.name);
	auto out = tally.json();
	out["seconds"] = seconds;
	out["threads"] = threads;
	out["seed"] = seed;
	out["fuse"] = !fuse_mount.empty();
	std::printf("%s\n", out.dump().c_str());
	return tally.failed() ? 1 : 0;
}

int writer(const std::string &name)
{
	auto dev = Device::open();
	if (!dev)
		return std::fprintf(stderr, "pkram_stress: %s\n", dev.error().what().c_str()), 1;
	auto node = dev->create_node(name);
	if (!node)
		return std::fprintf(stderr, "pkram_stress: %s\n", node.error().what().c_str()), 1;
	auto obj = node->open_object("pwrite", {.create = true});
	auto mobj = node->open_object("mapped", {.create = true});
	constexpr size_t chunk = 1 << 20, span = 16 << 20;
	if (!obj || !mobj || !mobj->truncate(span))
		return std::fprintf(stderr, "pkram_stress: cannot set up the writer\n"), 1;
	void *p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_SHARED, mobj->fd(), 0);
	if (p == MAP_FAILED)
		return std::perror("pkram_stress: mmap"), 1;
	std::mt19937_64 rng(42);
	std::string data = pattern(rng, chunk);
	for (uint64_t pass = 0;; pass++) {
		for (size_t off = 0; off < span; off += chunk) {
			data[pass % chunk]++;
			if (auto s = obj->pwrite_all(data.data(), chunk, off); !s)
				return std::fprintf(stderr, "pkram_stress: %s\n", s.error().what().c_str()),
				       1;
			std::memcpy(static_cast<char *>(p) + off, data.data(), chunk);
		}
		if (pass == 0) {
			std::printf("writing\n");
			std::fflush(stdout);
		}
	}
}

pkram::Status seal_one_page(Device &dev, const std::string &name, const std::string &page)
{
	auto node = dev.create_node(name);
	if (!node)
		return node.error();
	auto obj = node->open_object("page", {.create = true});
	if (!obj)
		return obj.error();
	if (auto s = obj->pwrite_all(page.data(), page.size(), 0); !s)
		return s;
	return node->seal();
}

int committer(const std::string &prefix)
{
	auto dev = Device::open();
	if (!dev)
		return std::fprintf(stderr, "pkram_stress: %s\n", dev.error().what().c_str()), 1;
	const std::string page(4096, 'c');
	for (uint64_t n = 0;; n++) {
		const std::string name = prefix + std::to_string(n);
		if (auto s = seal_one_page(*dev, name, page); !s)
			return std::fprintf(stderr, "pkram_stress: %s: %s\n", name.c_str(),
					    s.error().what().c_str()),
			       1;
		if (n)
			if (auto s = dev->free_node(prefix + std::to_string(n - 1)); !s)
				return std::fprintf(stderr, "pkram_stress: %s\n", s.error().what().c_str()),
				       1;
		if (n == 100) {
			std::printf("committing\n");
			std::fflush(stdout);
		}
	}
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	if (args.size() >= 4 && args[0] == "mix")
		return mix(std::stod(args[1]), std::stoi(args[2]), std::stoull(args[3]),
			   args.size() > 4 ? args[4] : "");
	if (args.size() == 2 && args[0] == "writer")
		return writer(args[1]);
	if (args.size() == 2 && args[0] == "committer")
		return committer(args[1]);
	std::fprintf(stderr, "usage: pkram_stress mix SECONDS THREADS SEED [FUSE_MOUNT] | writer NODE | "
			     "committer PREFIX\n");
	return 2;
}
