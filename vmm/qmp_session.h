/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One QMP client's side of the protocol, without a socket: bytes in, bytes
 * out.  The server (qmp_server.c) gives each connection one; the fuzz
 * target and the unit tests drive one directly.
 *
 * The greeting, capability negotiation (every command but qmp_capabilities
 * refused until then), the checks of a request's members, the id echoed in
 * every reply, and the replies to malformed input all follow QEMU 7.2.
 * Replies and events are queued in an output buffer of bounded size; a
 * client that lets it overflow has to be disconnected (overflowed()).
 */
#ifndef MINIVMM_QMP_SESSION_H
#define MINIVMM_QMP_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/qmp.h"
#include "vmm/qmp_stream.h"

#define QMP_SESSION_MAX_OUTPUT (4u << 20) /* bytes queued for one client */

struct qmp_session {
	struct qmp *q;
	struct qmp_stream in;
	bool negotiated;
	bool overflowed;
	char *out;
	size_t out_len, out_cap, out_max;
};

/* out_max 0: QMP_SESSION_MAX_OUTPUT.  Queues the greeting. */
void qmp_session_init(struct qmp_session *s, struct qmp *q, size_t out_max);
void qmp_session_destroy(struct qmp_session *s);

/* Bytes the client sent: every complete request is answered (queued). */
void qmp_session_feed(struct qmp_session *s, const char *data, size_t len);
/* An event (as qmp.h delivers it): queued for a negotiated client only. */
void qmp_session_event(struct qmp_session *s, json_t *event);

/* Queued output; consume() drops the first n bytes once written. */
const char *qmp_session_output(const struct qmp_session *s, size_t *len);
void qmp_session_consume(struct qmp_session *s, size_t n);
/* True once a reply or event did not fit: disconnect the client. */
bool qmp_session_overflowed(const struct qmp_session *s);

#endif
