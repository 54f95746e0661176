# SPDX-License-Identifier: GPL-2.0-or-later
"""Run control over the real control socket (--qmp), with our guests.

    qmp_power_test.py --case NAME --minivmm PATH --powerbtn BIN --ticks BIN

Cases:
  powerdown  system_powerdown: the powerbtn guest sees the button and enters
             S5; POWERDOWN then SHUTDOWN {guest: true, reason:
             guest-shutdown} reach the client, minivmm exits 0
  sigterm    the same driven by SIGTERM, seen from a client
  stopcont   the ticks guest (a line per 100 PIT ticks on COM1) prints
             nothing while paused and goes on after cont; STOP, RESUME,
             query-status; quit ends with SHUTDOWN host-qmp-quit, status 0

Skips (exit 77) with the reason printed when /dev/kvm is missing.
"""

import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(why, proc=None):
    print("FAILED: " + why)
    if proc is not None:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
        print("--- COM1 ---\n" + out.decode("utf-8", "replace"))
        print("--- stderr ---\n" + err.decode("utf-8", "replace"))
    sys.exit(1)


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.events = []

    def line(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            d = self.sock.recv(65536)
            if not d:
                return None
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, args=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        self.sock.sendall((json.dumps(req) + "\n").encode())
        while True:
            m = self.line(10)
            if m is None or "event" not in m:
                return m
            self.events.append(m)

    def event(self, name, timeout=20):
        end = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            m = self.line(max(0.0, end - time.monotonic()))
            if m is None:
                return None
            if "event" in m:
                self.events.append(m)


def start(a, tmp, guest, extra=()):
    sock = os.path.join(tmp, "qmp.sock")
    p = subprocess.Popen([a.minivmm, "--memory", "32M", "--bios", guest,
                          "--qmp", "unix:%s,server=on,wait=off" % sock] + list(extra),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    end = time.monotonic() + 10
    while not os.path.exists(sock):
        if p.poll() is not None or time.monotonic() > end:
            fail("no control socket", p)
        time.sleep(0.02)
    c = Client(sock)
    greeting = c.line(10)
    if not greeting or "QMP" not in greeting:
        fail("no greeting: %r" % greeting, p)
    if c.cmd("qmp_capabilities") != {"return": {}}:
        fail("qmp_capabilities refused", p)
    return p, c, sock


class Output:
    """COM1 (minivmm's stdout), read without blocking."""

    def __init__(self, p):
        self.fd = p.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.text = ""

    def poll(self):
        try:
            d = os.read(self.fd, 65536)
        except BlockingIOError:
            d = b""
        self.text += d.decode("utf-8", "replace")
        return self.text

    def wait(self, line, p, timeout=30):
        end = time.monotonic() + timeout
        while line not in self.poll():
            if time.monotonic() > end:
                fail("no line '%s'" % line, p)
            time.sleep(0.05)


def check_shutdown(c, p, guest, reason, sock):
    e = c.event("SHUTDOWN")
    if not e or e.get("data") != {"guest": guest, "reason": reason}:
        fail("expected SHUTDOWN {guest: %s, reason: %s}, got %r" % (guest, reason, e), p)
    try:
        status = p.wait(20)
    except subprocess.TimeoutExpired:
        fail("no exit after SHUTDOWN", p)
    if status != 0:
        fail("exit status %d" % status, p)
    if os.path.exists(sock):
        fail("the socket file is left behind", p)


def case_powerdown(a, tmp, by_signal):
    p, c, sock = start(a, tmp, a.powerbtn)
    out = Output(p)
    out.wait("powerbtn: waiting for the power button", p)
    if by_signal:
        p.send_signal(signal.SIGTERM)
    elif c.cmd("system_powerdown") != {"return": {}}:
        fail("system_powerdown refused", p)
    if not c.event("POWERDOWN"):
        fail("no POWERDOWN event", p)
    check_shutdown(c, p, True, "guest-shutdown", sock)
    if "entering S5" not in out.poll():
        fail("the guest did not enter S5", p)
    print("PASS: %s: POWERDOWN, the guest entered S5, SHUTDOWN guest-shutdown, status 0"
          % ("SIGTERM" if by_signal else "system_powerdown"))


def case_stopcont(a, tmp):
    p, c, sock = start(a, tmp, a.ticks)
    out = Output(p)
    out.wait("ticks: 00000064", p)
    if c.cmd("stop") != {"return": {}} or not c.event("STOP"):
        fail("stop: no reply or no STOP", p)
    r = c.cmd("query-status")
    if r != {"return": {"status": "paused", "singlestep": False, "running": False}}:
        fail("query-status while paused: %r" % r, p)
    time.sleep(0.2)
    before = out.poll().count("ticks: ")
    time.sleep(2.5)
    during = out.poll().count("ticks: ")
    if during != before:
        fail("the guest printed %d tick lines while paused" % (during - before), p)
    if c.cmd("cont") != {"return": {}} or not c.event("RESUME"):
        fail("cont: no reply or no RESUME", p)
    r = c.cmd("query-status")
    if r != {"return": {"status": "running", "singlestep": False, "running": True}}:
        fail("query-status after cont: %r" % r, p)
    end = time.monotonic() + 20
    while out.poll().count("ticks: ") <= during:
        if time.monotonic() > end:
            fail("no tick line after cont", p)
        time.sleep(0.05)
    if c.cmd("quit") != {"return": {}}:
        fail("quit refused", p)
    check_shutdown(c, p, False, "host-qmp-quit", sock)
    print("PASS: stopcont: %d tick lines before the pause, none during 2.5 s paused, more "
          "after cont; quit" % before)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True, choices=["powerdown", "sigterm", "stopcont"])
    ap.add_argument("--minivmm", required=True)
    ap.add_argument("--powerbtn", required=True)
    ap.add_argument("--ticks", required=True)
    a = ap.parse_args()
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        print("SKIP: /dev/kvm not available (%s)" % e)
        return SKIP
    with tempfile.TemporaryDirectory(prefix="minivmm-qmp-power-") as tmp:
        if a.case == "stopcont":
            case_stopcont(a, tmp)
        else:
            case_powerdown(a, tmp, a.case == "sigterm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
