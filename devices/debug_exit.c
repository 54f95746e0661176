// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/debug_exit.h"
#include "vmm/device.h"

#include <stdio.h>
#include <stdlib.h>

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	return ~0ULL;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	const struct machine_events *ev = opaque;

	/* The exit status is a byte: only V's low 7 bits survive, as in QEMU. */
	ev->exit(ev->opaque, (int)(((value << 1) | 1) & 0xff));
}

const struct bus_ops debug_exit_bus_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

/* ---- the board's view: the state is the machine-events copy ---- */

static void *debug_exit_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
				   char *err, size_t errlen)
{
	struct machine_events *ev = malloc(sizeof(*ev));

	if (!ev) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	*ev = *ctx->events;
	if (dev_claim(ctx->pio, e->port, 4, &debug_exit_bus_ops, ev, e->id, err, errlen) < 0) {
		free(ev);
		return NULL;
	}
	return ev;
}

const struct device_type debug_exit_type = {
	.name = "isa-debug-exit",
	.create = debug_exit_dev_create,
	.destroy = free,
};
