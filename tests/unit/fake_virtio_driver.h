/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake virtio driver for device unit tests: a guest RAM, the buses and
 * PCI bus 0 a device is created on, the BARs placed, bring-up on the
 * legacy register file (as the 2012-2013 virtio-win drivers do it) or on
 * the modern capabilities (as Linux), split rings laid out in RAM, chains
 * offered and kicked, used elements read back.
 */
#ifndef MINIVMM_FAKE_VIRTIO_DRIVER_H
#define MINIVMM_FAKE_VIRTIO_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/device.h"
#include "vmm/guest_mem.h"

#define FVD_IO_BASE    0xc000u
#define FVD_MSIX_BASE  0xfe000000u
#define FVD_MODERN_BAR 0xfe100000u
#define FVD_MAX_QUEUES 8

struct fvd_ring {
	uint64_t desc, avail, used;
	uint16_t size, avail_idx, next;
};

struct fvd {
	uint8_t *ram;
	size_t ram_size;
	struct guest_mem mem;
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	int devfn;
	bool modern;
	struct fvd_ring ring[FVD_MAX_QUEUES];
	unsigned ring_stride;  /* pages between queues' rings; 0x10 */
	uint16_t modern_qsize; /* a size the modern driver writes; 0: the device's */
	unsigned msis;	 /* MSIs the device sent */
	uint64_t msi_addr; /* the last one's address and data */
	uint32_t msi_data;
	bool intx_level; /* the INTx line as the router last saw it */
	bool pirq_level[4]; /* each PIRQ line as the router last saw it */
};

struct fvd_seg {
	uint64_t gpa;
	uint32_t len;
	uint16_t flags; /* VIRTQ_DESC_F_WRITE or 0 */
};

void fvd_init(struct fvd *d, size_t ram_size, int devfn);
/* The same with RAM aligned to align but no region in d->mem: the caller
 * lays the guest memory out. */
void fvd_init_bare(struct fvd *d, size_t ram_size, size_t align, int devfn);
void fvd_fini(struct fvd *d);
/* Fresh buses and PCI bus 0, after the device on the old ones was
 * destroyed (a PCI function cannot be removed, nor its BARs). */
void fvd_new_bus(struct fvd *d);
struct dev_ctx fvd_ctx(struct fvd *d, struct event_loop *loop);

uint32_t fvd_cfg_r(struct fvd *d, unsigned off, unsigned size);
void fvd_cfg_w(struct fvd *d, unsigned off, uint32_t v, unsigned size);
uint64_t fvd_io_r(struct fvd *d, unsigned off, unsigned size);
void fvd_io_w(struct fvd *d, unsigned off, uint64_t v, unsigned size);
uint64_t fvd_mm_r(struct fvd *d, uint64_t addr, unsigned size);
void fvd_mm_w(struct fvd *d, uint64_t addr, uint64_t v, unsigned size);
/* Device config byte by byte (the legacy offset without MSI-X). */
uint64_t fvd_devcfg(struct fvd *d, unsigned off, unsigned size);
/* One device config write of size bytes. */
void fvd_devcfg_w(struct fvd *d, unsigned off, uint64_t v, unsigned size);
uint8_t fvd_isr(struct fvd *d);
/* The address of a common-config register in the modern BAR. */
uint64_t fvd_common(unsigned off);
/* BAR0 I/O, BAR1 MSI-X, BAR4 modern; I/O, memory and bus mastering on. */
void fvd_place_bars(struct fvd *d);

/* Reset, ACK, DRIVER, features, queues 0..nq-1 (rings at page
 * pfn0 + ring_stride q, the size the device offers; each queue's PFN must
 * read 0 before), DRIVER_OK unless driver_ok is false. */
void fvd_legacy_up(struct fvd *d, uint32_t features, unsigned nq, uint32_t pfn0, bool driver_ok);
/* The same on the modern interface (VERSION_1 added, FEATURES_OK; the
 * queue size modern_qsize when set). */
void fvd_modern_up(struct fvd *d, uint64_t features, unsigned nq, uint32_t pfn0, bool driver_ok);
void fvd_driver_ok(struct fvd *d);
/* Fresh (zeroed) split rings of size entries for queue q at page pfn, in
 * RAM only: the device is not told. */
void fvd_ring_place(struct fvd *d, unsigned q, uint32_t pfn, uint16_t size);
uint64_t fvd_features(struct fvd *d); /* offered, low 32 bits on legacy */

/* Head offered on queue q's avail ring. */
void fvd_offer(struct fvd *d, unsigned q, uint16_t head);
/* A chain of n buffers offered on queue q; its head. */
uint16_t fvd_chain(struct fvd *d, unsigned q, const struct fvd_seg *s, unsigned n);
void fvd_kick(struct fvd *d, unsigned q);
uint16_t fvd_used_idx(struct fvd *d, unsigned q);
void fvd_used_elem(struct fvd *d, unsigned q, uint16_t i, uint32_t *id, uint32_t *len);

/* Descriptor i of the table at gpa table. */
void fvd_desc_at(struct fvd *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next);

void fvd_put16(struct fvd *d, uint64_t gpa, uint16_t v);
void fvd_put32(struct fvd *d, uint64_t gpa, uint32_t v);
void fvd_put64(struct fvd *d, uint64_t gpa, uint64_t v);
uint16_t fvd_get16(struct fvd *d, uint64_t gpa);
uint32_t fvd_get32(struct fvd *d, uint64_t gpa);

#endif
