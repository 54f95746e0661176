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
struct vm_signals;
struct serial_backend;
struct board;
struct qmp;
struct fastpath;
struct display;
struct input;
struct input_control;
struct net_control;

/* The run states a client sees (QMP query-status, QEMU's names). */
enum vm_run_state {
	VM_STATE_PRELAUNCH, /* created, no vCPU started yet */
	VM_STATE_RUNNING,
	VM_STATE_PAUSED, /* vm_pause() */
	VM_STATE_SHUTDOWN, /* ending: the loop stops, the process exits */
};

/* Why the VM ends or resets: QEMU's ShutdownCause, in its order. */
enum vm_shutdown_cause {
	VM_CAUSE_NONE,
	VM_CAUSE_HOST_ERROR,		/* minivmm or KVM failed */
	VM_CAUSE_HOST_QMP_QUIT,		/* quit, Ctrl-A x */
	VM_CAUSE_HOST_QMP_SYSTEM_RESET, /* system_reset */
	VM_CAUSE_HOST_SIGNAL,		/* SIGINT, SIGTERM, SIGHUP, SIGQUIT */
	VM_CAUSE_HOST_UI,
	VM_CAUSE_GUEST_SHUTDOWN, /* S5, debug exit */
	VM_CAUSE_GUEST_RESET,	 /* 0xcf9, port 0x92, triple fault */
	VM_CAUSE_GUEST_PANIC,
};

/* "guest-shutdown" and the like; guest: whether the guest asked. */
const char *vm_cause_name(enum vm_shutdown_cause cause);
bool vm_cause_is_guest(enum vm_shutdown_cause cause);
const char *vm_state_name(enum vm_run_state state);

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
	struct net_backend *nics[CLI_MAX_NICS]; /* cfg->nics' taps, opened at prepare */
	FILE *debugcon;
	struct board *board; /* every device (vmm/board.c) */
	struct qmp *qmp;     /* commands and events (vmm/qmp.h) */
	struct fastpath *fastpath; /* the KVM fast paths devices use (vmm/fastpath.h) */
	struct display *display;   /* the screen, between the VGA and its viewers */
	struct input *input;	   /* host input to the guest's keyboard, mouse, tablet */
	struct vm_timer *input_retry; /* keys waiting for room in the keyboard */
	struct vnc *vnc;	   /* --vnc (main.c starts it), or NULL; its counters in stats */
	struct drive_control *drive_control; /* the drives' commands */
	struct balloon_control *balloon_control; /* the balloon's commands */
	struct input_control *input_control;	 /* send-key, input-send-event */
	struct net_control *net_control;	 /* set_link, query-rx-filter */

	/* Run control (lock protects parked, the pending requests, the run
	 * state and the causes). */
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
	enum vm_run_state state;
	enum vm_shutdown_cause exit_cause;  /* why the VM ends (SHUTDOWN) */
	enum vm_shutdown_cause reset_cause; /* why the pending reset (RESET) */
	struct vm_signals *signals;	    /* vmm/vm_signals.c, while vm_run runs */
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

/* Called from any thread (usually a vCPU in a device handler).  A reset
 * sends the RESET event once done; with --no-reboot it ends the VM instead,
 * with the reset's cause (as QEMU).  Ending the VM sends the SHUTDOWN event
 * {guest, reason} before the loop stops; the first request wins.
 * vm_request_reset() is a guest reset; vm_request_exit() ends the VM with
 * cause host-error when status is not 0, guest-shutdown when it is (the
 * vCPU's KVM failures and KVM's shutdown system event). */
void vm_request_reset(struct vm *vm);
void vm_request_reset_cause(struct vm *vm, enum vm_shutdown_cause cause);
void vm_request_exit(struct vm *vm, int status);
void vm_request_shutdown(struct vm *vm, int status, enum vm_shutdown_cause cause);

/* The run state now (any thread). */
enum vm_run_state vm_state(struct vm *vm);
/* True once the VM is ending (a shutdown was requested), and why. */
bool vm_ending(struct vm *vm);
enum vm_shutdown_cause vm_exit_cause(struct vm *vm);

/* Presses the ACPI power button (PIIX4 PWRBTN_STS, SCI while enabled) and
 * sends the POWERDOWN event.  Loop thread.  0, or -1 with a reason. */
int vm_powerdown(struct vm *vm, char *err, size_t errlen);

/* The exit statistics of every vCPU merged, as the JSON of --stats=json
 * (new reference, NULL without memory), read while the vCPUs run; with
 * reset, each vCPU's counters are zeroed in the same step, so no exit is
 * lost or counted twice between two queries.  Loop thread. */
struct json_t *vm_exit_stats_json(struct vm *vm, bool reset);

/* Stops the whole VM (QMP `stop`): every vCPU parked, then every device
 * paused (no DMA, no device timers), the in-kernel PIT and the KVM clock
 * stopped.  vm_resume() undoes it (`cont`).  Both on the main (I/O) thread;
 * each is a no-op when already in that state.  They send the STOP and
 * RESUME events. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

/* vCPU side of the pause protocol. */
void vm_vcpu_park(struct vm *vm, struct vcpu *vcpu);

#endif
