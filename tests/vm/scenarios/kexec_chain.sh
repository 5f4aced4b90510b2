# Six kexecs in a row: each hop adds a node (sizes that are not page
# multiples; every other node sealed with data checksums) and checks every
# earlier node byte for byte against its copy on the host, plus exact pool
# accounting. Hops alternate between pkram-cli kexec and kexec -s.
# PKRAM-VM-TIMEOUT: 600
HOPS=6

chain_hop() {
	local hop=$1 j
	pk_load_module
	pk_expect_eq "hop $hop: the $((hop - 1)) earlier nodes are back" "$((hop - 1))" \
		"$(pk_cli ls --json | jq '.nodes | length')"
	for ((j = 1; j < hop; j++)); do
		pk_cli cat "hop$j" data | cmp - "$PKRAM_RESULTS/hop$j.bin" ||
			pk_fail "node hop$j differs after $((hop - 1)) kexecs"
		if ((j % 2)); then
			pk_cli verify "hop$j" >/dev/null
		fi
	done
	pk_log "ok - hop $hop: every earlier node is byte-exact"
	pk_expect_exact_accounting "hop $hop"
	if ((hop > HOPS)); then
		pk_case kexec_chain "$HOPS" 0 "$HOPS kexecs, each node compared byte for byte after every later hop"
		pk_pass
	fi
	head -c $((hop * 1048576 + hop * 4097)) /dev/urandom >"$PKRAM_RESULTS/hop$hop.bin"
	pk_cli create "hop$hop"
	pk_cli put "hop$hop" data <"$PKRAM_RESULTS/hop$hop.bin"
	if ((hop % 2)); then
		pk_cli seal --checksum "hop$hop"
	else
		pk_cli seal "hop$hop"
	fi
	if ((hop % 2)); then
		pk_cli_kexec $((hop + 1))
	else
		pk_kexec $((hop + 1)) "pkram.handover=$(cat /sys/kernel/pkram/handover)"
	fi
}

for ((hop = 1; hop <= HOPS + 1; hop++)); do
	eval "stage_$hop() { chain_hop $hop; }"
done
