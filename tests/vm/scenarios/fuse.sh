# pkramfs against the real module across a real kexec: the seed's tmpfs flow
# through mount -t fuse.pkramfs -o pkram=NAME, the all-nodes tree
# (ls /pkram/nodes), system-call coverage on a writable node, and a daemon
# killed mid-write losing nothing that was written.
# PKRAM-VM-CORE: yes
# PKRAM-VM-TIMEOUT: 600
setup_fuse() {
	pk_setup_pkramfs
	mkdir -p /pkram /mnt
}

files_md5() { # DIR
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum)
}

stage_1() {
	pk_load_module
	setup_fuse
	# The seed, steps 1-3, with pkramfs in place of tmpfs.
	mount -t fuse.pkramfs -o pkram=mytmpfs none /mnt
	head -c 64M /dev/urandom >/mnt/testfile
	md5sum /mnt/testfile | awk '{print $1}' | tee "$PKRAM_RESULTS/seed-md5"
	setfattr -n user.pkram.seal -v 1 /mnt
	pk_expect_eq "sealed from the mount" "sealed" "$(getfattr --only-values -n user.pkram.state /mnt)"
	pk_expect_fail "a sealed node is read-only" "Read-only file system" touch /mnt/more
	umount /mnt

	# The all-nodes tree, open to other users (the POSIX tests run some as uid 1000).
	mount -t fuse.pkramfs -o allow_other none /pkram
	# A cold read is one round trip per readahead window: pkramfs widens it
	# from the kernel's 128 KiB (the mount's bdi is found by its path, which
	# /proc/self/mountinfo escapes: one with a space too).
	pk_expect_eq "pkramfs widens the readahead" 4096 "$(cat "/sys/class/bdi/$(mountpoint -d /pkram)/read_ahead_kb")"
	mkdir -p "/tmp/read ahead"
	mount -t fuse.pkramfs none "/tmp/read ahead"
	pk_expect_eq "and at a path with a space" 4096 "$(cat "/sys/class/bdi/$(mountpoint -d "/tmp/read ahead")/read_ahead_kb")"
	umount "/tmp/read ahead"
	# shellcheck disable=SC2012 # what ls shows is what is tested
	pk_expect_eq "ls /pkram" "nodes status" "$(ls /pkram | tr '\n' ' ' | sed 's/ $//')"
	mkdir /pkram/nodes/work
	pk_expect_eq "mkdir creates an open node" "open" "$(pk_cli info work --json | jq -r .state)"
	PKRAMFS_DIR=/pkram/nodes/work "$PKRAM_BUILD/tests/pkramfs_guest_tests" \
		--gtest_output="xml:$PKRAM_RESULTS/pkramfs_test.xml" || pk_fail "pkramfs_guest_tests failed"
	# A hard link made through the mount, to find again after the kexec.
	mkdir /pkram/nodes/work/links
	echo linked >/pkram/nodes/work/links/a
	ln /pkram/nodes/work/links/a /pkram/nodes/work/links/b
	# And a path of 3,000 bytes (object names were limited to 1,023).
	local deep=/pkram/nodes/work/deep
	for _ in $(seq 12); do deep+=/$(printf 'd%.0s' $(seq 249)); done
	mkdir -p "$deep"
	echo "a deep file" >"$deep/file"
	local below=${deep#/pkram/nodes/work/}/file
	pk_expect_eq "the deep file's path below the node, in bytes" 3009 "${#below}"
	pk_expect_eq "status is readable" "mytmpfs work" \
		"$(jq -r '[.nodes[].name] | join(" ")' /pkram/status)"
	setfattr -n user.pkram.seal -v checksum /pkram/nodes/work
	pk_check "sealed with checksums from the mount" pk_cli verify work
	files_md5 /pkram/nodes >"$PKRAM_RESULTS/nodes-md5"
	umount /pkram

	# A daemon killed mid-write: what reached the node stays, nothing breaks.
	# (Synchronous writes: through the writeback cache, a cp of this size is
	# in the page cache before the kill and reaches the node at close.)
	head -c 40M /dev/urandom >/tmp/source
	pkramfs -o pkram=killme none /mnt
	(dd if=/tmp/source of=/mnt/partial bs=256K oflag=sync status=none 2>/dev/null || true) &
	sleep 1
	pkill -9 -x pkramfs
	wait || true
	umount -l /mnt
	pkramfs -o pkram=killme none /mnt
	local got
	got=$(stat -c %s /mnt/partial)
	pk_log "after the kill, $got of 41943040 bytes had reached the node"
	pk_check "the node holds an exact prefix of what was written" \
		cmp -n "$got" /tmp/source /mnt/partial
	cp /tmp/source /mnt/partial
	pk_check "and takes writes again" cmp /tmp/source /mnt/partial
	# And killed mid-read: the reader gets an error, the data is untouched.
	local sum
	sum=$(md5sum </tmp/source)
	(md5sum /mnt/partial >/dev/null 2>&1 || true) &
	sleep 0.3
	pkill -9 -x pkramfs
	wait || true
	umount -l /mnt
	pkramfs -o pkram=killme none /mnt
	pk_expect_eq "after a kill mid-read the data is intact" "$sum" "$(md5sum </mnt/partial)"
	umount /mnt
	pk_expect_eq "the killed daemon's node is still open and listed" "open" \
		"$(pk_cli info killme --json | jq -r .state)"
	# fstab: "none /pkram fuse.pkramfs defaults 0 0" and a plain mount.
	echo "none /pkram fuse.pkramfs defaults 0 0" >>/etc/fstab
	mount /pkram
	pk_check "mounted from /etc/fstab" test -d /pkram/nodes/killme
	umount /pkram

	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	setup_fuse
	mount -t fuse.pkramfs none /pkram
	ls /pkram/nodes
	# shellcheck disable=SC2012 # what ls shows is what is tested
	pk_expect_eq "ls /pkram/nodes lists exactly the restored nodes" "mytmpfs work" \
		"$(ls /pkram/nodes | tr '\n' ' ' | sed 's/ $//')"
	pk_expect_eq "every file's md5 equals the original" "$(cat "$PKRAM_RESULTS/nodes-md5")" \
		"$(files_md5 /pkram/nodes)"
	pk_expect_fail "restored nodes are read-only" "Read-only file system" touch /pkram/nodes/work/x
	pk_expect_eq "the hard link is one file with two names after the kexec" "2 $(stat -c %i /pkram/nodes/work/links/a)" \
		"$(stat -c '%h %i' /pkram/nodes/work/links/b)"
	umount /pkram
	pk_cli restore --no-progress work /tmp/work
	pk_expect_eq "pkram-cli restore makes it a hard link" "2 $(stat -c %i /tmp/work/links/a)" \
		"$(stat -c '%h %i' /tmp/work/links/b)"
	pk_expect_eq "pkram-cli restore brings the 3,009-byte path back" "a deep file" \
		"$(cat /tmp/work/deep/*/*/*/*/*/*/*/*/*/*/*/*/file)"
	# The seed, steps 6-7.
	mount -t fuse.pkramfs -o pkram=mytmpfs none /mnt
	pk_expect_eq "the seed's file has its md5 after kexec" "$(cat "$PKRAM_RESULTS/seed-md5")" \
		"$(md5sum /mnt/testfile | awk '{print $1}')"
	umount /mnt
	pk_case fuse_daemon_killed 2 0 "pkramfs killed with SIGKILL mid-write (an exact prefix kept) and mid-read (data intact), remounted"
	pk_pass
}
