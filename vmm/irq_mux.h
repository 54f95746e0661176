/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Several devices driving one ISA interrupt line.  A PCI INTx routed by
 * the PIIX3 can land on the IRQ of an ISA device (the SCI on 9, the mouse
 * on 12, IDE on 14): on real hardware the levels are wired-OR.  Each source
 * gets its own bit; the line is the OR of the bits, and the sink (KVM's
 * IRQ line) is told only when that OR changes.
 */
#ifndef MINIVMM_IRQ_MUX_H
#define MINIVMM_IRQ_MUX_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/irq.h"

#define IRQ_MUX_LINES	24
#define IRQ_MUX_SOURCES 32

struct irq_mux {
	pthread_mutex_t lock;
	uint32_t level[IRQ_MUX_LINES]; /* bit s: source s holds the line high */
	void (*sink)(void *opaque, unsigned gsi, bool level);
	void *sink_opaque;
	struct irq_mux_source {
		struct irq_mux *mux;
		uint32_t bit;
	} source[IRQ_MUX_SOURCES];
	unsigned nr_sources;
};

void irq_mux_init(struct irq_mux *mux, void (*sink)(void *opaque, unsigned gsi, bool level),
		  void *sink_opaque);
void irq_mux_destroy(struct irq_mux *mux);
/* An irq_line for a new source on gsi (for a router, a template whose gsi
 * it replaces).  -ENOSPC when all sources are taken. */
int irq_mux_line(struct irq_mux *mux, unsigned gsi, struct irq_line *line);

#endif
