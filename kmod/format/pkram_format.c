// SPDX-License-Identifier: GPL-2.0
/*
 * pkram persisted format: checks and writers shared by the module and the host
 * library. Everything read from the pool is untrusted: every offset, length
 * and count is checked before it is used, and records are copied out of the
 * pool before their fields are looked at.
 */
#ifdef __KERNEL__
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#define popcount64(x)	hweight64(x)
#define pkram_fmt_alloc(n)	kmalloc(n, GFP_KERNEL)
#define pkram_fmt_free(p)	kfree(p)
#define pkram_fmt_yield()	cond_resched()
#define ctz64(x)	__ffs64(x)
#endif

#include "pkram_format.h"

#define FMT_PAGE	((u64)PKRAM_FMT_PAGE_SIZE)

/* The fuzzer build skips CRC checks so mutations reach the deeper ones. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
static const bool fuzzing = true;
#else
static const bool fuzzing;
#endif

u32 pkram_fmt_crc32c(const void *data, size_t len)
{
	return ~pkram_fmt_crc32c_raw(~0U, data, len);
}

/* CRC32C of a record whose u32 crc field at crc_at is taken as zero. */
static u32 crc_skipping(const void *data, size_t len, size_t crc_at)
{
	static const u8 zero[4];
	const u8 *p = data;
	u32 crc;

	crc = pkram_fmt_crc32c_raw(~0U, p, crc_at);
	crc = pkram_fmt_crc32c_raw(crc, zero, sizeof(zero));
	crc = pkram_fmt_crc32c_raw(crc, p + crc_at + 4, len - crc_at - 4);
	return ~crc;
}

/* ---- bitmaps ---------------------------------------------------------- */

bool pkram_fmt_test_bit(const struct pkram_fmt_bitmap *map, u64 bit)
{
	return (map->words[bit / 64] >> (bit % 64)) & 1;
}

/* Bits [bit, bit + n) of one word; bit + n <= 64. */
static u64 word_mask(u64 bit, u64 n)
{
	return (n == 64 ? ~0ULL : ((1ULL << n) - 1)) << bit;
}

static void change_range(struct pkram_fmt_bitmap *map, u64 first, u64 nr,
			 bool set)
{
	while (nr) {
		u64 bit = first % 64;
		u64 n = 64 - bit < nr ? 64 - bit : nr;
		u64 mask = word_mask(bit, n);

		if (set)
			map->words[first / 64] |= mask;
		else
			map->words[first / 64] &= ~mask;
		first += n;
		nr -= n;
	}
}

void pkram_fmt_set_range(struct pkram_fmt_bitmap *map, u64 first, u64 nr)
{
	change_range(map, first, nr, true);
}

void pkram_fmt_clear_range(struct pkram_fmt_bitmap *map, u64 first, u64 nr)
{
	change_range(map, first, nr, false);
}

/* The first set bit in [first, first + nr), or PKRAM_FMT_NO_PAGE. */
static u64 first_set(const struct pkram_fmt_bitmap *map, u64 first, u64 nr)
{
	while (nr) {
		u64 bit = first % 64;
		u64 n = 64 - bit < nr ? 64 - bit : nr;
		u64 hit = map->words[first / 64] & word_mask(bit, n);

		if (hit)
			return first - bit + ctz64(hit);
		first += n;
		nr -= n;
	}
	return PKRAM_FMT_NO_PAGE;
}

bool pkram_fmt_range_clear(const struct pkram_fmt_bitmap *map, u64 first,
			   u64 nr)
{
	return first_set(map, first, nr) == PKRAM_FMT_NO_PAGE;
}

u64 pkram_fmt_count_set(const struct pkram_fmt_bitmap *map)
{
	u64 i, n = 0;

	for (i = 0; i < pkram_fmt_bitmap_words(map->nr_bits); i++)
		n += popcount64(map->words[i]);
	return n;
}

static u64 find_clear_between(const struct pkram_fmt_bitmap *map, u64 start,
			      u64 limit, u64 nr, u64 align)
{
	u64 s = (start + align - 1) & ~(align - 1);

	while (s < limit && nr <= limit - s) {
		u64 hit = first_set(map, s, nr);

		if (hit == PKRAM_FMT_NO_PAGE)
			return s;
		s = (hit + align) & ~(align - 1);
	}
	return PKRAM_FMT_NO_PAGE;
}

u64 pkram_fmt_find_clear(const struct pkram_fmt_bitmap *map, u64 nr,
			 u64 align, u64 hint)
{
	u64 found;

	if (!nr || !align || (align & (align - 1)) || nr > map->nr_bits)
		return PKRAM_FMT_NO_PAGE;
	if (hint >= map->nr_bits)
		hint = 0;
	found = find_clear_between(map, hint, map->nr_bits, nr, align);
	if (found == PKRAM_FMT_NO_PAGE && hint)
		found = find_clear_between(map, 0, hint + nr - 1 < map->nr_bits ?
					   hint + nr - 1 : map->nr_bits,
					   nr, align);
	return found;
}

/* ---- names ------------------------------------------------------------ */

/* Control bytes (newline, ESC, ...) would forge or garble log lines. */
static bool has_control_byte(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return true;
	return false;
}

/* The first size - 1 bytes of an object name, control bytes as '?'. */
static void show_name(char *out, size_t size, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < size && name[i]; i++)
		out[i] = has_control_byte(&name[i], 1) ? '?' : name[i];
	out[i] = '\0';
}

int pkram_fmt_check_node_name(const char *name, size_t len)
{
	if (!len)
		return -EINVAL;
	if (len > PKRAM_FMT_NODE_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) || has_control_byte(name, len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

int pkram_fmt_check_obj_name(const char *name, size_t len)
{
	size_t start = 0, i;

	if (!len)
		return -EINVAL;
	if (len > PKRAM_FMT_OBJ_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '\0', len))
		return -EINVAL;
	/* A relative path: no leading or trailing '/', no empty, "." or ".." part. */
	for (i = 0; i <= len; i++) {
		size_t part;

		if (i < len && name[i] != '/')
			continue;
		part = i - start;
		if (!part || (part == 1 && name[start] == '.') ||
		    (part == 2 && name[start] == '.' && name[start + 1] == '.'))
			return -EINVAL;
		start = i + 1;
	}
	return 0;
}

/* ---- superblock ------------------------------------------------------- */

void pkram_fmt_super_update_crc(struct pkram_fmt_super *sb)
{
	sb->crc = crc_skipping(sb, FMT_PAGE,
			       offsetof(struct pkram_fmt_super, crc));
}

void pkram_fmt_super_init(struct pkram_fmt_super *sb, u64 pool_size,
			  u64 token, u64 generation, u32 version)
{
	memset(sb, 0, FMT_PAGE);
	sb->magic = PKRAM_FMT_SUPER_MAGIC;
	sb->version = version;
	sb->pool_size = pool_size;
	sb->token = token;
	sb->generation = generation;
	pkram_fmt_super_update_crc(sb);
}

#define fmt_fail(e, code, ...) ({						\
	snprintf((e)->msg, sizeof((e)->msg), __VA_ARGS__);		\
	(e)->err = (code);						\
	(code);								\
})

/* One copy of the superblock, whole and for this pool and token. */
static int check_super_copy(const struct pkram_fmt_pool *pool,
			    const struct pkram_fmt_super *sb, u64 token,
			    struct pkram_fmt_error *err)
{
	u32 i;

	if (sb->magic != PKRAM_FMT_SUPER_MAGIC)
		return fmt_fail(err, -ENOENT, "no pkram superblock");
	if (!fuzzing && sb->crc != crc_skipping(sb, FMT_PAGE,
				offsetof(struct pkram_fmt_super, crc)))
		return fmt_fail(err, -EBADMSG, "superblock checksum mismatch");
	if (sb->version < PKRAM_FMT_VERSION_UNSHADOWED ||
	    sb->version > PKRAM_FMT_VERSION_MAX)
		return fmt_fail(err, -EPROTO, "superblock format version %u, expected %u to %u",
			    sb->version, PKRAM_FMT_VERSION_UNSHADOWED,
			    PKRAM_FMT_VERSION_MAX);
	if (sb->token != token)
		return fmt_fail(err, -ESTALE,
			    "handover token %016llx does not match the pool's %016llx",
			    (unsigned long long)token,
			    (unsigned long long)sb->token);
	if (sb->version < PKRAM_FMT_VERSION_RESIZED && sb->next_pool_size)
		return fmt_fail(err, -EBADMSG, "superblock reserved field is not zero");
	/* A resize the previous kernel recorded (every sealed node fits). */
	if (sb->pool_size != pool->size && sb->next_pool_size != pool->size)
		return fmt_fail(err, -EINVAL, "superblock is for a pool of %llu bytes, not %llu",
			    (unsigned long long)sb->pool_size,
			    (unsigned long long)pool->size);
	if (sb->nr_nodes > PKRAM_FMT_MAX_NODES)
		return fmt_fail(err, -EBADMSG, "superblock lists %u nodes, more than %u",
			    sb->nr_nodes, PKRAM_FMT_MAX_NODES);
	if (sb->reserved0)
		return fmt_fail(err, -EBADMSG, "superblock reserved field is not zero");
	for (i = 0; i < ARRAY_SIZE(sb->reserved); i++)
		if (sb->reserved[i])
			return fmt_fail(err, -EBADMSG, "superblock reserved field is not zero");
	return 0;
}

int pkram_fmt_check_super(const struct pkram_fmt_pool *pool, u64 token,
			  const struct pkram_fmt_super **found,
			  struct pkram_fmt_error *err)
{
	const struct pkram_fmt_super *shadow = pkram_fmt_super_copy(pool, 1);
	struct pkram_fmt_error shadow_err;
	int ret, shadow_ret;

	err->err = 0;
	err->msg[0] = '\0';
	*found = NULL;
	if (pool->size < PKRAM_FMT_SUPER_PAGES * FMT_PAGE)
		return fmt_fail(err, -EINVAL, "pool smaller than two pages");
	ret = check_super_copy(pool, pkram_fmt_super_copy(pool, 0), token, err);
	if (!ret) {
		*found = pkram_fmt_super_copy(pool, 0);
		return 0;
	}
	/* A whole primary's verdict stands; a torn one defers to the shadow. */
	if (ret != -ENOENT && ret != -EBADMSG)
		return ret;
	shadow_ret = check_super_copy(pool, shadow, token, &shadow_err);
	if (shadow_ret == -ENOENT || shadow_ret == -EBADMSG ||
	    shadow->version < PKRAM_FMT_VERSION_SHADOWED)
		return ret;
	if (shadow_ret) {
		*err = shadow_err;
		return shadow_ret;
	}
	*found = shadow;
	fmt_fail(err, 0, "the superblock's primary copy is damaged (%s): restored from its shadow",
		 ret == -ENOENT ? "no magic" : "checksum mismatch");
	return 0;
}

/* ---- reading a node --------------------------------------------------- */

struct reader {
	const struct pkram_fmt_pool *pool;
	char *name;		/* PKRAM_FMT_OBJ_NAME_MAX + 8: too big for a stack */
	const struct pkram_fmt_bitmap *claimed;
	struct pkram_fmt_bitmap *scratch;
	u64 lo, hi;		/* the pages set in scratch lie in [lo, hi) */
	struct pkram_fmt_error *err;
	const struct pkram_fmt_block *blk;
	u64 off;
	u32 pos;
	u32 used;
	u64 next;
	u32 seq;
};

/* The window of scratch the node's pages lie in, grown to [first, +nr). */
static void widen(struct reader *r, u64 first, u64 nr)
{
	if (first < r->lo)
		r->lo = first;
	if (first + nr > r->hi)
		r->hi = first + nr;
}

/* The node's own pages, in scratch; the window keeps clearing it cheap. */
static void mark(struct reader *r, u64 first, u64 nr)
{
	pkram_fmt_set_range(r->scratch, first, nr);
	widen(r, first, nr);
}

static const struct pkram_fmt_block *block_of(const struct pkram_fmt_pool *pool,
					      u64 off)
{
	return (const struct pkram_fmt_block *)(pool->base + off);
}

static bool block_inside(const struct pkram_fmt_pool *pool, u64 off)
{
	return !(off % FMT_PAGE) && off >= FMT_PAGE && off < pool->size;
}

static bool block_crc_ok(const struct pkram_fmt_block *blk)
{
	return fuzzing || blk->crc == crc_skipping(blk, FMT_PAGE,
				offsetof(struct pkram_fmt_block, crc));
}

u32 pkram_fmt_chain_first_bad(const struct pkram_fmt_pool *pool, u64 head,
			      u32 nr_blocks, u32 first, u32 stride)
{
	u64 off = head;
	u32 seq;

	for (seq = 0; seq < nr_blocks; seq++) {
		const struct pkram_fmt_block *blk;

		/* Walked before, so only a pool changed meanwhile fails here. */
		if (!block_inside(pool, off))
			return seq;
		blk = block_of(pool, off);
		if (seq % stride == first && !block_crc_ok(blk))
			return seq;
		off = blk->next;
		pkram_fmt_yield();
	}
	return nr_blocks;
}

static u64 chain_offset(const struct pkram_fmt_pool *pool, u64 head, u32 seq)
{
	while (seq-- && block_inside(pool, head))
		head = block_of(pool, head)->next;
	return head;
}

static int crc_mismatch(struct reader *r, u64 head, u32 seq)
{
	return fmt_fail(r->err, -EBADMSG,
		    "metadata block %u at offset %#llx: checksum mismatch", seq,
		    (unsigned long long)chain_offset(r->pool, head, seq));
}

/*
 * The first of nr_blocks blocks (already walked) whose CRC does not match,
 * or nr_blocks: on the visitor's CPUs when it offers them.
 */
static u32 first_bad_block(struct reader *r, u64 head, u32 nr_blocks,
			   const struct pkram_fmt_visitor *v)
{
	if (v && v->first_bad_block)
		return v->first_bad_block(v->ctx, r->pool, head, nr_blocks);
	return pkram_fmt_chain_first_bad(r->pool, head, nr_blocks, 0, 1);
}

/*
 * The node's name, for messages, from its checked first block: only when it
 * holds a well-formed record (else parsing it says what is wrong).
 */
static void name_node(struct reader *r, const struct pkram_fmt_block *blk)
{
	const struct pkram_fmt_node *rec = (const void *)blk->payload;
	char name[sizeof(rec->name)];

	if (blk->used < sizeof(*rec) || rec->magic != PKRAM_FMT_NODE_MAGIC)
		return;
	memcpy(name, rec->name, sizeof(name));
	if (memchr(name, '\0', sizeof(name)) &&
	    !pkram_fmt_check_node_name(name, strlen(name)))
		memcpy(r->err->node, name, sizeof(r->err->node));
}

/*
 * The chain's shape, before its payload is read: every block inside the
 * pool, not used twice, not another node's, with its magic and a sane
 * header; its pages are marked as the node's. The first block's CRC is
 * checked at once (it names the node), the others' after the walk, so that
 * a long chain's can be checked on several CPUs. A
 * failure here is blamed on the first damaged block up to the one that
 * failed, when there is one (a CRC mismatch explains any later surprise).
 */
static int walk_chain(struct reader *r, u64 head, u32 *nr_blocks,
		      const struct pkram_fmt_visitor *v)
{
	u64 off = head;
	u32 seq = 0, checked;
	int ret;

	for (;;) {
		const struct pkram_fmt_block *blk;
		u64 page = off >> PKRAM_FMT_PAGE_SHIFT;

		checked = seq;
		if (!block_inside(r->pool, off)) {
			ret = fmt_fail(r->err, -EBADMSG,
				   "metadata block %u at offset %#llx is outside the pool",
				   seq, (unsigned long long)off);
			break;
		}
		if (pkram_fmt_test_bit(r->scratch, page)) {
			ret = fmt_fail(r->err, -ELOOP,
				   "metadata block %u at offset %#llx is used twice",
				   seq, (unsigned long long)off);
			break;
		}
		if (pkram_fmt_test_bit(r->claimed, page)) {
			ret = fmt_fail(r->err, -EBADMSG,
				   "metadata block %u at offset %#llx belongs to another node",
				   seq, (unsigned long long)off);
			break;
		}
		blk = block_of(r->pool, off);
		if (blk->magic != PKRAM_FMT_BLOCK_MAGIC) {
			ret = fmt_fail(r->err, -EBADMSG,
				   "metadata block %u at offset %#llx has a bad magic",
				   seq, (unsigned long long)off);
			break;
		}
		checked = seq + 1;
		if (blk->seq != seq || blk->used > PKRAM_FMT_BLOCK_PAYLOAD ||
		    blk->reserved) {
			ret = fmt_fail(r->err, -EBADMSG,
				   "metadata block %u at offset %#llx has a bad header",
				   seq, (unsigned long long)off);
			break;
		}
		/* The first block at once: it names the node in what follows. */
		if (!seq) {
			if (!block_crc_ok(blk))
				return crc_mismatch(r, head, 0);
			name_node(r, blk);
		}
		mark(r, page, 1);
		seq++;
		off = blk->next;
		if (!off) {
			*nr_blocks = seq;
			checked = first_bad_block(r, head, seq, v);
			return checked < seq ? crc_mismatch(r, head, checked) : 0;
		}
		pkram_fmt_yield();
	}
	if (checked) {
		u32 bad = pkram_fmt_chain_first_bad(r->pool, head, checked, 0, 1);

		if (bad < checked)
			return crc_mismatch(r, head, bad);
	}
	return ret;
}

/*
 * The next block of a walked, checked chain. Its header is read again, so
 * only bounds are checked again: a pool changed under the validator (by
 * someone writing /dev/mem) can then make it reject, never overrun.
 */
static int enter_block(struct reader *r, u64 off)
{
	const struct pkram_fmt_block *blk;

	if (!block_inside(r->pool, off))
		return fmt_fail(r->err, -EBADMSG,
			    "metadata block %u at offset %#llx is outside the pool",
			    r->seq, (unsigned long long)off);
	blk = block_of(r->pool, off);
	r->blk = blk;
	r->off = off;
	r->pos = 0;
	r->used = blk->used;
	if (r->used > PKRAM_FMT_BLOCK_PAYLOAD)
		r->used = 0;
	r->next = blk->next;
	r->seq++;
	return 0;
}

static int read_bytes(struct reader *r, void *dst, size_t len, const char *what)
{
	u8 *out = dst;

	while (len) {
		u32 n;
		int ret;

		if (r->pos == r->used) {
			if (!r->next)
				return fmt_fail(r->err, -EBADMSG,
					    "metadata ends inside %s", what);
			ret = enter_block(r, r->next);
			if (ret)
				return ret;
			continue;
		}
		n = r->used - r->pos < len ? r->used - r->pos : (u32)len;
		memcpy(out, r->blk->payload + r->pos, n);
		r->pos += n;
		out += n;
		len -= n;
	}
	return 0;
}

/*
 * The next len bytes in place when the current block holds them all (the
 * common case), else NULL and nothing consumed: records are copied with a
 * fixed size, not a byte loop.
 */
static const void *peek_bytes(struct reader *r, size_t len)
{
	const void *p;

	if (r->used - r->pos < len)
		return NULL;
	p = r->blk->payload + r->pos;
	r->pos += len;
	return p;
}

static bool all_zero(const void *p, size_t len)
{
	const u8 *b = p;

	while (len--)
		if (*b++)
			return false;
	return true;
}

static int check_extent(struct reader *r, const struct pkram_fmt_extent *ext,
			u64 stream_pages, u64 *next_index, u64 obj,
			int stream, bool data_crc)
{
	u64 pool_pages = pkram_fmt_nr_pages(r->pool);

	if (!ext->nr_pages || (ext->crc && !data_crc))
		return fmt_fail(r->err, -EBADMSG, "object %llu stream %d: malformed extent",
			    (unsigned long long)obj, stream);
	if (ext->index < *next_index || ext->index >= stream_pages ||
	    ext->nr_pages > stream_pages - ext->index)
		return fmt_fail(r->err, -EBADMSG,
			    "object %llu stream %d: extent at page %llu is unsorted, overlapping or beyond the stream's size",
			    (unsigned long long)obj, stream,
			    (unsigned long long)ext->index);
	if (ext->pool_page < 1 || ext->pool_page >= pool_pages ||
	    ext->nr_pages > pool_pages - ext->pool_page)
		return fmt_fail(r->err, -EBADMSG,
			    "object %llu stream %d: extent at pool page %llu (+%u) is outside the pool",
			    (unsigned long long)obj, stream,
			    (unsigned long long)ext->pool_page, ext->nr_pages);
	*next_index = ext->index + ext->nr_pages;
	/* An extent within one bitmap word (4 KiB-fragmented nodes): one look. */
	if (ext->pool_page % 64 + ext->nr_pages <= 64) {
		u64 w = ext->pool_page / 64;
		u64 mask = word_mask(ext->pool_page % 64, ext->nr_pages);

		if (!((r->scratch->words[w] | r->claimed->words[w]) & mask)) {
			r->scratch->words[w] |= mask;
			widen(r, ext->pool_page, ext->nr_pages);
			return 0;
		}
	}
	if (!pkram_fmt_range_clear(r->scratch, ext->pool_page, ext->nr_pages))
		return fmt_fail(r->err, -EBADMSG,
			    "object %llu stream %d: extent at pool page %llu overlaps other pages of this node",
			    (unsigned long long)obj, stream,
			    (unsigned long long)ext->pool_page);
	if (!pkram_fmt_range_clear(r->claimed, ext->pool_page, ext->nr_pages))
		return fmt_fail(r->err, -EBADMSG,
			    "object %llu stream %d: extent at pool page %llu overlaps another node",
			    (unsigned long long)obj, stream,
			    (unsigned long long)ext->pool_page);
	mark(r, ext->pool_page, ext->nr_pages);
	return 0;
}

#define EXTENT_BATCH	16

static int load_node(struct reader *r, u64 head,
		     const struct pkram_fmt_visitor *v)
{
	struct pkram_fmt_error *err = r->err;
	char *name = r->name;
	char shown[65];		/* the name as messages print it */
	/* Checked copies, handed to the visitor a batch at a time. */
	struct pkram_fmt_extent batch[EXTENT_BATCH];
	struct pkram_fmt_node node;
	u64 obj, data_pages = 0;
	u32 nr_blocks = 0, nr_batch = 0;
	u64 i;
	int ret;

	ret = walk_chain(r, head, &nr_blocks, v);
	if (ret)
		return ret;
	ret = enter_block(r, head);
	if (ret)
		return ret;
	ret = read_bytes(r, &node, sizeof(node), "the node record");
	if (ret)
		return ret;
	if (node.magic != PKRAM_FMT_NODE_MAGIC ||
	    (node.flags & ~PKRAM_FMT_NODE_FLAGS) ||
	    !all_zero(node.reserved, sizeof(node.reserved)))
		return fmt_fail(err, -EBADMSG, "bad node record");
	if (!memchr(node.name, '\0', sizeof(node.name)) ||
	    pkram_fmt_check_node_name(node.name, strlen(node.name)) ||
	    !all_zero(node.name + strlen(node.name),
		      sizeof(node.name) - strlen(node.name)))
		return fmt_fail(err, -EBADMSG, "bad node name");
	memcpy(err->node, node.name, sizeof(err->node));
	if (v && v->node) {
		ret = v->node(v->ctx, &node);
		if (ret)
			return fmt_fail(err, ret, "node '%s' cannot be restored (%d)",
				    node.name, ret);
	}

	for (obj = 0; obj < node.nr_objects; obj++) {
		struct pkram_fmt_object rec;
		u32 pad;
		int s;

		ret = read_bytes(r, &rec, sizeof(rec), "an object record");
		if (ret)
			return ret;
		if (rec.magic != PKRAM_FMT_OBJECT_MAGIC || rec.reserved ||
		    !rec.name_len || rec.name_len > PKRAM_FMT_OBJ_NAME_MAX)
			return fmt_fail(err, -EBADMSG, "object %llu: bad record",
				    (unsigned long long)obj);
		pad = (8 - rec.name_len % 8) % 8;
		ret = read_bytes(r, name, rec.name_len + pad, "an object name");
		if (ret)
			return ret;
		if (pkram_fmt_check_obj_name(name, rec.name_len) ||
		    !all_zero(name + rec.name_len, pad))
			return fmt_fail(err, -EBADMSG, "object %llu: bad name",
				    (unsigned long long)obj);
		name[rec.name_len] = '\0';
		show_name(shown, sizeof(shown), name);
		for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++) {
			if (rec.size[s] > PKRAM_FMT_MAX_INDEX * FMT_PAGE)
				return fmt_fail(err, -EBADMSG,
					    "object %llu ('%s'): stream %d is too large",
					    (unsigned long long)obj, shown, s);
			/* Each extent holds a page of the stream and of the pool. */
			if (rec.nr_extents[s] > (rec.size[s] + FMT_PAGE - 1) / FMT_PAGE ||
			    rec.nr_extents[s] > pkram_fmt_nr_pages(r->pool))
				return fmt_fail(err, -EBADMSG,
					    "object %llu ('%s'): stream %d has more extents (%u) than pages",
					    (unsigned long long)obj, shown, s,
					    rec.nr_extents[s]);
		}
		if (v && v->object) {
			ret = v->object(v->ctx, &rec, name);
			if (ret)
				return fmt_fail(err, ret,
					    "object %llu ('%s') cannot be restored (%d)",
					    (unsigned long long)obj, shown, ret);
		}
		for (s = 0; s < PKRAM_FMT_NR_STREAMS; s++) {
			u64 stream_pages = (rec.size[s] + FMT_PAGE - 1) /
					   FMT_PAGE;
			u64 next_index = 0;

			for (i = 0; i < rec.nr_extents[s]; i++) {
				struct pkram_fmt_extent *ext = &batch[nr_batch];
				const struct pkram_fmt_extent *in_place;

				in_place = peek_bytes(r, sizeof(*ext));
				if (in_place) {
					*ext = *in_place;
				} else {
					ret = read_bytes(r, ext, sizeof(*ext),
							 "an extent");
					if (ret)
						return ret;
				}
				ret = check_extent(r, ext, stream_pages,
						   &next_index, obj, s,
						   node.flags & PKRAM_FMT_NODE_DATA_CRC);
				if (ret)
					return ret;
				data_pages += ext->nr_pages;
				if (++nr_batch < EXTENT_BATCH &&
				    i + 1 < rec.nr_extents[s])
					continue;
				ret = v && v->extents ?
				      v->extents(v->ctx, s, batch, nr_batch) : 0;
				nr_batch = 0;
				if (ret)
					return fmt_fail(err, ret,
						    "object %llu ('%s'): extent cannot be restored (%d)",
						    (unsigned long long)obj,
						    shown, ret);
				pkram_fmt_yield();
			}
		}
		pkram_fmt_yield();
	}
	if (r->pos != r->used || r->next)
		return fmt_fail(err, -EBADMSG, "metadata continues after the last object");
	if (data_pages != node.nr_data_pages)
		return fmt_fail(err, -EBADMSG,
			    "node record counts %llu data pages, extents hold %llu",
			    (unsigned long long)node.nr_data_pages,
			    (unsigned long long)data_pages);
	if (r->seq != nr_blocks || nr_blocks != node.nr_blocks)
		return fmt_fail(err, -EBADMSG,
			    "node record counts %llu metadata blocks, the chain has %u",
			    (unsigned long long)node.nr_blocks, nr_blocks);
	return 0;
}

int pkram_fmt_load_node(const struct pkram_fmt_pool *pool, u64 head,
			struct pkram_fmt_bitmap *claimed,
			struct pkram_fmt_bitmap *scratch,
			const struct pkram_fmt_visitor *v,
			struct pkram_fmt_error *err)
{
	struct reader r = {
		.pool = pool, .claimed = claimed, .scratch = scratch, .err = err,
		.lo = ~0ULL, .hi = 0,
	};
	u64 i;
	int ret;

	err->err = 0;
	err->msg[0] = '\0';
	err->node[0] = '\0';
	r.name = pkram_fmt_alloc(PKRAM_FMT_OBJ_NAME_MAX + 8);
	if (!r.name)
		return fmt_fail(err, -ENOMEM, "no memory for an object name");
	ret = load_node(&r, head, v);
	pkram_fmt_free(r.name);
	/* Only the words the node touched: O(the node's span), not the pool's. */
	for (i = r.lo / 64; r.hi && i <= (r.hi - 1) / 64; i++) {
		if (!ret)
			claimed->words[i] |= scratch->words[i];
		scratch->words[i] = 0;
	}
	return ret;
}

/* ---- writing a node --------------------------------------------------- */

static struct pkram_fmt_block *block_at(struct pkram_fmt_writer *w, u64 off)
{
	return (struct pkram_fmt_block *)(w->pool->base + off);
}

static void seal_block(struct pkram_fmt_writer *w, u64 off)
{
	struct pkram_fmt_block *blk = block_at(w, off);

	blk->crc = crc_skipping(blk, FMT_PAGE,
				offsetof(struct pkram_fmt_block, crc));
}

static int new_block(struct pkram_fmt_writer *w)
{
	struct pkram_fmt_block *blk;
	u64 off;
	int ret;

	ret = w->alloc_block(w->ctx, &off);
	if (ret)
		return ret;
	blk = block_at(w, off);
	memset(blk, 0, FMT_PAGE);
	blk->magic = PKRAM_FMT_BLOCK_MAGIC;
	blk->seq = w->seq++;
	if (w->cur) {
		block_at(w, w->cur)->next = off;
		seal_block(w, w->cur);
	} else {
		w->head = off;
	}
	w->cur = off;
	w->nr_blocks++;
	return 0;
}

void pkram_fmt_writer_init(struct pkram_fmt_writer *w,
			   struct pkram_fmt_pool *pool,
			   int (*alloc_block)(void *ctx, u64 *offset),
			   void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->pool = pool;
	w->alloc_block = alloc_block;
	w->ctx = ctx;
}

int pkram_fmt_writer_append(struct pkram_fmt_writer *w, const void *data,
			    size_t len)
{
	const u8 *in = data;

	while (len) {
		struct pkram_fmt_block *blk;
		u32 n;
		int ret;

		if (!w->cur || block_at(w, w->cur)->used == PKRAM_FMT_BLOCK_PAYLOAD) {
			ret = new_block(w);
			if (ret)
				return ret;
		}
		blk = block_at(w, w->cur);
		n = PKRAM_FMT_BLOCK_PAYLOAD - blk->used;
		if (n > len)
			n = (u32)len;
		memcpy(blk->payload + blk->used, in, n);
		blk->used += n;
		in += n;
		len -= n;
	}
	return 0;
}

u64 pkram_fmt_writer_finish(struct pkram_fmt_writer *w)
{
	struct pkram_fmt_node *node;

	if (!w->head)
		return 0;
	seal_block(w, w->cur);
	/* The node record opens the first block; only now is nr_blocks known. */
	node = (struct pkram_fmt_node *)block_at(w, w->head)->payload;
	node->nr_blocks = w->nr_blocks;
	seal_block(w, w->head);
	return w->head;
}

/*
 * Visits the blocks of a chain, e.g. to free them. The chain was written by
 * this kernel or validated, but every block is checked as the validator
 * checks it (alignment, bounds, magic, CRC, position) before fn sees it, and
 * the walk stops at the first that fails, so a damaged chain frees nothing
 * that is not its own.
 */
void pkram_fmt_chain_for_each(const struct pkram_fmt_pool *pool, u64 head,
			      void (*fn)(void *ctx, u64 offset), void *ctx)
{
	u64 budget = pkram_fmt_nr_pages(pool);
	u32 seq = 0;

	while (head && budget--) {
		const struct pkram_fmt_block *blk;
		u64 next;

		if (!block_inside(pool, head))
			return;
		blk = block_of(pool, head);
		if (blk->magic != PKRAM_FMT_BLOCK_MAGIC || blk->seq != seq ||
		    !block_crc_ok(blk))
			return;
		next = blk->next;
		fn(ctx, head);
		head = next;
		seq++;
	}
}
