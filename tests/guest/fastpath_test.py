#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The KVM fast paths give the guest what their slow paths give.

    fastpath_test.py MINIVMM FASTPATH_GUEST

Runs the fastpath guest (firmware/guests/fastpath.asm) on the test device
(--testdev) with every fast path on, then with each --no-* switch, and
checks that the guest's verdict is the same every time, and from
--stats=json that each path was taken or not: with ioeventfd on the
doorbell's 100 writes never exit to port 0x520 (only the one write of
another value does), with --no-ioeventfd all 101 do; irqfd against
KVM_IRQ_LINE; the window's 65 writes drained from the coalesced ring or
exiting; the dirty log naming pages 0 and 2 (all four pages without it).
Without /dev/kvm the test is skipped (77); a path the host's KVM lacks is
reported and its checks are those of the slow path.
"""
import json
import os
import subprocess
import sys
import tempfile

minivmm, guest = sys.argv[1], sys.argv[2]
try:
    os.close(os.open("/dev/kvm", os.O_RDWR))
except OSError as e:
    print("SKIP: /dev/kvm not available (%s)" % e)
    sys.exit(77)

RINGS, IRQS, WINDOW_WRITES = 100, 3, 65
VERDICT = [
    "fastpath: doorbell, interrupt, coalesced window, dirty slot",
    "doorbell: 100 rings counted",
    "interrupt: 3 of 3 arrived",
    "window: 65 writes, read back in order",
    "slot: kept its pages when moved, gone when unmapped",
    "PASS",
]
failures = []


def run(switch, d):
    path = os.path.join(d, "stats%s.json" % switch)
    cmd = [minivmm, "--bios", guest, "--debug-exit", "--testdev", "--stats=json:" + path]
    cmd += [switch] if switch else []
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    lines = [l.rstrip("\r") for l in r.stdout.splitlines()]
    if r.returncode != 33:
        return None, lines, "exit status %d, stderr: %s" % (r.returncode, r.stderr)
    return json.load(open(path)), lines, None


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


with tempfile.TemporaryDirectory() as d:
    for switch in ["", "--no-ioeventfd", "--no-irqfd", "--no-coalesced-mmio", "--no-dirty-log"]:
        name = switch or "all on"
        s, lines, err = run(switch, d)
        print("%s: %s" % (name, " / ".join(lines)))
        if not check(err is None, "%s: %s" % (name, err)):
            continue
        dirty = [l for l in lines if l.startswith("slot: dirty pages ")]
        check([l for l in lines if l not in dirty] == VERDICT,
              "%s: the guest's verdict differs: %s" % (name, lines))
        accel, ev = s["accel"]["paths"], s["accel"]["events"]
        print("  paths %s" % accel)
        print("  events %s" % ev)
        bell_exits = s["pio"].get("0x0520", {}).get("writes", 0)
        if accel["ioeventfd"] == "on":
            check(bell_exits == 1 and ev["doorbell_ioeventfd"] == RINGS,
                  "%s: ioeventfd on, yet %d doorbell writes exited (%s)" % (name, bell_exits, ev))
        else:
            check(bell_exits == RINGS + 1 and ev["doorbell_exit"] == RINGS
                  and ev["doorbell_ioeventfd"] == 0,
                  "%s: ioeventfd off, yet %d doorbell writes exited" % (name, bell_exits))
        if accel["irqfd"] == "on":
            check(ev["irq_irqfd"] == IRQS and ev["irq_line"] == 0, "%s: irqfd: %s" % (name, ev))
        else:
            check(ev["irq_line"] == IRQS and ev["irq_irqfd"] == 0, "%s: irq line: %s" % (name, ev))
        window = s["mmio"].get("testdev-window", {})
        if accel["coalesced-mmio"] == "on":
            check(window.get("writes", 0) == 0 and ev["coalesced"] == WINDOW_WRITES,
                  "%s: coalesced on: window %s, events %s" % (name, window, ev))
        else:
            check(window.get("writes") == WINDOW_WRITES and ev["coalesced"] == 0,
                  "%s: coalesced off: window %s" % (name, window))
        want = "05" if accel["dirty-log"] == "on" else "0f"
        check(dirty == ["slot: dirty pages " + want],
              "%s: dirty log %s: %s, expected pages %s" % (name, accel["dirty-log"], dirty, want))
        for path, state in accel.items():
            if state == "off-no-host":
                print("  note: this host's KVM lacks %s" % path)
        if switch:
            check(accel[switch[5:]] == "off-by-option", "%s: %s" % (name, accel))

for f in failures:
    print("FAIL: " + f)
if failures:
    sys.exit(1)
print("PASS")
