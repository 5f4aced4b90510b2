# The VMM fast-restart benchmark (not a test; tests/bench/run.sh runs it):
# time from the new kernel's start to a QEMU running on the guest RAM it
# had before the host kexec, for 1 and 4 GiB of guest RAM, with that RAM in
# pkram objects (pkram-cli vm run) and on pmem+DAX (memmap=!, ext4 -o dax
# files, QEMU's mem-path on them). Each arm: load (insmod with the restore,
# or the pmem driver probe and the DAX mount), then one QEMU per VM, timed
# from its start to reading guest RAM the old QEMU wrote (qtest). The arms
# in turns across two kexecs; one JSON line each into bench_vmm.jsonl.
# PKRAM-VM-SUITE: no (tests/bench/run.sh runs it)
# PKRAM-VM-MEM: 16G
# PKRAM-VM-POOL: 5632M$0x100000000
# PKRAM-VM-APPEND: memmap=5632M!0x260000000
# PKRAM-VM-TIMEOUT: 1200
# shellcheck source=SCRIPTDIR/../bench-lib.sh
source "$PKRAM_REPO/tests/vm/bench-lib.sh"
VM_GIB="1 4"
qtest_ram() { /usr/bin/python3 "$PKRAM_REPO/tests/guest/qtest_ram.py" "$@"; }
qemu=(qemu-system-x86_64 -machine pc -S -qtest stdio -qtest-log /dev/null -display none -nodefaults)
dax_ram() { # MODE GIB: qtest_ram with a QEMU whose RAM is vmGIB's DAX file
	qtest_ram "$1" "$2" -- "${qemu[@]}" -m "$2G" -machine memory-backend=r \
		-object "memory-backend-file,id=r,mem-path=/mnt/pmem/vm$2.ram,share=on,size=$2G,align=2M"
}
rec() { tee -a "$PKRAM_RESULTS/bench_vmm.jsonl"; }
pmem_up() {
	pmem_probe
	mkdir -p /mnt/pmem
	mount -o dax /dev/pmem0 /mnt/pmem
}

stage_1() {
	pk_load_module
	: >"$PKRAM_RESULTS/bench_vmm.jsonl"
	pmem_probe
	mkfs.ext4 -q -F /dev/pmem0
	pmem_up
	local gib
	for gib in $VM_GIB; do
		pk_cli vm create "vm$gib" "${gib}G" --prealloc
		qtest_ram mark "$gib" -- "$PKRAM_BUILD/cli/pkram-cli" vm run "vm$gib" -- "${qemu[@]}" >/dev/null ||
			pk_fail "QEMU could not write the guest RAM of vm$gib (pkram)"
		pk_cli seal "vm$gib"
		fallocate -l "${gib}G" "/mnt/pmem/vm$gib.ram"
		dax_ram mark "$gib" >/dev/null ||
			pk_fail "QEMU could not write the guest RAM of vm$gib (pmem+DAX)"
	done
	umount /mnt/pmem
	pk_cli_kexec 2
}

# arm ORDER HOW: load, then each VM's QEMU up on its old RAM.
arm() {
	local order=$1 how=$2 start t0 t1 gib ready line
	start=$(kernel_seconds "arm$order")
	t0=$(now_ns)
	if [[ $how == pkram ]]; then pk_load_module; else pmem_up; fi
	t1=$(now_ns)
	line="{\"probe\":\"vmm_restart\",\"how\":\"$how\",\"order\":$order,\"kernel_to_arm_seconds\":$start"
	line+=",\"load_seconds\":$(seconds_between "$t0" "$t1")"
	for gib in $VM_GIB; do
		if [[ $how == pkram ]]; then
			ready=$(qtest_ram ready "$gib" -- "$PKRAM_BUILD/cli/pkram-cli" vm run "vm$gib" -- "${qemu[@]}") ||
				pk_fail "QEMU on vm$gib's restored RAM (pkram) did not find it"
		else
			ready=$(dax_ram ready "$gib") ||
				pk_fail "QEMU on vm$gib's RAM (pmem+DAX) did not find it"
		fi
		line+=",\"qemu_${gib}g_seconds\":$(jq .seconds <<<"$ready")"
	done
	echo "$line}" | rec
}

both_arms() { # FIRST SECOND
	# Binaries warm for both arms (the first exec after a kexec reads them).
	# QEMU's binary, libraries and firmware: one small QEMU on anonymous RAM.
	qtest_ram warm 0 16 -- "${qemu[@]}" -m 16M >/dev/null
	pk_cli --help >/dev/null
	modprobe -n nd_pmem
	mount --version >/dev/null
	jq --version >/dev/null
	arm 1 "$1"
	arm 2 "$2"
	umount /mnt/pmem
}

stage_2() {
	both_arms pkram pmem+dax
	local gib
	for gib in $VM_GIB; do pk_cli seal "vm$gib"; done
	pk_cli_kexec 3
}

stage_3() {
	both_arms pmem+dax pkram
	pk_pass
}
