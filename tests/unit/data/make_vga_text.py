#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Make the reference data of test_vga's stored-PNG text test, once, from
QEMU 7.2: boot firmware/guests/vgaboot.asm built with -DSTOP_TEXT (SeaBIOS,
SeaVGABIOS, mode 3, a line of teletype text and the cursor) under
qemu-system-x86_64 -vga std (TCG), and when COM1 says "VGA-TEXT ok" save

    vga_text_qemu.png    QEMU's QMP screendump (format png) of that screen
    vga_text_state.json  the VGA registers as QEMU holds them, read through
                         HMP "i"/"o" port accesses after the screendump:
                         misc, SR0-4, GR0-8, CR0-0x18, AR0-0x14 and the
                         256 DAC entries (not the PEL mask: QEMU has none, a
                         read of 0x3c6 is 0; the test writes 0xff, as
                         SeaVGABIOS does)
    vga_text_vram.gz     the first 256 KiB of QEMU's VRAM (the four planes
                         interleaved, plane p of address a at byte 4a + p, as
                         ours), QMP pmemsave of the LFB BAR, gzip'ed

The unit test loads the registers and VRAM into our device model and
compares its render with the PNG pixel for pixel.  Run from the source
root after a build:

    tests/unit/data/make_vga_text.py build/firmware/vgaboot-text.bin tests/unit/data
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'guest'))
import qmplib  # noqa: E402

LFB = 0xfd000000  # QEMU's BAR0 for the std VGA on -M pc (info pci)


def main():
    boot, out = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix='vgatext-')
    try:
        disk, serial = os.path.join(tmp, 'disk.img'), os.path.join(tmp, 'com1.txt')
        sock = os.path.join(tmp, 'qmp.sock')
        with open(boot, 'rb') as f, open(disk, 'wb') as g:
            g.write(f.read())
            g.truncate(1 << 20)
        proc = subprocess.Popen(['qemu-system-x86_64', '-M', 'pc', '-accel', 'tcg', '-m', '32',
                                 '-vga', 'std', '-display', 'none', '-nic', 'none', '-drive',
                                 'file=%s,format=raw,if=ide' % disk, '-serial', 'file:' + serial,
                                 '-qmp', 'unix:%s,server=on,wait=off' % sock])
        try:
            end = time.monotonic() + 90
            while time.monotonic() < end:
                if os.path.exists(serial) and b'VGA-TEXT ok' in open(serial, 'rb').read():
                    break
                time.sleep(0.1)
            else:
                sys.exit('no "VGA-TEXT ok" from QEMU')
            time.sleep(0.5)
            q = qmplib.Client(sock)
            q.greet()
            png = os.path.join(out, 'vga_text_qemu.png')
            r = q.cmd('screendump', {'filename': os.path.abspath(png), 'format': 'png'})
            assert r == {'return': {}}, r

            def hmp(line):
                return q.cmd('human-monitor-command', {'command-line': line})['return']

            def inb(port):
                return int(hmp('i /b 0x%x' % port).split('=')[1], 16)

            def outb(port, v):
                hmp('o /b 0x%x 0x%x' % (port, v))

            def indexed(ip, dp, n):
                vals = []
                for i in range(n):
                    outb(ip, i)
                    vals.append(inb(dp))
                return vals

            st = {'misc': inb(0x3cc), 'sr': indexed(0x3c4, 0x3c5, 5),
                  'gr': indexed(0x3ce, 0x3cf, 9), 'cr': indexed(0x3d4, 0x3d5, 0x19)}
            ar = []
            for i in range(0x15):
                inb(0x3da)
                outb(0x3c0, 0x20 | i)  # keeps the picture on
                ar.append(inb(0x3c1))
            inb(0x3da)
            st['ar'] = ar
            outb(0x3c7, 0)
            st['dac'] = [inb(0x3c9) for _ in range(768)]
            with open(os.path.join(out, 'vga_text_state.json'), 'w') as f:
                json.dump(st, f, indent=None, separators=(',', ':'))
                f.write('\n')
            raw = os.path.join(tmp, 'vram.bin')
            r = q.cmd('pmemsave', {'val': LFB, 'size': 256 << 10, 'filename': raw})
            assert r == {'return': {}}, r
            with open(raw, 'rb') as f, open(os.path.join(out, 'vga_text_vram.gz'), 'wb') as g:
                g.write(gzip.compress(f.read(), 9, mtime=0))
            q.close()
        finally:
            proc.kill()
            proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
