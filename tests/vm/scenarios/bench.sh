# The benchmark (not a test; tests/bench/run.sh runs it and writes the report).
# Every probe prints one JSON line into bench.jsonl; the report turns them
# into ratios to the memcpy bandwidth measured here, in the same guest run.
# PKRAM-VM-SUITE: no (tests/bench/run.sh runs it)
# PKRAM-VM-MEM: 10G
# PKRAM-VM-POOL: 4608M$0x100000000
# PKRAM-VM-APPEND: memmap=1G!0x220000000
# PKRAM-VM-TIMEOUT: 3000
# shellcheck source=SCRIPTDIR/../bench-lib.sh
source "$PKRAM_REPO/tests/vm/bench-lib.sh"
SIZES_MIB="16 64 256 1024 4096"
FUSE_MIB=256
POOL_BASE=0x100000000
PEER_MIB=512

bench() { "$PKRAM_BUILD/tests/pkram_bench" "$@"; }
rec() { tee -a "$PKRAM_RESULTS/bench.jsonl"; }
smaller() { awk -v a="$1" -v b="$2" 'BEGIN { print (b < a ? b : a) }'; }

# Module load with the token: the restore path of a new kernel (validation
# of every node) without a kexec per size, three times, keeping the quickest
# (as the memcpy unit does). Sets LOAD_WALL (insmod, seconds) and
# LOAD_KERNEL (the restore as the module measured it, seconds).
reload() { reload_pool ""; }

# reload_pool POOL: the same with pool=POOL ("": the command line's).
reload_pool() {
	local token t0 t1 wall kernel
	LOAD_WALL=1e9 LOAD_KERNEL=1e9
	for _ in 1 2 3; do
		token=$(cat /sys/kernel/pkram/handover)
		rmmod pkram
		t0=$(now_ns)
		pk_load_module "handover=$token" ${1:+"pool=$1"}
		t1=$(now_ns)
		wall=$(seconds_between "$t0" "$t1")
		kernel=$(dmesg | sed -n 's/.*pkram: restored .* in \([0-9]*\) us$/\1/p' | tail -1 |
			awk '{ printf "%.6f", $1 / 1e6 }')
		LOAD_WALL=$(smaller "$LOAD_WALL" "$wall")
		LOAD_KERNEL=$(smaller "$LOAD_KERNEL" "$kernel")
	done
}

# fuse_probe OP HOW COMMAND...: times COMMAND (words eval'd, for redirections).
fuse_probe() {
	local op=$1 how=$2 t0 t1
	shift 2
	t0=$(now_ns)
	eval "$*"
	t1=$(now_ns)
	echo "{\"probe\":\"fuse\",\"op\":\"$op\",\"how\":\"$how\",\"bytes\":$((FUSE_MIB << 20)),\"seconds\":$(seconds_between "$t0" "$t1")}" | rec
}

meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
pool_field() { pk_cli status --json | jq ".pool.$1"; }

# Lending: what the system gains while the pool idles (every free block
# lent), and taking back 1 GiB that the system filled (a tmpfs file; movable
# allocations try ZONE_MOVABLE, the lent blocks, first): the kernel migrates
# it out, then the blocks get their struct pages back.
lend_probe() {
	local total0 gained lent t0 t1 free filled movable_free
	total0=$(meminfo_kb MemTotal)
	pk_cli lend --keep 0 >/dev/null
	gained=$((($(meminfo_kb MemTotal) - total0) * 1024))
	lent=$(pool_field lent_bytes)
	pk_cli reclaim >/dev/null
	free=$(pool_field free_bytes)
	pk_cli lend --keep $((free - (1 << 30))) >/dev/null
	mkdir -p /mnt/lent
	mount -t tmpfs -o size=2G none /mnt/lent
	filled=$(((1 << 30) - (64 << 20)))
	head -c "$filled" /dev/urandom >/mnt/lent/fill
	movable_free=$(awk '/^Node/ { z = ($4 == "Movable") } z && $1 == "pages" && $2 == "free" { print $3 * 4096 }' /proc/zoneinfo)
	t0=$(now_ns)
	pk_cli reclaim >/dev/null
	t1=$(now_ns)
	echo "{\"probe\":\"lend\",\"pool_bytes\":$(pool_field bytes),\"idle_lent_bytes\":$lent,\"idle_memtotal_gain_bytes\":$gained,\"reclaim_bytes\":$((1 << 30)),\"filled_bytes\":$filled,\"movable_free_bytes\":$movable_free,\"reclaim_seconds\":$(seconds_between "$t0" "$t1")}" | rec
	rm /mnt/lent/fill
	umount /mnt/lent
}

stage_1() {
	pk_load_module
	: >"$PKRAM_RESULTS/bench.jsonl"
	bench memcpy 256 | rec
	# The kernel copy ceiling: the same writes, reads and faults on tmpfs.
	bench tmpfs /tmp 1024 | rec
	# The fixed cost of a module load (empty pool), to read the others against.
	reload
	echo "{\"probe\":\"load_empty\",\"seconds\":$LOAD_WALL}" | rec
	# And of an empty node: its seal, and its restore.
	bench fill empty 0 contiguous | jq -c '.probe = "empty_node"' | rec
	reload
	echo "{\"probe\":\"empty_node_restore\",\"kernel_restore_seconds\":$LOAD_KERNEL}" | rec
	pk_cli free -y empty >/dev/null
	local layout mib before after
	for layout in contiguous fragmented; do
		for mib in $SIZES_MIB; do
			bench fill n "$mib" "$layout" | rec
			before=$(bench read n | jq .checksum)
			reload
			bench read n >/tmp/read.json
			after=$(jq .checksum /tmp/read.json)
			pk_expect_eq "$layout $mib MiB: the same data after the reload" "$before" "$after"
			jq -cM --arg layout "$layout" --argjson wall "$LOAD_WALL" --argjson kernel "$LOAD_KERNEL" \
				'{probe: "restore", layout: $layout, bytes, load_seconds: $wall, kernel_restore_seconds: $kernel, read_seconds: .seconds}' \
				/tmp/read.json | rec
			pk_cli free -y n >/dev/null
		done
	done

	# Restore of the same node in a pool of 1 GiB and of 4.5 GiB: what the
	# pool's size adds (the 1 GiB pool is the start of the reserved range).
	local pool_mib
	for pool_mib in 1024 4608; do
		rmmod pkram
		pk_load_module "pool=${pool_mib}M@$POOL_BASE"
		pk_discard_stale # the superblock there is for the other pool size
		bench fill sized 256 contiguous >/dev/null
		reload_pool "${pool_mib}M@$POOL_BASE"
		echo "{\"probe\":\"restore_pool_size\",\"pool_bytes\":$((pool_mib << 20)),\"bytes\":$((256 << 20)),\"kernel_restore_seconds\":$LOAD_KERNEL}" | rec
		pk_cli free -y sized >/dev/null
	done

	# Restore of a node of many empty objects: linear in their number.
	local count
	for count in 100000 1000000; do
		bench objects many "$count" | rec
		reload
		echo "{\"probe\":\"restore_objects\",\"objects\":$count,\"kernel_restore_seconds\":$LOAD_KERNEL}" | rec
		pk_cli free -y many >/dev/null
	done

	# Ingest: write(), mmap, and FUSE (dd into a pkramfs file).
	bench ingest write 1024 | rec
	bench ingest mmap 1024 | rec
	pk_setup_pkramfs
	mkdir -p /pkram
	mount -t fuse.pkramfs none /pkram
	mkdir /pkram/nodes/fuse-ingest
	local t0 t1
	t0=$(now_ns)
	dd if=/dev/zero of=/pkram/nodes/fuse-ingest/data bs=1M count=1024 status=none
	t1=$(now_ns)
	echo "{\"probe\":\"ingest\",\"how\":\"fuse\",\"bytes\":$((1024 << 20)),\"seconds\":$(seconds_between "$t0" "$t1")}" | rec
	rm /pkram/nodes/fuse-ingest/data

	# The seed's step 2 and step 7 through pkramfs against tmpfs: small
	# writes as head(1) makes them, dd bs=1M, and md5sum reading back (the
	# page cache dropped: pkramfs then reads through the daemon).
	mkdir -p /mnt/tmpfs-peer
	mount -t tmpfs -o size=1G none /mnt/tmpfs-peer
	local dir how
	for how in pkramfs tmpfs; do
		dir=/pkram/nodes/fuse-ingest
		[[ $how == tmpfs ]] && dir=/mnt/tmpfs-peer
		fuse_probe small_write "$how" head -c "$FUSE_MIB"M /dev/zero ">$dir/small"
		fuse_probe dd "$how" dd if=/dev/zero "of=$dir/dd" bs=1M count="$FUSE_MIB" status=none
		sync
		echo 3 >/proc/sys/vm/drop_caches
		fuse_probe read "$how" md5sum "$dir/dd" ">/dev/null"
		rm "$dir/small" "$dir/dd"
	done
	umount /mnt/tmpfs-peer
	rmdir /pkram/nodes/fuse-ingest
	umount /pkram

	# Restore into tmpfs with 1, 2, 4 threads against cp -a of the same tree.
	mkdir -p /tmp/tree/small /mnt/target
	local i
	for i in $(seq 1 64); do head -c 8M /dev/zero | tr '\0' "$((i % 10))" >"/tmp/tree/f$i"; done
	for i in $(seq 1 1000); do echo "small $i" >"/tmp/tree/small/s$i"; done
	pk_cli save --no-progress -j 4 /tmp/tree tree >/dev/null
	mount -t tmpfs -o size=2G none /mnt/target
	local j
	for j in 1 2 4; do
		rm -rf /mnt/target/r
		t0=$(now_ns)
		pk_cli restore --no-progress -j "$j" tree /mnt/target/r >/dev/null
		t1=$(now_ns)
		echo "{\"probe\":\"restore_tree\",\"how\":\"pkram-cli restore -j $j\",\"threads\":$j,\"bytes\":$((64 * 8 << 20)),\"seconds\":$(seconds_between "$t0" "$t1")}" | rec
	done
	diff -r /tmp/tree /mnt/target/r
	rm -rf /mnt/target/r
	t0=$(now_ns)
	cp -a /tmp/tree /mnt/target/c
	t1=$(now_ns)
	echo "{\"probe\":\"restore_tree\",\"how\":\"cp -a\",\"threads\":1,\"bytes\":$((64 * 8 << 20)),\"seconds\":$(seconds_between "$t0" "$t1")}" | rec
	umount /mnt/target
	pk_cli free -y tree >/dev/null

	lend_probe

	# The peer: the same bytes in a pkram node and on emulated pmem
	# (memmap=!) with ext4 -o dax, across the same kexec.
	bench fill peer "$PEER_MIB" contiguous >/dev/null
	pmem_probe
	mkfs.ext4 -q -F /dev/pmem0
	mkdir -p /mnt/pmem
	mount -o dax /dev/pmem0 /mnt/pmem
	pk_cli cat peer data >/mnt/pmem/data
	umount /mnt/pmem
	pk_cli cat peer data | md5sum >"$PKRAM_RESULTS/md5-peer"
	pk_cli_kexec 2
}

# time_to_data ORDER HOW: one arm of time to data after the kexec, as its
# user gets there: load (insmod with the restore, or the pmem driver probe
# and the DAX mount), then pkram_bench map-hash maps the data in place and
# checksums it (open+mmap, first byte, the rest). Sets ARM_SUM.
time_to_data() {
	local order=$1 how=$2 t0 t1 probe start
	start=$(kernel_seconds "arm$order")
	t0=$(now_ns)
	if [[ $how == pkram ]]; then
		pk_load_module
		t1=$(now_ns)
		probe=$(bench map-hash pkram peer/data)
	else
		pmem_probe
		mkdir -p /mnt/pmem
		mount -o dax /dev/pmem0 /mnt/pmem
		t1=$(now_ns)
		probe=$(bench map-hash file /mnt/pmem/data)
	fi
	ARM_SUM=$(jq -r .checksum <<<"$probe")
	jq -c --arg how "$how" --argjson order "$order" --argjson load "$(seconds_between "$t0" "$t1")" \
		--argjson start "$start" \
		'{probe: "time_to_data", how: $how, order: $order, kernel_to_arm_seconds: $start,
		  load_seconds: $load, open_seconds, first_byte_seconds, consume_seconds, bytes}' <<<"$probe" | rec
}

# Both arms after a kexec, in the order given; the same bytes on both sides,
# and the md5 of the saved data (untimed).
both_arms() { # FIRST SECOND
	local first_sum
	# Binaries warm for both arms (the first exec after a kexec reads them).
	bench >/dev/null 2>&1 || true
	jq --version >/dev/null
	modprobe -n nd_pmem
	mount --version >/dev/null
	time_to_data 1 "$1"
	first_sum=$ARM_SUM
	time_to_data 2 "$2"
	pk_expect_eq "pkram and pmem+DAX map the same bytes" "$first_sum" "$ARM_SUM"
	pk_expect_eq "pkram: the data is verified after kexec" "$(cat "$PKRAM_RESULTS/md5-peer")" \
		"$(pk_cli cat peer data | md5sum)"
	pk_expect_eq "pmem+DAX: the data is verified after kexec" "$(cat "$PKRAM_RESULTS/md5-peer")" \
		"$(md5sum </mnt/pmem/data)"
	umount /mnt/pmem
}

# The two arms in turns: pkram first after this kexec, pmem+DAX first
# after the next.
stage_2() {
	both_arms pkram pmem+dax
	pk_cli_kexec 3
}

stage_3() {
	both_arms pmem+dax pkram
	pk_pass
}
