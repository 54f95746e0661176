# SPDX-License-Identifier: GPL-2.0-or-later
"""A CD changed over the QMP socket while a guest polls the drive (tier 1).

    cd_change_test.py MINIVMM CDPOLL_BIN DISC_ONE DISC_TWO

minivmm runs the cdpoll guest (firmware/guests/cdpoll.asm) with DISC_ONE in
the CD-ROM drive and a QMP socket.  Once the guest has read disc 1, the
test ejects it (the guest must see the tray open: NOT READY 3A/02), then
loads DISC_TWO with blockdev-change-medium; the guest must see the media
events, NOT READY once, UNIT ATTENTION 28 once, and read disc 2's label.
The client must get DEVICE_TRAY_MOVED open, then close, with QEMU's
members.

Needs the QMP socket server (--qmp unix:PATH,server=on,wait=off).  Skips
(exit 77) with the reason when /dev/kvm is missing.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(why, out=""):
    print("FAILED: " + why)
    if out:
        print("--- COM1 ---\n" + out)
    sys.exit(1)


class Qmp:
    def __init__(self, path, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    fail("no QMP socket at " + path)
                time.sleep(0.05)
        self.f = self.s.makefile("r")
        self.events = []
        if "QMP" not in self.read():
            fail("no QMP greeting")
        self.cmd("qmp_capabilities")

    def read(self):
        line = self.f.readline()
        if not line:
            fail("the QMP socket closed")
        return json.loads(line)

    def cmd(self, name, **args):
        self.s.sendall((json.dumps({"execute": name, "arguments": args}) + "\n").encode())
        while True:
            m = self.read()
            if "event" in m:
                self.events.append(m)
                continue
            if "error" in m:
                fail("%s: %s" % (name, m["error"]))
            return m["return"]


def wait_for(path, text, deadline):
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            out = f.read()
        if text in out:
            return out
        time.sleep(0.05)
    with open(path, errors="replace") as f:
        fail("the guest never printed '%s'" % text, f.read())


def main():
    minivmm, guest, one, two = sys.argv[1:5]
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        print("SKIP: /dev/kvm: %s" % e)
        sys.exit(SKIP)
    tmp = tempfile.mkdtemp(prefix="minivmm-cd-change-")
    sock = os.path.join(tmp, "qmp.sock")
    com1 = os.path.join(tmp, "com1.txt")
    p = subprocess.Popen([minivmm, "--bios", guest, "--debug-exit", "--cdrom", one,
                          "--serial", "file:" + com1,
                          "--qmp", "unix:%s,server=on,wait=off" % sock])
    deadline = time.time() + 60
    try:
        q = Qmp(sock, deadline)
        wait_for(com1, "cdpoll: disc 1: MINIVMM-DISC-ONE", deadline)
        q.cmd("eject", device="ide1-cd0")
        wait_for(com1, "cdpoll: sense 02/3a/02", deadline)
        q.cmd("blockdev-change-medium", device="ide1-cd0", filename=two, format="raw")
        status = p.wait(timeout=max(1, deadline - time.time()))
        with open(com1, errors="replace") as f:
            out = f.read()
        print(out)
        if status != 33:
            fail("exit status %d, not 33 (PASS)" % status, out)
        after = out[out.index("sense 02/3a/02"):]
        for line in ("cdpoll: event 02 status 02", "cdpoll: sense 02/3a/00",
                     "cdpoll: sense 06/28/00", "cdpoll: disc 2: MINIVMM-DISC-TWO", "PASS"):
            if line not in after:
                fail("after the change the guest did not print '%s'" % line, out)
        moves = [(e["data"]["device"], e["data"]["tray-open"]) for e in q.events
                 if e["event"] == "DEVICE_TRAY_MOVED"]
        if moves != [("ide1-cd0", True), ("ide1-cd0", False)]:
            fail("DEVICE_TRAY_MOVED events: %s" % moves)
        print("PASS")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
