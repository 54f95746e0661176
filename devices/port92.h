/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * System control port A (0x92): bit 1 is the A20 gate (kept and read back;
 * KVM has no A20 masking, so the address line is always on, as in QEMU with
 * KVM), a 0->1 change of bit 0 is a fast reset.
 */
#ifndef MINIVMM_PORT92_H
#define MINIVMM_PORT92_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/machine_events.h"

struct port92 {
	struct machine_events events;
	uint8_t value;
};

void port92_init(struct port92 *p, const struct machine_events *ev);
void port92_reset(void *p);
extern const struct bus_ops port92_bus_ops; /* opaque: struct port92 * */

/* Board row: .port 0x92. */
extern const struct device_type port92_type;

#endif
