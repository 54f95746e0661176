#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# --stats: the exit statistics count what the guest did.  The greet guest
# writes its greeting to COM1 (one THR write per byte, each after an LSR
# poll) and ends with one debug-exit write; the JSON must show exactly those
# writes on those ports, with times, and the table must name the devices.
import json, os, subprocess, sys, tempfile

minivmm, guest = sys.argv[1], sys.argv[2]
if not os.access("/dev/kvm", os.R_OK | os.W_OK):
    print("SKIP: /dev/kvm not available")
    sys.exit(77)
greeting = "Greetings from the minivmm greet guest."
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "stats.json")
    r = subprocess.run([minivmm, "--bios", guest, "--debug-exit", f"--stats=json:{path}"],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 33, r
    s = json.load(open(path))
    thr = s["pio"]["0x03f8"]
    assert thr["device"] == "com1" and thr["writes"] == len(r.stdout), (thr, r.stdout)
    assert s["pio"]["0x00f4"]["device"] == "debug-exit" and s["pio"]["0x00f4"]["writes"] == 1
    io = s["exits"]["io"]
    assert io["count"] == sum(p["reads"] + p["writes"] for p in s["pio"].values()), io
    assert io["total_ns"] > 0 and io["max_ns"] <= io["total_ns"]
    assert sum(c for _, c in io["histogram_log2_ns"]) == io["count"]
    # The fast paths: on unless the host lacks them (no switch given).
    assert io["p99_ns"] <= io["max_ns"] and io["avg_ns"] == io["total_ns"] // io["count"], io
    # The devices' own counters (virtio queues); the greet guest has none.
    assert s["devices"] == {}, s["devices"]
    accel = s["accel"]
    assert set(accel["paths"]) == {"ioeventfd", "irqfd", "coalesced-mmio", "dirty-log"}, accel
    for path, state in accel["paths"].items():
        assert state in ("on", "off-no-host"), accel
    assert all(isinstance(v, bool) for v in accel["host"].values()), accel
    r = subprocess.run([minivmm, "--bios", guest, "--debug-exit", "--stats"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 33 and greeting in r.stdout
    for word in ("VM exits", "io", "0x03f8", "com1", "debug-exit", "fast paths", "ioeventfd"):
        assert word in r.stderr, (word, r.stderr)
    assert "virtio disks" not in r.stderr, r.stderr
    # A virtio disk the guest never touches: its row, all zero.
    img = os.path.join(d, "v.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    disk = ["--disk", f"file={img},if=virtio,num-queues=2"]
    r = subprocess.run([minivmm, "--bios", guest, "--debug-exit", f"--stats=json:{path}"] + disk,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 33, r
    vb = json.load(open(path))["virtio-blk"]
    assert len(vb) == 1 and vb[0]["id"] == "virtio-blk0" and vb[0]["queues"] == 2, vb
    assert len(vb[0]["per_queue"]) == 2 and not any(vb[0]["requests"].values()), vb
    r = subprocess.run([minivmm, "--bios", guest, "--debug-exit", "--stats"] + disk,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 33 and "virtio disks" in r.stderr and "virtio-blk0" in r.stderr, \
        r.stderr
print("PASS")
