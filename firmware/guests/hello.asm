; SPDX-License-Identifier: GPL-2.0-or-later
; The demo guest: a 64 KiB firmware image that greets on COM1 and asks the
; chipset for a reset through port 0xcf9, which ends minivmm with status 0
; when it runs with --no-reboot.
	bits 16
	org 0

%define COM1 0x3f8

start:
	cli
	mov ax, cs
	mov ds, ax
	mov si, greeting
.next:	lodsb
	test al, al
	jz .done
	mov bl, al
	mov dx, COM1 + 5		; line status: wait for an empty transmitter
.wait:	in al, dx
	test al, 0x20
	jz .wait
	mov al, bl
	mov dx, COM1
	out dx, al
	jmp .next
.done:	mov dx, 0xcf9			; reset control: system reset
	mov al, 0x06
	out dx, al
.halt:	hlt
	jmp .halt

greeting: db "Hello from the minivmm demo guest.", 13, 10, 0

	times 0xfff0 - ($ - $$) db 0xff
reset_vector:				; 0xffff0: executed first after power-on
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
