// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the input is what a QMP client sends, fed to one protocol
 * session (vmm/qmp_session.c: the splitter, jansson, negotiation, dispatch,
 * the protocol's commands and the HMP words) with stand-ins for the other
 * parts' commands.  The first byte picks the chunk size the bytes arrive
 * in, the output limit and whether the client reads its output.
 *
 * Checked after every chunk: the queued output stays within its limit, and
 * every line written is one JSON object ending in CR LF that is a greeting,
 * an event, or a reply with exactly one of "return" and "error" (a class
 * and a desc).  Never a crash, a leak, or memory beyond the bounds.
 *
 * Built as a libFuzzer target (-Dfuzz=true) and, with -DFUZZ_STANDALONE, as
 * a runner of built-in seeds and fixed mutations in every test run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/qmp.h"
#include "vmm/qmp_commands.h"
#include "vmm/qmp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_qmp: %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static unsigned long replies, errors, events;

/* ---- stand-ins for the run control's and the drives' commands ---- */

static bool running = true;

static json_t *cmd_status(void *opaque, json_t *args, struct qmp_error *err)
{
	if (qmp_args_only(args, NULL, err) < 0)
		return NULL;
	return json_pack("{s:b, s:s}", "running", running, "status",
			 running ? "running" : "paused");
}

static json_t *cmd_run(void *opaque, json_t *args, struct qmp_error *err)
{
	struct qmp *q = opaque;

	if (qmp_args_only(args, NULL, err) < 0)
		return NULL;
	running = !running;
	qmp_event(q, running ? "RESUME" : "STOP", NULL); /* delivered at once: no loop */
	return json_object();
}

static json_t *cmd_drive(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"device",		"id", "force", "filename", "format",
					      "read-only-mode", NULL};
	const char *dev = NULL;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "device", true, &dev, err) < 0)
		return NULL;
	if (strcmp(dev, "ide1-cd0")) {
		qmp_error_set(err, QMP_ERR_DEVICE_NOT_FOUND, "Device '%.100s' not found", dev);
		return NULL;
	}
	return json_object();
}

static json_t *cmd_block(void *opaque, json_t *args, struct qmp_error *err)
{
	return json_pack("[{s:s, s:b, s:b, s:b, s:{s:s, s:s, s:b}}]", "device", "ide1-cd0",
			 "removable", 1, "locked", 0, "tray_open", 0, "inserted", "file", "/x.iso",
			 "drv", "raw", "ro", 1);
}

/* ---- the checks ---- */

static void check_line(const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL), *e;

	CHECK(j && json_is_object(j));
	if (json_object_get(j, "QMP")) {
		CHECK(json_object_size(j) == 1);
	} else if (json_object_get(j, "event")) {
		CHECK(json_is_string(json_object_get(j, "event")));
		CHECK(json_is_object(json_object_get(j, "timestamp")));
		events++;
	} else {
		e = json_object_get(j, "error");
		CHECK(!e != !json_object_get(j, "return"));
		if (e) {
			CHECK(json_is_string(json_object_get(e, "class")));
			CHECK(json_is_string(json_object_get(e, "desc")));
			errors++;
		}
		CHECK(json_object_size(j) == 1 + (json_object_get(j, "id") != NULL));
		replies++;
	}
	json_decref(j);
}

/* What a reading client gets: every whole line, checked and consumed. */
static void drain(struct qmp_session *s)
{
	size_t len, done = 0;
	const char *out = qmp_session_output(s, &len);

	for (;;) {
		const char *nl = memchr(out + done, '\n', len - done);

		if (!nl)
			break;
		CHECK(nl > out + done && nl[-1] == '\r');
		check_line(out + done, (size_t)(nl - 1 - (out + done)));
		done = (size_t)(nl + 1 - out);
	}
	CHECK(done == len); /* only whole lines are queued */
	qmp_session_consume(s, done);
}

static void on_event(void *opaque, json_t *ev)
{
	qmp_session_event(opaque, ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp *q;
	struct qmp_commands cmds;
	struct qmp_session s;
	size_t chunk, out_max, len;
	bool reads;

	if (size < 1)
		return 0;
	chunk = 1 + data[0] % 61;
	out_max = data[0] & 0x40 ? 4096 : 0;
	reads = !(data[0] & 0x80);
	data++;
	size--;
	q = qmp_new(NULL);
	CHECK(q);
	CHECK(qmp_commands_register(&cmds, q, out_max ? "fuzz" : NULL) == 0);
	qmp_register(q, "query-status", cmd_status, q);
	qmp_register(q, "stop", cmd_run, q);
	qmp_register(q, "cont", cmd_run, q);
	qmp_register(q, "eject", cmd_drive, q);
	qmp_register(q, "blockdev-change-medium", cmd_drive, q);
	qmp_register(q, "query-block", cmd_block, q);
	qmp_session_init(&s, q, out_max);
	qmp_add_listener(q, on_event, &s);
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		qmp_session_feed(&s, (const char *)data + off, n);
		qmp_session_output(&s, &len);
		CHECK(len <= (out_max ? out_max : QMP_SESSION_MAX_OUTPUT));
		if (qmp_session_overflowed(&s))
			break; /* the server disconnects here */
		if (reads)
			drain(&s);
	}
	if (!qmp_session_overflowed(&s))
		drain(&s);
	qmp_del_listener(q, on_event, &s);
	qmp_session_destroy(&s);
	qmp_free(q);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

static const char *const seeds[] = {
    "\x05{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-commands\",\"id\":1}"
    "{\"execute\":\"query-version\"}{\"execute\":\"query-name\",\"id\":[1,{\"a\":null}]}"
    "{\"execute\":\"query-status\"}",
    "\x01{\"execute\":\"query-status\"}{\"execute\":\"qmp_capabilities\",\"arguments\":"
    "{\"enable\":[\"oob\"]}}{\"execute\":\"qmp_capabilities\",\"arguments\":{}}"
    "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"stop\"}{\"execute\":\"cont\"}",
    "\x20{\"execute\":\"qmp_capabilities\"}"
    "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"}}"
    "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info block\"}}"
    "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"eject -f "
    "ide1-cd0\"}}{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
    "\"change ide1-cd0 \\\"/a b.iso\\\" raw read-only\"}}{\"execute\":\"human-monitor-"
    "command\",\"arguments\":{\"command-line\":\"help info\"}}",
    "\x07{\"execute\": foo}]}[1,2]\"s\" 12 null {\"id\":1}{\"execute\":1}{\"execute\":\"x\","
    "\"arguments\":[]}{\"a\" 1}\x01{\"execute\":\"\xc3\x28\"}\xff[[[[[[[[[[[[[[[[[[[[[[[[["
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]{\"execute\":\"qmp_capabilities\"}",
    "\xc1{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-commands\"}"
    "{\"execute\":\"query-commands\"}{\"execute\":\"query-commands\"}"
    "{\"execute\":\"query-commands\"}{\"execute\":\"query-commands\"}",
};
#define NR_SEEDS (sizeof(seeds) / sizeof(seeds[0]))

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	s->len = strlen(seeds[which]);
	memcpy(s->b, seeds[which], s->len);
}

/* Byte edits that matter to a JSON stream. */
static void run_mutations(unsigned count)
{
	static const char interesting[] = "{}[]\":,\\ \n\x01\xff"
					  "0aen-";
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		unsigned edits = 1 + fuzz_rng() % 8;

		seed_build(it % NR_SEEDS, &s);
		for (unsigned k = 0; k < edits && s.len > 1; k++) {
			size_t off = 1 + fuzz_rng() % (s.len - 1);

			switch (fuzz_rng() % 4) {
			case 0:
				s.b[off] =
				    (uint8_t)interesting[fuzz_rng() % (sizeof(interesting) - 1)];
				break;
			case 1: /* duplicate a span */
				if (s.len < FUZZ_SEED_MAX / 2) {
					size_t n = fuzz_rng() % (s.len - off + 1);

					memmove(s.b + off + n, s.b + off, s.len - off);
					s.len += n;
				}
				break;
			case 2:
				s.len = off;
				break;
			default:
				s.b[off] ^= (uint8_t)(1 + fuzz_rng() % 255);
				break;
			}
		}
		if (fuzz_rng() % 4 == 0)
			s.b[0] = (uint8_t)fuzz_rng();
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
    .name = "fuzz_qmp",
    .seed_prefix = "qmp-seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(20000);
	printf("fuzz_qmp: %lu inputs, %lu replies (%lu errors), %lu events, no violation\n",
	       fuzz_runs(), replies, errors, events);
	return 0;
}
#endif
