#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The command line as a user meets it: the real minivmm binary, its exit
status and its one-line message, and the files around it.

- each mistake gives status 2 and exactly one line on stderr naming the
  option (and the file, where there is one);
- a failed start changes no file: an existing --serial file:, --debugcon or
  --stats=json: file keeps its contents, a missing one is not created;
- media= puts a drive where it says (a --cdrom ...,media=disk crashed);
- --disk if=virtio: every bad value refused with its own line, and a start
  that fails after some images were opened leaves every image as it was;
- the runs that should work do (the demo guest with --no-reboot ends with
  status 0), and then the output files are written.

Usage: cli_test.py MINIVMM HELLO_BIOS.  The runs that start a VM are
skipped without /dev/kvm; the rest need none.
"""

import os
import shutil
import subprocess
import sys
import tempfile

minivmm, hello = sys.argv[1], sys.argv[2]
have_kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
failures = []


def run(args, timeout=30, pass_fds=(), wrap=()):
    return subprocess.run(list(wrap) + [minivmm] + args, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, pass_fds=pass_fds)


def open_tap(name):
    """A tap named name held open by this process (gone when closed), or None
    when this machine or user cannot have one."""
    import fcntl
    import struct
    try:
        f = open("/dev/net/tun", "r+b", buffering=0)
    except OSError:
        return None
    try:
        # TUNSETIFF with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR
        fcntl.ioctl(f, 0x400454ca, struct.pack("16sH22x", name.encode(), 0x0002 | 0x1000 | 0x4000))
    except OSError:
        f.close()
        return None
    return f


def snapshot(paths):
    """What each file holds (None: not there), to see that nothing changed."""
    state = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                state[p] = f.read()
        except FileNotFoundError:
            state[p] = None
    return state


def refused(args, *words, status=2, untouched=(), pass_fds=(), wrap=()):
    """args must fail with status and one stderr line holding every word,
    leaving the files in untouched as they were."""
    before = snapshot(untouched)
    r = run(args, pass_fds=pass_fds, wrap=wrap)
    lines = r.stderr.strip().splitlines()
    print("$ minivmm %s -> %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    why = []
    if r.returncode != status:
        why.append("status %d, want %d" % (r.returncode, status))
    if len(lines) != 1:
        why.append("%d lines on stderr, want 1" % len(lines))
    for w in words:
        if w not in r.stderr:
            why.append("no '%s' in the message" % w)
    after = snapshot(untouched)
    for p in untouched:
        if before[p] != after[p]:
            why.append("%s changed (%r -> %r)" % (p, before[p], after[p]))
    if why:
        failures.append("minivmm %s: %s" % (" ".join(args), "; ".join(why)))


def works(args, status=0, pass_fds=()):
    if not have_kvm:
        print("(skipped without /dev/kvm) minivmm " + " ".join(args))
        return None
    r = run(["--bios", hello, "--no-reboot"] + args, pass_fds=pass_fds)
    print("$ minivmm --bios HELLO --no-reboot %s -> %d" % (" ".join(args), r.returncode))
    if r.returncode != status:
        failures.append("minivmm %s: status %d, want %d; stderr: %s" %
                        (" ".join(args), r.returncode, status, r.stderr.strip()))
    return r


tmp = tempfile.mkdtemp(prefix="cli_test.")
try:
    def t(name):
        return os.path.join(tmp, name)

    log, dbg, stats, junk, empty, disk, iso = (t(n) for n in (
        "serial.log", "debugcon.log", "stats.json", "junk", "empty.img", "disk.img", "cd.iso"))
    missing = t("missing.img")
    with open(log, "w") as f:
        f.write("the log of an earlier run\n")
    with open(junk, "w") as f:
        f.write("junk\n")
    open(empty, "w").close()
    for p, size in ((disk, 1 << 20), (iso, 1 << 20)):
        with open(p, "wb") as f:
            f.truncate(size)
    outputs = ["--serial", "file:" + log, "--debugcon", dbg, "--stats=json:" + stats]
    keep = (log, dbg, stats)

    # 1. media= decides the slot; too many disks or two CDs are refused.
    refused(["--cdrom", "file=%s,media=disk" % missing], "--disk", "missing.img")
    refused(["--disk", disk, "--cdrom", "file=%s,media=disk" % missing], "missing.img")
    refused(["--disk", disk, "--disk", disk, "--disk", disk, "--cdrom",
             "file=%s,media=disk" % disk], "--cdrom", "at most 3 disks")
    refused(["--cdrom", iso, "--disk", "file=%s,media=cdrom" % iso], "--disk",
            "only one CD-ROM")
    refused(["--disk", "file=%s,media=tape" % disk], "--disk", "media=tape")
    works(["--cdrom", "file=%s,media=disk,format=raw" % disk])
    works(["--disk", "file=%s,media=cdrom,format=raw" % iso, "--disk", disk])

    # 2. A failed start changes no file.
    refused(outputs + ["--disk", missing], "--disk", "missing.img", untouched=keep)
    refused(outputs + ["--cdrom", empty], "--cdrom", "empty.img", untouched=keep)
    refused(outputs + ["--kernel", junk], "--kernel", "junk", untouched=keep)
    refused(outputs + ["--bios", tmp], "--bios", "is a directory", untouched=keep)
    refused(outputs + ["--bios", junk], "--bios", "junk", untouched=keep)
    refused(["--serial", "file:" + log, "--stats=json:/proc/minivmm-x", "--bios", hello],
            "--stats", "/proc/minivmm-x", untouched=keep)
    refused(["--serial", "file:" + log, "--debugcon", tmp], "--debugcon", "is a directory",
            untouched=keep)
    refused(["--serial", "file:" + t("no/such/dir/log"), "--debugcon", dbg], "--serial",
            "no/such/dir/log", untouched=keep + (t("no"),))
    refused(["--serial", "file:" + log, "--debugcon", log], "--debugcon", "serial.log",
            "--serial", untouched=keep)
    refused(["--disk", disk, "--stats=json:" + disk], "--stats", "disk.img", "--disk",
            untouched=keep + (disk,))
    refused(outputs + ["--cpus", "0"], "--cpus", untouched=keep)
    # A kernel with a setup header that direct boot refuses later, in
    # vm_start (it needs KVM): still named, still nothing written.
    old = t("old-bzimage")
    with open(old, "wb") as f:
        hdr = bytearray(0x1000)
        hdr[0x1fe:0x200] = b"\x55\xaa"
        hdr[0x202:0x206] = b"HdrS"
        hdr[0x206:0x208] = (0x0200).to_bytes(2, "little")  # protocol 2.00
        f.write(hdr)
    if have_kvm:
        refused(outputs + ["--kernel", old],
                "--kernel: '%s': boot protocol 2.00 too old" % old, untouched=keep)
    if have_kvm:
        works(outputs)
        with open(log) as f:
            got = f.read()
        if "Hello from the minivmm demo guest." not in got:
            failures.append("a run that works did not write the --serial file: %r" % got)
        if not os.path.exists(dbg) or not os.path.exists(stats):
            failures.append("a run that works did not create --debugcon and --stats files")

    # 3. Bad values and files, one line naming the option.
    refused(["--kernel", tmp], "--kernel", "is a directory")
    refused(["--kernel", junk], "--kernel: '%s' is not a Linux bzImage (no 'HdrS' header)" % junk)
    refused(["--memory", "2049K"], "--memory", "2049K", "4K")
    refused(["--memory", "0"], "--memory", "2M..1T")
    refused(["--memory", "1E"], "--memory", "1E")
    refused(["--memory", "-1G"], "--memory")
    refused(["--memory", "99999999999999999999999G"], "--memory")
    refused(["--cpus", "999999"], "--cpus", "1 to 64")
    refused(["--cpus", "-1"], "--cpus")
    refused(["--cpus", ""], "--cpus")
    refused(["--boot", ""], "--boot")
    refused(["--boot", "order=zz"], "--boot", "zz")
    refused(["--boot", "order=c,menu=maybe"], "--boot", "menu=maybe")
    refused(["--memory", "1G", "--memory", "2G"], "--memory: given twice")
    refused(["--bios", hello, "--bios", hello], "--bios: given twice")
    refused(["--disk", "file=%s,bus=1" % disk], "--disk", "unknown option 'bus'")
    refused(["--disk", "file=%s,format=raw,format=raw" % disk], "--disk", "format= given twice")
    refused(["--disk", ""], "--disk", "empty")
    refused(["--debugcon", ""], "--debugcon", "empty")
    refused(["--serial", "tcp:1"], "--serial")
    refused(["--stats", "json:" + stats], "--stats=json:PATH", untouched=keep)
    refused(["--mem", "1G"], "unknown option '--mem'")
    refused(["--frobnicate"], "unknown option '--frobnicate'")
    refused(["--cpus"], "'--cpus' needs an argument")

    # 3b. Virtio disks: every bad value, and a failed start touches no image.
    vdisk, vq = t("virtio.img"), t("virtio.qcow2")
    with open(vdisk, "wb") as f:
        f.truncate(1 << 20)
    with open(vq, "wb") as f:  # a qcow2 header of version 99: refused at open
        f.write(b"QFI\xfb\0\0\0\x63" + bytes(504))
    vkeep = keep + (disk, vdisk, vq)
    v = "file=%s,if=virtio" % vdisk
    refused(["--disk", "file=%s,if=scsi" % vdisk], "--disk", "if=scsi", "if=virtio")
    refused(["--disk", v + ",num-queues=0"], "--disk", "num-queues=0", "1 to 16")
    refused(["--disk", v + ",num-queues=17"], "--disk", "num-queues=17", "1 to 16")
    refused(["--disk", v + ",num-queues=abc"], "--disk", "num-queues=abc")
    refused(["--disk", v + ",num-queues=99999999999999999999"], "--disk", "num-queues=")
    refused(["--disk", v + ",transport=foo"], "--disk", "transport=foo",
            "transitional, legacy or modern")
    refused(["--disk", v + ",serial=" + "x" * 21], "--disk", "serial=", "at most 20")
    refused(["--disk", v + ",serial=a\x01b"], "--disk", "printable ASCII")
    refused(["--disk", v + ",serial=a,serial=b"], "--disk", "serial= given twice")
    refused(["--disk", v + ",if=virtio"], "--disk", "if= given twice")
    refused(["--disk", v + ",transport=modern,transport=modern"], "--disk",
            "transport= given twice")
    refused(["--disk", "file=%s,serial=S" % disk], "--disk", "serial= is for if=virtio")
    refused(["--disk", "file=%s,if=ide,num-queues=2" % disk], "--disk",
            "num-queues= is for if=virtio")
    refused(["--disk", "file=%s,transport=legacy" % disk], "--disk",
            "transport= is for if=virtio")
    refused(["--disk", v + ",media=cdrom"], "--disk", "not a CD-ROM")
    refused(["--disk", "file=%s,if=virtio" % missing], "--disk", "missing.img")
    refused(["--disk", "file=%s,if=virtio" % empty], "--disk", "empty.img", "empty")
    refused(["--disk", "file=%s,if=virtio,format=qcow2" % vdisk], "--disk", "virtio.img")
    many = []
    for i in range(17):
        many += ["--disk", "file=%s,if=virtio,readonly=on" % vdisk]
    refused(many, "--disk", "at most 16 virtio disks")
    # the open of every image before the failing one is undone, none written
    refused(outputs + ["--disk", disk, "--disk", v, "--disk", "file=%s,if=virtio" % vq],
            "--disk", "virtio.qcow2", untouched=vkeep)
    refused(outputs + ["--disk", v + ",snapshot=on", "--disk", "file=%s,if=virtio" % missing],
            "--disk", "missing.img", untouched=vkeep)
    refused(outputs + ["--disk", v, "--kernel", junk], "--kernel", untouched=vkeep)
    refused(["--disk", v, "--stats=json:" + vdisk], "--stats", "virtio.img", "--disk",
            untouched=vkeep)
    # a good qcow2 virtio disk opened read-write, then a start that fails:
    # no dirty flag, no header change left behind
    if shutil.which("qemu-img"):
        good = t("good.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", good, "4M"], check=True)
        refused(outputs + ["--disk", "file=%s,if=virtio" % good, "--disk", missing],
                "--disk", "missing.img", untouched=vkeep + (good,))
        refused(outputs + ["--disk", "file=%s,if=virtio,snapshot=on" % good, "--disk",
                           "file=%s,if=virtio" % vq], "--disk", "virtio.qcow2",
                untouched=vkeep + (good,))
    # the same image twice: the second open is refused by the image lock
    refused(outputs + ["--disk", v, "--disk", v], "--disk", "virtio.img", untouched=vkeep)
    # and the runs that should work do, on every transport
    works(["--disk", v + ",transport=modern,num-queues=4,serial=S-1", "--cpus", "2"])
    vdisk2 = t("virtio2.img")
    with open(vdisk2, "wb") as f:
        f.truncate(1 << 20)
    works(["--disk", disk, "--disk", v + ",transport=legacy,readonly=on", "--disk",
           "file=%s,if=virtio,transport=transitional,snapshot=on" % vdisk2])

    # 4. The fast-path switches are accepted (nothing uses them yet).
    works(["--no-ioeventfd", "--no-irqfd", "--no-coalesced-mmio", "--no-dirty-log"])

    # 6. --help and --version.
    r = run(["--help"])
    if r.returncode != 0 or r.stderr:
        failures.append("--help: status %d, stderr %r" % (r.returncode, r.stderr))
    for word in ("--memory", "--cpus", "--bios", "--kernel", "--initrd", "--append", "--disk",
                 "media=disk|cdrom", "--cdrom", "--boot", "--rtc", "--debugcon", "--serial",
                 "--debug-exit", "--no-ioeventfd", "--no-irqfd", "--no-coalesced-mmio",
                 "--no-dirty-log", "--no-reboot", "--stats=json:PATH", "--help", "--version",
                 "if=virtio", "serial=S", "num-queues=N", "transport=T"):
        if word not in r.stdout:
            failures.append("--help does not mention " + word)
    r = run(["--version"])
    if r.returncode != 0 or not r.stdout.startswith("minivmm ") or \
            len(r.stdout.split()) != 2:
        failures.append("--version: status %d, %r" % (r.returncode, r.stdout))

    # 8. --net: bad words at parse time; a tap that cannot be had at start.
    refused(["--net", "nic,macaddr=01:00:5e:00:00:01", "--net", "tap,ifname=t0"],
            "--net nic", "multicast")
    refused(["--net", "nic,macaddr=52:54:00:12:34"], "--net nic", "not a MAC address")
    refused(["--net", "nic"], "--net nic", "no backend")
    refused(["--net", "nic,macaddr=52:54:00:12:34:57", "--net", "tap,ifname=a", "--net",
             "tap,ifname=b"], "--net", "both have MAC")
    refused(["--net", "tap,ifname=t0,queues=4"], "--net tap", "unknown option 'queues'")
    refused(["--net", "tap,ifname=t0,script=/etc/qemu-ifup"], "--net tap",
            "never runs helper scripts")
    refused(["--net", "tap,fd=57"], "--net", "fd=57", "not an open file descriptor")
    with open(disk, "rb") as f:
        refused(["--net", "tap,fd=%d" % f.fileno()], "--net", "not a tap",
                pass_fds=(f.fileno(),))
    refused(["--net", "user,hostfwd=tcp:1.2.3:80-:22"], "--net user", "hostfwd=")
    refused(["--net", "user,dns=10.9.9.9"], "--net user", "outside the network")
    refused(["--net", "user,vlan=1"], "--net user", "unknown option 'vlan'")
    import socket as _socket
    held = _socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    busy_port = held.getsockname()[1]
    refused(["--net", "user,hostfwd=tcp:127.0.0.1:%d-:22" % busy_port], "--net user",
            "cannot listen", "Address already in use")
    held.close()
    works(["--net", "user,hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=udp::%d-:53" %
           (busy_port, busy_port)])
    tap = open_tap("mvtapcli0")
    if tap is None:
        print("(skipped: cannot create a tap here: no /dev/net/tun or no CAP_NET_ADMIN) "
              "--net tap busy / permission / fd=N runs")
    else:
        # held open by us (a single-queue tap): busy for anyone else
        refused(["--net", "tap,ifname=mvtapcli0"], "--net", "mvtapcli0", "busy")
        works(["--net", "tap,fd=%d" % tap.fileno()], pass_fds=(tap.fileno(),))
        tap.close()
        works(["--net", "nic,model=virtio,macaddr=52:54:00:12:34:56", "--net",
               "tap,ifname=mvtapcli1,script=no,downscript=no"])
        setpriv = shutil.which("setpriv")
        if setpriv and os.geteuid() == 0:
            refused(["--net", "tap,ifname=mvtapcli2"], "--net", "mvtapcli2",
                    "permission denied", "CAP_NET_ADMIN",
                    wrap=[setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                          "--inh-caps=-all", "--bounding-set=-all"])

    # 7. An empty image: status 2 and its name (was status 1, "Invalid argument").
    refused(["--disk", empty], "--disk", "empty.img", "empty")
    refused(["--cdrom", disk + ".none"], "--cdrom", "disk.img.none")
    with open(t("tiny.img"), "wb") as f:
        f.write(b"\0" * 100)
    refused(["--disk", "file=%s,format=raw" % t("tiny.img")], "--disk", "tiny.img", "too small")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("PASS")
