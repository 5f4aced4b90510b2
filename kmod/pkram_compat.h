/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pkram kernel compatibility: every difference between the kernel lines the
 * module supports (Debian's 6.1 and 6.12) lives here, one version test per
 * change, named for what changed. The rest of the module uses these names.
 */
#ifndef PKRAM_COMPAT_H
#define PKRAM_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

/* 6.10: __assign_str() takes the field only; the source comes from __string(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define pkram_assign_str(field, src)	__assign_str(field)
#else
#define pkram_assign_str(field, src)	__assign_str(field, src)
#endif

/* 6.3: vma->vm_flags is read-only; changes go through vm_flags_set/clear. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

#endif /* PKRAM_COMPAT_H */
