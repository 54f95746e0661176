/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /dev/kvm, the VM file descriptor, memory slots and the in-kernel irqchip. */
#ifndef MINIVMM_KVM_H
#define MINIVMM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm {
	int sys_fd;
	int vm_fd;
	int run_size; /* size of each vCPU's struct kvm_run mapping */
	unsigned max_vcpus;
	unsigned next_slot;
	struct kvm_cpuid2 *supported_cpuid;
	struct kvm_msr_list *msr_list;
	/* Power-on state of the in-kernel PIC (master, slave), IOAPIC and PIT,
	 * saved after creation and restored on reset. */
	struct kvm_irqchip chip0[3];
	struct kvm_pit_state2 pit0;
	/* The PIT and the KVM clock while the VM is paused (kvm_*_freeze). */
	struct kvm_pit_state2 pit_frozen;
	struct kvm_clock_data clock_frozen;
	bool clock_is_frozen;
};

/* Opens /dev/kvm, checks the API version and every capability minivmm uses,
 * creates the VM with TSS, identity map, irqchip and PIT.  On failure a
 * one-line reason is in err. */
int kvm_init(struct kvm *kvm, unsigned nr_vcpus, char *err, size_t errlen);
void kvm_close(struct kvm *kvm);

int kvm_map_memory(struct kvm *kvm, uint64_t gpa, uint64_t size, void *hva, bool readonly,
		   char *err, size_t errlen);

/* Level of an interrupt line (ISA IRQ / GSI) on the in-kernel irqchip. */
void kvm_set_irq(void *kvm, unsigned gsi, bool level);

/* Puts PIC, IOAPIC and PIT back to their power-on state. */
int kvm_reset_irqchip(struct kvm *kvm);

/*
 * A paused VM's kernel clocks, as QEMU stops them: freeze saves the PIT's
 * state and thaw loads it back, which restarts its counters and drops the
 * ticks it would otherwise re-inject for the time of the pause; likewise
 * the KVM clock (kvmclock) is put back where it stopped, so a guest's
 * clock does not jump.  With every vCPU parked.  0 or -1 with errno; the
 * clock part is skipped where KVM lacks KVM_CAP_ADJUST_CLOCK.
 */
int kvm_pit_freeze(struct kvm *kvm);
int kvm_pit_thaw(struct kvm *kvm);
int kvm_clock_freeze(struct kvm *kvm);
int kvm_clock_thaw(struct kvm *kvm);

#endif
