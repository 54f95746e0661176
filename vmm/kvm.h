/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /dev/kvm, the VM file descriptor, memory slots and the in-kernel irqchip. */
#ifndef MINIVMM_KVM_H
#define MINIVMM_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The optional capabilities behind the fast paths (vmm/fastpath.h), read
 * at kvm_init(); a path whose capability is missing is not used. */
struct kvm_caps {
	bool ioeventfd;	     /* KVM_CAP_IOEVENTFD (with length 0: KVM_CAP_IOEVENTFD_ANY_LENGTH) */
	bool ioeventfd_any;  /* KVM_CAP_IOEVENTFD_ANY_LENGTH */
	bool irqfd;	     /* KVM_CAP_IRQFD */
	bool irqfd_resample; /* KVM_CAP_IRQFD_RESAMPLE */
	bool irq_routing;    /* KVM_CAP_IRQ_ROUTING: KVM_SET_GSI_ROUTING */
	bool signal_msi;     /* KVM_CAP_SIGNAL_MSI */
	bool coalesced_mmio; /* KVM_CAP_COALESCED_MMIO: the ring's page offset below */
	bool coalesced_pio;  /* KVM_CAP_COALESCED_PIO */
	unsigned coalesced_page; /* page of the ring in each vCPU's kvm_run mapping */
	unsigned nr_slots;	 /* memory slots (KVM_CAP_NR_MEMSLOTS, at most KVM_SLOTS_MAX) */
	unsigned nr_gsis;	 /* routing entries (KVM_CAP_IRQ_ROUTING, at most KVM_GSIS_MAX) */
};

#define KVM_SLOTS_MAX	 512
#define KVM_GSIS_MAX	 1024
#define KVM_IRQCHIP_GSIS 24 /* GSIs 0-23: the PIC and IOAPIC pins, routed as KVM does */

struct kvm_slot {
	bool used;
	uint32_t flags; /* KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES */
	uint64_t gpa, size;
	void *hva;
};

struct kvm {
	int sys_fd;
	int vm_fd;
	int run_size; /* size of each vCPU's struct kvm_run mapping */
	unsigned max_vcpus;
	struct kvm_caps caps;
	/* Guards slots and routes: slots change while vCPUs run (a BAR moves). */
	pthread_mutex_t lock;
	struct kvm_slot slot[KVM_SLOTS_MAX];
	/* The GSI routing table as last given to KVM: the irqchip routes of
	 * GSIs 0-23, then one MSI route per GSI in use from 24 on. */
	struct kvm_irq_routing *routes;
	unsigned routes_cap; /* entries routes has room for; grows with MSI routes */
	uint8_t gsi_used[KVM_GSIS_MAX / 8];
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

/* Gives [gpa, gpa + size) backed by hva to the guest in a slot of its own
 * (kvm_slot_add()); err says why not. */
int kvm_map_memory(struct kvm *kvm, uint64_t gpa, uint64_t size, void *hva, bool readonly,
		   char *err, size_t errlen);

/* One line per optional capability, "name yes|no", for --stats. */
void kvm_describe_caps(const struct kvm *kvm, FILE *f);

/*
 * Memory slots, any thread, while vCPUs run.  kvm_slot_add() takes the
 * lowest free slot id (ids of removed slots are reused) and returns it, or
 * a negative errno (-ENOSPC when all are taken, KVM's error otherwise);
 * gpa, size and hva page-aligned.  flags: KVM_MEM_READONLY,
 * KVM_MEM_LOG_DIRTY_PAGES.  A move keeps size, memory and flags; a slot can
 * turn dirty logging on and off.  The dirty bitmap has one bit per page of
 * the slot, in 64-bit words (kvm_dirty_words()); reading it clears it in
 * KVM (KVM_GET_DIRTY_LOG).  All return 0 or a negative errno.
 */
int kvm_slot_add(struct kvm *kvm, uint64_t gpa, uint64_t size, void *hva, uint32_t flags);
int kvm_slot_move(struct kvm *kvm, int slot, uint64_t gpa);
int kvm_slot_remove(struct kvm *kvm, int slot);
int kvm_slot_log_dirty(struct kvm *kvm, int slot, bool on);
int kvm_slot_get_dirty(struct kvm *kvm, int slot, uint64_t *bitmap, size_t words);
static inline size_t kvm_dirty_words(uint64_t size)
{
	return (size_t)((size / 4096 + 63) / 64);
}

/* Ioeventfd: KVM signals fd on a guest write to addr (port I/O if pio) of
 * len bytes (1, 2, 4, 8, or 0 for any length, without datamatch), and only
 * of value data if datamatch; the write does not exit.  0 or -errno. */
int kvm_ioeventfd(struct kvm *kvm, int fd, bool pio, uint64_t addr, unsigned len, bool datamatch,
		  uint64_t data, bool assign);
/* Irqfd: a write to fd injects gsi (edge: raised and lowered), or with a
 * resample fd >= 0 raises it (level) until the guest's EOI lowers it and
 * signals resample_fd.  0 or -errno. */
int kvm_irqfd(struct kvm *kvm, int fd, unsigned gsi, int resample_fd, bool assign);

/* GSI routes for MSI: a new GSI (>= 24) carrying that message, or -ENOSPC,
 * -errno; a GSI's message changed; a GSI given back.  The irqchip routes of
 * GSIs 0-23 are those KVM sets up by default and never change. */
int kvm_msi_route_add(struct kvm *kvm, uint64_t addr, uint32_t data);
int kvm_msi_route_set(struct kvm *kvm, unsigned gsi, uint64_t addr, uint32_t data);
int kvm_msi_route_del(struct kvm *kvm, unsigned gsi);
/* KVM_SIGNAL_MSI: 1 delivered, 0 blocked by the guest, -errno. */
int kvm_signal_msi(struct kvm *kvm, uint64_t addr, uint32_t data);

/* Coalesced MMIO (or, with pio, port I/O) zone: guest writes there are
 * queued in the ring instead of exiting.  0 or -errno. */
int kvm_coalesced_zone(struct kvm *kvm, bool pio, uint64_t addr, uint64_t size, bool assign);
/* The ring in a vCPU's kvm_run mapping and the number of entries it holds,
 * or NULL without the capability.  One ring for the whole VM. */
struct kvm_coalesced_mmio_ring *kvm_coalesced_ring(const struct kvm *kvm, void *run, unsigned *max);

/* The functions above as the fast-path layer's host (vmm/fastpath.h), with
 * struct kvm * as opaque. */
struct fastpath_host;
extern const struct fastpath_host kvm_fastpath_host;

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
