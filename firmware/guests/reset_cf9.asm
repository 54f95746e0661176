; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: a write of 0x06 (bit 2 = reset) to the reset control register 0xcf9
; restarts the machine at the reset vector with RAM kept and devices reset
; (COM1 IER back to 0); with --no-reboot minivmm exits with status 0 instead.
	bits 16
	org 0
%include "lib.inc"

%macro RESET_BY_CF9 0
	mov dx, 0xcf9
	mov al, 0x06			; full reset (bit 1) + reset now (bit 2)
	out dx, al
%endmacro

	RESET_GUEST "reset_cf9", RESET_BY_CF9

	GUEST_FOOTER
