#include "pkram/entry_meta.hpp"

#include <sys/stat.h>

#include <array>

#include <nlohmann/json.hpp>

namespace pkram {

using json = nlohmann::json;

namespace {

constexpr std::array<std::pair<EntryMeta::Type, const char *>, 8> type_names{{
	{EntryMeta::Type::file, "file"},
	{EntryMeta::Type::dir, "dir"},
	{EntryMeta::Type::symlink, "symlink"},
	{EntryMeta::Type::hardlink, "hardlink"},
	{EntryMeta::Type::fifo, "fifo"},
	{EntryMeta::Type::chr, "chr"},
	{EntryMeta::Type::blk, "blk"},
	{EntryMeta::Type::sock, "sock"},
}};

std::string hex(std::string_view bytes)
{
	static const char digits[] = "0123456789abcdef";
	std::string out;
	out.reserve(bytes.size() * 2);
	for (unsigned char c : bytes) {
		out += digits[c >> 4];
		out += digits[c & 15];
	}
	return out;
}

bool unhex(std::string_view text, std::string &out)
{
	auto val = [](char c) -> int {
		if (c >= '0' && c <= '9')
			return c - '0';
		if (c >= 'a' && c <= 'f')
			return c - 'a' + 10;
		return -1;
	};
	if (text.size() % 2)
		return false;
	out.clear();
	for (size_t i = 0; i < text.size(); i += 2) {
		int hi = val(text[i]), lo = val(text[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out += static_cast<char>(hi << 4 | lo);
	}
	return true;
}

} // namespace

std::string_view to_string(EntryMeta::Type type)
{
	for (const auto &[t, name] : type_names)
		if (t == type)
			return name;
	return "unknown";
}

std::string encode_meta(const EntryMeta &m)
{
	json j;
	j["type"] = to_string(m.type);
	j["mode"] = m.mode;
	j["uid"] = m.uid;
	j["gid"] = m.gid;
	j["mtime_ns"] = m.mtime_ns;
	j["atime_ns"] = m.atime_ns;
	j["ctime_ns"] = m.ctime_ns;
	j["size"] = m.size;
	if (m.type == EntryMeta::Type::symlink || m.type == EntryMeta::Type::hardlink)
		j["target_hex"] = hex(m.target);
	if (m.type == EntryMeta::Type::chr || m.type == EntryMeta::Type::blk)
		j["rdev"] = m.rdev;
	if (!m.xattrs.empty()) {
		json x = json::object();
		for (const auto &[name, value] : m.xattrs)
			x[hex(name)] = hex(value);
		j["xattrs_hex"] = x;
	}
	return j.dump();
}

Result<EntryMeta> decode_meta(std::string_view text)
{
	json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
	auto bad = [](const std::string &why) { return make_error(EBADMSG, "bad entry metadata: " + why); };
	if (!j.is_object())
		return bad("not a JSON object");
	auto uint_field = [&](const char *key, uint64_t max, uint64_t &out) {
		auto it = j.find(key);
		if (it == j.end() || !it->is_number_unsigned() || it->get<uint64_t>() > max)
			return false;
		out = it->get<uint64_t>();
		return true;
	};
	auto int_field = [&](const char *key, int64_t &out) {
		auto it = j.find(key);
		if (it == j.end() || !it->is_number_integer())
			return false;
		out = it->get<int64_t>();
		return true;
	};
	EntryMeta m;
	auto type = j.find("type");
	if (type == j.end() || !type->is_string())
		return bad("no type");
	bool known = false;
	for (const auto &[t, name] : type_names)
		if (type->get<std::string>() == name) {
			m.type = t;
			known = true;
		}
	if (!known)
		return bad("unknown type " + type->get<std::string>());
	uint64_t mode, uid, gid;
	if (!uint_field("mode", 07777, mode) || !uint_field("uid", UINT32_MAX, uid) ||
	    !uint_field("gid", UINT32_MAX, gid) || !uint_field("size", INT64_MAX, m.size) ||
	    !int_field("mtime_ns", m.mtime_ns) || !int_field("atime_ns", m.atime_ns))
		return bad("missing or out-of-range field");
	m.ctime_ns = m.mtime_ns;
	if (j.contains("ctime_ns") && !int_field("ctime_ns", m.ctime_ns))
		return bad("ctime_ns is not an integer");
	m.mode = static_cast<uint32_t>(mode);
	m.uid = static_cast<uint32_t>(uid);
	m.gid = static_cast<uint32_t>(gid);
	if (m.type == EntryMeta::Type::symlink || m.type == EntryMeta::Type::hardlink) {
		auto target = j.find("target_hex");
		if (target == j.end() || !target->is_string() ||
		    !unhex(target->get<std::string>(), m.target) || m.target.empty())
			return bad("bad link target");
	}
	if ((m.type == EntryMeta::Type::chr || m.type == EntryMeta::Type::blk) &&
	    !uint_field("rdev", UINT64_MAX, m.rdev))
		return bad("no device number");
	if (auto x = j.find("xattrs_hex"); x != j.end()) {
		if (!x->is_object())
			return bad("xattrs_hex is not an object");
		for (const auto &[k, v] : x->items()) {
			std::string name, value;
			if (!v.is_string() || !unhex(k, name) || name.empty() ||
			    !unhex(v.get<std::string>(), value))
				return bad("bad xattr");
			m.xattrs[name] = value;
		}
	}
	return m;
}

namespace {

constexpr std::array<std::pair<EntryMeta::Type, uint32_t>, 7> type_bits{{
	{EntryMeta::Type::file, S_IFREG},
	{EntryMeta::Type::dir, S_IFDIR},
	{EntryMeta::Type::symlink, S_IFLNK},
	{EntryMeta::Type::fifo, S_IFIFO},
	{EntryMeta::Type::chr, S_IFCHR},
	{EntryMeta::Type::blk, S_IFBLK},
	{EntryMeta::Type::sock, S_IFSOCK},
}};

} // namespace

uint32_t file_type_bits(EntryMeta::Type type)
{
	for (const auto &[t, bits] : type_bits)
		if (t == type)
			return bits;
	return S_IFREG; // a hard link: the file it names
}

std::optional<EntryMeta::Type> entry_type_of(uint32_t st_mode)
{
	for (const auto &[t, bits] : type_bits)
		if (bits == (st_mode & S_IFMT))
			return t;
	return std::nullopt;
}

int64_t ns_of(const timespec &ts) { return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec; }

timespec timespec_of(int64_t ns)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;
	if (rem < 0) {
		rem += 1000000000;
		sec--;
	}
	return timespec{sec, rem};
}

} // namespace pkram
