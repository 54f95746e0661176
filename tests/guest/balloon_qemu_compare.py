#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The balloon's QMP commands (balloon, query-balloon, qom-get and qom-set
of guest-stats and guest-stats-polling-interval, the HMP words balloon and
info balloon) asked of QEMU 7.2 with
-device virtio-balloon,id=balloon0 and of minivmm with --balloon, both with
256 MiB and no balloon driver running (minivmm under SeaBIOS when it is
installed); then the same of both without a balloon.  Answers are compared
exactly, but for one documented difference: a stat the guest never gave is
18446744073709551615 in QEMU and -1 in minivmm (the same 64 bits;
jansson's integers are signed).

Then minivmm-ctl's balloon and balloon-stats against minivmm alone: the
target, the answers, the interval set, the errors and exit statuses.

usage: balloon_qemu_compare.py MINIVMM MINIVMM_CTL IDLE_GUEST"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402

P = '/machine/peripheral/balloon0'


def qom_get(prop, path=P, **extra):
    return dict({'execute': 'qom-get', 'arguments': dict({'path': path, 'property': prop},
                                                          **extra)})


def qom_set(prop, value, path=P):
    return {'execute': 'qom-set', 'arguments': {'path': path, 'property': prop,
                                                 'value': value}}


def hmp(line):
    return {'execute': 'human-monitor-command', 'arguments': {'command-line': line}}


INTERVAL = 'guest-stats-polling-interval'
CONVERSATION = [
    {'execute': 'query-balloon'},
    {'execute': 'query-balloon', 'arguments': {'x': 1}},
    {'execute': 'balloon', 'arguments': {'value': 0}},
    {'execute': 'balloon', 'arguments': {'value': -5}},
    {'execute': 'balloon', 'arguments': {'value': 'x'}},
    {'execute': 'balloon', 'arguments': {'value': 1.5}},
    {'execute': 'balloon', 'arguments': {}},
    {'execute': 'balloon', 'arguments': {'value': 100 << 20, 'x': 1}},
    {'execute': 'balloon', 'arguments': {'value': 1 << 40}},
    {'execute': 'balloon', 'arguments': {'value': 100 << 20}},
    {'execute': 'query-balloon'},
    qom_get('guest-stats'),
    qom_get(INTERVAL),
    qom_get('nope'),
    qom_get('guest-stats', path=P + 'x'),
    qom_get('guest-stats', x=1),
    {'execute': 'qom-get', 'arguments': {'path': P}},
    {'execute': 'qom-get', 'arguments': {'property': 'guest-stats'}},
    {'execute': 'qom-get', 'arguments': {'path': 5, 'property': 'guest-stats'}},
    qom_set(INTERVAL, -1),
    qom_set(INTERVAL, 1 << 33),
    qom_set(INTERVAL, 'a'),
    qom_set(INTERVAL, 1.5),
    qom_set(INTERVAL, 4294967295),
    qom_set(INTERVAL, 2),
    qom_get(INTERVAL),
    qom_set('guest-stats', 2),
    qom_set('nope', 2),
    {'execute': 'qom-set', 'arguments': {'path': P, 'property': INTERVAL}},
    qom_set(INTERVAL, 0),
    qom_get(INTERVAL),
    qom_get('guest-stats'),
    # the HMP words
    hmp('help balloon'),
    hmp('help info balloon'),
    hmp('info balloon'),
    hmp('info balloon x'),
    hmp('balloon'),
    hmp('balloon 100'),
    hmp('info balloon'),
    hmp('balloon 0'),
    hmp('balloon -1'),
    hmp('balloon -0'),
    hmp('balloon x'),
    hmp('balloon 1G'),
    hmp('balloon 100 200'),
    hmp('balloon 1.5'),
    hmp('balloon 0x10'),
    hmp('balloon 010'),
    hmp('balloon 99999999999999'),
    hmp('balloon 18446744073709551615'),
    hmp('balloon 9223372036854775807'),
]

U64_MAX = (1 << 64) - 1
SEABIOS = '/usr/share/seabios/bios-256k.bin'


def normalise(msg):
    """QEMU's unsigned -1 as minivmm's signed one."""
    ret = msg.get('return') if isinstance(msg, dict) else None
    if isinstance(ret, dict) and isinstance(ret.get('stats'), dict):
        ret['stats'] = {k: (-1 if v == U64_MAX else v) for k, v in ret['stats'].items()}
    return msg


def connect(path):
    """The socket file appears between bind() and listen(): retry a little."""
    for _ in range(100):
        try:
            return qmplib.Client(path)
        except ConnectionRefusedError:
            time.sleep(0.05)
    return qmplib.Client(path)


def converse(path):
    c = connect(path)
    c.read_msg()
    c.send_raw('{"execute":"qmp_capabilities"}\n')
    c.read_msg(timeout=5)
    out = []
    for cmd in CONVERSATION:
        c.send_raw(json.dumps(cmd) + '\n')
        out.append(normalise(c.read_msg(timeout=5)))
    c.close()
    return out


def run_pair(qemu, minivmm, guest, tmp, with_balloon):
    qsock, msock = os.path.join(tmp, 'qemu.sock'), os.path.join(tmp, 'minivmm.sock')
    for s in (qsock, msock):
        if os.path.exists(s):
            os.unlink(s)
    qargs = [qemu, '-machine', 'pc', '-m', '256', '-nodefaults', '-display', 'none', '-S',
             '-qmp', 'unix:%s,server=on,wait=off' % qsock]
    # SeaBIOS (the default firmware) enumerates the balloon and places its
    # BARs while we talk; without it the idle guest does.
    firmware = [] if os.path.exists(SEABIOS) else ['--bios', guest]
    margs = [minivmm] + firmware + ['--serial', 'none', '-m', '256M',
                                    '--qmp', 'unix:%s,server=on,wait=off' % msock]
    if with_balloon:
        qargs += ['-device', 'virtio-balloon,id=balloon0']
        margs += ['--balloon']
    procs = []
    try:
        q = subprocess.Popen(qargs, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        procs.append(q)
        m = subprocess.Popen(margs, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        procs.append(m)
        if not qmplib.wait_for_socket(qsock, q):
            return None, 'SKIP: QEMU did not start its QMP socket'
        if not qmplib.wait_for_socket(msock, m):
            return None, 'FAIL: minivmm did not create its socket'
        return (converse(qsock), converse(msock)), None
    finally:
        for p in procs:
            qmplib.stop(p)


def check_ctl(minivmm, ctl, guest, tmp):
    """minivmm-ctl balloon / balloon-stats; the number of failures."""
    sock = os.path.join(tmp, 'ctl.sock')
    m = subprocess.Popen([minivmm, '--bios', guest, '--serial', 'none', '-m', '256M',
                          '--device', 'virtio-balloon,id=bl,transport=legacy',
                          '--qmp', 'unix:%s,server=on,wait=off' % sock],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    failures = 0

    def ctl_run(*a):
        return subprocess.run([ctl, sock] + list(a), capture_output=True, text=True,
                              timeout=30)

    def check(ok, what):
        nonlocal failures
        print('%s  minivmm-ctl %s' % ('ok  ' if ok else 'FAIL', what))
        failures += not ok

    try:
        if not qmplib.wait_for_socket(sock, m):
            check(False, 'minivmm did not create its socket')
            return failures
        r = ctl_run('balloon')
        check(r.returncode == 0 and r.stdout == 'balloon: actual=256\n',
              'balloon: %r' % r.stdout)
        r = ctl_run('balloon', '128M')
        check(r.returncode == 0 and r.stdout == '', 'balloon 128M: %d' % r.returncode)
        r = ctl_run('balloon', '0')
        check(r.returncode == 1 and "Parameter 'target' expects a size" in r.stderr,
              'balloon 0: %d %r' % (r.returncode, r.stderr))
        r = ctl_run('balloon', '12X')
        check(r.returncode == 2, 'balloon 12X: status %d' % r.returncode)
        r = ctl_run('balloon-stats', '--id', 'bl', '--interval', '7', '--json')
        try:
            j = json.loads(r.stdout)
        except ValueError:
            j = {}
        check(r.returncode == 0 and j.get('guest-stats-polling-interval') == 7 and
              j.get('last-update') == 0 and len(j.get('stats', {})) == 10 and
              all(v == -1 for v in j['stats'].values()),
              'balloon-stats --id bl --interval 7 --json: %r' % r.stdout[:200])
        r = ctl_run('balloon-stats', '--id', 'bl')
        check(r.returncode == 0 and 'polling interval: 7 s' in r.stdout and
              'stat-total-memory' in r.stdout and 'last update: never' in r.stdout,
              'balloon-stats --id bl: %r' % r.stdout[:120])
        r = ctl_run('balloon-stats')
        check(r.returncode == 1 and "Device '/machine/peripheral/balloon0' not found" in r.stderr,
              'balloon-stats without the id: %r' % r.stderr)
        r = subprocess.run([ctl, '--help'], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and 'balloon [SIZE]' in r.stdout and
              'balloon-stats' in r.stdout and '--interval' in r.stdout, '--help names them')
    finally:
        qmplib.stop(m)
    return failures


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    minivmm, ctl, guest = sys.argv[1:]
    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        print('SKIP: qemu-system-x86_64 is not installed (Debian: qemu-system-x86)')
        return 77
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        print('SKIP: no usable /dev/kvm')
        return 77
    tmp = tempfile.mkdtemp(prefix='balloon-cmp-')
    failures = total = 0
    try:
        for with_balloon in (True, False):
            pair, why = run_pair(qemu, minivmm, guest, tmp, with_balloon)
            if why:
                print(why)
                return 77 if why.startswith('SKIP') else 1
            print('--- %s a balloon' % ('with' if with_balloon else 'without'))
            for cmd, a, b in zip(CONVERSATION, *pair):
                ok = a == b
                total += 1
                failures += not ok
                print('%s  > %s\n      QEMU    %s\n      minivmm %s' %
                      ('ok  ' if ok else 'FAIL', json.dumps(cmd), json.dumps(a),
                       json.dumps(b)))
        ctl_failures = check_ctl(minivmm, ctl, guest, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d of %d answers differ; %d minivmm-ctl checks failed' %
          (failures, total, ctl_failures))
    return 1 if failures or ctl_failures else 0


if __name__ == '__main__':
    sys.exit(main())
