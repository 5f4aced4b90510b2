/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pkram persisted pool format, version 3, and the code that reads, checks and
 * writes it. Plain C shared by the module and the host library (unit tests,
 * fuzzer), so every rule about what the next kernel may trust lives here once.
 *
 * Layout (little-endian, x86-64; every offset is a pool offset, never a
 * pointer, so the pool may be mapped anywhere):
 *
 *   page 0            struct pkram_fmt_super: magic, version, CRC32C, pool
 *                     size, handover token, generation, and the pool offset of
 *                     the first metadata block of each sealed node.
 *   page 1            (version 2 on) the superblock's shadow: every commit
 *                     writes it whole before page 0, so a commit torn by a
 *                     kexec or a crash leaves one of the two intact (page 0
 *                     the previous commit, or page 1 the new one). Version 1
 *                     (no shadow; page 1 may hold anything) is still read.
 *   metadata blocks   4 KiB struct pkram_fmt_block, each with magic, CRC32C,
 *                     position in its chain and the offset of the next block.
 *                     A node's chain carries one byte stream:
 *                       struct pkram_fmt_node
 *                       for each object: struct pkram_fmt_object, its name
 *                       (padded to 8 bytes), then its page-stream extents and
 *                       its byte-stream extents (struct pkram_fmt_extent).
 *   data pages        everything else: object data, in 4 KiB pages.
 *
 * Nothing but the superblock has a fixed place; the free-space map is not
 * persisted but rebuilt from the nodes that pass validation.
 */
#ifndef PKRAM_FORMAT_H
#define PKRAM_FORMAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include "host/pkram_host.h"
#endif

/*
 * Versions: a change an older reader would misread takes a new number, and
 * every older version stays readable. 1: no shadow. 2: the shadow in page 1.
 * 3: object names up to 4095 bytes (a full path; 1023 before), which a
 * version 2 reader rejects as damaged, so it must refuse the pool instead.
 */
#define PKRAM_FMT_VERSION	3
#define PKRAM_FMT_VERSION_RESIZED	4	/* next_pool_size set */
#define PKRAM_FMT_VERSION_MAX	PKRAM_FMT_VERSION_RESIZED
#define PKRAM_FMT_VERSION_SHADOWED	2	/* the first with the shadow */
#define PKRAM_FMT_VERSION_UNSHADOWED	1	/* page 1 is not the shadow */
#define PKRAM_FMT_SUPER_PAGES	2	/* page 0 and its shadow */
#define PKRAM_FMT_PAGE_SHIFT	12
#define PKRAM_FMT_PAGE_SIZE	(1U << PKRAM_FMT_PAGE_SHIFT)
#define PKRAM_FMT_HUGE_PAGES	512	/* 2 MiB in 4 KiB pages */
#define PKRAM_FMT_MAX_NODES	496
#define PKRAM_FMT_NODE_NAME_MAX	63
#define PKRAM_FMT_OBJ_NAME_MAX	4095	/* 1023 up to version 2 */
#define PKRAM_FMT_MAX_INDEX	(1ULL << 32)	/* pages per stream (16 TiB) */

#define PKRAM_FMT_SUPER_MAGIC	0x3142534d41524b50ULL	/* "PKRAMSB1" */
#define PKRAM_FMT_BLOCK_MAGIC	0x424d4b50U		/* "PKMB" */
#define PKRAM_FMT_NODE_MAGIC	0x444e4b50U		/* "PKND" */
#define PKRAM_FMT_OBJECT_MAGIC	0x424f4b50U		/* "PKOB" */

enum { PKRAM_FMT_STREAM_PAGES, PKRAM_FMT_STREAM_BYTES, PKRAM_FMT_NR_STREAMS };

struct pkram_fmt_super {
	u64 magic;
	u32 version;
	u32 crc;		/* CRC32C of the page with this field 0 */
	u64 pool_size;		/* bytes; must equal the pool being restored */
	u64 token;		/* the next kernel must be told this value */
	u64 generation;		/* handovers this pool has been through */
	u32 nr_nodes;		/* entries of node[] in use */
	u32 reserved0;
	/* Version 4: the pool may also be restored at this size (0: none). */
	u64 next_pool_size;
	u64 reserved[9];
	u64 node[PKRAM_FMT_MAX_NODES];	/* first metadata block of each node */
} __packed;

#define PKRAM_FMT_BLOCK_HDR	32
#define PKRAM_FMT_BLOCK_PAYLOAD	(PKRAM_FMT_PAGE_SIZE - PKRAM_FMT_BLOCK_HDR)

struct pkram_fmt_block {
	u32 magic;
	u32 crc;		/* CRC32C of the block with this field 0 */
	u64 next;		/* pool offset of the next block; 0 ends the chain */
	u32 seq;		/* position in the chain, from 0 */
	u32 used;		/* payload bytes in use */
	u64 reserved;
	u8 payload[PKRAM_FMT_BLOCK_PAYLOAD];
} __packed;

/* Every extent carries the CRC32C of its data (computed at seal). */
#define PKRAM_FMT_NODE_DATA_CRC	(1U << 0)
#define PKRAM_FMT_NODE_FLAGS	PKRAM_FMT_NODE_DATA_CRC

struct pkram_fmt_node {
	u32 magic;
	u32 flags;		/* PKRAM_FMT_NODE_* */
	char name[PKRAM_FMT_NODE_NAME_MAX + 1];	/* NUL-padded */
	u64 nr_objects;
	u64 nr_data_pages;	/* sum over all extents */
	u64 nr_blocks;		/* metadata blocks in the chain */
	u64 reserved[4];
} __packed;

struct pkram_fmt_object {
	u32 magic;
	u32 name_len;		/* bytes, no NUL; the name follows, padded to 8 */
	u64 size[PKRAM_FMT_NR_STREAMS];	/* logical size of each stream, bytes */
	u32 nr_extents[PKRAM_FMT_NR_STREAMS];
	u64 reserved;
} __packed;

struct pkram_fmt_extent {
	u64 index;		/* first page index within the stream */
	u64 pool_page;		/* first pool page (pool offset >> 12) */
	u32 nr_pages;
	u32 crc;		/* of the data with PKRAM_FMT_NODE_DATA_CRC, else 0 */
} __packed;

/* The layouts above are the format: each checked where the compiler sees it. */
#ifdef __cplusplus
#define PKRAM_FMT_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define PKRAM_FMT_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
PKRAM_FMT_ASSERT(sizeof(struct pkram_fmt_super) <= PKRAM_FMT_PAGE_SIZE,
		 "the superblock is one page");
PKRAM_FMT_ASSERT(sizeof(struct pkram_fmt_block) == PKRAM_FMT_PAGE_SIZE &&
		 __builtin_offsetof(struct pkram_fmt_block, payload) ==
		 PKRAM_FMT_BLOCK_HDR, "a metadata block is one page after its header");
PKRAM_FMT_ASSERT(sizeof(struct pkram_fmt_extent) == 24 &&
		 sizeof(struct pkram_fmt_object) % 8 == 0 &&
		 sizeof(struct pkram_fmt_node) % 8 == 0,
		 "records keep the stream 8-byte aligned");

/* Why a check failed: an errno-style code and a message naming the spot. */
struct pkram_fmt_error {
	int err;
	char msg[160];
	char node[PKRAM_FMT_NODE_NAME_MAX + 1];	/* once its record was read */
};

/* A view of the mapped pool. */
struct pkram_fmt_pool {
	u8 *base;
	u64 size;		/* bytes, a multiple of the page size */
};

static inline u64 pkram_fmt_nr_pages(const struct pkram_fmt_pool *pool)
{
	return pool->size >> PKRAM_FMT_PAGE_SHIFT;
}

/* A free-space map: one bit per pool page, set when in use. */
struct pkram_fmt_bitmap {
	u64 *words;
	u64 nr_bits;
};

static inline u64 pkram_fmt_bitmap_words(u64 nr_bits)
{
	return (nr_bits + 63) / 64;
}

bool pkram_fmt_test_bit(const struct pkram_fmt_bitmap *map, u64 bit);
void pkram_fmt_set_range(struct pkram_fmt_bitmap *map, u64 first, u64 nr);
void pkram_fmt_clear_range(struct pkram_fmt_bitmap *map, u64 first, u64 nr);
/* True when no bit of [first, first + nr) is set. */
bool pkram_fmt_range_clear(const struct pkram_fmt_bitmap *map, u64 first,
			   u64 nr);
u64 pkram_fmt_count_set(const struct pkram_fmt_bitmap *map);
/*
 * First-fit search for nr clear bits starting at a multiple of align (a power
 * of two), from hint on, wrapping once. Returns the first bit, or U64 max.
 */
#define PKRAM_FMT_NO_PAGE	(~0ULL)
u64 pkram_fmt_find_clear(const struct pkram_fmt_bitmap *map, u64 nr,
			 u64 align, u64 hint);

/* Standard CRC-32C, built on the raw one each environment provides. */
u32 pkram_fmt_crc32c(const void *data, size_t len);
/* Raw CRC-32C (no inversions): the kernel's crc32c(), Boost.CRC on the host. */
u32 pkram_fmt_crc32c_raw(u32 crc, const void *data, size_t len);

/* Name rules shared by the ioctls and the validator; 0 or -EINVAL etc. */
int pkram_fmt_check_node_name(const char *name, size_t len);
int pkram_fmt_check_obj_name(const char *name, size_t len);

/* The superblock's copies: 0 is the primary (page 0), 1 its shadow (page 1). */
static inline struct pkram_fmt_super *
pkram_fmt_super_copy(const struct pkram_fmt_pool *pool, unsigned int copy)
{
	return (struct pkram_fmt_super *)(pool->base +
					  (u64)copy * PKRAM_FMT_PAGE_SIZE);
}

/* Superblock: initialise a fresh one, and seal its CRC after changes. */
void pkram_fmt_super_init(struct pkram_fmt_super *sb, u64 pool_size,
			  u64 token, u64 generation, u32 version);
void pkram_fmt_super_update_crc(struct pkram_fmt_super *sb);
/*
 * Finds the superblock to restore from and checks it against the pool and
 * the handover token: the primary when it is whole, else (a torn commit)
 * a whole shadow (version 2 on). Returns 0 and sets *found when it may be
 * restored (err->msg then says when the shadow stood in); otherwise fills
 * err (e.g. -ENOENT: no pool found, -ESTALE: token mismatch, -EBADMSG:
 * damaged).
 */
int pkram_fmt_check_super(const struct pkram_fmt_pool *pool, u64 token,
			  const struct pkram_fmt_super **found,
			  struct pkram_fmt_error *err);

/*
 * What the validator reports while walking a node; the module builds its
 * in-memory node from these calls. A nonzero return aborts the walk.
 */
struct pkram_fmt_visitor {
	int (*node)(void *ctx, const struct pkram_fmt_node *node);
	int (*object)(void *ctx, const struct pkram_fmt_object *obj,
		      const char *name);
	/* Checked copies of the next nr extents of a stream, in order. */
	int (*extents)(void *ctx, int stream,
		       const struct pkram_fmt_extent *ext, u32 nr);
	/*
	 * Optional: pkram_fmt_chain_first_bad over the whole walked chain,
	 * split as the caller likes (the module: across CPUs).
	 */
	u32 (*first_bad_block)(void *ctx, const struct pkram_fmt_pool *pool,
			       u64 head, u32 nr_blocks);
	void *ctx;
};

/*
 * The first block, among those of a chain of nr_blocks whose position in it
 * is first modulo stride, whose CRC does not match; nr_blocks if none. For a
 * chain the validator has walked (its bounds are checked again, not trusted).
 */
u32 pkram_fmt_chain_first_bad(const struct pkram_fmt_pool *pool, u64 head,
			      u32 nr_blocks, u32 first, u32 stride);

/*
 * Validates the node whose chain starts at head, trusting nothing: block
 * magic, CRC, sequence and bounds; the node and object records; names; every
 * extent inside the pool, sorted, within its stream's size, and not
 * overlapping anything in @claimed or anything else of this node. On success
 * the node's pages (data and metadata) are set in @claimed and 0 is
 * returned; on failure @claimed is unchanged and err says why. @scratch is a
 * clear bitmap of the pool's size for the node's own pages; it is left clear,
 * at a cost that grows with the span of the node's pages, not the pool.
 */
int pkram_fmt_load_node(const struct pkram_fmt_pool *pool, u64 head,
			struct pkram_fmt_bitmap *claimed,
			struct pkram_fmt_bitmap *scratch,
			const struct pkram_fmt_visitor *visitor,
			struct pkram_fmt_error *err);

/*
 * Writes a node's metadata as a chain of blocks. The caller provides blocks
 * through alloc_block (a pool offset, or -ENOSPC) and appends records with
 * pkram_fmt_writer_append; pkram_fmt_writer_finish seals the last block's
 * CRC, patches nr_blocks into the node record and returns the head.
 */
struct pkram_fmt_writer {
	struct pkram_fmt_pool *pool;
	int (*alloc_block)(void *ctx, u64 *offset);
	void *ctx;
	u64 head;
	u64 cur;
	u32 seq;
	u64 nr_blocks;
};

void pkram_fmt_writer_init(struct pkram_fmt_writer *w,
			   struct pkram_fmt_pool *pool,
			   int (*alloc_block)(void *ctx, u64 *offset),
			   void *ctx);
int pkram_fmt_writer_append(struct pkram_fmt_writer *w, const void *data,
			    size_t len);
u64 pkram_fmt_writer_finish(struct pkram_fmt_writer *w);
/* Visits the blocks of a chain this kernel wrote, e.g. to free them. */
void pkram_fmt_chain_for_each(const struct pkram_fmt_pool *pool, u64 head,
			      void (*fn)(void *ctx, u64 offset), void *ctx);

#endif /* PKRAM_FORMAT_H */
