// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCI bus 0 core: configuration space, BAR decoding, ROM BAR, INTx.
 */
#include "devices/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pci_bar {
	enum pci_bar_kind kind;
	bool present, prefetch, upper; /* upper: the high half of a 64-bit BAR */
	uint64_t size;
	const struct bus_ops *ops;
	void *opaque;
	uint64_t mapped; /* 0: not on a bus */
	bool refused; /* wanted a place another region held */
	char name[48];
};

struct pci_dev {
	struct pci_bus *bus;
	unsigned devfn;
	uint8_t config[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t w1cmask[PCI_CFG_SIZE];
	uint8_t power_on[PCI_CFG_SIZE];
	const struct pci_dev_ops *ops;
	void *opaque;
	char name[32];
	struct pci_bar bar[PCI_NUM_BARS];
	uint8_t *rom;
	uint32_t rom_size;
	uint64_t rom_mapped;
	bool rom_refused;
	char rom_name[48];
	unsigned cap_end; /* next free byte for a capability */
	bool irq_level; /* what the function asks for */
	bool irq_asserted; /* what the PIRQ count holds for it */
};

struct pci_bus {
	struct bus *pio, *mmio;
	pthread_mutex_t cfg_lock;
	pthread_mutex_t irq_lock; /* after cfg_lock */
	struct pci_dev *dev[PCI_MAX_DEVFN];
	unsigned pirq_count[4];
	unsigned overlap_reports; /* rate limit for the overlap message */
	pci_pirq_fn *router;
	void *router_opaque;
};

static uint32_t get_le(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint32_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct pci_bus *pci_bus_create(struct bus *pio, struct bus *mmio)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->pio = pio;
	bus->mmio = mmio;
	pthread_mutex_init(&bus->cfg_lock, NULL);
	pthread_mutex_init(&bus->irq_lock, NULL);
	return bus;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		if (bus->dev[i]) {
			free(bus->dev[i]->rom);
			free(bus->dev[i]);
		}
	}
	pthread_mutex_destroy(&bus->cfg_lock);
	pthread_mutex_destroy(&bus->irq_lock);
	free(bus);
}

void pci_bus_set_router(struct pci_bus *bus, pci_pirq_fn *fn, void *opaque)
{
	pthread_mutex_lock(&bus->irq_lock);
	bus->router = fn;
	bus->router_opaque = opaque;
	pthread_mutex_unlock(&bus->irq_lock);
}

bool pci_bus_pirq_level(struct pci_bus *bus, unsigned pirq)
{
	bool level;

	if (pirq > 3)
		return false;
	pthread_mutex_lock(&bus->irq_lock);
	level = bus->pirq_count[pirq] > 0;
	pthread_mutex_unlock(&bus->irq_lock);
	return level;
}

void pci_bus_reroute(struct pci_bus *bus, unsigned pirq, void (*update)(void *opaque),
		     void *opaque)
{
	bool level;

	if (pirq > 3)
		return;
	pthread_mutex_lock(&bus->irq_lock);
	level = bus->pirq_count[pirq] > 0;
	if (level && bus->router)
		bus->router(bus->router_opaque, pirq, false);
	update(opaque);
	if (level && bus->router)
		bus->router(bus->router_opaque, pirq, true);
	pthread_mutex_unlock(&bus->irq_lock);
}

struct pci_dev *pci_dev_add(struct pci_bus *bus, unsigned devfn, const struct pci_dev_info *info,
			    const struct pci_dev_ops *ops, void *opaque)
{
	struct pci_dev *d;

	if (devfn >= PCI_MAX_DEVFN || bus->dev[devfn] || info->irq_pin > 4)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->bus = bus;
	d->devfn = devfn;
	d->ops = ops;
	d->opaque = opaque;
	snprintf(d->name, sizeof(d->name), "%s", info->name ? info->name : "pci");
	put_le(&d->config[PCI_VENDOR_ID], info->vendor, 2);
	put_le(&d->config[PCI_DEVICE_ID], info->device, 2);
	d->config[PCI_REVISION_ID] = info->revision;
	put_le(&d->config[PCI_CLASS_PROG], info->class_code, 3);
	d->config[PCI_HEADER_TYPE] = info->header_type;
	put_le(&d->config[PCI_SUBSYSTEM_VENDOR],
	       info->subsys_vendor || info->subsys_id ? info->subsys_vendor : PCI_SUBSYS_VENDOR_QEMU,
	       2);
	put_le(&d->config[PCI_SUBSYSTEM_ID],
	       info->subsys_vendor || info->subsys_id ? info->subsys_id : PCI_SUBSYS_ID_QEMU, 2);
	d->config[PCI_INTERRUPT_PIN] = info->irq_pin;
	/* The guest may change COMMAND (I/O, memory, master, SERR, INTx
	 * disable), the interrupt line and the latency timer; it clears
	 * status error bits by writing ones. */
	put_le(&d->wmask[PCI_COMMAND],
	       PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
		       PCI_COMMAND_INTX_DISABLE,
	       2);
	put_le(&d->w1cmask[PCI_STATUS], 0xf900, 2);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->wmask[0x0d] = 0xff; /* latency timer */
	d->wmask[0x0c] = 0xff; /* cache line size */
	d->cap_end = 0x40;
	bus->dev[devfn] = d;
	return d;
}

int pci_dev_set_bar(struct pci_dev *dev, unsigned idx, enum pci_bar_kind kind, bool prefetch,
		    uint64_t size, const struct bus_ops *ops, void *opaque)
{
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * idx;
	uint64_t mask;
	uint32_t low;

	if (idx >= PCI_NUM_BARS || size == 0 || (size & (size - 1)) || dev->bar[idx].present ||
	    dev->bar[idx].upper)
		return -EINVAL;
	if (kind == PCI_BAR_MEM64 && (idx + 1 >= PCI_NUM_BARS || dev->bar[idx + 1].present))
		return -EINVAL;
	if ((kind == PCI_BAR_IO && (size < 4 || size > 0x10000)) ||
	    (kind == PCI_BAR_MEM32 && (size < 16 || size > 0x80000000ULL)) ||
	    (kind == PCI_BAR_MEM64 && size < 16))
		return -EINVAL;
	dev->bar[idx] = (struct pci_bar){ .kind = kind, .present = true, .prefetch = prefetch,
					  .size = size, .ops = ops, .opaque = opaque };
	snprintf(dev->bar[idx].name, sizeof(dev->bar[idx].name), "%s-bar%u", dev->name, idx);
	mask = ~(size - 1);
	if (kind == PCI_BAR_IO) {
		low = 0x1;
		put_le(&dev->wmask[off], (uint32_t)mask & 0xfffffffc, 4);
	} else {
		low = (kind == PCI_BAR_MEM64 ? 0x4 : 0) | (prefetch ? 0x8 : 0);
		put_le(&dev->wmask[off], (uint32_t)mask & 0xfffffff0, 4);
		if (kind == PCI_BAR_MEM64) {
			dev->bar[idx + 1].upper = true;
			put_le(&dev->wmask[off + 4], (uint32_t)(mask >> 32), 4);
		}
	}
	put_le(&dev->config[off], low, 4);
	return 0;
}

int pci_dev_set_rom(struct pci_dev *dev, const void *data, size_t len)
{
	uint32_t size = 2048;

	if (!len || len > (16u << 20) || dev->rom)
		return -EINVAL;
	while (size < len)
		size <<= 1;
	dev->rom = calloc(1, size);
	if (!dev->rom)
		return -ENOMEM;
	memcpy(dev->rom, data, len);
	dev->rom_size = size;
	snprintf(dev->rom_name, sizeof(dev->rom_name), "%s-rom", dev->name);
	put_le(&dev->wmask[PCI_ROM_ADDRESS], ~(size - 1) | 1, 4);
	return 0;
}

int pci_dev_add_cap(struct pci_dev *dev, uint8_t id, unsigned len)
{
	unsigned off = (dev->cap_end + 3) & ~3u;
	unsigned prev;

	if (len < 2 || off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
		return -ENOSPC;
	dev->config[off] = id;
	dev->config[off + 1] = 0;
	if (!(dev->config[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
		dev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
		dev->config[PCI_CAPABILITY_LIST] = (uint8_t)off;
	} else {
		prev = dev->config[PCI_CAPABILITY_LIST];
		while (dev->config[prev + 1])
			prev = dev->config[prev + 1];
		dev->config[prev + 1] = (uint8_t)off;
	}
	dev->cap_end = off + len;
	return (int)off;
}

uint8_t *pci_dev_config(struct pci_dev *dev)
{
	return dev->config;
}

uint8_t *pci_dev_wmask(struct pci_dev *dev)
{
	return dev->wmask;
}

uint8_t *pci_dev_w1cmask(struct pci_dev *dev)
{
	return dev->w1cmask;
}

unsigned pci_dev_devfn(const struct pci_dev *dev)
{
	return dev->devfn;
}

/* ---- decoding ---- */

static uint64_t bar_value(const struct pci_dev *d, unsigned idx)
{
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * idx;
	const struct pci_bar *b = &d->bar[idx];
	uint64_t v = get_le(&d->config[off], 4);

	if (b->kind == PCI_BAR_IO)
		return v & ~3ULL;
	v &= ~0xfULL;
	if (b->kind == PCI_BAR_MEM64)
		v |= (uint64_t)get_le(&d->config[off + 4], 4) << 32;
	return v;
}

/* Where BAR idx should be decoded given COMMAND, or 0. */
static uint64_t bar_target(const struct pci_dev *d, unsigned idx)
{
	const struct pci_bar *b = &d->bar[idx];
	uint16_t cmd = (uint16_t)get_le(&d->config[PCI_COMMAND], 2);
	uint64_t addr;

	if (!b->present)
		return 0;
	addr = bar_value(d, idx);
	if (addr == 0)
		return 0;
	if (b->kind == PCI_BAR_IO)
		return (cmd & PCI_COMMAND_IO) && addr + b->size <= 0x10000 ? addr : 0;
	if (!(cmd & PCI_COMMAND_MEMORY) || addr + b->size < addr)
		return 0;
	return addr;
}

static uint64_t rom_target(const struct pci_dev *d)
{
	uint16_t cmd = (uint16_t)get_le(&d->config[PCI_COMMAND], 2);
	uint32_t v = get_le(&d->config[PCI_ROM_ADDRESS], 4);

	if (!d->rom || !(cmd & PCI_COMMAND_MEMORY) || !(v & 1))
		return 0;
	v &= ~(d->rom_size - 1);
	return v;
}

static uint64_t rom_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_dev *d = opaque;
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		if (offset + i < d->rom_size)
			v |= (uint64_t)d->rom[offset + i] << (8 * i);
	return v;
}

static const struct bus_ops rom_ops = { .read = rom_read };

/* One decoded range of a function (a BAR or the ROM) as update_mappings
 * sees it. */
struct range {
	struct bus *target;
	uint64_t *mapped;
	bool *refused;
	uint64_t want, size;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

static unsigned ranges_of(struct pci_dev *d, struct range *r)
{
	struct pci_bus *bus = d->bus;
	unsigned n = 0;

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bar[i];

		if (!b->present)
			continue;
		r[n++] = (struct range){ b->kind == PCI_BAR_IO ? bus->pio : bus->mmio, &b->mapped,
					 &b->refused, bar_target(d, i), b->size, b->ops, b->opaque,
					 b->name };
	}
	if (d->rom)
		r[n++] = (struct range){ bus->mmio, &d->rom_mapped, &d->rom_refused, rom_target(d),
					 d->rom_size, &rom_ops, d, d->rom_name };
	return n;
}

/* Takes ranges that moved or were switched off off the bus; true if any. */
static bool unplace_moved(struct pci_dev *d)
{
	struct range r[PCI_NUM_BARS + 1];
	unsigned n = ranges_of(d, r);
	bool any = false;

	for (unsigned i = 0; i < n; i++) {
		if (*r[i].refused && r[i].want == 0)
			*r[i].refused = false;
		if (*r[i].mapped && *r[i].mapped != r[i].want) {
			bus_unregister(r[i].target, *r[i].mapped);
			*r[i].mapped = 0;
			any = true;
		}
	}
	return any;
}

/* Puts every range that should be decoded and is not on the bus. */
static void place_wanted(struct pci_dev *d)
{
	struct range r[PCI_NUM_BARS + 1];
	unsigned n = ranges_of(d, r);

	for (unsigned i = 0; i < n; i++) {
		if (*r[i].mapped || !r[i].want)
			continue;
		/* A guest may program overlapping BARs; real hardware would
		 * then decode garbage.  We leave the later one off the bus and
		 * place it once the other moves away. */
		if (bus_register(r[i].target, r[i].want, r[i].size, r[i].ops, r[i].opaque,
				 r[i].name) >= 0) {
			*r[i].mapped = r[i].want;
			*r[i].refused = false;
			continue;
		}
		if (!*r[i].refused && d->bus->overlap_reports < 8) {
			d->bus->overlap_reports++;
			fprintf(stderr, "minivmm: %s at 0x%llx overlaps another region; not decoded\n",
				r[i].name, (unsigned long long)r[i].want);
		}
		*r[i].refused = true;
	}
}

/* Space was freed: ranges refused earlier may fit now, the BARs of every
 * function but except and the ranges functions place themselves. */
static void retry_refused(struct pci_bus *bus, const struct pci_dev *except)
{
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		struct pci_dev *o = bus->dev[i];

		if (!o)
			continue;
		if (o != except)
			place_wanted(o);
		if (o->ops && o->ops->retry_decode)
			o->ops->retry_decode(o->opaque, o);
	}
}

/* With the config lock held. */
static void update_mappings(struct pci_dev *d)
{
	if (unplace_moved(d))
		retry_refused(d->bus, d);
	place_wanted(d);
}

void pci_dev_retry_decodes(struct pci_dev *dev)
{
	retry_refused(dev->bus, NULL);
}

uint64_t pci_dev_bar_addr(struct pci_dev *dev, unsigned idx)
{
	return idx < PCI_NUM_BARS ? dev->bar[idx].mapped : 0;
}

/* ---- INTx ---- */

static unsigned dev_pirq(const struct pci_dev *d)
{
	unsigned pin = d->config[PCI_INTERRUPT_PIN];

	return (PCI_SLOT(d->devfn) + pin + 2) & 3; /* (slot + pin - 2) mod 4 */
}

/* With irq_lock held: make the PIRQ count agree with the function's wish. */
static void irq_sync(struct pci_dev *d)
{
	struct pci_bus *bus = d->bus;
	uint16_t cmd = (uint16_t)get_le(&d->config[PCI_COMMAND], 2);
	bool want = d->irq_level && !(cmd & PCI_COMMAND_INTX_DISABLE) &&
		    d->config[PCI_INTERRUPT_PIN] != 0;
	unsigned p = dev_pirq(d);

	if (d->irq_level)
		d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	if (want == d->irq_asserted)
		return;
	d->irq_asserted = want;
	if (want) {
		if (bus->pirq_count[p]++ == 0 && bus->router)
			bus->router(bus->router_opaque, p, true);
	} else {
		if (--bus->pirq_count[p] == 0 && bus->router)
			bus->router(bus->router_opaque, p, false);
	}
}

void pci_set_irq(struct pci_dev *dev, bool level)
{
	pthread_mutex_lock(&dev->bus->irq_lock);
	dev->irq_level = level;
	irq_sync(dev);
	pthread_mutex_unlock(&dev->bus->irq_lock);
}

/* ---- configuration access ---- */

uint32_t pci_config_read(struct pci_bus *bus, unsigned devfn, unsigned reg, unsigned size)
{
	struct pci_dev *d;
	uint32_t v;

	uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

	if (devfn >= PCI_MAX_DEVFN || (size != 1 && size != 2 && size != 4) ||
	    reg >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - reg)
		return ones;
	pthread_mutex_lock(&bus->cfg_lock);
	d = bus->dev[devfn];
	if (!d) {
		pthread_mutex_unlock(&bus->cfg_lock);
		return ones;
	}
	if (d->ops && d->ops->config_read)
		d->ops->config_read(d->opaque, d, reg, size);
	pthread_mutex_lock(&bus->irq_lock); /* status byte is written under it */
	v = get_le(&d->config[reg], size);
	pthread_mutex_unlock(&bus->irq_lock);
	pthread_mutex_unlock(&bus->cfg_lock);
	return v;
}

static bool overlaps(unsigned reg, unsigned size, unsigned lo, unsigned hi)
{
	return reg < hi && reg + size > lo;
}

void pci_config_write(struct pci_bus *bus, unsigned devfn, unsigned reg, uint32_t val,
		      unsigned size)
{
	struct pci_dev *d;
	uint32_t old;

	if (devfn >= PCI_MAX_DEVFN || (size != 1 && size != 2 && size != 4) ||
	    reg >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - reg)
		return;
	pthread_mutex_lock(&bus->cfg_lock);
	d = bus->dev[devfn];
	if (!d) {
		pthread_mutex_unlock(&bus->cfg_lock);
		return;
	}
	pthread_mutex_lock(&bus->irq_lock);
	old = get_le(&d->config[reg], size);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t *c = &d->config[reg + i];

		*c = (uint8_t)((*c & ~d->wmask[reg + i]) | (b & d->wmask[reg + i]));
		*c &= (uint8_t)~(b & d->w1cmask[reg + i]);
	}
	if (overlaps(reg, size, PCI_COMMAND, PCI_COMMAND + 2))
		irq_sync(d);
	pthread_mutex_unlock(&bus->irq_lock);
	if (overlaps(reg, size, PCI_COMMAND, PCI_COMMAND + 2) ||
	    overlaps(reg, size, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_0 + 24) ||
	    overlaps(reg, size, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS + 4))
		update_mappings(d);
	if (d->ops && d->ops->config_write)
		d->ops->config_write(d->opaque, d, reg, size, old);
	pthread_mutex_unlock(&bus->cfg_lock);
}

/* ---- reset ---- */

void pci_bus_seal(struct pci_bus *bus)
{
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++)
		if (bus->dev[i])
			memcpy(bus->dev[i]->power_on, bus->dev[i]->config, PCI_CFG_SIZE);
}

void pci_bus_reset(struct pci_bus *bus)
{
	pthread_mutex_lock(&bus->cfg_lock);
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		struct pci_dev *d = bus->dev[i];

		if (!d)
			continue;
		pthread_mutex_lock(&bus->irq_lock);
		memcpy(d->config, d->power_on, PCI_CFG_SIZE);
		d->irq_level = false;
		irq_sync(d);
		pthread_mutex_unlock(&bus->irq_lock);
		update_mappings(d);
	}
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		struct pci_dev *d = bus->dev[i];

		if (d && d->ops && d->ops->reset)
			d->ops->reset(d->opaque, d);
	}
	pthread_mutex_unlock(&bus->cfg_lock);
}
