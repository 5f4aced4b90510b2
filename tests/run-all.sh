#!/usr/bin/env bash
# Runs every test: installs what is missing (tests/setup.sh), builds all
# userspace and pkram.ko for every kernel, then runs ctest: host unit tests
# and the VM scenarios, which boot the real Debian kernels in QEMU and kexec
# them: every scenario on the default kernel (6.1) and the core set on 6.12.
# Prints the wall time of each part.
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
# part NAME COMMAND...: runs one part and prints its wall time.
part() {
	local name=$1 t0 status=0
	t0=$(date +%s)
	shift
	"$@" || status=$?
	echo "run-all: $name took $(($(date +%s) - t0))s (exit $status)"
	return "$status"
}
part setup bash tests/setup.sh
rc=0
# The steps of the workflow preset of that name, one by one, each timed.
part configure cmake --preset ci || rc=$?
((rc)) || part build cmake --build --preset ci || rc=$?
((rc)) || part tests ctest --preset "$preset" || rc=$?
tests/vm/times.sh build || true
if ((rc)); then
	echo "run-all: FAILED after $(($(date +%s) - start))s"
	exit "$rc"
fi
echo "run-all: every test passed in $(($(date +%s) - start))s"
