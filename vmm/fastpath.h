/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM fast paths as devices use them, each with its slow path through
 * the exit handler, chosen once at start from the switches (--no-ioeventfd,
 * --no-irqfd, --no-coalesced-mmio, --no-dirty-log: cfg->accel) and what the
 * host's KVM offers.  A device sees the same behaviour either way; only the
 * route of the access or the interrupt differs, and --stats shows which.
 *
 * - Doorbells: "call fn(opaque, count) on the I/O thread when the guest
 *   writes value V at PIO/MMIO address A".  Fast: an ioeventfd watched by
 *   the event loop (the write does not leave the kernel).  Slow: the same
 *   eventfd, written by a bus handler on the vCPU thread, so fn runs on the
 *   I/O thread in both cases (count is the number of writes since the last
 *   call, which the eventfd counter adds up).  A doorbell either claims its
 *   own bus range (reads and non-matching writes then go to the optional
 *   ops it is given), or lies inside a region the device claims (a BAR):
 *   the device's handler then passes writes to fastpath_doorbell_write().
 * - Interrupt sources: edge pulses on a GSI or MSI messages.  Fast: an
 *   irqfd (on the GSI, or on a GSI routed to the message).  Slow: the
 *   device's irq_line set high then low (KVM_IRQ_LINE through the ISA mux),
 *   or KVM_SIGNAL_MSI.  PCI INTx (level, routed by the PIIX3) through an
 *   irqfd with a resample fd, following the router: fastpath_intx_attach().
 * - Coalesced zones: write-only MMIO the guest may post without an exit;
 *   KVM queues the writes in a ring that each vCPU drains to the buses, in
 *   order, before it dispatches any other exit (fastpath_coalesced_drain()).
 *   Slow: the writes exit and reach the bus one by one.
 * - Slots: RAM a device maps at a guest address (a framebuffer BAR), moves
 *   and unmaps while the VM runs, with the pages the guest wrote since the
 *   last ask.  Without dirty logging every page reports dirty each time.
 * - The PCI bus's MSI sink: KVM_SIGNAL_MSI (fastpath_msi_sink()).
 *
 * Threads: everything may be called from any thread unless said; doorbell
 * and resample callbacks run on the I/O thread.  A doorbell rung just
 * before the VM was paused may still call back while it is paused: a device
 * that must not touch guest memory then notes the ring and acts on it when
 * it is resumed.
 *
 * The host side (KVM or a test's fake) is a table of functions, struct
 * fastpath_host: vmm/kvm.c provides kvm_fastpath_host.
 */
#ifndef MINIVMM_FASTPATH_H
#define MINIVMM_FASTPATH_H

#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/accel.h"
#include "vmm/bus.h"
#include "vmm/irq.h"

struct event_loop;
struct pci_dev;
struct json_t;

/* What the host can do; all false: every path is the slow one. */
struct fastpath_caps {
	bool ioeventfd, ioeventfd_any_len;
	bool irqfd, irqfd_resample;
	bool irq_routing, signal_msi;
	bool coalesced_mmio, coalesced_pio;
	bool dirty_log;
};

/* Host operations; every one returns 0 (or the id asked for) or -errno. */
struct fastpath_host {
	void (*caps)(void *opaque, struct fastpath_caps *caps);
	int (*ioeventfd)(void *opaque, int fd, bool pio, uint64_t addr, unsigned len,
			 bool datamatch, uint64_t data, bool assign);
	int (*irqfd)(void *opaque, int fd, unsigned gsi, int resample_fd, bool assign);
	int (*msi_route_add)(void *opaque, uint64_t addr, uint32_t data); /* the GSI */
	int (*msi_route_set)(void *opaque, unsigned gsi, uint64_t addr, uint32_t data);
	int (*msi_route_del)(void *opaque, unsigned gsi);
	int (*signal_msi)(void *opaque, uint64_t addr, uint32_t data);
	int (*coalesced_zone)(void *opaque, bool pio, uint64_t addr, uint64_t size, bool assign);
	int (*slot_add)(void *opaque, uint64_t gpa, uint64_t size, void *hva, uint32_t flags);
	int (*slot_move)(void *opaque, int slot, uint64_t gpa);
	int (*slot_remove)(void *opaque, int slot);
	int (*slot_log_dirty)(void *opaque, int slot, bool on);
	int (*slot_get_dirty)(void *opaque, int slot, uint64_t *bitmap, size_t words);
};

/* Events counted for --stats. */
struct fastpath_counters {
	atomic_ullong doorbell_ioeventfd; /* doorbell writes that came as an ioeventfd */
	atomic_ullong doorbell_exit;	  /* doorbell writes that exited to a bus handler */
	atomic_ullong irq_irqfd;	  /* interrupts sent through an irqfd */
	atomic_ullong irq_line;		  /* interrupts sent through KVM_IRQ_LINE */
	atomic_ullong msi_signal;	  /* MSIs sent with KVM_SIGNAL_MSI */
	atomic_ullong intx_resample;	  /* INTx resample events (guest EOIs) */
	atomic_ullong coalesced;	  /* writes drained from the coalesced ring */
	atomic_ullong dirty_reads;	  /* dirty-page queries */
};

struct fastpath;

/* The switches and the host decide which paths are on.  host NULL: no host
 * (all slow).  loop runs the doorbell and resample callbacks; pio and mmio
 * are where coalesced writes are dispatched.  NULL when out of memory. */
struct fastpath *fastpath_new(const struct fastpath_host *host, void *host_opaque,
			      const struct vm_accel *accel, struct event_loop *loop,
			      struct bus *pio, struct bus *mmio);
/* After every doorbell, source, zone and slot was freed. */
void fastpath_free(struct fastpath *fp);

/* Which paths are on, which the switches turned off, which the host lacks. */
enum fastpath_path { FP_IOEVENTFD, FP_IRQFD, FP_COALESCED_MMIO, FP_DIRTY_LOG, FP_NR_PATHS };
enum fastpath_state { FP_ON, FP_OFF_BY_OPTION, FP_OFF_NO_HOST };
enum fastpath_state fastpath_state(const struct fastpath *fp, enum fastpath_path path);
const char *fastpath_path_name(enum fastpath_path path);
const struct fastpath_counters *fastpath_counters(const struct fastpath *fp);
/* The --stats table part, and the "accel" object of --stats=json. */
void fastpath_print(const struct fastpath *fp, FILE *f);
struct json_t *fastpath_json(const struct fastpath *fp);

/* ---- doorbells ---- */

typedef void fp_doorbell_fn(void *opaque, uint64_t count);

struct fp_doorbell_spec {
	const char *name; /* for the bus and messages */
	bool pio;
	uint64_t addr; /* 0: not placed yet (fastpath_doorbell_move() later) */
	unsigned len;  /* 1, 2, 4, 8; 0 (MMIO only): a write of any width */
	bool datamatch;
	uint64_t value;
	/* Claim [addr, addr + len) on the bus for the slow path; reads and
	 * non-matching writes go to other (if any).  Without claim the
	 * device's own handler calls fastpath_doorbell_write(). */
	bool claim;
	const struct bus_ops *other;
	void *other_opaque;
};

struct fp_doorbell;
/* NULL with a reason in err (a bad spec, an overlap on the bus, out of
 * eventfds).  A doorbell whose ioeventfd KVM refuses falls back to the
 * slow path with a warning. */
struct fp_doorbell *fastpath_doorbell_add(struct fastpath *fp, const struct fp_doorbell_spec *s,
					  fp_doorbell_fn *fn, void *opaque, char *err,
					  size_t errlen);
/* Places the doorbell at addr (0: nowhere); 0 or -errno (the old place is
 * kept on failure). */
int fastpath_doorbell_move(struct fp_doorbell *d, uint64_t addr);
/* For a doorbell without claim: a guest write the device's handler saw at
 * guest address addr.  True if it is the doorbell's (then rung). */
bool fastpath_doorbell_write(struct fp_doorbell *d, uint64_t addr, uint64_t value, unsigned size);
/* True if the doorbell is served by an ioeventfd now. */
bool fastpath_doorbell_fast(const struct fp_doorbell *d);
/* Stops calling fn (loop thread, or with the loop not running) and frees. */
void fastpath_doorbell_free(struct fp_doorbell *d);

/* ---- interrupt sources ---- */

struct fp_irq;
/* Edge-triggered on line's GSI (an ISA line of the device's own: an irqfd
 * pulse lowers the line in KVM's userspace source, so no other source may
 * hold that GSI high).  The slow path is irq_line_set(line, 1 then 0). */
struct fp_irq *fastpath_irq_gsi(struct fastpath *fp, const struct irq_line *line, const char *name,
				char *err, size_t errlen);
/* An MSI message source: starts masked, fastpath_irq_set_msi() gives it
 * its message.  Fast: a GSI route and an irqfd; slow: KVM_SIGNAL_MSI. */
struct fp_irq *fastpath_irq_msi(struct fastpath *fp, const char *name, char *err, size_t errlen);
/* A new message for an MSI source; masked: a pulse is dropped (the caller
 * keeps pending bits).  0 or -errno. */
int fastpath_irq_set_msi(struct fp_irq *irq, uint64_t addr, uint32_t data, bool masked);
/* One interrupt (edge pulse or MSI).  Any thread. */
void fastpath_irq_pulse(struct fp_irq *irq);
bool fastpath_irq_fast(const struct fp_irq *irq);
void fastpath_irq_free(struct fp_irq *irq);

/* PCI INTx of dev through an irqfd with a resample fd on the GSI the PIIX3
 * routes its pin to, following route changes (the PCI core's INTx sink and
 * notifier, which this takes over).  The device keeps calling pci_set_irq():
 * the core reports the pin's effective level here instead of to the router.
 * Without irqfd (switch or host) it attaches nothing and returns a handle
 * that does nothing: INTx goes the slow way (router, ISA mux, KVM_IRQ_LINE).
 * A level dropped before the guest's EOI stays raised in KVM until that
 * EOI (the guest may see one interrupt for which the device shows nothing
 * pending, as with any shared line).  Create before the machine runs. */
struct fp_intx;
struct fp_intx *fastpath_intx_attach(struct fastpath *fp, struct pci_dev *dev, char *err,
				     size_t errlen);
bool fastpath_intx_fast(const struct fp_intx *x);
/* For --stats: the pin as the PCI core reports it, and whether the irqfd
 * holds the line raised (no EOI since). */
void fastpath_intx_state(struct fp_intx *x, bool *level, bool *raised);
/* Gives the pin back to the router (loop thread, or loop not running). */
void fastpath_intx_detach(struct fp_intx *x);

/* MSI and MSI-X of PCI function dev through irqfds: one GSI route and irqfd
 * per vector the guest unmasks, following its message (the PCI core's MSI
 * notifier of dev, which this takes over).  fastpath_msi_notify() sends a
 * vector through its irqfd when it is unmasked and bus mastering is on, and
 * otherwise through the PCI core (pci_msix_notify()/pci_msi_notify(): the
 * pending bit, or KVM_SIGNAL_MSI through the bus's sink), which is also
 * the whole path without irqfd or GSI routing.  Returns 1 when the irqfd
 * sent it, else what the core does (0, -ENODEV when the capability is off,
 * -EINVAL). */
struct fp_msi;
struct fp_msi *fastpath_msi_attach(struct fastpath *fp, struct pci_dev *dev, char *err,
				   size_t errlen);
int fastpath_msi_notify(struct fp_msi *m, bool msix, unsigned vector);
void fastpath_msi_detach(struct fp_msi *m);

/* The PCI bus's MSI sink (pci_bus_set_msi_sink(bus, fastpath_msi_sink, fp)). */
void fastpath_msi_sink(void *fp, uint64_t addr, uint32_t data);

/* ---- coalesced zones ---- */

struct fp_zone;
/* Guest writes to [addr, addr + size) may be batched: with the switch on
 * and the capability there, they are queued; otherwise they exit as usual.
 * The range's bus handler sees the same writes in the same order either
 * way (reads always exit).  NULL with err set. */
struct fp_zone *fastpath_zone_add(struct fastpath *fp, bool pio, uint64_t addr, uint64_t size,
				  char *err, size_t errlen);
bool fastpath_zone_fast(const struct fp_zone *z);
void fastpath_zone_free(struct fp_zone *z);

/* Dispatches every entry of the coalesced ring to the buses, in order, and
 * consumes it.  A vCPU calls it before dispatching an exit and before it
 * parks; several vCPUs may call it at once (they share the ring).  ring
 * NULL: nothing to do.  Returns the entries dispatched. */
unsigned fastpath_coalesced_drain(struct fastpath *fp, struct kvm_coalesced_mmio_ring *ring,
				  unsigned max);

/* ---- slots ---- */

struct fp_slot;
/* size bytes of RAM (page-aligned size), zeroed, mapped nowhere yet. */
struct fp_slot *fastpath_slot_new(struct fastpath *fp, uint64_t size, const char *name, char *err,
				  size_t errlen);
void *fastpath_slot_hva(const struct fp_slot *s);
uint64_t fastpath_slot_size(const struct fp_slot *s);
/* Maps at gpa (page-aligned), moving it if mapped; 0 unmaps.  0 or -errno. */
int fastpath_slot_map(struct fp_slot *s, uint64_t gpa);
uint64_t fastpath_slot_gpa(const struct fp_slot *s);
/* Dirty logging on for this slot (the default) or off. */
int fastpath_slot_log(struct fp_slot *s, bool on);
/* The pages written since the last call, one bit per page in 64-bit words
 * (words >= (pages + 63) / 64).  Every page counts as written when the
 * slot is not mapped with logging (switch, host or fastpath_slot_log()).
 * Returns the number of dirty pages or -errno. */
long fastpath_slot_dirty(struct fp_slot *s, uint64_t *bitmap, size_t words);
bool fastpath_slot_fast(const struct fp_slot *s);
void fastpath_slot_free(struct fp_slot *s);

/* Doorbells and slots placed at offset inside BAR bar of dev, moved with
 * it (the BAR notifier of dev, which this takes over).  Setting reports
 * the BAR's current place.  0 or -errno. */
int fastpath_doorbell_follow_bar(struct fp_doorbell *d, struct pci_dev *dev, unsigned bar,
				 uint64_t offset);
int fastpath_slot_follow_bar(struct fp_slot *s, struct pci_dev *dev, unsigned bar, uint64_t offset);

#endif
