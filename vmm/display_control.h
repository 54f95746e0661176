/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The display's QMP commands: screendump {filename, format?: ppm|png}
 * (vmm/screendump.h), set_password {protocol: "vnc", password,
 * connected?} and change-vnc-password {password} (vmm/vnc.h), with QEMU
 * 7.2's error texts.  Handlers run on the loop thread.
 */
#ifndef MINIVMM_DISPLAY_CONTROL_H
#define MINIVMM_DISPLAY_CONTROL_H

#include <stdbool.h>

struct qmp;
struct display;
struct vnc;

struct display_control {
	struct display *display;
	struct vnc *vnc;	 /* NULL: no --vnc */
	bool vnc_password;	 /* the server asks for one (password=on) */
};

/* 0 or a negative errno; dc must outlive the registry's use of it. */
int display_control_register(struct qmp *q, struct display_control *dc);

#endif
