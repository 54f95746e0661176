/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PIIX3 reset control register at port 0xcf9: a write with bit 2
 * (RST_CPU) set resets the machine; bits 1 (SYS_RST) and 3 (full reset)
 * are kept and read back.
 */
#ifndef MINIVMM_RESET_CONTROL_H
#define MINIVMM_RESET_CONTROL_H

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/machine_events.h"

struct reset_control {
	struct machine_events events;
	uint8_t value;
};

void reset_control_init(struct reset_control *rc, const struct machine_events *ev);
void reset_control_reset(void *rc);
extern const struct bus_ops reset_control_bus_ops; /* opaque: struct reset_control * */

/* Board row: no port of its own: 0xcf9 shares its dword with the PCI address port, and the board links it to the host bridge. */
extern const struct device_type reset_control_type;

#endif
