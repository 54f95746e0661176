// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PCI bus 0 core: configuration space, BAR decoding, ROM BAR, INTx.
 */
#include "devices/pci.h"
#include "vmm/device.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pci_bar {
	struct pci_dev *dev;
	enum pci_bar_kind kind;
	bool present, prefetch, upper; /* upper: the high half of a 64-bit BAR */
	bool msix; /* holds the MSI-X table or PBA: the core's ops front it */
	uint64_t size;
	const struct bus_ops *ops;
	void *opaque;
	uint64_t mapped; /* 0: not on a bus */
	uint64_t reported; /* what the BAR notifier last heard */
	bool refused; /* wanted a place another region held */
	char name[48];
};

/* A custom region (pci_dev_add_region). */
struct pci_region {
	bool present, io;
	uint64_t size;
	pci_region_decode_fn *decode;
	const struct bus_ops *ops;
	void *opaque;
	uint64_t mapped, reported;
	bool refused;
	char name[48];
};

/* MSI capability state; the registers themselves live in config space. */
struct pci_msi {
	unsigned cap, nvectors;
	bool addr64, maskable;
	struct pci_msi_msg seen[PCI_MSI_MAX_VECTORS]; /* as last told the notifier */
};

struct pci_msix {
	unsigned cap, nvectors;
	unsigned table_bar, pba_bar;
	uint32_t table_off, pba_off, pba_size;
	uint8_t *table;	  /* nvectors * 16 bytes */
	uint64_t *pba;	  /* pending bits */
	struct pci_msi_msg *seen;
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
	uint64_t rom_reported;
	struct pci_region region[PCI_MAX_REGIONS];
	unsigned cap_end; /* next free byte for a capability */
	bool irq_level; /* what the function asks for */
	bool irq_asserted;	     /* what the PIRQ count (or the INTx sink) holds for it */
	pci_intx_sink_fn *intx_sink; /* set: the pin's level goes here, not to the PIRQ */
	void *intx_sink_opaque;
	pci_bar_notifier_fn *bar_notifier;
	void *bar_notifier_opaque;
	pci_intx_notifier_fn *intx_notifier;
	void *intx_notifier_opaque;
	int intx_reported; /* GSI the INTx notifier last heard */
	struct pci_msi *msi;   /* NULL without the capability */
	struct pci_msix *msix; /* likewise */
	pci_msi_notifier_fn *msi_notifier;
	void *msi_notifier_opaque;
};

struct pci_bus {
	struct bus *pio, *mmio;
	pthread_mutex_t cfg_lock;
	pthread_mutex_t irq_lock; /* after cfg_lock */
	struct pci_dev *dev[PCI_MAX_DEVFN];
	unsigned pirq_count[4];
	pci_pirq_fn *router;
	void *router_opaque;
	pci_pirq_gsi_fn *router_gsi;
	void *router_gsi_opaque;
	pci_msi_sink_fn *msi_sink;
	void *msi_sink_opaque;
	uint32_t slots_taken; /* handed out by pci_bus_alloc_slot or reserved */
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
	bus->slots_taken = 1u << PCI_SLOT_VGA;
	return bus;
}

static void dev_free(struct pci_dev *d)
{
	if (d->msix) {
		free(d->msix->table);
		free(d->msix->pba);
		free(d->msix->seen);
		free(d->msix);
	}
	free(d->msi);
	free(d->rom);
	free(d);
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		if (bus->dev[i])
			dev_free(bus->dev[i]);
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

void pci_bus_set_router_gsi(struct pci_bus *bus, pci_pirq_gsi_fn *fn, void *opaque)
{
	pthread_mutex_lock(&bus->irq_lock);
	bus->router_gsi = fn;
	bus->router_gsi_opaque = opaque;
	pthread_mutex_unlock(&bus->irq_lock);
}

void pci_bus_set_msi_sink(struct pci_bus *bus, pci_msi_sink_fn *fn, void *opaque)
{
	pthread_mutex_lock(&bus->irq_lock);
	bus->msi_sink = fn;
	bus->msi_sink_opaque = opaque;
	pthread_mutex_unlock(&bus->irq_lock);
}

static bool slot_empty(const struct pci_bus *bus, unsigned slot)
{
	for (unsigned fn = 0; fn < 8; fn++)
		if (bus->dev[PCI_DEVFN(slot, fn)])
			return false;
	return true;
}

int pci_bus_alloc_slot(struct pci_bus *bus, unsigned first_slot)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&bus->cfg_lock);
	for (unsigned s = first_slot; s < PCI_MAX_SLOTS; s++) {
		if ((bus->slots_taken & (1u << s)) || !slot_empty(bus, s))
			continue;
		bus->slots_taken |= 1u << s;
		ret = (int)s;
		break;
	}
	pthread_mutex_unlock(&bus->cfg_lock);
	return ret;
}

int pci_bus_reserve_slot(struct pci_bus *bus, unsigned slot)
{
	if (slot >= PCI_MAX_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&bus->cfg_lock);
	bus->slots_taken |= 1u << slot;
	pthread_mutex_unlock(&bus->cfg_lock);
	return 0;
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
	d->intx_reported = -1;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		d->bar[i].dev = d;
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
	dev->bar[idx] = (struct pci_bar){ .dev = dev, .kind = kind, .present = true,
					  .prefetch = prefetch, .size = size, .ops = ops,
					  .opaque = opaque };
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

static const struct bus_ops msix_bar_ops;

/* mapped is read without the config lock by pci_dev_bar_addr() and friends. */
static void set_mapped(uint64_t *mapped, uint64_t v)
{
	__atomic_store_n(mapped, v, __ATOMIC_RELEASE);
}

/* One decoded range of a function (a BAR, the ROM or a custom region) as
 * update_mappings sees it. */
struct range {
	struct bus *target;
	uint64_t *mapped, *reported;
	bool *refused;
	uint64_t want, size;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
	unsigned idx; /* for the BAR notifier */
};

#define MAX_RANGES (PCI_NUM_BARS + 1 + PCI_MAX_REGIONS)

static unsigned ranges_of(struct pci_dev *d, struct range *r)
{
	struct pci_bus *bus = d->bus;
	unsigned n = 0;

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bar[i];

		if (!b->present)
			continue;
		r[n++] = (struct range){ b->kind == PCI_BAR_IO ? bus->pio : bus->mmio, &b->mapped,
					 &b->reported, &b->refused, bar_target(d, i), b->size,
					 b->msix ? &msix_bar_ops : b->ops, b->msix ? b : b->opaque,
					 b->name, i };
	}
	if (d->rom)
		r[n++] = (struct range){ bus->mmio, &d->rom_mapped, &d->rom_reported,
					 &d->rom_refused, rom_target(d), d->rom_size, &rom_ops, d,
					 d->rom_name, PCI_ROM_IDX };
	for (unsigned i = 0; i < PCI_MAX_REGIONS; i++) {
		struct pci_region *g = &d->region[i];
		uint64_t want;

		if (!g->present)
			continue;
		want = g->decode ? g->decode(g->opaque, d) : 0;
		/* Like a BAR: an address that does not fit is not decoded. */
		if (want + g->size < want || (g->io && want + g->size > 0x10000))
			want = 0;
		r[n++] = (struct range){ g->io ? bus->pio : bus->mmio, &g->mapped, &g->reported,
					 &g->refused, want, g->size, g->ops, g->opaque, g->name,
					 PCI_REGION_IDX(i) };
	}
	return n;
}

/* Takes ranges that moved or were switched off off the bus; true if any. */
static bool unplace_moved(struct pci_dev *d)
{
	struct range r[MAX_RANGES];
	unsigned n = ranges_of(d, r);
	bool any = false;

	for (unsigned i = 0; i < n; i++) {
		if (*r[i].refused && r[i].want == 0)
			*r[i].refused = false;
		if (*r[i].mapped && *r[i].mapped != r[i].want) {
			bus_unregister(r[i].target, *r[i].mapped);
			set_mapped(r[i].mapped, 0);
			any = true;
		}
	}
	return any;
}

/* Puts every range that should be decoded and is not on the bus. */
static void place_wanted(struct pci_dev *d)
{
	struct range r[MAX_RANGES];
	unsigned n = ranges_of(d, r);

	for (unsigned i = 0; i < n; i++) {
		if (*r[i].mapped || !r[i].want)
			continue;
		/* A guest may program overlapping BARs; real hardware would
		 * then decode garbage.  We leave the later one off the bus and
		 * place it once the other moves away. */
		if (bus_register(r[i].target, r[i].want, r[i].size, r[i].ops, r[i].opaque,
				 r[i].name) >= 0) {
			set_mapped(r[i].mapped, r[i].want);
			*r[i].refused = false;
			continue;
		}
		if (!*r[i].refused)
			dev_log("pci", "%s at 0x%llx overlaps another region; not decoded",
				r[i].name, (unsigned long long)r[i].want);
		*r[i].refused = true;
	}
}

/* Tells the BAR notifiers of every function what moved since they last
 * heard; the buses are already up to date. */
static void report_moves(struct pci_bus *bus)
{
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		struct pci_dev *d = bus->dev[i];
		struct range r[MAX_RANGES];
		unsigned n;

		if (!d || !d->bar_notifier)
			continue;
		n = ranges_of(d, r);
		for (unsigned j = 0; j < n; j++) {
			uint64_t old = *r[j].reported;

			if (old == *r[j].mapped)
				continue;
			*r[j].reported = *r[j].mapped;
			d->bar_notifier(d->bar_notifier_opaque, d, r[j].idx, old, *r[j].mapped);
		}
	}
}

static void update_mappings_quiet(struct pci_dev *d)
{
	struct pci_bus *bus = d->bus;

	if (unplace_moved(d)) {
		/* Space was freed: ranges refused earlier may fit now. */
		for (unsigned i = 0; i < PCI_MAX_DEVFN; i++)
			if (bus->dev[i] && bus->dev[i] != d)
				place_wanted(bus->dev[i]);
	}
	place_wanted(d);
}

/* With the config lock held. */
static void update_mappings(struct pci_dev *d)
{
	update_mappings_quiet(d);
	report_moves(d->bus);
}

uint64_t pci_dev_bar_addr(struct pci_dev *dev, unsigned idx)
{
	return idx < PCI_NUM_BARS ? __atomic_load_n(&dev->bar[idx].mapped, __ATOMIC_ACQUIRE) : 0;
}

void pci_dev_set_bar_notifier(struct pci_dev *dev, pci_bar_notifier_fn *fn, void *opaque)
{
	struct pci_bus *bus = dev->bus;
	struct range r[MAX_RANGES];
	unsigned n;

	pthread_mutex_lock(&bus->cfg_lock);
	n = ranges_of(dev, r);
	for (unsigned i = 0; i < n; i++)
		*r[i].reported = *r[i].mapped;
	dev->bar_notifier = fn;
	dev->bar_notifier_opaque = opaque;
	pthread_mutex_unlock(&bus->cfg_lock);
}

/* ---- custom regions ---- */

int pci_dev_add_region(struct pci_dev *dev, bool io, uint64_t size, pci_region_decode_fn *decode,
		       const struct bus_ops *ops, void *opaque, const char *name)
{
	unsigned i;

	if (size == 0 || !decode || !ops || (io && size > 0x10000))
		return -EINVAL;
	for (i = 0; i < PCI_MAX_REGIONS && dev->region[i].present; i++)
		;
	if (i == PCI_MAX_REGIONS)
		return -ENOSPC;
	dev->region[i] = (struct pci_region){ .present = true, .io = io, .size = size,
					      .decode = decode, .ops = ops, .opaque = opaque };
	snprintf(dev->region[i].name, sizeof(dev->region[i].name), "%s",
		 name ? name : dev->name);
	return (int)i;
}

void pci_dev_update_regions(struct pci_dev *dev)
{
	update_mappings(dev);
}

uint64_t pci_dev_region_addr(struct pci_dev *dev, unsigned r)
{
	if (r >= PCI_MAX_REGIONS)
		return 0;
	return __atomic_load_n(&dev->region[r].mapped, __ATOMIC_ACQUIRE);
}

void pci_dev_release_region(struct pci_dev *dev, unsigned r)
{
	struct pci_bus *bus = dev->bus;

	if (r >= PCI_MAX_REGIONS || !dev->region[r].present)
		return;
	pthread_mutex_lock(&bus->cfg_lock);
	dev->region[r].decode = NULL;
	update_mappings(dev);
	pthread_mutex_unlock(&bus->cfg_lock);
}

/* ---- INTx ---- */

static unsigned dev_pirq(const struct pci_dev *d)
{
	unsigned pin = d->config[PCI_INTERRUPT_PIN];

	return (PCI_SLOT(d->devfn) + pin + 2) & 3; /* (slot + pin - 2) mod 4 */
}

static bool msi_on(const struct pci_dev *d);
static bool msix_on(const struct pci_dev *d);

/* With irq_lock held: make the PIRQ count agree with the function's wish.
 * A function with MSI or MSI-X enabled does not use its pin. */
static void irq_sync(struct pci_dev *d)
{
	struct pci_bus *bus = d->bus;
	uint16_t cmd = (uint16_t)get_le(&d->config[PCI_COMMAND], 2);
	bool want = d->irq_level && !(cmd & PCI_COMMAND_INTX_DISABLE) &&
		    d->config[PCI_INTERRUPT_PIN] != 0 && !msi_on(d) && !msix_on(d);
	unsigned p = dev_pirq(d);

	if (d->irq_level)
		d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	if (want == d->irq_asserted)
		return;
	d->irq_asserted = want;
	if (d->intx_sink) {
		d->intx_sink(d->intx_sink_opaque, d, want);
		return;
	}
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

void pci_dev_set_intx_sink(struct pci_dev *dev, pci_intx_sink_fn *fn, void *opaque)
{
	struct pci_bus *bus = dev->bus;
	unsigned p = dev_pirq(dev);

	pthread_mutex_lock(&bus->irq_lock);
	/* Move an asserted pin from the PIRQ to the sink or back. */
	if (dev->irq_asserted && !dev->intx_sink && fn) {
		if (--bus->pirq_count[p] == 0 && bus->router)
			bus->router(bus->router_opaque, p, false);
	} else if (dev->irq_asserted && dev->intx_sink) {
		dev->intx_sink(dev->intx_sink_opaque, dev, false);
		if (!fn && bus->pirq_count[p]++ == 0 && bus->router)
			bus->router(bus->router_opaque, p, true);
	}
	dev->intx_sink = fn;
	dev->intx_sink_opaque = opaque;
	if (dev->irq_asserted && fn)
		fn(opaque, dev, true);
	pthread_mutex_unlock(&bus->irq_lock);
}

/* With irq_lock held. */
static int intx_gsi_locked(struct pci_dev *d)
{
	struct pci_bus *bus = d->bus;

	if (!d->config[PCI_INTERRUPT_PIN] || !bus->router_gsi)
		return -1;
	return bus->router_gsi(bus->router_gsi_opaque, dev_pirq(d));
}

int pci_dev_intx_gsi(struct pci_dev *dev)
{
	int gsi;

	pthread_mutex_lock(&dev->bus->irq_lock);
	gsi = intx_gsi_locked(dev);
	pthread_mutex_unlock(&dev->bus->irq_lock);
	return gsi;
}

void pci_dev_set_intx_notifier(struct pci_dev *dev, pci_intx_notifier_fn *fn, void *opaque)
{
	pthread_mutex_lock(&dev->bus->cfg_lock);
	pthread_mutex_lock(&dev->bus->irq_lock);
	dev->intx_notifier = fn;
	dev->intx_notifier_opaque = opaque;
	dev->intx_reported = intx_gsi_locked(dev);
	pthread_mutex_unlock(&dev->bus->irq_lock);
	pthread_mutex_unlock(&dev->bus->cfg_lock);
}

void pci_bus_pirq_route_changed(struct pci_bus *bus, unsigned pirq)
{
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		struct pci_dev *d = bus->dev[i];
		int gsi;

		if (!d || !d->intx_notifier || !d->config[PCI_INTERRUPT_PIN] ||
		    dev_pirq(d) != (pirq & 3))
			continue;
		pthread_mutex_lock(&bus->irq_lock);
		gsi = intx_gsi_locked(d);
		pthread_mutex_unlock(&bus->irq_lock);
		if (gsi == d->intx_reported)
			continue;
		d->intx_reported = gsi;
		d->intx_notifier(d->intx_notifier_opaque, d, gsi);
	}
}

/* ---- MSI ---- */

/* MSI register offsets inside the capability. */
#define MSI_CTRL      2
#define MSI_ADDR_LO   4
#define MSI_ADDR_HI   8
#define MSI_CTRL_EN   0x0001
#define MSI_CTRL_MMC_SHIFT 1
#define MSI_CTRL_MME_SHIFT 4
#define MSI_CTRL_64   0x0080
#define MSI_CTRL_PVM  0x0100

static unsigned msi_data_off(const struct pci_msi *m)
{
	return m->addr64 ? 0x0c : 0x08;
}

static unsigned msi_mask_off(const struct pci_msi *m)
{
	return msi_data_off(m) + 4;
}

static unsigned msi_pend_off(const struct pci_msi *m)
{
	return msi_data_off(m) + 8;
}

static unsigned msi_len(const struct pci_msi *m)
{
	return m->maskable ? msi_data_off(m) + 0x0c : msi_data_off(m) + 2;
}

static unsigned log2u(unsigned v)
{
	unsigned l = 0;

	while ((1u << l) < v)
		l++;
	return l;
}

static bool msi_on(const struct pci_dev *d)
{
	return d->msi && (get_le(&d->config[d->msi->cap + MSI_CTRL], 2) & MSI_CTRL_EN);
}

/* Vectors the guest enabled: 2^MME, no more than the function has. */
static unsigned msi_enabled_vectors(const struct pci_dev *d)
{
	unsigned mme = (get_le(&d->config[d->msi->cap + MSI_CTRL], 2) >> MSI_CTRL_MME_SHIFT) & 7;
	unsigned n = 1u << mme;

	return n < d->msi->nvectors ? n : d->msi->nvectors;
}

/* With irq_lock held. */
static void msi_msg(const struct pci_dev *d, unsigned v, struct pci_msi_msg *msg)
{
	const struct pci_msi *m = d->msi;
	unsigned nr = msi_enabled_vectors(d);
	uint32_t data = get_le(&d->config[m->cap + msi_data_off(m)], 2);

	msg->addr = get_le(&d->config[m->cap + MSI_ADDR_LO], 4);
	if (m->addr64)
		msg->addr |= (uint64_t)get_le(&d->config[m->cap + MSI_ADDR_HI], 4) << 32;
	/* Multiple messages: the low bits of the data carry the vector. */
	msg->data = (data & ~(nr - 1)) | (v & (nr - 1));
	msg->masked = !msi_on(d) || v >= nr ||
		      (m->maskable && (get_le(&d->config[m->cap + msi_mask_off(m)], 4) >> v) & 1);
}

static bool msg_equal(const struct pci_msi_msg *a, const struct pci_msi_msg *b)
{
	return a->addr == b->addr && a->data == b->data && a->masked == b->masked;
}

/* With irq_lock held: an MSI is a memory write, so it needs bus mastering. */
static void msi_send(struct pci_dev *d, const struct pci_msi_msg *msg)
{
	struct pci_bus *bus = d->bus;

	if (!(get_le(&d->config[PCI_COMMAND], 2) & PCI_COMMAND_MASTER) || !bus->msi_sink)
		return;
	bus->msi_sink(bus->msi_sink_opaque, msg->addr, msg->data);
}

/* With irq_lock held, after anything MSI-related may have changed: tell the
 * notifier and send what was pending and is unmasked now. */
static void msi_sync(struct pci_dev *d)
{
	struct pci_msi *m = d->msi;
	unsigned pend = m->cap + msi_pend_off(m);

	for (unsigned v = 0; v < m->nvectors; v++) {
		struct pci_msi_msg msg;

		msi_msg(d, v, &msg);
		if (m->maskable && !msg.masked && (get_le(&d->config[pend], 4) >> v) & 1) {
			put_le(&d->config[pend], get_le(&d->config[pend], 4) & ~(1u << v), 4);
			msi_send(d, &msg);
		}
		if (msg_equal(&msg, &m->seen[v]))
			continue;
		m->seen[v] = msg;
		if (d->msi_notifier)
			d->msi_notifier(d->msi_notifier_opaque, d, false, v, &msg);
	}
}

int pci_dev_add_msi(struct pci_dev *dev, unsigned nvectors, bool addr64, bool per_vector_mask)
{
	struct pci_msi *m;
	uint16_t ctrl;
	int off;

	if (dev->msi || nvectors == 0 || nvectors > PCI_MSI_MAX_VECTORS ||
	    (nvectors & (nvectors - 1)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->nvectors = nvectors;
	m->addr64 = addr64;
	m->maskable = per_vector_mask;
	off = pci_dev_add_cap(dev, PCI_CAP_ID_MSI, msi_len(m));
	if (off < 0) {
		free(m);
		return off;
	}
	m->cap = (unsigned)off;
	ctrl = (uint16_t)(log2u(nvectors) << MSI_CTRL_MMC_SHIFT | (addr64 ? MSI_CTRL_64 : 0) |
			  (per_vector_mask ? MSI_CTRL_PVM : 0));
	put_le(&dev->config[off + MSI_CTRL], ctrl, 2);
	put_le(&dev->wmask[off + MSI_CTRL], MSI_CTRL_EN | 7u << MSI_CTRL_MME_SHIFT, 2);
	/* The address is dword aligned: bits 1:0 read 0. */
	put_le(&dev->wmask[off + MSI_ADDR_LO], 0xfffffffc, 4);
	if (addr64)
		put_le(&dev->wmask[off + MSI_ADDR_HI], 0xffffffff, 4);
	put_le(&dev->wmask[off + msi_data_off(m)], 0xffff, 2);
	if (per_vector_mask)
		put_le(&dev->wmask[off + msi_mask_off(m)],
		       nvectors == 32 ? 0xffffffffu : (1u << nvectors) - 1, 4);
	for (unsigned v = 0; v < PCI_MSI_MAX_VECTORS; v++)
		m->seen[v].masked = true;
	dev->msi = m;
	return off;
}

int pci_msi_notify(struct pci_dev *dev, unsigned vector)
{
	struct pci_msi_msg msg;
	struct pci_msi *m = dev->msi;
	int ret = 0;

	if (!m)
		return -ENODEV;
	if (vector >= m->nvectors)
		return -EINVAL;
	pthread_mutex_lock(&dev->bus->irq_lock);
	if (!msi_on(dev)) {
		ret = -ENODEV;
	} else if (vector >= msi_enabled_vectors(dev)) {
		ret = -EINVAL;
	} else {
		msi_msg(dev, vector, &msg);
		if (!msg.masked) {
			msi_send(dev, &msg);
		} else {
			unsigned pend = m->cap + msi_pend_off(m);

			put_le(&dev->config[pend], get_le(&dev->config[pend], 4) | 1u << vector, 4);
		}
	}
	pthread_mutex_unlock(&dev->bus->irq_lock);
	return ret;
}

bool pci_msi_enabled(struct pci_dev *dev)
{
	bool on;

	pthread_mutex_lock(&dev->bus->irq_lock);
	on = msi_on(dev);
	pthread_mutex_unlock(&dev->bus->irq_lock);
	return on;
}

/* ---- MSI-X ---- */

#define MSIX_CTRL	 2
#define MSIX_TABLE	 4
#define MSIX_PBA	 8
#define MSIX_CAP_LEN	 12
#define MSIX_CTRL_EN	 0x8000
#define MSIX_CTRL_FMASK	 0x4000
#define MSIX_ENTRY_SIZE	 16
#define MSIX_ENTRY_DATA	 8
#define MSIX_ENTRY_CTRL	 12
#define MSIX_VEC_MASKED	 0x1

static uint16_t msix_ctrl(const struct pci_dev *d)
{
	return (uint16_t)get_le(&d->config[d->msix->cap + MSIX_CTRL], 2);
}

static bool msix_on(const struct pci_dev *d)
{
	return d->msix && (msix_ctrl(d) & MSIX_CTRL_EN);
}

static bool pba_get(const struct pci_msix *x, unsigned v)
{
	return (x->pba[v / 64] >> (v % 64)) & 1;
}

static void pba_set(struct pci_msix *x, unsigned v, bool on)
{
	if (on)
		x->pba[v / 64] |= 1ULL << (v % 64);
	else
		x->pba[v / 64] &= ~(1ULL << (v % 64));
}

/* With irq_lock held. */
static void msix_msg(const struct pci_dev *d, unsigned v, struct pci_msi_msg *msg)
{
	const uint8_t *e = &d->msix->table[v * MSIX_ENTRY_SIZE];

	msg->addr = get_le(e, 4) | (uint64_t)get_le(e + 4, 4) << 32;
	msg->data = get_le(e + MSIX_ENTRY_DATA, 4);
	msg->masked = !msix_on(d) || (msix_ctrl(d) & MSIX_CTRL_FMASK) ||
		      (get_le(e + MSIX_ENTRY_CTRL, 4) & MSIX_VEC_MASKED);
}

/* With irq_lock held: vector v may have changed. */
static void msix_sync_vector(struct pci_dev *d, unsigned v)
{
	struct pci_msix *x = d->msix;
	struct pci_msi_msg msg;

	msix_msg(d, v, &msg);
	if (!msg.masked && pba_get(x, v)) {
		pba_set(x, v, false);
		msi_send(d, &msg);
	}
	if (msg_equal(&msg, &x->seen[v]))
		return;
	x->seen[v] = msg;
	if (d->msi_notifier)
		d->msi_notifier(d->msi_notifier_opaque, d, true, v, &msg);
}

static void msix_sync(struct pci_dev *d)
{
	for (unsigned v = 0; v < d->msix->nvectors; v++)
		msix_sync_vector(d, v);
}

/* Power-on table: every vector masked, no message, nothing pending. */
static void msix_table_reset(struct pci_msix *x)
{
	memset(x->table, 0, (size_t)x->nvectors * MSIX_ENTRY_SIZE);
	memset(x->pba, 0, x->pba_size);
	for (unsigned v = 0; v < x->nvectors; v++)
		x->table[v * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL] = MSIX_VEC_MASKED;
}

static bool bar_is_mem(const struct pci_dev *d, unsigned idx)
{
	return idx < PCI_NUM_BARS && d->bar[idx].present && d->bar[idx].kind != PCI_BAR_IO;
}

int pci_dev_add_msix(struct pci_dev *dev, unsigned nvectors, unsigned table_bar,
		     uint32_t table_off, unsigned pba_bar, uint32_t pba_off)
{
	uint64_t table_len = (uint64_t)nvectors * MSIX_ENTRY_SIZE;
	uint32_t pba_len = (nvectors + 63) / 64 * 8;
	struct pci_msix *x;
	int off;

	if (dev->msix || nvectors == 0 || nvectors > PCI_MSIX_MAX_VECTORS ||
	    !bar_is_mem(dev, table_bar) || !bar_is_mem(dev, pba_bar) || (table_off & 7) ||
	    (pba_off & 7) || table_off > dev->bar[table_bar].size ||
	    table_len > dev->bar[table_bar].size - table_off || pba_off > dev->bar[pba_bar].size ||
	    pba_len > dev->bar[pba_bar].size - pba_off)
		return -EINVAL;
	if (table_bar == pba_bar && pba_off < table_off + table_len &&
	    table_off < pba_off + pba_len)
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->nvectors = nvectors;
	x->table_bar = table_bar;
	x->table_off = table_off;
	x->pba_bar = pba_bar;
	x->pba_off = pba_off;
	x->pba_size = pba_len;
	x->table = calloc(nvectors, MSIX_ENTRY_SIZE);
	x->pba = calloc(1, pba_len);
	x->seen = calloc(nvectors, sizeof(*x->seen));
	off = x->table && x->pba && x->seen ? pci_dev_add_cap(dev, PCI_CAP_ID_MSIX, MSIX_CAP_LEN)
					     : -ENOMEM;
	if (off < 0) {
		free(x->table);
		free(x->pba);
		free(x->seen);
		free(x);
		return off;
	}
	x->cap = (unsigned)off;
	msix_table_reset(x);
	for (unsigned v = 0; v < nvectors; v++)
		x->seen[v].masked = true;
	put_le(&dev->config[off + MSIX_CTRL], nvectors - 1, 2);
	put_le(&dev->wmask[off + MSIX_CTRL], MSIX_CTRL_EN | MSIX_CTRL_FMASK, 2);
	put_le(&dev->config[off + MSIX_TABLE], table_off | table_bar, 4);
	put_le(&dev->config[off + MSIX_PBA], pba_off | pba_bar, 4);
	dev->bar[table_bar].msix = true;
	dev->bar[pba_bar].msix = true;
	dev->msix = x;
	return off;
}

int pci_msix_notify(struct pci_dev *dev, unsigned vector)
{
	struct pci_msix *x = dev->msix;
	struct pci_msi_msg msg;
	int ret = 0;

	if (!x)
		return -ENODEV;
	if (vector >= x->nvectors)
		return -EINVAL;
	pthread_mutex_lock(&dev->bus->irq_lock);
	if (!msix_on(dev)) {
		ret = -ENODEV;
	} else {
		msix_msg(dev, vector, &msg);
		if (msg.masked)
			pba_set(x, vector, true);
		else
			msi_send(dev, &msg);
	}
	pthread_mutex_unlock(&dev->bus->irq_lock);
	return ret;
}

bool pci_msix_enabled(struct pci_dev *dev)
{
	bool on;

	pthread_mutex_lock(&dev->bus->irq_lock);
	on = msix_on(dev);
	pthread_mutex_unlock(&dev->bus->irq_lock);
	return on;
}

void pci_dev_set_msi_notifier(struct pci_dev *dev, pci_msi_notifier_fn *fn, void *opaque)
{
	pthread_mutex_lock(&dev->bus->irq_lock);
	dev->msi_notifier = fn;
	dev->msi_notifier_opaque = opaque;
	pthread_mutex_unlock(&dev->bus->irq_lock);
}

int pci_dev_msi_msg(struct pci_dev *dev, bool msix, unsigned vector, struct pci_msi_msg *msg)
{
	int ret = 0;

	pthread_mutex_lock(&dev->bus->irq_lock);
	if (msix && dev->msix && vector < dev->msix->nvectors)
		msix_msg(dev, vector, msg);
	else if (!msix && dev->msi && vector < dev->msi->nvectors)
		msi_msg(dev, vector, msg);
	else
		ret = -EINVAL;
	pthread_mutex_unlock(&dev->bus->irq_lock);
	return ret;
}

/* The window [off, off + len) of BAR bar_idx an access falls into, if any.
 * An access straddling a window's edge counts as inside (and is then
 * refused as misaligned). */
static bool in_window(uint64_t off, unsigned size, uint64_t lo, uint64_t len)
{
	return off < lo + len && off + size > lo;
}

/* Table: aligned dword or qword accesses only; anything else is dropped
 * (reads 0), as the spec leaves it undefined. */
static uint64_t msix_table_read(struct pci_dev *d, uint64_t rel, unsigned size)
{
	struct pci_msix *x = d->msix;
	uint64_t v;

	if ((size != 4 && size != 8) || (rel & (size - 1)) || rel + size > x->nvectors * 16ULL)
		return 0;
	pthread_mutex_lock(&d->bus->irq_lock);
	v = get_le(&x->table[rel], 4);
	if (size == 8)
		v |= (uint64_t)get_le(&x->table[rel + 4], 4) << 32;
	pthread_mutex_unlock(&d->bus->irq_lock);
	return v;
}

static void msix_table_write_dword(struct pci_msix *x, uint64_t rel, uint32_t val)
{
	switch (rel % MSIX_ENTRY_SIZE) {
	case 0:
		val &= ~3u; /* dword-aligned address: bits 1:0 are 0 */
		break;
	case MSIX_ENTRY_CTRL:
		val &= MSIX_VEC_MASKED; /* the rest is reserved and reads 0 */
		break;
	default:
		break;
	}
	put_le(&x->table[rel], val, 4);
}

static void msix_table_write(struct pci_dev *d, uint64_t rel, uint64_t val, unsigned size)
{
	struct pci_msix *x = d->msix;

	if ((size != 4 && size != 8) || (rel & (size - 1)) || rel + size > x->nvectors * 16ULL)
		return;
	pthread_mutex_lock(&d->bus->irq_lock);
	msix_table_write_dword(x, rel, (uint32_t)val);
	if (size == 8)
		msix_table_write_dword(x, rel + 4, (uint32_t)(val >> 32));
	msix_sync_vector(d, (unsigned)(rel / MSIX_ENTRY_SIZE));
	pthread_mutex_unlock(&d->bus->irq_lock);
}

static uint64_t msix_pba_read(struct pci_dev *d, uint64_t rel, unsigned size)
{
	struct pci_msix *x = d->msix;
	uint64_t v;

	if ((size != 4 && size != 8) || (rel & (size - 1)) || rel + size > x->pba_size)
		return 0;
	pthread_mutex_lock(&d->bus->irq_lock);
	v = x->pba[rel / 8];
	pthread_mutex_unlock(&d->bus->irq_lock);
	if (size == 4)
		v = (uint32_t)(v >> (8 * (rel & 4)));
	return v;
}

/* The ops of a BAR holding the MSI-X table or PBA: those windows are the
 * core's, the rest goes to the device's own ops at the same offset. */
static uint64_t msix_bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;
	struct pci_msix *x = d->msix;
	unsigned idx = (unsigned)(b - d->bar);

	if (idx == x->table_bar && in_window(off, size, x->table_off, x->nvectors * 16ULL))
		return off < x->table_off ? 0 : msix_table_read(d, off - x->table_off, size);
	if (idx == x->pba_bar && in_window(off, size, x->pba_off, x->pba_size))
		return off < x->pba_off ? 0 : msix_pba_read(d, off - x->pba_off, size);
	return b->ops && b->ops->read ? b->ops->read(b->opaque, off, size) : 0;
}

static void msix_bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;
	struct pci_msix *x = d->msix;
	unsigned idx = (unsigned)(b - d->bar);

	if (idx == x->table_bar && in_window(off, size, x->table_off, x->nvectors * 16ULL)) {
		if (off >= x->table_off)
			msix_table_write(d, off - x->table_off, val, size);
		return;
	}
	if (idx == x->pba_bar && in_window(off, size, x->pba_off, x->pba_size))
		return; /* the PBA is read-only */
	if (b->ops && b->ops->write)
		b->ops->write(b->opaque, off, val, size);
}

static const struct bus_ops msix_bar_ops = { .read = msix_bar_read, .write = msix_bar_write };

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
	if (d->msi && overlaps(reg, size, d->msi->cap, d->msi->cap + msi_len(d->msi)))
		msi_sync(d);
	if (d->msix && overlaps(reg, size, d->msix->cap + MSIX_CTRL, d->msix->cap + MSIX_CTRL + 2))
		msix_sync(d);
	if (overlaps(reg, size, PCI_COMMAND, PCI_COMMAND + 2) || d->msi || d->msix)
		irq_sync(d);
	pthread_mutex_unlock(&bus->irq_lock);
	/* Custom regions decode from registers of the function's own choice. */
	if (overlaps(reg, size, PCI_COMMAND, PCI_COMMAND + 2) ||
	    overlaps(reg, size, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_0 + 24) ||
	    overlaps(reg, size, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS + 4) || d->region[0].present)
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
		if (d->msix) {
			msix_table_reset(d->msix);
			msix_sync(d);
		}
		if (d->msi)
			msi_sync(d);
		pthread_mutex_unlock(&bus->irq_lock);
		update_mappings_quiet(d);
	}
	report_moves(bus);
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++) {
		struct pci_dev *d = bus->dev[i];

		if (d && d->ops && d->ops->reset)
			d->ops->reset(d->opaque, d);
	}
	pthread_mutex_unlock(&bus->cfg_lock);
}

uint8_t *pci_rom_read(const char *path, size_t max, const char *what, size_t *len, char *err,
		      size_t errlen)
{
	struct stat sb;
	uint8_t *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s %s: cannot open: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < 512 ||
	    (uint64_t)sb.st_size > max) {
		snprintf(err, errlen, "%s %s is not a file of 512 bytes to %zu KiB", what, path,
			 max >> 10);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)sb.st_size);
	n = buf ? read(fd, buf, (size_t)sb.st_size) : -1;
	close(fd);
	if (n != sb.st_size) {
		snprintf(err, errlen, "%s %s: cannot read it", what, path);
		free(buf);
		return NULL;
	}
	if (buf[0] != 0x55 || buf[1] != 0xaa) {
		snprintf(err, errlen, "%s %s is not an option ROM (no 55 AA signature)", what,
			 path);
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

void pci_rom_patch_ids(uint8_t *rom, size_t len, uint16_t vendor, uint16_t device)
{
	size_t pcir;
	int delta = 0;

	if (len < 0x1a || rom[0] != 0x55 || rom[1] != 0xaa)
		return;
	pcir = (size_t)rom[0x18] | (size_t)rom[0x19] << 8;
	if (pcir + 8 > len || memcmp(rom + pcir, "PCIR", 4))
		return;
	if ((rom[pcir + 4] | rom[pcir + 5] << 8) != vendor)
		return;
	delta += rom[pcir + 6] + rom[pcir + 7];
	rom[pcir + 6] = (uint8_t)device;
	rom[pcir + 7] = (uint8_t)(device >> 8);
	delta -= rom[pcir + 6] + rom[pcir + 7];
	rom[6] = (uint8_t)(rom[6] + delta);
}
