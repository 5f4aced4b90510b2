# A kexec while writers are active: open nodes being written through pwrite,
# a shared mapping and a pkramfs mount when kexec -e happens. The next
# kernel drops the unsealed nodes cleanly (no warning, their pages free) and
# the sealed ones, sealed before the writers started, are intact.

stage_1() {
	pk_load_module
	mkdir -p /tmp/sealed /pkram
	head -c 16M /dev/urandom >/tmp/sealed/data
	pk_cli save --checksum /tmp/sealed sealed
	md5sum </tmp/sealed/data >"$PKRAM_RESULTS/md5-sealed"
	local w
	for w in w1 w2; do
		"$PKRAM_BUILD/tests/pkram_stress" writer "$w" >"/tmp/$w.out" 2>&1 &
	done
	pk_setup_pkramfs
	mount -t fuse.pkramfs none /pkram
	mkdir /pkram/nodes/viafuse
	(while :; do head -c 1M /dev/urandom >>/pkram/nodes/viafuse/grow || exit; done) &
	for w in w1 w2; do
		for _ in $(seq 100); do grep -q writing "/tmp/$w.out" && break; sleep 0.2; done
		pk_check "writer $w is writing" grep -q writing "/tmp/$w.out"
	done
	sleep 1
	pk_check "the pkramfs writer is writing" test -s /pkram/nodes/viafuse/grow
	pk_cli ls
	pk_log "kexec with the writers running"
	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	pk_cli status
	pk_expect_eq "only the sealed node came back" sealed \
		"$(pk_cli ls --json | jq -r '[.nodes[].name] | join(" ")')"
	pk_check "the kernel dropped the unsealed nodes" grep -q 'pkram: .*restored 1 node' <(dmesg)
	pk_cli verify sealed
	pk_expect_eq "the sealed node is intact" "$(cat "$PKRAM_RESULTS/md5-sealed")" \
		"$(pk_cli cat sealed data | md5sum)"
	pk_expect_exact_accounting "the writers' pages are free"
	pk_case kexec_writers 1 0 "kexec -e during pwrite, mmap and pkramfs writers: unsealed dropped, sealed intact"
	pk_pass
}
