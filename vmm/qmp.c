// SPDX-License-Identifier: GPL-2.0-or-later
/* The control interface's core: the command registry and the event queue
 * (vmm/qmp.h).  The socket server lives in qmp_server.c. */
#include "vmm/qmp.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include "vmm/loop.h"

struct qmp_command {
	char *name;
	qmp_command_fn fn;
	void *opaque;
};

struct qmp_listener {
	qmp_listener_fn fn;
	void *opaque;
};

struct qmp {
	struct qmp_command *cmd;
	size_t nr_cmd, cap_cmd;

	struct event_loop *loop;
	int wake_fd; /* eventfd: events queued by another thread */

	pthread_mutex_t lock;  /* guards the queue */
	json_t *queue;	       /* array of stamped events not yet delivered */
	unsigned long dropped; /* events refused by a full queue */

	/* Loop thread only. */
	struct qmp_listener *listener;
	size_t nr_listener, cap_listener;
	bool delivering;
};

void qmp_error_set(struct qmp_error *e, const char *cls, const char *fmt, ...)
{
	va_list ap;

	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
}

static void on_wake(void *opaque, uint32_t events)
{
	struct qmp *q = opaque;
	uint64_t v;

	if (read(q->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	qmp_flush_events(q);
}

struct qmp *qmp_new(struct event_loop *loop)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->wake_fd = -1;
	q->loop = loop;
	q->queue = json_array();
	pthread_mutex_init(&q->lock, NULL);
	if (!q->queue)
		goto fail;
	if (loop) {
		q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->wake_fd < 0 || event_loop_add_fd(loop, q->wake_fd, EPOLLIN, on_wake, q) < 0)
			goto fail;
	}
	return q;
fail:
	qmp_free(q);
	return NULL;
}

void qmp_free(struct qmp *q)
{
	if (!q)
		return;
	if (q->wake_fd >= 0) {
		event_loop_del_fd(q->loop, q->wake_fd);
		close(q->wake_fd);
	}
	for (size_t i = 0; i < q->nr_cmd; i++)
		free(q->cmd[i].name);
	free(q->cmd);
	free(q->listener);
	json_decref(q->queue);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct qmp_command *find(const struct qmp *q, const char *name)
{
	for (size_t i = 0; i < q->nr_cmd; i++)
		if (!strcmp(q->cmd[i].name, name))
			return &q->cmd[i];
	return NULL;
}

int qmp_register(struct qmp *q, const char *name, qmp_command_fn fn, void *opaque)
{
	if (!name || !*name || !fn)
		return -EINVAL;
	if (find(q, name))
		return -EEXIST;
	if (q->nr_cmd == q->cap_cmd) {
		size_t cap = q->cap_cmd ? 2 * q->cap_cmd : 32;
		struct qmp_command *c = realloc(q->cmd, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		q->cmd = c;
		q->cap_cmd = cap;
	}
	q->cmd[q->nr_cmd].name = strdup(name);
	if (!q->cmd[q->nr_cmd].name)
		return -ENOMEM;
	q->cmd[q->nr_cmd].fn = fn;
	q->cmd[q->nr_cmd].opaque = opaque;
	q->nr_cmd++;
	return 0;
}

json_t *qmp_dispatch(struct qmp *q, const char *name, json_t *args, struct qmp_error *err)
{
	struct qmp_command *c = find(q, name);
	json_t *empty = NULL, *ret;

	err->cls = NULL;
	err->desc[0] = '\0';
	if (!c) {
		qmp_error_set(err, QMP_ERR_NOT_FOUND, "The command %.200s has not been found",
			      name);
		return NULL;
	}
	if (!args)
		args = empty = json_object();
	if (!args) {
		qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
		return NULL;
	}
	ret = c->fn(c->opaque, args, err);
	json_decref(empty);
	if (!ret && !err->cls)
		qmp_error_set(err, QMP_ERR_GENERIC, "%s failed", name);
	if (ret && err->cls) { /* a handler that set an error wins */
		json_decref(ret);
		ret = NULL;
	}
	return ret;
}

unsigned long qmp_events_dropped(struct qmp *q)
{
	unsigned long n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t qmp_command_count(const struct qmp *q)
{
	return q->nr_cmd;
}

const char *qmp_command_name(const struct qmp *q, size_t i)
{
	return i < q->nr_cmd ? q->cmd[i].name : NULL;
}

/* ---- events ---- */

void qmp_event(struct qmp *q, const char *name, json_t *data)
{
	struct timeval tv;
	json_t *ev;
	uint64_t one = 1;

	gettimeofday(&tv, NULL);
	ev = json_pack("{s:s, s:{s:I, s:I}}", "event", name, "timestamp", "seconds",
		       (json_int_t)tv.tv_sec, "microseconds", (json_int_t)tv.tv_usec);
	if (ev && data)
		json_object_set(ev, "data", data);
	json_decref(data);
	if (!ev)
		return;
	pthread_mutex_lock(&q->lock);
	/* A guest can make events (the tray, the power button) faster than a
	 * stalled loop delivers them: the queue is bounded, the excess dropped
	 * and counted (and said once). */
	if (json_array_size(q->queue) < QMP_MAX_QUEUED_EVENTS) {
		json_array_append_new(q->queue, ev);
		ev = NULL;
	} else {
		q->dropped++;
	}
	pthread_mutex_unlock(&q->lock);
	if (ev) {
		if (qmp_events_dropped(q) == 1)
			fprintf(stderr,
				"minivmm: control: more than %d events waiting; dropping "
				"events from %s on\n",
				QMP_MAX_QUEUED_EVENTS, name);
		json_decref(ev);
		return;
	}
	if (q->wake_fd >= 0) {
		if (write(q->wake_fd, &one, sizeof(one)) < 0) {
			/* the counter is full: a wake-up is pending anyway */
		}
	} else {
		qmp_flush_events(q);
	}
}

void qmp_flush_events(struct qmp *q)
{
	json_t *batch;

	if (q->delivering) /* a listener that sent an event: delivered next */
		return;
	q->delivering = true;
	for (;;) {
		pthread_mutex_lock(&q->lock);
		batch = q->queue;
		q->queue = json_array();
		if (!q->queue) { /* keep the old queue rather than lose events */
			q->queue = batch;
			batch = NULL;
		}
		pthread_mutex_unlock(&q->lock);
		if (!batch || json_array_size(batch) == 0) {
			json_decref(batch);
			break;
		}
		for (size_t i = 0; i < json_array_size(batch); i++)
			for (size_t l = 0; l < q->nr_listener; l++)
				if (q->listener[l].fn)
					q->listener[l].fn(q->listener[l].opaque,
							  json_array_get(batch, i));
		json_decref(batch);
	}
	/* listeners removed while delivering */
	size_t n = 0;
	for (size_t l = 0; l < q->nr_listener; l++)
		if (q->listener[l].fn)
			q->listener[n++] = q->listener[l];
	q->nr_listener = n;
	q->delivering = false;
}

int qmp_add_listener(struct qmp *q, qmp_listener_fn fn, void *opaque)
{
	if (q->nr_listener == q->cap_listener) {
		size_t cap = q->cap_listener ? 2 * q->cap_listener : 8;
		struct qmp_listener *l = realloc(q->listener, cap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		q->listener = l;
		q->cap_listener = cap;
	}
	q->listener[q->nr_listener].fn = fn;
	q->listener[q->nr_listener].opaque = opaque;
	q->nr_listener++;
	return 0;
}

void qmp_del_listener(struct qmp *q, qmp_listener_fn fn, void *opaque)
{
	for (size_t l = 0; l < q->nr_listener; l++) {
		if (q->listener[l].fn == fn && q->listener[l].opaque == opaque) {
			if (q->delivering) {
				q->listener[l].fn = NULL; /* compacted after delivery */
			} else {
				memmove(&q->listener[l], &q->listener[l + 1],
					(q->nr_listener - l - 1) * sizeof(*q->listener));
				q->nr_listener--;
			}
			return;
		}
	}
}

/* ---- arguments ---- */

int qmp_arg_string(json_t *args, const char *name, bool required, const char **out,
		   struct qmp_error *err)
{
	json_t *v = json_object_get(args, name);

	if (!v) {
		if (!required)
			return 0;
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is missing", name);
		return -1;
	}
	if (!json_is_string(v)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for '%s', expected: string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int qmp_arg_bool(json_t *args, const char *name, bool required, bool *out, struct qmp_error *err)
{
	json_t *v = json_object_get(args, name);

	if (!v) {
		if (!required)
			return 0;
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is missing", name);
		return -1;
	}
	if (!json_is_boolean(v)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for '%s', expected: boolean", name);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int qmp_args_only(json_t *args, const char *const *allowed, struct qmp_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v)
	{
		size_t i;

		for (i = 0; allowed && allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (!allowed || !allowed[i]) {
			qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%.200s' is unexpected",
				      key);
			return -1;
		}
	}
	return 0;
}
