#!/usr/bin/env python3
"""The VMM fast-restart report: bench_vmm.jsonl from the bench_vmm VM run
becomes bench-vmm.json and a Markdown table. Every figure is a ratio within
that one guest run: pkram's time over pmem+DAX's for the same step.

Each arm ran once first and once second after a kexec (the order swapped
between the two kexecs); a side's time is the mean of its two arms. "From
the kernel's start" is the kernel's time to the first arm (the boot, the
same for both sides) plus the arm's own load and QEMU start: the time that
side's user would see if it were the only one on the host.

usage: report_vmm.py RESULTS_DIR OUT_DIR KERNEL_RELEASE
"""
import json
import sys
from pathlib import Path

SIDES = ("pkram", "pmem+dax")
GIB = (1, 4)


def main() -> int:
    results, out, kver = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    arms = [json.loads(line) for line in (results / "bench_vmm.jsonl").read_text().splitlines() if line]
    if len(arms) != 4 or sorted(a["how"] for a in arms) != sorted(SIDES * 2):
        raise SystemExit(f"report_vmm: expected two arms per side, got {[a['how'] for a in arms]}")
    # Lines come in kexec order, first arm then second.
    for first, second in (arms[0:2], arms[2:4]):
        boot = first["kernel_to_arm_seconds"]
        for arm in (first, second):
            arm["boot_seconds"] = boot
    mean = {}
    for side in SIDES:
        mine = [a for a in arms if a["how"] == side]
        for g in GIB:
            after_boot = [a["load_seconds"] + a[f"qemu_{g}g_seconds"] for a in mine]
            from_start = [a["boot_seconds"] + t for a, t in zip(mine, after_boot)]
            mean[side, g, "after_boot"] = sum(after_boot) / len(after_boot)
            mean[side, g, "from_start"] = sum(from_start) / len(from_start)
        mean[side, "load"] = sum(a["load_seconds"] for a in mine) / len(mine)
    summary = {}
    for g in GIB:
        summary[f"vmm_restart_{g}g_vs_dax"] = mean["pkram", g, "from_start"] / mean["pmem+dax", g, "from_start"]
        summary[f"vmm_restart_{g}g_after_boot_vs_dax"] = (
            mean["pkram", g, "after_boot"] / mean["pmem+dax", g, "after_boot"])
    summary["vmm_load_vs_dax"] = mean["pkram", "load"] / mean["pmem+dax", "load"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench-vmm.json").write_text(json.dumps(
        {"kernel": kver, "arms": arms, "summary": summary,
         "seconds": {f"{k[0]} {k[1]}{'' if k[1] == 'load' else ' GiB ' + k[2]}": v
                     for k, v in mean.items()}}, indent=1) + "\n")
    rows = ["| guest RAM | step | pkram (s) | pmem+DAX (s) | pkram ÷ DAX |", "|---|---|---|---|---|"]
    for g in GIB:
        for step, name in (("from_start", "kernel start → QEMU running"),
                           ("after_boot", "load + QEMU running")):
            p, d = mean["pkram", g, step], mean["pmem+dax", g, step]
            rows.append(f"| {g} GiB | {name} | {p:.3f} | {d:.3f} | {p / d:.3f} |")
    p, d = mean["pkram", "load"], mean["pmem+dax", "load"]
    rows.append(f"| — | load (insmod + restore / pmem probe + DAX mount) | {p:.3f} | {d:.3f} | {p / d:.3f} |")
    (out / "bench-vmm.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
