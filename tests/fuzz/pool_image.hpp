// Walks a pool image the way the module does at load: superblock, then every
// node it lists. Shared by the fuzzer and the seed-corpus writer.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "pkram_format.h"
}

namespace pkram_fuzz {

inline constexpr size_t pool_pages = 32; // 128 KiB images

// Returns the number of nodes that validate.
inline int load_pool_image(std::vector<u8> &image)
{
	image.resize(pool_pages * PKRAM_FMT_PAGE_SIZE);
	pkram_fmt_pool pool{image.data(), image.size()};
	const pkram_fmt_super *sb = nullptr;
	pkram_fmt_error err{};
	// The token is the primary's own: what follows is what matters here.
	if (pkram_fmt_check_super(&pool, pkram_fmt_super_copy(&pool, 0)->token, &sb, &err))
		return 0;
	std::vector<u64> claimed_words(pkram_fmt_bitmap_words(pool_pages));
	std::vector<u64> scratch_words(pkram_fmt_bitmap_words(pool_pages));
	pkram_fmt_bitmap claimed{claimed_words.data(), pool_pages};
	pkram_fmt_bitmap scratch{scratch_words.data(), pool_pages};
	pkram_fmt_set_range(&claimed, 0, sb->version == PKRAM_FMT_VERSION ? PKRAM_FMT_SUPER_PAGES : 1);
	int ok = 0;
	for (u32 i = 0; i < sb->nr_nodes; i++) {
		std::vector<u64> before = claimed_words;
		if (pkram_fmt_load_node(&pool, sb->node[i], &claimed, &scratch, nullptr, &err) == 0)
			ok++;
		else if (before != claimed_words)
			__builtin_trap(); // a rejected node must not claim pages
	}
	return ok;
}

} // namespace pkram_fuzz
