; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: virtio-net (--net tap,...) does for a legacy driver what NetKVM
; and Linux's legacy driver need, over a real tap (tests/guest/net_tap_test.py
; is the other end, on the host side of the tap).  A legacy driver in big
; real mode, polling (no interrupts needed):
;  1. finds 1af4:1000 at 03.0 with subsystem 0001, places BAR0 at 0xc000,
;     resets the device, checks MAC, STATUS, MRG_RXBUF, CTRL_VQ and CTRL_RX
;     are offered and takes the last three; sets up RX (0), TX (1) and the
;     control queue (2) by PFN and posts two receive buffers and kicks
;     before DRIVER_OK, as NetKVM does;
;  2. reads its MAC and the link state from config;
;  3. turns promiscuous mode off on the control queue and looks at the used
;     ring right after the kick, without waiting, as NetKVM does: the answer
;     must be there (ack 0);
;  4. sends one broadcast frame (ethertype 0x88b5, "minivmm-net-guest");
;  5. receives two frames into its two buffers (num_buffers 1 each), waits
;     half a second with the ring dry while the host sends three more, then
;     posts four buffers and receives those three, in order.
; Every wait is bounded by the PIT: a missing answer ends in a FAIL line.
	bits 16
	org 0
%include "lib.inc"

%define R_MAC		IOB + 0x14
%define R_LINK		IOB + 0x1a
%define RX_DESC		0x10000		; queue 0 at PFN 0x10, 256 entries
%define RX_AVAIL	0x11000
%define RX_USED		0x12000
%define TX_DESC		0x14000		; queue 1 at PFN 0x14
%define TX_AVAIL	0x15000
%define TX_USED		0x16000
%define CQ_DESC		0x18000		; queue 2 at PFN 0x18, 64 entries
%define CQ_AVAIL	0x18400
%define CQ_USED		0x19000
%define RX_BUF		0x20000		; buffer i at RX_BUF + 0x800 i
%define RX_BUF_LEN	1526		; 12-byte header + 1514
%define TX_HDR		0x30000
%define TX_FRAME	0x30100
%define FRAME_LEN	60
%define CQ_CMD		0x31000
%define CQ_DATA		0x31010
%define CQ_ACK		0x31020
%define F_WANTED	(1 << 15) | (1 << 17) | (1 << 18)	; MRG_RXBUF, CTRL_VQ, CTRL_RX
%define VAR_MAC		0x440		; 6 bytes
%define VAR_DEADLINE	0x450		; dword, in ticks
%define VAR_RXNEXT	0x454		; word: next used entry to look at
%define WAIT_TICKS	2000		; 20 s for the host's side
%define CHAIN_TICKS	500		; 5 s for a buffer to come back

%macro QUEUE 3				; queue %1 of %2 entries at PFN %3
	mov dx, R_SEL
	mov ax, %1
	out dx, ax
	mov dx, R_NUM
	in ax, dx
	cmp ax, %2
	je %%size
	FAIL "a queue has not the size NetKVM expects"
%%size:
	mov dx, R_PFN
	mov eax, %3
	out dx, eax
%endmacro

start:
	GUEST_INIT
	PRINTLN "net: legacy driver, control queue, tx, rx, dry ring"
	mov al, 0xfe			; IRQ 0 only; also enters big real mode
	call pic_init
	call pit_start_ticks
	sti

	; --- 1. the device --------------------------------------------------
	PCI_CFG 0x00
	in eax, dx
	cmp eax, 0x10001af4
	je .found
	FAIL "no virtio-net 1af4:1000 at 03.0"
.found:
	PCI_CFG 0x2c
	in eax, dx
	cmp eax, 0x00011af4
	je .subsys
	FAIL "subsystem is not 1af4:0001"
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
	mov dx, R_GUEST_F		; NetKVM writes 0 first
	xor eax, eax
	out dx, eax
	mov dx, R_HOST_F
	in eax, dx
	and eax, (1 << 5) | (1 << 16) | F_WANTED
	cmp eax, (1 << 5) | (1 << 16) | F_WANTED
	je .offered
	FAIL "MAC, STATUS, MRG_RXBUF, CTRL_VQ or CTRL_RX not offered"
.offered:
	mov dx, R_GUEST_F
	mov eax, F_WANTED
	out dx, eax
	QUEUE 0, 256, 0x10
	QUEUE 1, 256, 0x14
	QUEUE 2, 64, 0x18
	mov cx, 2			; two receive buffers before DRIVER_OK
	xor si, si
	call rx_post
	mov dx, R_NOTIFY
	xor ax, ax
	out dx, ax
	mov dx, R_STATUS
	mov al, 7			; DRIVER_OK
	out dx, al
	mov word [VAR_RXNEXT], 0

	; --- 2. MAC and link ------------------------------------------------
	PRINT "mac "
	mov dx, R_MAC
	mov di, VAR_MAC
	mov cx, 6
.mac:
	in al, dx
	mov [di], al
	inc di
	inc dx
	push cx
	movzx eax, al
	mov cx, 2
	call print_hex
	pop cx
	loop .mac
	call serial_newline
	mov dx, R_LINK
	in ax, dx
	test ax, 1
	jnz .link
	FAIL "link down"
.link:

	; --- 3. promiscuous off, answered inside the kick -------------------
	mov ebx, CQ_CMD
	mov word [fs:ebx], 0		; class RX, command PROMISC
	mov byte [fs:ebx + 0x10], 0	; off
	mov byte [fs:ebx + 0x20], 0xff	; the ack, not written yet
	mov ebx, CQ_DESC
	mov dword [fs:ebx], CQ_CMD
	mov dword [fs:ebx + 4], 0
	mov dword [fs:ebx + 8], 2
	mov dword [fs:ebx + 12], 0x00010001	; NEXT, next 1
	mov dword [fs:ebx + 16], CQ_DATA
	mov dword [fs:ebx + 20], 0
	mov dword [fs:ebx + 24], 1
	mov dword [fs:ebx + 28], 0x00020001	; NEXT, next 2
	mov dword [fs:ebx + 32], CQ_ACK
	mov dword [fs:ebx + 36], 0
	mov dword [fs:ebx + 40], 1
	mov dword [fs:ebx + 44], 2		; WRITE
	mov ebx, CQ_AVAIL
	mov word [fs:ebx + 4], 0
	mov word [fs:ebx + 2], 1
	mov dx, R_NOTIFY
	mov ax, 2
	out dx, ax
	mov ebx, CQ_USED		; no wait: NetKVM's one get_buf
	cmp word [fs:ebx + 2], 1
	je .ctrl_used
	FAIL "the control command was not answered when the kick returned"
.ctrl_used:
	cmp dword [fs:ebx + 8], 1
	je .ctrl_len
	FAIL "the control answer's used length is not 1"
.ctrl_len:
	mov ebx, CQ_ACK
	cmp byte [fs:ebx], 0
	je .ctrl_ok
	FAIL "promiscuous off refused"
.ctrl_ok:
	PRINTLN "promiscuous off"

	; --- 4. one broadcast frame ------------------------------------------
	mov ebx, TX_HDR
	mov ecx, 12
.zero_hdr:
	mov byte [fs:ebx], 0
	inc ebx
	loop .zero_hdr
	mov ebx, TX_FRAME
	mov ecx, FRAME_LEN
.zero_frame:
	mov byte [fs:ebx], 0
	inc ebx
	loop .zero_frame
	mov ebx, TX_FRAME
	mov dword [fs:ebx], 0xffffffff
	mov word [fs:ebx + 4], 0xffff
	mov eax, [VAR_MAC]
	mov [fs:ebx + 6], eax
	mov ax, [VAR_MAC + 4]
	mov [fs:ebx + 10], ax
	mov word [fs:ebx + 12], 0xb588	; 0x88b5, big-endian
	mov si, guest_payload
	mov edi, 14
.payload:
	mov al, [cs:si]
	test al, al
	jz .payload_done
	mov [fs:ebx + edi], al
	inc si
	inc edi
	jmp .payload
.payload_done:
	mov ebx, TX_DESC
	mov dword [fs:ebx], TX_HDR	; NetKVM: the header in its own descriptor
	mov dword [fs:ebx + 4], 0
	mov dword [fs:ebx + 8], 12
	mov dword [fs:ebx + 12], 0x00010001
	mov dword [fs:ebx + 16], TX_FRAME
	mov dword [fs:ebx + 20], 0
	mov dword [fs:ebx + 24], FRAME_LEN
	mov dword [fs:ebx + 28], 0
	mov ebx, TX_AVAIL
	mov word [fs:ebx + 4], 0
	mov word [fs:ebx + 2], 1
	mov dx, R_NOTIFY
	mov ax, 1
	out dx, ax
	DEADLINE CHAIN_TICKS
.tx_wait:
	mov ebx, TX_USED
	cmp word [fs:ebx + 2], 1
	je .tx_done
	PAST_DEADLINE_FAIL "the transmit buffer did not come back"
	hlt
	jmp .tx_wait
.tx_done:
	PRINTLN "sent"

	; --- 5. two frames, a dry ring, three more ---------------------------
	mov cx, 2
	call rx_wait
	PRINTLN "dry"
	mov eax, [VAR_TICKS]
	add eax, 50
.dry:
	hlt
	cmp [VAR_TICKS], eax
	jb .dry
	mov cx, 4
	mov si, 2
	call rx_post
	mov dx, R_NOTIFY
	xor ax, ax
	out dx, ax
	mov cx, 3
	call rx_wait
	PRINTLN "received 5"
	PASS

; Posts cx buffers, descriptors si.. (buffer RX_BUF + 0x800 * index), in
; avail ring entries si.., and publishes avail idx si + cx.
rx_post:
	push cx
.one:
	movzx ebx, si
	shl ebx, 4
	add ebx, RX_DESC
	movzx eax, si
	shl eax, 11
	add eax, RX_BUF
	mov [fs:ebx], eax
	mov dword [fs:ebx + 4], 0
	mov dword [fs:ebx + 8], RX_BUF_LEN
	mov dword [fs:ebx + 12], 2	; WRITE
	movzx ebx, si
	shl ebx, 1
	add ebx, RX_AVAIL + 4
	mov [fs:ebx], si
	inc si
	loop .one
	mov ebx, RX_AVAIL
	mov [fs:ebx + 2], si
	pop cx
	ret

; Waits for cx more used receive entries, each a frame of ours: 12 + 60
; bytes, num_buffers 1, ethertype 0x88b5, sequence byte = its place (1..).
rx_wait:
.next:
	DEADLINE WAIT_TICKS
.poll:
	mov ebx, RX_USED
	mov ax, [fs:ebx + 2]
	cmp ax, [VAR_RXNEXT]
	jne .got
	PAST_DEADLINE_FAIL "a frame from the host did not come"
	hlt
	jmp .poll
.got:
	movzx ebx, word [VAR_RXNEXT]
	shl ebx, 3
	add ebx, RX_USED + 4
	mov eax, [fs:ebx]		; id: the buffer
	cmp dword [fs:ebx + 4], 12 + FRAME_LEN
	je .len_ok
	FAIL "a received frame has the wrong length"
.len_ok:
	shl eax, 11
	add eax, RX_BUF
	mov ebx, eax
	cmp word [fs:ebx + 10], 1
	je .nb_ok
	FAIL "num_buffers is not 1"
.nb_ok:
	cmp word [fs:ebx + 12 + 12], 0xb588
	je .type_ok
	FAIL "a received frame is not ethertype 0x88b5"
.type_ok:
	mov ax, [VAR_RXNEXT]
	inc ax
	mov [VAR_RXNEXT], ax
	cmp [fs:ebx + 12 + 14], al
	je .seq_ok
	FAIL "frames out of order"
.seq_ok:
	dec cx
	jnz .next
	ret

guest_payload:
	db "minivmm-net-guest", 0

GUEST_FOOTER
