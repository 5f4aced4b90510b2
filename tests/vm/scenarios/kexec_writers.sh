# A kexec while writers are active: open nodes being written through pwrite,
# a shared mapping and a pkramfs mount when kexec -e happens, and two
# committers rewriting the superblock as fast as they can (a seal and a free
# per node), so the kexec lands in a commit. The next kernel finds the pool
# (a commit torn by the kexec leaves the previous one whole), drops the
# unsealed nodes cleanly (no warning, their pages free), restores whatever
# committer node the last complete commit listed, and the node sealed before
# the writers started is intact.

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
	for w in c1 c2; do
		"$PKRAM_BUILD/tests/pkram_stress" committer "$w-" >"/tmp/$w.out" 2>&1 &
	done
	pk_setup_pkramfs
	mount -t fuse.pkramfs none /pkram
	mkdir /pkram/nodes/viafuse
	(while :; do head -c 1M /dev/urandom >>/pkram/nodes/viafuse/grow || exit; done) &
	for w in w1 w2 c1 c2; do
		for _ in $(seq 100); do grep -q 'writing\|committing' "/tmp/$w.out" && break; sleep 0.2; done
		pk_check "writer $w is at work" grep -q 'writing\|committing' "/tmp/$w.out"
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
	dmesg | grep 'pkram:' || true
	pk_check "the pool was found whole" grep -q 'pkram: restored [0-9]* nodes, rejected 0' <(dmesg)
	pk_expect_eq "the sealed node and at most a committer node each came back" sealed \
		"$(pk_cli ls --json | jq -r '[.nodes[].name | select(test("^c[12]-[0-9]+$") | not)] | join(" ")')"
	pk_check "at most one node per committer" \
		test "$(pk_cli ls --json | jq '[.nodes[].name | select(test("^c[12]-"))] | length')" -le 4
	pk_cli verify sealed
	pk_expect_eq "the sealed node is intact" "$(cat "$PKRAM_RESULTS/md5-sealed")" \
		"$(pk_cli cat sealed data | md5sum)"
	pk_expect_exact_accounting "the writers' pages are free"
	pk_case kexec_writers 1 0 "kexec -e during pwrite, mmap and pkramfs writers: unsealed dropped, sealed intact"
	pk_pass
}
