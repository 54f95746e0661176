// SPDX-License-Identifier: GPL-2.0-or-later
/* Port-I/O / MMIO bus: registration checks, dispatch, unclaimed accesses,
 * unregistering, names, re-entrancy from handlers. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vmm/bus.h"

struct recorder {
	unsigned reads, writes;
	uint64_t offset, value;
	unsigned size;
	uint64_t read_result;
};

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned size)
{
	struct recorder *r = opaque;

	r->reads++;
	r->offset = offset;
	r->size = size;
	return r->read_result;
}

static void rec_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct recorder *r = opaque;

	r->writes++;
	r->offset = offset;
	r->value = value;
	r->size = size;
}

static const struct bus_ops rec_ops = {.read = rec_read, .write = rec_write};
static const struct bus_ops no_ops; /* neither read nor write */

static int setup(void **state)
{
	*state = bus_create("pio", 0x10000);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	bus_destroy(*state);
	return 0;
}

static void test_refuses_bad_ranges(void **state)
{
	struct bus *bus = *state;
	struct bus *whole = bus_create("mmio", 0);
	struct recorder r = {0};
	uint64_t v;
	int top, rest;

	assert_non_null(whole);
	assert_int_equal(bus_register(bus, 0x100, 0, &rec_ops, &r, "empty"), -EINVAL);
	assert_int_equal(bus_register(bus, 0x100, 8, NULL, &r, "no ops"), -EINVAL);
	/* beyond the limit, or running past it */
	assert_int_equal(bus_register(bus, 0x10000, 1, &rec_ops, &r, "beyond"), -EINVAL);
	assert_int_equal(bus_register(bus, 0xffff, 2, &rec_ops, &r, "across"), -EINVAL);
	assert_int_equal(bus_register(bus, 0x8000, UINT64_MAX, &rec_ops, &r, "huge"), -EINVAL);
	assert_int_equal(bus_register(bus, UINT64_MAX, 1, &rec_ops, &r, "far"), -EINVAL);
	/* the last port is fine */
	assert_true(bus_register(bus, 0xffff, 1, &rec_ops, &r, "last") >= 0);

	/* without a limit: only 64-bit overflow is refused */
	assert_int_equal(bus_register(whole, UINT64_MAX, 2, &rec_ops, &r, "wrap"), -EINVAL);
	assert_int_equal(bus_register(whole, 2, UINT64_MAX, &rec_ops, &r, "wrap"), -EINVAL);
	assert_int_equal(bus_register(whole, 0, 0, &rec_ops, &r, "empty"), -EINVAL);
	top = bus_register(whole, UINT64_MAX, 1, &rec_ops, &r, "top");
	assert_true(top >= 0);
	rest = bus_register(whole, 0, UINT64_MAX, &rec_ops, &r, "rest");
	assert_true(rest >= 0);
	assert_int_equal(bus_read(whole, UINT64_MAX, 1, &v), top);
	assert_int_equal(bus_read(whole, UINT64_MAX - 1, 1, &v), rest);
	assert_int_equal(r.offset, UINT64_MAX - 1);
	/* an access running past 2^64 is nobody's */
	assert_int_equal(bus_read(whole, UINT64_MAX, 2, &v), BUS_UNCLAIMED);
	assert_int_equal(v, 0xffff);
	assert_int_equal(bus_write(whole, UINT64_MAX - 6, 0, 8), BUS_UNCLAIMED);
	bus_destroy(whole);
}

static void test_refuses_overlaps(void **state)
{
	struct bus *bus = *state;
	struct recorder r = {0};

	assert_true(bus_register(bus, 0x100, 8, &rec_ops, &r, "a") >= 0);
	assert_int_equal(bus_register(bus, 0x100, 8, &rec_ops, &r, "same"), -EEXIST);
	assert_int_equal(bus_register(bus, 0x104, 8, &rec_ops, &r, "tail"), -EEXIST);
	assert_int_equal(bus_register(bus, 0xf9, 8, &rec_ops, &r, "head"), -EEXIST);
	assert_int_equal(bus_register(bus, 0x102, 1, &rec_ops, &r, "inside"), -EEXIST);
	assert_int_equal(bus_register(bus, 0xf0, 0x20, &rec_ops, &r, "around"), -EEXIST);
	assert_int_equal(bus_register(bus, 0x107, 1, &rec_ops, &r, "last"), -EEXIST);
	/* adjacent on both sides */
	assert_true(bus_register(bus, 0x108, 8, &rec_ops, &r, "after") >= 0);
	assert_true(bus_register(bus, 0xf8, 8, &rec_ops, &r, "before") >= 0);
	/* a gap filled exactly between two regions */
	assert_true(bus_register(bus, 0x200, 4, &rec_ops, &r, "c") >= 0);
	assert_int_equal(bus_register(bus, 0x110, 0xf1, &rec_ops, &r, "gap+1"), -EEXIST);
	assert_true(bus_register(bus, 0x110, 0xf0, &rec_ops, &r, "gap") >= 0);
}

static void test_dispatch(void **state)
{
	struct bus *bus = *state;
	struct recorder a = {.read_result = 0x11223344}, b = {.read_result = UINT64_MAX};
	uint64_t v = 0;
	int ida, idb;

	ida = bus_register(bus, 0x3f8, 8, &rec_ops, &a, "com1");
	idb = bus_register(bus, 0x400, 4, &rec_ops, &b, "b");
	assert_true(ida >= 0 && idb >= 0 && ida != idb);

	assert_int_equal(bus_read(bus, 0x3fd, 1, &v), ida);
	assert_int_equal(a.offset, 5);
	assert_int_equal(a.size, 1);
	assert_int_equal(v, 0x44); /* masked to the access size */
	assert_int_equal(bus_read(bus, 0x3f8, 4, &v), ida);
	assert_int_equal(a.offset, 0);
	assert_int_equal(v, 0x11223344);

	assert_int_equal(bus_write(bus, 0x3ff, 0x1ab, 1), ida);
	assert_int_equal(a.offset, 7);
	assert_int_equal(a.value, 0xab); /* masked to the access size */
	assert_int_equal(bus_write(bus, 0x402, 0xdeadbeef, 2), idb);
	assert_int_equal(b.offset, 2);
	assert_int_equal(b.value, 0xbeef);
	assert_int_equal(b.size, 2);
	assert_int_equal(bus_read(bus, 0x400, 8 / 2, &v), idb);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(a.reads, 2);
	assert_int_equal(a.writes, 1);
	assert_int_equal(b.reads, 1);
	assert_int_equal(b.writes, 1);
}

static void test_unclaimed(void **state)
{
	struct bus *bus = *state;
	struct recorder r = {.read_result = 0};
	uint64_t v;

	assert_true(bus_register(bus, 0x60, 1, &rec_ops, &r, "kbd") >= 0);
	assert_int_equal(bus_read(bus, 0x61, 1, &v), BUS_UNCLAIMED);
	assert_int_equal(v, 0xff);
	assert_int_equal(bus_read(bus, 0x61, 2, &v), BUS_UNCLAIMED);
	assert_int_equal(v, 0xffff);
	assert_int_equal(bus_read(bus, 0x61, 4, &v), BUS_UNCLAIMED);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(bus_read(bus, 0x61, 8, &v), BUS_UNCLAIMED);
	assert_true(v == UINT64_MAX);
	assert_int_equal(bus_read(bus, 0, 1, &v), BUS_UNCLAIMED);
	assert_int_equal(bus_read(bus, 0x5f, 1, &v), BUS_UNCLAIMED);
	assert_int_equal(bus_read(bus, UINT64_MAX, 1, &v), BUS_UNCLAIMED);
	assert_int_equal(bus_write(bus, 0x61, 0, 1), BUS_UNCLAIMED);
	/* an access that starts inside but runs past the end is not the device's */
	assert_int_equal(bus_read(bus, 0x60, 2, &v), BUS_UNCLAIMED);
	assert_int_equal(v, 0xffff);
	assert_int_equal(bus_write(bus, 0x60, 0, 4), BUS_UNCLAIMED);
	assert_int_equal(r.reads + r.writes, 0);

	/* a region without handlers reads as all ones and ignores writes */
	int id = bus_register(bus, 0x80, 1, &no_ops, NULL, "post");

	assert_true(id >= 0);
	v = 0;
	assert_int_equal(bus_read(bus, 0x80, 1, &v), id);
	assert_int_equal(v, 0xff);
	assert_int_equal(bus_write(bus, 0x80, 0x12, 1), id);
}

static void test_unregister_and_reregister(void **state)
{
	struct bus *bus = *state;
	struct recorder r1 = {.read_result = 1}, r2 = {.read_result = 2};
	uint64_t v;
	int id1, id2;

	id1 = bus_register(bus, 0x70, 2, &rec_ops, &r1, "rtc");
	assert_true(id1 >= 0);
	assert_int_equal(bus_unregister(bus, 0x71), -ENOENT); /* not a base */
	assert_int_equal(bus_unregister(bus, 0x70), 0);
	assert_int_equal(bus_unregister(bus, 0x70), -ENOENT);
	assert_int_equal(bus_read(bus, 0x70, 1, &v), BUS_UNCLAIMED);
	assert_int_equal(v, 0xff);
	assert_int_equal(r1.reads, 0);

	/* the range is free again: a different device, a new id */
	id2 = bus_register(bus, 0x70, 2, &rec_ops, &r2, "rtc-again");
	assert_true(id2 >= 0);
	assert_int_not_equal(id1, id2);
	assert_int_equal(bus_read(bus, 0x71, 1, &v), id2);
	assert_int_equal(v, 2);
	assert_int_equal(r2.offset, 1);
	assert_int_equal(r1.reads, 0);
	/* the old id keeps its name for statistics */
	assert_string_equal(bus_region_name(bus, id1), "rtc");
	assert_string_equal(bus_region_name(bus, id2), "rtc-again");

	/* moving a region to overlap its old place works once it is gone */
	assert_int_equal(bus_unregister(bus, 0x70), 0);
	id1 = bus_register(bus, 0x6f, 4, &rec_ops, &r1, "moved");
	assert_true(id1 >= 0);
	assert_int_equal(bus_register(bus, 0x70, 1, &rec_ops, &r2, "dup"), -EEXIST);
	assert_int_equal(bus_read(bus, 0x70, 1, &v), id1);
	assert_int_equal(v, 1);
	assert_int_equal(r1.offset, 1);
}

static void test_names_and_ids(void **state)
{
	struct bus *bus = *state;
	struct recorder r = {0};
	const char *longname = "a-very-long-region-name-that-does-not-fit-in-32-bytes";
	int id0, id1, id2;

	assert_string_equal(bus_name(bus), "pio");
	id0 = bus_register(bus, 0x10, 1, &rec_ops, &r, "first");
	id1 = bus_register(bus, 0x20, 1, &rec_ops, &r, NULL);
	id2 = bus_register(bus, 0x30, 1, &rec_ops, &r, longname);
	assert_int_equal(id0, 0);
	assert_int_equal(id1, 1);
	assert_int_equal(id2, 2);
	assert_string_equal(bus_region_name(bus, id0), "first");
	assert_string_equal(bus_region_name(bus, id1), "?");
	assert_int_equal(strlen(bus_region_name(bus, id2)), 31);
	assert_memory_equal(bus_region_name(bus, id2), longname, 31);
	assert_string_equal(bus_region_name(bus, BUS_UNCLAIMED), "unclaimed");
	assert_string_equal(bus_region_name(bus, 3), "unclaimed");
	assert_string_equal(bus_region_name(bus, 100000), "unclaimed");
	assert_string_equal(bus_region_name(bus, -7), "unclaimed");
	/* a refused registration does not use up an id */
	assert_int_equal(bus_register(bus, 0x10, 1, &rec_ops, &r, "dup"), -EEXIST);
	assert_int_equal(bus_register(bus, 0x40, 1, &rec_ops, &r, "next"), 3);

	struct bus *named = bus_create("a-bus-name-longer-than-16", 0);

	assert_non_null(named);
	assert_int_equal(strlen(bus_name(named)), 15);
	bus_destroy(named);
}

static void test_full_table(void **state)
{
	struct bus *bus = *state;
	struct recorder r = {0};
	uint64_t v;

	for (unsigned i = 0; i < BUS_MAX_REGIONS; i++)
		assert_int_equal(bus_register(bus, i * 2, 1, &rec_ops, &r, "many"), (int)i);
	assert_int_equal(bus_register(bus, 0x1001, 1, &rec_ops, &r, "one too many"), -ENOSPC);
	/* every one still dispatches, found by bisection */
	for (unsigned i = 0; i < BUS_MAX_REGIONS; i++) {
		assert_int_equal(bus_read(bus, i * 2, 1, &v), (int)i);
		assert_int_equal(bus_read(bus, i * 2 + 1, 1, &v), BUS_UNCLAIMED);
	}
}

/* Handlers that change the bus from inside a callback, as a PCI BAR write
 * does. */
struct reentrant {
	struct bus *bus;
	struct recorder rec;
	int new_id;
	int unregister_ret;
	uint64_t nested_value;
	int nested_id;
	int first_id, again_id, again_read_id;
	uint64_t again_value;
};

static void reentrant_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct reentrant *re = opaque;

	/* move ourselves: unregister, register elsewhere, and access the bus */
	re->unregister_ret = bus_unregister(re->bus, 0x500);
	re->new_id = bus_register(re->bus, 0x600 + value, 4, &rec_ops, &re->rec, "moved-bar");
	re->nested_id = bus_read(re->bus, 0x600 + value, 1, &re->nested_value);
}

static uint64_t reentrant_read(void *opaque, uint64_t offset, unsigned size)
{
	struct reentrant *re = opaque;
	uint64_t v = 0;

	/* a read that reads another device */
	bus_read(re->bus, 0x600, 1, &v);
	return v + 1;
}

static const struct bus_ops reentrant_ops = {.read = reentrant_read, .write = reentrant_write};

/* No cmocka asserts here: they must run on the test's own thread. */
static void *reentrant_thread(void *arg)
{
	struct reentrant *re = arg;

	re->first_id = bus_register(re->bus, 0x500, 4, &reentrant_ops, re, "bar");
	bus_write(re->bus, 0x500, 0x10, 1);
	re->again_id = bus_register(re->bus, 0x500, 4, &reentrant_ops, re, "bar-again");
	re->again_read_id = bus_read(re->bus, 0x500, 1, &re->again_value);
	return NULL;
}

static void test_reentrant_handler(void **state)
{
	struct bus *bus = *state;
	struct reentrant re = {.bus = bus, .rec = {.read_result = 0x77}};
	struct recorder plain = {.read_result = 0x41};
	struct timespec deadline;
	pthread_t t;
	uint64_t v;

	assert_true(bus_register(bus, 0x600, 1, &rec_ops, &plain, "plain") >= 0);
	/* run it in a thread so that a deadlock fails the test instead of
	 * hanging it */
	assert_int_equal(pthread_create(&t, NULL, reentrant_thread, &re), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	if (pthread_timedjoin_np(t, NULL, &deadline) != 0)
		fail_msg("bus deadlocked when a handler re-entered it");
	assert_true(re.first_id >= 0);
	assert_int_equal(re.unregister_ret, 0);
	assert_true(re.new_id >= 0);
	assert_int_equal(re.nested_id, re.new_id);
	assert_int_equal(re.nested_value, 0x77);
	assert_int_equal(bus_read(bus, 0x612, 1, &v), re.new_id);
	assert_string_equal(bus_region_name(bus, re.new_id), "moved-bar");
	/* the re-registered BAR's read handler read "plain" (0x41) and added 1 */
	assert_true(re.again_id >= 0);
	assert_int_equal(re.again_read_id, re.again_id);
	assert_int_equal(re.again_value, 0x42);
	assert_int_equal(bus_read(bus, 0x500, 1, &v), re.again_id);
}

/* Readers on several threads while another registers and unregisters: the
 * sanitizer build checks for races and use-after-free. */
struct stress {
	struct bus *bus;
	int stop;
	unsigned claimed;
};

/* A BAR that the guest moves again and again keeps one region id and never
 * exhausts the table; odd access sizes never reach the device. */
static void test_moving_region_keeps_id(void **state)
{
	struct bus *bus = *state;
	int id0 = bus_register(bus, 0x1000, 0x40, &rec_ops, NULL, "bar");
	uint64_t v;

	assert_true(id0 >= 0);
	for (unsigned i = 1; i <= 1000; i++) {
		assert_int_equal(bus_unregister(bus, 0x1000 + (i - 1) * 0x20), 0);
		assert_int_equal(bus_register(bus, 0x1000 + i * 0x20, 0x40, &rec_ops, NULL, "bar"),
				 id0);
	}
	assert_int_equal(bus_read(bus, 0x1000 + 1000 * 0x20, 3, &v), BUS_UNCLAIMED);
	assert_int_equal(v, 0xffffff);
	assert_int_equal(bus_write(bus, 0x1000 + 1000 * 0x20, 0, 0), BUS_UNCLAIMED);
}

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	uint64_t v;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		for (uint64_t a = 0x700; a < 0x710; a++)
			if (bus_read(s->bus, a, 1, &v) != BUS_UNCLAIMED)
				__atomic_add_fetch(&s->claimed, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrent_dispatch(void **state)
{
	struct stress s = {.bus = *state};
	struct recorder r = {.read_result = 5};
	pthread_t readers[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&readers[i], NULL, stress_reader, &s), 0);
	/* ids are never reused, so stay below the table size */
	for (unsigned i = 0; i < BUS_MAX_REGIONS - 1; i++) {
		assert_true(bus_register(s.bus, 0x700 + i % 16, 1, &rec_ops, &r, "flip") >= 0);
		assert_int_equal(bus_unregister(s.bus, 0x700 + i % 16), 0);
	}
	assert_true(bus_register(s.bus, 0x708, 1, &rec_ops, &r, "stay") >= 0);
	while (__atomic_load_n(&s.claimed, __ATOMIC_RELAXED) == 0)
		;
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(readers[i], NULL);
	assert_true(s.claimed > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refuses_bad_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_overlaps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unclaimed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unregister_and_reregister, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names_and_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reentrant_handler, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_dispatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_moving_region_keeps_id, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
