#!/usr/bin/env bash
# Builds the .deb with CPack and checks what it carries: the binaries, the
# module source DKMS builds, the units, the udev rule, the man pages, the
# maintainer scripts, and the dependencies. The VM test package_install then
# installs this same file into a guest.
# usage: check-deb.sh BUILD_DIR
set -euo pipefail
build=$1
rm -f "$build"/packages/pkram_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/packages/pkram_*_amd64.deb)
contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
fail=0
expect_file() {
	if grep -qx -- "$1" <<<"$contents"; then
		echo "ok - $1"
	else
		echo "FAIL - $1 is not in $(basename "$deb")"
		fail=1
	fi
}
version=$(dpkg-deb -f "$deb" Version)
for f in /usr/bin/pkram-cli /usr/bin/pkramfs /usr/bin/pkram-trace /usr/bin/pkram-dash \
	"/usr/src/pkram-$version/dkms.conf" "/usr/src/pkram-$version/Kbuild" \
	"/usr/src/pkram-$version/pkram_node.c" "/usr/src/pkram-$version/format/pkram_format.c" \
	"/usr/src/pkram-$version/include/uapi/linux/pkram.h" \
	/lib/systemd/system/pkram.service /lib/systemd/system/pkram.mount \
	/lib/systemd/system/pkram-kexec-load.service /lib/udev/rules.d/60-pkram.rules \
	/etc/default/pkram /usr/share/man/man8/pkram-cli.8.gz /usr/share/man/man8/pkramfs.8.gz \
	/usr/share/man/man8/pkram-trace.8.gz /usr/share/doc/pkram/copyright /usr/share/doc/pkram/README.md; do
	expect_file "$f"
done
if grep -q "/usr/src/pkram-$version/format/host\|CMakeLists.txt" <<<"$contents"; then
	echo "FAIL - host-only files in the DKMS source"
	fail=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst prerm postrm; do
	if [[ -x $tmp/control/$s ]] && sh -n "$tmp/control/$s"; then
		echo "ok - $s is an executable, parseable shell script"
	else
		echo "FAIL - $s"
		fail=1
	fi
done
if grep -qx /etc/default/pkram "$tmp/control/conffiles"; then
	echo "ok - /etc/default/pkram is a conffile"
else
	echo "FAIL - /etc/default/pkram is not a conffile"
	fail=1
fi
depends=$(dpkg-deb -f "$deb" Depends)
for d in dkms kexec-tools fuse3 libfuse3-3 libbpf1; do
	if grep -q "\b$d\b" <<<"$depends"; then
		echo "ok - depends on $d"
	else
		echo "FAIL - no dependency on $d"
		fail=1
	fi
done
# The man pages render without warnings; the units parse.
dpkg-deb -x "$deb" "$tmp/root"
for page in "$tmp"/root/usr/share/man/man8/*.8.gz; do
	if warnings=$(zcat "$page" | groff -man -ww -z 2>&1) && [[ -z $warnings ]]; then
		echo "ok - $(basename "$page") renders cleanly"
	else
		echo "FAIL - $(basename "$page"): $warnings"
		fail=1
	fi
done
# Any complaint fails, but the binaries not being installed on this host.
out=$(systemd-analyze verify --man=no \
	"$tmp"/root/lib/systemd/system/pkram{.service,.mount,-kexec-load.service} 2>&1 |
	grep -v 'Command /usr/bin/pkram-cli is not executable' || true)
if [[ -z $out ]]; then
	echo "ok - systemd-analyze verify finds nothing wrong in the units"
else
	echo "FAIL - systemd-analyze verify: $out"
	fail=1
fi
echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"
exit $fail
