; SPDX-License-Identifier: GPL-2.0-or-later
; Proves (run with --cpus 2): the second vCPU waits in the in-kernel LAPIC
; for INIT-SIPI-SIPI; the BSP's INIT and startup IPIs (ICR at 0xfee00300/
; 0xfee00310, "all excluding self") start it in real mode at the SIPI vector
; page 0x8000; it runs, sees LAPIC ID 1 and reports through shared RAM.
	bits 16
	org 0
%include "lib.inc"

start:
	GUEST_INIT
	PRINTLN "smp: waking the application processors"
	mov al, 0xfe			; IRQ 0 only
	call pic_init
	call pit_start_ticks
	sti
	mov di, 0x700			; the BSP's own slot
	call cpu_record_ids
	PRINT "cpu 0 (BSP) apic id "
	mov eax, [0x700 + AP_SLOT_LAPICID]
	shr eax, 24
	call print_dec8
	call serial_newline
	mov al, 1
	call smp_wake_aps
	jnc .woken
	FAIL "the AP did not start within 5 s of INIT-SIPI-SIPI"
.woken:
	PRINT "cpu 1 online apic id "
	mov eax, [VAR_AP_SLOTS + AP_SLOT_LAPICID]
	shr eax, 24
	call print_dec8
	call serial_newline
	cmp byte [0x700 + AP_SLOT_LAPICID + 3], 0
	je .bsp_id_ok
	FAIL "the BSP's LAPIC ID is not 0"
.bsp_id_ok:
	cmp byte [VAR_AP_SLOTS + AP_SLOT_LAPICID + 3], 1
	je .ap_id_ok
	FAIL "the AP's LAPIC ID is not 1"
.ap_id_ok:
	mov ax, 10			; a second AP would have come by now
	call wait_ticks
	cmp byte [VAR_AP_COUNT], 1
	je .one_ap
	FAIL "more than one AP started with --cpus 2"
.one_ap:
	PASS

	GUEST_FOOTER
