/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pkram: memory preserved across kexec - the ioctl ABI of /dev/pkram.
 *
 * This is the only header userspace shares with the module. The persisted
 * pool format is separate (kmod/format/pkram_format.h) and has its own version.
 *
 * DOC: Objects and file descriptors
 *
 * /dev/pkram (root only by default) manages the pool. A *node* is a named unit
 * of preservation; PKRAM_IOC_NODE_CREATE and PKRAM_IOC_NODE_OPEN return a node
 * fd. An *object* lives in a node and has two streams: a sparse page stream
 * (page index -> data) and a byte stream of arbitrary length (attributes, an
 * application's own metadata). PKRAM_IOC_OBJ_OPEN on a node fd returns an
 * object fd bound to one of the two streams (the byte stream with PKRAM_OBJ_BYTES); read(2), write(2), pread(2),
 * pwrite(2) and lseek(2) work on it. Holes of the page stream read as zeros.
 * PKRAM_IOC_OBJ_TRUNCATE sets a stream's size (pages past it are freed).
 *
 * DOC: Mappings
 *
 * mmap(2) of an object fd maps its stream's pool pages directly (MAP_SHARED
 * only; MAP_PRIVATE is EINVAL), with 2 MiB page-table entries wherever the
 * stream has an aligned 2 MiB chunk on an aligned 2 MiB of pool, and the
 * pages are real pages: get_user_pages can pin them (O_DIRECT into a mapping,
 * io_uring fixed buffers, VFIO). A writable mapping needs an OPEN node and a
 * writable fd; faults on holes then allocate zeroed pool pages. A read-only
 * mapping shows holes as zeros until they are written. Touching a page past
 * the stream's size raises SIGBUS, and so does a fault that needs a page of a
 * full pool. While mappings exist: sealing is refused (EBUSY) if any is
 * writable; making the node OPEN again, shrinking a stream and freeing the
 * node are refused (EBUSY), so no mapping ever reaches a freed page. Pinned
 * pages count as well: while any page of a node that was mapped is pinned
 * (even after its mappings are gone), freeing it, and shrinking the stream
 * over the page, are refused with EBUSY.
 *
 * Node states: OPEN (writable, not handed over) -> SEALED (read-only, handed
 * over at the next kexec) -> RESTORED (found again after kexec, read-only).
 * A SEALED or RESTORED node opened with PKRAM_NODE_OPEN_WRITE becomes OPEN
 * again (its data stays where it is) and must be sealed again to be handed
 * over. Nodes that are OPEN when the kernel kexecs are not handed over.
 *
 * DOC: Mapping of the seed's kernel API
 *
 *   pkram_prepare_save(node)      PKRAM_IOC_NODE_CREATE (or _OPEN with _WRITE)
 *   pkram_prepare_save_obj(obj)   PKRAM_IOC_OBJ_OPEN with PKRAM_OBJ_CREATE
 *   pkram_save_file_page(page)    pwrite(2) on an object fd
 *   pkram_write(bytes)            write(2) on a PKRAM_OBJ_BYTES object fd
 *   pkram_finish_save(node)       PKRAM_IOC_NODE_SEAL
 *   pkram_prepare_load(node)      PKRAM_IOC_NODE_OPEN
 *   pkram_prepare_load_obj(obj)   PKRAM_IOC_OBJ_STAT (iterate), PKRAM_IOC_OBJ_OPEN
 *   pkram_load_file_page(page)    pread(2) on an object fd
 *   pkram_read(bytes)             read(2) on a PKRAM_OBJ_BYTES object fd
 *   pkram_finish_load(node)       close(2) of the node fd (data stays preserved)
 *   pkram_discard_save / free     PKRAM_IOC_NODE_FREE
 *   (no seed equivalent)          PKRAM_IOC_OBJ_DELETE, PKRAM_IOC_OBJ_RENAME,
 *                                 PKRAM_IOC_OBJ_TRUNCATE: for file systems
 *
 * DOC: The handover token
 *
 * /sys/kernel/pkram/handover (root only, 0400) holds the token the next
 * kernel must be given (pkram.handover=) to restore the pool. It proves that
 * the pool is the one this kernel handed over (freshness), not who wrote it
 * (authenticity): the next kernel's command line shows it to anyone.
 *
 * DOC: Conventions and errors
 *
 * Every argument struct starts with __u32 size, the size userspace was built
 * with; the module accepts older (smaller) and newer (larger, with the extra
 * bytes zero) structs. Unknown flags and nonzero reserved fields are rejected.
 * Names are passed as pointer and length, without a terminating NUL.
 *
 *   EINVAL        bad size, unknown flag, nonzero reserved field, bad name
 *                 (node names: no '/', NUL or control bytes, not "." or "..")
 *   E2BIG         a size above 4096 (PAGE_SIZE): no argument is that large
 *   ENAMETOOLONG  name longer than PKRAM_NODE_NAME_MAX / PKRAM_OBJ_NAME_MAX
 *   EEXIST        a node or object of that name exists (with _EXCL)
 *   ENOENT        no node or object of that name (or end of an iteration)
 *   ENOSPC        the pool is full, or PKRAM_MAX_NODES sealed nodes exist,
 *                 or the node has the module's max_objects objects (a
 *                 parameter, default 1048576)
 *   EROFS         write to a SEALED or RESTORED node
 *   EBUSY         free of a node that still has open fds (or mappings); see
 *                 "Mappings" for seal, reopen-for-write and shrink
 *   EFBIG         offset beyond PKRAM_OBJ_MAX_SIZE
 *   ENOTTY        unknown ioctl for this kind of fd
 *   ENODATA       verify of a node sealed without PKRAM_SEAL_DATA_CRC
 *   EBADMSG       verify found the node's metadata damaged
 *   ESTALE        create while a stale pool is held (adopt or discard it)
 *   EFAULT        bad user pointer
 */
#ifndef _UAPI_LINUX_PKRAM_H
#define _UAPI_LINUX_PKRAM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * 2: POOL_ADOPT, POOL_DISCARD, status.stale_*; 3: object names to 4095 bytes;
 * 4: POOL_LEND, POOL_RECLAIM, POOL_RESIZE, status.lent_bytes,
 *    lend_block_bytes and next_pool_bytes
 */
#define PKRAM_ABI_VERSION	4

#define PKRAM_NODE_NAME_MAX	63	/* bytes; no '/', no NUL, not "." or ".." */
#define PKRAM_OBJ_NAME_MAX	4095	/* bytes (1023 before ABI 3); a relative path, no "."/".." parts */
#define PKRAM_MAX_NODES		496	/* sealed nodes one handover can carry */
#define PKRAM_OBJ_MAX_SIZE	(1ULL << 44)	/* 16 TiB per stream */

enum pkram_node_state {
	PKRAM_NODE_STATE_OPEN = 1,
	PKRAM_NODE_STATE_SEALED = 2,
	PKRAM_NODE_STATE_RESTORED = 3,
};

/* PKRAM_IOC_POOL_STATUS: on /dev/pkram. All fields are output. */
struct pkram_pool_status {
	__u32 size;
	__u32 abi_version;
	__u32 format_version;
	__u32 nr_nodes;
	__u64 pool_base;	/* physical address */
	__u64 pool_bytes;
	__u64 used_bytes;	/* data and metadata of all nodes, superblock */
	__u64 free_bytes;	/* free and not lent */
	__u64 generation;	/* handovers this pool went through */
	__u32 restored_nodes;	/* at module load */
	__u32 rejected_nodes;	/* at module load, see the kernel log */
	__u32 stale_discarded;	/* 1 when a held stale pool was discarded */
	/*
	 * 1 while a stale pool is held: one found at load but not restored
	 * (no or another handover token, a damaged superblock, another format
	 * or pool size) is kept untouched, not written and its pages not
	 * reused, until PKRAM_IOC_POOL_ADOPT or PKRAM_IOC_POOL_DISCARD.
	 * Meanwhile PKRAM_IOC_NODE_CREATE fails with ESTALE. The kernel log
	 * says why the pool is stale.
	 */
	__u32 stale_held;
	/* Why, as -errno: ESTALE token, EBADMSG damaged, EPROTO format, EINVAL size */
	__s32 stale_error;
	__u32 reserved;
	__u64 lent_bytes;	/* lent to the system (ABI 4) */
	__u64 lend_block_bytes;	/* what is lent at a time: a memory block; 0: lending unsupported */
	__u64 next_pool_bytes;	/* the next kernel's pool size (POOL_RESIZE); 0: the same */
};

/*
 * PKRAM_IOC_POOL_LEND: on /dev/pkram. Lends wholly free memory blocks of the
 * pool, highest first, to the system as driver-managed RAM ("System RAM
 * (pkram)" in /proc/iomem), keeping at least keep_bytes of the pool free and
 * unlent (PKRAM_LEND_KEEP_DEFAULT: the module's lend_keep_mb). The blocks
 * are added as the kernel's auto_online_blocks policy says; pkram-cli lend
 * onlines them to ZONE_MOVABLE, so the kernel can always migrate its pages
 * out again. Nothing preserved ever lies in a lent block: the allocator takes
 * a block back (PKRAM_IOC_POOL_RECLAIM, done for it) before using it.
 * ESTALE while a stale pool is held; EOPNOTSUPP without memory hot-remove.
 */
#define PKRAM_LEND_KEEP_DEFAULT	(~0ULL)
struct pkram_pool_lend {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 keep_bytes;	/* in */
	__u64 lent_bytes;	/* out: lent by this call */
	__u64 block_bytes;	/* out: the memory block size */
};

/*
 * PKRAM_IOC_POOL_RESIZE: on /dev/pkram. Records next_bytes (a multiple of
 * 2 MiB) as the size of the next kernel's pool, at the same base: its
 * module then restores this pool at that size too (boot it with
 * memmap=NEXT$BASE pkram.pool=NEXT@BASE). Data never moves, so a smaller
 * size must hold every page in use: ERANGE otherwise, with min_bytes the
 * smallest that does (and is a pool at all: 4 MiB at least). A later seal that puts pages beyond a smaller size
 * cancels the resize (kernel log). next_bytes equal to the pool's size
 * cancels it too. ESTALE while a stale pool is held.
 */
struct pkram_pool_resize {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 next_bytes;	/* in */
	__u64 min_bytes;	/* out */
};

/*
 * PKRAM_IOC_POOL_RECLAIM: on /dev/pkram. Takes lent blocks back, lowest
 * first, until bytes more are free and unlent (0: all of them): each is
 * offlined and removed, the kernel migrating what it put there. A block the
 * kernel cannot empty within the module's reclaim_timeout_ms stays lent:
 * EBUSY (with what came back before it in reclaimed_bytes), and the kernel
 * log names the block.
 */
struct pkram_pool_reclaim {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 bytes;		/* in */
	__u64 reclaimed_bytes;	/* out */
};

/*
 * PKRAM_IOC_POOL_ADOPT: on /dev/pkram. Restores the held stale pool on
 * purpose (after a warm reset that kept RAM, or a kexec without the token):
 * every node is validated as at a handover, and a node sealed with
 * PKRAM_SEAL_DATA_CRC is verified before it appears (one whose data no
 * longer matches is refused, its pages freed). Only a pool held for its
 * token (stale_error -ESTALE) can be adopted: otherwise that error. ENOENT:
 * no stale pool is held.
 */
struct pkram_pool_adopt {
	__u32 size;
	__u32 flags;		/* none yet */
	__u32 restored_nodes;	/* out: nodes adopted */
	__u32 rejected_nodes;	/* out: refused (metadata, or data under checksums) */
	__u32 verified_nodes;	/* out: adopted with their data verified */
	__u32 reserved;
};

/* PKRAM_IOC_POOL_DISCARD: on /dev/pkram. Frees the held stale pool. ENOENT: none. */
struct pkram_pool_discard {
	__u32 size;
	__u32 flags;		/* none yet */
};

/* PKRAM_IOC_NODE_CREATE, PKRAM_IOC_NODE_OPEN: on /dev/pkram; return a node fd. */
#define PKRAM_NODE_OPEN_WRITE	(1U << 0)	/* _OPEN: make a sealed node OPEN again */
struct pkram_node_open {
	__u32 size;
	__u32 flags;
	__u64 name;		/* user pointer */
	__u32 name_len;
	__s32 fd;		/* out */
};

/* PKRAM_IOC_NODE_FREE: on /dev/pkram; gives every page of the node back. */
struct pkram_node_free {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 name;
	__u32 name_len;
	__u32 reserved;
};

/*
 * PKRAM_IOC_NODE_STAT: on /dev/pkram, iterates nodes: set index, get the
 * node at that position (ENOENT past the end). PKRAM_IOC_NODE_INFO: on a node
 * fd, the same for that node (index ignored).
 */
struct pkram_node_stat {
	__u32 size;
	__u32 index;		/* in */
	char name[PKRAM_NODE_NAME_MAX + 1];	/* out, NUL-terminated */
	__u32 state;		/* enum pkram_node_state */
	__u32 nr_objects;
	__u64 data_bytes;	/* pool bytes holding object data */
	__u64 meta_bytes;	/* pool bytes holding this node's metadata */
	__u32 open_fds;
	__u32 flags;		/* out: PKRAM_NODE_HAS_DATA_CRC */
};
#define PKRAM_NODE_HAS_DATA_CRC	(1U << 0)	/* sealed with PKRAM_SEAL_DATA_CRC */

/*
 * PKRAM_IOC_NODE_SEAL: on a node fd. With PKRAM_SEAL_DATA_CRC the CRC32C of
 * every extent's data is computed (O(data)) and stored with the metadata,
 * for PKRAM_IOC_NODE_VERIFY; restore itself stays O(metadata).
 */
#define PKRAM_SEAL_DATA_CRC	(1U << 0)
struct pkram_node_seal {
	__u32 size;
	__u32 flags;
};

/*
 * PKRAM_IOC_NODE_VERIFY: on a node fd of a SEALED or RESTORED node sealed
 * with PKRAM_SEAL_DATA_CRC (else ENODATA): re-validates its metadata and
 * checks every extent's data against its CRC. Outputs the counts.
 */
struct pkram_node_verify {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 checked_extents;
	__u64 checked_bytes;
	__u64 bad_extents;
	__u32 bad_objects;
	__u32 reserved;
};

/* PKRAM_IOC_OBJ_OPEN: on a node fd; returns an object fd. */
#define PKRAM_OBJ_CREATE	(1U << 0)	/* create if missing (OPEN node only) */
#define PKRAM_OBJ_EXCL		(1U << 1)	/* with _CREATE: fail if it exists */
#define PKRAM_OBJ_BYTES		(1U << 2)	/* bind the fd to the byte stream */
struct pkram_obj_open {
	__u32 size;
	__u32 flags;
	__u64 name;
	__u32 name_len;
	__s32 fd;		/* out */
};

/*
 * PKRAM_IOC_OBJ_STAT: on a node fd, iterates objects in creation order: pass
 * cursor (0 to start), get the first object with id >= cursor, its id, and
 * its name copied to name/name_buf_len (ENOENT past the end; ENAMETOOLONG,
 * with name_len set, when the buffer is too small). Continue with id + 1.
 * PKRAM_IOC_OBJ_INFO: on an object fd, the same for that object.
 */
struct pkram_obj_stat {
	__u32 size;
	__u32 name_buf_len;	/* in */
	__u64 cursor;		/* in */
	__u64 name;		/* in: user buffer */
	__u64 id;		/* out */
	__u64 page_size;	/* out: page stream logical size, bytes */
	__u64 byte_size;	/* out: byte stream length */
	__u64 data_bytes;	/* out: pool bytes used by both streams */
	__u32 name_len;		/* out */
	__u32 nr_extents;	/* out: runs of contiguous pool pages (page stream) */
	__u32 nr_huge;		/* out: of its 2 MiB, how many are 2 MiB-aligned in the pool */
	__u32 reserved;
};

/*
 * The size travels in each struct, not in the ioctl number, so structs can
 * grow without new numbers (as iommufd and liveupdate do).
 */
/*
 * PKRAM_IOC_OBJ_DELETE: on a node fd of an OPEN node. The object leaves the
 * node at once; fds still open on it keep working until closed, then its
 * pages go back to the pool (like an unlinked file).
 */
struct pkram_obj_delete {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 name;
	__u32 name_len;
	__u32 reserved;
};

/*
 * PKRAM_IOC_OBJ_RENAME: on a node fd of an OPEN node. An object of the new
 * name is replaced (deleted as above) unless PKRAM_RENAME_NOREPLACE.
 */
#define PKRAM_RENAME_NOREPLACE	(1U << 0)
struct pkram_obj_rename {
	__u32 size;
	__u32 flags;
	__u64 old_name;
	__u64 new_name;
	__u32 old_len;
	__u32 new_len;
	__u32 reserved;
	__u32 pad;		/* must be 0 */
};

/* PKRAM_IOC_OBJ_TRUNCATE: on a writable object fd of an OPEN node. */
struct pkram_obj_truncate {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 length;		/* the stream's new size, bytes */
};

#define PKRAM_IOC_MAGIC		0xB7
#define PKRAM_IOC_POOL_STATUS	_IO(PKRAM_IOC_MAGIC, 0x00)
#define PKRAM_IOC_NODE_CREATE	_IO(PKRAM_IOC_MAGIC, 0x01)
#define PKRAM_IOC_NODE_OPEN	_IO(PKRAM_IOC_MAGIC, 0x02)
#define PKRAM_IOC_NODE_FREE	_IO(PKRAM_IOC_MAGIC, 0x03)
#define PKRAM_IOC_NODE_STAT	_IO(PKRAM_IOC_MAGIC, 0x04)
#define PKRAM_IOC_POOL_ADOPT	_IO(PKRAM_IOC_MAGIC, 0x05)
#define PKRAM_IOC_POOL_DISCARD	_IO(PKRAM_IOC_MAGIC, 0x06)
#define PKRAM_IOC_POOL_LEND	_IO(PKRAM_IOC_MAGIC, 0x07)
#define PKRAM_IOC_POOL_RECLAIM	_IO(PKRAM_IOC_MAGIC, 0x08)
#define PKRAM_IOC_POOL_RESIZE	_IO(PKRAM_IOC_MAGIC, 0x09)
#define PKRAM_IOC_NODE_INFO	_IO(PKRAM_IOC_MAGIC, 0x10)
#define PKRAM_IOC_NODE_SEAL	_IO(PKRAM_IOC_MAGIC, 0x11)
#define PKRAM_IOC_OBJ_OPEN	_IO(PKRAM_IOC_MAGIC, 0x12)
#define PKRAM_IOC_OBJ_STAT	_IO(PKRAM_IOC_MAGIC, 0x13)
#define PKRAM_IOC_NODE_VERIFY	_IO(PKRAM_IOC_MAGIC, 0x14)
#define PKRAM_IOC_OBJ_DELETE	_IO(PKRAM_IOC_MAGIC, 0x15)
#define PKRAM_IOC_OBJ_RENAME	_IO(PKRAM_IOC_MAGIC, 0x16)
#define PKRAM_IOC_OBJ_INFO	_IO(PKRAM_IOC_MAGIC, 0x20)
#define PKRAM_IOC_OBJ_TRUNCATE	_IO(PKRAM_IOC_MAGIC, 0x21)

#endif /* _UAPI_LINUX_PKRAM_H */
