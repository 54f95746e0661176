; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: the virtio balloon (--balloon) does for a driver what the 2013
; Windows balloon and Linux's legacy driver need, and gives the host its
; memory back (tests/guest/balloon_guest_test.py watches minivmm's RSS).
; A legacy driver in big real mode, polling (no interrupts needed):
;  1. finds 1af4:1002 at 03.0 with subsystem 0005, places BAR0 at 0xc000,
;     resets the device, acks STATS_VQ, sets up the inflate queue (0) and
;     the stats queue (2) by PFN and posts a stats buffer (MEMTOT, MEMFREE)
;     before DRIVER_OK, as the Windows driver does;
;  2. writes 32 MiB of RAM from 4 MiB on (one dword a page) and says
;     "touched";
;  3. waits for a target (num_pages, set by QMP `balloon`), inflates that
;     many of the touched pages, 1024 PFNs a buffer, each returned used,
;     and writes `actual`, a byte at a time as the Windows driver does;
;  4. reads an inflated page back as zeroes (the host discarded it) and the
;     first page it kept with its value;
;  5. when the host returns the stats buffer (the polling interval set by
;     QMP qom-set), posts it again with a new MEMFREE, twice;
;  6. reports the touched pages it kept (8 MiB) as free on the reporting
;     queue (3), negotiated on this legacy interface: the buffer comes back
;     and the pages read as zeroes (given back to the host).
; Every wait is bounded by the PIT: a missing answer ends in a FAIL line.
	bits 16
	org 0
%include "lib.inc"

%define R_NUM_PAGES	IOB + 0x14
%define R_ACTUAL	IOB + 0x18
%define QSIZE		128
%define Q0_PFN		0x10
%define Q0_DESC		0x10000
%define Q0_AVAIL	0x10800
%define Q0_USED		0x11000
%define Q2_PFN		0x14
%define Q2_DESC		0x14000
%define Q2_AVAIL	0x14800
%define Q2_USED		0x15000
%define Q3_PFN		0x1c
%define Q3_DESC		0x1c000
%define Q3_AVAIL	0x1c800
%define Q3_USED		0x1d000
%define STATS_BUF	0x18000
%define PFN_ARRAY	0x20000
%define TOUCH_FIRST	0x400		; page 0x400: 4 MiB
%define TOUCH_PAGES	8192		; 32 MiB
%define MEMTOT		0x4000000
%define MEMFREE_1	0x1234000
%define MEMFREE_2	0x2345000
%define VAR_AVAIL0	0x420		; word: inflate queue's avail index
%define VAR_LEFT	0x424		; dword: PFNs still to give
%define VAR_NEXT	0x428		; dword: next PFN to give
%define VAR_TARGET	0x42c		; dword
%define VAR_DEADLINE	0x430		; dword, in ticks
%define WAIT_TICKS	6000		; 60 s for the host's side
%define CHAIN_TICKS	500		; 5 s for a buffer to come back

start:
	GUEST_INIT
	PRINTLN "balloon: legacy driver, inflate, stats"
	mov al, 0xfe			; IRQ 0 only; also enters big real mode
	call pic_init
	call pit_start_ticks
	sti

	; --- 1. the device --------------------------------------------------
	PCI_CFG 0x00
	in eax, dx
	cmp eax, 0x10021af4
	je .found
	FAIL "no virtio balloon 1af4:1002 at 03.0"
.found:
	PCI_CFG 0x2c
	in eax, dx
	cmp eax, 0x00051af4
	je .subsys
	FAIL "subsystem is not 1af4:0005"
.subsys:
	PCI_CFG 0x10
	mov eax, IOB
	out dx, eax
	PCI_CFG 0x04
	mov ax, 5			; I/O space, bus master
	out dx, ax
	mov dx, R_STATUS
	xor al, al
	out dx, al
	mov al, 3			; ACKNOWLEDGE | DRIVER
	out dx, al
	mov dx, R_HOST_F
	in eax, dx
	and eax, 0x22
	cmp eax, 0x22			; STATS_VQ, FREE_PAGE_REPORTING
	je .stats_offered
	FAIL "STATS_VQ or FREE_PAGE_REPORTING not offered"
.stats_offered:
	mov dx, R_GUEST_F
	mov eax, 0x22
	out dx, eax
	mov dx, R_SEL
	xor ax, ax
	out dx, ax
	mov dx, R_NUM
	in ax, dx
	cmp ax, QSIZE
	je .q0size
	FAIL "inflate queue size is not 128"
.q0size:
	mov dx, R_PFN
	in eax, dx
	test eax, eax
	jz .q0free
	FAIL "inflate queue PFN not 0 after reset"
.q0free:
	mov eax, Q0_PFN
	out dx, eax
	mov dx, R_SEL
	mov ax, 2
	out dx, ax
	mov dx, R_PFN
	mov eax, Q2_PFN
	out dx, eax
	mov dx, R_SEL
	mov ax, 3
	out dx, ax
	mov dx, R_PFN
	mov eax, Q3_PFN
	out dx, eax
	; the stats buffer: MEMTOT and MEMFREE, {le16 tag, le64 value} packed
	mov ebx, STATS_BUF
	mov word [fs:ebx], 5
	mov dword [fs:ebx + 2], MEMTOT
	mov dword [fs:ebx + 6], 0
	mov word [fs:ebx + 10], 4
	mov dword [fs:ebx + 12], MEMFREE_1
	mov dword [fs:ebx + 16], 0
	mov ebx, Q2_DESC
	mov dword [fs:ebx], STATS_BUF
	mov dword [fs:ebx + 4], 0
	mov dword [fs:ebx + 8], 20
	mov dword [fs:ebx + 12], 0
	mov ebx, Q2_AVAIL
	mov word [fs:ebx + 4], 0	; ring[0] = descriptor 0
	mov word [fs:ebx + 2], 1	; idx 1
	mov dx, R_NOTIFY
	mov ax, 2
	out dx, ax
	mov dx, R_STATUS
	mov al, 7			; DRIVER_OK
	out dx, al
	mov word [VAR_AVAIL0], 0

	; --- 2. touch 32 MiB ------------------------------------------------
	mov ecx, TOUCH_PAGES
	mov eax, TOUCH_FIRST
.touch:
	mov ebx, eax
	shl ebx, 12
	mov [fs:ebx], eax
	inc eax
	dec ecx
	jnz .touch
	PRINTLN "touched"

	; --- 3. the target, then inflate ------------------------------------
	DEADLINE WAIT_TICKS
.wait_target:
	mov dx, R_NUM_PAGES
	in eax, dx
	test eax, eax
	jnz .target
	PAST_DEADLINE_FAIL "no target (num_pages) came"
	hlt
	jmp .wait_target
.target:
	cmp eax, TOUCH_PAGES
	jbe .target_ok
	mov eax, TOUCH_PAGES
.target_ok:
	mov [VAR_TARGET], eax
	mov [VAR_LEFT], eax
	mov dword [VAR_NEXT], TOUCH_FIRST
	PRINT "target pages: 0x"
	call print_hex32
	call serial_newline
.chunk:
	mov ecx, [VAR_LEFT]
	test ecx, ecx
	jz .inflated
	cmp ecx, 1024
	jbe .fill_n
	mov ecx, 1024
.fill_n:
	sub [VAR_LEFT], ecx
	mov esi, ecx
	mov edi, PFN_ARRAY
	mov eax, [VAR_NEXT]
.fill:
	mov [fs:edi], eax
	add edi, 4
	inc eax
	dec ecx
	jnz .fill
	mov [VAR_NEXT], eax
	mov ebx, Q0_DESC
	mov dword [fs:ebx], PFN_ARRAY
	mov dword [fs:ebx + 4], 0
	shl esi, 2
	mov [fs:ebx + 8], esi
	mov dword [fs:ebx + 12], 0
	movzx ebx, word [VAR_AVAIL0]
	and ebx, QSIZE - 1
	shl ebx, 1
	add ebx, Q0_AVAIL + 4
	mov word [fs:ebx], 0
	mov ax, [VAR_AVAIL0]
	inc ax
	mov [VAR_AVAIL0], ax
	mov ebx, Q0_AVAIL
	mov [fs:ebx + 2], ax
	mov dx, R_NOTIFY
	xor ax, ax
	out dx, ax
	DEADLINE CHAIN_TICKS
.poll_used:
	mov ebx, Q0_USED
	mov ax, [fs:ebx + 2]
	cmp ax, [VAR_AVAIL0]
	je .chunk
	PAST_DEADLINE_FAIL "an inflate buffer did not come back"
	hlt
	jmp .poll_used
.inflated:
	; actual, one byte at a time
	mov eax, [VAR_TARGET]
	mov dx, R_ACTUAL
	mov cx, 4
.actual_byte:
	out dx, al
	shr eax, 8
	inc dx
	loop .actual_byte
	mov dx, R_ACTUAL
	in eax, dx
	cmp eax, [VAR_TARGET]
	je .actual_ok
	FAIL "actual does not read back"
.actual_ok:
	PRINTLN "inflated"

	; --- 4. what the pages hold now -------------------------------------
	mov ebx, TOUCH_FIRST << 12
	cmp dword [fs:ebx], 0
	je .zeroed
	FAIL "an inflated page kept its contents (not given back)"
.zeroed:
	mov eax, [VAR_NEXT]
	mov ebx, eax
	shl ebx, 12
	cmp [fs:ebx], eax
	je .kept
	FAIL "a page not inflated lost its contents"
.kept:
	PRINTLN "pages checked"

	; --- 5. stats: answer the host's requests twice ---------------------
	mov ebx, STATS_BUF
	mov dword [fs:ebx + 12], MEMFREE_2
	mov si, 1
.stats_round:
	DEADLINE WAIT_TICKS
.wait_stats:
	mov ebx, Q2_USED
	mov ax, [fs:ebx + 2]
	cmp ax, si
	je .stats_back
	PAST_DEADLINE_FAIL "the host never asked for stats"
	hlt
	jmp .wait_stats
.stats_back:
	mov ebx, Q2_AVAIL		; post it again: ring[si] = 0, idx = si + 1
	movzx eax, si
	and eax, QSIZE - 1
	shl eax, 1
	mov word [fs:ebx + eax + 4], 0
	mov ax, si
	inc ax
	mov [fs:ebx + 2], ax
	mov dx, R_NOTIFY
	mov ax, 2
	out dx, ax
	PRINTLN "stats answered"
	inc si
	cmp si, 3
	jb .stats_round

	; --- 6. free page reporting on the legacy interface -----------------
	mov ebx, Q3_DESC
	mov eax, [VAR_NEXT]
	shl eax, 12
	mov [fs:ebx], eax
	mov dword [fs:ebx + 4], 0
	mov eax, TOUCH_FIRST + TOUCH_PAGES
	sub eax, [VAR_NEXT]
	shl eax, 12
	mov [fs:ebx + 8], eax
	mov dword [fs:ebx + 12], 2	; VIRTQ_DESC_F_WRITE
	mov ebx, Q3_AVAIL
	mov word [fs:ebx + 4], 0
	mov word [fs:ebx + 2], 1
	mov dx, R_NOTIFY
	mov ax, 3
	out dx, ax
	DEADLINE CHAIN_TICKS
.wait_report:
	mov ebx, Q3_USED
	cmp word [fs:ebx + 2], 1
	je .reported
	PAST_DEADLINE_FAIL "the free page report did not come back"
	hlt
	jmp .wait_report
.reported:
	mov ebx, [VAR_NEXT]
	shl ebx, 12
	cmp dword [fs:ebx], 0
	je .report_zeroed
	FAIL "a reported page kept its contents (not given back)"
.report_zeroed:
	mov ebx, (TOUCH_FIRST + TOUCH_PAGES - 1) << 12
	cmp dword [fs:ebx], 0
	je .report_last
	FAIL "the last reported page kept its contents"
.report_last:
	PRINTLN "reported"
	PASS

GUEST_FOOTER
