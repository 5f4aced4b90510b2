#!/usr/bin/env bash
# checkpatch.pl --no-tree on every source file of kmod/ (but format/host/, which
# only the host build uses): no errors, no warnings.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
checkpatch=${1:-$repo/build/checkpatch/checkpatch.pl}
[[ -f $checkpatch ]] || { echo "checkpatch: $checkpatch is missing: run tests/setup.sh" >&2; exit 1; }
cd "$repo"
mapfile -t files < <(git ls-files 'kmod/*.c' 'kmod/*.h' ':!kmod/format/host/*')
perl "$checkpatch" --no-tree -f --terse --show-types "${files[@]}"
