# VMM fast restart with Debian's QEMU 7.2: guest RAM is a pkram object that
# QEMU maps directly (pkram-cli vm run: mem-path=/proc/self/fd/N, no page
# cache copy). QEMU itself (the qtest protocol: its own memory API) fills
# guest RAM with patterns; the node is sealed, the host kernel kexecs, and
# a new QEMU on the restored object reads the same bytes and keeps running
# on it. The same guest RAM on a pkramfs file works too (through the page
# cache, so a second copy, which the same measure sees). Guest RAM touched by
# QEMU is one extent and counted once: the system's Cached and Shmem do not
# grow by it. A disk read into guest RAM works on the direct mapping: QEMU's
# IDE controller, driven as a guest driver would, DMAs from a disk QEMU opened
# O_DIRECT (cache=none, aio=native) into the pkram object, and the new QEMU
# after the kexec finds those bytes too.
# PKRAM-VM-CORE: yes
# PKRAM-VM-MEM: 2G
RAM_MIB=64
qtest_ram() { /usr/bin/python3 "$PKRAM_REPO/tests/guest/qtest_ram.py" "$@"; }
# Stopped (-S): no firmware runs; qtest reads and writes guest RAM.
qemu=(qemu-system-x86_64 -machine pc -S -qtest stdio -qtest-log /dev/null -display none -nodefaults)
pkramfs_ram() { # MODE SEED [readonly=on]
	qtest_ram "$1" "$2" "$RAM_MIB" -- "${qemu[@]}" -m "${RAM_MIB}M" -machine memory-backend=r \
		-object "memory-backend-file,id=r,mem-path=/pkram/nodes/vm2/ram,share=on,size=${RAM_MIB}M${3:+,$3}"
}

stage_1() {
	pk_load_module
	pk_cli vm create vm0 "${RAM_MIB}M"
	pk_cli vm run --dry-run vm0 -- "${qemu[@]}" 2>"$PKRAM_RESULTS/vm-run.txt"
	pk_check "vm run hands QEMU the object as /proc/self/fd/N" \
		grep -q 'mem-path=/proc/self/fd/[0-9]*,share=on,size=64M,align=2M -machine memory-backend=pkram-ram -m 64M' \
		"$PKRAM_RESULTS/vm-run.txt"
	local out
	# QEMU's binary, libraries and firmware into the page cache first.
	qtest_ram warm 0 "$RAM_MIB" -- "${qemu[@]}" -m "${RAM_MIB}M" >/dev/null
	# The disk: a block device, so O_DIRECT works whatever /tmp is.
	modprobe loop
	qtest_ram disk-image 11 /tmp/disk.raw
	local disk
	disk=$(losetup -f --show /tmp/disk.raw)
	out=$(qtest_ram fill 11 "$RAM_MIB" --disk "$disk" -- "$PKRAM_BUILD/cli/pkram-cli" vm run vm0 -- \
		"${qemu[@]}" -drive "file=$disk,format=raw,if=ide,cache=none,aio=native") ||
		pk_fail "QEMU could not fill guest RAM in the pkram object"
	losetup -d "$disk"
	echo "$out" >"$PKRAM_RESULTS/fill.json"
	pk_expect_eq "QEMU wrote and read back its guest RAM" $((4 * 1048576 + 3)) "$(jq .checked_bytes <<<"$out")"
	pk_expect_eq "an O_DIRECT disk read by QEMU's IDE DMA landed in guest RAM" $((128 << 10)) \
		"$(jq .disk_dma_checked_bytes <<<"$out")"
	pk_check "guest RAM is counted once: Cached + Shmem grew by less than a quarter of it" \
		test "$(jq '.cached_growth + .shmem_growth' <<<"$out")" -lt $((RAM_MIB * 1048576 / 4))
	pk_expect_eq "64 MiB of guest RAM touched by QEMU is one extent" 1 \
		"$(pk_cli info vm0 --json | jq '.objects[0].nr_extents')"
	pk_cli seal vm0

	pk_setup_pkramfs
	mkdir -p /pkram
	mount -t fuse.pkramfs none /pkram
	mkdir /pkram/nodes/vm2
	out=$(pkramfs_ram fill 22) || pk_fail "QEMU could not fill guest RAM in a pkramfs file"
	echo "$out" >"$PKRAM_RESULTS/fill-pkramfs.json"
	# The same measure sees the second copy where there is one.
	pk_check "guest RAM on a pkramfs file is also in the page cache" \
		test "$(jq '.cached_growth + .shmem_growth' <<<"$out")" -ge $((RAM_MIB * 1048576 * 3 / 4))
	umount /pkram
	pk_cli seal vm2
	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	pk_check "a new QEMU on the restored object reads the same guest RAM, the disk's DMA too" \
		qtest_ram check 11 "$RAM_MIB" --disk none -- "$PKRAM_BUILD/cli/pkram-cli" vm run vm0 -- "${qemu[@]}"
	pk_expect_eq "the node was reopened for the new QEMU" open \
		"$(pk_cli info vm0 --json | jq -r .state)"
	pk_setup_pkramfs
	mkdir -p /pkram
	mount -t fuse.pkramfs none /pkram
	pk_check "QEMU on the restored pkramfs file reads the same guest RAM" pkramfs_ram check 22 readonly=on
	umount /pkram
	pk_cli free -y vm0
	pk_cli free -y vm2
	pk_expect_exact_accounting "after freeing both VMs' RAM"
	pk_pass
}
