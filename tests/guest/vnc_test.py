#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The VNC server with the real binary and SeaBIOS, in one boot of the
keyecho boot sector (firmware/guests/keyecho.asm), which echoes every
character INT 16h gives to COM1:

- --vnc :N,password=on with no display device: clients are refused until
  QMP set_password, then the right password gets in and a wrong one not;
- keys typed as plain keysyms and as QEMU extended key events reach the
  guest's INT 16h as the right characters, in order;
- QMP screendump with no display device is an error and writes no file;
- the port listens on 127.0.0.1 only; a websocket (ws://) handshake on the
  same port is answered with 101;
- a second minivmm on the same port ends at once with status 2 and one line;
- then a second boot with the VGA (--vnc alone: --vga std and the tablet by
  default): QMP screendump shows SeaBIOS's text screen, gvnccapture (GTK-VNC,
  a client we did not write) receives the same picture pixel for pixel, the
  encoder stays idle while the screen is still, and --screendump-on-exit
  writes a PNG of the last screen.

Usage: vnc_test.py MINIVMM VNCCLIENT KEYECHO_BIN.  Skipped (77) without
/dev/kvm or SeaBIOS.
"""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402
from vnclib import (SKIP, check, check_debug_exit, failures, finish, free_display,  # noqa: E402
                    host_skip_reason, keyecho_disk, read_png_rgb, read_ppm, wait_serial)

minivmm, vncclient, keyecho = sys.argv[1:4]


def client(port, *args):
    r = subprocess.run([vncclient, str(port)] + list(args), capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout + r.stderr


def ws_handshake(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(('GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: http://127.0.0.1\r\n'
               'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
               'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n'
               % (port, key)).encode())
    data = b''
    while b'\r\n\r\n' not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    return data.decode(errors='replace')


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def display_part(tmp, disk):
    """--vnc with the VGA it brings: the screen through QMP and through a
    real VNC client."""
    serial = os.path.join(tmp, 'com1-vga.txt')
    sock = os.path.join(tmp, 'qmp-vga.sock')
    exit_png = os.path.join(tmp, 'exit-vga.png')
    n = free_display()
    proc = subprocess.Popen([minivmm, '-m', '32M', '--disk', 'file=%s,format=raw' % disk,
                             '--serial', 'file:' + serial, '--debug-exit',
                             '--qmp', 'unix:%s,wait=off' % sock, '--vnc', ':%d' % n,
                             '--screendump-on-exit', exit_png],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        if not check(qmplib.wait_for_socket(sock, proc), 'VGA: minivmm started'):
            return
        q = qmplib.Client(sock)
        q.greet()
        check(wait_serial(serial, 'KEYECHO-READY', proc) is not None,
              'VGA: the guest waits for keys')
        time.sleep(0.5)
        shot = os.path.join(tmp, 'vga.ppm')
        r = q.cmd('screendump', {'filename': shot})
        check(r == {'return': {}}, 'VGA: screendump: %r' % r)
        w, h, body = read_ppm(shot)
        lit = sum(1 for i in range(0, len(body), 3) if body[i:i + 3] != b'\0\0\0')
        check((w, h) == (720, 400) and 1000 < lit < w * h // 4,
              'VGA: the screendump is the 720x400 text screen with text on it '
              '(%dx%d, %d lit pixels)' % (w, h, lit))
        capture = shutil.which('gvnccapture')
        if not capture:
            print('NOTE: gvnccapture (Debian gvncviewer) not installed: '
                  'the independent client check is left out')
        else:
            png = os.path.join(tmp, 'gvnc.png')
            r = subprocess.run([capture, '127.0.0.1:%d' % n, png], capture_output=True,
                               text=True, timeout=60)
            ok = r.returncode == 0 and os.path.exists(png)
            if check(ok, 'VGA: gvnccapture connected and saved the screen (%d %s)'
                     % (r.returncode, (r.stdout + r.stderr).strip()[-200:])):
                gw, gh, gbody = read_png_rgb(png)
                diff = sum(1 for i in range(0, min(len(gbody), len(body)), 3)
                           if gbody[i:i + 3] != body[i:i + 3])
                check((gw, gh) == (w, h) and diff == 0,
                      'VGA: gvnccapture\'s picture equals the screendump '
                      '(%dx%d, %d pixels differ)' % (gw, gh, diff))
        # A still screen costs nothing: the VNC encoder's CPU time and the
        # process's CPU while the guest waits in INT 16h, printed.
        before = q.cmd('query-exit-stats').get('return', {}).get('vnc', {})
        c0 = cpu_seconds(proc.pid)
        time.sleep(3)
        c1 = cpu_seconds(proc.pid)
        after = q.cmd('query-exit-stats').get('return', {}).get('vnc', {})
        print('FIGURE idle 3 s: minivmm CPU %.2f s, VNC updates +%d, encoder +%.1f ms'
              % (c1 - c0, after.get('updates', 0) - before.get('updates', 0),
                 (after.get('encoder_cpu_ns', 0) - before.get('encoder_cpu_ns', 0)) / 1e6))
        check(after.get('updates', 0) == before.get('updates', 0),
              'VGA: no update sent while nothing changed and nobody is connected')
        rc, out = client(5900 + n, '--keysyms', '.')
        check_debug_exit(proc, 'VGA: minivmm ended through debug-exit')
        try:
            ew, eh, _ = read_png_rgb(exit_png)
        except (OSError, ValueError) as e:
            ew, eh = 0, str(e)
        check((ew, eh) == (720, 400), 'VGA: --screendump-on-exit wrote a 720x400 PNG (%r)'
              % ((ew, eh),))
        q.close()
    finally:
        if proc.poll() is None:
            qmplib.stop(proc)
        if failures:
            print('--- minivmm stderr (VGA) ---\n' + proc.stderr.read().decode(errors='replace'))


def main():
    reason = host_skip_reason()
    if reason:
        print('SKIP: ' + reason)
        return SKIP
    tmp = tempfile.mkdtemp(prefix='vnctest-')
    proc = None
    try:
        disk = keyecho_disk(tmp, keyecho)
        serial = os.path.join(tmp, 'com1.txt')
        sock = os.path.join(tmp, 'qmp.sock')
        n = free_display()
        port = 5900 + n
        proc = subprocess.Popen([minivmm, '-m', '32M', '--disk', 'file=%s,format=raw' % disk,
                                 '--serial', 'file:' + serial, '--debug-exit',
                                 '--qmp', 'unix:%s,wait=off' % sock,
                                 '--vnc', ':%d,password=on' % n, '--vga', 'none',
                                 '--screendump-on-exit', os.path.join(tmp, 'exit.png')],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        if not check(qmplib.wait_for_socket(sock, proc), 'minivmm started'):
            return 1
        q = qmplib.Client(sock)
        q.greet()

        # a second server on the same port
        r = subprocess.run([minivmm, '-m', '32M', '--serial', 'none', '--vnc', ':%d' % n],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and 'in use' in r.stderr and r.stderr.count('\n') == 1,
              'a port in use: status 2, one line (%d %r)' % (r.returncode, r.stderr))

        check(wait_serial(serial, 'KEYECHO-READY', proc) is not None, 'the guest waits for keys')

        # 127.0.0.1 only
        try:
            socket.create_connection(('127.0.0.2', port), timeout=2).close()
            check(False, 'not reachable on 127.0.0.2')
        except OSError:
            check(True, 'not reachable on 127.0.0.2')
        resp = ws_handshake(port)
        check(resp.startswith('HTTP/1.1 101'), 'websocket handshake answered: %r' %
              resp.split('\r\n')[0])

        # no password yet: nobody gets in
        rc, out = client(port, '--password', 'hunter2')
        check(rc == 3, 'refused before set_password (%d: %s)' % (rc, out.strip()))
        r = q.cmd('set_password', {'protocol': 'vnc', 'password': 'hunter2'})
        check(r == {'return': {}}, 'set_password: %r' % r)
        rc, out = client(port, '--password', 'wrong')
        check(rc == 3, 'a wrong password is refused (%d)' % rc)
        r = q.cmd('change-vnc-password', {'password': 'secret1'})
        check(r == {'return': {}}, 'change-vnc-password: %r' % r)
        rc, out = client(port, '--password', 'hunter2')
        check(rc == 3, 'the old password is refused after change-vnc-password (%d)' % rc)

        # screendump without a display device
        shot = os.path.join(tmp, 'shot.ppm')
        r = q.cmd('screendump', {'filename': shot})
        check('error' in r and not os.path.exists(shot),
              'screendump without a display is an error: %r' % r)
        r = q.cmd('screendump', {'filename': shot, 'format': 'bmp'})
        check('error' in r and 'format' in r['error']['desc'], 'screendump format=bmp: %r' % r)

        rc, out = client(port, '--password', 'secret1', '--wait-update', '--keysyms', 'hello w')
        check(rc == 0, 'keysyms typed (%d: %s)' % (rc, out.strip()))
        rc, out = client(port, '--password', 'secret1', '--ext', 'orld 42')
        check(rc == 0, 'extended keys typed (%d: %s)' % (rc, out.strip()))
        stats = q.cmd('query-exit-stats')
        vnc = stats.get('return', {}).get('vnc', {})
        check(vnc.get('ext_keys', 0) >= 14 and vnc.get('keys', 0) >= 14 and
              vnc.get('connections', 0) >= 5, 'vnc counters: %r' % vnc)
        rc, out = client(port, '--password', 'secret1', '--keysyms', '.')
        data = wait_serial(serial, 'KEYECHO-END', proc)
        check(data is not None and 'KEYECHO-READY\r\nhello world 42\r\nKEYECHO-END' in data,
              'the guest read "hello world 42": %r' % (data or '')[-80:])
        check_debug_exit(proc, timeout=10)
        err = proc.stderr.read().decode(errors='replace')
        check(not os.path.exists(os.path.join(tmp, 'exit.png')) and
              '--screendump-on-exit: no display' in err,
              '--screendump-on-exit without a display: one line, no file (%r)' % err[-200:])
        q.close()
        proc = None
        display_part(tmp, disk)
    finally:
        status = finish(proc, tmp)
    return status


if __name__ == '__main__':
    sys.exit(main())
