#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Our VGA against QEMU 7.2's, pixel for pixel: SeaBIOS and SeaVGABIOS boot
the same boot program (firmware/guests/vgaboot.asm built to stop after one
step, its picture left on the screen: mode 3 text with the cursor, mode
0x13 at 640x400 with every pixel doubled, mode 0x12 planar pixels, VBE
0x102 800x600x4 planar, the deepest 640x480 VBE mode through its LFB; and
firmware/guests/vgamode.asm in the BIOS modes 1, 4, 6 and 0x0d, steps
MODEmm) under minivmm --vga std and under qemu-system-x86_64 -vga std
(TCG), and the two QMP screendumps must be the same picture.

    vga_qemu_compare.py MINIVMM NAME=BOOT.bin...

One difference is QEMU's and is not matched (QEMU_FAULTS): in a 4 bpp dispi
mode (VBE 0x102) QEMU 7.2 drops every write through the legacy window: its
vga_mem_writeb takes the map mask (SR2) from sr_vbe, a copy of the
sequencer for dispi modes that vbe_update_vgaregs fills only for 8 bpp and
up (4 bpp: it clears SR1 bit 3 and nothing else), so it is 0 after reset
and no plane is written.  The boot program's pixel at (799, 599) (colour
0x0c through INT 10h AH=0Ch) never reaches QEMU's VRAM, its read back
fails, and QEMU's run ends with "VGA-FAIL vbe 0x102" (seen with HMP
"xp /8bx 0xfd03a978" there: zeroes, where ours holds the pixel).  For that
step QEMU's failure line is expected, the pixel must be lit in ours and
black in QEMU's, and every other pixel must be equal.  The LFB step runs
the boot program built with -DSKIP_VBE102 so that QEMU reaches it.

Skipped (77) without /dev/kvm, SeaBIOS or qemu-system-x86_64.
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

# step: (what QEMU's run prints instead of "VGA-<step> ok", the pixels only
# ours draws)
QEMU_FAULTS = {'VBE102': ('VGA-FAIL vbe 0x102', {(799, 599)})}


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


def shot(cmd, serial, sock, out, want):
    """Boot cmd, wait for the line want on COM1, screendump to out."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        seen = wait_text(serial, [want, 'VGA-FAIL'], proc, 90)
        if not check(seen == want, '%s: the boot program printed %s (%s)'
                     % (cmd[0], want, seen)):
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
                want = 'VGA-%s ok' % step
                if who == 'qemu' and step in QEMU_FAULTS:
                    want = QEMU_FAULTS[step][0]
                pics.append(shot(cmd, serial, sock, os.path.join(d, 'shot.ppm'), want))
            if None in pics:
                continue
            (mw, mh, mb), (qw, qh, qb) = pics
            ours_only = QEMU_FAULTS.get(step, (None, set()))[1]
            for x, y in sorted(ours_only):
                i = 3 * (y * mw + x)
                check((mw, mh) == (qw, qh) and mb[i:i + 3] != b'\0\0\0' and
                      qb[i:i + 3] == b'\0\0\0',
                      '%s: (%d,%d) lit in ours (%s), black in QEMU\'s (%s), QEMU\'s fault'
                      % (step, x, y, mb[i:i + 3].hex(), qb[i:i + 3].hex()))
            skip = {y * mw + x for x, y in ours_only}
            diff = [i // 3 for i in range(0, min(len(mb), len(qb)), 3)
                    if mb[i:i + 3] != qb[i:i + 3] and i // 3 not in skip]
            lit = sum(1 for i in range(0, len(mb), 3) if mb[i:i + 3] != b'\0\0\0')
            where = ('; first at (%d,%d): ours %s, QEMU %s' %
                     (diff[0] % mw, diff[0] // mw, mb[3 * diff[0]:3 * diff[0] + 3].hex(),
                      qb[3 * diff[0]:3 * diff[0] + 3].hex())) if diff else ''
            check((mw, mh) == (qw, qh) and not diff and lit > 0,
                  '%s: our screendump (%dx%d, %d lit pixels) equals QEMU\'s (%dx%d)%s, '
                  '%d pixels differ%s' % (step, mw, mh, lit, qw, qh,
                                          ' but for %d pixel(s)' % len(skip) if skip else '',
                                          len(diff), where))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d failure(s)' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
