// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QMP send-key and input-send-event (vmm/input_control.h) through
 * qmp_dispatch() into a real input router with recording sinks: QEMU's
 * argument shapes, keys pressed in order and released in reverse after the
 * hold time (the fake clock), pointer events batched into one report, and
 * bad arguments refused as a whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/unit/fake_timer.h"
#include "vmm/input.h"
#include "vmm/input_control.h"
#include "vmm/loop.h"
#include "vmm/qmp.h"

/* The QMP core's event wake-up is not used here (no loop). */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return 0;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

static struct input *in;
static struct input_control *ic;
static struct qmp *q;

static char log_buf[1024];
static bool tablet_active;

static void logf_(const char *fmt, ...)
{
	size_t n = strlen(log_buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_buf + n, sizeof(log_buf) - n, fmt, ap);
	va_end(ap);
}

static bool key(void *o, unsigned qnum, bool down)
{
	logf_("%c%02x ", down ? 'd' : 'u', qnum);
	return true;
}

static bool rel(void *o, int dx, int dy, int dz, unsigned b)
{
	logf_("rel %d %d %d %u ", dx, dy, dz, b);
	return true;
}

static bool absolute(void *o, unsigned x, unsigned y, int dz, unsigned b)
{
	logf_("abs %u %u %d %u ", x, y, dz, b);
	return true;
}

static bool active(void *o)
{
	return tablet_active;
}

static const struct input_kbd_ops kbd_ops = { key };
static const struct input_rel_ops rel_ops = { rel };
static const struct input_abs_ops abs_ops = { absolute, active };

static int setup(void **state)
{
	in = input_new();
	input_set_keyboard(in, &kbd_ops, NULL);
	input_set_mouse(in, &rel_ops, NULL);
	input_set_tablet(in, &abs_ops, NULL);
	input_set_running(in, true);
	q = qmp_new(NULL);
	ic = input_control_new(in, NULL);
	assert_non_null(ic);
	assert_int_equal(input_control_register(q, ic), 0);
	log_buf[0] = 0;
	tablet_active = false;
	return 0;
}

static int teardown(void **state)
{
	input_control_free(ic);
	qmp_free(q);
	input_free(in);
	return 0;
}

/* Dispatches name with args (JSON text); returns whether it succeeded and
 * leaves the error text in err_desc. */
static char err_desc[600];
static bool run(const char *name, const char *args)
{
	json_t *a = json_loads(args, 0, NULL), *r;
	struct qmp_error err = { 0 };

	assert_non_null(a);
	r = qmp_dispatch(q, name, a, &err);
	json_decref(a);
	snprintf(err_desc, sizeof(err_desc), "%s", r ? "" : err.desc);
	json_decref(r);
	return r != NULL;
}

static void send_key_chord(void **state)
{
	assert_true(run("send-key", "{\"keys\": [{\"type\": \"qcode\", \"data\": \"ctrl\"},"
				    "{\"type\": \"qcode\", \"data\": \"alt\"},"
				    "{\"type\": \"qcode\", \"data\": \"delete\"}]}"));
	assert_string_equal(log_buf, "d1d d38 dd3 ");
	fake_clock_advance(99 * 1000000ull);
	assert_string_equal(log_buf, "d1d d38 dd3 ");
	fake_clock_advance(2 * 1000000ull);
	assert_string_equal(log_buf, "d1d d38 dd3 ud3 u38 u1d ");
}

static void send_key_numbers_and_hold(void **state)
{
	assert_true(run("send-key", "{\"keys\": [{\"type\": \"number\", \"data\": 30}],"
				    " \"hold-time\": 0}"));
	assert_string_equal(log_buf, "d1e u1e ");
	log_buf[0] = 0;
	/* A second send-key releases what the first still holds. */
	assert_true(run("send-key", "{\"keys\": [{\"type\": \"qcode\", \"data\": \"a\"}],"
				    " \"hold-time\": 5000}"));
	assert_true(run("send-key", "{\"keys\": [{\"type\": \"qcode\", \"data\": \"b\"}]}"));
	assert_string_equal(log_buf, "d1e u1e d30 ");
	fake_clock_advance(200 * 1000000ull);
	assert_string_equal(log_buf, "d1e u1e d30 u30 ");
}

static void send_key_bad(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"keys\": []}",
		"{\"keys\": 3}",
		"{\"keys\": [{\"type\": \"qcode\", \"data\": \"nosuchkey\"}]}",
		"{\"keys\": [{\"type\": \"number\", \"data\": 256}]}",
		"{\"keys\": [{\"type\": \"number\", \"data\": -1}]}",
		"{\"keys\": [{\"type\": \"keysym\", \"data\": 65}]}",
		"{\"keys\": [{\"type\": \"qcode\"}]}",
		"{\"keys\": [{\"type\": \"qcode\", \"data\": \"a\"}], \"hold-time\": -1}",
		"{\"keys\": [{\"type\": \"qcode\", \"data\": \"a\"}], \"hold-time\": 60001}",
		"{\"keys\": [{\"type\": \"qcode\", \"data\": \"a\"}], \"hold-time\": \"x\"}",
		"{\"keys\": [{\"type\": \"qcode\", \"data\": \"a\"}], \"other\": 1}",
		"{\"keys\": [{\"type\": \"qcode\", \"data\": \"a\"}, 7]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(run("send-key", bad[i]));
		assert_true(err_desc[0] != 0);
	}
	/* 17 keys are too many. */
	char many[2048] = "{\"keys\": [";
	for (int i = 0; i < 17; i++)
		strcat(many, i ? ",{\"type\":\"number\",\"data\":2}" : "{\"type\":\"number\",\"data\":2}");
	strcat(many, "]}");
	assert_false(run("send-key", many));
	assert_string_equal(log_buf, "");
}

static void events_keys_and_relative(void **state)
{
	assert_true(run("input-send-event",
			"{\"events\": [{\"type\": \"key\", \"data\": {\"down\": true, \"key\":"
			" {\"type\": \"qcode\", \"data\": \"shift\"}}},"
			"{\"type\": \"rel\", \"data\": {\"axis\": \"x\", \"value\": 10}},"
			"{\"type\": \"rel\", \"data\": {\"axis\": \"y\", \"value\": -4}},"
			"{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"left\"}}]}"));
	assert_string_equal(log_buf, "d2a rel 10 -4 0 1 ");
	log_buf[0] = 0;
	assert_true(run("input-send-event",
			"{\"events\": [{\"type\": \"btn\", \"data\": {\"down\": false, \"button\":"
			" \"left\"}}, {\"type\": \"btn\", \"data\": {\"down\": true, \"button\":"
			" \"wheel-down\"}}]}"));
	assert_string_equal(log_buf, "rel 0 0 1 0 ");
}

static void events_absolute(void **state)
{
	/* Abs events go to the tablet once its driver is active, unscaled. */
	tablet_active = true;
	assert_true(run("input-send-event",
			"{\"events\": [{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 0}},"
			"{\"type\": \"abs\", \"data\": {\"axis\": \"y\", \"value\": 32767}}]}"));
	assert_true(run("input-send-event",
			"{\"events\": [{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 16384}}]}"));
	assert_true(run("input-send-event",
			"{\"events\": [{\"type\": \"btn\", \"data\": {\"down\": true, \"button\":"
			" \"right\"}}]}"));
	assert_string_equal(log_buf, "abs 0 32767 0 0 abs 16384 32767 0 0 abs 16384 32767 0 2 ");
}

static void events_bad_send_nothing(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"events\": []}",
		"{\"events\": [{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 32768}}]}",
		"{\"events\": [{\"type\": \"abs\", \"data\": {\"axis\": \"z\", \"value\": 1}}]}",
		"{\"events\": [{\"type\": \"rel\", \"data\": {\"axis\": \"x\", \"value\": 1e9}}]}",
		"{\"events\": [{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"side\"}}]}",
		"{\"events\": [{\"type\": \"key\", \"data\": {\"down\": 1, \"key\": {\"type\":"
		" \"number\", \"data\": 2}}}]}",
		"{\"events\": [{\"type\": \"touch\", \"data\": {}}]}",
		"{\"events\": [{\"type\": \"key\"}]}",
		/* a good key first: the bad second event stops both */
		"{\"events\": [{\"type\": \"key\", \"data\": {\"down\": true, \"key\": {\"type\":"
		" \"number\", \"data\": 2}}}, {\"type\": \"rel\", \"data\": {}}]}",
		"{\"events\": [{\"type\": \"rel\", \"data\": {\"axis\": \"x\", \"value\": 1}}],"
		" \"device\": \"video0\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(run("input-send-event", bad[i]));
		assert_true(err_desc[0] != 0);
	}
	assert_string_equal(log_buf, "");
}

static void paused_guest_sees_nothing(void **state)
{
	input_set_running(in, false);
	assert_true(run("send-key", "{\"keys\": [{\"type\": \"qcode\", \"data\": \"a\"}],"
				    " \"hold-time\": 0}"));
	assert_string_equal(log_buf, "");
}

static void qcode_table(void **state)
{
	assert_int_equal(input_qcode_qnum("esc"), 0x01);
	assert_int_equal(input_qcode_qnum("kp_enter"), 0x9c);
	assert_int_equal(input_qcode_qnum("pause"), 0xc6);
	assert_int_equal(input_qcode_qnum("meta_l"), 0xdb);
	assert_int_equal(input_qcode_qnum("f12"), 0x58);
	assert_int_equal(input_qcode_qnum("Esc"), -1);
	assert_int_equal(input_qcode_qnum(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(send_key_chord, setup, teardown),
		cmocka_unit_test_setup_teardown(send_key_numbers_and_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(send_key_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(events_keys_and_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(events_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(events_bad_send_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(paused_guest_sees_nothing, setup, teardown),
		cmocka_unit_test(qcode_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
