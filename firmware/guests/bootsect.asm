; SPDX-License-Identifier: GPL-2.0-or-later
; A boot program loaded by SeaBIOS, for the tier-1 platform tests: it
; reports what the BIOS services show through COM1 and ends minivmm through
; the debug-exit port.
;
; Disk build (default): a 2 KiB blob; the first 512 bytes are the boot
; sector (0x55aa at 510), which loads the other three sectors with INT 13h.
; Then: read LBA 4..35 and print their byte sum ("SUM xxxx"); write LBA 40
; and read it back ("WRITE ok"); list INT 15h E820 ("E820 base len type");
; read the RTC through INT 1Ah ("RTC hh:mm:ss" and "DATE cc yy mm dd").
;
; CD build (-DCDBOOT): an El Torito no-emulation boot image of 2 KiB,
; loaded whole; it reads the ISO's primary volume descriptor (LBA 16) with
; INT 13h and prints "PVD CD001" when the signature is there.
;
; Every line starts with "BOOT-" so the test can pick them out of SeaBIOS's
; own output; the last line is "BOOT-END".

bits 16
org 0x7c00

%define COM1		0x3f8
%define DEBUG_EXIT	0xf4
%define DATA_SEG	0x1000		; 0x10000: data read from the medium
%define WBUF_SEG	0x2000		; 0x20000: sector written
%define RBUF_SEG	0x3000		; 0x30000: sector read back
%define E820_BUF	0x0600

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	cld
	jmp 0:.cs_fixed			; CS:IP may be 07c0:0000
.cs_fixed:
	sti
	mov [boot_drive], dl
%ifndef CDBOOT
	; Load the rest of this program (LBA 1..3) right behind the sector.
	mov si, dap_code
	mov ah, 0x42
	int 0x13
	jc fail_load
%endif
	jmp main

%ifndef CDBOOT
fail_load:
	mov si, msg_loadfail
	call puts
	jmp finish
%endif

; ---- COM1 output ----
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

finish:
	mov si, msg_end
	call puts
	mov al, 0x10			; exit status (0x10 << 1) | 1 = 33
	out DEBUG_EXIT, al
.halt:
	hlt
	jmp .halt

boot_drive: db 0
msg_end: db "BOOT-END", 13, 10, 0
%ifndef CDBOOT
msg_loadfail: db "BOOT-LOAD failed", 13, 10, 0
dap_code:
	db 16, 0
	dw 3				; sectors
	dw 0x7e00, 0			; buffer offset, segment
	dq 1				; LBA

	times 510 - ($ - $$) db 0
	dw 0xaa55
%endif

; ---- everything below is in sectors 1..3 (disk) ----

hex4:					; print al's low nibble
	push ax
	and al, 0x0f
	add al, '0'
	cmp al, '9'
	jbe .ok
	add al, 'a' - '0' - 10
.ok:
	call putc
	pop ax
	ret

hex8:					; al
	push ax
	push ax
	shr al, 4
	call hex4
	pop ax
	call hex4
	pop ax
	ret

hex16:					; ax
	xchg al, ah
	call hex8
	xchg al, ah
	call hex8
	ret

hex32:					; eax
	ror eax, 16
	call hex16
	ror eax, 16
	call hex16
	ret

space:
	push ax
	mov al, ' '
	call putc
	pop ax
	ret

newline:
	push ax
	mov al, 13
	call putc
	mov al, 10
	call putc
	pop ax
	ret

main:
%ifdef CDBOOT
	mov si, msg_cd
	call puts
	mov si, dap_pvd
	mov dl, [boot_drive]
	mov ah, 0x42
	int 0x13
	jc .readfail
	push ds
	mov ax, DATA_SEG
	mov ds, ax
	cmp dword [1], 'CD00'		; bytes 1..4 of "CD001"
	jne .nosig
	pop ds
	mov si, msg_pvd_ok
	call puts
	jmp finish
.nosig:
	pop ds
	mov si, msg_pvd_bad
	call puts
	jmp finish
.readfail:
	mov si, msg_readfail
	call puts
	jmp finish
%else
	mov si, msg_disk
	call puts
	call checksum
	call write_test
	call e820
	call rtc
	jmp finish
%endif

%ifndef CDBOOT
; Sum of the bytes of LBA 4..35 (16 KiB), 16 bits.
checksum:
	mov si, dap_data
	mov dl, [boot_drive]
	mov ah, 0x42
	int 0x13
	jc .fail
	push ds
	mov ax, DATA_SEG
	mov ds, ax
	xor si, si
	xor bx, bx
	mov cx, 32 * 512
	xor ah, ah
.sum:
	lodsb
	add bx, ax
	loop .sum
	pop ds
	mov si, msg_sum
	call puts
	mov ax, bx
	call hex16
	call newline
	ret
.fail:
	mov si, msg_readfail
	call puts
	ret

; Write a pattern to LBA 40, read it back into another buffer, compare.
write_test:
	push es
	mov ax, WBUF_SEG
	mov es, ax
	xor di, di
	mov cx, 512
	mov al, 0x5a
.fill:
	stosb
	inc al
	loop .fill
	pop es
	mov si, dap_write
	mov dl, [boot_drive]
	mov ax, 0x4300
	int 0x13
	jc .fail
	mov si, dap_readback
	mov dl, [boot_drive]
	mov ah, 0x42
	int 0x13
	jc .fail
	push ds
	push es
	mov ax, WBUF_SEG
	mov ds, ax
	mov ax, RBUF_SEG
	mov es, ax
	xor si, si
	xor di, di
	mov cx, 512
	repe cmpsb
	pop es
	pop ds
	jne .fail
	mov si, msg_write_ok
	call puts
	ret
.fail:
	mov si, msg_write_bad
	call puts
	ret

; INT 15h E820, one line per entry.
e820:
	xor ebx, ebx
.next:
	mov eax, 0xe820
	mov edx, 0x534d4150		; "SMAP"
	mov ecx, 20
	mov di, E820_BUF
	int 0x15
	jc .done
	cmp eax, 0x534d4150
	jne .done
	mov si, msg_e820
	call puts
	mov eax, [E820_BUF + 4]
	call hex32
	mov eax, [E820_BUF]
	call hex32
	call space
	mov eax, [E820_BUF + 12]
	call hex32
	mov eax, [E820_BUF + 8]
	call hex32
	call space
	mov eax, [E820_BUF + 16]
	call hex8
	call newline
	test ebx, ebx
	jnz .next
.done:
	ret

; INT 1Ah: time and date (BCD, printed as hex digits).
rtc:
	mov ah, 0x02
	int 0x1a
	jc .done
	mov si, msg_rtc
	call puts
	mov al, ch
	call hex8
	mov al, ':'
	call putc
	mov al, cl
	call hex8
	mov al, ':'
	call putc
	mov al, dh
	call hex8
	call newline
	mov ah, 0x04
	int 0x1a
	jc .done
	mov si, msg_date
	call puts
	mov al, ch
	call hex8
	call space
	mov al, cl
	call hex8
	call space
	mov al, dh
	call hex8
	call space
	mov al, dl
	call hex8
	call newline
.done:
	ret

dap_data:
	db 16, 0
	dw 32
	dw 0, DATA_SEG
	dq 4
dap_write:
	db 16, 0
	dw 1
	dw 0, WBUF_SEG
	dq 40
dap_readback:
	db 16, 0
	dw 1
	dw 0, RBUF_SEG
	dq 40

msg_disk: db "BOOT-FROM disk", 13, 10, 0
msg_sum: db "BOOT-SUM ", 0
msg_write_ok: db "BOOT-WRITE ok", 13, 10, 0
msg_write_bad: db "BOOT-WRITE failed", 13, 10, 0
msg_e820: db "BOOT-E820 ", 0
msg_rtc: db "BOOT-RTC ", 0
msg_date: db "BOOT-DATE ", 0
%else
dap_pvd:
	db 16, 0
	dw 1
	dw 0, DATA_SEG
	dq 16
msg_cd: db "BOOT-FROM cd", 13, 10, 0
msg_pvd_ok: db "BOOT-PVD CD001", 13, 10, 0
msg_pvd_bad: db "BOOT-PVD missing", 13, 10, 0
%endif
msg_readfail: db "BOOT-READ failed", 13, 10, 0

	times 2048 - ($ - $$) db 0
