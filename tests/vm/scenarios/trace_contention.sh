# The two locks the seed's restore optimisations attack, measured where the
# wait happens: after a real kexec, pkram-cli restore -j 4 of a sealed tree
# into tmpfs on four vCPUs, traced by pkram-trace. The tree's big file is
# copied in 4 MiB pieces by all four threads at once; with --through-mapping
# their page faults insert its pages into one mapping's i_pages and onto one
# LRU side by side (write(2) would serialize them on the inode's lock); the
# small files add LRU traffic. The spinlock slow-path probe must count waits
# of both the LRU and the page-cache xarray class; the counts are logged,
# with the dashboards' view. A restore through a mapping into a full tmpfs
# fails with ENOSPC and a message (a fault there would be a SIGBUS).
# (Four TCG vCPUs on a two-core host: the stall detectors are told to wait.)
# PKRAM-VM-CORE: yes
# PKRAM-VM-SMP: 4
# PKRAM-VM-APPEND: nowatchdog rcupdate.rcu_cpu_stall_timeout=300
stage_1() {
	pk_load_module
	mkdir -p /tmp/tree/small
	head -c 48M /dev/urandom >/tmp/tree/big
	for i in $(seq 1 96); do head -c 256K /dev/urandom >"/tmp/tree/small/f$i"; done
	pk_cli save -j 4 /tmp/tree tree
	(cd /tmp/tree && find . -type f -exec md5sum {} + | sort -k2) >/tmp/tree.md5
	cp /tmp/tree.md5 "$PKRAM_RESULTS/tree.md5"
	pk_kexec 2 "pkram.handover=$(cat /sys/kernel/pkram/handover)"
}

stage_2() {
	pk_load_module
	pk_trace_start "$PKRAM_RESULTS/trace.txt" -v
	local round
	for round in 1 2 3; do
		mkdir -p "/tmp/restored$round"
		pk_cli restore --no-progress -j 4 --through-mapping tree "/tmp/restored$round"
		(cd "/tmp/restored$round" && find . -type f -exec md5sum {} + | sort -k2) |
			cmp - "$PKRAM_RESULTS/tree.md5" || pk_fail "restore $round differs from the saved tree"
		rm -rf "/tmp/restored$round"
	done
	pk_trace_stop
	cat "$PKRAM_RESULTS/trace.txt"
	grep -q 'cannot probe\|not in the kernel' "$PKRAM_RESULTS/trace.txt" &&
		pk_fail "the spinlock slow path was not probed"
	local locks lru xarray
	locks=$(pk_trace_locks)
	pk_log "${locks//$'\n'/; }"
	lru=$(pk_trace_count spin_contention PKRAM_LOCK_LRU)
	xarray=$(pk_trace_count spin_contention PKRAM_LOCK_XARRAY)
	pk_check "restore threads waited for the LRU lock ($lru waits)" test "$lru" -gt 0
	pk_check "restore threads waited for the page-cache xarray lock ($xarray waits)" test "$xarray" -gt 0
	local dash="$PKRAM_REPO/dashboards/pkram-dash --cli $PKRAM_BUILD/cli/pkram-cli"
	$dash top --once | tee "$PKRAM_RESULTS/dashboard.txt"
	pk_check "the dashboard shows LRU spinlock waits" grep -Eq "^ *lru +$lru " "$PKRAM_RESULTS/dashboard.txt"
	$dash prometheus -o "$PKRAM_RESULTS/pkram.prom"
	pk_check "the Prometheus export has both classes" \
		grep -q "pkram_spinlock_wait_seconds_count{class=\"xarray\"} $xarray" "$PKRAM_RESULTS/pkram.prom"
	$dash snapshot -o "$PKRAM_RESULTS/dash-snapshot"
	mkdir -p /tmp/small
	mount -t tmpfs -o size=16M none /tmp/small
	pk_expect_fail "a restore through a mapping into a full tmpfs" "No space left on device" \
		pk_cli restore --no-progress -j 4 --through-mapping tree /tmp/small
	umount /tmp/small
	pk_pass
}
