// Writes the fuzzer's seed corpus: valid pool images made with the same
// writer the module uses. usage: pkram_fuzz_seeds DIR
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "pool_image.hpp"

namespace {

struct Image {
	std::vector<u8> bytes = std::vector<u8>(pkram_fuzz::pool_pages * PKRAM_FMT_PAGE_SIZE);
	pkram_fmt_pool pool{bytes.data(), bytes.size()};
	u64 next_meta = pkram_fuzz::pool_pages - 1;
	std::vector<u64> heads;

	static int alloc(void *ctx, u64 *off)
	{
		auto *self = static_cast<Image *>(ctx);
		*off = self->next_meta-- * PKRAM_FMT_PAGE_SIZE;
		return 0;
	}

	// objects: names with one page-stream extent each, at data_page upward.
	void node(const char *name, int objects, u64 data_page, u32 flags = 0)
	{
		pkram_fmt_node rec{};
		rec.magic = PKRAM_FMT_NODE_MAGIC;
		rec.flags = flags;
		std::snprintf(rec.name, sizeof(rec.name), "%s", name);
		rec.nr_objects = static_cast<u64>(objects);
		rec.nr_data_pages = static_cast<u64>(objects);
		pkram_fmt_writer w;
		pkram_fmt_writer_init(&w, &pool, alloc, this);
		pkram_fmt_writer_append(&w, &rec, sizeof(rec));
		for (int i = 0; i < objects; i++) {
			std::string obj_name = "dir/object-" + std::to_string(i);
			pkram_fmt_object obj{};
			obj.magic = PKRAM_FMT_OBJECT_MAGIC;
			obj.name_len = static_cast<u32>(obj_name.size());
			obj.size[0] = 4096;
			obj.nr_extents[0] = 1;
			pkram_fmt_writer_append(&w, &obj, sizeof(obj));
			obj_name.resize(obj_name.size() + (8 - obj_name.size() % 8) % 8, '\0');
			pkram_fmt_writer_append(&w, obj_name.data(), obj_name.size());
			pkram_fmt_extent ext{0, data_page + static_cast<u64>(i), 1, 0};
			if (flags & PKRAM_FMT_NODE_DATA_CRC)
				ext.crc = pkram_fmt_crc32c(bytes.data() + ext.pool_page * PKRAM_FMT_PAGE_SIZE,
							   PKRAM_FMT_PAGE_SIZE);
			pkram_fmt_writer_append(&w, &ext, sizeof(ext));
		}
		heads.push_back(pkram_fmt_writer_finish(&w));
	}

	void save(const std::string &path)
	{
		auto *sb = pkram_fmt_super_copy(&pool, 0);
		pkram_fmt_super_init(sb, pool.size, 0x1234, 1, PKRAM_FMT_VERSION);
		sb->nr_nodes = static_cast<u32>(heads.size());
		for (size_t i = 0; i < heads.size(); i++)
			sb->node[i] = heads[i];
		pkram_fmt_super_update_crc(sb);
		std::memcpy(pkram_fmt_super_copy(&pool, 1), sb, PKRAM_FMT_PAGE_SIZE); // its shadow
		// Trailing zero pages need not be stored: the loader pads.
		size_t end = bytes.size();
		while (end > PKRAM_FMT_PAGE_SIZE && bytes[end - 1] == 0)
			end--;
		std::ofstream(path, std::ios::binary)
			.write(reinterpret_cast<char *>(bytes.data()), static_cast<std::streamsize>(end));
	}
};

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	std::string dir = argv[1];
	Image empty;
	empty.save(dir + "/empty-pool");
	Image one;
	one.node("one", 1, 2); // data from page 2: page 1 is the shadow
	one.save(dir + "/one-node");
	Image three;
	three.node("a", 2, 2);
	three.node("b", 3, 4, PKRAM_FMT_NODE_DATA_CRC);
	three.node("c", 1, 7);
	three.save(dir + "/three-nodes");
	Image chain;
	chain.node("chained", 20, 2); // metadata spans blocks
	chain.save(dir + "/multi-block");
	for (const char *name : {"empty-pool", "one-node", "three-nodes", "multi-block"}) {
		std::ifstream in(dir + "/" + name, std::ios::binary);
		std::vector<u8> image((std::istreambuf_iterator<char>(in)), {});
		int expected = std::string(name) == "empty-pool"    ? 0
			       : std::string(name) == "three-nodes" ? 3
								    : 1;
		if (pkram_fuzz::load_pool_image(image) != expected) {
			std::fprintf(stderr, "%s: does not validate\n", name);
			return 1;
		}
	}
	return 0;
}
