/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MINIVMM_FAKE_TIMER_H
#define MINIVMM_FAKE_TIMER_H

#include "vmm/timer.h"

/* Moves the fake clock forward, firing due timers in order. */
void fake_clock_advance(uint64_t ns);
int fake_timer_armed(const struct vm_timer *t);

#endif
