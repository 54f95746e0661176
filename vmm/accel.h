/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM fast paths a device may use, each with a switch that turns it off
 * (--no-ioeventfd, --no-irqfd, --no-coalesced-mmio, --no-dirty-log), so that
 * research can compare the exit path with the fast path on the same guest.
 * A device works the same with any switch off: the wrappers in vmm/kvm.h
 * then route the access or the interrupt through the exit handler.
 */
#ifndef MINIVMM_ACCEL_H
#define MINIVMM_ACCEL_H

#include <stdbool.h>

struct vm_accel {
	bool ioeventfd;	     /* queue notifications as eventfds, no exit to user space */
	bool irqfd;	     /* interrupts raised by writing an eventfd */
	bool coalesced_mmio; /* write-only MMIO batched in a ring */
	bool dirty_log;	     /* KVM tracks pages the guest wrote in a memory slot */
};

/* Everything on: what a VM gets without any --no-* option. */
#define VM_ACCEL_DEFAULT ((struct vm_accel){ true, true, true, true })

#endif
