# SPDX-License-Identifier: GPL-2.0-or-later
"""Run one tier-1 guest under minivmm and check what it reported.

    run_guest.py [--timeout S] [--status N] [--expect LINE]... [--order]
                 [--forbid PREFIX]... -- MINIVMM ARGS...

The guest's COM1 output is minivmm's stdout.  The test passes when minivmm
ends with the expected exit status within the timeout, every --expect line
appears as a whole line of the output (in the given order with --order), and
no output line starts with a --forbid prefix ("FAIL" by default).  Without a
usable /dev/kvm the test is skipped (exit 77, meson's "skipped").
"""

import argparse
import os
import subprocess
import sys

SKIP = 77


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return str(e)
    os.close(fd)
    return None


def report(cmd, status, out, err, why):
    print("FAILED: " + why)
    print("command: " + " ".join(cmd))
    print("exit status: %s" % status)
    print("--- guest output (stdout) ---")
    print(out, end="" if out.endswith("\n") or not out else "\n")
    print("--- minivmm stderr ---")
    print(err, end="" if err.endswith("\n") or not err else "\n")
    print("---")
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--status", type=int, default=33,
                    help="expected exit status (33 = debug-exit 0x10)")
    ap.add_argument("--expect", action="append", default=[],
                    help="a line the output must contain")
    ap.add_argument("--order", action="store_true",
                    help="the --expect lines must appear in this order")
    ap.add_argument("--forbid", action="append", default=None,
                    help="no output line may start with this (default FAIL)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")
    forbid = a.forbid if a.forbid is not None else ["FAIL"]

    why = kvm_usable()
    if why is not None:
        print("SKIP: /dev/kvm not available (%s)" % why)
        return SKIP

    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=a.timeout)
        status = p.returncode
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        return report(cmd, "none (killed)", out, err,
                      "no exit within %g s" % a.timeout)

    lines = [l.rstrip("\r") for l in out.split("\n")]
    for l in lines:
        for f in forbid:
            if l.startswith(f):
                return report(cmd, status, out, err,
                              "guest reported: " + l)
    pos = 0
    for e in a.expect:
        try:
            idx = lines.index(e, pos if a.order else 0)
        except ValueError:
            return report(cmd, status, out, err,
                          "missing output line %r%s" %
                          (e, " (in order)" if a.order else ""))
        if a.order:
            pos = idx + 1
    if status != a.status:
        return report(cmd, status, out, err,
                      "exit status %d, expected %d" % (status, a.status))
    print("ok: exit status %d, output:" % status)
    print(out, end="" if out.endswith("\n") or not out else "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
