// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/i8042.h"

#define I8042_CMD_PULSE_RESET 0xfe

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return ~0ULL;
}

static void i8042_cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	const struct machine_events *ev = opaque;

	(void)offset;
	(void)size;
	if ((value & 0xff) == I8042_CMD_PULSE_RESET)
		ev->reset(ev->opaque);
}

const struct bus_ops i8042_cmd_bus_ops = {
	.read = i8042_cmd_read,
	.write = i8042_cmd_write,
};
