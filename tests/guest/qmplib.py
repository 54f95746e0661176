# SPDX-License-Identifier: GPL-2.0-or-later
"""A small QMP client for the control-socket tests: raw bytes in, one JSON
message per line out, events kept apart from replies."""
import json
import os
import select
import signal
import socket
import subprocess
import time


class Client:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b''
        self.events = []
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj) + '\n')

    def read_line(self, timeout=None):
        """One line (without its CR LF) or None at EOF or after timeout."""
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b'\n' not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not d:
                return None
            self.buf += d
        line, self.buf = self.buf.split(b'\n', 1)
        return line.rstrip(b'\r').decode()

    def read_msg(self, timeout=None, events=False):
        """The next reply (events are set aside unless events=True)."""
        while True:
            line = self.read_line(timeout)
            if line is None:
                return None
            msg = json.loads(line)
            if 'event' in msg and not events:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, name, args=None, **kw):
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        req.update(kw)
        self.send(req)
        return self.read_msg()

    def greet(self):
        g = self.read_msg()
        assert g and 'QMP' in g, g
        r = self.cmd('qmp_capabilities')
        assert r == {'return': {}}, r
        return g


def wait_for_socket(path, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def stop(proc, timeout=10, sig=signal.SIGINT):
    """Ends minivmm at once: SIGINT (SIGTERM presses the power button and
    waits --shutdown-timeout for the guest, except while --qmp wait=on
    holds the VM)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
