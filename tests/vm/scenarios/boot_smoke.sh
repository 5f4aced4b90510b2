# The harness itself: boot, reach the overlay root, kexec once, come back.
stage_1() {
	pk_check "host root is visible" test -f "$PKRAM_REPO/tests/vm/guest-lib.sh"
	pk_check "the pool range is reserved" grep -q '30000000-3fffffff : Reserved' /proc/iomem
	echo stage1 >"$PKRAM_RESULTS/stage1"
	pk_kexec 2
}
stage_2() {
	pk_check "results from stage 1 are there" test -f "$PKRAM_RESULTS/stage1"
	pk_pass
}
