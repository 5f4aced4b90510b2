#!/bin/sh
# Builds pkram.ko in SRC against the kernel headers in KDIR with W=1; any
# compiler warning fails the build (Kbuild itself only reports them).
# usage: build-one.sh KDIR SRC
set -eu
log=$2/build.log
make -C "$1" M="$2" W=1 modules >"$log" 2>&1 || { cat "$log"; exit 1; }
cat "$log"
if grep -q 'warning:' "$log"; then
	echo "build-one: $1: the module build printed warnings" >&2
	exit 1
fi
