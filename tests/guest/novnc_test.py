#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""noVNC (Debian's novnc, /usr/share/novnc) in headless Chromium connects
straight to minivmm's VNC port (libvncserver's websockets, no websockify)
and shows the screen QMP's screendump shows, pixel for pixel; keys typed on
its canvas reach the guest.  One SeaBIOS boot of the keyecho boot sector
(firmware/guests/keyecho.asm, which echoes INT 16h's characters on COM1)
with --vnc (the VGA and the tablet by default):

- noVNC's vnc_lite.html is served from a local http.server on 127.0.0.1
  and opened through selenium and chromedriver with host/port/path= of the
  VNC port; its status line says "Connected" once the RFB handshake is done;
- the canvas, read with toDataURL('image/png'), is 720x400 (noVNC does not
  scale) and equal to the screendump of SeaBIOS's text screen;
- keys typed on the canvas (selenium's key events, which noVNC sends as
  QEMU extended key events) come back from the guest on COM1, "." ends it
  (status 33);
- chromium, chromedriver, the http server and minivmm are gone afterwards.

Usage: novnc_test.py MINIVMM KEYECHO_BIN.  Skipped (77) without /dev/kvm,
SeaBIOS, chromium, chromedriver, noVNC or python3-selenium.  Debian's
python3-selenium is for Debian's python3: run by another python3 (a pyenv
one) that lacks selenium, the test runs itself again with /usr/bin/python3.
"""
import base64
import functools
import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vnclib import (SKIP, check, check_debug_exit, read_png_rgb, read_ppm,  # noqa: E402
                    run_keyecho_test, wait_serial)

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
NOVNC = '/usr/share/novnc'
SYSTEM_PYTHON = '/usr/bin/python3'
TYPED = 'novnc 42'


def import_selenium():
    """selenium's webdriver module, or None; re-runs this test with
    Debian's python3 when that one has it and this one does not."""
    try:
        from selenium import webdriver
        return webdriver
    except ImportError:
        pass
    if (os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) !=
            os.path.realpath(SYSTEM_PYTHON) and not os.environ.get('NOVNC_TEST_REEXEC')):
        r = subprocess.run([SYSTEM_PYTHON, '-c', 'import selenium'], capture_output=True)
        if r.returncode == 0:
            print('NOTE: %s has no selenium; running again with %s (python3-selenium)'
                  % (sys.executable, SYSTEM_PYTHON), flush=True)
            os.environ['NOVNC_TEST_REEXEC'] = '1'
            os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def processes_with(text):
    """Pids of the processes whose command line contains `text`."""
    pids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if text.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            continue
    return pids


def canvas_png(driver, path):
    """noVNC's canvas as a PNG file; its size."""
    url = driver.execute_script(
        "const c = document.querySelector('#screen canvas');"
        "return c ? c.toDataURL('image/png') : null;")
    if not url or not url.startswith('data:image/png;base64,'):
        return None
    with open(path, 'wb') as f:
        f.write(base64.b64decode(url.split(',', 1)[1]))
    return read_png_rgb(path)


def browser_part(webdriver, tmp, port, shot, serial, proc, q):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains

    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(QuietHandler, directory=NOVNC))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    profile = os.path.join(tmp, 'chromium-profile')
    opts = Options()
    opts.binary_location = CHROMIUM
    for a in ['--headless=new', '--no-sandbox', '--disable-gpu', '--user-data-dir=' + profile,
              '--no-first-run', '--disable-extensions', '--disable-background-networking',
              '--window-size=1024,768', '--force-device-scale-factor=1']:
        opts.add_argument(a)
    # Its own session: whatever chromedriver starts can be found and ended.
    service = Service(CHROMEDRIVER, log_path=os.path.join(tmp, 'chromedriver.log'),
                      popen_kw={'start_new_session': True})
    driver = None
    try:
        t0 = time.monotonic()
        driver = webdriver.Chrome(service=service, options=opts)
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)
        url = ('http://127.0.0.1:%d/vnc_lite.html?host=127.0.0.1&port=%d&path='
               % (httpd.server_address[1], port))
        driver.get(url)
        status = ''
        end = time.monotonic() + 20
        while time.monotonic() < end:
            status = driver.execute_script("return document.getElementById('status').textContent")
            if status.startswith('Connected') or status.startswith('Disconnected') or \
                    status.startswith('Something went wrong'):
                break
            time.sleep(0.1)
        if not check(status.startswith('Connected'), 'noVNC connected straight to port %d: %r '
                     '(%.1f s from starting chromium)' % (port, status, time.monotonic() - t0)):
            return
        w, h, body = read_ppm(shot)
        # The first update may come a frame later: wait for the picture.
        got, diff = None, None
        end = time.monotonic() + 10
        while time.monotonic() < end:
            got = canvas_png(driver, os.path.join(tmp, 'canvas.png'))
            if got and got[:2] == (w, h):
                diff = sum(1 for i in range(0, len(body), 3) if got[2][i:i + 3] != body[i:i + 3])
                if diff == 0:
                    break
            time.sleep(0.2)
        check(got is not None and got[:2] == (w, h) and diff == 0,
              'noVNC\'s canvas equals the screendump (%s, %s pixels differ)'
              % ('%dx%d' % got[:2] if got else 'no canvas', diff))
        # What the browser shows (the page's screenshot, the canvas's box
        # cut out of it) is that picture too.
        page = os.path.join(tmp, 'page.png')
        driver.save_screenshot(page)
        if os.environ.get('NOVNC_TEST_SCREENSHOT'):  # for looking at it by hand
            shutil.copy(page, os.environ['NOVNC_TEST_SCREENSHOT'])
        box = driver.execute_script(
            "const r = document.querySelector('#screen canvas').getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height];")
        pw, ph, pbody = read_png_rgb(page)
        x0, y0 = int(box[0]), int(box[1])
        diff = None
        if box[2:] == [w, h] and x0 + w <= pw and y0 + h <= ph:
            diff = sum(1 for y in range(h) for x in range(w)
                       if pbody[((y0 + y) * pw + x0 + x) * 3:((y0 + y) * pw + x0 + x) * 3 + 3]
                       != body[(y * w + x) * 3:(y * w + x) * 3 + 3])
        check(diff == 0, 'the page\'s screenshot (%dx%d) shows the screendump at %r, '
              '%s pixels differ' % (pw, ph, box, diff))
        before = q.cmd('query-exit-stats').get('return', {}).get('vnc', {})
        driver.execute_script("document.querySelector('#screen canvas').focus()")
        # All at once, as noVNC sends what is typed fast: 16 events, more
        # than the i8042's 16 bytes of buffer (a real keyboard's); the
        # input router holds the rest back and feeds them in order as the
        # guest reads (vmm/input.h).  Before it did, the space's release
        # and the "2" were lost in 1 run of 5 under ASan.
        ActionChains(driver).send_keys(TYPED).perform()
        data = wait_serial(serial, 'KEYECHO-READY\r\n' + TYPED, proc, timeout=20)
        check(data is not None, 'keys typed on noVNC\'s canvas reached the guest: %r'
              % (data or open(serial, 'rb').read().decode(errors='replace'))[-60:])
        after = q.cmd('query-exit-stats').get('return', {}).get('vnc', {})
        ext = after.get('ext_keys', 0) - before.get('ext_keys', 0)
        check(ext >= 2 * len(TYPED), 'noVNC sent them as QEMU extended key events '
              '(%d events, a press and a release per key)' % ext)
        ActionChains(driver).send_keys('.').perform()
        data = wait_serial(serial, 'KEYECHO-END', proc, timeout=10)
        check(data is not None and ('KEYECHO-READY\r\n%s\r\nKEYECHO-END' % TYPED) in data,
              'the guest read %r and then "." from noVNC: %r' % (TYPED, (data or '')[-60:]))
    finally:
        if driver:
            try:
                driver.quit()
            except Exception as e:  # a dead browser must not hide the result
                print('NOTE: driver.quit: %s' % e)
        if service.process and service.process.poll() is None:
            try:
                os.killpg(service.process.pid, signal.SIGKILL)
            except OSError:
                pass
            service.process.wait(10)
        httpd.shutdown()
        httpd.server_close()
        # chromium's processes carry the profile directory on their command
        # line; none may outlive the test.
        left = []
        end = time.monotonic() + 5
        while time.monotonic() < end:
            left = processes_with(profile)
            if not left:
                break
            time.sleep(0.1)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        check(not left, 'chromium and chromedriver ended with the test (left: %r)' % left)


def test(vm, webdriver):
    if not check(wait_serial(vm.serial, 'KEYECHO-READY', vm.proc) is not None,
                 'the guest waits for keys'):
        return
    time.sleep(0.5)
    shot = os.path.join(vm.tmp, 'screen.ppm')
    r = vm.q.cmd('screendump', {'filename': shot})
    if not check(r == {'return': {}}, 'screendump: %r' % r):
        return
    browser_part(webdriver, vm.tmp, vm.port, shot, vm.serial, vm.proc, vm.q)
    check_debug_exit(vm.proc)


def main():
    webdriver = import_selenium()
    if webdriver is None:
        print('SKIP: no selenium for %s (Debian python3-selenium)' % sys.executable)
        return SKIP
    return run_keyecho_test('novnc_test.py', 80, [],
                            [(CHROMIUM, 'chromium'), (CHROMEDRIVER, 'chromium-driver'),
                             (os.path.join(NOVNC, 'vnc_lite.html'), 'novnc')],
                            lambda vm: test(vm, webdriver))


if __name__ == '__main__':
    sys.exit(main())
