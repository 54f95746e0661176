/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keyboard and pointer input over the control interface (vmm/qmp.h), with
 * QEMU 7.2's names and arguments, into the input router (vmm/input.h):
 *
 *   send-key {keys: [KeyValue...], hold-time?: ms}
 *        presses the keys in order, holds them hold-time (default 100 ms,
 *        0..60000) and releases them in reverse order, as a user typing a
 *        chord (Ctrl-Alt-Delete); a send-key while one is held first
 *        releases the held keys.
 *   input-send-event {events: [InputEvent...]}
 *        key {down, key}, btn {down, button: left|middle|right|wheel-up|
 *        wheel-down}, rel {axis: x|y, value}, abs {axis: x|y, value
 *        0..0x7fff}.  Keys go out in order; the pointer events of one
 *        command make one pointer report at the end (QEMU's sync).
 *
 * KeyValue is {type: "qcode", data: NAME} (QEMU's QKeyCode names: "a",
 * "ctrl", "alt", "delete", "f1", "kp_enter", ...) or {type: "number",
 * data: QNUM} (the XT scan code, 0x80 | code for E0-prefixed keys).  Both
 * commands reach the guest only while it runs, as every input does.
 */
#ifndef MINIVMM_INPUT_CONTROL_H
#define MINIVMM_INPUT_CONTROL_H

struct qmp;
struct input;
struct event_loop;

struct input_control;

struct input_control *input_control_new(struct input *in, struct event_loop *loop);
void input_control_free(struct input_control *ic);

/* Registers the commands; 0 or the error of qmp_register(). */
int input_control_register(struct qmp *q, struct input_control *ic);

/* The qnum of a QKeyCode name, or -1 (exported for tests and the VNC
 * keymaps). */
int input_qcode_qnum(const char *name);

#endif
