// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/loop.h"
#include "vmm/timer.h"

#include <errno.h>
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

#define LOOP_MAX_FDS 64

struct fd_watch {
	int fd;
	event_fd_fn fn;
	void *opaque;
	bool used;
};

struct event_loop {
	int epfd;
	int stop_fd; /* eventfd: wakes epoll_wait for event_loop_stop() */
	atomic_bool stopping;
	struct fd_watch watch[LOOP_MAX_FDS];
};

/* Each timer is a timerfd watched by the loop: few timers exist, and a
 * disarmed timerfd reads EAGAIN, so a callback never fires after
 * vm_timer_del() even if the expiry was already queued in epoll. */
struct vm_timer {
	struct event_loop *loop;
	int fd;
	vm_timer_fn fn;
	void *opaque;
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

	(void)events;
	if (read(loop->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("minivmm: eventfd");
}

struct event_loop *event_loop_new(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stop_fd < 0 ||
	    event_loop_add_fd(loop, loop->stop_fd, EPOLLIN, stop_ready, loop) < 0) {
		event_loop_free(loop);
		return NULL;
	}
	return loop;
}

void event_loop_free(struct event_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
	free(loop);
}

int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events };

	for (unsigned i = 0; i < LOOP_MAX_FDS; i++) {
		struct fd_watch *w = &loop->watch[i];

		if (w->used)
			continue;
		*w = (struct fd_watch){ .fd = fd, .fn = fn, .opaque = opaque, .used = true };
		ev.data.ptr = w;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			w->used = false;
			return -errno;
		}
		return 0;
	}
	return -ENOSPC;
}

static struct fd_watch *find_watch(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < LOOP_MAX_FDS; i++)
		if (loop->watch[i].used && loop->watch[i].fd == fd)
			return &loop->watch[i];
	return NULL;
}

int event_loop_mod_fd(struct event_loop *loop, int fd, uint32_t events)
{
	struct fd_watch *w = find_watch(loop, fd);
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (!w)
		return -ENOENT;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
	struct fd_watch *w = find_watch(loop, fd);

	if (!w)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->used = false;
}

void event_loop_run(struct event_loop *loop)
{
	struct epoll_event ev[16];

	while (!atomic_load(&loop->stopping)) {
		int n = epoll_wait(loop->epfd, ev, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("minivmm: epoll_wait");
			return;
		}
		for (int i = 0; i < n && !atomic_load(&loop->stopping); i++) {
			struct fd_watch *w = ev[i].data.ptr;

			/* A callback earlier in this batch may have removed it. */
			if (w->used)
				w->fn(w->opaque, ev[i].events);
		}
	}
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

	(void)events;
	if (read(t->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return; /* disarmed or re-armed since epoll saw it */
	t->fn(t->opaque);
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
	return t;
}

void vm_timer_mod(struct vm_timer *t, uint64_t deadline_ns)
{
	struct itimerspec its = { 0 };

	if (deadline_ns == 0)
		deadline_ns = 1; /* zero would disarm */
	its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ULL);
	timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void vm_timer_del(struct vm_timer *t)
{
	struct itimerspec its = { 0 };

	timerfd_settime(t->fd, 0, &its, NULL);
}

void vm_timer_free(struct vm_timer *t)
{
	if (!t)
		return;
	event_loop_del_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}
