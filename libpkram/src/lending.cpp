// Lending with the memory-block sysfs (pkram/lending.hpp).
#include "pkram/lending.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace pkram {
namespace {

Result<std::string> read_word(const std::string &path)
{
	std::ifstream in(path);
	std::string word;
	if (!(in >> word))
		return make_error(errno ? errno : EIO, "read " + path);
	return word;
}

Status write_word(const std::string &path, const std::string &word)
{
	std::ofstream out(path);
	out << word << '\n';
	out.flush();
	if (!out)
		return make_error(errno ? errno : EIO, "write '" + word + "' to " + path);
	return {};
}

// The kernel's auto_online_blocks set for a scope, and put back after it.
class AutoOnline {
      public:
	static Result<AutoOnline> set(const std::string &sysfs, const std::string &policy)
	{
		std::string path = sysfs + "/auto_online_blocks";
		auto old = read_word(path);
		if (!old)
			return old.error();
		if (*old != policy)
			if (auto s = write_word(path, policy); !s)
				return s.error();
		return AutoOnline(path, *old, *old != policy);
	}
	AutoOnline(AutoOnline &&o) noexcept : path_(o.path_), old_(o.old_), restore_(o.restore_)
	{
		o.restore_ = false;
	}
	AutoOnline(const AutoOnline &) = delete;
	AutoOnline &operator=(const AutoOnline &) = delete;
	AutoOnline &operator=(AutoOnline &&) = delete;
	~AutoOnline()
	{
		if (restore_)
			(void)write_word(path_, old_);
	}

      private:
	AutoOnline(std::string path, std::string old, bool restore)
	    : path_(std::move(path)), old_(std::move(old)), restore_(restore)
	{}
	std::string path_, old_;
	bool restore_;
};

} // namespace

Result<LendReport> lend_movable(Device &dev, std::optional<uint64_t> keep_bytes, const std::string &sysfs)
{
	LendReport report;
	{
		auto policy = AutoOnline::set(sysfs, "online_movable");
		if (!policy)
			return policy.error();
		auto lent = dev.lend(keep_bytes);
		if (!lent)
			return lent.error();
		report.lent_bytes = *lent;
	}
	auto st = dev.status();
	if (!st)
		return st.error();
	auto block_hex = read_word(sysfs + "/block_size_bytes");
	if (!block_hex)
		return block_hex.error();
	uint64_t block = 0;
	auto [end, ec] = std::from_chars(block_hex->data(), block_hex->data() + block_hex->size(), block, 16);
	if (ec != std::errc() || end != block_hex->data() + block_hex->size() || !block)
		return make_error(EINVAL, sysfs + "/block_size_bytes is not a block size: " + *block_hex);
	for (uint64_t a = st->pool_base; a < st->pool_base + st->pool_bytes; a += block) {
		std::string dir = sysfs + "/memory" + std::to_string(a / block);
		auto state = read_word(dir + "/state");
		if (!state || *state != "offline")
			continue; // not a memory block (not lent), or online already
		if (auto s = write_word(dir + "/state", "online_movable"); !s)
			return make_error(s.error().errnum, "online lent memory block " + dir +
								    " as movable: " + s.error().what());
		report.onlined_blocks++;
	}
	return report;
}

} // namespace pkram
