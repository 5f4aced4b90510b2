#!/usr/bin/env bash
# Prints the kernel release a kernel name stands for, from Debian's
# metapackages (the one rule for it; setup.sh and CMake both ask here):
#   default        what linux-headers-amd64 pulls in (the 6.1 line)
#   6.1[-FLAVOR]   Debian 12's own line: linux-headers-FLAVOR-amd64
#   6.12[-FLAVOR]  the 6.12 line Debian 12 also carries: linux-headers-6.12-FLAVOR-amd64
#   a full release (e.g. 6.12.117+deb12-amd64) stands for itself.
# FLAVOR is cloud or rt. Needs the package lists (apt-get update) for 6.12.
set -euo pipefail
name=${1:?usage: release.sh default|6.1|6.12[-cloud|-rt]|RELEASE}
case $name in
default | 6.1) meta=linux-headers-amd64 ;;
6.1-cloud | 6.1-rt) meta=linux-headers-${name#6.1-}-amd64 ;;
6.12) meta=linux-headers-6.12-amd64 ;;
6.12-cloud | 6.12-rt) meta=linux-headers-6.12-${name#6.12-}-amd64 ;;
*-amd64) echo "$name"; exit 0 ;;
*) echo "release.sh: unknown kernel '$name' (default, 6.1, 6.12, with -cloud or -rt)" >&2; exit 2 ;;
esac
# An installed metapackage answers without the package lists.
dep=$(dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null ||
	apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: //p' || true)
rel=$(grep -o 'linux-headers-[0-9][^ ,]*' <<<"$dep" | head -n1 | sed 's/^linux-headers-//')
[[ -n $rel ]] || { echo "release.sh: cannot resolve '$name' through $meta (run apt-get update)" >&2; exit 1; }
echo "$rel"
