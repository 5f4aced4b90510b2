// SPDX-License-Identifier: GPL-2.0
/*
 * pkram nodes and objects: creation, data I/O on the two streams, sealing a
 * node into pool metadata, restoring it after kexec, and freeing it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>

#include "pkram_internal.h"
#include "pkram_trace.h"

#define PAGES_PER_HUGE	PKRAM_FMT_HUGE_PAGES
#define PK_PAGE		((u64)PKRAM_FMT_PAGE_SIZE)

static void stream_init(struct pkram_stream *st)
{
	xa_init(&st->pages);
	st->size = 0;
	st->nr_pages = 0;
}

static void stream_destroy(struct pkram_pool *pool, struct pkram_stream *st,
			   bool release_pages)
{
	unsigned long index;
	void *entry;

	if (release_pages)
		xa_for_each(&st->pages, index, entry)
			pkram_free_pages(pool, xa_to_value(entry), 1);
	xa_destroy(&st->pages);
}

static void object_destroy(struct pkram_pool *pool, struct pkram_object *obj,
			   bool release_pages)
{
	int s;

	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++)
		stream_destroy(pool, &obj->stream[s], release_pages);
	kfree(obj->name);
	kfree(obj);
}

/* The last reference of a deleted object: its pages go back to the pool. */
static void object_release(struct kref *ref)
{
	object_destroy(pkram_pool, container_of(ref, struct pkram_object, ref),
		       true);
}

void pkram_object_put(struct pkram_object *obj)
{
	kref_put(&obj->ref, object_release);
}

struct pkram_node *pkram_node_alloc(const char *name, size_t len)
{
	struct pkram_node *node = kzalloc(sizeof(*node), GFP_KERNEL);

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
	hash_init(node->by_name);
	return node;
}

/* Data pages of all objects; the caller keeps the objects from changing. */
static u64 node_data_pages(struct pkram_node *node)
{
	struct pkram_object *obj;
	unsigned long id;
	u64 pages = 0;

	xa_for_each(&node->objects, id, obj)
		pages += obj->stream[0].nr_pages + obj->stream[1].nr_pages;
	return pages;
}

static void free_meta_block(void *ctx, u64 offset)
{
	pkram_free_pages(ctx, offset >> PKRAM_FMT_PAGE_SHIFT, 1);
}

static void release_metadata(struct pkram_pool *pool, struct pkram_node *node)
{
	pkram_fmt_chain_for_each(&pool->fmt, node->meta_head, free_meta_block,
				 pool);
	node->meta_head = 0;
	node->nr_meta_blocks = 0;
	node->fmt_flags = 0;
}

/* Frees a node nobody uses; its pages go back to the pool if asked. */
void pkram_node_destroy(struct pkram_pool *pool, struct pkram_node *node,
			bool release_pages)
{
	struct pkram_object *obj;
	unsigned long id;

	xa_for_each(&node->objects, id, obj)
		object_destroy(pool, obj, release_pages);
	xa_destroy(&node->objects);
	if (release_pages && node->meta_head)
		release_metadata(pool, node);
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
	if (write) {
		int ret = 0;

		/*
		 * Unseal: the data stays in place; only the metadata goes.
		 * Read-only mappings show holes as the zero page, which a
		 * later write would not replace: refuse while mapped.
		 */
		down_write(&node->rwsem);
		if (node->state != PKRAM_NODE_STATE_OPEN) {
			if (atomic_read(&node->maps)) {
				ret = -EBUSY;
			} else {
				release_metadata(pool, node);
				node->state = PKRAM_NODE_STATE_OPEN;
				pkram_super_commit(pool);
			}
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
	} else if (atomic_read(&node->users)) {
		/* New users need pool->lock or an existing user: none can come. */
		ret = -EBUSY;
	} else {
		pages = node_data_pages(node) + node->nr_meta_blocks;
		pkram_node_destroy(pool, node, true);
		pkram_super_commit(pool);
	}
	mutex_unlock(&pool->lock);
	trace_pkram_free(name, pages * PK_PAGE, ktime_get_ns() - start, ret);
	return ret;
}

/* ---- sealing ---------------------------------------------------------- */

static int seal_alloc_block(void *ctx, u64 *offset)
{
	u64 page = pkram_alloc_pages(ctx, 1, 1);

	if (page == PKRAM_FMT_NO_PAGE)
		return -ENOSPC;
	*offset = page << PKRAM_FMT_PAGE_SHIFT;
	return 0;
}

/*
 * Walks a stream's pages as extents of consecutive indices backed by
 * consecutive pool pages; emits them when w is given, and counts them.
 */
static int emit_extent(struct pkram_fmt_writer *w, struct pkram_fmt_extent *ext,
		       bool data_crc)
{
	struct pkram_pool *pool = w->ctx;

	if (data_crc)
		ext->crc = pkram_fmt_crc32c(pkram_page_addr(pool, ext->pool_page),
					    (size_t)ext->nr_pages * PK_PAGE);
	return pkram_fmt_writer_append(w, ext, sizeof(*ext));
}

static int stream_extents(struct pkram_stream *st, struct pkram_fmt_writer *w,
			  bool data_crc, u32 *count)
{
	struct pkram_fmt_extent ext = { 0 };
	unsigned long index;
	void *entry;
	int ret;

	*count = 0;
	xa_for_each(&st->pages, index, entry) {
		u64 page = xa_to_value(entry);

		if (ext.nr_pages && index == ext.index + ext.nr_pages &&
		    page == ext.pool_page + ext.nr_pages && ext.nr_pages < U32_MAX) {
			ext.nr_pages++;
			continue;
		}
		if (ext.nr_pages) {
			(*count)++;
			if (w) {
				ret = emit_extent(w, &ext, data_crc);
				if (ret)
					return ret;
			}
		}
		ext.index = index;
		ext.pool_page = page;
		ext.nr_pages = 1;
	}
	if (ext.nr_pages) {
		(*count)++;
		if (w)
			return emit_extent(w, &ext, data_crc);
	}
	return 0;
}

static int write_object(struct pkram_fmt_writer *w, struct pkram_object *obj,
			bool data_crc)
{
	static const u8 zero[8];
	struct pkram_fmt_object rec = {
		.magic = PKRAM_FMT_OBJECT_MAGIC,
		.name_len = obj->name_len,
	};
	int s, ret;

	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++) {
		rec.size[s] = obj->stream[s].size;
		stream_extents(&obj->stream[s], NULL, false, &rec.nr_extents[s]);
	}
	ret = pkram_fmt_writer_append(w, &rec, sizeof(rec));
	if (!ret)
		ret = pkram_fmt_writer_append(w, obj->name, obj->name_len);
	if (!ret)
		ret = pkram_fmt_writer_append(w, zero, (8 - obj->name_len % 8) % 8);
	for (s = 0; s < PKRAM_FMT_NR_STREAMS && !ret; s++)
		ret = stream_extents(&obj->stream[s], w, data_crc,
				     &rec.nr_extents[s]);
	return ret;
}

/* Writes the node's metadata into the pool and lists it in the superblock. */
int pkram_node_seal(struct pkram_pool *pool, struct pkram_node *node,
		    u32 flags)
{
	bool data_crc = flags & PKRAM_SEAL_DATA_CRC;
	struct pkram_fmt_node rec = { .magic = PKRAM_FMT_NODE_MAGIC };
	u64 start = ktime_get_ns();
	struct pkram_fmt_writer w;
	struct pkram_object *obj;
	unsigned long id;
	int ret = 0;

	mutex_lock(&pool->lock);
	down_write(&node->rwsem);
	if (node->state != PKRAM_NODE_STATE_OPEN)
		goto out;	/* sealing twice is harmless */
	/* A writable mapping could change data after the seal. */
	if (atomic_read(&node->writable_maps)) {
		ret = -EBUSY;
		goto out;
	}

	strscpy(rec.name, node->name, sizeof(rec.name));
	rec.nr_objects = node->nr_objects;
	rec.nr_data_pages = node_data_pages(node);
	rec.flags = data_crc ? PKRAM_FMT_NODE_DATA_CRC : 0;
	pkram_fmt_writer_init(&w, &pool->fmt, seal_alloc_block, pool);
	ret = pkram_fmt_writer_append(&w, &rec, sizeof(rec));
	xa_for_each(&node->objects, id, obj) {
		if (ret)
			break;
		ret = write_object(&w, obj, data_crc);
	}
	if (ret) {
		pkram_fmt_chain_for_each(&pool->fmt, w.head, free_meta_block,
					 pool);
		goto out;
	}
	node->meta_head = pkram_fmt_writer_finish(&w);
	node->nr_meta_blocks = w.nr_blocks;
	node->fmt_flags = rec.flags;
	node->state = PKRAM_NODE_STATE_SEALED;
	pkram_super_commit(pool);
out:
	trace_pkram_seal(node->name, node->nr_meta_blocks * PK_PAGE,
			 ktime_get_ns() - start, ret);
	up_write(&node->rwsem);
	mutex_unlock(&pool->lock);
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
	st->data_bytes = node_data_pages(node) * PK_PAGE;
	mutex_unlock(&node->objects_lock);
	st->open_fds = atomic_read(&node->users);
}

/* ---- restoring -------------------------------------------------------- */

struct restore_ctx {
	struct pkram_pool *pool;
	struct pkram_node *node;
	struct pkram_object *obj;
	u64 nr_blocks;
};

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
	struct pkram_object *obj;
	int s;

	obj = pkram_object_add(ctx->node, name, rec->name_len);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++)
		obj->stream[s].size = rec->size[s];
	ctx->obj = obj;
	return 0;
}

static int restore_extent_cb(void *arg, int stream,
			     const struct pkram_fmt_extent *ext)
{
	struct restore_ctx *ctx = arg;
	struct pkram_stream *st = &ctx->obj->stream[stream];
	u32 i;
	int ret;

	for (i = 0; i < ext->nr_pages; i++) {
		ret = xa_err(xa_store(&st->pages, ext->index + i,
				      xa_mk_value(ext->pool_page + i),
				      GFP_KERNEL));
		if (ret)
			return ret;
		st->nr_pages++;
	}
	return 0;
}

int pkram_node_restore(struct pkram_pool *pool, u64 head,
		       struct pkram_fmt_bitmap *scratch,
		       struct pkram_fmt_error *err)
{
	struct restore_ctx ctx = { .pool = pool };
	u64 start = ktime_get_ns();
	struct pkram_fmt_visitor visitor = {
		.node = restore_node_cb,
		.object = restore_object_cb,
		.extent = restore_extent_cb,
		.ctx = &ctx,
	};
	int ret;

	mutex_lock(&pool->lock);
	ret = pkram_fmt_load_node(&pool->fmt, head, &pool->map, scratch,
				  &visitor, err);
	if (ret) {
		trace_pkram_restore_node(ctx.node ? ctx.node->name : "?", 0,
					 ktime_get_ns() - start, ret);
		if (ctx.node)
			pkram_node_destroy(pool, ctx.node, false);
		goto out;
	}
	trace_pkram_restore_node(ctx.node->name,
				 node_data_pages(ctx.node) * PK_PAGE,
				 ktime_get_ns() - start, 0);
	ctx.node->state = PKRAM_NODE_STATE_RESTORED;
	ctx.node->meta_head = head;
	ctx.node->nr_meta_blocks = ctx.nr_blocks;
	list_add_tail(&ctx.node->list, &pool->nodes);
	pool->nr_nodes++;
	pr_info("node '%s' restored: %u objects\n", ctx.node->name,
		ctx.node->nr_objects);
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

static int verify_extent_cb(void *arg, int stream,
			    const struct pkram_fmt_extent *ext)
{
	struct verify_ctx *ctx = arg;
	size_t len = (size_t)ext->nr_pages * PK_PAGE;

	ctx->out->checked_extents++;
	ctx->out->checked_bytes += len;
	if (pkram_fmt_crc32c(pkram_page_addr(ctx->pool, ext->pool_page), len) !=
	    ext->crc) {
		ctx->out->bad_extents++;
		if (!ctx->bad_in_object++)
			ctx->out->bad_objects++;
	}
	cond_resched();
	return 0;
}

/* Checks a sealed node's data against the CRCs stored at seal. */
int pkram_node_verify(struct pkram_pool *pool, struct pkram_node *node,
		      struct pkram_node_verify *out)
{
	struct verify_ctx ctx = { .pool = pool, .out = out };
	struct pkram_fmt_visitor visitor = {
		.object = verify_object_cb,
		.extent = verify_extent_cb,
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

/* ---- objects ---------------------------------------------------------- */

static struct pkram_object *object_find(struct pkram_node *node,
					const char *name, size_t len)
{
	struct pkram_object *obj;

	hash_for_each_possible(node->by_name, obj, hash,
			       full_name_hash(NULL, name, len))
		if (obj->name_len == len && !memcmp(obj->name, name, len))
			return obj;
	return NULL;
}

/* Adds an empty object; the caller holds objects_lock or owns the node. */
struct pkram_object *pkram_object_add(struct pkram_node *node,
				      const char *name, size_t len)
{
	struct pkram_object *obj;
	int s, ret;

	if (object_find(node, name, len))
		return ERR_PTR(-EEXIST);
	obj = kzalloc(sizeof(*obj), GFP_KERNEL);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->name = kmemdup_nul(name, len, GFP_KERNEL);
	if (!obj->name) {
		kfree(obj);
		return ERR_PTR(-ENOMEM);
	}
	obj->name_len = len;
	obj->node = node;
	kref_init(&obj->ref);
	init_rwsem(&obj->lock);
	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++)
		stream_init(&obj->stream[s]);
	ret = xa_alloc(&node->objects, &obj->id, obj, xa_limit_32b, GFP_KERNEL);
	if (ret) {
		kfree(obj->name);
		kfree(obj);
		return ERR_PTR(ret);
	}
	hash_add(node->by_name, &obj->hash, full_name_hash(NULL, name, len));
	node->nr_objects++;
	return obj;
}

int pkram_object_open(struct pkram_node *node, const char *name, size_t len,
		      u32 flags, struct pkram_object **out)
{
	struct pkram_object *obj;
	int ret = 0;

	down_read(&node->rwsem);
	mutex_lock(&node->objects_lock);
	obj = object_find(node, name, len);
	if (obj) {
		if ((flags & PKRAM_OBJ_CREATE) && (flags & PKRAM_OBJ_EXCL))
			ret = -EEXIST;
	} else if (!(flags & PKRAM_OBJ_CREATE)) {
		ret = -ENOENT;
	} else if (node->state != PKRAM_NODE_STATE_OPEN) {
		ret = -EROFS;
	} else {
		obj = pkram_object_add(node, name, len);
		if (IS_ERR(obj))
			ret = PTR_ERR(obj);
	}
	if (!ret) {
		kref_get(&obj->ref);	/* the caller's fd */
		*out = obj;
	}
	mutex_unlock(&node->objects_lock);
	up_read(&node->rwsem);
	return ret;
}

/* Unlinks an object; open fds keep it until they close. */
int pkram_object_delete(struct pkram_node *node, const char *name, size_t len)
{
	struct pkram_object *obj;
	int ret = 0;

	down_read(&node->rwsem);
	mutex_lock(&node->objects_lock);
	obj = object_find(node, name, len);
	if (node->state != PKRAM_NODE_STATE_OPEN) {
		ret = -EROFS;
	} else if (!obj) {
		ret = -ENOENT;
	} else {
		xa_erase(&node->objects, obj->id);
		hash_del(&obj->hash);
		node->nr_objects--;
		pkram_object_put(obj);
	}
	mutex_unlock(&node->objects_lock);
	up_read(&node->rwsem);
	return ret;
}

/* Renames an object, replacing one of the new name unless noreplace. */
int pkram_object_rename(struct pkram_node *node, const char *old,
			size_t old_len, const char *new, size_t new_len,
			bool noreplace)
{
	struct pkram_object *obj, *victim;
	char *name;
	int ret = 0;

	name = kmemdup_nul(new, new_len, GFP_KERNEL);
	if (!name)
		return -ENOMEM;
	down_read(&node->rwsem);
	mutex_lock(&node->objects_lock);
	obj = object_find(node, old, old_len);
	victim = object_find(node, new, new_len);
	if (node->state != PKRAM_NODE_STATE_OPEN) {
		ret = -EROFS;
	} else if (!obj) {
		ret = -ENOENT;
	} else if (victim == obj) {
		ret = 0;	/* same name: nothing to do */
	} else if (victim && noreplace) {
		ret = -EEXIST;
	} else {
		if (victim) {
			xa_erase(&node->objects, victim->id);
			hash_del(&victim->hash);
			node->nr_objects--;
			pkram_object_put(victim);
		}
		hash_del(&obj->hash);
		swap(obj->name, name);
		obj->name_len = new_len;
		hash_add(node->by_name, &obj->hash,
			 full_name_hash(NULL, new, new_len));
	}
	mutex_unlock(&node->objects_lock);
	up_read(&node->rwsem);
	kfree(name);	/* the old name, or the unused new one */
	return ret;
}

/* Describes the first object with id >= cursor; name gets its name. */
int pkram_object_stat(struct pkram_node *node, u64 cursor,
		      struct pkram_obj_stat *st, char *name)
{
	unsigned long index = cursor;
	struct pkram_object *obj;

	if (cursor > U32_MAX)
		return -ENOENT;
	mutex_lock(&node->objects_lock);
	obj = xa_find(&node->objects, &index, U32_MAX, XA_PRESENT);
	if (obj)
		pkram_object_describe(obj, st, name);
	mutex_unlock(&node->objects_lock);
	return obj ? 0 : -ENOENT;
}

/* Extents of a stream, and its 2 MiB chunks backed by aligned 2 MiB of pool. */
static void stream_layout(struct pkram_stream *st, u32 *nr_extents,
			  u32 *nr_huge)
{
	u64 next_index = 0, next_page = 0, huge_run = 0;
	unsigned long index;
	void *entry;

	*nr_extents = 0;
	*nr_huge = 0;
	xa_for_each(&st->pages, index, entry) {
		u64 page = xa_to_value(entry);

		if (!*nr_extents || index != next_index || page != next_page)
			(*nr_extents)++;
		if (index % PAGES_PER_HUGE == 0 && page % PAGES_PER_HUGE == 0)
			huge_run = 1;
		else if (huge_run && index == next_index && page == next_page)
			huge_run++;
		else
			huge_run = 0;
		if (huge_run == PAGES_PER_HUGE) {
			(*nr_huge)++;
			huge_run = 0;
		}
		next_index = index + 1;
		next_page = page + 1;
	}
}

/* The caller holds the node's objects_lock (the name may change otherwise). */
void pkram_object_describe(struct pkram_object *obj, struct pkram_obj_stat *st,
			   char *name)
{
	lockdep_assert_held(&obj->node->objects_lock);
	memcpy(name, obj->name, obj->name_len + 1);
	down_read(&obj->lock);
	stream_layout(&obj->stream[PKRAM_FMT_STREAM_PAGES], &st->nr_extents,
		      &st->nr_huge);
	st->id = obj->id;
	st->page_size = obj->stream[PKRAM_FMT_STREAM_PAGES].size;
	st->byte_size = obj->stream[PKRAM_FMT_STREAM_BYTES].size;
	st->data_bytes = (obj->stream[0].nr_pages + obj->stream[1].nr_pages) *
			 PK_PAGE;
	st->name_len = obj->name_len;
	up_read(&obj->lock);
}

/* ---- data ------------------------------------------------------------- */

/*
 * Backs page idx of a stream with pool memory: a whole aligned 2 MiB extent
 * when the write covers one and it is free, else one page. Parts of a new
 * page this write will not cover are zeroed, so no old pool bytes leak.
 */
static int stream_grow(struct pkram_pool *pool, struct pkram_stream *st,
		       u64 idx, u32 off, size_t remaining)
{
	u64 first, i;
	int ret;

	if (idx % PAGES_PER_HUGE == 0 && !off &&
	    remaining >= PAGES_PER_HUGE * PK_PAGE) {
		unsigned long probe = idx;

		if (!xa_find(&st->pages, &probe, idx + PAGES_PER_HUGE - 1,
			     XA_PRESENT)) {
			first = pkram_alloc_pages(pool, PAGES_PER_HUGE,
						  PAGES_PER_HUGE);
			if (first != PKRAM_FMT_NO_PAGE)
				goto insert_huge;
		}
	}
	first = pkram_alloc_pages(pool, 1, 1);
	if (first == PKRAM_FMT_NO_PAGE)
		return -ENOSPC;
	if (off || remaining < PK_PAGE)
		memset(pkram_page_addr(pool, first), 0, PK_PAGE);
	ret = xa_err(xa_store(&st->pages, idx, xa_mk_value(first), GFP_KERNEL));
	if (ret) {
		pkram_free_pages(pool, first, 1);
		return ret;
	}
	st->nr_pages++;
	return 0;

insert_huge:
	for (i = 0; i < PAGES_PER_HUGE; i++) {
		ret = xa_err(xa_store(&st->pages, idx + i,
				      xa_mk_value(first + i), GFP_KERNEL));
		if (ret) {
			while (i--)
				xa_erase(&st->pages, idx + i);
			pkram_free_pages(pool, first, PAGES_PER_HUGE);
			return ret;
		}
	}
	st->nr_pages += PAGES_PER_HUGE;
	return 0;
}

static void *stream_addr(struct pkram_pool *pool, struct pkram_stream *st,
			 u64 idx)
{
	void *entry = xa_load(&st->pages, idx);

	return entry ? pkram_page_addr(pool, xa_to_value(entry)) : NULL;
}

/* Zeroes [from, to) of a stream: pages made for a write that did not fill them. */
static void zero_fresh(struct pkram_pool *pool, struct pkram_stream *st,
		       u64 from, u64 to)
{
	while (from < to) {
		u8 *a = stream_addr(pool, st, from >> PKRAM_FMT_PAGE_SHIFT);
		u32 o = from & (PK_PAGE - 1);

		memset(a + o, 0, PK_PAGE - o);
		from = round_down(from, PK_PAGE) + PK_PAGE;
	}
}

/*
 * Copies with page faults disabled while the locks are held: a fault on the
 * user buffer (which may be a pkram mapping) would take mmap_lock under
 * obj->lock, the reverse of the fault path. On a short copy the locks are
 * dropped, the buffer faulted in, and the copy retried.
 */
static ssize_t object_write(struct pkram_pool *pool, struct pkram_object *obj,
			    int stream, const char __user *buf, size_t len,
			    loff_t pos)
{
	struct pkram_stream *st = &obj->stream[stream];
	struct pkram_node *node = obj->node;
	u64 fresh_end = 0;	/* bytes before this were zeroed or written */
	size_t done = 0;
	ssize_t ret = 0;

	if (pos < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if ((u64)pos >= PKRAM_OBJ_MAX_SIZE)
		return -EFBIG;
	len = min_t(u64, len, PKRAM_OBJ_MAX_SIZE - pos);

	down_read(&node->rwsem);
	if (node->state != PKRAM_NODE_STATE_OPEN) {
		up_read(&node->rwsem);
		return -EROFS;
	}
	down_write(&obj->lock);
	while (done < len) {
		u64 p = pos + done;
		u64 idx = p >> PKRAM_FMT_PAGE_SHIFT;
		u32 off = p & (PK_PAGE - 1);
		size_t n = min_t(size_t, PK_PAGE - off, len - done);
		unsigned long left;
		u8 *addr = stream_addr(pool, st, idx);

		if (!addr) {
			u64 before = st->nr_pages;

			ret = stream_grow(pool, st, idx, off, len - done);
			if (ret)
				break;
			fresh_end = (idx + st->nr_pages - before) * PK_PAGE;
			addr = stream_addr(pool, st, idx);
		}
		pagefault_disable();
		left = __copy_from_user_inatomic(addr + off, buf + done, n);
		pagefault_enable();
		done += n - left;
		if (!left)
			continue;
		/* Never let anyone see old pool bytes in pages made for us. */
		zero_fresh(pool, st, pos + done, fresh_end);
		fresh_end = 0;
		if (done && pos + done > st->size)
			st->size = pos + done;
		up_write(&obj->lock);
		up_read(&node->rwsem);
		if (fault_in_readable(buf + done, left) == left)
			return done ? done : -EFAULT;
		down_read(&node->rwsem);
		if (node->state != PKRAM_NODE_STATE_OPEN) {
			up_read(&node->rwsem);
			return done ? done : -EROFS;
		}
		down_write(&obj->lock);
	}
	if (done && pos + done > st->size)
		st->size = pos + done;
	up_write(&obj->lock);
	up_read(&node->rwsem);
	return done ? done : ret;
}

static ssize_t object_read(struct pkram_pool *pool, struct pkram_object *obj,
			   int stream, char __user *buf, size_t len, loff_t pos)
{
	struct pkram_stream *st = &obj->stream[stream];
	size_t done = 0;

	if (pos < 0)
		return -EINVAL;
	down_read(&obj->lock);
	while (done < len && (u64)pos + done < st->size) {
		u64 p = pos + done;
		u32 off = p & (PK_PAGE - 1);
		size_t n = min_t(u64, min_t(u64, PK_PAGE - off, len - done),
				 st->size - p);
		u8 *addr = stream_addr(pool, st, p >> PKRAM_FMT_PAGE_SHIFT);
		unsigned long left;

		pagefault_disable();
		left = addr ? __copy_to_user_inatomic(buf + done, addr + off, n) :
			      __clear_user(buf + done, n);
		pagefault_enable();
		done += n - left;
		if (!left)
			continue;
		/* See object_write(): fault the buffer in without the lock. */
		up_read(&obj->lock);
		if (fault_in_writeable(buf + done, left) == left)
			return done ? done : -EFAULT;
		down_read(&obj->lock);
	}
	up_read(&obj->lock);
	return done;
}

/* Sets a stream's size; pages wholly beyond it go back to the pool. */
int pkram_object_truncate(struct pkram_pool *pool, struct pkram_object *obj,
			  int stream, u64 size)
{
	struct pkram_stream *st = &obj->stream[stream];
	struct pkram_node *node = obj->node;
	int ret = 0;

	if (size > PKRAM_OBJ_MAX_SIZE)
		return -EFBIG;
	down_read(&node->rwsem);
	if (node->state != PKRAM_NODE_STATE_OPEN) {
		ret = -EROFS;
		goto out_node;
	}
	down_write(&obj->lock);
	if (size < st->size) {
		unsigned long index;
		u8 *tail;
		void *entry;

		/* Mappings would keep freed pages: shrink only when unmapped. */
		if (atomic_read(&node->maps)) {
			ret = -EBUSY;
			goto out;
		}
		xa_for_each_start(&st->pages, index, entry,
				  DIV_ROUND_UP(size, PK_PAGE)) {
			xa_erase(&st->pages, index);
			pkram_free_pages(pool, xa_to_value(entry), 1);
			st->nr_pages--;
		}
		/* Growing again later must read zeros past the old end. */
		tail = stream_addr(pool, st, size >> PKRAM_FMT_PAGE_SHIFT);
		if (tail && (size & (PK_PAGE - 1)))
			memset(tail + (size & (PK_PAGE - 1)), 0,
			       PK_PAGE - (size & (PK_PAGE - 1)));
	}
	st->size = size;
out:
	up_write(&obj->lock);
out_node:
	up_read(&node->rwsem);
	return ret;
}

/*
 * Maps one page of a stream. Writable mappings (only of OPEN nodes: seal is
 * refused while they exist) back holes with new zeroed pool pages;
 * read-only ones map the zero page there. Beyond the size: SIGBUS.
 */
vm_fault_t pkram_object_fault(struct pkram_pool *pool, struct pkram_object *obj,
			      int stream, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	bool writable = vma->vm_flags & VM_MAYWRITE;
	struct pkram_stream *st = &obj->stream[stream];
	u64 idx = vmf->pgoff;
	unsigned long pfn;
	vm_fault_t ret;
	void *entry;

	if (writable)
		down_write(&obj->lock);
	else
		down_read(&obj->lock);
	if (idx >= DIV_ROUND_UP(st->size, PK_PAGE)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	entry = xa_load(&st->pages, idx);
	if (!entry && writable) {
		if (stream_grow(pool, st, idx, 1, 0)) {
			ret = VM_FAULT_OOM;
			goto out;
		}
		entry = xa_load(&st->pages, idx);
	}
	pfn = entry ? PHYS_PFN(pool->base) + xa_to_value(entry) :
		      my_zero_pfn(vmf->address);
	ret = vmf_insert_pfn(vma, vmf->address, pfn);
out:
	if (writable)
		up_write(&obj->lock);
	else
		up_read(&obj->lock);
	return ret;
}

ssize_t pkram_object_write(struct pkram_pool *pool, struct pkram_object *obj,
			   int stream, const char __user *buf, size_t len,
			   loff_t pos)
{
	u64 start = ktime_get_ns();
	ssize_t ret = object_write(pool, obj, stream, buf, len, pos);

	trace_pkram_obj_write(obj->node->name, ret > 0 ? ret : 0,
			      ktime_get_ns() - start, ret < 0 ? ret : 0);
	return ret;
}

ssize_t pkram_object_read(struct pkram_pool *pool, struct pkram_object *obj,
			  int stream, char __user *buf, size_t len, loff_t pos)
{
	u64 start = ktime_get_ns();
	ssize_t ret = object_read(pool, obj, stream, buf, len, pos);

	trace_pkram_obj_read(obj->node->name, ret > 0 ? ret : 0,
			     ktime_get_ns() - start, ret < 0 ? ret : 0);
	return ret;
}
