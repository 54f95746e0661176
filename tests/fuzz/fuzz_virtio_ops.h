/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the virtio device fuzz targets (fuzz_virtio_blk, fuzz_virtio_net)
 * share: a fresh PCI bus with one virtio function on it, the program steps
 * every virtio device takes from its input (register accesses on both
 * interfaces, guest memory, descriptors, avail ring entries, PFNs, kicks),
 * and the builders the standalone seeds are written with.  Each target adds
 * its own steps (request or frame headers, completions, resets...).
 */
#ifndef MINIVMM_FUZZ_VIRTIO_OPS_H
#define MINIVMM_FUZZ_VIRTIO_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_input.h"

#define FUZZ_VIRTIO_IO_BASE    0xc000u
#define FUZZ_VIRTIO_MSIX_BASE  0xfe000000u
#define FUZZ_VIRTIO_MODERN_BAR 0xfe100000u

struct bus;
struct guest_mem;
struct pci_bus;

struct fuzz_virtio_env {
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	uint8_t *ram;
	size_t ram_size; /* a multiple of 4 KiB, at most 1 MiB (8-bit page numbers) */
	int devfn;
};

/* Fresh buses and PCI bus 0 (interrupts dropped), ram cleared and mem
 * describing it as guest RAM at 0. */
void fuzz_virtio_env_init(struct fuzz_virtio_env *env, struct guest_mem *mem, uint8_t *ram,
			  size_t ram_size, int devfn);
void fuzz_virtio_env_fini(struct fuzz_virtio_env *env);

/*
 * The shared steps, by op & 0xf (the access size is 1 << ((op >> 4) & 3),
 * bit 6 picks a variant):
 *   0 PCI config write          1 legacy BAR0 write      2 legacy BAR0 read
 *   3 modern BAR4 read/write    4 MSI-X BAR1 read/write  5 4 bytes of RAM
 *   6 a descriptor (bit 6: a long buffer)                8 the BARs placed
 *   10 an avail ring entry and index of a legacy-layout 256-entry queue
 *   13 a legacy PFN for the selected queue               15 a kick
 * True if op was one of them (then done), false for the target's own.
 */
bool fuzz_virtio_op(const struct fuzz_virtio_env *env, uint8_t op, struct input *in);
/* Kick queue in_u8 % 4 on the legacy (bit 6 clear) or modern interface. */
void fuzz_virtio_kick(const struct fuzz_virtio_env *env, uint8_t op, struct input *in);
/* n bytes at guest address off, if they fit in RAM. */
void fuzz_virtio_put(const struct fuzz_virtio_env *env, uint64_t off, const void *p, size_t n);

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

/* Seed builders for those steps. */
void fvs_put(struct fuzz_seed *s, const void *p, size_t n);
void fvs_op(struct fuzz_seed *s, uint8_t op);
void fvs_io_w(struct fuzz_seed *s, unsigned sz_log, uint8_t off, uint32_t v);
void fvs_mm_w(struct fuzz_seed *s, unsigned sz_log, uint16_t off, uint64_t v);
/* Descriptor idx of the table at page `page`. */
void fvs_desc(struct fuzz_seed *s, uint8_t page, uint8_t idx, uint32_t buf, uint16_t len,
	      uint8_t flags, uint8_t next);
void fvs_avail(struct fuzz_seed *s, uint8_t page, uint8_t slot, uint8_t head, uint16_t idx);
#endif

#endif
