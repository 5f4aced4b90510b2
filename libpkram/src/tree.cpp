#include "pkram/tree.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/sdt.h>
#include <sys/sendfile.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace pkram {

namespace fs = std::filesystem;

namespace {

// Runs fn(i) for i in [0, n) on `threads` threads; the first error wins and
// stops the others from taking more work.
Status parallel_for(size_t n, unsigned threads, const std::function<Status(size_t)> &fn)
{
	std::atomic<size_t> next{0};
	std::mutex error_lock;
	std::optional<Error> first_error;
	auto worker = [&] {
		for (;;) {
			{
				std::lock_guard lock(error_lock);
				if (first_error)
					return;
			}
			size_t i = next++;
			if (i >= n)
				return;
			if (auto s = fn(i); !s) {
				std::lock_guard lock(error_lock);
				if (!first_error)
					first_error = s.error();
			}
		}
	};
	std::vector<std::thread> pool;
	for (unsigned t = 1; t < std::max(1u, threads); t++)
		pool.emplace_back(worker);
	worker();
	for (auto &th : pool)
		th.join();
	if (first_error)
		return *first_error;
	return {};
}

// Progress counters shared by the workers.
class Progress {
      public:
	Progress(const TreeProgress &cb, uint64_t total) : cb_(cb) { stats_.total_bytes = total; }
	void entry_done(bool file, uint64_t bytes)
	{
		std::lock_guard lock(lock_);
		stats_.entries++;
		stats_.files += file;
		stats_.bytes += bytes;
		if (cb_)
			cb_(stats_);
	}
	TreeStats stats()
	{
		std::lock_guard lock(lock_);
		return stats_;
	}

      private:
	const TreeProgress &cb_;
	std::mutex lock_;
	TreeStats stats_;
};

Result<std::map<std::string, std::string>> read_xattrs(const fs::path &path)
{
	std::map<std::string, std::string> out;
	ssize_t len = llistxattr(path.c_str(), nullptr, 0);
	if (len < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return out;
	if (len < 0)
		return errno_error("list xattrs of " + path.string());
	std::string names(static_cast<size_t>(len), '\0');
	len = llistxattr(path.c_str(), names.data(), names.size());
	if (len < 0)
		return errno_error("list xattrs of " + path.string());
	names.resize(static_cast<size_t>(len));
	for (size_t pos = 0; pos < names.size();) {
		std::string name = names.c_str() + pos;
		pos += name.size() + 1;
		ssize_t vlen = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
		if (vlen < 0)
			return errno_error("read xattr " + name + " of " + path.string());
		std::string value(static_cast<size_t>(vlen), '\0');
		vlen = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
		if (vlen < 0)
			return errno_error("read xattr " + name + " of " + path.string());
		value.resize(static_cast<size_t>(vlen));
		out[name] = value;
	}
	return out;
}

struct SaveEntry {
	fs::path path;
	std::string rel;
	EntryMeta meta;
};

Result<SaveEntry> describe(const fs::path &root, const fs::path &path,
			   std::map<std::pair<dev_t, ino_t>, std::string> &inodes)
{
	struct stat st;
	if (lstat(path.c_str(), &st))
		return errno_error("stat " + path.string());
	SaveEntry e{path, path.lexically_relative(root).string(), {}};
	EntryMeta &m = e.meta;
	auto type = entry_type_of(st.st_mode);
	if (!type)
		return make_error(EOPNOTSUPP, "save " + path.string() + ": unknown file type");
	m.type = *type;
	m.mode = st.st_mode & 07777;
	m.uid = st.st_uid;
	m.gid = st.st_gid;
	m.mtime_ns = ns_of(st.st_mtim);
	m.atime_ns = ns_of(st.st_atim);
	m.ctime_ns = ns_of(st.st_ctim);
	m.size = m.type == EntryMeta::Type::file ? static_cast<uint64_t>(st.st_size) : 0;
	m.rdev = st.st_rdev;
	if (m.type == EntryMeta::Type::symlink) {
		std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
		ssize_t n = readlink(path.c_str(), target.data(), target.size());
		if (n < 0)
			return errno_error("readlink " + path.string());
		target.resize(static_cast<size_t>(n));
		m.target = target;
	}
	// A second name of a file already seen: keep only the link.
	if (m.type != EntryMeta::Type::dir && st.st_nlink > 1) {
		auto [it, fresh] = inodes.try_emplace({st.st_dev, st.st_ino}, e.rel);
		if (!fresh) {
			m.type = EntryMeta::Type::hardlink;
			m.target = it->second;
			m.size = 0;
			return e;
		}
	}
	auto xattrs = read_xattrs(path);
	if (!xattrs)
		return xattrs.error();
	m.xattrs = std::move(*xattrs);
	return e;
}

// Calls copy(start, end) for each data run of fd `in` within [from, end),
// found with SEEK_DATA and SEEK_HOLE (holes are skipped). `src` names `in`.
Status for_each_data_run(int in, uint64_t from, uint64_t end, const std::string &src,
			 const std::function<Status(uint64_t, uint64_t)> &copy)
{
	for (uint64_t pos = from; pos < end;) {
		off_t data = lseek(in, static_cast<off_t>(pos), SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return {}; // only a hole up to the end
		if (data < 0)
			return errno_error("find data in " + src);
		if (static_cast<uint64_t>(data) >= end)
			return {};
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return errno_error("find a hole in " + src);
		const uint64_t run_end = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
		if (auto s = copy(static_cast<uint64_t>(data), run_end); !s)
			return s;
		pos = run_end;
	}
	return {};
}

// Copies the data runs of fd `in` within [from, end) to the same offsets of
// fd `out`, one copy per byte: sendfile(2); holes stay holes. `ended` says
// `in` was shorter than `end`. `src` and `dst` name the two sides in errors.
Status copy_data_runs(int in, int out, uint64_t from, uint64_t end, const std::string &src,
		      const std::string &dst, uint64_t &copied, bool &ended)
{
	ended = false;
	return for_each_data_run(in, from, end, src, [&](uint64_t start, uint64_t run_end) -> Status {
		if (ended)
			return {};
		if (lseek(out, static_cast<off_t>(start), SEEK_SET) < 0)
			return errno_error("seek in " + dst);
		off_t at = static_cast<off_t>(start);
		while (static_cast<uint64_t>(at) < run_end) {
			ssize_t n =
				sendfile(out, in, &at,
					 std::min<uint64_t>(run_end - static_cast<uint64_t>(at), 1u << 30));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return errno_error("copy " + src + " into " + dst);
			if (n == 0) {
				ended = true;
				return {};
			}
			copied += static_cast<uint64_t>(n);
		}
		return {};
	});
}

// Copies a file's data regions (holes stay holes) into the object.
Status save_file_data(const fs::path &path, Object &obj, uint64_t size, uint64_t &copied)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno_error("open " + path.string());
	UniqueFd file(fd);
	bool shrank = false;
	if (auto s = copy_data_runs(file.get(), obj.fd(), 0, size, path.string(),
				    "the object of " + path.string(), copied, shrank);
	    !s || shrank)
		return s;
	// The page stream ends at the file's size, trailing hole included.
	return obj.truncate(size);
}

Status save_entry(Node &node, const SaveEntry &e, Progress &progress)
{
	uint64_t copied = 0;
	if (e.meta.type == EntryMeta::Type::file) {
		auto obj =
			node.open_object(e.rel, {.stream = Stream::pages, .create = true, .exclusive = true});
		if (!obj)
			return obj.error();
		if (auto s = save_file_data(e.path, *obj, e.meta.size, copied); !s)
			return s;
	}
	auto bytes = node.open_object(e.rel, {.stream = Stream::bytes, .create = true});
	if (!bytes)
		return bytes.error();
	std::string text = encode_meta(e.meta);
	if (auto s = bytes->pwrite_all(text.data(), text.size(), 0); !s)
		return s;
	progress.entry_done(e.meta.type == EntryMeta::Type::file, copied);
	return {};
}

Status apply_meta(const fs::path &path, const EntryMeta &m)
{
	for (const auto &[name, value] : m.xattrs)
		if (lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0))
			return errno_error("set xattr " + name + " on " + path.string());
	if (lchown(path.c_str(), m.uid, m.gid))
		return errno_error("chown " + path.string());
	if (m.type != EntryMeta::Type::symlink && chmod(path.c_str(), m.mode))
		return errno_error("chmod " + path.string());
	timespec times[2] = {timespec_of(m.atime_ns), timespec_of(m.mtime_ns)};
	if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW))
		return errno_error("set times of " + path.string());
	return {};
}

// A file's pages mapped shared, for the threads that fill it piece by piece:
// each populates its range (MADV_POPULATE_WRITE: the faults insert pages into
// the file's mapping and onto the LRU side by side, where write(2) would
// serialize them on the inode's lock, and a full file system is an error, not
// a SIGBUS), then reads the object into it. One mapping per file: an
// mmap/munmap per piece would serialize on mmap_lock.
class FileMapping {
      public:
	static Result<std::unique_ptr<FileMapping>> map(const fs::path &path, uint64_t size)
	{
		int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return errno_error("open " + path.string());
		UniqueFd file(fd);
		void *addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(), 0);
		if (addr == MAP_FAILED)
			return errno_error("map " + path.string());
		return std::unique_ptr<FileMapping>(new FileMapping(static_cast<char *>(addr), size));
	}
	~FileMapping() { munmap(addr_, size_); }
	FileMapping(const FileMapping &) = delete;
	FileMapping &operator=(const FileMapping &) = delete;
	char *data() const { return addr_; }

      private:
	FileMapping(char *addr, uint64_t size) : addr_(addr), size_(size) {}
	char *addr_;
	uint64_t size_;
};

// Copies [off, off + len) of an object into a file created at its size
// beforehand, through the file's mapping when it has one; its holes stay
// holes, so a sparse file comes back sparse.
Status restore_file_range(const Node &node, const std::string &name, const fs::path &path,
			  const FileMapping *mapping, uint64_t off, uint64_t len, uint64_t &copied)
{
	if (!len)
		return {};
	auto obj = node.open_object(name);
	if (!obj)
		return obj.error();
	const std::string src = "object " + name;
	if (mapping)
		return for_each_data_run(
			obj->fd(), off, off + len, src, [&](uint64_t start, uint64_t end) -> Status {
				const uint64_t page_start = start & ~uint64_t{4095};
				if (madvise(mapping->data() + page_start, end - page_start,
					    MADV_POPULATE_WRITE)) {
					// EFAULT: a fault failed, which for a file we sized is a full file
					// system.
					const int err = errno == EFAULT ? ENOSPC : errno;
					return make_error(err, "allocate " + path.string());
				}
				while (start < end) {
					ssize_t n = pread(obj->fd(), mapping->data() + start, end - start,
							  static_cast<off_t>(start));
					if (n < 0 && errno == EINTR)
						continue;
					if (n < 0)
						return errno_error("copy " + src + " into " + path.string());
					if (n == 0)
						return {}; // as copy_data_runs: the file keeps its size
					start += static_cast<uint64_t>(n);
					copied += static_cast<uint64_t>(n);
				}
				return {};
			});
	int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno_error("open " + path.string());
	UniqueFd file(fd);
	bool ended = false;
	return copy_data_runs(obj->fd(), file.get(), off, off + len, src, path.string(), copied, ended);
}

Status make_node(const fs::path &path, const EntryMeta &m)
{
	if (mknod(path.c_str(), file_type_bits(m.type) | 0600, static_cast<dev_t>(m.rdev)))
		return errno_error("mknod " + path.string());
	return {};
}

struct RestoreEntry {
	std::string name;
	EntryMeta meta;
};

// Big files are copied in pieces, so the threads share the work of one big
// file as well as of many small ones.
constexpr uint64_t piece_bytes = 4 << 20;

struct FileJob {
	const RestoreEntry *entry = nullptr;
	fs::path path;
	std::unique_ptr<FileMapping> mapping; // for a file shared by threads
	std::atomic<uint64_t> pieces_left{0};
	std::atomic<uint64_t> copied{0};
	std::atomic<int64_t> start_ns{0};
};

struct Piece {
	FileJob *job;
	uint64_t off, len;
};

int64_t steady_ns()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		       std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

// A hard link's target must name another entry of the tree.
bool inside_tree(std::string_view rel)
{
	if (rel.empty() || rel.front() == '/')
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= rel.size(); i++) {
		if (i < rel.size() && rel[i] != '/')
			continue;
		std::string_view part = rel.substr(start, i - start);
		if (part.empty() || part == "." || part == "..")
			return false;
		start = i + 1;
	}
	return true;
}

// mkdir that accepts an existing real directory, never a symlink to one.
Status make_dir(const fs::path &path)
{
	if (mkdir(path.c_str(), 0700) == 0)
		return {};
	struct stat st;
	if (errno == EEXIST && lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
		return {};
	return errno_error("mkdir " + path.string());
}

} // namespace

Result<TreeStats> save_tree(Device &dev, const std::string &dir, const std::string &node_name,
			    const SaveOptions &options)
{
	std::error_code ec;
	fs::path root = fs::absolute(dir, ec);
	if (ec || !fs::is_directory(root, ec))
		return make_error(ENOTDIR, "save: " + dir + " is not a directory");

	std::vector<SaveEntry> entries;
	std::map<std::pair<dev_t, ino_t>, std::string> inodes;
	uint64_t total = 0;
	fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
	if (ec)
		return make_error(ec.value(), "read directory " + root.string());
	for (; it != end; it.increment(ec)) {
		if (ec)
			return make_error(ec.value(), "read directory under " + root.string());
		auto e = describe(root, it->path(), inodes);
		if (!e)
			return e.error();
		if (e->meta.type == EntryMeta::Type::file)
			total += e->meta.size;
		entries.push_back(std::move(*e));
	}
	if (ec)
		return make_error(ec.value(), "read directory under " + root.string());

	auto node = dev.create_node(node_name);
	if (!node)
		return node.error();
	Progress progress(options.progress, total);
	auto st = parallel_for(entries.size(), options.threads,
			       [&](size_t i) { return save_entry(*node, entries[i], progress); });
	if (st)
		st = node->seal(options.data_crc);
	if (!st) {
		// Leave no half-saved node behind.
		Error err = st.error();
		node->close();
		(void)dev.free_node(node_name);
		return err;
	}
	return progress.stats();
}

Result<TreeStats> restore_tree(Device &dev, const std::string &node_name, const std::string &dir,
			       const RestoreOptions &options)
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

	std::vector<RestoreEntry> entries;
	uint64_t total = 0;
	for (const ObjectInfo &info : *objects) {
		auto bytes = node->open_object(info.name, {.stream = Stream::bytes});
		if (!bytes)
			return bytes.error();
		auto text = bytes->read_all();
		if (!text)
			return text.error();
		auto meta = decode_meta(*text);
		if (!meta)
			return make_error(meta.error().errnum,
					  meta.error().message + " of '" + info.name + "'");
		// The page stream's size is the file's size, whoever wrote it.
		if (meta->type == EntryMeta::Type::file) {
			meta->size = info.page_size;
			total += meta->size;
		}
		entries.push_back({info.name, std::move(*meta)});
	}
	// Parents sort before their children.
	std::sort(entries.begin(), entries.end(),
		  [](const RestoreEntry &a, const RestoreEntry &b) { return a.name < b.name; });
	Progress progress(options.progress, total);
	// Symlinks come last, so nothing is ever created through one.
	std::vector<const RestoreEntry *> dirs, others, links, symlinks;
	for (const auto &e : entries) {
		auto &list = e.meta.type == EntryMeta::Type::dir        ? dirs
			     : e.meta.type == EntryMeta::Type::hardlink ? links
			     : e.meta.type == EntryMeta::Type::symlink  ? symlinks
									: others;
		list.push_back(&e);
	}
	for (const auto *e : dirs)
		if (auto s = make_dir(root / e->name); !s)
			return s.error();
	// Create every file at its size (and every special file), then fill the
	// files piece by piece; a file is finished by whoever copies its last piece.
	std::vector<std::unique_ptr<FileJob>> jobs;
	std::vector<size_t> job_of(others.size()); // others[i] -> jobs[job_of[i]]
	std::vector<Piece> pieces;
	for (size_t i = 0; i < others.size(); i++) {
		const RestoreEntry *e = others[i];
		if (e->meta.type != EntryMeta::Type::file)
			continue;
		job_of[i] = jobs.size();
		auto job = std::make_unique<FileJob>();
		job->entry = e;
		job->path = root / e->name;
		uint64_t n = std::max<uint64_t>(1, (e->meta.size + piece_bytes - 1) / piece_bytes);
		job->pieces_left = n;
		for (uint64_t k = 0; k < n; k++)
			pieces.push_back({job.get(), k * piece_bytes,
					  std::min(piece_bytes,
						   e->meta.size - std::min(e->meta.size, k * piece_bytes))});
		jobs.push_back(std::move(job));
	}
	auto st = parallel_for(others.size(), options.threads, [&](size_t i) -> Status {
		const RestoreEntry &e = *others[i];
		fs::path path = root / e.name;
		if (e.meta.type != EntryMeta::Type::file) {
			if (auto s = make_node(path, e.meta); !s)
				return s;
			if (auto s = apply_meta(path, e.meta); !s)
				return s;
			progress.entry_done(false, 0);
			return {};
		}
		int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return errno_error("create " + path.string());
		UniqueFd file(fd);
		if (ftruncate(file.get(), static_cast<off_t>(e.meta.size)))
			return errno_error("set size of " + path.string());
		FileJob &job = *jobs[job_of[i]];
		if (options.through_mapping && options.threads > 1 && job.pieces_left > 1) {
			auto mapping = FileMapping::map(path, e.meta.size);
			if (!mapping)
				return mapping.error();
			job.mapping = std::move(*mapping);
		}
		return {};
	});
	if (st)
		st = parallel_for(pieces.size(), options.threads, [&](size_t i) -> Status {
			const Piece &p = pieces[i];
			FileJob &job = *p.job;
			int64_t expected = 0;
			job.start_ns.compare_exchange_strong(expected, steady_ns());
			uint64_t copied = 0;
			if (auto s = restore_file_range(*node, job.entry->name, job.path, job.mapping.get(),
							p.off, p.len, copied);
			    !s)
				return s;
			job.copied += copied;
			if (--job.pieces_left)
				return {};
			job.mapping.reset(); // its pages stay in the file
			if (auto s = apply_meta(job.path, job.entry->meta); !s)
				return s;
			uint64_t ns = static_cast<uint64_t>(steady_ns() - job.start_ns);
			uint64_t bytes = job.copied;
			// For pkram-trace: one restored file, its bytes and how long it took.
			STAP_PROBE3(pkram, restore_file, job.path.c_str(), bytes, ns);
			progress.entry_done(true, bytes);
			return {};
		});
	if (!st)
		return st.error();
	for (const auto *e : links) {
		if (!inside_tree(e->meta.target))
			return make_error(EBADMSG, "hard link " + e->name + " points outside the tree");
		if (link((root / e->meta.target).c_str(), (root / e->name).c_str()))
			return errno_error("link " + (root / e->name).string());
		progress.entry_done(false, 0);
	}
	for (const auto *e : symlinks) {
		fs::path path = root / e->name;
		if (symlink(e->meta.target.c_str(), path.c_str()))
			return errno_error("symlink " + path.string());
		if (auto s = apply_meta(path, e->meta); !s)
			return s.error();
		progress.entry_done(false, 0);
	}
	// Directories last, deepest first, so their times stay as saved.
	for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
		if (auto s = apply_meta(root / (*it)->name, (*it)->meta); !s)
			return s.error();
		progress.entry_done(false, 0);
	}
	return progress.stats();
}

} // namespace pkram
