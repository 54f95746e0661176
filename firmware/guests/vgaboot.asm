; SPDX-License-Identifier: GPL-2.0-or-later
; A boot program for the tier-1 VGA test (tests/guest/vga_test.py): SeaBIOS
; and SeaVGABIOS on minivmm --vga std load it from an IDE disk.  It drives
; the VGA through the VGA BIOS the way DOS programs and boot loaders do and
; checks what lands in video memory, reporting on COM1:
;   VGA-MODE xx          INT 10h AH=0Fh after POST (SeaVGABIOS sets mode 3)
;   VGA-TEXT ok          mode 3, teletype output, the cells at 0xb8000 and
;                        the cursor position (INT 10h AH=03h)
;   VGA-13H ok           mode 0x13: a pixel through INT 10h AH=0Ch found at
;                        0xa0000 + 320y + x, a byte written there read back
;                        with AH=0Dh
;   VGA-12H ok           mode 0x12 (planar): a pixel of colour 0x0b read
;                        back plane by plane through GR4 (read mode 0)
;   VGA-VBE vvvv         INT 10h AX=4F00: "VESA", the version
;   VGA-VBE102 ok        4F02 mode 0x102 (800x600, 16 colours, planar, as
;                        Windows' vga.sys sets it): dispi XRES 800, BPP 4,
;                        a pixel written and read back through INT 10h
;                        (left out with -DSKIP_VBE102: QEMU 7.2 fails it, see
;                        tests/guest/vga_qemu_compare.py)
;   VGA-DISPI ok         the Bochs dispi ID and VIDEO_MEMORY_64K
;   VGA-VBEMODE mmmm bb lllllll  the 640x480 mode with the most bits per
;                        pixel in the mode list (4F01: bpp, LFB address)
;   VGA-LFB ok           4F02 with the LFB bit, a pattern written through the
;                        LFB (unreal mode) read back through it and through
;                        the 64 KiB bank window at 0xa0000, and the reverse
;   VGA-END              then debug-exit 0x10 (exit status 33)
; A failed step prints "VGA-FAIL <step>" and ends at once.  Built with
; -DSTOP_TEXT, -DSTOP_13H, -DSTOP_12H, -DSTOP_VBE102 or -DSTOP_LFB it ends after that step,
; leaving its picture on the screen (for looking at it by hand).

bits 16
org 0x7c00

%define COM1		0x3f8
%define DEBUG_EXIT	0xf4
%define INFO_SEG	0x1000		; VBE info block at 0x10000, mode info at +0x200
%define SECTORS		7

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
	mov si, dap_code
	mov ah, 0x42
	int 0x13
	jc .loadfail
	jmp main
.loadfail:
	mov si, msg_loadfail
	call puts
	jmp finish

putc:					; al
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

puts:					; ds:si
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
	mov al, 0x10			; exit status (0x10 << 1) | 1 = 33
	out DEBUG_EXIT, al
.halt:
	hlt
	jmp .halt

msg_loadfail: db "VGA-FAIL load", 13, 10, 0
dap_code:
	db 16, 0
	dw SECTORS
	dw 0x7e00, 0
	dq 1

	times 510 - ($ - $$) db 0
	dw 0xaa55

; ---- sectors 1..7 ----

hex4:
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

hex8:
	push ax
	push ax
	shr al, 4
	call hex4
	pop ax
	call hex4
	pop ax
	ret

hex16:
	xchg al, ah
	call hex8
	xchg al, ah
	call hex8
	ret

hex32:
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

fail:					; si = step name
	push si
	mov si, msg_fail
	call puts
	pop si
	call puts
	call newline
	jmp finish

ok:					; si = "VGA-XXX", prints "VGA-XXX ok"
	call puts
	mov si, msg_ok
	call puts
	ret

main:
	mov si, msg_begin
	call puts

	; ---- the mode SeaVGABIOS left ----
	mov ah, 0x0f
	int 0x10
	mov si, msg_mode
	call puts
	call hex8
	call newline

	; ---- mode 3: teletype, cells, cursor ----
	mov ax, 0x0003
	int 0x10
	mov si, msg_hello
.tty:
	lodsb
	test al, al
	jz .tty_done
	mov ah, 0x0e
	mov bx, 0x0007
	int 0x10
	jmp .tty
.tty_done:
	push es
	mov ax, 0xb800
	mov es, ax
	mov si, step_text
	cmp word [es:0], 0x0748		; 'H', grey on black
	jne fail
	cmp word [es:8], 0x074f		; 'O'
	jne fail
	pop es
	mov ah, 0x03
	mov bh, 0
	int 0x10
	mov si, step_text
	cmp dx, 0x0005			; row 0, column 5
	jne fail
	mov si, msg_text
	call ok
%ifdef STOP_TEXT
	jmp finish
%endif

	; ---- mode 0x13 ----
	mov ax, 0x0013
	int 0x10
	mov ax, 0x0c2a			; colour 0x2a
	mov bh, 0
	mov cx, 10
	mov dx, 20
	int 0x10
	push es
	mov ax, 0xa000
	mov es, ax
	mov si, step_13h
	cmp byte [es:20 * 320 + 10], 0x2a
	jne fail
	mov byte [es:0], 0x55
	pop es
	mov ah, 0x0d
	mov bh, 0
	xor cx, cx
	xor dx, dx
	int 0x10
	mov si, step_13h
	cmp al, 0x55
	jne fail
	mov si, msg_13h
	call ok
%ifdef STOP_13H
	jmp finish
%endif

	; ---- mode 0x12: planar ----
	mov ax, 0x0012
	int 0x10
	mov ax, 0x0c0b			; colour 1011b at (3, 0)
	mov bh, 0
	mov cx, 3
	xor dx, dx
	int 0x10
	push es
	mov ax, 0xa000
	mov es, ax
	mov si, step_12h
	mov bl, 0			; plane
.plane:
	mov dx, 0x3ce
	mov al, 4
	mov ah, bl
	out dx, ax			; GR4 = plane (read map select)
	mov al, [es:0]
	and al, 0x10			; pixel 3 is bit 4
	mov cl, bl
	mov ah, 0x0b
	shr ah, cl
	and ah, 1
	shl ah, 4
	cmp al, ah
	jne fail
	inc bl
	cmp bl, 4
	jb .plane
	pop es
	mov ah, 0x0d
	mov bh, 0
	mov cx, 3
	xor dx, dx
	int 0x10
	mov si, step_12h
	cmp al, 0x0b
	jne fail
	mov si, msg_12h
	call ok
%ifdef STOP_12H
	jmp finish
%endif

	; ---- VBE controller info ----
	mov ax, INFO_SEG
	mov es, ax
	xor di, di
	mov dword [es:0], 'VBE2'
	mov ax, 0x4f00
	int 0x10
	mov si, step_vbe
	cmp ax, 0x004f
	jne fail
	cmp dword [es:0], 'VESA'
	jne fail
	mov si, msg_vbe
	call puts
	mov ax, [es:4]
	call hex16
	call newline

%ifndef SKIP_VBE102
	; ---- VBE 0x102: 800x600 planar, as Windows' vga.sys sets it ----
	mov ax, 0x4f02
	mov bx, 0x0102
	int 0x10
	mov si, step_vbe102
	cmp ax, 0x004f
	jne fail
	mov dx, 0x1ce
	mov ax, 1
	out dx, ax
	inc dx
	in ax, dx
	cmp ax, 800			; dispi XRES
	jne fail
	dec dx
	mov ax, 3
	out dx, ax
	inc dx
	in ax, dx
	cmp ax, 4			; dispi BPP
	jne fail
	mov ax, 0x0c0c			; colour 0x0c at (799, 599)
	mov bh, 0
	mov cx, 799
	mov dx, 599
	int 0x10
	mov ah, 0x0d
	mov bh, 0
	mov cx, 799
	mov dx, 599
	int 0x10
	mov si, step_vbe102
	cmp al, 0x0c
	jne fail
	mov si, msg_vbe102
	call ok
%ifdef STOP_VBE102
	jmp finish
%endif
%endif

	; ---- dispi registers directly ----
	mov dx, 0x1ce
	xor ax, ax
	out dx, ax
	inc dx
	in ax, dx
	mov si, step_dispi
	cmp ax, 0xb0c5
	jne fail
	dec dx
	mov ax, 0x0a
	out dx, ax
	inc dx
	in ax, dx
	cmp ax, 256			; 16 MiB in 64 KiB units
	jne fail
	mov si, msg_dispi
	call ok

	; ---- find the deepest 640x480 mode in the list ----
	mov word [best_mode], 0
	mov byte [best_bpp], 0
	mov word [list_pos], 0
.scan:
	lfs si, [es:0x0e]		; VideoModePtr (reloaded: INT 10h may use FS)
	add si, [list_pos]
	add word [list_pos], 2
	mov cx, [fs:si]
	cmp cx, 0xffff
	je .scanned
	cmp word [list_pos], 512
	ja .scanned
	mov ax, 0x4f01
	mov di, 0x200
	int 0x10
	cmp ax, 0x004f
	jne .scan
	cmp word [es:0x200 + 0x12], 640
	jne .scan
	cmp word [es:0x200 + 0x14], 480
	jne .scan
	mov al, [es:0x200 + 0x19]
	cmp al, [best_bpp]
	jbe .scan
	mov [best_bpp], al
	mov [best_mode], cx
	jmp .scan
.scanned:
	mov si, step_vbemode
	mov cx, [best_mode]
	cmp byte [best_bpp], 24
	jb fail
	mov ax, 0x4f01
	mov di, 0x200
	int 0x10
	mov eax, [es:0x200 + 0x28]	; PhysBasePtr
	mov [lfb], eax
	mov ax, [es:0x200 + 0x10]	; BytesPerScanLine
	mov [pitch], ax
	mov si, msg_vbemode
	call puts
	mov ax, [best_mode]
	call hex16
	call space
	mov al, [best_bpp]
	call hex8
	call space
	mov eax, [lfb]
	call hex32
	call newline
	mov si, step_vbemode
	test word [es:0x200], 0x80	; LFB available
	jz fail

	; ---- set it with the LFB, write and read both ways ----
	mov bx, [best_mode]
	or bx, 0x4000
	mov ax, 0x4f02
	int 0x10
	mov si, step_lfb
	cmp ax, 0x004f
	jne fail
	call unreal
	mov si, step_lfb_rw
	mov edi, [lfb]
	xor ecx, ecx
.fill:
	mov eax, ecx
	imul eax, eax, 0x01030507
	mov [fs:edi + ecx * 4], eax
	inc ecx
	cmp ecx, 4096			; 16 KiB: inside bank 0
	jb .fill
	xor ecx, ecx
.check:
	mov eax, ecx
	imul eax, eax, 0x01030507
	cmp [fs:edi + ecx * 4], eax
	jne fail
	inc ecx
	cmp ecx, 4096
	jb .check
	; the same bytes through the bank window (bank 0 after the mode set)
	mov si, step_lfb_window
	push es
	mov ax, 0xa000
	mov es, ax
	xor ecx, ecx
.window:
	mov eax, ecx
	imul eax, eax, 0x01030507
	cmp [es:ecx * 4], eax
	jne fail
	inc ecx
	cmp ecx, 4096
	jb .window
	; and the reverse: the window written, the LFB read
	mov si, step_lfb_reverse
	mov dword [es:0x8000], 0xdeadbeef
	pop es
	; The window's writes may be coalesced: KVM replays them at the next
	; exit, and a read through the LFB (guest RAM to KVM) is none.  Any
	; port access is one (QEMU behaves the same).
	mov dx, 0x3da
	in al, dx
	cmp dword [fs:edi + 0x8000], 0xdeadbeef
	jne fail
	; a last pixel row of the screen, so a viewer sees the mode's extent
	movzx eax, word [pitch]
	imul eax, eax, 479
	add edi, eax
	mov dword [fs:edi], 0x00ff0000
	mov si, msg_lfb
	call ok
%ifdef STOP_LFB
	jmp finish
%endif

	mov ax, 0x0003
	int 0x10
	mov si, msg_end
	call puts
	jmp finish

; FS reaches all 4 GiB: enter protected mode, load a flat data segment,
; return to real mode keeping the descriptor cache (big real mode).
unreal:
	cli
	push ds
	lgdt [gdt_desc]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp .pm
.pm:
	mov bx, 0x08
	mov fs, bx
	and al, 0xfe
	mov cr0, eax
	jmp .rm
.rm:
	xor bx, bx
	mov fs, bx
	pop ds
	sti
	ret

align 8
gdt:
	dq 0
	dq 0x00cf92000000ffff		; data, base 0, limit 4 GiB
gdt_desc:
	dw 15
	dd gdt

best_mode: dw 0
best_bpp: db 0
list_pos: dw 0
lfb: dd 0
pitch: dw 0

msg_begin: db "VGA-BEGIN", 13, 10, 0
msg_mode: db "VGA-MODE ", 0
msg_hello: db "HELLO", 0
msg_text: db "VGA-TEXT", 0
msg_13h: db "VGA-13H", 0
msg_12h: db "VGA-12H", 0
msg_vbe: db "VGA-VBE ", 0
msg_dispi: db "VGA-DISPI", 0
msg_vbe102: db "VGA-VBE102", 0
msg_vbemode: db "VGA-VBEMODE ", 0
msg_lfb: db "VGA-LFB", 0
msg_ok: db " ok", 13, 10, 0
msg_end: db "VGA-END", 13, 10, 0
msg_fail: db "VGA-FAIL ", 0
step_text: db "text", 0
step_13h: db "13h", 0
step_12h: db "12h", 0
step_vbe: db "vbe", 0
step_dispi: db "dispi", 0
step_vbe102: db "vbe 0x102", 0
step_vbemode: db "vbemode", 0
step_lfb: db "lfb mode set", 0
step_lfb_rw: db "lfb write/read", 0
step_lfb_window: db "lfb read through the window", 0
step_lfb_reverse: db "window write read through the lfb", 0

	times (SECTORS + 1) * 512 - ($ - $$) db 0
