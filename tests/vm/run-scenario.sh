#!/usr/bin/env bash
# Boots the Debian kernel in QEMU (TCG) with the pkram pool reserved and runs a
# guest scenario (tests/vm/scenarios/NAME.sh) through all its kexec stages.
# Passes only when the guest printed "PKRAM-VM: PASS" and the kernel printed no
# warning, BUG, oops or panic. Results land in $BUILD/vm-results/NAME/.
#
# usage: run-scenario.sh [-b BUILD] [-k KERNEL] [-t TIMEOUT_S] [-m MEM] [-p POOL] [-v] NAME
#   KERNEL is a kernel tests/setup.sh prepared: default, 6.1, 6.12 or a release
#   (default: $PKRAM_KERNEL, else default); results of a kernel other than the
#   default land in $BUILD/vm-results/RELEASE/NAME/.
#   POOL is SIZE$ADDR as for memmap= (default 256M$0x30000000); -v shows the console.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
args=("$@")

# What this run started; stopped by cleanup on any exit (a failure, a
# signal, ctest's timeout), so no QEMU or helper outlives the harness.
qemu_pid=''
tailer_pid=''
virtiofsd_pids=()
sockets=''

cleanup() {
	local pid
	for pid in "$qemu_pid" "$tailer_pid" "${virtiofsd_pids[@]}"; do
		[[ -z $pid ]] || kill "$pid" 2>/dev/null || true
	done
	for pid in "$qemu_pid" "$tailer_pid" "${virtiofsd_pids[@]}"; do
		[[ -z $pid ]] || wait "$pid" 2>/dev/null || true
	done
	qemu_pid='' tailer_pid='' virtiofsd_pids=()
	if [[ -n $sockets ]]; then
		rm -rf "$sockets"
		sockets=''
	fi
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

usage() {
	echo "usage: $0 [-b BUILD] [-k KERNEL] [-t S] [-m MEM] [-p POOL] [-v] NAME" >&2
	exit 2
}

# Options: build, kernel, and what the command line sets over the headers.
parse_options() {
	build=${PKRAM_BUILD_DIR:-$repo/build}
	timeout_s=300
	mem=2G
	# shellcheck disable=SC2016 # memmap='s SIZE$ADDR: a literal $
	pool='256M$0x30000000'
	pool_set=0 timeout_set=0 mem_set=0 verbose=0
	extra_append=''
	kernel=${PKRAM_KERNEL:-default}
	local opt
	while getopts 'b:k:t:m:p:a:v' opt; do
		case $opt in
		b) build=$(cd "$OPTARG" && pwd) ;;
		k) kernel=$OPTARG ;;
		t) timeout_s=$OPTARG timeout_set=1 ;;
		m) mem=$OPTARG mem_set=1 ;;
		p) pool=$OPTARG pool_set=1 ;;
		a) extra_append=$OPTARG ;;
		v) verbose=1 ;;
		*) sed -n '2,10p' "$0" >&2; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	[[ $# -eq 1 ]] || usage
	scenario=$1
	[[ -f $repo/tests/vm/scenarios/$scenario.sh ]] || { echo "run-scenario: no scenario '$scenario'" >&2; exit 2; }
}

# A scenario may set, each on a line of its own:
#   # PKRAM-VM-POOL: SIZE$ADDR       its pool
#   # PKRAM-VM-APPEND: WORDS         more kernel command-line words
#   # PKRAM-VM-REBOOT: allow         a guest reboot is a warm reset (RAM kept)
#   # PKRAM-VM-SMP: N                N virtual CPUs (default 2)
#   # PKRAM-VM-MEM: SIZE              guest RAM (default 2G; -m wins)
#   # PKRAM-VM-TIMEOUT: SECONDS      its time limit (default 300; -t wins); the
#                                    ctest limit is derived from it (tests/CMakeLists.txt)
#   # PKRAM-VM-ROOT: disk            the root's writable layer is a disk, kept
#                                    across kexecs (default: RAM, fresh each boot)
#   # PKRAM-VM-INIT: systemd         each boot ends in systemd as PID 1 (boot_N
#                                    runs before it, stage_N in a unit)
#   # PKRAM-VM-CORE: yes             CI runs it on every kernel (else on the
#                                    default one; run-all.sh --all-kernels: all)
#   # PKRAM-VM-SUITE: no             not a ctest test (run by its own command)
#   # PKRAM-VM-CRASH-UNTIL: MARKER   a deliberate crash happens before the
#                                    console line MARKER; only after it do
#                                    panics and warnings fail the run
header() { sed -n "s/^# PKRAM-VM-$1: *//p" "$repo/tests/vm/scenarios/$scenario.sh"; }

read_headers() {
	local scenario_pool
	scenario_pool=$(header POOL)
	[[ -n $scenario_pool && $pool_set == 0 ]] && pool=$scenario_pool
	extra_append="$extra_append $(header APPEND)"
	reboot_flag=-no-reboot
	[[ $(header REBOOT) == allow ]] && reboot_flag=''
	crash_until=$(header CRASH-UNTIL)
	smp=$(header SMP)
	smp=${smp:-2}
	[[ -n $(header TIMEOUT) && $timeout_set == 0 ]] && timeout_s=$(header TIMEOUT)
	[[ -n $(header MEM) && $mem_set == 0 ]] && mem=$(header MEM)
	[[ $(header INIT) == systemd ]] && extra_append="$extra_append pkramtest.init=systemd"
	return 0
}

# The kernel's VM assets and module, checked.
find_kernel() {
	local f
	vm=$build/vm/$kernel
	[[ -f $vm/kver ]] || { echo "run-scenario: kernel '$kernel' is not prepared in $build/vm: run tests/setup.sh $kernel" >&2; exit 1; }
	kver=$(cat "$vm/kver")
	vm=$build/vm/$kver
	for f in vmlinux vmlinuz initramfs.cpio.gz; do
		[[ -f $vm/$f ]] || { echo "run-scenario: $vm/$f is missing: run tests/setup.sh" >&2; exit 1; }
	done
	ko=$build/kmod/$kver/pkram.ko
	[[ -f $ko ]] || { echo "run-scenario: $ko is missing: build first" >&2; exit 1; }
}

# A fresh results directory with the job the guest reads, and the root disk.
prepare_results() {
	results=$build/vm-results/$scenario
	[[ $kver == "$(cat "$build/vm/default/kver")" ]] || results=$build/vm-results/$kver/$scenario
	rm -rf "$results"
	mkdir -p "$results"
	root_disk=()
	if [[ $(header ROOT) == disk ]]; then
		extra_append="$extra_append pkramtest.root=disk"
		root_disk=(-drive "file=$results/root.img,if=virtio,format=raw,cache=unsafe")
		truncate -s 4G "$results/root.img"
		mkfs.ext4 -q -F "$results/root.img"
	fi
	cat >"$results/job" <<JOB
PKRAM_REPO=$repo
PKRAM_BUILD=$build
PKRAM_SCENARIO=$scenario
PKRAM_VM=$vm
PKRAM_KO=$ko
JOB
	log=$results/serial.log
	append="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 watchdog_thresh=60 memmap=$pool pkram.pool=${pool/\$/@} pkramtest.stage=1 $extra_append"
}

# The host root and the results reach the guest over 9p, or over virtiofs
# (QEMU's virtiofsd, guest RAM shared with it) for kernels without 9p.
start_shares() {
	shares=()
	if [[ $(cat "$vm/share" 2>/dev/null || echo 9p) != virtiofs ]]; then
		shares=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
			-virtfs "local,path=$results,mount_tag=results,security_model=none")
		return 0
	fi
	local share
	sockets=$(mktemp -d)
	for share in hostroot:/ results:$results; do
		/usr/lib/qemu/virtiofsd --socket-path="$sockets/${share%%:*}" -o source="${share#*:}" \
			-o sandbox=chroot -o cache=auto -o log_level=warn \
			>>"$results/virtiofsd.log" 2>&1 &
		virtiofsd_pids+=($!)
		shares+=(-chardev "socket,id=${share%%:*},path=$sockets/${share%%:*}"
			-device "vhost-user-fs-pci,chardev=${share%%:*},tag=${share%%:*}")
	done
	for _ in $(seq 100); do
		[[ -S $sockets/hostroot && -S $sockets/results ]] && break
		sleep 0.05
	done
	# shellcheck disable=SC2054 # QEMU's own option syntax: key=value,key=value
	shares+=(-object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem)
	append="$append pkramtest.share=virtiofs"
}

# Runs the guest to its end or the time limit; sets rc and elapsed.
run_qemu() {
	local start
	start=$(date +%s.%N)
	timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu max -smp "$smp" -m "$mem" \
		-display none -monitor none $reboot_flag \
		-serial "file:$log" \
		-kernel "$vm/vmlinux" -initrd "$vm/initramfs.cpio.gz" -append "$append" \
		"${shares[@]}" \
		"${root_disk[@]}" \
		</dev/null &
	qemu_pid=$!
	if ((verbose)); then
		tail -n +1 -F "$log" 2>/dev/null &
		tailer_pid=$!
	fi
	rc=0
	wait "$qemu_pid" || rc=$?
	qemu_pid=''
	((verbose)) && sleep 0.5
	cleanup
	elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
}

# PASS or FAIL and why, from the console and QEMU's exit; summary.json.
judge() {
	verdict=PASS
	why=''
	checked_log=$log
	if [[ -n $crash_until ]]; then
		checked_log=$results/serial-after-crash.log
		sed -n "/^$crash_until/,\$p" "$log" >"$checked_log"
		[[ -s $checked_log ]] || { verdict=FAIL why="the console never showed '$crash_until'"; }
	fi
	if [[ $verdict == FAIL ]]; then
		:
	elif grep -Eq 'WARNING:|BUG:|Oops|Kernel panic|general protection fault|Call Trace:|UBSAN:|KASAN:' "$checked_log"; then
		verdict=FAIL why='the kernel printed a warning, BUG, oops or panic'
	elif ((rc == 124 || rc == 137)); then
		verdict=FAIL why="timed out after ${timeout_s}s"
	elif grep -q '^PKRAM-VM: FAIL' "$log"; then
		verdict=FAIL why=$(grep -m1 '^PKRAM-VM: FAIL' "$log")
	elif ! grep -q '^PKRAM-VM: PASS' "$log"; then
		verdict=FAIL why="the guest never reported PASS (qemu exit $rc)"
	fi
	printf '{"scenario":"%s","kernel":"%s","verdict":"%s","seconds":%.1f,"kexecs":%d}\n' \
		"$scenario" "$kver" "$verdict" "$elapsed" "$(grep -c '^PKRAM-VM: kexec into' "$log" || true)" >"$results/summary.json"
}

# QEMU's multi-threaded TCG can let a vCPU run a stale int3 of the kernel's
# own text patching (static keys, at boot): "Oops: int3" with no module
# loaded. That one emulator fault, and only before pkram is in the modules
# list, gets one more run; anything else fails at once.
retry_emulator_fault() {
	local oops_modules
	oops_modules=$(grep -a -A40 -m1 'Oops: int3' "$checked_log" | grep -a -m1 'Modules linked in:' || true)
	if [[ -z ${PKRAM_VM_RETRIED:-} && -n $oops_modules && $oops_modules != *pkram* ]]; then
		cp "$log" "$results/serial-emulator-fault.log"
		echo "run-scenario: $scenario: an emulator fault (Oops: int3 in kernel text patching, pkram not loaded; kept in serial-emulator-fault.log): running it once more"
		trap - EXIT
		PKRAM_VM_RETRIED=1 exec "$0" "${args[@]}"
	fi
}

parse_options "$@"
read_headers
find_kernel
prepare_results
start_shares
run_qemu
judge
if [[ $verdict == PASS ]]; then
	grep '^PKRAM-VM: ' "$log" | grep -v '^PKRAM-VM: PASS' || true
	echo "run-scenario: $scenario PASS on $kver in ${elapsed}s"
	exit 0
fi
echo "---- last 60 lines of $log ----"
tail -n 60 "$log"
echo "run-scenario: $scenario FAIL on $kver: $why"
retry_emulator_fault
exit 1
