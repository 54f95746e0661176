/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control interface's core: commands registered by name, events sent
 * to whoever listens.  The QMP socket server (clients, greeting, capability
 * negotiation) is built on it; so are the tests, which dispatch directly.
 *
 * Each part of minivmm registers its own commands where it lives (the run
 * control in vm_control.c, the drives in drive_control.c, later the balloon,
 * the display, the NICs): there is no central switch to edit.
 *
 * Threads: commands are registered before the event loop runs and are
 * dispatched on the loop thread only.  qmp_event() may be called from any
 * thread (a vCPU in a device handler): the event is stamped and queued, and
 * listeners are called on the loop thread, in order.
 */
#ifndef MINIVMM_QMP_H
#define MINIVMM_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct event_loop;
struct qmp;

/* QEMU's error classes. */
#define QMP_ERR_GENERIC		 "GenericError"
#define QMP_ERR_NOT_FOUND	 "CommandNotFound"
#define QMP_ERR_DEVICE_NOT_FOUND "DeviceNotFound"

struct qmp_error {
	const char *cls; /* one of the classes above; NULL: no error */
	char desc[512];
};

__attribute__((format(printf, 3, 4))) void qmp_error_set(struct qmp_error *e, const char *cls,
							 const char *fmt, ...);

/*
 * A command: args is the "arguments" object (never NULL: an empty object
 * when the client sent none; borrowed).  Returns the "return" value as a
 * new reference (json_object() for commands that return nothing), or NULL
 * with err set.  A handler checks every argument itself: unknown members,
 * wrong types and missing members are GenericErrors naming the member.
 */
typedef json_t *(*qmp_command_fn)(void *opaque, json_t *args, struct qmp_error *err);

/* loop: where listeners are called (NULL: qmp_event() calls them at once,
 * on the caller's thread, for single-threaded tests). */
struct qmp *qmp_new(struct event_loop *loop);
void qmp_free(struct qmp *q);

/* 0, -EEXIST (a name registered twice is a programming error: start-up
 * fails), -EINVAL or -ENOMEM. */
int qmp_register(struct qmp *q, const char *name, qmp_command_fn fn, void *opaque);

/* Runs a command.  Unknown name: NULL with CommandNotFound, QEMU's text
 * ("The command NAME has not been found"). */
json_t *qmp_dispatch(struct qmp *q, const char *name, json_t *args, struct qmp_error *err);

/* Every registered name, in registration order (query-commands). */
size_t qmp_command_count(const struct qmp *q);
const char *qmp_command_name(const struct qmp *q, size_t i);

/*
 * Events.  data (may be NULL) is stolen.  The event that reaches listeners
 * is the whole message: {"event": NAME, "data": {...}, "timestamp":
 * {"seconds": S, "microseconds": U}} (data omitted when NULL), stamped with
 * the wall clock when qmp_event() was called.  Listeners borrow it.
 */
void qmp_event(struct qmp *q, const char *name, json_t *data);
/* At most this many events wait for the loop thread; more are dropped
 * (counted): a guest cannot make minivmm's memory grow without bound. */
#define QMP_MAX_QUEUED_EVENTS 4096
unsigned long qmp_events_dropped(struct qmp *q);
typedef void (*qmp_listener_fn)(void *opaque, json_t *event);
int qmp_add_listener(struct qmp *q, qmp_listener_fn fn, void *opaque);
void qmp_del_listener(struct qmp *q, qmp_listener_fn fn, void *opaque);
/* Delivers every queued event now (loop thread; tests; before exit so that
 * a SHUTDOWN event reaches the clients). */
void qmp_flush_events(struct qmp *q);

/* Argument helpers for handlers: each sets err (GenericError, naming the
 * member) and returns -1 when the member is missing (if required) or has
 * the wrong type; 0 otherwise (*out untouched when absent and optional). */
int qmp_arg_string(json_t *args, const char *name, bool required, const char **out,
		   struct qmp_error *err);
int qmp_arg_bool(json_t *args, const char *name, bool required, bool *out, struct qmp_error *err);
/* Refuses any member of args not in the NULL-terminated list, as QEMU does
 * ("Parameter 'x' is unexpected"). */
int qmp_args_only(json_t *args, const char *const *allowed, struct qmp_error *err);

#endif
