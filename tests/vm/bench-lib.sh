# Timing helpers the benchmark scenarios share (bench, bench_vmm); sourced
# by them in the guest.
now_ns() { date +%s%N; }
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b - a) / 1e9 }'; }

# Seconds since this kernel started: a printk timestamp (the clock behind
# /proc/uptime keeps running across kexec).
kernel_seconds() {
	echo "pkram-bench: mark $1" >/dev/kmsg
	dmesg | sed -n "s/^\[ *\([0-9.]*\)\] pkram-bench: mark $1\$/\1/p" | tail -1
}

# The emulated pmem (memmap=!) comes up: the e820 driver's probe, /dev/pmem0.
pmem_probe() {
	modprobe nd_e820
	modprobe nd_pmem
	for _ in $(seq 500); do [[ -b /dev/pmem0 ]] && return; sleep 0.02; done
	pk_fail "/dev/pmem0 did not appear"
}
