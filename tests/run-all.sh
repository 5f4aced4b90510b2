#!/usr/bin/env bash
# Runs every test: installs what is missing (tests/setup.sh), builds all
# userspace and pkram.ko for every kernel, then runs ctest: host unit tests
# and the VM scenarios, which boot the real Debian kernels in QEMU and kexec
# them: every scenario on the default kernel (6.1) and the core set on 6.12.
# Exits non-zero when anything fails.
# usage: run-all.sh [--all-kernels]   (every scenario on every booted kernel)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
preset=ci
case ${1:-} in
'') ;;
--all-kernels) preset=all-kernels ;;
*) echo "usage: $0 [--all-kernels]" >&2; exit 2 ;;
esac
start=$(date +%s)
bash tests/setup.sh
echo "run-all: setup took $(($(date +%s) - start))s"
rc=0
cmake --workflow --preset "$preset" || rc=$?
tests/vm/times.sh build || true
if ((rc)); then
	echo "run-all: FAILED after $(($(date +%s) - start))s"
	exit "$rc"
fi
echo "run-all: every test passed in $(($(date +%s) - start))s"
