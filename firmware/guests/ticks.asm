; SPDX-License-Identifier: GPL-2.0-or-later
; Proves (with the host's stop/cont): the guest makes no progress while the
; VM is paused and continues after it.  Counts the in-kernel PIT's 100 Hz
; ticks (IRQ 0 through the PIC, real mode) in VAR_TICKS (dword at 0x400,
; where the in-process test tests/guest/test_run_control.c reads it from
; guest RAM) and prints "ticks: N" every 100 ticks; it never ends on its own.
	bits 16
	org 0
%include "lib.inc"

start:
	GUEST_INIT
	PRINTLN "ticks: counting PIT ticks at 100 Hz"
	mov al, 0xfe			; IRQ 0 only
	call pic_init
	call pit_start_ticks
	sti
	xor ebx, ebx			; the count last printed
.idle:	hlt
	mov eax, [VAR_TICKS]
	mov edx, eax
	sub edx, ebx
	cmp edx, 100
	jb .idle
	mov ebx, eax
	PRINT "ticks: "
	call print_hex32
	call serial_newline
	jmp .idle

	GUEST_FOOTER
