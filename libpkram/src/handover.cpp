#include "pkram/handover.hpp"
#include "pkram/setup.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pkram {

Result<std::string> read_handover_token(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		return make_error(ENOENT, "read " + path + " (is the pkram module loaded?)");
	std::string token;
	in >> token;
	if (token.size() < 3 || token.rfind("0x", 0) != 0 ||
	    token.find_first_not_of("0123456789abcdef", 2) != std::string::npos)
		return make_error(EBADMSG, path + " holds '" + token + "', not a token");
	return token;
}

std::string next_cmdline(std::string_view base, std::string_view extra, std::string_view token)
{
	std::istringstream words{std::string(base)};
	std::string word, out;
	auto add = [&out](std::string_view w) {
		if (w.empty())
			return;
		if (!out.empty())
			out += ' ';
		out += w;
	};
	while (words >> word) {
		std::string_view w = word;
		if (w.rfind(std::string(handover_param) + "=", 0) == 0 || w.rfind("BOOT_IMAGE=", 0) == 0 ||
		    w.rfind("initrd=", 0) == 0)
			continue;
		add(w);
	}
	add(extra);
	add(std::string(handover_param) + "=" + std::string(token));
	return out;
}

Result<PoolRange> parse_pool_range(std::string_view text)
{
	auto bad = [&] { return make_error(EBADMSG, "'" + std::string(text) + "' is not SIZE@0xBASE"); };
	auto at = text.find('@');
	if (at == std::string_view::npos)
		return bad();
	std::string size(text.substr(0, at)), base(text.substr(at + 1));
	while (!base.empty() && (base.back() == '\n' || base.back() == ' '))
		base.pop_back();
	char *end = nullptr;
	errno = 0;
	PoolRange r;
	r.size = std::strtoull(size.c_str(), &end, 0);
	if (errno || size.empty() || *end)
		return bad();
	r.base = std::strtoull(base.c_str(), &end, 0);
	if (errno || base.empty() || *end || !r.size)
		return bad();
	return r;
}

Result<PoolRange> read_pool_range(const std::string &path)
{
	std::ifstream in(path);
	std::string text;
	if (!in || !std::getline(in, text))
		return make_error(ENOENT, "read " + path + " (is the pkram module loaded?)");
	return parse_pool_range(text);
}

static std::string hex(uint64_t v)
{
	char buf[24];
	std::snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(v));
	return buf;
}

std::string with_pool_words(std::string_view cmdline, PoolRange pool)
{
	std::istringstream words{std::string(cmdline)};
	std::string word, out;
	while (words >> word) {
		bool ours = word.rfind("pkram.pool=", 0) == 0;
		if (word.rfind("memmap=", 0) == 0) {
			auto dollar = word.find('$');
			ours = dollar != std::string::npos &&
			       std::strtoull(word.c_str() + dollar + 1, nullptr, 0) == pool.base;
		}
		if (!ours)
			out += (out.empty() ? "" : " ") + word;
	}
	PoolPlan plan = plan_at(pool.base, pool.size);
	return out + (out.empty() ? "" : " ") + plan.memmap_arg + " " + plan.pool_arg;
}

Result<PoolRange> resize_next_pool(Device &dev, uint64_t bytes, const std::string &iomem_path)
{
	std::ifstream in(iomem_path);
	std::stringstream iomem;
	iomem << in.rdbuf();
	auto st = dev.status();
	if (!st)
		return st.error();
	PoolRange next{st->pool_base, bytes};
	if (bytes > st->pool_bytes)
		if (auto s = check_system_ram(iomem.str(), st->pool_base + st->pool_bytes,
					      next.base + next.size);
		    !s)
			return make_error(s.error().errnum, "the pool cannot grow to " + size_arg(bytes) +
								    ": " + s.error().message);
	if (auto s = dev.resize_next(bytes); !s)
		return s.error();
	return next;
}

Status check_system_ram(const std::string &iomem, uint64_t start, uint64_t end)
{
	std::istringstream lines(iomem);
	std::string line;
	uint64_t covered = start;
	// Top-level entries (no indent) are sorted by address.
	while (std::getline(lines, line) && covered < end) {
		if (line.empty() || line[0] == ' ')
			continue;
		auto dash = line.find('-'), colon = line.find(" : ");
		if (dash == std::string::npos || colon == std::string::npos ||
		    line.compare(colon + 3, std::string::npos, "System RAM") != 0)
			continue;
		uint64_t lo = std::strtoull(line.c_str(), nullptr, 16);
		uint64_t hi = std::strtoull(line.c_str() + dash + 1, nullptr, 16) + 1;
		if (lo <= covered && hi > covered)
			covered = hi;
	}
	if (covered < end)
		return make_error(ERANGE, "the range " + hex(start) + "-" + hex(end - 1) +
						  " is not all System RAM in /proc/iomem (from " +
						  hex(covered) + " it is not)");
	return {};
}

std::vector<std::string> kexec_load_argv(const std::string &kernel, const std::string &initrd,
					 const std::string &cmdline, KexecSyscall syscall, PoolRange pool)
{
	std::vector<std::string> argv{"kexec", "-l", kernel};
	if (syscall == KexecSyscall::file)
		argv.insert(argv.begin() + 1, "-s");
	if (syscall == KexecSyscall::load && pool.size) {
		constexpr uint64_t enough_below = 256ull << 20;
		if (pool.base >= enough_below)
			argv.push_back("--mem-max=" + hex(pool.base - 1));
		else
			argv.push_back("--mem-min=" + hex(pool.base + pool.size));
	}
	if (!initrd.empty())
		argv.push_back("--initrd=" + initrd);
	argv.push_back("--append=" + cmdline);
	return argv;
}

} // namespace pkram
