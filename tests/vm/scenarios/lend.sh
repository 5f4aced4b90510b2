# Free pool memory lent to the system (pkram-cli lend / reclaim): MemTotal
# grows by what is lent, the system fills it (a tmpfs file, an anonymous
# buffer), and a node write that needs the room takes blocks back, the kernel
# migrating the system's pages out, checksummed before and after. A reclaim
# that cannot finish in time fails the write with ENOSPC and loses nothing.
# Sealed nodes survive a kexec made while memory is lent, and kexec -s places
# no segment in lent memory. Then the pool is shrunk for the next kernel
# around the nodes (never below them), and grown back.
# PKRAM-VM-MEM: 4G
# PKRAM-VM-POOL: 1G$0x100000000
# PKRAM-VM-CORE: yes
POOL_BASE=$((0x100000000))
POOL_BYTES=$((1 << 30))

meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
pool() { pk_cli status --json | jq -r ".pool.$1"; }
movable_free_mib() {
	awk '/^Node/ { z = ($4 == "Movable") } z && $1 == "pages" && $2 == "free" { print int($3 * 4 / 1024) }' /proc/zoneinfo
}

# The pool's memory blocks that are online, each "N:ZONES", one per line.
online_pool_blocks() {
	local size n
	size=$((16#$(cat /sys/devices/system/memory/block_size_bytes)))
	for ((n = POOL_BASE / size; n < (POOL_BASE + POOL_BYTES) / size; n++)); do
		local d=/sys/devices/system/memory/memory$n
		[[ -e $d/state && $(cat "$d/state") == online ]] && echo "$n:$(cat "$d/valid_zones")"
	done
	return 0
}

# outside_pool "START END" lines: every range misses the pool (and there
# are the kernel, initrd and boot-parameter segments at least).
outside_pool() {
	local start end n=0
	while read -r start end; do
		((start < POOL_BASE + POOL_BYTES && end > POOL_BASE)) && return 1
		n=$((n + 1))
	done <<<"$1"
	((n >= 3))
}

# An anonymous buffer of 128 MiB in a process that hashes it when asked.
start_anon_buffer() {
	python3 -c '
import hashlib, os, time
buf = bytearray(os.urandom(1 << 20)) * 128
open("/tmp/anon.before", "w").write(hashlib.md5(buf).hexdigest())
while not os.path.exists("/tmp/anon.check"):
    time.sleep(0.2)
open("/tmp/anon.after", "w").write(hashlib.md5(buf).hexdigest())
' &
	while [[ ! -s /tmp/anon.before ]]; do sleep 0.2; done
}

# check_restored MIB: both nodes back, with their data, in a pool of MIB.
check_restored() {
	pk_expect_eq "the pool is $1 MiB" $(($1 << 20)) "$(pool bytes)"
	pk_expect_eq "both nodes are restored" "grow:restored keep:restored" \
		"$(pk_cli ls --json | jq -r '[.nodes[] | "\(.name):\(.state)"] | sort | join(" ")')"
	pk_check "keep's data matches its checksums" pk_cli verify keep
	pk_expect_eq "grow has its data" "$(cat "$PKRAM_RESULTS/grow.md5")" "$(pk_cli cat grow data | md5sum)"
}

stage_1() {
	pk_load_module
	pk_expect_eq "lending works in memory blocks (128 MiB here)" $((128 << 20)) "$(pool lend_block_bytes)"
	mkdir -p /tmp/keep
	head -c 64M /dev/urandom >/tmp/keep/data
	pk_cli save --checksum /tmp/keep keep >/dev/null

	local total0 lent
	total0=$(meminfo_kb MemTotal)
	pk_cli lend --keep 128M
	lent=$(pool lent_bytes)
	pk_check "all but the kept 128 MiB and the used block are lent ($lent bytes)" test "$lent" -eq $((6 * 128 << 20))
	pk_expect_eq "MemTotal grew by what was lent" $((total0 + lent / 1024)) "$(meminfo_kb MemTotal)"
	pk_expect_eq "/proc/iomem shows driver-managed RAM in the pool" 6 "$(grep -c 'System RAM (pkram)' /proc/iomem)"
	pk_expect_eq "every lent block is online and movable" "$((lent >> 27))" \
		"$(online_pool_blocks | grep -c ':Movable$')"
	pk_expect_eq "free is what is not used or lent" $((POOL_BYTES - lent - $(pool used_bytes))) "$(pool free_bytes)"
	pk_expect_fail "the module stays loaded while memory is lent" "in use" rmmod pkram

	# The system fills the lent memory: movable allocations try ZONE_MOVABLE first.
	start_anon_buffer
	mkdir -p /mnt/sys
	mount -t tmpfs -o size=3G none /mnt/sys
	head -c $((lent - (160 << 20))) /dev/urandom >/mnt/sys/fill
	local sum
	sum=$(md5sum </mnt/sys/fill)
	pk_check "the system's pages fill the lent memory ($(movable_free_mib) MiB of it free)" \
		test "$(movable_free_mib)" -lt 128

	# Taking a block back cannot finish in 1 ms: the write fails, nothing moves.
	local free
	free=$(pool free_bytes)
	echo 1 >/sys/module/pkram/parameters/reclaim_timeout_ms
	pk_cli create toobig
	pk_expect_fail "a write past the unlent free memory fails when reclaim times out" \
		"No space left" bash -c "head -c $((free + (64 << 20))) /dev/zero | $PKRAM_BUILD/cli/pkram-cli put toobig data"
	pk_cli free -y toobig
	pk_check "the kernel log says why" bash -c "dmesg | grep -q 'takes over 1 ms: given up'"
	pk_expect_eq "the block stays lent" "$lent" "$(pool lent_bytes)"
	pk_expect_eq "the tmpfs file is intact" "$sum" "$(md5sum </mnt/sys/fill)"

	# With time, the same write takes blocks back and the system keeps its data.
	echo 10000 >/sys/module/pkram/parameters/reclaim_timeout_ms
	head -c 384M /dev/urandom >/tmp/grow
	md5sum </tmp/grow >"$PKRAM_RESULTS/grow.md5"
	pk_cli create grow
	pk_cli put grow data </tmp/grow
	pk_cli seal grow
	pk_expect_eq "the node has its data" "$(cat "$PKRAM_RESULTS/grow.md5")" "$(pk_cli cat grow data | md5sum)"
	local after
	after=$(pool lent_bytes)
	pk_check "blocks came back ($after bytes still lent)" test "$after" -lt "$lent"
	pk_expect_eq "MemTotal shrank by what came back" $((total0 + after / 1024)) "$(meminfo_kb MemTotal)"
	pk_expect_eq "the tmpfs file survived the migration" "$sum" "$(md5sum </mnt/sys/fill)"
	touch /tmp/anon.check
	wait
	pk_expect_eq "the anonymous buffer survived the migration" "$(cat /tmp/anon.before)" "$(cat /tmp/anon.after)"
	pk_check "the sealed node was never touched" pk_cli verify keep

	# A kexec while memory is lent: kexec_file_load keeps its segments out
	# of driver-managed RAM (the kernel log says where it put them).
	rm /mnt/sys/fill
	local segments
	segments=$("$PKRAM_REPO/tests/guest/kexec_segments.py" "$PKRAM_VM/vmlinuz" \
		"$PKRAM_VM/initramfs.cpio.gz" "$(pk_next_cmdline 2)")
	pk_log "kexec_file_load segments: $(tr '\n' ' ' <<<"$segments")"
	pk_check "no kexec segment lies in the pool, lent or not" outside_pool "$segments"
	pk_cli_kexec 2 --syscall file
}

stage_2() {
	pk_load_module
	check_restored 1024
	pk_expect_eq "nothing is lent in the new kernel" 0 "$(pool lent_bytes)"

	# Lend again, then take everything back by hand.
	pk_cli lend --keep 0
	pk_check "lent again" test "$(pool lent_bytes)" -gt 0
	pk_cli reclaim
	pk_expect_eq "pkram-cli reclaim takes all of it back" 0 "$(pool lent_bytes)"
	pk_expect_eq "no driver-managed RAM is left" 0 "$(grep -c 'System RAM (pkram)' /proc/iomem || true)"
	local token
	token=$(cat /sys/kernel/pkram/handover)
	pk_check "the module unloads once nothing is lent" rmmod pkram
	pk_load_module "handover=$token"

	# The next kernel's pool, shrunk around the nodes: never below the data.
	pk_expect_fail "a pool too small for the nodes is refused" \
		"nodes lie up to [0-9]+M from the pool's base, and data never moves" \
		pk_cli kexec --kernel "$PKRAM_VM/vmlinuz" --pool-size 256M
	pk_expect_fail "growing needs kexec_load's window" "growing the pool needs --syscall load" \
		pk_cli kexec --kernel "$PKRAM_VM/vmlinuz" --pool-size 2G
	pk_cli_kexec 3 --pool-size 768M
}

# Restored in a 768 MiB pool; then grown back to 1 GiB (kexec_load, its
# segments kept out of the grown pool).
stage_3() {
	pk_check "this kernel's pool is 768 MiB" grep -qF "memmap=768M\$0x100000000 pkram.pool=768M@0x100000000" /proc/cmdline
	pk_load_module
	check_restored 768
	pk_expect_fail "a pool cannot grow past the RAM it grows into" "is not all System RAM" \
		pk_cli kexec --kernel "$PKRAM_VM/vmlinuz" --syscall load --pool-size 2G
	# For cold boots: the same base's words, and the size recorded.
	local words
	words=$(pk_cli setup --size 1G --resize)
	pk_check "setup --resize prints the pool's words at its base" \
		grep -qF "memmap=1G\$0x100000000 pkram.pool=1G@0x100000000" <<<"$words"
	pk_expect_eq "and records the size" $((1 << 30)) "$(pool next_pool_bytes)"
	pk_cli_kexec 4 --syscall load --pool-size 1G
}

stage_4() {
	pk_load_module
	check_restored 1024
	pk_pass
}
