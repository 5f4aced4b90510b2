# Loading refuses a pool the kernel could use, or memory that is not RAM
# (firmware-reserved), and says what to put on the kernel command line. Nothing is touched, so a correct load still works.
try_load() { # expected-dmesg-pattern insmod-args...
	local pattern=$1
	shift
	dmesg -C
	if insmod "$PKRAM_KO" "$@" 2>/dev/null; then
		pk_fail "insmod $* succeeded"
	fi
	pk_check "insmod $* is refused: $pattern" grep -Eq "$pattern" <(dmesg)
}

# The start of a firmware-reserved range (/sys/firmware/memmap) that holds
# 64 MiB from a 2 MiB boundary.
firmware_reserved_64m() {
	local e start end
	for e in /sys/firmware/memmap/*; do
		[[ $(cat "$e/type") == Reserved ]] || continue
		start=$(($(cat "$e/start")))
		end=$(($(cat "$e/end")))
		start=$(((start + 0x1fffff) & ~0x1fffff))
		if ((end + 1 - start >= 64 << 20)); then
			printf '%#x\n' "$start"
			return 0
		fi
	done
	return 1
}

# shellcheck disable=SC2016 # single quotes: memmap='s literal $ in the patterns, $((...)) for bash -c
stage_1() {
	pk_check "without the module, /dev/mem can read the reserved pool" \
		bash -c 'dd if=/dev/mem of=/dev/null bs=4096 skip=$((0x30000000 / 4096)) count=1 status=none'
	modprobe libcrc32c
	try_load 'no pool given: boot with memmap=SIZE\$ADDR'
	try_load 'overlaps System RAM: reserve it first with memmap=64M\$0x10000000' pool=64M@0x10000000
	try_load 'overlaps System RAM: reserve it first with memmap=512M\$0x30000000' pool=512M@0x30000000
	try_load 'is not reserved memory: add memmap=64M\$0x100000000' pool=64M@0x100000000
	# Firmware-reserved memory (here what QEMU reserves below 1 TiB) is
	# "Reserved" in /proc/iomem too, but it is not RAM: never a pool.
	local fw
	fw=$(firmware_reserved_64m) || pk_fail "the firmware map has no 2 MiB-aligned reserved range of 64 MiB to try"
	try_load "pool 64M@$fw is not RAM in the firmware's memory map" "pool=64M@$fw"
	try_load 'too small: use at least 4M' pool=2M@0x30000000
	try_load 'must be multiples of 2 MiB, e.g. memmap=4M\$0x30200000' pool=1M@0x30000100
	try_load 'must be multiples of 2 MiB, e.g. memmap=6M\$0x30000000' pool=5M@0x30000000
	dmesg -C
	pk_load_module
	pk_check "the right pool loads" test -c /dev/pkram
	pk_check "the pool is claimed exclusively in /proc/iomem" grep -q 'pkram' /proc/iomem
	pk_check "/dev/mem cannot read the pool while the module owns it" \
		bash -c '! dd if=/dev/mem of=/dev/null bs=4096 skip=$((0x30000000 / 4096)) count=1 status=none 2>/dev/null'

	pk_check "the module cannot be removed while /dev/pkram is open" \
		bash -c 'exec 3</dev/pkram; ! rmmod pkram 2>/dev/null'
	rmmod pkram
	pk_check "the module unloads when unused" bash -c '! test -e /dev/pkram'
	pk_check "no kernel warning" bash -c '! dmesg | grep -q WARNING'
	pk_case pool_refusal 1 0 "bad pools refused with the command line to use; /dev/mem locked out once claimed; no unload while in use"
	pk_pass
}
