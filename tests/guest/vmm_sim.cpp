// A stand-in for a VMM keeping guest memory in pkram across kexec: the
// "guest RAM" is an object mapped MAP_SHARED, written and checked through the
// mapping. usage:
//   vmm_sim create NODE MiB SEED   new node, map, fill, unmap, seal
//   vmm_sim check NODE SEED        map read-only, check the fill
//   vmm_sim resume NODE OLD NEW    reopen a restored node for writing, check
//                                  OLD through the mapping, refill with NEW, seal
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pkram/client.hpp"

namespace {

uint64_t word_at(uint64_t seed, uint64_t i) { return (seed + i) * 0x9E3779B97F4A7C15ull; }

int fail(const std::string &what)
{
	std::fprintf(stderr, "vmm_sim: %s\n", what.c_str());
	return 1;
}

struct Map {
	void *addr = MAP_FAILED;
	size_t len = 0;
	Map(int fd, size_t length, int prot) : len(length)
	{
		addr = mmap(nullptr, len, prot, MAP_SHARED, fd, 0);
	}
	~Map()
	{
		if (addr != MAP_FAILED)
			munmap(addr, len);
	}
	uint64_t *words() const { return static_cast<uint64_t *>(addr); }
};

void fill(const Map &m, uint64_t seed)
{
	for (uint64_t i = 0; i < m.len / 8; i++)
		m.words()[i] = word_at(seed, i);
}

bool matches(const Map &m, uint64_t seed)
{
	for (uint64_t i = 0; i < m.len / 8; i++)
		if (m.words()[i] != word_at(seed, i))
			return false;
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 4)
		return fail("usage: vmm_sim create NODE MiB SEED | check NODE SEED | resume NODE OLD NEW");
	std::string cmd = argv[1], name = argv[2];
	auto dev = pkram::Device::open();
	if (!dev)
		return fail(dev.error().what());
	if (cmd == "create" && argc == 5) {
		size_t len = std::strtoull(argv[3], nullptr, 0) << 20;
		auto node = dev->create_node(name);
		if (!node)
			return fail(node.error().what());
		auto ram = node->open_object("guest-ram", {.create = true});
		if (!ram || !ram->truncate(len))
			return fail("cannot size guest-ram");
		{
			Map m(ram->fd(), len, PROT_READ | PROT_WRITE);
			if (m.addr == MAP_FAILED)
				return fail(std::string("mmap: ") + std::strerror(errno));
			fill(m, std::strtoull(argv[4], nullptr, 0));
		}
		auto sealed = node->seal(true);
		return sealed ? 0 : fail(sealed.error().what());
	}
	if (cmd == "check" && argc == 4) {
		auto node = dev->open_node(name);
		auto ram = node ? node->open_object("guest-ram") : pkram::Result<pkram::Object>(node.error());
		if (!ram)
			return fail(ram.error().what());
		Map m(ram->fd(), ram->info()->page_size, PROT_READ);
		if (m.addr == MAP_FAILED)
			return fail(std::string("mmap: ") + std::strerror(errno));
		return matches(m, std::strtoull(argv[3], nullptr, 0)) ? 0 : fail("guest RAM differs");
	}
	if (cmd == "resume" && argc == 5) {
		auto node = dev->open_node(name, /*write=*/true);
		if (!node)
			return fail(node.error().what());
		auto ram = node->open_object("guest-ram");
		if (!ram)
			return fail(ram.error().what());
		{
			Map m(ram->fd(), ram->info()->page_size, PROT_READ | PROT_WRITE);
			if (m.addr == MAP_FAILED)
				return fail(std::string("mmap: ") + std::strerror(errno));
			if (!matches(m, std::strtoull(argv[3], nullptr, 0)))
				return fail("restored guest RAM differs");
			fill(m, std::strtoull(argv[4], nullptr, 0));
		}
		auto sealed = node->seal(true);
		return sealed ? 0 : fail(sealed.error().what());
	}
	return fail("bad arguments");
}
