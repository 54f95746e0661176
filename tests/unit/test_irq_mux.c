// SPDX-License-Identifier: GPL-2.0-or-later
/* Wired-OR ISA lines: the sink sees the OR of its sources, once per change. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmm/irq_mux.h"

static unsigned calls[IRQ_MUX_LINES];
static bool level[IRQ_MUX_LINES];

static void sink(void *opaque, unsigned gsi, bool l)
{
	calls[gsi]++;
	level[gsi] = l;
}

static void test_wired_or(void **state)
{
	struct irq_mux mux;
	struct irq_line router, sci, mouse;

	irq_mux_init(&mux, sink, NULL);
	assert_int_equal(irq_mux_line(&mux, 0, &router), 0);
	assert_int_equal(irq_mux_line(&mux, 9, &sci), 0);
	assert_int_equal(irq_mux_line(&mux, 12, &mouse), 0);

	/* A PCI line routed onto the SCI's IRQ 9. */
	router.set_level(router.opaque, 9, true);
	assert_true(level[9]);
	assert_int_equal(calls[9], 1);
	irq_line_set(&sci, true); /* already high: no new call */
	assert_int_equal(calls[9], 1);
	irq_line_set(&sci, false); /* the router still holds it */
	assert_true(level[9]);
	assert_int_equal(calls[9], 1);
	router.set_level(router.opaque, 9, false);
	assert_false(level[9]);
	assert_int_equal(calls[9], 2);

	/* Repeated levels from one source are idempotent. */
	irq_line_set(&mouse, true);
	irq_line_set(&mouse, true);
	assert_int_equal(calls[12], 1);
	irq_line_set(&mouse, false);
	irq_line_set(&mouse, false);
	assert_int_equal(calls[12], 2);
	assert_false(level[12]);

	/* The router's lines are independent per IRQ; bad GSIs are ignored. */
	router.set_level(router.opaque, 10, true);
	router.set_level(router.opaque, 11, true);
	router.set_level(router.opaque, 10, false);
	assert_false(level[10]);
	assert_true(level[11]);
	router.set_level(router.opaque, IRQ_MUX_LINES, true);
	router.set_level(router.opaque, 1000, true);
	irq_mux_destroy(&mux);
}

static void test_sources_run_out(void **state)
{
	struct irq_mux mux;
	struct irq_line l;

	irq_mux_init(&mux, sink, NULL);
	for (unsigned i = 0; i < IRQ_MUX_SOURCES; i++)
		assert_int_equal(irq_mux_line(&mux, 5, &l), 0);
	assert_int_equal(irq_mux_line(&mux, 5, &l), -ENOSPC);
	irq_mux_destroy(&mux);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wired_or),
		cmocka_unit_test(test_sources_run_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
