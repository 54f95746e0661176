/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What signals do to a running VM.
 *
 * SIGTERM presses the ACPI power button and gives the guest
 * --shutdown-timeout seconds to power off, then quits (0: quits at once);
 * a second SIGTERM, or SIGINT, SIGHUP or SIGQUIT, quits at once.  Quitting
 * is a clean end with status 0 and the SHUTDOWN cause host-signal: the
 * terminal is restored and every disk flushed and closed as on any other
 * end.  Each signal says on stderr what it does.
 *
 * The signals are blocked in every thread (vm_signals_block() in main(),
 * before the first thread starts, so that every thread inherits the mask)
 * and read through a signalfd on the loop thread.
 */
#ifndef MINIVMM_VM_SIGNALS_H
#define MINIVMM_VM_SIGNALS_H

#include <stddef.h>

struct vm;
struct vm_signals;

/* Blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR1 (the vCPU kick, which
 * only vCPU threads unblock) in the calling thread. */
void vm_signals_block(void);

/* Starts watching on vm's loop; NULL with a reason in err. */
struct vm_signals *vm_signals_watch(struct vm *vm, unsigned shutdown_timeout_s, char *err,
				    size_t errlen);
/* Stops watching (after the loop ended); says so when the guest powered off
 * while a SIGTERM waited for it.  NULL is ignored. */
void vm_signals_free(struct vm_signals *s);

#endif
