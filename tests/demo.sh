#!/usr/bin/env bash
# The demo: installs what is missing, builds, and boots the Debian kernel in
# QEMU with its console on this terminal. In the guest a 64 MiB file is saved
# into a pkram node and sealed, the kernel kexecs into a new one, and the node
# is found again and restored with the same md5.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash tests/setup.sh
cmake --preset ci >/dev/null
cmake --build --preset ci
# The guest boots quietly (its scenario asks for it): the story, then
# pkram's own kernel lines once. Progress bars only on a terminal.
host_tty=()
[[ -t 1 ]] && host_tty=(-a pkramtest.host_tty=1)
exec tests/vm/run-scenario.sh -v "${host_tty[@]}" demo
