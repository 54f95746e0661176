/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest-physical layout of shared/design.md, computed from the RAM size
 * (pure arithmetic, unit-tested), and the host memory behind it.
 */
#ifndef MINIVMM_MEMMAP_H
#define MINIVMM_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/e820.h"
#include "vmm/guest_mem.h"

#define MEMMAP_VGA_START      0xa0000ULL
#define MEMMAP_VGA_END        0xc0000ULL
#define MEMMAP_LOWMEM_MAX     0xe0000000ULL /* 3.5 GiB */
#define MEMMAP_PCI_HOLE_END   0xfec00000ULL
#define MEMMAP_IDENTITY_MAP   0xfeffc000ULL /* one page */
#define MEMMAP_TSS            0xfeffd000ULL /* three pages */
#define MEMMAP_KVM_PRIV_END   0xff000000ULL
#define MEMMAP_4G             0x100000000ULL
#define MEMMAP_BIOS_MIN       (64ULL << 10)
#define MEMMAP_BIOS_MAX       (16ULL << 20)
#define MEMMAP_BIOS_LOW_MAX   (128ULL << 10) /* BIOS copy that ends at 1 MiB */

struct memmap {
	uint64_t ram_size;
	uint64_t low_size;  /* RAM from 0 (the VGA window is carved out of it) */
	uint64_t high_size; /* RAM from 4 GiB */
	uint64_t bios_size; /* 0 without a BIOS image */
};

/* Fills the layout; -EINVAL (with a message in err) for an impossible RAM
 * or BIOS size. */
int memmap_plan(struct memmap *map, uint64_t ram_size, uint64_t bios_size, char *err, size_t errlen);

/* E820 for firmware and for Linux; returns the number of entries. */
unsigned memmap_e820(const struct memmap *map, struct e820_entry *e, unsigned max);

/* Host memory backing the plan.  bios may be NULL. */
struct guest_ram {
	uint8_t *low;  /* low_size bytes */
	uint8_t *high; /* high_size bytes, or NULL */
	uint8_t *bios; /* bios_size bytes, read-only to the guest */
	struct memmap map;
};

int guest_ram_alloc(struct guest_ram *ram, const struct memmap *map, char *err, size_t errlen);
void guest_ram_free(struct guest_ram *ram);
/* The RAM regions devices may touch (the BIOS ROM read-only). */
void guest_ram_describe(const struct guest_ram *ram, struct guest_mem *mem);
/* Copies the last min(size, 128 KiB) of the BIOS to RAM ending at 1 MiB, as
 * a PC does at power-on (done again on every reset). */
void guest_ram_load_bios_low(struct guest_ram *ram);

#endif
