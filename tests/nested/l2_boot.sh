# SPDX-License-Identifier: GPL-2.0-or-later
# L2: the kernel reached its init; check the basics a booted guest has.
fail() { echo "VERDICT: FAIL $*"; exit 0; }
grep -q '^processor' /proc/cpuinfo || fail "no CPU in /proc/cpuinfo"
grep -q ttyS0 /proc/consoles || fail "console is not ttyS0"
grep -q 'uart:16550A port:000003F8 irq:4' /proc/tty/driver/serial ||
	fail "COM1 is not a 16550A at 0x3f8 IRQ 4: $(head -2 /proc/tty/driver/serial)"
mem=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
[ "$mem" -gt 100000 ] || fail "MemTotal only $mem kB"
echo "kernel $(uname -r), MemTotal $mem kB"
echo "VERDICT: PASS"
