# The Debian package as a user installs it: dpkg -i of the built .deb on a
# root that persists across kexecs (DKMS builds pkram.ko for the booted
# kernel in the guest), then, in every boot, systemd
# loads the module from the kernel command line (pkram.service), applies the
# udev rule, mounts pkramfs at /pkram (pkram.mount) and loads the next kernel
# with the handover token (pkram-kexec-load.service, /etc/default/pkram).
# The seed walk-through runs with the installed binaries across
# "systemctl kexec".
# PKRAM-VM-INIT: systemd
# PKRAM-VM-ROOT: disk
# PKRAM-VM-TIMEOUT: 1500
# (DKMS builds and removes the module under TCG: 9 of those minutes on a slow
# host.) Not in the 6.12 core set for that reason: CI runs it on 6.1 and
# run-all.sh --all-kernels on 6.12 as well; the unit files and the DKMS recipe
# are the same for both lines, and the host build compiles pkram.ko for each.
SEED_DIR=/mnt

boot_1() {
	pk_install_package
	# What an administrator puts in /etc/default/pkram (here the VM's kernel,
	# and the next stage for the harness).
	cat >/etc/default/pkram <<CONF
PKRAM_KEXEC_KERNEL=$PKRAM_VM/vmlinuz
PKRAM_KEXEC_INITRD=$PKRAM_VM/initramfs.cpio.gz
PKRAM_KEXEC_OPTIONS="--reuse-cmdline --append pkramtest.stage=2"
CONF
}

# The installed units did their work at boot.
check_installed_units() {
	local kver
	kver=$(uname -r)
	# Compressed as the kernel's own modules are (6.12: pkram.ko.xz).
	pk_check "DKMS built and installed pkram.ko for $kver" \
		compgen -G "/lib/modules/$kver/updates/dkms/pkram.ko*"
	pk_expect_eq "pkram.service is active" active "$(systemctl is-active pkram.service)"
	pk_check "the module is loaded" grep -q '^pkram ' /proc/modules
	pk_expect_eq "pool from the kernel command line" "$(pk_cmdline_params | sed -n 's/^pool=//p')" \
		"$(cat /sys/module/pkram/parameters/pool)"
	pk_expect_eq "the udev rule gives /dev/pkram to group pkram" "pkram 660" \
		"$(stat -c '%G %a' /dev/pkram)"
	pk_expect_eq "pkram.mount is active" active "$(systemctl is-active pkram.mount)"
	pk_check "/pkram is a pkramfs mount" grep -q ' /pkram fuse.pkramfs ' /proc/mounts
	pk_expect_eq "pkram-kexec-load.service is active" active \
		"$(systemctl is-active pkram-kexec-load.service)"
	pk_expect_eq "a kexec kernel is loaded" 1 "$(cat /sys/kernel/kexec_loaded)"
	pk_check "man pages installed" man -w pkram-cli pkramfs pkram-trace
	pk_check "pkram-trace installed" pkram-trace --version
}

stage_1() {
	check_installed_units
	pk_expect_eq "installed pkram-cli is on PATH" /usr/bin/pkram-cli "$(command -v pkram-cli)"
	# The seed's steps 1-3 with the installed tools.
	mount -t tmpfs none "$SEED_DIR"
	head -c 32M /dev/urandom >"$SEED_DIR/testfile"
	md5sum <"$SEED_DIR/testfile" >"$PKRAM_RESULTS/md5-before"
	pkram-cli save --no-progress "$SEED_DIR" mytmpfs
	pk_expect_eq "ls /pkram/nodes shows the saved node" mytmpfs "$(ls /pkram/nodes)"
	# 4-5) systemctl kexec: pkram-kexec-load.service loads the kernel again
	# on the way down, with the token.
	pk_systemctl_kexec 2
}

stage_2() {
	check_installed_units
	pk_check "the handover token came on the command line" grep -q 'pkram\.handover=' /proc/cmdline
	# 6-7) the node is back, browsable and restorable.
	pk_expect_eq "ls /pkram/nodes after systemctl kexec" mytmpfs "$(ls /pkram/nodes)"
	pk_expect_eq "md5 through /pkram equals md5 before" "$(cat "$PKRAM_RESULTS/md5-before")" \
		"$(md5sum </pkram/nodes/mytmpfs/testfile)"
	mount -t tmpfs none "$SEED_DIR"
	pkram-cli restore --no-progress mytmpfs "$SEED_DIR"
	pk_expect_eq "md5 after restore equals md5 before" "$(cat "$PKRAM_RESULTS/md5-before")" \
		"$(md5sum <"$SEED_DIR/testfile")"
	systemctl stop pkram.mount
	pkram-cli free -y mytmpfs
	pk_expect_eq "the node is freed" "" "$(pkram-cli ls | awk 'NR > 1')"
	# Removal takes the units and the DKMS module away.
	DEBIAN_FRONTEND=noninteractive dpkg --purge pkram
	pk_check "units removed" test ! -e /lib/systemd/system/pkram.service
	pk_expect_eq "DKMS forgot pkram" "" "$(dkms status -m pkram)"
	pk_pass
}
