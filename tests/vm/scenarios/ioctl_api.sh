# The GoogleTest suite for the ioctl ABI, run in the guest against the real module.
stage_1() {
	pk_load_module
	"$PKRAM_BUILD/tests/pkram_guest_tests" --gtest_output="xml:$PKRAM_RESULTS/ioctl_test.xml" ||
		pk_fail "pkram_guest_tests failed"
	pk_check "the module unloads cleanly afterwards" rmmod pkram
	pk_pass
}
