// Damages a pkram pool's metadata in place through /dev/mem, one seeded,
// structure-aware mutation at a time, for the randomized corruption test
// (scenario corrupt_random). Runs while the module is not loaded.
//
//   pkram_corrupt BASE SIZE SEED
//   pkram_corrupt layout      the format's offsets as shell assignments, for
//                             scenarios that damage chosen fields (corrupt_node)
//
// Prints one line: "target=NODE|super kind=KIND detail...". Mutations: bit
// flips anywhere in a metadata block; header fields of a block (next pointing
// at itself, back, outside the pool or unaligned; seq; used); node and object
// records (counts, sizes, extents outside the pool, huge lengths, overlapping
// another node's pages); superblock fields and node pointers. Most mutations
// recompute the CRC32C so the checks behind the checksum are reached.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "pkram_format.h"
}

namespace {

struct NodeChain {
	std::string name;
	std::vector<u64> blocks;  // pool offsets, in chain order
	std::vector<u64> extents; // pool pages of its extents (from the payload scan)
};

u8 *pool_base;
u64 pool_size;

pkram_fmt_super *super() { return reinterpret_cast<pkram_fmt_super *>(pool_base); }
pkram_fmt_block *block_at(u64 off) { return reinterpret_cast<pkram_fmt_block *>(pool_base + off); }

bool block_ok(u64 off)
{
	return off && off % PKRAM_FMT_PAGE_SIZE == 0 && off < pool_size &&
	       block_at(off)->magic == PKRAM_FMT_BLOCK_MAGIC;
}

void fix_block_crc(u64 off)
{
	pkram_fmt_block *b = block_at(off);
	b->crc = 0;
	b->crc = pkram_fmt_crc32c(b, PKRAM_FMT_PAGE_SIZE);
}

// The primary's CRC made right again, so the change itself is judged (its
// shadow, unchanged, would stand in for a primary with a wrong CRC).
void fix_super_crc() { pkram_fmt_super_update_crc(super()); }

std::vector<NodeChain> chains()
{
	std::vector<NodeChain> out;
	for (u32 i = 0; i < super()->nr_nodes && i < PKRAM_FMT_MAX_NODES; i++) {
		NodeChain c;
		for (u64 off = super()->node[i]; block_ok(off) && c.blocks.size() < 4096;
		     off = block_at(off)->next)
			c.blocks.push_back(off);
		if (c.blocks.empty())
			continue;
		const auto *rec = reinterpret_cast<const pkram_fmt_node *>(block_at(c.blocks[0])->payload);
		c.name.assign(rec->name, strnlen(rec->name, sizeof(rec->name)));
		// Extent records: 24 bytes whose pool_page lies in the pool; the
		// payload is 8-byte aligned throughout.
		for (u64 off : c.blocks) {
			const pkram_fmt_block *b = block_at(off);
			for (u32 p = 0; p + sizeof(pkram_fmt_extent) <= b->used; p += 8) {
				u64 v;
				std::memcpy(&v, b->payload + p + 8, 8);
				u32 n;
				std::memcpy(&n, b->payload + p + 16, 4);
				if (v && v < pool_size / PKRAM_FMT_PAGE_SIZE && n &&
				    v + n <= pool_size / PKRAM_FMT_PAGE_SIZE)
					c.extents.push_back(v);
			}
		}
		out.push_back(std::move(c));
	}
	return out;
}

u64 interesting(std::mt19937_64 &rng)
{
	const u64 pages = pool_size / PKRAM_FMT_PAGE_SIZE;
	const u64 values[] = {
		0,          1,         ~0ULL,     0x7fffffffULL, 0xffffffffULL,
		pages,      pages - 1, pages + 1, pool_size,     pool_size - PKRAM_FMT_PAGE_SIZE,
		1ULL << 40, 1ULL << 63};
	return values[rng() % std::size(values)];
}

int run(u64 seed)
{
	std::mt19937_64 rng(seed);
	auto nodes = chains();
	if (nodes.empty()) {
		std::fprintf(stderr, "pkram_corrupt: no node in the pool\n");
		return 1;
	}
	NodeChain &node = nodes[rng() % nodes.size()];
	u64 blk = node.blocks[rng() % node.blocks.size()];
	pkram_fmt_block *b = block_at(blk);
	const u64 pages = pool_size / PKRAM_FMT_PAGE_SIZE;
	unsigned kind = rng() % 7;
	switch (kind) {
	case 0: { // bit flips, checksum left stale
		unsigned flips = 1 + rng() % 8;
		for (unsigned i = 0; i < flips; i++)
			reinterpret_cast<u8 *>(b)[rng() % PKRAM_FMT_PAGE_SIZE] ^= u8(1U << (rng() % 8));
		std::printf("target=%s kind=bitflip flips=%u block=0x%" PRIx64 "\n", node.name.c_str(), flips,
			    blk);
		return 0;
	}
	case 1: { // the chain pointer: loop, back, outside, unaligned
		const char *how[] = {"self", "first", "outside", "unaligned", "early-end"};
		unsigned h = rng() % 5;
		const u64 v[] = {blk, node.blocks[0], pool_size + PKRAM_FMT_PAGE_SIZE * (rng() % 4), blk + 8,
				 0};
		b->next = v[h];
		fix_block_crc(blk);
		std::printf("target=%s kind=next how=%s block=0x%" PRIx64 " next=0x%" PRIx64 "\n",
			    node.name.c_str(), how[h], blk, b->next);
		return 0;
	}
	case 2: { // seq or used
		if (rng() % 2) {
			b->seq = u32(interesting(rng));
			std::printf("target=%s kind=seq block=0x%" PRIx64 " seq=%u\n", node.name.c_str(), blk,
				    b->seq);
		} else {
			b->used = u32(PKRAM_FMT_BLOCK_PAYLOAD + 1 + rng() % 4096);
			std::printf("target=%s kind=used block=0x%" PRIx64 " used=%u\n", node.name.c_str(),
				    blk, b->used);
		}
		fix_block_crc(blk);
		return 0;
	}
	case 3: { // a word of the records set to an interesting value
		u32 used = b->used > 8 ? b->used : 8;
		u32 off = u32(rng() % (used / 8)) * 8;
		u64 v = interesting(rng);
		std::memcpy(b->payload + off, &v, 8);
		fix_block_crc(blk);
		std::printf("target=%s kind=record block=0x%" PRIx64 " payload+%u=0x%" PRIx64 "\n",
			    node.name.c_str(), blk, off, v);
		return 0;
	}
	case 4: { // an extent moved onto another node's pages (the later node is the target)
		if (nodes.size() < 2)
			break;
		NodeChain &victim = nodes.back();
		NodeChain &other = nodes[rng() % (nodes.size() - 1)];
		if (victim.extents.empty() || other.extents.empty())
			break;
		u64 from = victim.extents[rng() % victim.extents.size()];
		u64 to = other.extents[rng() % other.extents.size()];
		for (u64 off : victim.blocks) {
			pkram_fmt_block *vb = block_at(off);
			for (u32 p = 0; p + 16 <= vb->used; p += 8) {
				u64 w;
				std::memcpy(&w, vb->payload + p + 8, 8);
				if (w != from)
					continue;
				std::memcpy(vb->payload + p + 8, &to, 8);
				fix_block_crc(off);
				std::printf("target=%s kind=overlap with=%s page=0x%" PRIx64 "\n",
					    victim.name.c_str(), other.name.c_str(), to);
				return 0;
			}
		}
		break;
	}
	case 5: { // the node's pointer in the superblock
		u32 i = u32(&node - nodes.data());
		const u64 v[] = {pool_size, pool_size + PKRAM_FMT_PAGE_SIZE, super()->node[i] + 512, 0,
				 PKRAM_FMT_PAGE_SIZE * (pages - 1)};
		super()->node[i] = v[rng() % std::size(v)];
		fix_super_crc();
		std::printf("target=%s kind=super-node-pointer ptr=0x%" PRIx64 "\n", node.name.c_str(),
			    super()->node[i]);
		return 0;
	}
	default: { // a superblock field: the whole pool is judged
		const char *field;
		switch (rng() % 4) {
		case 0:
			super()->nr_nodes = u32(interesting(rng)) | 1U << 20;
			field = "nr_nodes";
			break;
		case 1:
			super()->pool_size = interesting(rng);
			field = "pool_size";
			break;
		case 2:
			super()->version += 1 + u32(rng() % 100);
			field = "version";
			break;
		default:
			super()->magic ^= 1ULL << (rng() % 64);
			field = "magic";
			break;
		}
		if (rng() % 4)
			fix_super_crc();
		std::printf("target=super kind=super field=%s\n", field);
		return 0;
	}
	}
	// The chosen mutation did not apply here: flip bits instead.
	reinterpret_cast<u8 *>(b)[32 + rng() % PKRAM_FMT_BLOCK_PAYLOAD] ^= 0x10;
	std::printf("target=%s kind=bitflip flips=1 block=0x%" PRIx64 "\n", node.name.c_str(), blk);
	return 0;
}

} // namespace

// Offsets from the format header, so a shell scenario names fields, not numbers.
void print_layout()
{
	std::printf("fmt_page_size=%u\n", PKRAM_FMT_PAGE_SIZE);
	std::printf("fmt_super_nr_nodes=%zu\n", offsetof(pkram_fmt_super, nr_nodes));
	std::printf("fmt_super_node=%zu\n", offsetof(pkram_fmt_super, node));
	std::printf("fmt_block_next=%zu\n", offsetof(pkram_fmt_block, next));
	std::printf("fmt_block_payload=%zu\n", offsetof(pkram_fmt_block, payload));
}

int main(int argc, char **argv)
{
	if (argc == 2 && !std::strcmp(argv[1], "layout")) {
		print_layout();
		return 0;
	}
	if (argc != 4) {
		std::fprintf(stderr, "usage: pkram_corrupt BASE SIZE SEED | pkram_corrupt layout\n");
		return 2;
	}
	u64 base = std::stoull(argv[1], nullptr, 0);
	pool_size = std::stoull(argv[2], nullptr, 0);
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0)
		return std::perror("pkram_corrupt: /dev/mem"), 1;
	void *p = mmap(nullptr, pool_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(base));
	if (p == MAP_FAILED)
		return std::perror("pkram_corrupt: mmap /dev/mem"), 1;
	pool_base = static_cast<u8 *>(p);
	if (super()->magic != PKRAM_FMT_SUPER_MAGIC) {
		std::fprintf(stderr, "pkram_corrupt: no superblock at 0x%" PRIx64 "\n", base);
		return 1;
	}
	int rc = run(std::stoull(argv[3]));
	msync(p, pool_size, MS_SYNC);
	munmap(p, pool_size);
	close(fd);
	return rc;
}
