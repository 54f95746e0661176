; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: the PIIX4 fixed-feature power button as an ACPI OS drives it.
;  1. Programs PMBA = 0x600 and PMREGMISC (what SeaBIOS does), enables ACPI
;     with the FADT handshake (0xf1 to the SMI command port 0xb2) and waits
;     for SCI_EN in PM1_CNT; sets PWRBTN_EN in PM1_EN; IRQ 9 (the SCI) level
;     triggered in the ELCR, as a BIOS sets it.
;  2. With -DWRITE_DISK, first writes 8 sectors of 0xa5 at LBA 2048 of the
;     primary master with ATA WRITE SECTORS (PIO), without FLUSH CACHE: the
;     host must flush them when it ends.
;  3. Waits (for ever: the test presses the button) for PWRBTN_STS in
;     PM1_STS; checks that the SCI is raised (IRQ 9 in the slave PIC's IRR),
;     clears the status by writing 1 and checks that the status and the SCI
;     are gone; then enters S5 (SLP_TYP 0 = our \_S5, SLP_EN), which ends
;     minivmm with status 0.  Anything unexpected is a FAIL line and exit 3.
	bits 16
	org 0
%include "lib.inc"

%define PMBA		0x600
%define PM1_STS		PMBA + 0
%define PM1_EN		PMBA + 2
%define PM1_CNT		PMBA + 4
%define STS_PWRBTN	0x0100
%define EN_PWRBTN	0x0100
%define CNT_SCI_EN	0x0001
%define CNT_SLP_EN	0x2000
%define PM_DEVFN_CFG	0x80000b00	; bus 0, device 1, function 3
%define ELCR2		0x4d1		; IRQ 8-15 edge/level
%define WAIT_LOOPS	0x100000

%define SECTOR_BUF	0x1000
%define NR_SECTORS	8
%define LBA		2048

%macro OUTB 2
	mov dx, %1
	mov al, %2
	out dx, al
%endmacro

start:
	GUEST_INIT
	PRINTLN "powerbtn: start"
	mov al, 0xff			; every IRQ masked: the IRR still shows them
	call pic_init
	mov dx, ELCR2
	in al, dx
	or al, 0x02			; IRQ 9 level triggered
	out dx, al

	; PMBA (config 0x40) and PMREGMISC.PMIOSE (config 0x80)
	mov dx, 0xcf8
	mov eax, PM_DEVFN_CFG | 0x40
	out dx, eax
	mov dx, 0xcfc
	mov eax, PMBA | 1
	out dx, eax
	mov dx, 0xcf8
	mov eax, PM_DEVFN_CFG | 0x80
	out dx, eax
	OUTB 0xcfc, 0x01

	mov dx, PM1_CNT
	in ax, dx
	test ax, CNT_SCI_EN
	jz .acpi_off
	FAIL "SCI_EN set before the ACPI enable handshake"
.acpi_off:
	OUTB 0xb2, 0xf1			; ACPI_ENABLE
	mov ecx, WAIT_LOOPS
.wait_sci_en:
	mov dx, PM1_CNT
	in ax, dx
	test ax, CNT_SCI_EN
	jnz .acpi_on
	dec ecx
	jnz .wait_sci_en
	FAIL "SCI_EN not set after 0xf1 to port 0xb2"
.acpi_on:
	mov dx, PM1_STS
	mov ax, 0xffff			; clear every stale status
	out dx, ax
	mov dx, PM1_EN
	mov ax, EN_PWRBTN
	out dx, ax
	call check_sci_low
	jnc .sci_low
	FAIL "SCI raised with no event pending"
.sci_low:
	PRINTLN "powerbtn: ACPI enabled, PWRBTN_EN set"

%ifdef WRITE_DISK
	call disk_write
	PRINTLN "powerbtn: wrote 8 sectors at LBA 2048"
%endif

	PRINTLN "powerbtn: waiting for the power button"
.wait_button:
	mov dx, PM1_STS
	in ax, dx
	test ax, STS_PWRBTN
	jz .wait_button
	PRINTLN "powerbtn: PWRBTN_STS set"
	call check_sci_low
	jc .sci_high
	FAIL "PWRBTN_STS set but the SCI (IRQ 9) is low"
.sci_high:
	PRINTLN "powerbtn: SCI raised"
	mov dx, PM1_STS
	mov ax, STS_PWRBTN		; write 1 to clear
	out dx, ax
	in ax, dx
	test ax, STS_PWRBTN
	jz .cleared
	FAIL "PWRBTN_STS still set after writing 1"
.cleared:
	call check_sci_low
	jnc .sci_dropped
	FAIL "the SCI stayed high after the status was cleared"
.sci_dropped:
	PRINTLN "powerbtn: status cleared, SCI low; entering S5"
	mov dx, PM1_CNT
	mov ax, CNT_SLP_EN | CNT_SCI_EN	; SLP_TYP 0: \_S5
	out dx, ax
	mov ecx, WAIT_LOOPS
.after_s5:
	dec ecx
	jnz .after_s5
	FAIL "still running after S5"

; CF set when IRQ 9 is pending in the slave PIC's IRR.
check_sci_low:
	push ax
	mov al, 0x0a			; OCW3: read IRR
	out 0xa0, al
	in al, 0xa0
	test al, 0x02
	clc
	jz .low
	stc
.low:	pop ax
	ret

%ifdef WRITE_DISK
; Waits until BSY is clear; CF set on timeout.  al = status.
ide_wait_not_busy:
	push ecx
	push dx
	mov ecx, WAIT_LOOPS
	mov dx, 0x1f7
.poll:	in al, dx
	test al, 0x80
	jz .ok
	dec ecx
	jnz .poll
	stc
	jmp .out
.ok:	clc
.out:	pop dx
	pop ecx
	ret

disk_write:
	mov di, SECTOR_BUF		; the data: 0xa5 in every byte
	mov cx, 256
	mov ax, 0xa5a5
	rep stosw
	OUTB 0x3f6, 0x02		; nIEN: no interrupt wanted
	OUTB 0x1f6, 0xe0		; LBA, master, LBA 27:24 = 0
	call ide_wait_not_busy
	jnc .ready
	FAIL "IDE: BSY does not clear"
.ready:	test al, 0x40
	jnz .drdy
	FAIL "IDE: no drive ready on the primary master"
.drdy:	OUTB 0x1f2, NR_SECTORS
	OUTB 0x1f3, LBA & 0xff
	OUTB 0x1f4, (LBA >> 8) & 0xff
	OUTB 0x1f5, (LBA >> 16) & 0xff
	OUTB 0x1f7, 0x30		; WRITE SECTORS
	mov bx, NR_SECTORS
.sector:
	call ide_wait_not_busy
	jc .timeout
	test al, 0x01
	jnz .error
	test al, 0x08
	jz .error			; no DRQ: the drive refused
	mov si, SECTOR_BUF
	mov cx, 256
	mov dx, 0x1f0
	rep outsw
	dec bx
	jnz .sector
	call ide_wait_not_busy
	jc .timeout
	test al, 0x01
	jnz .error
	ret
.timeout:
	FAIL "IDE: write timed out"
.error:
	FAIL "IDE: write failed"
%endif

	GUEST_FOOTER
