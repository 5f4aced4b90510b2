# Fuzzing the real module in the guest: the structure-aware ioctl fuzzer
# (tests/guest/ioctl_fuzz.cpp) for a fixed time, then Debian's trinity aimed
# at /dev/pkram (ioctl, read, write, mmap and friends on its fds). No kernel
# warning (the harness checks), the pool accounting exact afterwards, a sealed
# bystander node intact, and after a kexec the pool still hands over.
# PKRAM-VM-TIMEOUT: 600
FUZZ_SECONDS=30
FUZZ_SEED=1128
TRINITY_SYSCALLS=5000

stage_1() {
	pk_load_module
	mkdir -p /tmp/keep
	head -c 2M /dev/urandom >/tmp/keep/data
	pk_cli save --checksum /tmp/keep keep
	md5sum </tmp/keep/data >"$PKRAM_RESULTS/md5-keep"
	local rc=0
	"$PKRAM_BUILD/tests/pkram_ioctl_fuzz" "$FUZZ_SECONDS" "$FUZZ_SEED" >"$PKRAM_RESULTS/ioctl-fuzz.json" || rc=$?
	jq -cM '{calls, nodes_left_to_free, ok: [.outcomes | to_entries[] | {(.key): .value.ok}] | add}' \
		"$PKRAM_RESULTS/ioctl-fuzz.json"
	pk_case ioctl_fuzz "$(jq .calls "$PKRAM_RESULTS/ioctl-fuzz.json")" "$rc" \
		"structure-aware ioctl/io/mmap sequences for ${FUZZ_SECONDS}s, seed $FUZZ_SEED"
	pk_expect_eq "the ioctl fuzzer freed everything it made" 0 "$rc"
	pk_expect_exact_accounting "after the ioctl fuzzer"
	pk_expect_eq "only the bystander is left" keep "$(pk_cli ls --json | jq -r '[.nodes[].name] | join(" ")')"

	# trinity refuses to run as root without --dangerous; -V keeps its file
	# descriptors to /dev/pkram, and the other fd providers are off.
	cd /tmp || pk_fail "no /tmp"
	rc=0
	trinity --dangerous -q -V /dev/pkram -C 2 -N "$TRINITY_SYSCALLS" \
		--disable-fds=sockets,pipes,perf,epoll,eventfd,timerfd,testfile,memfd,drm \
		-c ioctl -c read -c write -c pread64 -c pwrite64 -c lseek -c mmap -c munmap -c fsync \
		>"$PKRAM_RESULTS/trinity.log" 2>&1 || rc=$?
	tail -n 5 "$PKRAM_RESULTS/trinity.log"
	pk_check "trinity opened /dev/pkram" grep -q '/dev/pkram\|Added 1 filenames' "$PKRAM_RESULTS/trinity.log"
	pk_case trinity "$TRINITY_SYSCALLS" 0 "trinity -V /dev/pkram, $TRINITY_SYSCALLS syscalls (exit $rc)"
	pk_expect_exact_accounting "after trinity"
	pk_cli verify keep
	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	pk_expect_eq "the bystander survives the fuzzing and a kexec" "$(cat "$PKRAM_RESULTS/md5-keep")" \
		"$(pk_cli cat keep data | md5sum)"
	pk_expect_exact_accounting "after the kexec"
	pk_pass
}
