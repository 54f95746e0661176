#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The QMP socket as a user meets it: the real minivmm binary with the idle
guest, talked to with socat, with a Python client and with minivmm-ctl.

- the socket is created 0600, a stale one is replaced, a live one (another
  minivmm listening) is refused, and bad paths (missing directory, too long,
  a regular file, a directory) end the start with status 2, one line, and
  no file created or changed;
- several clients at once, each negotiating on its own; socat gets the
  greeting and answers; --name shows in query-name and the process title;
- wait=on (the default) holds the guest before its first instruction until
  a client connects: nothing on COM1 before;
- hostile clients (1 MiB of garbage, a half-sent request, a client that
  never reads) do not stop the others from being served;
- the socket is removed when minivmm ends;
- minivmm-ctl: --help, --version, its errors, raw, and each command (the
  run control's and the drives' commands are checked when minivmm has them,
  else their CommandNotFound reply is).

Usage: qmp_test.py MINIVMM MINIVMM_CTL IDLE_BIOS.  Skipped without /dev/kvm
(the VM must start) or without socat.
"""
import fcntl
import os
import pty
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402

minivmm, ctl, guest = sys.argv[1:4]
failures = []
procs = []  # every minivmm started, ended in main() whatever happened
tmp = tempfile.mkdtemp(prefix='qmptest-')


def check(cond, what):
    print('%s %s' % ('ok  ' if cond else 'FAIL', what))
    if not cond:
        failures.append(what)
    return cond


def start(qmp, *extra, name=None, wait_socket=True):
    args = [minivmm, '--bios', guest, '--qmp', qmp] + list(extra)
    if name:
        args += ['--name', name]
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    procs.append(p)
    if wait_socket:
        path = qmp[5:].split(',')[0]
        if not qmplib.wait_for_socket(path, p):
            out, err = p.communicate(timeout=10)
            raise SystemExit('FAIL: minivmm did not create %s: %s' % (path, err.decode()))
    return p


def finish(p, sig=signal.SIGINT):
    status = qmplib.stop(p, sig=sig)
    out, err = p.communicate()
    return status, out.decode(errors='replace'), err.decode(errors='replace')


def run_ctl(*args, timeout=30):
    r = subprocess.run([ctl] + list(args), capture_output=True, text=True, timeout=timeout)
    print('$ minivmm-ctl %s -> %d: %s%s' % (' '.join(args), r.returncode, r.stdout.strip(),
                                          (' / ' + r.stderr.strip()) if r.stderr else ''))
    return r


def has_command(path, name):
    c = qmplib.Client(path)
    c.greet()
    names = [x['name'] for x in c.cmd('query-commands')['return']]
    c.close()
    return name in names


def test_socket_and_clients():
    path = os.path.join(tmp, 'vm.sock')
    p = start('unix:%s,server=on,wait=off' % path, '--serial', 'none', name='farm-vm-number-1')
    st = os.lstat(path)
    check(stat.S_ISSOCK(st.st_mode), 'the socket is a socket')
    check(stat.S_IMODE(st.st_mode) == 0o600, 'the socket is 0600 (%o)' % stat.S_IMODE(st.st_mode))
    with open('/proc/%d/comm' % p.pid) as f:
        comm = f.read().strip()
    check(comm == 'farm-vm-number-'[:15], 'process title is the name, cut to 15 bytes (%r)' % comm)

    a, b, c = qmplib.Client(path), qmplib.Client(path), qmplib.Client(path)
    for cl in (a, b, c):
        g = cl.read_msg()
        check(g is not None and g['QMP']['version']['package'].startswith('minivmm ')
              and g['QMP']['capabilities'] == [], 'greeting %s' % g)
    check(a.cmd('qmp_capabilities', id=1) == {'return': {}, 'id': 1}, 'a negotiates')
    r = b.cmd('query-name', id='b')
    check(r.get('error', {}).get('class') == 'CommandNotFound' and r.get('id') == 'b',
          'b, not negotiated, is refused: %s' % r)
    check(a.cmd('query-name') == {'return': {'name': 'farm-vm-number-1'}}, 'a gets query-name')
    check(b.cmd('qmp_capabilities') == {'return': {}}, 'b negotiates on its own')

    # hostile ones: 1 MiB of garbage, a half-sent request, one that never reads
    c.send_raw(b'x' * (1 << 20))
    c.send_raw(b' {"execute": "query-na')
    c.close()
    lazy = socket.socket(socket.AF_UNIX)
    lazy.connect(path)
    lazy.setblocking(False)
    try:
        for _ in range(5000):
            lazy.send(b'{"execute":"qmp_capabilities"}{"execute":"query-commands"}' * 20)
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass
    check(a.cmd('query-name', id=2) == {'return': {'name': 'farm-vm-number-1'}, 'id': 2},
          'a is still served beside the hostile clients')
    lazy.close()

    # socat, as a user would
    if shutil.which('socat'):
        r = subprocess.run(['socat', '-t', '2', '-', 'UNIX-CONNECT:' + path],
                           input=b'{"execute":"qmp_capabilities"}\n'
                                 b'{"execute":"query-name","id":"s"}\n',
                           capture_output=True, timeout=20)
        lines = r.stdout.split(b'\r\n')
        check(len(lines) == 4 and b'"QMP"' in lines[0] and lines[1] == b'{"return": {}}'
              and lines[2] == b'{"return": {"name": "farm-vm-number-1"}, "id": "s"}'
              and lines[3] == b'', 'socat: greeting, negotiation, query-name, CR LF: %r' % lines)
    a.close()
    b.close()
    status, out, err = finish(p)
    check(status == 0, 'SIGINT ends minivmm with 0 (%d): %s' % (status, err.strip()))
    check(not os.path.lexists(path), 'the socket is removed at exit')


def test_wait_on():
    path = os.path.join(tmp, 'wait.sock')
    p = start('unix:%s' % path)  # wait=on is the default, as in QEMU
    time.sleep(1.0)
    os.set_blocking(p.stdout.fileno(), False)
    before = p.stdout.read() or b''
    check(before == b'', 'nothing on COM1 before a client connects (%r)' % before)
    c = qmplib.Client(path)
    c.read_msg()
    end = time.monotonic() + 20
    seen = b''
    while time.monotonic() < end and b'idle guest up' not in seen:
        time.sleep(0.05)
        seen += p.stdout.read() or b''
    check(b'idle guest up' in seen, 'the guest runs once a client connected')
    c.close()
    os.set_blocking(p.stdout.fileno(), True)
    status, out, err = finish(p)
    check('waiting for a client' in err, 'minivmm says it waits: %r' % err)

    # a signal while waiting ends it cleanly, socket removed
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        p = start('unix:%s,server=on,wait=on' % path)
        time.sleep(0.3)
        status = qmplib.stop(p, sig=sig)
        p.communicate()
        check(status == 0 and not os.path.lexists(path),
              '%s while waiting: status %d, socket removed' % (sig.name, status))


def test_wait_on_terminal():
    """--serial stdio on a terminal makes it raw; while minivmm waits for a
    client, Ctrl-C still quits (and the terminal is left as it was)."""
    path = os.path.join(tmp, 'tty.sock')
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    def controlling_tty():  # as in a shell: the pty is its terminal
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([minivmm, '--bios', guest, '--serial', 'stdio', '--qmp', 'unix:' + path],
                         stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                         preexec_fn=controlling_tty)
    if not qmplib.wait_for_socket(path, p):
        check(False, 'minivmm on a terminal created its socket')
        return
    time.sleep(0.3)
    os.write(master, b'\x03')
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    err = p.stderr.read().decode(errors='replace')
    check(p.returncode == 0 and not os.path.lexists(path),
          'Ctrl-C on the terminal while waiting: status %s, socket removed: %r' %
          (p.returncode, err.strip()))
    check(termios.tcgetattr(slave) == before, 'the terminal is restored')
    os.close(master)
    os.close(slave)


def test_stale_and_live():
    path = os.path.join(tmp, 'stale.sock')
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # nobody listens: stale
    ino = os.lstat(path).st_ino
    p = start('unix:%s,wait=off' % path)
    end = time.monotonic() + 10
    while os.lstat(path).st_ino == ino and time.monotonic() < end:
        time.sleep(0.02)
    c = qmplib.Client(path)
    check(c.read_msg() is not None, 'a stale socket is replaced')
    r = subprocess.run([minivmm, '--bios', guest, '--qmp', 'unix:%s,wait=off' % path],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
          and 'another process is listening' in r.stderr,
          'a live socket is refused: %d %r' % (r.returncode, r.stderr))
    check(c.cmd('qmp_capabilities') == {'return': {}}, 'negotiated')
    check('return' in c.cmd('query-version'), 'the first minivmm is still served')
    c.close()
    finish(p)


def test_virtio_block():
    """The real binary's query-block and info block with a virtio disk
    before an IDE one: QEMU's names in command-line order."""
    path = os.path.join(tmp, 'vblk.sock')
    vimg, iimg = os.path.join(tmp, 'v.img'), os.path.join(tmp, 'i.img')
    for f, size in ((vimg, 2 << 20), (iimg, 1 << 20)):
        with open(f, 'wb') as fh:
            fh.truncate(size)
    p = start('unix:%s,wait=off' % path, '--disk', 'file=%s,if=virtio,format=raw' % vimg,
              '--disk', 'file=%s,format=raw' % iimg)
    c = qmplib.Client(path)
    c.greet()
    r = c.cmd('query-block').get('return', [])
    check([d.get('device') for d in r] == ['virtio0', 'ide0-hd0'],
          'query-block: virtio0 then ide0-hd0: %r' % [d.get('device') for d in r])
    v = r[0] if r else {}
    check(v.get('qdev') == '/machine/peripheral-anon/device[0]/virtio-backend'
          and v.get('removable') is False
          and v.get('inserted', {}).get('file') == vimg
          and v.get('inserted', {}).get('image', {}).get('virtual-size') == 2 << 20,
          'virtio0: qdev, not removable, its image: %r' % v)
    r = c.cmd('eject', {'device': 'virtio0'})
    check(r.get('error', {}).get('desc') == "Device 'virtio0' is not removable",
          'eject virtio0 is refused: %r' % r)
    r = c.cmd('human-monitor-command', {'command-line': 'info block virtio0'})
    out = r.get('return', '')
    check(out.startswith('virtio0') and vimg in out and 'virtio-backend' in out
          and 'Removable' not in out, 'info block virtio0: %r' % out)
    c.close()
    finish(p)


def test_bad_paths():
    plain = os.path.join(tmp, 'plain')
    with open(plain, 'w') as f:
        f.write('keep me')
    serial_out = os.path.join(tmp, 'serial.out')
    cases = [
        (os.path.join(tmp, 'no-such-dir', 'x.sock'), 'cannot create'),
        (os.path.join(tmp, 'l' * 120), 'too long'),
        (plain, 'not a socket'),
        (tmp, 'is a directory'),
    ]
    for path, words in cases:
        r = subprocess.run([minivmm, '--bios', guest, '--serial', 'file:' + serial_out,
                            '--qmp', 'unix:%s,wait=off' % path],
                           capture_output=True, text=True, timeout=30)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and words in r.stderr and
              '--qmp' in r.stderr, '--qmp %s: status %d, %r' % (path[-40:], r.returncode, lines))
        check(not os.path.exists(serial_out), 'a failed start created no output file')
    with open(plain) as f:
        check(f.read() == 'keep me', 'the regular file in the way is left alone')
    check(not os.path.exists(os.path.join(tmp, 'no-such-dir')), 'no directory was created')


def test_ctl():
    r = run_ctl('--help')
    check(r.returncode == 0 and all(w in r.stdout for w in (
        'status', 'powerdown', 'reset', 'pause', 'resume', 'quit', 'eject', 'change',
        'stats', 'events', 'raw', '--json', '--reset', '--format', '--read-only', '--version')),
        'minivmm-ctl --help names every command and option')
    r = run_ctl('--version')
    check(r.returncode == 0 and r.stdout.startswith('minivmm-ctl '), '--version')
    r = run_ctl(os.path.join(tmp, 'nothing.sock'), 'status')
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
          and 'No such file' in r.stderr, 'a missing socket: one line, status 1')
    r = run_ctl(os.path.join(tmp, 'nothing.sock'), 'frobnicate')
    check(r.returncode == 2, 'an unknown command: status 2')
    r = run_ctl('x.sock')
    check(r.returncode == 2, 'no command: status 2')

    path = os.path.join(tmp, 'ctl.sock')
    p = start('unix:%s,wait=off' % path, '--serial', 'none', name='ctl')
    refused_sock = os.path.join(tmp, 'refused.sock')
    s = socket.socket(socket.AF_UNIX)
    s.bind(refused_sock)
    s.close()
    r = run_ctl(refused_sock, 'status')
    check(r.returncode == 1 and 'refused' in r.stderr, 'nobody listening: refused, status 1')

    r = run_ctl(path, 'raw', '{"execute":"query-name"}')
    check(r.returncode == 0 and r.stdout.strip() == '{"return":{"name":"ctl"}}', 'raw query-name')
    r = run_ctl(path, 'raw', '{"execute":"no-such"}')
    check(r.returncode == 1 and 'CommandNotFound' in r.stdout, 'raw: an error reply is status 1')
    r = run_ctl(path, 'raw', 'not json')
    check(r.returncode == 2, 'raw: not JSON is a usage error')

    def ctl_cmd(qmp_name, *args, expect=None):
        r = run_ctl(path, *args)
        if has_command(path, qmp_name):
            check(r.returncode == 0 and (expect is None or expect in r.stdout),
                  'minivmm-ctl %s (%s is there)' % (' '.join(args), qmp_name))
        else:
            check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and
                  'CommandNotFound: The command %s has not been found' % qmp_name in r.stderr,
                  'minivmm-ctl %s: %s not registered yet, its error shown' %
                  (' '.join(args), qmp_name))
        return r

    ctl_cmd('query-status', 'status', expect='VM status: running')
    ctl_cmd('stop', 'pause')
    ctl_cmd('query-status', 'status', expect='VM status: ')
    ctl_cmd('cont', 'resume')
    ctl_cmd('query-exit-stats', 'stats')
    r = ctl_cmd('query-exit-stats', 'stats', '--json', '--reset')
    ctl_cmd('system_reset', 'reset')
    # no CD drive in this VM: the drives' command answers with an error either way
    r = run_ctl(path, 'eject', '-f')
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1,
          'eject without a CD drive: one line, status 1')
    r = run_ctl(path, 'change', 'ide1-cd0')
    check(r.returncode == 2, 'change without FILE: usage error')

    # events: follows until minivmm ends
    ev = subprocess.Popen([ctl, path, 'events'], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    if has_command(path, 'stop') and has_command(path, 'cont'):
        run_ctl(path, 'pause')
        run_ctl(path, 'resume')
    if has_command(path, 'quit'):
        r = run_ctl(path, 'quit')
        check(r.returncode == 0, 'minivmm-ctl quit')
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            pass
        check(p.returncode == 0, 'quit ends minivmm with status 0 (%s)' % p.returncode)
    finish(p)
    try:
        out, _ = ev.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        ev.kill()
        out, _ = ev.communicate()
    check(ev.returncode == 0, 'minivmm-ctl events ends with 0 when minivmm ends (%s)'
          % ev.returncode)
    lines = out.splitlines()
    check(all(len(ln.split(' ', 2)) >= 2 and '.' in ln.split(' ')[0] for ln in lines),
          'events: one line each, SECONDS.USEC NAME [DATA]: %r' % lines)
    if has_stop_cont_events(lines):
        check(any(' STOP' in ln for ln in lines) and any(' RESUME' in ln for ln in lines),
              'events: STOP and RESUME seen')


def has_stop_cont_events(lines):
    return any(' STOP' in ln or ' RESUME' in ln for ln in lines)


def main():
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        print('SKIP: no usable /dev/kvm')
        return 77
    try:
        for t in (test_socket_and_clients, test_wait_on, test_wait_on_terminal,
                  test_stale_and_live, test_bad_paths, test_ctl, test_virtio_block):
            print('--- %s' % t.__name__)
            t()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if not shutil.which('socat'):
        print('SKIP: socat is not installed (Debian: socat); the rest passed' if not failures
              else '')
        return 77 if not failures else 1
    print('%d failures' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
