# SPDX-License-Identifier: GPL-2.0-or-later
"""What the display tests (vnc_test.py, vnc_ocr_test.py, novnc_test.py)
share: a free VNC display number, waiting for COM1 text, PNG and PPM
pictures read back without libraries, and reading a text screen back with
Debian's tesseract (OCR) with a tolerance for its character errors."""
import difflib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import qmplib

SKIP = 77
BIOS = '/usr/share/seabios/bios-256k.bin'
failures = []


def check(cond, what):
    """Prints one ok/FAIL line; a failure is kept in `failures`."""
    print('%s %s' % ('ok  ' if cond else 'FAIL', what))
    if not cond:
        failures.append(what)
    return cond


def kvm_usable():
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
        return True
    except OSError:
        return False


def host_skip_reason(needs=()):
    """Why a SeaBIOS boot cannot run here (no /dev/kvm, no SeaBIOS, or one
    of `needs` missing: (a program on PATH or an absolute path, the Debian
    package that has it)), or None."""
    if not kvm_usable():
        return '/dev/kvm is not usable'
    if not os.path.exists(BIOS):
        return 'no SeaBIOS at ' + BIOS
    for what, package in needs:
        if not (os.path.exists(what) if os.path.isabs(what) else shutil.which(what)):
            return 'no %s (Debian %s)' % (what, package)
    return None


def keyecho_disk(tmp, keyecho):
    """A 1 MiB raw disk in `tmp` whose boot sector is the keyecho guest."""
    disk = os.path.join(tmp, 'keyecho.img')
    with open(keyecho, 'rb') as f:
        boot = f.read()
    with open(disk, 'wb') as f:
        f.write(boot)
        f.truncate(1 << 20)
    return disk


class KeyechoVM:
    """minivmm booting the keyecho boot sector (firmware/guests/keyecho.asm)
    from an IDE disk under SeaBIOS with --vnc :display (the VGA and the
    tablet by default), COM1 in the file `serial`, QMP client `q`."""

    def __init__(self, minivmm, keyecho, tmp, first_display, args):
        disk = keyecho_disk(tmp, keyecho)
        self.tmp = tmp
        self.serial = os.path.join(tmp, 'com1.txt')
        sock = os.path.join(tmp, 'qmp.sock')
        self.display = free_display(first_display)
        self.port = 5900 + self.display
        self.q = None
        self.proc = subprocess.Popen(
            [minivmm, '-m', '32M', '--disk', 'file=%s,format=raw' % disk,
             '--serial', 'file:' + self.serial, '--debug-exit',
             '--qmp', 'unix:%s,wait=off' % sock, '--vnc', ':%d' % self.display] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check(qmplib.wait_for_socket(sock, self.proc), 'minivmm started'):
            self.q = qmplib.Client(sock)
            self.q.greet()


def run_keyecho_test(name, first_display, args, needs, body):
    """The frame of a test on one KeyechoVM: the command line MINIVMM
    KEYECHO_BIN, a skip (77) for what host_skip_reason finds missing, a
    temporary directory, minivmm started with `args`, body(vm) (which
    records its checks), minivmm stopped and the directory removed.  The
    exit status."""
    if len(sys.argv) != 3:
        print('usage: %s MINIVMM KEYECHO_BIN' % name)
        return 2
    reason = host_skip_reason(needs)
    if reason:
        print('SKIP: ' + reason)
        return SKIP
    tmp = tempfile.mkdtemp(prefix=name.split('.')[0] + '-')
    vm = None
    try:
        vm = KeyechoVM(sys.argv[1], sys.argv[2], tmp, first_display, args)
        if vm.q:
            body(vm)
            vm.q.close()
    finally:
        status = finish(vm.proc if vm else None, tmp)
    return status


def check_debug_exit(proc, what='minivmm ended through debug-exit', timeout=20):
    """minivmm ends with status 33 (the guest's debug-exit 0x10)."""
    try:
        status = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        status = None
    return check(status == 33, '%s (%r)' % (what, status))


def finish(proc, tmp):
    """The end of a test: minivmm stopped if it still runs (its stderr shown
    after a failure), `tmp` removed, the count of failures; the exit status."""
    if proc:
        if proc.poll() is None:
            qmplib.stop(proc)
        if failures:
            print('--- minivmm stderr ---\n' + proc.stderr.read().decode(errors='replace'))
    shutil.rmtree(tmp, ignore_errors=True)
    print('%d failure(s)' % len(failures))
    return 1 if failures else 0


def free_display(first=60):
    """A display number from `first` on whose port nobody uses (other
    tests run too)."""
    for n in range(first, 100):
        s = socket.socket()
        try:
            s.bind(('127.0.0.1', 5900 + n))
            return n
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError('no free VNC port')


def wait_serial(path, text, proc, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path, 'rb') as f:
                data = f.read().decode(errors='replace')
        except FileNotFoundError:
            data = ''
        if text in data:
            return data
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    return None


def read_png_rgb(path):
    """(width, height, RGB bytes) of an 8-bit RGB or RGBA PNG (alpha
    dropped: gvnccapture's padding byte)."""
    with open(path, 'rb') as f:
        d = f.read()
    if d[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG')
    i, idat = 8, b''
    while i < len(d):
        n, = struct.unpack('>I', d[i:i + 4])
        t, c = d[i + 4:i + 8], d[i + 8:i + 8 + n]
        i += 12 + n
        if t == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', c[:10])
        elif t == b'IDAT':
            idat += c
    if depth != 8 or ctype not in (2, 6):
        raise ValueError('PNG depth %d type %d' % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, out, k = bytearray(stride), bytearray(), 0
    for _ in range(h):
        f, line = raw[k], bytearray(raw[k + 1:k + 1 + stride])
        k += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        for x in range(w):
            out += line[x * bpp:x * bpp + 3]
    return w, h, bytes(out)


def read_ppm(path):
    with open(path, 'rb') as f:
        magic, size, maxval, body = f.read().split(b'\n', 3)
    w, h = map(int, size.split())
    if magic != b'P6' or maxval != b'255' or len(body) != w * h * 3:
        raise ValueError('%s: not a P6 PPM of its size' % path)
    return w, h, body


def _threshold_up2(w, h, rgb):
    """Rows of a grey picture twice the size of `rgb`: a pixel with any
    channel above 0x40 is text, drawn black on white (as tesseract
    prefers), and the doubling is bilinear (each new pixel 3/4 its own, 1/4
    its neighbour's), which smooths the font's staircases."""
    half = []
    for y in range(h):
        line = rgb[y * w * 3:(y + 1) * w * 3]
        g = [0 if max(line[i:i + 3]) > 0x40 else 255 for i in range(0, len(line), 3)]
        row = []
        for x in range(w):
            left, right = g[max(x - 1, 0)], g[min(x + 1, w - 1)]
            row += [(3 * g[x] + left) // 4, (3 * g[x] + right) // 4]
        half.append(row)
    rows = []
    for y in range(h):
        up, row, down = half[max(y - 1, 0)], half[y], half[min(y + 1, h - 1)]
        rows.append(bytes((3 * p + q) // 4 for p, q in zip(row, up)))
        rows.append(bytes((3 * p + q) // 4 for p, q in zip(row, down)))
    return rows


def ocr_text(w, h, rgb, workdir):
    """What tesseract reads on an RGB picture of a text screen, as a list of
    its non-empty lines.  Thresholded and doubled first (_threshold_up2):
    on SeaVGABIOS's 9x16 font that reads best; the picture as it is, or
    tripled, reads more characters wrong (e.g. "DUD/CD Latai-O" for
    "DVD/CD [ata1-0")."""
    pgm = os.path.join(workdir, 'ocr-input.pgm')
    with open(pgm, 'wb') as f:
        f.write(b'P5\n%d %d\n255\n' % (w * 2, h * 2))
        f.write(b''.join(_threshold_up2(w, h, rgb)))
    # --psm 6: one block of text, the screen's lines in order.  One thread:
    # the machine has two cores and other tests run beside this one.
    r = subprocess.run(['tesseract', pgm, 'stdout', '--psm', '6'], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, OMP_THREAD_LIMIT='1'))
    if r.returncode != 0:
        raise RuntimeError('tesseract failed (%d): %s' % (r.returncode, r.stderr.strip()[-200:]))
    return [line.strip() for line in r.stdout.splitlines() if line.strip()]


# The glyphs of that font tesseract takes for one another whatever the
# preprocessing (V as U, 0 as O, @ or the registered sign, 1 as i or l,
# brackets as parentheses, a dash as an em dash): compared as one class.
_OCR_FOLD = str.maketrans({'v': 'u', '0': 'o', '@': 'o', '\u00ae': 'o', '1': 'l', 'i': 'l',
                           '|': 'l', '[': '(', '{': '(', ']': ')', '}': ')',
                           '\u2014': '-', '\u2013': '-'})


def ocr_errors(expected, line):
    """How many characters of `expected` OCR got wrong in `line`: compared
    case-insensitively and with _OCR_FOLD's look-alikes as one, what `line`
    has beyond `expected` not counted; len(expected) less the characters
    difflib matches in order."""
    a, b = expected.lower().translate(_OCR_FOLD), line.lower().translate(_OCR_FOLD)
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return len(a) - sum(blk.size for blk in m.get_matching_blocks())


def ocr_find(lines, expected, max_errors=2):
    """The OCR line that reads `expected` with at most `max_errors`
    character errors (the best one), or None."""
    best = min(lines, key=lambda line: ocr_errors(expected, line), default=None)
    if best is None or ocr_errors(expected, best) > max_errors:
        return None
    return best
