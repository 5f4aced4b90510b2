#!/usr/bin/env bash
# checkpatch.pl --no-tree on every source file of kmod/ (but format/host/, which
# only the host build uses): no errors, no warnings. The one exception:
# kmod/pkram_compat.h is where an out-of-tree module must read
# LINUX_VERSION_CODE (once, in PKRAM_KERNEL_SINCE), so that check is off there.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
checkpatch=${1:-$repo/build/checkpatch/checkpatch.pl}
[[ -f $checkpatch ]] || { echo "checkpatch: $checkpatch is missing: run tests/setup.sh" >&2; exit 1; }
cd "$repo"
mapfile -t files < <(git ls-files --cached --others --exclude-standard 'kmod/*.c' 'kmod/*.h' \
	':!kmod/format/host/*' ':!kmod/pkram_compat.h')
perl "$checkpatch" --no-tree -f --terse --show-types "${files[@]}"
perl "$checkpatch" --no-tree -f --terse --show-types --ignore LINUX_VERSION_CODE kmod/pkram_compat.h
