#include "pkram/entry_meta.hpp"

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

} // namespace pkram
