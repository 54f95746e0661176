#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""One QMP conversation held with QEMU 7.2 and with minivmm, compared
message by message where the answer is the protocol's (greeting shape,
negotiation, member checks, malformed input, id echo, error classes and
texts, the protocol's own commands, the HMP words' usage texts).  Versions
and timestamps differ and are not compared; events are set aside.

usage: qmp_qemu_compare.py MINIVMM IDLE_GUEST"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmplib  # noqa: E402


def hmp(line):
    return json.dumps({'execute': 'human-monitor-command',
                       'arguments': {'command-line': line}})


# (raw text sent, how to compare: 'same' exact, 'shape' same keys and types)
CONVERSATION = [
    ('{"execute":"query-status"}', 'same'),
    ('{"execute":"query-status","id":5}', 'same'),
    ('{"execute":"nonexistent","id":{"a":[1,"x"]}}', 'same'),
    ('[1,2]', 'same'),
    ('"str"', 'same'),
    ('123', 'same'),
    ('null', 'same'),
    ('{"foo":1,"id":1}', 'same'),
    ('{"execute":1}', 'same'),
    ('{"id":3}', 'same'),
    ('{"execute":"qmp_capabilities","arguments":[]}', 'same'),
    ('{"execute": foo}', 'same'),
    ('{"execute":}', 'same'),
    (']', 'same'),
    ('}', 'same'),
    ('{"execute":"qmp_capabilities","arguments":{"bar":1},"id":"b"}', 'same'),
    ('{"execute":"qmp_capabilities","arguments":{"enable":"oob"}}', 'same'),
    ('{"execute":"qmp_capabilities","arguments":{"enable":["foo"]}}', 'same'),
    ('{"execute":"qmp_capabilities","id":"neg"}', 'same'),
    # negotiated
    ('{"execute":"qmp_capabilities","id":7}', 'same'),
    ('{"execute":"qmp_capabilities","arguments":{"bar":1}}', 'same'),
    ('{"execute":"no-such-command","id":[1]}', 'same'),
    ('{"execute":"query-name","id":2}', 'same'),
    ('{"execute":"query-name","arguments":{"x":1}}', 'same'),
    ('{"execute":"query-name","extra":1}', 'same'),
    ('{"execute":"query-name","exec-oob":"query-name"}', 'same'),
    ('{"execute":"query-version"}', 'shape'),
    ('{"execute":"query-version","arguments":{"x":1}}', 'same'),
    ('{"execute":"query-commands","arguments":{"x":1}}', 'same'),
    ('{"execute":"human-monitor-command","arguments":{}}', 'same'),
    ('{"execute":"human-monitor-command","arguments":{"command-line":5}}', 'same'),
    ('{"execute":"human-monitor-command","arguments":{"command-line":"","x":1}}', 'same'),
    (hmp(''), 'same'),
    (hmp('xyz'), 'same'),
    (hmp('help foo'), 'same'),
    (hmp('help eject'), 'same'),
    (hmp('help change'), 'same'),
    (hmp('stop x'), 'same'),
    (hmp('cont extra words'), 'same'),
    (hmp('info xyz'), 'same'),
    (hmp('info status extra'), 'same'),
    (hmp('info name'), 'same'),
    (hmp('  info   name  '), 'same'),
    (hmp('eject'), 'same'),
    (hmp('eject -f'), 'same'),
    (hmp('change'), 'same'),
    (hmp('change ide1-cd0'), 'same'),
    (hmp('change ide1-cd0 x y retain extra'), 'same'),
    (hmp('system_reset now'), 'same'),
    (hmp('eject -x ide1-cd0'), 'same'),
    (hmp('change ide1-cd0 -x file'), 'same'),
    (hmp('help stop'), 'same'),
    (hmp('help s'), 'same'),
    (hmp('help cont'), 'same'),
    (hmp('help quit'), 'same'),
    (hmp('help system_reset'), 'same'),
    (hmp('help system_powerdown'), 'same'),
    (hmp('help help'), 'same'),
    (hmp('help hostfwd_add'), 'same'),
    (hmp('help hostfwd_remove'), 'same'),
    (hmp('help info status'), 'same'),
    (hmp('help info name'), 'same'),
    (hmp('help info nope'), 'same'),
    (hmp('info status "unterminated'), 'same'),
    (hmp('eject "ide9'), 'same'),
    (hmp('change ide1-cd0 "x'), 'same'),
    (hmp('help "x'), 'same'),
    (hmp('"stop"'), 'same'),
    (hmp('stop a b c d e f g h i j k l'), 'same'),
    ('{"execute":"human-monitor-command","arguments":{"command-line":"info name",'
     '"cpu-index":"x"}}', 'same'),
    ('{"execute":"qmp_capabilities","arguments":{"enable":[1]}}', 'same'),
]


def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v[:1]]
    return type(v).__name__


def converse(path, name):
    c = qmplib.Client(path)
    out = [c.read_msg()]
    for text, _ in CONVERSATION:
        c.send_raw(text + '\n')
        out.append(c.read_msg(timeout=5))
    c.close()
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    minivmm, guest = sys.argv[1:]
    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        print('SKIP: qemu-system-x86_64 is not installed (Debian: qemu-system-x86)')
        return 77
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        print('SKIP: no usable /dev/kvm')
        return 77
    tmp = tempfile.mkdtemp(prefix='qmpcmp-')
    qsock, msock = os.path.join(tmp, 'qemu.sock'), os.path.join(tmp, 'minivmm.sock')
    procs = []
    try:
        q = subprocess.Popen([qemu, '-machine', 'pc', '-nodefaults', '-display', 'none',
                              '-S', '-name', 'cmp', '-qmp', 'unix:%s,server=on,wait=off' % qsock],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        procs.append(q)
        m = subprocess.Popen([minivmm, '--bios', guest, '--serial', 'none', '--name', 'cmp',
                              '--qmp', 'unix:%s,server=on,wait=off' % msock],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        procs.append(m)
        if not qmplib.wait_for_socket(qsock, q):
            print('SKIP: QEMU did not start its QMP socket')
            return 77
        if not qmplib.wait_for_socket(msock, m):
            print('FAIL: minivmm did not create its socket')
            return 1
        theirs = converse(qsock, 'qemu')
        ours = converse(msock, 'minivmm')
    finally:
        for p in procs:
            qmplib.stop(p)
        shutil.rmtree(tmp, ignore_errors=True)

    failures = 0
    g_q, g_m = theirs[0], ours[0]
    # QEMU offers "oob", we offer nothing: the list is compared as a list
    if (shape(g_q['QMP']['version']) != shape(g_m['QMP']['version']) or
            list(g_q['QMP']) != list(g_m['QMP']) or
            not isinstance(g_m['QMP']['capabilities'], list)):
        print('FAIL greeting: QEMU %s, minivmm %s' % (g_q, g_m))
        failures += 1
    if not g_m['QMP']['version']['package'].startswith('minivmm '):
        print('FAIL greeting package: %s' % g_m)
        failures += 1
    for (text, how), a, b in zip(CONVERSATION, theirs[1:], ours[1:]):
        ok = a == b if how == 'same' else shape(a) == shape(b)
        print('%s  > %s\n      QEMU    %s\n      minivmm %s' %
              ('ok  ' if ok else 'FAIL', text, json.dumps(a), json.dumps(b)))
        failures += not ok
    print('%d of %d messages differ' % (failures, len(CONVERSATION) + 1))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
