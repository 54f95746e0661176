#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tier 1: virtio-net over a real tap, the net guest (firmware/guests/net.asm)
as the driver and this script on the host side of the tap.

The script creates a tap (TUNSETIFF, as a manager would), brings the
interface up with IPv6 off (so the kernel sends nothing of its own), hands
its fd to minivmm (--net tap,fd=N; a second run uses --net nic,... --net
tap,ifname= on a persistent tap set up beforehand), and talks to the guest through an
AF_PACKET socket bound to the interface:
  - the guest's broadcast frame (ethertype 0x88b5) arrives from its MAC;
  - five frames to the guest's MAC: it takes two into its two buffers, its
    ring stays dry for half a second while the other three wait in the tap
    (not read meanwhile, not lost), then it posts four buffers and gets the
    three, in order;
  - the guest says PASS (debug-exit status 33) and --stats=json: shows the
    frames, a ring-empty event, the control command.
Skips (77) without /dev/kvm, /dev/net/tun or CAP_NET_ADMIN, saying which.
"""
import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

minivmm, guest = sys.argv[1], sys.argv[2]
ETH_TYPE = 0x88b5
TUNSETIFF, TUNSETPERSIST = 0x400454ca, 0x400454cb
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def open_tap(name):
    f = open("/dev/net/tun", "r+b", buffering=0)
    fcntl.ioctl(f, TUNSETIFF, struct.pack("16sH22x", name.encode(),
                                          IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    return f


def link_up(name):
    try:
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % name, "w") as f:
            f.write("1")
    except OSError:
        pass  # no IPv6 at all: nothing to silence
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH22x", name.encode(), 0))
    flags = struct.unpack("16sH22x", ifr)[1] | IFF_UP
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", name.encode(), flags))
    s.close()


def run(ifname, args, tap_fd=None):
    """One boot of the net guest on the tap ifname, up already; a list of
    what went wrong."""
    tmp = tempfile.mkdtemp(prefix="net_tap_test.")
    try:
        return boot(ifname, args, tap_fd, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def boot(ifname, args, tap_fd, tmp):
    bad = []
    stats = os.path.join(tmp, "stats.json")
    mac = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
    cmd = [minivmm, "--bios", guest, "--debug-exit", "--no-reboot", "--serial", "stdio",
           "--stats=json:" + stats] + args
    print("$ " + " ".join(cmd))
    # Listening before the guest starts: its frame goes out at once (the
    # test under load missed it when the socket came after the start).
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_TYPE))
    s.bind((ifname, ETH_TYPE))
    s.settimeout(20)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         pass_fds=(tap_fd,) if tap_fd is not None else ())
    try:
        try:
            while True:
                f = s.recv(2048)
                if f[12:14] == struct.pack(">H", ETH_TYPE):
                    break
        except socket.timeout:
            bad.append("no frame from the guest")
            return bad
        if f[0:6] != b"\xff" * 6 or f[6:12] != mac or b"minivmm-net-guest" not in f:
            bad.append("the guest's frame is not what it sent: %r" % f[:40])
        print("guest frame from %s: %r" % (f[6:12].hex(":"), f[14:31]))
        for seq in range(1, 6):
            frame = mac + bytes([2, 0, 0, 0, 0, 1]) + struct.pack(">H", ETH_TYPE) + \
                bytes([seq]) + b"host" + bytes(60 - 19)
            s.send(frame)
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        bad.append("the guest did not finish")
    finally:
        s.close()
        if p.poll() is None:
            p.kill()
            p.wait()
    print(out.strip())
    if err.strip():
        print(err.strip())
    if p.returncode != 33 or "PASS" not in out:
        bad.append("status %d, want 33 (PASS); serial: %s" % (p.returncode, out.strip()[-200:]))
        return bad
    try:
        with open(stats) as f:
            j = json.load(f)
        q = j["devices"]["net0"]["queues"]
    except (OSError, ValueError, KeyError) as e:
        bad.append("no net0 in --stats=json: (%s)" % e)
        return bad
    print("rx %s, tx %s, ctrl %s" % (json.dumps({k: q[0][k] for k in ("packets", "ring_empty",
                                                                       "drops")}),
                                     q[1]["packets"], q[2]["commands"]))
    if q[0]["packets"] != 5:
        bad.append("rx packets %d, want 5" % q[0]["packets"])
    if q[0]["ring_empty"] < 1:
        bad.append("no ring-empty event while the ring was dry")
    if q[1]["packets"] != 1:
        bad.append("tx packets %d, want 1" % q[1]["packets"])
    if q[2]["commands"] != 1 or q[2]["errors"] != 0:
        bad.append("control: %d commands, %d errors" % (q[2]["commands"], q[2]["errors"]))
    return bad


if not os.access("/dev/kvm", os.R_OK | os.W_OK):
    skip("no /dev/kvm")
if not os.path.exists("/dev/net/tun"):
    skip("no /dev/net/tun")
try:
    tap = open_tap("mvtapt0")
except OSError as e:
    skip("cannot create a tap (%s): needs CAP_NET_ADMIN" % e.strerror)

failures = []
# 1. a manager's fd (as libvirt passes it)
link_up("mvtapt0")
fd = tap.fileno()
for switches in ([], ["--no-ioeventfd", "--no-irqfd"]):
    failures += ["fd=N %s: " % " ".join(switches) + b
                 for b in run("mvtapt0", ["--net", "tap,fd=%d" % fd] + switches, tap_fd=fd)]
tap.close()
# 2. QEMU's words from the users' guides, on a tap set up beforehand as
# their guides do it (ip tuntap add ...; ip link set ... up)
tap = open_tap("mvtapt1")
fcntl.ioctl(tap, TUNSETPERSIST, 1)
tap.close()
try:
    link_up("mvtapt1")
    failures += ["ifname=: " + b for b in run("mvtapt1", ["--net", "nic,model=virtio,macaddr="
                                                          "52:54:00:12:34:56", "--net",
                                                          "tap,ifname=mvtapt1,script=no"])]
finally:
    tap = open_tap("mvtapt1")
    fcntl.ioctl(tap, TUNSETPERSIST, 0)
    tap.close()
if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("PASS")
