; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: the vCPU starts at the reset vector in real mode with the image's
; last 64 KiB at 0xf0000, COM1 transmits (LSR THRE polling), and a write of v
; to the debug-exit port 0xf4 ends minivmm with status (v << 1) | 1.
	bits 16
	org 0
%include "lib.inc"

start:
	GUEST_INIT
	PRINTLN "Greetings from the minivmm greet guest."
	mov al, 0x10
	out DEBUG_EXIT_PORT, al
	FAIL "debug-exit port did not end the VM"

	GUEST_FOOTER
