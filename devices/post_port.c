// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/post_port.h"

#include "vmm/bus.h"

static void post_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
}

static const struct bus_ops post_ops = { .write = post_write };

/* No state: the board still wants a non-NULL one, so the ops themselves. */
static void *post_port_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			      size_t errlen)
{
	void *state = (void *)&post_ops;

	if (dev_claim(ctx->pio, e->port, 1, &post_ops, state, e->id, err, errlen) < 0)
		return NULL;
	return state;
}

const struct device_type post_port_type = {
	.name = "post",
	.create = post_port_create,
};
