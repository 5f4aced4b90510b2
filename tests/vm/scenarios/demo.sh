# The README's demo: the seed's walk-through through pkramfs, a real kexec,
# `ls /pkram/nodes`, and the latency dashboard of the save and restore.
# PKRAM-VM-SUITE: no (tests/demo.sh runs it)
# PKRAM-VM-APPEND: quiet
say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

# pkram-cli's progress bars redraw with \r: only when the host shows this
# console on a terminal (tests/demo.sh says so on the command line).
progress=()
grep -qw pkramtest.host_tty=1 /proc/cmdline || progress=(--no-progress)

start_tracing() {
	"$PKRAM_BUILD/bpf/pkram-trace" >/tmp/trace.txt 2>&1 &
	TRACE_PID=$!
	until grep -q '^Tracing pkram' /tmp/trace.txt; do sleep 0.2; done
}

stop_tracing() {
	sleep 0.5
	kill -INT "$TRACE_PID"
	wait "$TRACE_PID"
}

stage_1() {
	say "Kernel $(uname -r), pool reserved with: $(grep -o 'memmap=[^ ]*' /proc/cmdline)"
	start_tracing
	pk_load_module
	pk_setup_pkramfs
	say "1) mount -t fuse.pkramfs -o pkram=mytmpfs none /mnt   (the seed: mount -t tmpfs -o pkram=mytmpfs)"
	mkdir -p /mnt
	mount -t fuse.pkramfs -o pkram=mytmpfs none /mnt
	say "2) head -c 64M /dev/urandom > /mnt/testfile; md5sum /mnt/testfile"
	head -c 64M /dev/urandom >/mnt/testfile
	md5sum /mnt/testfile | tee "$PKRAM_RESULTS/md5-before"
	say "3) setfattr -n user.pkram.seal -v 1 /mnt   (the seed: mount -o remount,preserve,ro)"
	setfattr -n user.pkram.seal -v 1 /mnt
	umount /mnt
	say "   and a directory tree saved with pkram-cli save /usr/share/doc/bash docs"
	pk_cli save "${progress[@]}" /usr/share/doc/bash docs
	pk_cli status
	stop_tracing
	say "The save's latencies (pkram-dash top, from the pinned maps through bpftool)"
	"$PKRAM_REPO/dashboards/pkram-dash" --cli "$PKRAM_BUILD/cli/pkram-cli" top --once
	say "4-5) pkram-cli kexec --reuse-cmdline --exec   (kexec -s -l with pkram.handover=$(cat /sys/kernel/pkram/handover), then kexec -e)"
	pk_cli_kexec 2
}

stage_2() {
	say "The new kernel: pkram-trace first, then the module restores the sealed nodes"
	start_tracing
	pk_load_module
	dmesg | grep 'pkram:' | tail -n 4
	pk_setup_pkramfs
	mkdir -p /pkram /mnt
	mount -t fuse.pkramfs none /pkram
	say "ls /pkram/nodes"
	ls /pkram/nodes
	ls -l /pkram/nodes/mytmpfs
	say "6-7) mount -t fuse.pkramfs -o pkram=mytmpfs none /mnt; md5sum /mnt/testfile"
	mount -t fuse.pkramfs -o pkram=mytmpfs none /mnt
	md5sum /mnt/testfile | tee "$PKRAM_RESULTS/md5-after"
	pk_expect_eq "md5 after kexec equals md5 before" "$(cat "$PKRAM_RESULTS/md5-before")" \
		"$(cat "$PKRAM_RESULTS/md5-after")"
	umount /mnt
	say "pkram-cli restore -j 4 docs /tmp/docs   (into tmpfs)"
	pk_cli restore "${progress[@]}" -j 4 docs /tmp/docs
	say "pkram-cli free -y docs"
	umount /pkram
	pk_cli free -y docs
	stop_tracing
	say "The restore's latencies (pkram-dash top)"
	"$PKRAM_REPO/dashboards/pkram-dash" --cli "$PKRAM_BUILD/cli/pkram-cli" top --once
	pk_pass
}
