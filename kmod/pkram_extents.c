// SPDX-License-Identifier: GPL-2.0
/*
 * pkram stream extents: the in-memory index of a stream, one maple tree
 * range per extent (page indices [index, index + nr) backed by the pool pages
 * [pool_page, pool_page + nr)), as the persisted format stores them. Lookup
 * is O(log extents); walks, truncation and teardown are O(extents), so
 * nothing in sealing, restoring or freeing grows with the bytes.
 *
 * The tree's entry for a range is xa_mk_value(first pool page of the range).
 * The caller serializes changes (pkram_object.lock); lookups take the RCU
 * read lock themselves and copy the extent out.
 *
 * A restored stream starts out as the array of its validated extents, in
 * index order as the pool stores them: restore appends to it, lookups search
 * it, and only the first change (a reopened node being written or truncated)
 * moves it into the tree. A tree insert costs more than validating the
 * extent, so restoring into the tree would make 4 KiB-fragmented nodes
 * restore at many times the cost of their validation.
 */
#include <linux/maple_tree.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/xarray.h>

#include "pkram_internal.h"

/*
 * A restored extent in the array: the format's limits (indices below 2^32,
 * 32-bit lengths) fit it in 16 bytes, a third less to allocate and clear.
 */
struct restored_extent {
	u64 pool_page;
	u32 index;
	u32 nr_pages;
};

struct pkram_extent_array {
	u64 nr, capacity;
	struct restored_extent ext[];
};

static struct pkram_extent extent_of(const struct restored_extent *e)
{
	return (struct pkram_extent){
		.index = e->index, .pool_page = e->pool_page,
		.nr_pages = e->nr_pages,
	};
}

void pkram_stream_init(struct pkram_stream *st)
{
	mt_init(&st->extents);
	st->restored = NULL;
	st->size = 0;
	st->nr_pages = 0;
	st->nr_extents = 0;
}

/* The first extent of the array ending after page idx, by bisection. */
static bool array_find(const struct pkram_extent_array *a, u64 idx,
		       struct pkram_extent *ext)
{
	u64 lo = 0, hi = a->nr;

	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;

		if ((u64)a->ext[mid].index + a->ext[mid].nr_pages <= idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->nr)
		return false;
	*ext = extent_of(&a->ext[lo]);
	return true;
}

/* The extent holding page idx, or else the first one after it. */
bool pkram_extent_find(struct pkram_stream *st, u64 idx,
		       struct pkram_extent *ext)
{
	MA_STATE(mas, &st->extents, idx, idx);
	void *entry;

	if (st->restored)
		return array_find(st->restored, idx, ext);
	rcu_read_lock();
	entry = mas_find(&mas, ULONG_MAX);
	if (entry) {
		ext->index = mas.index;
		ext->nr_pages = mas.last - mas.index + 1;
		ext->pool_page = xa_to_value(entry);
	}
	rcu_read_unlock();
	return entry;
}

/* The extent holding page idx, if any. */
bool pkram_extent_lookup(struct pkram_stream *st, u64 idx,
			 struct pkram_extent *ext)
{
	return pkram_extent_find(st, idx, ext) && ext->index <= idx;
}

/* The pool page backing page idx, or PKRAM_FMT_NO_PAGE for a hole. */
u64 pkram_extent_page(struct pkram_stream *st, u64 idx)
{
	struct pkram_extent ext;

	if (!pkram_extent_lookup(st, idx, &ext))
		return PKRAM_FMT_NO_PAGE;
	return ext.pool_page + (idx - ext.index);
}

static bool extent_last(struct pkram_stream *st, u64 idx,
			struct pkram_extent *ext)
{
	return idx && pkram_extent_lookup(st, idx - 1, ext);
}

/* Kernel memory a restored stream of nr_extents extents takes. */
size_t pkram_stream_restore_bytes(u32 nr_extents)
{
	struct pkram_extent_array *a;

	return nr_extents ? struct_size(a, ext, nr_extents) : 0;
}

/*
 * Room for a restored stream's nr_extents extents, which then arrive in
 * index order through pkram_extents_restore. The count comes from the pool:
 * an impossible one fails here (-ENOMEM, quietly) or in validation.
 */
int pkram_stream_restore_begin(struct pkram_stream *st, u32 nr_extents)
{
	struct pkram_extent_array *a;

	if (!nr_extents)
		return 0;
	a = kvmalloc(pkram_stream_restore_bytes(nr_extents),
		     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!a)
		return -ENOMEM;
	a->nr = 0;
	a->capacity = nr_extents;
	st->restored = a;
	return 0;
}

/* Appends validated extents (sorted, not overlapping) of a restored stream. */
int pkram_extents_restore(struct pkram_stream *st,
			  const struct pkram_fmt_extent *ext, u32 nr)
{
	struct pkram_extent_array *a = st->restored;

	if (!a || nr > a->capacity - a->nr)
		return -EOVERFLOW;
	for (; nr--; ext++) {
		if (ext->index > U32_MAX)
			return -EOVERFLOW;
		a->ext[a->nr++] = (struct restored_extent){
			.index = ext->index, .pool_page = ext->pool_page,
			.nr_pages = ext->nr_pages,
		};
		st->nr_pages += ext->nr_pages;
		st->nr_extents++;
	}
	return 0;
}

/*
 * Before the first change to a restored stream, its extents move into the
 * tree (O(extents), once). On failure the array stays and the tree is empty.
 */
static int stream_thaw(struct pkram_stream *st)
{
	struct pkram_extent_array *a = st->restored;
	u64 i;
	int ret;

	if (!a)
		return 0;
	for (i = 0; i < a->nr; i++) {
		const struct pkram_extent e = extent_of(&a->ext[i]);

		ret = mtree_store_range(&st->extents, e.index,
					e.index + e.nr_pages - 1,
					xa_mk_value(e.pool_page),
					GFP_KERNEL_ACCOUNT);
		if (ret) {
			mtree_destroy(&st->extents);
			return ret;
		}
		cond_resched();
	}
	st->restored = NULL;
	kvfree(a);
	return 0;
}

/*
 * Backs the hole [index, index + nr) with pool pages from pool_page on,
 * merging with the extents before and after when both the indices and the
 * pool pages continue. A failed insert leaves the stream as it was.
 */
int pkram_extent_insert(struct pkram_stream *st, u64 index, u64 pool_page,
			u64 nr)
{
	struct pkram_extent prev, next;
	u64 first = index, last = index + nr - 1, page = pool_page;
	int merged = 0, ret;

	ret = stream_thaw(st);
	if (ret)
		return ret;
	if (extent_last(st, index, &prev) &&
	    prev.pool_page + prev.nr_pages == pool_page) {
		first = prev.index;
		page = prev.pool_page;
		merged++;
	}
	if (pkram_extent_lookup(st, index + nr, &next) &&
	    next.pool_page == pool_page + nr) {
		last = next.index + next.nr_pages - 1;
		merged++;
	}
	ret = mtree_store_range(&st->extents, first, last, xa_mk_value(page),
				GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	st->nr_pages += nr;
	st->nr_extents += 1 - merged;
	return 0;
}

/*
 * Drops every page at index >= from, handing each cut run of pool pages to
 * release; O(extents cut). Only splitting the extent that straddles from can
 * fail (-ENOMEM, the tree needs a node), and then nothing was changed.
 */
int pkram_extents_cut(struct pkram_stream *st, u64 from,
		      void (*release)(void *ctx, u64 first, u64 nr), void *ctx)
{
	struct pkram_extent ext;
	int ret;

	ret = stream_thaw(st);
	if (ret)
		return ret;
	if (pkram_extent_lookup(st, from, &ext) && ext.index < from) {
		u64 keep = from - ext.index;

		ret = mtree_store_range(&st->extents, from,
					ext.index + ext.nr_pages - 1, NULL,
					GFP_KERNEL_ACCOUNT);
		if (ret)
			return ret;
		release(ctx, ext.pool_page + keep, ext.nr_pages - keep);
		st->nr_pages -= ext.nr_pages - keep;
	}
	while (pkram_extent_find(st, from, &ext)) {
		mtree_erase(&st->extents, ext.index);
		release(ctx, ext.pool_page, ext.nr_pages);
		st->nr_pages -= ext.nr_pages;
		st->nr_extents--;
		cond_resched();
	}
	return 0;
}

/* Frees the index; with release, every extent's pool pages go to it. */
void pkram_stream_destroy(struct pkram_stream *st,
			  void (*release)(void *ctx, u64 first, u64 nr),
			  void *ctx)
{
	struct pkram_extent ext;
	u64 idx = 0;

	while (release && pkram_extent_find(st, idx, &ext)) {
		release(ctx, ext.pool_page, ext.nr_pages);
		idx = ext.index + ext.nr_pages;
		cond_resched();
	}
	mtree_destroy(&st->extents);
	kvfree(st->restored);
	st->restored = NULL;
	st->nr_pages = 0;
	st->nr_extents = 0;
}

/*
 * Calls fn for each extent from page index 0 on, in order, until fn returns
 * nonzero. fn may sleep but must not change the stream.
 */
int pkram_extents_walk(struct pkram_stream *st,
		       int (*fn)(void *ctx, const struct pkram_extent *ext),
		       void *ctx)
{
	struct pkram_extent ext;
	u64 idx = 0;
	int ret;

	while (pkram_extent_find(st, idx, &ext)) {
		ret = fn(ctx, &ext);
		if (ret)
			return ret;
		idx = ext.index + ext.nr_pages;
		cond_resched();
	}
	return 0;
}

/* Aligned 2 MiB pieces of the stream backed by aligned 2 MiB of pool. */
u64 pkram_extent_huge_pieces(const struct pkram_extent *ext)
{
	u64 first = round_up(ext->index, PKRAM_FMT_HUGE_PAGES);
	u64 end = ext->index + ext->nr_pages;

	if ((ext->pool_page - ext->index) % PKRAM_FMT_HUGE_PAGES ||
	    first + PKRAM_FMT_HUGE_PAGES > end)
		return 0;
	return (end - first) / PKRAM_FMT_HUGE_PAGES;
}
