/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The I/O thread's event loop: epoll over file descriptors and timers.
 * Callbacks run on the thread that calls event_loop_run().  Other threads
 * may arm timers and call event_loop_stop().
 */
#ifndef MINIVMM_LOOP_H
#define MINIVMM_LOOP_H

#include <stdint.h>

struct event_loop;
typedef void (*event_fd_fn)(void *opaque, uint32_t events);

struct event_loop *event_loop_new(void);
void event_loop_free(struct event_loop *loop);

/* events are EPOLLIN/EPOLLOUT...; the fd stays the caller's. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn, void *opaque);
int event_loop_mod_fd(struct event_loop *loop, int fd, uint32_t events);
void event_loop_del_fd(struct event_loop *loop, int fd);

/* Runs until event_loop_stop(). */
void event_loop_run(struct event_loop *loop);
void event_loop_stop(struct event_loop *loop);

#endif
