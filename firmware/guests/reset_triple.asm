; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: a triple fault restarts the machine at the reset vector with RAM
; kept and devices reset; with --no-reboot minivmm exits with status 0.
; The fault: in 16-bit protected mode with a zero-limit IDT, loading DS with
; a selector beyond the GDT limit raises #GP; neither it nor the double fault
; can be delivered, so the CPU shuts down.  (A real-mode int3 through a
; zero-limit IDT would do on hardware, but KVM's real-mode emulator ignores
; the IDT limit there; protected-mode IRET is not needed here.)
	bits 16
	org 0
%include "lib.inc"

%macro RESET_BY_TRIPLE_FAULT 0
	lidt [cs:null_idtr]
	lgdt [cs:flat_gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp PM16_CODE_SEL:%%pm16
%%pm16:	mov ax, (flat_gdt_end - flat_gdt) + 0x20	; past the GDT limit
	mov ds, ax
%endmacro

	RESET_GUEST "reset_triple", RESET_BY_TRIPLE_FAULT

null_idtr:
	dw 0
	dd 0

	GUEST_FOOTER
