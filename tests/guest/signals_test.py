# SPDX-License-Identifier: GPL-2.0-or-later
"""Signals to the real minivmm binary, with and without disks.

    signals_test.py --case NAME --minivmm PATH --powerbtn BIN
                    --powerbtn-disk BIN --ticks BIN

The guests (firmware/guests/): powerbtn enables ACPI and PWRBTN_EN, waits
for the power button and enters S5; powerbtn-disk first writes 8 sectors of
0xa5 at LBA 2048 of its disk (no FLUSH CACHE); ticks never ends.

Cases:
  sigterm            SIGTERM presses the power button: the guest sees
                     PWRBTN_STS and the SCI, powers off, minivmm exits 0 and
                     says what happened
  sigterm-raw, sigterm-qcow2
                     the same with a disk the guest wrote to: every thread
                     of minivmm has SIGINT, SIGTERM, SIGHUP and SIGQUIT
                     blocked before the signal (they were not: SIGTERM
                     killed it with 143), the image is clean (qemu-img
                     check) and holds what the guest wrote
  sigint-raw, sigint-qcow2, sighup-raw, sighup-qcow2, sigquit-qcow2
                     these quit at once (the guest never sees the button),
                     status 0, the image clean and written
  sigterm-timeout    a guest that ignores the button: minivmm quits after
                     --shutdown-timeout 1 and says so
  sigterm-twice      a second SIGTERM quits at once
  sigterm-no-wait    --shutdown-timeout 0 quits at once, no button
  sigint-tty, sigterm-tty
                     --serial stdio on a terminal (a pty): raw while the VM
                     runs, restored exactly after the signal
  bad-timeout        bad --shutdown-timeout values: one line, status 2

Skips (exit 77) with the reason printed when /dev/kvm or qemu-img
(qcow2 cases) is missing.
"""

import argparse
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time

SKIP = 77
# Bits of SigBlk in /proc/PID/task/TID/status (bit n-1 for signal n).
MUST_BLOCK = {signal.SIGHUP: "SIGHUP", signal.SIGINT: "SIGINT",
              signal.SIGQUIT: "SIGQUIT", signal.SIGTERM: "SIGTERM"}


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


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return str(e)
    os.close(fd)
    return None


class Run:
    """minivmm with COM1 on a pipe (or a pty), read line by line."""

    def __init__(self, cmd, tty=False):
        self.cmd = cmd
        self.out = b""
        self.master = None
        if tty:
            self.master, slave = pty.openpty()
            self.before = termios.tcgetattr(slave)
            self.slave = slave
            self.p = subprocess.Popen(cmd, stdin=slave, stdout=slave,
                                      stderr=subprocess.PIPE, start_new_session=True)
            self.fd = self.master
        else:
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
            self.fd = self.p.stdout.fileno()

    def text(self):
        return self.out.decode("utf-8", "replace").replace("\r", "")

    def read_some(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            chunk = b""
        self.out += chunk
        return bool(chunk)

    def wait_line(self, line, timeout=30.0):
        end = time.monotonic() + timeout
        while line not in self.text():
            left = end - time.monotonic()
            if left <= 0 or self.p.poll() is not None and not self.read_some(0.1):
                self.kill()
                fail("no line '%s' within %g s" % (line, timeout), self.text(),
                     self.err_text())
            self.read_some(min(left, 0.5))

    def finish(self, timeout):
        """Waits for the exit; returns (status, seconds it took)."""
        t0 = time.monotonic()
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("no exit within %g s" % timeout, self.text(), self.err_text())
        took = time.monotonic() - t0
        while self.read_some(0.05):
            pass
        self.err = self.p.stderr.read().decode("utf-8", "replace")
        return self.p.returncode, took

    def err_text(self):
        return getattr(self, "err", "")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def check_sigblk(pid, out):
    """Every thread of pid blocks the signals minivmm handles."""
    bad = []
    threads = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                st = f.read()
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                comm = f.read().strip()
        except OSError:
            continue  # the thread ended meanwhile
        blk = int([l for l in st.splitlines() if l.startswith("SigBlk:")][0].split()[1], 16)
        threads += 1
        missing = [n for s, n in MUST_BLOCK.items() if not blk & (1 << (s - 1))]
        if missing:
            bad.append("%s (%s) SigBlk %016x: %s not blocked" % (tid, comm, blk,
                                                                 ", ".join(missing)))
    if bad:
        fail("threads that would die of a signal:\n  " + "\n  ".join(bad), out)
    return threads


def make_image(tmp, fmt):
    path = os.path.join(tmp, "disk." + fmt)
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, path, "64M"], check=True)
    return path


def check_image(path, fmt, out, err):
    if fmt == "qcow2":
        r = subprocess.run(["qemu-img", "check", path], capture_output=True, text=True)
        if r.returncode != 0:
            fail("qemu-img check: status %d\n%s%s" % (r.returncode, r.stdout, r.stderr), out,
                 err)
    r = subprocess.run(["qemu-io", "-f", fmt, "-c", "read -P 0xa5 1M 4k", path],
                       capture_output=True, text=True)
    if r.returncode != 0 or "Pattern verification failed" in r.stdout + r.stderr:
        fail("the sectors the guest wrote are not in the image:\n" + r.stdout + r.stderr, out,
             err)


def expect_in(what, text, out, err):
    if what not in text:
        fail("expected '%s' on stderr" % what, out, err)


def case_sigterm(a, tmp, fmt=None):
    cmd = [a.minivmm, "--memory", "32M"]
    if fmt:
        disk = make_image(tmp, fmt)
        cmd += ["--bios", a.powerbtn_disk, "--disk", "file=%s,format=%s" % (disk, fmt)]
    else:
        cmd += ["--bios", a.powerbtn]
    r = Run(cmd)
    r.wait_line("powerbtn: waiting for the power button")
    threads = check_sigblk(r.p.pid, r.text())
    r.p.send_signal(signal.SIGTERM)
    status, took = r.finish(30)
    out, err = r.text(), r.err
    if status != 0:
        fail("exit status %d, not 0" % status, out, err)
    for line in ("powerbtn: PWRBTN_STS set", "powerbtn: SCI raised",
                 "powerbtn: status cleared, SCI low; entering S5"):
        if line not in out:
            fail("the guest did not print '%s'" % line, out, err)
    expect_in("minivmm: terminating on signal 15", err, out, err)
    expect_in("pressed the power button, quitting in 60 s", err, out, err)
    expect_in("minivmm: the guest powered off", err, out, err)
    if fmt:
        check_image(disk, fmt, out, err)
    print("PASS: %s: %d threads blocked the signals; guest powered off %.2f s after SIGTERM"
          % (a.case, threads, took))


def case_quit_at_once(a, tmp, sig, fmt):
    disk = make_image(tmp, fmt)
    r = Run([a.minivmm, "--memory", "32M", "--bios", a.powerbtn_disk,
             "--disk", "file=%s,format=%s" % (disk, fmt)])
    r.wait_line("powerbtn: waiting for the power button")
    check_sigblk(r.p.pid, r.text())
    r.p.send_signal(sig)
    status, took = r.finish(10)
    out, err = r.text(), r.err
    if status != 0:
        fail("exit status %d, not 0" % status, out, err)
    if "PWRBTN_STS" in out:
        fail("signal %d pressed the power button" % sig, out, err)
    expect_in("minivmm: terminating on signal %d" % sig, err, out, err)
    if "pressed the power button" in err:
        fail("signal %d should quit at once" % sig, out, err)
    check_image(disk, fmt, out, err)
    print("PASS: %s: quit %.2f s after signal %d, image clean and written" % (a.case, took, sig))


def case_timeout(a, tmp):
    r = Run([a.minivmm, "--memory", "32M", "--bios", a.ticks, "--shutdown-timeout", "1"])
    r.wait_line("ticks: counting")
    r.p.send_signal(signal.SIGTERM)
    status, took = r.finish(20)
    out, err = r.text(), r.err
    if status != 0:
        fail("exit status %d, not 0" % status, out, err)
    expect_in("pressed the power button, quitting in 1 s", err, out, err)
    expect_in("minivmm: the guest did not power off within 1 s: quitting", err, out, err)
    if took < 0.9:
        fail("quit after %.2f s, before the timeout of 1 s" % took, out, err)
    print("PASS: sigterm-timeout: quit %.2f s after SIGTERM" % took)


def case_twice(a, tmp):
    r = Run([a.minivmm, "--memory", "32M", "--bios", a.ticks])
    r.wait_line("ticks: counting")
    r.p.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    if r.p.poll() is not None:
        fail("the first SIGTERM ended minivmm (it should wait 60 s)", r.text())
    r.p.send_signal(signal.SIGTERM)
    status, took = r.finish(10)
    out, err = r.text(), r.err
    if status != 0:
        fail("exit status %d, not 0" % status, out, err)
    lines = [l for l in err.splitlines() if l.startswith("minivmm: terminating on signal 15")]
    if len(lines) != 2 or "pressed the power button" not in lines[0] or \
       "pressed" in lines[1]:
        fail("expected a power-down line and a quit line", out, err)
    print("PASS: sigterm-twice: the second SIGTERM quit in %.2f s" % took)


def case_no_wait(a, tmp):
    r = Run([a.minivmm, "--memory", "32M", "--bios", a.powerbtn, "--shutdown-timeout", "0"])
    r.wait_line("powerbtn: waiting for the power button")
    r.p.send_signal(signal.SIGTERM)
    status, took = r.finish(10)
    out, err = r.text(), r.err
    if status != 0:
        fail("exit status %d, not 0" % status, out, err)
    if "PWRBTN_STS" in out or "pressed" in err:
        fail("--shutdown-timeout 0 pressed the power button", out, err)
    expect_in("minivmm: terminating on signal 15", err, out, err)
    print("PASS: sigterm-no-wait: quit in %.2f s" % took)


def case_tty(a, tmp, sig):
    guest = a.powerbtn
    r = Run([a.minivmm, "--memory", "32M", "--bios", guest, "--serial", "stdio"], tty=True)
    r.wait_line("powerbtn: waiting for the power button")
    during = termios.tcgetattr(r.slave)
    if during[3] & termios.ICANON or during[3] & termios.ECHO:
        r.kill()
        fail("the terminal is not raw while the VM runs", r.text())
    r.p.send_signal(sig)
    status, took = r.finish(30)
    after = termios.tcgetattr(r.slave)
    out, err = r.text(), r.err
    os.close(r.slave)
    os.close(r.master)
    if status != 0:
        fail("exit status %d, not 0" % status, out, err)
    if after != r.before:
        fail("the terminal was not restored:\n before %r\n after  %r" % (r.before, after), out,
             err)
    expect_in("minivmm: terminating on signal %d" % sig, err, out, err)
    print("PASS: %s: terminal raw while running, restored after signal %d" % (a.case, sig))


def case_bad_timeout(a, tmp):
    for v in ["-1", "x", "86401", "1.5", ""]:
        r = subprocess.run([a.minivmm, "--bios", a.ticks, "--shutdown-timeout", v],
                           capture_output=True, text=True, timeout=10)
        lines = r.stderr.splitlines()
        if r.returncode != 2 or len(lines) != 1 or "--shutdown-timeout" not in lines[0]:
            fail("--shutdown-timeout '%s': status %d, stderr %r" % (v, r.returncode, r.stderr))
    print("PASS: bad-timeout")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--minivmm", required=True)
    ap.add_argument("--powerbtn", required=True)
    ap.add_argument("--powerbtn-disk", required=True)
    ap.add_argument("--ticks", required=True)
    a = ap.parse_args()

    if a.case != "bad-timeout":
        why = kvm_usable()
        if why is not None:
            skip("/dev/kvm not available (%s)" % why)
    fmt = a.case.rsplit("-", 1)[-1]
    if fmt in ("raw", "qcow2"):
        for tool in ("qemu-img", "qemu-io"):
            if not shutil.which(tool):
                skip("%s missing (Debian package qemu-utils)" % tool)
    quit_signals = {"sigint": signal.SIGINT, "sighup": signal.SIGHUP, "sigquit": signal.SIGQUIT}

    with tempfile.TemporaryDirectory(prefix="minivmm-signals-") as tmp:
        name = a.case.split("-")[0]
        if a.case == "sigterm":
            case_sigterm(a, tmp)
        elif a.case in ("sigterm-raw", "sigterm-qcow2"):
            case_sigterm(a, tmp, fmt)
        elif name in quit_signals and fmt in ("raw", "qcow2"):
            case_quit_at_once(a, tmp, quit_signals[name], fmt)
        elif a.case == "sigterm-timeout":
            case_timeout(a, tmp)
        elif a.case == "sigterm-twice":
            case_twice(a, tmp)
        elif a.case == "sigterm-no-wait":
            case_no_wait(a, tmp)
        elif a.case == "sigint-tty":
            case_tty(a, tmp, signal.SIGINT)
        elif a.case == "sigterm-tty":
            case_tty(a, tmp, signal.SIGTERM)
        elif a.case == "bad-timeout":
            case_bad_timeout(a, tmp)
        else:
            ap.error("unknown case " + a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
