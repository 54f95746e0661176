; SPDX-License-Identifier: GPL-2.0-or-later
; A hostile boot sector for the format-probing test (CVE-2008-2004 class):
; it tries to turn its own raw disk into a qcow2 image by writing a qcow2
; header over sector 0 through INT 13h (extended write, AH=43h), then
; prints "BOOT-GUARD refused" when the write failed, or "BOOT-GUARD written"
; when it succeeded, and ends minivmm through the debug-exit port.  Without
; format= minivmm must refuse the write; with format=raw it must let it pass.

bits 16
org 0x7c00

%define COM1		0x3f8
%define DEBUG_EXIT	0xf4
%define BUF		0x0600		; the forged sector

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	cld
	jmp 0:.cs_fixed
.cs_fixed:
	sti
	mov [drive], dl
	; The forged sector: this boot sector with a qcow2 v3 header on top
	; (magic, version; a backing-file offset would follow in an attack).
	mov si, 0x7c00
	mov di, BUF
	mov cx, 256
	rep movsw
	mov dword [BUF], 0xfb494651	; "QFI\xfb"
	mov dword [BUF + 4], 0x03000000	; version 3, big-endian
	mov si, dap
	mov dl, [drive]
	mov ax, 0x4300			; extended write, no verify
	int 0x13
	mov si, msg_written
	jnc .report
	mov si, msg_refused
.report:
	call puts
	mov si, msg_end
	call puts
	mov al, 0x10			; exit status (0x10 << 1) | 1 = 33
	out DEBUG_EXIT, al
.halt:
	hlt
	jmp .halt

putc:					; al = character
	push dx
	push ax
	mov dx, COM1 + 5
.wait:
	in al, dx
	test al, 0x20
	jz .wait
	pop ax
	mov dx, COM1
	out dx, al
	pop dx
	ret

puts:					; ds:si = NUL-terminated string
	push ax
.next:
	lodsb
	test al, al
	jz .done
	call putc
	jmp .next
.done:
	pop ax
	ret

drive: db 0
dap:
	db 16, 0
	dw 1				; sectors
	dw BUF, 0			; buffer offset, segment
	dq 0				; LBA 0
msg_refused: db "BOOT-GUARD refused", 13, 10, 0
msg_written: db "BOOT-GUARD written", 13, 10, 0
msg_end: db "BOOT-END", 13, 10, 0

	times 510 - ($ - $$) db 0
	dw 0xaa55
