#include "pkram/setup.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

namespace pkram {

namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

std::string hex(uint64_t v)
{
	char buf[24];
	std::snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(v));
	return buf;
}

uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }

} // namespace

std::string size_arg(uint64_t bytes)
{
	if (bytes && bytes % GiB == 0)
		return std::to_string(bytes / GiB) + "G";
	if (bytes && bytes % MiB == 0)
		return std::to_string(bytes / MiB) + "M";
	return std::to_string(bytes / 1024) + "K";
}

Result<uint64_t> parse_size(std::string_view text)
{
	if (text.empty())
		return make_error(EINVAL, "empty size");
	uint64_t mult = 1;
	switch (text.back()) {
	case 'K':
	case 'k':
		mult = 1ull << 10;
		break;
	case 'M':
	case 'm':
		mult = MiB;
		break;
	case 'G':
	case 'g':
		mult = GiB;
		break;
	case 'T':
	case 't':
		mult = GiB << 10;
		break;
	default:
		break;
	}
	std::string digits(mult == 1 ? text : text.substr(0, text.size() - 1));
	if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
		return make_error(EINVAL, "'" + std::string(text) + "' is not a size like 512M or 4G");
	errno = 0;
	uint64_t n = std::strtoull(digits.c_str(), nullptr, 10);
	if (errno || n > UINT64_MAX / mult)
		return make_error(ERANGE, "'" + std::string(text) + "' is too large");
	return n * mult;
}

Result<std::vector<MemRange>> read_firmware_memmap(const std::string &dir)
{
	std::vector<MemRange> out;
	std::error_code ec;
	for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
		auto read = [&](const char *name) {
			std::ifstream in(entry.path() / name);
			std::string s;
			std::getline(in, s);
			return s;
		};
		MemRange r;
		std::string start = read("start"), end = read("end");
		char *s_end = nullptr, *e_end = nullptr;
		r.start = std::strtoull(start.c_str(), &s_end, 16);
		r.end = std::strtoull(end.c_str(), &e_end, 16);
		r.type = read("type");
		if (start.empty() || end.empty() || *s_end || *e_end || r.end < r.start)
			return make_error(EBADMSG, "bad range in " + entry.path().string());
		out.push_back(r);
	}
	if (ec)
		return make_error(ec.value(), "read " + dir);
	std::sort(out.begin(), out.end(),
		  [](const MemRange &a, const MemRange &b) { return a.start < b.start; });
	return out;
}

Result<PoolPlan> plan_pool(const std::vector<MemRange> &map, uint64_t size)
{
	// The module's rule: 2 MiB chunks, the superblock's and at least one for data.
	if (size < 4 * MiB || size % (2 * MiB))
		return make_error(EINVAL, "the pool size must be a multiple of 2 MiB, at least 4 MiB");
	uint64_t total_ram = 0, largest = 0;
	for (const auto &r : map)
		if (r.type == "System RAM") {
			total_ram += r.end - r.start + 1;
			largest = std::max(largest, r.end - r.start + 1);
		}
	if (!total_ram)
		return make_error(ENOENT, "the firmware memory map lists no System RAM");
	if (size > total_ram / 2)
		return make_error(ENOSPC, "a pool of " + size_arg(size) +
						  " would take more than half of the " +
						  size_arg(align_down(total_ram, MiB)) + " of RAM");
	std::optional<PoolPlan> best;
	auto consider = [&](const MemRange &r, uint64_t lo, uint64_t hi) {
		// [lo, hi) usable; the pool goes at its top, 2 MiB-aligned (1 GiB when it can).
		if (hi <= lo || hi - lo < size)
			return;
		uint64_t align = size % GiB == 0 && align_down(hi - size, GiB) >= lo ? GiB : 2 * MiB;
		uint64_t base = align_down(hi - size, align);
		if (base < lo)
			return;
		if (!best || base > best->base)
			best = PoolPlan{base, size, r, {}, {}, {}};
	};
	for (const auto &r : map) {
		if (r.type != "System RAM")
			continue;
		uint64_t lo = r.start, hi = r.end + 1;
		if (lo >= 4 * GiB)
			consider(r, lo, hi);
	}
	if (!best)
		for (const auto &r : map) {
			if (r.type != "System RAM")
				continue;
			uint64_t lo = std::max(r.start, GiB), hi = std::min(r.end + 1, 4 * GiB);
			if (hi > lo + 256 * MiB)
				consider(r, lo, hi - 256 * MiB);
		}
	if (!best)
		return make_error(ENOSPC, "no RAM range holds " + size_arg(size) +
						  " away from the first GiB and the top 256 MiB below 4 GiB "
						  "(largest range: " +
						  size_arg(align_down(largest, MiB)) + ")");
	PoolPlan p = plan_at(best->base, size);
	p.ram = best->ram;
	return p;
}

PoolPlan plan_at(uint64_t base, uint64_t size)
{
	PoolPlan p{base, size, {}, {}, {}, {}};
	p.memmap_arg = "memmap=" + size_arg(size) + "$" + hex(base);
	p.pool_arg = "pkram.pool=" + size_arg(size) + "@" + hex(base);
	p.grub_words = "memmap=" + size_arg(size) + "\\\\\\$" + hex(base) + " " + p.pool_arg;
	return p;
}

} // namespace pkram
