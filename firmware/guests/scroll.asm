; SPDX-License-Identifier: GPL-2.0-or-later
; The display benchmark's scrolling text screen (tools/bench-vnc): a boot
; program for SeaBIOS + SeaVGABIOS that prints numbered 75-character lines
; through INT 10h teletype in mode 3 for ever, so that once the first 25
; are out every line scrolls the whole screen (SeaVGABIOS moves the cells).
; "BENCH-READY" goes to COM1 after the first 25 lines, then one '.' per
; line, so the benchmark can count the lines a second.

%define BOOTPROG_SECTORS 8
%include "bootprog.inc"

main:
	mov ax, 0x0003
	int 0x10
	xor ebp, ebp			; line number
.line:
	mov si, line_head
	call tty_puts
	mov eax, ebp
	mov cx, 8
.digit:					; the number in hex, 8 digits
	rol eax, 4
	push eax
	and al, 0x0f
	add al, '0'
	cmp al, '9'
	jbe .out
	add al, 'a' - '9' - 1
.out:	call tty_putc
	pop eax
	loop .digit
	mov si, line_tail
	call tty_puts
	inc ebp
	cmp ebp, 25
	jb .line
	ja .count
	PRINTLN "BENCH-READY"
.count:
	mov al, '.'
	call serial_putc
	jmp .line

tty_putc:				; al
	push ax
	push bx
	mov ah, 0x0e
	mov bx, 0x0007
	int 0x10
	pop bx
	pop ax
	ret

tty_puts:				; cs:si
	push ax
	push si
.next:	cs lodsb
	test al, al
	jz .done
	call tty_putc
	jmp .next
.done:	pop si
	pop ax
	ret

line_head: db "scrolling line ", 0
; 79 characters in all, so that no line wraps
line_tail: db " of the minivmm display benchmark: a quick brown fox", 13, 10, 0

BOOTPROG_FOOTER
