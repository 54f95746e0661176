; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: a 0 -> 1 change of bit 0 of port 0x92 (PS/2 system control port A,
; "fast reset") restarts the machine at the reset vector with RAM kept and
; devices reset; with --no-reboot minivmm exits with status 0 instead.
	bits 16
	org 0
%include "lib.inc"

%macro RESET_BY_PORT92 0
	in al, 0x92
	and al, 0xfe			; keep A20 (bit 1) as it is
	out 0x92, al
	or al, 0x01
	out 0x92, al
%endmacro

	RESET_GUEST "reset_port92", RESET_BY_PORT92

	GUEST_FOOTER
