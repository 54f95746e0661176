/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One-shot timers for devices.  Callbacks run on the I/O thread; a device
 * takes its own lock inside the callback.  Tests link a fake implementation
 * (tests/unit/fake_timer.c) that lets them move the clock by hand.
 */
#ifndef MINIVMM_TIMER_H
#define MINIVMM_TIMER_H

#include <stdint.h>

struct event_loop;
struct vm_timer;
typedef void (*vm_timer_fn)(void *opaque);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC; the fake in tests). */
uint64_t vm_clock_ns(void);

struct vm_timer *vm_timer_new(struct event_loop *loop, vm_timer_fn fn, void *opaque);
/* Arms the timer for an absolute vm_clock_ns() deadline (re-arming moves it). */
void vm_timer_mod(struct vm_timer *t, uint64_t deadline_ns);
void vm_timer_del(struct vm_timer *t);
void vm_timer_free(struct vm_timer *t);

#endif
