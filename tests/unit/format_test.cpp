// The persisted format as the next kernel sees it: what is accepted, and that
// each kind of damage is rejected with a message and leaves the map untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "pkram_format.h"
}

namespace {

constexpr u64 kPoolPages = 1024; // 4 MiB

struct Extent {
	int stream;
	u64 index, pool_page;
	u32 nr_pages;
};

struct ObjectSpec {
	std::string name;
	u64 size[2];
	std::vector<Extent> extents;
};

class Pool {
      public:
	Pool() : mem_(kPoolPages * PKRAM_FMT_PAGE_SIZE), words_(pkram_fmt_bitmap_words(kPoolPages))
	{
		pool_ = {mem_.data(), mem_.size()};
		map_ = {words_.data(), kPoolPages};
		pkram_fmt_set_range(&map_, 0, PKRAM_FMT_SUPER_PAGES); // as the module: superblock, shadow
	}

	// Writes a node the way the module seals one; returns its head.
	u64 write_node(const std::string &name, const std::vector<ObjectSpec> &objects)
	{
		pkram_fmt_node rec{};
		rec.magic = PKRAM_FMT_NODE_MAGIC;
		std::strncpy(rec.name, name.c_str(), sizeof(rec.name) - 1);
		rec.nr_objects = objects.size();
		for (const auto &o : objects)
			for (const auto &e : o.extents)
				rec.nr_data_pages += e.nr_pages;
		pkram_fmt_writer w;
		pkram_fmt_writer_init(&w, &pool_, &Pool::alloc_block, this);
		EXPECT_EQ(0, pkram_fmt_writer_append(&w, &rec, sizeof(rec)));
		for (const auto &o : objects) {
			pkram_fmt_object obj{};
			obj.magic = PKRAM_FMT_OBJECT_MAGIC;
			obj.name_len = static_cast<u32>(o.name.size());
			obj.size[0] = o.size[0];
			obj.size[1] = o.size[1];
			for (const auto &e : o.extents)
				obj.nr_extents[e.stream]++;
			EXPECT_EQ(0, pkram_fmt_writer_append(&w, &obj, sizeof(obj)));
			std::string padded = o.name + std::string((8 - o.name.size() % 8) % 8, '\0');
			EXPECT_EQ(0, pkram_fmt_writer_append(&w, padded.data(), padded.size()));
			for (int s = 0; s < 2; s++)
				for (const auto &e : o.extents) {
					if (e.stream != s)
						continue;
					pkram_fmt_extent ext{e.index, e.pool_page, e.nr_pages, 0};
					EXPECT_EQ(0, pkram_fmt_writer_append(&w, &ext, sizeof(ext)));
				}
		}
		return pkram_fmt_writer_finish(&w);
	}

	// The superblock's copy `copy` (0 primary, 1 shadow) listing heads.
	void write_super(unsigned copy, u64 token, const std::vector<u64> &heads,
			 u32 version = PKRAM_FMT_VERSION)
	{
		pkram_fmt_super *sb = pkram_fmt_super_copy(&pool_, copy);
		pkram_fmt_super_init(sb, pool_.size, token, 7, version);
		sb->nr_nodes = static_cast<u32>(heads.size());
		for (size_t i = 0; i < heads.size(); i++)
			sb->node[i] = heads[i];
		pkram_fmt_super_update_crc(sb);
	}

	pkram_fmt_super *super(unsigned copy) { return pkram_fmt_super_copy(&pool_, copy); }

	// A commit as the module makes it: the shadow, then the primary.
	void commit(u64 token, const std::vector<u64> &heads)
	{
		write_super(1, token, heads);
		std::memcpy(mem_.data(), mem_.data() + PKRAM_FMT_PAGE_SIZE, PKRAM_FMT_PAGE_SIZE);
	}

	// The primary torn as a kexec in the middle of its copy leaves it.
	void tear(unsigned copy)
	{
		std::memset(mem_.data() + copy * PKRAM_FMT_PAGE_SIZE + PKRAM_FMT_PAGE_SIZE / 2, 0x5a,
			    PKRAM_FMT_PAGE_SIZE / 2);
	}

	// What the module would restore from: the superblock found, or null.
	const pkram_fmt_super *found(u64 token, int expected = 0)
	{
		const pkram_fmt_super *sb = nullptr;
		pkram_fmt_error err{};
		EXPECT_EQ(expected, pkram_fmt_check_super(&pool_, token, &sb, &err)) << err.msg;
		return sb;
	}

	// Rewrites a block's CRC after a deliberate change, so a deeper check is hit.
	void reseal_block(u64 off)
	{
		auto *blk = reinterpret_cast<pkram_fmt_block *>(mem_.data() + off);
		blk->crc = 0;
		blk->crc = pkram_fmt_crc32c(blk, PKRAM_FMT_PAGE_SIZE);
	}

	pkram_fmt_block *block(u64 off) { return reinterpret_cast<pkram_fmt_block *>(mem_.data() + off); }

	pkram_fmt_pool pool_{};
	pkram_fmt_bitmap map_{};
	std::vector<u8> mem_;
	std::vector<u64> words_;
	u64 next_meta_page_ = kPoolPages - 1; // metadata from the top, data from the bottom

      private:
	static int alloc_block(void *ctx, u64 *offset)
	{
		auto *self = static_cast<Pool *>(ctx);
		*offset = self->next_meta_page_-- * PKRAM_FMT_PAGE_SIZE;
		return 0;
	}
};

struct Loaded {
	std::string node;
	std::vector<std::string> objects;
	std::vector<Extent> extents;
};

int load(Pool &p, u64 head, pkram_fmt_error &err, Loaded *out = nullptr)
{
	std::vector<u64> scratch_words(pkram_fmt_bitmap_words(kPoolPages));
	pkram_fmt_bitmap scratch{scratch_words.data(), kPoolPages};
	pkram_fmt_visitor v{};
	if (out) {
		v.ctx = out;
		v.node = [](void *ctx, const pkram_fmt_node *n) {
			static_cast<Loaded *>(ctx)->node = n->name;
			return 0;
		};
		v.object = [](void *ctx, const pkram_fmt_object *, const char *name) {
			static_cast<Loaded *>(ctx)->objects.push_back(name);
			return 0;
		};
		v.extents = [](void *ctx, int stream, const pkram_fmt_extent *e, u32 nr) {
			for (u32 i = 0; i < nr; i++)
				static_cast<Loaded *>(ctx)->extents.push_back(
					{stream, e[i].index, e[i].pool_page, e[i].nr_pages});
			return 0;
		};
	}
	int ret = pkram_fmt_load_node(&p.pool_, head, &p.map_, &scratch, &v, &err);
	// The validator leaves its scratch map clear, passed or not: the module
	// reuses one for every node of a restore.
	for (u64 w : scratch_words)
		EXPECT_EQ(0u, w) << "scratch left dirty (" << err.msg << ")";
	return ret;
}

std::vector<ObjectSpec> two_objects()
{
	return {
		{"data/file.bin", {3 * 4096, 100}, {{0, 0, 10, 2}, {0, 2, 20, 1}, {1, 0, 30, 1}}},
		{"meta", {0, 5000}, {{1, 0, 40, 2}}},
	};
}

TEST(Format, RoundTripsANode)
{
	Pool p;
	u64 head = p.write_node("vm0", two_objects());
	pkram_fmt_error err{};
	Loaded got;
	ASSERT_EQ(0, load(p, head, err, &got)) << err.msg;
	EXPECT_EQ("vm0", got.node);
	EXPECT_EQ((std::vector<std::string>{"data/file.bin", "meta"}), got.objects);
	ASSERT_EQ(4u, got.extents.size());
	EXPECT_EQ(20u, got.extents[1].pool_page);
	// Data pages and the metadata block are now in use (and the superblock's two pages).
	EXPECT_TRUE(pkram_fmt_test_bit(&p.map_, 10));
	EXPECT_TRUE(pkram_fmt_test_bit(&p.map_, 41));
	EXPECT_TRUE(pkram_fmt_test_bit(&p.map_, head / PKRAM_FMT_PAGE_SIZE));
	EXPECT_EQ(PKRAM_FMT_SUPER_PAGES + 2 + 1 + 1 + 2 + 1, pkram_fmt_count_set(&p.map_));
}

// Extents reach the visitor in batches: every one of them, in order, across
// batch, stream, object and block boundaries.
TEST(Format, EveryExtentReachesTheVisitorInOrder)
{
	Pool p;
	std::vector<ObjectSpec> objs;
	std::vector<Extent> want;
	u64 page = 100;
	for (int o = 0; o < 3; o++) {
		ObjectSpec spec{"o" + std::to_string(o), {4096 * 2 * 200, 4096 * 2 * 20}, {}};
		for (int s = 0; s < 2; s++)
			for (u64 i = 0; i < (s ? 17u : 183u + o); i++) {
				spec.extents.push_back({s, 2 * i, page, 1});
				page++;
			}
		want.insert(want.end(), spec.extents.begin(), spec.extents.end());
		objs.push_back(spec);
	}
	u64 head = p.write_node("n", objs);
	pkram_fmt_error err{};
	Loaded got;
	ASSERT_EQ(0, load(p, head, err, &got)) << err.msg;
	ASSERT_EQ(want.size(), got.extents.size());
	for (size_t i = 0; i < want.size(); i++) {
		EXPECT_EQ(want[i].stream, got.extents[i].stream) << i;
		EXPECT_EQ(want[i].index, got.extents[i].index) << i;
		EXPECT_EQ(want[i].pool_page, got.extents[i].pool_page) << i;
	}
}

// 300 one-page objects: metadata of several blocks.
std::vector<ObjectSpec> many_objects(int n = 300)
{
	std::vector<ObjectSpec> objs;
	for (int i = 0; i < n; i++)
		objs.push_back({"obj-" + std::to_string(i), {4096, 0}, {{0, 0, u64(100 + i), 1}}});
	return objs;
}

// Object names hold a full path (PATH_MAX less its NUL): one of 4095 bytes
// spans two metadata blocks and comes back whole.
TEST(Format, PathLongObjectNamesRoundTrip)
{
	std::string path;
	while (path.size() < PKRAM_FMT_OBJ_NAME_MAX)
		path += std::string(std::min<size_t>(200, PKRAM_FMT_OBJ_NAME_MAX - path.size()), 'd') + "/";
	path.resize(PKRAM_FMT_OBJ_NAME_MAX - 1);
	path += "f";
	ASSERT_EQ(4095u, path.size());
	Pool p;
	u64 head = p.write_node(
		"deep", {{"first", {4096, 0}, {{0, 0, 100, 1}}}, {path, {4096, 0}, {{0, 0, 101, 1}}}});
	EXPECT_NE(0u, p.block(head)->next);
	pkram_fmt_error err{};
	Loaded got;
	ASSERT_EQ(0, load(p, head, err, &got)) << err.msg;
	ASSERT_EQ(2u, got.objects.size());
	EXPECT_EQ(path, got.objects[1]);
}

TEST(Format, ManyObjectsSpanSeveralBlocks)
{
	Pool p;
	u64 head = p.write_node("big", many_objects());
	EXPECT_NE(0u, p.block(head)->next);
	pkram_fmt_error err{};
	Loaded got;
	ASSERT_EQ(0, load(p, head, err, &got)) << err.msg;
	EXPECT_EQ(300u, got.objects.size());
}

// Freeing a chain visits its blocks, and stops at one that is damaged: a
// pointer into another node's pages is never followed.
TEST(Format, ChainWalkStopsAtADamagedBlock)
{
	Pool p;
	auto objs = many_objects();
	u64 head = p.write_node("big", objs);
	std::vector<u64> seen;
	auto collect = [](void *ctx, u64 off) { static_cast<std::vector<u64> *>(ctx)->push_back(off); };
	pkram_fmt_chain_for_each(&p.pool_, head, collect, &seen);
	ASSERT_GE(seen.size(), 3u);
	const size_t whole = seen.size();
	// The second block's bytes changed without its CRC: the walk ends before it.
	p.block(seen[1])->payload[7] ^= 1;
	seen.clear();
	pkram_fmt_chain_for_each(&p.pool_, head, collect, &seen);
	EXPECT_EQ(1u, seen.size());
	EXPECT_LT(seen.size(), whole);
	// A head whose next pointer was bent (CRC not matching): nothing at all.
	Pool q;
	u64 h = q.write_node("big", objs);
	q.block(h)->next += 8;
	seen.clear();
	pkram_fmt_chain_for_each(&q.pool_, h, collect, &seen);
	EXPECT_EQ(0u, seen.size());
}

TEST(Format, SuperblockNeedsTheToken)
{
	Pool p;
	pkram_fmt_error err{};
	const pkram_fmt_super *sb = nullptr;
	EXPECT_EQ(-ENOENT, pkram_fmt_check_super(&p.pool_, 1, &sb, &err));
	p.commit(0x1234, {});
	EXPECT_EQ(0, pkram_fmt_check_super(&p.pool_, 0x1234, &sb, &err)) << err.msg;
	EXPECT_EQ(p.mem_.data(), reinterpret_cast<const u8 *>(sb));
	EXPECT_EQ('\0', err.msg[0]);
	EXPECT_EQ(-ESTALE, pkram_fmt_check_super(&p.pool_, 0x1235, &sb, &err));
	EXPECT_NE(nullptr, std::strstr(err.msg, "does not match"));
	EXPECT_EQ(-ESTALE, pkram_fmt_check_super(&p.pool_, 0, &sb, &err));
}

// Without a shadow (format 1) the primary's damage is final.
TEST(Format, DamagedSuperblockIsRejected)
{
	Pool p;
	p.write_super(0, 0x1234, {}, PKRAM_FMT_VERSION_UNSHADOWED);
	auto *sb = pkram_fmt_super_copy(&p.pool_, 0);
	sb->nr_nodes = 1;
	p.found(0x1234, -EBADMSG);
	sb->nr_nodes = PKRAM_FMT_MAX_NODES + 1;
	pkram_fmt_super_update_crc(sb);
	p.found(0x1234, -EBADMSG);
	sb->nr_nodes = 0;
	sb->pool_size *= 2;
	pkram_fmt_super_update_crc(sb);
	p.found(0x1234, -EINVAL);
	sb->pool_size /= 2;
	for (u32 version : {0u, PKRAM_FMT_VERSION_MAX + 1u}) {
		sb->version = version;
		pkram_fmt_super_update_crc(sb);
		p.found(0x1234, -EPROTO);
	}
}

// A resize recorded for the next kernel (format 4): the pool is restored at
// the recorded size as well as at its own, and at no other; before format 4
// the field is reserved.
TEST(Format, ARecordedResizeIsRestoredAtEitherSize)
{
	Pool p;
	p.write_super(0, 0x1234, {}, PKRAM_FMT_VERSION_RESIZED);
	pkram_fmt_super *sb = p.super(0);
	const u64 size = sb->pool_size;
	sb->next_pool_size = size;
	sb->pool_size = size * 2; // the kernel before had a pool twice this size
	pkram_fmt_super_update_crc(sb);
	ASSERT_NE(nullptr, p.found(0x1234));
	sb->next_pool_size = size / 2;
	pkram_fmt_super_update_crc(sb);
	p.found(0x1234, -EINVAL);
	sb->pool_size = size;
	pkram_fmt_super_update_crc(sb);
	ASSERT_NE(nullptr, p.found(0x1234)) << "its own size still restores";
	sb->version = PKRAM_FMT_VERSION;
	pkram_fmt_super_update_crc(sb);
	p.found(0x1234, -EBADMSG);
}

// Pools of every older version are still restored, and a version 2 shadow
// (written by the module before names grew) still stands in for its primary.
TEST(Format, OlderVersionsAreRestored)
{
	for (u32 version = PKRAM_FMT_VERSION_UNSHADOWED; version <= PKRAM_FMT_VERSION_MAX; version++) {
		Pool p;
		p.write_super(0, 0x1234, {}, version);
		const pkram_fmt_super *sb = p.found(0x1234);
		ASSERT_NE(nullptr, sb) << version;
		EXPECT_EQ(version, sb->version);
	}
	Pool p;
	p.write_super(1, 0x1234, {0x2000}, PKRAM_FMT_VERSION_SHADOWED);
	std::memcpy(p.mem_.data(), p.mem_.data() + PKRAM_FMT_PAGE_SIZE, PKRAM_FMT_PAGE_SIZE);
	p.tear(0);
	const pkram_fmt_super *sb = p.found(0x1234);
	ASSERT_NE(nullptr, sb);
	EXPECT_EQ(pkram_fmt_super_copy(&p.pool_, 1), sb);
}

// A kexec after the shadow of a commit was written, before the primary: the
// primary (the previous commit) is whole and wins.
TEST(Format, CommitCutAfterItsShadowKeepsThePrevious)
{
	Pool p;
	p.commit(0x1234, {0x2000});
	p.write_super(1, 0x1234, {0x2000, 0x3000});
	const pkram_fmt_super *sb = p.found(0x1234);
	ASSERT_NE(nullptr, sb);
	EXPECT_EQ(1u, sb->nr_nodes);
	p.tear(1); // or cut inside the shadow: the same
	sb = p.found(0x1234);
	ASSERT_NE(nullptr, sb);
	EXPECT_EQ(1u, sb->nr_nodes);
}

// A kexec inside the primary's copy: the shadow holds the whole new commit.
TEST(Format, TornPrimaryIsRestoredFromItsShadow)
{
	Pool p;
	p.commit(0x1234, {0x2000});
	p.write_super(1, 0x1234, {0x2000, 0x3000});
	p.tear(0);
	const pkram_fmt_super *sb = nullptr;
	pkram_fmt_error err{};
	ASSERT_EQ(0, pkram_fmt_check_super(&p.pool_, 0x1234, &sb, &err)) << err.msg;
	EXPECT_EQ(pkram_fmt_super_copy(&p.pool_, 1), sb);
	EXPECT_EQ(2u, sb->nr_nodes);
	EXPECT_NE(nullptr, std::strstr(err.msg, "restored from its shadow")) << err.msg;
	// The shadow answers for the token like the primary would.
	p.found(0x9999, -ESTALE);
	// Both torn: the pool is lost, and says so.
	p.tear(1);
	p.found(0x1234, -EBADMSG);
}

// Format 1 has no shadow: whatever page 1 holds, even a superblock, is data.
TEST(Format, FormatOnePageOneIsNeverTheShadow)
{
	Pool p;
	p.write_super(0, 0x1234, {0x2000}, PKRAM_FMT_VERSION_UNSHADOWED);
	p.write_super(1, 0x1234, {0x2000, 0x3000}, PKRAM_FMT_VERSION_UNSHADOWED);
	const pkram_fmt_super *sb = p.found(0x1234);
	ASSERT_NE(nullptr, sb);
	EXPECT_EQ(1u, sb->nr_nodes);
	p.tear(0);
	p.found(0x1234, -EBADMSG);
}

// Each corruption: rejected with -err, a message, and the map unchanged.
void expect_rejected(Pool &p, u64 head, int expected, const char *words)
{
	std::vector<u64> before = p.words_;
	pkram_fmt_error err{};
	EXPECT_EQ(expected, load(p, head, err)) << err.msg;
	EXPECT_NE(nullptr, std::strstr(err.msg, words)) << err.msg;
	EXPECT_EQ(before, p.words_);
}

TEST(Format, BlockChecksumMismatch)
{
	Pool p;
	u64 head = p.write_node("n", two_objects());
	p.block(head)->payload[5] ^= 1;
	expect_rejected(p, head, -EBADMSG, "checksum");
}

// A damaged block is named by its CRC even when the damage hits the header
// the chain walk reads before any CRC is checked (the CRCs come after the
// walk so the module can check them on several CPUs).
TEST(Format, DamagedHeaderIsBlamedOnTheChecksum)
{
	Pool p;
	u64 head = p.write_node("n", many_objects());
	u64 second = p.block(head)->next;
	p.block(second)->seq = 7;
	expect_rejected(p, head, -EBADMSG, "metadata block 1 at offset");
	expect_rejected(p, head, -EBADMSG, "checksum mismatch");
	pkram_fmt_error err{};
	load(p, head, err);
	EXPECT_STREQ("n", err.node) << "the first block, checked, names the node";
	p.reseal_block(second);
	expect_rejected(p, head, -EBADMSG, "bad header");
	// A next pointer out of the pool, unsealed: the block holding it is blamed.
	p.block(second)->seq = 1;
	p.reseal_block(second);
	p.block(head)->next = kPoolPages * PKRAM_FMT_PAGE_SIZE;
	expect_rejected(p, head, -EBADMSG, "metadata block 0 at offset");
	expect_rejected(p, head, -EBADMSG, "checksum mismatch");
}

// Each share of a strided check sees only its own blocks' damage; together
// they find the first damaged block.
TEST(Format, StridedChecksFindTheFirstBadBlock)
{
	Pool p;
	u64 head = p.write_node("n", many_objects(600));
	u32 nr = 0;
	std::vector<u64> blocks;
	for (u64 off = head; off; off = p.block(off)->next, nr++)
		blocks.push_back(off);
	ASSERT_GE(nr, 4u);
	EXPECT_EQ(nr, pkram_fmt_chain_first_bad(&p.pool_, head, nr, 0, 1));
	p.block(blocks[3])->payload[9] ^= 1;
	EXPECT_EQ(3u, pkram_fmt_chain_first_bad(&p.pool_, head, nr, 0, 1));
	EXPECT_EQ(3u, pkram_fmt_chain_first_bad(&p.pool_, head, nr, 1, 2));
	EXPECT_EQ(nr, pkram_fmt_chain_first_bad(&p.pool_, head, nr, 0, 2));
	expect_rejected(p, head, -EBADMSG, "metadata block 3 at offset");
}

TEST(Format, HeadOutsideThePool)
{
	Pool p;
	expect_rejected(p, kPoolPages * PKRAM_FMT_PAGE_SIZE, -EBADMSG, "outside the pool");
	expect_rejected(p, 0, -EBADMSG, "outside the pool");
	expect_rejected(p, 4097, -EBADMSG, "outside the pool");
}

TEST(Format, ExtentOutsideThePool)
{
	Pool p;
	u64 head = p.write_node("n", {{"f", {4096 * 4, 0}, {{0, 0, kPoolPages - 1, 2}}}});
	expect_rejected(p, head, -EBADMSG, "outside the pool");
}

TEST(Format, ExtentBeyondTheStreamSize)
{
	Pool p;
	u64 head = p.write_node("n", {{"f", {4096, 0}, {{0, 0, 10, 2}}}});
	expect_rejected(p, head, -EBADMSG, "beyond the stream");
}

TEST(Format, OverlappingExtentsInOneNode)
{
	Pool p;
	u64 head = p.write_node("n", {{"a", {8192, 0}, {{0, 0, 10, 2}}}, {"b", {4096, 0}, {{0, 0, 11, 1}}}});
	expect_rejected(p, head, -EBADMSG, "overlaps other pages of this node");
}

TEST(Format, OverlapAcrossNodes)
{
	Pool p;
	u64 a = p.write_node("a", {{"x", {8192, 0}, {{0, 0, 10, 2}}}});
	u64 b = p.write_node("b", {{"y", {4096, 0}, {{0, 0, 11, 1}}}});
	pkram_fmt_error err{};
	ASSERT_EQ(0, load(p, a, err)) << err.msg;
	expect_rejected(p, b, -EBADMSG, "overlaps another node");
}

TEST(Format, LoopInTheChain)
{
	Pool p;
	u64 head = p.write_node("n", many_objects());
	u64 second = p.block(head)->next;
	p.block(second)->next = head;
	p.reseal_block(second);
	expect_rejected(p, head, -ELOOP, "used twice");
}

TEST(Format, TruncatedChain)
{
	Pool p;
	u64 head = p.write_node("n", many_objects());
	p.block(head)->next = 0;
	p.reseal_block(head);
	expect_rejected(p, head, -EBADMSG, "metadata ends inside");
}

TEST(Format, BadNamesAreRejected)
{
	Pool p;
	u64 head = p.write_node("n", {{"a/../b", {0, 0}, {}}});
	expect_rejected(p, head, -EBADMSG, "bad name");
}

// A name record longer than the format allows is damage, not a buffer overrun.
TEST(Format, OverlongObjectNameIsRejected)
{
	Pool p;
	std::string name(PKRAM_FMT_OBJ_NAME_MAX + 1, 'n');
	u64 head = p.write_node("n", {{name, {4096, 0}, {{0, 0, 100, 1}}}});
	expect_rejected(p, head, -EBADMSG, "bad record");
}

TEST(Format, DataPageCountMustMatch)
{
	Pool p;
	u64 head = p.write_node("n", two_objects());
	auto *node = reinterpret_cast<pkram_fmt_node *>(p.block(head)->payload);
	node->nr_data_pages++;
	p.reseal_block(head);
	expect_rejected(p, head, -EBADMSG, "data pages");
}

TEST(Format, ExtentChecksumNeedsTheNodeFlag)
{
	Pool p;
	u64 head = p.write_node("n", {{"f", {4096, 0}, {{0, 0, 10, 1}}}});
	// The extent record follows node (128), object (40) and padded name (8).
	auto *ext = reinterpret_cast<pkram_fmt_extent *>(p.block(head)->payload + sizeof(pkram_fmt_node) +
							 sizeof(pkram_fmt_object) + 8);
	ASSERT_EQ(10u, ext->pool_page);
	ext->crc = 0x1234;
	p.reseal_block(head);
	expect_rejected(p, head, -EBADMSG, "malformed extent");
	auto *node = reinterpret_cast<pkram_fmt_node *>(p.block(head)->payload);
	node->flags = PKRAM_FMT_NODE_DATA_CRC;
	p.reseal_block(head);
	pkram_fmt_error err{};
	EXPECT_EQ(0, load(p, head, err)) << err.msg;
}

TEST(Format, UnknownNodeFlagsAreRejected)
{
	Pool p;
	u64 head = p.write_node("n", two_objects());
	reinterpret_cast<pkram_fmt_node *>(p.block(head)->payload)->flags = 1u << 7;
	p.reseal_block(head);
	expect_rejected(p, head, -EBADMSG, "bad node record");
}

TEST(Names, NodeNames)
{
	EXPECT_EQ(0, pkram_fmt_check_node_name("vm-0.mem", 8));
	EXPECT_EQ(-EINVAL, pkram_fmt_check_node_name("", 0));
	EXPECT_EQ(-EINVAL, pkram_fmt_check_node_name("a/b", 3));
	EXPECT_EQ(-EINVAL, pkram_fmt_check_node_name("..", 2));
	EXPECT_EQ(-EINVAL, pkram_fmt_check_node_name("a\0b", 3));
	// Control bytes would forge kernel log lines: refused in node names.
	EXPECT_EQ(-EINVAL, pkram_fmt_check_node_name("a\nb", 3));
	EXPECT_EQ(-EINVAL, pkram_fmt_check_node_name("\x1b[31m", 5));
	EXPECT_EQ(-EINVAL, pkram_fmt_check_node_name("del\x7f", 4));
	// Object names are file paths: kept (messages print them with '?').
	EXPECT_EQ(0, pkram_fmt_check_obj_name("odd\nname", 8));
	std::string long_name(PKRAM_FMT_NODE_NAME_MAX + 1, 'x');
	EXPECT_EQ(-ENAMETOOLONG, pkram_fmt_check_node_name(long_name.data(), long_name.size()));
}

TEST(Names, ObjectPaths)
{
	EXPECT_EQ(0, pkram_fmt_check_obj_name("a/b/c.txt", 9));
	EXPECT_EQ(0, pkram_fmt_check_obj_name("..hidden", 8));
	for (const char *bad : {"/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a"})
		EXPECT_EQ(-EINVAL, pkram_fmt_check_obj_name(bad, std::strlen(bad))) << bad;
	std::string longest(PKRAM_FMT_OBJ_NAME_MAX, 'p');
	EXPECT_EQ(0, pkram_fmt_check_obj_name(longest.data(), longest.size()));
	longest += 'p';
	EXPECT_EQ(-ENAMETOOLONG, pkram_fmt_check_obj_name(longest.data(), longest.size()));
}

TEST(Bitmap, FindsAlignedRuns)
{
	std::vector<u64> words(pkram_fmt_bitmap_words(4096));
	pkram_fmt_bitmap map{words.data(), 4096};
	pkram_fmt_set_range(&map, 0, 1);
	EXPECT_EQ(512u, pkram_fmt_find_clear(&map, 512, 512, 0));
	EXPECT_EQ(1u, pkram_fmt_find_clear(&map, 1, 1, 0));
	pkram_fmt_set_range(&map, 1, 1000);
	EXPECT_EQ(1024u, pkram_fmt_find_clear(&map, 512, 512, 0));
	EXPECT_EQ(1001u, pkram_fmt_find_clear(&map, 3, 1, 0));
	// Wraps around from the hint.
	EXPECT_EQ(1001u, pkram_fmt_find_clear(&map, 3, 1, 4095));
	pkram_fmt_set_range(&map, 1001, 4096 - 1001);
	EXPECT_EQ(PKRAM_FMT_NO_PAGE, pkram_fmt_find_clear(&map, 1, 1, 0));
	pkram_fmt_clear_range(&map, 70, 65);
	EXPECT_TRUE(pkram_fmt_range_clear(&map, 70, 65));
	EXPECT_FALSE(pkram_fmt_range_clear(&map, 69, 2));
	EXPECT_EQ(4096u - 65, pkram_fmt_count_set(&map));
}

TEST(Crc, IsStandardCrc32c) { EXPECT_EQ(0xE3069283u, pkram_fmt_crc32c("123456789", 9)); }

} // namespace
