// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/port92.h"
#include "vmm/device.h"

#include <stdio.h>
#include <stdlib.h>

#define PORT92_RESET 0x01
#define PORT92_A20   0x02

void port92_init(struct port92 *p, const struct machine_events *ev)
{
	p->events = *ev;
	p->value = 0;
}

void port92_reset(void *opaque)
{
	struct port92 *p = opaque;

	__atomic_store_n(&p->value, 0, __ATOMIC_RELAXED);
}

static uint64_t port92_read(void *opaque, uint64_t offset, unsigned size)
{
	struct port92 *p = opaque;

	return __atomic_load_n(&p->value, __ATOMIC_RELAXED);
}

static void port92_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct port92 *p = opaque;
	uint8_t old = __atomic_exchange_n(&p->value, (uint8_t)(value & (PORT92_A20 | PORT92_RESET)),
					  __ATOMIC_RELAXED);

	if (!(old & PORT92_RESET) && (value & PORT92_RESET))
		p->events.reset(p->events.opaque);
}

const struct bus_ops port92_bus_ops = {
	.read = port92_read,
	.write = port92_write,
};

/* ---- the board's view ---- */

static void *port92_dev_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			       size_t errlen)
{
	struct port92 *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	port92_init(p, ctx->events);
	if (dev_claim(ctx->pio, e->port, 1, &port92_bus_ops, p, e->id, err, errlen) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

const struct device_type port92_type = {
	.name = "port92",
	.create = port92_dev_create,
	.reset = port92_reset,
	.destroy = free,
};
