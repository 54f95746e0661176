# SPDX-License-Identifier: GPL-2.0-or-later
"""Block-layer tests against QEMU's own tools (Debian qemu-utils).

usage: blocktest.py BLKTOOL MINIVMM_IMG TEST [ARGS...]
Each TEST is one meson test(); it exits 0 on success, 1 on failure and 77
(skipped) when qemu-img is missing.
"""
import hashlib
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

BLKTOOL, IMG = sys.argv[1], sys.argv[2]
MB = 1 << 20


def run(*cmd, ok=(0,), capture=True):
    p = subprocess.run([str(c) for c in cmd], capture_output=capture, text=True)
    if ok is not None and p.returncode not in ok:
        sys.stderr.write(f"command failed ({p.returncode}): {' '.join(map(str, cmd))}\n"
                         f"{p.stdout}{p.stderr}")
        sys.exit(1)
    return p


def make_ref(path, size, seed, density=0.5):
    """A raw file of random data with zero holes, deterministic per seed."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        pos = 0
        while pos < size:
            n = min(rnd.choice([512, 4096, 70000, 300000, MB]), size - pos)
            if rnd.random() < density:
                f.seek(pos)
                f.write(rnd.randbytes(n))
            pos += n


def qemu_io(img, fmt, *cmds):
    args = ["qemu-io", "-f", fmt]
    for c in cmds:
        args += ["-c", c]
    run(*args, img)


def to_raw(img, out, snapshot=None):
    extra = ["-l", f"snapshot.name={snapshot}"] if snapshot else []
    run("qemu-img", "convert", *extra, "-O", "raw", img, out)


def qemu_check(img, allow_leaks=False):
    p = run("qemu-img", "check", img, ok=None)
    okc = (0, 3) if allow_leaks else (0,)
    if p.returncode not in okc:
        sys.stderr.write(f"qemu-img check {img} -> {p.returncode}\n{p.stdout}{p.stderr}")
        sys.exit(1)
    return p.returncode


def compare(img, ref, fmt="qcow2"):
    run("qemu-img", "compare", "-f", fmt, "-F", "raw", img, ref)


def blk(*args, ok=(0,)):
    return run(BLKTOOL, *args, ok=ok)


# ------------------------------------------------------------ read tests

def t_read(d, compat, cluster, compressed=False):
    ref0, img, ref = f"{d}/ref0.raw", f"{d}/img.qcow2", f"{d}/ref.raw"
    make_ref(ref0, 24 * MB + 4096, seed=cluster)
    opts = f"compat={compat},cluster_size={cluster}"
    run("qemu-img", "convert", *(["-c"] if compressed else []), "-f", "raw", "-O",
        "qcow2", "-o", opts, ref0, img)
    if not compressed:
        # Scatter the layout: partial writes, zero clusters, discards.
        qemu_io(img, "qcow2", "write -P 0x5a 1000000 3000", "write -P 0x11 20M 1M",
                "write -z 5M 2M", "discard 8M 1M", "write -P 0x33 24M 4096")
    else:
        qemu_io(img, "qcow2", "write -P 0x77 3M 12345")
    to_raw(img, ref)
    blk("compare", img, ref)


def t_read_backing(d):
    os.mkdir(f"{d}/sub")
    base, mid, top = f"{d}/base.raw", f"{d}/sub/mid.qcow2", f"{d}/top.qcow2"
    make_ref(base, 16 * MB, seed=3)
    # mid is v2 and names its backing file relative to its own directory.
    run("qemu-img", "create", "-f", "qcow2", "-o", "compat=0.10,cluster_size=4096",
        "-b", "../base.raw", "-F", "raw", mid)
    qemu_io(mid, "qcow2", "write -P 0x21 100k 5000", "write -P 0x22 9M 300k")
    run("qemu-img", "create", "-f", "qcow2", "-b", "sub/mid.qcow2", "-F", "qcow2",
        top, "20M")  # larger than its backing file: the tail reads as zeros
    qemu_io(top, "qcow2", "write -P 0x31 102k 3000", "write -z 9M 64k",
            "write -P 0x32 17M 1M")
    ref = f"{d}/ref.raw"
    to_raw(top, ref)
    blk("compare", top, ref)


def t_read_snapshot(d):
    img, ref_s, ref = f"{d}/img.qcow2", f"{d}/snap.raw", f"{d}/ref.raw"
    src = f"{d}/src.raw"
    make_ref(src, 8 * MB, seed=5)
    run("qemu-img", "convert", "-O", "qcow2", src, img)
    run("qemu-img", "snapshot", "-c", "s1", img)
    qemu_io(img, "qcow2", "write -P 0x44 1M 100k")
    to_raw(img, ref_s, snapshot="s1")
    to_raw(img, ref)
    blk("internal-snapshot", img, "s1", ref_s)
    info = json.loads(run(IMG, "info", "--output=json", img).stdout)
    if [s["name"] for s in info.get("snapshots", [])] != ["s1"]:
        sys.exit("snapshot not listed by minivmm-img info")
    # Writes to the active layer must copy the shared L2 tables and clusters.
    blk("workload", img, ref, "99", "300")
    qemu_check(img)
    compare(img, ref)
    to_raw(img, f"{d}/snap2.raw", snapshot="s1")
    run("cmp", ref_s, f"{d}/snap2.raw")


# ----------------------------------------------------------- write tests

def t_write(d, kind):
    img, ref = f"{d}/img.qcow2", f"{d}/ref.raw"
    size = 32 * MB
    if kind == "v2":
        run("qemu-img", "create", "-f", "qcow2", "-o", "compat=0.10", img, size)
    elif kind == "v3":
        run("qemu-img", "create", "-f", "qcow2", img, size)
    elif kind == "c512":
        run("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=512", img, size)
    elif kind == "c2m":
        run("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=2M", img, size)
    elif kind == "ours":
        run(IMG, "create", "-f", "qcow2", "-o", "cluster_size=4096", img, size)
    elif kind == "refcount1":
        run("qemu-img", "create", "-f", "qcow2", "-o", "refcount_bits=1", img, size)
    elif kind == "refcount64":
        run("qemu-img", "create", "-f", "qcow2", "-o", "refcount_bits=64", img, size)
    elif kind == "compressed":
        src = f"{d}/src.raw"
        make_ref(src, size, seed=8)
        run("qemu-img", "convert", "-c", "-O", "qcow2", src, img)
    elif kind in ("backing-v2", "backing-v3"):
        base = f"{d}/base.qcow2"
        src = f"{d}/src.raw"
        make_ref(src, size, seed=9)
        run("qemu-img", "convert", "-O", "qcow2", "-o", "cluster_size=16k", src, base)
        compat = "0.10" if kind == "backing-v2" else "1.1"
        run("qemu-img", "create", "-f", "qcow2", "-o", f"compat={compat}", "-b",
            "base.qcow2", "-F", "qcow2", img)
    elif kind == "grow":
        # 512 B clusters on 64 MiB force refcount table growth.
        size = 64 * MB
        run(IMG, "create", "-f", "qcow2", "-o", "cluster_size=512", img, size)
    to_raw(img, ref)
    ops = "1500" if kind != "grow" else "600"
    blk("workload", img, ref, str(zlib.crc32(kind.encode()) & 0xffff), ops)
    qemu_check(img)
    compare(img, ref)
    # Once more through the reopened image.
    blk("workload", img, ref, "4242", "200")
    qemu_check(img)
    compare(img, ref)
    blk("compare", img, ref)


def t_write_raw(d, cache):
    img, ref = f"{d}/img.raw", f"{d}/ref.raw"
    run(IMG, "create", "-f", "raw", img, "16M")
    shutil.copy(img, ref)
    blk("workload", img, ref, "5", "400", cache)
    run("cmp", img, ref)
    img2, ref2 = f"{d}/img.qcow2", f"{d}/ref2.raw"
    run(IMG, "create", "-f", "qcow2", img2, "16M")
    to_raw(img2, ref2)
    blk("workload", img2, ref2, "6", "400", cache)
    qemu_check(img2)
    compare(img2, ref2)


def t_snapshot_on(d):
    for fmt in ("raw", "qcow2"):
        img = f"{d}/img.{fmt}"
        src = f"{d}/src.raw"
        make_ref(src, 4 * MB, seed=1)
        run("qemu-img", "convert", "-O", fmt, src, img)
        before = hashlib.sha256(open(img, "rb").read()).hexdigest()
        blk("snapshot", img)
        after = hashlib.sha256(open(img, "rb").read()).hexdigest()
        if before != after:
            sys.exit(f"snapshot=on modified {img}")
    left = [f for f in os.listdir(os.environ.get("TMPDIR", "/var/tmp"))
            if f.startswith("minivmm-snapshot-")]
    if left:
        print(f"note: stale overlays from other runs: {left}")


# ------------------------------------------------------------ crash test

def t_crash(d, kills):
    rnd = random.Random(2024)
    for i in range(kills):
        img, log = f"{d}/crash.qcow2", f"{d}/crash.log"
        for f in (img, log):
            if os.path.exists(f):
                os.unlink(f)
        cluster = rnd.choice(["4096", "65536", "512"])
        run(IMG, "create", "-f", "qcow2", "-o", f"cluster_size={cluster}", img, "8M")
        seed, ops = str(rnd.randrange(1 << 30)), "100000"
        p = subprocess.Popen([BLKTOOL, "crash-write", img, log, seed, ops])
        time.sleep(rnd.uniform(0.01, 0.4))
        if p.poll() is not None:
            sys.exit("the writer finished before it was killed")
        p.send_signal(signal.SIGKILL)
        p.wait()
        rc = qemu_check(img, allow_leaks=True)
        blk("crash-verify", img, log, seed, ops)
        if rc == 3:
            run(IMG, "check", "-r", "leaks", img, ok=(0,))
            qemu_check(img)
        print(f"kill {i}: cluster {cluster}, check rc {rc}: ok")


def t_barrier_order(d):
    # The recorded sequence of writes and fdatasyncs of qcow2 operations.
    print(blk("barrier-order", d).stdout, end="")


def t_powerloss(d, seed):
    # Power loss at every barrier (sampled), unstable writes torn per sector.
    print(blk("powerloss", d, seed).stdout, end="")


# ------------------------------------------------------------ bad images

def qcow2_header(cluster_bits=16, size=16 * MB, l1_size=1, l1_off=0x30000,
                 rt_off=0x10000, rt_clusters=1, version=3, incompat=0,
                 refcount_order=4, hlen=104, nb_snap=0, snap_off=0, crypt=0,
                 backing=None):
    h = struct.pack(">IIQIIQIIQQIIQ", 0x514649fb, version, 0, 0, cluster_bits, size,
                    crypt, l1_size, l1_off, rt_off, rt_clusters, nb_snap, snap_off)
    if version == 3:
        h += struct.pack(">QQQII", incompat, 0, 0, refcount_order, hlen)
        h += struct.pack(">II", 0, 0)
    if backing:
        bo = len(h)
        h = h[:8] + struct.pack(">QI", bo, len(backing)) + h[20:] + backing.encode()
    return h


def write_image(path, header, clusters, cluster_size=65536, total=None):
    """clusters: {cluster_index: bytes}"""
    n = total or (max(clusters) + 1 if clusters else 1)
    with open(path, "wb") as f:
        f.truncate(n * cluster_size)
        f.seek(0)
        f.write(header)
        for idx, data in clusters.items():
            f.seek(idx * cluster_size)
            f.write(data)


def good_layout(**kw):
    """A valid 16 MiB v3 image: header, reftable, refblock, L1, one L2, data."""
    rt = struct.pack(">Q", 0x20000)
    rb = struct.pack(">HHHHHH", 1, 1, 1, 1, 1, 1)
    l1 = struct.pack(">Q", 0x40000 | (1 << 63))
    l2 = struct.pack(">Q", 0x50000 | (1 << 63))
    cl = {1: rt, 2: rb, 3: l1, 4: l2, 5: b"\x42" * 65536}
    cl.update(kw.pop("clusters", {}))
    return qcow2_header(**kw), cl


def t_errors(d):
    cases = {}
    h, cl = good_layout()
    cases["good"] = (h, cl, (0,))
    cases["truncated-header"] = (h[:40], {}, (10,))
    h2, cl2 = good_layout()
    cases["truncated-file"] = (h2, {1: cl2[1]}, (10,), 2)  # L1 past EOF
    cases["l1-past-eof"] = (*good_layout(l1_off=0x900000), (10,))
    cases["l2-past-eof"] = (*good_layout(clusters={3: struct.pack(">Q", 0x7000000 | 1 << 63)}),
                            (11,))
    cases["data-past-eof"] = (*good_layout(clusters={4: struct.pack(">Q", 0x9990000 | 1 << 63)}),
                              (11,))
    cases["l2-unaligned"] = (*good_layout(clusters={3: struct.pack(">Q", 0x40200 | 1 << 63)}),
                             (11,))
    cases["l1-overlaps-reftable"] = (*good_layout(l1_off=0x10000), (10,))
    cases["l2-is-header"] = (*good_layout(clusters={3: struct.pack(">Q", 0 | 1 << 63 | 0x10000)}),
                             (11,))
    cases["data-is-l1"] = (*good_layout(clusters={4: struct.pack(">Q", 0x30000 | 1 << 63)}),
                           (0, 11))
    cases["huge-l1"] = (*good_layout(l1_size=0x10000000), (10,))
    cases["l1-too-small"] = (*good_layout(size=1 << 40), (10,))
    cases["huge-size"] = (*good_layout(size=1 << 63), (10,))
    cases["huge-reftable"] = (*good_layout(rt_clusters=0x100000), (10,))
    cases["zero-reftable"] = (*good_layout(rt_clusters=0), (10,))
    cases["cluster-bits-30"] = (*good_layout(cluster_bits=30), (10,))
    cases["cluster-bits-8"] = (*good_layout(cluster_bits=8), (10,))
    cases["version-4"] = (*good_layout(version=4), (10,))
    cases["encrypted"] = (*good_layout(crypt=1), (10,))
    cases["extl2"] = (*good_layout(incompat=1 << 4), (10,))
    cases["datafile"] = (*good_layout(incompat=1 << 2), (10,))
    cases["unknown-incompat"] = (*good_layout(incompat=1 << 40), (10,))
    cases["corrupt-bit"] = (*good_layout(incompat=1 << 1), (10,))  # rw open refused
    cases["refcount-order-7"] = (*good_layout(refcount_order=7), (10,))
    cases["header-length-huge"] = (*good_layout(hlen=1 << 20), (10,))
    cases["snapshots-huge"] = (*good_layout(nb_snap=1 << 30, snap_off=0x60000), (10,))
    cases["snapshots-past-eof"] = (*good_layout(nb_snap=3, snap_off=0x900000), (10,))
    cases["refblock-past-eof"] = (*good_layout(clusters={1: struct.pack(">Q", 0x8000000)}),
                                  (11, 0))
    cases["compressed-garbage"] = (*good_layout(
        clusters={4: struct.pack(">Q", (1 << 62) | (3 << 54) | 0x50000)}), (11,))
    cases["backing-missing"] = (*good_layout(backing="does-not-exist.qcow2"), (10,))
    cases["backing-self-loop"] = (*good_layout(backing="loop.img"), (10,))
    cases["backing-unreadable"] = (*good_layout(backing="/proc/self/mem"), (10,))
    cases["backing-dir"] = (*good_layout(backing="/"), (10,))

    failed = 0
    for name, (hdr, cl, want, *total) in cases.items():
        path = f"{d}/{name}.img" if name != "backing-self-loop" else f"{d}/loop.img"
        write_image(path, hdr, cl, total=total[0] if total else 7)
        before = hashlib.sha256(open(path, "rb").read()).hexdigest()
        p = run(BLKTOOL, "open", path, "rw", ok=None)
        after = hashlib.sha256(open(path, "rb").read()).hexdigest()
        status = "ok"
        if p.returncode not in want:
            status = f"FAIL (exit {p.returncode}, wanted {want})"
            failed += 1
        elif p.returncode == 10 and before != after:
            status = "FAIL (a refused open changed the file)"
            failed += 1
        print(f"{name:24} {status}: {p.stdout.strip()} {p.stderr.strip()[:200]}")
    # A loop two images long.
    a, b = f"{d}/a.qcow2", f"{d}/b.qcow2"
    run("qemu-img", "create", "-f", "qcow2", a, "1M")
    run("qemu-img", "create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b)
    run("qemu-img", "rebase", "-u", "-b", "b.qcow2", "-F", "qcow2", a)
    p = run(BLKTOOL, "open", b, ok=None)
    print(f"{'loop-of-two':24} {'ok' if p.returncode == 10 else 'FAIL'}: {p.stdout.strip()}")
    failed += p.returncode != 10
    # Truncated copies of a real image: never a crash.
    src, img = f"{d}/src.raw", f"{d}/real.qcow2"
    make_ref(src, 4 * MB, seed=2)
    run("qemu-img", "convert", "-O", "qcow2", "-o", "cluster_size=4096", src, img)
    data = open(img, "rb").read()
    for cut in (100, 4096, 8192, 12288, 20000, len(data) // 2, len(data) - 4096):
        t = f"{d}/trunc.qcow2"
        open(t, "wb").write(data[:cut])
        p = run(BLKTOOL, "open", t, ok=None)
        good = p.returncode in (0, 10, 11)
        print(f"{'truncated-' + str(cut):24} {'ok' if good else 'FAIL'} ({p.returncode})")
        failed += not good
    if failed:
        sys.exit(f"{failed} error-path cases failed")


# ------------------------------------------------------------ minivmm-img

def t_img(d):
    q = f"{d}/a.qcow2"
    out = run(IMG, "create", "-f", "qcow2", q, "50G").stdout
    assert "Formatting" in out
    info = json.loads(run("qemu-img", "info", "--output=json", q).stdout)
    assert info["virtual-size"] == 50 << 30, info
    assert info["format-specific"]["data"]["compat"] == "1.1"
    qemu_check(q)
    for opts in ("compat=0.10", "cluster_size=512", "cluster_size=2M",
                 "lazy_refcounts=on", "cluster_size=4k,compat=0.10"):
        p = f"{d}/o.qcow2"
        run(IMG, "create", "-f", "qcow2", "-o", opts, p, "3G")
        qemu_check(p)
        qi = json.loads(run("qemu-img", "info", "--output=json", p).stdout)
        mi = json.loads(run(IMG, "info", "--output=json", p).stdout)
        for k in ("virtual-size", "cluster-size", "format"):
            assert qi[k] == mi[k], (opts, k, qi[k], mi[k])
        for k in ("compat", "refcount-bits"):
            assert qi["format-specific"]["data"][k] == mi["format-specific"]["data"][k]
    # Backing file with size taken from it.
    run(IMG, "create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", f"{d}/b.qcow2")
    qi = json.loads(run("qemu-img", "info", "--output=json", f"{d}/b.qcow2").stdout)
    assert qi["backing-filename"] == "a.qcow2" and qi["virtual-size"] == 50 << 30, qi
    text = run(IMG, "info", f"{d}/b.qcow2").stdout
    assert "backing file: a.qcow2" in text and "virtual size: 50 GiB" in text, text
    # raw
    run(IMG, "create", "-f", "raw", f"{d}/r.raw", "10M")
    assert os.path.getsize(f"{d}/r.raw") == 10 * MB
    # convert both ways, compare with qemu-img
    src = f"{d}/src.raw"
    make_ref(src, 12 * MB, seed=11)
    run(IMG, "convert", "-f", "raw", "-O", "qcow2", src, f"{d}/c.qcow2")
    qemu_check(f"{d}/c.qcow2")
    run("qemu-img", "compare", "-F", "raw", f"{d}/c.qcow2", src)
    run(IMG, "convert", "-O", "raw", f"{d}/c.qcow2", f"{d}/c.raw")
    run("cmp", src, f"{d}/c.raw")
    run("qemu-img", "convert", "-c", "-O", "qcow2", src, f"{d}/z.qcow2")
    run(IMG, "convert", "-p", "-O", "qcow2", f"{d}/z.qcow2", f"{d}/z2.qcow2")
    run("qemu-img", "compare", f"{d}/z.qcow2", f"{d}/z2.qcow2")
    # resize
    run(IMG, "resize", f"{d}/c.qcow2", "+1G")
    qi = json.loads(run("qemu-img", "info", "--output=json", f"{d}/c.qcow2").stdout)
    assert qi["virtual-size"] == 12 * MB + (1 << 30), qi
    qemu_check(f"{d}/c.qcow2")
    # growing past what the L1 table covers (512 B clusters: 32 KiB per L2 table)
    run(IMG, "create", "-f", "qcow2", "-o", "cluster_size=512", f"{d}/s.qcow2", "1M")
    qemu_io(f"{d}/s.qcow2", "qcow2", "write -P 0x66 0 1M")
    run(IMG, "resize", f"{d}/s.qcow2", "64M")
    qemu_check(f"{d}/s.qcow2")
    qemu_io(f"{d}/s.qcow2", "qcow2", "read -P 0x66 0 1M", "write -P 0x67 60M 1M",
            "read -P 0x67 60M 1M")
    qemu_check(f"{d}/s.qcow2")
    run(IMG, "resize", f"{d}/r.raw", "20M")
    assert os.path.getsize(f"{d}/r.raw") == 20 * MB
    p = run(IMG, "resize", f"{d}/r.raw", "1M", ok=(1,))
    # check: make a leak by bumping a refcount, then repair it
    leak = f"{d}/leak.qcow2"
    run("qemu-img", "create", "-f", "qcow2", leak, "64M")
    qemu_io(leak, "qcow2", "write 0 128k")
    with open(leak, "r+b") as f:
        f.truncate(16 * 65536)
        f.seek(0x20000 + 2 * 10)  # refblock 0 entry for cluster 10 (unused)
        f.write(struct.pack(">H", 1))
    assert run("qemu-img", "check", leak, ok=None).returncode == 3
    p = run(IMG, "check", leak, ok=(3,))
    assert "1 leaked clusters" in p.stdout, p.stdout
    run(IMG, "check", "-r", "leaks", leak, ok=(0,))
    qemu_check(leak)
    # a corruption (refcount too low) is found, and fixed by -r all
    with open(leak, "r+b") as f:
        f.seek(0x20000 + 2 * 5)  # cluster 5: a data cluster written above
        f.write(struct.pack(">H", 0))
    assert run("qemu-img", "check", leak, ok=None).returncode == 2
    run(IMG, "check", leak, ok=(2,))
    j = json.loads(run(IMG, "check", "--output=json", leak, ok=(2,)).stdout)
    assert j["corruptions"] >= 1, j
    run(IMG, "check", "-r", "all", leak, ok=(0,))
    qemu_check(leak)


# ---------------------------------------------- refcount structure rebuild

def reftable_offset(img):
    with open(img, "rb") as f:
        f.seek(48)
        return struct.unpack(">Q", f.read(8))[0]


def reftable_entry(img, idx, value=0):
    """Overwrites entry idx of the refcount table; returns the old value."""
    with open(img, "r+b") as f:
        f.seek(48)
        rt = struct.unpack(">Q", f.read(8))[0]
        f.seek(rt + 8 * idx)
        old = struct.unpack(">Q", f.read(8))[0]
        f.seek(rt + 8 * idx)
        f.write(struct.pack(">Q", value))
    return old


def rebuild_case(d, name, cluster, damage, snapshot=False):
    img, before = f"{d}/{name}.qcow2", f"{d}/{name}-before.qcow2"
    run("qemu-img", "create", "-f", "qcow2", "-o", f"cluster_size={cluster}", img, "64M")
    qemu_io(img, "qcow2", "write -P 0x11 0 3M", "write -P 0x22 5000k 700k",
            "write -z 9M 64k", "write -P 0x33 40M 1M")
    if snapshot:
        run("qemu-img", "snapshot", "-c", "s1", img)
        qemu_io(img, "qcow2", "write -P 0x44 1M 64k")
    shutil.copy(img, before)
    damage(img)
    rc = run("qemu-img", "check", img, ok=None).returncode
    assert rc in (1, 2), f"{name}: qemu-img check of the damaged image gave {rc}"
    p = run(IMG, "check", img, ok=None)
    assert p.returncode in (1, 2), f"{name}: minivmm-img check gave {p.returncode}"
    # Without -r all the structure stays as it is.
    run(IMG, "check", "-r", "leaks", img, ok=None)
    p = run(IMG, "check", "-r", "all", img, ok=(0,))
    assert "Rebuilding refcount structure" in p.stderr, p.stderr[-2000:]
    assert "No errors were found" in p.stdout, p.stdout
    qemu_check(img)  # clean: no corruptions, no leaks
    run("qemu-img", "compare", before, img)
    if snapshot:
        to_raw(before, f"{d}/s-before.raw", snapshot="s1")
        to_raw(img, f"{d}/s-after.raw", snapshot="s1")
        run("cmp", f"{d}/s-before.raw", f"{d}/s-after.raw")
    # The new structure takes allocations, by QEMU and by us.
    qemu_io(img, "qcow2", "write -P 0x55 20M 5M", "read -P 0x11 0 1M")
    qemu_check(img)
    ref = f"{d}/{name}.raw"
    to_raw(img, ref)
    blk("workload", img, ref, "77", "200")
    qemu_check(img)
    compare(img, ref)
    print(f"{name}: rebuilt, qemu-img check clean, data equal")


def rebuild_powerloss(d, cluster):
    """A power loss at any point of the rebuild leaves data and a repairable image."""
    img, before = f"{d}/pl-{cluster}.qcow2", f"{d}/pl-{cluster}-before.qcow2"
    run("qemu-img", "create", "-f", "qcow2", "-o", f"cluster_size={cluster}", img, "16M")
    qemu_io(img, "qcow2", "write -P 0x12 0 2M", "write -P 0x34 7M 300k")
    shutil.copy(img, before)
    reftable_entry(img, 0)
    out = f"{d}/pl-{cluster}"
    os.mkdir(out)
    print(blk("repair-crashes", img, out).stdout, end="")
    crashes = sorted(os.listdir(out), key=lambda s: int(s.split("-")[1].split(".")[0]))
    assert len(crashes) >= 3, crashes
    for c in crashes:
        p = f"{out}/{c}"
        rc = run("qemu-img", "check", p, ok=None).returncode
        # Before the header switch: the old damage (2); after it: clean or leaks.
        assert rc in (0, 2, 3), f"{c}: qemu-img check gave {rc}"
        run("qemu-img", "compare", before, p)
        if rc:
            run(IMG, "check", "-r", "all", p, ok=(0,))
            qemu_check(p)
            run("qemu-img", "compare", before, p)
    last = run("qemu-img", "check", f"{out}/{crashes[-1]}", ok=None).returncode
    assert last == 0, f"the completed repair left qemu-img check {last}"
    print(f"rebuild power loss, cluster {cluster}: {len(crashes)} crash points ok")


def t_rebuild(d):
    # A refcount block in the middle lost (512 B clusters: many blocks).
    rebuild_case(d, "mid-512", 512, lambda p: reftable_entry(p, 3))
    # The first block lost: header, L1, L2 and the table itself uncounted.
    rebuild_case(d, "first-64k", 65536, lambda p: reftable_entry(p, 0), snapshot=True)
    # Entries that cannot be used: past the end, unaligned, on the table itself.
    rebuild_case(d, "past-eof", 4096, lambda p: reftable_entry(p, 0, 0x1234567000))
    rebuild_case(d, "unaligned", 65536, lambda p: reftable_entry(p, 0, 0x30200))
    rebuild_case(d, "on-reftable", 512, lambda p: reftable_entry(p, 1, reftable_offset(p)))
    rebuild_powerloss(d, 512)
    rebuild_powerloss(d, 65536)
    # Lazy refcounts and a crash (qemu-io abort) leave counts unwritten.
    img = f"{d}/lazy.qcow2"
    run("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=512,lazy_refcounts=on",
        img, "8M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x66 0 2M", "-c", "flush", "-c", "abort",
        img, ok=None)
    assert run("qemu-img", "check", img, ok=None).returncode != 0
    run(IMG, "check", "-r", "all", img, ok=(0,))
    qemu_check(img)
    qemu_io(img, "qcow2", "read -P 0x66 0 2M")
    print("lazy refcounts after a crash: repaired")


# ------------------------------------------------------ format probing

def first_sector(path):
    with open(path, "rb") as f:
        return f.read(512)


def t_probe_guard(d):
    """A probed raw image cannot be turned into another format by its guest."""
    img, hdr, mbr = f"{d}/disk.img", f"{d}/hdr.bin", f"{d}/mbr.bin"
    make_ref(img, 4 * MB, seed=21, density=1.0)
    with open(img, "r+b") as f:  # an ordinary boot sector first
        f.write(bytes(446) + bytes(64) + b"\x55\xaa")
    evil = f"{d}/evil.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", evil)
    with open(hdr, "wb") as f:
        f.write(first_sector(evil))
    before = first_sector(img)

    def write(path, off, data, fmt=None, want=0):
        with open(f"{d}/data.bin", "wb") as f:
            f.write(data)
        p = blk("write", path, off, f"{d}/data.bin", *([fmt] if fmt else []), ok=(want,))
        return p

    # The whole header, a bare magic, a magic at an offset, a write spanning
    # sector 0 into sector 1: all refused, the sector unchanged.
    p = write(img, 0, open(hdr, "rb").read(), want=12)
    assert "format=raw" in p.stdout, p.stdout
    assert "no format given, probed as raw" in p.stderr, p.stderr
    assert "refused a write to sector 0" in p.stderr, p.stderr
    write(img, 0, b"QFI\xfb", want=12)
    write(img, 64, b"\x7f\x10\xda\xbe", want=12)  # VDI
    write(img, 0, b"conectix" + bytes(1024), want=12)  # VPC
    write(img, 0, b"version=1\n", want=12)  # VMDK descriptor
    assert first_sector(img) == before, "a refused write changed sector 0"
    info = json.loads(run("qemu-img", "info", "--output=json", img).stdout)
    assert info["format"] == "raw", info
    # Ordinary writes to sector 0 and beyond still work.
    write(img, 0, b"\xeb\x3c\x90MINIVMM" + bytes(501))
    write(img, 100, b"QFI\xfb")  # not at a signature's place
    write(img, 512, open(hdr, "rb").read())
    p = write(img, 4096, b"x" * 4096)
    assert "format=raw" in p.stdout
    with open(img, "rb") as f:
        s0 = f.read(512)
        f.seek(512)
        s1 = f.read(512)
    assert s0[:10] == b"\xeb\x3c\x90MINIVMM" and s0[100:104] == b"QFI\xfb", s0[:16]
    assert s1 == open(hdr, "rb").read()
    # With format=raw nothing is guarded (and nothing is said).
    p = write(img, 0, open(hdr, "rb").read(), fmt="raw")
    assert "warning" not in p.stderr, p.stderr
    assert first_sector(img) == open(hdr, "rb").read()
    # A qcow2 image whose magic is damaged opens as probed raw, guarded.
    bad = f"{d}/bad.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", bad, "8M")
    with open(bad, "r+b") as f:
        f.write(b"QFX")
    p = write(bad, 65536, b"y" * 512)
    assert "format=raw" in p.stdout and "probed as raw" in p.stderr, (p.stdout, p.stderr)
    write(bad, 0, b"QFI", want=12)
    # A file with another format's signature is refused when probed.
    vmdk = f"{d}/x.vmdk"
    run("qemu-img", "create", "-q", "-f", "vmdk", vmdk, "8M")
    p = blk("open", vmdk, "rw", ok=(10,))
    assert "vmdk" in p.stdout, p.stdout
    # A backing file without a backing format is probed the same way: raw
    # data works, another format's signature is refused.
    base, top = f"{d}/base.img", f"{d}/top.qcow2"
    make_ref(base, MB, seed=22)
    run(IMG, "create", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.img", top)
    info = json.loads(run("qemu-img", "info", "-U", "--output=json", top).stdout)
    assert "backing-filename-format" not in info, info  # v2: no format stored
    blk("open", top, "rw")
    with open(base, "r+b") as f:
        f.write(b"KDMV")
    p = blk("open", top, "rw", ok=(10,))
    assert "looks like a vmdk image" in p.stdout and "base.img" in p.stdout, p.stdout
    print("probe guard: refused writes left sector 0 alone, format=raw allows them")


# ------------------------------------------------- corruption at run time

def t_corrupt_report(d):
    cases = {
        "l2-past-eof": ({3: struct.pack(">Q", 0x7000000 | 1 << 63)},
                        "L2 table offset 0x7000000 lies past the end of the file"),
        "l2-unaligned": ({3: struct.pack(">Q", 0x40200 | 1 << 63)},
                         "L2 table offset 0x40200 is not cluster aligned"),
        "data-past-eof": ({4: struct.pack(">Q", 0x9990000 | 1 << 63)},
                          "data cluster offset 0x9990000 lies past the end of the file"),
    }
    cases["l2-truncated"] = ({}, "L2 table offset 0x40000 lies past the end of the file")
    for name, (clusters, why) in cases.items():
        img = f"{d}/{name}.qcow2"
        write_image(img, *good_layout(clusters=clusters), total=7)
        if name == "l2-truncated":
            os.truncate(img, 0x48000)  # half of the L2 table, none of the data
        # Read-only: said once, the file untouched.
        before = sha(img)
        p = blk("open", img, ok=(11,))
        assert p.stderr.count("qcow2 image is corrupt") == 1, p.stderr
        assert sha(img) == before, f"{name}: a read-only open changed the file"
        # Read-write: said once, naming the image, and the corrupt bit set.
        p = blk("open", img, "rw", ok=(11,))
        want = f"minivmm: '{img}': qcow2 image is corrupt: {why}; further access refused"
        assert p.stderr.count("qcow2 image is corrupt") == 1, p.stderr
        assert want in p.stderr, (want, p.stderr)
        assert header_incompat(img) & 2, f"{name}: corrupt bit not set"
        info = json.loads(run("qemu-img", "info", "-U", "--output=json", img).stdout)
        assert info["format-specific"]["data"]["corrupt"] is True, info
        # Marked: read-write opens are refused, pointing at the repair.
        p = blk("open", img, "rw", ok=(10,))
        assert "marked corrupt" in p.stdout and "qemu-img check -r all" in p.stdout, p.stdout
        assert "minivmm-img check -r all" in p.stdout, p.stdout
        blk("open", img, ok=(11,))
        print(f"{name}: reported once, marked corrupt, read-write refused")


# --------------------------------------------- a failed start changes nothing

def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def header_incompat(img):
    with open(img, "rb") as f:
        f.seek(72)
        return struct.unpack(">Q", f.read(8))[0]


def t_open_unchanged(d):
    # A dirty lazy-refcount image, left by a QEMU that died.
    img = f"{d}/dirty.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512,lazy_refcounts=on",
        img, "8M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x66 0 1M", "-c", "flush", "-c", "abort",
        img, ok=None)
    assert header_incompat(img) & 1, "qemu-io abort left no dirty bit"
    # Unknown autoclear bits too: a writer clears them, an open must not.
    with open(img, "r+b") as f:
        f.seek(88)
        f.write(struct.pack(">Q", 1 << 40))
    before = sha(img)
    release(hold(img, "rw"))  # open and close, no I/O
    assert sha(img) == before, "open+close changed a dirty image"
    blk("open", img)  # read-only, reading everything
    assert sha(img) == before, "a read-only open changed the image"
    minivmm = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(BLKTOOL)))), "vmm", "minivmm")
    if os.path.exists(minivmm):
        p = run(minivmm, "--disk", img, "--disk", f"{d}/nonexistent.img", ok=(2,))
        assert "nonexistent.img" in p.stderr, p.stderr
        assert sha(img) == before, "a failed minivmm start changed the image"
        print("minivmm with a missing second disk: exit 2, image unchanged")
    # The first write repairs it and clears the bits.
    with open(f"{d}/data.bin", "wb") as f:
        f.write(b"\x77" * 4096)
    blk("write", img, 1 << 20, f"{d}/data.bin")
    assert not header_incompat(img) & 1, "the first write left the dirty bit"
    with open(img, "rb") as f:
        f.seek(88)
        assert struct.unpack(">Q", f.read(8))[0] == 0, "autoclear bits left"
    qemu_check(img)
    qemu_io(img, "qcow2", "read -P 0x66 0 1M", "read -P 0x77 1M 4k")
    # A clean image: open+close leaves every byte, raw and qcow2.
    for fmt in ("qcow2", "raw"):
        p = f"{d}/clean.{fmt}"
        run("qemu-img", "create", "-q", "-f", fmt, p, "8M")
        before = sha(p)
        release(hold(p, "rw", fmt))
        assert sha(p) == before, f"open+close changed a clean {fmt} image"
    print("open+close: images byte-for-byte unchanged; the first write repairs")


# ------------------------------------------- asynchronous I/O ready at open

def t_async_ready(d):
    for fmt in ("raw", "qcow2"):
        img = f"{d}/a.{fmt}"
        run("qemu-img", "create", "-q", "-f", fmt, img, "8M")
        env = dict(os.environ, MINIVMM_BLOCK_WORKERS="3")
        p = subprocess.run([BLKTOOL, "async-ready", img], capture_output=True, text=True,
                           env=env)
        assert p.returncode == 0, p.stderr
        f = dict(kv.split("=") for kv in p.stdout.split())
        assert f["fd"] == "1", p.stdout  # block_completion_fd valid before any request
        assert f["threads"] == "4", p.stdout  # main + 3 workers, all started
        if f["aio"] == "io_uring":
            assert f["rings"] == "1", p.stdout
        print(f"{fmt}: {p.stdout.strip()}")


# ------------------------------------------------------------ locking

def hold(img, mode, fmt=None):
    """Our block layer holding img open, until the returned process's stdin closes."""
    p = subprocess.Popen([BLKTOOL, "hold", img, mode] + ([fmt] if fmt else []),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.strip() == "holding", line
    return p


def release(p):
    p.stdin.close()
    assert p.wait(timeout=30) == 0


def qemu_holding(*args):
    """qemu-io keeping an image open; returns once its locks are taken."""
    p = subprocess.Popen(["qemu-io", *args, "-c", "sleep 20000"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    img = args[-1]
    ino = os.stat(img).st_ino
    for _ in range(200):
        with open("/proc/locks") as f:
            if any(f":{ino} " in line for line in f):
                return p
        time.sleep(0.05)
    p.kill()
    sys.exit("qemu-io took no lock")


def t_locking(d):
    img, base, top = f"{d}/a.qcow2", f"{d}/base.qcow2", f"{d}/top.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", img, "16M")
    # We hold it read-write: QEMU's tools see the lock, -U looks anyway.
    h = hold(img, "rw")
    p = run("qemu-img", "info", img, ok=(1,))
    assert 'Failed to get shared "write" lock' in p.stderr, p.stderr
    run("qemu-img", "info", "-U", img)
    p = run("qemu-io", "-c", "write 0 512", img, ok=None)
    assert p.returncode != 0 and "lock" in p.stderr, p.stderr
    # Two of our own opens conflict, read-write or read-only; force_share does not.
    p = blk("open", img, "rw", ok=(10,))
    assert f"'{img}' is in use by another process (locked for writing)" in p.stdout, p.stdout
    assert len(p.stdout.strip().splitlines()) == 1, p.stdout
    blk("open", img, ok=(10,))
    blk("open", img, "share")
    release(h)
    blk("open", img, "rw")
    # QEMU holds it read-write: our opens fail with the message.
    q = qemu_holding("-f", "qcow2", img)
    try:
        p = blk("open", img, "rw", ok=(10,))
        assert "in use by another process (locked for writing)" in p.stdout, p.stdout
        p = run(IMG, "info", img, ok=(1,))
        assert "in use by another process" in p.stderr, p.stderr
        blk("open", img, "share")
        minivmm = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(BLKTOOL)))), "vmm", "minivmm")
        if os.path.exists(minivmm):
            p = run(minivmm, "--disk", img, ok=(2,))
            assert len(p.stderr.strip().splitlines()) == 1, p.stderr
            assert f"'{img}' is in use by another process (locked for writing)" in p.stderr
            print(f"minivmm: {p.stderr.strip()}")
    finally:
        q.kill()
        q.wait()
    # QEMU reads it (read-only, not sharing write): we may read, not write.
    q = qemu_holding("-r", "-f", "qcow2", img)
    try:
        p = blk("open", img, "rw", ok=(10,))
        assert "does not share write access" in p.stdout, p.stdout
        blk("open", img)
    finally:
        q.kill()
        q.wait()
    # A raw image, the same.
    raw = f"{d}/r.raw"
    run("qemu-img", "create", "-q", "-f", "raw", raw, "4M")
    h = hold(raw, "rw", "raw")
    p = run("qemu-io", "-f", "raw", "-c", "write 0 512", raw, ok=None)
    assert p.returncode != 0 and 'Failed to get "write" lock' in p.stderr, p.stderr
    release(h)
    # The backing chain is locked read-only: readers welcome, writers not.
    run("qemu-img", "create", "-q", "-f", "qcow2", base, "16M")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top)
    h = hold(top, "rw")
    run("qemu-img", "info", base)
    p = run("qemu-io", "-c", "write 0 512", base, ok=None)
    assert p.returncode != 0 and "lock" in p.stderr, p.stderr
    blk("open", base, ok=(0,))
    blk("open", base, "rw", ok=(10,))
    release(h)
    run("qemu-io", "-c", "write 0 512", base)
    print("locking: QEMU and minivmm see each other's locks")


# ------------------------------------------------------------ fuzz corpus

def main():
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("SKIP: qemu-img/qemu-io not found (Debian package qemu-utils)")
        sys.exit(77)
    test, args = sys.argv[3], sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="blocktest-") as d:
        if test == "read":
            t_read(d, args[0], int(args[1]), compressed=len(args) > 2)
        elif test == "read-backing":
            t_read_backing(d)
        elif test == "read-snapshot":
            t_read_snapshot(d)
        elif test == "write":
            t_write(d, args[0])
        elif test == "cache":
            t_write_raw(d, args[0])
        elif test == "snapshot-on":
            t_snapshot_on(d)
        elif test == "crash":
            t_crash(d, int(args[0]))
        elif test == "barrier-order":
            t_barrier_order(d)
        elif test == "powerloss":
            t_powerloss(d, args[0])
        elif test == "errors":
            t_errors(d)
        elif test == "img":
            t_img(d)
        elif test == "corrupt-report":
            t_corrupt_report(d)
        elif test == "open-unchanged":
            t_open_unchanged(d)
        elif test == "async-ready":
            t_async_ready(d)
        elif test == "locking":
            t_locking(d)
        elif test == "probe-guard":
            t_probe_guard(d)
        elif test == "rebuild":
            t_rebuild(d)
        else:
            sys.exit(f"unknown test {test}")
    print("PASS")


main()
