# Real programs from Debian's archive on a pkramfs node, across a real kexec:
# fio writes with crc32c verification headers and, after the kexec, verifies
# every block with --verify_only; sqlite3 builds indexed databases (rollback
# journal and WAL) whose integrity check and content checksum come back
# identical; rsync -aH copies a tree with hard links in and, after the kexec,
# out again, judged by diff -r, link counts and rsync's own itemized
# comparison (content, modes, owners, times).
# PKRAM-VM-CORE: yes
# PKRAM-VM-TIMEOUT: 900

# The fio job, the same on both sides of the kexec: what --verify_only reads
# must be what the write laid out.
fio_job() { # DIR
	cat <<EOF
[global]
directory=$1
verify=crc32c
verify_state_save=0
ioengine=psync
fsync_on_close=1
[sequential]
rw=write
bs=256k
size=32M
[random]
rw=randwrite
bs=4k
size=8M
EOF
}

# A tree with what rsync -aH must keep: hard links (three names), symlinks,
# modes, owners, times, a sparse file, nested and empty directories.
make_tree() { # DIR
	local d=$1
	mkdir -p "$d/a/b/c" "$d/empty" "$d/many"
	head -c 3M /dev/urandom >"$d/a/big"
	ln "$d/a/big" "$d/a/b/big-link"
	ln "$d/a/big" "$d/big-link-2"
	ln -s a/big "$d/sym"
	ln -s ../../big "$d/a/b/c/relsym"
	truncate -s 20M "$d/sparse"
	echo tail | dd of="$d/sparse" bs=1M seek=19 conv=notrunc status=none
	echo owned >"$d/a/b/owned"
	chown 1234:5678 "$d/a/b/owned"
	chmod 0640 "$d/a/b/owned"
	chmod 0700 "$d/a/b/c"
	for i in $(seq 200); do echo "$i" >"$d/many/f$i"; done
	touch -d '2001-02-03 04:05:06' "$d/a/b/owned" "$d/empty"
}

# Builds DB in journal mode MODE: 20,000 rows, an index, updates and deletes
# in transactions.
make_db() { # DB MODE
	sqlite3 "$1" <<EOF
PRAGMA journal_mode=$2;
CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT, h TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO kv SELECT i, hex(randomblob(64)), printf('%08d', (i * 7919) % 20000) FROM c;
CREATE INDEX kv_h ON kv(h);
BEGIN; UPDATE kv SET v = lower(v) WHERE k % 3 = 0; COMMIT;
BEGIN; DELETE FROM kv WHERE k % 17 = 0; COMMIT;
EOF
}

db_check() { # DB [SQLITE3 OPTION...]: integrity, row count, content checksum
	local db=$1
	shift
	sqlite3 "$@" "$db" 'PRAGMA integrity_check; SELECT count(*) FROM kv;'
	sqlite3 "$@" "$db" .dump | md5sum | awk '{print $1}'
}

# What rsync would still change in DEST to make it SRC (nothing: empty).
rsync_differences() { # SRC DEST
	rsync -aHnci --delete "$1/" "$2/"
}

stage_1() {
	pk_load_module
	pk_setup_pkramfs
	mkdir -p /mnt
	mount -t fuse.pkramfs -o pkram=programs none /mnt
	mkdir /mnt/fio /mnt/db

	fio_job /mnt/fio >/tmp/job.fio
	pk_check "fio writes 40 MiB with crc32c headers and verifies them" \
		fio --output="$PKRAM_RESULTS/fio-write.txt" /tmp/job.fio

	make_db /mnt/db/journal.db delete
	make_db /mnt/db/wal.db wal
	local db
	for db in journal wal; do
		db_check "/mnt/db/$db.db" >"$PKRAM_RESULTS/$db.check"
		pk_expect_eq "sqlite3 $db: integrity_check and rows" "ok 18824" \
			"$(head -2 "$PKRAM_RESULTS/$db.check" | tr '\n' ' ' | sed 's/ $//')"
	done
	pk_check "the WAL database is checkpointed into its file (no -wal left)" test ! -e /mnt/db/wal.db-wal

	make_tree /tmp/src
	tar -C /tmp/src --numeric-owner -cf "$PKRAM_RESULTS/src.tar" .
	rsync -aH /tmp/src/ /mnt/rsync/
	pk_check "diff -r finds the rsync copy identical" diff -r --no-dereference /tmp/src /mnt/rsync
	pk_expect_eq "hard links: three names, one inode" "3 3 3" \
		"$(stat -c %h /mnt/rsync/a/big /mnt/rsync/a/b/big-link /mnt/rsync/big-link-2 | tr '\n' ' ' | sed 's/ $//')"
	pk_expect_eq "rsync itemizes no difference (content, modes, owners, times, links)" "" \
		"$(rsync_differences /tmp/src /mnt/rsync)"

	setfattr -n user.pkram.seal -v 1 /mnt
	umount /mnt
	pk_cli_kexec 2
}

stage_2() {
	pk_load_module
	pk_setup_pkramfs
	mkdir -p /mnt /tmp/src
	mount -t fuse.pkramfs -o pkram=programs none /mnt
	pk_expect_eq "the node came back restored, read-only" "restored" \
		"$(getfattr --only-values -n user.pkram.state /mnt)"

	pk_expect_eq "sqlite3 journal: integrity, rows and content checksum after the kexec" \
		"$(cat "$PKRAM_RESULTS/journal.check")" "$(db_check /mnt/db/journal.db -readonly)"
	# SQLite opens a WAL database on a read-only file system only as
	# immutable (it would create its -shm otherwise): the same on tmpfs.
	pk_expect_eq "sqlite3 wal: integrity, rows and content checksum after the kexec" \
		"$(cat "$PKRAM_RESULTS/wal.check")" "$(db_check 'file:/mnt/db/wal.db?immutable=1')"

	tar -C /tmp/src --numeric-owner -xpf "$PKRAM_RESULTS/src.tar"
	pk_check "diff -r finds the tree identical after the kexec" diff -r --no-dereference /tmp/src /mnt/rsync
	pk_expect_eq "rsync itemizes no difference after the kexec" "" "$(rsync_differences /tmp/src /mnt/rsync)"
	rsync -aH /mnt/rsync/ /tmp/back/
	pk_check "diff -r finds the copy out identical" diff -r --no-dereference /tmp/src /tmp/back
	pk_expect_eq "the copy out keeps the hard links" "3 $(stat -c %i /tmp/back/a/big)" \
		"$(stat -c '%h %i' /tmp/back/big-link-2)"
	pk_expect_eq "rsync itemizes no difference in the copy out" "" "$(rsync_differences /tmp/src /tmp/back)"
	umount /mnt

	local db
	# Made writable again, as a user carrying on would: fio verifies every
	# block it wrote before the kexec, and the databases take writes.
	mount -t fuse.pkramfs -o pkram=programs,unseal none /mnt
	fio_job /mnt/fio >/tmp/job.fio
	pk_check "fio --verify_only checks every block written before the kexec" \
		fio --verify_only --output-format=json --output="$PKRAM_RESULTS/fio-verify.json" /tmp/job.fio
	pk_expect_eq "fio verified 40 MiB" "41943040" \
		"$(jq '[.jobs[].read.io_bytes] | add' "$PKRAM_RESULTS/fio-verify.json")"
	for db in journal wal; do
		sqlite3 "/mnt/db/$db.db" "INSERT INTO kv(v, h) VALUES ('after', 'kexec');"
		pk_expect_eq "sqlite3 $db takes writes after the kexec" "ok 18825" \
			"$(sqlite3 "/mnt/db/$db.db" 'PRAGMA integrity_check; SELECT count(*) FROM kv;' | tr '\n' ' ' | sed 's/ $//')"
	done
	umount /mnt
	pk_case posix_programs 2 0 "fio --verify=crc32c then --verify_only, sqlite3 (journal and WAL) integrity and checksum, rsync -aH in and out with hard links, across a real kexec"
	pk_pass
}
