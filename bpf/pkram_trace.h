/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by the pkram-trace BPF programs and their loader, in plain C.
 * The pinned maps (under /sys/fs/bpf/pkram/) use these; bpftool prints them
 * with names through BTF, which is what dashboards/ reads.
 */
#ifndef PKRAM_TRACE_H
#define PKRAM_TRACE_H

#define PKRAM_TRACE_SLOTS	40	/* log2(ns) buckets: up to 2^40 ns */
#define PKRAM_TRACE_RANGES	16	/* kernel functions per lock class */

/* The operations whose latency is measured. */
enum pkram_op {
	PKRAM_OP_SEAL,
	PKRAM_OP_RESTORE_NODE,		/* one node validated at module load */
	PKRAM_OP_MODULE_LOAD,		/* module load -> ready (restore included) */
	PKRAM_OP_OBJ_READ,
	PKRAM_OP_OBJ_WRITE,
	PKRAM_OP_FREE,
	PKRAM_OP_CLI_RESTORE_FILE,	/* pkram-cli restore, one file */
	PKRAM_OP_MAX,
};

/* Lock contention, classified by the kernel stack at contention_begin. */
enum pkram_lock_class {
	PKRAM_LOCK_LRU,			/* lruvec->lru_lock */
	PKRAM_LOCK_XARRAY,		/* mapping->i_pages xa_lock (page cache) */
	PKRAM_LOCK_OTHER,
	PKRAM_LOCK_MAX,
};

/* A latency distribution. Counters only go up. */
struct pkram_hist {
	unsigned long long count;
	unsigned long long sum_ns;
	unsigned long long max_ns;
	unsigned long long bytes;	/* operations that move data */
	unsigned long long slots[PKRAM_TRACE_SLOTS]; /* slot i: [2^i, 2^(i+1)) ns */
};

#endif /* PKRAM_TRACE_H */
