/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pkram tracepoints: the stable tracing ABI that bpf/ reads. Every event
 * carries the node, the bytes involved and how long the operation took.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pkram

#if !defined(_PKRAM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PKRAM_TRACE_H

#include <linux/tracepoint.h>

#include "pkram_compat.h"

DECLARE_EVENT_CLASS(pkram_node_op,
	TP_PROTO(const char *node, u64 bytes, u64 duration_ns, int ret),
	TP_ARGS(node, bytes, duration_ns, ret),
	TP_STRUCT__entry(
		__string(node, node)
		__field(u64, bytes)
		__field(u64, duration_ns)
		__field(int, ret)
	),
	TP_fast_assign(
		pkram_assign_str(node, node);
		__entry->bytes = bytes;
		__entry->duration_ns = duration_ns;
		__entry->ret = ret;
	),
	TP_printk("node=%s bytes=%llu duration_ns=%llu ret=%d", __get_str(node),
		  __entry->bytes, __entry->duration_ns, __entry->ret)
);

/* Sealing a node: bytes is the metadata written. */
DEFINE_EVENT(pkram_node_op, pkram_seal,
	TP_PROTO(const char *node, u64 bytes, u64 duration_ns, int ret),
	TP_ARGS(node, bytes, duration_ns, ret));

/* Validating and rebuilding one node at load; node is "?" when unreadable. */
DEFINE_EVENT(pkram_node_op, pkram_restore_node,
	TP_PROTO(const char *node, u64 bytes, u64 duration_ns, int ret),
	TP_ARGS(node, bytes, duration_ns, ret));

/* Freeing a node: bytes is what went back to the pool. */
DEFINE_EVENT(pkram_node_op, pkram_free,
	TP_PROTO(const char *node, u64 bytes, u64 duration_ns, int ret),
	TP_ARGS(node, bytes, duration_ns, ret));

/* One read(2)/write(2) on an object fd: bytes transferred (ret < 0: error). */
DEFINE_EVENT(pkram_node_op, pkram_obj_read,
	TP_PROTO(const char *node, u64 bytes, u64 duration_ns, int ret),
	TP_ARGS(node, bytes, duration_ns, ret));

DEFINE_EVENT(pkram_node_op, pkram_obj_write,
	TP_PROTO(const char *node, u64 bytes, u64 duration_ns, int ret),
	TP_ARGS(node, bytes, duration_ns, ret));

/* The whole restore at module load, from load to every node validated. */
TRACE_EVENT(pkram_restore,
	TP_PROTO(u32 restored, u32 rejected, u64 bytes, u64 duration_ns),
	TP_ARGS(restored, rejected, bytes, duration_ns),
	TP_STRUCT__entry(
		__field(u32, restored)
		__field(u32, rejected)
		__field(u64, bytes)
		__field(u64, duration_ns)
	),
	TP_fast_assign(
		__entry->restored = restored;
		__entry->rejected = rejected;
		__entry->bytes = bytes;
		__entry->duration_ns = duration_ns;
	),
	TP_printk("restored=%u rejected=%u bytes=%llu duration_ns=%llu",
		  __entry->restored, __entry->rejected, __entry->bytes,
		  __entry->duration_ns)
);

#endif /* _PKRAM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE pkram_trace
#include <trace/define_trace.h>
