// SPDX-License-Identifier: GPL-2.0
/*
 * pkram struct pages: the pool gets a memmap the way device-dax does
 * (memremap_pages(), ZONE_DEVICE, MEMORY_DEVICE_GENERIC), so mappings of
 * objects hold real pages: PMD-mapped, and pinnable by get_user_pages
 * (O_DIRECT, io_uring fixed buffers, VFIO, process_vm_readv).
 *
 * The memmap costs 64 bytes per 4 KiB page and its initialisation grows with
 * the pool, so it is built in blocks, after restore and outside it: a worker
 * maps the blocks in address order once the module is loaded, and a fault on
 * a block not mapped yet maps that block at once. Restoring (validating
 * metadata) never waits for it. Without a memmap (memremap_pages() failed)
 * mappings still work, with raw PFNs: 4 KiB, and not pinnable.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "pkram_internal.h"

/* A memory section: what one memremap_pages() call maps. */
#define BLOCK_PAGES	(PKRAM_MEMMAP_BLOCK_BYTES >> PKRAM_FMT_PAGE_SHIFT)

struct pkram_memmap_block {
	struct dev_pagemap pgmap;
	bool ready;			/* set (release) once mapped */
	bool failed;
	bool lent;			/* the system's RAM now: no memmap of ours */
};

struct pkram_memmap {
	struct pkram_pool *pool;
	struct mutex lock;		/* mapping a block */
	atomic_t faults_waiting;	/* faults waiting for their block */
	wait_queue_head_t faults_done;	/* the worker waits for them */
	struct work_struct work;
	u64 nr_blocks;
	u64 built_ns;			/* time spent building, all blocks */
	atomic64_t nr_ready;
	struct pkram_memmap_block blocks[];
};

static struct pkram_memmap_block *block_of(struct pkram_memmap *mm, u64 page)
{
	return &mm->blocks[page / BLOCK_PAGES];
}

/* Maps one block; the caller holds mm->lock. */
static void map_block(struct pkram_memmap *mm, u64 i)
{
	struct pkram_memmap_block *b = &mm->blocks[i];
	struct pkram_pool *pool = mm->pool;
	u64 first = i * BLOCK_PAGES;
	u64 nr = min_t(u64, BLOCK_PAGES, pool->map.nr_bits - first);
	u64 start = ktime_get_ns();
	void *addr;

	if (b->ready || b->failed || b->lent)
		return;
	memset(&b->pgmap, 0, sizeof(b->pgmap));
	b->pgmap.type = MEMORY_DEVICE_GENERIC;
	b->pgmap.range.start = pool->base + (first << PKRAM_FMT_PAGE_SHIFT);
	b->pgmap.range.end = b->pgmap.range.start +
			     (nr << PKRAM_FMT_PAGE_SHIFT) - 1;
	b->pgmap.nr_range = 1;
	addr = memremap_pages(&b->pgmap, NUMA_NO_NODE);
	if (IS_ERR(addr)) {
		b->failed = true;
		pr_warn("no struct pages for pool pages %llu-%llu (%ld): their mappings use 4 KiB PFNs and cannot be pinned\n",
			first, first + nr - 1, PTR_ERR(addr));
		return;
	}
	mm->built_ns += ktime_get_ns() - start;
	atomic64_inc(&mm->nr_ready);
	/* Pairs with the acquire of readers: the memmap is set up before. */
	smp_store_release(&b->ready, true);
}

static void build_all(struct work_struct *work)
{
	struct pkram_memmap *mm = container_of(work, struct pkram_memmap, work);
	u64 i;

	for (i = 0; i < mm->nr_blocks; i++) {
		/*
		 * A fault waiting for its block goes first: a mutex is not
		 * fair, and this loop took it back block after block (on 6.12
		 * just after boot a first fault waited 4.6 s for all 36).
		 */
		wait_event(mm->faults_done, !atomic_read(&mm->faults_waiting));
		mutex_lock(&mm->lock);
		map_block(mm, i);
		mutex_unlock(&mm->lock);
		cond_resched();
	}
	pr_info("struct pages for the pool ready: %llu of %llu blocks, %llu MiB of memmap built in %llu ms\n",
		(u64)atomic64_read(&mm->nr_ready), mm->nr_blocks,
		(mm->pool->map.nr_bits * sizeof(struct page)) >> 20,
		mm->built_ns / NSEC_PER_MSEC);
}

/*
 * The struct page of a pool page, mapping its block first if need be, or
 * NULL when the block has none. May sleep.
 */
struct page *pkram_memmap_page(struct pkram_pool *pool, u64 pool_page)
{
	struct pkram_memmap *mm = pool->memmap;
	struct pkram_memmap_block *b;

	if (!mm)
		return NULL;
	b = block_of(mm, pool_page);
	/* Pairs with the release in map_block(). */
	if (!smp_load_acquire(&b->ready)) {
		atomic_inc(&mm->faults_waiting);
		mutex_lock(&mm->lock);
		map_block(mm, b - mm->blocks);
		mutex_unlock(&mm->lock);
		if (atomic_dec_and_test(&mm->faults_waiting))
			wake_up(&mm->faults_done);
		if (!b->ready)
			return NULL;
	}
	return pfn_to_page(PHYS_PFN(pool->base) + pool_page);
}

/*
 * True when a page of [first, first + nr) is held by someone but its
 * mappings: get_user_pages pins and gets, a pipe. Pages of blocks without a
 * memmap cannot be held that way.
 */
bool pkram_memmap_held(struct pkram_pool *pool, u64 first, u64 nr)
{
	struct pkram_memmap *mm = pool->memmap;
	u64 p;

	if (!mm)
		return false;
	for (p = first; p < first + nr; p++) {
		struct pkram_memmap_block *b = block_of(mm, p);

		/* Pairs with the release in map_block(). */
		if (!smp_load_acquire(&b->ready)) {
			p = round_up(p + 1, BLOCK_PAGES) - 1;
			continue;
		}
		/* ZONE_DEVICE generic pages rest at a count of one. */
		if (page_ref_count(pfn_to_page(PHYS_PFN(pool->base) + p)) != 1)
			return true;
		if (!(p % 1024))
			cond_resched();
	}
	return false;
}

/*
 * The memmap blocks of [first, first + nr) (whole blocks) give up their
 * struct pages, for the system to add the memory as its own: -EBUSY (and
 * nothing changed) while a pipe or a pin still holds one of their pages.
 */
int pkram_memmap_release(struct pkram_pool *pool, u64 first, u64 nr)
{
	struct pkram_memmap *mm = pool->memmap;
	u64 i;

	if (!mm)
		return 0;
	mutex_lock(&mm->lock);
	if (pkram_memmap_held(pool, first, nr)) {
		mutex_unlock(&mm->lock);
		return -EBUSY;
	}
	for (i = first / BLOCK_PAGES; i < (first + nr) / BLOCK_PAGES; i++) {
		struct pkram_memmap_block *b = &mm->blocks[i];

		if (b->ready) {
			/* Pairs with the acquire of readers. */
			smp_store_release(&b->ready, false);
			memunmap_pages(&b->pgmap);
			atomic64_dec(&mm->nr_ready);
		}
		b->failed = false;
		b->lent = true;
	}
	mutex_unlock(&mm->lock);
	return 0;
}

/* The memory came back from the system: the blocks get struct pages again. */
void pkram_memmap_restore(struct pkram_pool *pool, u64 first, u64 nr)
{
	struct pkram_memmap *mm = pool->memmap;
	u64 i;

	if (!mm)
		return;
	mutex_lock(&mm->lock);
	for (i = first / BLOCK_PAGES; i < (first + nr) / BLOCK_PAGES; i++) {
		mm->blocks[i].lent = false;
		map_block(mm, i);
	}
	mutex_unlock(&mm->lock);
}

int pkram_memmap_init(struct pkram_pool *pool)
{
	u64 nr = DIV_ROUND_UP(pool->map.nr_bits, BLOCK_PAGES);
	struct pkram_memmap *mm;

	mm = kvzalloc(struct_size(mm, blocks, nr), GFP_KERNEL);
	if (!mm)
		return -ENOMEM;
	mm->pool = pool;
	mm->nr_blocks = nr;
	mutex_init(&mm->lock);
	atomic_set(&mm->faults_waiting, 0);
	init_waitqueue_head(&mm->faults_done);
	atomic64_set(&mm->nr_ready, 0);
	INIT_WORK(&mm->work, build_all);
	pool->memmap = mm;
	queue_work(system_unbound_wq, &mm->work);
	return 0;
}

void pkram_memmap_exit(struct pkram_pool *pool)
{
	struct pkram_memmap *mm = pool->memmap;
	u64 i;

	if (!mm)
		return;
	cancel_work_sync(&mm->work);
	for (i = 0; i < mm->nr_blocks; i++)
		if (mm->blocks[i].ready)
			memunmap_pages(&mm->blocks[i].pgmap);
	kvfree(mm);
	pool->memmap = NULL;
}
