; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: the KVM fast paths of the test device (--testdev, devices/testdev.h)
; give the guest the same results as their slow paths.
;  1. Doorbell: 100 writes of the doorbell value to port 0x520 are all
;     counted (on minivmm's I/O thread: the guest polls the count); a write
;     of another value is not a ring.
;  2. Interrupt: three writes to port 0x528 each raise IRQ 5 once through
;     the in-kernel PIC (vector 0x0d).
;  3. Coalesced window: 64 dword writes to the MMIO window at 0xfef00000 and
;     one more over dword 5 arrive in order (the read-back sees the last
;     value) and all of them (the write count is 65).
;  4. Slot: 16 KiB of RAM mapped at 0xfef10000 by a register write; after
;     pages 0 and 2 are written, the dirty bitmap names them (printed: with
;     --no-dirty-log every page is reported); moved to 0xfef20000 it keeps
;     its contents and the old place reads all ones; unmapped, so does the
;     new one.
; Every wait is bounded by the PIT (IRQ 0 at 100 Hz): a missing event ends in
; a FAIL line, not a hang.
	bits 16
	org 0
%include "lib.inc"

%define TD_PORT		0x520
%define TD_DOORBELL	TD_PORT + 0x00
%define TD_RINGS	TD_PORT + 0x04
%define TD_IRQ		TD_PORT + 0x08
%define TD_SLOT		TD_PORT + 0x0c
%define TD_DIRTY	TD_PORT + 0x10
%define TD_WRITES	TD_PORT + 0x14
%define TD_BELL_VALUE	0x600d
%define TD_WINDOW	0xfef00000
%define TD_SLOT_A	0xfef10000
%define TD_SLOT_B	0xfef20000
%define RINGS		100
%define IRQS		3
%define VAR_IRQS	0x410		; byte: IRQ 5 interrupts seen
%define TIMEOUT_TICKS	200		; 2 s
%define SLOT_MAGIC	0x51075107

start:
	GUEST_INIT
	PRINTLN "fastpath: doorbell, interrupt, coalesced window, dirty slot"
	mov al, 0xde			; unmask IRQ 0 (timer) and IRQ 5 (testdev)
	call pic_init			; also enters big real mode (FS: 4 GiB)
	call pit_start_ticks
	mov bx, 0x0d
	mov ax, irq5_isr
	call ivt_set
	mov byte [VAR_IRQS], 0
	sti

	; --- 1. doorbell ------------------------------------------------------
	mov dx, TD_DOORBELL
	mov cx, RINGS
.ring:	mov eax, TD_BELL_VALUE
	out dx, eax
	loop .ring
	mov eax, 1			; not the doorbell's value
	out dx, eax
	mov ebx, [VAR_TICKS]
	add ebx, TIMEOUT_TICKS
.count:	mov dx, TD_RINGS
	in eax, dx
	cmp eax, RINGS
	jae .counted
	cmp [VAR_TICKS], ebx
	jae .counted
	hlt
	jmp .count
.counted:
	cmp eax, RINGS
	je .rings_ok
	PRINT "rings counted: "
	call print_hex32
	call serial_newline
	FAIL "the doorbell did not count 100 rings"
.rings_ok:
	mov ax, 5			; a late ring would show now
	call wait_ticks
	mov dx, TD_RINGS
	in eax, dx
	cmp eax, RINGS
	je .bell_done
	FAIL "a write of another value rang the doorbell"
.bell_done:
	PRINTLN "doorbell: 100 rings counted"

	; --- 2. interrupt -----------------------------------------------------
	xor cx, cx
.irq:	inc cx
	mov dx, TD_IRQ
	out dx, al
	mov ebx, [VAR_TICKS]
	add ebx, TIMEOUT_TICKS
.irq_wait:
	cmp [VAR_IRQS], cl
	jae .irq_seen
	cmp [VAR_TICKS], ebx
	jae .irq_late
	hlt
	jmp .irq_wait
.irq_late:
	FAIL "no IRQ 5 after the interrupt trigger"
.irq_seen:
	cmp cx, IRQS
	jb .irq
	mov ax, 5
	call wait_ticks
	cmp byte [VAR_IRQS], IRQS
	je .irq_done
	FAIL "more IRQ 5 interrupts than triggers"
.irq_done:
	PRINTLN "interrupt: 3 of 3 arrived"

	; --- 3. coalesced window ----------------------------------------------
	xor esi, esi
.wwrite:
	mov eax, esi
	imul eax, eax, 0x01010101
	xor eax, 0xa5000000
	mov [fs:esi * 4 + TD_WINDOW], eax
	inc esi
	cmp esi, 64
	jb .wwrite
	mov dword [fs:dword TD_WINDOW + 5 * 4], 0xcafef00d
	xor esi, esi
.wread:	mov eax, esi
	imul eax, eax, 0x01010101
	xor eax, 0xa5000000
	cmp esi, 5
	jne .wcmp
	mov eax, 0xcafef00d
.wcmp:	cmp [fs:esi * 4 + TD_WINDOW], eax
	je .wnext
	PRINT "window dword "
	mov eax, esi
	call print_hex8
	PRINT " reads "
	mov eax, [fs:esi * 4 + TD_WINDOW]
	call print_hex32
	call serial_newline
	FAIL "the window lost a write or took them out of order"
.wnext:	inc esi
	cmp esi, 64
	jb .wread
	mov dx, TD_WRITES
	in eax, dx
	cmp eax, 65
	je .window_done
	PRINT "window writes: "
	call print_hex32
	call serial_newline
	FAIL "the window did not get 65 writes"
.window_done:
	PRINTLN "window: 65 writes, read back in order"

	; --- 4. slot with dirty logging ---------------------------------------
	mov dx, TD_SLOT
	mov eax, TD_SLOT_A
	out dx, eax
	in eax, dx
	cmp eax, TD_SLOT_A
	je .mapped
	FAIL "the slot did not map at 0xfef10000"
.mapped:
	mov dx, TD_DIRTY		; forget what mapping it reported
	in eax, dx
	mov dword [fs:dword TD_SLOT_A], SLOT_MAGIC
	mov dword [fs:dword TD_SLOT_A + 0x2000 + 16], SLOT_MAGIC + 2
	in eax, dx
	and eax, 0xf
	PRINT "slot: dirty pages "
	call print_hex8
	call serial_newline
	and al, 0x5
	cmp al, 0x5
	je .dirty_ok
	FAIL "the dirty log lost a page the guest wrote"
.dirty_ok:
	cmp dword [fs:dword TD_SLOT_A], SLOT_MAGIC
	je .kept
	FAIL "the slot did not keep what was written"
.kept:
	mov dx, TD_SLOT
	mov eax, TD_SLOT_B
	out dx, eax
	cmp dword [fs:dword TD_SLOT_B + 0x2000 + 16], SLOT_MAGIC + 2
	je .moved
	FAIL "the moved slot lost its contents"
.moved:
	cmp dword [fs:dword TD_SLOT_A], 0xffffffff
	je .old_gone
	FAIL "the slot still answers at its old address"
.old_gone:
	mov dx, TD_SLOT
	xor eax, eax
	out dx, eax
	cmp dword [fs:dword TD_SLOT_B], 0xffffffff
	je .unmapped
	FAIL "the unmapped slot still answers"
.unmapped:
	PRINTLN "slot: kept its pages when moved, gone when unmapped"
	PASS

irq5_isr:
	push ax
	push ds
	xor ax, ax
	mov ds, ax
	inc byte [VAR_IRQS]
	mov al, 0x20
	out 0x20, al
	pop ds
	pop ax
	iret

	GUEST_FOOTER
