; SPDX-License-Identifier: GPL-2.0-or-later
; Proves: (1) I/O ports no device claims read as all ones at every width
; (inb 0xff, inw 0xffff, ind 0xffffffff) and writes to them are dropped
; (the ports still read all ones afterwards, the VMM keeps running);
; (2) the BIOS image mapped at the top of 4 GiB is read-only: byte and dword
; writes to 0xffff0000 and 0xfffffff0 (reached in big real mode) leave the
; ROM unchanged, do not touch the RAM copy below 1 MiB and do not stop the
; VMM.
	bits 16
	org 0
%include "lib.inc"

%define ROM_BASE	0xffff0000
%define ROM_RESET	0xfffffff0

; CHECK_PORT width(b/w/d), port
%macro CHECK_PORT 2
	mov dx, %2
%ifidn %1, b
	in al, dx
	cmp al, 0xff
%elifidn %1, w
	in ax, dx
	cmp ax, 0xffff
%else
	in eax, dx
	cmp eax, 0xffffffff
%endif
	je %%ok
	push eax
	PRINT "port ", %str(%2), " in", %str(%1), " = "
	pop eax
	call print_hex32
	call serial_newline
	FAIL "an unclaimed port did not read all ones"
%%ok:
%endmacro

%macro WRITE_PORT 2
	mov dx, %2
	xor eax, eax
%ifidn %1, b
	out dx, al
%elifidn %1, w
	out dx, ax
%else
	out dx, eax
%endif
%endmacro

%macro ALL_PORTS 0
	CHECK_PORT b, 0x0300
	CHECK_PORT w, 0x0300
	CHECK_PORT d, 0x0300
	CHECK_PORT b, 0x5555
	CHECK_PORT w, 0x5554
	CHECK_PORT d, 0x5554
	CHECK_PORT b, 0xe0f1
	CHECK_PORT d, 0xfffc
%endmacro

start:
	GUEST_INIT
	PRINTLN "unclaimed: unclaimed ports and the read-only BIOS"

	ALL_PORTS
	WRITE_PORT b, 0x0300
	WRITE_PORT w, 0x0300
	WRITE_PORT d, 0x0300
	WRITE_PORT b, 0x5555
	WRITE_PORT d, 0x5554
	WRITE_PORT b, 0xe0f1
	WRITE_PORT d, 0xfffc
	ALL_PORTS
	PRINTLN "unclaimed ports read all ones, writes dropped"

	call enter_big_real_mode
	; The ROM's last 16 bytes are the image's, i.e. what CS sees at 0xfff0.
	mov eax, [fs:dword ROM_RESET]
	cmp eax, [cs:0xfff0]
	je .rom_visible
	FAIL "the ROM at 0xfffffff0 differs from the image"
.rom_visible:
	mov ebx, [fs:dword ROM_BASE]
	mov ecx, [fs:dword ROM_RESET]
	mov dword [fs:dword ROM_BASE], 0x12345678
	mov byte [fs:dword ROM_RESET], 0x90
	mov dword [fs:dword ROM_RESET + 4], 0
	cmp [fs:dword ROM_BASE], ebx
	je .rom_base_kept
	FAIL "a dword write changed the ROM at 0xffff0000"
.rom_base_kept:
	cmp [fs:dword ROM_RESET], ecx
	je .rom_reset_kept
	FAIL "a byte write changed the ROM at 0xfffffff0"
.rom_reset_kept:
	mov eax, [cs:0xfff0]
	cmp eax, ecx
	je .copy_kept
	FAIL "a ROM write reached the BIOS copy below 1 MiB"
.copy_kept:
	PRINTLN "ROM writes ignored, ROM unchanged"
	PASS

	GUEST_FOOTER
