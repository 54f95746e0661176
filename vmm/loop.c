// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/loop.h"
#include "vmm/timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* epoll_wait() batch size; more ready fds just take more rounds. */
#define LOOP_BATCH 64

/* Each watch is allocated on its own, so that epoll's data.ptr stays valid
 * however the table grows; a removed watch is freed only after the batch in
 * which epoll may still have returned it. */
struct fd_watch {
	int fd;
	event_fd_fn fn;
	void *opaque;
	atomic_bool used;
	struct fd_watch *next_dead;
};

struct prepoll_hook {
	event_prepoll_fn fn; /* NULL: removed, compacted before the next round */
	void *opaque;
};

struct event_loop {
	int epfd;
	int stop_fd; /* eventfd: wakes epoll_wait for event_loop_stop() */
	atomic_bool stopping;

	pthread_mutex_t lock; /* guards the fields below */
	struct fd_watch **watch;
	unsigned nr_watch, cap_watch;
	struct fd_watch *dead; /* removed while running, freed after the batch */
	bool running;

	/* Loop thread (or not running) only. */
	struct prepoll_hook *hook;
	unsigned nr_hook, cap_hook;
	bool timers_held;	 /* event_loop_hold_timers() */
	struct vm_timer *timers; /* every timer, for the release */
};

/* Each timer is a timerfd watched by the loop: few timers exist, and a
 * disarmed timerfd reads EAGAIN, so a callback never fires after
 * vm_timer_del() even if the expiry was already queued in epoll. */
struct vm_timer {
	struct event_loop *loop;
	int fd;
	vm_timer_fn fn;
	void *opaque;
	atomic_bool held; /* expired while timers were held */
	struct vm_timer *next;
};

uint64_t vm_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void stop_ready(void *opaque, uint32_t events)
{
	struct event_loop *loop = opaque;
	uint64_t v;

	if (read(loop->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("minivmm: eventfd");
}

struct event_loop *event_loop_new(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stop_fd < 0 ||
	    event_loop_add_fd(loop, loop->stop_fd, EPOLLIN, stop_ready, loop) < 0) {
		event_loop_free(loop);
		return NULL;
	}
	return loop;
}

static void free_dead(struct event_loop *loop)
{
	while (loop->dead) {
		struct fd_watch *w = loop->dead;

		loop->dead = w->next_dead;
		free(w);
	}
}

void event_loop_free(struct event_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
	for (unsigned i = 0; i < loop->nr_watch; i++)
		free(loop->watch[i]);
	free(loop->watch);
	free_dead(loop);
	free(loop->hook);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

/* With the lock held. */
static int find_watch(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < loop->nr_watch; i++)
		if (loop->watch[i]->fd == fd)
			return (int)i;
	return -1;
}

int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct fd_watch *w;
	int ret = 0;

	if (fd < 0 || !fn)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	atomic_init(&w->used, true);
	ev.data.ptr = w;
	pthread_mutex_lock(&loop->lock);
	if (find_watch(loop, fd) >= 0) {
		ret = -EEXIST;
	} else if (loop->nr_watch == loop->cap_watch) {
		unsigned cap = loop->cap_watch ? 2 * loop->cap_watch : 16;
		struct fd_watch **grown = realloc(loop->watch, cap * sizeof(*grown));

		if (!grown) {
			ret = -ENOMEM;
		} else {
			loop->watch = grown;
			loop->cap_watch = cap;
		}
	}
	if (ret == 0 && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		ret = -errno;
	if (ret == 0)
		loop->watch[loop->nr_watch++] = w;
	pthread_mutex_unlock(&loop->lock);
	if (ret < 0)
		free(w);
	return ret;
}

int event_loop_mod_fd(struct event_loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	int i, ret = 0;

	pthread_mutex_lock(&loop->lock);
	i = find_watch(loop, fd);
	if (i < 0) {
		ret = -ENOENT;
	} else {
		ev.data.ptr = loop->watch[i];
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
	struct fd_watch *w;
	int i;

	pthread_mutex_lock(&loop->lock);
	i = find_watch(loop, fd);
	if (i < 0) {
		pthread_mutex_unlock(&loop->lock);
		return;
	}
	w = loop->watch[i];
	loop->watch[i] = loop->watch[--loop->nr_watch];
	/* The fd may be closed already, which removed it from epoll. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	atomic_store(&w->used, false);
	if (loop->running) {
		/* epoll_wait() may have returned it in the batch being run. */
		w->next_dead = loop->dead;
		loop->dead = w;
	} else {
		free(w);
	}
	pthread_mutex_unlock(&loop->lock);
}

/* ---- pre-poll hooks ---- */

int event_loop_add_prepoll(struct event_loop *loop, event_prepoll_fn fn, void *opaque)
{
	if (!fn)
		return -EINVAL;
	if (loop->nr_hook == loop->cap_hook) {
		unsigned cap = loop->cap_hook ? 2 * loop->cap_hook : 4;
		struct prepoll_hook *grown = realloc(loop->hook, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		loop->hook = grown;
		loop->cap_hook = cap;
	}
	loop->hook[loop->nr_hook++] = (struct prepoll_hook){ fn, opaque };
	return 0;
}

int event_loop_del_prepoll(struct event_loop *loop, event_prepoll_fn fn, void *opaque)
{
	for (unsigned i = 0; i < loop->nr_hook; i++) {
		if (loop->hook[i].fn == fn && loop->hook[i].opaque == opaque) {
			/* Marked only: the loop may be walking the table. */
			loop->hook[i].fn = NULL;
			return 0;
		}
	}
	return -ENOENT;
}

/* Calls every hook; the smallest timeout they ask for, or -1. */
static int run_prepoll(struct event_loop *loop)
{
	unsigned n = 0;
	int timeout = -1;

	for (unsigned i = 0; i < loop->nr_hook; i++)
		if (loop->hook[i].fn)
			loop->hook[n++] = loop->hook[i];
	loop->nr_hook = n;
	/* Hooks added by a hook wait for the next round. */
	for (unsigned i = 0; i < n; i++) {
		struct prepoll_hook h = loop->hook[i];
		int t;

		if (!h.fn)
			continue;
		t = h.fn(h.opaque);
		if (t >= 0 && (timeout < 0 || t < timeout))
			timeout = t;
	}
	return timeout;
}

void event_loop_run(struct event_loop *loop)
{
	struct epoll_event ev[LOOP_BATCH];

	pthread_mutex_lock(&loop->lock);
	loop->running = true;
	pthread_mutex_unlock(&loop->lock);
	while (!atomic_load(&loop->stopping)) {
		int timeout = run_prepoll(loop);
		int n;

		if (atomic_load(&loop->stopping))
			break;
		n = epoll_wait(loop->epfd, ev, LOOP_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("minivmm: epoll_wait");
			break;
		}
		for (int i = 0; i < n && !atomic_load(&loop->stopping); i++) {
			struct fd_watch *w = ev[i].data.ptr;

			/* A callback earlier in this batch may have removed it. */
			if (atomic_load(&w->used))
				w->fn(w->opaque, ev[i].events);
		}
		pthread_mutex_lock(&loop->lock);
		free_dead(loop);
		pthread_mutex_unlock(&loop->lock);
	}
	pthread_mutex_lock(&loop->lock);
	loop->running = false;
	free_dead(loop);
	pthread_mutex_unlock(&loop->lock);
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stopping, true);
	if (write(loop->stop_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("minivmm: eventfd");
}

static void timer_ready(void *opaque, uint32_t events)
{
	struct vm_timer *t = opaque;
	uint64_t expirations;

	if (read(t->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return; /* disarmed or re-armed since epoll saw it */
	if (t->loop->timers_held) {
		atomic_store(&t->held, true);
		return;
	}
	t->fn(t->opaque);
}

void event_loop_hold_timers(struct event_loop *loop, bool hold)
{
	bool again = true;

	loop->timers_held = hold;
	/* A callback may free timers (its own included): scan afresh after
	 * each one. */
	while (!hold && again) {
		again = false;
		pthread_mutex_lock(&loop->lock);
		for (struct vm_timer *t = loop->timers; t; t = t->next) {
			if (atomic_exchange(&t->held, false)) {
				pthread_mutex_unlock(&loop->lock);
				t->fn(t->opaque);
				again = true;
				break;
			}
		}
		if (!again)
			pthread_mutex_unlock(&loop->lock);
	}
}

struct vm_timer *vm_timer_new(struct event_loop *loop, vm_timer_fn fn, void *opaque)
{
	struct vm_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->fn = fn;
	t->opaque = opaque;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0 || event_loop_add_fd(loop, t->fd, EPOLLIN, timer_ready, t) < 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	pthread_mutex_lock(&loop->lock);
	t->next = loop->timers;
	loop->timers = t;
	pthread_mutex_unlock(&loop->lock);
	return t;
}

void vm_timer_mod(struct vm_timer *t, uint64_t deadline_ns)
{
	struct itimerspec its = { 0 };

	if (deadline_ns == 0)
		deadline_ns = 1; /* zero would disarm */
	its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ULL);
	atomic_store(&t->held, false); /* the new deadline replaces a held expiry */
	timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void vm_timer_del(struct vm_timer *t)
{
	struct itimerspec its = { 0 };

	atomic_store(&t->held, false);
	timerfd_settime(t->fd, 0, &its, NULL);
}

void vm_timer_free(struct vm_timer *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->loop->lock);
	for (struct vm_timer **p = &t->loop->timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	pthread_mutex_unlock(&t->loop->lock);
	event_loop_del_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}
