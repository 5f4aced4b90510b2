/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pkram kernel compatibility: every difference between the kernel lines the
 * module supports (Debian's 6.1 and 6.12) lives here, one version test per
 * change, named for what changed. The rest of the module uses these names.
 */
#ifndef PKRAM_COMPAT_H
#define PKRAM_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/version.h>

/* The one place the kernel version is read. */
#define PKRAM_KERNEL_SINCE(major, minor) \
	(KERNEL_VERSION(major, minor, 0) <= LINUX_VERSION_CODE)

/* 6.10: __assign_str() takes the field only; the source comes from __string(). */
#if PKRAM_KERNEL_SINCE(6, 10)
#define pkram_assign_str(field, src)	__assign_str(field)
#else
#define pkram_assign_str(field, src)	__assign_str(field, src)
#endif

/* 6.3: vma->vm_flags is read-only; changes go through vm_flags_set/clear. */
#if !PKRAM_KERNEL_SINCE(6, 3)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * 6.5: generic_file_splice_read() is gone; copy_splice_read() reads through
 * ->read_iter into pipe pages, as the old helper did for files without a
 * page cache.
 */
#if PKRAM_KERNEL_SINCE(6, 5)
#define pkram_splice_read	copy_splice_read
#else
#define pkram_splice_read	generic_file_splice_read
#endif

/*
 * 6.6: ->huge_fault() is told the page order, not an enum page_entry_size
 * (PMD_ORDER came with the change). A ->huge_fault takes a pkram_fault_size
 * and turns it into an order with pkram_fault_order().
 */
#if PKRAM_KERNEL_SINCE(6, 6)
#define pkram_fault_size	unsigned int
static inline unsigned int pkram_fault_order(unsigned int order)
{
	return order;
}
#else
#define PMD_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define PUD_ORDER	(PUD_SHIFT - PAGE_SHIFT)
#define pkram_fault_size	enum page_entry_size
static inline unsigned int pkram_fault_order(enum page_entry_size pe)
{
	return pe == PE_SIZE_PMD ? PMD_ORDER : pe == PE_SIZE_PUD ? PUD_ORDER : 0;
}
#endif

#endif /* PKRAM_COMPAT_H */
