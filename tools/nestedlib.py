# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of the nested-KVM runner (tools/nested-run) and the L2 kit
(tools/l2kit): the Debian kernel cache, kernel-module dependency resolution,
a cpio (newc) writer that copies host files at their own paths, and the two
initramfs builders (L1 base image, L2 test image).

Only the Python standard library is used; the host needs dpkg/apt (to fetch
linux-image-amd64), busybox-static, and qemu-system-x86 for the runner.
"""

import fcntl
import hashlib
import lzma
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile

# Modules L1 needs: virtio-serial for the payload's stdin/stdout/stderr,
# KVM for AMD SVM (QEMU TCG's -cpu max emulates SVM, not VMX), tun for
# the network tests' taps (/dev/net/tun).
L1_MODULES = ['virtio_pci', 'virtio_console', 'irqbypass', 'ccp', 'kvm',
              'kvm_amd', 'tun']


class NestedError(Exception):
    """A failure of the runner itself (a tool failed, a damaged cache...)."""


class NestedUnavailable(NestedError):
    """The host lacks a capability the runner cannot make up for: a program
    that is not installed, or a Debian package that cannot be obtained
    (apt knows none, or the download failed).  Tests may skip on this one;
    every other NestedError is a failure."""


def default_cache_dir():
    env = os.environ.get('NESTED_CACHE')
    if env:
        return env
    root = os.environ.get('MESON_BUILD_ROOT')
    if root:
        return os.path.join(root, 'nested')
    return os.path.join('build', 'nested')


def need_program(name, package):
    path = shutil.which(name)
    if not path:
        raise NestedUnavailable('%s not found: install the Debian package %s'
                                % (name, package))
    return path


def _run(cmd, error=NestedError, **kw):
    """Run cmd; a failure raises error (NestedUnavailable where it means
    that a package cannot be obtained)."""
    try:
        return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, **kw)
    except FileNotFoundError:
        raise NestedUnavailable('%s not found' % cmd[0])
    except subprocess.CalledProcessError as e:
        raise error('%s failed (status %d): %s'
                    % (' '.join(cmd), e.returncode,
                       e.stderr.strip()[-2000:]))


class _Lock:
    """flock on a file so that parallel runs build the cache only once."""

    def __init__(self, path):
        self.path = path
        self.fd = -1

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


# ---------------------------------------------------------------- ELF bits

def _elf_sections(data):
    """Yield (name, bytes) for each section of an ELF64 little-endian file."""
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        raise NestedError('not an ELF64 little-endian file')
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
    if shoff == 0 or shnum == 0 or shoff + shnum * shentsize > len(data):
        raise NestedError('ELF file without a valid section table')

    def header(i):
        return struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize)

    strtab = header(shstrndx)
    strbase = strtab[4]
    for i in range(shnum):
        h = header(i)
        name_end = data.index(b'\0', strbase + h[0])
        name = data[strbase + h[0]:name_end].decode('ascii', 'replace')
        off, size = h[4], h[5]
        if h[1] == 8:  # SHT_NOBITS
            continue
        yield name, data[off:off + size]


def elf_is_static(path):
    """True when path is an ELF executable without a PT_INTERP header."""
    with open(path, 'rb') as f:
        data = f.read(64 * 1024)
    if data[:4] != b'\x7fELF' or data[4] != 2:
        return False
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 4 > len(data):
            return False
        if struct.unpack_from('<I', data, off)[0] == 3:  # PT_INTERP
            return False
    return True


# ----------------------------------------------------------- kernel cache

def _module_bytes(path):
    with open(path, 'rb') as f:
        data = f.read()
    if path.endswith('.xz'):
        return lzma.decompress(data)
    if path.endswith('.zst'):
        zstd = need_program('zstd', 'zstd')
        return subprocess.run([zstd, '-dc', path], check=True,
                              stdout=subprocess.PIPE).stdout
    if path.endswith('.gz'):
        import gzip
        return gzip.decompress(data)
    return data


def _modname(filename):
    base = os.path.basename(filename)
    base = re.sub(r'\.ko(\.(xz|zst|gz))?$', '', base)
    return base.replace('-', '_')


class Kernel:
    """An extracted Debian kernel package: vmlinuz plus its modules."""

    def __init__(self, root):
        self.root = root
        boots = [f for f in os.listdir(os.path.join(root, 'boot'))
                 if f.startswith('vmlinuz-')]
        if len(boots) != 1:
            raise NestedError('kernel cache %s is damaged' % root)
        self.release = boots[0][len('vmlinuz-'):]
        self.vmlinuz = os.path.join(root, 'boot', boots[0])
        self.moddir = os.path.join(root, 'lib', 'modules', self.release)
        self._index = None

    def _modules(self):
        if self._index is None:
            self._index = {}
            for dirpath, _, files in os.walk(os.path.join(self.moddir,
                                                          'kernel')):
                for f in files:
                    if re.search(r'\.ko(\.(xz|zst|gz))?$', f):
                        self._index[_modname(f)] = os.path.join(dirpath, f)
        return self._index

    def module_depends(self, data):
        for name, sec in _elf_sections(data):
            if name != '.modinfo':
                continue
            for item in sec.split(b'\0'):
                if item.startswith(b'depends='):
                    deps = item[len(b'depends='):].decode()
                    return [d.replace('-', '_') for d in deps.split(',') if d]
        return []

    def resolve_modules(self, names):
        """Return [(name, uncompressed bytes)] in load order (deps first)."""
        index = self._modules()
        order = []
        done = set()

        def visit(name, chain):
            name = name.replace('-', '_')
            if name in done:
                return
            if name in chain:
                raise NestedError('module dependency loop at %s' % name)
            path = index.get(name)
            if path is None:
                raise NestedError('kernel %s has no module %s (built in?)'
                                  % (self.release, name))
            data = _module_bytes(path)
            for dep in self.module_depends(data):
                visit(dep, chain | {name})
            done.add(name)
            order.append((name, data))

        for n in names:
            visit(n, frozenset())
        return order


def _kernel_package():
    """The concrete linux-image-*-amd64 package and its version."""
    need_program('apt-cache', 'apt')
    out = _run(['apt-cache', 'show', '--no-all-versions',
                'linux-image-amd64'], error=NestedUnavailable).stdout
    m = re.search(r'^Depends:.*?(linux-image-\S+-amd64)(?:\s*\(=\s*([^)\s]+)\))?',
                  out, re.M)
    if not m:
        raise NestedUnavailable('apt-cache knows no linux-image-amd64 '
                                '(run apt-get update)')
    pkg, version = m.group(1), m.group(2)
    if not version:
        out = _run(['apt-cache', 'show', '--no-all-versions', pkg],
                   error=NestedUnavailable).stdout
        v = re.search(r'^Version:\s*(\S+)', out, re.M)
        if not v:
            raise NestedUnavailable('apt-cache show %s: no version' % pkg)
        version = v.group(1)
    return pkg, version


def _download_deb(pkg, dest):
    """apt-get download pkg into dest; return the .deb path."""
    need_program('apt-get', 'apt')
    need_program('dpkg-deb', 'dpkg')
    os.makedirs(dest, exist_ok=True)
    # apt's sandbox user cannot write to arbitrary dirs: download as the
    # caller, which works as root (a warning) and as a normal user.
    _run(['apt-get', 'download', '-o', 'APT::Sandbox::User=root', pkg],
         error=NestedUnavailable, cwd=dest)
    debs = [f for f in os.listdir(dest) if f.startswith(pkg + '_')
            and f.endswith('.deb')]
    if not debs:
        raise NestedError('apt-get download %s left no .deb' % pkg)
    return os.path.join(dest, debs[0])


def get_kernel(cache, log=None):
    """Download and extract the kernel of linux-image-amd64 once per version.

    NESTED_KERNEL_DEB=/path/to/linux-image-*.deb skips apt (offline use)."""
    os.makedirs(cache, exist_ok=True)
    deb = os.environ.get('NESTED_KERNEL_DEB')
    if deb:
        key = os.path.basename(deb)[:-len('.deb')]
    else:
        pkg, version = _kernel_package()
        key = '%s_%s' % (pkg, version)
    key = re.sub(r'[^A-Za-z0-9._+-]', '_', key)
    root = os.path.join(cache, 'kernel-' + key)
    if os.path.isdir(root):
        return Kernel(root)
    with _Lock(os.path.join(cache, 'lock')):
        if os.path.isdir(root):
            return Kernel(root)
        tmp = tempfile.mkdtemp(prefix='.kernel-', dir=cache)
        try:
            if not deb:
                if log:
                    log('downloading %s %s' % (pkg, version))
                deb = _download_deb(pkg, os.path.join(tmp, 'deb'))
            tree = os.path.join(tmp, 'tree')
            _run(['dpkg-deb', '-x', deb, tree])
            Kernel(tree)  # validates
            os.rename(tree, root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return Kernel(root)


def get_busybox(cache, log=None):
    """A statically linked busybox: the host's (busybox-static) or one
    downloaded from the busybox-static package into the cache."""
    for cand in ('/usr/bin/busybox', '/bin/busybox'):
        if os.path.isfile(cand) and elf_is_static(cand):
            return cand
    path = os.path.join(cache, 'busybox-static', 'bin', 'busybox')
    if os.path.isfile(path):
        return path
    with _Lock(os.path.join(cache, 'lock')):
        if os.path.isfile(path):
            return path
        tmp = tempfile.mkdtemp(prefix='.busybox-', dir=cache)
        try:
            if log:
                log('downloading busybox-static')
            deb = _download_deb('busybox-static', tmp)
            _run(['dpkg-deb', '-x', deb, os.path.join(tmp, 'x')])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copy2(os.path.join(tmp, 'x', 'bin', 'busybox'), path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


# ------------------------------------------------------------------- cpio

class Cpio:
    """Writes a cpio "newc" archive, the format the kernel unpacks.

    Host files keep their absolute paths. Symlinks met on the way (the
    file itself or one of its directories, e.g. /lib -> usr/lib) become
    symlinks in the archive and their targets are added too, so a path
    that works on the host works unchanged in the guest."""

    def __init__(self, f):
        self.f = f
        self.names = set()
        self.ino = 1000

    def _entry(self, name, mode, data=b'', mtime=0):
        name = name.strip('/') or '.'
        if name in self.names:
            return
        self.names.add(name)
        nb = name.encode() + b'\0'
        self.ino += 1
        hdr = '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' % (
            self.ino, mode, 0, 0, 1, int(mtime) & 0xffffffff, len(data),
            0, 0, 0, 0, len(nb), 0)
        out = hdr.encode() + nb
        out += b'\0' * (-len(out) % 4)
        self.f.write(out)
        self.f.write(data)
        self.f.write(b'\0' * (-len(data) % 4))

    def dir(self, name, mode=0o755):
        parts = name.strip('/').split('/')
        for i in range(1, len(parts) + 1):
            self._entry('/'.join(parts[:i]), stat.S_IFDIR | mode)

    def data(self, name, data, mode=0o644):
        parent = os.path.dirname(name.strip('/'))
        if parent:
            self.dir(parent)
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name, major, minor, mode=0o600):
        parent = os.path.dirname(name.strip('/'))
        if parent:
            self.dir(parent)
        name = name.strip('/')
        if name in self.names:
            return
        self.names.add(name)
        nb = name.encode() + b'\0'
        self.ino += 1
        hdr = '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' % (
            self.ino, stat.S_IFCHR | mode, 0, 0, 1, 0, 0, 0, 0, major, minor,
            len(nb), 0)
        out = hdr.encode() + nb
        self.f.write(out + b'\0' * (-len(out) % 4))

    def symlink(self, name, target):
        parent = os.path.dirname(name.strip('/'))
        if parent:
            self.dir(parent)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def _host_dir_chain(self, path):
        """Create the directories of host path in the archive, following
        (and recording) symlinks; return the path without symlinks."""
        cur = '/'
        for comp in [c for c in path.split('/') if c]:
            nxt = os.path.join(cur, comp)
            if os.path.islink(nxt):
                target = os.readlink(nxt)
                self.symlink(nxt, target)
                cur = self._host_dir_chain(
                    os.path.normpath(os.path.join(cur, target)))
            else:
                st = os.stat(nxt)
                self._entry(nxt, stat.S_IFDIR | stat.S_IMODE(st.st_mode),
                            mtime=st.st_mtime)
                cur = nxt
        return cur

    def host_path(self, path, recursive=False, depth=0):
        """Copy host file/dir/symlink path to the same path in the archive."""
        if depth > 40:
            raise NestedError('too many symlinks at %s' % path)
        path = os.path.abspath(path)
        parent, base = os.path.split(path)
        real_parent = self._host_dir_chain(parent)
        real = os.path.join(real_parent, base)
        st = os.lstat(real)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(real)
            self.symlink(real, target)
            self.host_path(os.path.normpath(os.path.join(real_parent,
                                                         target)),
                           recursive, depth + 1)
        elif stat.S_ISDIR(st.st_mode):
            self._entry(real, stat.S_IFDIR | stat.S_IMODE(st.st_mode),
                        mtime=st.st_mtime)
            if recursive:
                for child in sorted(os.listdir(real)):
                    self.host_path(os.path.join(real, child), True, depth)
        elif stat.S_ISREG(st.st_mode):
            if real.strip('/') in self.names:
                return
            with open(real, 'rb') as f:
                data = f.read()
            self._entry(real, stat.S_IFREG | stat.S_IMODE(st.st_mode), data,
                        st.st_mtime)
        # devices, fifos and sockets are not copied

    def finish(self):
        self._entry('TRAILER!!!', 0)
        self.names.discard('TRAILER!!!')


# ---------------------------------------------------- shared libraries

def shared_libraries(path):
    """Absolute paths of the libraries (and loader) ldd lists for path;
    [] for static or non-ELF files."""
    try:
        with open(path, 'rb') as f:
            if f.read(4) != b'\x7fELF':
                return []
    except OSError:
        return []
    if elf_is_static(path):
        return []
    ldd = need_program('ldd', 'libc-bin')
    r = subprocess.run([ldd, path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return []
    libs = []
    for line in r.stdout.splitlines():
        if 'not found' in line:
            raise NestedError('%s: shared library missing on the host: %s'
                              % (path, line.strip()))
        m = re.search(r'=>\s*(/\S+)', line) or re.match(r'\s*(/\S+)', line)
        if m:
            libs.append(m.group(1))
    return libs


def script_interpreter(path):
    """The #! interpreter of a script, or None."""
    try:
        with open(path, 'rb') as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b'#!'):
        return None
    words = head[2:].split(b'\n')[0].split()
    return words[0].decode() if words else None


def add_program(cpio, path):
    """Add an executable with everything ldd lists (and a script's
    interpreter, recursively)."""
    cpio.host_path(path)
    for lib in shared_libraries(path):
        cpio.host_path(lib)
    interp = script_interpreter(path)
    if interp and os.path.exists(interp) and interp != path:
        add_program(cpio, interp)


# ------------------------------------------------------- L1 base image

L1_INIT = r'''#!/nested/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# L1 init of tools/nested-run: load KVM, run /nested/run/cmd.sh with its
# stdin/stdout/stderr on virtio-serial ports, then report the exit status
# after a per-run token on the stdout port and power off.
B=/nested/bin/busybox
$B mkdir -p /proc /sys /dev /tmp /run /root
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B ln -s /proc/self/fd /dev/fd
$B ln -s fd/0 /dev/stdin
$B ln -s fd/1 /dev/stdout
$B ln -s fd/2 /dev/stderr
# /tmp and /run stay on the (writable) rootfs: the per-run archive may
# carry files there, e.g. a build directory under /tmp.
$B --install -s /nested/bin
export PATH=/nested/bin
TOKEN=$(cat /nested/run/token 2>/dev/null)
log() { echo "nested-init: $*" >/dev/console; }
die() {
	log "ERROR: $*"
	[ -n "$OUT" ] && printf '%s error %s\n' "$TOKEN" "$*" >&4
	[ -n "$ERR" ] && printf '%s\n' "$TOKEN" >&5
	poweroff -f
	sleep 1000
}
for m in $(cat /nested/modules/order); do
	insmod /nested/modules/$m.ko || log "insmod $m failed"
done
IN= OUT= ERR=
i=0
while [ $i -lt 100 ]; do
	for d in /sys/class/virtio-ports/*; do
		[ -r "$d/name" ] || continue
		case "$(cat $d/name)" in
		nested.stdin) IN=/dev/${d##*/} ;;
		nested.stdout) OUT=/dev/${d##*/} ;;
		nested.stderr) ERR=/dev/${d##*/} ;;
		esac
	done
	[ -c "$IN" ] && [ -c "$OUT" ] && [ -c "$ERR" ] && break
	IN= OUT= ERR=
	i=$((i + 1))
	sleep 0.1
done
[ -n "$OUT" ] || die "virtio-serial ports did not appear"
exec 3<"$IN" 4>"$OUT" 5>"$ERR"
[ -n "$TOKEN" ] || die "no per-run archive (/nested/run)"
i=0
while [ ! -c /dev/kvm ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
[ -c /dev/kvm ] || die "/dev/kvm did not appear in L1 (kvm_amd failed: see --verbose)"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/nested/bin
export HOME=/root TERM=dumb
# The payload gets pipes, not the ports: a port can be open only once, and
# commands re-open /dev/stdout or /dev/stderr.
mkfifo /run/in /run/out /run/err
cat <&3 >/run/in 4>&- 5>&- &
inpid=$!
cat /run/out >&4 3<&- 5>&- &
outpid=$!
cat /run/err >&5 3<&- 4>&- &
errpid=$!
log "running payload"
# The FIFOs are opened in a child: an open blocks until the other end
# comes, and a SIGCHLD to this shell (the stdin copier ends as soon as an
# empty stdin is read) would interrupt it here (EINTR), so the payload
# never ran and the copiers waited for it forever.
( exec sh /nested/run/cmd.sh </run/in >/run/out 2>/run/err 3<&- 4>&- 5>&- )
st=$?
log "payload exit status $st"
wait $outpid $errpid
kill $inpid 2>/dev/null
printf '%s exit %d\n' "$TOKEN" $st >&4
printf '%s\n' "$TOKEN" >&5
poweroff -f
sleep 1000
'''


def build_l1_base(cache, log=None):
    """The cached L1 initramfs (busybox, modules, init); returns
    (vmlinuz path, initrd path). Keyed by the kernel package version."""
    kernel = get_kernel(cache, log)
    busybox = get_busybox(cache, log)
    # The key also covers this file, so a changed init rebuilds the image.
    with open(__file__, 'rb') as f:
        digest = hashlib.sha256(f.read() + busybox.encode()).hexdigest()[:12]
    out = os.path.join(os.path.dirname(kernel.root), 'l1-base-%s-%s.cpio'
                       % (os.path.basename(kernel.root), digest))
    if os.path.isfile(out):
        return kernel.vmlinuz, out
    with _Lock(os.path.join(cache, 'lock')):
        if os.path.isfile(out):
            return kernel.vmlinuz, out
        mods = kernel.resolve_modules(L1_MODULES)
        tmp = out + '.tmp'
        with open(tmp, 'wb') as f:
            c = Cpio(f)
            for d in ('dev', 'proc', 'sys', 'tmp', 'run', 'root'):
                c.dir(d)
            c.chardev('dev/console', 5, 1)
            with open(busybox, 'rb') as b:
                c.data('nested/bin/busybox', b.read(), 0o755)
            for name, data in mods:
                c.data('nested/modules/%s.ko' % name, data)
            c.data('nested/modules/order',
                   ''.join(n + '\n' for n, _ in mods).encode())
            c.data('init', L1_INIT.encode(), 0o755)
            c.finish()
        os.rename(tmp, out)
        # Drop base images of older versions of this file.
        for f in os.listdir(os.path.dirname(out)):
            if f.startswith('l1-base-') and f != os.path.basename(out):
                os.unlink(os.path.join(os.path.dirname(out), f))
    return kernel.vmlinuz, out


# ------------------------------------------------------------ L2 kit

L2_INIT = r'''#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# L2 init of tools/l2kit: mount the basics, load the chosen modules, run
# /test.sh (which prints "VERDICT: PASS" or "VERDICT: FAIL <reason>" on
# the console), then end the machine the way /l2/end says.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -s /proc/self/fd /dev/fd
ln -s fd/0 /dev/stdin
ln -s fd/1 /dev/stdout
ln -s fd/2 /dev/stderr
mount -t tmpfs tmpfs /tmp
# A module parameter on the kernel command line (virtio_pci.force_legacy=1)
# reaches a built-in driver only: for an insmod'ed module, pass each
# MODULE.PARAM=VALUE word of /proc/cmdline to its insmod, as modprobe does.
modparams() {
	_p=
	for _w in $(cat /proc/cmdline); do
		case "$_w" in
		*=*) ;;
		*) continue ;;
		esac
		_m=${_w%%.*}
		[ "$_m" != "$_w" ] && [ "${_m//-/_}" = "$1" ] || continue
		_p="$_p ${_w#*.}"
	done
	echo "$_p"
}
for m in $(cat /l2/modules/order); do
	insmod /l2/modules/$m.ko $(modparams $m) || echo "l2-init: insmod $m failed"
done
echo "l2-init: running /test.sh"
sh /test.sh
st=$?
[ $st -eq 0 ] || echo "VERDICT: FAIL test script exited with status $st"
case "$(cat /l2/end)" in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
debug-exit:*)
	v=$(cat /l2/end); v=${v#debug-exit:}
	printf "\\$(printf %o $v)" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null ;;
esac
# "none" or the end did not work: stay alive, do not panic the kernel.
while :; do sleep 1000; done
'''

L2_ENDS = ('reboot', 'poweroff', 'none')


def build_l2_initrd(cache, script, out, modules=(), files=(), end='reboot',
                    log=None, programs=()):
    """Build an L2 initramfs at out; return (kernel path, out).

    script: path of a busybox-sh script run as /test.sh.
    modules: kernel module names (dependencies added from .modinfo).
    files: (host path, guest path) pairs copied in.
    programs: host executables copied in at their own paths with every
         library ldd lists (e.g. /usr/bin/fio from Debian's fio); the L2
         script runs them by their absolute path.
    end: what init does after the script: reboot (reboot -f), poweroff,
         debug-exit:N (writes N to port 0xf4), none."""
    if end not in L2_ENDS and not re.match(r'^debug-exit:\d+$', end):
        raise NestedError('bad end action %r' % end)
    kernel = get_kernel(cache, log)
    busybox = get_busybox(cache, log)
    mods = kernel.resolve_modules(list(modules))
    with open(script, 'rb') as f:
        script_data = f.read()
    tmp = out + '.tmp'
    with open(tmp, 'wb') as f:
        c = Cpio(f)
        for d in ('dev', 'proc', 'sys', 'tmp', 'root'):
            c.dir(d)
        c.chardev('dev/console', 5, 1)
        with open(busybox, 'rb') as b:
            c.data('bin/busybox', b.read(), 0o755)
        c.symlink('bin/sh', 'busybox')
        for name, data in mods:
            c.data('l2/modules/%s.ko' % name, data)
        c.data('l2/modules/order',
               ''.join(n + '\n' for n, _ in mods).encode())
        c.data('l2/end', (end + '\n').encode())
        for src, dst in files:
            with open(src, 'rb') as s:
                c.data(dst, s.read(), stat.S_IMODE(os.stat(src).st_mode))
        for prog in programs:
            if not os.path.isfile(prog) or not os.access(prog, os.X_OK):
                raise NestedError('%s: not an executable file' % prog)
            add_program(c, prog)
        c.data('test.sh', script_data, 0o755)
        c.data('init', L2_INIT.encode(), 0o755)
        c.finish()
    os.rename(tmp, out)
    return kernel.vmlinuz, out
