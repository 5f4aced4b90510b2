# PKRAM-VM-APPEND: crashkernel=256M
# PKRAM-VM-CRASH-UNTIL: PKRAM-VM: stage 2
# A kdump kernel never touches the pool: the module refuses to load there, so
# the crashed kernel's nodes stay as they were for the next real boot.
stage_1() {
	pk_load_module
	mkdir -p /tmp/k && echo crash >/tmp/k/f
	pk_cli save /tmp/k beforecrash
	kexec -s -p "$PKRAM_VM/vmlinuz" --initrd="$PKRAM_VM/initramfs.cpio.gz" \
		--append="$(pk_next_cmdline 2 "pkram.handover=$(cat /sys/kernel/pkram/handover)") irqpoll nr_cpus=1 reset_devices"
	pk_log "crashing into the kdump kernel"
	sync
	echo c >/proc/sysrq-trigger
	pk_fail "no crash"
}

stage_2() {
	pk_check "this is the kdump kernel" test -e /proc/vmcore
	pk_expect_fail "loading pkram is refused" "" pk_load_module
	pk_check "the kernel log says why" grep -q 'pkram: not touching the pool in a kdump kernel' <(dmesg)
	pk_check "no /dev/pkram" bash -c '! test -e /dev/pkram'
	pk_case kdump 1 0 "a kdump kernel refuses to touch the pool"
	pk_pass
}
