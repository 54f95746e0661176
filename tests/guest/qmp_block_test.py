# SPDX-License-Identifier: GPL-2.0-or-later
"""The drives' QMP commands, message by message against QEMU 7.2.

    qmp_block_test.py TEST_DRIVE_CONTROL

The same drives (a qcow2 disk over a qcow2 backing file as ide0-hd0, an ISO
as ide1-cd0) and the same command lines go to
`qemu-system-x86_64 -machine pc -nodefaults -display none -S -qmp stdio`
and to our drive commands (TEST_DRIVE_CONTROL --transcript, which runs
vmm/drive_control.c on two IDE channels as minivmm does).  Every reply and
event must match: the same kind, the same error class and text, the same
member names at every level of query-block, the same values, except for
what is not ours to match (QEMU's QOM paths and node names, listed in
IGNORED) and the members we do not offer (QEMU_ONLY).

A second scenario puts two virtio disks (-drive if=virtio, --disk
if=virtio) around the IDE disk: query-block's names and order, their image
information, and the "not removable" answers of every medium command.
(QEMU's qdev for them, /machine/peripheral-anon/device[N]/virtio-backend,
is ours too; test_drive_control checks it, here it is among IGNORED.)

Skips (exit 77) with the reason when qemu-system-x86_64 or qemu-img is
missing.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
# Values that are QEMU's own: QOM paths ("/machine/unattached/device[19]"
# there, "/machine/ide/ide1-cd0" here), node names.
IGNORED = {"qdev", "id", "node-name"}
# Members QEMU has that we do not give: the backing image described again
# (we give backing-filename, full-backing-filename, backing_file_depth).
QEMU_ONLY = {"backing-image"}
# Error texts of the block layer that say more than QEMU's (a part of
# QEMU's text, a part of ours): minivmm's start-up gives the same ones.
OURS_SAYS_MORE = [
    ("Image is not in qcow2 format", "is not a qcow2 image"),
    ("' to be a regular file", "' is not a regular file or block device"),
    ('Failed to get shared "write" lock', "is in use by another process (locked for writing)"),
]


def says_more(q, o):
    return isinstance(q, str) and isinstance(o, str) and \
        any(a in q and b in o for a, b in OURS_SAYS_MORE)


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def commands(t):
    cd, cd2 = t["cd"], t["cd2"]
    change = lambda **kw: {"execute": "blockdev-change-medium",
                           "arguments": dict({"device": "ide1-cd0"}, **kw)}
    return [
        {"execute": "query-block"},
        {"execute": "query-block", "arguments": {"x": 1}},
        {"execute": "eject", "arguments": {"device": "ide1-cd0"}},
        {"execute": "query-block"},
        {"execute": "eject", "arguments": {"device": "ide1-cd0"}},
        {"execute": "eject", "arguments": {"device": "nope"}},
        {"execute": "eject", "arguments": {"id": "nope"}},
        {"execute": "eject", "arguments": {}},
        {"execute": "eject", "arguments": {"device": "ide1-cd0", "id": "x"}},
        {"execute": "eject", "arguments": {"device": 3}},
        {"execute": "eject", "arguments": {"device": "ide1-cd0", "force": 1}},
        {"execute": "eject", "arguments": {"device": "ide1-cd0", "bogus": 1}},
        {"execute": "eject", "arguments": {"device": "ide0-hd0"}},
        change(filename=cd2, format="raw"),
        {"execute": "query-block"},
        change(),
        change(filename=cd2, format="foo"),
        change(filename=cd2, format="qcow2"),
        change(filename=cd2, **{"read-only-mode": "bad"}),
        change(filename=cd2, force="yes"),
        change(filename=os.path.join(t["dir"], "none.iso")),
        change(filename=""),
        change(filename=t["dir"]),
        change(filename=t["disk"]),
        {"execute": "blockdev-change-medium",
         "arguments": {"device": "ide0-hd0", "filename": cd}},
        {"execute": "blockdev-change-medium",
         "arguments": {"device": "nope", "filename": cd}},
        {"execute": "blockdev-open-tray", "arguments": {"device": "ide1-cd0"}},
        {"execute": "blockdev-open-tray", "arguments": {"device": "ide1-cd0", "force": True}},
        {"execute": "blockdev-open-tray", "arguments": {"device": "ide0-hd0"}},
        {"execute": "blockdev-open-tray", "arguments": {"device": "ide1-cd0", "x": 1}},
        {"execute": "blockdev-remove-medium", "arguments": {"id": "nope"}},
        {"execute": "blockdev-remove-medium", "arguments": {"device": "ide1-cd0"}},
        {"execute": "query-block"},
        {"execute": "blockdev-close-tray", "arguments": {"device": "ide1-cd0"}},
        {"execute": "blockdev-close-tray", "arguments": {"device": "ide1-cd0"}},
        {"execute": "blockdev-close-tray", "arguments": {"device": "ide0-hd0"}},
        {"execute": "blockdev-close-tray", "arguments": {}},
        {"execute": "blockdev-close-tray", "arguments": {"id": "x"}},
        change(filename=cd, **{"read-only-mode": "read-write"}),
        {"execute": "query-block"},
        change(filename=cd2, **{"read-only-mode": "retain"}),
        {"execute": "query-block"},
        change(filename=cd, **{"read-only-mode": "read-only"}, force=True),
        {"execute": "query-block"},
    ]


def virtio_commands(t):
    """A virtio disk between IDE ones: names, order, images, not removable."""
    v1_id = "/machine/peripheral-anon/device[1]/virtio-backend"
    return [
        {"execute": "query-block"},
        {"execute": "eject", "arguments": {"device": "virtio0"}},
        {"execute": "eject", "arguments": {"id": v1_id}},
        {"execute": "eject", "arguments": {"device": "virtio2"}},
        {"execute": "blockdev-open-tray", "arguments": {"device": "virtio1"}},
        {"execute": "blockdev-close-tray", "arguments": {"device": "virtio0"}},
        {"execute": "blockdev-remove-medium", "arguments": {"id": v1_id}},
        {"execute": "blockdev-change-medium",
         "arguments": {"device": "virtio0", "filename": t["cd2"], "format": "raw"}},
        {"execute": "query-block"},
    ]


# The drives of each scenario: QEMU's -drive options and ours.
def scenarios(t):
    return [
        ("IDE disk and CD",
         ["-drive", "file=%s,if=ide,index=0" % t["disk"],
          "-drive", "file=%s,if=ide,index=2,media=cdrom" % t["cd"]],
         ["--disk", t["disk"], "--cdrom", t["cd"]], commands(t)),
        ("virtio disks",
         ["-drive", "file=%s,if=virtio,format=raw" % t["v0"],
          "-drive", "file=%s,if=ide,index=0" % t["disk"],
          "-drive", "file=%s,if=virtio,format=qcow2,readonly=on,cache=none" % t["v1"],
          "-drive", "file=%s,if=ide,index=2,media=cdrom" % t["cd"]],
         ["--disk", "file=%s,if=virtio,format=raw" % t["v0"], "--disk", t["disk"],
          "--disk", "file=%s,if=virtio,format=qcow2,readonly=on,cache=none" % t["v1"],
          "--cdrom", t["cd"]], virtio_commands(t)),
    ]


def parse(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        m = json.loads(line)
        m.pop("timestamp", None)
        out.append(m)
    return out


def run_qemu(drives, cmds):
    lines = [{"execute": "qmp_capabilities"}] + cmds + [{"execute": "quit"}]
    r = subprocess.run(
        ["qemu-system-x86_64", "-machine", "pc", "-nodefaults", "-display", "none", "-S",
         "-qmp", "stdio"] + drives,
        input="".join(json.dumps(c) + "\n" for c in lines), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, timeout=60)
    msgs = parse(r.stdout)
    # greeting, qmp_capabilities; at the end SHUTDOWN and quit's reply
    if not msgs or "QMP" not in msgs[0]:
        raise SystemExit("FAILED: QEMU did not greet:\n" + r.stdout + r.stderr)
    msgs = [m for m in msgs[2:] if m.get("event") != "SHUTDOWN"]
    return msgs[:-1]  # quit's reply


def run_ours(prog, drives, cmds):
    r = subprocess.run([prog, "--transcript"] + drives,
                       input="".join(json.dumps(c) + "\n" for c in cmds),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit("FAILED: %s exited %d:\n%s" % (prog, r.returncode, r.stderr))
    return parse(r.stdout)


def compare(path, q, o, problems):
    if isinstance(q, dict) and isinstance(o, dict):
        for k in sorted(set(q) | set(o)):
            if k in QEMU_ONLY and k not in o:
                continue
            if k not in o:
                problems.append("%s: we lack '%s'" % (path, k))
            elif k not in q:
                problems.append("%s: QEMU has no '%s'" % (path, k))
            elif k not in IGNORED:
                compare(path + "." + k, q[k], o[k], problems)
    elif isinstance(q, list) and isinstance(o, list):
        if len(q) != len(o):
            problems.append("%s: %d entries, QEMU %d" % (path, len(o), len(q)))
        for i, (a, b) in enumerate(zip(q, o)):
            compare("%s[%d]" % (path, i), a, b, problems)
    elif says_more(q, o):
        pass
    elif q != o:
        problems.append("%s: %r, QEMU %r" % (path, o, q))


def main():
    prog = sys.argv[1]
    for tool in ("qemu-system-x86_64", "qemu-img"):
        if not shutil.which(tool):
            skip("%s missing (Debian packages qemu-system-x86, qemu-utils)" % tool)
    tmp = tempfile.mkdtemp(prefix="minivmm-qmp-block-")
    try:
        t = {"dir": tmp, "disk": os.path.join(tmp, "top.qcow2"),
             "cd": os.path.join(tmp, "one.iso"), "cd2": os.path.join(tmp, "two.iso"),
             "v0": os.path.join(tmp, "v0.img"), "v1": os.path.join(tmp, "v1.qcow2")}
        base = os.path.join(tmp, "base.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "16M"], check=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F",
                        "qcow2", t["disk"]], check=True, cwd=tmp)
        with open(t["cd"], "wb") as f:
            f.write(b"\x11" * (300 * 2048))
        with open(t["cd2"], "wb") as f:
            f.write(b"\x22" * (100 * 2048))
        with open(t["v0"], "wb") as f:
            f.truncate(3 << 20)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", t["v1"], "5M"], check=True)
        total = 0
        for name, qemu_drives, our_drives, cmds in scenarios(t):
            print("--- " + name)
            compare_transcripts(prog, qemu_drives, our_drives, cmds)
            total += len(cmds)
        print("PASS: %d commands answered as QEMU 7.2 answers them" % total)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compare_transcripts(prog, qemu_drives, our_drives, cmds):
    theirs = run_qemu(qemu_drives, cmds)
    ours = run_ours(prog, our_drives, cmds)
    problems = []
    qi = oi = 0
    # Walk both transcripts command by command: events, then the reply.
    for n, c in enumerate(cmds):
        def take(msgs, i):
            ev = []
            while i < len(msgs) and "event" in msgs[i]:
                ev.append(msgs[i])
                i += 1
            reply = msgs[i] if i < len(msgs) else None
            return ev, reply, i + 1
        qev, qrep, qi = take(theirs, qi)
        oev, orep, oi = take(ours, oi)
        where = "%d %s %s" % (n, c["execute"], json.dumps(c.get("arguments", {})))
        before = len(problems)
        compare(where + " events", qev, oev, problems)
        compare(where, qrep, orep, problems)
        print("%-4s %s" % ("ok" if len(problems) == before else "DIFF", where))
    if problems:
        print("FAILED: %d differences from QEMU 7.2:" % len(problems))
        for p in problems:
            print("  " + p)
        sys.exit(1)


if __name__ == "__main__":
    main()
