// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * i440FX host bridge and configuration mechanism #1.
 */
#include "devices/i440fx.h"
#include "vmm/device.h"

#include <stdio.h>

#include <stdatomic.h>
#include <stdlib.h>

#define I440FX_PAM0  0x59
#define I440FX_SMRAM 0x72
#define CONF_ENABLE  0x80000000u

struct i440fx {
	struct pci_bus *bus;
	struct pci_dev *dev;
	_Atomic uint32_t addr; /* the 0xcf8 latch */
	const struct bus_ops *cf9_ops;
	void *cf9_opaque;
};

struct i440fx *i440fx_create(struct pci_bus *bus)
{
	static const struct pci_dev_info info = {
		.vendor = 0x8086,
		.device = 0x1237,
		.class_code = 0x060000,
		.revision = 0x02,
		.name = "i440fx",
	};
	struct i440fx *h = calloc(1, sizeof(*h));
	uint8_t *wmask;

	if (!h)
		return NULL;
	h->bus = bus;
	h->dev = pci_dev_add(bus, PCI_DEVFN(0, 0), &info, NULL, h);
	if (!h->dev) {
		free(h);
		return NULL;
	}
	wmask = pci_dev_wmask(h->dev);
	for (unsigned i = I440FX_PAM0; i <= 0x5f; i++)
		wmask[i] = 0xff;
	wmask[I440FX_SMRAM] = 0xff;
	pci_dev_config(h->dev)[I440FX_SMRAM] = 0x02;
	return h;
}

void i440fx_destroy(struct i440fx *h)
{
	free(h);
}

void i440fx_set_cf9(struct i440fx *h, const struct bus_ops *ops, void *opaque)
{
	h->cf9_ops = ops;
	h->cf9_opaque = opaque;
}

void i440fx_reset(void *opaque)
{
	struct i440fx *h = opaque;

	atomic_store(&h->addr, 0);
}

static uint64_t addr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i440fx *h = opaque;

	if (offset == 0 && size == 4)
		return atomic_load(&h->addr);
	if (offset == 1 && size == 1 && h->cf9_ops && h->cf9_ops->read)
		return h->cf9_ops->read(h->cf9_opaque, 0, 1);
	return ~0ULL;
}

static void addr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i440fx *h = opaque;

	if (offset == 0 && size == 4)
		atomic_store(&h->addr, (uint32_t)value & 0xfffffffcu);
	else if (offset == 1 && size == 1 && h->cf9_ops && h->cf9_ops->write)
		h->cf9_ops->write(h->cf9_opaque, 0, value, 1);
}

/* The function and register a data-port access at offset hits, or false
 * when the latch is disabled or names another bus. */
static bool target(struct i440fx *h, uint64_t offset, unsigned size, unsigned *devfn,
		   unsigned *reg)
{
	uint32_t a = atomic_load(&h->addr);

	if (!(a & CONF_ENABLE) || ((a >> 16) & 0xff) != 0)
		return false;
	if ((offset & 3) + size > 4)
		return false;
	*devfn = (a >> 8) & 0xff;
	*reg = (a & 0xfc) | (unsigned)(offset & 3);
	return true;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i440fx *h = opaque;
	unsigned devfn, reg;

	if (size > 4 || !target(h, offset, size, &devfn, &reg))
		return ~0ULL;
	return pci_config_read(h->bus, devfn, reg, size);
}

static void data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i440fx *h = opaque;
	unsigned devfn, reg;

	if (size <= 4 && target(h, offset, size, &devfn, &reg))
		pci_config_write(h->bus, devfn, reg, (uint32_t)value, size);
}

const struct bus_ops i440fx_conf_addr_ops = { .read = addr_read, .write = addr_write };
const struct bus_ops i440fx_conf_data_ops = { .read = data_read, .write = data_write };

/* ---- the board's view ---- */

static void *i440fx_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
			       char *err, size_t errlen)
{
	struct i440fx *h = i440fx_create(ctx->pci);

	if (!h) {
		snprintf(err, errlen, "%s: cannot add the host bridge at 00:00.0", e->id);
		return NULL;
	}
	if (dev_claim(ctx->pio, PCI_CONF_ADDR_PORT, 4, &i440fx_conf_addr_ops, h, "pci-conf-addr",
		      err, errlen) < 0 ||
	    dev_claim(ctx->pio, PCI_CONF_DATA_PORT, 4, &i440fx_conf_data_ops, h, "pci-conf-data",
		      err, errlen) < 0) {
		i440fx_destroy(h);
		return NULL;
	}
	return h;
}

static void i440fx_dev_destroy(void *state)
{
	i440fx_destroy(state);
}

const struct device_type i440fx_type = {
	.name = "i440fx",
	.create = i440fx_dev_create,
	.reset = i440fx_reset,
	.destroy = i440fx_dev_destroy,
};
