// SPDX-License-Identifier: GPL-2.0-or-later
/* The small machine-event devices: debug exit, reset control (0xcf9) and
 * system control port A (0x92).  The i8042 reset line is tested with the
 * controller in test_i8042.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "devices/debug_exit.h"
#include "devices/port92.h"
#include "devices/reset_control.h"

static int resets, exits, last_status;

static void on_reset(void *opaque)
{
	resets++;
}

static void on_exit_status(void *opaque, int status)
{
	exits++;
	last_status = status;
}

static const struct machine_events ev = { .reset = on_reset, .exit = on_exit_status };

static int setup(void **state)
{
	resets = exits = last_status = 0;
	return 0;
}

static void test_debug_exit(void **state)
{
	assert_int_equal(debug_exit_bus_ops.read((void *)&ev, 0, 1), ~0ULL);
	debug_exit_bus_ops.write((void *)&ev, 0, 0x10, 1);
	assert_int_equal(exits, 1);
	assert_int_equal(last_status, 0x21);
	/* wide values keep only what an exit status can hold */
	debug_exit_bus_ops.write((void *)&ev, 0, 0xffffffff, 4);
	assert_int_equal(last_status, 0xff);
}

static void test_reset_control(void **state)
{
	struct reset_control rc;

	reset_control_init(&rc, &ev);
	reset_control_bus_ops.write(&rc, 0, 0x02, 1); /* SYS_RST alone: no reset */
	assert_int_equal(resets, 0);
	assert_int_equal(reset_control_bus_ops.read(&rc, 0, 1), 0x02);
	reset_control_bus_ops.write(&rc, 0, 0x06, 1);
	assert_int_equal(resets, 1);
	reset_control_bus_ops.write(&rc, 0, 0xf1, 1); /* reserved bits dropped */
	assert_int_equal(reset_control_bus_ops.read(&rc, 0, 1), 0x00);
	reset_control_reset(&rc);
	assert_int_equal(reset_control_bus_ops.read(&rc, 0, 1), 0);
}

static void test_port92(void **state)
{
	struct port92 p;

	port92_init(&p, &ev);
	port92_bus_ops.write(&p, 0, 0x02, 1); /* A20 on */
	assert_int_equal(port92_bus_ops.read(&p, 0, 1), 0x02);
	assert_int_equal(resets, 0);
	port92_bus_ops.write(&p, 0, 0x03, 1); /* bit 0: 0 -> 1 resets */
	assert_int_equal(resets, 1);
	port92_bus_ops.write(&p, 0, 0x03, 1); /* stays 1: no edge */
	assert_int_equal(resets, 1);
	port92_bus_ops.write(&p, 0, 0xfc, 1); /* reserved bits dropped */
	assert_int_equal(port92_bus_ops.read(&p, 0, 1), 0x00);
	port92_reset(&p);
	assert_int_equal(port92_bus_ops.read(&p, 0, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_debug_exit, setup),
		cmocka_unit_test_setup(test_reset_control, setup),
		cmocka_unit_test_setup(test_port92, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
