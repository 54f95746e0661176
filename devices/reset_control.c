// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/reset_control.h"
#include "vmm/device.h"

#include <stdio.h>
#include <stdlib.h>

#include <stdatomic.h>

#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04
#define RCR_FULL_RST 0x08

void reset_control_init(struct reset_control *rc, const struct machine_events *ev)
{
	rc->events = *ev;
	rc->value = 0;
}

void reset_control_reset(void *opaque)
{
	struct reset_control *rc = opaque;

	__atomic_store_n(&rc->value, 0, __ATOMIC_RELAXED);
}

static uint64_t reset_control_read(void *opaque, uint64_t offset, unsigned size)
{
	struct reset_control *rc = opaque;

	return __atomic_load_n(&rc->value, __ATOMIC_RELAXED);
}

static void reset_control_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct reset_control *rc = opaque;

	__atomic_store_n(&rc->value, (uint8_t)(value & (RCR_SYS_RST | RCR_FULL_RST)),
			 __ATOMIC_RELAXED);
	if (value & RCR_RST_CPU)
		rc->events.reset(rc->events.opaque);
}

const struct bus_ops reset_control_bus_ops = {
	.read = reset_control_read,
	.write = reset_control_write,
};

/* ---- the board's view ---- */

static void *reset_control_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
				      char *err, size_t errlen)
{
	struct reset_control *rc = calloc(1, sizeof(*rc));

	if (!rc) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	reset_control_init(rc, ctx->events);
	return rc;
}

const struct device_type reset_control_type = {
	.name = "reset-control",
	.create = reset_control_dev_create,
	.reset = reset_control_reset,
	.destroy = free,
};
