# What pkram-trace costs: save (ingest + seal) and restore of the same tree,
# without and with tracing (every program attached, lock contention too),
# three runs each, medians compared. Measured and reported (JSON), not
# asserted: absolute times under TCG are noise, the ratio is what counts.
# PKRAM-VM-SUITE: no (tests/bench/run.sh runs it: a measurement, not a test)
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

now_ns() { date +%s%N; }

measure() { # LABEL -> "save_ns restore_ns" medians
	local saves=() restores=() t i
	for i in 1 2 3; do
		t=$(now_ns)
		pk_cli save --no-progress -j 2 /tmp/tree "m$1$i" >/dev/null
		saves+=($(($(now_ns) - t)))
		rm -rf /tmp/out
		t=$(now_ns)
		pk_cli restore --no-progress -j 2 "m$1$i" /tmp/out >/dev/null
		restores+=($(($(now_ns) - t)))
		pk_cli free -y "m$1$i" >/dev/null
	done
	echo "$(median3 "${saves[@]}") $(median3 "${restores[@]}")"
}

stage_1() {
	pk_load_module
	mkdir -p /tmp/tree/many
	head -c 24M /dev/urandom >/tmp/tree/big
	for i in $(seq 1 100); do head -c 30000 /dev/urandom >"/tmp/tree/many/f$i"; done
	read -r save_plain restore_plain < <(measure plain)
	"$PKRAM_BUILD/bpf/pkram-trace" >/tmp/trace.txt 2>&1 &
	local pid=$!
	until grep -q '^Tracing pkram' /tmp/trace.txt; do sleep 0.2; done
	read -r save_traced restore_traced < <(measure traced)
	kill -INT "$pid"
	wait "$pid"
	jq -n --argjson sp "$save_plain" --argjson st "$save_traced" \
		--argjson rp "$restore_plain" --argjson rt "$restore_traced" \
		'{save_ns: {plain: $sp, traced: $st, ratio: ($st / $sp)},
		  restore_ns: {plain: $rp, traced: $rt, ratio: ($rt / $rp)}}' \
		| tee "$PKRAM_RESULTS/trace-overhead.json"
	pk_log "tracing overhead: save x$(jq -r '.save_ns.ratio * 1000 | round / 1000' "$PKRAM_RESULTS/trace-overhead.json"), restore x$(jq -r '.restore_ns.ratio * 1000 | round / 1000' "$PKRAM_RESULTS/trace-overhead.json") (goal: under 1.05)"
	pk_check "both ratios were measured" \
		jq -e '.save_ns.ratio > 0 and .restore_ns.ratio > 0' "$PKRAM_RESULTS/trace-overhead.json"
	pk_pass
}
