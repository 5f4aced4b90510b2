// SPDX-License-Identifier: GPL-2.0
/*
 * pkram: memory preserved across kexec, as a loadable module.
 *
 * The pool is a physical range the kernel command line keeps out of the page
 * allocator (memmap=SIZE$ADDR) and that the module is told about with
 * pool=SIZE@ADDR. All node data and metadata live in it from the moment they
 * are written, so handing over at kexec costs nothing but the superblock, and
 * restoring is validating metadata. Restoring needs the handover token of
 * the previous kernel (handover=TOKEN, from /sys/kernel/pkram/handover).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/crash_dump.h>
#include <linux/crc32c.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/vmalloc.h>

#include <asm/e820/api.h>

#include "pkram_internal.h"

#define CREATE_TRACE_POINTS
#include "pkram_trace.h"

/* The superblock's chunk and one data chunk. */
#define PKRAM_MIN_POOL	(2 * PKRAM_CHUNK_BYTES)
#define PKRAM_CHUNK_BYTES	((u64)PKRAM_FMT_HUGE_PAGES * PKRAM_FMT_PAGE_SIZE)

static char *pool_param;
module_param_named(pool, pool_param, charp, 0444);
MODULE_PARM_DESC(pool, "the pool, SIZE@ADDR, as reserved by memmap=SIZE$ADDR");

static unsigned long long handover_param;
module_param_named(handover, handover_param, ullong, 0444);
MODULE_PARM_DESC(handover, "handover token of the previous kernel (/sys/kernel/pkram/handover)");

/*
 * Kernel memory the restore of a pool may allocate (objects, names, extent
 * indexes); a node that would need more is rejected with a message instead
 * of driving module init into OOM. 0: a quarter of RAM.
 */
static unsigned long restore_mem_mb;
module_param(restore_mem_mb, ulong, 0444);
MODULE_PARM_DESC(restore_mem_mb, "MiB of kernel memory a restore may allocate (default 0: a quarter of RAM)");

struct pkram_pool *pkram_pool;
static struct kobject *pkram_kobj;

/* crc32c() takes an unsigned int length: longer buffers go in pieces. */
u32 pkram_fmt_crc32c_raw(u32 crc, const void *data, size_t len)
{
	const u8 *p = data;

	while (len) {
		unsigned int n = min_t(size_t, len, SZ_1G);

		crc = crc32c(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

/* The format version the next superblock commit writes. */
u32 pkram_pool_fmt_version(struct pkram_pool *pool)
{
	if (!pool->shadowed)
		return PKRAM_FMT_VERSION_UNSHADOWED;
	return pool->next_size ? PKRAM_FMT_VERSION_RESIZED : PKRAM_FMT_VERSION;
}

/*
 * Writes the superblock: every node with metadata in the pool is handed over.
 * The shadow first, whole, then the primary, so a kexec in the middle leaves
 * one of them intact; a pool restored from format 1 gets its shadow once
 * page 1 is free (until then commits write the primary alone, as format 1).
 */
void pkram_super_commit(struct pkram_pool *pool)
{
	struct pkram_fmt_super *primary = pkram_fmt_super_copy(&pool->fmt, 0);
	struct pkram_fmt_super *sb = primary;
	struct pkram_node *node;
	u32 n = 0;

	lockdep_assert_held(&pool->lock);
	/* A held stale pool is not ours to write. */
	if (WARN_ON_ONCE(pool->stale_held))
		return;
	if (!pool->shadowed)
		pool->shadowed = pkram_alloc_exact(pool, 1, 1);
	if (pool->shadowed)
		sb = pkram_fmt_super_copy(&pool->fmt, 1);
	/* A shrink recorded earlier holds only while every node still fits. */
	if (pool->next_size && pool->next_size < pool->size &&
	    pkram_alloc_high_water(pool) > pool->next_size) {
		pr_warn("the pool resize to %lluM for the next kernel is canceled: nodes now lie beyond it\n",
			pool->next_size >> 20);
		pool->next_size = 0;
	}
	pkram_fmt_super_init(sb, pool->size, pool->token, pool->generation,
			     pkram_pool_fmt_version(pool));
	sb->next_pool_size = pool->next_size;
	list_for_each_entry(node, &pool->nodes, list) {
		/* A seal publishes its head under the node's lock only. */
		u64 head = smp_load_acquire(&node->meta_head);

		if (head && n < PKRAM_FMT_MAX_NODES)
			sb->node[n++] = head;
	}
	sb->nr_nodes = n;
	pkram_fmt_super_update_crc(sb);
	if (sb != primary) {
		/* The shadow is whole before the primary starts to change. */
		wmb();
		memcpy(primary, sb, PKRAM_FMT_PAGE_SIZE);
	}
}

/*
 * The size the next kernel's pool will have (pkram-cli kexec --pool-size):
 * at the same base, so the superblock stays where the next kernel looks,
 * and holding every page in use, so no data moves. 0 or -errno; *min_bytes
 * is the smallest size that holds them and is a pool the next module loads.
 */
int pkram_pool_resize_next(struct pkram_pool *pool, u64 bytes, u64 *min_bytes)
{
	int ret = 0;

	if (!bytes || !IS_ALIGNED(bytes, PKRAM_CHUNK_BYTES))
		return -EINVAL;
	mutex_lock(&pool->lock);
	if (pool->stale_held) {
		ret = -ESTALE;
		goto out;
	}
	/* The next module refuses a pool below PKRAM_MIN_POOL (check_pool_range). */
	*min_bytes = max(round_up(pkram_alloc_high_water(pool), PKRAM_CHUNK_BYTES),
			 PKRAM_MIN_POOL);
	if (bytes < *min_bytes) {
		ret = -ERANGE;
		goto out;
	}
	pool->next_size = bytes == pool->size ? 0 : bytes;
	pkram_super_commit(pool);
out:
	mutex_unlock(&pool->lock);
	return ret;
}

static int parse_pool(const char *s, u64 *base, u64 *size)
{
	char *end;

	*size = memparse(s, &end);
	if (*end != '@')
		return -EINVAL;
	*base = memparse(end + 1, &end);
	if (*end && *end != '\n')
		return -EINVAL;
	return 0;
}

static int covered_bytes(struct resource *res, void *arg)
{
	*(u64 *)arg += resource_size(res);
	return 0;
}

/*
 * The firmware's memory map (e820 as the bootloader or the previous kernel
 * passed it; memmap= does not change it) must call every byte of the range
 * RAM: firmware-reserved memory (MMIO, ACPI tables, ...) is never a pool.
 */
static bool firmware_says_ram(u64 base, u64 size)
{
	static const enum e820_type not_ram[] = {
		E820_TYPE_RESERVED, E820_TYPE_ACPI, E820_TYPE_NVS,
		E820_TYPE_UNUSABLE, E820_TYPE_PMEM, E820_TYPE_PRAM,
		E820_TYPE_SOFT_RESERVED, E820_TYPE_RESERVED_KERN,
	};
	int i;

	if (!e820__mapped_raw_any(base, base + size, E820_TYPE_RAM))
		return false;
	for (i = 0; i < ARRAY_SIZE(not_ram); i++)
		if (e820__mapped_raw_any(base, base + size, not_ram[i]))
			return false;
	return true;
}

/* Refuses a pool the kernel might use, with what to put on the command line. */
static int check_pool_range(u64 base, u64 size)
{
	u64 reserved = 0;

	/* 2 MiB chunks of the pool are what 2 MiB mappings are made of. */
	if (!size || !IS_ALIGNED(base, PKRAM_CHUNK_BYTES) ||
	    !IS_ALIGNED(size, PKRAM_CHUNK_BYTES)) {
		pr_err("pool %llu@%#llx: base and size must be multiples of 2 MiB, e.g. memmap=%lluM$%#llx and pkram.pool=%lluM@%#llx\n",
		       size, base, max(round_up(size, PKRAM_CHUNK_BYTES), PKRAM_MIN_POOL) >> 20,
		       round_up(base, PKRAM_CHUNK_BYTES),
		       max(round_up(size, PKRAM_CHUNK_BYTES), PKRAM_MIN_POOL) >> 20,
		       round_up(base, PKRAM_CHUNK_BYTES));
		return -EINVAL;
	}
	if (size < PKRAM_MIN_POOL) {
		pr_err("pool of %llu bytes is too small: use at least 4M, e.g. memmap=64M$%#llx and pkram.pool=64M@%#llx\n",
		       size, base, base);
		return -EINVAL;
	}
	if (region_intersects(base, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		pr_err("pool %lluM@%#llx overlaps System RAM: reserve it first with memmap=%lluM$%#llx on the kernel command line\n",
		       size >> 20, base, size >> 20, base);
		return -EINVAL;
	}
	walk_iomem_res_desc(IORES_DESC_RESERVED, IORESOURCE_MEM, base,
			    base + size - 1, &reserved, covered_bytes);
	if (reserved < size) {
		pr_err("pool %lluM@%#llx is not reserved memory: add memmap=%lluM$%#llx to the kernel command line\n",
		       size >> 20, base, size >> 20, base);
		return -EINVAL;
	}
	if (!firmware_says_ram(base, size)) {
		pr_err("pool %lluM@%#llx is not RAM in the firmware's memory map (/sys/firmware/memmap): a pool must be RAM taken away with memmap=SIZE$ADDR\n",
		       size >> 20, base);
		return -EINVAL;
	}
	return 0;
}

/* The kernel log lines of a restore, written after it is timed. */
static void report_restore(struct pkram_pool *pool, const u64 *heads, u32 nr,
			   const int *rets, const struct pkram_fmt_error *errs)
{
	struct pkram_node *node;
	u32 i;

	list_for_each_entry(node, &pool->nodes, list)
		pr_info("node '%s' restored: %u objects\n", node->name,
			node->nr_objects);
	for (i = 0; i < nr; i++) {
		if (!rets[i])
			continue;
		if (errs[i].node[0])
			pr_err("node '%s' rejected: %s\n", errs[i].node,
			       errs[i].msg);
		else
			pr_err("node %u of the handover (metadata at %#llx) rejected: %s\n",
			       i, heads[i], errs[i].msg);
	}
}

/* Restores every node sb lists: those that validate come back, the others are reported. */
static void restore_from(struct pkram_pool *pool,
			 const struct pkram_fmt_super *sb, bool verify_data)
{
	u64 start = ktime_get_ns();
	u64 elapsed;
	struct pkram_fmt_bitmap scratch;
	struct pkram_fmt_error *errs;
	u64 *heads;
	int *rets;
	u32 nr, i;

	/* Format 2 on keeps page 1 for the shadow: a node claiming it is rejected. */
	if (sb->version >= PKRAM_FMT_VERSION_SHADOWED)
		pool->shadowed = pkram_alloc_exact(pool, 1, 1);
	pool->restore_mem_max = restore_mem_mb ? (u64)restore_mem_mb << 20 :
				((u64)totalram_pages() << PAGE_SHIFT) / 4;
	pool->restore_mem_left = pool->restore_mem_max;
	/* Copy what is needed before the superblock is rewritten. */
	nr = sb->nr_nodes;
	pool->generation = sb->generation + 1;
	heads = kmemdup(sb->node, nr * sizeof(heads[0]), GFP_KERNEL);
	rets = kvcalloc(max(nr, 1U), sizeof(*rets), GFP_KERNEL);
	errs = kvcalloc(max(nr, 1U), sizeof(*errs), GFP_KERNEL);
	scratch.nr_bits = pool->map.nr_bits;
	scratch.words = kvcalloc(pkram_fmt_bitmap_words(scratch.nr_bits),
				 sizeof(u64), GFP_KERNEL);
	if ((nr && !heads) || !rets || !errs || !scratch.words) {
		pr_err("out of memory: cannot restore %u nodes\n", nr);
		pool->rejected_nodes = nr;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		rets[i] = pkram_node_restore(pool, heads[i], &scratch,
					     verify_data, &errs[i]);
		if (rets[i])
			pool->rejected_nodes++;
		else
			pool->restored_nodes++;
		cond_resched();
	}
	elapsed = ktime_get_ns() - start;
	/* Console output (a serial line can take milliseconds) comes after. */
	report_restore(pool, heads, nr, rets, errs);
	trace_pkram_restore(pool->restored_nodes, pool->rejected_nodes,
			    pool->used_pages << PKRAM_FMT_PAGE_SHIFT, elapsed);
	pr_info("restored %u nodes, rejected %u (generation %llu) in %llu us\n",
		pool->restored_nodes, pool->rejected_nodes, pool->generation,
		elapsed / NSEC_PER_USEC);
out:
	kvfree(scratch.words);
	kvfree(errs);
	kvfree(rets);
	kfree(heads);
}

/*
 * A pool that cannot be restored now is kept as it is, neither written nor
 * reused, so a mistyped token or a kexec without one loses nothing.
 */
static void hold_stale(struct pkram_pool *pool, int ret, const char *why)
{
	pool->stale_held = true;
	pool->stale_error = ret;
	strscpy(pool->stale_reason, why, sizeof(pool->stale_reason));
	pr_warn("stale pool kept untouched: %s (pkram-cli adopt restores it, pkram-cli discard frees it)\n",
		why);
}

static void restore_nodes(struct pkram_pool *pool)
{
	const struct pkram_fmt_super *sb;
	struct pkram_fmt_error err;
	int ret;

	ret = pkram_fmt_check_super(&pool->fmt, handover_param, &sb, &err);
	if (ret == -ENOENT) {
		pr_info("no previous pool found: starting empty\n");
		return;
	}
	if (ret == -ESTALE && !handover_param)
		hold_stale(pool, ret, "no handover token was given (pkram.handover=)");
	else if (ret)
		hold_stale(pool, ret, err.msg);
	if (ret)
		return;
	if (err.msg[0])
		pr_warn("%s\n", err.msg);
	restore_from(pool, sb, false);
}

/* Serializes the operator's decisions about a held stale pool. */
static DEFINE_MUTEX(decide_lock);

/* Adopted nodes: warned about when nothing could verify them; counted. */
static u32 count_verified(struct pkram_pool *pool)
{
	struct pkram_node *node;
	u32 n = 0;

	mutex_lock(&pool->lock);
	list_for_each_entry(node, &pool->nodes, list) {
		if (node->fmt_flags & PKRAM_FMT_NODE_DATA_CRC)
			n++;
		else
			pr_warn("node '%s' adopted without data checksums: its data is not verified\n",
				node->name);
	}
	mutex_unlock(&pool->lock);
	return n;
}

int pkram_pool_adopt(struct pkram_pool *pool, struct pkram_pool_adopt *out)
{
	const struct pkram_fmt_super *sb = NULL;
	struct pkram_fmt_error err;
	unsigned int copy;
	int ret = -ENOENT;

	mutex_lock(&decide_lock);
	if (!pool->stale_held)
		goto out;
	ret = pool->stale_error;
	if (ret != -ESTALE)
		goto out;
	/* Adopted on purpose: with the token the pool itself carries. */
	for (copy = 0; copy < PKRAM_FMT_SUPER_PAGES; copy++) {
		u64 token = pkram_fmt_super_copy(&pool->fmt, copy)->token;

		ret = pkram_fmt_check_super(&pool->fmt, token, &sb, &err);
		if (!ret)
			break;
	}
	if (ret)
		goto out;
	pr_info("adopting the stale pool (%s)\n", pool->stale_reason);
	/* Its nodes are visible now, but nothing commits before stale_held clears. */
	restore_from(pool, sb, true);
	out->verified_nodes = count_verified(pool);
	out->restored_nodes = pool->restored_nodes;
	out->rejected_nodes = pool->rejected_nodes;
	mutex_lock(&pool->lock);
	pool->stale_held = false;
	pkram_super_commit(pool);
	mutex_unlock(&pool->lock);
	pr_info("adopted %u nodes (%u with their data verified), refused %u\n",
		out->restored_nodes, out->verified_nodes, out->rejected_nodes);
out:
	mutex_unlock(&decide_lock);
	return ret;
}

int pkram_pool_discard(struct pkram_pool *pool)
{
	int ret = -ENOENT;

	mutex_lock(&decide_lock);
	if (pool->stale_held) {
		pr_warn("stale pool discarded on request (%s)\n",
			pool->stale_reason);
		mutex_lock(&pool->lock);
		pool->stale_held = false;
		pool->stale_discarded = true;
		pkram_super_commit(pool);
		mutex_unlock(&pool->lock);
		ret = 0;
	}
	mutex_unlock(&decide_lock);
	return ret;
}

static ssize_t handover_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%#llx\n", pkram_pool->token);
}

static ssize_t pool_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu@%#llx\n", pkram_pool->size,
			  (u64)pkram_pool->base);
}

/* The token proves freshness, not authenticity; root's, like the addresses. */
static struct kobj_attribute handover_attr = __ATTR_RO_MODE(handover, 0400);
static struct kobj_attribute pool_attr = __ATTR_RO_MODE(pool, 0400);
static struct attribute *pkram_attrs[] = {
	&handover_attr.attr,
	&pool_attr.attr,
	NULL,
};
static const struct attribute_group pkram_attr_group = {
	.attrs = pkram_attrs,
};

static int __init pkram_init(void)
{
	struct pkram_pool *pool;
	u64 base, size;
	int ret;

	if (is_kdump_kernel()) {
		pr_info("not touching the pool in a kdump kernel\n");
		return -ENODEV;
	}
	if (!pool_param || parse_pool(pool_param, &base, &size)) {
		pr_err("no pool given: boot with memmap=SIZE$ADDR and load with pool=SIZE@ADDR (pkram.pool=SIZE@ADDR on the kernel command line), e.g. memmap=256M$0x30000000 pkram.pool=256M@0x30000000\n");
		return -EINVAL;
	}
	ret = check_pool_range(base, size);
	if (ret)
		return ret;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return -ENOMEM;
	pool->base = base;
	pool->size = size;
	mutex_init(&pool->lock);
	INIT_LIST_HEAD(&pool->nodes);
	spin_lock_init(&pool->alloc_lock);

	/* Exclusive: /dev/mem cannot map the pool while the module owns it. */
	pool->res = request_mem_region_exclusive(base, size, "pkram");
	if (!pool->res) {
		pr_err("pool %lluM@%#llx is already claimed by another driver\n",
		       size >> 20, base);
		ret = -EBUSY;
		goto err_free_pool;
	}
	pool->fmt.base = memremap(base, size, MEMREMAP_WB);
	if (!pool->fmt.base) {
		pr_err("cannot map the pool %lluM@%#llx\n", size >> 20, base);
		ret = -ENOMEM;
		goto err_release_region;
	}
	pool->fmt.size = size;
	pool->map.nr_bits = size >> PKRAM_FMT_PAGE_SHIFT;
	pool->map.words = kvcalloc(pkram_fmt_bitmap_words(pool->map.nr_bits),
				   sizeof(u64), GFP_KERNEL);
	if (!pool->map.words) {
		ret = -ENOMEM;
		goto err_unmap;
	}
	pkram_fmt_set_range(&pool->map, 0, 1);	/* the superblock; 1: its shadow */
	pkram_alloc_recount(pool);
	ret = pkram_inode_init();
	if (ret)
		goto err_free_map;
	pkram_pool = pool;

	restore_nodes(pool);
	do {
		pool->token = get_random_u64();
	} while (!pool->token);
	mutex_lock(&pool->lock);
	if (!pool->stale_held)
		pkram_super_commit(pool);
	mutex_unlock(&pool->lock);

	pkram_kobj = kobject_create_and_add("pkram", kernel_kobj);
	if (!pkram_kobj) {
		ret = -ENOMEM;
		goto err_nodes;
	}
	ret = sysfs_create_group(pkram_kobj, &pkram_attr_group);
	if (ret)
		goto err_kobj;
	/* After restore, and in the background: see pkram_memmap.c. */
	ret = pkram_memmap_init(pool);
	if (ret)
		goto err_kobj;
	ret = pkram_lend_init(pool);
	if (ret)
		goto err_memmap;
	ret = pkram_dev_init();
	if (ret)
		goto err_lend;
	pr_info("pool %lluM@%#llx ready: %llu of %llu pages in use\n",
		size >> 20, base, pool->used_pages, pool->map.nr_bits);
	return 0;

err_lend:
	pkram_lend_exit(pool);
err_memmap:
	pkram_memmap_exit(pool);
err_kobj:
	kobject_put(pkram_kobj);
err_nodes:
	while (!list_empty(&pool->nodes))
		pkram_node_destroy(pool, list_first_entry(&pool->nodes,
							  struct pkram_node,
							  list), false);
	pkram_pool = NULL;
	pkram_inode_exit();
err_free_map:
	kvfree(pool->map.words);
err_unmap:
	memunmap(pool->fmt.base);
err_release_region:
	release_mem_region(base, size);
err_free_pool:
	kfree(pool);
	return ret;
}

static void __exit pkram_exit(void)
{
	struct pkram_pool *pool = pkram_pool;

	pkram_dev_exit();
	kobject_put(pkram_kobj);
	pkram_lend_exit(pool);
	pkram_memmap_exit(pool);
	/*
	 * The pool keeps its bytes, but a reload in the same kernel starts a new
	 * handover token, so it does not restore them.
	 */
	while (!list_empty(&pool->nodes))
		pkram_node_destroy(pool, list_first_entry(&pool->nodes,
							  struct pkram_node,
							  list), false);
	pkram_inode_exit();
	kvfree(pool->map.words);
	memunmap(pool->fmt.base);
	release_mem_region(pool->base, pool->size);
	kfree(pool);
	pkram_pool = NULL;
}

module_init(pkram_init);
module_exit(pkram_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pkram: memory preserved across kexec");
MODULE_VERSION("0.1");
