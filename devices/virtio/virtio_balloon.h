/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-balloon (virtio 1.x §5.5) on the virtio PCI transport,
 * transitional by default (1af4:1002, subsystem 1af4:0005, class 0x00ff00),
 * with QEMU 7.2's behaviour where a guest or a QMP client can see it.
 *
 * Queues, numbered as QEMU numbers them from the features offered (Linux's
 * driver numbers the ones it negotiates the same way as long as nothing
 * between them is left out; we always offer STATS_VQ and never
 * FREE_PAGE_HINT, so both agree):
 *   0 inflate, 1 deflate, 2 stats (STATS_VQ, always offered),
 *   3 free page reporting (REPORTING, when offered);
 * a driver that negotiates REPORTING without STATS_VQ and numbers only the
 * queues it negotiated reports on queue 2: taken as reports then.
 * Features: STATS_VQ; DEFLATE_ON_OOM (off by default, as QEMU);
 * REPORTING (on by default, on the legacy interface as well as the modern
 * one: bit 5 is in the legacy feature word).
 * Config (8 bytes, any width at any offset): num_pages (the target, 4 KiB
 * pages to give back, written by the host) at 0 and actual (pages the
 * guest gave back, written by the guest) at 4, little-endian.
 *
 * Inflate: 32-bit PFNs of 4 KiB pages; a page not wholly in writable guest
 * RAM (a hole, MMIO, the BIOS) is ignored and counted; the others are
 * handed to the board's discard hook, host-page-aligned, pages that follow
 * each other in host memory in one call: with host pages
 * larger than 4 KiB a host page is discarded once all its 4 KiB parts
 * were inflated in a row (as QEMU's partially-ballooned page).  Deflate:
 * counted (a discarded page faults back in as zeroes when the guest touches
 * it).  Reporting: every writable buffer of a chain (inside RAM, or the
 * chain is refused) is discarded on its host-page-aligned interior, then
 * the chain is returned used with length 0.  Stats: the guest posts a
 * buffer of packed {le16 tag, le64 value}; the device keeps it until the
 * polling timer (guest-stats-polling-interval seconds, 0 = off) returns it
 * to ask for fresh values, as QEMU does.
 *
 * Threads: every call below takes the transport lock; the timer runs on the
 * I/O thread.  The change notifier runs with the transport lock held (from
 * a vCPU or the I/O thread): it may only queue work (qmp_event does).
 */
#ifndef MINIVMM_VIRTIO_BALLOON_H
#define MINIVMM_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "vmm/device.h"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST	 0
#define VIRTIO_BALLOON_F_STATS_VQ	 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM	 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT	 3
#define VIRTIO_BALLOON_F_PAGE_POISON	 4
#define VIRTIO_BALLOON_F_REPORTING	 5

#define VIRTIO_BALLOON_Q_INFLATE   0
#define VIRTIO_BALLOON_Q_DEFLATE   1
#define VIRTIO_BALLOON_Q_STATS	   2
#define VIRTIO_BALLOON_Q_REPORTING 3
#define VIRTIO_BALLOON_QUEUE_SIZE  128

#define VIRTIO_BALLOON_PFN_SHIFT 12
#define VIRTIO_BALLOON_PAGE_SIZE 4096u
#define VIRTIO_BALLOON_CONFIG_SIZE 8

/* Stats tags (§5.5.6.3) up to QEMU 7.2's VIRTIO_BALLOON_S_NR. */
enum virtio_balloon_stat {
	VIRTIO_BALLOON_S_SWAP_IN = 0,
	VIRTIO_BALLOON_S_SWAP_OUT,
	VIRTIO_BALLOON_S_MAJFLT,
	VIRTIO_BALLOON_S_MINFLT,
	VIRTIO_BALLOON_S_MEMFREE,
	VIRTIO_BALLOON_S_MEMTOT,
	VIRTIO_BALLOON_S_AVAIL,
	VIRTIO_BALLOON_S_CACHES,
	VIRTIO_BALLOON_S_HTLB_PGALLOC,
	VIRTIO_BALLOON_S_HTLB_PGFAIL,
	VIRTIO_BALLOON_S_NR
};
#define VIRTIO_BALLOON_STAT_SIZE 10 /* packed le16 tag + le64 value */

/* QEMU's names of the stats in qom-get guest-stats ("stat-swap-in"...). */
extern const char *const virtio_balloon_stat_names[VIRTIO_BALLOON_S_NR];

/*
 * Gives guest RAM back to the host: [hva, hva + len), both aligned to
 * host_page_size.  The board's hook is madvise(MADV_DONTNEED); 0 or a
 * negative errno (counted).
 */
typedef int (*virtio_balloon_discard_fn)(void *opaque, void *hva, size_t len);

/* The board's configuration of the balloon (board row .arg). */
struct virtio_balloon_args {
	enum virtio_transport transport;
	bool deflate_on_oom;	  /* offer DEFLATE_ON_OOM (default off) */
	bool free_page_reporting; /* offer REPORTING (default on) */
	uint64_t ram_size;	  /* bytes, what `balloon` targets are relative to */
	size_t host_page_size;	  /* of the RAM mapping; 0: 4096 */
	virtio_balloon_discard_fn discard;
	void *discard_opaque;
};

/* Board row: .devfn -1 (the next option slot), .irq -1, .arg a const
 * struct virtio_balloon_args *. */
extern const struct device_type virtio_balloon_type;

struct virtio_balloon;

/* The guest changed `actual`: called with the bytes QEMU reports in
 * BALLOON_CHANGE (RAM size minus actual pages). */
typedef void (*virtio_balloon_change_fn)(void *opaque, uint64_t actual_bytes);
void virtio_balloon_set_change_notify(struct virtio_balloon *vb, virtio_balloon_change_fn fn,
				      void *opaque);

uint64_t virtio_balloon_ram_size(struct virtio_balloon *vb);
/* QMP balloon: target bytes (> 0; more than the RAM is capped to it):
 * num_pages = (RAM - target) / 4 KiB and a configuration interrupt. */
void virtio_balloon_set_target(struct virtio_balloon *vb, uint64_t target_bytes);
/* The target as num_pages, and query-balloon's "actual": RAM minus the
 * pages the guest says it gave back. */
uint32_t virtio_balloon_num_pages(struct virtio_balloon *vb);
uint64_t virtio_balloon_actual_bytes(struct virtio_balloon *vb);

struct virtio_balloon_guest_stats {
	uint64_t stat[VIRTIO_BALLOON_S_NR]; /* UINT64_MAX: the guest did not say */
	int64_t last_update;		    /* wall-clock seconds, 0: never */
};
void virtio_balloon_guest_stats(struct virtio_balloon *vb, struct virtio_balloon_guest_stats *st);

/* guest-stats-polling-interval in seconds; set: 0 (off) .. UINT32_MAX,
 * -EINVAL below 0, -ERANGE above (QEMU's two errors). */
int64_t virtio_balloon_poll_interval(struct virtio_balloon *vb);
int virtio_balloon_set_poll_interval(struct virtio_balloon *vb, int64_t seconds);

/* Counters for the tests and --stats. */
struct virtio_balloon_counters {
	uint64_t inflated, deflated;	     /* PFNs taken */
	uint64_t bad_pfns;		     /* outside writable RAM: ignored */
	uint64_t discarded_bytes;	     /* handed to the discard hook */
	uint64_t discard_errors;	     /* the hook failed */
	uint64_t reports, reported_bytes;    /* free page reporting chains / bytes */
	uint64_t stats_updates, stats_polls; /* buffers the guest posted / we returned */
	uint64_t bad_chains;		     /* refused by the queue, or malformed */
	uint64_t config_writes;
};
void virtio_balloon_get_counters(struct virtio_balloon *vb, struct virtio_balloon_counters *c);

/* The transport, for tests that drive the registers. */
struct virtio_pci *virtio_balloon_transport(struct virtio_balloon *vb);

#endif
