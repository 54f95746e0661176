; SPDX-License-Identifier: GPL-2.0-or-later
; cdpoll: a guest that watches the ATAPI CD-ROM drive (secondary master,
; 0x170) the way Windows' cdrom driver does, by polling, and proves what the
; drive reports across a disc change (devices/atapi.c, the tray):
;
;   every round: GET EVENT STATUS NOTIFICATION (polled, media class), then
;   TEST UNIT READY, and on an error REQUEST SENSE;
;   it prints each media event ("cdpoll: event EE status SS") and each new
;   sense ("cdpoll: sense KK/AA/QQ");
;   phase 1 waits for a disc that is ready, reads its block 16 and prints
;   bytes 40..55 (an ISO's volume id): "cdpoll: disc 1: LABEL";
;   phase 2 waits for a change (a media event or an error) and then a ready
;   drive again, reads block 16 of the new disc: "cdpoll: disc 2: LABEL",
;   then PASS (status 33).
;
; With no disc (--cdrom '') phase 1 prints the drive's NOT READY sense and
; gives up after PHASE1_ROUNDS ("cdpoll: no disc"); without a change phase
; 2 gives up after PHASE2_ROUNDS ("cdpoll: no change"); both debug-exit with
; NO_CHANGE_CODE (status 35).  A drive that stays busy is a FAIL.
	bits 16
	org 0
%include "lib.inc"

%define CD_BASE		0x170
%define BUF		0x8000		; data-in buffer (ES = 0)
%define BUF_CAP		4096
%define VAR_SENSE	0x500		; dword: the last sense printed
%define VAR_CHANGE	0x504		; byte: a change was seen
%define PHASE1_ROUNDS	300
%define PHASE2_ROUNDS	1500
%define NO_CHANGE_CODE	0x11

start:
	GUEST_INIT
	PRINTLN "cdpoll: start"
	mov dword [VAR_SENSE], 0
	mov bp, PHASE1_ROUNDS
.phase1:
	call poll_round
	jnc .ready1
	call delay
	dec bp
	jnz .phase1
	PRINTLN "cdpoll: no disc"
	DEBUG_EXIT NO_CHANGE_CODE
.ready1:
	PRINT "cdpoll: disc 1: "
	call print_label
	mov byte [VAR_CHANGE], 0
	mov bp, PHASE2_ROUNDS
.phase2:
	call poll_round
	jc .not_ready
	cmp byte [VAR_CHANGE], 0
	jne .ready2
	jmp .next
.not_ready:
	mov byte [VAR_CHANGE], 1
.next:	call delay
	dec bp
	jnz .phase2
	PRINTLN "cdpoll: no change"
	DEBUG_EXIT NO_CHANGE_CODE
.ready2:
	PRINT "cdpoll: disc 2: "
	call print_label
	PASS

; One round: GESN, then TEST UNIT READY.  CF set when the drive is not ready.
poll_round:
	mov si, pkt_gesn
	call atapi_cmd
	test al, 0x01
	jnz .tur
	mov al, [BUF + 4]		; media event code
	test al, al
	jz .tur
	mov byte [VAR_CHANGE], 1
	PRINT "cdpoll: event "
	call print_hex8
	PRINT " status "
	mov al, [BUF + 5]
	call print_hex8
	call serial_newline
.tur:	mov si, pkt_tur
	call atapi_cmd
	test al, 0x01
	jnz .sense
	mov dword [VAR_SENSE], 0	; a later error is news again
	clc
	ret
.sense:	mov si, pkt_sense
	call atapi_cmd
	test al, 0x01
	jnz .bad
	xor eax, eax
	mov al, [BUF + 2]
	and al, 0x0f
	shl eax, 16
	mov ah, [BUF + 12]
	mov al, [BUF + 13]
	cmp eax, [VAR_SENSE]
	je .same
	mov [VAR_SENSE], eax
	PRINT "cdpoll: sense "
	shr eax, 16
	call print_hex8
	PRINT "/"
	mov al, [BUF + 12]
	call print_hex8
	PRINT "/"
	mov al, [BUF + 13]
	call print_hex8
	call serial_newline
.same:	stc
	ret
.bad:	FAIL "REQUEST SENSE failed"

; READ(10) of block 16; prints its bytes 40..55, dots for the unprintable.
print_label:
	mov si, pkt_read
	call atapi_cmd
	test al, 0x01
	jnz .err
	cmp cx, 2048
	jne .short
	mov si, BUF + 40
	mov cx, 16
.ch:	mov al, [si]
	inc si
	cmp al, ' '
	jb .dot
	cmp al, '~'
	jbe .put
.dot:	mov al, '.'
.put:	call serial_putc
	loop .ch
	call serial_newline
	ret
.err:	FAIL "READ(10) of the disc failed"
.short:	FAIL "READ(10) moved a short block"

; cs:si = a 12-byte packet.  Runs it by PIO with a byte count limit of
; 0xfffe; the data-in phase goes to BUF (at most BUF_CAP bytes kept).
; Returns al = the final status, cx = bytes kept.
atapi_cmd:
	push bx
	push dx
	push di
	mov dx, CD_BASE + 6
	mov al, 0xa0			; master
	out dx, al
	mov dx, CD_BASE + 1
	xor al, al			; features: PIO
	out dx, al
	mov dx, CD_BASE + 4
	mov al, 0xfe
	out dx, al
	inc dx
	mov al, 0xff
	out dx, al
	mov dx, CD_BASE + 7
	mov al, 0xa0			; PACKET
	out dx, al
	call wait_not_busy
	test al, 0x08
	jz .fail
	mov cx, 6
	mov dx, CD_BASE
.pkt:	cs lodsw
	out dx, ax
	loop .pkt
	xor bx, bx
	mov di, BUF
.phase:	call wait_not_busy
	test al, 0x08
	jz .done
	mov dx, CD_BASE + 4		; this window's byte count
	in al, dx
	mov cl, al
	inc dx
	in al, dx
	mov ch, al
	inc cx
	shr cx, 1
	mov dx, CD_BASE
.word:	in ax, dx
	cmp di, BUF + BUF_CAP
	jae .drop
	stosw
	add bx, 2
.drop:	loop .word
	jmp .phase
.done:	mov cx, bx
	pop di
	pop dx
	pop bx
	ret
.fail:	FAIL "the drive did not ask for the packet"

; Polls the status register until BSY clears; al = status.
wait_not_busy:
	push ecx
	push dx
	mov ecx, 2000000
	mov dx, CD_BASE + 7
.poll:	in al, dx
	test al, 0x80
	jz .ok
	dec ecx
	jnz .poll
	FAIL "the drive stayed busy"
.ok:	pop dx
	pop ecx
	ret

; A pause between rounds: port 0x80 writes, one exit each.
delay:
	push cx
	mov cx, 200
.d:	out 0x80, al
	loop .d
	pop cx
	ret

pkt_tur:	db 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
pkt_sense:	db 0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0
pkt_gesn:	db 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0
pkt_read:	db 0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0, 0, 0

	GUEST_FOOTER
