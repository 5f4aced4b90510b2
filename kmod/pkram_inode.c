// SPDX-License-Identifier: GPL-2.0
/*
 * pkram object inodes: every stream of an object that is opened gets an
 * inode of its own on a small internal file system, so its mappings share
 * one address_space (truncation and hole filling zap exactly them) and the
 * mm treats them as device-dax: S_DAX for PMD faults, and a character-device
 * mode so that FOLL_LONGTERM pins (VFIO, io_uring) are allowed, as they are
 * on /dev/daxN.M. Object fds are files of these inodes, and an open(2) of
 * one through /proc/PID/fd/N opens the object again (what a VMM's
 * mem-path=/proc/self/fd/N does): pkram_inode_object() finds it.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>

#include "pkram_internal.h"

#define PKRAM_INODE_MAGIC	0x504b4f49	/* "PKOI" */

static struct vfsmount *pkram_mnt;
/* Guards inode->i_private: an object drops its inodes under it. */
static DEFINE_SPINLOCK(pkram_inode_lock);

static int pkram_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, PKRAM_INODE_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type pkram_fs_type = {
	.name = "pkram-objects",
	.init_fs_context = pkram_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

int pkram_inode_init(void)
{
	pkram_mnt = kern_mount(&pkram_fs_type);
	return PTR_ERR_OR_ZERO(pkram_mnt);
}

void pkram_inode_exit(void)
{
	kern_unmount(pkram_mnt);
}

/* The stream's inode, made on first use; the caller holds obj->lock. */
static struct inode *stream_inode(struct pkram_object *obj, int stream,
				  const struct file_operations *fops)
{
	struct pkram_stream *st = &obj->stream[stream];
	struct inode *inode = st->inode;

	if (inode)
		return inode;
	inode = alloc_anon_inode(pkram_mnt->mnt_sb);
	if (IS_ERR(inode))
		return inode;
	inode->i_mode = S_IFCHR | 0600;
	inode->i_flags |= S_DAX;
	/* Not init_special_inode(): an open(2) of it is an object open. */
	inode->i_fop = fops;
	spin_lock(&pkram_inode_lock);
	inode->i_private = obj;
	spin_unlock(&pkram_inode_lock);
	st->inode = inode;
	return inode;
}

/*
 * The object and stream of an object inode, with a reference, for an
 * open(2) of it; NULL once the object is gone. The caller holds pool->lock,
 * so the object's node, which is freed only under it, stays too.
 */
struct pkram_object *pkram_inode_object(struct inode *inode, int *stream)
{
	struct pkram_object *obj;
	int s;

	spin_lock(&pkram_inode_lock);
	obj = inode->i_private;
	if (obj && !kref_get_unless_zero(&obj->ref))
		obj = NULL;
	spin_unlock(&pkram_inode_lock);
	if (!obj)
		return NULL;
	for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++)
		if (obj->stream[s].inode == inode)
			*stream = s;
	return obj;
}

/* A new file of the stream's inode with fops and private data priv. */
struct file *pkram_stream_file(struct pkram_object *obj, int stream,
			       const struct file_operations *fops, void *priv,
			       int flags)
{
	struct inode *inode;
	struct file *file;

	/* What anon_inode_getfile() does: the file pins the module. */
	if (!try_module_get(fops->owner))
		return ERR_PTR(-ENOENT);
	down_write(&obj->lock);
	inode = stream_inode(obj, stream, fops);
	if (!IS_ERR(inode))
		ihold(inode);
	up_write(&obj->lock);
	if (IS_ERR(inode)) {
		module_put(fops->owner);
		return ERR_CAST(inode);
	}
	file = alloc_file_pseudo(inode, pkram_mnt, "[pkram-object]", flags,
				 fops);
	if (IS_ERR(file)) {
		iput(inode);
		module_put(fops->owner);
		return file;
	}
	file->private_data = priv;
	return file;
}

/*
 * The mappings of the stream's pages from [from, to) (bytes) go away. Every
 * hole a write fills comes here: a stream nobody maps costs no lock.
 */
void pkram_stream_unmap(struct pkram_stream *st, u64 from, u64 to)
{
	if (st->inode && to > from && mapping_mapped(st->inode->i_mapping))
		unmap_mapping_range(st->inode->i_mapping, from, to - from, 1);
}

void pkram_stream_put_inode(struct pkram_stream *st)
{
	if (st->inode) {
		spin_lock(&pkram_inode_lock);
		st->inode->i_private = NULL;
		spin_unlock(&pkram_inode_lock);
		iput(st->inode);
		st->inode = NULL;
	}
}
