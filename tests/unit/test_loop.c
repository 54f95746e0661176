// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The event loop (vmm/loop.c) on real eventfds, timerfds and epoll: more
 * watches than the old fixed table held, registration errors, pre-poll
 * hooks and their timeouts, removal from inside callbacks, other threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/loop.h"
#include "vmm/timer.h"

#define MANY 300 /* well above the old limit of 64 */

static int new_efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	return fd;
}

static void kick(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		assert_int_equal(errno, EAGAIN);
}

/* ---- many fds ---- */

struct many {
	struct event_loop *loop;
	int fd[MANY];
	unsigned hits[MANY];
	unsigned total, want;
};

static struct many many;

static void many_ready(void *opaque, uint32_t events)
{
	unsigned i = (unsigned)(uintptr_t)opaque;

	assert_true(events & EPOLLIN);
	drain(many.fd[i]);
	many.hits[i]++;
	if (++many.total == many.want)
		event_loop_stop(many.loop);
}

static void test_many_fds(void **state)
{
	memset(&many, 0, sizeof(many));
	many.loop = event_loop_new();
	assert_non_null(many.loop);
	for (unsigned i = 0; i < MANY; i++) {
		many.fd[i] = new_efd();
		assert_int_equal(event_loop_add_fd(many.loop, many.fd[i], EPOLLIN, many_ready,
						   (void *)(uintptr_t)i),
				 0);
	}
	/* Half of them removed, the rest all fire once. */
	for (unsigned i = 0; i < MANY; i += 2)
		event_loop_del_fd(many.loop, many.fd[i]);
	for (unsigned i = 0; i < MANY; i++)
		kick(many.fd[i]);
	many.want = MANY / 2;
	event_loop_run(many.loop);
	for (unsigned i = 0; i < MANY; i++)
		assert_int_equal(many.hits[i], i % 2 ? 1 : 0);
	event_loop_free(many.loop);
	for (unsigned i = 0; i < MANY; i++)
		close(many.fd[i]);
}

/* ---- registration errors ---- */

static void nop_ready(void *opaque, uint32_t events)
{
}

static void test_add_errors(void **state)
{
	struct event_loop *loop = event_loop_new();
	int fd = new_efd(), closed = new_efd();
	char path[] = "/tmp/minivmm-test-loop-XXXXXX";
	int file = mkstemp(path);

	assert_non_null(loop);
	assert_true(file >= 0);
	unlink(path);
	close(closed);
	assert_int_equal(event_loop_add_fd(loop, fd, EPOLLIN, nop_ready, NULL), 0);
	assert_int_equal(event_loop_add_fd(loop, fd, EPOLLIN, nop_ready, NULL), -EEXIST);
	assert_int_equal(event_loop_add_fd(loop, -1, EPOLLIN, nop_ready, NULL), -EINVAL);
	assert_int_equal(event_loop_add_fd(loop, fd + 1000, EPOLLIN, nop_ready, NULL), -EBADF);
	assert_int_equal(event_loop_add_fd(loop, closed, EPOLLIN, nop_ready, NULL), -EBADF);
	assert_int_equal(event_loop_add_fd(loop, file, EPOLLIN, nop_ready, NULL), -EPERM);
	assert_int_equal(event_loop_add_fd(loop, fd, EPOLLIN, NULL, NULL), -EINVAL);
	assert_int_equal(event_loop_mod_fd(loop, fd, EPOLLOUT), 0);
	assert_int_equal(event_loop_mod_fd(loop, file, EPOLLIN), -ENOENT);
	event_loop_del_fd(loop, file); /* not watched: ignored */
	event_loop_del_fd(loop, fd);
	assert_int_equal(event_loop_mod_fd(loop, fd, EPOLLIN), -ENOENT);
	/* A failed add leaves nothing behind: the fd can be added again. */
	assert_int_equal(event_loop_add_fd(loop, fd, EPOLLIN, nop_ready, NULL), 0);
	assert_int_equal(event_loop_add_prepoll(loop, NULL, NULL), -EINVAL);
	assert_int_equal(event_loop_del_prepoll(loop, NULL, NULL), -ENOENT);
	event_loop_free(loop);
	close(fd);
	close(file);
}

/* ---- pre-poll hooks ---- */

struct hook_rec {
	struct event_loop *loop;
	char log[64];
	unsigned len;
	unsigned calls, stop_after;
	int timeout;
	int fd;
	uint64_t first_ns, last_ns;
};

static void hook_log(struct hook_rec *r, char c)
{
	if (r->len < sizeof(r->log) - 1)
		r->log[r->len++] = c;
}

static int hook(void *opaque)
{
	struct hook_rec *r = opaque;

	hook_log(r, 'P');
	r->last_ns = vm_clock_ns();
	if (r->calls++ == 0)
		r->first_ns = r->last_ns;
	if (r->calls == r->stop_after)
		event_loop_stop(r->loop);
	return r->timeout;
}

static int lazy_hook(void *opaque)
{
	return -1;
}

static int slow_hook(void *opaque)
{
	return 5000;
}

static void test_prepoll_timeout(void **state)
{
	struct hook_rec r = { .stop_after = 4, .timeout = 30 };

	r.loop = event_loop_new();
	assert_non_null(r.loop);
	/* Other hooks ask for nothing or for longer: the smallest wins. */
	assert_int_equal(event_loop_add_prepoll(r.loop, lazy_hook, NULL), 0);
	assert_int_equal(event_loop_add_prepoll(r.loop, hook, &r), 0);
	assert_int_equal(event_loop_add_prepoll(r.loop, slow_hook, NULL), 0);
	event_loop_run(r.loop);
	/* Three timed-out waits of 30 ms between the first and last call. */
	assert_int_equal(r.calls, 4);
	assert_true(r.last_ns - r.first_ns >= 3 * 30 * 1000000ULL);
	assert_true(r.last_ns - r.first_ns < 3000 * 1000000ULL);
	assert_int_equal(event_loop_del_prepoll(r.loop, hook, &r), 0);
	assert_int_equal(event_loop_del_prepoll(r.loop, hook, &r), -ENOENT);
	event_loop_free(r.loop);
}

static struct hook_rec order;

static void order_ready(void *opaque, uint32_t events)
{
	drain(order.fd);
	hook_log(&order, 'F');
	if (order.len < 6)
		kick(order.fd);
}

static void test_prepoll_before_each_wait(void **state)
{
	memset(&order, 0, sizeof(order));
	order.timeout = -1;
	order.stop_after = 4;
	order.loop = event_loop_new();
	order.fd = new_efd();
	assert_int_equal(event_loop_add_prepoll(order.loop, hook, &order), 0);
	assert_int_equal(event_loop_add_fd(order.loop, order.fd, EPOLLIN, order_ready, NULL), 0);
	kick(order.fd);
	event_loop_run(order.loop);
	/* The hook runs before every wait; the loop stops on its 4th call
	 * before waiting again. */
	assert_string_equal(order.log, "PFPFPFP");
	event_loop_free(order.loop);
	close(order.fd);
}

/* A hook that removes itself runs once; one that adds another hook. */
static struct event_loop *self_loop;
static unsigned self_calls, added_calls;

static int added_hook(void *opaque)
{
	if (++added_calls == 2)
		event_loop_stop(self_loop);
	return 0;
}

static int self_removing_hook(void *opaque)
{
	self_calls++;
	assert_int_equal(event_loop_del_prepoll(self_loop, self_removing_hook, NULL), 0);
	assert_int_equal(event_loop_add_prepoll(self_loop, added_hook, NULL), 0);
	return 0;
}

static void test_prepoll_changes_inside_hook(void **state)
{
	self_calls = added_calls = 0;
	self_loop = event_loop_new();
	assert_int_equal(event_loop_add_prepoll(self_loop, self_removing_hook, NULL), 0);
	event_loop_run(self_loop);
	assert_int_equal(self_calls, 1);
	assert_int_equal(added_calls, 2);
	event_loop_free(self_loop);
}

/* ---- removal inside callbacks ---- */

struct pair {
	struct event_loop *loop;
	int fd[2];
	unsigned hits[2];
	unsigned rounds;
};

static struct pair pair;

static void pair_ready(void *opaque, uint32_t events)
{
	unsigned i = (unsigned)(uintptr_t)opaque;

	pair.hits[i]++;
	/* Both were ready in the same batch: the other one must not run now
	 * that it is removed, and this one removes itself too. */
	event_loop_del_fd(pair.loop, pair.fd[!i]);
	event_loop_del_fd(pair.loop, pair.fd[i]);
	close(pair.fd[!i]);
	pair.fd[!i] = -1;
}

static int pair_hook(void *opaque)
{
	if (pair.rounds++ == 2)
		event_loop_stop(pair.loop);
	return 10;
}

static void test_del_inside_callback(void **state)
{
	memset(&pair, 0, sizeof(pair));
	pair.loop = event_loop_new();
	for (unsigned i = 0; i < 2; i++) {
		pair.fd[i] = new_efd();
		kick(pair.fd[i]);
		assert_int_equal(event_loop_add_fd(pair.loop, pair.fd[i], EPOLLIN, pair_ready,
						   (void *)(uintptr_t)i),
				 0);
	}
	assert_int_equal(event_loop_add_prepoll(pair.loop, pair_hook, NULL), 0);
	event_loop_run(pair.loop);
	assert_int_equal(pair.hits[0] + pair.hits[1], 1);
	event_loop_free(pair.loop);
	for (unsigned i = 0; i < 2; i++)
		if (pair.fd[i] >= 0)
			close(pair.fd[i]);
}

/* ---- other threads ---- */

struct remote {
	struct event_loop *loop;
	int fd;
	struct vm_timer *timer;
	unsigned fd_hits, timer_hits;
};

static struct remote remote;

static void remote_timer_fired(void *opaque)
{
	remote.timer_hits++;
	event_loop_stop(remote.loop);
}

static void remote_ready(void *opaque, uint32_t events)
{
	drain(remote.fd);
	remote.fd_hits++;
}

static void *remote_thread(void *arg)
{
	/* Add, modify and kick an fd, then arm a timer, all while the loop
	 * runs on the main thread. */
	usleep(10000);
	assert_int_equal(event_loop_add_fd(remote.loop, remote.fd, 0, remote_ready, NULL), 0);
	assert_int_equal(event_loop_mod_fd(remote.loop, remote.fd, EPOLLIN), 0);
	kick(remote.fd);
	vm_timer_mod(remote.timer, vm_clock_ns() + 50 * 1000000ULL);
	return NULL;
}

static void test_other_threads(void **state)
{
	pthread_t t;

	memset(&remote, 0, sizeof(remote));
	remote.loop = event_loop_new();
	remote.fd = new_efd();
	remote.timer = vm_timer_new(remote.loop, remote_timer_fired, NULL);
	assert_non_null(remote.timer);
	assert_int_equal(pthread_create(&t, NULL, remote_thread, NULL), 0);
	event_loop_run(remote.loop);
	pthread_join(t, NULL);
	assert_int_equal(remote.fd_hits, 1);
	assert_int_equal(remote.timer_hits, 1);
	/* After the loop ran, removal frees at once. */
	event_loop_del_fd(remote.loop, remote.fd);
	vm_timer_free(remote.timer);
	event_loop_free(remote.loop);
	close(remote.fd);
}

/* A disarmed timer does not fire even when it had expired already. */
static unsigned cancelled_hits;

static void cancelled_fired(void *opaque)
{
	cancelled_hits++;
}

static unsigned cancel_rounds;

static int cancel_hook(void *opaque)
{
	if (++cancel_rounds == 3)
		event_loop_stop(opaque);
	return 20;
}

static void test_timer_cancel(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct vm_timer *t = vm_timer_new(loop, cancelled_fired, NULL);

	cancelled_hits = cancel_rounds = 0;
	assert_non_null(t);
	vm_timer_mod(t, vm_clock_ns() + 1000000ULL);
	usleep(5000); /* expired: the timerfd is readable */
	vm_timer_del(t);
	assert_int_equal(event_loop_add_prepoll(loop, cancel_hook, loop), 0);
	event_loop_run(loop);
	assert_int_equal(cancelled_hits, 0);
	assert_int_equal(cancel_rounds, 3);
	vm_timer_free(t);
	event_loop_free(loop);
}

/* A paused VM holds its timers: an expiry calls back only on release,
 * once, and a timer deleted meanwhile never calls back. */
static unsigned held_hits, deleted_hits, hold_rounds;

static void held_fired(void *opaque)
{
	held_hits++;
}

static void deleted_fired(void *opaque)
{
	deleted_hits++;
}

static int hold_hook(void *opaque)
{
	if (++hold_rounds == 3)
		event_loop_stop(opaque);
	return 5;
}

static void test_timers_held(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct vm_timer *t = vm_timer_new(loop, held_fired, NULL);
	struct vm_timer *d = vm_timer_new(loop, deleted_fired, NULL);

	held_hits = deleted_hits = hold_rounds = 0;
	assert_non_null(t);
	assert_non_null(d);
	event_loop_hold_timers(loop, true);
	vm_timer_mod(t, vm_clock_ns() + 1000000ULL);
	vm_timer_mod(d, vm_clock_ns() + 1000000ULL);
	usleep(5000);
	assert_int_equal(event_loop_add_prepoll(loop, hold_hook, loop), 0);
	event_loop_run(loop); /* both expire while held */
	assert_int_equal(held_hits, 0);
	assert_int_equal(deleted_hits, 0);
	vm_timer_del(d);
	event_loop_hold_timers(loop, false);
	assert_int_equal(held_hits, 1);
	assert_int_equal(deleted_hits, 0);
	event_loop_hold_timers(loop, false); /* nothing held any more */
	assert_int_equal(held_hits, 1);
	vm_timer_free(t);
	vm_timer_free(d);
	event_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_fds),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_prepoll_timeout),
		cmocka_unit_test(test_prepoll_before_each_wait),
		cmocka_unit_test(test_prepoll_changes_inside_hook),
		cmocka_unit_test(test_del_inside_callback),
		cmocka_unit_test(test_other_threads),
		cmocka_unit_test(test_timer_cancel),
		cmocka_unit_test(test_timers_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
