#!/usr/bin/env bash
# Installs everything pkram needs on a Debian 12 machine (as root) and prepares
# the VM assets in the build tree: the Debian kernel image that matches the
# installed headers (downloaded, never installed), its ELF vmlinux, its modules
# with a modules.dep, and the guest initramfs. Idempotent; cached in $BUILD/vm.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PKRAM_BUILD_DIR:-$repo/build}
vmdir=$build/vm

packages=(
	build-essential cmake ninja-build pkg-config git
	linux-headers-amd64 kexec-tools qemu-system-x86 busybox-static cpio xz-utils
	dwarves bpftool kmod libbpf-dev libelf-dev zlib1g-dev clang llvm libclang-rt-14-dev
	jq attr python3 systemtap-sdt-dev prometheus libfuse3-dev fuse3 libcli11-dev libgtest-dev
	libgmock-dev nlohmann-json3-dev libboost-dev chromium
	dkms udev systemd e2fsprogs trinity groff-base man-db openssl
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

# The kernel the module is built against is the one linux-headers-amd64 pulls in,
# unless PKRAM_KVER names another installed headers package.
if [[ -z ${PKRAM_KVER:-} ]]; then
	PKRAM_KVER=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
		grep -o 'linux-headers-[^ ,]*' | head -n1 | sed 's/^linux-headers-//')
fi
kver=$PKRAM_KVER
[[ -d /usr/src/linux-headers-$kver ]] || apt-get install -y -q "linux-headers-$kver"

# checkpatch.pl is not in the headers package: take it out of linux-source.
checkpatch=$build/checkpatch
if [[ ! -x $checkpatch/checkpatch.pl ]]; then
	echo "setup: fetching checkpatch.pl from the linux-source package"
	srcpkg=linux-source-$(echo "$kver" | cut -d. -f1-2)
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q "$srcpkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	dpkg-deb -x "$tmp"/"$srcpkg"_*.deb "$tmp/root"
	mkdir -p "$checkpatch"
	tar -xJf "$tmp"/root/usr/src/"$srcpkg".tar.xz -C "$tmp" --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	cp "$tmp"/"$srcpkg"/scripts/{checkpatch.pl,spelling.txt,const_structs.checkpatch} "$checkpatch/"
	rm -rf "$tmp"
fi

mkdir -p "$vmdir"
stamp=$vmdir/assets-$kver.stamp
if [[ -f $stamp && -f $vmdir/vmlinux && -f $vmdir/initramfs.cpio.gz &&
	$stamp -nt $repo/tests/vm/guest-init && $stamp -nt $repo/tests/setup.sh ]]; then
	echo "setup: VM assets for $kver are ready in $vmdir"
	exit 0
fi

kimage=$vmdir/kernel-$kver
if [[ ! -f $kimage/boot/vmlinuz-$kver ]]; then
	echo "setup: fetching linux-image-$kver (not installed, only unpacked)"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q "linux-image-$kver" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
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
ln -sfn "kernel-$kver" "$vmdir/kernel"

# The initramfs: busybox, the modules needed to reach the host root over 9p
# (and a virtio disk with ext4, for scenarios whose root persists), and the init that builds an overlay root on it.
initrd=$(mktemp -d)
mkdir -p "$initrd"/{bin,dev,proc,sys,mnt,newroot,lib/modules}
cp /bin/busybox "$initrd/bin/busybox"
for applet in sh mount umount mkdir modprobe insmod cat echo sleep poweroff switch_root chroot ln grep sed; do
	ln -s busybox "$initrd/bin/$applet"
done
moddir=$kimage/lib/modules/$kver
mkdir -p "$initrd/lib/modules/$kver"
needed=$(for m in virtio_pci 9pnet_virtio 9p overlay virtio_blk ext4 crc32c_generic; do
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
touch "$stamp"
echo "setup: VM assets for $kver are ready in $vmdir"
