// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/memmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int memmap_plan(struct memmap *map, uint64_t ram_size, uint64_t bios_size, char *err, size_t errlen)
{
	memset(map, 0, sizeof(*map));
	if (ram_size < (2ULL << 20) || ram_size % 4096) {
		snprintf(err, errlen, "memory size must be at least 2M and a multiple of 4K");
		return -EINVAL;
	}
	if (bios_size && (bios_size < MEMMAP_BIOS_MIN || bios_size > MEMMAP_BIOS_MAX ||
			  bios_size % MEMMAP_BIOS_MIN)) {
		snprintf(err, errlen,
			 "BIOS image is %llu bytes; it must be 64 KiB to 16 MiB, a multiple of 64 KiB",
			 (unsigned long long)bios_size);
		return -EINVAL;
	}
	map->ram_size = ram_size;
	map->low_size = ram_size < MEMMAP_LOWMEM_MAX ? ram_size : MEMMAP_LOWMEM_MAX;
	map->high_size = ram_size - map->low_size;
	map->bios_size = bios_size;
	return 0;
}

static unsigned add(struct e820_entry *e, unsigned n, unsigned max, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (n < max && size)
		e[n++] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	return n;
}

unsigned memmap_e820(const struct memmap *map, struct e820_entry *e, unsigned max)
{
	unsigned n = 0;

	/* Conventional memory up to the EBDA, the BIOS area, then the rest. */
	n = add(e, n, max, 0, 0x9fc00, E820_RAM);
	n = add(e, n, max, 0x9fc00, 0x400, E820_RESERVED);
	n = add(e, n, max, 0xf0000, 0x10000, E820_RESERVED);
	n = add(e, n, max, 0x100000, map->low_size - 0x100000, E820_RAM);
	n = add(e, n, max, MEMMAP_IDENTITY_MAP, MEMMAP_KVM_PRIV_END - MEMMAP_IDENTITY_MAP,
		E820_RESERVED);
	if (map->bios_size)
		n = add(e, n, max, MEMMAP_4G - map->bios_size, map->bios_size, E820_RESERVED);
	n = add(e, n, max, MEMMAP_4G, map->high_size, E820_RAM);
	return n;
}

static void *map_anon(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_MERGEABLE);
	return p;
}

int guest_ram_alloc(struct guest_ram *ram, const struct memmap *map, char *err, size_t errlen)
{
	memset(ram, 0, sizeof(*ram));
	ram->map = *map;
	ram->low = map_anon(map->low_size);
	if (map->high_size)
		ram->high = map_anon(map->high_size);
	if (map->bios_size)
		ram->bios = map_anon(map->bios_size);
	if (!ram->low || (map->high_size && !ram->high) || (map->bios_size && !ram->bios)) {
		snprintf(err, errlen, "cannot map %llu MiB of guest RAM on this host: %s",
			 (unsigned long long)(map->ram_size >> 20), strerror(errno));
		guest_ram_free(ram);
		return -ENOMEM;
	}
	return 0;
}

void guest_ram_free(struct guest_ram *ram)
{
	if (ram->low)
		munmap(ram->low, ram->map.low_size);
	if (ram->high)
		munmap(ram->high, ram->map.high_size);
	if (ram->bios)
		munmap(ram->bios, ram->map.bios_size);
	memset(ram, 0, sizeof(*ram));
}

void guest_ram_describe(const struct guest_ram *ram, struct guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
	guest_mem_add(mem, 0, MEMMAP_VGA_START, ram->low, false, "ram-low");
	guest_mem_add(mem, MEMMAP_VGA_END, ram->map.low_size - MEMMAP_VGA_END,
		      ram->low + MEMMAP_VGA_END, false, "ram");
	if (ram->high)
		guest_mem_add(mem, MEMMAP_4G, ram->map.high_size, ram->high, false, "ram-high");
	if (ram->bios)
		guest_mem_add(mem, MEMMAP_4G - ram->map.bios_size, ram->map.bios_size, ram->bios,
			      true, "bios");
}

void guest_ram_load_bios_low(struct guest_ram *ram)
{
	uint64_t n = ram->map.bios_size < MEMMAP_BIOS_LOW_MAX ? ram->map.bios_size
							      : MEMMAP_BIOS_LOW_MAX;

	if (ram->bios)
		memcpy(ram->low + 0x100000 - n, ram->bios + ram->map.bios_size - n, n);
}
