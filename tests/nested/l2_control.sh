# SPDX-License-Identifier: GPL-2.0-or-later
# L2 side of the control-socket tests (l1_control.sh drives minivmm in L1).
# The kernel command line picks the part: control=button waits for the ACPI
# power button (button + evdev + busybox acpid, as a distribution does);
# control=cd first mounts the CD (the kernel locks the tray while it is
# mounted), reports, waits for L1 to try an eject, unmounts, waits for L1 to
# change the disc, reads the new disc after the media change and checks its
# contents, then waits for the power button too. L1 writes one line on the
# console after each step; this script reads it.
fail() { echo "VERDICT: FAIL $*"; exit 0; }
stty -echo 2>/dev/null
mode=$(sed -n 's/.*control=\([a-z]*\).*/\1/p' /proc/cmdline)

grep -q 'Power Button' /proc/bus/input/devices || fail "no ACPI power button input device"
ls /dev/input/event* >/dev/null 2>&1 || fail "no /dev/input/event* (evdev)"
mkdir -p /etc/acpi/PWRF /mnt/cd
cat >/etc/acpi/PWRF/00000080 <<'ACT'
#!/bin/sh
echo "control-test: power button pressed, powering off" >/dev/console
poweroff -f
ACT
chmod +x /etc/acpi/PWRF/00000080
acpid -c /etc/acpi -l /tmp/acpid.log || fail "acpid did not start"

step() { # tell L1, wait for its line
	echo "STEP $1"
	read -t 120 -r line || fail "no answer from L1 after step $1"
	echo "L1 SAYS: $line"
}

if [ "$mode" = cd ]; then
	i=0
	while [ ! -b /dev/sr0 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	[ -b /dev/sr0 ] || fail "no /dev/sr0"
	mount -t iso9660 -o ro /dev/sr0 /mnt/cd || fail "cannot mount the first disc"
	grep -q '^disc 1$' /mnt/cd/disc.txt || fail "first disc: $(cat /mnt/cd/disc.txt)"
	echo "control-test: first disc mounted"
	step cd1-mounted	# L1 tries eject without force: refused
	umount /mnt/cd || fail "umount"
	step cd1-unmounted	# L1 changes the disc
	ok=
	i=0
	while [ $i -lt 40 ]; do
		if mount -t iso9660 -o ro /dev/sr0 /mnt/cd 2>/dev/null; then
			if grep -q '^disc 2$' /mnt/cd/disc.txt; then ok=1; break; fi
			umount /mnt/cd
		fi
		sleep 0.5
		i=$((i + 1))
	done
	[ -n "$ok" ] || fail "the second disc was not seen after the change"
	want=$(cat /l2/disc2.sha256)
	got=$(sha256sum /mnt/cd/data.bin | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "second disc data.bin: sha256 $got, expected $want"
	echo "control-test: second disc read, sha256 matches"
	umount /mnt/cd
fi
echo "VERDICT: PASS"
echo "POWER-READY"
sleep 120
echo "VERDICT: FAIL no power button press within 120 s"
