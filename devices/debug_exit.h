/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The debug-exit port (QEMU's isa-debug-exit convention): a write of V ends
 * minivmm with exit status (V << 1) | 1.  Reads return 0xff..., as an
 * unclaimed port.  Registered at 0xf4, four bytes wide, only when asked for.
 */
#ifndef MINIVMM_DEBUG_EXIT_H
#define MINIVMM_DEBUG_EXIT_H

#include "vmm/device.h"
#include "vmm/bus.h"
#include "vmm/machine_events.h"

extern const struct bus_ops debug_exit_bus_ops; /* opaque: const struct machine_events * */

/* Board row: .port 0xf4 (4 ports). */
extern const struct device_type debug_exit_type;

#endif
