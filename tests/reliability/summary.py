#!/usr/bin/env python3
"""The reliability summary: every case the VM scenarios recorded (pk_case
lines in build/vm-results/NAME/cases.jsonl), with iterations and failures,
printed as a table and written to build/reliability-summary.json. A scenario
that failed, or did not run, counts as a failed case. Exit 1 on any failure.

usage: summary.py BUILD_DIR SCENARIO...
"""
import json
import sys
from pathlib import Path


def main() -> int:
    build = Path(sys.argv[1])
    rows = []
    for scenario in sys.argv[2:]:
        results = build / "vm-results" / scenario
        summary = results / "summary.json"
        verdict = json.loads(summary.read_text())["verdict"] if summary.exists() else "NOT RUN"
        cases = results / "cases.jsonl"
        recorded = [json.loads(line) for line in cases.read_text().splitlines() if line] if cases.exists() else []
        for case in recorded:
            rows.append({"scenario": scenario, **case})
        if verdict != "PASS" or not recorded:
            why = f"scenario {verdict}" if verdict != "PASS" else "scenario recorded no case"
            rows.append({"scenario": scenario, "case": scenario, "iterations": 0, "failures": 1, "detail": why})
    width = max(len(r["case"]) for r in rows)
    swidth = max(len(r["scenario"]) for r in rows)
    print(f"{'case':<{width}}  {'scenario':<{swidth}}  {'iterations':>10}  {'failures':>8}  detail")
    for r in rows:
        print(f"{r['case']:<{width}}  {r['scenario']:<{swidth}}  {r['iterations']:>10}  {r['failures']:>8}  {r['detail']}")
    failures = sum(r["failures"] for r in rows)
    print(f"{len(rows)} cases, {sum(r['iterations'] for r in rows)} iterations, {failures} failures")
    out = build / "reliability-summary.json"
    out.write_text(json.dumps({"cases": rows, "failures": failures}, indent=2) + "\n")
    print(f"written to {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
