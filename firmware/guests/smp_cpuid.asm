; SPDX-License-Identifier: GPL-2.0-or-later
; Proves (run with --cpus 2): each vCPU's CPUID describes that vCPU: the
; initial APIC ID in CPUID.1 EBX[31:24] and, where leaf 0xB exists, the
; x2APIC ID in CPUID.0xB EDX equal the ID in its LAPIC ID register, on the
; BSP and on the AP (woken with INIT-SIPI-SIPI), and the two IDs differ.
	bits 16
	org 0
%include "lib.inc"

%define BSP_SLOT	0x700

start:
	GUEST_INIT
	PRINTLN "smp_cpuid: CPUID APIC IDs against LAPIC IDs"
	mov al, 0xfe
	call pic_init
	call pit_start_ticks
	sti
	mov di, BSP_SLOT
	call cpu_record_ids
	mov al, 1
	call smp_wake_aps
	jnc .woken
	FAIL "the AP did not start within 5 s of INIT-SIPI-SIPI"
.woken:
	mov si, BSP_SLOT
	mov al, 0
	call check_slot
	mov si, VAR_AP_SLOTS
	mov al, 1
	call check_slot
	mov al, [BSP_SLOT + AP_SLOT_LAPICID + 3]
	cmp al, [VAR_AP_SLOTS + AP_SLOT_LAPICID + 3]
	jne .distinct
	FAIL "the BSP and the AP have the same APIC ID"
.distinct:
	PASS

; si = slot, al = cpu number.  Prints the IDs and fails on a mismatch.
check_slot:
	PRINT "cpu "
	call print_dec8
	PRINT ": lapic id "
	mov al, [si + AP_SLOT_LAPICID + 3]
	call print_dec8
	PRINT ", cpuid.1 apic id "
	mov al, [si + AP_SLOT_CPUID1 + 3]
	call print_dec8
	cmp dword [si + AP_SLOT_CPUIDB], 0xffffffff
	je .no_leaf_b
	PRINT ", cpuid.0xb x2apic id "
	mov eax, [si + AP_SLOT_CPUIDB]
	call print_hex32
.no_leaf_b:
	call serial_newline
	mov al, [si + AP_SLOT_LAPICID + 3]
	cmp al, [si + AP_SLOT_CPUID1 + 3]
	je .cpuid1_ok
	FAIL "CPUID.1 EBX[31:24] differs from the LAPIC ID"
.cpuid1_ok:
	cmp dword [si + AP_SLOT_CPUIDB], 0xffffffff
	je .done
	movzx eax, byte [si + AP_SLOT_LAPICID + 3]
	cmp eax, [si + AP_SLOT_CPUIDB]
	je .done
	FAIL "CPUID.0xB EDX differs from the LAPIC ID"
.done:	ret

	GUEST_FOOTER
