# Randomized corruption with a fixed seed: each iteration saves three nodes,
# unloads the module (its handover token in hand), damages the pool's
# metadata through /dev/mem with one structure-aware mutation
# (tests/guest/corrupt.cpp, mostly with the CRC32C recomputed so the checks
# behind it are reached), and loads the module again with the token: the
# restore path of a new kernel, without the cost of a kexec per case.
# Each iteration must end with: the damaged node rejected with a message
# (or, when the mutation left it valid, restored), every other node restored
# byte for byte (an untouched node may only lose to "overlaps another node"),
# a superblock fault restoring all or nothing (nothing: the pool is held,
# then discarded for the next round), exact pool accounting, and no
# kernel warning (the harness checks the whole log).
# PKRAM-VM-TIMEOUT: 600
ITERATIONS=24
SEED=1128
POOL_BASE=0x30000000
POOL_SIZE=$((256 << 20))
NODES="alpha beta gamma"

make_sources() {
	mkdir -p /tmp/src/alpha /tmp/src/beta /tmp/src/gamma
	head -c 300K /dev/urandom >/tmp/src/alpha/one
	head -c 5000 /dev/urandom >/tmp/src/alpha/two
	# beta: enough entries for a metadata chain of several blocks
	for i in $(seq 1 150); do echo "entry $i" >"/tmp/src/beta/f$i"; done
	head -c 1M /dev/urandom >/tmp/src/gamma/big
	ln -s big /tmp/src/gamma/link
}

failures=0
iteration_failed() { # ITERATION WHY
	failures=$((failures + 1))
	pk_log "not ok - iteration $1: $2"
	echo "iteration $1: FAIL: $2" >>"$PKRAM_RESULTS/corrupt-random.log"
}

one_iteration() {
	local i=$1 n desc target token restored log
	for n in $NODES; do
		if [[ $n == beta ]]; then
			pk_cli save --no-progress --checksum "/tmp/src/$n" "$n" >/dev/null
		else
			pk_cli save --no-progress "/tmp/src/$n" "$n" >/dev/null
		fi
	done
	token=$(cat /sys/kernel/pkram/handover)
	rmmod pkram
	desc=$("$PKRAM_BUILD/tests/pkram_corrupt" "$POOL_BASE" "$POOL_SIZE" $((SEED + i)))
	target=${desc#target=}
	target=${target%% *}
	dmesg -C
	pk_load_module "handover=$token"
	log=$(dmesg)
	restored=$(pk_cli ls --json | jq -r '[.nodes[].name] | join(" ")')
	echo "iteration $i: $desc -> restored: ${restored:-none}" >>"$PKRAM_RESULTS/corrupt-random.log"
	if [[ $target == super ]]; then
		if [[ -n $restored && $restored != "$NODES" ]]; then
			iteration_failed "$i" "superblock fault ($desc) restored only '$restored'"
		elif [[ -z $restored ]] && ! grep -q 'stale pool kept untouched\|rejected' <<<"$log"; then
			iteration_failed "$i" "superblock fault ($desc): nothing restored and no message"
		fi
	fi
	# A pool the superblock fault made stale is held: discarded for the next round.
	pk_discard_stale
	for n in $NODES; do
		if [[ " $restored " == *" $n "* ]]; then
			[[ $n == "$target" ]] && continue
			rm -rf /tmp/out
			if ! pk_cli restore --no-progress "$n" /tmp/out >/dev/null 2>&1 || ! diff -r "/tmp/src/$n" /tmp/out >/dev/null; then
				iteration_failed "$i" "node $n was not the target ($desc) but its tree differs"
			fi
		elif [[ $n == "$target" ]]; then
			grep -Eq "node ('$n'|[0-9]+ of the handover .*) rejected: " <<<"$log" ||
				iteration_failed "$i" "target $n not restored and no message names it ($desc)"
		elif [[ $target != super ]] && ! grep -q "node '$n' rejected: .*overlaps another node" <<<"$log"; then
			iteration_failed "$i" "node $n was not the target ($desc) but is lost"
		fi
	done
	pk_accounting_is_exact || iteration_failed "$i" "pool accounting is off after $desc"
	for n in $restored; do
		pk_cli free -y "$n" >/dev/null
	done
	[[ $(pk_cli status --json | jq .pool.used_bytes) == 8192 ]] || # the superblock and its shadow
		iteration_failed "$i" "pages leaked after freeing every node ($desc)"
}

stage_1() {
	pk_load_module
	make_sources
	: >"$PKRAM_RESULTS/corrupt-random.log"
	local i
	for ((i = 1; i <= ITERATIONS; i++)); do
		one_iteration "$i"
	done
	cat "$PKRAM_RESULTS/corrupt-random.log"
	pk_log "kinds: $(sed -n 's/.*kind=\([a-z-]*\).*/\1/p' "$PKRAM_RESULTS/corrupt-random.log" | sort | uniq -c | tr -s ' \n' ' ')"
	pk_case corrupt_random "$ITERATIONS" "$failures" "seed $SEED: one mutation of the pool's metadata per iteration, module reloaded with the token"
	pk_expect_eq "every randomized corruption was handled" 0 "$failures"
	pk_pass
}
