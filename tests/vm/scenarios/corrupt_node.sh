# A node whose metadata was damaged between the kernels is rejected with a
# message naming it and the reason; the other nodes are restored intact and
# the damaged node's pages go back to the pool. Damaged *data* is not checked
# at restore (that stays O(metadata)); verify finds it when the node was
# sealed with checksums. The superblock's primary copy, torn as a kexec in
# the middle of a commit leaves it, is replaced by its shadow (page 1).
POOL_BASE=$((0x30000000))

fmt() { # NAME: an offset of the format (fmt_super_node, ...), from its header
	"$PKRAM_BUILD/tests/pkram_corrupt" layout | sed -n "s/^$1=//p"
}

pool_uint() { # BYTES OFFSET: the little-endian integer at a pool offset
	dd if=/dev/mem bs=1 skip=$((POOL_BASE + $2)) count="$1" status=none | od -An -t "u$1" | tr -d ' '
}

stage_1() {
	pk_load_module
	for n in alpha beta gamma; do
		mkdir -p "/tmp/$n"
		head -c 1M /dev/urandom >"/tmp/$n/data"
	done
	# beta has enough entries for its metadata to span several blocks
	for i in $(seq 1 300); do echo "$i" >"/tmp/beta/f$i"; done
	mkdir -p /tmp/delta
	printf 'PKRAM-DELTA-MARKER\n%.0s' {1..3000} >/tmp/delta/marked
	for n in alpha beta; do pk_cli save "/tmp/$n" "$n"; done
	pk_cli save --checksum /tmp/gamma gamma
	pk_cli save --checksum /tmp/delta delta
	(cd /tmp && md5sum alpha/data gamma/data >"$PKRAM_RESULTS/sums")
	pk_cli info beta --json | jq .meta_bytes >"$PKRAM_RESULTS/beta-meta"
	pk_check "beta's metadata spans blocks" test "$(cat "$PKRAM_RESULTS/beta-meta")" -gt 4096
	pk_cli_kexec 2
}

stage_2() {
	# Before the module loads, damage the second metadata block of beta (node 1).
	pk_expect_eq "superblock lists four nodes" 4 "$(pool_uint 4 "$(fmt fmt_super_nr_nodes)")"
	local head second page
	head=$(pool_uint 8 $(($(fmt fmt_super_node) + 8))) # node[1]: beta
	second=$(pool_uint 8 $((head + $(fmt fmt_block_next))))
	pk_check "beta's chain has a second block" test "$second" -gt 0
	printf '\x5a' | dd of=/dev/mem bs=1 seek=$((POOL_BASE + second + $(fmt fmt_block_payload) + 168)) conv=notrunc status=none
	# and one byte of delta's data
	local marker
	dd if=/dev/mem of=/tmp/pool.img bs=1M skip=$((POOL_BASE >> 20)) count=256 status=none
	marker=$(grep -obUa -m1 PKRAM-DELTA-MARKER /tmp/pool.img | cut -d: -f1)
	rm /tmp/pool.img
	pk_check "delta's data is in the pool" test -n "$marker"
	printf 'X' | dd of=/dev/mem bs=1 seek=$((POOL_BASE + marker)) conv=notrunc status=none
	# and tear the superblock's primary: its second half overwritten
	page=$(fmt fmt_page_size)
	head -c $((page / 2)) /dev/zero | tr '\0' 'Z' |
		dd of=/dev/mem bs=1 seek=$((POOL_BASE + page / 2)) conv=notrunc status=none
	pk_load_module
	pk_check "the torn primary superblock is replaced by its shadow" \
		grep -q "pkram: the superblock's primary copy is damaged (checksum mismatch): restored from its shadow" <(dmesg)
	pk_check "the kernel names the node and the reason" \
		grep -Eq "pkram: node 'beta' rejected: metadata block 1 at offset 0x[0-9a-f]+: checksum mismatch" <(dmesg)
	pk_expect_eq "the other nodes are restored" "alpha gamma delta" \
		"$(pk_cli ls --json | jq -r '[.nodes[].name] | join(" ")')"
	pk_expect_eq "status counts the rejection" "3 1" \
		"$(pk_cli status --json | jq -r '"\(.pool.restored_nodes) \(.pool.rejected_nodes)"')"
	mkdir -p /tmp/alpha /tmp/gamma
	pk_cli restore alpha /tmp/alpha
	pk_cli restore gamma /tmp/gamma
	pk_expect_eq "their data is intact" "$(cat "$PKRAM_RESULTS/sums")" \
		"$(cd /tmp && md5sum alpha/data gamma/data)"
	pk_expect_exact_accounting "beta's pages are free again: used = superblock + the other nodes"
	pk_cli verify gamma
	pk_expect_fail "verify finds the damaged data" "delta: [0-9]+ extents, .* checked: 1 bad extents in 1 objects" \
		bash -c "$PKRAM_BUILD/cli/pkram-cli verify delta >&2"
	pk_expect_fail "verify of a node sealed without checksums" "not sealed with data checksums" \
		pk_cli verify alpha
	pk_case corrupt_node 3 0 "chosen damage between kernels: a metadata block of one node (rejected, others intact), data under a checksum (verify finds it), a torn superblock (its shadow stands in)"
	pk_pass
}
