# Concurrency stress on the real module: tests/guest/stress.cpp runs threads
# that create, write (pwrite, mmap), read back, seal, verify and free nodes
# of their own and race each other on shared nodes, with some going through
# a pkramfs mount, for a fixed time. A sealed bystander node must be
# untouched, nothing may be left behind, and the pool accounting is exact.
# pkram-trace runs throughout, its spinlock slow-path probe included: the
# probe must hold up under this load (panic_on_warn) and count waits.
# PKRAM-VM-TIMEOUT: 400
STRESS_SECONDS=60
STRESS_THREADS=4
STRESS_SEED=20261128

stage_1() {
	pk_load_module
	mkdir -p /tmp/keep /pkram
	head -c 3M /dev/urandom >/tmp/keep/data
	pk_cli save --checksum /tmp/keep keep
	pk_setup_pkramfs
	mount -t fuse.pkramfs none /pkram
	pk_trace_start "$PKRAM_RESULTS/trace.txt"
	local rc=0
	"$PKRAM_BUILD/tests/pkram_stress" mix "$STRESS_SECONDS" "$STRESS_THREADS" "$STRESS_SEED" /pkram \
		>"$PKRAM_RESULTS/stress.json" || rc=$?
	pk_trace_stop
	jq -cM . "$PKRAM_RESULTS/stress.json"
	local locks
	locks=$(pk_trace_locks)
	pk_log "${locks//$'\n'/; }"
	pk_check "the slow-path probe counted spinlock waits" test "$(pk_trace_spin_waits)" -gt 0
	local ops
	ops=$(jq '[.ops[]] | add' "$PKRAM_RESULTS/stress.json")
	pk_case stress "$ops" "$(jq '(.unexpected_errors | length) + .unexpected_dropped + (.mismatches | length)' "$PKRAM_RESULTS/stress.json")" \
		"$STRESS_THREADS threads for ${STRESS_SECONDS}s (ioctl, mmap, pkramfs), seed $STRESS_SEED"
	pk_expect_eq "the stress ends with no unexpected error and no mismatch" 0 "$rc"
	umount /pkram
	pk_expect_eq "only the bystander node is left" keep "$(pk_cli ls --json | jq -r '[.nodes[].name] | join(" ")')"
	pk_cli verify keep
	pk_cli cat keep data | cmp - /tmp/keep/data
	pk_log "ok - the bystander node is intact"
	pk_expect_exact_accounting "after the stress"
	pk_pass
}
