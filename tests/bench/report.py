#!/usr/bin/env python3
"""The benchmark report: bench.jsonl from the bench VM run (and the tracing
overhead from trace_overhead) become bench.json, a Markdown table and an SVG
plot. Every figure is a ratio within one guest run: a time divided by the
time memcpy takes for the same bytes at the bandwidth measured in that run.

usage: report.py BUILD_DIR OUT_DIR [KERNEL_RELEASE]
(a kernel other than the default one has its results in vm-results/RELEASE/)
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

MiB = 1 << 20

# The seed's cover letter: saving and loading a 100G file (16 CPUs optimized).
SEED_TABLE = {
    ("save", "huge=never"): (2265, 232),
    ("save", "huge=always"): (58, 22),
    ("load", "huge=never"): (8833, 516),
    ("load", "huge=always"): (752, 105),
}
# The seed gives no memcpy figure for its machine. Assumed: 10 GiB/s of
# single-threaded memcpy, usual for a server core of that time, so memcpy of
# 100 GiB takes 10 s; ratio = time / 10 s.
SEED_ASSUMED_MEMCPY_BYTES_PER_S = 10 * (1 << 30)
SEED_BYTES = 100 * (1 << 30)


def main() -> int:
    build, out = Path(sys.argv[1]), Path(sys.argv[2])
    default_kver = (build / "vm/default/kver").read_text().strip()
    kver = sys.argv[3] if len(sys.argv) > 3 else default_kver
    results = build / "vm-results" if kver == default_kver else build / "vm-results" / kver
    out.mkdir(parents=True, exist_ok=True)
    probes = [json.loads(line) for line in (results / "bench/bench.jsonl").read_text().splitlines() if line]
    memcpy = next(p for p in probes if p["probe"] == "memcpy")
    bw = memcpy["bytes_per_second"]

    def ratio(seconds: float, nbytes: int) -> float:
        return seconds / (nbytes / bw)

    load_empty = next(p["seconds"] for p in probes if p["probe"] == "load_empty")
    seal, restore = [], []
    for p in probes:
        if p["probe"] == "fill":
            seal.append({"layout": p["layout"], "bytes": p["bytes"], "extents": p["extents"],
                         "meta_bytes": p["meta_bytes"], "seal_seconds": p["seal_seconds"],
                         "seal_vs_memcpy": ratio(p["seal_seconds"], p["bytes"])})
        elif p["probe"] == "restore":
            # The restore as the module times it (every node validated and
            # in place): insmod's wall time is mostly process start under TCG.
            k = p["kernel_restore_seconds"]
            restore.append({"layout": p["layout"], "load_seconds": p["load_seconds"],
                            "kernel_restore_seconds": k, "read_seconds": p["read_seconds"]})

    # A restore row is the node of the fill before it (same layout, same
    # order): its bytes are the data written, not the sparse object's size.
    for layout in ("contiguous", "fragmented"):
        fills = [x for x in seal if x["layout"] == layout]
        for s_row, r_row in zip(fills, [x for x in restore if x["layout"] == layout]):
            r_row["bytes"] = s_row["bytes"]
            r_row["restore_vs_memcpy"] = ratio(r_row["kernel_restore_seconds"], s_row["bytes"])
            r_row["read_vs_memcpy"] = ratio(r_row["read_seconds"], s_row["bytes"])

    def growth(rows, key, layout):
        sel = sorted((r for r in rows if r["layout"] == layout), key=lambda r: r["bytes"])
        return sel[-1][key] / sel[0][key] if len(sel) > 1 and sel[0][key] > 0 else None

    ingest = [{"how": p["how"], "bytes": p["bytes"], "seconds": p["seconds"],
               "bytes_per_second": p["bytes"] / p["seconds"],
               "vs_memcpy_throughput": (p["bytes"] / p["seconds"]) / bw}
              for p in probes if p["probe"] == "ingest"]
    tree = [p for p in probes if p["probe"] == "restore_tree"]
    cp = next((p["seconds"] for p in tree if p["how"] == "cp -a"), None)
    tree_rows = [{**p, "vs_cp_a": p["seconds"] / cp if cp else None} for p in tree]
    time_to_data = [p for p in probes if p["probe"] == "time_to_data"]
    trace_file = results / "trace_overhead/trace-overhead.json"
    tracing = json.loads(trace_file.read_text()) if trace_file.exists() else None
    seed = [{"operation": op, "config": cfg, "unoptimized_ms": a, "optimized_ms": b,
             "unoptimized_vs_memcpy": a / 1000 / (SEED_BYTES / SEED_ASSUMED_MEMCPY_BYTES_PER_S),
             "optimized_vs_memcpy": b / 1000 / (SEED_BYTES / SEED_ASSUMED_MEMCPY_BYTES_PER_S)}
            for (op, cfg), (a, b) in SEED_TABLE.items()]

    tmpfs = next((p for p in probes if p["probe"] == "tmpfs"), None)
    empty_seal = next((p["seal_seconds"] for p in probes if p["probe"] == "empty_node"), None)
    empty_restore = next((p["kernel_restore_seconds"] for p in probes if p["probe"] == "empty_node_restore"), None)
    pool_size = {p["pool_bytes"]: p["kernel_restore_seconds"] for p in probes if p["probe"] == "restore_pool_size"}
    objects = sorted(({"objects": p["objects"], "kernel_restore_seconds": p["kernel_restore_seconds"]}
                      for p in probes if p["probe"] == "restore_objects"), key=lambda r: r["objects"])
    for r in objects:
        r["seconds_per_object"] = r["kernel_restore_seconds"] / r["objects"]

    def pick(rows, layout, nbytes, key):
        return next((r[key] for r in rows if r["layout"] == layout and r["bytes"] == nbytes), None)

    def throughput(how, key="seconds"):
        i = next((p for p in probes if p["probe"] == "ingest" and p["how"] == how), None)
        return i["bytes"] / i[key] if i and i.get(key) else None

    def div(a, b):
        return a / b if a is not None and b else None

    # pkramfs against tmpfs, the same command in the same guest: throughput ratios.
    fuse = [p for p in probes if p["probe"] == "fuse"]

    def fuse_vs_tmpfs(op):
        t = {p["how"]: p["seconds"] for p in fuse if p["op"] == op}
        return div(t.get("tmpfs"), t.get("pkramfs"))

    # time to data after kexec, each side as its user gets there; both
    # orders averaged: load + open + first byte, and the rest (consume)
    def ttd(how, keys):
        arms = [p for p in time_to_data if p["how"] == how]
        return sum(sum(p[k] for k in keys) for p in arms) / len(arms) if arms else None

    to_first = ["load_seconds", "open_seconds", "first_byte_seconds"]
    cli = {p["threads"]: p["seconds"] for p in tree if p["how"].startswith("pkram-cli")}

    lend = next((p for p in probes if p["probe"] == "lend"), None)

    G = 1 << 30
    summary = {
        # time ratios: smaller is better
        "seal_growth_contiguous": growth(seal, "seal_seconds", "contiguous"),
        "seal_4g_contiguous_vs_memcpy": pick(seal, "contiguous", 4 * G, "seal_vs_memcpy"),
        "restore_4g_contiguous_vs_memcpy": pick(restore, "contiguous", 4 * G, "restore_vs_memcpy"),
        "restore_growth_fragmented": growth(restore, "kernel_restore_seconds", "fragmented"),
        "restore_pool_size_ratio": div(pool_size.get(4608 << 20), pool_size.get(1024 << 20)),
        # throughput ratios: bigger is better
        "pwrite_vs_tmpfs": div(throughput("write"), tmpfs["bytes"] / tmpfs["pwrite_seconds"]) if tmpfs else None,
        "mmap_vs_tmpfs": div(throughput("mmap"), tmpfs["bytes"] / tmpfs["mmap_seconds"]) if tmpfs else None,
        # the same bytes read from tmpfs in turns with the object (best of three each)
        "read_vs_tmpfs": div(throughput("write", "read_seconds"), throughput("write", "peer_read_seconds")),
        # restore(1M empty objects) / restore(100k): 10 when linear
        "restore_objects_growth": div(objects[-1]["kernel_restore_seconds"], objects[0]["kernel_restore_seconds"])
        if len(objects) > 1 else None,
        "fuse_small_write_vs_tmpfs": fuse_vs_tmpfs("small_write"),
        "fuse_dd_vs_tmpfs": fuse_vs_tmpfs("dd"),
        "fuse_read_vs_tmpfs": fuse_vs_tmpfs("read"),
        "cli_restore_j1_vs_cp": div(cli.get(1), cp),
        "cli_restore_j2_speedup": div(cli.get(1), cli.get(2)),
        "ttd_load_first_byte_vs_dax": div(ttd("pkram", to_first), ttd("pmem+dax", to_first)),
        "ttd_consume_vs_dax": div(ttd("pkram", ["consume_seconds"]), ttd("pmem+dax", ["consume_seconds"])),
        # lending: taking back 1 GiB the system had filled, ÷ memcpy of 1 GiB;
        # and the share of an idle pool the system gains (MemTotal)
        "reclaim_filled_1g_vs_memcpy": ratio(lend["reclaim_seconds"], lend["reclaim_bytes"]) if lend else None,
        "lend_idle_gain_of_pool": div(lend["idle_memtotal_gain_bytes"], lend["pool_bytes"]) if lend else None,
        "empty_node_seal_seconds": empty_seal,
        "empty_node_restore_seconds": empty_restore,
    }
    result = {
        "summary": summary, "kernel": kver,
        "memcpy": memcpy, "tmpfs": tmpfs, "load_empty_seconds": load_empty, "seal": seal, "restore": restore,
        "restore_pool_size": {str(k): v for k, v in pool_size.items()},
        "restore_objects": objects,
        "seal_growth_largest_over_smallest": {l: growth(seal, "seal_seconds", l) for l in ("contiguous", "fragmented")},
        "restore_growth_largest_over_smallest": {l: growth(restore, "kernel_restore_seconds", l)
                                                 for l in ("contiguous", "fragmented")},
        "lend": lend, "ingest": ingest, "fuse": fuse, "restore_tree": tree_rows, "time_to_data": time_to_data, "tracing_overhead": tracing, "seed": seed,
        "seed_conversion": "seed ms / (100 GiB at an assumed 10 GiB/s memcpy = 10.0 s)",
    }
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")

    md = []
    md.append(f"memcpy in the guest: {bw / MiB:.0f} MiB/s (the unit of every ratio below)\n")
    md.append("| summary figure | value |")
    md.append("|---|---:|")
    for k, v in summary.items():
        md.append(f"| `{k}` | {v:.4g} |" if isinstance(v, float) else f"| `{k}` | {v} |")
    md.append("")
    md.append("| node | layout | extents | seal ÷ memcpy | restore ÷ memcpy | read ÷ memcpy |")
    md.append("|---:|---|---:|---:|---:|---:|")
    for s in seal:
        r = next((x for x in restore if x["layout"] == s["layout"] and x["bytes"] == s["bytes"]), None)
        md.append(f"| {s['bytes'] // MiB} MiB | {s['layout']} | {s['extents']} | {s['seal_vs_memcpy']:.4f} | "
                  f"{r['restore_vs_memcpy']:.4f} | {r['read_vs_memcpy']:.2f} |" if r else "")
    g = result["seal_growth_largest_over_smallest"]
    rg = result["restore_growth_largest_over_smallest"]
    md.append(f"\nseal(4 GiB) ÷ seal(16 MiB): contiguous {g['contiguous']:.1f}, fragmented {g['fragmented']:.1f}; "
              f"restore(4 GiB) ÷ restore(16 MiB): contiguous {rg['contiguous']:.1f}, fragmented {rg['fragmented']:.1f}. "
              f"Restore is the module's own timing of validating and placing every node at load (insmod with the "
              f"token; insmod's wall time, {load_empty * 1000:.0f} ms for an empty pool, is mostly process start)\n")
    if objects:
        md.append("| one node of empty objects | restore | per object |")
        md.append("|---:|---:|---:|")
        for r in objects:
            md.append(f"| {r['objects']} | {r['kernel_restore_seconds'] * 1000:.0f} ms | "
                      f"{r['seconds_per_object'] * 1e6:.2f} µs |")
        md.append("")
    md.append("| ingest | MiB/s | ÷ memcpy throughput |")
    md.append("|---|---:|---:|")
    for i in ingest:
        md.append(f"| {i['how']} | {i['bytes_per_second'] / MiB:.0f} | {i['vs_memcpy_throughput']:.3f} |")
    if tmpfs:
        for key, what in (("pwrite_seconds", "tmpfs pwrite (the unit)"), ("pread_seconds", "tmpfs pread (the unit)"),
                          ("mmap_seconds", "tmpfs mmap fault-in (the unit)")):
            md.append(f"| {what} | {tmpfs['bytes'] / tmpfs[key] / MiB:.0f} | {tmpfs['bytes'] / tmpfs[key] / bw:.3f} |")
    if fuse:
        md.append("\n| pkramfs vs tmpfs (same command) | pkramfs MiB/s | tmpfs MiB/s | pkramfs ÷ tmpfs throughput |")
        md.append("|---|---:|---:|---:|")
        for op, what in (("small_write", "head -c (small writes)"), ("dd", "dd bs=1M"), ("read", "md5sum (cold cache)")):
            t = {p["how"]: p for p in fuse if p["op"] == op}
            if "pkramfs" in t and "tmpfs" in t:
                a, b = t["pkramfs"], t["tmpfs"]
                md.append(f"| {what} | {a['bytes'] / a['seconds'] / MiB:.0f} | {b['bytes'] / b['seconds'] / MiB:.0f} | "
                          f"{b['seconds'] / a['seconds']:.2f} |")
    if lend:
        md.append(f"\nlending: with the pool idle the system gains {lend['idle_memtotal_gain_bytes'] / MiB:.0f} MiB "
                  f"of {lend['pool_bytes'] / MiB:.0f} MiB (MemTotal); taking back 1 GiB it had filled "
                  f"({(lend['reclaim_bytes'] - lend['movable_free_bytes']) / MiB:.0f} MiB in use) took "
                  f"{lend['reclaim_seconds']:.2f} s, {ratio(lend['reclaim_seconds'], lend['reclaim_bytes']):.1f} × memcpy")
    md.append("\n| restore a 512 MiB tree into tmpfs | seconds | ÷ cp -a |")
    md.append("|---|---:|---:|")
    for t in tree_rows:
        md.append(f"| {t['how']} | {t['seconds']:.2f} | {t['vs_cp_a']:.2f} |")
    if time_to_data:
        md.append("\n| after kexec, 512 MiB mapped in place and checksummed | order | load | open + mmap | first byte "
                  "| the rest | total |")
        md.append("|---|---:|---:|---:|---:|---:|---:|")
        for p in sorted(time_to_data, key=lambda p: (p["how"], p["order"])):
            total = p["load_seconds"] + p["open_seconds"] + p["first_byte_seconds"] + p["consume_seconds"]
            md.append(f"| {p['how']} | {'first' if p['order'] == 1 else 'second'} | {p['load_seconds']:.3f} s | "
                      f"{p['open_seconds']:.4f} s | {p['first_byte_seconds'] * 1e3:.2f} ms | "
                      f"{p['consume_seconds']:.3f} s | {total:.3f} s |")
    if tracing:
        md.append(f"\ntracing overhead, pkram-trace on ÷ off (medians of three runs): "
                  f"save {tracing['save_ns']['ratio']:.2f}, restore {tracing['restore_ns']['ratio']:.2f}")
    md.append("\n| the seed (100 GiB file) | unoptimized | ÷ memcpy | optimized (16 CPUs) | ÷ memcpy |")
    md.append("|---|---:|---:|---:|---:|")
    for s in seed:
        md.append(f"| {s['operation']} {s['config']} | {s['unoptimized_ms']} ms | {s['unoptimized_vs_memcpy']:.4f} | "
                  f"{s['optimized_ms']} ms | {s['optimized_vs_memcpy']:.4f} |")
    md.append(f"\nseed conversion: {result['seed_conversion']}")
    text = "\n".join(line for line in md if line is not None)
    (out / "bench.md").write_text(text + "\n")
    print(text)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for layout, style in (("contiguous", "o-"), ("fragmented", "s--")):
        xs = [s["bytes"] / MiB for s in seal if s["layout"] == layout]
        axes[0].plot(xs, [s["seal_vs_memcpy"] for s in seal if s["layout"] == layout], style, label=layout)
        xs = [r["bytes"] / MiB for r in restore if r["layout"] == layout]
        axes[1].plot(xs, [r["restore_vs_memcpy"] for r in restore if r["layout"] == layout], style, label=layout)
    for ax, title in zip(axes, ("seal ÷ memcpy of the same bytes", "restore at module load ÷ memcpy")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("node size (MiB)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "bench.svg")
    print(f"\nwritten: {out / 'bench.json'}, {out / 'bench.md'}, {out / 'bench.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
