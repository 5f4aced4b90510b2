# Loading refuses a pool the kernel could use, and says what to put on the
# kernel command line. Nothing is touched, so a correct load still works.
try_load() { # expected-dmesg-pattern insmod-args...
	local pattern=$1
	shift
	dmesg -C
	if insmod "$PKRAM_KO" "$@" 2>/dev/null; then
		pk_fail "insmod $* succeeded"
	fi
	pk_check "insmod $* is refused: $pattern" grep -Eq "$pattern" <(dmesg)
}

stage_1() {
	pk_check "without the module, /dev/mem can read the reserved pool" \
		bash -c 'dd if=/dev/mem of=/dev/null bs=4096 skip=$((0x30000000 / 4096)) count=1 status=none'
	modprobe libcrc32c
	try_load 'no pool given: boot with memmap=SIZE\$ADDR'
	try_load 'overlaps System RAM: reserve it first with memmap=64M\$0x10000000' pool=64M@0x10000000
	try_load 'overlaps System RAM: reserve it first with memmap=512M\$0x30000000' pool=512M@0x30000000
	try_load 'is not reserved memory: add memmap=64M\$0x100000000' pool=64M@0x100000000
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
