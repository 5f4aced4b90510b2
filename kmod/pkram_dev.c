// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pkram and the fds it hands out: node fds and object fds. Every ioctl
 * argument starts with its size and is read with copy_struct_from_user(), so
 * older and newer userspace both work; see include/uapi/linux/pkram.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/ktime.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pkram_compat.h"
#include "pkram_internal.h"
#include "pkram_trace.h"

struct pkram_obj_file {
	struct pkram_object *obj;
	int stream;
};

/* Largest argument struct; the buffer every ioctl reads into. */
union pkram_ioc_arg {
	struct pkram_pool_status pool_status;
	struct pkram_pool_lend pool_lend;
	struct pkram_pool_reclaim pool_reclaim;
	struct pkram_pool_resize pool_resize;
	struct pkram_pool_adopt pool_adopt;
	struct pkram_pool_discard pool_discard;
	struct pkram_node_open node_open;
	struct pkram_node_free node_free;
	struct pkram_node_stat node_stat;
	struct pkram_node_seal node_seal;
	struct pkram_obj_open obj_open;
	struct pkram_obj_stat obj_stat;
	struct pkram_obj_truncate obj_truncate;
	struct pkram_node_verify node_verify;
	struct pkram_obj_delete obj_delete;
	struct pkram_obj_rename obj_rename;
};

struct pkram_ioc_ctx {
	struct file *file;
	void __user *uarg;
	u32 usize;		/* the size userspace passed */
	u32 ksize;		/* the size this module knows */
};

/* Copies the result back: as many bytes as both sides know. */
static int reply(struct pkram_ioc_ctx *ctx, void *arg)
{
	*(u32 *)arg = ctx->ksize;
	if (copy_to_user(ctx->uarg, arg, min(ctx->usize, ctx->ksize)))
		return -EFAULT;
	return 0;
}

static int copy_name(u64 uptr, u32 len, u32 max, char *buf)
{
	if (!len)
		return -EINVAL;
	if (len > max)
		return -ENAMETOOLONG;
	if (copy_from_user(buf, u64_to_user_ptr(uptr), len))
		return -EFAULT;
	buf[len] = '\0';
	return 0;
}

static int copy_node_name(u64 uptr, u32 len, char *buf)
{
	int ret = copy_name(uptr, len, PKRAM_NODE_NAME_MAX, buf);

	return ret ? ret : pkram_fmt_check_node_name(buf, len);
}

static int copy_obj_name(u64 uptr, u32 len, char **out)
{
	char *name = kmalloc(PKRAM_OBJ_NAME_MAX + 1, GFP_KERNEL);
	int ret;

	if (!name)
		return -ENOMEM;
	ret = copy_name(uptr, len, PKRAM_OBJ_NAME_MAX, name);
	if (!ret)
		ret = pkram_fmt_check_obj_name(name, len);
	if (ret) {
		kfree(name);
		return ret;
	}
	*out = name;
	return 0;
}

/*
 * Wraps priv in a new fd: reserve the fd, answer userspace, create the file,
 * install it last. On failure nothing of priv was consumed.
 */
static int install_file(struct pkram_ioc_ctx *ctx, void *arg, s32 *fd_field,
			struct file *(*make)(void *make_arg), void *make_arg)
{
	struct file *file;
	int fd, ret;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	*fd_field = fd;
	ret = reply(ctx, arg);
	if (ret)
		goto err_put_fd;
	file = make(make_arg);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_put_fd;
	}
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
	fd_install(fd, file);
	return 0;

err_put_fd:
	put_unused_fd(fd);
	return ret;
}

struct anon_file_args {
	const char *name;
	const struct file_operations *fops;
	void *priv;
	int flags;
};

static struct file *make_anon_file(void *arg)
{
	struct anon_file_args *a = arg;

	return anon_inode_getfile(a->name, a->fops, a->priv, a->flags);
}

static int install_fd(struct pkram_ioc_ctx *ctx, void *arg, s32 *fd_field,
		      const char *name, const struct file_operations *fops,
		      void *priv, int flags)
{
	struct anon_file_args a = { name, fops, priv, flags };

	return install_file(ctx, arg, fd_field, make_anon_file, &a);
}

/* ---- object fds ------------------------------------------------------- */

static ssize_t obj_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct pkram_obj_file *of = iocb->ki_filp->private_data;
	u64 start = ktime_get_ns();
	ssize_t ret = pkram_object_read_iter(pkram_pool, of->obj, of->stream,
					     to, iocb->ki_pos);

	if (ret > 0)
		iocb->ki_pos += ret;
	trace_pkram_obj_read(of->obj->node->name, ret > 0 ? ret : 0,
			     ktime_get_ns() - start, ret < 0 ? ret : 0);
	return ret;
}

static ssize_t obj_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct pkram_obj_file *of = iocb->ki_filp->private_data;
	u64 start = ktime_get_ns();
	ssize_t ret;

	if (iocb->ki_flags & IOCB_APPEND) {
		down_read(&of->obj->lock);
		iocb->ki_pos = of->obj->stream[of->stream].size;
		up_read(&of->obj->lock);
	}
	ret = pkram_object_write_iter(pkram_pool, of->obj, of->stream, from,
				      iocb->ki_pos);
	if (ret > 0)
		iocb->ki_pos += ret;
	trace_pkram_obj_write(of->obj->node->name, ret > 0 ? ret : 0,
			      ktime_get_ns() - start, ret < 0 ? ret : 0);
	return ret;
}

static loff_t obj_llseek(struct file *file, loff_t offset, int whence)
{
	struct pkram_obj_file *of = file->private_data;
	struct pkram_object *obj = of->obj;
	loff_t size, pos;

	if (whence == SEEK_DATA || whence == SEEK_HOLE) {
		pos = pkram_object_seek_data(obj, of->stream, offset, whence);
		return pos < 0 ? pos : vfs_setpos(file, pos, PKRAM_OBJ_MAX_SIZE);
	}
	down_read(&obj->lock);
	size = obj->stream[of->stream].size;
	up_read(&obj->lock);
	return generic_file_llseek_size(file, offset, whence,
					PKRAM_OBJ_MAX_SIZE, size);
}

static vm_fault_t obj_fault_order(struct vm_fault *vmf, unsigned int order)
{
	struct pkram_obj_file *of = vmf->vma->vm_file->private_data;

	return pkram_object_fault(pkram_pool, of->obj, of->stream, vmf, order);
}

static vm_fault_t obj_fault(struct vm_fault *vmf)
{
	return obj_fault_order(vmf, 0);
}

static vm_fault_t obj_huge_fault(struct vm_fault *vmf, pkram_fault_size size)
{
	return obj_fault_order(vmf, pkram_fault_order(size));
}

/* Counts mappings per node; .open runs when a mapping is split or copied. */
static void obj_vm_open(struct vm_area_struct *vma)
{
	struct pkram_obj_file *of = vma->vm_file->private_data;

	atomic_inc(&of->obj->node->maps);
	if (vma->vm_flags & VM_MAYWRITE)
		atomic_inc(&of->obj->node->writable_maps);
}

static void obj_vm_close(struct vm_area_struct *vma)
{
	struct pkram_obj_file *of = vma->vm_file->private_data;

	atomic_dec(&of->obj->node->maps);
	if (vma->vm_flags & VM_MAYWRITE)
		atomic_dec(&of->obj->node->writable_maps);
}

static const struct vm_operations_struct pkram_vm_ops = {
	.fault = obj_fault,
	.huge_fault = obj_huge_fault,
	.open = obj_vm_open,
	.close = obj_vm_close,
};

/*
 * Mappings are device-dax-like: struct pages (so get_user_pages works),
 * 2 MiB PMDs where an extent allows, 4 KiB PTEs elsewhere.
 */
static int obj_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pkram_obj_file *of = file->private_data;
	struct pkram_node *node = of->obj->node;

	/*
	 * Private mappings would copy-on-write pool pages: not supported.
	 * (MAP_SHARED of a read-only fd has VM_MAYSHARE but not VM_SHARED.)
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (!(vma->vm_flags & VM_WRITE))
		vm_flags_clear(vma, VM_MAYWRITE);	/* cannot become writable later */
	vm_flags_set(vma, VM_MIXEDMAP | VM_HUGEPAGE | VM_DONTEXPAND |
		     VM_DONTDUMP);
	vma->vm_ops = &pkram_vm_ops;
	/* Under the node's state lock, so a seal sees every writable mapping. */
	down_read(&node->rwsem);
	if ((vma->vm_flags & VM_WRITE) && node->state != PKRAM_NODE_STATE_OPEN) {
		up_read(&node->rwsem);
		return -EROFS;
	}
	WRITE_ONCE(node->exposed, true);
	obj_vm_open(vma);
	up_read(&node->rwsem);
	return 0;
}

/*
 * An open(2) of an object fd's inode (/proc/PID/fd/N): a new fd of the same
 * object, writable only while its node is OPEN, as PKRAM_IOC_OBJ_OPEN would
 * give. Fds the module makes itself never come here.
 */
static int obj_open(struct inode *inode, struct file *file)
{
	struct pkram_obj_file *of;
	struct pkram_object *obj;
	struct pkram_node *node;
	int ret = 0;

	of = kzalloc(sizeof(*of), GFP_KERNEL_ACCOUNT);
	if (!of)
		return -ENOMEM;
	mutex_lock(&pkram_pool->lock);
	obj = pkram_inode_object(inode, &of->stream);
	if (!obj) {
		ret = -ENOENT;
		goto out;
	}
	node = obj->node;
	down_read(&node->rwsem);
	if ((file->f_mode & FMODE_WRITE) && node->state != PKRAM_NODE_STATE_OPEN)
		ret = -EROFS;
	up_read(&node->rwsem);
	if (ret) {
		pkram_object_put(obj);
		goto out;
	}
	of->obj = obj;
	atomic_inc(&node->users);
	file->private_data = of;
out:
	mutex_unlock(&pkram_pool->lock);
	if (ret)
		kfree(of);
	return ret;
}

static int obj_release(struct inode *inode, struct file *file)
{
	struct pkram_obj_file *of = file->private_data;
	struct pkram_node *node = of->obj->node;

	pkram_object_put(of->obj);
	atomic_dec(&node->users);
	kfree(of);
	return 0;
}

static long obj_ioctl(struct file *file, unsigned int cmd, unsigned long uarg);

static const struct file_operations pkram_obj_fops = {
	.owner = THIS_MODULE,
	.read_iter = obj_read_iter,
	.write_iter = obj_write_iter,
	.splice_read = pkram_splice_read,
	.splice_write = iter_file_splice_write,
	.llseek = obj_llseek,
	.mmap = obj_mmap,
	.get_unmapped_area = thp_get_unmapped_area,
	.open = obj_open,
	.release = obj_release,
	.unlocked_ioctl = obj_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* ---- node fds --------------------------------------------------------- */

static int node_release(struct inode *inode, struct file *file)
{
	struct pkram_node *node = file->private_data;

	atomic_dec(&node->users);
	return 0;
}

static long node_ioctl(struct file *file, unsigned int cmd, unsigned long uarg);

static const struct file_operations pkram_node_fops = {
	.owner = THIS_MODULE,
	.release = node_release,
	.unlocked_ioctl = node_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int install_node_fd(struct pkram_ioc_ctx *ctx,
			   struct pkram_node_open *arg, struct pkram_node *node)
{
	int ret = install_fd(ctx, arg, &arg->fd, "[pkram-node]",
			     &pkram_node_fops, node, O_RDWR);

	if (ret)
		atomic_dec(&node->users);
	return ret;
}

/* ---- ioctl handlers --------------------------------------------------- */

static int ioc_pool_status(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_pool_status *arg = argp;
	struct pkram_pool *pool = pkram_pool;

	mutex_lock(&pool->lock);
	arg->abi_version = PKRAM_ABI_VERSION;
	arg->format_version = pkram_pool_fmt_version(pool);
	arg->next_pool_bytes = pool->next_size;
	arg->nr_nodes = pool->nr_nodes;
	arg->pool_base = pool->base;
	arg->pool_bytes = pool->size;
	spin_lock(&pool->alloc_lock);
	arg->used_bytes = pool->used_pages << PKRAM_FMT_PAGE_SHIFT;
	arg->lent_bytes = pool->lent_pages << PKRAM_FMT_PAGE_SHIFT;
	spin_unlock(&pool->alloc_lock);
	arg->free_bytes = pool->size - arg->used_bytes - arg->lent_bytes;
	arg->lend_block_bytes = pkram_lend_block_bytes(pool);
	arg->generation = pool->generation;
	arg->restored_nodes = pool->restored_nodes;
	arg->rejected_nodes = pool->rejected_nodes;
	arg->stale_discarded = pool->stale_discarded;
	arg->stale_held = pool->stale_held;
	arg->stale_error = pool->stale_held ? pool->stale_error : 0;
	mutex_unlock(&pool->lock);
	return reply(ctx, arg);
}

static int ioc_pool_lend(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_pool_lend *arg = argp;
	int ret;

	if (arg->flags || arg->lent_bytes || arg->block_bytes)
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = pkram_lend(pkram_pool, arg->keep_bytes, &arg->lent_bytes);
	arg->block_bytes = pkram_lend_block_bytes(pkram_pool);
	return ret ? ret : reply(ctx, arg);
}

/* Copies the result back even when the call failed: ret, or the copy's error. */
static int reply_also_on_error(struct pkram_ioc_ctx *ctx, void *arg, int ret)
{
	int copied = reply(ctx, arg);

	return ret ? ret : copied;
}

/* What came back is told even when a block could not be taken back. */
static int ioc_pool_reclaim(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_pool_reclaim *arg = argp;

	if (arg->flags || arg->reclaimed_bytes)
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return reply_also_on_error(ctx, arg,
				   pkram_reclaim(pkram_pool, arg->bytes,
						 &arg->reclaimed_bytes));
}

/* The smallest size that holds every node is told when next_bytes does not. */
static int ioc_pool_resize(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_pool_resize *arg = argp;

	if (arg->flags || arg->min_bytes)
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return reply_also_on_error(ctx, arg,
				   pkram_pool_resize_next(pkram_pool,
							  arg->next_bytes,
							  &arg->min_bytes));
}

static int ioc_pool_adopt(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_pool_adopt *arg = argp;
	int ret;

	if (arg->flags || arg->restored_nodes || arg->rejected_nodes ||
	    arg->verified_nodes || arg->reserved)
		return -EINVAL;
	ret = pkram_pool_adopt(pkram_pool, arg);
	return ret ? ret : reply(ctx, arg);
}

static int ioc_pool_discard(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_pool_discard *arg = argp;

	if (arg->flags)
		return -EINVAL;
	return pkram_pool_discard(pkram_pool);
}

static int ioc_node_create(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_node_open *arg = argp;
	char name[PKRAM_NODE_NAME_MAX + 1];
	struct pkram_node *node;
	int ret;

	if (arg->flags || arg->fd)
		return -EINVAL;
	ret = copy_node_name(arg->name, arg->name_len, name);
	if (ret)
		return ret;
	ret = pkram_node_create(pkram_pool, name, arg->name_len, &node);
	if (ret)
		return ret;
	return install_node_fd(ctx, arg, node);
}

static int ioc_node_open(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_node_open *arg = argp;
	char name[PKRAM_NODE_NAME_MAX + 1];
	struct pkram_node *node;
	int ret;

	if ((arg->flags & ~PKRAM_NODE_OPEN_WRITE) || arg->fd)
		return -EINVAL;
	ret = copy_node_name(arg->name, arg->name_len, name);
	if (ret)
		return ret;
	ret = pkram_node_open(pkram_pool, name, arg->name_len,
			      arg->flags & PKRAM_NODE_OPEN_WRITE, &node);
	if (ret)
		return ret;
	return install_node_fd(ctx, arg, node);
}

static int ioc_node_free(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_node_free *arg = argp;
	char name[PKRAM_NODE_NAME_MAX + 1];
	int ret;

	if (arg->flags || arg->reserved)
		return -EINVAL;
	ret = copy_node_name(arg->name, arg->name_len, name);
	if (ret)
		return ret;
	return pkram_node_free(pkram_pool, name, arg->name_len);
}

static int ioc_node_stat(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_node_stat *arg = argp;
	struct pkram_pool *pool = pkram_pool;
	struct pkram_node *node;
	u32 i = 0;
	int ret = -ENOENT;

	mutex_lock(&pool->lock);
	list_for_each_entry(node, &pool->nodes, list) {
		if (i++ == arg->index) {
			pkram_node_stat(node, arg);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&pool->lock);
	return ret ? ret : reply(ctx, arg);
}

static int ioc_node_info(struct pkram_ioc_ctx *ctx, void *argp)
{
	pkram_node_stat(ctx->file->private_data, argp);
	return reply(ctx, argp);
}

static int ioc_node_seal(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_node_seal *arg = argp;

	if (arg->flags & ~PKRAM_SEAL_DATA_CRC)
		return -EINVAL;
	return pkram_node_seal(pkram_pool, ctx->file->private_data,
			       arg->flags);
}

static int ioc_node_verify(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_node_verify *arg = argp;
	int ret;

	if (arg->flags || arg->reserved || arg->checked_extents ||
	    arg->checked_bytes || arg->bad_extents || arg->bad_objects)
		return -EINVAL;
	ret = pkram_node_verify(pkram_pool, ctx->file->private_data, arg);
	return ret ? ret : reply(ctx, arg);
}

static struct file *make_obj_file(void *arg)
{
	struct pkram_obj_file *of = arg;
	struct pkram_node *node = of->obj->node;

	return pkram_stream_file(of->obj, of->stream, &pkram_obj_fops, of,
				 node->state == PKRAM_NODE_STATE_OPEN ? O_RDWR :
									O_RDONLY);
}

static int ioc_obj_open(struct pkram_ioc_ctx *ctx, void *argp)
{
	const u32 known = PKRAM_OBJ_CREATE | PKRAM_OBJ_EXCL | PKRAM_OBJ_BYTES;
	struct pkram_obj_open *arg = argp;
	struct pkram_node *node = ctx->file->private_data;
	struct pkram_obj_file *of;
	struct pkram_object *obj;
	char *name;
	int ret;

	if ((arg->flags & ~known) || arg->fd)
		return -EINVAL;
	ret = copy_obj_name(arg->name, arg->name_len, &name);
	if (ret)
		return ret;
	ret = pkram_object_open(node, name, arg->name_len, arg->flags, &obj);
	kfree(name);
	if (ret)
		return ret;
	of = kzalloc(sizeof(*of), GFP_KERNEL);
	if (!of) {
		pkram_object_put(obj);
		return -ENOMEM;
	}
	of->obj = obj;
	of->stream = (arg->flags & PKRAM_OBJ_BYTES) ? PKRAM_FMT_STREAM_BYTES :
						      PKRAM_FMT_STREAM_PAGES;
	atomic_inc(&node->users);
	/* A node that is not OPEN hands out read-only object fds. */
	ret = install_file(ctx, arg, &arg->fd, make_obj_file, of);
	if (ret) {
		pkram_object_put(obj);
		atomic_dec(&node->users);
		kfree(of);
	}
	return ret;
}

/* Answers OBJ_STAT/OBJ_INFO: name copied to the user's buffer if it fits. */
static int reply_obj_stat(struct pkram_ioc_ctx *ctx,
			  struct pkram_obj_stat *arg, const char *name)
{
	if (arg->name_buf_len < arg->name_len + 1) {
		reply(ctx, arg);
		return -ENAMETOOLONG;
	}
	if (copy_to_user(u64_to_user_ptr(arg->name), name, arg->name_len + 1))
		return -EFAULT;
	return reply(ctx, arg);
}

static bool obj_stat_outputs_zero(const struct pkram_obj_stat *arg)
{
	return !arg->reserved && !arg->id && !arg->name_len &&
	       !arg->nr_extents && !arg->nr_huge;
}

static int ioc_obj_stat(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_obj_stat *arg = argp;
	char *name;
	int ret;

	if (!obj_stat_outputs_zero(arg))
		return -EINVAL;
	name = kmalloc(PKRAM_OBJ_NAME_MAX + 1, GFP_KERNEL);
	if (!name)
		return -ENOMEM;
	ret = pkram_object_stat(ctx->file->private_data, arg->cursor, arg,
				name);
	if (!ret)
		ret = reply_obj_stat(ctx, arg, name);
	kfree(name);
	return ret;
}

static int ioc_obj_info(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_obj_stat *arg = argp;
	struct pkram_obj_file *of = ctx->file->private_data;
	struct pkram_node *node = of->obj->node;
	char *name;
	int ret;

	if (!obj_stat_outputs_zero(arg))
		return -EINVAL;
	name = kmalloc(PKRAM_OBJ_NAME_MAX + 1, GFP_KERNEL);
	if (!name)
		return -ENOMEM;
	mutex_lock(&node->objects_lock);
	pkram_object_describe(of->obj, arg, name);
	mutex_unlock(&node->objects_lock);
	ret = reply_obj_stat(ctx, arg, name);
	kfree(name);
	return ret;
}

static int ioc_obj_delete(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_obj_delete *arg = argp;
	char *name;
	int ret;

	if (arg->flags || arg->reserved)
		return -EINVAL;
	ret = copy_obj_name(arg->name, arg->name_len, &name);
	if (ret)
		return ret;
	ret = pkram_object_delete(ctx->file->private_data, name, arg->name_len);
	kfree(name);
	return ret;
}

static int ioc_obj_rename(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_obj_rename *arg = argp;
	char *old, *new;
	int ret;

	if ((arg->flags & ~PKRAM_RENAME_NOREPLACE) || arg->reserved || arg->pad)
		return -EINVAL;
	ret = copy_obj_name(arg->old_name, arg->old_len, &old);
	if (ret)
		return ret;
	ret = copy_obj_name(arg->new_name, arg->new_len, &new);
	if (!ret) {
		ret = pkram_object_rename(ctx->file->private_data, old,
					  arg->old_len, new, arg->new_len,
					  arg->flags & PKRAM_RENAME_NOREPLACE);
		kfree(new);
	}
	kfree(old);
	return ret;
}

static int ioc_obj_truncate(struct pkram_ioc_ctx *ctx, void *argp)
{
	struct pkram_obj_truncate *arg = argp;
	struct pkram_obj_file *of = ctx->file->private_data;

	if (arg->flags)
		return -EINVAL;
	if (!(ctx->file->f_mode & FMODE_WRITE))
		return -EBADF;
	return pkram_object_truncate(pkram_pool, of->obj, of->stream,
				     arg->length);
}

/* ---- dispatch --------------------------------------------------------- */

struct pkram_ioc {
	unsigned int cmd;
	u32 min_size;		/* through the last field of ABI version 1 */
	u32 size;
	int (*fn)(struct pkram_ioc_ctx *ctx, void *arg);
};

/* Every argument struct must fit the buffer dispatch() reads it into. */
#define IOC(_cmd, _fn, _struct, _last)					\
	{ .cmd = _cmd, .fn = _fn,					\
	  .size = sizeof(_struct) +					\
		  BUILD_BUG_ON_ZERO(sizeof(_struct) > sizeof(union pkram_ioc_arg)), \
	  .min_size = offsetofend(_struct, _last) }

static const struct pkram_ioc dev_iocs[] = {
	IOC(PKRAM_IOC_POOL_STATUS, ioc_pool_status, struct pkram_pool_status, stale_held),
	IOC(PKRAM_IOC_POOL_ADOPT, ioc_pool_adopt, struct pkram_pool_adopt, reserved),
	IOC(PKRAM_IOC_POOL_DISCARD, ioc_pool_discard, struct pkram_pool_discard, flags),
	IOC(PKRAM_IOC_POOL_LEND, ioc_pool_lend, struct pkram_pool_lend, block_bytes),
	IOC(PKRAM_IOC_POOL_RECLAIM, ioc_pool_reclaim, struct pkram_pool_reclaim, reclaimed_bytes),
	IOC(PKRAM_IOC_POOL_RESIZE, ioc_pool_resize, struct pkram_pool_resize, min_bytes),
	IOC(PKRAM_IOC_NODE_CREATE, ioc_node_create, struct pkram_node_open, fd),
	IOC(PKRAM_IOC_NODE_OPEN, ioc_node_open, struct pkram_node_open, fd),
	IOC(PKRAM_IOC_NODE_FREE, ioc_node_free, struct pkram_node_free, reserved),
	IOC(PKRAM_IOC_NODE_STAT, ioc_node_stat, struct pkram_node_stat, flags),
};

static const struct pkram_ioc node_iocs[] = {
	IOC(PKRAM_IOC_NODE_INFO, ioc_node_info, struct pkram_node_stat, flags),
	IOC(PKRAM_IOC_NODE_VERIFY, ioc_node_verify, struct pkram_node_verify, reserved),
	IOC(PKRAM_IOC_NODE_SEAL, ioc_node_seal, struct pkram_node_seal, flags),
	IOC(PKRAM_IOC_OBJ_OPEN, ioc_obj_open, struct pkram_obj_open, fd),
	IOC(PKRAM_IOC_OBJ_STAT, ioc_obj_stat, struct pkram_obj_stat, reserved),
	IOC(PKRAM_IOC_OBJ_DELETE, ioc_obj_delete, struct pkram_obj_delete, reserved),
	IOC(PKRAM_IOC_OBJ_RENAME, ioc_obj_rename, struct pkram_obj_rename, reserved),
};

static const struct pkram_ioc obj_iocs[] = {
	IOC(PKRAM_IOC_OBJ_INFO, ioc_obj_info, struct pkram_obj_stat, reserved),
	IOC(PKRAM_IOC_OBJ_TRUNCATE, ioc_obj_truncate, struct pkram_obj_truncate, length),
};

static long dispatch(struct file *file, unsigned int cmd, unsigned long uarg,
		     const struct pkram_ioc *table, size_t n)
{
	struct pkram_ioc_ctx ctx = { .file = file, .uarg = (void __user *)uarg };
	union pkram_ioc_arg arg;
	size_t i;
	int ret;

	for (i = 0; i < n; i++)
		if (table[i].cmd == cmd)
			break;
	if (i == n)
		return -ENOTTY;
	if (get_user(ctx.usize, (u32 __user *)ctx.uarg))
		return -EFAULT;
	if (ctx.usize < table[i].min_size)
		return -EINVAL;
	/* Never scan more than a page of user memory for a zero tail. */
	if (ctx.usize > PAGE_SIZE)
		return -E2BIG;
	ctx.ksize = table[i].size;
	/* Newer userspace: the bytes this module does not know must be zero. */
	ret = copy_struct_from_user(&arg, ctx.ksize, ctx.uarg, ctx.usize);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	return table[i].fn(&ctx, &arg);
}

static long dev_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	return dispatch(file, cmd, uarg, dev_iocs, ARRAY_SIZE(dev_iocs));
}

static long node_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	return dispatch(file, cmd, uarg, node_iocs, ARRAY_SIZE(node_iocs));
}

static long obj_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	return dispatch(file, cmd, uarg, obj_iocs, ARRAY_SIZE(obj_iocs));
}

static const struct file_operations pkram_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice pkram_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pkram",
	.fops = &pkram_dev_fops,
	.mode = 0600,
};

int pkram_dev_init(void)
{
	return misc_register(&pkram_misc);
}

void pkram_dev_exit(void)
{
	misc_deregister(&pkram_misc);
}
