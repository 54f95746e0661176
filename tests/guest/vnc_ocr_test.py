#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""SeaBIOS's screen read back from a real VNC client's picture: one boot of
the keyecho boot sector under SeaBIOS and SeaVGABIOS with --vnc and
--boot menu=on, an empty CD-ROM drive beside the disk:

- while SeaBIOS offers its menu ("Press ESC for boot menu."), gvnccapture
  (GTK-VNC) captures the screen; its picture equals QMP's screendump pixel
  for pixel, and tesseract (OCR) reads back the banner ("SeaBIOS (version
  ...)") and the prompt;
- Esc through QMP send-key opens the menu; the next capture, again equal to
  the screendump, reads back "Select boot device:" and every entry;
- what OCR must read is what SeaBIOS wrote: its serial console mirrors the
  screen on COM1, so every line it wrote there is looked for, besides the
  fixed texts; each may have two OCR character errors (case ignored);
- "1" boots the disk (KEYECHO-READY on COM1), "." ends it (status 33).
What OCR read is printed.

Usage: vnc_ocr_test.py MINIVMM KEYECHO_BIN.  Skipped (77) without /dev/kvm,
SeaBIOS, gvnccapture (Debian gvncviewer) or tesseract (tesseract-ocr).
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vnclib import (check, check_debug_exit, ocr_errors, ocr_find, ocr_text,  # noqa: E402
                    read_png_rgb, read_ppm, run_keyecho_test, wait_serial)



def console_lines(data):
    """The lines SeaBIOS's serial console wrote, its escape sequences
    (ESC c, ESC [ ... letter) taken out."""
    text = re.sub(r'\x1b(\[[0-9;?]*[A-Za-z]|c)', '', data)
    return [line.strip() for line in re.split(r'\r?\n|\r', text) if line.strip()]


def settled_lines(path, proc, quiet=0.5, timeout=10):
    """SeaBIOS's console lines once it has written nothing for `quiet`
    seconds (it waits for a key then, the screen still)."""
    end, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < end and proc.poll() is None:
        with open(path, 'rb') as f:
            data = f.read()
        if data != last:
            last, since = data, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.05)
    return console_lines((last or b'').decode(errors='replace'))


def capture_and_read(tmp, q, display, name):
    """gvnccapture's picture, checked equal to the screendump, and what
    OCR reads on it (None when a capture failed)."""
    shot = os.path.join(tmp, name + '.ppm')
    r = q.cmd('screendump', {'filename': shot})
    if not check(r == {'return': {}}, '%s: screendump: %r' % (name, r)):
        return None
    w, h, body = read_ppm(shot)
    png = os.path.join(tmp, name + '.png')
    r = subprocess.run(['gvnccapture', '127.0.0.1:%d' % display, png], capture_output=True,
                       text=True, timeout=60)
    if not check(r.returncode == 0 and os.path.exists(png),
                 '%s: gvnccapture saved the screen (%d %s)'
                 % (name, r.returncode, (r.stdout + r.stderr).strip()[-200:].replace('\n', '; '))):
        return None
    gw, gh, gbody = read_png_rgb(png)
    diff = sum(1 for i in range(0, min(len(gbody), len(body)), 3)
               if gbody[i:i + 3] != body[i:i + 3])
    check((gw, gh) == (w, h) and diff == 0,
          '%s: gvnccapture\'s picture equals the screendump (%dx%d, %d pixels differ)'
          % (name, gw, gh, diff))
    t = time.monotonic()
    lines = ocr_text(gw, gh, gbody, tmp)
    print('%s: OCR read in %.1f s:' % (name, time.monotonic() - t))
    for line in lines:
        print('    | ' + line)
    return lines


def check_read(name, lines, expected):
    found = ocr_find(lines, expected)
    check(found is not None, '%s: OCR read %r%s' % (
        name, expected, '' if found is None else
        ' (as %r, %d error(s))' % (found, ocr_errors(expected, found))))


def test(vm):
    q, serial, proc = vm.q, vm.serial, vm.proc
    if not check(wait_serial(serial, 'Press ESC for boot menu', proc) is not None,
                 'SeaBIOS offers its boot menu'):
        return
    wrote = settled_lines(serial, proc)
    banner = [line for line in wrote if line.startswith('SeaBIOS (version ')]
    check(len(banner) == 1, 'SeaBIOS wrote its banner on COM1: %r' % banner)
    lines = capture_and_read(vm.tmp, q, vm.display, 'prompt')
    if lines is not None:
        for expected in ['SeaBIOS (version ', 'Press ESC for boot menu.'] + wrote:
            check_read('prompt', lines, expected)
        check(ocr_find(lines, 'Select boot device:') is None,
              'prompt: OCR does not read the menu before it is there')

    r = q.cmd('send-key', {'keys': [{'type': 'qcode', 'data': 'esc'}]})
    check(r == {'return': {}}, 'send-key esc: %r' % r)
    check(wait_serial(serial, 'Select boot device', proc) is not None, 'SeaBIOS shows its menu')
    wrote = settled_lines(serial, proc)
    entries = [line for line in wrote if re.match(r'\d+\. ', line)]
    check(len(entries) == 2, 'the menu lists the disk and the CD-ROM on COM1: %r' % entries)
    lines = capture_and_read(vm.tmp, q, vm.display, 'menu')
    if lines is not None:
        for expected in ['Select boot device:', '1. ata0-0: MINIVMM HARDDISK'] + wrote:
            check_read('menu', lines, expected)

    r = q.cmd('send-key', {'keys': [{'type': 'qcode', 'data': '1'}]})
    check(r == {'return': {}}, 'send-key 1: %r' % r)
    check(wait_serial(serial, 'KEYECHO-READY', proc) is not None,
          'entry 1 booted the disk (KEYECHO-READY)')
    q.cmd('send-key', {'keys': [{'type': 'qcode', 'data': 'dot'}]})
    check_debug_exit(proc)


if __name__ == '__main__':
    # The menu is offered for 30 s: time enough for a capture and OCR.
    sys.exit(run_keyecho_test('vnc_ocr_test.py', 70,
                              ['--cdrom', '', '--boot', 'menu=on,splash-time=30000'],
                              [('gvnccapture', 'gvncviewer'), ('tesseract', 'tesseract-ocr')],
                              test))
