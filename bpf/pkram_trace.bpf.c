// SPDX-License-Identifier: GPL-2.0
/*
 * pkram-trace: latency of pkram operations and lock contention by class.
 *
 * - pkram:* tracepoints (raw_tp: they carry node, bytes and duration) for
 *   seal, free and object read/write, once the module is loaded;
 * - kprobes for what happens while the module loads, before its tracepoints
 *   can be attached: do_init_module (load -> ready) and, through a pending
 *   tracefs kprobe the loader sets up, pkram_node_restore (one node);
 * - the USDT probe pkram:restore_file of pkram-cli (one restored file);
 * - every wait in the spinlock slow path (fentry/fexit on
 *   native_queued_spin_lock_slowpath), per CPU, and the lock:contention
 *   tracepoints for the other locks (mutexes, rwsems, rwlocks), both
 *   classified by kernel stack like perf lock contention -b, against
 *   function ranges the loader resolves.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "pkram_trace.h"

#define LCB_F_SPIN	(1U << 0)	/* include/trace/events/lock.h */
#define STACK_DEPTH	16

/* Function ranges [lo, hi) per class, set by the loader before load. */
const volatile __u64 lru_lo[PKRAM_TRACE_RANGES];
const volatile __u64 lru_hi[PKRAM_TRACE_RANGES];
const volatile __u64 xa_lo[PKRAM_TRACE_RANGES];
const volatile __u64 xa_hi[PKRAM_TRACE_RANGES];
const volatile bool trace_locks = true;
/* Set by the loader once the slow-path probe is attached. */
volatile bool spin_probed;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PKRAM_OP_MAX);
	__type(key, enum pkram_op);
	__type(value, struct pkram_hist);
} op_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PKRAM_LOCK_MAX);
	__type(key, enum pkram_lock_class);
	__type(value, struct pkram_hist);
} lock_contention SEC(".maps");

/*
 * Spinlock waits, from the slow-path probe. Nothing here may take a lock
 * that could be the contended one: per-CPU arrays only, no atomics needed
 * (a program never runs nested in itself on one CPU), no ring buffer.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKRAM_LOCK_MAX);
	__type(key, __u32);	/* enum pkram_lock_class: an array's key is an int */
	__type(value, struct pkram_hist);
} spin_contention SEC(".maps");

/* An interrupt or NMI can wait for a spinlock while its CPU already waits. */
#define SPIN_NESTING	4

struct spin_waits {
	__u32 depth;
	__u32 pad;
	struct {
		__u64 lock;
		__u64 start_ns;
		__u32 class;
		__u32 pad;
	} w[SPIN_NESTING];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spin_waits);
} spin_state SEC(".maps");

struct lock_wait {
	__u64 start_ns;
	__u64 lock;	/* an end matches its begin by lock too */
	__u32 class;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct lock_wait);
} lock_waits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);	/* tid, with the probe in the top bits */
	__type(value, __u64);	/* start, ns */
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[STACK_DEPTH]);
} stack_buf SEC(".maps");

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	while (v > 1 && slot < PKRAM_TRACE_SLOTS - 1) {
		v >>= 1;
		slot++;
	}
	return slot;
}

static __always_inline void add_sample(struct pkram_hist *h, __u64 ns)
{
	h->count++;
	h->sum_ns += ns;
	h->slots[log2_slot(ns)]++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static __always_inline void record(void *map, __u32 key, __u64 ns, __u64 bytes)
{
	static const struct pkram_hist zero;
	struct pkram_hist *h = bpf_map_lookup_elem(map, &key);

	if (!h) {
		bpf_map_update_elem(map, &key, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(map, &key);
		if (!h)
			return;
	}
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	__sync_fetch_and_add(&h->bytes, bytes);
	__sync_fetch_and_add(&h->slots[log2_slot(ns)], 1);
	if (ns > h->max_ns)
		h->max_ns = ns;	/* a lost race only under-reports a max */
}

SEC("raw_tp/pkram_seal")
int BPF_PROG(on_seal, const char *node, __u64 bytes, __u64 duration_ns, int ret)
{
	record(&op_latency, PKRAM_OP_SEAL, duration_ns, bytes);
	return 0;
}

SEC("raw_tp/pkram_free")
int BPF_PROG(on_free, const char *node, __u64 bytes, __u64 duration_ns, int ret)
{
	record(&op_latency, PKRAM_OP_FREE, duration_ns, bytes);
	return 0;
}

SEC("raw_tp/pkram_obj_read")
int BPF_PROG(on_obj_read, const char *node, __u64 bytes, __u64 duration_ns, int ret)
{
	record(&op_latency, PKRAM_OP_OBJ_READ, duration_ns, bytes);
	return 0;
}

SEC("raw_tp/pkram_obj_write")
int BPF_PROG(on_obj_write, const char *node, __u64 bytes, __u64 duration_ns, int ret)
{
	record(&op_latency, PKRAM_OP_OBJ_WRITE, duration_ns, bytes);
	return 0;
}

#define START_LOAD	(1ULL << 62)
#define START_RESTORE	(2ULL << 62)

static __always_inline __u64 tid(void)
{
	return bpf_get_current_pid_tgid() & 0xffffffff;
}

static __always_inline bool is_pkram(struct module *mod)
{
	char name[8] = {};

	BPF_CORE_READ_STR_INTO(&name, mod, name);
	return name[0] == 'p' && name[1] == 'k' && name[2] == 'r' &&
	       name[3] == 'a' && name[4] == 'm' && name[5] == 0;
}

SEC("kprobe/do_init_module")
int BPF_KPROBE(on_module_init, struct module *mod)
{
	__u64 key = START_LOAD | tid(), now = bpf_ktime_get_ns();

	if (is_pkram(mod))
		bpf_map_update_elem(&starts, &key, &now, BPF_ANY);
	return 0;
}

SEC("kretprobe/do_init_module")
int BPF_KRETPROBE(on_module_init_done, int ret)
{
	__u64 key = START_LOAD | tid();
	__u64 *start = bpf_map_lookup_elem(&starts, &key);

	if (start) {
		record(&op_latency, PKRAM_OP_MODULE_LOAD, bpf_ktime_get_ns() - *start, 0);
		bpf_map_delete_elem(&starts, &key);
	}
	return 0;
}

/* Attached by the loader to the pending tracefs kprobes on pkram_node_restore. */
SEC("kprobe")
int on_restore_node(void *ctx)
{
	__u64 key = START_RESTORE | tid(), now = bpf_ktime_get_ns();

	bpf_map_update_elem(&starts, &key, &now, BPF_ANY);
	return 0;
}

SEC("kprobe")
int on_restore_node_done(void *ctx)
{
	__u64 key = START_RESTORE | tid();
	__u64 *start = bpf_map_lookup_elem(&starts, &key);

	if (start) {
		record(&op_latency, PKRAM_OP_RESTORE_NODE, bpf_ktime_get_ns() - *start, 0);
		bpf_map_delete_elem(&starts, &key);
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(on_cli_restore_file, const char *path, __u64 bytes, __u64 duration_ns)
{
	record(&op_latency, PKRAM_OP_CLI_RESTORE_FILE, duration_ns, bytes);
	return 0;
}

static __always_inline bool in_ranges(__u64 ip, const volatile __u64 *lo,
				      const volatile __u64 *hi)
{
	for (int i = 0; i < PKRAM_TRACE_RANGES; i++)
		if (lo[i] && ip >= lo[i] && ip < hi[i])
			return true;
	return false;
}

/* The innermost frame in a known function decides the class. */
static __always_inline __u32 classify(void *ctx)
{
	__u32 zero = 0;
	__u64 *stack = bpf_map_lookup_elem(&stack_buf, &zero);
	long len;

	if (!stack)
		return PKRAM_LOCK_OTHER;
	len = bpf_get_stack(ctx, stack, STACK_DEPTH * sizeof(__u64), 0);
	for (int i = 0; i < STACK_DEPTH; i++) {
		if (i * (long)sizeof(__u64) >= len)
			break;
		if (in_ranges(stack[i], lru_lo, lru_hi))
			return PKRAM_LOCK_LRU;
		if (in_ranges(stack[i], xa_lo, xa_hi))
			return PKRAM_LOCK_XARRAY;
	}
	return PKRAM_LOCK_OTHER;
}

/* Spinning waiters are keyed by CPU, sleeping ones by task (like perf). */
static __always_inline __u64 wait_key(unsigned int flags)
{
	return flags & LCB_F_SPIN ? (1ULL << 63) | bpf_get_smp_processor_id() : tid();
}

SEC("tp_btf/contention_begin")
int BPF_PROG(on_contention_begin, void *lock, unsigned int flags)
{
	struct lock_wait wait = {};
	__u64 key;

	if (!trace_locks)
		return 0;
	/* The slow-path probe times spinlocks, pending waiters included. */
	if (spin_probed && flags == LCB_F_SPIN)
		return 0;
	key = wait_key(flags);
	/* A contended mutex fires begin twice per end on 6.1: keep the first. */
	if (bpf_map_lookup_elem(&lock_waits, &key))
		return 0;
	wait.start_ns = bpf_ktime_get_ns();
	wait.lock = (__u64)lock;
	wait.class = classify(ctx);
	bpf_map_update_elem(&lock_waits, &key, &wait, BPF_NOEXIST);
	return 0;
}

SEC("tp_btf/contention_end")
int BPF_PROG(on_contention_end, void *lock, int ret)
{
	struct lock_wait *wait;
	__u64 key;

	if (!trace_locks)
		return 0;
	key = tid();
	wait = bpf_map_lookup_elem(&lock_waits, &key);
	if (!wait || wait->lock != (__u64)lock) {
		key = (1ULL << 63) | bpf_get_smp_processor_id();
		wait = bpf_map_lookup_elem(&lock_waits, &key);
		if (!wait || wait->lock != (__u64)lock)
			return 0;
	}
	record(&lock_contention, wait->class, bpf_ktime_get_ns() - wait->start_ns, 0);
	bpf_map_delete_elem(&lock_waits, &key);
	return 0;
}

/*
 * A wait is pushed at entry and popped at exit, matched by lock address: an
 * exit whose entry was not seen (the probe attached meanwhile, or an NMI
 * arrived while this CPU ran the entry program) is ignored.
 */
SEC("fentry/native_queued_spin_lock_slowpath")
int BPF_PROG(on_spin_wait, struct qspinlock *lock, __u32 val)
{
	__u32 zero = 0;
	struct spin_waits *s = bpf_map_lookup_elem(&spin_state, &zero);
	__u32 d;

	if (!s)
		return 0;
	d = s->depth;
	if (d >= SPIN_NESTING * 4)	/* never popped: start over */
		d = 0;
	if (d < SPIN_NESTING) {
		s->w[d].lock = (__u64)lock;
		s->w[d].class = classify(ctx);
		s->w[d].start_ns = bpf_ktime_get_ns();
	}
	s->depth = d + 1;
	return 0;
}

SEC("fexit/native_queued_spin_lock_slowpath")
int BPF_PROG(on_spin_acquired, struct qspinlock *lock, __u32 val)
{
	__u32 zero = 0, cls;
	struct spin_waits *s = bpf_map_lookup_elem(&spin_state, &zero);
	struct pkram_hist *h;
	__u64 now = bpf_ktime_get_ns();
	__u32 d;

	if (!s || !s->depth)
		return 0;
	d = s->depth - 1;
	if (d < SPIN_NESTING) {
		if (s->w[d].lock != (__u64)lock)
			return 0;
		cls = s->w[d].class;
		h = bpf_map_lookup_elem(&spin_contention, &cls);
		if (h)
			add_sample(h, now - s->w[d].start_ns);
	}
	s->depth = d;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
