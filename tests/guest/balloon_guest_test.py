#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The balloon with a driver: the balloon guest (firmware/guests/balloon.asm,
a legacy virtio driver in big real mode) under minivmm -m 64M --balloon.
Proves, from the host's side:
- the 32 MiB the guest writes raise minivmm's RSS, and after QMP
  `balloon` asks for 24 MiB back and the guest inflates them, the RSS falls
  by at least 20 MiB (the pages were given back with MADV_DONTNEED);
- BALLOON_CHANGE comes with actual = 40 MiB and query-balloon agrees;
- guest-stats shows the guest's MEMTOT and MEMFREE, a last-update, and
  after guest-stats-polling-interval is set the host asks again (the guest
  answers twice with a new MEMFREE);
- the guest itself saw an inflated page read back as zeroes, reported the
  8 MiB it kept as free pages on the legacy interface and saw them come
  back as zeroes too, and ends with PASS (status 33).

usage: balloon_guest_test.py MINIVMM BALLOON_GUEST"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402

MIB = 1 << 20
P = '/machine/peripheral/balloon0'
failures = 0


def check(ok, what):
    global failures
    print('%s  %s' % ('ok  ' if ok else 'FAIL', what))
    failures += not ok


def rss_anon(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('RssAnon:'):
                return int(line.split()[1]) * 1024
    return 0


def wait_serial(path, word, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path, errors='replace') as f:
                text = f.read()
        except FileNotFoundError:
            text = ''
        if word in text:
            return True
        if 'FAIL' in text or proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    minivmm, guest = sys.argv[1:]
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        print('SKIP: no usable /dev/kvm')
        return 77
    tmp = tempfile.mkdtemp(prefix='balloon-guest-')
    sock, serial = os.path.join(tmp, 'qmp.sock'), os.path.join(tmp, 'serial.txt')
    m = subprocess.Popen([minivmm, '--bios', guest, '--debug-exit', '-m', '64M', '--balloon',
                          '--serial', 'file:' + serial,
                          '--qmp', 'unix:%s,server=on,wait=off' % sock],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        if not qmplib.wait_for_socket(sock, m):
            print('FAIL: minivmm did not create its socket')
            return 1
        c = qmplib.Client(sock)
        c.greet()
        check(wait_serial(serial, 'touched', m), 'the guest wrote its 32 MiB')
        before = rss_anon(m.pid)
        st = c.cmd('qom-get', {'path': P, 'property': 'guest-stats'})['return']
        check(st['stats']['stat-total-memory'] == 0x4000000 and
              st['stats']['stat-free-memory'] == 0x1234000 and
              st['stats']['stat-swap-in'] == -1 and st['last-update'] > 0,
              'guest-stats has the buffer posted before DRIVER_OK: %s' % st)
        r = c.cmd('balloon', {'value': 40 * MIB})
        check(r == {'return': {}}, 'balloon 40 MiB: %s' % r)
        check(wait_serial(serial, 'pages checked', m), 'the guest inflated 24 MiB and '
              'read an inflated page back as zeroes')
        after = rss_anon(m.pid)
        check(before - after >= 20 * MIB, 'RSS fell by %.1f MiB (from %.1f to %.1f MiB)' %
              ((before - after) / MIB, before / MIB, after / MIB))
        end = time.monotonic() + 10
        change = []
        while time.monotonic() < end and not change:
            change = [e for e in c.events if e['event'] == 'BALLOON_CHANGE' and
                      e['data']['actual'] == 40 * MIB]
            if not change:
                c.read_msg(timeout=0.2, events=False)
        check(bool(change), 'BALLOON_CHANGE {actual: 40 MiB} (events: %s)' %
              [e['data'] for e in c.events if e['event'] == 'BALLOON_CHANGE'])
        r = c.cmd('query-balloon')
        check(r == {'return': {'actual': 40 * MIB}}, 'query-balloon: %s' % r)
        r = c.cmd('qom-set', {'path': P, 'property': 'guest-stats-polling-interval',
                              'value': 1})
        check(r == {'return': {}}, 'polling every second: %s' % r)
        m.wait(60)
        check(m.returncode == 33, 'the guest ended with PASS (status %s)' % m.returncode)
        with open(serial, errors='replace') as f:
            text = f.read()
        check(text.count('stats answered') == 2, 'the host asked for stats twice')
        check('reported' in text, 'the free page report was honoured on the legacy '
              'interface')
    finally:
        if m.poll() is None:
            qmplib.stop(m)
        try:
            with open(serial, errors='replace') as f:
                print('--- guest serial\n' + f.read())
        except FileNotFoundError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
