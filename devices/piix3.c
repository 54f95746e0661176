// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PIIX3 ISA bridge: the PCI interrupt router.
 */
#include "devices/piix3.h"
#include "vmm/device.h"

#include <stdio.h>

#include <stdlib.h>

#define PIRQ_DISABLED 0x80

struct piix3 {
	struct pci_bus *bus;
	struct pci_dev *dev;
	struct irq_line line;
	/* Both guarded by the PCI core's INTx mutex (see pci_bus_reroute). */
	uint8_t route[4];
	unsigned isa_count[16];
	unsigned pending_pirq; /* for route_update */
};

/* An ISA IRQ a PIRQ may drive: the PIIX3 accepts 3-7, 9-12, 14 and 15. */
static int route_irq(uint8_t route)
{
	unsigned irq = route & 0x0f;

	if (route & PIRQ_DISABLED)
		return -1;
	if (irq < 3 || irq == 8 || irq == 13)
		return -1;
	return (int)irq;
}

static void pirq_changed(void *opaque, unsigned pirq, bool level)
{
	struct piix3 *p = opaque;
	int irq = route_irq(p->route[pirq & 3]);

	if (irq < 0)
		return;
	if (level) {
		if (p->isa_count[irq]++ == 0)
			p->line.set_level(p->line.opaque, (unsigned)irq, true);
	} else if (p->isa_count[irq] > 0) {
		if (--p->isa_count[irq] == 0)
			p->line.set_level(p->line.opaque, (unsigned)irq, false);
	}
}

static void route_update(void *opaque)
{
	struct piix3 *p = opaque;
	unsigned i = p->pending_pirq;

	p->route[i] = pci_dev_config(p->dev)[PIIX3_PIRQRC + i];
}

/* With the PCI core's INTx mutex held.  GSI n is ISA IRQ n on the
 * in-kernel irqchip. */
static int pirq_gsi(void *opaque, unsigned pirq)
{
	struct piix3 *p = opaque;

	return route_irq(p->route[pirq & 3]);
}

static void sync_routes(struct piix3 *p)
{
	for (unsigned i = 0; i < 4; i++) {
		if (p->route[i] == pci_dev_config(p->dev)[PIIX3_PIRQRC + i])
			continue;
		/* Runs under the PCI config lock, so pending_pirq is ours. */
		p->pending_pirq = i;
		pci_bus_reroute(p->bus, i, route_update, p);
		pci_bus_pirq_route_changed(p->bus, i);
	}
}

static void piix3_config_write(void *opaque, struct pci_dev *dev, unsigned off, unsigned size,
			       uint32_t old)
{
	if (off < PIIX3_PIRQRC + 4 && off + size > PIIX3_PIRQRC)
		sync_routes(opaque);
}

static void piix3_reset(void *opaque, struct pci_dev *dev)
{
	sync_routes(opaque);
}

static const struct pci_dev_ops piix3_ops = {
	.config_write = piix3_config_write,
	.reset = piix3_reset,
};

struct piix3 *piix3_create(struct pci_bus *bus, const struct irq_line *isa_irq)
{
	static const struct pci_dev_info info = {
		.vendor = 0x8086,
		.device = 0x7000,
		.class_code = 0x060100,
		.header_type = PCI_HEADER_TYPE_MULTI,
		.name = "piix3",
	};
	struct piix3 *p = calloc(1, sizeof(*p));
	uint8_t *cfg, *wmask;

	if (!p)
		return NULL;
	p->bus = bus;
	p->line = *isa_irq;
	p->dev = pci_dev_add(bus, PCI_DEVFN(1, 0), &info, &piix3_ops, p);
	if (!p->dev) {
		free(p);
		return NULL;
	}
	cfg = pci_dev_config(p->dev);
	wmask = pci_dev_wmask(p->dev);
	/* The device-specific registers (I/O recovery, top of memory, the
	 * APIC base, SMI and misc control) keep what is written; the PIRQ
	 * registers also change the routing. */
	for (unsigned i = 0x40; i < PCI_CFG_SIZE; i++)
		wmask[i] = 0xff;
	for (unsigned i = 0; i < 4; i++) {
		cfg[PIIX3_PIRQRC + i] = PIRQ_DISABLED;
		p->route[i] = PIRQ_DISABLED;
	}
	cfg[0x4c] = 0x4d; /* ISA I/O recovery timer, as the datasheet resets it */
	cfg[0x69] = 0x02; /* top of memory */
	cfg[0x70] = PIRQ_DISABLED; /* MBIRQ0 */
	cfg[0x71] = PIRQ_DISABLED; /* MBIRQ1 */
	cfg[0x76] = 0x0c; /* MBDMA0 */
	cfg[0x77] = 0x0c; /* MBDMA1 */
	cfg[0x78] = 0x02; /* PCSC */
	cfg[0xa0] = 0x08; /* SMI control */
	cfg[0xa8] = 0x0f; /* SEE */
	pci_bus_set_router(bus, pirq_changed, p);
	pci_bus_set_router_gsi(bus, pirq_gsi, p);
	return p;
}

void piix3_destroy(struct piix3 *p)
{
	free(p);
}

/* ---- the board's view ---- */

static void *piix3_dev_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			      size_t errlen)
{
	struct irq_line isa;
	struct piix3 *p;

	/* The router names the ISA IRQ per call: gsi 0 is a template. */
	if (dev_isa_irq(ctx, 0, &isa, err, errlen) < 0)
		return NULL;
	p = piix3_create(ctx->pci, &isa);
	if (!p)
		snprintf(err, errlen, "%s: cannot add the ISA bridge at 00:01.0", e->id);
	return p;
}

static void piix3_dev_destroy(void *state)
{
	piix3_destroy(state);
}

/* Reset comes from the PCI bus reset (its config space holds all state). */
const struct device_type piix3_type = {
	.name = "piix3",
	.create = piix3_dev_create,
	.destroy = piix3_dev_destroy,
};
