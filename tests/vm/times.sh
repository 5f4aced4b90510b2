#!/usr/bin/env bash
# Prints the wall time the VM scenarios took, per kernel, from the
# summary.json each run-scenario.sh run left in BUILD/vm-results.
set -euo pipefail
build=${1:-build}
find "$build/vm-results" -name summary.json -print0 2>/dev/null | xargs -0 -r cat |
	jq -rs 'group_by(.kernel)[] | "vm time on \(.[0].kernel): \(map(.seconds) | add | floor)s for \(length) scenarios (\(map(select(.verdict != "PASS")) | length) failed)"'
