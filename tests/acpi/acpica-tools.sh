#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# minivmm's ACPI tables through ACPICA's tools, for 1, 2 and 8 CPUs:
#  - iasl -d disassembles every table (DSDT with the SSDT for externals)
#    without errors or checksum complaints;
#  - acpiexec loads DSDT + SSDT and evaluates \_S5, the _PRT (every entry
#    checked against PIRQ[(slot + pin - 1) & 3], slot 1 INTA on LNKS), the
#    processors, and the link devices' _STA/_PRS/_CRS/_SRS/_DIS over its
#    simulated PCI config space.
# usage: acpica-tools.sh ACPI_DUMP
set -u

dumper=$1
for tool in iasl acpiexec; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found (Debian package acpica-tools)"
		exit 77
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

for cpus in 1 2 8; do
	d=$tmp/$cpus
	mkdir -p "$d"
	if ! "$dumper" "$d" "$cpus"; then
		fail "acpi_dump $cpus"
		continue
	fi

	# iasl cannot read a bare RSDP; the unit test checks it.
	for t in rsdt facp facs apic ssdt dsdt; do
		if [ $t = dsdt ]; then
			extra="-e $d/ssdt.dat"
		else
			extra=""
		fi
		# shellcheck disable=SC2086
		if ! (cd "$d" && iasl $extra -d $t.dat) >"$d/$t.log" 2>&1; then
			cat "$d/$t.log"
			fail "iasl -d $t.dat ($cpus CPUs)"
		elif grep -Eiq 'error|warning' "$d/$t.log" ||
			grep -v '32-bit table' "$d/$t.dsl" | grep -Eiq '\*\*\*\*|incorrect|invalid'; then
			cat "$d/$t.log"
			grep -v '32-bit table' "$d/$t.dsl" | grep -Ei '\*\*\*\*|incorrect|invalid'
			fail "iasl -d $t.dat reports a problem ($cpus CPUs)"
		fi
	done
	n=$(grep -c 'Processor (CP' "$d/ssdt.dsl")
	[ "$n" = "$cpus" ] || fail "SSDT has $n processors, expected $cpus"

	# acpiexec takes at most 1023 characters of batch commands: several runs.
	out=$d/acpiexec.log
	: >"$out"
	set -- "execute \\_S5; dump \\_SB.PCI0._PRT; execute \\_SB.PCI0._CRS; \
execute \\_SB.PCI0.ISA.KBD._CRS; execute \\_SB.PCI0.ISA.FDC0._STA; \
execute \\_SB.LNKS._STA; execute \\_SB.LNKS._CRS"
	for l in A B C D; do
		set -- "$@" "execute \\_SB.LNK$l._STA; execute \\_SB.LNK$l._PRS; \
execute \\_SB.LNK$l._SRS (89 06 00 09 01 0B 00 00 00 79 00); \
execute \\_SB.LNK$l._CRS; execute \\_SB.LNK$l._STA; \
execute \\_SB.LNK$l._DIS; execute \\_SB.LNK$l._STA"
	done
	procs=""
	i=0
	while [ $i -lt "$cpus" ]; do
		procs="$procs dump \\_PR.CP$(printf %02X $i);"
		i=$((i + 1))
	done
	set -- "$@" "$procs"
	for cmds in "$@"; do
		acpiexec -b "$cmds" "$d/dsdt.dat" "$d/ssdt.dat" >>"$out" 2>&1
		status=$?
		[ $status -eq 0 ] || fail "acpiexec -b '$cmds' exited with $status ($cpus CPUs)"
	done
	if grep -Eq 'ACPI Error|ACPI Exception|AE_[A-Z_]+|failed with status|exceeded' "$out"; then
		grep -E 'ACPI Error|ACPI Exception|AE_|failed|exceeded' "$out"
		fail "acpiexec reports errors ($cpus CPUs)"
	fi
	# Each link after _SRS(IRQ 11): _CRS 11 and _STA 0x0B; after _DIS: _STA 0x09.
	n=$(grep -c '89 06 00 09 01 0B 00 00 00 79 00' "$out")
	[ "$n" = 4 ] || fail "links: $n of 4 _CRS returned IRQ 11 after _SRS"
	sta=$(grep -A1 'LNK[A-D]._STA returned' "$out" | grep -o '\[Integer\] = [0-9A-F]*' |
		sed 's/.* = 0*//' | tr '\n' ' ')
	[ "$sta" = "B B 9 B B 9 B B 9 B B 9 " ] || fail "link _STA sequence: $sta"
	grep -A5 'Evaluating \\_S5' "$out" | grep -q 'Contains 4 Elements' ||
		fail "\\_S5 is not a 4-element package"
	n=$(grep -c 'Namespace Node - Pathname: \\_PR.CP' "$out")
	[ "$n" = "$cpus" ] || fail "acpiexec found $n processors, expected $cpus"
	# _PRT: 128 entries; entry k is slot k/4, pin k%4.
	got=$(grep -E '^    \[02\] .*Device: ' "$out" | sed 's/.*Device: \\_SB\.//' | tr '\n' ' ')
	want=$(awk 'BEGIN { split("LNKA LNKB LNKC LNKD", l, " ");
		for (s = 0; s < 32; s++) for (p = 0; p < 4; p++)
			printf "%s ", (s == 1 && p == 0) ? "LNKS" : l[((s + p + 3) % 4) + 1] }')
	[ "$got" = "$want" ] || fail "_PRT links differ from PIRQ[(slot + pin - 1) & 3]: $got"
	[ $fails -eq 0 ] && echo "ok: $cpus CPUs: iasl -d clean, acpiexec evaluated _S5, _PRT, links, processors"
done

[ $fails -eq 0 ] || exit 1
exit 0
