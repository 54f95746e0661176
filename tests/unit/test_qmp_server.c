// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The QMP server (vmm/qmp_stream.c, qmp_session.c, qmp_commands.c,
 * qmp_server.c): the splitter on hostile streams, the protocol as QEMU 7.2
 * speaks it, the HMP words, and the server itself with fake clients on
 * socketpairs and a real event loop on its own thread, as in minivmm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/loop.h"
#include "vmm/qmp.h"
#include "vmm/qmp_commands.h"
#include "vmm/qmp_server.h"
#include "vmm/qmp_session.h"
#include "vmm/qmp_stream.h"

/* ---- the splitter ---- */

struct pieces {
	char msg[16][256];
	int n, errors;
	char last_error[128];
	size_t longest;
};

static int collect(void *opaque, const char *msg, size_t len, const char *error)
{
	struct pieces *p = opaque;

	if (error) {
		p->errors++;
		snprintf(p->last_error, sizeof(p->last_error), "%s", error);
		return 0;
	}
	assert_int_equal(strlen(msg), len);
	if (len > p->longest)
		p->longest = len;
	if (p->n < 16)
		snprintf(p->msg[p->n++], sizeof(p->msg[0]), "%s", msg);
	return 0;
}

static void feed_str(struct qmp_stream *s, struct pieces *p, const char *text)
{
	qmp_stream_feed(s, text, strlen(text), collect, p);
}

static void test_split_messages(void **state)
{
	static const char text[] = "  {\"a\": [1, {\"b\": \"}]{[\\\"\"}]}\r\n[1,2]\"x\\\"y\" 12 "
				   "true{}";
	struct qmp_stream s;
	struct pieces p = {0};

	/* whole, then byte by byte: the same messages */
	for (int pass = 0; pass < 2; pass++) {
		memset(&p, 0, sizeof(p));
		qmp_stream_init(&s, 0, 0);
		if (pass == 0)
			feed_str(&s, &p, text);
		else
			for (size_t i = 0; i < strlen(text); i++)
				qmp_stream_feed(&s, text + i, 1, collect, &p);
		assert_int_equal(p.errors, 0);
		assert_int_equal(p.n, 6);
		assert_string_equal(p.msg[0], "{\"a\": [1, {\"b\": \"}]{[\\\"\"}]}");
		assert_string_equal(p.msg[1], "[1,2]");
		assert_string_equal(p.msg[2], "\"x\\\"y\"");
		assert_string_equal(p.msg[3], "12");
		assert_string_equal(p.msg[4], "true");
		assert_string_equal(p.msg[5], "{}");
		assert_false(qmp_stream_pending(&s));
		qmp_stream_destroy(&s);
	}
}

static void test_split_errors(void **state)
{
	struct qmp_stream s;
	struct pieces p = {0};

	qmp_stream_init(&s, 0, 0);
	feed_str(&s, &p, "}");
	assert_string_equal(p.last_error, "JSON parse error, expecting value");
	feed_str(&s, &p, "{\"unterminated\": [1, 2");
	assert_true(qmp_stream_pending(&s));
	assert_int_equal(p.n, 0);
	/* a control character resynchronises (as QEMU's lexer) */
	feed_str(&s, &p, "\x01{\"ok\":1}");
	assert_int_equal(p.errors, 2);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.msg[0], "{\"ok\":1}");
	/* so does a raw newline inside a string */
	feed_str(&s, &p, "{\"a\": \"x\n{\"ok\":2}");
	assert_int_equal(p.errors, 3);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.msg[1], "{\"ok\":2}");
	qmp_stream_destroy(&s);
}

static void test_split_deep_nesting(void **state)
{
	struct qmp_stream s;
	struct pieces p = {0};
	char deep[2 * 1000 + 16];
	size_t n = 0;

	for (int i = 0; i < 1000; i++)
		deep[n++] = '[';
	for (int i = 0; i < 1000; i++)
		deep[n++] = ']';
	strcpy(deep + n, "{\"after\":1}");
	qmp_stream_init(&s, 0, 0);
	feed_str(&s, &p, deep);
	assert_int_equal(p.errors, 1);
	assert_string_equal(p.last_error, "JSON nesting depth limit exceeded");
	assert_int_equal(p.n, 1); /* the rest of the deep value skipped, then on */
	assert_string_equal(p.msg[0], "{\"after\":1}");
	/* 64 levels are fine */
	memset(&p, 0, sizeof(p));
	n = 0;
	for (int i = 0; i < QMP_STREAM_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < QMP_STREAM_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	feed_str(&s, &p, deep);
	assert_int_equal(p.errors, 0);
	assert_int_equal(p.n, 1);
	qmp_stream_destroy(&s);
}

static void test_split_size_limit(void **state)
{
	size_t big = QMP_STREAM_MAX_SIZE + 4096;
	char *garbage = malloc(big + 1);
	struct qmp_stream s;
	struct pieces p = {0};

	assert_non_null(garbage);
	/* 1 MiB of garbage in one object: refused, nothing more is kept */
	memset(garbage, 'x', big);
	garbage[0] = '{';
	garbage[big] = '\0';
	qmp_stream_init(&s, 0, 0);
	feed_str(&s, &p, garbage);
	assert_int_equal(p.errors, 1);
	assert_string_equal(p.last_error, "JSON token size limit exceeded");
	assert_true(s.cap <= QMP_STREAM_MAX_SIZE + 1);
	feed_str(&s, &p, garbage + 1); /* still inside it: skipped */
	assert_int_equal(p.errors, 1);
	feed_str(&s, &p, "}{\"next\":1}");
	assert_int_equal(p.n, 1);
	assert_string_equal(p.msg[0], "{\"next\":1}");
	assert_true(s.cap <= 65536); /* the big buffer was given back */

	/* 1 MiB of garbage outside any object: one error, then on */
	memset(&p, 0, sizeof(p));
	memset(garbage, 'a', big);
	feed_str(&s, &p, garbage);
	feed_str(&s, &p, " {}");
	assert_int_equal(p.errors, 1);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.msg[0], "{}");

	/* exactly the limit is fine */
	memset(&p, 0, sizeof(p));
	memset(garbage, ' ', QMP_STREAM_MAX_SIZE);
	garbage[0] = '[';
	garbage[QMP_STREAM_MAX_SIZE - 1] = ']';
	qmp_stream_feed(&s, garbage, QMP_STREAM_MAX_SIZE, collect, &p);
	assert_int_equal(p.errors, 0);
	assert_int_equal(p.longest, QMP_STREAM_MAX_SIZE);
	qmp_stream_destroy(&s);
	free(garbage);
}

/* ---- fake commands of the other parts ---- */

struct fake_vm {
	bool running;
	char last_eject[256];
	char last_change[256];
	int big_calls;
};

static json_t *fake_query_status(void *opaque, json_t *args, struct qmp_error *err)
{
	struct fake_vm *vm = opaque;

	return json_pack("{s:b, s:s}", "running", vm->running, "status",
			 vm->running ? "running" : "prelaunch");
}

static json_t *fake_stop(void *opaque, json_t *args, struct qmp_error *err)
{
	((struct fake_vm *)opaque)->running = false;
	return json_object();
}

static json_t *fake_eject(void *opaque, json_t *args, struct qmp_error *err)
{
	struct fake_vm *vm = opaque;
	char *s = json_dumps(args, JSON_SORT_KEYS | JSON_COMPACT);

	snprintf(vm->last_eject, sizeof(vm->last_eject), "%s", s);
	free(s);
	if (strcmp(json_string_value(json_object_get(args, "device")), "ide1-cd0")) {
		qmp_error_set(err, QMP_ERR_DEVICE_NOT_FOUND, "Device '%s' not found",
			      json_string_value(json_object_get(args, "device")));
		return NULL;
	}
	return json_object();
}

static json_t *fake_change(void *opaque, json_t *args, struct qmp_error *err)
{
	struct fake_vm *vm = opaque;
	char *s = json_dumps(args, JSON_SORT_KEYS | JSON_COMPACT);

	snprintf(vm->last_change, sizeof(vm->last_change), "%s", s);
	free(s);
	return json_object();
}

static json_t *fake_query_block(void *opaque, json_t *args, struct qmp_error *err)
{
	return json_pack("[{s:s, s:b, s:b, s:b, s:s, s:{s:s, s:s, s:b, s:{s:b, s:b, s:b}}},"
			 " {s:s, s:b, s:b, s:b}]",
			 "device", "ide0-hd0", "removable", 0, "locked", 0, "tray_open", 0, "qdev",
			 "ide.0", "inserted", "file", "/vm/disk.qcow2", "drv", "qcow2", "ro", 0,
			 "cache", "writeback", 1, "direct", 1, "no-flush", 0, "device", "ide1-cd0",
			 "removable", 1, "locked", 1, "tray_open", 1);
}

/* 64 KiB per reply: for the client that never reads. */
static json_t *fake_big(void *opaque, json_t *args, struct qmp_error *err)
{
	static char text[65536];

	((struct fake_vm *)opaque)->big_calls++;
	memset(text, 'b', sizeof(text) - 1);
	return json_string(text);
}

static void register_fakes(struct qmp *q, struct fake_vm *vm)
{
	qmp_register(q, "query-status", fake_query_status, vm);
	qmp_register(q, "stop", fake_stop, vm);
	qmp_register(q, "eject", fake_eject, vm);
	qmp_register(q, "blockdev-change-medium", fake_change, vm);
	qmp_register(q, "query-block", fake_query_block, vm);
	qmp_register(q, "big", fake_big, vm);
}

/* ---- the protocol, on a session ---- */

/* The next message the session queued, parsed (NULL if none). */
static json_t *next_out(struct qmp_session *s)
{
	size_t len;
	const char *out = qmp_session_output(s, &len);
	const char *nl = len ? memchr(out, '\n', len) : NULL;
	json_t *j;

	if (!nl)
		return NULL;
	assert_true(nl > out && nl[-1] == '\r'); /* QEMU's line end */
	j = json_loadb(out, (size_t)(nl - out), 0, NULL);
	assert_non_null(j);
	qmp_session_consume(s, (size_t)(nl + 1 - out));
	return j;
}

static void expect_error_reply(struct qmp_session *s, const char *cls, const char *desc,
			       const char *id_json)
{
	json_t *r = next_out(s), *e;

	assert_non_null(r);
	e = json_object_get(r, "error");
	if (!e)
		fail_msg("no error in %s", json_dumps(r, 0));
	assert_string_equal(json_string_value(json_object_get(e, "class")), cls);
	assert_string_equal(json_string_value(json_object_get(e, "desc")), desc);
	if (id_json) {
		json_t *want = json_loads(id_json, JSON_DECODE_ANY, NULL);

		assert_true(json_equal(want, json_object_get(r, "id")));
		json_decref(want);
	} else {
		assert_null(json_object_get(r, "id"));
	}
	json_decref(r);
}

static json_t *expect_return(struct qmp_session *s)
{
	json_t *r = next_out(s), *ret;

	assert_non_null(r);
	ret = json_object_get(r, "return");
	if (!ret)
		fail_msg("no return in %s", json_dumps(r, 0));
	json_incref(ret);
	json_decref(r);
	return ret;
}

static void feed(struct qmp_session *s, const char *text)
{
	qmp_session_feed(s, text, strlen(text));
}

struct proto {
	struct qmp *q;
	struct qmp_commands cmds;
	struct fake_vm vm;
	struct qmp_session s;
};

static void proto_setup(struct proto *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->q = qmp_new(NULL);
	assert_non_null(p->q);
	assert_int_equal(qmp_commands_register(&p->cmds, p->q, name), 0);
	register_fakes(p->q, &p->vm);
	qmp_session_init(&p->s, p->q, 0);
}

static void proto_teardown(struct proto *p)
{
	qmp_session_destroy(&p->s);
	qmp_free(p->q);
}

static void test_greeting_and_negotiation(void **state)
{
	struct proto p;
	json_t *g, *v, *ret;

	proto_setup(&p, NULL);
	g = next_out(&p.s);
	v = json_object_get(json_object_get(g, "QMP"), "version");
	assert_true(json_is_integer(json_object_get(json_object_get(v, "qemu"), "major")));
	assert_true(json_is_integer(json_object_get(json_object_get(v, "qemu"), "minor")));
	assert_true(json_is_integer(json_object_get(json_object_get(v, "qemu"), "micro")));
	assert_memory_equal(json_string_value(json_object_get(v, "package")), "minivmm ", 8);
	assert_true(json_is_array(json_object_get(json_object_get(g, "QMP"), "capabilities")));
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(g, "QMP"), "capabilities")), 0);
	json_decref(g);

	/* every command but qmp_capabilities refused, known or not */
	feed(&p.s, "{\"execute\": \"query-version\", \"id\": 1}");
	expect_error_reply(&p.s, QMP_ERR_NOT_FOUND,
			   "Expecting capabilities negotiation with 'qmp_capabilities'", "1");
	feed(&p.s, "{\"execute\": \"nope\", \"id\": {\"a\": [null, 2.5]}}");
	expect_error_reply(&p.s, QMP_ERR_NOT_FOUND,
			   "Expecting capabilities negotiation with 'qmp_capabilities'",
			   "{\"a\": [null, 2.5]}");
	/* its arguments checked as QEMU does */
	feed(&p.s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
	expect_error_reply(&p.s, QMP_ERR_GENERIC, "Capability oob not available", NULL);
	feed(&p.s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"x\"]}}");
	expect_error_reply(&p.s, QMP_ERR_GENERIC, "Parameter 'null' does not accept value 'x'",
			   NULL);
	feed(&p.s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": 1}}");
	expect_error_reply(&p.s, QMP_ERR_GENERIC,
			   "Invalid parameter type for 'enable', expected: array", NULL);
	feed(&p.s, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}, "
		   "\"id\": \"n\"}");
	ret = expect_return(&p.s);
	assert_int_equal(json_object_size(ret), 0);
	json_decref(ret);
	/* once is enough */
	feed(&p.s, "{\"execute\": \"qmp_capabilities\", \"id\": 2}");
	expect_error_reply(&p.s, QMP_ERR_NOT_FOUND,
			   "Capabilities negotiation is already complete, command ignored", "2");
	feed(&p.s, "{\"execute\": \"query-version\"}");
	ret = expect_return(&p.s);
	assert_non_null(json_object_get(ret, "qemu"));
	json_decref(ret);
	feed(&p.s, "{\"execute\": \"nope\", \"id\": \"z\"}");
	expect_error_reply(&p.s, QMP_ERR_NOT_FOUND, "The command nope has not been found", "\"z\"");
	proto_teardown(&p);
}

static void test_bad_requests(void **state)
{
	static const struct {
		const char *in, *desc, *id;
	} cases[] = {
	    {"[1, 2]", "QMP input must be a JSON object", NULL},
	    {"\"s\"", "QMP input must be a JSON object", NULL},
	    {"42 ", "QMP input must be a JSON object", NULL},
	    {"null ", "QMP input must be a JSON object", NULL},
	    {"{\"foo\": 1, \"id\": 3}", "QMP input member 'foo' is unexpected", "3"},
	    {"{\"execute\": 1}", "QMP input member 'execute' must be a string", NULL},
	    {"{\"id\": 4}", "QMP input lacks member 'execute'", "4"},
	    {"{}", "QMP input lacks member 'execute'", NULL},
	    {"{\"execute\": \"query-name\", \"arguments\": [1]}",
	     "QMP input member 'arguments' must be an object", NULL},
	    {"{\"execute\": \"query-name\", \"exec-oob\": \"x\"}",
	     "QMP input member 'exec-oob' is unexpected", NULL},
	    {"{\"execute\": foo}", "JSON parse error, invalid keyword 'foo'", NULL},
	    {"{\"execute\":}", "JSON parse error, expecting value", NULL},
	    {"]", "JSON parse error, expecting value", NULL},
	    {"{\"execute\": \"query-name\", \"arguments\": {\"x\": 1}, \"id\": null}",
	     "Parameter 'x' is unexpected", "null"},
	};
	struct proto p;

	proto_setup(&p, "vm7");
	json_decref(next_out(&p.s));
	feed(&p.s, "{\"execute\": \"qmp_capabilities\"}");
	json_decref(expect_return(&p.s));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		feed(&p.s, cases[i].in);
		expect_error_reply(&p.s, QMP_ERR_GENERIC, cases[i].desc, cases[i].id);
	}
	/* a garbage JSON text gets a parse error naming jansson's reason */
	feed(&p.s, "{\"a\" 1}");
	{
		json_t *r = next_out(&p.s);
		const char *d =
		    json_string_value(json_object_get(json_object_get(r, "error"), "desc"));

		assert_non_null(d);
		assert_memory_equal(d, "JSON parse error, ", 18);
		json_decref(r);
	}
	/* not UTF-8 */
	feed(&p.s, "{\"execute\": \"\xc3\x28\"}");
	json_decref(next_out(&p.s));
	feed(&p.s, "{\"execute\": \"query-name\", \"id\": [1]}");
	{
		json_t *r = next_out(&p.s);

		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(r, "return"), "name")),
		    "vm7");
		assert_true(json_is_array(json_object_get(r, "id")));
		json_decref(r);
	}
	proto_teardown(&p);
}

static void test_query_commands_and_name(void **state)
{
	struct proto p;
	json_t *ret, *v;
	size_t i;
	bool seen_hmp = false;

	proto_setup(&p, NULL);
	json_decref(next_out(&p.s));
	feed(&p.s, "{\"execute\": \"qmp_capabilities\"}{\"execute\": \"query-commands\"}"
		   "{\"execute\": \"query-name\"}");
	json_decref(expect_return(&p.s));
	ret = expect_return(&p.s);
	assert_int_equal(json_array_size(ret), qmp_command_count(p.q));
	json_array_foreach(ret, i, v)
	{
		assert_string_equal(json_string_value(json_object_get(v, "name")),
				    qmp_command_name(p.q, i));
		seen_hmp |= !strcmp(qmp_command_name(p.q, i), "human-monitor-command");
	}
	assert_true(seen_hmp);
	json_decref(ret);
	ret = expect_return(&p.s);
	assert_int_equal(json_object_size(ret), 0); /* no --name */
	json_decref(ret);
	proto_teardown(&p);
}

static void test_events_only_after_negotiation(void **state)
{
	struct proto p;
	json_t *ev = json_pack("{s:s, s:{s:i, s:i}}", "event", "STOP", "timestamp", "seconds", 1,
			       "microseconds", 2);
	json_t *r;

	proto_setup(&p, NULL);
	json_decref(next_out(&p.s));
	qmp_session_event(&p.s, ev);
	assert_null(next_out(&p.s));
	feed(&p.s, "{\"execute\": \"qmp_capabilities\"}");
	json_decref(expect_return(&p.s));
	qmp_session_event(&p.s, ev);
	r = next_out(&p.s);
	assert_true(json_equal(r, ev));
	json_decref(r);
	json_decref(ev);
	proto_teardown(&p);
}

static void test_output_bounded(void **state)
{
	struct proto p;
	char req[] = "{\"execute\": \"big\"}";

	memset(&p, 0, sizeof(p));
	p.q = qmp_new(NULL);
	qmp_commands_register(&p.cmds, p.q, NULL);
	register_fakes(p.q, &p.vm);
	qmp_session_init(&p.s, p.q, 1 << 20);
	feed(&p.s, "{\"execute\": \"qmp_capabilities\"}");
	for (int i = 0; i < 100 && !qmp_session_overflowed(&p.s); i++)
		feed(&p.s, req);
	assert_true(qmp_session_overflowed(&p.s));
	assert_true(p.vm.big_calls <= 17); /* 1 MiB of 64 KiB replies, then refused */
	feed(&p.s, req);		   /* an overflowed session takes nothing more */
	assert_true(p.vm.big_calls <= 17);
	proto_teardown(&p);
}

/* ---- HMP ---- */

static void expect_hmp(struct proto *p, const char *line, const char *want)
{
	json_t *args = json_pack("{s:s}", "command-line", line), *ret;
	struct qmp_error err;

	ret = qmp_dispatch(p->q, "human-monitor-command", args, &err);
	json_decref(args);
	if (!ret)
		fail_msg("%s: %s", line, err.desc);
	if (strcmp(json_string_value(ret), want))
		fail_msg("'%s' printed '%s', not '%s'", line, json_string_value(ret), want);
	json_decref(ret);
}

static void test_hmp(void **state)
{
	struct proto p;
	struct qmp_error err;
	json_t *args;

	proto_setup(&p, "farm-7");
	p.vm.running = true;
	expect_hmp(&p, "info status", "VM status: running\r\n");
	expect_hmp(&p, "stop", "");
	expect_hmp(&p, "  info  status ", "VM status: paused (prelaunch)\r\n");
	expect_hmp(&p, "info name", "farm-7\r\n");
	expect_hmp(&p, "", "");
	expect_hmp(&p, "frobnicate", "unknown command: 'frobnicate'\r\n");
	expect_hmp(&p, "info nope", "unknown command: 'info nope'\r\n");
	expect_hmp(&p, "stop now",
		   "stop|s: extraneous characters at the end of line\r\n"
		   "Try \"help stop\" for more information\r\n");
	expect_hmp(&p, "s now",
		   "stop|s: extraneous characters at the end of line\r\n"
		   "Try \"help s\" for more information\r\n");
	/* not registered here (the run control's): its QMP error */
	expect_hmp(&p, "cont", "Error: The command cont has not been found\r\n");
	expect_hmp(&p, "system_powerdown",
		   "Error: The command system_powerdown has not been found\r\n");
	expect_hmp(&p, "eject",
		   "eject: block device name expected\r\n"
		   "Try \"help eject\" for more information\r\n");
	expect_hmp(&p, "eject -x ide1-cd0",
		   "eject: unsupported option -x\r\n"
		   "Try \"help eject\" for more information\r\n");
	expect_hmp(&p, "eject -f ide1-cd0", "");
	assert_string_equal(p.vm.last_eject, "{\"device\":\"ide1-cd0\",\"force\":true}");
	expect_hmp(&p, "eject ide9", "Error: Device 'ide9' not found\r\n");
	assert_string_equal(p.vm.last_eject, "{\"device\":\"ide9\",\"force\":false}");
	expect_hmp(&p, "change ide1-cd0 \"/my isos/disc 2.iso\" raw read-only", "");
	assert_string_equal(p.vm.last_change,
			    "{\"device\":\"ide1-cd0\",\"filename\":\"/my isos/disc 2.iso\","
			    "\"format\":\"raw\",\"read-only-mode\":\"read-only\"}");
	expect_hmp(&p, "change ide1-cd0 /x.iso", "");
	assert_string_equal(p.vm.last_change, "{\"device\":\"ide1-cd0\",\"filename\":\"/x.iso\"}");
	expect_hmp(&p, "change ide1-cd0 /x.iso raw sometimes",
		   "Error: invalid parameter value: sometimes\r\n");
	expect_hmp(&p, "change ide1-cd0 \"/x.iso", "unterminated string\r\n");
	expect_hmp(&p, "info block",
		   "ide0-hd0: /vm/disk.qcow2 (qcow2)\r\n"
		   "    Attached to:      ide.0\r\n"
		   "    Cache mode:       writeback, direct\r\n"
		   "\r\n"
		   "ide1-cd0: [not inserted]\r\n"
		   "    Removable device: locked, tray open\r\n");
	expect_hmp(&p, "info block ide1-cd0",
		   "ide1-cd0: [not inserted]\r\n"
		   "    Removable device: locked, tray open\r\n");
	expect_hmp(&p, "help eject",
		   "eject [-f] device -- eject a removable medium (use -f to "
		   "force it)\r\n");
	expect_hmp(&p, "help info status",
		   "info status  -- show the current VM status (running|paused)\r\n");
	expect_hmp(&p, "help nope", "unknown command: 'nope'\r\n");
	expect_hmp(&p, "a b c d e f g h i j k", "a: too many arguments\r\n");

	/* the QMP side of it */
	args = json_pack("{s:i}", "command-line", 5);
	assert_null(qmp_dispatch(p.q, "human-monitor-command", args, &err));
	assert_string_equal(err.desc,
			    "Invalid parameter type for 'command-line', expected: string");
	json_decref(args);
	args = json_pack("{s:s, s:i}", "command-line", "info name", "cpu-index", 0);
	json_decref(qmp_dispatch(p.q, "human-monitor-command", args, &err));
	assert_null(err.cls);
	json_decref(args);
	assert_null(qmp_dispatch(p.q, "human-monitor-command", NULL, &err));
	assert_string_equal(err.desc, "Parameter 'command-line' is missing");
	proto_teardown(&p);
}

/* ---- the server: fake clients on socketpairs, the loop on a thread ---- */

struct rig {
	struct event_loop *loop;
	struct qmp *q;
	struct qmp_server *server;
	struct fake_vm vm;
	pthread_t thread;
	bool running;
};

static void *loop_thread(void *opaque)
{
	event_loop_run(opaque);
	return NULL;
}

static void rig_run(struct rig *r)
{
	assert_int_equal(pthread_create(&r->thread, NULL, loop_thread, r->loop), 0);
	r->running = true;
}

static void rig_stop(struct rig *r)
{
	if (!r->running)
		return;
	event_loop_stop(r->loop);
	pthread_join(r->thread, NULL);
	r->running = false;
}

static json_t *count_clients(void *opaque, json_t *args, struct qmp_error *err)
{
	return json_integer((json_int_t)qmp_server_client_count(((struct rig *)opaque)->server));
}

static void rig_setup(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->loop = event_loop_new();
	r->q = qmp_new(r->loop);
	r->server = qmp_server_new(r->q, r->loop, "rig");
	assert_non_null(r->server);
	register_fakes(r->q, &r->vm);
	qmp_register(r->q, "count-clients", count_clients, r);
}

static void rig_teardown(struct rig *r)
{
	rig_stop(r);
	qmp_server_free(r->server);
	qmp_free(r->q);
	event_loop_free(r->loop);
}

/* A fake client: the test's end of a socketpair. */
static int rig_client(struct rig *r)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(qmp_server_add_client(r->server, sv[1]), 0);
	return sv[0];
}

/* One line from fd (CR LF stripped), waiting up to 5 s; NULL at EOF. */
static json_t *read_msg(int fd)
{
	char line[256 * 1024];
	size_t n = 0;

	while (n < sizeof(line) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t got;

		if (poll(&p, 1, 5000) <= 0)
			fail_msg("no reply within 5 s");
		got = read(fd, line + n, 1);
		if (got <= 0)
			return NULL;
		if (line[n] == '\n') {
			assert_true(n > 0 && line[n - 1] == '\r');
			return json_loadb(line, n - 1, 0, NULL);
		}
		n++;
	}
	fail_msg("line too long");
	return NULL;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void negotiate(int fd)
{
	json_t *g = read_msg(fd), *r;

	assert_non_null(json_object_get(g, "QMP"));
	json_decref(g);
	send_str(fd, "{\"execute\": \"qmp_capabilities\"}\n");
	r = read_msg(fd);
	assert_non_null(json_object_get(r, "return"));
	json_decref(r);
}

static void test_server_clients(void **state)
{
	struct rig r;
	int a, b, c;
	json_int_t n = -1;
	json_t *m;

	rig_setup(&r);
	rig_run(&r);
	a = rig_client(&r);
	b = rig_client(&r);
	/* each negotiates on its own */
	negotiate(a);
	m = read_msg(b);
	json_decref(m);
	send_str(b, "{\"execute\": \"query-name\", \"id\": \"b1\"}");
	m = read_msg(b);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(m, "error"), "class")),
	    QMP_ERR_NOT_FOUND);
	json_decref(m);
	send_str(a, "{\"execute\": \"query-name\", \"id\": \"a1\"}");
	m = read_msg(a);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(m, "return"), "name")), "rig");
	assert_string_equal(json_string_value(json_object_get(m, "id")), "a1");
	json_decref(m);

	/* an event from another thread reaches the negotiated client only */
	qmp_event(r.q, "POWERDOWN", NULL);
	m = read_msg(a);
	assert_string_equal(json_string_value(json_object_get(m, "event")), "POWERDOWN");
	json_decref(m);
	send_str(b, "{\"execute\": \"qmp_capabilities\"}");
	m = read_msg(b);
	assert_non_null(json_object_get(m, "return")); /* not the event first */
	json_decref(m);

	/* a request split across writes */
	send_str(a, "{\"execute\": \"query-");
	usleep(20000);
	send_str(a, "name\"}");
	m = read_msg(a);
	assert_non_null(json_object_get(m, "return"));
	json_decref(m);

	/* a client that leaves in the middle of a message, and one that
	 * leaves with a request whose reply it never reads */
	send_str(b, "{\"execute\": \"query-na");
	close(b);
	send_str(a, "{\"execute\": \"query-name\"}");
	close(a);
	/* both gone, as a third client sees (asked on the loop thread) */
	c = rig_client(&r);
	negotiate(c);
	for (int i = 0; i < 200; i++) {
		send_str(c, "{\"execute\": \"count-clients\"}");
		m = read_msg(c);
		n = json_integer_value(json_object_get(m, "return"));
		json_decref(m);
		if (n == 1)
			break;
		usleep(10000);
	}
	assert_int_equal(n, 1);
	close(c);
	rig_teardown(&r);
}

static void test_server_slow_reader(void **state)
{
	struct rig r;
	int lazy, busy, flags;
	char req[] = "{\"execute\": \"big\"}";
	char sink[65536];
	size_t total = 0;
	json_t *m;

	rig_setup(&r);
	rig_run(&r);
	lazy = rig_client(&r);
	busy = rig_client(&r);
	negotiate(lazy);
	negotiate(busy);
	/* the lazy one asks for far more than it reads */
	flags = fcntl(lazy, F_GETFL);
	fcntl(lazy, F_SETFL, flags | O_NONBLOCK);
	for (int i = 0; i < 200; i++)
		if (write(lazy, req, sizeof(req) - 1) < 0)
			break;
	/* the other is served meanwhile: the loop does not block */
	send_str(busy, "{\"execute\": \"query-name\", \"id\": 9}");
	m = read_msg(busy);
	assert_int_equal(json_integer_value(json_object_get(m, "id")), 9);
	json_decref(m);
	/* the lazy one is cut off: EOF after a bounded amount of output */
	fcntl(lazy, F_SETFL, flags);
	for (;;) {
		struct pollfd p = {.fd = lazy, .events = POLLIN};
		ssize_t n;

		assert_true(poll(&p, 1, 5000) > 0);
		n = read(lazy, sink, sizeof(sink));
		if (n <= 0)
			break;
		total += (size_t)n;
		assert_true(total <= QMP_SESSION_MAX_OUTPUT + (1u << 20));
	}
	assert_true(r.vm.big_calls < 200);
	close(lazy);
	close(busy);
	rig_teardown(&r);
}

/* ---- the socket file ---- */

static char tmpdir[64];

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_socket_file(void **state)
{
	char path[128], file[128], err[512], longp[200];
	struct stat st;
	struct rig r, other;
	int fd, stale;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	strcpy(tmpdir, "/tmp/test_qmp_server.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	tmp_path(path, sizeof(path), "vm.sock");

	/* bad paths: refused, nothing created, nothing removed */
	assert_int_equal(qmp_server_check_path("/nonexistent-dir/x.sock", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--qmp: cannot create '/nonexistent-dir/x.sock'"));
	tmp_path(file, sizeof(file), "plain");
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	close(fd);
	assert_int_equal(qmp_server_check_path(file, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists and is not a socket"));
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(qmp_server_check_path(tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a directory"));
	memset(longp, 'l', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(qmp_server_check_path(longp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(qmp_server_check_path(path, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), -1); /* the check created nothing */

	/* a stale socket (nobody listening) is replaced */
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);
	assert_int_equal(qmp_server_check_path(path, err, sizeof(err)), 0);
	rig_setup(&r);
	assert_int_equal(qmp_server_listen(r.server, path, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a live one is refused, and left alone */
	assert_int_equal(qmp_server_check_path(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another process is listening"));
	rig_setup(&other);
	assert_int_equal(qmp_server_listen(other.server, path, err, sizeof(err)), -1);
	rig_teardown(&other);
	assert_int_equal(lstat(path, &st), 0);

	/* a real connection gets the greeting */
	rig_run(&r);
	fd = connect_to(path);
	assert_true(fd >= 0);
	negotiate(fd);
	close(fd);
	rig_teardown(&r);
	assert_int_equal(lstat(path, &st), -1); /* removed at exit */
	unlink(file);
	rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_messages),
	    cmocka_unit_test(test_split_errors),
	    cmocka_unit_test(test_split_deep_nesting),
	    cmocka_unit_test(test_split_size_limit),
	    cmocka_unit_test(test_greeting_and_negotiation),
	    cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_query_commands_and_name),
	    cmocka_unit_test(test_events_only_after_negotiation),
	    cmocka_unit_test(test_output_bounded),
	    cmocka_unit_test(test_hmp),
	    cmocka_unit_test(test_server_clients),
	    cmocka_unit_test(test_server_slow_reader),
	    cmocka_unit_test(test_socket_file),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
