#!/usr/bin/python3
"""Guest RAM through QEMU itself, for the vmm_qemu VM scenario.

usage: qtest_ram.py fill|check|warm SEED RAM_MIB [--disk DEVICE] -- COMMAND...
       qtest_ram.py disk-image SEED PATH
       qtest_ram.py mark|ready SEED -- COMMAND...

Runs COMMAND (a qemu-system-x86_64 command line, possibly behind
`pkram-cli vm run NODE --`) stopped, with the qtest protocol on stdio, so that
guest memory is read and written by QEMU's own memory API, not behind its
back. fill: memset all RAM above 1 MiB, then write four 1 MiB patterns
derived from SEED. check: read them back and compare, and sample the
memset area. --disk DEVICE: COMMAND has DEVICE as its first IDE disk
(cache=none: QEMU opens it O_DIRECT; check takes any name); fill then has the IDE controller DMA
DISK_BYTES from it into guest RAM at DISK_ADDR, so the disk read lands in
guest RAM by direct I/O (QEMU's block layer bounces only misaligned buffers),
and check expects those bytes there. disk-image writes the disk's contents
for SEED. mark writes one 1 MiB pattern at 1 MiB (any RAM size: clear of
the PCI hole); ready times a QEMU from its start to reading that pattern
back (the bench's "QEMU running on the restored RAM"). warm: one read, nothing checked (QEMU's own files then
are in the page cache before a measured run). Prints one JSON line: what was checked and the memory
figures (the QEMU process's RSS, the system's Cached and Shmem) before and
after, so the caller can see guest RAM counted once.
"""
import base64
import json
import random
import os
import signal
import struct
import subprocess
import sys
import time

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


# A 128 KiB READ DMA (256 sectors, two 64 KiB PRD entries) into guest RAM at
# 8 MiB, clear of the patterns and samples; the PRD table at 64 KiB.
DISK_ADDR, DISK_BYTES, PRDT_ADDR = 8 * MiB, 128 << 10, 64 << 10
IDE_CONFIG = 0x80000000 | (1 << 11) | (1 << 8)  # bus 0, PIIX3 IDE: device 1, function 1
BMDMA_PORT, IDE_PORT = 0xC000, 0x1F0
ATA_READ_DMA, ATA_LBA = 0xC8, 0x40
BM_START, BM_TO_MEMORY, BM_ACTIVE, BM_ERROR, BM_INTR = 0x1, 0x8, 0x1, 0x2, 0x4
ATA_BSY, ATA_DRDY, ATA_ERR = 0x80, 0x40, 0x01


def disk_bytes(seed):
    return random.Random(seed * 7919).randbytes(DISK_BYTES)


def pci_config_write(q, reg, value):
    q.cmd(f"outl 0xcf8 {IDE_CONFIG | reg:#x}")
    q.cmd(f"outl 0xcfc {value:#x}")


def dma_from_disk(q):
    """READ DMA of DISK_BYTES from sector 0 into DISK_ADDR, as a driver would."""
    pci_config_write(q, 0x20, BMDMA_PORT | 1)  # BAR4: the bus-master registers
    pci_config_write(q, 0x04, 0x7)  # I/O, memory, bus master
    half = DISK_BYTES // 2
    prdt = struct.pack("<IIII", DISK_ADDR, half, DISK_ADDR + half, half | 0x80000000)
    q.cmd(f"b64write {PRDT_ADDR:#x} {len(prdt):#x} {base64.b64encode(prdt).decode()}")
    q.cmd(f"outb {IDE_PORT + 6:#x} {ATA_LBA:#x}")
    q.cmd(f"outb {BMDMA_PORT:#x} 0x0")
    q.cmd(f"outb {BMDMA_PORT + 2:#x} {BM_INTR | BM_ERROR:#x}")
    q.cmd(f"outl {BMDMA_PORT + 4:#x} {PRDT_ADDR:#x}")
    q.cmd(f"outb {IDE_PORT + 2:#x} {DISK_BYTES // 512 % 256:#x}")  # 0 means 256
    for reg in (3, 4, 5):
        q.cmd(f"outb {IDE_PORT + reg:#x} 0x0")
    q.cmd(f"outb {IDE_PORT + 7:#x} {ATA_READ_DMA:#x}")
    q.cmd(f"outb {BMDMA_PORT:#x} {BM_START | BM_TO_MEMORY:#x}")
    deadline = time.monotonic() + 60
    while True:
        bm = int(q.cmd(f"inb {BMDMA_PORT + 2:#x}"), 16)
        if bm & BM_INTR or not bm & BM_ACTIVE:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"qtest_ram: the disk DMA did not finish in 60 s (bus master status {bm:#x})")
        time.sleep(0.01)
    q.cmd(f"outb {BMDMA_PORT:#x} 0x0")
    ata = int(q.cmd(f"inb {IDE_PORT + 7:#x}"), 16)
    if bm & BM_ERROR or ata & (ATA_BSY | ATA_ERR) or not ata & ATA_DRDY:
        error = int(q.cmd(f"inb {IDE_PORT + 1:#x}"), 16)
        raise SystemExit(f"qtest_ram: the disk DMA failed: bus master status {bm:#x}, "
                         f"ATA status {ata:#x}, error {error:#x}")


def opened_direct(pid, device):
    """Whether QEMU has DEVICE open with O_DIRECT (cache=none)."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != device:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags = next(int(line.split()[1], 8) for line in f if line.startswith("flags:"))
        except OSError:
            continue
        if flags & os.O_DIRECT:
            return True
    return False


def patterns(seed, ram):
    rng = random.Random(seed)
    for addr in (MiB, ram // 4, ram // 2, ram - MiB):
        yield addr, rng.randbytes(MiB)


def mark_or_ready(mode, seed, command):
    t0 = time.monotonic()
    q = Qtest(command)
    try:
        data = next(patterns(seed, 4 * MiB))[1]
        if mode == "mark":
            q.cmd(f"b64write {MiB:#x} {MiB:#x} {base64.b64encode(data).decode()}")
        if base64.b64decode(q.cmd(f"b64read {MiB:#x} {MiB:#x}")) != data:
            raise SystemExit(f"qtest_ram: guest RAM at {MiB:#x} differs")
        seconds = time.monotonic() - t0
    finally:
        q.stop()
    print(json.dumps({"mode": mode, "seconds": round(seconds, 6)}))


def main():
    args = sys.argv[1:]
    if len(args) > 3 and args[0] in ("mark", "ready") and args[2] == "--":
        mark_or_ready(args[0], int(args[1]), args[3:])
        return
    if len(args) == 3 and args[0] == "disk-image":
        with open(args[2], "wb") as f:
            f.write(disk_bytes(int(args[1])))
        return
    disk = None
    if len(args) > 5 and args[3] == "--disk":
        disk = args[4]
        del args[3:5]
    if len(args) < 5 or args[0] not in ("fill", "check", "warm") or args[3] != "--":
        raise SystemExit(__doc__)
    mode, seed, ram = args[0], int(args[1]), int(args[2]) * MiB
    before = meminfo()
    q = Qtest(args[4:])
    checked = 0
    disk_checked = 0
    try:
        if mode == "fill":
            q.cmd(f"memset {MiB:#x} {ram - MiB:#x} {FILL_BYTE:#x}")
            for addr, data in patterns(seed, ram):
                q.cmd(f"b64write {addr:#x} {len(data):#x} {base64.b64encode(data).decode()}")
            if disk:
                if not opened_direct(q.proc.pid, disk):
                    raise SystemExit(f"qtest_ram: QEMU does not have {disk} open with O_DIRECT")
                dma_from_disk(q)
        if mode == "warm":
            q.cmd(f"readb {MiB:#x}")
        for addr, data in patterns(seed, ram) if mode != "warm" else ():
            got = base64.b64decode(q.cmd(f"b64read {addr:#x} {len(data):#x}"))
            if got != data:
                raise SystemExit(f"qtest_ram: guest RAM at {addr:#x} differs")
            checked += len(data)
        if disk and mode != "warm":
            got = base64.b64decode(q.cmd(f"b64read {DISK_ADDR:#x} {DISK_BYTES:#x}"))
            if got != disk_bytes(seed):
                raise SystemExit(f"qtest_ram: guest RAM at {DISK_ADDR:#x} is not what the disk holds")
            disk_checked = len(got)
        for addr in (2 * MiB, ram // 4 + 2 * MiB, ram - 3 * MiB) if mode != "warm" else ():
            got = int(q.cmd(f"readb {addr:#x}"), 16)
            if got != FILL_BYTE:
                raise SystemExit(f"qtest_ram: guest RAM at {addr:#x} is {got:#x}, not {FILL_BYTE:#x}")
            checked += 1
        proc = status(q.proc.pid)
        after = meminfo()
    finally:
        q.stop()
    print(json.dumps({"mode": mode, "ram_bytes": ram, "checked_bytes": checked,
                      "disk_dma_checked_bytes": disk_checked, "qemu": proc,
                      "cached_growth": after["cached"] - before["cached"],
                      "shmem_growth": after["shmem"] - before["shmem"]}))


if __name__ == "__main__":
    main()
