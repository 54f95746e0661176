/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Splits a QMP client's byte stream into JSON messages, without parsing
 * them (jansson does that, one message at a time).
 *
 * A message is a top-level object or array (braces and brackets counted
 * outside strings, escapes honoured), a top-level string, or a top-level
 * scalar ended by white space or a structural character.  What a client can
 * make the splitter hold is bounded: a message longer than max_size bytes
 * or nested deeper than max_depth is an error, and the rest of it is
 * skipped (its structure followed, nothing stored) until it ends.  As in
 * QEMU's lexer, a control character (other than white space) outside a
 * string or inside one, or a byte 0xfe/0xff, ends whatever was under way
 * with an error: a client can always resynchronise with one such byte.
 */
#ifndef MINIVMM_QMP_STREAM_H
#define MINIVMM_QMP_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#define QMP_STREAM_MAX_SIZE  (1u << 20) /* bytes in one message */
#define QMP_STREAM_MAX_DEPTH 64		/* nested objects and arrays */

struct qmp_stream {
	char *buf;
	size_t len, cap;
	size_t max_size;
	unsigned max_depth;
	size_t depth; /* nesting, counted in skip mode too (no memory) */
	int state;    /* enum in qmp_stream.c */
	bool in_string, escape;
};

/*
 * For each complete message: msg (NUL-terminated, len bytes, valid until
 * the callback returns) with error NULL; for each framing error: msg NULL
 * and error QEMU's text for it ("JSON parse error, expecting value", "JSON
 * nesting depth limit exceeded"...).  Returns 0 to go on, non-zero to stop
 * feeding (the client is gone).
 */
typedef int (*qmp_stream_fn)(void *opaque, const char *msg, size_t len, const char *error);

/* max_size/max_depth 0: the defaults above. */
void qmp_stream_init(struct qmp_stream *s, size_t max_size, unsigned max_depth);
void qmp_stream_destroy(struct qmp_stream *s);
/* Returns what the last callback returned (0 if none stopped it). */
int qmp_stream_feed(struct qmp_stream *s, const char *data, size_t len, qmp_stream_fn fn,
		    void *opaque);
/* True while a message is partly read (or being skipped). */
bool qmp_stream_pending(const struct qmp_stream *s);

#endif
