# SPDX-License-Identifier: GPL-2.0-or-later
# L2: the guest's clock advances and timer interrupts arrive.
fail() { echo "VERDICT: FAIL $*"; exit 0; }
ticks() {
	# local APIC timer plus IRQ 0, summed over all CPUs
	awk '$1 == "LOC:" || $1 == "0:" {
		for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i
	} END { print s + 0 }' /proc/interrupts
}
read up0 idle0 </proc/uptime
t0=$(ticks)
sleep 1
read up1 idle1 </proc/uptime
t1=$(ticks)
echo "uptime $up0 -> $up1, timer interrupts $t0 -> $t1"
awk -v a="$up0" -v b="$up1" 'BEGIN { d = b - a; exit !(d >= 0.9 && d < 30) }' ||
	fail "uptime advanced from $up0 to $up1 over sleep 1"
[ "$t1" -gt "$t0" ] || fail "no timer interrupt during sleep 1 ($t0 -> $t1)"
echo "VERDICT: PASS"
