; SPDX-License-Identifier: GPL-2.0-or-later
; Exit benchmark guest (tools/bench-exits): three timed phases of
; BENCH_ITERATIONS iterations each, separated by single marker bytes written
; straight to COM1's THR ('A' .. 'D'), which the host timestamps:
;   A..B  port-I/O exits: writes to COM1's scratch register (0x3ff)
;   B..C  MMIO exits: byte writes to 0xd0000000, an unclaimed address in the
;         PCI hole (big real mode)
;   C..D  the same loop writing RAM: the loop's own cost without an exit
; then a debug-exit with 0x10 (status 33).
	bits 16
	org 0
%include "lib.inc"

%ifndef BENCH_ITERATIONS
%define BENCH_ITERATIONS 100000
%endif
%define MMIO_TARGET	0xd0000000
%define RAM_TARGET	0x00000800

%macro MARK 1
	mov dx, COM1
	mov al, %1
	out dx, al
%endmacro

start:
	GUEST_INIT
	call enter_big_real_mode

	MARK 'A'
	mov ecx, BENCH_ITERATIONS
	mov dx, COM1 + 7
.port:	out dx, al
	dec ecx
	jnz .port

	MARK 'B'
	mov ecx, BENCH_ITERATIONS
	mov esi, MMIO_TARGET
.mmio:	mov [fs:esi], al
	dec ecx
	jnz .mmio

	MARK 'C'
	mov ecx, BENCH_ITERATIONS
	mov esi, RAM_TARGET
.ram:	mov [fs:esi], al
	dec ecx
	jnz .ram

	MARK 'D'
	DEBUG_EXIT GUEST_PASS_CODE

	GUEST_FOOTER
