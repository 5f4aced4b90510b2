# Every pkram-cli subcommand against the real module, and a tree with every
# file type saved on 4 threads, carried across a real kexec and restored on 4
# threads exactly: content, sparseness, modes, owners, times, hard links,
# symlinks, FIFOs, sockets, device nodes and extended attributes.

# One line per entry: everything save/restore promises to keep (not atime:
# reading changes it), plus content hashes, allocated blocks of the sparse
# file, hard-link groups and xattrs.
manifest() { # DIR
	(
		cd "$1" || exit 1
		find . -mindepth 1 -printf '%p type=%y mode=%m uid=%U gid=%G size=%s mtime=%T@ link=%l nlink=%n\n' | sort
		find . -type f -exec md5sum {} + | sort -k2
		stat -c '%n blocks=%b' ./sparse
		echo "hardlink-same-inode=$([[ $(stat -c %i ./big) == $(stat -c %i ./dir/big-hardlink) ]] && echo yes)"
		getfattr -R -d -m - -h -e hex . 2>/dev/null
	)
}

make_tree() { # DIR
	local d=$1
	mkdir -p "$d/dir/nested/deeper" "$d/many"
	head -c 5M /dev/urandom >"$d/big"
	truncate -s 100M "$d/sparse"
	head -c 1M /dev/urandom | dd of="$d/sparse" bs=1M seek=50 conv=notrunc status=none
	: >"$d/empty"
	echo secret >"$d/dir/nested/file"
	chmod 4751 "$d/dir/nested/file"
	chown 1234:5678 "$d/dir/nested/file"
	ln "$d/big" "$d/dir/big-hardlink"
	ln -s ../big "$d/dir/symlink"
	ln -s /nonexistent/absolute "$d/dangling"
	mkfifo "$d/fifo"
	mknod "$d/chardev" c 1 3
	mknod "$d/blockdev" b 7 0
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/socket"
	for i in $(seq 1 300); do echo "$i" >"$d/many/f$i"; done
	setfattr -n trusted.pkram -v 0x00ff10 "$d/big"
	setfattr -n trusted.note -v hello "$d/dir"
	touch -d '2001-02-03 04:05:06.123456789' "$d/dir/nested/file"
	touch -h -d '2002-03-04 05:06:07.5' "$d/dir/symlink"
	touch -d '2003-04-05 06:07:08' "$d/dir/nested/deeper" "$d/dir"
}

stage_1() {
	pk_load_module
	make_tree /tmp/src
	manifest /tmp/src >"$PKRAM_RESULTS/manifest-before"
	pk_cli save -j 4 --checksum /tmp/src tree
	pk_cli verify tree
	pk_expect_eq "info lists every entry" "$(find /tmp/src -mindepth 1 | wc -l)" \
		"$(pk_cli info tree --json | jq '.objects | length')"
	pk_expect_eq "cat prints a file's data" "$(md5sum </tmp/src/big)" "$(pk_cli cat tree big | md5sum)"
	pk_expect_eq "cat --bytes prints its metadata" "file" "$(pk_cli cat --bytes tree big | jq -r .type)"
	pk_cli create scratch
	echo "put works" | pk_cli put scratch note
	pk_expect_eq "put then cat" "put works" "$(pk_cli cat scratch note)"
	pk_cli seal --checksum scratch
	pk_expect_eq "seal --checksum" "true" "$(pk_cli info scratch --json | jq .data_checksums)"
	pk_expect_fail "a sealed node takes no puts" "Read-only file system" \
		bash -c "echo x | $PKRAM_BUILD/cli/pkram-cli put scratch other"
	pk_expect_fail "free without -y off a terminal" "pass -y" pk_cli free scratch </dev/null
	pk_cli free -y scratch
	pk_expect_fail "bad node names are refused" "Invalid argument" pk_cli create 'a/b'
	pk_expect_fail "usage errors say so" "NODE is required" pk_cli free
	local plan
	plan=$(pk_cli setup --size 128M --json)
	# shellcheck disable=SC2016 # a regex: the $ is memmap='s literal separator
	pk_check "setup proposes a range" grep -q 'memmap=128M\$0x' <<<"$(jq -r .kernel_args <<<"$plan")"
	pk_expect_fail "setup explains when nothing fits" "more than half" pk_cli setup --size 1536M
	pk_cli kexec --kernel "$PKRAM_VM/vmlinuz" --dry-run --reuse-cmdline | grep -q -- "-s' '-l'" ||
		pk_fail "kexec --dry-run shows kexec -s -l"
	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	pk_cli status
	pk_cli verify tree
	pk_cli restore -j 4 tree /tmp/src
	manifest /tmp/src >"$PKRAM_RESULTS/manifest-after"
	if ! diff -u "$PKRAM_RESULTS/manifest-before" "$PKRAM_RESULTS/manifest-after"; then
		pk_fail "the restored tree differs (diff above)"
	fi
	pk_log "ok - the restored tree is identical ($(wc -l <"$PKRAM_RESULTS/manifest-after") manifest lines)"
	pk_expect_fail "restoring over an existing tree refuses" "File exists" pk_cli restore tree /tmp/src
	pk_pass
}
