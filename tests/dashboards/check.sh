#!/usr/bin/env bash
# Host tests of dashboards/pkram-dash on a snapshot captured in the VM
# (snapshot/: bpftool -j map dump pinned output and pkram-cli status --json):
#   golden   - the terminal frame and the Prometheus export equal the golden files
#   promtool - promtool check metrics accepts the export
#   grafana  - every metric the Grafana dashboard queries is in the export
#   report   - the HTML report renders in headless Chromium: a non-blank
#              screenshot, one chart per measured operation, the tables
# usage: check.sh golden|promtool|grafana|report   (UPDATE=1 rewrites the golden files)
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
	while read -r metric; do
		if ! grep -q "^${metric}[{ ]" "$tmp/pkram.prom"; then
			echo "the Grafana dashboard queries $metric, which the export lacks"
			missing=1
		fi
	done < <(grep -o 'pkram_[a-z_]*' "$here/../../dashboards/grafana/pkram.json" | sort -u)
	exit $missing
	;;
report)
	"$dash" --from "$snap" report -o "$tmp/report.html"
	if grep -Eq '(src|href)=' "$tmp/report.html"; then
		echo "the report refers to something outside itself"
		exit 1
	fi
	# shellcheck disable=SC2054 # --window-size takes W,H
	chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
		--disable-background-networking --disable-component-update --disable-sync
		--user-data-dir="$tmp/profile" --window-size=1200,1400)
	timeout 120 "${chrome[@]}" --dump-dom "file://$tmp/report.html" >"$tmp/dom.html" 2>/dev/null
	timeout 120 "${chrome[@]}" --screenshot="$tmp/shot.png" "file://$tmp/report.html" >/dev/null 2>&1
	charts=$(grep -o 'class="latency-chart"' "$tmp/dom.html" | wc -l)
	measured=$(jq '[.[] | select(.formatted.value.count > 0)] | length' "$snap/op_latency.json")
	[[ $charts -eq $measured ]] || { echo "$charts charts for $measured measured operations"; exit 1; }
	grep -q 'id="lock-contention"' "$tmp/dom.html" || { echo "no lock contention table"; exit 1; }
	grep -q 'id="pool"' "$tmp/dom.html" || { echo "no pool usage"; exit 1; }
	python3 "$here/png_colors.py" "$tmp/shot.png" 8
	echo "the report renders: $charts charts, tables, pool usage"
	;;
*)
	echo "usage: $0 golden|promtool|grafana|report" >&2
	exit 2
	;;
esac
