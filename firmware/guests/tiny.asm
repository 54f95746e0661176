; SPDX-License-Identifier: GPL-2.0-or-later
; Start-up benchmark guest (tools/bench-exits): its third instruction sends
; one byte to COM1, so the host sees the guest's first exit as the first byte
; on the VMM's stdout; then it debug-exits with 0x10 (status 33).
	bits 16
	org 0
%include "lib.inc"

start:
	mov dx, COM1
	mov al, '!'
	out dx, al
	DEBUG_EXIT GUEST_PASS_CODE

	GUEST_FOOTER
