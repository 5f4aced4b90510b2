# PKRAM-VM-REBOOT: allow
# A pool is restored only with the token of the kernel that wrote it; any
# other pool is kept untouched (not restored, not written, its pages not
# reused) until the operator decides. A kexec told an older token holds the
# pool: pkram-cli adopt restores it. A warm reset (QEMU system reset: RAM is
# kept, but the firmware boots the original command line, which has no
# token) holds it too, never restoring silently: adopt validates every node
# and verifies the checksummed ones first, so the node whose data was
# damaged meanwhile is refused and the others come back.
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
	pk_expect_eq "the stale pool is held" "true" "$(pk_cli status --json | jq .pool.stale_pool_held)"
	pk_check "the kernel log says the token did not match" \
		grep -q 'stale pool kept untouched: handover token .* does not match' <(dmesg)
	pk_expect_fail "no node can be created while it is held" "a stale pool is held .*pkram-cli adopt" \
		pk_cli create scratch
	pk_check "status says how to decide" bash -c "$PKRAM_BUILD/cli/pkram-cli status | grep -q 'stale pool held untouched: .*pkram-cli adopt'"
	pk_cli adopt | tee /tmp/adopt.txt
	pk_check "adopt brings the node back, unverified (no checksums)" \
		grep -q 'adopted 1 nodes (0 with their data verified against their checksums, 1 unverified), refused 0' /tmp/adopt.txt
	pk_expect_eq "its data is there" first "$(pk_cli cat first f)"
	pk_expect_eq "the pool is ours again" "false" "$(pk_cli status --json | jq .pool.stale_pool_held)"
	pk_expect_exact_accounting "after adopt"
	mkdir -p /tmp/s2 /tmp/s3 && echo second >/tmp/s2/f
	printf 'PKRAM-THIRD-MARKER\n%.0s' {1..500} >/tmp/s3/f
	pk_cli save --checksum /tmp/s2 second
	pk_cli save --checksum /tmp/s3 third
	touch "$PKRAM_RESULTS/warm-reset-done"
	sync
	pk_log "warm reset"
	echo b >/proc/sysrq-trigger
	sleep 30
	pk_fail "no reset"
}

after_warm_reset() {
	# Between the reset and the module: one byte of third's data changes.
	local base=$((0x30000000)) marker
	dd if=/dev/mem of=/tmp/pool.img bs=1M skip=$((base >> 20)) count=256 status=none
	marker=$(grep -obUa -m1 PKRAM-THIRD-MARKER /tmp/pool.img | cut -d: -f1)
	rm /tmp/pool.img
	pk_check "the pool survived the reset in RAM" test -n "$marker"
	printf 'X' | dd of=/dev/mem bs=1 seek=$((base + marker)) conv=notrunc status=none
	pk_load_module
	pk_check "the pool was found stale and kept" \
		grep -q 'stale pool kept untouched: no handover token was given' <(dmesg)
	pk_expect_eq "nothing is restored after a warm reset by itself" "0" \
		"$(pk_cli status --json | jq '.nodes | length')"
	pk_expect_fail "adopt says a node was refused" "adopt: 1 nodes refused \\(the kernel log names each" pk_cli adopt
	pk_check "the damaged node is refused, named, with the reason" \
		grep -q "pkram: node 'third' rejected: its data no longer matches the checksums of its seal" <(dmesg)
	pk_expect_eq "the other nodes come back" "first second" \
		"$(pk_cli ls --json | jq -r '[.nodes[].name] | sort | join(" ")')"
	pk_expect_eq "with their data" "first second" "$(pk_cli cat first f) $(pk_cli cat second f)"
	pk_cli verify second
	pk_expect_exact_accounting "the refused node's pages are free"
	pk_case stale_pool 3 0 "an older token and a warm reset (RAM kept): the pool held untouched, then adopted; a node damaged meanwhile refused"
	pk_pass
}
