# SPDX-License-Identifier: GPL-2.0-or-later
"""minivmm-img as a new user tries it: each test is a bug found that way.

usage: imgtool_test.py MINIVMM_IMG TEST
Runs the real binary on real images and checks them with qemu-img; exits 0
on success, 1 on failure, 77 (skipped) when qemu-img is missing.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

IMG = sys.argv[1]
MB = 1 << 20


def run(*cmd, ok=(0,)):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if ok is not None and p.returncode not in ok:
        fail(f"command gave {p.returncode}, wanted {ok}: {' '.join(map(str, cmd))}\n"
             f"{p.stdout}{p.stderr}")
    return p


def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(1)


def img(*args, ok=(0,)):
    return run(IMG, *args, ok=ok)


def refused(*args, want=None):
    """minivmm-img must refuse (status 1 or 2) with one line naming want."""
    p = img(*args, ok=(1, 2))
    if want and want not in p.stderr:
        fail(f"minivmm-img {' '.join(args)}: message lacks {want!r}: {p.stderr!r}")
    if p.stderr.count("\n") != 1:
        fail(f"minivmm-img {' '.join(args)}: want one line of message: {p.stderr!r}")
    return p


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def qemu_check(path):
    p = run("qemu-img", "check", path, ok=None)
    if p.returncode:
        fail(f"qemu-img check {path} -> {p.returncode}\n{p.stdout}{p.stderr}")


def qemu_info(path):
    return json.loads(run("qemu-img", "info", "-U", "--output=json", path).stdout)


def fill(path, fmt="qcow2"):
    run("qemu-io", "-f", fmt, "-c", "write -P 0x5a 0 1M", "-c", "write -P 0xa5 5M 64k", path)


# ------------------------------------------------ 1: convert onto the source

def t_convert_self(d):
    base, src = f"{d}/base.qcow2", f"{d}/src.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", base, "8M")
    fill(base)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", src)
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x33 2M 64k", src)
    raw = f"{d}/r.raw"
    run("qemu-img", "convert", "-O", "raw", src, raw)
    os.symlink("src.qcow2", f"{d}/sym.qcow2")
    os.link(src, f"{d}/hard.qcow2")
    os.symlink("base.qcow2", f"{d}/bsym.qcow2")
    before = {p: sha(p) for p in (base, src, raw)}
    for fmt in ("qcow2", "raw"):
        for target in (src, f"{d}/sym.qcow2", f"{d}/hard.qcow2"):
            refused("convert", "-O", fmt, src, target, want="is the source image")
        for target in (base, f"{d}/bsym.qcow2"):
            refused("convert", "-O", fmt, src, target, want="backing chain of the source")
        refused("convert", "-f", "raw", "-O", fmt, raw, raw, want="is the source image")
    for p, h in before.items():
        if sha(p) != h:
            fail(f"{p} changed although convert was refused")
    qemu_check(src)
    qemu_check(base)
    # A different target still works.
    img("convert", "-O", "qcow2", src, f"{d}/out.qcow2")
    run("qemu-img", "compare", src, f"{d}/out.qcow2")


# ------------------------------------- 2: create over its own backing chain

def t_create_self(d):
    x, y = f"{d}/x.qcow2", f"{d}/y.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", x, "8M")
    fill(x)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "x.qcow2", "-F", "qcow2", y)
    os.symlink("x.qcow2", f"{d}/lx.qcow2")
    os.link(x, f"{d}/hx.qcow2")
    before = {p: sha(p) for p in (x, y)}
    same = "Trying to create an image with the same filename as the backing file"
    refused("create", "-f", "qcow2", "-b", x, "-F", "qcow2", x, want=same)
    refused("create", "-f", "qcow2", "-b", "x.qcow2", x, want=same)
    refused("create", "-f", "qcow2", "-o", "backing_file=x.qcow2", x, want=same)
    refused("create", "-f", "qcow2", "-b", "x.qcow2", f"{d}/lx.qcow2", want=same)
    refused("create", "-f", "qcow2", "-b", "x.qcow2", f"{d}/hx.qcow2", want=same)
    refused("create", "-f", "qcow2", "-b", "lx.qcow2", x, want=same)
    # Deeper in the chain: y is backed by x.
    refused("create", "-f", "qcow2", "-b", "y.qcow2", x, want="backing chain")
    refused("create", "-f", "qcow2", "-b", "y.qcow2", f"{d}/lx.qcow2", want="backing chain")
    for p, h in before.items():
        if sha(p) != h:
            fail(f"{p} changed although create was refused")
    qemu_check(x)
    qemu_check(y)


# ----------------------------------------- 3: sizes and -o options refused

def t_options(d):
    q = f"{d}/q.qcow2"
    bad = {
        "lazy_refcounts=maybe": "lazy_refcounts",
        "cluster_size=0": "cluster_size",
        "cluster_size=1000": "cluster_size",
        "cluster_size=256": "cluster_size",
        "cluster_size=4M": "cluster_size",
        "cluster_size=x": "cluster_size",
        "refcount_bits=3": "refcount_bits",
        "refcount_bits=0": "refcount_bits",
        "refcount_bits=128": "refcount_bits",
        "refcount_bits=-16": "refcount_bits",
        "refcount_bits=8,compat=0.10": "refcount_bits",
        "compat=": "compat",
        "compat=2": "compat",
        "lazy_refcounts=on,compat=0.10": "lazy_refcounts",
        "foo=1": "foo",
        "cluster_size": "cluster_size",
    }
    for opt, word in bad.items():
        refused("create", "-f", "qcow2", "-o", opt, q, "1M", want=word)
        if os.path.exists(q):
            fail(f"-o {opt}: the image was created although refused")
    for opt in ("backing_file=x", "foo=1", "cluster_size=3"):
        refused("convert", "-O", "qcow2", "-o", opt, "/dev/null", q)
    for size in ("-5", "-1G", "99999999T", "16E", "9223372036854775808", "1Q", "G", "1GG"):
        p = refused("create", "-f", "qcow2", q, size, want=f"invalid size '{size}'")
        if "invalid option" in p.stderr:
            fail(f"size {size}: {p.stderr}")
    refused("create", "-f", "qcow2", "-o", "compat=1.1", q, "-5", want="invalid size '-5'")
    # Good options make images qemu-img finds clean, with what was asked.
    for opt, cs, rb in (("refcount_bits=1", 65536, 1), ("refcount_bits=2,cluster_size=512", 512, 2),
                        ("refcount_bits=64,cluster_size=4k", 4096, 64),
                        ("refcount_bits=8,lazy_refcounts=on", 65536, 8),
                        ("compat=0.10,refcount_bits=16", 65536, 16)):
        img("create", "-f", "qcow2", "-o", opt, q, "3G")
        qemu_check(q)
        info = qemu_info(q)
        if info["cluster-size"] != cs or info["format-specific"]["data"]["refcount-bits"] != rb:
            fail(f"-o {opt}: qemu-img info says {info}")
        os.unlink(q)
    # Our writer on a 2-bit refcount image: qemu-img finds it clean and equal.
    src = f"{d}/src.raw"
    with open(src, "wb") as f:
        f.truncate(8 * MB)
        f.seek(MB)
        f.write(os.urandom(3 * MB))
    img("convert", "-f", "raw", "-O", "qcow2", "-o", "refcount_bits=2,cluster_size=4k", src, q)
    qemu_check(q)
    run("qemu-img", "compare", "-F", "raw", q, src)
    # resize: qcow2 sizes must be multiples of 512; nothing changes otherwise.
    before = sha(q)
    refused("resize", q, "+1000", want="multiple of 512")
    refused("resize", q, "8389000", want="multiple of 512")
    refused("resize", q, "-1G", want="shrinking")
    refused("resize", q, "+99999999T", want="invalid size")
    if sha(q) != before:
        fail("a refused resize changed the image")
    img("resize", q, "+1M")
    if qemu_info(q)["virtual-size"] != 9 * MB:
        fail("resize +1M")
    qemu_check(q)


# ------------------------------------------------- 4: a too-deep chain

def t_deep_chain(d):
    sub = f"{d}/{'a-rather-long-directory-name-' * 3}"
    os.mkdir(sub)
    run("qemu-img", "create", "-q", "-f", "qcow2", f"{sub}/b0.qcow2", "1M")
    for i in range(1, 72):
        run("qemu-img", "create", "-q", "-u", "-f", "qcow2", "-b", f"b{i - 1}.qcow2",
            "-F", "qcow2", f"{sub}/b{i}.qcow2", "1M")
    for args in (("convert", "-O", "raw", f"{sub}/b71.qcow2", f"{d}/out.raw"),
                 ("create", "-f", "qcow2", "-b", f"{sub}/b71.qcow2", f"{d}/new.qcow2")):
        p = img(*args, ok=(1,))
        msg = p.stderr.strip()
        if "backing chain too deep (more than 64 images)" not in msg or len(msg) > 160 \
                or "\n" in msg:
            fail(f"deep chain message ({len(msg)} chars): {msg!r}")
    # A loop is one short line too.
    run("qemu-img", "create", "-q", "-f", "qcow2", f"{d}/l1.qcow2", "1M")
    run("qemu-img", "create", "-q", "-u", "-f", "qcow2", "-b", "l2.qcow2", "-F", "qcow2",
        f"{d}/l0.qcow2", "1M")
    run("qemu-img", "create", "-q", "-u", "-f", "qcow2", "-b", "l0.qcow2", "-F", "qcow2",
        f"{d}/l2.qcow2", "1M")
    msg = img("convert", "-O", "raw", f"{d}/l0.qcow2", f"{d}/out.raw", ok=(1,)).stderr.strip()
    if "loops" not in msg or len(msg) > 160:
        fail(f"loop message: {msg!r}")


# ------------------------------------------------- 5: --version and --help

COMMANDS = ("create", "info", "check", "convert", "resize")


def help_options(text):
    """{command: set of options} from the usage lines of --help."""
    opts = {}
    for line in text.splitlines():
        m = re.match(r"  (\w+) (.*)", line)
        if m and m.group(1) in COMMANDS:
            opts[m.group(1)] = set(re.findall(r"(?<![\w-])(-\w|--[\w-]+)", m.group(2)))
    return opts


def t_help(d):
    for flag in ("--version", "-V"):
        out = img(flag).stdout
        if not re.match(r"minivmm-img version \d+\.\d+", out):
            fail(f"{flag}: {out!r}")
    text = img("--help").stdout
    if img("-h").stdout != text or img("help").stdout != text:
        fail("-h, --help and help differ")
    opts = help_options(text)
    if set(opts) != set(COMMANDS):
        fail(f"--help lists {sorted(opts)}")
    for key in ("cluster_size", "compat", "lazy_refcounts", "refcount_bits", "backing_file",
                "backing_fmt"):
        if key not in text:
            fail(f"--help does not name -o {key}")
    q, r = f"{d}/h.qcow2", f"{d}/h.raw"
    img("create", "-f", "qcow2", q, "1M")
    # An argument each option accepts, and the rest of a command line.
    arg = {"-f": "qcow2", "-F": "qcow2", "-b": "h.qcow2", "-O": "qcow2", "-o": "compat=1.1",
           "-r": "leaks", "-t": "unsafe", "--output": "json"}
    tail = {"create": [f"{d}/n.qcow2", "1M"], "info": [q], "check": [q],
            "convert": [q, f"{d}/c.qcow2"], "resize": [q, "+1M"]}
    for cmd, listed in opts.items():
        if img(cmd, "--help").stdout != text or img(cmd, "-h").stdout != text:
            fail(f"{cmd} --help")
        for o in sorted(listed):
            a = [f"{o}={arg[o]}"] if o.startswith("--") and o in arg else \
                [o, arg[o]] if o in arg else [o]
            if cmd == "create" and o != "-f":
                a += ["-f", "qcow2"]
            if cmd == "create" and o == "-F":
                a += ["-b", "h.qcow2"]
            p = img(cmd, *a, *tail[cmd], ok=None)
            if "invalid option" in p.stderr or "unrecognized option" in p.stderr or \
                    p.returncode not in (0,):
                fail(f"{cmd} {o} is listed but refused ({p.returncode}): {p.stderr}")
            for f in (f"{d}/n.qcow2", f"{d}/c.qcow2"):
                if os.path.exists(f):
                    os.unlink(f)
        # Every other letter is refused by getopt.
        for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
            o = "-" + c
            if o in listed or o == "-h":
                continue
            p = img(cmd, o, "x", *tail[cmd], ok=None)
            if "invalid option" not in p.stderr:
                fail(f"{cmd} accepts {o}, which --help does not list: {p.returncode} "
                     f"{p.stderr}")
    run("rm", "-f", r)


# ------------------------------- 6: info of images minivmm cannot do I/O on

def t_info_features(d):
    base = f"{d}/base.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", base, "64M")
    sec = ["--object", "secret,id=sec0,data=123456"]
    cases = {
        "luks": (sec, "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"),
        "aes": (sec, "encryption=on,encrypt.key-secret=sec0"),
        "zstd": ([], "compression_type=zstd"),
        "datafile": ([], f"data_file={d}/datafile.raw"),
        "extl2": ([], "extended_l2=on,cluster_size=128k"),
        "extl2-lazy": ([], "extended_l2=on,lazy_refcounts=on"),
    }
    top = ("virtual-size", "cluster-size", "format", "encrypted", "dirty-flag",
           "backing-filename", "backing-filename-format", "full-backing-filename")
    fs = ("compat", "compression-type", "lazy-refcounts", "refcount-bits", "data-file",
          "data-file-raw", "corrupt", "extended-l2")
    for name, (extra, opts) in cases.items():
        p = f"{d}/{name}.qcow2"
        c = run("qemu-img", "create", "-q", "-f", "qcow2", *extra, "-o", opts, "-b",
                "base.qcow2", "-F", "qcow2", p, "48M", ok=None)
        if c.returncode:
            print(f"note: qemu-img cannot create {name}: {c.stderr.strip()}")
            continue
        qi = qemu_info(p)
        mi = json.loads(img("info", "--output=json", p).stdout)
        for k in top:
            if qi.get(k) != mi.get(k):
                fail(f"{name}: {k}: qemu-img {qi.get(k)!r}, minivmm-img {mi.get(k)!r}")
        qd, md = qi["format-specific"]["data"], mi["format-specific"]["data"]
        for k in fs:
            if qd.get(k) != md.get(k):
                fail(f"{name}: {k}: qemu-img {qd.get(k)!r}, minivmm-img {md.get(k)!r}")
        if qd.get("encrypt", {}).get("format") != md.get("encrypt", {}).get("format"):
            fail(f"{name}: encrypt format {qd.get('encrypt')} {md.get('encrypt')}")
        # Every line of ours (but the encryption details qemu adds) is one of qemu-img's.
        qtext = run("qemu-img", "info", "-U", p).stdout.splitlines()
        for line in img("info", p).stdout.splitlines():
            if line not in qtext:
                fail(f"{name}: minivmm-img info line {line!r} is not in qemu-img's:\n" +
                     "\n".join(qtext))
        # Opening it for I/O stays refused, with the reason.
        msg = img("convert", "-O", "raw", p, f"{d}/out.raw", ok=(1,)).stderr
        if "not supported" not in msg and "unsupported" not in msg:
            fail(f"{name}: convert message {msg!r}")
    # A damaged header is still an error, not a description.
    with open(f"{d}/zstd.qcow2", "r+b") as f:
        f.seek(104)
        f.write(b"\x07")
    img("info", f"{d}/zstd.qcow2", ok=(1,))
    # So is an incompatible feature no one knows (qemu-img refuses it too).
    with open(f"{d}/extl2.qcow2", "r+b") as f:
        f.seek(72)
        f.write((1 << 4 | 1 << 10).to_bytes(8, "big"))
    run("qemu-img", "info", f"{d}/extl2.qcow2", ok=(1,))
    refused("info", f"{d}/extl2.qcow2", want="unsupported qcow2 feature")


# ---------------------------------- 7: create -b prints the backing's size

def t_create_size(d):
    run("qemu-img", "create", "-q", "-f", "qcow2", f"{d}/base.qcow2", "64M")
    out = img("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
              f"{d}/new.qcow2").stdout
    if "size=67108864" not in out or "backing_file=base.qcow2" not in out:
        fail(f"create output: {out!r}")
    if qemu_info(f"{d}/new.qcow2")["virtual-size"] != 64 * MB:
        fail("new image size")
    out = img("create", "-f", "qcow2", "-b", "base.qcow2", f"{d}/new2.qcow2", "32M").stdout
    if "size=33554432" not in out:
        fail(f"create output with a size: {out!r}")
    if img("create", "-q", "-f", "qcow2", f"{d}/new3.qcow2", "1M").stdout:
        fail("create -q printed something")


# ------------------------------- 8: created images stay clean (refactoring)

def t_create_clean(d):
    for cs in ("512", "4k", "64k", "2M"):
        for compat in ("0.10", "1.1"):
            for size in ("0", "1M", "100G", "2T"):
                if cs == "512" and size == "2T":
                    continue  # more L1 entries than allowed, as in qemu-img
                p = f"{d}/c.qcow2"
                img("create", "-q", "-f", "qcow2", "-o", f"cluster_size={cs},compat={compat}",
                    p, size)
                qemu_check(p)
                os.unlink(p)
    run("qemu-img", "create", "-q", "-f", "raw", f"{d}/b.raw", "5M")
    img("create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", "b.raw", "-F", "raw",
        f"{d}/o.qcow2")
    qemu_check(f"{d}/o.qcow2")
    if qemu_info(f"{d}/o.qcow2").get("backing-filename-format") != "raw":
        fail("backing format of a v2 image")


TESTS = {
    "convert-self": t_convert_self,
    "create-self": t_create_self,
    "options": t_options,
    "deep-chain": t_deep_chain,
    "help": t_help,
    "info-features": t_info_features,
    "create-size": t_create_size,
    "create-clean": t_create_clean,
}


def main():
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("SKIP: qemu-img/qemu-io not found (Debian package qemu-utils)")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="imgtool-") as d:
        TESTS[sys.argv[2]](d)
    print("PASS")


main()
