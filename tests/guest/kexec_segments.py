#!/usr/bin/python3
"""Loads a kernel with kexec_file_load(2), as kexec -s does, and prints where
the kernel placed each segment: "START END" (hex, END exclusive), one per line.

The kernel tells only in its log: 6.8 and later with the KEXEC_FILE_DEBUG
flag ("segment[N]: ... mem=0x... memsz=0x..."), 6.1 through dynamic debug of
kernel/kexec_file.c ("Loading segment N: ... mem=0x... memsz=0x...").

usage: kexec_segments.py KERNEL INITRD CMDLINE
"""
import ctypes
import os
import re
import subprocess
import sys

SYS_KEXEC_FILE_LOAD = 320  # x86_64
KEXEC_FILE_DEBUG = 0x8
DYNDBG = "/sys/kernel/debug/dynamic_debug/control"


def load(kernel, initrd, cmdline, flags):
    libc = ctypes.CDLL(None, use_errno=True)
    k = os.open(kernel, os.O_RDONLY)
    i = os.open(initrd, os.O_RDONLY)
    line = cmdline.encode() + b"\0"
    ret = libc.syscall(SYS_KEXEC_FILE_LOAD, k, i, len(line), line, flags)
    err = ctypes.get_errno()
    os.close(k)
    os.close(i)
    return 0 if ret == 0 else err


def main():
    kernel, initrd, cmdline = sys.argv[1:4]
    marker = "kexec_segments.py: %d" % os.getpid()
    with open("/dev/kmsg", "w") as kmsg:
        kmsg.write(marker + "\n")
    err = load(kernel, initrd, cmdline, KEXEC_FILE_DEBUG)
    if err == 22:  # EINVAL: a kernel without the flag (6.1)
        if not os.path.exists(DYNDBG):
            subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"], check=True)
        with open(DYNDBG, "w") as ctl:
            ctl.write("file kernel/kexec_file.c +p\n")
        err = load(kernel, initrd, cmdline, 0)
    if err:
        sys.exit("kexec_file_load: %s" % os.strerror(err))
    log = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    log = log[log.rfind(marker):]
    found = re.findall(r"egment.*mem=0x([0-9a-f]+) memsz=0x([0-9a-f]+)", log)
    if not found:
        sys.exit("the kernel log names no segment after the load")
    for mem, memsz in found:
        print("%#x %#x" % (int(mem, 16), int(mem, 16) + int(memsz, 16)))


if __name__ == "__main__":
    main()
