#!/bin/bash
# Runs one stage of a VM scenario inside the guest (after guest-init). The stage
# number comes from the kernel command line (pkramtest.stage=N, 1 when absent),
# so a scenario continues where it left off after each kexec.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb
# shellcheck source=/dev/null
. /run/pkram-vm/job
# Host paths, seen through the guest's unshadowed view of the host root.
PKRAM_REPO=/run/pkram-host$PKRAM_REPO
PKRAM_BUILD=/run/pkram-host$PKRAM_BUILD
PKRAM_VM=/run/pkram-host$PKRAM_VM	# the booted kernel's vmlinuz, initramfs, modules
PKRAM_KO=/run/pkram-host$PKRAM_KO	# pkram.ko built for it
export PKRAM_REPO PKRAM_BUILD PKRAM_SCENARIO PKRAM_VM PKRAM_KO
PKRAM_RESULTS=/run/pkram-vm
export PKRAM_RESULTS
stage=$(sed -n 's/.*pkramtest\.stage=\([0-9]*\).*/\1/p' /proc/cmdline)
PKRAM_STAGE=${stage:-1}
export PKRAM_STAGE

# The first run (PID 1) prepares the guest; under systemd (a scenario with
# "PKRAM-VM-INIT: systemd") a unit runs this script again for the stage.
if [[ $$ == 1 ]]; then
	kver=$(uname -r)
	# The modules of the booted kernel, writable (DKMS installs into them),
	# their changes kept where the root's are.
	modrw=/run/pkram-rw/modules-$kver
	mkdir -p "/lib/modules/$kver" "$modrw/upper" "$modrw/work"
	mount -t overlay -o "lowerdir=$PKRAM_VM/kernel/lib/modules/$kver,upperdir=$modrw/upper,workdir=$modrw/work" \
		pkram-modules "/lib/modules/$kver"
	# Its headers (DKMS builds against them): installed, or unpacked by setup.sh.
	headers=/usr/src/linux-headers-$kver
	[[ -d $headers ]] || headers=$PKRAM_BUILD/kernels/$kver/root/usr/src/linux-headers-$kver
	[[ -e /lib/modules/$kver/build || ! -d $headers ]] || ln -s "$headers" "/lib/modules/$kver/build"
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
	mount -t tracefs none /sys/kernel/tracing 2>/dev/null
	mount -t bpf none /sys/fs/bpf 2>/dev/null
	hostname pkram-guest
	# devtmpfs lacks these; bash process substitution needs /dev/fd.
	ln -sf /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
fi

# shellcheck source=tests/vm/guest-lib.sh
. "$PKRAM_REPO/tests/vm/guest-lib.sh"
# shellcheck source=/dev/null
. "$PKRAM_REPO/tests/vm/scenarios/$PKRAM_SCENARIO.sh"

if [[ $$ == 1 ]] && grep -qw 'pkramtest.init=systemd' /proc/cmdline; then
	set -eE
	trap 'pk_fail "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
	echo "PKRAM-VM: boot $PKRAM_STAGE of $PKRAM_SCENARIO on $(uname -r), then systemd"
	pk_prepare_systemd
	if declare -F "boot_$PKRAM_STAGE" >/dev/null; then
		"boot_$PKRAM_STAGE"
	fi
	trap - ERR
	pk_exec_systemd
fi
echo "PKRAM-VM: stage $PKRAM_STAGE of $PKRAM_SCENARIO on $(uname -r)"
if ! declare -F "stage_$PKRAM_STAGE" >/dev/null; then
	pk_fail "scenario $PKRAM_SCENARIO has no stage $PKRAM_STAGE"
fi
set -eE
trap 'pk_fail "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
"stage_$PKRAM_STAGE"
pk_fail "stage $PKRAM_STAGE returned without pk_pass or pk_kexec"
