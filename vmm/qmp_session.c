// SPDX-License-Identifier: GPL-2.0-or-later
/* One QMP client's protocol state (vmm/qmp_session.h). */
#include "vmm/qmp_session.h"

#include <stdlib.h>
#include <string.h>

#include "vmm/qmp_commands.h"

/* Queues one message as QEMU sends it: one line, "\r\n" at the end. */
static void send_json(struct qmp_session *s, json_t *msg)
{
	char *text;
	size_t n;

	if (!msg || s->overflowed)
		return;
	text = json_dumps(msg, JSON_PRESERVE_ORDER);
	if (!text) {
		s->overflowed = true; /* out of memory: this client cannot be served */
		return;
	}
	n = strlen(text);
	if (s->out_len + n + 2 > s->out_max) {
		s->overflowed = true;
		free(text);
		return;
	}
	if (s->out_len + n + 2 > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		char *b;

		while (cap < s->out_len + n + 2)
			cap *= 2;
		b = realloc(s->out, cap);
		if (!b) {
			s->overflowed = true;
			free(text);
			return;
		}
		s->out = b;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, text, n);
	memcpy(s->out + s->out_len + n, "\r\n", 2);
	s->out_len += n + 2;
	free(text);
}

static void send_error(struct qmp_session *s, json_t *id, const char *cls, const char *desc)
{
	json_t *msg = json_object();

	if (!msg)
		return;
	if (id)
		json_object_set(msg, "id", id);
	json_object_set_new(msg, "error", json_pack("{s:s, s:s}", "class", cls, "desc", desc));
	send_json(s, msg);
	json_decref(msg);
}

void qmp_session_init(struct qmp_session *s, struct qmp *q, size_t out_max)
{
	json_t *greeting;

	*s = (struct qmp_session){.q = q, .out_max = out_max ? out_max : QMP_SESSION_MAX_OUTPUT};
	qmp_stream_init(&s->in, 0, 0);
	greeting =
	    json_pack("{s:{s:o, s:[]}}", "QMP", "version", qmp_version_json(), "capabilities");
	if (!greeting)
		s->overflowed = true;
	send_json(s, greeting);
	json_decref(greeting);
}

void qmp_session_destroy(struct qmp_session *s)
{
	qmp_stream_destroy(&s->in);
	free(s->out);
	s->out = NULL;
	s->out_len = s->out_cap = 0;
}

/* QEMU's member checks (qmp_dispatch_check_obj); we offer no "oob", so
 * "exec-oob" is as unexpected as any other member.  The command name, or
 * NULL with desc set. */
static const char *check_request(json_t *req, char *desc, size_t desclen)
{
	const char *key, *name = NULL;
	json_t *v;

	json_object_foreach(req, key, v)
	{
		if (!strcmp(key, "execute")) {
			if (!json_is_string(v)) {
				snprintf(desc, desclen,
					 "QMP input member 'execute' must be a string");
				return NULL;
			}
			name = json_string_value(v);
		} else if (!strcmp(key, "arguments")) {
			if (!json_is_object(v)) {
				snprintf(desc, desclen,
					 "QMP input member 'arguments' must be an object");
				return NULL;
			}
		} else if (strcmp(key, "id")) {
			snprintf(desc, desclen, "QMP input member '%.200s' is unexpected", key);
			return NULL;
		}
	}
	if (!name)
		snprintf(desc, desclen, "QMP input lacks member 'execute'");
	return name;
}

/* jansson's reason, in QEMU's words where QEMU has words for it. */
static void parse_error_text(const json_error_t *je, char *desc, size_t desclen)
{
	const char *near = strstr(je->text, "near '");

	if (near && !strncmp(je->text, "invalid token", 13)) {
		const char *w = near + 6;
		size_t n = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

		if (n && w[n] == '\'' && !w[n + 1]) {
			snprintf(desc, desclen, "JSON parse error, invalid keyword '%.*s'", (int)n,
				 w);
			return;
		}
	}
	if (near && !strncmp(je->text, "unexpected token", 16) &&
	    (!strcmp(near, "near '}'") || !strcmp(near, "near ']'"))) {
		snprintf(desc, desclen, "JSON parse error, expecting value");
		return;
	}
	snprintf(desc, desclen, "JSON parse error, %s", je->text);
}

static void handle(struct qmp_session *s, const char *msg, size_t len)
{
	json_error_t je;
	json_t *req = json_loadb(msg, len, JSON_DECODE_ANY, &je), *id, *args, *ret, *reply;
	struct qmp_error err = {0};
	char desc[sizeof(err.desc)];
	const char *name;

	if (!req) {
		parse_error_text(&je, desc, sizeof(desc));
		send_error(s, NULL, QMP_ERR_GENERIC, desc);
		return;
	}
	if (!json_is_object(req)) {
		send_error(s, NULL, QMP_ERR_GENERIC, "QMP input must be a JSON object");
		json_decref(req);
		return;
	}
	id = json_object_get(req, "id");
	name = check_request(req, desc, sizeof(desc));
	if (!name) {
		send_error(s, id, QMP_ERR_GENERIC, desc);
		json_decref(req);
		return;
	}
	args = json_object_get(req, "arguments");
	if (!s->negotiated) {
		if (strcmp(name, "qmp_capabilities")) {
			ret = NULL;
			qmp_error_set(&err, QMP_ERR_NOT_FOUND,
				      "Expecting capabilities negotiation with 'qmp_capabilities'");
		} else if (qmp_capabilities_check(args, &err) < 0) {
			ret = NULL;
		} else {
			ret = json_object();
			s->negotiated = true;
		}
	} else {
		ret = qmp_dispatch(s->q, name, args, &err);
		/* Events the command raised go out before its reply, as in
		 * QEMU (DEVICE_TRAY_MOVED before blockdev-change-medium's
		 * return). */
		qmp_flush_events(s->q);
	}
	if (!ret) {
		send_error(s, id, err.cls ? err.cls : QMP_ERR_GENERIC, err.desc);
	} else {
		reply = json_pack("{s:o}", "return", ret);
		if (reply && id)
			json_object_set(reply, "id", id);
		send_json(s, reply);
		json_decref(reply);
	}
	json_decref(req);
}

static int on_message(void *opaque, const char *msg, size_t len, const char *error)
{
	struct qmp_session *s = opaque;

	if (error)
		send_error(s, NULL, QMP_ERR_GENERIC, error);
	else
		handle(s, msg, len);
	return s->overflowed ? -1 : 0;
}

void qmp_session_feed(struct qmp_session *s, const char *data, size_t len)
{
	if (!s->overflowed)
		qmp_stream_feed(&s->in, data, len, on_message, s);
}

void qmp_session_event(struct qmp_session *s, json_t *event)
{
	if (s->negotiated)
		send_json(s, event);
}

const char *qmp_session_output(const struct qmp_session *s, size_t *len)
{
	*len = s->out_len;
	return s->out;
}

void qmp_session_consume(struct qmp_session *s, size_t n)
{
	if (n >= s->out_len) {
		s->out_len = 0;
		if (s->out_cap > 65536) { /* give a burst's buffer back */
			free(s->out);
			s->out = NULL;
			s->out_cap = 0;
		}
		return;
	}
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
}

bool qmp_session_overflowed(const struct qmp_session *s)
{
	return s->overflowed;
}
