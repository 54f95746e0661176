; SPDX-License-Identifier: GPL-2.0-or-later
; Idle guest for the control-socket tests (tests/guest/qmp_test.py): says
; one line on COM1, so a test sees when the first instructions ran (with
; --qmp ...,wait=on only after a client connected), then halts with
; interrupts off until the host ends the VM.
	bits 16
	org 0
%include "lib.inc"

start:
	GUEST_INIT
	PRINTLN "idle guest up"
	jmp guest_halt

	GUEST_FOOTER
