// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Wired-OR interrupt lines.
 */
#include "vmm/irq_mux.h"

#include <errno.h>
#include <string.h>

void irq_mux_init(struct irq_mux *mux, void (*sink)(void *opaque, unsigned gsi, bool level),
		  void *sink_opaque)
{
	memset(mux, 0, sizeof(*mux));
	pthread_mutex_init(&mux->lock, NULL);
	mux->sink = sink;
	mux->sink_opaque = sink_opaque;
}

void irq_mux_destroy(struct irq_mux *mux)
{
	pthread_mutex_destroy(&mux->lock);
}

static void mux_set(void *opaque, unsigned gsi, bool level)
{
	struct irq_mux_source *s = opaque;
	struct irq_mux *mux = s->mux;
	bool was, now;

	if (gsi >= IRQ_MUX_LINES)
		return;
	pthread_mutex_lock(&mux->lock);
	was = mux->level[gsi] != 0;
	if (level)
		mux->level[gsi] |= s->bit;
	else
		mux->level[gsi] &= ~s->bit;
	now = mux->level[gsi] != 0;
	/* Under the lock, so that two sources cannot reorder their calls. */
	if (was != now)
		mux->sink(mux->sink_opaque, gsi, now);
	pthread_mutex_unlock(&mux->lock);
}

int irq_mux_line(struct irq_mux *mux, unsigned gsi, struct irq_line *line)
{
	struct irq_mux_source *s;

	if (mux->nr_sources == IRQ_MUX_SOURCES)
		return -ENOSPC;
	s = &mux->source[mux->nr_sources];
	s->mux = mux;
	s->bit = 1u << mux->nr_sources++;
	*line = (struct irq_line){ .set_level = mux_set, .opaque = s, .gsi = gsi };
	return 0;
}
