# The README's demo: the seed's walk-through, narrated on the console.
say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

stage_1() {
	say "Kernel $(uname -r): loading pkram.ko with $(pk_cmdline_params | tr '\n' ' ')"
	pk_load_module
	say "A 64 MiB file from /dev/urandom in /mnt"
	mkdir -p /mnt
	mount -t tmpfs none /mnt
	head -c 64M /dev/urandom >/mnt/testfile
	md5sum /mnt/testfile | tee "$PKRAM_RESULTS/md5-before"
	say "pkram-cli save /mnt mytmpfs   (saves the tree into node mytmpfs and seals it)"
	pk_cli save /mnt mytmpfs
	pk_cli status
	say "pkram-cli kexec: load the next kernel with pkram.handover=$(cat /sys/kernel/pkram/handover), then kexec -e"
	pk_cli kexec --kernel "$PKRAM_BUILD/vm/vmlinuz" --initrd "$PKRAM_BUILD/vm/initramfs.cpio.gz" \
		--reuse-cmdline --append pkramtest.stage=2 --dry-run
	# (the harness reads the last pkramtest.stage= word)
	pk_log "kexec into stage 2"
	pk_cli kexec --kernel "$PKRAM_BUILD/vm/vmlinuz" --initrd "$PKRAM_BUILD/vm/initramfs.cpio.gz" \
		--reuse-cmdline --append pkramtest.stage=2 --exec
	pk_fail "kexec returned"
}

stage_2() {
	say "New kernel: loading pkram.ko, which validates and restores sealed nodes"
	pk_load_module
	dmesg | grep 'pkram:' | tail -n 4
	pk_cli status
	say "pkram-cli restore mytmpfs /mnt"
	mkdir -p /mnt
	mount -t tmpfs none /mnt
	pk_cli restore mytmpfs /mnt
	md5sum /mnt/testfile | tee "$PKRAM_RESULTS/md5-after"
	pk_expect_eq "md5 after kexec equals md5 before" "$(cat "$PKRAM_RESULTS/md5-before")" \
		"$(cat "$PKRAM_RESULTS/md5-after")"
	say "pkram-cli free -y mytmpfs   (gives its pages back to the pool)"
	pk_cli free -y mytmpfs
	pk_cli status
	pk_pass
}
