# The seed's usage steps 1-7, with pkram's closest equivalents, across a real
# kexec: a 64 MiB file from /dev/urandom keeps its md5. An unsealed node is
# not handed over.
# PKRAM-VM-CORE: yes
SEED_DIR=/mnt

stage_1() {
	pk_load_module
	pk_check "/dev/pkram exists" test -c /dev/pkram
	pk_check "/sys/kernel/pkram/handover exists" test -r /sys/kernel/pkram/handover
	# 1) a tree to preserve (the seed mounts tmpfs with pkram=NAME)
	mkdir -p "$SEED_DIR"
	mount -t tmpfs none "$SEED_DIR"
	# 2) populate a file
	head -c 64M /dev/urandom >"$SEED_DIR/testfile"
	md5sum "$SEED_DIR/testfile" | tee "$PKRAM_RESULTS/md5-before"
	# 3) preserve it: save into node mytmpfs and seal it (remount,preserve,ro)
	pk_cli save "$SEED_DIR" mytmpfs
	# an open node that must not survive
	pk_cli create scratch
	echo "not sealed" | pk_cli put scratch note
	pk_cli status
	# 4) load the next kernel with the handover token, the way the seed does
	kexec -s -l "$PKRAM_VM/vmlinuz" --initrd="$PKRAM_VM/initramfs.cpio.gz" \
		--append="$(sed -e 's/pkram\.handover=[^ ]*//g' -e 's/pkramtest\.stage=[^ ]*//g' /proc/cmdline) pkramtest.stage=2 pkram.handover=$(cat /sys/kernel/pkram/handover)"
	pk_log "kexec into stage 2"
	# 5) boot the new kernel
	sync
	kexec -e
	pk_fail "kexec -e returned"
}

stage_2() {
	pk_load_module
	pk_cli status
	pk_expect_eq "only the sealed node came back" "mytmpfs restored" \
		"$(pk_cli ls | awk 'NR > 1 { print $1, $2 }' | tr '\n' ' ' | sed 's/ $//')"
	# 6) find the node again and rebuild its tree
	umount "$SEED_DIR" 2>/dev/null || true
	mkdir -p "$SEED_DIR"
	mount -t tmpfs none "$SEED_DIR"
	pk_cli restore mytmpfs "$SEED_DIR"
	# 7) use the restored file
	md5sum "$SEED_DIR/testfile" | tee "$PKRAM_RESULTS/md5-after"
	pk_expect_eq "md5 after kexec equals md5 before" "$(cat "$PKRAM_RESULTS/md5-before")" \
		"$(cat "$PKRAM_RESULTS/md5-after")"
	pk_pass
}
