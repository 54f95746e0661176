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

#include "vmm/bus.h"
#include "vmm/cli.h"
#include "vmm/guest_mem.h"
#include "vmm/irq_mux.h"
#include "vmm/kvm.h"
#include "vmm/machine_events.h"
#include "vmm/memmap.h"
#include "vmm/stats.h"

struct vcpu;
struct event_loop;
struct uart16550;
struct rtc_cmos;
struct i8042;
struct serial_backend;
struct pc;

struct vm_reset_hook {
	void (*fn)(void *opaque);
	void *opaque;
};

#define VM_MAX_RESET_HOOKS 32

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_ram ram;
	struct guest_mem mem;
	struct bus *pio, *mmio;
	struct event_loop *loop;

	unsigned nr_vcpus;
	struct vcpu *vcpus;

	/* Devices are reset in registration order. */
	struct vm_reset_hook reset_hooks[VM_MAX_RESET_HOOKS];
	unsigned nr_reset_hooks;

	struct machine_events events; /* handed to devices */
	struct irq_mux isa_irqs; /* wired-OR ISA interrupt lines into KVM */
	struct uart16550 *uart;
	struct rtc_cmos *rtc;
	struct i8042 *i8042;
	struct serial_backend *serial;
	void *debug_exit, *reset_control, *port92;
	struct pc *pc; /* PCI, chipset, fw_cfg, drives (vmm/pc.c) */

	/* Run control (lock protects parked and the pending requests). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool pause_req;
	atomic_bool stop_req;
	unsigned parked;
	bool reset_pending;
	bool exit_pending;
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
/* Runs until the guest or the user ends the VM; returns the exit status. */
int vm_run(struct vm *vm);
void vm_report_stats(struct vm *vm);
void vm_destroy(struct vm *vm);

int vm_add_reset_hook(struct vm *vm, void (*fn)(void *), void *opaque);

/* Called from any thread (usually a vCPU in a device handler). */
void vm_request_reset(struct vm *vm);
void vm_request_exit(struct vm *vm, int status);

/* vCPU side of the pause protocol. */
void vm_vcpu_park(struct vm *vm, struct vcpu *vcpu);

#endif
