// SPDX-License-Identifier: GPL-2.0
/*
 * pkram lending: wholly free memory blocks of the pool are lent to the
 * system as driver-managed RAM ("System RAM (pkram)", the way virtio-mem and
 * dax/kmem add memory), and taken back by offline_and_remove_memory(), the
 * kernel migrating what it put there: by hand, or when an allocation finds
 * no free page that is not lent.
 *
 * A lent block's pages are set in the free-space map, so nothing is ever
 * allocated or preserved there, but counted as lent, not used. The map is
 * rebuilt from the nodes by the next kernel, which reserves the whole pool
 * again with memmap=, so lending leaves no trace in the pool. kexec_file_load
 * never places segments in driver-managed RAM; pkram-cli's kexec_load window
 * excludes the whole pool.
 *
 * Taking a block back can wait on the system (a page under writeback, say),
 * so it runs in a kthread of its own: the caller waits reclaim_timeout_ms,
 * then kills it (offline_pages() stops at a fatal signal) and gives up; the
 * kthread settles the block's state whenever the offlining returns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "pkram_internal.h"

static unsigned long lend_keep_mb = 256;
module_param(lend_keep_mb, ulong, 0644);
MODULE_PARM_DESC(lend_keep_mb,
		 "free pool memory that lending keeps unlent unless told otherwise (MiB)");

static unsigned int reclaim_timeout_ms = 10000;
module_param(reclaim_timeout_ms, uint, 0644);
MODULE_PARM_DESC(reclaim_timeout_ms,
		 "how long taking one lent block back may take before it is given up (ms)");

#define LENT_NAME	"System RAM (pkram)"

enum unit_state { UNIT_OWNED, UNIT_LENT, UNIT_RECLAIMING };

struct pkram_lend {
	struct mutex lock;	/* state[], nr_out, the pool resource's flags */
	u64 unit_pages;		/* a memory block, in pool pages */
	u64 first_page;		/* pool page of the first whole block */
	u64 nr_units;
	u64 nr_out;		/* lent or being reclaimed: a module ref */
	u8 state[];
};

/* One reclaim, shared by its caller and its kthread. */
struct reclaim_job {
	struct kref ref;
	struct completion done;
	struct pkram_pool *pool;
	u64 unit;
	int ret;
};

static u64 unit_page(struct pkram_lend *l, u64 unit)
{
	return l->first_page + unit * l->unit_pages;
}

static phys_addr_t unit_phys(struct pkram_pool *pool, u64 unit)
{
	return pool->base +
	       (unit_page(pool->lend, unit) << PKRAM_FMT_PAGE_SHIFT);
}

static u64 unit_bytes(struct pkram_lend *l)
{
	return l->unit_pages << PKRAM_FMT_PAGE_SHIFT;
}

/* The first unit out takes a module ref, and lets hotplug nest in the pool. */
static void unit_out(struct pkram_pool *pool)
{
	struct pkram_lend *l = pool->lend;

	if (!l->nr_out++) {
		__module_get(THIS_MODULE);
		/* add_memory() adds its resource inside a non-busy parent. */
		pool->res->flags &= ~IORESOURCE_BUSY;
	}
}

static void unit_in(struct pkram_pool *pool)
{
	struct pkram_lend *l = pool->lend;

	if (!--l->nr_out) {
		/* release_mem_region() finds only busy resources. */
		pool->res->flags |= IORESOURCE_BUSY;
		module_put(THIS_MODULE);
	}
}

/* Claims a wholly free unit in the map as lent; false if a page is in use. */
static bool claim_unit(struct pkram_pool *pool, u64 unit, u64 keep_pages)
{
	struct pkram_lend *l = pool->lend;
	u64 first = unit_page(l, unit);
	unsigned long *bits = (unsigned long *)pool->map.words;
	bool ok;

	spin_lock(&pool->alloc_lock);
	ok = pool->map.nr_bits - pool->used_pages - pool->lent_pages >=
		     keep_pages + l->unit_pages &&
	     find_next_bit(bits, first + l->unit_pages, first) >=
		     first + l->unit_pages;
	if (ok) {
		bitmap_set(bits, first, l->unit_pages);
		pool->lent_pages += l->unit_pages;
	}
	spin_unlock(&pool->alloc_lock);
	return ok;
}

static void unclaim_unit(struct pkram_pool *pool, u64 unit)
{
	struct pkram_lend *l = pool->lend;

	spin_lock(&pool->alloc_lock);
	bitmap_clear((unsigned long *)pool->map.words, unit_page(l, unit),
		     l->unit_pages);
	pool->lent_pages -= l->unit_pages;
	pool->no_free_chunk = false;
	spin_unlock(&pool->alloc_lock);
}

/* Lends one claimed unit: its struct pages go, the system's memory comes. */
static int lend_unit(struct pkram_pool *pool, u64 unit)
{
	struct pkram_lend *l = pool->lend;
	phys_addr_t start = unit_phys(pool, unit);
	int ret;

	ret = pkram_memmap_release(pool, unit_page(l, unit), l->unit_pages);
	if (ret)
		return ret;
	unit_out(pool);
	ret = add_memory_driver_managed(memory_add_physaddr_to_nid(start), start,
					unit_bytes(l), LENT_NAME, MHP_NONE);
	if (ret) {
		unit_in(pool);
		pkram_memmap_restore(pool, unit_page(l, unit), l->unit_pages);
		pr_warn("cannot lend pool memory %pa+%lluM to the system (%d)\n",
			&start, unit_bytes(l) >> 20, ret);
		return ret;
	}
	l->state[unit] = UNIT_LENT;
	return 0;
}

int pkram_lend(struct pkram_pool *pool, u64 keep_bytes, u64 *lent_bytes)
{
	struct pkram_lend *l = pool->lend;
	u64 keep_pages, unit;
	int ret = 0;

	*lent_bytes = 0;
	if (!l)
		return -EOPNOTSUPP;
	if (keep_bytes == PKRAM_LEND_KEEP_DEFAULT)
		keep_bytes = (u64)READ_ONCE(lend_keep_mb) << 20;
	keep_pages = DIV_ROUND_UP(keep_bytes, PAGE_SIZE);
	mutex_lock(&pool->lock);
	if (pool->stale_held) {
		mutex_unlock(&pool->lock);
		return -ESTALE;
	}
	mutex_unlock(&pool->lock);
	if (mutex_lock_killable(&l->lock))
		return -EINTR;
	/* Highest first: the allocator fills the pool from the bottom. */
	for (unit = l->nr_units; unit-- > 0;) {
		if (l->state[unit] != UNIT_OWNED)
			continue;
		if (!claim_unit(pool, unit, keep_pages))
			continue;
		ret = lend_unit(pool, unit);
		if (ret) {
			unclaim_unit(pool, unit);
			/* Pages held by a pipe: skip the block, not the call. */
			if (ret == -EBUSY) {
				ret = 0;
				continue;
			}
			break;
		}
		*lent_bytes += unit_bytes(l);
	}
	mutex_unlock(&l->lock);
	return *lent_bytes ? 0 : ret;
}

static void job_free(struct kref *ref)
{
	kfree(container_of(ref, struct reclaim_job, ref));
}

/* The kthread: offline and remove the block, then settle its state. */
static int reclaim_fn(void *arg)
{
	struct reclaim_job *job = arg;
	struct pkram_pool *pool = job->pool;
	struct pkram_lend *l = pool->lend;
	phys_addr_t start = unit_phys(pool, job->unit);
	int ret;

	/* offline_pages() gives up at a fatal signal: the caller's timeout. */
	allow_signal(SIGKILL);
	ret = offline_and_remove_memory(start, unit_bytes(l));
	mutex_lock(&l->lock);
	if (ret) {
		l->state[job->unit] = UNIT_LENT;
		pr_warn("lent pool memory %pa+%lluM could not be taken back (%d): it stays lent\n",
			&start, unit_bytes(l) >> 20, ret);
	} else {
		pkram_memmap_restore(pool, unit_page(l, job->unit),
				     l->unit_pages);
		unclaim_unit(pool, job->unit);
		l->state[job->unit] = UNIT_OWNED;
		unit_in(pool);
	}
	mutex_unlock(&l->lock);
	job->ret = ret;
	complete(&job->done);
	kref_put(&job->ref, job_free);
	module_put_and_kthread_exit(0);
}

/* Takes one lent unit back, waiting at most reclaim_timeout_ms. l->lock held. */
static int reclaim_unit(struct pkram_pool *pool, u64 unit)
{
	struct pkram_lend *l = pool->lend;
	struct task_struct *task;
	struct reclaim_job *job;
	int ret;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	kref_init(&job->ref);
	kref_get(&job->ref);		/* the kthread's */
	init_completion(&job->done);
	job->pool = pool;
	job->unit = unit;
	l->state[unit] = UNIT_RECLAIMING;
	__module_get(THIS_MODULE);	/* the kthread's code */
	task = kthread_create(reclaim_fn, job, "pkram-reclaim");
	if (IS_ERR(task)) {
		module_put(THIS_MODULE);
		l->state[unit] = UNIT_LENT;
		kfree(job);
		return PTR_ERR(task);
	}
	get_task_struct(task);
	wake_up_process(task);
	/* The kthread settles the state under l->lock. */
	mutex_unlock(&l->lock);
	if (wait_for_completion_timeout(&job->done,
					msecs_to_jiffies(READ_ONCE(reclaim_timeout_ms)))) {
		ret = job->ret ? -EBUSY : 0;
	} else {
		phys_addr_t start = unit_phys(pool, unit);

		send_sig(SIGKILL, task, 1);
		pr_warn("taking back lent pool memory %pa+%lluM takes over %u ms: given up\n",
			&start, unit_bytes(l) >> 20, reclaim_timeout_ms);
		ret = -EBUSY;
	}
	put_task_struct(task);
	kref_put(&job->ref, job_free);
	mutex_lock(&l->lock);
	return ret;
}

int pkram_reclaim(struct pkram_pool *pool, u64 bytes, u64 *reclaimed)
{
	struct pkram_lend *l = pool->lend;
	u64 unit;
	int ret = 0;

	*reclaimed = 0;
	if (!l)
		return -EOPNOTSUPP;
	if (mutex_lock_killable(&l->lock))
		return -EINTR;
	/* Lowest first: where the allocator looks first. */
	for (unit = 0; unit < l->nr_units; unit++) {
		if (bytes && *reclaimed >= bytes)
			break;
		if (l->state[unit] != UNIT_LENT)
			continue;
		ret = reclaim_unit(pool, unit);
		if (ret)
			break;
		*reclaimed += unit_bytes(l);
	}
	mutex_unlock(&l->lock);
	return ret;
}

/*
 * For an allocation that found no free page: one lent block back. True if
 * one came back, so the allocation is worth another try. May sleep.
 */
bool pkram_reclaim_for_alloc(struct pkram_pool *pool)
{
	struct pkram_lend *l = pool->lend;
	u64 reclaimed;

	if (!l || !READ_ONCE(pool->lent_pages))
		return false;
	return !pkram_reclaim(pool, 1, &reclaimed) && reclaimed;
}

/*
 * The first page of the lent block holding page, or PKRAM_FMT_NO_PAGE. Read
 * without l->lock: the caller holds alloc_lock, under which a block's pages
 * are marked lent before it is lent and unmarked once it is back.
 */
u64 pkram_lent_unit_start(struct pkram_pool *pool, u64 page)
{
	struct pkram_lend *l = pool->lend;
	u64 unit;

	if (!l || page < l->first_page)
		return PKRAM_FMT_NO_PAGE;
	unit = (page - l->first_page) / l->unit_pages;
	if (unit >= l->nr_units || READ_ONCE(l->state[unit]) == UNIT_OWNED)
		return PKRAM_FMT_NO_PAGE;
	return unit_page(l, unit);
}

u64 pkram_lend_block_bytes(struct pkram_pool *pool)
{
	return pool->lend ? unit_bytes(pool->lend) : 0;
}

/*
 * Lending works in whole memory blocks inside the pool whose struct pages
 * are whole memmap blocks of their own (pkram_memmap.c).
 */
int pkram_lend_init(struct pkram_pool *pool)
{
	u64 block = memory_block_size_bytes(), first, last, nr;
	struct pkram_lend *l;

	if (!IS_ENABLED(CONFIG_MEMORY_HOTREMOVE))
		return 0;
	block = max_t(u64, block, PKRAM_MEMMAP_BLOCK_BYTES);
	if (!IS_ALIGNED(block, PKRAM_MEMMAP_BLOCK_BYTES) ||
	    !IS_ALIGNED(pool->base, PKRAM_MEMMAP_BLOCK_BYTES)) {
		pr_info("lending unavailable: the pool at %pa is not aligned to %llu MiB\n",
			&pool->base, PKRAM_MEMMAP_BLOCK_BYTES >> 20);
		return 0;
	}
	first = round_up(pool->base, block);
	last = round_down(pool->base + pool->size, block);
	nr = last > first ? (last - first) / block : 0;
	l = kvzalloc(struct_size(l, state, nr), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	mutex_init(&l->lock);
	l->unit_pages = block >> PKRAM_FMT_PAGE_SHIFT;
	l->first_page = (first - pool->base) >> PKRAM_FMT_PAGE_SHIFT;
	l->nr_units = nr;
	pool->lend = l;
	return 0;
}

/* Nothing is lent at exit: a lent block holds a module reference. */
void pkram_lend_exit(struct pkram_pool *pool)
{
	kvfree(pool->lend);
	pool->lend = NULL;
}
