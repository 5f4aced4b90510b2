#!/usr/bin/env bash
# Host tests of dashboards/pkram-dash on a snapshot captured in the VM
# (snapshot/: bpftool -j map dump pinned output and pkram-cli status --json):
#   golden   - the terminal frame and the Prometheus export equal the golden files
#   promtool - promtool check metrics accepts the export
#   grafana  - every metric the Grafana dashboard queries is in the export
# usage: check.sh golden|promtool|grafana   (UPDATE=1 rewrites the golden files)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dash=$here/../../dashboards/pkram-dash
snap=$here/snapshot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$dash" --from "$snap" prometheus -o "$tmp/pkram.prom"
case $1 in
golden)
	# The first line carries the time of day.
	"$dash" --from "$snap" top --once | tail -n +2 >"$tmp/top.txt"
	if [[ ${UPDATE:-0} == 1 ]]; then
		cp "$tmp/top.txt" "$here/golden/top.txt"
		cp "$tmp/pkram.prom" "$here/golden/pkram.prom"
	fi
	diff -u "$here/golden/top.txt" "$tmp/top.txt"
	diff -u "$here/golden/pkram.prom" "$tmp/pkram.prom"
	echo "golden outputs match"
	;;
promtool)
	promtool check metrics <"$tmp/pkram.prom"
	echo "promtool accepts the export"
	;;
grafana)
	missing=0
	for metric in $(grep -o 'pkram_[a-z_]*' "$here/../../dashboards/grafana/pkram.json" | sort -u); do
		if ! grep -q "^$metric[{ ]" "$tmp/pkram.prom"; then
			echo "the Grafana dashboard queries $metric, which the export lacks"
			missing=1
		fi
	done
	exit $missing
	;;
*)
	echo "usage: $0 golden|promtool|grafana" >&2
	exit 2
	;;
esac
