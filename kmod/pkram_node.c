// SPDX-License-Identifier: GPL-2.0
/*
 * pkram nodes: their lifecycle (create, open, reopen for writing, free),
 * sealing a node into pool metadata, restoring it after kexec from validated
 * metadata, and verifying its data against the checksums of the seal. All of
 * it is O(objects + extents): nothing here walks pages.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "pkram_internal.h"
#include "pkram_trace.h"

#define PK_PAGE		((u64)PKRAM_FMT_PAGE_SIZE)

struct pkram_node *pkram_node_alloc(const char *name, size_t len)
{
	struct pkram_node *node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);

	if (!node)
		return NULL;
	INIT_LIST_HEAD(&node->list);
	memcpy(node->name, name, len);
	atomic_set(&node->users, 0);
	atomic_set(&node->maps, 0);
	atomic_set(&node->writable_maps, 0);
	init_rwsem(&node->rwsem);
	node->state = PKRAM_NODE_STATE_OPEN;
	mutex_init(&node->objects_lock);
	xa_init_flags(&node->objects, XA_FLAGS_ALLOC);
	if (pkram_object_table_init(node)) {
		kfree(node);
		return NULL;
	}
	return node;
}

static void free_meta_block(void *ctx, u64 offset)
{
	pkram_free_pages(ctx, offset >> PKRAM_FMT_PAGE_SHIFT, 1);
}

static void release_metadata(struct pkram_pool *pool, u64 head)
{
	pkram_fmt_chain_for_each(&pool->fmt, head, free_meta_block, pool);
}

/*
 * Unseal: the superblock stops listing the node before its metadata blocks
 * are free for reuse, so a handover never names reused pages.
 */
static void unseal(struct pkram_pool *pool, struct pkram_node *node)
{
	u64 head = node->meta_head;

	lockdep_assert_held(&pool->lock);
	/* Pairs with pkram_super_commit's smp_load_acquire of the head. */
	smp_store_release(&node->meta_head, 0);
	node->nr_meta_blocks = 0;
	node->fmt_flags = 0;
	node->state = PKRAM_NODE_STATE_OPEN;
	pkram_super_commit(pool);
	release_metadata(pool, head);
}

/* Frees a node nobody uses; its pages go back to the pool if asked. */
void pkram_node_destroy(struct pkram_pool *pool, struct pkram_node *node,
			bool release_pages)
{
	struct pkram_object *obj;
	unsigned long id;

	xa_for_each(&node->objects, id, obj) {
		pkram_object_destroy(pool, obj, release_pages);
		cond_resched();
	}
	xa_destroy(&node->objects);
	pkram_object_table_destroy(node);
	if (release_pages && node->meta_head)
		release_metadata(pool, node->meta_head);
	if (!list_empty(&node->list)) {
		list_del(&node->list);
		pool->nr_nodes--;
	}
	kfree(node);
}

struct pkram_node *pkram_node_lookup(struct pkram_pool *pool,
				     const char *name, size_t len)
{
	struct pkram_node *node;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry(node, &pool->nodes, list)
		if (strlen(node->name) == len && !memcmp(node->name, name, len))
			return node;
	return NULL;
}

int pkram_node_create(struct pkram_pool *pool, const char *name, size_t len,
		      struct pkram_node **out)
{
	struct pkram_node *node;
	int ret = 0;

	mutex_lock(&pool->lock);
	/* Until the operator adopts or discards the stale pool. */
	if (pool->stale_held) {
		ret = -ESTALE;
		goto out;
	}
	if (pkram_node_lookup(pool, name, len)) {
		ret = -EEXIST;
		goto out;
	}
	if (pool->nr_nodes >= PKRAM_MAX_NODES) {
		ret = -ENOSPC;
		goto out;
	}
	node = pkram_node_alloc(name, len);
	if (!node) {
		ret = -ENOMEM;
		goto out;
	}
	list_add_tail(&node->list, &pool->nodes);
	pool->nr_nodes++;
	atomic_inc(&node->users);
	*out = node;
out:
	mutex_unlock(&pool->lock);
	return ret;
}

int pkram_node_open(struct pkram_pool *pool, const char *name, size_t len,
		    bool write, struct pkram_node **out)
{
	struct pkram_node *node;

	mutex_lock(&pool->lock);
	node = pkram_node_lookup(pool, name, len);
	if (!node) {
		mutex_unlock(&pool->lock);
		return -ENOENT;
	}
	if (write && pool->stale_held) {
		/* A node being adopted: no commit before the adoption's own. */
		mutex_unlock(&pool->lock);
		return -ESTALE;
	}
	if (write) {
		int ret = 0;

		/*
		 * Unseal: the data stays in place; only the metadata goes.
		 * Read-only mappings show holes as the zero page, which a
		 * later write would not replace: refuse while mapped.
		 */
		down_write(&node->rwsem);
		if (node->state != PKRAM_NODE_STATE_OPEN) {
			if (atomic_read(&node->maps))
				ret = -EBUSY;
			else
				unseal(pool, node);
		}
		up_write(&node->rwsem);
		if (ret) {
			mutex_unlock(&pool->lock);
			return ret;
		}
	}
	atomic_inc(&node->users);
	*out = node;
	mutex_unlock(&pool->lock);
	return 0;
}

int pkram_node_free(struct pkram_pool *pool, const char *name, size_t len)
{
	u64 start = ktime_get_ns(), pages = 0;
	struct pkram_node *node;
	int ret = 0;

	mutex_lock(&pool->lock);
	node = pkram_node_lookup(pool, name, len);
	if (!node) {
		ret = -ENOENT;
	} else if (pool->stale_held) {
		ret = -ESTALE;	/* being adopted: see pkram_pool_adopt */
	} else if (atomic_read(&node->users) ||
		   pkram_node_pages_held(pool, node)) {
		/* New users need pool->lock or an existing user: none can come. */
		ret = -EBUSY;
	} else {
		pages = pkram_node_data_pages(node) + node->nr_meta_blocks;
		/* Unlisted first: a handover never names pages being reused. */
		list_del_init(&node->list);
		pool->nr_nodes--;
		pkram_super_commit(pool);
		pkram_node_destroy(pool, node, true);
	}
	mutex_unlock(&pool->lock);
	trace_pkram_free(name, pages * PK_PAGE, ktime_get_ns() - start, ret);
	return ret;
}

/* ---- sealing ---------------------------------------------------------- */

static int seal_alloc_block(void *ctx, u64 *offset)
{
	u64 page;

	do {
		page = pkram_alloc_block(ctx);
	} while (page == PKRAM_FMT_NO_PAGE && pkram_reclaim_for_alloc(ctx));
	if (page == PKRAM_FMT_NO_PAGE)
		return -ENOSPC;
	*offset = page << PKRAM_FMT_PAGE_SHIFT;
	return 0;
}

/*
 * CRC32C of pool pages, a megabyte at a time: the kernel's crc32c() takes an
 * unsigned int length, and a long extent must not hold the CPU.
 */
u32 pkram_data_crc(struct pkram_pool *pool, u64 pool_page, u64 nr_pages)
{
	const u8 *p = pkram_page_addr(pool, pool_page);
	u64 len = nr_pages * PK_PAGE;
	u32 crc = ~0U;

	while (len) {
		size_t n = min_t(u64, len, SZ_1M);

		crc = pkram_fmt_crc32c_raw(crc, p, n);
		p += n;
		len -= n;
		cond_resched();
	}
	return ~crc;
}

/* Persisted extents hold at most U32_MAX pages: longer ones are split. */
struct emit_ctx {
	struct pkram_pool *pool;
	struct pkram_fmt_writer *w;	/* NULL: only count */
	bool data_crc;
	u32 count;
};

static int emit_extent(void *arg, const struct pkram_extent *ext)
{
	struct emit_ctx *ctx = arg;
	u64 done = 0;
	int ret;

	while (done < ext->nr_pages) {
		struct pkram_fmt_extent rec = {
			.index = ext->index + done,
			.pool_page = ext->pool_page + done,
			.nr_pages = min_t(u64, ext->nr_pages - done, U32_MAX),
		};

		done += rec.nr_pages;
		ctx->count++;
		if (!ctx->w)
			continue;
		if (ctx->data_crc)
			rec.crc = pkram_data_crc(ctx->pool, rec.pool_page,
						 rec.nr_pages);
		ret = pkram_fmt_writer_append(ctx->w, &rec, sizeof(rec));
		if (ret)
			return ret;
	}
	return 0;
}

static int stream_extents(struct pkram_pool *pool, struct pkram_stream *st,
			  struct pkram_fmt_writer *w, bool data_crc, u32 *count)
{
	struct emit_ctx ctx = { .pool = pool, .w = w, .data_crc = data_crc };
	int ret = pkram_extents_walk(st, emit_extent, &ctx);

	*count = ctx.count;
	return ret;
}

static int write_object(struct pkram_pool *pool, struct pkram_fmt_writer *w,
			struct pkram_object *obj, bool data_crc)
{
	static const u8 zero[8];
	struct pkram_fmt_object rec = {
		.magic = PKRAM_FMT_OBJECT_MAGIC,
		.name_len = obj->name_len,
	};
	int s, ret;

	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++) {
		rec.size[s] = obj->stream[s].size;
		stream_extents(pool, &obj->stream[s], NULL, false,
			       &rec.nr_extents[s]);
	}
	ret = pkram_fmt_writer_append(w, &rec, sizeof(rec));
	if (!ret)
		ret = pkram_fmt_writer_append(w, obj->name, obj->name_len);
	if (!ret)
		ret = pkram_fmt_writer_append(w, zero, (8 - obj->name_len % 8) % 8);
	for (s = 0; s < PKRAM_FMT_NR_STREAMS && !ret; s++)
		ret = stream_extents(pool, &obj->stream[s], w, data_crc,
				     &rec.nr_extents[s]);
	return ret;
}

/*
 * Writes the node's metadata into the pool and lists it in the superblock.
 * The work (and the data checksums, which grow with the bytes) happens under
 * the node's lock only; pool->lock is taken for the superblock commit alone.
 */
int pkram_node_seal(struct pkram_pool *pool, struct pkram_node *node,
		    u32 flags)
{
	bool data_crc = flags & PKRAM_SEAL_DATA_CRC;
	struct pkram_fmt_node rec = { .magic = PKRAM_FMT_NODE_MAGIC };
	u64 start = ktime_get_ns();
	struct pkram_fmt_writer w;
	struct pkram_object *obj;
	unsigned long id;
	int s, ret = 0;

	down_write(&node->rwsem);
	if (node->state != PKRAM_NODE_STATE_OPEN)
		goto out;	/* sealing twice is harmless */
	/* A writable mapping could change data after the seal. */
	if (atomic_read(&node->writable_maps)) {
		ret = -EBUSY;
		goto out;
	}
	/* The unused tails of the streams' last chunks go back first. */
	xa_for_each(&node->objects, id, obj)
		for (s = 0; s < PKRAM_FMT_NR_STREAMS && !ret; s++)
			ret = pkram_stream_trim(pool, &obj->stream[s]);
	if (ret)
		goto out;

	strscpy(rec.name, node->name, sizeof(rec.name));
	rec.nr_objects = node->nr_objects;
	rec.nr_data_pages = pkram_node_data_pages(node);
	rec.flags = data_crc ? PKRAM_FMT_NODE_DATA_CRC : 0;
	pkram_fmt_writer_init(&w, &pool->fmt, seal_alloc_block, pool);
	ret = pkram_fmt_writer_append(&w, &rec, sizeof(rec));
	xa_for_each(&node->objects, id, obj) {
		if (ret)
			break;
		ret = write_object(pool, &w, obj, data_crc);
	}
	if (ret) {
		/* Sealing the last block lets the checked walk reach it. */
		pkram_fmt_chain_for_each(&pool->fmt, pkram_fmt_writer_finish(&w),
					 free_meta_block, pool);
		goto out;
	}
	node->nr_meta_blocks = w.nr_blocks;
	node->fmt_flags = rec.flags;
	node->state = PKRAM_NODE_STATE_SEALED;
	/* The chain is complete before a commit can see its head. */
	smp_store_release(&node->meta_head, pkram_fmt_writer_finish(&w));
out:
	trace_pkram_seal(node->name, node->nr_meta_blocks * PK_PAGE,
			 ktime_get_ns() - start, ret);
	up_write(&node->rwsem);
	if (!ret) {
		mutex_lock(&pool->lock);
		pkram_super_commit(pool);
		mutex_unlock(&pool->lock);
	}
	return ret;
}

void pkram_node_stat(struct pkram_node *node, struct pkram_node_stat *st)
{
	strscpy(st->name, node->name, sizeof(st->name));
	down_read(&node->rwsem);
	st->state = node->state;
	st->meta_bytes = node->nr_meta_blocks * PK_PAGE;
	st->flags = (node->fmt_flags & PKRAM_FMT_NODE_DATA_CRC) ?
		    PKRAM_NODE_HAS_DATA_CRC : 0;
	up_read(&node->rwsem);
	/* A snapshot: writers may be adding pages meanwhile. */
	mutex_lock(&node->objects_lock);
	st->nr_objects = node->nr_objects;
	st->data_bytes = pkram_node_data_pages(node) * PK_PAGE;
	mutex_unlock(&node->objects_lock);
	st->open_fds = atomic_read(&node->users);
}

/* ---- checking a chain's CRCs on several CPUs ---------------------------- */

/* A chain shorter than this per CPU is checked on one. */
#define CRC_BLOCKS_PER_CPU	64
#define CRC_MAX_CPUS		8

struct crc_share {
	struct work_struct work;
	const struct pkram_fmt_pool *fmt;
	u64 head;
	u32 nr_blocks, first, stride, bad;
};

static void crc_share_fn(struct work_struct *work)
{
	struct crc_share *s = container_of(work, struct crc_share, work);

	s->bad = pkram_fmt_chain_first_bad(s->fmt, s->head, s->nr_blocks,
					   s->first, s->stride);
}

/*
 * A long chain's block CRCs are most of a fragmented node's validation:
 * every CPU takes every n-th block, this thread too.
 */
static u32 first_bad_block(void *arg, const struct pkram_fmt_pool *fmt,
			   u64 head, u32 nr_blocks)
{
	struct crc_share shares[CRC_MAX_CPUS];
	u32 n = clamp(nr_blocks / CRC_BLOCKS_PER_CPU, 1U,
		      min_t(u32, num_online_cpus(), CRC_MAX_CPUS));
	u32 i, bad;

	for (i = 1; i < n; i++) {
		shares[i] = (struct crc_share) {
			.fmt = fmt, .head = head, .nr_blocks = nr_blocks,
			.first = i, .stride = n,
		};
		INIT_WORK_ONSTACK(&shares[i].work, crc_share_fn);
		queue_work(system_unbound_wq, &shares[i].work);
	}
	bad = pkram_fmt_chain_first_bad(fmt, head, nr_blocks, 0, n);
	for (i = 1; i < n; i++) {
		flush_work(&shares[i].work);
		destroy_work_on_stack(&shares[i].work);
		bad = min(bad, shares[i].bad);
	}
	return bad;
}

/* ---- restoring -------------------------------------------------------- */

struct restore_ctx {
	struct pkram_pool *pool;
	struct pkram_node *node;
	struct pkram_object *obj;
	u64 nr_blocks;
	u64 mem;		/* kernel memory this node's restore took */
	bool over_budget;
};

/* Kernel memory an object's restore takes, before it is allocated. */
static u64 restore_object_bytes(const struct pkram_fmt_object *rec)
{
	u64 bytes = sizeof(struct pkram_object) + rec->name_len + 1;
	int s;

	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++)
		bytes += pkram_stream_restore_bytes(rec->nr_extents[s]);
	return bytes;
}

static int restore_node_cb(void *arg, const struct pkram_fmt_node *rec)
{
	struct restore_ctx *ctx = arg;
	size_t len = strlen(rec->name);

	if (pkram_node_lookup(ctx->pool, rec->name, len))
		return -EEXIST;
	ctx->node = pkram_node_alloc(rec->name, len);
	if (!ctx->node)
		return -ENOMEM;
	ctx->nr_blocks = rec->nr_blocks;
	ctx->node->fmt_flags = rec->flags;
	return 0;
}

static int restore_object_cb(void *arg, const struct pkram_fmt_object *rec,
			     const char *name)
{
	struct restore_ctx *ctx = arg;
	u64 bytes = restore_object_bytes(rec);
	struct pkram_object *obj;
	int s;

	if (bytes > ctx->pool->restore_mem_left - ctx->mem) {
		ctx->over_budget = true;
		return -E2BIG;
	}
	ctx->mem += bytes;
	obj = pkram_object_add(ctx->node, name, rec->name_len);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	ctx->obj = obj;
	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++) {
		int ret = pkram_stream_restore_begin(&obj->stream[s],
						     rec->nr_extents[s]);

		if (ret)
			return ret;
		obj->stream[s].size = rec->size[s];
	}
	return 0;
}

static int restore_extents_cb(void *arg, int stream,
			      const struct pkram_fmt_extent *ext, u32 nr)
{
	struct restore_ctx *ctx = arg;

	return pkram_extents_restore(&ctx->obj->stream[stream], ext, nr);
}

/* Adoption: a node sealed with data checksums appears only if they match. */
static int verify_restored(struct pkram_pool *pool, struct pkram_node *node,
			   struct pkram_fmt_error *err)
{
	struct pkram_node_verify v = { .size = sizeof(v) };
	int ret;

	if (!(node->fmt_flags & PKRAM_FMT_NODE_DATA_CRC))
		return 0;
	ret = pkram_node_verify(pool, node, &v);
	if (!ret && v.bad_extents)
		ret = -EBADMSG;
	if (ret)
		snprintf(err->msg, sizeof(err->msg),
			 "its data no longer matches the checksums of its seal (%llu of %llu extents differ)",
			 v.bad_extents, v.checked_extents);
	return ret;
}

int pkram_node_restore(struct pkram_pool *pool, u64 head,
		       struct pkram_fmt_bitmap *scratch, bool verify_data,
		       struct pkram_fmt_error *err)
{
	struct restore_ctx ctx = { .pool = pool };
	u64 start = ktime_get_ns(), data_pages;
	struct pkram_fmt_visitor visitor = {
		.node = restore_node_cb,
		.object = restore_object_cb,
		.extents = restore_extents_cb,
		.first_bad_block = first_bad_block,
		.ctx = &ctx,
	};
	int ret;

	mutex_lock(&pool->lock);
	ret = pkram_fmt_load_node(&pool->fmt, head, &pool->map, scratch,
				  &visitor, err);
	if (ret) {
		if (ctx.over_budget)
			snprintf(err->msg, sizeof(err->msg),
				 "it needs more kernel memory than is left (%llu KiB) of the %llu MiB a restore may take (pkram.restore_mem_mb)",
				 pool->restore_mem_left >> 10,
				 pool->restore_mem_max >> 20);
		trace_pkram_restore_node(ctx.node ? ctx.node->name : "?", 0,
					 ktime_get_ns() - start, ret);
		if (ctx.node)
			pkram_node_destroy(pool, ctx.node, false);
		goto out;
	}
	data_pages = pkram_node_data_pages(ctx.node);
	pkram_alloc_restored(pool, data_pages + ctx.nr_blocks);
	trace_pkram_restore_node(ctx.node->name, data_pages * PK_PAGE,
				 ktime_get_ns() - start, 0);
	pool->restore_mem_left -= ctx.mem;
	ctx.node->state = PKRAM_NODE_STATE_RESTORED;
	ctx.node->meta_head = head;
	ctx.node->nr_meta_blocks = ctx.nr_blocks;
	if (verify_data) {
		ret = verify_restored(pool, ctx.node, err);
		if (ret) {
			strscpy(err->node, ctx.node->name, sizeof(err->node));
			pkram_node_destroy(pool, ctx.node, true);
			goto out;
		}
	}
	list_add_tail(&ctx.node->list, &pool->nodes);
	pool->nr_nodes++;
out:
	mutex_unlock(&pool->lock);
	return ret;
}

/* ---- verifying -------------------------------------------------------- */

struct verify_ctx {
	struct pkram_pool *pool;
	struct pkram_node_verify *out;
	u64 bad_in_object;
};

static int verify_object_cb(void *arg, const struct pkram_fmt_object *rec,
			    const char *name)
{
	struct verify_ctx *ctx = arg;

	ctx->bad_in_object = 0;
	return 0;
}

static int verify_extents_cb(void *arg, int stream,
			     const struct pkram_fmt_extent *ext, u32 nr)
{
	struct verify_ctx *ctx = arg;

	for (; nr--; ext++) {
		ctx->out->checked_extents++;
		ctx->out->checked_bytes += ext->nr_pages * PK_PAGE;
		if (pkram_data_crc(ctx->pool, ext->pool_page, ext->nr_pages) !=
		    ext->crc) {
			ctx->out->bad_extents++;
			if (!ctx->bad_in_object++)
				ctx->out->bad_objects++;
		}
	}
	return 0;
}

/* Checks a sealed node's data against the CRCs stored at seal. */
int pkram_node_verify(struct pkram_pool *pool, struct pkram_node *node,
		      struct pkram_node_verify *out)
{
	struct verify_ctx ctx = { .pool = pool, .out = out };
	struct pkram_fmt_visitor visitor = {
		.object = verify_object_cb,
		.extents = verify_extents_cb,
		.first_bad_block = first_bad_block,
		.ctx = &ctx,
	};
	struct pkram_fmt_bitmap none, scratch;
	struct pkram_fmt_error *err;
	u64 words = pkram_fmt_bitmap_words(pool->map.nr_bits);
	int ret;

	none.nr_bits = pool->map.nr_bits;
	scratch.nr_bits = pool->map.nr_bits;
	none.words = kvcalloc(words, sizeof(u64), GFP_KERNEL);
	scratch.words = kvcalloc(words, sizeof(u64), GFP_KERNEL);
	err = kmalloc(sizeof(*err), GFP_KERNEL);
	if (!none.words || !scratch.words || !err) {
		ret = -ENOMEM;
		goto out;
	}
	down_read(&node->rwsem);
	if (node->state == PKRAM_NODE_STATE_OPEN ||
	    !(node->fmt_flags & PKRAM_FMT_NODE_DATA_CRC)) {
		ret = -ENODATA;
	} else {
		/* Nothing else is claimed: only the node's own consistency counts. */
		ret = pkram_fmt_load_node(&pool->fmt, node->meta_head, &none,
					  &scratch, &visitor, err);
		if (ret) {
			pr_err("verify of node '%s': %s\n", node->name, err->msg);
			ret = -EBADMSG;
		}
	}
	up_read(&node->rwsem);
out:
	kfree(err);
	kvfree(scratch.words);
	kvfree(none.words);
	return ret;
}
