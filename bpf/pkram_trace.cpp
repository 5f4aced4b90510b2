// pkram-trace: latency histograms of pkram operations and lock contention by
// class (LRU, page-cache xarray, other), libbpf-tools style: spinlock waits
// from a probe on the qspinlock slow path, other locks from the
// lock:contention tracepoints. The histograms live in maps pinned under
// /sys/fs/bpf/pkram/, which the dashboards read with bpftool; they keep
// counting across runs of this tool.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pkram/result.hpp"
#include "pkram/unique_fd.hpp"
#include "pkram_trace.h"
#include "pkram_trace.skel.h"

namespace {

using pkram::Error;
using pkram::make_error;
using pkram::Result;
using pkram::Status;

std::atomic<bool> exiting{false};

const char *op_names[PKRAM_OP_MAX] = {"seal",         "restore node", "module load",           "object read",
				      "object write", "free",         "pkram-cli restore file"};
const char *lock_names[PKRAM_LOCK_MAX] = {"LRU (lruvec->lru_lock)", "page-cache xarray (i_pages)", "other"};

// Kernel functions whose presence on the stack of a contended lock names its class.
const std::vector<std::string> lru_functions = {
	"folio_lruvec_lock",    "folio_lruvec_lock_irq", "folio_lruvec_lock_irqsave",
	"folio_batch_move_lru", "lru_add_drain_cpu",     "release_pages",
	"__page_cache_release", "folio_isolate_lru",     "move_folios_to_lru",
	"shrink_active_list",   "isolate_lru_folios",    "check_move_unevictable_folios",
};
const std::vector<std::string> xarray_functions = {
	"__filemap_add_folio",
	"filemap_add_folio",
	"shmem_add_to_page_cache",
	"__filemap_remove_folio",
	"filemap_remove_folio",
	"delete_from_page_cache_batch",
	"shmem_delete_from_page_cache",
	"__folio_mark_dirty",
	"__folio_start_writeback",
	"__folio_end_writeback",
	"filemap_map_pages",
	"shmem_replace_folio",
	"page_cache_delete",
	"find_lock_entries",
	"folio_mark_dirty",
};

struct Options {
	double interval = 0; // seconds; 0: only a summary at exit
	double duration = 0; // seconds; 0: until Ctrl-C
	bool timestamps = false;
	bool millis = false;
	bool micros = false;
	bool verbose = false;
	bool no_locks = false;
	bool no_spin_probe = false;
	bool unpin = false;
	std::string pin_dir = "/sys/fs/bpf/pkram";
	std::string cli_binary;
};

int libbpf_print_quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_DEBUG ? 0 : std::vfprintf(stderr, fmt, args);
}

int libbpf_print_all(enum libbpf_print_level, const char *fmt, va_list args)
{
	return std::vfprintf(stderr, fmt, args);
}

// [start, end) of each named kernel text symbol, from /proc/kallsyms.
Result<std::map<std::string, std::pair<uint64_t, uint64_t>>>
kernel_ranges(const std::vector<std::string> &names)
{
	std::ifstream in("/proc/kallsyms");
	if (!in)
		return make_error(errno, "read /proc/kallsyms");
	std::vector<std::pair<uint64_t, std::string>> text;
	std::string line;
	while (std::getline(in, line)) {
		std::istringstream words(line);
		std::string addr, type, name, module;
		words >> addr >> type >> name >> module;
		if (!module.empty() || (type != "t" && type != "T"))
			continue;
		text.emplace_back(std::strtoull(addr.c_str(), nullptr, 16), name);
	}
	std::sort(text.begin(), text.end());
	if (!text.empty() && text.back().first == 0)
		return make_error(EPERM, "/proc/kallsyms shows no addresses: run as root");
	std::map<std::string, std::pair<uint64_t, uint64_t>> out;
	for (size_t i = 0; i + 1 < text.size(); i++)
		if (std::find(names.begin(), names.end(), text[i].second) != names.end() &&
		    !out.count(text[i].second)) {
			size_t j = i + 1;
			while (j < text.size() && text[j].first == text[i].first)
				j++;
			if (j < text.size())
				out[text[i].second] = {text[i].first, text[j].first};
		}
	return out;
}

template <size_t N>
void set_ranges(const std::map<std::string, std::pair<uint64_t, uint64_t>> &found,
		const std::vector<std::string> &names, volatile __u64 (&lo)[N], volatile __u64 (&hi)[N],
		bool verbose, const char *cls)
{
	size_t n = 0;
	for (const auto &name : names) {
		auto it = found.find(name);
		if (it == found.end() || n == N)
			continue;
		lo[n] = it->second.first;
		hi[n] = it->second.second;
		n++;
		if (verbose)
			std::fprintf(stderr, "pkram-trace: %s: %s\n", cls, name.c_str());
	}
}

std::string tracefs()
{
	struct stat st;
	if (stat("/sys/kernel/tracing/kprobe_events", &st) == 0)
		return "/sys/kernel/tracing";
	return "/sys/kernel/debug/tracing";
}

// A tracefs kprobe on a module function may be defined before the module is
// loaded: the kernel arms it when the module arrives. BPF then attaches to it
// as a perf tracepoint event.
class PendingKprobe {
      public:
	static Result<PendingKprobe> create(const std::string &event, const std::string &probe)
	{
		PendingKprobe k;
		k.event_ = event;
		std::string dir = tracefs();
		if (!append(dir + "/kprobe_events", probe + "\n"))
			return make_error(errno, "define kprobe " + probe + " in " + dir + "/kprobe_events");
		std::ifstream id_file(dir + "/events/" + event + "/id");
		uint64_t id = 0;
		if (!(id_file >> id))
			return make_error(ENOENT, "no id for kprobe event " + event);
		perf_event_attr attr{};
		attr.type = PERF_TYPE_TRACEPOINT;
		attr.size = sizeof(attr);
		attr.config = id;
		attr.sample_period = 1;
		attr.wakeup_events = 1;
		int fd = static_cast<int>(
			syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
		if (fd < 0)
			return make_error(errno, "open perf event for " + event);
		k.fd_ = fd;
		return k;
	}
	PendingKprobe() = default;
	PendingKprobe(PendingKprobe &&o) noexcept : event_(std::move(o.event_)), fd_(std::exchange(o.fd_, -1))
	{}
	PendingKprobe &operator=(PendingKprobe &&) = delete;
	~PendingKprobe()
	{
		if (fd_ >= 0)
			close(fd_);
		if (!event_.empty())
			append(tracefs() + "/kprobe_events", "-:" + event_ + "\n");
	}
	int fd() const { return fd_; }

      private:
	static bool append(const std::string &path, const std::string &text)
	{
		int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0)
			return false;
		bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
		close(fd);
		return ok;
	}
	std::string event_;
	int fd_ = -1;
};

struct Tracer {
	pkram_trace_bpf *skel = nullptr;
	std::vector<bpf_link *> links;
	std::vector<PendingKprobe> kprobes;
	bool module_attached = false;

	~Tracer()
	{
		for (auto *l : links)
			bpf_link__destroy(l);
		kprobes.clear();
		pkram_trace_bpf__destroy(skel);
	}

	Status attach(bpf_program *prog, const char *what)
	{
		bpf_link *link = bpf_program__attach(prog);
		if (!link)
			return make_error(errno, std::string("attach ") + what);
		links.push_back(link);
		return {};
	}

	// The module's tracepoints exist only while it is loaded: retried until then.
	bool try_attach_module()
	{
		if (module_attached || access("/sys/module/pkram", F_OK) != 0)
			return module_attached;
		std::vector<bpf_link *> got;
		for (auto *prog : {skel->progs.on_seal, skel->progs.on_free, skel->progs.on_obj_read,
				   skel->progs.on_obj_write}) {
			bpf_link *link = bpf_program__attach(prog);
			if (!link) {
				for (auto *l : got)
					bpf_link__destroy(l);
				return false;
			}
			got.push_back(link);
		}
		links.insert(links.end(), got.begin(), got.end());
		module_attached = true;
		return true;
	}
};

std::string default_cli_binary(const char *argv0)
{
	// Next to this binary in the build tree, or on PATH.
	std::string self = argv0;
	auto slash = self.rfind('/');
	std::vector<std::string> candidates;
	if (slash != std::string::npos)
		candidates.push_back(self.substr(0, slash) + "/../cli/pkram-cli");
	for (const char *dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin"})
		candidates.push_back(std::string(dir) + "/pkram-cli");
	for (const auto &c : candidates)
		if (access(c.c_str(), X_OK) == 0) {
			char real[4096];
			if (realpath(c.c_str(), real))
				return real;
		}
	return "";
}

using Snapshot = std::map<uint32_t, pkram_hist>;

// The slow-path probe's function; absent, spinlocks are seen through the
// lock:contention tracepoints only (which miss the first waiters).
constexpr const char *spin_slowpath = "native_queued_spin_lock_slowpath";

Snapshot read_map(bpf_map *map)
{
	Snapshot out;
	uint32_t key, next;
	uint32_t *prev = nullptr;
	int fd = bpf_map__fd(map);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		pkram_hist h;
		if (bpf_map_lookup_elem(fd, &next, &h) == 0)
			out[next] = h;
		key = next;
		prev = &key;
	}
	return out;
}

// A per-CPU array of histograms, summed over the CPUs.
Snapshot read_percpu_map(bpf_map *map)
{
	Snapshot out;
	int cpus = libbpf_num_possible_cpus();
	if (cpus <= 0)
		return out;
	std::vector<pkram_hist> per_cpu(static_cast<size_t>(cpus));
	static_assert(sizeof(pkram_hist) % 8 == 0, "per-CPU values are 8-byte aligned");
	for (uint32_t key = 0; key < bpf_map__max_entries(map); key++) {
		if (bpf_map_lookup_elem(bpf_map__fd(map), &key, per_cpu.data()))
			continue;
		pkram_hist sum{};
		for (const auto &h : per_cpu) {
			sum.count += h.count;
			sum.sum_ns += h.sum_ns;
			sum.max_ns = std::max(sum.max_ns, h.max_ns);
			sum.bytes += h.bytes;
			for (int i = 0; i < PKRAM_TRACE_SLOTS; i++)
				sum.slots[i] += h.slots[i];
		}
		if (sum.count)
			out[key] = sum;
	}
	return out;
}

pkram_hist diff(const pkram_hist &now, const pkram_hist *before)
{
	if (!before)
		return now;
	pkram_hist d = now;
	d.count -= before->count;
	d.sum_ns -= before->sum_ns;
	d.bytes -= before->bytes;
	for (int i = 0; i < PKRAM_TRACE_SLOTS; i++)
		d.slots[i] -= before->slots[i];
	return d;
}

void print_hist(const char *title, const pkram_hist &h, const Options &o)
{
	const char *unit = o.millis ? "msecs" : o.micros ? "usecs" : "nsecs";
	uint64_t div = o.millis ? 1000000 : o.micros ? 1000 : 1;
	std::printf("\n%s: %llu calls, avg %.1f %s, max %.1f %s", title,
		    static_cast<unsigned long long>(h.count),
		    h.count ? static_cast<double>(h.sum_ns) / static_cast<double>(h.count) /
				      static_cast<double>(div)
			    : 0.0,
		    unit, static_cast<double>(h.max_ns) / static_cast<double>(div), unit);
	if (h.bytes)
		std::printf(", %llu bytes", static_cast<unsigned long long>(h.bytes));
	std::printf("\n%24s : %-8s %s\n", unit, "count", "distribution");
	int first = -1, last = -1;
	uint64_t peak = 0;
	for (int i = 0; i < PKRAM_TRACE_SLOTS; i++)
		if (h.slots[i]) {
			if (first < 0)
				first = i;
			last = i;
			peak = std::max<uint64_t>(peak, h.slots[i]);
		}
	for (int i = first; i >= 0 && i <= last; i++) {
		uint64_t lo = i ? (1ull << i) / div : 0, hi = ((2ull << i) - 1) / div;
		int stars = peak ? static_cast<int>(h.slots[i] * 40 / peak) : 0;
		std::printf("%10llu -> %-10llu : %-8llu |%-40s|\n", static_cast<unsigned long long>(lo),
			    static_cast<unsigned long long>(hi), static_cast<unsigned long long>(h.slots[i]),
			    std::string(static_cast<size_t>(stars), '*').c_str());
	}
}

struct Snapshots {
	Snapshot ops, locks, spins;
};

Snapshots read_all(pkram_trace_bpf *skel)
{
	return {read_map(skel->maps.op_latency), read_map(skel->maps.lock_contention),
		read_percpu_map(skel->maps.spin_contention)};
}

// Prints what changed in `now` since `before`; true when anything did.
bool print_changes(const Snapshot &now, const Snapshot &before, const char *const *names, uint32_t nr,
		   const std::string &prefix, const Options &o)
{
	bool any = false;
	for (const auto &[key, h] : now) {
		auto it = before.find(key);
		pkram_hist d = diff(h, it == before.end() ? nullptr : &it->second);
		if (d.count && key < nr) {
			print_hist((prefix + names[key]).c_str(), d, o);
			any = true;
		}
	}
	return any;
}

void print_all(pkram_trace_bpf *skel, Snapshots &before, const Options &o, const char *heading)
{
	Snapshots now = read_all(skel);
	if (o.timestamps) {
		std::time_t t = std::time(nullptr);
		char buf[32];
		std::strftime(buf, sizeof(buf), "%H:%M:%S", std::localtime(&t));
		std::printf("\n%s", buf);
	}
	std::printf("\n== %s ==\n", heading);
	bool any = print_changes(now.ops, before.ops, op_names, PKRAM_OP_MAX, "", o);
	any |= print_changes(now.spins, before.spins, lock_names, PKRAM_LOCK_MAX,
			     "spinlock wait (slow path), ", o);
	any |= print_changes(now.locks, before.locks, lock_names, PKRAM_LOCK_MAX,
			     skel->bss->spin_probed ? "other lock contention (tracepoints), "
						    : "lock contention (tracepoints), ",
			     o);
	if (!any)
		std::printf("(no events)\n");
	std::fflush(stdout);
	before = std::move(now);
}

int run(const Options &o, const char *argv0)
{
	Tracer t;
	t.skel = pkram_trace_bpf__open();
	if (!t.skel) {
		std::fprintf(stderr, "pkram-trace: cannot open the BPF object: %s\n", std::strerror(errno));
		return 1;
	}
	if (!o.no_locks) {
		std::vector<std::string> all = lru_functions;
		all.insert(all.end(), xarray_functions.begin(), xarray_functions.end());
		auto ranges = kernel_ranges(all);
		if (!ranges) {
			std::fprintf(stderr, "pkram-trace: %s\n", ranges.error().what().c_str());
			return 1;
		}
		set_ranges(*ranges, lru_functions, t.skel->rodata->lru_lo, t.skel->rodata->lru_hi, o.verbose,
			   "LRU");
		set_ranges(*ranges, xarray_functions, t.skel->rodata->xa_lo, t.skel->rodata->xa_hi, o.verbose,
			   "xarray");
	}
	t.skel->rodata->trace_locks = !o.no_locks;
	if (mkdir(o.pin_dir.c_str(), 0700) && errno != EEXIST) {
		std::fprintf(stderr, "pkram-trace: mkdir %s: %s (is bpffs mounted on /sys/fs/bpf?)\n",
			     o.pin_dir.c_str(), std::strerror(errno));
		return 1;
	}
	bpf_map__set_pin_path(t.skel->maps.op_latency, (o.pin_dir + "/op_latency").c_str());
	bpf_map__set_pin_path(t.skel->maps.lock_contention, (o.pin_dir + "/lock_contention").c_str());
	bpf_map__set_pin_path(t.skel->maps.spin_contention, (o.pin_dir + "/spin_contention").c_str());
	bool spin_probe = !o.no_locks && !o.no_spin_probe &&
			  libbpf_find_vmlinux_btf_id(spin_slowpath, BPF_TRACE_FENTRY) >= 0;
	if (!spin_probe && !o.no_locks && !o.no_spin_probe)
		std::fprintf(stderr,
			     "pkram-trace: %s is not in the kernel's BTF: spinlock waits come from the "
			     "lock:contention tracepoints only\n",
			     spin_slowpath);
	bpf_program__set_autoload(t.skel->progs.on_spin_wait, spin_probe);
	bpf_program__set_autoload(t.skel->progs.on_spin_acquired, spin_probe);
	// Programs attached later or by hand: never auto-attached.
	if (pkram_trace_bpf__load(t.skel)) {
		std::fprintf(stderr, "pkram-trace: cannot load the BPF programs: %s\n", std::strerror(errno));
		return 1;
	}
	auto attach_or_fail = [&](bpf_program *p, const char *what) {
		if (auto s = t.attach(p, what); !s) {
			std::fprintf(stderr, "pkram-trace: %s\n", s.error().what().c_str());
			return false;
		}
		return true;
	};
	if (!attach_or_fail(t.skel->progs.on_module_init, "kprobe do_init_module") ||
	    !attach_or_fail(t.skel->progs.on_module_init_done, "kretprobe do_init_module"))
		return 1;
	if (!o.no_locks && (!attach_or_fail(t.skel->progs.on_contention_begin, "lock:contention_begin") ||
			    !attach_or_fail(t.skel->progs.on_contention_end, "lock:contention_end")))
		return 1;
	// The exit first, so that no entry is pushed without its pop attached.
	if (spin_probe) {
		bpf_link *exit_link = bpf_program__attach(t.skel->progs.on_spin_acquired);
		bpf_link *entry_link = exit_link ? bpf_program__attach(t.skel->progs.on_spin_wait) : nullptr;
		if (entry_link) {
			t.links.push_back(exit_link);
			t.links.push_back(entry_link);
			t.skel->bss->spin_probed = true;
		} else {
			std::fprintf(stderr,
				     "pkram-trace: cannot probe %s (%s): spinlock waits come from the "
				     "lock:contention tracepoints only\n",
				     spin_slowpath, std::strerror(errno));
			bpf_link__destroy(exit_link);
		}
	}
	for (auto [event, probe, prog] :
	     {std::tuple{"pkram_trace/restore_node", "p:pkram_trace/restore_node pkram:pkram_node_restore",
			 t.skel->progs.on_restore_node},
	      std::tuple{"pkram_trace/restore_node_ret",
			 "r:pkram_trace/restore_node_ret pkram:pkram_node_restore",
			 t.skel->progs.on_restore_node_done}}) {
		auto k = PendingKprobe::create(event, probe);
		if (!k) {
			std::fprintf(stderr, "pkram-trace: %s\n", k.error().what().c_str());
			return 1;
		}
		bpf_link *link = bpf_program__attach_perf_event(prog, k->fd());
		if (!link) {
			std::fprintf(stderr, "pkram-trace: attach to %s: %s\n", event, std::strerror(errno));
			return 1;
		}
		t.links.push_back(link);
		t.kprobes.push_back(std::move(*k));
	}
	std::string cli = o.cli_binary.empty() ? default_cli_binary(argv0) : o.cli_binary;
	if (!cli.empty()) {
		bpf_link *link = bpf_program__attach_usdt(t.skel->progs.on_cli_restore_file, -1, cli.c_str(),
							  "pkram", "restore_file", nullptr);
		if (!link) {
			std::fprintf(stderr, "pkram-trace: attach to USDT pkram:restore_file in %s: %s\n",
				     cli.c_str(), std::strerror(errno));
			return 1;
		}
		t.links.push_back(link);
	} else {
		std::fprintf(stderr,
			     "pkram-trace: pkram-cli not found: no per-file restore latency (--cli)\n");
	}
	bool attached = t.try_attach_module();
	std::printf("Tracing pkram%s (maps pinned in %s)... Ctrl-C to end.\n",
		    attached ? "" : " (module not loaded yet: its tracepoints attach when it is)",
		    o.pin_dir.c_str());
	std::fflush(stdout);

	Snapshots start = read_all(t.skel), before = start;
	auto begin = std::chrono::steady_clock::now(), last = begin;
	while (!exiting) {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		t.try_attach_module();
		auto now = std::chrono::steady_clock::now();
		double since_start = std::chrono::duration<double>(now - begin).count();
		if (o.interval > 0 && std::chrono::duration<double>(now - last).count() >= o.interval) {
			print_all(t.skel, before, o, "interval");
			last = now;
		}
		if (o.duration > 0 && since_start >= o.duration)
			break;
	}
	print_all(t.skel, start, o, "summary");
	if (o.unpin) {
		bpf_map__unpin(t.skel->maps.op_latency, nullptr);
		bpf_map__unpin(t.skel->maps.lock_contention, nullptr);
		bpf_map__unpin(t.skel->maps.spin_contention, nullptr);
	}
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	Options o;
	CLI::App app{
		"pkram-trace: latency of pkram operations (seal, restore, load, read, write, free, "
		"pkram-cli restore per file) and lock contention per class (LRU, page-cache xarray, other)"};
	app.set_version_flag("--version", std::string("pkram-trace ") + PKRAM_VERSION);
	app.add_option("-i,--interval", o.interval, "print the histograms of each interval (seconds)");
	app.add_option("-d,--duration", o.duration, "stop after this many seconds");
	app.add_flag("-T,--timestamp", o.timestamps, "print a timestamp with each output");
	auto *ms = app.add_flag("-m,--milliseconds", o.millis, "histograms in milliseconds");
	app.add_flag("-u,--microseconds", o.micros, "histograms in microseconds")->excludes(ms);
	app.add_flag("-v,--verbose", o.verbose, "libbpf debug output and the functions found per lock class");
	app.add_flag("--no-locks", o.no_locks, "do not trace lock contention");
	app.add_flag(
		"--no-spin-probe", o.no_spin_probe,
		"time spinlocks through the lock:contention tracepoints only (they miss the first waiters), "
		"not by probing the qspinlock slow path");
	app.add_option("--pin-dir", o.pin_dir, "where the maps are pinned")->capture_default_str();
	app.add_option("--cli", o.cli_binary, "the pkram-cli binary whose USDT probe to trace");
	app.add_flag("--unpin", o.unpin, "remove the pinned maps at exit");
	app.footer(
		"Counters in the pinned maps only go up; each run prints what happened during it.\n"
		"Exit status: 0 success, 1 the BPF programs could not be loaded or attached, 2 bad usage.");
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e) ? 2 : 0;
	}
	libbpf_set_print(o.verbose ? libbpf_print_all : libbpf_print_quiet);
	std::signal(SIGINT, [](int) { exiting = true; });
	std::signal(SIGTERM, [](int) { exiting = true; });
	return run(o, argv[0]);
}
