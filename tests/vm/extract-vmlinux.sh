#!/usr/bin/env bash
# Prints the ELF vmlinux inside a bzImage; the approach of the kernel tree's
# scripts/extract-vmlinux, which the headers package lacks: find each compressed
# payload's magic, decompress from there, keep the first result that is ELF.
set -uo pipefail
img=$1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

try_decompress() { # magic, same-length marker, decompressor
	local pos
	for pos in $(tr "$1\n$2" "\n$2=" <"$img" | grep -abo "^$2"); do
		pos=${pos%%:*}
		tail -c+"$pos" "$img" | $3 >"$tmp" 2>/dev/null
		if readelf -h "$tmp" >/dev/null 2>&1; then
			cat "$tmp"
			exit 0
		fi
	done
}

try_decompress '\3757zXZ\000' abcde "xz -dc"
try_decompress '(\265/\375' xxx "zstd -dc"
try_decompress '\037\213\010' xy "gzip -dc"
try_decompress '\002!L\030' xxx "lz4 -dc"
echo "extract-vmlinux: no ELF kernel found in $img" >&2
exit 1
