#!/usr/bin/env bash
# Regenerates bpf/vmlinux.h from the Debian kernel the VM boots (its BTF):
# run after tests/setup.sh picked up a new kernel. The header is pinned in the
# repository so BPF builds do not depend on the machine's own kernel.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vmlinux=${1:-$repo/build/vm/default/vmlinux}
bpftool btf dump file "$vmlinux" format c >"$repo/bpf/vmlinux.h.tmp"
mv "$repo/bpf/vmlinux.h.tmp" "$repo/bpf/vmlinux.h"
echo "bpf/vmlinux.h regenerated from $vmlinux"
