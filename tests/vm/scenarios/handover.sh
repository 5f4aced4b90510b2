# The handover token decides: with it sealed nodes come back (and hand over
# again on the next kexec), without it the pool is stale and nothing is
# restored. pkram-cli kexec carries the token; free returns every page. A
# node over the restore's kernel memory budget is rejected, not an OOM.
# PKRAM-VM-CORE: yes
stage_1() {
	pk_load_module
	pk_expect_fail "the handover token is root's only" "Permission denied" \
		setpriv --reuid=65534 --regid=65534 --clear-groups cat /sys/kernel/pkram/handover
	pk_expect_eq "a fresh pool is not reported stale" "false false" \
		"$(pk_cli status --json | jq -r '"\(.pool.stale_pool_discarded) \(.pool.stale_pool_held)"')"
	mkdir -p /tmp/a /tmp/b/sub
	head -c 3M /dev/urandom >/tmp/a/three-megs
	echo hello >/tmp/b/sub/hello
	ln -s sub/hello /tmp/b/link
	pk_cli save /tmp/a alpha
	pk_cli save /tmp/b beta
	(cd /tmp && find a b -type f -exec md5sum {} + | sort >"$PKRAM_RESULTS/sums")
	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	pk_expect_eq "both nodes restored" "alpha:restored beta:restored" \
		"$(pk_cli ls --json | jq -r '[.nodes[] | "\(.name):\(.state)"] | join(" ")')"
	mkdir -p /tmp/a /tmp/b
	pk_cli restore alpha /tmp/a
	pk_cli restore beta /tmp/b
	pk_expect_eq "contents identical" "$(cat "$PKRAM_RESULTS/sums")" \
		"$(cd /tmp && find a b -type f -exec md5sum {} + | sort)"
	pk_expect_eq "symlink restored" "sub/hello" "$(readlink /tmp/b/link)"
	used_before=$(pk_cli status --json | jq .pool.used_bytes)
	beta_bytes=$(pk_cli info beta --json | jq '.data_bytes + .meta_bytes')
	pk_cli free -y beta
	pk_expect_eq "free returns the node's data and metadata pages" "$((used_before - beta_bytes))" \
		"$(pk_cli status --json | jq .pool.used_bytes)"
	pk_expect_fail "free of a missing node" "free node 'beta': No such file or directory" pk_cli free -y beta
	# Restored nodes hand over again: kexec with the token once more.
	pk_cli_kexec 3
}

stage_3() {
	pk_load_module
	pk_expect_eq "alpha survived a second kexec" "alpha:restored" \
		"$(pk_cli ls --json | jq -r '[.nodes[] | "\(.name):\(.state)"] | join(" ")')"
	pk_expect_eq "generation counts handovers" "2" "$(pk_cli status --json | jq .pool.generation)"
	# A node whose restore needs more kernel memory than the restore may
	# take is rejected with a message; the others come back.
	"$PKRAM_BUILD/tests/pkram_bench" objects many 20000 >/dev/null
	local token
	token=$(cat /sys/kernel/pkram/handover)
	rmmod pkram
	pk_load_module "handover=$token" restore_mem_mb=1
	pk_check "the kernel log says which node and why" \
		grep -Eq "pkram: node 'many' rejected: it needs more kernel memory than is left \([0-9]+ KiB\) of the 1 MiB a restore may take \(pkram.restore_mem_mb\)" <(dmesg)
	pk_expect_eq "the node within the budget is restored" "alpha:restored" \
		"$(pk_cli ls --json | jq -r '[.nodes[] | "\(.name):\(.state)"] | join(" ")')"
	pk_expect_exact_accounting "the rejected node's pages are free"
	# Now a kexec that is not told the token.
	pk_kexec 4
}

stage_4() {
	pk_load_module
	pk_expect_eq "without the token nothing is restored" "0" \
		"$(pk_cli status --json | jq '.nodes | length')"
	pk_expect_eq "the stale pool is held" "true" \
		"$(pk_cli status --json | jq -r .pool.stale_pool_held)"
	pk_check "the kernel log says why" grep -q 'stale pool kept untouched: no handover token' <(dmesg)
	pk_expect_fail "no node can be created while it is held" "a stale pool is held" pk_cli create scratch
	pk_expect_fail "discard asks, and refuses without a terminal" "pass -y" pk_cli discard </dev/null
	pk_cli discard -y
	pk_expect_eq "after discard the pool is free and says so" "false true" \
		"$(pk_cli status --json | jq -r '"\(.pool.stale_pool_held) \(.pool.stale_pool_discarded)"')"
	pk_check "the kernel log says it was discarded on request" grep -q 'stale pool discarded on request' <(dmesg)
	pk_expect_fail "a second discard has nothing to do" "no stale pool is held" pk_cli discard -y
	mkdir -p /tmp/after && echo after >/tmp/after/f
	pk_cli save /tmp/after after
	pk_expect_exact_accounting "a discarded pool starts empty"
	pk_case no_token 1 0 "a kexec without the handover argument restores nothing, holds the pool; discard frees it"
	pk_pass
}
