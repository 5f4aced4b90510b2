#!/usr/bin/env python3
"""Puts the newest benchmark result of each kernel line (tests/bench/results/
DATE-KERNEL-NCPUc.md, written by run.sh) into the README between the
bench-table markers, and the newest VMM restart result of each kernel
(DATE-KERNEL-NCPUc-vmm.md) between the vmm-table markers, so the README's
tables are always a committed run.

usage: readme.py README.md RESULTS_DIR
"""
import re
import sys
from pathlib import Path

TABLES = {  # marker: (result name, heading level)
    "bench-table": (re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)-(\d+)c\.md$"), "###"),
    "vmm-table": (re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)-(\d+)c-vmm\.md$"), "####"),
}


def kernel_line(kver):
    """6.12.118+deb12-amd64 and 6.12.117+deb12-amd64 are one line (6.12, amd64)."""
    m = re.match(r"^(\d+\.\d+)\.\S*?-((?:cloud-|rt-)?amd64)$", kver)
    return (m.group(1), m.group(2)) if m else (kver, "")


def fill(text, marker, name, heading, results):
    newest = {}
    for f in sorted(results.glob("*.md")):
        m = name.match(f.name)
        if m:  # sorted: the last date wins, and a newer point release replaces an older one
            newest[kernel_line(m.group(2))] = (m.group(2), m.group(1), m.group(3), f)
    parts = []
    for _, (kver, date, cores, f) in sorted(newest.items()):
        parts.append(f"{heading} Latest run on {kver}\n\n{date}, QEMU/TCG with 2 vCPUs on a {cores}-core "
                     f"host (`tests/bench/results/{f.stem}.json`).\n\n{f.read_text().strip()}\n")
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + "\n".join(parts) + "\n" + text[stop:]


def main() -> int:
    readme, results = Path(sys.argv[1]), Path(sys.argv[2])
    text = readme.read_text()
    for marker, (name, heading) in TABLES.items():
        text = fill(text, marker, name, heading, results)
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
