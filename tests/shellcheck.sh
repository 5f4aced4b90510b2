#!/usr/bin/env bash
# Runs shellcheck on every shell file of the repository (*.sh, and the scripts
# whose first line names sh or bash): clean, each exception disabled on its
# line with the reason next to it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
command -v shellcheck >/dev/null || { echo "shellcheck: not installed: run tests/setup.sh" >&2; exit 1; }
scripts=() sourced=()
while IFS= read -r f; do
	if head -n1 "$f" | grep -qE '^#!.*\b(ba)?sh\b'; then
		scripts+=("$f")
	elif [[ $f == *.sh ]]; then
		sourced+=("$f") # no #! line: bash that guest-run.sh (or a script) sources
	fi
done < <(git ls-files --cached --others --exclude-standard)
shellcheck -x "${scripts[@]}"
shellcheck -x -s bash "${sourced[@]}"
echo "shellcheck: $((${#scripts[@]} + ${#sourced[@]})) files clean"
