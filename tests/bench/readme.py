#!/usr/bin/env python3
"""Puts the newest benchmark result of each kernel (tests/bench/results/
DATE-KERNEL-NCPUc.md, written by run.sh) into the README between the
bench-table markers, so the README's table is always a committed run.

usage: readme.py README.md RESULTS_DIR
"""
import re
import sys
from pathlib import Path

BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"
NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)-(\d+)c\.md$")


def main() -> int:
    readme, results = Path(sys.argv[1]), Path(sys.argv[2])
    newest = {}
    for f in sorted(results.glob("*.md")):
        m = NAME.match(f.name)
        if m:
            newest[m.group(2)] = (m.group(1), m.group(3), f)  # sorted: the last date wins
    parts = []
    for kver, (date, cores, f) in sorted(newest.items()):
        parts.append(f"### Latest run on {kver}\n\n{date}, QEMU/TCG with 2 vCPUs on a {cores}-core host "
                     f"(`tests/bench/results/{f.stem}.json`).\n\n{f.read_text().strip()}\n")
    text = readme.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    readme.write_text(text[:start] + "\n" + "\n".join(parts) + "\n" + text[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
