/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pkram module internals: the pool, nodes and objects in memory.
 *
 * Lock order: pkram_pool.lock (node list, superblock) -> pkram_node.rwsem
 * (state) -> pkram_node.objects_lock (object index) -> pkram_object.lock
 * (streams) -> pkram_pool.alloc_lock (free-space map, a spinlock). A seal
 * holds only its node's rwsem while it works, then pool.lock to commit.
 */
#ifndef PKRAM_INTERNAL_H
#define PKRAM_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/maple_tree.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/rhashtable-types.h>
#include <linux/rwsem.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/xarray.h>

#include "format/pkram_format.h"
#include "include/uapi/linux/pkram.h"

/* The ABI's limits are the format's: one number each, said twice. */
static_assert(PKRAM_NODE_NAME_MAX == PKRAM_FMT_NODE_NAME_MAX);
static_assert(PKRAM_OBJ_NAME_MAX == PKRAM_FMT_OBJ_NAME_MAX);
static_assert(PKRAM_MAX_NODES == PKRAM_FMT_MAX_NODES);
static_assert(PKRAM_OBJ_MAX_SIZE == (PKRAM_FMT_MAX_INDEX << PKRAM_FMT_PAGE_SHIFT));

struct pkram_pool {
	phys_addr_t base;
	u64 size;
	struct pkram_fmt_pool fmt;	/* .base is the memremap()ed pool */
	struct resource *res;

	struct mutex lock;		/* nodes, nr_nodes, the superblock */
	struct list_head nodes;
	u32 nr_nodes;

	spinlock_t alloc_lock;		/* map, used_pages, lent_pages, small_chunk */
	struct pkram_fmt_bitmap map;	/* set bit: page in use or lent */
	u64 used_pages;
	u64 lent_pages;			/* lent to the system, see pkram_lend.c */
	u64 small_chunk;		/* the chunk metadata blocks come from */
	bool no_free_chunk;		/* no wholly free chunk: skip searching */

	struct pkram_memmap *memmap;	/* struct pages, see pkram_memmap.c */
	struct pkram_lend *lend;	/* NULL: lending unsupported */

	u64 token;			/* what the next kernel must be told */
	u64 next_size;			/* the next kernel's pool size, 0: the same */
	u64 generation;
	u32 restored_nodes;
	u32 rejected_nodes;
	u64 restore_mem_max;		/* bytes a restore may allocate */
	u64 restore_mem_left;		/* of which are left */
	bool stale_discarded;
	/* A pool found but not restored, kept untouched until a decision. */
	bool stale_held;
	int stale_error;
	char stale_reason[160];
	/* Page 1 is the superblock's shadow (format 2): commits cannot tear. */
	bool shadowed;
};

struct pkram_extent_array;

/* A stream: its extents (see pkram_extents.c) and its size. */
struct pkram_stream {
	struct maple_tree extents;	/* index range -> xa_mk_value(pool page) */
	struct pkram_extent_array *restored; /* or, until changed, these */
	u64 size;			/* logical size in bytes */
	u64 nr_pages;			/* pool pages backing it */
	u32 nr_extents;
	struct inode *inode;		/* of its fds and mappings, or NULL */
};

/* Page indices [index, index + nr_pages) at pool pages from pool_page on. */
struct pkram_extent {
	u64 index;
	u64 pool_page;
	u64 nr_pages;
};

struct pkram_object {
	struct kref ref;		/* the node's index, and each object fd */
	struct pkram_node *node;
	u32 id;				/* index in node->objects */
	struct rhash_head hash;		/* in node->by_name */
	char *name;			/* name, name_len: under objects_lock */
	u32 name_len;
	struct rw_semaphore lock;	/* both streams */
	struct pkram_stream stream[PKRAM_FMT_NR_STREAMS];
};

struct pkram_node {
	struct list_head list;		/* in pkram_pool.nodes */
	char name[PKRAM_NODE_NAME_MAX + 1];
	atomic_t users;			/* open node and object fds */
	atomic_t maps;			/* mappings of its objects */
	atomic_t writable_maps;		/* of which writable (VM_MAYWRITE) */
	bool exposed;			/* ever mapped: its pages may be pinned */

	struct rw_semaphore rwsem;	/* state, meta_head, nr_meta_blocks */
	enum pkram_node_state state;
	u64 meta_head;			/* first metadata block, 0 when OPEN */
	u64 nr_meta_blocks;
	u32 fmt_flags;			/* PKRAM_FMT_NODE_* of the sealed metadata */

	struct mutex objects_lock;	/* objects, by_name, nr_objects */
	struct xarray objects;		/* id -> struct pkram_object */
	struct rhashtable by_name;	/* name -> struct pkram_object */
	u32 nr_objects;
};

extern struct pkram_pool *pkram_pool;

static inline void *pkram_page_addr(struct pkram_pool *pool, u64 pool_page)
{
	return pool->fmt.base + (pool_page << PKRAM_FMT_PAGE_SHIFT);
}

/* pkram_pool.c: the module, the pool and its superblock */
u32 pkram_pool_fmt_version(struct pkram_pool *pool);
void pkram_super_commit(struct pkram_pool *pool);
int pkram_pool_resize_next(struct pkram_pool *pool, u64 bytes, u64 *min_bytes);
int pkram_pool_adopt(struct pkram_pool *pool, struct pkram_pool_adopt *out);
int pkram_pool_discard(struct pkram_pool *pool);

/* pkram_alloc.c: the free-space map */
u64 pkram_alloc_chunk(struct pkram_pool *pool, u64 prefer, u64 offset, u64 nr);
bool pkram_alloc_exact(struct pkram_pool *pool, u64 first, u64 nr);
u64 pkram_alloc_run(struct pkram_pool *pool, u64 nr);
u64 pkram_alloc_block(struct pkram_pool *pool);
void pkram_free_pages(struct pkram_pool *pool, u64 first, u64 nr);
void pkram_release_pages(void *pool, u64 first, u64 nr);
void pkram_alloc_recount(struct pkram_pool *pool);
void pkram_alloc_restored(struct pkram_pool *pool, u64 nr);
u64 pkram_alloc_high_water(struct pkram_pool *pool);

/* pkram_extents.c: the extent index of a stream */
void pkram_stream_init(struct pkram_stream *st);
void pkram_stream_destroy(struct pkram_stream *st,
			  void (*release)(void *ctx, u64 first, u64 nr),
			  void *ctx);
bool pkram_extent_find(struct pkram_stream *st, u64 idx,
		       struct pkram_extent *ext);
bool pkram_extent_lookup(struct pkram_stream *st, u64 idx,
			 struct pkram_extent *ext);
u64 pkram_extent_page(struct pkram_stream *st, u64 idx);
int pkram_extent_insert(struct pkram_stream *st, u64 index, u64 pool_page,
			u64 nr);
size_t pkram_stream_restore_bytes(u32 nr_extents);
int pkram_stream_restore_begin(struct pkram_stream *st, u32 nr_extents);
int pkram_extents_restore(struct pkram_stream *st,
			  const struct pkram_fmt_extent *ext, u32 nr);
int pkram_extents_cut(struct pkram_stream *st, u64 from,
		      void (*release)(void *ctx, u64 first, u64 nr), void *ctx);
int pkram_extents_walk(struct pkram_stream *st,
		       int (*fn)(void *ctx, const struct pkram_extent *ext),
		       void *ctx);
u64 pkram_extent_huge_pieces(const struct pkram_extent *ext);

/* pkram_node.c: node lifecycle, seal, restore, verify */
struct pkram_node *pkram_node_alloc(const char *name, size_t len);
void pkram_node_destroy(struct pkram_pool *pool, struct pkram_node *node,
			bool release_pages);
struct pkram_node *pkram_node_lookup(struct pkram_pool *pool,
				     const char *name, size_t len);
int pkram_node_create(struct pkram_pool *pool, const char *name, size_t len,
		      struct pkram_node **out);
int pkram_node_open(struct pkram_pool *pool, const char *name, size_t len,
		    bool write, struct pkram_node **out);
int pkram_node_free(struct pkram_pool *pool, const char *name, size_t len);
int pkram_node_seal(struct pkram_pool *pool, struct pkram_node *node,
		    u32 flags);
int pkram_node_verify(struct pkram_pool *pool, struct pkram_node *node,
		      struct pkram_node_verify *out);
void pkram_node_stat(struct pkram_node *node, struct pkram_node_stat *st);
/* Restores the node at head; verify_data: also check data checksums (adopt). */
int pkram_node_restore(struct pkram_pool *pool, u64 head,
		       struct pkram_fmt_bitmap *scratch, bool verify_data,
		       struct pkram_fmt_error *err);
u32 pkram_data_crc(struct pkram_pool *pool, u64 pool_page, u64 nr_pages);

/* pkram_object.c: the objects of a node */
int pkram_object_table_init(struct pkram_node *node);
void pkram_object_table_destroy(struct pkram_node *node);
struct pkram_object *pkram_object_add(struct pkram_node *node,
				      const char *name, size_t len);
void pkram_object_destroy(struct pkram_pool *pool, struct pkram_object *obj,
			  bool release_pages);
int pkram_object_open(struct pkram_node *node, const char *name, size_t len,
		      u32 flags, struct pkram_object **out);
void pkram_object_put(struct pkram_object *obj);
int pkram_object_stat(struct pkram_node *node, u64 cursor,
		      struct pkram_obj_stat *st, char *name);
void pkram_object_describe(struct pkram_object *obj, struct pkram_obj_stat *st,
			   char *name);
int pkram_object_delete(struct pkram_node *node, const char *name, size_t len);
int pkram_object_rename(struct pkram_node *node, const char *old,
			size_t old_len, const char *new, size_t new_len,
			bool noreplace);
u64 pkram_node_data_pages(struct pkram_node *node);
bool pkram_node_pages_held(struct pkram_pool *pool, struct pkram_node *node);

/* pkram_data.c: data I/O, truncation, faults, seeking */
ssize_t pkram_object_read_iter(struct pkram_pool *pool,
			       struct pkram_object *obj, int stream,
			       struct iov_iter *to, loff_t pos);
ssize_t pkram_object_write_iter(struct pkram_pool *pool,
				struct pkram_object *obj, int stream,
				struct iov_iter *from, loff_t pos);
int pkram_object_truncate(struct pkram_pool *pool, struct pkram_object *obj,
			  int stream, u64 size);
int pkram_stream_trim(struct pkram_pool *pool, struct pkram_stream *st);
vm_fault_t pkram_object_fault(struct pkram_pool *pool, struct pkram_object *obj,
			      int stream, struct vm_fault *vmf, unsigned int order);
bool pkram_stream_held(struct pkram_pool *pool, struct pkram_stream *st,
		       u64 from_page);
loff_t pkram_object_seek_data(struct pkram_object *obj, int stream,
			      loff_t pos, int whence);

/* pkram_memmap.c: struct pages for the pool, a memory section at a time */
#define PKRAM_MEMMAP_BLOCK_BYTES	((u64)SZ_128M)
int pkram_memmap_init(struct pkram_pool *pool);
void pkram_memmap_exit(struct pkram_pool *pool);
struct page *pkram_memmap_page(struct pkram_pool *pool, u64 pool_page);
bool pkram_memmap_held(struct pkram_pool *pool, u64 first, u64 nr);
int pkram_memmap_release(struct pkram_pool *pool, u64 first, u64 nr);
void pkram_memmap_restore(struct pkram_pool *pool, u64 first, u64 nr);

/* pkram_lend.c: free pool memory lent to the system */
int pkram_lend_init(struct pkram_pool *pool);
void pkram_lend_exit(struct pkram_pool *pool);
int pkram_lend(struct pkram_pool *pool, u64 keep_bytes, u64 *lent_bytes);
int pkram_reclaim(struct pkram_pool *pool, u64 bytes, u64 *reclaimed);
bool pkram_reclaim_for_alloc(struct pkram_pool *pool);
u64 pkram_lend_block_bytes(struct pkram_pool *pool);
u64 pkram_lent_unit_start(struct pkram_pool *pool, u64 page);

/* pkram_inode.c: the inodes of object fds and mappings */
int pkram_inode_init(void);
void pkram_inode_exit(void);
struct pkram_object *pkram_inode_object(struct inode *inode, int *stream);
struct file *pkram_stream_file(struct pkram_object *obj, int stream,
			       const struct file_operations *fops, void *priv,
			       int flags);
void pkram_stream_unmap(struct pkram_stream *st, u64 from, u64 to);
void pkram_stream_put_inode(struct pkram_stream *st);

/* pkram_dev.c */
int pkram_dev_init(void);
void pkram_dev_exit(void);

#endif /* PKRAM_INTERNAL_H */
