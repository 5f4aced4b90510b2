// SPDX-License-Identifier: GPL-2.0
/*
 * pkram pool allocator: the free-space map (one bit per 4 KiB pool page, set
 * when in use) and how pages are handed out. Stream data is placed in
 * aligned 2 MiB pool chunks, pool page == stream index (mod 512), so extents
 * are long and can be mapped with PMDs; pages are claimed as they are
 * written, so a small file costs its pages, not a chunk. Metadata blocks come
 * from a chunk of their own, so they do not break up data chunks. Searches
 * use the kernel's bitmap helpers, a word at a time, under pool->alloc_lock.
 */
#include <linux/bitmap.h>
#include <linux/build_bug.h>
#include <linux/spinlock.h>

#include "pkram_internal.h"

#define CHUNK	PKRAM_FMT_HUGE_PAGES

static unsigned long *map_bits(struct pkram_pool *pool)
{
	BUILD_BUG_ON(sizeof(unsigned long) != sizeof(u64));
	return (unsigned long *)pool->map.words;
}

static void claim(struct pkram_pool *pool, u64 first, u64 nr)
{
	bitmap_set(map_bits(pool), first, nr);
	pool->used_pages += nr;
}

/* First fit of nr pages at a multiple of align from hint on, wrapping once. */
static u64 find_free(struct pkram_pool *pool, u64 nr, u64 align, u64 hint)
{
	unsigned long size = pool->map.nr_bits, found;

	if (hint >= size)
		hint = 0;
	found = bitmap_find_next_zero_area(map_bits(pool), size, hint, nr,
					   align - 1);
	if (found + nr > size && hint)
		found = bitmap_find_next_zero_area(map_bits(pool), size, 0, nr,
						   align - 1);
	return found + nr > size ? PKRAM_FMT_NO_PAGE : found;
}

/* A wholly free chunk, at prefer if it is one, else the first from there. */
static u64 find_free_chunk(struct pkram_pool *pool, u64 prefer)
{
	u64 chunk;

	if (pool->no_free_chunk)
		return PKRAM_FMT_NO_PAGE;
	/* Lowest first: the pool stays compact and freed memory is reused. */
	chunk = find_free(pool, CHUNK, CHUNK,
			  prefer != PKRAM_FMT_NO_PAGE ? prefer : 0);
	if (chunk == PKRAM_FMT_NO_PAGE)
		pool->no_free_chunk = true;	/* until pages are freed */
	return chunk;
}

/*
 * Starts a stream chunk: picks a wholly free pool chunk (prefer, where the
 * stream's previous chunk ends, or the first after it) and claims only the
 * nr pages at offset in it. The rest stays free but is left alone by other
 * chunk searches, so the stream's later pages find their congruent place.
 */
u64 pkram_alloc_chunk(struct pkram_pool *pool, u64 prefer, u64 offset, u64 nr)
{
	u64 chunk;

	if (prefer != PKRAM_FMT_NO_PAGE &&
	    (!IS_ALIGNED(prefer, CHUNK) || prefer >= pool->map.nr_bits))
		prefer = PKRAM_FMT_NO_PAGE;
	spin_lock(&pool->alloc_lock);
	chunk = find_free_chunk(pool, prefer);
	if (chunk != PKRAM_FMT_NO_PAGE)
		claim(pool, chunk + offset, nr);
	spin_unlock(&pool->alloc_lock);
	return chunk == PKRAM_FMT_NO_PAGE ? chunk : chunk + offset;
}

/* Exactly the pages [first, first + nr) if they are all free. */
bool pkram_alloc_exact(struct pkram_pool *pool, u64 first, u64 nr)
{
	bool ok;

	if (first >= pool->map.nr_bits || nr > pool->map.nr_bits - first)
		return false;
	spin_lock(&pool->alloc_lock);
	ok = find_next_bit(map_bits(pool), first + nr, first) >= first + nr;
	if (ok)
		claim(pool, first, nr);
	spin_unlock(&pool->alloc_lock);
	return ok;
}

/* nr free pages anywhere (first fit): data when no chunk can be had. */
u64 pkram_alloc_run(struct pkram_pool *pool, u64 nr)
{
	u64 first;

	spin_lock(&pool->alloc_lock);
	first = find_free(pool, nr, 1, 0);
	if (first != PKRAM_FMT_NO_PAGE)
		claim(pool, first, nr);
	spin_unlock(&pool->alloc_lock);
	return first;
}

/*
 * One page for metadata: from the chunk kept for them (chunk 0 holds the
 * superblock and starts as that chunk), then a wholly free one, then any.
 */
u64 pkram_alloc_block(struct pkram_pool *pool)
{
	unsigned long end;
	u64 first;

	spin_lock(&pool->alloc_lock);
	end = min(pool->small_chunk + CHUNK, pool->map.nr_bits);
	first = bitmap_find_next_zero_area(map_bits(pool), end,
					   pool->small_chunk, 1, 0);
	if (first >= end) {
		first = find_free_chunk(pool, PKRAM_FMT_NO_PAGE);
		if (first != PKRAM_FMT_NO_PAGE)
			pool->small_chunk = first;
		else
			first = find_free(pool, 1, 1, 0);
	}
	if (first != PKRAM_FMT_NO_PAGE)
		claim(pool, first, 1);
	spin_unlock(&pool->alloc_lock);
	return first;
}

void pkram_free_pages(struct pkram_pool *pool, u64 first, u64 nr)
{
	spin_lock(&pool->alloc_lock);
	bitmap_clear(map_bits(pool), first, nr);
	pool->used_pages -= nr;
	pool->no_free_chunk = false;
	spin_unlock(&pool->alloc_lock);
}

/* The release callback of the extent index: pages back to the pool. */
void pkram_release_pages(void *pool, u64 first, u64 nr)
{
	pkram_free_pages(pool, first, nr);
}

/*
 * A restored node's pages, which validation claimed in the map directly
 * (each one newly set: the validator refuses overlaps): O(1), not O(pool).
 */
void pkram_alloc_restored(struct pkram_pool *pool, u64 nr)
{
	spin_lock(&pool->alloc_lock);
	pool->used_pages += nr;
	spin_unlock(&pool->alloc_lock);
}

/* A map set up directly (the pool's creation): count it. */
void pkram_alloc_recount(struct pkram_pool *pool)
{
	spin_lock(&pool->alloc_lock);
	pool->used_pages = bitmap_weight(map_bits(pool), pool->map.nr_bits);
	pool->small_chunk = 0;
	pool->no_free_chunk = false;
	spin_unlock(&pool->alloc_lock);
}

/*
 * The end, in bytes from the pool's base, of the highest page in use (lent
 * pages are not): what a smaller pool for the next kernel must still hold.
 */
u64 pkram_alloc_high_water(struct pkram_pool *pool)
{
	unsigned long end = pool->map.nr_bits, last;
	u64 lent;

	spin_lock(&pool->alloc_lock);
	for (;;) {
		last = find_last_bit(map_bits(pool), end);
		if (last >= end)
			break;
		lent = pkram_lent_unit_start(pool, last);
		if (lent == PKRAM_FMT_NO_PAGE)
			break;
		end = lent;
	}
	spin_unlock(&pool->alloc_lock);
	return last >= end ? 0 : (u64)(last + 1) << PKRAM_FMT_PAGE_SHIFT;
}
