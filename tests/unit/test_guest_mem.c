// SPDX-License-Identifier: GPL-2.0-or-later
/* Guest memory: region table checks and whole-range translation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/guest_mem.h"

#define PAGE 0x1000

static uint8_t low[PAGE], high[PAGE], rom[PAGE], top[PAGE], zero[PAGE];

static void fill(void)
{
	memset(low, 0x11, sizeof(low));
	memset(high, 0x22, sizeof(high));
	memset(rom, 0x33, sizeof(rom));
	memset(top, 0x44, sizeof(top));
	memset(zero, 0x55, sizeof(zero));
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/*
 * Layout:  [0x10000, 0x11000) low   RW
 *          [0x11000, 0x12000) high  RW  (adjacent to low)
 *          [0x12000, 0x13000) rom   RO  (adjacent to high)
 *          gap
 *          [2^64 - 0x1000, 2^64) top RW
 *          [0, 0x1000) zero RW
 */
static int setup(void **state)
{
	static struct guest_mem mem;

	memset(&mem, 0, sizeof(mem));
	fill();
	if (guest_mem_add(&mem, 0x10000, PAGE, low, false, "low") ||
	    guest_mem_add(&mem, 0x11000, PAGE, high, false, "high") ||
	    guest_mem_add(&mem, 0x12000, PAGE, rom, true, "rom") ||
	    guest_mem_add(&mem, UINT64_MAX - PAGE + 1, PAGE, top, false, "top") ||
	    guest_mem_add(&mem, 0, PAGE, zero, false, "zero"))
		return -1;
	*state = &mem;
	return 0;
}

static void test_add_checks(void **state)
{
	struct guest_mem mem = {0};
	uint8_t buf[16];

	assert_int_equal(guest_mem_add(&mem, 0x1000, 0, buf, false, "empty"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, 0x1000, 16, NULL, false, "nohva"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, UINT64_MAX, 2, buf, false, "wrap"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, 2, UINT64_MAX, buf, false, "wrap"), -EINVAL);
	assert_int_equal(mem.nr, 0);
	/* ending exactly at 2^64 is fine */
	assert_int_equal(guest_mem_add(&mem, UINT64_MAX - 15, 16, buf, false, "top"), 0);

	assert_int_equal(guest_mem_add(&mem, 0x1000, 0x1000, buf, false, "a"), 0);
	assert_int_equal(guest_mem_add(&mem, 0x1000, 0x1000, buf, false, "same"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, 0x1800, 0x1000, buf, false, "tail"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, 0x800, 0x1000, buf, false, "head"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, 0x1100, 0x10, buf, false, "inside"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, 0, 0x10000, buf, false, "around"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, 0x1fff, 1, buf, false, "last"), -EINVAL);
	assert_int_equal(guest_mem_add(&mem, UINT64_MAX, 1, buf, false, "top byte"), -EINVAL);
	assert_int_equal(mem.nr, 2);
	/* adjacent on both sides */
	assert_int_equal(guest_mem_add(&mem, 0x2000, 0x1000, buf, false, "after"), 0);
	assert_int_equal(guest_mem_add(&mem, 0, 0x1000, buf, false, "before"), 0);
	assert_int_equal(mem.nr, 4);
	/* table full */
	for (unsigned i = mem.nr; i < GUEST_MEM_MAX_REGIONS; i++)
		assert_int_equal(guest_mem_add(&mem, 0x100000 * (i + 1), 16, buf, false, "f"), 0);
	assert_int_equal(guest_mem_add(&mem, 0x7000000, 16, buf, false, "full"), -ENOSPC);
	assert_int_equal(mem.nr, GUEST_MEM_MAX_REGIONS);
	assert_string_equal(mem.region[0].name, "top");
	assert_true(mem.region[2].hva == buf);
}

static void test_ptr_whole_range(void **state)
{
	const struct guest_mem *mem = *state;

	assert_ptr_equal(guest_mem_ptr(mem, 0x10000, PAGE, false), low);
	assert_ptr_equal(guest_mem_ptr(mem, 0x10000, PAGE, true), low);
	assert_ptr_equal(guest_mem_ptr(mem, 0x10fff, 1, true), low + PAGE - 1);
	assert_ptr_equal(guest_mem_ptr(mem, 0x10800, 0x800, true), low + 0x800);
	/* one byte past the end, even if the next region is adjacent */
	assert_null(guest_mem_ptr(mem, 0x10fff, 2, false));
	assert_null(guest_mem_ptr(mem, 0x10000, PAGE + 1, false));
	assert_null(guest_mem_ptr(mem, 0x10800, 0x801, false));
	/* len 0, gaps, huge lengths */
	assert_null(guest_mem_ptr(mem, 0x10000, 0, false));
	assert_null(guest_mem_ptr(mem, 0xffff, 1, false));
	assert_null(guest_mem_ptr(mem, 0x13000, 1, false));
	assert_null(guest_mem_ptr(mem, 0x10000, UINT64_MAX, false));
	assert_null(guest_mem_ptr(mem, 0x10001, UINT64_MAX, false));
	/* the last byte of the address space, and running past 2^64 */
	assert_ptr_equal(guest_mem_ptr(mem, UINT64_MAX, 1, true), top + PAGE - 1);
	assert_ptr_equal(guest_mem_ptr(mem, UINT64_MAX - PAGE + 1, PAGE, true), top);
	assert_null(guest_mem_ptr(mem, UINT64_MAX, 2, false));
	assert_null(guest_mem_ptr(mem, UINT64_MAX - 1, 3, false));
	assert_null(guest_mem_ptr(mem, UINT64_MAX - PAGE + 1, UINT64_MAX, false));
	/* read-only: readable, not writable */
	assert_ptr_equal(guest_mem_ptr(mem, 0x12010, 16, false), rom + 16);
	assert_null(guest_mem_ptr(mem, 0x12010, 16, true));
	assert_null(guest_mem_ptr(mem, 0x12fff, 1, true));
}

static void test_copy_across_regions(void **state)
{
	const struct guest_mem *mem = *state;
	uint8_t buf[PAGE * 3], back[PAGE * 3];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	/* low and high are adjacent: a write may span them */
	assert_int_equal(guest_mem_write(mem, 0x10ff8, buf, 16), 0);
	assert_memory_equal(low + PAGE - 8, buf, 8);
	assert_memory_equal(high, buf + 8, 8);
	assert_true(all_bytes(low, PAGE - 8, 0x11));
	assert_true(all_bytes(high + 8, PAGE - 8, 0x22));
	memset(back, 0, sizeof(back));
	assert_int_equal(guest_mem_read(mem, 0x10ff8, back, 16), 0);
	assert_memory_equal(back, buf, 16);
	/* all of low, high and rom in one read */
	assert_int_equal(guest_mem_read(mem, 0x10000, back, 3 * PAGE), 0);
	assert_memory_equal(back + PAGE - 8, buf, 16);
	assert_true(all_bytes(back + 2 * PAGE, PAGE, 0x33));
	/* nothing to do */
	assert_int_equal(guest_mem_read(mem, 0x99999999, back, 0), 0);
	assert_int_equal(guest_mem_write(mem, 0x99999999, buf, 0), 0);
}

static void test_copy_fails_whole(void **state)
{
	const struct guest_mem *mem = *state;
	uint8_t buf[PAGE * 4], back[PAGE * 4];

	memset(buf, 0xee, sizeof(buf));
	memset(back, 0xaa, sizeof(back));
	/* into the gap after rom */
	assert_int_equal(guest_mem_read(mem, 0x12ff0, back, 32), -EFAULT);
	assert_true(all_bytes(back, sizeof(back), 0xaa));
	/* starting in the gap before low */
	assert_int_equal(guest_mem_read(mem, 0xfff0, back, 32), -EFAULT);
	assert_int_equal(guest_mem_write(mem, 0xfff0, buf, 32), -EFAULT);
	assert_true(all_bytes(low, PAGE, 0x11));
	/* all of low, high and rom plus one byte */
	assert_int_equal(guest_mem_read(mem, 0x10000, back, 3 * PAGE + 1), -EFAULT);
	assert_true(all_bytes(back, sizeof(back), 0xaa));
	/* a write that would end in read-only memory changes nothing */
	assert_int_equal(guest_mem_write(mem, 0x11ff0, buf, 32), -EFAULT);
	assert_true(all_bytes(high, PAGE, 0x22));
	assert_true(all_bytes(rom, PAGE, 0x33));
	assert_int_equal(guest_mem_write(mem, 0x10000, buf, 2 * PAGE + 1), -EFAULT);
	assert_true(all_bytes(low, PAGE, 0x11));
	assert_true(all_bytes(high, PAGE, 0x22));
	/* read-only memory is still readable */
	assert_int_equal(guest_mem_read(mem, 0x12000, back, 4), 0);
	assert_true(all_bytes(back, 4, 0x33));
	/* top ends at 2^64 and zero starts at 0: no wrapping across */
	assert_int_equal(guest_mem_read(mem, UINT64_MAX - 7, back, 8), 0);
	assert_true(all_bytes(back, 8, 0x44));
	memset(back, 0xaa, sizeof(back));
	assert_int_equal(guest_mem_read(mem, UINT64_MAX - 7, back, 16), -EFAULT);
	assert_true(all_bytes(back, sizeof(back), 0xaa));
	assert_int_equal(guest_mem_write(mem, UINT64_MAX - 7, buf, 16), -EFAULT);
	assert_true(all_bytes(top, PAGE, 0x44));
	assert_true(all_bytes(zero, PAGE, 0x55));
	/* a length that alone runs past 2^64 */
	assert_int_equal(guest_mem_read(mem, 0x10000, back, SIZE_MAX), -EFAULT);
	assert_true(all_bytes(back, sizeof(back), 0xaa));
}

static void test_map_iov(void **state)
{
	struct guest_mem *mem = *state;
	struct iovec iov[4];
	unsigned n = 99;

	/* Inside one region. */
	assert_int_equal(guest_mem_map_iov(mem, 0x10010, 0x20, true, iov, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base, low + 0x10);
	assert_int_equal(iov[0].iov_len, 0x20);
	/* Across low, high and into rom: split at each boundary. */
	assert_int_equal(guest_mem_map_iov(mem, 0x10ff0, 0x1020, false, iov, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(iov[0].iov_base, low + PAGE - 0x10);
	assert_int_equal(iov[0].iov_len, 0x10);
	assert_ptr_equal(iov[1].iov_base, high);
	assert_int_equal(iov[1].iov_len, PAGE);
	assert_ptr_equal(iov[2].iov_base, rom);
	assert_int_equal(iov[2].iov_len, 0x10);
	/* Whole regions, exactly. */
	assert_int_equal(guest_mem_map_iov(mem, 0x10000, 3 * PAGE, false, iov, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(iov[2].iov_len, PAGE);
	/* The last byte of the address space is fine... */
	assert_int_equal(guest_mem_map_iov(mem, UINT64_MAX, 1, true, iov, 1, &n), 0);
	assert_ptr_equal(iov[0].iov_base, top + PAGE - 1);
	assert_int_equal(guest_mem_map_iov(mem, UINT64_MAX - PAGE + 1, PAGE, true, iov, 1, &n),
			 0);
	/* Empty range: no entry, even with no room. */
	assert_int_equal(guest_mem_map_iov(mem, 0x10000, 0, true, iov, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void test_map_iov_refusals(void **state)
{
	struct guest_mem *mem = *state;
	struct iovec iov[4];
	unsigned n = 99;

	/* Writing into the read-only region, even one byte of it. */
	assert_int_equal(guest_mem_map_iov(mem, 0x12000, 1, true, iov, 4, &n), -EFAULT);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(guest_mem_map_iov(mem, 0x10ff0, 0x1011, true, iov, 4, &n), -EFAULT);
	assert_int_equal(n, 0);
	/* Reading it is fine. */
	assert_int_equal(guest_mem_map_iov(mem, 0x12000, 1, false, iov, 4, &n), 0);
	/* Outside RAM: the gap, the byte after rom, a range running into the
	 * gap. */
	assert_int_equal(guest_mem_map_iov(mem, 0x20000, 1, false, iov, 4, &n), -EFAULT);
	assert_int_equal(guest_mem_map_iov(mem, 0x13000, 1, false, iov, 4, &n), -EFAULT);
	assert_int_equal(guest_mem_map_iov(mem, 0x12fff, 2, false, iov, 4, &n), -EFAULT);
	assert_int_equal(guest_mem_map_iov(mem, 0xfff, 2, false, iov, 4, &n), -EFAULT);
	/* Past 2^64: top then zero would be "contiguous" modulo 2^64. */
	assert_int_equal(guest_mem_map_iov(mem, UINT64_MAX, 2, false, iov, 4, &n), -EFAULT);
	assert_int_equal(guest_mem_map_iov(mem, UINT64_MAX - PAGE + 1, PAGE + 1, false, iov, 4, &n),
			 -EFAULT);
	assert_int_equal(guest_mem_map_iov(mem, 0x10000, UINT64_MAX, false, iov, 4, &n), -EFAULT);
	assert_int_equal(guest_mem_map_iov(mem, 1, UINT64_MAX, false, iov, 4, &n), -EFAULT);
	/* More entries than the caller has room for. */
	n = 99;
	assert_int_equal(guest_mem_map_iov(mem, 0x10ff0, 0x1020, false, iov, 2, &n), -ENOBUFS);
	assert_int_equal(n, 0);
	assert_int_equal(guest_mem_map_iov(mem, 0x10000, 1, false, iov, 0, &n), -ENOBUFS);
	/* Nothing in an empty table. */
	{
		struct guest_mem none = { .nr = 0 };

		assert_int_equal(guest_mem_map_iov(&none, 0, 1, false, iov, 4, &n), -EFAULT);
	}
}

static int reset(void **state)
{
	fill();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_checks),
	    cmocka_unit_test_setup_teardown(test_ptr_whole_range, setup, reset),
	    cmocka_unit_test_setup_teardown(test_copy_across_regions, setup, reset),
	    cmocka_unit_test_setup_teardown(test_copy_fails_whole, setup, reset),
	    cmocka_unit_test_setup_teardown(test_map_iov, setup, reset),
	    cmocka_unit_test_setup_teardown(test_map_iov_refusals, setup, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
