// SPDX-License-Identifier: GPL-2.0-or-later
/* The control interface's core (vmm/qmp.c): registry, dispatch, argument
 * checking, events delivered in order on the loop thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "vmm/loop.h"
#include "vmm/qmp.h"

static json_t *cmd_echo(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"text", "loud", NULL};
	const char *text = NULL;
	bool loud = false;

	(*(int *)opaque)++;
	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "text", true, &text, err) < 0 ||
	    qmp_arg_bool(args, "loud", false, &loud, err) < 0)
		return NULL;
	return json_pack("{s:s, s:b}", "text", text, "loud", loud);
}

static json_t *cmd_fails(void *opaque, json_t *args, struct qmp_error *err)
{
	return NULL; /* no error set: the core names the command */
}

static void test_registry(void **state)
{
	struct qmp *q = qmp_new(NULL);
	int calls = 0;

	assert_non_null(q);
	assert_int_equal(qmp_register(q, "echo", cmd_echo, &calls), 0);
	assert_int_equal(qmp_register(q, "echo", cmd_echo, &calls), -EEXIST);
	assert_int_equal(qmp_register(q, "", cmd_echo, &calls), -EINVAL);
	assert_int_equal(qmp_register(q, "x", NULL, &calls), -EINVAL);
	for (int i = 0; i < 100; i++) { /* no fixed table */
		char name[16];

		snprintf(name, sizeof(name), "c%d", i);
		assert_int_equal(qmp_register(q, name, cmd_fails, NULL), 0);
	}
	assert_int_equal(qmp_command_count(q), 101);
	assert_string_equal(qmp_command_name(q, 0), "echo");
	assert_string_equal(qmp_command_name(q, 100), "c99");
	assert_null(qmp_command_name(q, 101));
	qmp_free(q);
}

static void test_dispatch(void **state)
{
	struct qmp *q = qmp_new(NULL);
	struct qmp_error err;
	int calls = 0;
	json_t *args, *ret;

	qmp_register(q, "echo", cmd_echo, &calls);
	qmp_register(q, "fails", cmd_fails, NULL);

	ret = qmp_dispatch(q, "nope", NULL, &err);
	assert_null(ret);
	assert_string_equal(err.cls, QMP_ERR_NOT_FOUND);
	assert_string_equal(err.desc, "The command nope has not been found");

	ret = qmp_dispatch(q, "echo", NULL, &err); /* no arguments: an empty object */
	assert_null(ret);
	assert_string_equal(err.cls, QMP_ERR_GENERIC);
	assert_string_equal(err.desc, "Parameter 'text' is missing");

	args = json_pack("{s:i}", "text", 3);
	assert_null(qmp_dispatch(q, "echo", args, &err));
	assert_string_equal(err.desc, "Invalid parameter type for 'text', expected: string");
	json_decref(args);

	args = json_pack("{s:s, s:s}", "text", "a", "loud", "yes");
	assert_null(qmp_dispatch(q, "echo", args, &err));
	assert_string_equal(err.desc, "Invalid parameter type for 'loud', expected: boolean");
	json_decref(args);

	args = json_pack("{s:s, s:b}", "text", "a", "extra", 1);
	assert_null(qmp_dispatch(q, "echo", args, &err));
	assert_string_equal(err.desc, "Parameter 'extra' is unexpected");
	json_decref(args);

	args = json_pack("{s:s, s:b}", "text", "hi", "loud", 1);
	ret = qmp_dispatch(q, "echo", args, &err);
	assert_non_null(ret);
	assert_null(err.cls);
	assert_string_equal(json_string_value(json_object_get(ret, "text")), "hi");
	assert_true(json_is_true(json_object_get(ret, "loud")));
	json_decref(ret);
	json_decref(args);
	assert_int_equal(calls, 5);

	assert_null(qmp_dispatch(q, "fails", NULL, &err));
	assert_string_equal(err.cls, QMP_ERR_GENERIC);
	assert_string_equal(err.desc, "fails failed");
	qmp_free(q);
}

struct seen {
	char names[16][32];
	int n;
	struct qmp *q;
	bool remove_self, send_more;
};

static void listen_fn(void *opaque, json_t *ev)
{
	struct seen *s = opaque;
	json_t *ts = json_object_get(ev, "timestamp");

	assert_non_null(json_object_get(ts, "seconds"));
	assert_true(json_integer_value(json_object_get(ts, "microseconds")) < 1000000);
	if (s->n < 16)
		snprintf(s->names[s->n++], 32, "%s",
			 json_string_value(json_object_get(ev, "event")));
	if (s->send_more) {
		s->send_more = false;
		qmp_event(s->q, "LATER", NULL); /* from within a listener: after this one */
	}
	if (s->remove_self)
		qmp_del_listener(s->q, listen_fn, s);
}

static void test_events_direct(void **state)
{
	struct qmp *q = qmp_new(NULL);
	struct seen a = {.q = q, .send_more = true}, b = {.q = q, .remove_self = true};

	assert_int_equal(qmp_add_listener(q, listen_fn, &a), 0);
	assert_int_equal(qmp_add_listener(q, listen_fn, &b), 0);
	qmp_event(q, "FIRST", json_pack("{s:b}", "guest", 1));
	qmp_event(q, "SECOND", NULL);
	assert_int_equal(a.n, 3);
	assert_string_equal(a.names[0], "FIRST");
	assert_string_equal(a.names[1], "LATER");
	assert_string_equal(a.names[2], "SECOND");
	assert_int_equal(b.n, 1); /* removed itself during the first delivery */
	qmp_del_listener(q, listen_fn, &a);
	qmp_event(q, "NOBODY", NULL);
	assert_int_equal(a.n, 3);
	qmp_free(q);
}

static void *send_from_thread(void *opaque)
{
	struct qmp *q = opaque;

	for (int i = 0; i < 5; i++)
		qmp_event(q, "THREAD", json_pack("{s:i}", "i", i));
	return NULL;
}

struct loop_seen {
	struct event_loop *loop;
	int n;
	int last;
	pthread_t caller;
};

static void loop_listener(void *opaque, json_t *ev)
{
	struct loop_seen *s = opaque;

	assert_true(pthread_equal(pthread_self(), s->caller)); /* the loop thread */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "data"), "i")),
			 s->n);
	if (++s->n == 5)
		event_loop_stop(s->loop);
}

static void test_events_from_another_thread(void **state)
{
	struct loop_seen s = {.caller = pthread_self()};
	struct qmp *q;
	pthread_t t;

	s.loop = event_loop_new();
	assert_non_null(s.loop);
	q = qmp_new(s.loop);
	assert_non_null(q);
	qmp_add_listener(q, loop_listener, &s);
	assert_int_equal(pthread_create(&t, NULL, send_from_thread, q), 0);
	event_loop_run(s.loop);
	pthread_join(t, NULL);
	assert_int_equal(s.n, 5);
	qmp_free(q);
	event_loop_free(s.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_dispatch),
	    cmocka_unit_test(test_events_direct),
	    cmocka_unit_test(test_events_from_another_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
