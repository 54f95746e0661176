// SPDX-License-Identifier: GPL-2.0-or-later
/* A hand-driven clock and timers for unit tests (see vmm/timer.h). */
#include "tests/unit/fake_timer.h"

#include <stdlib.h>

struct vm_timer {
	vm_timer_fn fn;
	void *opaque;
	uint64_t deadline;
	int armed;
	struct vm_timer *next;
};

static uint64_t now_ns;
static struct vm_timer *timers;

uint64_t vm_clock_ns(void)
{
	return now_ns;
}

struct vm_timer *vm_timer_new(struct event_loop *loop, vm_timer_fn fn, void *opaque)
{
	struct vm_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->opaque = opaque;
	t->next = timers;
	timers = t;
	return t;
}

void vm_timer_mod(struct vm_timer *t, uint64_t deadline_ns)
{
	t->deadline = deadline_ns;
	t->armed = 1;
}

void vm_timer_del(struct vm_timer *t)
{
	t->armed = 0;
}

void vm_timer_free(struct vm_timer *t)
{
	for (struct vm_timer **p = &timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	free(t);
}

void fake_clock_advance(uint64_t ns)
{
	uint64_t target = now_ns + ns;

	/* Fire due timers in deadline order; callbacks may re-arm. */
	for (;;) {
		struct vm_timer *due = NULL;

		for (struct vm_timer *t = timers; t; t = t->next)
			if (t->armed && t->deadline <= target && (!due || t->deadline < due->deadline))
				due = t;
		if (!due)
			break;
		if (due->deadline > now_ns)
			now_ns = due->deadline;
		due->armed = 0;
		due->fn(due->opaque);
	}
	now_ns = target;
}

int fake_timer_armed(const struct vm_timer *t)
{
	return t->armed;
}
