// SPDX-License-Identifier: GPL-2.0-or-later
/* The fake virtio driver (fake_virtio_driver.h). */
#include "tests/unit/fake_virtio_driver.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/bus.h"

static void router(void *opaque, unsigned pirq, bool level)
{
	struct fvd *d = opaque;

	d->intx_level = level;
	if (pirq < 4)
		d->pirq_level[pirq] = level;
}

static void sink(void *opaque, uint64_t addr, uint32_t data)
{
	struct fvd *d = opaque;

	d->msis++;
	d->msi_addr = addr;
	d->msi_data = data;
}

void fvd_init_bare(struct fvd *d, size_t ram_size, size_t align, int devfn)
{
	memset(d, 0, sizeof(*d));
	d->ram_size = ram_size;
	d->ram = aligned_alloc(align, ram_size);
	assert_non_null(d->ram);
	memset(d->ram, 0, ram_size);
	d->devfn = devfn;
	d->ring_stride = 0x10;
	fvd_new_bus(d);
}

void fvd_init(struct fvd *d, size_t ram_size, int devfn)
{
	fvd_init_bare(d, ram_size, 4096, devfn);
	assert_int_equal(guest_mem_add(&d->mem, 0, ram_size, d->ram, false, "ram"), 0);
}

void fvd_new_bus(struct fvd *d)
{
	if (d->pci) {
		pci_bus_destroy(d->pci);
		bus_destroy(d->pio);
		bus_destroy(d->mmio);
	}
	d->pio = bus_create("pio", 0x10000);
	d->mmio = bus_create("mmio", 0);
	d->pci = pci_bus_create(d->pio, d->mmio);
	pci_bus_set_router(d->pci, router, d);
	pci_bus_set_msi_sink(d->pci, sink, d);
}

void fvd_fini(struct fvd *d)
{
	pci_bus_destroy(d->pci);
	bus_destroy(d->pio);
	bus_destroy(d->mmio);
	free(d->ram);
}

struct dev_ctx fvd_ctx(struct fvd *d, struct event_loop *loop)
{
	return (struct dev_ctx){.pio = d->pio, .mmio = d->mmio, .pci = d->pci, .mem = &d->mem,
				.loop = loop};
}

uint32_t fvd_cfg_r(struct fvd *d, unsigned off, unsigned size)
{
	return pci_config_read(d->pci, d->devfn, off, size);
}

void fvd_cfg_w(struct fvd *d, unsigned off, uint32_t v, unsigned size)
{
	pci_config_write(d->pci, d->devfn, off, v, size);
}

uint64_t fvd_io_r(struct fvd *d, unsigned off, unsigned size)
{
	uint64_t v = 0;

	bus_read(d->pio, FVD_IO_BASE + off, size, &v);
	return v;
}

void fvd_io_w(struct fvd *d, unsigned off, uint64_t v, unsigned size)
{
	bus_write(d->pio, FVD_IO_BASE + off, v, size);
}

uint64_t fvd_mm_r(struct fvd *d, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	bus_read(d->mmio, addr, size, &v);
	return v;
}

void fvd_mm_w(struct fvd *d, uint64_t addr, uint64_t v, unsigned size)
{
	bus_write(d->mmio, addr, v, size);
}

uint64_t fvd_common(unsigned off)
{
	return FVD_MODERN_BAR + VIRTIO_PCI_COMMON_OFF + off;
}

void fvd_place_bars(struct fvd *d)
{
	fvd_cfg_w(d, PCI_BASE_ADDRESS_0, FVD_IO_BASE, 4);
	fvd_cfg_w(d, PCI_BASE_ADDRESS_0 + 4, FVD_MSIX_BASE, 4);
	fvd_cfg_w(d, PCI_BASE_ADDRESS_0 + 16, FVD_MODERN_BAR, 4);
	fvd_cfg_w(d, PCI_BASE_ADDRESS_0 + 20, 0, 4);
	fvd_cfg_w(d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

uint64_t fvd_devcfg(struct fvd *d, unsigned off, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++) {
		uint64_t b = d->modern
				 ? fvd_mm_r(d, FVD_MODERN_BAR + VIRTIO_PCI_DEVICE_OFF + off + i, 1)
				 : fvd_io_r(d, VIRTIO_PCI_CONFIG_OFF(false) + off + i, 1);
		v |= (b & 0xff) << (8 * i);
	}
	return v;
}

void fvd_devcfg_w(struct fvd *d, unsigned off, uint64_t v, unsigned size)
{
	if (d->modern)
		fvd_mm_w(d, FVD_MODERN_BAR + VIRTIO_PCI_DEVICE_OFF + off, v, size);
	else
		fvd_io_w(d, VIRTIO_PCI_CONFIG_OFF(false) + off, v, size);
}

uint8_t fvd_isr(struct fvd *d)
{
	return (uint8_t)(d->modern ? fvd_mm_r(d, FVD_MODERN_BAR + VIRTIO_PCI_ISR_OFF, 1)
				   : fvd_io_r(d, VIRTIO_PCI_ISR, 1));
}

void fvd_ring_place(struct fvd *d, unsigned q, uint32_t pfn, uint16_t size)
{
	struct fvd_ring *r = &d->ring[q];

	r->size = size;
	r->desc = (uint64_t)pfn << 12;
	r->avail = r->desc + 16ULL * size;
	r->used = (r->avail + 6 + 2ULL * size + 4095) & ~4095ULL;
	r->avail_idx = r->next = 0;
	memset(d->ram + r->desc, 0, r->used + 6 + 8ULL * size - r->desc);
}

void fvd_legacy_up(struct fvd *d, uint32_t features, unsigned nq, uint32_t pfn0, bool driver_ok)
{
	d->modern = false;
	fvd_place_bars(d);
	fvd_io_w(d, VIRTIO_PCI_STATUS, 0, 1);
	fvd_io_w(d, VIRTIO_PCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	fvd_io_w(d, VIRTIO_PCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	fvd_io_w(d, VIRTIO_PCI_GUEST_FEATURES, features, 4);
	for (unsigned q = 0; q < nq; q++) {
		uint32_t pfn = pfn0 + d->ring_stride * q;

		fvd_io_w(d, VIRTIO_PCI_QUEUE_SEL, q, 2);
		assert_int_equal(fvd_io_r(d, VIRTIO_PCI_QUEUE_PFN, 4), 0);
		fvd_ring_place(d, q, pfn, (uint16_t)fvd_io_r(d, VIRTIO_PCI_QUEUE_NUM, 2));
		fvd_io_w(d, VIRTIO_PCI_QUEUE_PFN, pfn, 4);
	}
	if (driver_ok)
		fvd_driver_ok(d);
}

void fvd_modern_up(struct fvd *d, uint64_t features, unsigned nq, uint32_t pfn0, bool driver_ok)
{
	d->modern = true;
	fvd_place_bars(d);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_STATUS), 3, 1);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_GFSELECT), 0, 4);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_GF), (uint32_t)features, 4);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_GFSELECT), 1, 4);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_GF),
		 (features | (1ULL << VIRTIO_F_VERSION_1)) >> 32, 4);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
	assert_int_equal(fvd_mm_r(d, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1), 0xb);
	for (unsigned q = 0; q < nq; q++) {
		struct fvd_ring *r = &d->ring[q];
		uint16_t size = d->modern_qsize;

		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_SELECT), q, 2);
		if (size)
			fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), size, 2);
		else
			size = (uint16_t)fvd_mm_r(d, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), 2);
		fvd_ring_place(d, q, pfn0 + d->ring_stride * q, size);
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_DESCLO), (uint32_t)r->desc, 4);
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_DESCHI), (uint32_t)(r->desc >> 32), 4);
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_AVAILLO), (uint32_t)r->avail, 4);
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_AVAILHI), (uint32_t)(r->avail >> 32), 4);
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_USEDLO), (uint32_t)r->used, 4);
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_USEDHI), (uint32_t)(r->used >> 32), 4);
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_Q_ENABLE), 1, 2);
	}
	if (driver_ok)
		fvd_driver_ok(d);
}

void fvd_driver_ok(struct fvd *d)
{
	if (d->modern)
		fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0xf, 1);
	else
		fvd_io_w(d, VIRTIO_PCI_STATUS, 7, 1);
}

uint64_t fvd_features(struct fvd *d)
{
	uint64_t lo, hi;

	fvd_place_bars(d);
	if (!d->modern)
		return fvd_io_r(d, VIRTIO_PCI_HOST_FEATURES, 4);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_DFSELECT), 0, 4);
	lo = fvd_mm_r(d, fvd_common(VIRTIO_PCI_COMMON_DF), 4);
	fvd_mm_w(d, fvd_common(VIRTIO_PCI_COMMON_DFSELECT), 1, 4);
	hi = fvd_mm_r(d, fvd_common(VIRTIO_PCI_COMMON_DF), 4);
	return lo | hi << 32;
}

void fvd_put16(struct fvd *d, uint64_t gpa, uint16_t v)
{
	memcpy(d->ram + gpa, &v, 2);
}

uint16_t fvd_get16(struct fvd *d, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, d->ram + gpa, 2);
	return v;
}

void fvd_put32(struct fvd *d, uint64_t gpa, uint32_t v)
{
	memcpy(d->ram + gpa, &v, 4);
}

void fvd_put64(struct fvd *d, uint64_t gpa, uint64_t v)
{
	memcpy(d->ram + gpa, &v, 8);
}

uint32_t fvd_get32(struct fvd *d, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, d->ram + gpa, 4);
	return v;
}

void fvd_desc_at(struct fvd *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	fvd_put64(d, table + 16ULL * i, addr);
	fvd_put32(d, table + 16ULL * i + 8, len);
	fvd_put16(d, table + 16ULL * i + 12, flags);
	fvd_put16(d, table + 16ULL * i + 14, next);
}

void fvd_offer(struct fvd *d, unsigned q, uint16_t head)
{
	struct fvd_ring *r = &d->ring[q];

	fvd_put16(d, r->avail + 4 + 2ULL * (r->avail_idx % r->size), head);
	r->avail_idx++;
	fvd_put16(d, r->avail + 2, r->avail_idx);
}

uint16_t fvd_chain(struct fvd *d, unsigned q, const struct fvd_seg *s, unsigned n)
{
	struct fvd_ring *r = &d->ring[q];
	uint16_t head = r->next;

	for (unsigned i = 0; i < n; i++) {
		uint16_t at = (uint16_t)((r->next + i) % r->size);

		fvd_desc_at(d, r->desc, at, s[i].gpa, s[i].len,
			    (uint16_t)(s[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			    i + 1 < n ? (uint16_t)((at + 1) % r->size) : 0);
	}
	r->next = (uint16_t)((r->next + n) % r->size);
	fvd_offer(d, q, head);
	return head;
}

void fvd_kick(struct fvd *d, unsigned q)
{
	if (d->modern)
		fvd_mm_w(d, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, q, 2);
	else
		fvd_io_w(d, VIRTIO_PCI_QUEUE_NOTIFY, q, 2);
}

uint16_t fvd_used_idx(struct fvd *d, unsigned q)
{
	return fvd_get16(d, d->ring[q].used + 2);
}

void fvd_used_elem(struct fvd *d, unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
	*id = fvd_get32(d, d->ring[q].used + 4 + 8ULL * (i % d->ring[q].size));
	*len = fvd_get32(d, d->ring[q].used + 8 + 8ULL * (i % d->ring[q].size));
}
