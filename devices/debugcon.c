// SPDX-License-Identifier: GPL-2.0-or-later
#include "devices/debugcon.h"

#include <stdio.h>
#include <stdlib.h>

#include "vmm/bus.h"

/* The log file is created only once the VM has started (a failed start
 * changes no file): until then what the guest writes is dropped. */
struct debugcon {
	FILE *const *out;
};

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0xe9;
}

static void debugcon_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct debugcon *d = opaque;

	FILE *out = *d->out;

	if (size != 1 || !out)
		return;
	fputc((int)(value & 0xff), out);
	if (value == '\n')
		fflush(out);
}

static const struct bus_ops debugcon_ops = { .read = debugcon_read, .write = debugcon_write };

static void *debugcon_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			     size_t errlen)
{
	struct debugcon *d = calloc(1, sizeof(*d));

	if (!d || !e->arg) {
		snprintf(err, errlen, "%s: %s", e->id, d ? "no log file" : "out of memory");
		free(d);
		return NULL;
	}
	d->out = e->arg;
	if (dev_claim(ctx->pio, e->port, 1, &debugcon_ops, d, e->id, err, errlen) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

static void debugcon_destroy(void *state)
{
	struct debugcon *d = state;

	if (*d->out)
		fflush(*d->out);
	free(d);
}

const struct device_type debugcon_type = {
	.name = "isa-debugcon",
	.create = debugcon_create,
	.destroy = debugcon_destroy,
};
