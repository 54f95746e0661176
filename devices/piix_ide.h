/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PIIX3 IDE function (00:01.1, 8086:7010): two channels in legacy mode
 * (0x1f0-0x1f7/0x3f6 on IRQ 14, 0x170-0x177/0x376 on IRQ 15) and the
 * bus-master DMA registers behind BAR4 (16 bytes, 8 per channel).  The ATA
 * and ATAPI behaviour lives in devices/ide.c, ide_ata.c, ide_dma.c and atapi.c.
 */
#ifndef MINIVMM_PIIX_IDE_H
#define MINIVMM_PIIX_IDE_H

#include "devices/ide.h"
#include "devices/pci.h"
#include "vmm/device.h"

#define PIIX_IDE_IRQ0 14
#define PIIX_IDE_IRQ1 15

struct piix_ide;

/* irq: set_level/opaque for the ISA IRQs 14 and 15 (gsi ignored).  The
 * legacy ports are placed on pio here; NULL on failure (err says why). */
struct piix_ide *piix_ide_create(struct pci_bus *pci, unsigned devfn, struct bus *pio,
				 const struct irq_line *irq, const struct guest_mem *mem,
				 struct event_loop *loop, char *err, size_t errlen);
void piix_ide_destroy(struct piix_ide *ide);
/* Enables decoding of both channels (IDETIM bit 15) as firmware does, for
 * a boot without firmware; Linux's ata_piix ignores a channel without it.
 * Call before pci_bus_seal() so that it survives resets. */
void piix_ide_preset_decode(struct piix_ide *ide);
/*
 * Quiesce: no new block request or DMA transfer starts, and every request in
 * flight has completed when this returns, so that no old request writes guest
 * RAM afterwards and that RAM can be reused (reloaded firmware, a new boot).
 * The PCI reset does quiesce, reset, resume by itself; a caller that reloads
 * RAM before the device reset runs should quiesce first and resume after it.
 * Pause is the same operation for a VM stop.  Both nest; each is undone by
 * one piix_ide_resume().  Call without any IDE lock held, normally on the
 * I/O thread with the vCPUs stopped (completions due run on the caller).
 */
void piix_ide_quiesce(struct piix_ide *ide);
void piix_ide_pause(struct piix_ide *ide);
void piix_ide_resume(struct piix_ide *ide);
/* channel 0 primary, 1 secondary. */
struct ide_channel *piix_ide_channel(struct piix_ide *ide, unsigned channel);

/* The board's configuration of the device (piix_ide_type): the drive on
 * each channel (0 primary, 1 secondary) and unit (0 master, 1 slave). */
struct piix_ide_args {
	struct block_dev *drive[2][2];
	bool cdrom[2][2];
};

/* Board row: .devfn 01.1, .arg a const struct piix_ide_args *; the legacy
 * ports and IRQs 14/15 are fixed by the hardware. */
extern const struct device_type piix_ide_type;

#endif
