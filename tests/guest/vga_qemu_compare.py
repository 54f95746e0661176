#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Our VGA against QEMU 7.2's, pixel for pixel: SeaBIOS and SeaVGABIOS boot
the same boot program (firmware/guests/vgaboot.asm built to stop after one
step, its picture left on the screen: mode 3 text with the cursor, mode
0x12 planar pixels) under minivmm --vga std and under qemu-system-x86_64
-vga std (TCG), and the two QMP screendumps must be the same picture.

    vga_qemu_compare.py MINIVMM NAME=BOOT.bin...

Skipped (77) without /dev/kvm, SeaBIOS or qemu-system-x86_64.  (Mode 0x13
is left out: QEMU shows it as 640x400 with every pixel doubled, minivmm as
320x200.)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402

SKIP = 77
failures = []


def check(cond, what):
    print('%s %s' % ('ok  ' if cond else 'FAIL', what))
    if not cond:
        failures.append(what)
    return cond


def read_ppm(path):
    with open(path, 'rb') as f:
        magic, size, maxval, body = f.read().split(b'\n', 3)
    w, h = map(int, size.split())
    if magic != b'P6' or maxval != b'255' or len(body) != w * h * 3:
        raise ValueError('%s: not a P6 PPM of its size' % path)
    return w, h, body


def wait_text(path, texts, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path, 'rb') as f:
                data = f.read().decode(errors='replace')
        except FileNotFoundError:
            data = ''
        for t in texts:
            if t in data:
                return t
        if proc.poll() is not None:
            return None
        time.sleep(0.1)
    return None


def shot(cmd, serial, sock, out, step):
    """Boot cmd, wait for the step's line on COM1, screendump to out."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        seen = wait_text(serial, ['VGA-%s ok' % step, 'VGA-FAIL'], proc, 90)
        if not check(seen == 'VGA-%s ok' % step, '%s: the boot program reached VGA-%s ok (%s)'
                     % (cmd[0], step, seen)):
            return None
        time.sleep(0.5)  # the text after the line is on the screen too
        if not qmplib.wait_for_socket(sock, proc):
            check(False, '%s: QMP socket' % cmd[0])
            return None
        q = qmplib.Client(sock)
        q.greet()
        r = q.cmd('screendump', {'filename': out})
        q.close()
        check(r == {'return': {}}, '%s: screendump %r' % (cmd[0], r))
        return read_ppm(out)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        err = proc.stderr.read().decode(errors='replace')
        if err.strip():
            print('--- %s stderr:\n%s' % (cmd[0], err[-1500:]))


def main():
    minivmm, boots = sys.argv[1], dict(a.split('=', 1) for a in sys.argv[2:])
    qemu = shutil.which('qemu-system-x86_64')
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
    except OSError:
        print('SKIP: /dev/kvm is not usable')
        return SKIP
    if not qemu:
        print('SKIP: qemu-system-x86_64 not found (Debian package qemu-system-x86)')
        return SKIP
    if not os.path.exists('/usr/share/seabios/vgabios-stdvga.bin'):
        print('SKIP: no SeaVGABIOS (Debian package seabios)')
        return SKIP
    tmp = tempfile.mkdtemp(prefix='vgaqemu-')
    try:
        for step, boot in sorted(boots.items()):
            pics = []
            for who in ('minivmm', 'qemu'):
                d = os.path.join(tmp, '%s-%s' % (step, who))
                os.makedirs(d)
                disk = os.path.join(d, 'disk.img')
                with open(boot, 'rb') as f, open(disk, 'wb') as g:
                    g.write(f.read())
                    g.truncate(1 << 20)
                serial, sock = os.path.join(d, 'com1.txt'), os.path.join(d, 'qmp.sock')
                if who == 'minivmm':
                    cmd = [minivmm, '-m', '32M', '--vga', 'std', '--disk',
                           'file=%s,format=raw' % disk, '--serial', 'file:' + serial,
                           '--qmp', 'unix:%s,wait=off' % sock]
                else:
                    cmd = [qemu, '-M', 'pc', '-accel', 'tcg', '-m', '32', '-vga', 'std',
                           '-display', 'none', '-nic', 'none', '-drive',
                           'file=%s,format=raw,if=ide' % disk, '-serial', 'file:' + serial,
                           '-qmp', 'unix:%s,server=on,wait=off' % sock]
                pics.append(shot(cmd, serial, sock, os.path.join(d, 'shot.ppm'), step))
            if None in pics:
                continue
            (mw, mh, mb), (qw, qh, qb) = pics
            diff = [i // 3 for i in range(0, min(len(mb), len(qb)), 3) if mb[i:i + 3] != qb[i:i + 3]]
            lit = sum(1 for i in range(0, len(mb), 3) if mb[i:i + 3] != b'\0\0\0')
            where = ('; first at (%d,%d): ours %s, QEMU %s' %
                     (diff[0] % mw, diff[0] // mw, mb[3 * diff[0]:3 * diff[0] + 3].hex(),
                      qb[3 * diff[0]:3 * diff[0] + 3].hex())) if diff else ''
            check((mw, mh) == (qw, qh) and not diff and lit > 0,
                  '%s: our screendump (%dx%d, %d lit pixels) equals QEMU\'s (%dx%d), '
                  '%d pixels differ%s' % (step, mw, mh, lit, qw, qh, len(diff), where))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d failure(s)' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
