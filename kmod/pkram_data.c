// SPDX-License-Identifier: GPL-2.0
/*
 * pkram data path: reading and writing a stream's bytes a whole extent run at
 * a time, growing streams in 2 MiB chunks, truncation, page faults of
 * mappings and SEEK_DATA/SEEK_HOLE.
 *
 * Growth: each 2 MiB chunk of a stream lives in one aligned 2 MiB pool chunk,
 * pool page == stream index (mod 512), whatever the write size: the first
 * page written in a stream chunk picks a wholly free pool chunk (preferably
 * the one right after the stream's previous chunk) and later pages claim
 * their congruent place in it. Only when that cannot be had do the pages go
 * anywhere. Pages are claimed as they are written (a small file costs its
 * pages), so sequential writes of any size end up as one long extent.
 *
 * What may be read: every byte of a backed page below the stream's size is
 * data or zero, and so is the rest of the page holding the size (a mapping
 * shows it). Bytes of backed pages beyond that are undefined until the size
 * moves over them, when they are zeroed; seal and truncation give pages
 * wholly beyond the size back.
 */
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pfn_t.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "pkram_compat.h"
#include "pkram_internal.h"

#define PK_PAGE		((u64)PKRAM_FMT_PAGE_SIZE)
#define PK_SHIFT	PKRAM_FMT_PAGE_SHIFT
#define CHUNK		((u64)PKRAM_FMT_HUGE_PAGES)
/* Longest copy between two looks at the locks' waiters and the scheduler. */
#define COPY_MAX	(CHUNK * PK_PAGE)

static u8 *extent_addr(struct pkram_pool *pool, const struct pkram_extent *ext,
		       u64 byte)
{
	return (u8 *)pkram_page_addr(pool, ext->pool_page) +
	       (byte - ext->index * PK_PAGE);
}

static u64 extent_end(const struct pkram_extent *ext)
{
	return (ext->index + ext->nr_pages) * PK_PAGE;
}

/* Zeroes the backed bytes of [from, to). */
static void zero_backed(struct pkram_pool *pool, struct pkram_stream *st,
			u64 from, u64 to)
{
	struct pkram_extent ext;

	while (from < to && pkram_extent_find(st, from >> PK_SHIFT, &ext)) {
		u64 start = max(from, ext.index * PK_PAGE);
		u64 end = min(to, extent_end(&ext));

		if (start >= to)
			break;
		memset(extent_addr(pool, &ext, start), 0, end - start);
		from = end;
		cond_resched();
	}
}

/* Zeroes [from, to) within the pages [first, first + nr). */
static void zero_in_run(struct pkram_pool *pool, struct pkram_stream *st,
			u64 first, u64 nr, u64 from, u64 to)
{
	zero_backed(pool, st, max(from, first * PK_PAGE),
		    min(to, (first + nr) * PK_PAGE));
}

/*
 * Backs up to want pages of the hole from page idx on, within idx's chunk
 * (see the top of this file), and returns them as [idx, idx + *nr).
 */
static int stream_back_once(struct pkram_pool *pool, struct pkram_stream *st,
			    u64 idx, u64 want, u64 *nr)
{
	u64 c0 = round_down(idx, CHUNK), c1 = c0 + CHUNK;
	u64 hole_end = c1, base = PKRAM_FMT_NO_PAGE, page, n;
	struct pkram_extent ext;
	u64 i = c0;
	int ret;

	/* Where the chunk's pages already are, and where the hole ends. */
	while (pkram_extent_find(st, i, &ext) && ext.index < c1) {
		if (base == PKRAM_FMT_NO_PAGE &&
		    (ext.pool_page - ext.index) % CHUNK == 0)
			base = ext.pool_page + c0 - ext.index;
		if (ext.index > idx) {
			hole_end = ext.index;
			break;
		}
		i = ext.index + ext.nr_pages;
	}
	n = min(want, hole_end - idx);
	page = PKRAM_FMT_NO_PAGE;
	if (base != PKRAM_FMT_NO_PAGE) {
		if (pkram_alloc_exact(pool, base + idx - c0, n))
			page = base + idx - c0;
	} else {
		/* A new chunk: right after the stream's previous one. */
		u64 prefer = c0 ? pkram_extent_page(st, c0 - 1) :
				  PKRAM_FMT_NO_PAGE;

		page = pkram_alloc_chunk(pool, prefer == PKRAM_FMT_NO_PAGE ?
					 prefer : prefer + 1, idx - c0, n);
	}
	if (page == PKRAM_FMT_NO_PAGE) {
		page = pkram_alloc_run(pool, n);
		if (page == PKRAM_FMT_NO_PAGE) {
			n = 1;
			page = pkram_alloc_run(pool, 1);
		}
		if (page == PKRAM_FMT_NO_PAGE)
			return -ENOSPC;
	}
	ret = pkram_extent_insert(st, idx, page, n);
	if (ret) {
		pkram_free_pages(pool, page, n);
		return ret;
	}
	/* Read-only mappings showed the hole as the zero page. */
	pkram_stream_unmap(st, idx * PK_PAGE, (idx + n) * PK_PAGE);
	*nr = n;
	return 0;
}

/* The same, taking lent memory back while the pool is otherwise full. */
static int stream_back(struct pkram_pool *pool, struct pkram_stream *st,
		       u64 idx, u64 want, u64 *nr)
{
	int ret;

	do {
		ret = stream_back_once(pool, st, idx, want, nr);
	} while (ret == -ENOSPC && pkram_reclaim_for_alloc(pool));
	return ret;
}

/* The size moved from old to new: the rest of the page holding it reads 0. */
static void grow_size(struct pkram_pool *pool, struct pkram_stream *st,
		      u64 new)
{
	if (new <= st->size)
		return;
	st->size = new;
	zero_backed(pool, st, new, round_up(new, PK_PAGE));
}

static bool node_open(struct pkram_node *node)
{
	return node->state == PKRAM_NODE_STATE_OPEN;
}

/*
 * Copies with page faults disabled while the locks are held: a fault on the
 * user buffer (which may be a pkram mapping) would take mmap_lock under
 * obj->lock, the reverse of the fault path. On a short copy the locks are
 * dropped, the buffer faulted in, and the copy retried.
 */
ssize_t pkram_object_write_iter(struct pkram_pool *pool,
				struct pkram_object *obj, int stream,
				struct iov_iter *from, loff_t pos)
{
	struct pkram_stream *st = &obj->stream[stream];
	struct pkram_node *node = obj->node;
	u64 fresh_end = 0;	/* end of the run backed for the current copy */
	size_t len = iov_iter_count(from), done = 0;
	u64 old_size, end;
	ssize_t ret = 0;

	if (pos < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if ((u64)pos >= PKRAM_OBJ_MAX_SIZE)
		return -EFBIG;
	len = min_t(u64, len, PKRAM_OBJ_MAX_SIZE - pos);
	end = pos + len;

	down_read(&node->rwsem);
	if (!node_open(node)) {
		up_read(&node->rwsem);
		return -EROFS;
	}
	down_write(&obj->lock);
	/* Bytes between the old size and pos read as zeros. */
	old_size = st->size;
	if ((u64)pos > old_size)
		zero_backed(pool, st, old_size, pos);
	while (done < len) {
		u64 p = pos + done, first = p >> PK_SHIFT, nr;
		struct pkram_extent ext;
		size_t n, copied;

		if (!pkram_extent_lookup(st, first, &ext)) {
			ret = stream_back(pool, st, first,
					  DIV_ROUND_UP(end, PK_PAGE) - first,
					  &nr);
			if (ret)
				break;
			/* Of the new pages, what this write will not fill. */
			zero_in_run(pool, st, first, nr, 0, p);
			zero_in_run(pool, st, first, nr, end, old_size);
			fresh_end = (first + nr) * PK_PAGE;
			pkram_extent_lookup(st, p >> PK_SHIFT, &ext);
		}
		n = min3((u64)(len - done), extent_end(&ext) - p, COPY_MAX);
		pagefault_disable();
		copied = copy_from_iter(extent_addr(pool, &ext, p), n, from);
		pagefault_enable();
		done += copied;
		if (copied == n) {
			cond_resched();
			continue;
		}
		/* Never let anyone see old pool bytes in pages made for us. */
		if (fresh_end > pos + done)
			zero_backed(pool, st, pos + done,
				    min3(fresh_end, end, old_size));
		fresh_end = 0;
		grow_size(pool, st, pos + done);
		up_write(&obj->lock);
		up_read(&node->rwsem);
		if (fault_in_iov_iter_readable(from, n - copied) == n - copied)
			return done ? done : -EFAULT;
		down_read(&node->rwsem);
		if (!node_open(node)) {
			up_read(&node->rwsem);
			return done ? done : -EROFS;
		}
		down_write(&obj->lock);
		old_size = st->size;
	}
	grow_size(pool, st, pos + done);
	up_write(&obj->lock);
	up_read(&node->rwsem);
	return done ? done : ret;
}

ssize_t pkram_object_read_iter(struct pkram_pool *pool,
			       struct pkram_object *obj, int stream,
			       struct iov_iter *to, loff_t pos)
{
	struct pkram_stream *st = &obj->stream[stream];
	size_t len = iov_iter_count(to), done = 0;

	if (pos < 0)
		return -EINVAL;
	down_read(&obj->lock);
	while (done < len && (u64)pos + done < st->size) {
		u64 p = pos + done;
		struct pkram_extent ext;
		size_t n = min3((u64)(len - done), st->size - p, COPY_MAX);
		size_t copied;
		bool found = pkram_extent_find(st, p >> PK_SHIFT, &ext);

		if (found && ext.index * PK_PAGE <= p) {
			n = min_t(u64, n, extent_end(&ext) - p);
			pagefault_disable();
			copied = copy_to_iter(extent_addr(pool, &ext, p), n, to);
			pagefault_enable();
		} else {
			/* A hole, up to the next extent. */
			if (found)
				n = min_t(u64, n, ext.index * PK_PAGE - p);
			pagefault_disable();
			copied = iov_iter_zero(n, to);
			pagefault_enable();
		}
		done += copied;
		if (copied == n) {
			cond_resched();
			continue;
		}
		/* See the write path: fault the buffer in without the lock. */
		up_read(&obj->lock);
		if (fault_in_iov_iter_writeable(to, n - copied) == n - copied)
			return done ? done : -EFAULT;
		down_read(&obj->lock);
	}
	up_read(&obj->lock);
	return done;
}

/* Gives back the pages wholly beyond the size (a chunk's unused tail). */
int pkram_stream_trim(struct pkram_pool *pool, struct pkram_stream *st)
{
	return pkram_extents_cut(st, DIV_ROUND_UP(st->size, PK_PAGE),
				 pkram_release_pages, pool);
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
	if (!node_open(node)) {
		ret = -EROFS;
		goto out_node;
	}
	down_write(&obj->lock);
	if (size < st->size) {
		/*
		 * Mappings and pins would keep freed pages: shrink only when
		 * unmapped and no page past the new size is held.
		 */
		if (atomic_read(&node->maps) ||
		    (node->exposed &&
		     pkram_stream_held(pool, st, DIV_ROUND_UP(size, PK_PAGE)))) {
			ret = -EBUSY;
			goto out;
		}
		ret = pkram_extents_cut(st, DIV_ROUND_UP(size, PK_PAGE),
					pkram_release_pages, pool);
		if (ret)
			goto out;
		st->size = size;
		zero_backed(pool, st, size, round_up(size, PK_PAGE));
	} else if (size > st->size) {
		zero_backed(pool, st, st->size, size);
		grow_size(pool, st, size);
	}
out:
	up_write(&obj->lock);
out_node:
	up_read(&node->rwsem);
	return ret;
}

/* The pfn_t of a pool page: with its struct page when there is one. */
static pfn_t pool_pfn(struct pkram_pool *pool, u64 page)
{
	if (pkram_memmap_page(pool, page))
		return phys_to_pfn_t(pool->base + (page << PK_SHIFT),
				     PFN_DEV | PFN_MAP);
	return phys_to_pfn_t(pool->base + (page << PK_SHIFT), PFN_DEV);
}

/*
 * A 2 MiB mapping for the aligned chunk at idx, when the stream has it on one
 * aligned pool chunk (a writable mapping backs a wholly free chunk so) and
 * the pages have struct pages; else VM_FAULT_FALLBACK to 4 KiB.
 */
static vm_fault_t fault_pmd(struct pkram_pool *pool, struct pkram_stream *st,
			    struct vm_fault *vmf, bool writable)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PMD_MASK;
	u64 idx = linear_page_index(vma, addr), nr, page;
	struct pkram_extent ext;

	/* PREEMPT_RT kernels of the 6.1 line have no transparent huge pages. */
	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		return VM_FAULT_FALLBACK;
	if (addr < vma->vm_start || addr + PMD_SIZE > vma->vm_end ||
	    idx % CHUNK || idx + CHUNK > DIV_ROUND_UP(st->size, PK_PAGE))
		return VM_FAULT_FALLBACK;
	if (!pkram_extent_find(st, idx, &ext) || ext.index >= idx + CHUNK) {
		/* A wholly unbacked chunk. */
		if (!writable || stream_back(pool, st, idx, CHUNK, &nr))
			return VM_FAULT_FALLBACK;
		zero_in_run(pool, st, idx, nr, 0, round_up(st->size, PK_PAGE));
		pkram_extent_find(st, idx, &ext);
	}
	if (ext.index > idx || ext.index + ext.nr_pages < idx + CHUNK ||
	    (ext.pool_page + idx - ext.index) % CHUNK)
		return VM_FAULT_FALLBACK;
	page = ext.pool_page + idx - ext.index;
	/* Only pages with struct pages are PMD-mapped (GUP must find them). */
	if (!pkram_memmap_page(pool, page))
		return VM_FAULT_FALLBACK;
	return vmf_insert_pfn_pmd(vmf, phys_to_pfn_t(pool->base +
						     (page << PK_SHIFT),
						     PFN_DEV | PFN_MAP),
				  vmf->flags & FAULT_FLAG_WRITE);
}

/*
 * Maps a page (order 0) or a 2 MiB chunk (PMD_ORDER) of a stream. Writable
 * mappings (only of OPEN nodes: seal is refused while they exist) back holes
 * with new zeroed pool pages; read-only ones map the zero page there, which
 * a later write replaces. Beyond the size, and when the pool is full:
 * SIGBUS.
 */
vm_fault_t pkram_object_fault(struct pkram_pool *pool, struct pkram_object *obj,
			      int stream, struct vm_fault *vmf, unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	bool writable = vma->vm_flags & VM_MAYWRITE;
	struct pkram_stream *st = &obj->stream[stream];
	u64 idx = vmf->pgoff, page, nr;
	vm_fault_t ret;

	if (order && order != PMD_ORDER)
		return VM_FAULT_FALLBACK;
	if (writable)
		down_write(&obj->lock);
	else
		down_read(&obj->lock);
	if (order) {
		ret = fault_pmd(pool, st, vmf, writable);
		goto out;
	}
	if (idx >= DIV_ROUND_UP(st->size, PK_PAGE)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	page = pkram_extent_page(st, idx);
	if (page == PKRAM_FMT_NO_PAGE && writable) {
		if (stream_back(pool, st, idx, 1, &nr)) {
			ret = VM_FAULT_SIGBUS;
			goto out;
		}
		zero_in_run(pool, st, idx, nr, 0, round_up(st->size, PK_PAGE));
		page = pkram_extent_page(st, idx);
	}
	if (page == PKRAM_FMT_NO_PAGE)
		ret = vmf_insert_mixed(vma, vmf->address,
				       pfn_to_pfn_t(my_zero_pfn(vmf->address)));
	else
		ret = vmf_insert_mixed(vma, vmf->address, pool_pfn(pool, page));
out:
	if (writable)
		up_write(&obj->lock);
	else
		up_read(&obj->lock);
	return ret;
}

/* True when a page of the stream from from_page on is held (pinned). */
bool pkram_stream_held(struct pkram_pool *pool, struct pkram_stream *st,
		       u64 from_page)
{
	struct pkram_extent ext;
	u64 i = from_page;

	while (pkram_extent_find(st, i, &ext)) {
		u64 skip = i > ext.index ? i - ext.index : 0;

		if (pkram_memmap_held(pool, ext.pool_page + skip,
				      ext.nr_pages - skip))
			return true;
		i = ext.index + ext.nr_pages;
	}
	return false;
}

/* SEEK_DATA / SEEK_HOLE from the extents: the new position or -ENXIO. */
loff_t pkram_object_seek_data(struct pkram_object *obj, int stream,
			      loff_t pos, int whence)
{
	struct pkram_stream *st = &obj->stream[stream];
	struct pkram_extent ext;
	loff_t ret;
	u64 idx;

	if (pos < 0)
		return -ENXIO;
	down_read(&obj->lock);
	if ((u64)pos >= st->size) {
		ret = -ENXIO;
	} else if (whence == SEEK_DATA) {
		if (pkram_extent_find(st, pos >> PK_SHIFT, &ext) &&
		    ext.index * PK_PAGE < st->size)
			ret = max_t(u64, pos, ext.index * PK_PAGE);
		else
			ret = -ENXIO;
	} else {
		idx = pos >> PK_SHIFT;
		while (pkram_extent_lookup(st, idx, &ext))
			idx = ext.index + ext.nr_pages;
		ret = min_t(u64, max_t(u64, pos, idx * PK_PAGE), st->size);
	}
	up_read(&obj->lock);
	return ret;
}
