# Run with the pool at 0x7bc00000, exactly where kexec-tools' kexec_load puts
# the next kernel and initrd in this guest (it plans from /sys/firmware/memmap,
# which lists the pool as free RAM). kexec -s and pkram-cli's guarded
# kexec_load both keep the pool intact; an unguarded kexec -l does not, which
# shows the placement is the dangerous one.
# PKRAM-VM-POOL: 64M$0x7bc00000

check_intact() {
	pk_load_module
	pk_expect_eq "the node is restored" "placed:restored" \
		"$(pk_cli ls --json | jq -r '[.nodes[] | "\(.name):\(.state)"] | join(" ")')"
	pk_check "its data matches the checksums taken at seal" pk_cli verify placed
}

stage_1() {
	pk_load_module
	mkdir -p /tmp/placed
	head -c 48M /dev/urandom >/tmp/placed/data
	pk_cli save --checksum /tmp/placed placed
	pk_expect_eq "the guarded kexec_load keeps segments below the pool" \
		"--mem-max=0x7bbfffff" \
		"$(pk_cli kexec --syscall load --kernel "$PKRAM_VM/vmlinuz" --dry-run | grep -o -- "--mem-max=[0-9a-fx]*")"
	pk_cli_kexec 2 --syscall load
}

stage_2() {
	check_intact
	pk_cli_kexec 3 --syscall file
}

stage_3() {
	check_intact
	# The hazard itself: kexec -l with no placement window.
	pk_kexec_unguarded 4
}

stage_4() {
	pk_load_module
	local restored verified=no
	restored=$(pk_cli status --json | jq .pool.restored_nodes)
	if [[ $restored == 1 ]] && pk_cli verify placed >/dev/null 2>&1; then
		verified=yes
	fi
	pk_log "after an unguarded kexec -l: restored=$restored verified=$verified ($(dmesg | grep -m1 -o 'pkram: .*rejected.*\|pkram: stale.*\|pkram: no previous.*'))"
	pk_check "an unguarded kexec -l damages the pool at this placement" test "$verified" = no
	pk_pass
}

pk_kexec_unguarded() {
	local append
	append=$(pk_next_cmdline "$1" "pkram.handover=$(cat /sys/kernel/pkram/handover)")
	pk_log "kexec into stage $1"
	kexec -l "$PKRAM_VM/vmlinuz" --initrd="$PKRAM_VM/initramfs.cpio.gz" --append="$append"
	sync
	kexec -e
	pk_fail "kexec -e returned"
}
