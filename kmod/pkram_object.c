// SPDX-License-Identifier: GPL-2.0
/*
 * pkram objects: the objects of a node, found by name (an rhashtable, which
 * grows with the node, so a restore of millions stays linear) and by id (an
 * xarray, which also orders them for iteration and sealing), each with its
 * two streams; their creation, lookup, rename, delete and description.
 * Open object fds hold references: a deleted object lives until they close.
 */
#include <linux/err.h>
#include <linux/jhash.h>
#include <linux/moduleparam.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>

#include "pkram_internal.h"

#define PK_PAGE		((u64)PKRAM_FMT_PAGE_SIZE)

/*
 * Objects a node may be given (each costs kernel memory, charged to the
 * creator's memcg); creating one more is ENOSPC. Restore is not capped: a
 * node sealed under a higher limit still comes back.
 */
static unsigned int max_objects = 1 << 20;
module_param(max_objects, uint, 0644);
MODULE_PARM_DESC(max_objects, "objects one node may be given (default 1048576)");

/* What an object is found by: its name. */
struct name_key {
	const char *name;
	u32 len;
};

/*
 * jhash, as rhashtable's own default: the table takes the low bits of the
 * hash, and full_name_hash() (made for the dcache, which takes the high
 * ones) put 111 of 200 names like "dir/f1".."dir/f200" in one bucket
 * whatever the seed, long enough chains for an insert during a resize to
 * fail with EBUSY (a restore rejected the node).
 */
static u32 key_hash(const void *data, u32 len, u32 seed)
{
	const struct name_key *key = data;

	return jhash(key->name, key->len, seed);
}

static u32 object_hash(const void *data, u32 len, u32 seed)
{
	const struct pkram_object *obj = data;

	return jhash(obj->name, obj->name_len, seed);
}

static int object_cmp(struct rhashtable_compare_arg *arg, const void *data)
{
	const struct name_key *key = arg->key;
	const struct pkram_object *obj = data;

	return obj->name_len != key->len || memcmp(obj->name, key->name, key->len);
}

static const struct rhashtable_params by_name_params = {
	.head_offset = offsetof(struct pkram_object, hash),
	.hashfn = key_hash,
	.obj_hashfn = object_hash,
	.obj_cmpfn = object_cmp,
	.automatic_shrinking = true,
};

int pkram_object_table_init(struct pkram_node *node)
{
	return rhashtable_init(&node->by_name, &by_name_params);
}

/* After every object is gone. */
void pkram_object_table_destroy(struct pkram_node *node)
{
	rhashtable_destroy(&node->by_name);
}

static void unhash(struct pkram_node *node, struct pkram_object *obj)
{
	rhashtable_remove_fast(&node->by_name, &obj->hash, by_name_params);
}

void pkram_object_destroy(struct pkram_pool *pool, struct pkram_object *obj,
			  bool release_pages)
{
	int s;

	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++) {
		pkram_stream_put_inode(&obj->stream[s]);
		pkram_stream_destroy(&obj->stream[s],
				     release_pages ? pkram_release_pages : NULL,
				     pool);
	}
	kfree(obj->name);
	kfree(obj);
}

/* The last reference of a deleted object: its pages go back to the pool. */
static void object_release(struct kref *ref)
{
	pkram_object_destroy(pkram_pool,
			     container_of(ref, struct pkram_object, ref), true);
}

void pkram_object_put(struct pkram_object *obj)
{
	kref_put(&obj->ref, object_release);
}

/*
 * True when a page of a node that was ever mapped is still held beyond its
 * mappings (pinned by get_user_pages, in a pipe): it must not be freed.
 * O(pages) of such nodes only; the caller keeps the objects from changing.
 */
bool pkram_node_pages_held(struct pkram_pool *pool, struct pkram_node *node)
{
	struct pkram_object *obj;
	unsigned long id;
	int s;

	if (!node->exposed)
		return false;
	xa_for_each(&node->objects, id, obj)
		for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++)
			if (pkram_stream_held(pool, &obj->stream[s], 0))
				return true;
	return false;
}

/* Data pages of all objects; the caller keeps the objects from changing. */
u64 pkram_node_data_pages(struct pkram_node *node)
{
	struct pkram_object *obj;
	unsigned long id;
	u64 pages = 0;

	xa_for_each(&node->objects, id, obj)
		pages += obj->stream[0].nr_pages + obj->stream[1].nr_pages;
	return pages;
}

static struct pkram_object *object_find(struct pkram_node *node,
					const char *name, size_t len)
{
	struct name_key key = { .name = name, .len = len };

	return rhashtable_lookup_fast(&node->by_name, &key, by_name_params);
}

/* Adds an empty object; the caller holds objects_lock or owns the node. */
struct pkram_object *pkram_object_add(struct pkram_node *node,
				      const char *name, size_t len)
{
	struct pkram_object *obj;
	int s, ret;

	if (object_find(node, name, len))
		return ERR_PTR(-EEXIST);
	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->name = kmemdup_nul(name, len, GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!obj->name)
		goto err_free;
	obj->name_len = len;
	obj->node = node;
	kref_init(&obj->ref);
	init_rwsem(&obj->lock);
	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++)
		pkram_stream_init(&obj->stream[s]);
	ret = rhashtable_insert_fast(&node->by_name, &obj->hash, by_name_params);
	if (ret)
		goto err_free;
	ret = xa_alloc(&node->objects, &obj->id, obj, xa_limit_32b, GFP_KERNEL_ACCOUNT);
	if (ret) {
		unhash(node, obj);
		goto err_free;
	}
	node->nr_objects++;
	return obj;

err_free:
	kfree(obj->name);
	kfree(obj);
	return ERR_PTR(ret);
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
	} else if (node->nr_objects >= READ_ONCE(max_objects)) {
		ret = -ENOSPC;
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
		unhash(node, obj);
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

	name = kmemdup_nul(new, new_len, GFP_KERNEL_ACCOUNT);
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
		/* Rehashed under its new name first: only that can fail. */
		unhash(node, obj);
		swap(obj->name, name);
		obj->name_len = new_len;
		ret = rhashtable_insert_fast(&node->by_name, &obj->hash,
					     by_name_params);
		if (ret) {
			swap(obj->name, name);
			obj->name_len = old_len;
			/* Back where it just was: the table has the room. */
			WARN_ON_ONCE(rhashtable_insert_fast(&node->by_name,
							    &obj->hash,
							    by_name_params));
		} else if (victim) {
			xa_erase(&node->objects, victim->id);
			unhash(node, victim);
			node->nr_objects--;
			pkram_object_put(victim);
		}
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

/* Extents of the page stream, and its aligned 2 MiB pieces on aligned pool. */
static int count_layout(void *ctx, const struct pkram_extent *ext)
{
	struct pkram_obj_stat *st = ctx;

	st->nr_huge += pkram_extent_huge_pieces(ext);
	return 0;
}

/* The caller holds the node's objects_lock (the name may change otherwise). */
void pkram_object_describe(struct pkram_object *obj, struct pkram_obj_stat *st,
			   char *name)
{
	lockdep_assert_held(&obj->node->objects_lock);
	memcpy(name, obj->name, obj->name_len + 1);
	down_read(&obj->lock);
	st->nr_extents = obj->stream[PKRAM_FMT_STREAM_PAGES].nr_extents;
	st->nr_huge = 0;
	pkram_extents_walk(&obj->stream[PKRAM_FMT_STREAM_PAGES], count_layout,
			   st);
	st->id = obj->id;
	st->page_size = obj->stream[PKRAM_FMT_STREAM_PAGES].size;
	st->byte_size = obj->stream[PKRAM_FMT_STREAM_BYTES].size;
	st->data_bytes = (obj->stream[0].nr_pages + obj->stream[1].nr_pages) *
			 PK_PAGE;
	st->name_len = obj->name_len;
	up_read(&obj->lock);
}
