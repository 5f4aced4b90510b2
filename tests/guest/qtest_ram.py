#!/usr/bin/python3
"""Guest RAM through QEMU itself, for the vmm_qemu VM scenario.

usage: qtest_ram.py fill|check|warm SEED RAM_MIB -- COMMAND...

Runs COMMAND (a qemu-system-x86_64 command line, possibly behind
`pkram-cli vm run NODE --`) stopped, with the qtest protocol on stdio, so that
guest memory is read and written by QEMU's own memory API, not behind its
back. fill: memset all RAM above 1 MiB, then write four 1 MiB patterns
derived from SEED. check: read them back and compare, and sample the
memset area. warm: one read, nothing checked (QEMU's own files then
are in the page cache before a measured run). Prints one JSON line: what was checked and the memory
figures (the QEMU process's RSS, the system's Cached and Shmem) before and
after, so the caller can see guest RAM counted once.
"""
import base64
import json
import random
import signal
import subprocess
import sys

MiB = 1 << 20
FILL_BYTE = 0x5A


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0]) * 1024
    return {"cached": out["Cached"], "shmem": out["Shmem"]}


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0]) * 1024
    return out


class Qtest:
    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def cmd(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        while True:
            reply = self.proc.stdout.readline().decode()
            if not reply:
                raise SystemExit(f"qtest_ram: QEMU exited (status {self.proc.wait()}) on: {line[:60]}")
            if reply.startswith("IRQ"):
                continue
            if not reply.startswith("OK"):
                raise SystemExit(f"qtest_ram: QEMU answered {reply.strip()!r} to: {line[:60]}")
            return reply[2:].strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def patterns(seed, ram):
    rng = random.Random(seed)
    for addr in (MiB, ram // 4, ram // 2, ram - MiB):
        yield addr, rng.randbytes(MiB)


def main():
    if len(sys.argv) < 6 or sys.argv[1] not in ("fill", "check", "warm") or sys.argv[4] != "--":
        raise SystemExit(__doc__)
    mode, seed, ram = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) * MiB
    before = meminfo()
    q = Qtest(sys.argv[5:])
    checked = 0
    try:
        if mode == "fill":
            q.cmd(f"memset {MiB:#x} {ram - MiB:#x} {FILL_BYTE:#x}")
            for addr, data in patterns(seed, ram):
                q.cmd(f"b64write {addr:#x} {len(data):#x} {base64.b64encode(data).decode()}")
        if mode == "warm":
            q.cmd(f"readb {MiB:#x}")
        for addr, data in patterns(seed, ram) if mode != "warm" else ():
            got = base64.b64decode(q.cmd(f"b64read {addr:#x} {len(data):#x}"))
            if got != data:
                raise SystemExit(f"qtest_ram: guest RAM at {addr:#x} differs")
            checked += len(data)
        for addr in (2 * MiB, ram // 4 + 2 * MiB, ram - 3 * MiB) if mode != "warm" else ():
            got = int(q.cmd(f"readb {addr:#x}"), 16)
            if got != FILL_BYTE:
                raise SystemExit(f"qtest_ram: guest RAM at {addr:#x} is {got:#x}, not {FILL_BYTE:#x}")
            checked += 1
        proc = status(q.proc.pid)
        after = meminfo()
    finally:
        q.stop()
    print(json.dumps({"mode": mode, "ram_bytes": ram, "checked_bytes": checked, "qemu": proc,
                      "cached_growth": after["cached"] - before["cached"],
                      "shmem_growth": after["shmem"] - before["shmem"]}))


if __name__ == "__main__":
    main()
