# PKRAM-VM-REBOOT: allow
# A pool is restored only with the token of the kernel that wrote it: a kexec
# told an older token restores nothing, and neither does a warm reset (QEMU
# system reset: RAM is kept, but the firmware boots the original command line,
# which has no token). Both are reported as a stale pool, with the reason.
stage_1() {
	if [[ -f $PKRAM_RESULTS/warm-reset-done ]]; then
		after_warm_reset
	fi
	pk_load_module
	mkdir -p /tmp/s && echo first >/tmp/s/f
	pk_cli save /tmp/s first
	pk_kexec 2 "pkram.handover=$(cat /sys/kernel/pkram/handover)"
}

stage_2() {
	pk_load_module
	pk_expect_eq "restored with the right token" "first:restored" \
		"$(pk_cli ls --json | jq -r '[.nodes[] | "\(.name):\(.state)"] | join(" ")')"
	# This kernel wrote a new token; this command line still has the old one.
	local old
	old=$(grep -o 'pkram\.handover=[^ ]*' /proc/cmdline)
	pk_check "the token changes with every kernel" test "$old" != "pkram.handover=$(cat /sys/kernel/pkram/handover)"
	pk_kexec 3 "$old"
}

stage_3() {
	pk_load_module
	pk_expect_eq "an older token restores nothing" "0" "$(pk_cli status --json | jq '.nodes | length')"
	pk_expect_eq "the stale pool is reported" "true" "$(pk_cli status --json | jq .pool.stale_pool_discarded)"
	pk_check "the kernel log says the token did not match" \
		grep -q 'stale pool discarded: handover token .* does not match' <(dmesg)
	mkdir -p /tmp/s && echo second >/tmp/s/f
	pk_cli save /tmp/s second
	touch "$PKRAM_RESULTS/warm-reset-done"
	sync
	pk_log "warm reset"
	echo b >/proc/sysrq-trigger
	sleep 30
	pk_fail "no reset"
}

after_warm_reset() {
	pk_load_module
	pk_check "the pool survived the reset in RAM and was found stale" \
		grep -q 'stale pool discarded: no handover token was given' <(dmesg)
	pk_expect_eq "nothing is restored after a warm reset" "0" \
		"$(pk_cli status --json | jq '.nodes | length')"
	pk_case stale_pool 2 0 "a kexec told an older token and a warm reset (RAM kept): nothing restored, reported stale"
	pk_pass
}
