#!/usr/bin/env bash
# Runs every test: installs what is missing (tests/setup.sh), builds all
# userspace and pkram.ko, then runs ctest: host unit tests and the VM
# scenarios, which boot the real Debian kernel in QEMU and kexec it.
# Exits non-zero when anything fails.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash tests/setup.sh
start=$(date +%s)
cmake --workflow --preset ci
echo "run-all: every test passed in $(($(date +%s) - start))s"
