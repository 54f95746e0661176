// SPDX-License-Identifier: GPL-2.0-or-later
/* The memory map of shared/design.md: RAM split around the 4 GiB hole, the
 * E820 table, and the BIOS copy below 1 MiB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/memmap.h"

static char err[256];

static void test_small_ram(void **state)
{
	struct memmap m;

	assert_int_equal(memmap_plan(&m, 512ULL << 20, 0, err, sizeof(err)), 0);
	assert_int_equal(m.low_size, 512ULL << 20);
	assert_int_equal(m.high_size, 0);
}

static void test_split_at_3_5g(void **state)
{
	struct memmap m;

	assert_int_equal(memmap_plan(&m, 6ULL << 30, 256 << 10, err, sizeof(err)), 0);
	assert_int_equal(m.low_size, MEMMAP_LOWMEM_MAX);
	assert_int_equal(m.high_size, (6ULL << 30) - MEMMAP_LOWMEM_MAX);
	assert_int_equal(m.low_size + m.high_size, 6ULL << 30);
}

static void test_bad_sizes(void **state)
{
	struct memmap m;

	assert_int_equal(memmap_plan(&m, 1ULL << 20, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(memmap_plan(&m, (64ULL << 20) + 1, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(memmap_plan(&m, 64ULL << 20, 1000, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "64 KiB"));
	assert_int_equal(memmap_plan(&m, 64ULL << 20, 32 << 20, err, sizeof(err)), -EINVAL);
	assert_int_equal(memmap_plan(&m, 64ULL << 20, (64 << 10) + 4096, err, sizeof(err)), -EINVAL);
	assert_int_equal(memmap_plan(&m, 64ULL << 20, 16 << 20, err, sizeof(err)), 0);
}

static void test_e820(void **state)
{
	struct memmap m;
	struct e820_entry e[E820_MAX_ENTRIES];
	unsigned n;
	uint64_t ram = 0;

	assert_int_equal(memmap_plan(&m, 5ULL << 30, 256 << 10, err, sizeof(err)), 0);
	n = memmap_e820(&m, e, E820_MAX_ENTRIES);
	for (unsigned i = 0; i < n; i++) {
		if (e[i].type == E820_RAM)
			ram += e[i].size;
		/* sorted and not overlapping */
		if (i)
			assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
		/* no RAM in the VGA window, the PCI hole or the KVM pages */
		if (e[i].type == E820_RAM) {
			assert_true(e[i].addr + e[i].size <= MEMMAP_VGA_START || e[i].addr >= 0x100000);
			assert_true(e[i].addr + e[i].size <= MEMMAP_LOWMEM_MAX || e[i].addr >= MEMMAP_4G);
		}
	}
	/* all RAM but the EBDA and the BIOS area (0x9fc00 - 1 MiB) is usable */
	assert_int_equal(ram, (5ULL << 30) - (0x100000 - 0x9fc00));
	assert_int_equal(e[n - 1].addr, MEMMAP_4G);
	/* a short table is cut, not overrun */
	assert_int_equal(memmap_e820(&m, e, 2), 2);
}

static void test_ram_and_bios_copy(void **state)
{
	struct memmap m;
	struct guest_ram r;
	struct guest_mem mem;
	uint8_t *p;

	assert_int_equal(memmap_plan(&m, 16ULL << 20, 256 << 10, err, sizeof(err)), 0);
	assert_int_equal(guest_ram_alloc(&r, &m, err, sizeof(err)), 0);
	for (unsigned i = 0; i < m.bios_size; i++)
		r.bios[i] = (uint8_t)(i >> 10);
	guest_ram_load_bios_low(&r);
	/* the last 128 KiB of the image end at 1 MiB */
	assert_int_equal(r.low[0xe0000], (uint8_t)((m.bios_size - (128 << 10)) >> 10));
	assert_int_equal(r.low[0xfffff], r.bios[m.bios_size - 1]);
	assert_int_equal(r.low[0xdffff], 0);

	guest_ram_describe(&r, &mem);
	/* VGA window is not RAM; the ROM is read-only to devices */
	assert_null(guest_mem_ptr(&mem, 0xa0000, 1, false));
	assert_non_null(guest_mem_ptr(&mem, 0x9ffff, 1, true));
	assert_non_null(guest_mem_ptr(&mem, 0xc0000, 1, true));
	p = guest_mem_ptr(&mem, 0xfffffff0, 16, false);
	assert_ptr_equal(p, r.bios + m.bios_size - 16);
	assert_null(guest_mem_ptr(&mem, 0xfffffff0, 16, true));
	guest_ram_free(&r);
}

static void test_unmappable(void **state)
{
	struct memmap m;
	struct guest_ram r;

	/* More than any test machine has: refused with a message, not a crash. */
	assert_int_equal(memmap_plan(&m, 1ULL << 40, 0, err, sizeof(err)), 0);
	if (guest_ram_alloc(&r, &m, err, sizeof(err)) == 0) {
		guest_ram_free(&r); /* an enormous host with overcommit allowed */
		skip();
	}
	assert_non_null(strstr(err, "cannot map"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram),	  cmocka_unit_test(test_split_at_3_5g),
		cmocka_unit_test(test_bad_sizes),	  cmocka_unit_test(test_e820),
		cmocka_unit_test(test_ram_and_bios_copy), cmocka_unit_test(test_unmappable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
