#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tier-1 VGA test: Debian's SeaBIOS and SeaVGABIOS on minivmm --vga std boot
firmware/guests/vgaboot.asm from a raw IDE disk.  The boot program drives
the VGA through INT 10h (mode 3 teletype, mode 0x13 and 0x12 pixels, VBE
4F00, 4F02 mode 0x102 planar 800x600, 4F01/4F02 with the linear
framebuffer) and checks video memory; this
script checks its COM1 lines, SeaVGABIOS's own log (--debugcon: it found
the device at 00:02.0 and its LFB in BAR0), and the VGA's --stats counters.

    vga_test.py --minivmm PATH --boot BIN [--paths fast|slow]

fast: the default KVM fast paths (the legacy window coalesced, the LFB with
a dirty log); slow: --no-coalesced-mmio --no-dirty-log, every window write
an exit.  The guest's results must be the same.

Skips (exit 77) when /dev/kvm or SeaBIOS's VGA BIOS is missing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77
VGABIOS = "/usr/share/seabios/vgabios-stdvga.bin"
EXPECT = ["VGA-BEGIN", "VGA-MODE 03", "VGA-TEXT ok", "VGA-13H ok", "VGA-12H ok",
          "VGA-VBE 0300", "VGA-VBE102 ok", "VGA-DISPI ok", "VGA-VBEMODE", "VGA-LFB ok", "VGA-END"]


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minivmm", required=True)
    ap.add_argument("--boot", required=True)
    ap.add_argument("--paths", choices=["fast", "slow"], default="fast")
    a = ap.parse_args()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("no /dev/kvm")
    if not os.path.exists(VGABIOS) or not os.path.exists("/usr/share/seabios/bios-256k.bin"):
        skip("Debian's seabios package is not installed")
    with open(a.boot, "rb") as f:
        boot = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        img = os.path.join(tmp, "vga.img")
        with open(img, "wb") as f:
            f.truncate(8 << 20)
            f.write(boot)
        stats = os.path.join(tmp, "stats.json")
        dbg = os.path.join(tmp, "debugcon.log")
        cmd = [a.minivmm, "--vga", "std", "--disk", "file=%s,format=raw" % img,
               "--debug-exit", "--serial", "stdio", "--memory", "128M",
               "--debugcon", dbg, "--stats=json:" + stats]
        if a.paths == "slow":
            cmd += ["--no-coalesced-mmio", "--no-dirty-log"]
        print("$ " + " ".join(cmd))
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=90)
        except subprocess.TimeoutExpired as e:
            fail("timed out", (e.stdout or b"").decode("latin-1"))
        out = r.stdout.decode("latin-1")
        err = r.stderr.decode("latin-1")
        if r.returncode != 33:
            fail("exit status %d, expected 33" % r.returncode, out, err)
        lines = [l.strip() for l in out.replace("\r", "\n").split("\n")]
        got = [l[l.index("VGA-"):] for l in lines if "VGA-" in l]
        for l in got:
            print("  " + l)
        pos = 0
        for want in EXPECT:
            while pos < len(got) and not got[pos].startswith(want):
                pos += 1
            if pos == len(got):
                fail("missing (in order): " + want, out, err)
        if any(l.startswith("VGA-FAIL") for l in got):
            fail("the boot program reported a failure", out, err)
        with open(dbg, encoding="latin-1") as f:
            log = f.read()
        for want in ("PCI: Using 00:02.0 for primary VGA", "Start SeaVGABIOS",
                     "VBE DISPI: bdf 00:02.0, bar 0", "size 16 MB"):
            if want not in log:
                fail("SeaBIOS's log lacks '%s'" % want, log)
        with open(stats) as f:
            st = json.load(f)
        vga = st.get("devices", {}).get("vga")
        if not vga:
            fail("--stats has no 'vga' device: %s" % json.dumps(st.get("devices")))
        print("  stats: " + json.dumps(vga, sort_keys=True))
        for k in ("port_writes", "dispi_writes", "dispi_reads", "window_writes", "window_reads"):
            if vga.get(k, 0) <= 0:
                fail("stats: %s is %s" % (k, vga.get(k)))
        if vga.get("refused"):
            fail("stats: the VGA BIOS had a dispi mode refused")
        want_fast = a.paths == "fast"
        accel = st.get("accel", {})
        have_coalesced = "coalesced" in json.dumps(accel) and want_fast
        if not want_fast and (vga["window_coalesced"] or vga["lfb_dirty_log"]):
            fail("stats: a fast path is on with --no-coalesced-mmio --no-dirty-log")
        if want_fast and have_coalesced and not vga["window_coalesced"]:
            print("  note: the host's KVM did not coalesce the window")
    print("PASS")


if __name__ == "__main__":
    main()
