; SPDX-License-Identifier: GPL-2.0-or-later
; The display benchmark's still screen (tools/bench-vnc): a boot program
; for SeaBIOS + SeaVGABIOS that fills the 80x25 text screen with characters
; in seven colours, hides the cursor (a blinking cursor is a change every
; few hundred ms), prints "BENCH-READY" on COM1 and halts with interrupts
; off, so nothing on the screen changes again.

%define BOOTPROG_SECTORS 8
%include "bootprog.inc"

main:
	mov ax, 0x0003			; 80x25 text
	int 0x10
	mov ah, 0x01			; cursor off: start line with bit 5
	mov cx, 0x2000
	int 0x10
	push es
	mov ax, 0xb800
	mov es, ax
	xor di, di
	xor bx, bx			; cell index
.cell:
	mov ax, bx
	xor dx, dx
	mov cx, 95
	div cx				; dx = index mod 95
	mov al, dl
	add al, ' '
	mov cx, bx
	shr cx, 4			; a colour every 16 cells
	and cl, 7
	jnz .colour
	inc cl
.colour:
	mov ah, cl			; 1..7 on black
	stosw
	inc bx
	cmp bx, 80 * 25
	jb .cell
	pop es
	PRINTLN "BENCH-READY"
.halt:
	cli
	hlt
	jmp .halt

BOOTPROG_FOOTER
