# SPDX-License-Identifier: GPL-2.0-or-later
# L2: the Debian kernel booted by SeaBIOS from an ISOLINUX CD (El Torito,
# no emulation), on the PC platform with two vCPUs, an IDE disk (primary
# master, ext2 made by the host with a file "boots" holding 0) and the CD
# (secondary master). The guest boots twice:
#   boot 1: common checks, writes a random file and its sha256 to the disk,
#           reboot -f (the VMM resets the machine; SeaBIOS boots the CD again);
#   boot 2: common checks, the file reads back with the same sha256,
#           VERDICT: PASS, poweroff -f (ACPI S5 must end the VMM, status 0).
# Common checks: ata_piix bound to the PIIX3 IDE function 00:01.1 with sda
# and sr0 behind it, CPUs 0-1 online, no ACPI errors or warnings in the
# kernel log, the CD mounts as iso9660 and its files match /l2/cd.sha256
# (sums made on the host, shipped in the initramfs, not on the CD).
# The boot number comes from the disk, so a write that did not survive the
# reset shows up as "boot 1" twice on the console (the host test checks).
fail() {
	echo "VERDICT: FAIL $*"
	dmesg | tail -n 30
	poweroff -f
	sleep 30
	exit 0
}
say() { echo "isolinux-test: $*"; }

wait_blk() {
	i=0
	while [ ! -b "$1" ] && [ $i -lt 300 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	[ -b "$1" ] || fail "$1 did not appear within 30 s"
}

common_checks() {
	[ -e /sys/bus/pci/drivers/ata_piix/0000:00:01.1 ] ||
		fail "ata_piix is not bound to 0000:00:01.1: $(ls /sys/bus/pci/drivers/ata_piix 2>&1 | tr '\n' ' ')"
	wait_blk /dev/sda
	wait_blk /dev/sr0
	for d in sda sr0; do
		p=$(readlink -f /sys/block/$d)
		case "$p" in
		*/0000:00:01.1/ata*) say "$d at ${p#/sys/devices/}" ;;
		*) fail "$d is not behind the IDE function 00:01.1: $p" ;;
		esac
	done
	online=$(cat /sys/devices/system/cpu/online)
	ncpu=$(grep -c '^processor' /proc/cpuinfo)
	[ "$online" = "0-1" ] && [ "$ncpu" -eq 2 ] ||
		fail "CPUs online '$online', $ncpu in /proc/cpuinfo (want 0-1, 2)"
	say "CPUs online $online"
	acpi=$(dmesg | grep -E 'ACPI (BIOS )?(Error|Warning|Exception)')
	[ -z "$acpi" ] || fail "ACPI messages in the kernel log: $acpi"
	dmesg | grep -q 'ACPI: Interpreter enabled' ||
		fail "the ACPI interpreter is not enabled: $(dmesg | grep ACPI | head -5)"
	mkdir -p /cd
	say "mounting the CD"
	mount -t iso9660 -o ro /dev/sr0 /cd || fail "mount -t iso9660 /dev/sr0 failed"
	grep -q '^/dev/sr0 /cd iso9660 ' /proc/mounts ||
		fail "sr0 is not mounted as iso9660: $(grep /cd /proc/mounts)"
	(cd /cd && sha256sum -c /l2/cd.sha256) >/tmp/sums 2>&1 ||
		fail "CD checksums: $(grep -v ': OK$' /tmp/sums | head -5)"
	say "CD files checksum correctly ($(wc -l </l2/cd.sha256) files)"
	umount /cd
}

say "kernel $(uname -r), cmdline $(cat /proc/cmdline)"
# A stuck device (a lost interrupt, a command that never completes) should
# end in a verdict with the kernel's view of it, not in the host's timeout.
(
	sleep 120
	echo "VERDICT: FAIL watchdog: the test did not finish within 120 s"
	dmesg | tail -n 40
	poweroff -f
) &
common_checks
mkdir -p /disk
mount -t ext2 /dev/sda /disk || fail "mount -t ext2 /dev/sda failed"
boots=$(cat /disk/boots 2>/dev/null)
case "$boots" in
0)
	say "boot 1: writing a file to the IDE disk, then reboot -f"
	echo 1 >/disk/boots
	dd if=/dev/urandom of=/disk/payload bs=64k count=32 2>/dev/null ||
		fail "writing /disk/payload failed"
	(cd /disk && sha256sum payload >payload.sha256)
	say "payload $(cat /disk/payload.sha256)"
	umount /disk || fail "umount /disk failed"
	sync
	reboot -f
	sleep 30
	fail "still running 30 s after reboot -f"
	;;
1)
	say "boot 2: the file written before the reboot reads back"
	[ -f /disk/payload.sha256 ] || fail "payload.sha256 missing after the reboot"
	say "payload $(cat /disk/payload.sha256)"
	(cd /disk && sha256sum -c payload.sha256) >/tmp/psum 2>&1 ||
		fail "payload checksum after the reboot: $(cat /tmp/psum)"
	echo 2 >/disk/boots
	umount /disk || fail "umount /disk failed"
	sync
	echo "VERDICT: PASS (powering off)"
	poweroff -f
	sleep 30
	echo "VERDICT: FAIL still running 30 s after poweroff -f"
	;;
*)
	fail "unexpected boot counter on the disk: '$boots'"
	;;
esac
