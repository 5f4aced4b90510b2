#include "pkram/tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

namespace pkram {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr size_t copy_chunk = 1 << 20;

std::string hex(std::string_view bytes)
{
	static const char digits[] = "0123456789abcdef";
	std::string out;
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

int64_t to_ns(const timespec &ts) { return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec; }

timespec from_ns(int64_t ns) { return timespec{ns / 1000000000, ns % 1000000000}; }

EntryMeta meta_from_stat(const struct stat &st)
{
	EntryMeta m;
	m.type = S_ISDIR(st.st_mode)   ? EntryMeta::Type::dir
		 : S_ISLNK(st.st_mode) ? EntryMeta::Type::symlink
				       : EntryMeta::Type::file;
	m.mode = st.st_mode & 07777;
	m.uid = st.st_uid;
	m.gid = st.st_gid;
	m.mtime_ns = to_ns(st.st_mtim);
	m.atime_ns = to_ns(st.st_atim);
	m.size = static_cast<uint64_t>(st.st_size);
	return m;
}

// Copies a file's data regions (holes stay holes) into the object.
Status save_file_data(int fd, Object &obj, uint64_t size, TreeStats &stats)
{
	std::vector<char> buf(copy_chunk);
	off_t pos = 0;
	while (static_cast<uint64_t>(pos) < size) {
		off_t data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; // only a hole is left
		if (data < 0)
			return errno_error("seek to data");
		off_t hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return errno_error("seek to hole");
		for (pos = data; pos < hole;) {
			size_t want = static_cast<size_t>(std::min<off_t>(hole - pos, copy_chunk));
			ssize_t n = pread(fd, buf.data(), want, pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return errno_error("read file");
			if (n == 0)
				return {};
			if (auto st = obj.pwrite_all(buf.data(), static_cast<size_t>(n), pos); !st)
				return st;
			pos += n;
			stats.bytes += static_cast<uint64_t>(n);
		}
	}
	return {};
}

Status save_entry(Node &node, const fs::path &root, const fs::path &path, TreeStats &stats)
{
	struct stat st;
	if (lstat(path.c_str(), &st))
		return errno_error("stat " + path.string());
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
		return make_error(EOPNOTSUPP, "save " + path.string() +
						      ": only regular files, directories and symlinks can be saved");
	std::string rel = path.lexically_relative(root).string();
	EntryMeta meta = meta_from_stat(st);
	if (meta.type == EntryMeta::Type::symlink) {
		std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
		ssize_t n = readlink(path.c_str(), target.data(), target.size());
		if (n < 0)
			return errno_error("readlink " + path.string());
		target.resize(static_cast<size_t>(n));
		meta.target = target;
	}
	if (meta.type == EntryMeta::Type::file) {
		auto obj = node.open_object(rel, {.stream = Stream::pages, .create = true, .exclusive = true});
		if (!obj)
			return obj.error();
		int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return errno_error("open " + path.string());
		UniqueFd file(fd);
		if (auto s = save_file_data(file.get(), *obj, meta.size, stats); !s)
			return make_error(s.error().errnum, s.error().message + " of " + path.string());
		stats.files++;
	}
	auto bytes = node.open_object(rel, {.stream = Stream::bytes, .create = true});
	if (!bytes)
		return bytes.error();
	std::string text = encode_meta(meta);
	if (auto s = bytes->pwrite_all(text.data(), text.size(), 0); !s)
		return s;
	stats.entries++;
	return {};
}

Status apply_meta(const fs::path &path, const EntryMeta &m)
{
	if (lchown(path.c_str(), m.uid, m.gid))
		return errno_error("chown " + path.string());
	if (m.type != EntryMeta::Type::symlink && chmod(path.c_str(), m.mode))
		return errno_error("chmod " + path.string());
	timespec times[2] = {from_ns(m.atime_ns), from_ns(m.mtime_ns)};
	if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW))
		return errno_error("set times of " + path.string());
	return {};
}

bool all_zero(const char *p, size_t n)
{
	return std::all_of(p, p + n, [](char c) { return c == 0; });
}

Status restore_file(const Node &node, const ObjectInfo &info, const fs::path &path,
		    const EntryMeta &meta, TreeStats &stats)
{
	auto obj = node.open_object(info.name);
	if (!obj)
		return obj.error();
	int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno_error("create " + path.string());
	UniqueFd file(fd);
	std::vector<char> buf(copy_chunk);
	for (uint64_t pos = 0; pos < info.page_size;) {
		auto n = obj->pread(buf.data(), buf.size(), pos);
		if (!n)
			return n.error();
		if (*n == 0)
			break;
		// Zero chunks stay holes: a sparse file comes back sparse.
		if (!all_zero(buf.data(), *n)) {
			size_t done = 0;
			while (done < *n) {
				ssize_t w = pwrite(file.get(), buf.data() + done, *n - done,
						   static_cast<off_t>(pos + done));
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0)
					return errno_error("write " + path.string());
				done += static_cast<size_t>(w);
			}
		}
		pos += *n;
		stats.bytes += *n;
	}
	if (ftruncate(file.get(), static_cast<off_t>(meta.size)))
		return errno_error("set size of " + path.string());
	stats.files++;
	return {};
}

} // namespace

std::string encode_meta(const EntryMeta &m)
{
	json j;
	j["type"] = m.type == EntryMeta::Type::dir	 ? "dir"
		    : m.type == EntryMeta::Type::symlink ? "symlink"
							 : "file";
	j["mode"] = m.mode;
	j["uid"] = m.uid;
	j["gid"] = m.gid;
	j["mtime_ns"] = m.mtime_ns;
	j["atime_ns"] = m.atime_ns;
	j["size"] = m.size;
	if (m.type == EntryMeta::Type::symlink)
		j["target_hex"] = hex(m.target); // targets need not be UTF-8
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
	std::string t = type->get<std::string>();
	if (t == "file")
		m.type = EntryMeta::Type::file;
	else if (t == "dir")
		m.type = EntryMeta::Type::dir;
	else if (t == "symlink")
		m.type = EntryMeta::Type::symlink;
	else
		return bad("unknown type " + t);
	uint64_t mode, uid, gid;
	if (!uint_field("mode", 07777, mode) || !uint_field("uid", UINT32_MAX, uid) ||
	    !uint_field("gid", UINT32_MAX, gid) || !uint_field("size", INT64_MAX, m.size) ||
	    !int_field("mtime_ns", m.mtime_ns) || !int_field("atime_ns", m.atime_ns))
		return bad("missing or out-of-range field");
	m.mode = static_cast<uint32_t>(mode);
	m.uid = static_cast<uint32_t>(uid);
	m.gid = static_cast<uint32_t>(gid);
	if (m.type == EntryMeta::Type::symlink) {
		auto target = j.find("target_hex");
		if (target == j.end() || !target->is_string() ||
		    !unhex(target->get<std::string>(), m.target) || m.target.empty())
			return bad("bad symlink target");
	}
	return m;
}

Result<TreeStats> save_tree(Device &dev, const std::string &dir, const std::string &node_name,
			    const SaveOptions &options)
{
	std::error_code ec;
	fs::path root = fs::absolute(dir, ec);
	if (ec || !fs::is_directory(root, ec))
		return make_error(ENOTDIR, "save: " + dir + " is not a directory");
	auto node = dev.create_node(node_name);
	if (!node)
		return node.error();
	TreeStats stats;
	fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
	if (ec)
		return make_error(ec.value(), "read directory " + root.string());
	for (; it != end; it.increment(ec)) {
		if (ec)
			return make_error(ec.value(), "read directory under " + root.string());
		if (auto s = save_entry(*node, root, it->path(), stats); !s)
			return s.error();
		if (options.progress)
			options.progress(stats);
	}
	if (ec)
		return make_error(ec.value(), "read directory under " + root.string());
	if (auto s = node->seal(options.data_crc); !s)
		return s.error();
	return stats;
}

Result<TreeStats> restore_tree(Device &dev, const std::string &node_name, const std::string &dir,
			       const TreeProgress &progress)
{
	auto node = dev.open_node(node_name);
	if (!node)
		return node.error();
	auto objects = node->objects();
	if (!objects)
		return objects.error();
	std::error_code ec;
	fs::path root = fs::absolute(dir, ec);
	fs::create_directories(root, ec);
	if (ec)
		return make_error(ec.value(), "create " + root.string());
	// Parents sort before their children.
	std::sort(objects->begin(), objects->end(),
		  [](const ObjectInfo &a, const ObjectInfo &b) { return a.name < b.name; });
	TreeStats stats;
	std::vector<std::pair<fs::path, EntryMeta>> dirs;
	for (const ObjectInfo &info : *objects) {
		auto bytes = node->open_object(info.name, {.stream = Stream::bytes});
		if (!bytes)
			return bytes.error();
		auto text = bytes->read_all();
		if (!text)
			return text.error();
		auto meta = decode_meta(*text);
		if (!meta)
			return make_error(meta.error().errnum, meta.error().message + " of '" + info.name + "'");
		fs::path path = root / info.name;
		switch (meta->type) {
		case EntryMeta::Type::dir:
			if (mkdir(path.c_str(), 0700) && errno != EEXIST)
				return errno_error("mkdir " + path.string());
			dirs.emplace_back(path, *meta);
			break;
		case EntryMeta::Type::symlink:
			if (symlink(meta->target.c_str(), path.c_str()))
				return errno_error("symlink " + path.string());
			break;
		case EntryMeta::Type::file:
			if (auto s = restore_file(*node, info, path, *meta, stats); !s)
				return s.error();
			break;
		}
		if (meta->type != EntryMeta::Type::dir)
			if (auto s = apply_meta(path, *meta); !s)
				return s.error();
		stats.entries++;
		if (progress)
			progress(stats);
	}
	// Directories last, deepest first, so their times stay as saved.
	for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
		if (auto s = apply_meta(it->first, it->second); !s)
			return s.error();
	return stats;
}

} // namespace pkram
