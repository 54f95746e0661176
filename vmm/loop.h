/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The I/O thread's event loop: epoll over file descriptors and timers, with
 * no fixed limit on the number of watches.
 *
 * Threads:
 * - event_loop_run() runs on one thread, the loop thread; every fd callback,
 *   timer callback and pre-poll hook runs there.
 * - event_loop_add_fd(), event_loop_mod_fd() and event_loop_del_fd() are
 *   safe from any thread (an internal mutex guards the watch table).  On the
 *   loop thread, del may be called from any callback, its own included:
 *   once it returns, that callback is not called again, even for an event
 *   already fetched in the same batch.  From another thread, del stops
 *   future calls but does not wait for a callback running right now on the
 *   loop thread: free what the callback uses only on the loop thread, or
 *   after event_loop_run() returned.
 * - event_loop_add_prepoll() and event_loop_del_prepoll(): the loop thread
 *   (a hook may remove itself or another), or while the loop is not running.
 * - event_loop_stop(): any thread.
 * - Timers (vmm/timer.h): vm_timer_new() and vm_timer_mod()/vm_timer_del()
 *   from any thread; vm_timer_free() under the rule of event_loop_del_fd().
 * - event_loop_new()/event_loop_free(): while the loop is not running.
 */
#ifndef MINIVMM_LOOP_H
#define MINIVMM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct event_loop;
typedef void (*event_fd_fn)(void *opaque, uint32_t events);
/* Returns the longest the loop may now wait, in milliseconds, or -1 for
 * "as long as you like". */
typedef int (*event_prepoll_fn)(void *opaque);

struct event_loop *event_loop_new(void);
void event_loop_free(struct event_loop *loop);

/* events are EPOLLIN/EPOLLOUT...; the fd stays the caller's.  0, or a
 * negative errno: -EEXIST if fd is watched already, -ENOMEM, or what
 * epoll_ctl() said (-EBADF, -EPERM for a regular file...). */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn, void *opaque);
/* 0, -ENOENT if fd is not watched, or epoll_ctl()'s error. */
int event_loop_mod_fd(struct event_loop *loop, int fd, uint32_t events);
/* Stops watching fd; an fd not watched is ignored.  (void so that the test
 * stubs of this interface in test_ide.c and fuzz_ide.c stay valid.) */
void event_loop_del_fd(struct event_loop *loop, int fd);

/* fn(opaque) is called before every epoll_wait(); the loop waits no longer
 * than the smallest non-negative timeout the hooks return (e.g. libslirp:
 * fill the poll set and compute a timeout).  0 or -ENOMEM. */
int event_loop_add_prepoll(struct event_loop *loop, event_prepoll_fn fn, void *opaque);
/* Removes the hook added with that fn and opaque; 0 or -ENOENT. */
int event_loop_del_prepoll(struct event_loop *loop, event_prepoll_fn fn, void *opaque);

/* Runs until event_loop_stop(). */
void event_loop_run(struct event_loop *loop);
void event_loop_stop(struct event_loop *loop);

/* While held (a paused VM), timers that expire do not call back: each
 * remembers that it expired, and releasing (hold false) runs those
 * callbacks once, late.  Re-arming or deleting a timer forgets a held
 * expiry.  Loop thread only. */
void event_loop_hold_timers(struct event_loop *loop, bool hold);

#endif
