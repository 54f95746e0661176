; SPDX-License-Identifier: GPL-2.0-or-later
; A boot sector for tests/guest/vga_qemu_compare.py: SeaBIOS loads it, it
; sets the VGA BIOS mode MODE (nasm -DMODE=0x04), draws a small known
; picture through INT 10h and video memory, prints "VGA-MODEmm ok" on COM1
; and halts with the picture on the screen, for a screendump under minivmm
; and under QEMU.
;   text modes (0-3, 7):   three cells at 0xb8000 with their own attributes
;   graphics modes:        pixels of colours 1-15 through INT 10h AH=0Ch at
;                          (3c, c) and (3c, 2c + 1) (each mode keeps the
;                          bits of the colour it has), and 0xff bytes at the
;                          start of the first two scan lines' memory
bits 16
org 0x7c00

%define COM1 0x3f8
%ifndef MODE
%define MODE 0x04
%endif

start:
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7c00
	mov ax, MODE
	int 0x10
%if MODE <= 3 || MODE == 7
	mov ax, (MODE == 7) ? 0xb000 : 0xb800
	mov es, ax
	xor di, di
	mov ax, 0x1e41			; 'A' yellow on blue
	stosw
	mov ax, 0x4f42			; 'B' white on red
	stosw
	mov ax, 0x70c4			; a line character, black on grey
	stosw
%else
	mov bl, 1
.pixel:
	movzx cx, bl
	imul cx, cx, 3
	movzx dx, bl
	mov al, bl
	mov ah, 0x0c
	push bx
	mov bh, 0
	int 0x10
	add dx, dx
	inc dx
	int 0x10
	pop bx
	inc bl
	cmp bl, 16
	jb .pixel
	mov ax, (MODE >= 0x0d) ? 0xa000 : 0xb800
	mov es, ax
	mov byte [es:0], 0xff
%if MODE < 0x0d
	mov byte [es:0x2000 + 1], 0xff	; scan line 1: the CGA odd bank
%else
	mov byte [es:(MODE == 0x0d) ? 40 + 1 : 80 + 1], 0xff
%endif
%endif
	mov si, msg
.next:
	lodsb
	test al, al
	jz .halt
	mov ah, al
	mov dx, COM1 + 5
.wait:
	in al, dx
	test al, 0x20
	jz .wait
	mov al, ah
	mov dx, COM1
	out dx, al
	jmp .next
.halt:
	cli
	hlt
	jmp .halt

%define HEX(n) ((n) < 10 ? '0' + (n) : 'a' + (n) - 10)
msg:	db "VGA-MODE", HEX(MODE >> 4), HEX(MODE & 15), " ok", 13, 10, 0

	times 510 - ($ - $$) db 0
	dw 0xaa55
