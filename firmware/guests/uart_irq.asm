; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: the 16550A raises IRQ 4 through the in-kernel 8259 PIC.
;  1. With IER.ETBEI (bit 1) and MCR.OUT2 set and the transmitter empty, the
;     UART interrupts at once; the ISR (vector 0x0c, master PIC based at
;     0x08) reads IIR = "THR empty" (0x2), and that read clears it (IIR then
;     reads "no interrupt").
;  2. In loopback (MCR bit 4) a byte written to THR arrives in RBR, IIR says
;     "received data available" (0x4) and, with IER.ERBFI (bit 0), IRQ 4 is
;     raised; reading RBR clears the condition.
; Both waits are bounded by the PIT (IRQ 0 at 100 Hz), so a missing interrupt
; ends in a FAIL line, not a hang.
	bits 16
	org 0
%include "lib.inc"

%define VAR_IRQS	0x410		; byte: UART interrupts seen
%define VAR_IIR		0x411		; byte: IIR read by the ISR
%define VAR_RBR		0x412		; byte: RBR read by the ISR
%define VAR_RX_COUNT	0x413		; byte: RBR reads by the ISR
%define TIMEOUT_TICKS	200		; 2 s

%define UART_RBR	COM1 + 0
%define UART_IER	COM1 + 1
%define UART_IIR	COM1 + 2
%define UART_FCR	COM1 + 2
%define UART_LCR	COM1 + 3
%define UART_MCR	COM1 + 4
%define UART_LSR	COM1 + 5

%macro OUTB 2
	mov dx, %1
	mov al, %2
	out dx, al
%endmacro

%macro INB 1
	mov dx, %1
	in al, dx
%endmacro

start:
	GUEST_INIT
	PRINTLN "uart_irq: UART interrupts through the PIC"
	mov al, 0xee			; unmask IRQ 0 (timer) and IRQ 4 (COM1)
	call pic_init
	call pit_start_ticks
	mov bx, 0x0c
	mov ax, uart_isr
	call ivt_set

	OUTB UART_IER, 0
	OUTB UART_LCR, 0x03		; 8N1
	OUTB UART_FCR, 0x07		; FIFOs on and cleared
	OUTB UART_MCR, 0x0b		; DTR, RTS, OUT2 (the PC's IRQ enable)
	INB UART_LSR			; drop stale status
	INB UART_RBR
	INB UART_IIR
	call clear_vars
	sti

	; --- 1. THR empty interrupt -------------------------------------------
	OUTB UART_IER, 0x02
	call wait_irq
	cli
	cmp byte [VAR_IRQS], 0
	jne .thre_seen
	INB UART_IIR
	mov bl, al
	mov al, 0x0a			; OCW3: read IRR
	out 0x20, al
	in al, 0x20
	mov cl, al
	OUTB UART_IER, 0
	PRINT "IIR = "
	mov al, bl
	call print_hex8
	PRINT ", PIC IRR = "
	mov al, cl
	call print_hex8
	call serial_newline
	FAIL "no IRQ 4 after enabling the THR-empty interrupt"
.thre_seen:
	OUTB UART_IER, 0
	PRINT "THRE interrupt, IIR = "
	mov al, [VAR_IIR]
	call print_hex8
	call serial_newline
	mov al, [VAR_IIR]
	and al, 0x0f
	cmp al, 0x02
	je .thre_iir_ok
	FAIL "IIR in the ISR did not say THR empty (0x2)"
.thre_iir_ok:
	INB UART_IIR
	and al, 0x0f
	cmp al, 0x01
	je .thre_cleared
	FAIL "IIR still shows an interrupt after the ISR read it"
.thre_cleared:

	; --- 2. loopback receive interrupt ------------------------------------
	cli
	call clear_vars
	OUTB UART_MCR, 0x18		; loopback + OUT2
	OUTB UART_IER, 0x01
	sti
	OUTB COM1, 0x5a
	call wait_irq
	cli
	cmp byte [VAR_IRQS], 0
	jne .rda_seen
	INB UART_LSR			; what the UART and the PIC show now
	mov bl, al
	INB UART_IIR
	mov bh, al
	mov al, 0x0a			; OCW3: read IRR
	out 0x20, al
	in al, 0x20
	mov cl, al
	OUTB UART_IER, 0
	OUTB UART_MCR, 0x0b
	PRINT "loopback: LSR = "
	mov al, bl
	call print_hex8
	PRINT ", IIR = "
	mov al, bh
	call print_hex8
	PRINT ", PIC IRR = "
	mov al, cl
	call print_hex8
	call serial_newline
	FAIL "no IRQ 4 for received data in loopback mode"
.rda_seen:
	OUTB UART_IER, 0
	OUTB UART_MCR, 0x0b
	PRINT "RDA interrupt, IIR = "
	mov al, [VAR_IIR]
	call print_hex8
	PRINT ", byte = "
	mov al, [VAR_RBR]
	call print_hex8
	call serial_newline
	mov al, [VAR_IIR]
	and al, 0x0f
	cmp al, 0x04
	je .rda_iir_ok
	FAIL "IIR in the ISR did not say received data (0x4)"
.rda_iir_ok:
	cmp byte [VAR_RX_COUNT], 1
	je .rx_one
	FAIL "loopback did not deliver exactly one byte"
.rx_one:
	cmp byte [VAR_RBR], 0x5a
	je .rx_match
	FAIL "loopback byte differs from the one sent"
.rx_match:
	INB UART_LSR
	test al, 0x01
	jz .rx_empty
	FAIL "LSR.DR still set after reading the byte"
.rx_empty:
	PASS

clear_vars:
	mov dword [VAR_IRQS], 0
	ret

; Wait until the ISR ran or TIMEOUT_TICKS passed.  Interrupts enabled.
wait_irq:
	mov ebx, [VAR_TICKS]
	add ebx, TIMEOUT_TICKS
.loop:	cmp byte [VAR_IRQS], 0
	jne .done
	cmp [VAR_TICKS], ebx
	jae .done
	hlt
	jmp .loop
.done:	ret

; IRQ 4.  Reads IIR once (which clears a THR-empty condition) and drains the
; receiver, as a driver would.
uart_isr:
	push ax
	push dx
	push ds
	xor ax, ax
	mov ds, ax
	mov dx, UART_IIR
	in al, dx
	mov [VAR_IIR], al
.drain:	mov dx, UART_LSR
	in al, dx
	test al, 0x01
	jz .drained
	mov dx, UART_RBR
	in al, dx
	mov [VAR_RBR], al
	inc byte [VAR_RX_COUNT]
	jmp .drain
.drained:
	inc byte [VAR_IRQS]
	mov al, 0x20
	out 0x20, al
	pop ds
	pop dx
	pop ax
	iret

	GUEST_FOOTER
