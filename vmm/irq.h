/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An interrupt line as a device sees it: the device reports the level of its
 * output pin; what is behind it (KVM_IRQ_LINE, a PCI INTx router, a test's
 * recorder) is the creator's business.
 */
#ifndef MINIVMM_IRQ_H
#define MINIVMM_IRQ_H

#include <stdbool.h>

struct irq_line {
	void (*set_level)(void *opaque, unsigned gsi, bool level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *line, bool level)
{
	if (line && line->set_level)
		line->set_level(line->opaque, line->gsi, level);
}

#endif
