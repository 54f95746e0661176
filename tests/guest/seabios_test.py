# SPDX-License-Identifier: GPL-2.0-or-later
"""Tier-1 PC platform tests: Debian's SeaBIOS on minivmm boots our boot
programs (firmware/guests/bootsect.asm) from an IDE disk and an ATAPI CD.

    seabios_test.py --case NAME --minivmm PATH --disk-boot BIN --cd-boot BIN
                    [--bios PATH] [--img PATH]

Cases:
  disk       boot from a raw IDE disk; INT 13h reads checked by checksum, an
             INT 13h write read back and found in the image file afterwards,
             INT 15h E820 against the memory map, the CMOS clock against
             the host's, SeaBIOS sees --cpus 2
  qcow2      the same boot from a qcow2 image; qemu-img check afterwards
  cd         boot from an El Torito (no emulation) CD; the ISO's volume
             descriptor read through INT 13h
  order-dc   disk and CD, --boot order=dc: the CD boots
  order-cd   disk and CD, --boot order=cd: the disk boots
  empty-cd   disk and an empty CD-ROM drive (--cdrom ''), --boot order=dc:
             SeaBIOS finds the drive, fails to boot the CD, boots the disk
  menu       --boot menu=on: SeaBIOS offers its boot menu, then boots
  bad-drives missing, truncated and corrupt images, a directory as CD:
             one line naming the problem, exit status 2, image unchanged
  virtio-transitional, virtio-legacy, virtio-modern
             the disk case's boot (reads, write, E820, clock) from a raw
             virtio-blk disk (--disk if=virtio) on each transport
  virtio-qcow2 the same from a qcow2 virtio disk; qemu-img check afterwards
  virtio-order an IDE disk and a virtio disk with different contents:
             --boot c boots whichever --disk came first on the command line,
             --boot order=dc with a CD still boots the CD; without --boot
             SeaBIOS's own order (IDE before virtio) holds, as under QEMU
  virtio-snapshot a virtio disk with snapshot=on: the guest's INT 13h write
             reads back, the image file is unchanged afterwards
  virtio-many 16 virtio disks and 3 IDE disks: SeaBIOS finds every virtio
             disk in 03.0..12.0, --boot c boots the first (virtio) one
  usb-tablet --tablet on: SeaBIOS logs "UHCI init on dev 00:01.2", reads the
             tablet's descriptors (the controller's --stats counters), leaves
             the non-boot HID device alone and boots the disk; --tablet off:
             no UHCI and one PCI function less in SeaBIOS's count
  virtio-net a virtio NIC on a tap (--net tap,fd=N): the disk boots, SeaBIOS
             maps the NIC at 03.0 and counts one PCI function more, the
             NIC receives nothing (no driver); skips without a tap
  net-boot   --net user with Debian's iPXE ROM (ipxe-qemu) in the NIC's ROM
             BAR: SeaBIOS runs it ("iPXE (PCI 00:03.0)"); --boot order=n
             boots it first ("iPXE ... starting execution"); romfile=
             empty, or a modern NIC, has no ROM and the disk boots; a file
             that is no option ROM is refused at start with status 2;
             skips without /usr/lib/ipxe/qemu/pxe-virtio.rom
  probe-guard a boot sector writes a qcow2 header over sector 0 of its raw
             disk through INT 13h: without format= the write is refused,
             the image is unchanged and the next start still sees raw;
             with format=raw the write goes through

Skips (exit 77) with the reason printed when /dev/kvm, SeaBIOS, xorriso or
qemu-img is missing.
"""

import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
SECTOR = 512
VIRTIO_RAW = ("virtio-transitional", "virtio-legacy", "virtio-modern")


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def fail(why, out="", err=""):
    print("FAILED: " + why)
    if out:
        print("--- COM1 ---\n" + out)
    if err:
        print("--- stderr ---\n" + err)
    sys.exit(1)


def make_disk(path, boot, size=8 << 20, seed=1):
    rnd = random.Random(seed)
    data = bytes(rnd.getrandbits(8) for _ in range(32 * SECTOR))
    with open(path, "wb") as f:
        f.truncate(size)
        f.write(boot)
        f.seek(4 * SECTOR)
        f.write(data)
    return sum(data) & 0xffff


def make_iso(path, boot, tmp):
    root = os.path.join(tmp, "isoroot")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "boot.bin"), "wb") as f:
        f.write(boot)
    with open(os.path.join(root, "readme.txt"), "w") as f:
        f.write("minivmm test CD\n")
    r = subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", path, "-b", "boot.bin",
                        "-no-emul-boot", "-boot-load-size", "4", root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail("xorriso failed: " + r.stdout)


def run(a, args, timeout=90, pass_fds=()):
    cmd = [a.minivmm, "--debug-exit", "--serial", "stdio", "--memory", "512M"] + args
    if a.bios:
        cmd += ["--bios", a.bios]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, pass_fds=pass_fds)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("latin-1")
        fail("timed out after %ds: %s" % (timeout, " ".join(cmd)), out)
    out = r.stdout.decode("latin-1")
    err = r.stderr.decode("latin-1")
    print("$ " + " ".join(cmd))
    print("exit status %d" % r.returncode)
    if r.returncode != 33:
        fail("exit status %d, expected 33 (the boot program's debug exit)" % r.returncode,
             out, err)
    lines = [l.strip() for l in out.replace("\r", "\n").split("\n")]
    boot = [l[l.index("BOOT-"):] for l in lines if "BOOT-" in l]
    for l in boot:
        print("  " + l)
    if "BOOT-END" not in boot:
        fail("the boot program did not finish", out, err)
    return boot, out, err



def check_usb_tablet(a, img, want_sum, log, tmp):
    stats = os.path.join(tmp, "stats.json")
    boot, out, err = run(a, ["--disk", img, "--tablet", "on", "--debugcon", log,
                             "--stats=json:" + stats])
    check_disk_boot(a, boot, out, err, img, want_sum)
    with open(log, "r", errors="replace") as f:
        text_on = f.read()
    m = re.search(r"UHCI init on dev 00:01\.2[^\n]*", text_on)
    if not m:
        fail("SeaBIOS did not init the UHCI at 00:01.2 (see its log below)\n" + text_on,
             out, err)
    print("  SeaBIOS: " + m[0])
    with open(stats) as f:
        st = json.load(f)
    dev = st.get("devices", {}).get("uhci")
    if not dev or "tablet" not in dev:
        fail("--stats: no devices.uhci.tablet in %r" % st.get("devices"), out, err)
    t = dev["tablet"]
    print("  --stats uhci: %d frames, %d TDs completed, %d errors %r; tablet %r" %
          (dev["frames"], dev["completed"], sum(dev["errors"].values()), dev["errors"], t))
    # SeaBIOS reads the device descriptor (8 bytes at address 0, after
    # SET_ADDRESS again) and the configuration, finds no boot interface
    # and leaves the device unconfigured.
    if t["control_requests"] < 3 or dev["completed"] < 6:
        fail("SeaBIOS did not read the tablet's descriptors: %r" % dev, out, err)
    if dev["errors"]["host"] or dev["errors"]["bad_pid"]:
        fail("SeaBIOS's schedule hit a controller error: %r" % dev["errors"], out, err)
    if "USB mouse initialized" in text_on or "USB keyboard initialized" in text_on:
        fail("SeaBIOS took the tablet for a boot device", out, err)
    found_on = re.search(r"Found (\d+) PCI devices", text_on)

    boot, out, err = run(a, ["--disk", img, "--tablet", "off", "--debugcon", log])
    check_disk_boot(a, boot, out, err, img, want_sum)
    with open(log, "r", errors="replace") as f:
        text_off = f.read()
    if "UHCI" in text_off:
        fail("--tablet off: SeaBIOS still found a UHCI", out, err)
    found_off = re.search(r"Found (\d+) PCI devices", text_off)
    if found_on and found_off:
        print("  SeaBIOS: %s with the tablet, %s without" % (found_on[0], found_off[0]))
        if int(found_on[1]) != int(found_off[1]) + 1:
            fail("--tablet on should add exactly one PCI function", out, err)


def open_tap(name):
    """A tap held open by this process (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR),
    or None without /dev/net/tun or CAP_NET_ADMIN."""
    import fcntl
    import struct
    try:
        f = open("/dev/net/tun", "r+b", buffering=0)
    except OSError:
        return None
    try:
        fcntl.ioctl(f, 0x400454ca, struct.pack("16sH22x", name.encode(), 0x5002))
    except OSError:
        f.close()
        return None
    return f


def check_virtio_net(a, img, want_sum, log, tmp):
    """The disk boots with a virtio NIC (over a tap) in 03.0: SeaBIOS finds
    one PCI function more and maps the NIC's BARs; nothing is received
    (no driver, no DRIVER_OK)."""
    tap = open_tap("mvtapsb0")
    if tap is None:
        skip("cannot create a tap: no /dev/net/tun or no CAP_NET_ADMIN")
    stats = os.path.join(tmp, "stats.json")
    boot, out, err = run(a, ["--disk", img, "--net", "tap,fd=%d" % tap.fileno(),
                             "--debugcon", log, "--stats=json:" + stats],
                         pass_fds=(tap.fileno(),))
    tap.close()
    check_disk_boot(a, boot, out, err, img, want_sum)
    with open(log, "r", errors="replace") as f:
        text_on = f.read()
    if not re.search(r"bdf=00:03\.0", text_on):
        fail("SeaBIOS did not map a device at 00:03.0 (see its log)\n" + text_on, out, err)
    with open(stats) as f:
        net = json.load(f)["devices"]["net0"]
    print("  --stats net0: driver %s, rx %d, tx %d" %
          (net["driver"], net["queues"][0]["packets"], net["queues"][1]["packets"]))
    if net["transport"] != "transitional" or net["queues"][0]["packets"] != 0:
        fail("--stats: net0 %r" % net, out, err)
    boot, out, err = run(a, ["--disk", img, "--debugcon", log])
    check_disk_boot(a, boot, out, err, img, want_sum)
    with open(log, "r", errors="replace") as f:
        text_off = f.read()
    found_on = re.search(r"Found (\d+) PCI devices", text_on)
    found_off = re.search(r"Found (\d+) PCI devices", text_off)
    if found_on and found_off:
        print("  SeaBIOS: %s with the NIC, %s without" % (found_on[0], found_off[0]))
        if int(found_on[1]) != int(found_off[1]) + 1:
            fail("--net should add exactly one PCI function", out, err)


IPXE_ROM = "/usr/lib/ipxe/qemu/pxe-virtio.rom"


def run_until(a, args, want, timeout=60):
    """minivmm until want shows on COM1 (then killed); the serial output,
    or fail."""
    cmd = [a.minivmm, "--serial", "stdio", "--memory", "512M"] + args
    print("$ " + " ".join(cmd))
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    os.set_blocking(p.stdout.fileno(), False)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while want.encode() not in out and time.monotonic() < deadline:
            if p.poll() is not None:
                out += p.stdout.read() or b""
                break
            chunk = p.stdout.read()
            if chunk:
                out += chunk
            else:
                time.sleep(0.1)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        err = p.stderr.read().decode("latin-1")
    text = out.decode("latin-1")
    if want not in text:
        fail("'%s' did not show on COM1 within %ds" % (want, timeout), text, err)
    return text


def check_net_boot(a, img, want_sum, log, tmp):
    """iPXE from the NIC's ROM BAR: SeaBIOS runs it and, with --boot order=n,
    boots it first; without a ROM the disk boots."""
    if not os.path.exists(IPXE_ROM):
        skip("%s missing (Debian package ipxe-qemu)" % IPXE_ROM)
    text = run_until(a, ["--net", "user", "--boot", "order=n", "--disk", img, "--debugcon",
                         log], "starting execution")
    line = re.search(r"iPXE \(PCI 00:03\.0\)[^\r\n]*", text)
    print("  COM1: " + (line[0] if line else "?"))
    with open(log, "r", errors="replace") as f:
        sb = f.read()
    if "Running option rom at" not in sb or "/pci@i0cf8/ethernet@3/ethernet-phy@0" not in sb:
        fail("SeaBIOS did not run the NIC's ROM from the boot order (see its log)\n" + sb, text)
    print("  SeaBIOS: " + re.search(r"Running option rom at \S+", sb)[0] +
          ", bootorder /pci@i0cf8/ethernet@3/ethernet-phy@0")
    # Without a ROM: nothing to run, the disk boots (order=n has no device).
    for nic in ("nic,romfile=", "nic,transport=modern"):
        boot, out, err = run(a, ["--net", nic, "--net", "user", "--boot", "order=nc", "--disk",
                                 img, "--debugcon", log])
        check_disk_boot(a, boot, out, err, img, want_sum)
        with open(log, "r", errors="replace") as f:
            if "Running option rom at" in f.read():
                fail("--net %s: SeaBIOS ran an option ROM" % nic, out, err)
        print("  --net %s: no option ROM, the disk booted" % nic)
    # Not an option ROM: refused before anything starts.
    bad = os.path.join(tmp, "not-a-rom.bin")
    with open(bad, "wb") as f:
        f.write(b"\0" * 4096)
    r = subprocess.run([a.minivmm, "--net", "nic,romfile=" + bad, "--net", "user"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    msg = r.stderr.decode("latin-1").strip()
    print("  romfile=<zeros>: status %d: %s" % (r.returncode, msg))
    if r.returncode != 2 or "not an option ROM" not in msg or len(msg.splitlines()) != 1:
        fail("a romfile that is no option ROM: status %d, %r" % (r.returncode, msg))


def check_queue_paths(a, st, requests, out, err):
    """--stats' per-queue part for virtio-blk0: its kicks went one way or
    the other (ioeventfd when that path is on), and each request has a
    latency sample. Returns queue 0's object."""
    dev = st.get("devices", {}).get("virtio-blk0")
    if not dev or not dev.get("queues"):
        fail("--stats: no devices.virtio-blk0.queues in %r" % st.get("devices"), out, err)
    q0 = dev["queues"][0]
    n = q0["notify"]["ioeventfd"] + q0["notify"]["exit"]
    if n < 1 or q0["latency"]["count"] < requests:
        fail("--stats: queue 0 %r for %d requests" % (q0, requests), out, err)
    if st["accel"]["paths"]["ioeventfd"] == "on" and q0["notify"]["exit"] and \
            not q0["notify"]["ioeventfd"]:
        fail("--stats: ioeventfd on but every kick was an exit: %r" % q0["notify"], out, err)
    print("  --stats: queue 0: %d kicks by ioeventfd, %d by exit; driver %s; p99 <= %d ns"
          % (q0["notify"]["ioeventfd"], q0["notify"]["exit"], dev["driver"],
             q0["latency"]["p99_ns"]))
    return q0

def check_disk_boot(a, boot, out, err, img, want_sum):
    if "BOOT-FROM disk" not in boot:
        fail("did not boot from the disk", out, err)
    sums = [l.split()[1] for l in boot if l.startswith("BOOT-SUM")]
    if sums != ["%04x" % want_sum]:
        fail("INT 13h read checksum %s, expected %04x" % (sums, want_sum), out, err)
    if "BOOT-WRITE ok" not in boot:
        fail("INT 13h write/read-back failed", out, err)
    # E820: RAM below the VGA hole, RAM from 1 MiB, nothing claims the hole.
    ram = []
    for l in boot:
        m = re.match(r"BOOT-E820 ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{2})", l)
        if m:
            base, length, typ = int(m[1], 16), int(m[2], 16), int(m[3], 16)
            if typ == 1:
                ram.append((base, length))
    if not ram:
        fail("no E820 RAM entries", out, err)
    total = sum(l for _, l in ram)
    mem = 512 << 20
    for base, length in ram:
        if base < 0x100000 and base + length > 0xa0000:
            fail("E820 RAM %x+%x overlaps the VGA/BIOS hole" % (base, length), out, err)
        if base + length > mem:
            fail("E820 RAM %x+%x beyond the %d MiB of RAM" % (base, length, mem >> 20), out, err)
    if not any(b == 0 and l >= 0x9f000 for b, l in ram):
        fail("E820 lacks conventional memory from 0", out, err)
    if not any(b == 0x100000 for b, _ in ram):
        fail("E820 lacks RAM from 1 MiB", out, err)
    if total < mem - (32 << 20):
        fail("E820 RAM totals %d MiB of %d" % (total >> 20, mem >> 20), out, err)
    # CMOS clock (UTC by default) against the host.
    rtc = [l.split()[1] for l in boot if l.startswith("BOOT-RTC")]
    date = [l.split()[1:] for l in boot if l.startswith("BOOT-DATE")]
    if not rtc or not date:
        fail("no RTC reading", out, err)
    now = datetime.datetime.now(datetime.timezone.utc)
    c, y, mo, d = (int(x) for x in date[0])
    h, mi, s = (int(x) for x in rtc[0].split(":"))
    guest = datetime.datetime(c * 100 + y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
    drift = abs((now - guest).total_seconds())
    print("  guest clock %s, host %s, %.0f s apart" % (guest.isoformat(), now.isoformat(), drift))
    if drift > 300:
        fail("CMOS clock %s is %.0f s from the host's" % (guest, drift), out, err)
    # The write reached the image.
    with open(img, "rb") as f:
        f.seek(40 * SECTOR)
        got = f.read(SECTOR)
    if a.case in ("disk", "virtio-many") + VIRTIO_RAW and \
            got != bytes((0x5a + i) & 0xff for i in range(SECTOR)):
        fail("the sector written through INT 13h is not in the image file", out, err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--minivmm", required=True)
    ap.add_argument("--disk-boot", required=True)
    ap.add_argument("--cd-boot", required=True)
    ap.add_argument("--bios", default=None)
    ap.add_argument("--guard-boot", default=None)
    a = ap.parse_args()

    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
    except OSError as e:
        skip("/dev/kvm: %s" % e)
    bios = a.bios or "/usr/share/seabios/bios-256k.bin"
    if not os.path.exists(bios):
        skip("%s missing (Debian package seabios)" % bios)
    needs_iso = a.case in ("cd", "order-dc", "order-cd", "virtio-order")
    if needs_iso and not shutil.which("xorriso"):
        skip("xorriso missing (Debian package xorriso)")
    if a.case == "virtio-order" and not shutil.which("xorriso"):
        skip("xorriso missing (Debian package xorriso)")
    if a.case in ("qcow2", "virtio-qcow2") and not shutil.which("qemu-img"):
        skip("qemu-img missing (Debian package qemu-utils)")

    with open(a.disk_boot, "rb") as f:
        disk_boot = f.read()
    with open(a.cd_boot, "rb") as f:
        cd_boot = f.read()
    tmp = tempfile.mkdtemp(prefix="minivmm-seabios-")
    try:
        img = os.path.join(tmp, "disk.img")
        want_sum = make_disk(img, disk_boot)
        iso = os.path.join(tmp, "cd.iso")
        if needs_iso:
            make_iso(iso, cd_boot, tmp)
        log = os.path.join(tmp, "seabios.log")

        if a.case == "virtio-net":
            check_virtio_net(a, img, want_sum, log, tmp)
        elif a.case == "net-boot":
            check_net_boot(a, img, want_sum, log, tmp)
        elif a.case == "disk":
            boot, out, err = run(a, ["--disk", img, "--cpus", "2", "--debugcon", log])
            check_disk_boot(a, boot, out, err, img, want_sum)
            with open(log, "r", errors="replace") as f:
                text = f.read()
            if "Found 2 cpu(s)" not in text:
                fail("SeaBIOS did not find 2 CPUs (see %s)" % log, out, err)
            print("  SeaBIOS: " + re.search(r"Found \d+ cpu\(s\)[^\n]*", text)[0])
        elif a.case == "qcow2":
            q = os.path.join(tmp, "disk.qcow2")
            subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", img, q],
                           check=True)
            boot, out, err = run(a, ["--disk", q])
            check_disk_boot(a, boot, out, err, img, want_sum)
            r = subprocess.run(["qemu-img", "check", q], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            print(r.stdout)
            if r.returncode != 0:
                fail("qemu-img check found problems after the guest wrote", out, err)
            raw2 = os.path.join(tmp, "back.raw")
            subprocess.run(["qemu-img", "convert", "-O", "raw", q, raw2], check=True)
            with open(raw2, "rb") as f:
                f.seek(40 * SECTOR)
                if f.read(SECTOR) != bytes((0x5a + i) & 0xff for i in range(SECTOR)):
                    fail("the sector written through INT 13h is not in the qcow2 image")
        elif a.case in VIRTIO_RAW:
            transport = a.case.split("-")[1]
            stats = os.path.join(tmp, "stats.json")
            boot, out, err = run(a, ["--disk", "file=%s,if=virtio,transport=%s" % (img, transport),
                                     "--cpus", "2", "--debugcon", log, "--stats=json:" + stats])
            check_disk_boot(a, boot, out, err, img, want_sum)
            # --stats counts the firmware's reads and the boot program's write
            with open(stats) as f:
                vb = json.load(f)["virtio-blk"]
            if len(vb) != 1 or vb[0]["id"] != "virtio-blk0" or vb[0]["queues"] != 2 or \
                    vb[0]["requests"]["in"] < 2 or vb[0]["requests"]["out"] < 1 or \
                    vb[0]["bytes_written"] < SECTOR or vb[0]["errors"] != 0:
                fail("--stats: virtio-blk %r" % vb, out, err)
            print("  --stats: %d reads, %d writes" % (vb[0]["requests"]["in"],
                                                     vb[0]["requests"]["out"]))
            with open(stats) as f:
                st = json.load(f)
            check_queue_paths(a, st, vb[0]["requests"]["in"] + vb[0]["requests"]["out"],
                              out, err)
            if transport == "transitional":
                # The same boot through the exit handler: every kick an exit.
                boot, out, err = run(a, ["--disk", "file=%s,if=virtio" % img, "--cpus", "2",
                                         "--no-ioeventfd", "--stats=json:" + stats])
                check_disk_boot(a, boot, out, err, img, want_sum)
                with open(stats) as f:
                    st = json.load(f)
                q0 = check_queue_paths(a, st, 1, out, err)
                if q0["notify"]["ioeventfd"] != 0 or q0["notify"]["exit"] < 3:
                    fail("--no-ioeventfd: queue 0 notifications %r" % q0["notify"], out, err)
                print("  --no-ioeventfd: %d kicks by exit" % q0["notify"]["exit"])
            with open(log, "r", errors="replace") as f:
                text = f.read()
            m = re.search(r"found virtio-blk at [^\n]*", text)
            if not m:
                fail("SeaBIOS did not find the virtio-blk disk (see %s)" % log, out, err)
            print("  SeaBIOS: " + m[0])
            if re.search(r"ata0-0: [^\n]*Hard-Disk", text):
                fail("SeaBIOS found an IDE disk too", out, err)
        elif a.case == "virtio-qcow2":
            q = os.path.join(tmp, "disk.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", q, "8M"], check=True)
            subprocess.run(["qemu-img", "convert", "-n", "-f", "raw", "-O", "qcow2", img, q],
                           check=True)
            boot, out, err = run(a, ["--disk", "file=%s,if=virtio,format=qcow2" % q])
            check_disk_boot(a, boot, out, err, img, want_sum)
            r = subprocess.run(["qemu-img", "check", q], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            print(r.stdout)
            if r.returncode != 0:
                fail("qemu-img check found problems after the guest wrote", out, err)
            raw2 = os.path.join(tmp, "back.raw")
            subprocess.run(["qemu-img", "convert", "-O", "raw", q, raw2], check=True)
            with open(raw2, "rb") as f:
                f.seek(40 * SECTOR)
                if f.read(SECTOR) != bytes((0x5a + i) & 0xff for i in range(SECTOR)):
                    fail("the sector written through INT 13h is not in the qcow2 image")
        elif a.case == "virtio-order":
            vimg = os.path.join(tmp, "virtio.img")
            vsum = make_disk(vimg, disk_boot, seed=2)
            if vsum == want_sum:
                fail("the two test disks have the same checksum")
            v = "file=%s,if=virtio,format=raw" % vimg
            ide = "file=%s,format=raw" % img
            runs = [
                (["--disk", v, "--disk", ide, "--boot", "c"], vsum, "virtio first, c"),
                (["--disk", ide, "--disk", v, "--boot", "order=c"], want_sum, "IDE first, c"),
                (["--disk", v, "--disk", ide, "--boot", "order=cd", "--cdrom", iso], vsum,
                 "virtio first, cd"),
                (["--disk", ide, "--disk", v, "--boot", "c", "--cdrom", iso], want_sum,
                 "IDE first, c with a CD"),
                # without --boot SeaBIOS's own order holds, as under QEMU: IDE
                # disks are found (and so tried) before virtio ones
                (["--disk", v, "--disk", ide], want_sum, "virtio first, no --boot"),
            ]
            for args, want, what in runs:
                boot, out, err = run(a, args)
                sums = [l.split()[1] for l in boot if l.startswith("BOOT-SUM")]
                if "BOOT-FROM disk" not in boot or sums != ["%04x" % want]:
                    fail("%s: booted %s %s, expected the disk with sum %04x"
                         % (what, [l for l in boot if l.startswith("BOOT-FROM")], sums, want),
                         out, err)
                print("  %s: booted the disk with sum %04x" % (what, want))
            boot, out, err = run(a, ["--disk", v, "--disk", ide, "--cdrom", iso,
                                     "--boot", "order=dc"])
            if "BOOT-FROM cd" not in boot:
                fail("virtio first, order=dc: the CD did not boot", out, err)
            print("  virtio first, order=dc: booted the CD")
        elif a.case == "virtio-snapshot":
            with open(img, "rb") as f:
                before = f.read()
            boot, out, err = run(a, ["--disk", "file=%s,if=virtio,snapshot=on" % img])
            check_disk_boot(a, boot, out, err, img, want_sum)
            with open(img, "rb") as f:
                if f.read() != before:
                    fail("snapshot=on: the guest's write reached the image file", out, err)
            print("  the image file is unchanged")
        elif a.case == "virtio-many":
            args = ["--disk", "file=%s,if=virtio,format=raw" % img]
            for i in range(1, 19):
                blank = os.path.join(tmp, "blank%d.img" % i)
                with open(blank, "wb") as f:
                    f.truncate(1 << 20)
                args += ["--disk", "file=%s,format=raw%s"
                         % (blank, ",if=virtio" if i < 16 else "")]
            boot, out, err = run(a, args + ["--boot", "c", "--debugcon", log])
            check_disk_boot(a, boot, out, err, img, want_sum)
            with open(log, "r", errors="replace") as f:
                found = re.findall(r"found virtio-blk at 00:([0-9a-f]{2})\.0", f.read())
            want = ["%02x" % (3 + i) for i in range(16)]
            if found != want:
                fail("SeaBIOS found virtio-blk at %s, expected %s" % (found, want), out, err)
            print("  SeaBIOS: 16 virtio disks at 03.0..12.0")
        elif a.case == "cd":
            boot, out, err = run(a, ["--cdrom", iso])
            if "BOOT-FROM cd" not in boot or "BOOT-PVD CD001" not in boot:
                fail("no El Torito boot with a readable volume descriptor", out, err)
        elif a.case in ("order-dc", "order-cd"):
            order = a.case.split("-")[1]
            boot, out, err = run(a, ["--disk", img, "--cdrom", iso, "--boot", "order=" + order])
            want = "BOOT-FROM cd" if order == "dc" else "BOOT-FROM disk"
            if want not in boot:
                fail("order=%s did not boot %s first" % (order, want.split()[1]), out, err)
        elif a.case == "empty-cd":
            boot, out, err = run(a, ["--disk", img, "--cdrom", "", "--boot", "order=dc",
                                     "--debugcon", log])
            with open(log, "r", errors="replace") as f:
                text = f.read()
            m = re.search(r"ata1-0: [^\n]*DVD/CD", text)
            if not m:
                fail("SeaBIOS did not find the empty CD-ROM drive (see %s)" % log, out, err)
            print("  SeaBIOS: " + m[0])
            if "Booting from DVD/CD" not in out:
                fail("SeaBIOS did not try the CD first", out, err)
            check_disk_boot(a, boot, out, err, img, want_sum)
        elif a.case == "menu":
            boot, out, err = run(a, ["--disk", img, "--boot", "menu=on,splash-time=500"])
            if "Press ESC for boot menu" not in out:
                fail("SeaBIOS did not offer its boot menu", out, err)
            if "BOOT-FROM disk" not in boot:
                fail("no boot after the menu timed out", out, err)
        elif a.case == "probe-guard":
            with open(a.guard_boot, "rb") as f:
                guard = f.read()
            raw = os.path.join(tmp, "guard.img")
            make_disk(raw, guard)
            with open(raw, "rb") as f:
                before = f.read()
            for attempt in (1, 2):  # the second start must still see raw
                boot, out, err = run(a, ["--disk", raw])
                if "BOOT-GUARD refused" not in boot:
                    fail("start %d: the guest turned its raw disk into another format"
                         % attempt, out, err)
                if "probed as raw" not in err:
                    fail("no warning that the format was guessed", out, err)
                with open(raw, "rb") as f:
                    if f.read() != before:
                        fail("the refused write changed the image", out, err)
            boot, out, err = run(a, ["--disk", "file=%s,format=raw" % raw])
            if "BOOT-GUARD written" not in boot:
                fail("with format=raw the guest's own sector 0 write was refused", out, err)
            with open(raw, "rb") as f:
                if f.read(4) != b"QFI\xfb":
                    fail("with format=raw the write did not reach the image", out, err)
        elif a.case == "bad-drives":
            short = os.path.join(tmp, "short.qcow2")
            with open(short, "wb") as f:
                f.write(b"QFI\xfb\0\0\0\3")
            huge_l1 = os.path.join(tmp, "huge-l1.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", huge_l1, "64M"],
                           check=True) if shutil.which("qemu-img") else None
            cases = [
                (["--disk", os.path.join(tmp, "missing.img")], "missing.img"),
                (["--disk", "file=%s,format=qcow2" % short], "short.qcow2"),
                (["--cdrom", tmp], "--cdrom"),
                (["--disk", "file=%s,format=vmdk" % img], "format=vmdk"),
            ]
            if os.path.exists(huge_l1):
                with open(huge_l1, "r+b") as f:  # l1_size (offset 36) = 2^31
                    f.seek(36)
                    f.write((1 << 31).to_bytes(4, "big"))
                cases.append((["--disk", huge_l1], "huge-l1.qcow2"))
            for args, word in cases:
                before = open(huge_l1, "rb").read() if os.path.exists(huge_l1) else b""
                r = subprocess.run([a.minivmm] + args, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=30, text=True)
                print("$ minivmm %s -> %d: %s" % (" ".join(args), r.returncode,
                                                   r.stderr.strip()))
                if r.returncode != 2 or word not in r.stderr or \
                        len(r.stderr.strip().splitlines()) != 1:
                    fail("expected one line naming %s and status 2" % word, r.stdout, r.stderr)
                if before and open(huge_l1, "rb").read() != before:
                    fail("a failed open changed the image")
        elif a.case == "usb-tablet":
            check_usb_tablet(a, img, want_sum, log, tmp)
        else:
            ap.error("unknown case " + a.case)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
