; SPDX-License-Identifier: GPL-2.0-or-later
; A boot sector for the VNC tier-1 test (tests/guest/vnc_test.py): it
; prints "KEYECHO-READY" on COM1, then echoes every character INT 16h
; gives (the keys a VNC client typed, through the i8042 and SeaBIOS's
; keyboard buffer) until it reads '.', then prints "KEYECHO-END" and ends
; minivmm through the debug-exit port (status 33).

bits 16
org 0x7c00

%define COM1		0x3f8
%define DEBUG_EXIT	0xf4

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7c00
	cld
	jmp 0:.cs_fixed
.cs_fixed:
	sti
	mov si, msg_ready
	call puts
.key:
	xor ah, ah			; INT 16h 00h: wait for a key
	int 0x16
	cmp al, '.'
	je .end
	test al, al			; no ASCII (an arrow, F1...): skip
	jz .key
	call putc
	jmp .key
.end:
	mov si, msg_end
	call puts
	mov al, 0x10
	out DEBUG_EXIT, al
	cli
	hlt

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

msg_ready	db 13, 10, "KEYECHO-READY", 13, 10, 0
msg_end		db 13, 10, "KEYECHO-END", 13, 10, 0

	times 510 - ($ - $$) db 0
	dw 0xaa55
