# The VMM fast-restart case: guest memory lives in a pool object mapped
# MAP_SHARED; it is sealed, survives kexec, is reopened for writing in place
# (no copy), changed through the mapping, sealed again and survives a second
# kexec. Also: reloading the module in the same kernel with its current token
# restores the sealed nodes (a module upgrade without kexec).
vmm() { "$PKRAM_BUILD/tests/pkram_vmm_sim" "$@"; }

stage_1() {
	pk_load_module
	pk_check "a VMM maps, fills and seals 96 MiB of guest RAM" vmm create vm0 96 11
	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	pk_check "guest RAM is intact after kexec" vmm check vm0 11
	pk_check "the restored node reopens for writing in place and seals again" vmm resume vm0 11 22
	pk_check "data checksums match" pk_cli verify vm0
	local token
	token=$(cat /sys/kernel/pkram/handover)
	rmmod pkram
	pk_load_module "handover=$token"
	pk_expect_eq "a reload told the current token restores the node" "vm0:restored" \
		"$(pk_cli ls --json | jq -r '[.nodes[] | "\(.name):\(.state)"] | join(" ")')"
	pk_cli_kexec 3
}

stage_3() {
	pk_load_module
	pk_check "the second generation of guest RAM survived" vmm check vm0 22
	pk_check "data checksums match" pk_cli verify vm0
	pk_pass
}
