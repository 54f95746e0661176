// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-balloon (devices/virtio/virtio_balloon.h).  Facts from QEMU 7.2's
 * hw/virtio/virtio-balloon.c (queue creation order, num_pages from the
 * target, the stats element kept until the poll timer, the reporting
 * queue's discard, BALLOON_CHANGE on a change of actual) and Linux's
 * drivers/virtio/virtio_balloon.c (32-bit PFNs of 4 KiB pages, reporting
 * buffers added as writable scatterlists).
 */
#include "devices/virtio/virtio_balloon.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/pci.h"
#include "vmm/le.h"
#include "vmm/timer.h"

#define MAX_IOV		   64
#define MAX_SUBPAGE_BITS   512 /* 4 KiB parts tracked for host pages up to 2 MiB */
#define NS_PER_SEC	   1000000000ULL

const char *const virtio_balloon_stat_names[VIRTIO_BALLOON_S_NR] = {
	[VIRTIO_BALLOON_S_SWAP_IN] = "stat-swap-in",
	[VIRTIO_BALLOON_S_SWAP_OUT] = "stat-swap-out",
	[VIRTIO_BALLOON_S_MAJFLT] = "stat-major-faults",
	[VIRTIO_BALLOON_S_MINFLT] = "stat-minor-faults",
	[VIRTIO_BALLOON_S_MEMFREE] = "stat-free-memory",
	[VIRTIO_BALLOON_S_MEMTOT] = "stat-total-memory",
	[VIRTIO_BALLOON_S_AVAIL] = "stat-available-memory",
	[VIRTIO_BALLOON_S_CACHES] = "stat-disk-caches",
	[VIRTIO_BALLOON_S_HTLB_PGALLOC] = "stat-htlb-pgalloc",
	[VIRTIO_BALLOON_S_HTLB_PGFAIL] = "stat-htlb-pgfail",
};

struct virtio_balloon {
	struct virtio_dev_ops ops; /* features and queues depend on the options */
	struct virtio_pci *vp;
	const struct guest_mem *mem;
	struct virtio_balloon_args args;
	char id[64];

	/* Guarded by the transport lock from here on. */
	uint32_t num_pages, actual;
	virtio_balloon_change_fn change_fn;
	void *change_opaque;

	/* The stats buffer the guest posted, held until the timer asks. */
	bool stats_held;
	uint16_t stats_head;
	uint64_t stats[VIRTIO_BALLOON_S_NR];
	int64_t stats_last_update;
	int64_t poll_interval; /* seconds, 0: off */
	struct vm_timer *poll_timer;
	bool paused;

	/* The host page whose 4 KiB parts are being inflated (host pages
	 * larger than 4 KiB only), as QEMU's PartiallyBalloonedPage. */
	uint8_t *pbp_base;
	uint8_t pbp_bits[MAX_SUBPAGE_BITS / 8];
	/* 4 KiB host pages: inflated pages that follow each other in host
	 * memory, given back in one call (the guest sends runs of PFNs). */
	uint8_t *run_base;
	size_t run_len;

	struct virtio_balloon_counters cnt;
};

static bool negotiated(struct virtio_balloon *vb, unsigned bit)
{
	return virtio_pci_features(vb->vp) & (1ULL << bit);
}

static void reset_stats(struct virtio_balloon *vb)
{
	for (unsigned i = 0; i < VIRTIO_BALLOON_S_NR; i++)
		vb->stats[i] = UINT64_MAX;
}

/* ---- config ---- */

/* Locked.  RAM minus what the guest says it gave back (a guest claiming
 * more than the RAM reads as 0 left). */
static uint64_t actual_bytes(const struct virtio_balloon *vb)
{
	uint64_t given = (uint64_t)vb->actual << VIRTIO_BALLOON_PFN_SHIFT;

	return given > vb->args.ram_size ? 0 : vb->args.ram_size - given;
}

static void config_bytes(struct virtio_balloon *vb, uint8_t cfg[VIRTIO_BALLOON_CONFIG_SIZE])
{
	le32_put(cfg, vb->num_pages);
	le32_put(cfg + 4, vb->actual);
}

static void balloon_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	uint8_t cfg[VIRTIO_BALLOON_CONFIG_SIZE];

	config_bytes(opaque, cfg);
	memcpy(buf, cfg + off, len); /* off + len <= 8: the transport checked */
}

/* Only `actual` is the guest's; its bytes may come one at a time (the 2013
 * Windows driver), and each write that changes it is an event, as QEMU's
 * set_config after every access. */
static void balloon_config_write(void *opaque, unsigned off, const void *buf, unsigned len)
{
	struct virtio_balloon *vb = opaque;
	uint8_t cfg[VIRTIO_BALLOON_CONFIG_SIZE];
	uint32_t old = vb->actual;

	vb->cnt.config_writes++;
	config_bytes(vb, cfg);
	memcpy(cfg + off, buf, len);
	vb->actual = le32_get(cfg + 4);
	if (vb->actual != old && vb->change_fn)
		vb->change_fn(vb->change_opaque, actual_bytes(vb));
}

/* ---- giving memory back ---- */

static size_t host_page(const struct virtio_balloon *vb)
{
	return vb->args.host_page_size ? vb->args.host_page_size : VIRTIO_BALLOON_PAGE_SIZE;
}

static void discard(struct virtio_balloon *vb, uint8_t *hva, size_t len)
{
	if (!vb->args.discard || !len)
		return;
	if (vb->args.discard(vb->args.discard_opaque, hva, len) < 0)
		vb->cnt.discard_errors++;
	else
		vb->cnt.discarded_bytes += len;
}

/* The host-page-aligned interior of [hva, hva + len). */
static void discard_interior(struct virtio_balloon *vb, uint8_t *hva, size_t len)
{
	uintptr_t ps = host_page(vb), a = (uintptr_t)hva, end = a + len;
	uintptr_t start = (a + ps - 1) & ~(ps - 1), stop = end & ~(ps - 1);

	if (stop > start)
		discard(vb, (uint8_t *)start, stop - start);
}

/* The run of inflated pages so far.  A 4 KiB guest page in a mapping that
 * is not 4 KiB aligned (never the board's) cannot be given back alone:
 * only the aligned interior goes. */
static void flush_run(struct virtio_balloon *vb)
{
	if (vb->run_len)
		discard_interior(vb, vb->run_base, vb->run_len);
	vb->run_len = 0;
}

/* One inflated 4 KiB page at hva (inside writable RAM). */
static void inflate_page(struct virtio_balloon *vb, uint8_t *hva)
{
	uintptr_t ps = host_page(vb), a = (uintptr_t)hva;
	uint8_t *base = (uint8_t *)(a & ~(ps - 1));
	size_t parts = ps / VIRTIO_BALLOON_PAGE_SIZE, idx;
	bool all = true;

	if (ps <= VIRTIO_BALLOON_PAGE_SIZE) {
		if (vb->run_len && hva == vb->run_base + vb->run_len) {
			vb->run_len += VIRTIO_BALLOON_PAGE_SIZE;
			return;
		}
		flush_run(vb);
		vb->run_base = hva;
		vb->run_len = VIRTIO_BALLOON_PAGE_SIZE;
		return;
	}
	if (parts > MAX_SUBPAGE_BITS)
		return; /* 1 GiB pages: never given back by inflation */
	if (vb->pbp_base != base) {
		vb->pbp_base = base;
		memset(vb->pbp_bits, 0, sizeof(vb->pbp_bits));
	}
	idx = (size_t)(a - (uintptr_t)base) / VIRTIO_BALLOON_PAGE_SIZE;
	vb->pbp_bits[idx / 8] |= (uint8_t)(1u << (idx % 8));
	for (size_t i = 0; i < parts && all; i++)
		all = vb->pbp_bits[i / 8] & (1u << (i % 8));
	if (all) {
		discard(vb, base, ps);
		vb->pbp_base = NULL;
	}
}

/* A chain of PFNs for the inflate or deflate queue. */
static void handle_pfns(struct virtio_balloon *vb, const struct iovec *iov, unsigned nr,
			uint32_t len, bool inflate)
{
	uint8_t buf[256];
	size_t off = 0;

	if (len % 4) { /* trailing bytes ignored, as QEMU */
		vb->cnt.bad_chains++;
		dev_log(vb->id, "a PFN buffer of %u bytes: the last %u ignored", len, len % 4);
	}
	while (len - off >= 4) {
		size_t chunk = len - off > sizeof(buf) ? sizeof(buf) : (len - off) & ~(size_t)3;
		size_t n = virtq_iov_read(iov, nr, off, buf, chunk);

		if (n < 4)
			break;
		for (size_t i = 0; i + 4 <= n; i += 4) {
			uint64_t gpa = (uint64_t)le32_get(buf + i) << VIRTIO_BALLOON_PFN_SHIFT;
			uint8_t *hva = guest_mem_ptr(vb->mem, gpa, VIRTIO_BALLOON_PAGE_SIZE, true);

			if (!hva) {
				vb->cnt.bad_pfns++;
				dev_log(vb->id, "%s PFN 0x%x is not in RAM: ignored",
					inflate ? "inflated" : "deflated", le32_get(buf + i));
				continue;
			}
			if (inflate) {
				vb->cnt.inflated++;
				inflate_page(vb, hva);
			} else {
				vb->cnt.deflated++;
			}
		}
		off += n & ~(size_t)3;
	}
	flush_run(vb); /* all given back before the buffer is returned */
}

/* A free page report: every writable buffer is free guest memory. */
static void handle_report(struct virtio_balloon *vb, const struct iovec *iov,
			  const struct virtq_chain *c)
{
	vb->cnt.reports++;
	if (c->nr_out) { /* a readable buffer may be ROM: never discarded */
		vb->cnt.bad_chains++;
		dev_log(vb->id, "free page report %u has readable buffers: not discarded",
			c->head);
	}
	for (unsigned i = c->nr_out; i < c->nr_out + c->nr_in; i++) {
		vb->cnt.reported_bytes += iov[i].iov_len;
		discard_interior(vb, iov[i].iov_base, iov[i].iov_len);
	}
}

/* ---- stats ---- */

static void arm_poll_timer(struct virtio_balloon *vb)
{
	if (vb->poll_timer && vb->poll_interval > 0 && !vb->paused)
		vm_timer_mod(vb->poll_timer,
			     vm_clock_ns() + (uint64_t)vb->poll_interval * NS_PER_SEC);
}

static void take_stats(struct virtio_balloon *vb, struct virtq *vq, const struct iovec *iov,
		       const struct virtq_chain *c)
{
	uint8_t e[VIRTIO_BALLOON_STAT_SIZE];
	size_t off = 0;

	if (vb->stats_held) {
		/* A second buffer before we returned the first: the driver
		 * broke the protocol; give the old one back, as QEMU. */
		virtq_push(vq, vb->stats_head, 0);
		virtio_pci_queue_done(vb->vp, VIRTIO_BALLOON_Q_STATS);
	}
	vb->stats_held = true;
	vb->stats_head = c->head;
	vb->cnt.stats_updates++;
	reset_stats(vb);
	while (virtq_iov_read(iov, c->nr_out, off, e, sizeof(e)) == sizeof(e)) {
		uint16_t tag = le16_get(e);

		off += sizeof(e);
		if (tag < VIRTIO_BALLOON_S_NR)
			vb->stats[tag] = le64_get(e + 2);
	}
	vb->stats_last_update = (int64_t)time(NULL);
	arm_poll_timer(vb);
}

/* Locked: return the held stats buffer, asking the guest for new values. */
static void poll_stats(struct virtio_balloon *vb)
{
	struct virtq *vq = virtio_pci_queue(vb->vp, VIRTIO_BALLOON_Q_STATS);

	if (!vb->stats_held || !negotiated(vb, VIRTIO_BALLOON_F_STATS_VQ) || !vq ||
	    !virtq_ready(vq)) {
		arm_poll_timer(vb);
		return;
	}
	vb->stats_held = false;
	vb->cnt.stats_polls++;
	virtq_push(vq, vb->stats_head, 0);
	virtio_pci_queue_done(vb->vp, VIRTIO_BALLOON_Q_STATS);
}

static void poll_timer_fired(void *opaque)
{
	struct virtio_balloon *vb = opaque;

	virtio_pci_lock(vb->vp);
	if (!vb->paused) /* else resume re-arms */
		poll_stats(vb);
	virtio_pci_unlock(vb->vp);
}

/* ---- queues ---- */

static void balloon_queue_notify(void *opaque, unsigned q, struct virtq *vq)
{
	struct virtio_balloon *vb = opaque;
	struct iovec iov[MAX_IOV];
	struct virtq_chain c;
	unsigned role = q;
	int r;

	/* A driver that numbers only the queues it negotiated puts reporting
	 * on queue 2 when it left STATS_VQ out. */
	if (q == VIRTIO_BALLOON_Q_STATS && !negotiated(vb, VIRTIO_BALLOON_F_STATS_VQ) &&
	    negotiated(vb, VIRTIO_BALLOON_F_REPORTING))
		role = VIRTIO_BALLOON_Q_REPORTING;
	do {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, &c, iov, MAX_IOV)) != 0) {
			if (r == -EPROTO)
				goto done;
			if (r == -EBADMSG) {
				vb->cnt.bad_chains++;
				dev_log(vb->id, "queue %u: chain %u refused: %s", q, c.head,
					virtq_err_str(c.error));
				virtq_push(vq, c.head, 0);
				continue;
			}
			switch (role) {
			case VIRTIO_BALLOON_Q_INFLATE:
			case VIRTIO_BALLOON_Q_DEFLATE:
				handle_pfns(vb, iov, c.nr_out, c.out_len,
					    q == VIRTIO_BALLOON_Q_INFLATE);
				virtq_push(vq, c.head, 0);
				break;
			case VIRTIO_BALLOON_Q_STATS:
				take_stats(vb, vq, iov, &c);
				break;
			default:
				handle_report(vb, iov, &c);
				virtq_push(vq, c.head, 0);
				break;
			}
		}
	} while (virtq_enable_notify(vq));
done:
	virtio_pci_queue_done(vb->vp, q);
}

/* ---- life cycle ---- */

static void balloon_set_features(void *opaque, uint64_t features)
{
	(void)opaque;
	(void)features; /* looked up when used: legacy drivers rewrite them */
}

/* Locked, after the transport reset its queues: the held stats buffer is
 * gone with them.  The target stays (as QEMU's); the pages the guest gave
 * back are all its own again after a reset. */
static void balloon_reset(void *opaque)
{
	struct virtio_balloon *vb = opaque;
	uint32_t old = vb->actual;

	vb->stats_held = false;
	vb->pbp_base = NULL;
	vb->actual = 0;
	if (old && vb->change_fn)
		vb->change_fn(vb->change_opaque, actual_bytes(vb));
}

static void balloon_pause(void *opaque)
{
	struct virtio_balloon *vb = opaque;

	vb->paused = true;
	if (vb->poll_timer)
		vm_timer_del(vb->poll_timer);
}

static void balloon_resume(void *opaque)
{
	struct virtio_balloon *vb = opaque;

	vb->paused = false;
	arm_poll_timer(vb);
}

static void *balloon_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			    size_t errlen)
{
	const struct virtio_balloon_args *a = e->arg;
	struct virtio_pci_config cfg;
	struct virtio_balloon *vb;
	size_t ps;

	if (!a) {
		snprintf(err, errlen, "%s: no configuration", e->id);
		return NULL;
	}
	ps = a->host_page_size ? a->host_page_size : VIRTIO_BALLOON_PAGE_SIZE;
	if (ps < VIRTIO_BALLOON_PAGE_SIZE || (ps & (ps - 1))) {
		snprintf(err, errlen, "%s: host page size %zu is not a power of 2 >= 4096", e->id,
			 ps);
		return NULL;
	}
	vb = calloc(1, sizeof(*vb));
	if (!vb) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	vb->args = *a;
	vb->mem = ctx->mem;
	snprintf(vb->id, sizeof(vb->id), "%s", e->id);
	reset_stats(vb);
	vb->ops = (struct virtio_dev_ops){
		.name = "virtio-balloon",
		.device_type = 5,
		.class_code = 0x00ff00,
		.features = (1ULL << VIRTIO_BALLOON_F_STATS_VQ) |
			    (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
			    (1ULL << VIRTIO_RING_F_EVENT_IDX),
		.num_queues = 3,
		.queue_max = {VIRTIO_BALLOON_QUEUE_SIZE, VIRTIO_BALLOON_QUEUE_SIZE,
			      VIRTIO_BALLOON_QUEUE_SIZE, VIRTIO_BALLOON_QUEUE_SIZE},
		.config_size = VIRTIO_BALLOON_CONFIG_SIZE,
		.config_read = balloon_config_read,
		.config_write = balloon_config_write,
		.set_features = balloon_set_features,
		.queue_notify = balloon_queue_notify,
		.reset = balloon_reset,
		.pause = balloon_pause,
		.resume = balloon_resume,
	};
	if (a->deflate_on_oom)
		vb->ops.features |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (a->free_page_reporting) {
		vb->ops.features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
		vb->ops.num_queues = 4;
	}
	vb->poll_timer = vm_timer_new(ctx->loop, poll_timer_fired, vb);
	if (!vb->poll_timer) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		free(vb);
		return NULL;
	}
	cfg = (struct virtio_pci_config){.transport = a->transport, .devfn = e->devfn, .id = e->id};
	vb->vp = virtio_pci_create(ctx, &cfg, &vb->ops, vb, err, errlen);
	if (!vb->vp) {
		vm_timer_free(vb->poll_timer);
		free(vb);
		return NULL;
	}
	return vb;
}

static void balloon_destroy(void *state)
{
	struct virtio_balloon *vb = state;

	vm_timer_free(vb->poll_timer);
	virtio_pci_destroy(vb->vp);
	free(vb);
}

static void type_quiesce(void *state)
{
	virtio_pci_quiesce(((struct virtio_balloon *)state)->vp);
}

static void type_reset(void *state)
{
	virtio_pci_reset(((struct virtio_balloon *)state)->vp);
}

static void type_resume(void *state)
{
	virtio_pci_resume(((struct virtio_balloon *)state)->vp);
}

static void type_pause(void *state)
{
	virtio_pci_pause(((struct virtio_balloon *)state)->vp);
}

/* The stats hook: the transport's paths per queue and the balloon's own
 * counters (since start: reset restarts only the transport's). */
static json_t *type_stats(void *state, bool reset)
{
	struct virtio_balloon *vb = state;
	struct virtio_balloon_counters c;
	json_t *j = virtio_pci_stats_json(vb->vp, reset);

	virtio_balloon_get_counters(vb, &c);
	if (j)
		json_object_set_new(
		    j, "balloon",
		    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "inflated_pages",
			      (json_int_t)c.inflated, "deflated_pages", (json_int_t)c.deflated,
			      "bad_pfns", (json_int_t)c.bad_pfns, "discarded_bytes",
			      (json_int_t)c.discarded_bytes, "discard_errors",
			      (json_int_t)c.discard_errors, "reports", (json_int_t)c.reports,
			      "reported_bytes", (json_int_t)c.reported_bytes, "stats_updates",
			      (json_int_t)c.stats_updates, "stats_polls", (json_int_t)c.stats_polls,
			      "bad_chains", (json_int_t)c.bad_chains));
	return j;
}

const struct device_type virtio_balloon_type = {
	.name = "virtio-balloon",
	.stats = type_stats,
	.create = balloon_create,
	.quiesce = type_quiesce,
	.reset = type_reset,
	.resume = type_resume,
	.pause = type_pause,
	.destroy = balloon_destroy,
};

/* ---- the control side ---- */

void virtio_balloon_set_change_notify(struct virtio_balloon *vb, virtio_balloon_change_fn fn,
				      void *opaque)
{
	virtio_pci_lock(vb->vp);
	vb->change_fn = fn;
	vb->change_opaque = opaque;
	virtio_pci_unlock(vb->vp);
}

uint64_t virtio_balloon_ram_size(struct virtio_balloon *vb)
{
	return vb->args.ram_size;
}

void virtio_balloon_set_target(struct virtio_balloon *vb, uint64_t target)
{
	uint64_t ram = vb->args.ram_size, pages;

	if (target > ram)
		target = ram;
	if (!target)
		return;
	pages = (ram - target) >> VIRTIO_BALLOON_PFN_SHIFT;
	virtio_pci_lock(vb->vp);
	vb->num_pages = pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
	virtio_pci_config_changed(vb->vp);
	virtio_pci_unlock(vb->vp);
}

uint32_t virtio_balloon_num_pages(struct virtio_balloon *vb)
{
	uint32_t n;

	virtio_pci_lock(vb->vp);
	n = vb->num_pages;
	virtio_pci_unlock(vb->vp);
	return n;
}

uint64_t virtio_balloon_actual_bytes(struct virtio_balloon *vb)
{
	uint64_t v;

	virtio_pci_lock(vb->vp);
	v = actual_bytes(vb);
	virtio_pci_unlock(vb->vp);
	return v;
}

void virtio_balloon_guest_stats(struct virtio_balloon *vb, struct virtio_balloon_guest_stats *st)
{
	virtio_pci_lock(vb->vp);
	memcpy(st->stat, vb->stats, sizeof(st->stat));
	st->last_update = vb->stats_last_update;
	virtio_pci_unlock(vb->vp);
}

int64_t virtio_balloon_poll_interval(struct virtio_balloon *vb)
{
	int64_t v;

	virtio_pci_lock(vb->vp);
	v = vb->poll_interval;
	virtio_pci_unlock(vb->vp);
	return v;
}

int virtio_balloon_set_poll_interval(struct virtio_balloon *vb, int64_t seconds)
{
	if (seconds < 0)
		return -EINVAL;
	if (seconds > UINT32_MAX)
		return -ERANGE;
	virtio_pci_lock(vb->vp);
	if (seconds != vb->poll_interval) {
		bool was_on = vb->poll_interval > 0;

		vb->poll_interval = seconds;
		if (!seconds)
			vm_timer_del(vb->poll_timer);
		else if (!was_on && !vb->paused) /* a new timer fires at once, as QEMU's */
			vm_timer_mod(vb->poll_timer, vm_clock_ns());
		else
			arm_poll_timer(vb);
	}
	virtio_pci_unlock(vb->vp);
	return 0;
}

void virtio_balloon_get_counters(struct virtio_balloon *vb, struct virtio_balloon_counters *c)
{
	virtio_pci_lock(vb->vp);
	*c = vb->cnt;
	virtio_pci_unlock(vb->vp);
}

struct virtio_pci *virtio_balloon_transport(struct virtio_balloon *vb)
{
	return vb->vp;
}
