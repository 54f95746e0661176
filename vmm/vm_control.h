/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Run control over the control interface (vmm/qmp.h), with QEMU 7.2's
 * names, arguments and answers: stop, cont, system_reset,
 * system_powerdown, quit, query-status, query-cpus-fast, and our own
 * query-exit-stats.  Every command refuses members it does not know
 * ("Parameter 'x' is unexpected").  The events (STOP, RESUME, RESET,
 * POWERDOWN, SHUTDOWN) come from vm.c, whoever caused them.
 */
#ifndef MINIVMM_VM_CONTROL_H
#define MINIVMM_VM_CONTROL_H

struct vm;
struct qmp;

/* 0, or a negative errno (a name taken: a programming error). */
int vm_control_register(struct vm *vm, struct qmp *q);

#endif
