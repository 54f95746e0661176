// SPDX-License-Identifier: GPL-2.0-or-later
/* The QMP input splitter (vmm/qmp_stream.h). */
#include "vmm/qmp_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	ST_IDLE,	/* between messages */
	ST_VALUE,	/* inside an object, array or top-level string */
	ST_SCALAR,	/* a top-level number, keyword or garbage word */
	ST_SKIP,	/* the rest of a refused value */
	ST_SKIP_SCALAR, /* the rest of a refused scalar */
};

/* Kept between messages; a larger buffer is given back after use. */
#define KEEP_CAP 65536

void qmp_stream_init(struct qmp_stream *s, size_t max_size, unsigned max_depth)
{
	*s = (struct qmp_stream){
	    .max_size = max_size ? max_size : QMP_STREAM_MAX_SIZE,
	    .max_depth = max_depth ? max_depth : QMP_STREAM_MAX_DEPTH,
	};
}

void qmp_stream_destroy(struct qmp_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

bool qmp_stream_pending(const struct qmp_stream *s)
{
	return s->state != ST_IDLE;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A byte that no JSON text holds outside a string, or inside one raw:
 * the resynchronisation points. */
static bool is_bad(unsigned char c)
{
	return (c < 0x20 && !is_space(c)) || c == 0xfe || c == 0xff;
}

static bool ends_scalar(unsigned char c)
{
	return is_space(c) || is_bad(c) || strchr("{}[]\"", c) != NULL;
}

static void reset(struct qmp_stream *s, int state)
{
	s->state = state;
	s->len = 0;
	s->in_string = s->escape = false;
	if (state == ST_IDLE)
		s->depth = 0;
	if (s->cap > KEEP_CAP) {
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
	}
}

/* 0, or -1 when the message would grow past max_size (or memory ran out). */
static int append(struct qmp_stream *s, char c)
{
	if (s->len + 1 > s->max_size)
		return -1;
	if (s->len + 2 > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		char *b;

		if (cap > s->max_size + 1)
			cap = s->max_size + 1;
		b = realloc(s->buf, cap);
		if (!b)
			return -1;
		s->buf = b;
		s->cap = cap;
	}
	s->buf[s->len++] = c;
	return 0;
}

static int emit(struct qmp_stream *s, qmp_stream_fn fn, void *opaque)
{
	int ret;

	s->buf[s->len] = '\0';
	ret = fn(opaque, s->buf, s->len, NULL);
	reset(s, ST_IDLE);
	return ret;
}

static int error(struct qmp_stream *s, int next, const char *text, qmp_stream_fn fn, void *opaque)
{
	size_t depth = s->depth;
	bool in_string = s->in_string, escape = s->escape;

	reset(s, next);
	if (next == ST_SKIP) { /* keep following the structure */
		s->depth = depth;
		s->in_string = in_string;
		s->escape = escape;
	}
	return fn(opaque, NULL, 0, text);
}

/* Follows strings and nesting for one byte of a value (stored or skipped).
 * Returns 1 when the value ended with this byte, -1 on a bad byte, 0 on. */
static int track(struct qmp_stream *s, unsigned char c)
{
	if (s->in_string) {
		if (c < 0x20 || c == 0xfe || c == 0xff)
			return -1;
		if (s->escape)
			s->escape = false;
		else if (c == '\\')
			s->escape = true;
		else if (c == '"') {
			s->in_string = false;
			if (s->depth == 0)
				return 1;
		}
		return 0;
	}
	if (is_bad(c))
		return -1;
	switch (c) {
	case '"':
		s->in_string = true;
		break;
	case '{':
	case '[':
		s->depth++;
		break;
	case '}':
	case ']':
		if (s->depth > 0 && --s->depth == 0)
			return 1;
		break;
	}
	return 0;
}

static int feed_byte(struct qmp_stream *s, unsigned char c, qmp_stream_fn fn, void *opaque)
{
	char what[64];
	int t;

	switch (s->state) {
	case ST_IDLE:
		if (is_space(c))
			return 0;
		if (c == '}' || c == ']')
			return fn(opaque, NULL, 0, "JSON parse error, expecting value");
		if (is_bad(c)) {
			snprintf(what, sizeof(what), "JSON parse error, stray '\\x%02x'", c);
			return fn(opaque, NULL, 0, what);
		}
		if (c == '{' || c == '[' || c == '"') {
			s->state = ST_VALUE;
			s->depth = c == '"' ? 0 : 1;
			s->in_string = c == '"';
		} else {
			s->state = ST_SCALAR;
		}
		if (append(s, (char)c) < 0) /* only when out of memory */
			return error(s, ST_IDLE, "JSON token size limit exceeded", fn, opaque);
		return 0;
	case ST_SCALAR:
		if (ends_scalar(c)) {
			int ret = emit(s, fn, opaque);

			return ret ? ret : feed_byte(s, c, fn, opaque);
		}
		if (append(s, (char)c) < 0)
			return error(s, ST_SKIP_SCALAR, "JSON token size limit exceeded", fn,
				     opaque);
		return 0;
	case ST_SKIP_SCALAR:
		if (ends_scalar(c)) {
			reset(s, ST_IDLE);
			return feed_byte(s, c, fn, opaque);
		}
		return 0;
	case ST_VALUE:
		t = track(s, c);
		if (t < 0) {
			snprintf(what, sizeof(what), "JSON parse error, stray '\\x%02x'", c);
			return error(s, ST_IDLE, what, fn, opaque);
		}
		if (s->depth > s->max_depth)
			return error(s, ST_SKIP, "JSON nesting depth limit exceeded", fn, opaque);
		if (append(s, (char)c) < 0)
			return error(s, t == 1 ? ST_IDLE : ST_SKIP,
				     "JSON token size limit exceeded", fn, opaque);
		return t == 1 ? emit(s, fn, opaque) : 0;
	case ST_SKIP:
		t = track(s, c);
		if (t != 0) /* the refused value ended, or a resync byte */
			reset(s, ST_IDLE);
		return 0;
	}
	return 0;
}

int qmp_stream_feed(struct qmp_stream *s, const char *data, size_t len, qmp_stream_fn fn,
		    void *opaque)
{
	for (size_t i = 0; i < len; i++) {
		int ret = feed_byte(s, (unsigned char)data[i], fn, opaque);

		if (ret)
			return ret;
	}
	return 0;
}
