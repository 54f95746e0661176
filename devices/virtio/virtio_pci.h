/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio PCI transport (virtio 1.x §4.1, legacy interface §4.1.4.8)
 * every virtio device uses.  A device supplies a constant ops struct (its
 * type, features, config space, queues, notify and life-cycle hooks); the
 * transport owns the PCI function, the registers, feature negotiation, the
 * status machine, the virtqueues' setup and reset, the doorbells and the
 * interrupts.
 *
 * Layout (as QEMU's virtio-pci on the pc machine):
 *   BAR0  I/O, legacy register file (transitional and legacy only):
 *         0x00 host features, 0x04 guest features, 0x08 queue PFN,
 *         0x0c queue size, 0x0e queue select, 0x10 queue notify,
 *         0x12 status, 0x13 ISR (cleared by its read), then with MSI-X
 *         enabled 0x14 config vector and 0x16 queue vector, and the
 *         device's config at 0x14 without MSI-X, 0x18 with it;
 *   BAR1  32-bit memory, MSI-X table (0x000) and PBA (0x800), kept by the
 *         PCI core;
 *   BAR4  64-bit prefetchable memory, modern capabilities (transitional
 *         and modern only): common cfg 0x0000, ISR 0x1000, device cfg
 *         0x2000, notify 0x3000 (queue q at 0x3000 + 4q); plus the PCI
 *         configuration access capability in config space.
 * IDs: vendor 1af4, device 0x1000 net, 0x1001 block, 0x1002 balloon, 0x1003
 * console, 0x1004 SCSI, 0x1005 entropy, 0x1009 9P (transitional, legacy) or
 * 0x1040 + type (modern), subsystem 1af4:type, revision 0 (1 for modern),
 * the class code the device gives.
 *
 * Tolerances of the 2012-2013 virtio-win drivers (shared/guest-drivers.md
 * §1): status may go straight from 0 to DRIVER_OK; guest feature writes
 * are accepted at any time on the legacy interface (the balloon rewrites
 * them after DRIVER_OK) and read back as written (masked by what was
 * offered); indirect descriptors are taken without INDIRECT_DESC
 * negotiated (the virtqueue module); a queue's PFN reads 0 after reset;
 * config space takes byte, word and dword accesses at any offset;
 * completions set exactly ISR bit 0, configuration changes set ISR to 3,
 * and a completion that was pending behind a configuration interrupt is
 * raised again after the driver read ISR 3 (viostor does not drain its
 * queue on ISR 3).
 *
 * Threads and the lock: register accesses come from vCPU threads, queue
 * notifications from the I/O thread (a fastpath doorbell: an ioeventfd, or
 * the exit path writing its eventfd).  One mutex, the transport lock,
 * guards the registers and every virtqueue: ops->queue_notify is called
 * with it held, and a device that pushes from elsewhere (a block
 * completion) takes it with virtio_pci_lock().  Functions marked "locked"
 * expect it held.  ops->quiesce is called without it (so that the device
 * may wait for completions that take it).  Lock order: the PCI config lock,
 * then the transport lock, then the PCI interrupt lock.
 *
 * Without ctx->fastpath (unit tests and fuzzing) notifications are handled
 * at once, on the thread that wrote the register, and interrupts go
 * straight through the PCI core.
 */
#ifndef MINIVMM_VIRTIO_PCI_H
#define MINIVMM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtqueue.h"

struct dev_ctx;
struct pci_dev;

/* Device status bits (§2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1
#define VIRTIO_STATUS_DRIVER		 2
#define VIRTIO_STATUS_DRIVER_OK		 4
#define VIRTIO_STATUS_FEATURES_OK	 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80

/* Transport feature bits */
#define VIRTIO_F_ANY_LAYOUT 27 /* legacy only */
#define VIRTIO_F_VERSION_1  32

/* ISR bits */
#define VIRTIO_ISR_QUEUE  1
#define VIRTIO_ISR_CONFIG 2

#define VIRTIO_MSI_NO_VECTOR  0xffff
#define VIRTIO_PCI_MAX_QUEUES 64

/* Legacy register file (BAR0) */
#define VIRTIO_PCI_HOST_FEATURES    0x00
#define VIRTIO_PCI_GUEST_FEATURES   0x04
#define VIRTIO_PCI_QUEUE_PFN	    0x08
#define VIRTIO_PCI_QUEUE_NUM	    0x0c
#define VIRTIO_PCI_QUEUE_SEL	    0x0e
#define VIRTIO_PCI_QUEUE_NOTIFY	    0x10
#define VIRTIO_PCI_STATUS	    0x12
#define VIRTIO_PCI_ISR		    0x13
#define VIRTIO_MSI_CONFIG_VECTOR    0x14
#define VIRTIO_MSI_QUEUE_VECTOR	    0x16
#define VIRTIO_PCI_CONFIG_OFF(msix) ((msix) ? 0x18 : 0x14)

/* Modern common configuration (struct virtio_pci_common_cfg) */
#define VIRTIO_PCI_COMMON_DFSELECT  0x00
#define VIRTIO_PCI_COMMON_DF	    0x04
#define VIRTIO_PCI_COMMON_GFSELECT  0x08
#define VIRTIO_PCI_COMMON_GF	    0x0c
#define VIRTIO_PCI_COMMON_MSIX	    0x10
#define VIRTIO_PCI_COMMON_NUMQ	    0x12
#define VIRTIO_PCI_COMMON_STATUS    0x14
#define VIRTIO_PCI_COMMON_CFGGEN    0x15
#define VIRTIO_PCI_COMMON_Q_SELECT  0x16
#define VIRTIO_PCI_COMMON_Q_SIZE    0x18
#define VIRTIO_PCI_COMMON_Q_MSIX    0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE  0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF    0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO  0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI  0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO  0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI  0x34

/* Capability types (struct virtio_pci_cap.cfg_type) */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5
#define PCI_CAP_ID_VNDR		  0x09

/* Where things are (see the layout above) */
#define VIRTIO_PCI_LEGACY_BAR	0
#define VIRTIO_PCI_MSIX_BAR	1
#define VIRTIO_PCI_MODERN_BAR	4
#define VIRTIO_PCI_MODERN_SIZE	0x4000
#define VIRTIO_PCI_COMMON_OFF	0x0000
#define VIRTIO_PCI_ISR_OFF	0x1000
#define VIRTIO_PCI_DEVICE_OFF	0x2000
#define VIRTIO_PCI_NOTIFY_OFF	0x3000
#define VIRTIO_PCI_NOTIFY_MULT	4
#define VIRTIO_PCI_REGION_SIZE	0x1000
#define VIRTIO_PCI_MSIX_PBA_OFF 0x800
#define VIRTIO_PCI_CONFIG_MAX	0x1000 /* the modern device-cfg window */

enum virtio_transport {
	VIRTIO_TRANSPORT_TRANSITIONAL = 0, /* the default, as QEMU's pc machine */
	VIRTIO_TRANSPORT_LEGACY,	   /* no modern capabilities */
	VIRTIO_TRANSPORT_MODERN,	   /* no I/O BAR, device ID 0x1040 + type */
};

/* "legacy", "transitional", "modern": 0, or -EINVAL. */
int virtio_transport_parse(const char *s, enum virtio_transport *t);
const char *virtio_transport_name(enum virtio_transport t);

struct virtio_pci;

/*
 * What a device tells the transport.  Every hook gets the device's opaque;
 * config offsets and lengths are checked by the transport (off + len <=
 * config_size, len 1..8).
 */
struct virtio_dev_ops {
	const char *name;
	uint16_t device_type; /* virtio device ID: 1 net, 2 block, 5 balloon... */
	uint32_t class_code;  /* QEMU's: 0x020000 net, 0x010000 block, 0x00ff00 others */
	uint64_t features;    /* offered, device and ring bits; VERSION_1 is added */
	unsigned num_queues;  /* 1..VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_max[VIRTIO_PCI_MAX_QUEUES]; /* power of 2, 1..VIRTQ_MAX_SIZE */
	unsigned config_size; /* bytes of device config, up to VIRTIO_PCI_CONFIG_MAX */
	/* Queues (bit q) whose kicks are handled inside the exit, on the vCPU
	 * thread that wrote the doorbell, never through an ioeventfd: a
	 * driver that expects its answer as soon as the write returns
	 * (NetKVM's control queue, shared/guest-drivers.md §1.3). */
	uint64_t exit_queues;
	/* Locked.  Fill buf with config bytes [off, off + len). */
	void (*config_read)(void *opaque, unsigned off, void *buf, unsigned len);
	/* Locked.  The guest wrote config bytes [off, off + len); NULL: read-only. */
	void (*config_write)(void *opaque, unsigned off, const void *buf, unsigned len);
	/* Locked.  The negotiated features changed (any time on legacy). */
	void (*set_features)(void *opaque, uint64_t features);
	/* Locked.  The guest kicked queue q, which is ready. */
	void (*queue_notify)(void *opaque, unsigned q, struct virtq *vq);
	/* Unlocked: wait for (or cancel) every request in flight; when it
	 * returns no old request touches guest memory or a queue. */
	void (*quiesce)(void *opaque);
	/* Locked: back to power-on state (after quiesce; the queues are reset
	 * by the transport). */
	void (*reset)(void *opaque);
	/* Locked, optional: the VM stops / runs again (no DMA meanwhile). */
	void (*pause)(void *opaque);
	void (*resume)(void *opaque);
};

struct virtio_pci_config {
	enum virtio_transport transport;
	int devfn; /* -1: the next option slot (pci_bus_alloc_slot) */
	const char *id;
};

/* Creates the PCI function on ctx->pci with its BARs, capabilities, MSI-X
 * (num_queues + 1 vectors), doorbells and interrupt sources.  NULL with a
 * one-line reason in err. */
struct virtio_pci *virtio_pci_create(const struct dev_ctx *ctx, const struct virtio_pci_config *cfg,
				     const struct virtio_dev_ops *ops, void *opaque, char *err,
				     size_t errlen);
/* On the loop thread or with the loop stopped (the doorbells' rule); the
 * PCI function stays on the bus (the core has no removal). */
void virtio_pci_destroy(struct virtio_pci *vp);

struct pci_dev *virtio_pci_dev(struct virtio_pci *vp);
struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned q);

void virtio_pci_lock(struct virtio_pci *vp);
void virtio_pci_unlock(struct virtio_pci *vp);

/* Locked.  After pushes on queue q: an interrupt if the guest wants one
 * (virtq_need_interrupt): ISR bit 0 and the queue's MSI-X vector or INTx.
 * Also reports a queue that failed (virtio_pci_queue_check). */
void virtio_pci_queue_done(struct virtio_pci *vp, unsigned q);
/* Locked.  The device's config changed: ISR 3 and the config vector or
 * INTx, config_generation moves on; nothing before DRIVER_OK. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* Locked.  If queue q is in its error state and that was not reported yet:
 * a modern driver gets DEVICE_NEEDS_RESET and a config interrupt, a legacy
 * one only sees the queue stop.  True if the queue failed. */
bool virtio_pci_queue_check(struct virtio_pci *vp, unsigned q);

/* Locked.  The features the driver negotiated, and whether it speaks the
 * modern interface (VERSION_1 negotiated). */
uint64_t virtio_pci_features(const struct virtio_pci *vp);
bool virtio_pci_modern(const struct virtio_pci *vp);
uint8_t virtio_pci_status(const struct virtio_pci *vp);

/* The device type's life-cycle hooks call these (vmm/device.h): quiesce
 * waits for the device's in-flight work; reset returns the transport, its
 * queues and the device to power-on state; pause holds kicks back, resume
 * delivers the ones that came meanwhile. */
void virtio_pci_quiesce(struct virtio_pci *vp);
void virtio_pci_reset(struct virtio_pci *vp);
void virtio_pci_pause(struct virtio_pci *vp);
void virtio_pci_resume(struct virtio_pci *vp);

/* Counters for --stats (and the tests). */
struct virtio_pci_stats {
	uint64_t kicks, kicks_ignored, kicks_held;
	uint64_t irq_msix, irq_intx, irq_suppressed, config_irqs;
	uint64_t resets, queue_errors, bad_accesses;
};
void virtio_pci_get_stats(struct virtio_pci *vp, struct virtio_pci_stats *st);

/*
 * For research (--stats, query-exit-stats): which path each notification
 * and interrupt of a queue (or of the configuration) took.  Notifications:
 * an ioeventfd (KVM signalled the doorbell, no exit) or an exit (the
 * register handler ran: --no-ioeventfd, or no fast path).  Interrupts:
 * irqfd (MSI-X or INTx through an irqfd), msi (MSI-X through the PCI core:
 * KVM_SIGNAL_MSI, or the pending bit of a masked vector), ioctl (INTx
 * through the router and KVM_IRQ_LINE), suppressed (the guest did not want
 * one, or no vector).
 */
struct virtio_pci_path_stats {
	uint64_t notify_ioeventfd, notify_exit;
	uint64_t irq_irqfd, irq_msi, irq_ioctl, irq_suppressed;
};
/* Queue q's counters, or the configuration interrupts' with q == -1; with
 * reset they restart from 0.  -EINVAL for a queue the device lacks. */
int virtio_pci_path_stats(struct virtio_pci *vp, int q, struct virtio_pci_path_stats *st,
			  bool reset);
/* The transport's part of a device's statistics as a new JSON object:
 * {"transport", "driver": "modern"|"legacy"|"none", "queues": [{"queue",
 * "size", "notify": {"ioeventfd", "exit"}, "interrupts": {"irqfd", "msi",
 * "ioctl", "suppressed"}, "chains", "bad_chains", "indirect_chains"}...],
 * "config_interrupts": {...}, "resets", "queue_errors", "bad_accesses"}.
 * The device may add its own keys to each queue object.  NULL: no memory. */
struct json_t *virtio_pci_stats_json(struct virtio_pci *vp, bool reset);

#endif
