#!/usr/bin/env bash
# Checks every C++ file of the repository (*.cpp, *.hpp) against .clang-format:
# the command that fixes them is `clang-format -i FILE...`. kmod/ is C and
# follows checkpatch.pl (tests/checkpatch.sh) instead.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
command -v clang-format >/dev/null || { echo "clang-format: not installed: run tests/setup.sh" >&2; exit 1; }
files=()
while IFS= read -r f; do
	files+=("$f")
done < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp')
if ! clang-format --dry-run --Werror "${files[@]}"; then
	echo "clang-format: the files above differ from .clang-format: clang-format -i FILE... fixes them" >&2
	exit 1
fi
echo "clang-format: ${#files[@]} files clean"
