# SPDX-License-Identifier: GPL-2.0-or-later
# L2, direct Linux boot with --cpus 2: the ACPI tables minivmm places in
# the BIOS area give Linux both CPUs, the IOAPIC, the SCI and the PCI
# devices; init then powers off (S5), which must end minivmm with status 0.
fail() { echo "VERDICT: FAIL $*"; exit 0; }
online=$(cat /sys/devices/system/cpu/online)
[ "$online" = "0-1" ] || fail "CPUs online: $online, expected 0-1"
for t in FACP DSDT APIC SSDT FACS; do
	[ -e /sys/firmware/acpi/tables/$t ] || fail "no ACPI table $t"
done
grep -q 'IO-APIC.*timer' /proc/interrupts || fail "the timer is not on the IOAPIC"
grep -q ' 9: .*acpi' /proc/interrupts || fail "no ACPI SCI on IRQ 9"
for d in 0000:00:00.0 0000:00:01.0 0000:00:01.1 0000:00:01.3; do
	[ -e /sys/bus/pci/devices/$d ] || fail "PCI device $d missing"
done
[ -e /sys/bus/pci/drivers/ata_piix/0000:00:01.1 ] || fail "ata_piix did not bind"
errs=$(dmesg | grep -E 'ACPI (BIOS )?(Error|Warning)|ACPI Exception')
[ -z "$errs" ] || fail "kernel log: $errs"
dmesg | grep -q 'ACPI: PM: (supports S0 S5)' || fail "ACPI does not offer S5"
echo "cpus $online, SCI $(grep ' 9:' /proc/interrupts | tr -s ' ')"
echo "VERDICT: PASS"
