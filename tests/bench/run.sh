#!/usr/bin/env bash
# The benchmark, one command (as root on Debian 12): installs what is missing,
# builds (ci preset, optimized), boots the bench VM (10 GiB guest, a 4.5 GiB
# pool, 1 GiB of emulated pmem), runs trace_overhead for the tracing ratio,
# and writes build/bench/{bench.json,bench.md,bench.svg}.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
bash tests/setup.sh
dpkg-query -W -f='${Status}\n' python3-matplotlib 2>/dev/null | grep -q '^install ok installed$' ||
	apt-get install -y -q --no-install-recommends python3-matplotlib
cmake --preset ci >/dev/null
cmake --build --preset ci
tests/vm/run-scenario.sh -b build bench
tests/vm/run-scenario.sh -b build trace_overhead
# Debian's python, which has Debian's matplotlib.
/usr/bin/python3 tests/bench/report.py build build/bench
echo "measured on $(cat build/vm/default/kver) under QEMU/TCG, $(date -u +%Y-%m-%d)"
