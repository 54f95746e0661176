/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One virtual machine: KVM, memory, buses, devices, vCPUs, and the run
 * control that pauses, resets and stops them.
 *
 * Threads: each vCPU thread runs vcpu_thread(); the main thread runs the
 * event loop (I/O thread).  A vCPU that needs the whole machine to change
 * state (reset, exit) calls vm_request_*(), which parks every vCPU and lets
 * the main thread do the work while nothing runs.
 */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "vmm/bus.h"
#include "vmm/cli.h"
#include "vmm/guest_mem.h"
#include "vmm/irq_mux.h"
#include "vmm/kvm.h"
#include "vmm/machine_events.h"
#include "vmm/memmap.h"
#include "vmm/stats.h"

#include "vmm/drives.h"

struct vcpu;
struct event_loop;
struct serial_backend;
struct board;
struct qmp;
struct fastpath;

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_ram ram;
	struct guest_mem mem;
	struct bus *pio, *mmio;
	struct event_loop *loop;

	unsigned nr_vcpus;
	struct vcpu *vcpus;

	struct machine_events events; /* handed to devices */
	struct irq_mux isa_irqs; /* wired-OR ISA interrupt lines into KVM */
	struct serial_backend *serial;
	struct drives drives;
	FILE *debugcon;
	struct board *board; /* every device (vmm/board.c) */
	struct qmp *qmp;     /* commands and events (vmm/qmp.h) */
	struct fastpath *fastpath; /* the KVM fast paths devices use (vmm/fastpath.h) */
	struct drive_control *drive_control; /* the drives' commands */

	/* Run control (lock protects parked and the pending requests). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool pause_req;
	atomic_bool stop_req;
	unsigned parked;
	bool reset_pending;
	bool exit_pending;
	bool paused; /* vm_pause(): stays parked until vm_resume() */
	int exit_status;
	int event_fd; /* wakes the main thread for a request */
};

/* Checks and prepares what the user asked for (files, sizes, RAM, serial
 * output) before anything is started: a failure here is the user's (exit
 * status 2), with a one-line reason in err. */
int vm_prepare(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen);
/* Opens KVM, creates devices and vCPUs, loads a kernel if asked.  Returns
 * VM_ERR_USER when the user's input is at fault (a kernel that is not a
 * bzImage), VM_ERR_HOST for anything else. */
#define VM_ERR_HOST (-1)
#define VM_ERR_USER (-2)
int vm_start(struct vm *vm, char *err, size_t errlen);
/* Creates the output files (--debugcon) once every check has passed and
 * vm_start() succeeded, before any vCPU runs: a failed start changes no
 * file.  Until then the debug console drops what the guest writes. */
int vm_start_outputs(struct vm *vm, char *err, size_t errlen);
/* Runs until the guest or the user ends the VM; returns the exit status. */
int vm_run(struct vm *vm);
void vm_report_stats(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Called from any thread (usually a vCPU in a device handler). */
void vm_request_reset(struct vm *vm);
void vm_request_exit(struct vm *vm, int status);

/* Stops the whole VM (QMP `stop`): every vCPU parked, then every device
 * paused (no DMA, no device timers).  vm_resume() undoes it (`cont`).  Both
 * on the main (I/O) thread; each is a no-op when already in that state. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

/* vCPU side of the pause protocol. */
void vm_vcpu_park(struct vm *vm, struct vcpu *vcpu);

#endif
