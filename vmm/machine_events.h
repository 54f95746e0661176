/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How a device asks for a machine-wide change (reset, power off, exit)
 * without knowing about vCPUs or KVM; tests pass recorders. */
#ifndef MINIVMM_MACHINE_EVENTS_H
#define MINIVMM_MACHINE_EVENTS_H

struct machine_events {
	void (*reset)(void *opaque);
	void (*exit)(void *opaque, int status);
	void *opaque;
};

#endif
