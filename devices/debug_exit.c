// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/debug_exit.h"

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return ~0ULL;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	const struct machine_events *ev = opaque;

	(void)offset;
	(void)size;
	/* The exit status is a byte: only V's low 7 bits survive, as in QEMU. */
	ev->exit(ev->opaque, (int)(((value << 1) | 1) & 0xff));
}

const struct bus_ops debug_exit_bus_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};
