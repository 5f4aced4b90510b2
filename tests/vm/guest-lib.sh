# Helpers for VM scenarios, sourced by guest-run.sh inside the guest.
# Every line the host harness reads starts with "PKRAM-VM: ".

pk_log() { echo "PKRAM-VM: $*"; }

pk_poweroff() {
	trap - ERR
	# Never return, and never exit: PID 1 exiting panics the kernel. The
	# host root may be gone already (its share goes down with us), and sleep
	# with it, so a failing command must not end the shell (set -e).
	set +e
	sync
	echo o >/proc/sysrq-trigger
	while :; do
		sleep 60 2>/dev/null
	done
}

# To the console, not stdout: a failure inside $(...) must not be swallowed.
pk_fail() {
	trap - ERR
	echo "PKRAM-VM: FAIL: $*" >/dev/console
	pk_poweroff
}

pk_pass() {
	echo "PKRAM-VM: PASS"
	pk_poweroff
}

# pk_check DESCRIPTION COMMAND...: the command must succeed.
pk_check() {
	local what=$1
	shift
	if "$@"; then
		pk_log "ok - $what"
	else
		pk_fail "$what"
	fi
}

# pk_expect_fail DESCRIPTION EXPECTED-MESSAGE-PATTERN COMMAND...: the command must
# fail and say something matching the pattern on stderr.
pk_expect_fail() {
	local what=$1 pattern=$2 err
	shift 2
	if err=$("$@" 2>&1 >/dev/null); then
		pk_fail "$what: succeeded but should have failed"
	fi
	if ! grep -Eq -- "$pattern" <<<"$err"; then
		pk_fail "$what: message '$err' does not match '$pattern'"
	fi
	pk_log "ok - $what ($err)"
}

pk_expect_eq() { # DESCRIPTION EXPECTED ACTUAL
	[[ $2 == "$3" ]] || pk_fail "$1: expected '$2', got '$3'"
	pk_log "ok - $1"
}

# The module's parameters as the next kernel's command line carries them
# (pkram.NAME=VALUE), which is what modprobe would pass on a real machine.
pk_cmdline_params() {
	tr ' ' '\n' </proc/cmdline | sed -n 's/^pkram\.\([a-z_]*=.*\)/\1/p'
}

pk_load_module() {
	# The CPU's crc32 instruction for data checksums, when it has one.
	modprobe crc32c_intel 2>/dev/null || true
	modprobe libcrc32c
	# shellcheck disable=SC2046
	insmod "$PKRAM_KO" $(pk_cmdline_params) "$@"
}

pk_cli() { "$PKRAM_BUILD/cli/pkram-cli" "$@"; }

# pk_next_cmdline STAGE [HANDOVER-ARG]: this kernel's command line with the stage
# and any old handover argument replaced.
pk_next_cmdline() {
	local line
	line=$(sed -e 's/pkramtest\.stage=[^ ]*//g' -e 's/pkram\.handover=[^ ]*//g' -e 's/  */ /g' /proc/cmdline)
	echo "$line pkramtest.stage=$1${2:+ $2}"
}

# pk_kexec STAGE [HANDOVER-ARG]: load this same kernel with kexec_file_load
# (kexec -s, which never places segments in the reserved pool) and jump to it.
pk_kexec() {
	local append
	append=$(pk_next_cmdline "$@")
	pk_log "kexec into stage $1"
	kexec -s -l "$PKRAM_VM/vmlinuz" --initrd="$PKRAM_VM/initramfs.cpio.gz" --append="$append"
	sync
	kexec -e
	pk_fail "kexec -e returned"
}

# pk_cli_kexec STAGE [pkram-cli kexec options...]: the way an operator does
# it: pkram-cli kexec --reuse-cmdline --exec, here into the next stage (the
# reused line keeps the old pkramtest.stage=; guest-run.sh reads the last).
pk_cli_kexec() {
	local stage=$1
	shift
	pk_log "kexec into stage $stage"
	pk_cli kexec --kernel "$PKRAM_VM/vmlinuz" --initrd "$PKRAM_VM/initramfs.cpio.gz" \
		--reuse-cmdline --append "pkramtest.stage=$stage" "$@" --exec
	pk_fail "kexec returned"
}

# pk_prepare_systemd: the host's own services have no place in the guest:
# nothing is enabled but what the scenario installs (before boot_N runs).
pk_prepare_systemd() {
	local units=/etc/systemd/system unit
	# Once per root: a root kept on disk keeps what boot_N enabled.
	[[ -e /etc/pkram-vm-prepared ]] && return 0
	touch /etc/pkram-vm-prepared
	find "$units" -path '*.wants/*' -delete
	for unit in getty@.service serial-getty@.service console-getty.service \
		systemd-timesyncd.service systemd-networkd-wait-online.service kexec-load.service; do
		ln -sf /dev/null "$units/$unit"
	done
	# systemd would take the host's /.dockerenv for a container and read
	# its own argv instead of the kernel command line.
	rm -f /.dockerenv
	# man-db's dpkg trigger rebuilds its index: minutes under TCG.
	rm -f /var/lib/man-db/auto-update
}

# pk_exec_systemd: become systemd (PID 1); a unit runs guest-run.sh again
# for the stage once multi-user.target is reached.
pk_exec_systemd() {
	local units=/etc/systemd/system
	cat >"$units/pkram-vm-stage.service" <<UNIT
[Unit]
Description=pkram VM scenario $PKRAM_SCENARIO, stage $PKRAM_STAGE
After=multi-user.target

[Service]
Type=simple
ExecStart=/bin/bash $PKRAM_REPO/tests/vm/guest-run.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
UNIT
	cat >"$units/pkram-vm.target" <<UNIT
[Unit]
Description=pkram VM scenario
Requires=multi-user.target
Wants=pkram-vm-stage.service
After=multi-user.target
AllowIsolate=yes
UNIT
	exec /lib/systemd/systemd --unit=pkram-vm.target
}

# pk_systemctl_kexec STAGE: "systemctl kexec", the way an operator ends a
# boot; the stage unit is stopped on the way down.
pk_systemctl_kexec() {
	pk_log "kexec into stage $1"
	trap - ERR
	trap 'exit 0' TERM
	systemctl --no-block kexec || pk_fail "systemctl kexec failed"
	sleep 600
	pk_fail "systemctl kexec did not happen"
}

# pk_install_package: the .deb the build made, as a user installs it (DKMS
# builds pkram.ko for this kernel in the guest).
pk_install_package() {
	local deb
	deb=$(ls "$PKRAM_BUILD"/packages/pkram_*_amd64.deb)
	pk_log "dpkg -i $(basename "$deb") at $(cut -d' ' -f1 /proc/uptime) s"
	DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
	pk_log "installed at $(cut -d' ' -f1 /proc/uptime) s"
}

# pk_accounting_is_exact: the pool's used bytes are exactly the superblock
# and its shadow (two pages) plus every node's data and metadata: nothing leaked, nothing lost.
pk_accounting_is_exact() {
	pk_cli status --json | jq -e '.pool.used_bytes == 8192 + ([.nodes[] | .data_bytes + .meta_bytes] | add)' >/dev/null
}

pk_expect_exact_accounting() {
	pk_accounting_is_exact || pk_fail "pool accounting is off${1:+ ($1)}: $(pk_cli status --json | jq -c .pool)"
	pk_log "ok - pool accounting is exact${1:+ ($1)}"
}

# pk_case NAME ITERATIONS FAILURES [DETAIL]: one line of the reliability
# summary (tests/reliability/summary.sh collects them from every scenario).
pk_case() {
	jq -cn --arg case "$1" --argjson iterations "$2" --argjson failures "$3" --arg detail "${4:-}" \
		'{case: $case, iterations: $iterations, failures: $failures, detail: $detail}' \
		>>"$PKRAM_RESULTS/cases.jsonl"
}

# pk_setup_pkramfs: the fuse module, and the built pkramfs on PATH, where
# mount -t fuse.pkramfs (mount.fuse3) looks for it.
pk_setup_pkramfs() {
	modprobe fuse
	ln -sf "$PKRAM_BUILD/fusefs/pkramfs" /usr/local/bin/pkramfs
}

# pk_trace_start OUTPUT [ARGS...]: pkram-trace in the background (its PID in
# PKRAM_TRACE_PID), returning once its programs are attached (within 120 s:
# on 4 TCG vCPUs over 2 host cores, loading them took more than 20 s).
pk_trace_start() {
	local out=$1
	shift
	"$PKRAM_BUILD/bpf/pkram-trace" -u "$@" >"$out" 2>&1 &
	PKRAM_TRACE_PID=$!
	for _ in $(seq 1 600); do
		grep -q '^Tracing pkram' "$out" && return 0
		kill -0 "$PKRAM_TRACE_PID" 2>/dev/null || { cat "$out"; pk_fail "pkram-trace exited"; }
		sleep 0.2
	done
	cat "$out"
	pk_fail "pkram-trace did not start"
}

pk_trace_stop() {
	sleep 0.5 # let the module's tracepoints attach and events land
	kill -INT "$PKRAM_TRACE_PID"
	wait "$PKRAM_TRACE_PID" || pk_fail "pkram-trace failed"
}

# pk_trace_count MAP KEY: the count of one histogram in a pinned map, KEY an
# enum name (a per-CPU array's key is the enum's value; its CPUs are summed).
pk_trace_count() {
	local index=-1
	case $2 in
	PKRAM_LOCK_LRU) index=0 ;;
	PKRAM_LOCK_XARRAY) index=1 ;;
	PKRAM_LOCK_OTHER) index=2 ;;
	esac
	bpftool -j map dump pinned "/sys/fs/bpf/pkram/$1" |
		jq --arg key "$2" --argjson index "$index" \
			'[.[] | .formatted | select(.key == $key or .key == $index) |
			  (.value.count // ([.values[].value.count] | add))] | add // 0'
}

# pk_trace_locks: the lock-contention line every tracing scenario logs:
# spinlock waits (slow-path probe) per class, then the other locks.
pk_trace_locks() {
	local map title line
	for map in spin_contention lock_contention; do
		title="lock contention"
		[[ $map == lock_contention ]] && title="lock contention (tracepoints, other locks)"
		line="$title: LRU $(pk_trace_count $map PKRAM_LOCK_LRU)"
		line+=", xarray $(pk_trace_count $map PKRAM_LOCK_XARRAY)"
		echo "$line, other $(pk_trace_count $map PKRAM_LOCK_OTHER)"
	done
}

# pk_trace_spin_waits: spinlock waits of every class, from the slow-path probe.
pk_trace_spin_waits() {
	bpftool -j map dump pinned /sys/fs/bpf/pkram/spin_contention | jq '[.[].formatted.values[].value.count] | add // 0'
}

# pk_discard_stale: discards the stale pool the module holds, if any (for a
# scenario that reuses the pool on purpose).
pk_discard_stale() {
	if pk_cli status --json | jq -e .pool.stale_pool_held >/dev/null; then
		pk_cli discard -y >/dev/null
	fi
}
