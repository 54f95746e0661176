/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MINIVMM_VCPU_H
#define MINIVMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct vm;
struct exit_stats;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	struct kvm_coalesced_mmio_ring *coalesced; /* the VM's ring in run's mapping, or NULL */
	unsigned coalesced_max;
	pthread_t thread;
	bool started;
	atomic_int tid; /* the thread's host id once it runs (query-cpus-fast), else 0 */
	struct exit_stats *stats;
	atomic_bool reset_pending;

	/* Power-on state, captured after set-up and restored on reset. */
	struct kvm_regs regs0;
	struct kvm_sregs sregs0;
	struct kvm_fpu fpu0;
	struct kvm_lapic_state lapic0;
	struct kvm_mp_state mp0;
	struct kvm_vcpu_events events0;
	struct kvm_msrs *msrs0;
};

/* Creates the vCPU, sets CPUID and MSRs, captures the power-on state. */
int vcpu_init(struct vcpu *vcpu, struct vm *vm, unsigned id, char *err, size_t errlen);
void vcpu_destroy(struct vcpu *vcpu);
/* Restores the power-on state; call on the vCPU's own thread. */
int vcpu_reset(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
/* Makes a running KVM_RUN return soon (immediate_exit + signal). */
void vcpu_kick(struct vcpu *vcpu);

#endif
