/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The i8042 keyboard controller, as far as this machine has it yet: the
 * command port 0x64 with the "pulse reset line" command 0xFE, which Linux
 * and many BIOSes use to reboot.  Status reads all ones (no controller), so
 * drivers do not probe for a keyboard; the full controller (self-test,
 * command byte, A20 output port, keyboard and aux port) replaces this with
 * the PC-platform work.
 */
#ifndef MINIVMM_I8042_H
#define MINIVMM_I8042_H

#include "vmm/bus.h"
#include "vmm/machine_events.h"

#define I8042_CMD_PORT 0x64

extern const struct bus_ops i8042_cmd_bus_ops; /* opaque: const struct machine_events * */

#endif
