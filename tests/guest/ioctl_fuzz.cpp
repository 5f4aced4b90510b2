// A structure-aware fuzzer of /dev/pkram, run inside the VM guest for a fixed
// time (scenario fuzz_ioctl): random sequences of every ioctl on the device,
// node and object fds it holds (and on wrong fds), with struct sizes, flags,
// name pointers, lengths and offsets drawn from values that sit on and
// around every limit, mixed with read/write/lseek/mmap on object fds. The
// kernel is the oracle (the harness fails on any warning or oops); at the
// end every fd is closed, every node it made is freed, and the pool's
// accounting must be back where it started.
//
//   pkram_ioctl_fuzz SECONDS SEED
//
// Prints a JSON summary (calls per operation, successes, errnos).
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <linux/pkram.h>
#include <nlohmann/json.hpp>

#include "pkram/client.hpp"

namespace {

std::mt19937_64 rng;
std::map<std::string, std::map<std::string, uint64_t>> outcomes; // op -> result -> count
sigjmp_buf fault_jump;

void on_fault(int) { siglongjmp(fault_jump, 1); }

uint64_t pick(std::initializer_list<uint64_t> values) { return values.begin()[rng() % values.size()]; }

void record(const std::string &op, long rc)
{
	outcomes[op][rc >= 0 ? "ok" : strerrorname_np(errno) ? strerrorname_np(errno) : "?"]++;
}

// Names on and around the rules: valid, empty, too long, '/', "..", NUL.
std::string fuzz_name(bool object)
{
	static const char *valid[] = {"a", "b", "c", "dir/x", "dir/y"};
	static const char *fixed[] = {"", ".", "..", "a/../b", "/abs", "x\ny"};
	if (rng() % 2)
		return valid[rng() % std::size(valid)];
	switch (rng() % 6) {
	case 0:
		return std::string(object ? PKRAM_OBJ_NAME_MAX + rng() % 3 : PKRAM_NODE_NAME_MAX + rng() % 3,
				   'n');
	case 1: {
		std::string s(1 + rng() % 12, '\0');
		for (auto &c : s)
			c = static_cast<char>(rng() % 256);
		return s;
	}
	case 2:
		return std::string("a\0b", 3);
	default:
		return fixed[rng() % std::size(fixed)];
	}
}

// A user pointer: mostly a real buffer, sometimes NULL, unmapped or kernel.
uint64_t fuzz_pointer(const void *good, void *unmapped)
{
	switch (rng() % 10) {
	case 0:
		return 0;
	case 1:
		return reinterpret_cast<uint64_t>(unmapped);
	case 2:
		return 0xffff888000000000ULL;
	case 3:
		return reinterpret_cast<uint64_t>(good) + 1;
	default:
		return reinterpret_cast<uint64_t>(good);
	}
}

uint32_t fuzz_size(uint32_t real)
{
	if (rng() % 10 < 7)
		return real;
	return static_cast<uint32_t>(pick({0, 4, real - 4, real + 8, 4096, 4097, 0xffffffffULL}));
}

// Mostly 0 or the valid bits, sometimes anything.
uint32_t fuzz_flags(uint32_t valid)
{
	switch (rng() % 4) {
	case 0:
	case 1:
		return 0;
	case 2:
		return static_cast<uint32_t>(rng()) & valid;
	default:
		return static_cast<uint32_t>(rng());
	}
}

uint64_t fuzz_u64()
{
	return pick({0, 1, 4095, 4096, 4097, 1ULL << 21, (1ULL << 21) + 1, 1ULL << 44, (1ULL << 44) + 1,
		     ~0ULL, 1ULL << 63, rng() % (64 << 20)});
}

struct Fds {
	int dev = -1;
	std::vector<int> nodes;
	std::vector<int> objects;
	int any()
	{
		switch (rng() % 8) {
		case 0:
			return dev;
		case 1:
			return -1;
		case 2:
			return 0; // stdin: not ours
		case 3:
		case 4:
			return nodes.empty() ? dev : nodes[rng() % nodes.size()];
		default:
			return objects.empty() ? dev : objects[rng() % objects.size()];
		}
	}
	void keep(std::vector<int> &v, int fd)
	{
		if (fd < 0)
			return;
		if (v.size() >= 24) {
			size_t i = rng() % v.size();
			close(v[i]);
			v[i] = fd;
		} else {
			v.push_back(fd);
		}
	}
};

// The kind of fd a command is meant for: the device, a node or an object.
int natural_target(Fds &fds, unsigned long cmd)
{
	switch (cmd) {
	case PKRAM_IOC_POOL_STATUS:
	case PKRAM_IOC_NODE_CREATE:
	case PKRAM_IOC_NODE_OPEN:
	case PKRAM_IOC_NODE_FREE:
	case PKRAM_IOC_NODE_STAT:
	case PKRAM_IOC_POOL_ADOPT:
	case PKRAM_IOC_POOL_DISCARD:
		return fds.dev;
	case PKRAM_IOC_OBJ_INFO:
	case PKRAM_IOC_OBJ_TRUNCATE:
		return fds.objects.empty() ? fds.any() : fds.objects[rng() % fds.objects.size()];
	default:
		return fds.nodes.empty() ? fds.any() : fds.nodes[rng() % fds.nodes.size()];
	}
}

void fuzz_ioctl(Fds &fds, void *unmapped)
{
	alignas(8) unsigned char buf[8192];
	for (auto &c : buf)
		c = static_cast<unsigned char>(rng());
	if (rng() % 2)
		std::memset(buf, 0, sizeof(buf));
	std::string name = fuzz_name(rng() % 2);
	std::string name2 = fuzz_name(true);
	static const unsigned long cmds[] = {
		PKRAM_IOC_POOL_STATUS, PKRAM_IOC_NODE_CREATE,  PKRAM_IOC_NODE_OPEN,  PKRAM_IOC_NODE_FREE,
		PKRAM_IOC_NODE_STAT,   PKRAM_IOC_NODE_INFO,    PKRAM_IOC_NODE_SEAL,  PKRAM_IOC_OBJ_OPEN,
		PKRAM_IOC_OBJ_STAT,    PKRAM_IOC_NODE_VERIFY,  PKRAM_IOC_OBJ_DELETE, PKRAM_IOC_OBJ_RENAME,
		PKRAM_IOC_OBJ_INFO,    PKRAM_IOC_OBJ_TRUNCATE, PKRAM_IOC_POOL_ADOPT, PKRAM_IOC_POOL_DISCARD};
	unsigned long cmd = rng() % 20 ? cmds[rng() % std::size(cmds)] : _IO(PKRAM_IOC_MAGIC, rng() % 256);
	// A sealed node refuses most of what follows: seal seldom, go deeper.
	if (cmd == PKRAM_IOC_NODE_SEAL && rng() % 8)
		cmd = PKRAM_IOC_OBJ_OPEN;
	int fd;
	std::string op;
	switch (cmd) {
	case PKRAM_IOC_NODE_CREATE:
	case PKRAM_IOC_NODE_OPEN:
	case PKRAM_IOC_OBJ_OPEN: {
		auto *a = reinterpret_cast<pkram_node_open *>(buf); // same layout as pkram_obj_open
		a->size = fuzz_size(sizeof(*a));
		a->flags = fuzz_flags(7);
		a->name = fuzz_pointer(name.data(), unmapped);
		a->name_len =
			rng() % 8 ? static_cast<uint32_t>(name.size()) : static_cast<uint32_t>(fuzz_u64());
		if (a->size > sizeof(*a) && a->size <= sizeof(buf) && rng() % 2)
			std::memset(buf + sizeof(*a), 0, a->size - sizeof(*a));
		fd = rng() % 8 ? natural_target(fds, cmd) : fds.any();
		op = cmd == PKRAM_IOC_NODE_CREATE ? "node_create"
		     : cmd == PKRAM_IOC_NODE_OPEN ? "node_open"
						  : "obj_open";
		long rc = ioctl(fd, cmd,
				rng() % 16 ? reinterpret_cast<uint64_t>(buf) : fuzz_pointer(buf, unmapped));
		record(op, rc);
		if (rc >= 0) {
			int out = rc > 0 ? static_cast<int>(rc) : a->fd;
			if (out > 2 && fcntl(out, F_GETFD) >= 0)
				fds.keep(cmd == PKRAM_IOC_OBJ_OPEN ? fds.objects : fds.nodes, out);
		}
		return;
	}
	case PKRAM_IOC_NODE_FREE:
	case PKRAM_IOC_OBJ_DELETE: {
		auto *a = reinterpret_cast<pkram_node_free *>(buf);
		a->size = fuzz_size(sizeof(*a));
		a->flags = rng() % 4 ? 0 : static_cast<uint32_t>(rng());
		a->name = fuzz_pointer(name.data(), unmapped);
		a->name_len =
			rng() % 8 ? static_cast<uint32_t>(name.size()) : static_cast<uint32_t>(fuzz_u64());
		a->reserved = rng() % 8 ? 0 : 1;
		op = cmd == PKRAM_IOC_NODE_FREE ? "node_free" : "obj_delete";
		break;
	}
	case PKRAM_IOC_OBJ_RENAME: {
		auto *a = reinterpret_cast<pkram_obj_rename *>(buf);
		a->size = fuzz_size(sizeof(*a));
		a->flags = fuzz_flags(PKRAM_RENAME_NOREPLACE);
		a->old_name = fuzz_pointer(name.data(), unmapped);
		a->new_name = fuzz_pointer(name2.data(), unmapped);
		a->old_len = static_cast<uint32_t>(name.size());
		a->new_len =
			rng() % 8 ? static_cast<uint32_t>(name2.size()) : static_cast<uint32_t>(fuzz_u64());
		a->reserved = 0;
		a->pad = rng() % 8 ? 0 : 1;
		op = "obj_rename";
		break;
	}
	case PKRAM_IOC_OBJ_TRUNCATE: {
		auto *a = reinterpret_cast<pkram_obj_truncate *>(buf);
		a->size = fuzz_size(sizeof(*a));
		a->flags = rng() % 4 ? 0 : static_cast<uint32_t>(rng());
		a->length = fuzz_u64();
		op = "obj_truncate";
		break;
	}
	case PKRAM_IOC_OBJ_STAT: {
		auto *a = reinterpret_cast<pkram_obj_stat *>(buf);
		a->size = fuzz_size(sizeof(*a));
		a->name_buf_len = static_cast<uint32_t>(pick({0, 1, 16, 1024, 4096, ~0U}));
		a->cursor = rng() % 4 ? rng() % 8 : fuzz_u64();
		a->name = fuzz_pointer(buf + 4096, unmapped);
		op = "obj_stat";
		break;
	}
	default: {
		// Fixed-size structs (status, stat, info, seal, verify) and unknown commands.
		auto *size = reinterpret_cast<uint32_t *>(buf);
		*size = fuzz_size(
			static_cast<uint32_t>(pick({sizeof(pkram_pool_status), sizeof(pkram_node_stat),
						    sizeof(pkram_node_seal), sizeof(pkram_node_verify)})));
		if (cmd == PKRAM_IOC_NODE_SEAL)
			reinterpret_cast<pkram_node_seal *>(buf)->flags =
				rng() % 4 ? static_cast<uint32_t>(rng() % 2) : static_cast<uint32_t>(rng());
		if (cmd == PKRAM_IOC_NODE_STAT)
			reinterpret_cast<pkram_node_stat *>(buf)->index =
				static_cast<uint32_t>(rng() % 4 ? rng() % 8 : rng());
		op = "ioctl_" + std::to_string(_IOC_NR(cmd));
		break;
	}
	}
	fd = rng() % 4 ? natural_target(fds, cmd) : fds.any();
	record(op,
	       ioctl(fd, cmd, rng() % 16 ? reinterpret_cast<uint64_t>(buf) : fuzz_pointer(buf, unmapped)));
}

void fuzz_io(Fds &fds)
{
	if (fds.objects.empty())
		return;
	int fd = fds.objects[rng() % fds.objects.size()];
	static char data[1 << 16];
	size_t len = static_cast<size_t>(pick({0, 1, 4095, 4096, 4097, sizeof(data)}));
	off_t off = static_cast<off_t>(fuzz_u64() & 0x7fffffffffffffffULL);
	switch (rng() % 5) {
	case 0:
		record("pwrite", pwrite(fd, data, len, off % (64 << 20)));
		break;
	case 1:
		record("pread", pread(fd, data, len, off));
		break;
	case 2:
		record("lseek", lseek(fd, off, static_cast<int>(rng() % 5)));
		break;
	case 3:
		record("write", write(fd, data, len));
		break;
	default: {
		size_t maplen = static_cast<size_t>(pick({4096, 8192, 1 << 21}));
		int prot = rng() % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
		void *p = mmap(nullptr, maplen, prot, rng() % 4 ? MAP_SHARED : MAP_PRIVATE, fd,
			       static_cast<off_t>(pick({0, 4096, 1 << 21, 1ULL << 44})));
		record("mmap", p == MAP_FAILED ? -1 : 0);
		if (p == MAP_FAILED)
			return;
		// Touch a page: past the object's size this is SIGBUS, which is fine.
		volatile char *c = static_cast<char *>(p) + (rng() % (maplen / 4096)) * 4096;
		if (sigsetjmp(fault_jump, 1) == 0) {
			char v = *c;
			if (prot & PROT_WRITE)
				*c = static_cast<char>(v + 1);
			outcomes["mmap_touch"]["ok"]++;
		} else {
			outcomes["mmap_touch"]["SIGBUS"]++;
		}
		munmap(p, maplen);
	}
	}
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::fprintf(stderr, "usage: pkram_ioctl_fuzz SECONDS SEED\n");
		return 2;
	}
	double seconds = std::stod(argv[1]);
	rng.seed(std::stoull(argv[2]));
	struct sigaction sa {};
	sa.sa_handler = on_fault;
	sigaction(SIGBUS, &sa, nullptr);
	sigaction(SIGSEGV, &sa, nullptr);
	void *unmapped = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	auto dev = pkram::Device::open();
	if (!dev)
		return std::fprintf(stderr, "pkram_ioctl_fuzz: %s\n", dev.error().what().c_str()), 1;
	auto before = dev->nodes();
	if (!before)
		return std::fprintf(stderr, "pkram_ioctl_fuzz: %s\n", before.error().what().c_str()), 1;
	std::vector<std::string> kept;
	for (const auto &n : *before)
		kept.push_back(n.name);

	Fds fds;
	fds.dev = open("/dev/pkram", O_RDWR | O_CLOEXEC);
	uint64_t calls = 0;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
	while (std::chrono::steady_clock::now() < deadline) {
		for (int i = 0; i < 64; i++, calls++) {
			if (rng() % 3)
				fuzz_ioctl(fds, unmapped);
			else
				fuzz_io(fds);
			if (rng() % 200 == 0 && !fds.objects.empty()) {
				close(fds.objects.back());
				fds.objects.pop_back();
			}
		}
	}
	for (int fd : fds.objects)
		close(fd);
	for (int fd : fds.nodes)
		close(fd);
	close(fds.dev);

	// Everything the fuzzer made goes; what was there before stays.
	int failed = 0;
	auto after = dev->nodes();
	if (!after)
		return std::fprintf(stderr, "pkram_ioctl_fuzz: %s\n", after.error().what().c_str()), 1;
	uint64_t made = 0;
	for (const auto &n : *after) {
		if (std::find(kept.begin(), kept.end(), n.name) != kept.end())
			continue;
		made++;
		if (auto s = dev->free_node(n.name); !s) {
			std::fprintf(stderr, "pkram_ioctl_fuzz: cannot free '%s' with every fd closed: %s\n",
				     n.name.c_str(), s.error().what().c_str());
			failed = 1;
		}
	}
	nlohmann::json out = {{"seconds", seconds},
			      {"seed", std::stoull(argv[2])},
			      {"calls", calls},
			      {"nodes_left_to_free", made},
			      {"outcomes", outcomes}};
	std::printf("%s\n", out.dump().c_str());
	return failed;
}
