// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PIIX3 IDE: the PCI function around two IDE channels.
 */
#include "devices/piix_ide.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIIX_IDE_BMDMA_BAR 4
#define PIIX_IDETIM	   0x40 /* primary; 0x42 secondary */

struct piix_ide {
	struct pci_dev *dev;
	struct ide_channel *ch[2];
};

static const struct {
	uint16_t cmd, ctl;
	unsigned irq;
} legacy[2] = {
	{ 0x1f0, 0x3f6, PIIX_IDE_IRQ0 },
	{ 0x170, 0x376, PIIX_IDE_IRQ1 },
};

/* BAR4: the two channels' bus-master blocks side by side. */
static uint64_t bm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct piix_ide *ide = opaque;
	unsigned c = offset >= IDE_BMDMA_SIZE;

	offset -= c * IDE_BMDMA_SIZE;
	if (offset + size > IDE_BMDMA_SIZE)
		return ~0ULL;
	return ide_bmdma_bus_ops.read(ide->ch[c], offset, size);
}

static void bm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct piix_ide *ide = opaque;
	unsigned c = offset >= IDE_BMDMA_SIZE;

	offset -= c * IDE_BMDMA_SIZE;
	if (offset + size <= IDE_BMDMA_SIZE)
		ide_bmdma_bus_ops.write(ide->ch[c], offset, value, size);
}

static const struct bus_ops bm_ops = { .read = bm_read, .write = bm_write };

void piix_ide_quiesce(struct piix_ide *ide)
{
	for (unsigned c = 0; c < 2; c++)
		ide_channel_pause(ide->ch[c]);
}

void piix_ide_pause(struct piix_ide *ide)
{
	piix_ide_quiesce(ide);
}

void piix_ide_resume(struct piix_ide *ide)
{
	for (unsigned c = 0; c < 2; c++)
		ide_channel_resume(ide->ch[c]);
}

/* Both channels are quiet before either is reset. */
static void piix_ide_reset(void *opaque, struct pci_dev *dev)
{
	struct piix_ide *ide = opaque;

	piix_ide_quiesce(ide);
	ide_channel_reset(ide->ch[0]);
	ide_channel_reset(ide->ch[1]);
	piix_ide_resume(ide);
}

static const struct pci_dev_ops piix_ide_ops = { .reset = piix_ide_reset };

struct piix_ide *piix_ide_create(struct pci_bus *pci, unsigned devfn, struct bus *pio,
				 const struct irq_line *irq, const struct guest_mem *mem,
				 struct event_loop *loop, char *err, size_t errlen)
{
	static const struct pci_dev_info info = {
		.vendor = 0x8086,
		.device = 0x7010,
		.class_code = 0x010180, /* IDE, bus master, both channels legacy */
		.name = "piix3-ide",
	};
	struct piix_ide *ide = calloc(1, sizeof(*ide));
	uint8_t *wmask;

	if (!ide)
		goto nomem;
	for (unsigned c = 0; c < 2; c++) {
		struct irq_line line = *irq;

		line.gsi = legacy[c].irq;
		ide->ch[c] = ide_channel_create(&line, mem, loop);
		if (!ide->ch[c])
			goto nomem;
	}
	ide->dev = pci_dev_add(pci, devfn, &info, &piix_ide_ops, ide);
	if (!ide->dev ||
	    pci_dev_set_bar(ide->dev, PIIX_IDE_BMDMA_BAR, PCI_BAR_IO, false, 16, &bm_ops, ide) < 0)
		goto nomem;
	/* IDE timing registers (decode enable in bit 15), slave timing, UDMA
	 * control and timing keep what firmware and drivers write. */
	wmask = pci_dev_wmask(ide->dev);
	for (unsigned i = PIIX_IDETIM; i < 0x4c; i++)
		wmask[i] = 0xff;
	for (unsigned c = 0; c < 2; c++) {
		char name[32];
		int ret;

		snprintf(name, sizeof(name), "ide%u", c);
		ret = bus_register(pio, legacy[c].cmd, IDE_CMD_SIZE, &ide_cmd_bus_ops, ide->ch[c], name);
		if (ret >= 0) {
			snprintf(name, sizeof(name), "ide%u-ctl", c);
			ret = bus_register(pio, legacy[c].ctl, IDE_CTL_SIZE, &ide_ctl_bus_ops, ide->ch[c],
					   name);
		}
		if (ret < 0) {
			snprintf(err, errlen, "cannot place IDE channel %u at 0x%x: %s", c,
				 legacy[c].cmd, strerror(-ret));
			piix_ide_destroy(ide);
			return NULL;
		}
	}
	return ide;
nomem:
	snprintf(err, errlen, "out of memory creating the IDE controller");
	piix_ide_destroy(ide);
	return NULL;
}

void piix_ide_destroy(struct piix_ide *ide)
{
	if (!ide)
		return;
	for (unsigned c = 0; c < 2; c++)
		if (ide->ch[c])
			ide_channel_destroy(ide->ch[c]);
	free(ide);
}

void piix_ide_preset_decode(struct piix_ide *ide)
{
	uint8_t *cfg = pci_dev_config(ide->dev);

	cfg[PIIX_IDETIM + 1] |= 0x80;
	cfg[PIIX_IDETIM + 3] |= 0x80;
}

struct ide_channel *piix_ide_channel(struct piix_ide *ide, unsigned channel)
{
	return channel < 2 ? ide->ch[channel] : NULL;
}

/* ---- the board's view ---- */

static void *piix_ide_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
				 char *err, size_t errlen)
{
	const struct piix_ide_args *args = e->arg;
	struct piix_ide *ide;
	struct irq_line irq;
	int ret = 0;

	/* IDE names IRQ 14 or 15 per call: gsi 0 is a template. */
	if (dev_isa_irq(ctx, 0, &irq, err, errlen) < 0)
		return NULL;
	ide = piix_ide_create(ctx->pci, (unsigned)e->devfn, ctx->pio, &irq, ctx->mem, ctx->loop,
			      err, errlen);
	if (!ide)
		return NULL;
	for (unsigned ch = 0; args && ch < 2 && ret == 0; ch++) {
		for (unsigned unit = 0; unit < 2 && ret == 0; unit++) {
			struct block_dev *bd = args->drive[ch][unit];

			/* A CD-ROM drive may be empty. */
			if (!bd && !args->cdrom[ch][unit])
				continue;
			ret = args->cdrom[ch][unit] ? ide_attach_cdrom(ide->ch[ch], unit, bd)
						    : ide_attach_disk(ide->ch[ch], unit, bd);
			if (ret < 0)
				snprintf(err, errlen, "%s: cannot attach '%s' as %s %s: %s", e->id,
					 bd ? block_name(bd) : "", ch ? "secondary" : "primary",
					 unit ? "slave" : "master", strerror(-ret));
		}
	}
	if (ret < 0) {
		piix_ide_destroy(ide);
		return NULL;
	}
	return ide;
}

static void piix_ide_dev_quiesce(void *state)
{
	piix_ide_quiesce(state);
}

static void piix_ide_dev_pause(void *state)
{
	piix_ide_pause(state);
}

static void piix_ide_dev_resume(void *state)
{
	piix_ide_resume(state);
}

static void piix_ide_dev_destroy(void *state)
{
	piix_ide_destroy(state);
}

/* Reset comes from the PCI bus reset, through the function's hook.
 * Quiesce and pause both stop the channels and wait for every request in
 * flight; each is undone by one resume (they nest). */
const struct device_type piix_ide_type = {
	.name = "piix3-ide",
	.create = piix_ide_dev_create,
	.quiesce = piix_ide_dev_quiesce,
	.pause = piix_ide_dev_pause,
	.resume = piix_ide_dev_resume,
	.destroy = piix_ide_dev_destroy,
};
