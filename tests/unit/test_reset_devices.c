// SPDX-License-Identifier: GPL-2.0-or-later
/* The small machine-event devices: debug exit, reset control (0xcf9),
 * system control port A (0x92) and the i8042 reset line (0x64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/port92.h"
#include "devices/reset_control.h"

static int resets, exits, last_status;

static void on_reset(void *opaque)
{
	(void)opaque;
	resets++;
}

static void on_exit_status(void *opaque, int status)
{
	(void)opaque;
	exits++;
	last_status = status;
}

static const struct machine_events ev = { .reset = on_reset, .exit = on_exit_status };

static int setup(void **state)
{
	(void)state;
	resets = exits = last_status = 0;
	return 0;
}

static void test_debug_exit(void **state)
{
	(void)state;
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

	(void)state;
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

	(void)state;
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

static void test_i8042_reset_line(void **state)
{
	(void)state;
	assert_int_equal(i8042_cmd_bus_ops.read((void *)&ev, 0, 1), ~0ULL);
	for (unsigned v = 0; v < 0x100; v++)
		if (v != 0xfe)
			i8042_cmd_bus_ops.write((void *)&ev, 0, v, 1);
	assert_int_equal(resets, 0);
	i8042_cmd_bus_ops.write((void *)&ev, 0, 0xfe, 1);
	assert_int_equal(resets, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_debug_exit, setup),
		cmocka_unit_test_setup(test_reset_control, setup),
		cmocka_unit_test_setup(test_port92, setup),
		cmocka_unit_test_setup(test_i8042_reset_line, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
