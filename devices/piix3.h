/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PIIX3 PCI-to-ISA bridge (00:01.0, 8086:7000) as the PCI interrupt
 * router: PIRQ A-D route registers at config 0x60-0x63 (bit 7 disables,
 * bits 3:0 name the ISA IRQ).  PCI INTx levels arrive from the PCI core per
 * PIRQ; the bridge ORs the PIRQs that share an ISA IRQ and drives that IRQ
 * as a level through the irq_line the machine gives it (KVM_IRQ_LINE).
 * It answers the core's pci_dev_intx_gsi() (GSI = ISA IRQ, -1 when the
 * PIRQ is disabled or names an IRQ the PIIX3 cannot drive) and reports
 * every route change through pci_bus_pirq_route_changed().
 *
 * Function 0 reports a multi-function header so that firmware scans the
 * IDE and power-management functions behind it.
 */
#ifndef MINIVMM_PIIX3_H
#define MINIVMM_PIIX3_H

#include "vmm/device.h"
#include "devices/pci.h"
#include "vmm/irq.h"

#define PIIX3_PIRQRC 0x60

struct piix3;

/* isa_irq: set_level/opaque used for every ISA IRQ; its gsi is ignored. */
struct piix3 *piix3_create(struct pci_bus *bus, const struct irq_line *isa_irq);
void piix3_destroy(struct piix3 *p);

/* Board row: .devfn 01.0 (the PIRQ router of PCI bus 0). */
extern const struct device_type piix3_type;

#endif
