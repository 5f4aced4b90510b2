#!/usr/bin/env bash
# pkram-cli's documented exit codes and messages, on the host (no module
# needed): 0 success, 1 the operation failed (with a message), 2 bad usage.
set -uo pipefail
cli=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failures=0

expect() { # CODE PATTERN ARGS...
	local code=$1 pattern=$2 out rc
	shift 2
	out=$("$cli" "$@" 2>&1)
	rc=$?
	if [[ $rc != "$code" ]] || ! grep -Eq -- "$pattern" <<<"$out"; then
		echo "FAIL: pkram-cli $* -> exit $rc (want $code), output: $out"
		failures=$((failures + 1))
	else
		echo "ok: pkram-cli $* -> $code"
	fi
}

expect 2 "NODE is required" free
expect 2 "NODE is required" seal
expect 2 "kernel.*File does not exist" kexec --kernel /nonexistent/vmlinuz
expect 2 "syscall.*not in" kexec --kernel /bin/true --syscall bogus
expect 2 "threads" save -j 0 /tmp somenode
expect 2 "size is required" setup
expect 2 "^pkram-cli: unknown command 'frob'; the commands: status ls info .* discard lend reclaim$" frob
expect 2 '^\{"errno":22,"error":"unknown command .frob.; the commands: status' --json frob
expect 2 '^\{"errno":22,"error":"NODE is required"\}$' --json free
expect 1 '^\{"errno":2,"error":"open /nonexistent/pkram \(is the pkram module loaded\?\): No such file' \
	--json --device /nonexistent/pkram status
expect 1 '^\{"errno":2,"error":"open /nonexistent/pkram' free -y x --json --device /nonexistent/pkram
expect 0 "Global options, before the command: --device PATH .*--json" free --help
expect 1 "open /nonexistent/pkram \(is the pkram module loaded\?\)" --device /nonexistent/pkram status
expect 1 "'12Q' is not a size" setup --size 12Q
# shellcheck disable=SC2016 # a regex: the $ is memmap='s literal separator
expect 0 'memmap=64M\$0x47c000000 pkram.pool=64M@0x47c000000' setup --size 64M --memmap "$here/memmap"
expect 0 '"base": 19260243968' --json setup --size 64M --memmap "$here/memmap"
expect 1 "more than half" setup --size 16G --memmap "$here/memmap"
expect 1 "'12Q' is not a size" lend --keep 12Q
expect 1 "open /nonexistent/pkram" --device /nonexistent/pkram setup --size 1G --resize
expect 1 "SIZE must not be 0 \(leave it out for all\)" reclaim 0
for sub in status ls info cat seal verify free create put save restore kexec setup lend reclaim; do
	expect 0 "Usage: .*$sub" "$sub" --help
done
echo "$failures failed"
exit $((failures > 0))
