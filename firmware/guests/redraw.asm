; SPDX-License-Identifier: GPL-2.0-or-later
; The display benchmark's full-screen redraw in a graphics mode
; (tools/bench-vnc): a boot program for SeaBIOS + SeaVGABIOS that sets
; 800x600x32 with the linear framebuffer through the Bochs dispi registers
; (ports 0x1ce/0x1cf), takes the framebuffer's address from BAR0 of the
; VGA at PCI 00:02.0, and then repaints the whole frame for ever, with
; interrupts off: every row in its own colour, a gradient from top to bottom
; whose colours move on with each frame.  "BENCH-READY" goes to COM1 once
; the mode is set, then one '.' per frame, so the benchmark can count the
; frames a second.

%define BOOTPROG_SECTORS 8
%include "bootprog.inc"

%define XRES	800
%define YRES	600

%macro DISPI 2				; index, value
	mov dx, 0x1ce
	mov ax, %1
	out dx, ax
	inc dx
	mov ax, %2
	out dx, ax
%endmacro

main:
	mov eax, 0x80001010		; bus 0, device 2, function 0, BAR0
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
	and eax, 0xfffffff0
	jnz .have_bar
	PRINTLN "BENCH-FAIL no BAR0 at 00:02.0"
	jmp guest_halt
.have_bar:
	mov [lfb], eax
	DISPI 4, 0			; ENABLE off while the mode changes
	DISPI 1, XRES
	DISPI 2, YRES
	DISPI 3, 32
	DISPI 4, 0x41			; ENABLED | LFB_ENABLED
	cli
	call flat_es
	PRINTLN "BENCH-READY"
	mov ebx, 0x00204060		; colour
.frame:
	mov edi, [lfb]
	mov eax, ebx
	mov dx, YRES
.row:
	mov ecx, XRES
	a32 rep stosd
	add eax, 0x00010102
	and eax, 0x00ffffff
	dec dx
	jnz .row
	add ebx, 0x00050301
	and ebx, 0x00ffffff
	mov al, '.'
	call serial_putc
	jmp .frame

; ES with base 0 and a 4 GiB limit (big real mode); interrupts stay off,
; so no handler reloads ES.
flat_es:
	lgdt [gdt_desc]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp .pm
.pm:	mov bx, 0x08
	mov es, bx
	and al, 0xfe
	mov cr0, eax
	jmp .rm
.rm:	xor bx, bx
	mov es, bx
	ret

	align 8
gdt:
	dq 0
	dq 0x00cf93000000ffff		; data, base 0, limit 4 GiB, accessed
gdt_desc:
	dw 15
	dd gdt

lfb: dd 0

BOOTPROG_FOOTER
