#!/usr/bin/env bash
# Runs the validator fuzzer for a fixed budget, starting from the seed corpus
# (copied: the repository's corpus is not changed). Fails on any crash, leak,
# sanitizer report or trap.
# usage: run.sh FUZZER CORPUS SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work/"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work"
