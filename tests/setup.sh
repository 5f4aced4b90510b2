#!/usr/bin/env bash
# Installs everything pkram needs on a Debian 12 machine (as root) and prepares
# the kernels in the build tree, never installing one into the host's boot path:
#   - headers for every kernel the module is built for (the 6.1 and 6.12 lines,
#     generic, cloud and rt flavors): the default kernel's through
#     linux-headers-amd64, the others unpacked into $BUILD/kernels/RELEASE;
#   - for each kernel the VM boots (6.1 and 6.12, generic): its image
#     (downloaded and unpacked), ELF vmlinux, modules with a modules.dep and
#     the guest initramfs, in $BUILD/vm/RELEASE, with $BUILD/vm/NAME links.
# usage: setup.sh [KERNEL...]   (names as for tests/kernels/release.sh; default:
# the whole matrix). Idempotent; everything is cached in $BUILD.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PKRAM_BUILD_DIR:-$repo/build}
vmdir=$build/vm

packages=(
	build-essential cmake ninja-build pkg-config git
	linux-headers-amd64 kexec-tools qemu-system-x86 busybox-static cpio xz-utils
	dwarves bpftool kmod libbpf-dev libelf-dev zlib1g-dev clang llvm libclang-rt-14-dev
	jq attr zstd lz4 python3 systemtap-sdt-dev prometheus libfuse3-dev fuse3 libcli11-dev libgtest-dev
	libgmock-dev nlohmann-json3-dev libboost-dev chromium
	dkms udev systemd e2fsprogs trinity groff-base man-db openssl shellcheck
	fio sqlite3 rsync clang-format
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The kernels: built for (all of them), and booted in the VM (all but rt).
build_kernels=(6.1 6.1-cloud 6.1-rt 6.12 6.12-cloud 6.12-rt)
boot_kernels=(6.1 6.12 6.1-cloud 6.12-cloud)
if (($#)); then
	build_kernels=("$@")
	boot_kernels=()
	for k in "$@"; do
		[[ $k == *-rt ]] || boot_kernels+=("$k")
	done
fi
# A release not found in old package lists is looked up again after an update.
release() {
	"$repo/tests/kernels/release.sh" "$1" 2>/dev/null ||
		{ apt-get update -q >/dev/null && "$repo/tests/kernels/release.sh" "$1"; }
}
default_kver=$(release default)

# apt-get download into a fresh directory; prints the directory.
download() {
	local tmp
	tmp=$(mktemp -d)
	(cd "$tmp" || exit 1; apt-get download -q "$@" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true) >&2
	echo "$tmp"
}

# checkpatch.pl is in no headers package: take it out of the default line's
# linux-source (the tests run it as checkpatch.pl --no-tree).
setup_checkpatch() {
	local dir=$build/checkpatch srcpkg tmp
	[[ -f $dir/checkpatch.pl && -f $dir/spelling.txt ]] && return 0
	srcpkg=linux-source-$(echo "$default_kver" | cut -d. -f1-2)
	echo "setup: fetching checkpatch.pl from $srcpkg"
	tmp=$(download "$srcpkg")
	dpkg-deb -x "$tmp"/"$srcpkg"_*.deb "$tmp/root"
	tar -xJf "$tmp/root/usr/src/$srcpkg.tar.xz" -C "$tmp" --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	mkdir -p "$dir"
	cp "$tmp/$srcpkg"/scripts/{checkpatch.pl,spelling.txt,const_structs.checkpatch} "$dir/"
	rm -rf "$tmp"
}

# Headers for one kernel; $build/kernels/RELEASE/kdir points at them.
setup_headers() {
	local kver=$1 dir=$build/kernels/$1 kdir tmp deb line
	mkdir -p "$dir"
	if [[ $kver == "$default_kver" ]]; then
		kdir=/usr/src/linux-headers-$kver
		[[ -d $kdir ]] || apt-get install -y -q "linux-headers-$kver"
	else
		kdir=$dir/root/usr/src/linux-headers-$kver
		if [[ ! -f $dir/headers.stamp ]]; then
			echo "setup: fetching the headers of $kver (unpacked, not installed)"
			# The flavor's headers need the line's common headers and kbuild.
			tmp=$(download "linux-headers-$kver")
			deb=$(ls "$tmp"/linux-headers-"$kver"_*.deb)
			line=$(dpkg-deb -f "$deb" Depends | grep -o 'linux-headers-[^ ,]*-common[^ ,]*\|linux-kbuild-[^ ,]*' | sort -u)
			# shellcheck disable=SC2086
			(cd "$tmp" || exit 1; apt-get download -q $line 2>&1 | grep -v '^W: Download is performed unsandboxed' || true) >&2
			rm -rf "$dir/root"
			for deb in "$tmp"/*.deb; do
				dpkg-deb -x "$deb" "$dir/root"
			done
			rm -rf "$tmp"
			# The flavor's Makefile includes the common one by absolute path.
			sed -i "s|^include /usr/src/|include $dir/root/usr/src/|" "$kdir/Makefile"
			touch "$dir/headers.stamp"
		fi
	fi
	ln -sfn "$kdir" "$dir/kdir"
}

# The image, vmlinux, modules and initramfs of one kernel the VM boots.
setup_vm() {
	local kver=$1 vmdir=$build/vm/$1 stamp kimage tmp deb
	mkdir -p "$vmdir"
	stamp=$vmdir/assets.stamp
	if [[ -f $stamp && -f $vmdir/vmlinux && -f $vmdir/initramfs.cpio.gz &&
		$stamp -nt $repo/tests/vm/guest-init && $stamp -nt $repo/tests/setup.sh ]]; then
		echo "setup: VM assets for $kver are ready in $vmdir"
		return 0
	fi
	kimage=$vmdir/kernel
	if [[ ! -f $kimage/boot/vmlinuz-$kver ]]; then
		echo "setup: fetching linux-image-$kver (not installed, only unpacked)"
		tmp=$(download "linux-image-$kver")
		deb=$(ls "$tmp"/linux-image-"$kver"_*.deb)
		rm -rf "$kimage"
		dpkg-deb -x "$deb" "$kimage"
		rm -rf "$tmp"
	fi
	# The package ships no modules.dep: make one for the guest's modprobe.
	depmod -b "$kimage" "$kver"

	"$repo/tests/vm/extract-vmlinux.sh" "$kimage/boot/vmlinuz-$kver" >"$vmdir/vmlinux.tmp"
	mv "$vmdir/vmlinux.tmp" "$vmdir/vmlinux"
	cp "$kimage/boot/vmlinuz-$kver" "$vmdir/vmlinuz"

	# How the guest reaches the host root: 9p, or virtiofs where the kernel
	# has no 9p (the cloud flavors).
	local share=9p fsmods='9pnet_virtio 9p'
	if ! grep -q '^CONFIG_9P_FS=' "$kimage/boot/config-$kver"; then
		share=virtiofs fsmods=virtiofs
	fi
	# The initramfs: busybox, the modules needed to reach the host root
	# (and a virtio disk with ext4, for scenarios whose root persists), and the init that builds an overlay root on it.
	initrd=$(mktemp -d)
	mkdir -p "$initrd"/{bin,dev,proc,sys,mnt,newroot,lib/modules}
	cp /bin/busybox "$initrd/bin/busybox"
	for applet in sh mount umount mkdir modprobe insmod cat echo sleep poweroff switch_root chroot ln grep sed; do
		ln -s busybox "$initrd/bin/$applet"
	done
	moddir=$kimage/lib/modules/$kver
	mkdir -p "$initrd/lib/modules/$kver"
	needed=$(for m in virtio_pci $fsmods overlay virtio_blk ext4 crc32c_generic; do
		modprobe -d "$kimage" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | sort -u)
	for ko in $needed; do
		rel=${ko#"$moddir"/}
		mkdir -p "$initrd/lib/modules/$kver/$(dirname "$rel")"
		cp "$ko" "$initrd/lib/modules/$kver/$rel"
	done
	cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$initrd/lib/modules/$kver/"
	depmod -b "$initrd" "$kver"
	cp "$repo/tests/vm/guest-init" "$initrd/init"
	chmod +x "$initrd/init"
	(cd "$initrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$vmdir/initramfs.cpio.gz"
	rm -rf "$initrd"
	echo "$kver" >"$vmdir/kver"
	echo "$share" >"$vmdir/share"
	touch "$stamp"
	echo "setup: VM assets for $kver are ready in $vmdir"
}

setup_checkpatch
for k in "${build_kernels[@]}"; do
	setup_headers "$(release "$k")"
done
for k in "${boot_kernels[@]}"; do
	kver=$(release "$k")
	setup_vm "$kver"
	ln -sfn "$kver" "$build/vm/$k"
done
ln -sfn "$default_kver" "$build/vm/default"
