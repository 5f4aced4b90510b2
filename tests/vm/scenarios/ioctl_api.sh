# The GoogleTest suite for the ioctl ABI, run in the guest against the real
# module, with the pkram:* tracepoints recording.
# PKRAM-VM-CORE: yes
stage_1() {
	pk_load_module
	local tracing=/sys/kernel/tracing
	pk_check "pkram tracepoints are registered" test -d "$tracing/events/pkram"
	echo 1 >"$tracing/events/pkram/enable"
	"$PKRAM_BUILD/tests/pkram_guest_tests" --gtest_output="xml:$PKRAM_RESULTS/ioctl_test.xml" ||
		pk_fail "pkram_guest_tests failed"
	echo 0 >"$tracing/events/pkram/enable"
	cp "$tracing/trace" "$PKRAM_RESULTS/trace.txt"
	for event in pkram_seal pkram_free pkram_obj_write pkram_obj_read; do
		pk_check "tracepoint $event fired with node, bytes and duration" \
			grep -Eq "$event: node=[^ ]+ bytes=[0-9]+ duration_ns=[0-9]+ ret=" "$PKRAM_RESULTS/trace.txt"
	done
	pk_check "a full pool shows in the trace as ENOSPC" grep -q 'pkram_obj_write: .* ret=-28' "$PKRAM_RESULTS/trace.txt"
	pk_check "the module unloads cleanly afterwards" rmmod pkram
	pk_case ioctl_api "$(grep -o 'tests="[0-9]*"' "$PKRAM_RESULTS/ioctl_test.xml" | head -1 | tr -dc 0-9)" 0 \
		"GoogleTest ABI suite: bad sizes, flags, names, a full pool (ENOSPC), non-root denied, mmap bounds (SIGBUS)"
	pk_pass
}
