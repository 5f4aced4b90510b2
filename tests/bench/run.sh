#!/usr/bin/env bash
# The benchmark, one command (as root on Debian 12): installs what is missing,
# builds (ci preset, optimized), boots the bench VM (10 GiB guest, a 4.5 GiB
# pool, 1 GiB of emulated pmem) on the kernel asked for, runs trace_overhead
# for the tracing ratio and bench_vmm (VMM restart, 16 GiB guest), writes
# build/bench/KERNEL/{bench.json,bench.md,bench.svg,bench-vmm.json,bench-vmm.md}
# and keeps the result in tests/bench/results/DATE-KERNEL-NCPUc{,-vmm}.{json,md,svg}
# (commit it); the README's table is made from the newest (tests/bench/readme.py).
# usage: run.sh [--kernel default|6.12]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
kernel=default
[[ ${1:-} == --kernel ]] && kernel=${2:?--kernel needs a name}
bash tests/setup.sh
dpkg-query -W -f='${Status}\n' python3-matplotlib 2>/dev/null | grep -q '^install ok installed$' ||
	apt-get install -y -q --no-install-recommends python3-matplotlib
cmake --preset ci >/dev/null
cmake --build --preset ci
tests/vm/run-scenario.sh -b build -k "$kernel" bench
tests/vm/run-scenario.sh -b build -k "$kernel" trace_overhead
tests/vm/run-scenario.sh -b build -k "$kernel" bench_vmm
kver=$(cat "build/vm/$kernel/kver")
# Debian's python, which has Debian's matplotlib.
/usr/bin/python3 tests/bench/report.py build "build/bench/$kver" "$kver"
results=build/vm-results
[[ $kver == "$(cat build/vm/default/kver)" ]] || results+=/$kver
/usr/bin/python3 tests/bench/report_vmm.py "$results/bench_vmm" "build/bench/$kver" "$kver"
name=$(date -u +%Y-%m-%d)-$kver-$(nproc)c
mkdir -p tests/bench/results
for ext in json md svg; do
	cp "build/bench/$kver/bench.$ext" "tests/bench/results/$name.$ext"
done
for ext in json md; do
	cp "build/bench/$kver/bench-vmm.$ext" "tests/bench/results/$name-vmm.$ext"
done
/usr/bin/python3 tests/bench/readme.py README.md tests/bench/results
echo "measured on $kver under QEMU/TCG, $(date -u +%Y-%m-%d): tests/bench/results/$name.json"
