// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-blk (virtio 1.x §5.2) on the virtio PCI transport.
 *
 * Requests are parsed by vblk_parse() (virtio_blk_req.c) and handed to the
 * block layer asynchronously; a vCPU thread (or the I/O thread, with
 * ioeventfd) only pops, parses and submits.  Completions run on the I/O
 * thread (block_completion_fd on the event loop) or in block_drain(), take
 * the transport lock, write the status byte, push and interrupt.
 *
 * Each queue has as many request slots as entries (256), so a driver can
 * never have more in flight than there are slots - except after a legacy
 * PFN write reset the queue under requests still with the block layer.
 * Those finish into guest RAM but are not pushed: each slot remembers the
 * queue's generation at pop, and a changed one drops the completion.  When
 * slots run out the queue waits (notifications off) until one comes back.
 *
 * Cache: the block layer has no switch between writeback and writethrough,
 * so a guest that turned the cache off (writeback = 0 in config, or a
 * legacy driver that did not negotiate FLUSH, as QEMU does) gets each write
 * followed by a flush before it completes.
 *
 * Lock: everything here is guarded by the transport lock
 * (virtio_pci_lock); the hooks the transport calls hold it already, except
 * quiesce.
 */
#include "devices/virtio/virtio_blk.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <zlib.h>

#include "devices/block/block.h"
#include "devices/virtio/virtio_blk_req.h"
#include "vmm/le.h"
#include "vmm/loop.h"

/* Feature bits (virtio 1.x §5.2.3) */
#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_GEOMETRY	  4
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_CONFIG_WCE	  11
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define BIT(n) (1ULL << (n))

/* Config layout (§5.2.4) */
#define CFG_CAPACITY		     0
#define CFG_SIZE_MAX		     8
#define CFG_SEG_MAX		     12
#define CFG_CYLINDERS		     16
#define CFG_HEADS		     18
#define CFG_SECTORS		     19
#define CFG_BLK_SIZE		     20
#define CFG_PHYS_BLOCK_EXP	     24
#define CFG_ALIGNMENT_OFFSET	     25
#define CFG_MIN_IO_SIZE		     26
#define CFG_OPT_IO_SIZE		     28
#define CFG_WRITEBACK		     32
#define CFG_NUM_QUEUES		     34
#define CFG_MAX_DISCARD_SECTORS	     36
#define CFG_MAX_DISCARD_SEG	     40
#define CFG_DISCARD_SECTOR_ALIGNMENT 44
#define CFG_MAX_WRITE_ZEROES_SECTORS 48
#define CFG_MAX_WRITE_ZEROES_SEG     52
#define CFG_WRITE_ZEROES_MAY_UNMAP   56
#define CFG_SIZE		     60

#define QUEUE_SIZE	    256
#define SEG_MAX		    (VBLK_MAX_IOV - 34) /* 126, leaving room for splits */
#define SIZE_MAX_BYTES	    (1u << 20)
#define MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB */

struct vblk_slot {
	struct virtio_blk *vb;
	struct vblk_slot *next_free;
	unsigned q;
	uint16_t head;
	uint32_t gen;	     /* the queue's generation at pop */
	uint64_t t0;	     /* pop time, ns */
	unsigned seg_next;   /* DISCARD / WRITE_ZEROES: the segment running */
	bool flush_after;    /* writethrough emulation: a flush follows the write */
	bool flushing;
	uint32_t written;    /* bytes written into the writable part, status aside */
	struct iovec iov[VBLK_MAX_IOV];
	struct vblk_req req;
};

struct vblk_queue {
	struct vblk_slot *slots, *free;
	unsigned inflight;
	bool starved; /* a chain waits for a free slot */
	struct virtio_blk_queue_stats st;
};

struct virtio_blk {
	struct virtio_dev_ops ops;
	struct virtio_pci *vp;
	struct block_dev *bd;
	struct event_loop *loop;
	bool fd_registered;
	uint64_t capacity; /* sectors */
	bool read_only;
	unsigned nq;
	uint8_t id[VBLK_ID_BYTES];
	uint64_t features; /* negotiated */
	bool writeback;	   /* what the guest sees and gets */
	bool wce_set;	   /* the guest chose writeback through the config */
	bool quiescing, paused;
	struct vblk_queue q[VIRTIO_BLK_MAX_QUEUES];
	char name[32];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static unsigned lat_bucket(uint64_t ns)
{
	unsigned b;

	if (!ns)
		return 0;
	b = 63u - (unsigned)__builtin_clzll(ns);
	return b < VIRTIO_BLK_LAT_BUCKETS ? b : VIRTIO_BLK_LAT_BUCKETS - 1;
}

/* ---- config space ---- */

static void config_build(const struct virtio_blk *vb, uint8_t *c)
{
	uint64_t cyls = vb->capacity / (16 * 63);

	memset(c, 0, CFG_SIZE);
	le64_put(c + CFG_CAPACITY, vb->capacity);
	le32_put(c + CFG_SIZE_MAX, SIZE_MAX_BYTES);
	le32_put(c + CFG_SEG_MAX, SEG_MAX);
	/* What QEMU guesses for a disk without a partition table to go by
	 * (hd-geometry.c): 16 heads, 63 sectors, 2..16383 cylinders. */
	le16_put(c + CFG_CYLINDERS, (uint16_t)(cyls > 16383 ? 16383 : cyls < 2 ? 2 : cyls));
	c[CFG_HEADS] = 16;
	c[CFG_SECTORS] = 63;
	le32_put(c + CFG_BLK_SIZE, VBLK_SECTOR);
	c[CFG_PHYS_BLOCK_EXP] = 0;
	c[CFG_ALIGNMENT_OFFSET] = 0;
	le16_put(c + CFG_MIN_IO_SIZE, 0);
	le32_put(c + CFG_OPT_IO_SIZE, 0);
	c[CFG_WRITEBACK] = vb->writeback;
	le16_put(c + CFG_NUM_QUEUES, (uint16_t)vb->nq);
	le32_put(c + CFG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS);
	le32_put(c + CFG_MAX_DISCARD_SEG, VBLK_MAX_SEGS);
	le32_put(c + CFG_DISCARD_SECTOR_ALIGNMENT, 1);
	le32_put(c + CFG_MAX_WRITE_ZEROES_SECTORS, MAX_DISCARD_SECTORS);
	le32_put(c + CFG_MAX_WRITE_ZEROES_SEG, VBLK_MAX_SEGS);
	c[CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
}

static void vb_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	uint8_t c[CFG_SIZE];

	config_build(opaque, c);
	if (off < CFG_SIZE && len <= CFG_SIZE - off)
		memcpy(buf, c + off, len);
}

/* Only writeback is writable, and only with CONFIG_WCE negotiated (§5.2.5). */
static void vb_config_write(void *opaque, unsigned off, const void *buf, unsigned len)
{
	struct virtio_blk *vb = opaque;

	if (!(vb->features & BIT(VIRTIO_BLK_F_CONFIG_WCE)))
		return;
	if (off <= CFG_WRITEBACK && CFG_WRITEBACK - off < len) {
		vb->writeback = ((const uint8_t *)buf)[CFG_WRITEBACK - off] != 0;
		vb->wce_set = true;
	}
}

/* As QEMU: without CONFIG_WCE the cache follows FLUSH (a driver that cannot
 * flush gets writethrough). */
static void vb_set_features(void *opaque, uint64_t features)
{
	struct virtio_blk *vb = opaque;

	vb->features = features;
	if (!(features & BIT(VIRTIO_BLK_F_CONFIG_WCE)) || !vb->wce_set)
		vb->writeback = features & BIT(VIRTIO_BLK_F_FLUSH);
}

/* ---- requests ---- */

static void process(struct virtio_blk *vb, unsigned qi);

static void slot_free(struct vblk_queue *q, struct vblk_slot *s)
{
	s->next_free = q->free;
	q->free = s;
	q->inflight--;
}

/* Answers the request (locked); true if it was pushed. */
static bool finish(struct vblk_slot *s, uint8_t status)
{
	struct virtio_blk *vb = s->vb;
	struct vblk_queue *q = &vb->q[s->q];
	struct virtq *vq = virtio_pci_queue(vb->vp, s->q);
	bool pushed = false;

	if (s->gen == vq->generation && virtq_ready(vq)) {
		*s->req.status = status;
		pushed = virtq_push(vq, s->head, s->written + 1) == 0;
	}
	if (pushed) {
		q->st.errors += status != VIRTIO_BLK_S_OK;
		q->st.latency[lat_bucket(now_ns() - s->t0)]++;
	} else {
		q->st.dropped++;
	}
	slot_free(q, s);
	return pushed;
}

static void io_done(void *opaque, int64_t ret);

static int submit_seg(struct vblk_slot *s)
{
	const struct vblk_seg *g = &s->req.segs[s->seg_next];

	return block_aio_discard(s->vb->bd, g->sector * VBLK_SECTOR,
				 (uint64_t)g->num_sectors * VBLK_SECTOR, io_done, s);
}

/* Locked.  The next step of a request whose last one finished with ret;
 * true if it was answered (and pushed). */
static bool advance(struct vblk_slot *s, int64_t ret, bool *answered)
{
	struct virtio_blk *vb = s->vb;
	struct vblk_req *r = &s->req;
	struct vblk_queue *q = &vb->q[s->q];

	*answered = true;
	if (ret < 0)
		return finish(s, VIRTIO_BLK_S_IOERR);
	/* Its queue was reset meanwhile: no further segment or flush, and
	 * finish() drops it. */
	if (s->gen != virtio_pci_queue(vb->vp, s->q)->generation)
		return finish(s, VIRTIO_BLK_S_IOERR);
	if ((r->type == VBLK_DISCARD || r->type == VBLK_WRITE_ZEROES) && !s->flushing &&
	    s->seg_next + 1 < r->nr_segs) {
		s->seg_next++;
		if (submit_seg(s) < 0)
			return finish(s, VIRTIO_BLK_S_IOERR);
		*answered = false;
		return false;
	}
	if (s->flush_after && !s->flushing) {
		s->flushing = true;
		if (block_aio_flush(vb->bd, io_done, s) < 0)
			return finish(s, VIRTIO_BLK_S_IOERR);
		*answered = false;
		return false;
	}
	if (r->type == VBLK_IN) {
		s->written = (uint32_t)r->len;
		q->st.bytes_read += r->len;
	} else if (r->type == VBLK_OUT) {
		q->st.bytes_written += r->len;
	}
	return finish(s, VIRTIO_BLK_S_OK);
}

/* A block request finished (the I/O thread, or block_drain's caller). */
static void io_done(void *opaque, int64_t ret)
{
	struct vblk_slot *s = opaque;
	struct virtio_blk *vb = s->vb;
	unsigned qi = s->q;
	bool answered;

	virtio_pci_lock(vb->vp);
	if (advance(s, ret, &answered))
		virtio_pci_queue_done(vb->vp, qi);
	if (answered && vb->q[qi].starved)
		process(vb, qi);
	virtio_pci_unlock(vb->vp);
}

/* Starts a parsed request (locked); true if it was answered at once and
 * pushed. */
static bool start(struct vblk_slot *s)
{
	struct virtio_blk *vb = s->vb;
	struct vblk_req *r = &s->req;
	uint64_t off = r->sector * VBLK_SECTOR;
	int ret;

	if (r->result != VIRTIO_BLK_S_OK)
		return finish(s, r->result);
	switch (r->type) {
	case VBLK_IN:
		if (!r->len)
			return finish(s, VIRTIO_BLK_S_OK);
		ret = block_aio_read(vb->bd, off, r->data, (int)r->nr_data, io_done, s);
		break;
	case VBLK_OUT:
		if (!r->len)
			return finish(s, VIRTIO_BLK_S_OK);
		s->flush_after = !vb->writeback;
		ret = block_aio_write(vb->bd, off, r->data, (int)r->nr_data, io_done, s);
		break;
	case VBLK_FLUSH:
		ret = block_aio_flush(vb->bd, io_done, s);
		break;
	case VBLK_GET_ID:
		s->written = (uint32_t)virtq_iov_write(r->data, r->nr_data, 0, vb->id, r->len);
		return finish(s, VIRTIO_BLK_S_OK);
	case VBLK_DISCARD:
	case VBLK_WRITE_ZEROES:
		/* The block layer's discard leaves zeros behind: both are one. */
		s->flush_after = r->type == VBLK_WRITE_ZEROES && !vb->writeback;
		ret = submit_seg(s);
		break;
	default:
		return finish(s, VIRTIO_BLK_S_UNSUPP);
	}
	if (ret < 0)
		return finish(s, VIRTIO_BLK_S_IOERR);
	return false;
}

/* DISCARD and WRITE_ZEROES are done for whichever driver negotiated them,
 * legacy included, as QEMU does: Linux with force_legacy=1 takes them (and
 * ignores an UNSUPP answer to a discard, so refusing would free nothing
 * while the guest believes it did). */
static void limits(const struct virtio_blk *vb, struct vblk_limits *lim)
{
	*lim = (struct vblk_limits){
	    .capacity = vb->capacity,
	    .read_only = vb->read_only,
	    .discard = vb->features & BIT(VIRTIO_BLK_F_DISCARD),
	    .write_zeroes = vb->features & BIT(VIRTIO_BLK_F_WRITE_ZEROES),
	    .max_discard_sectors = MAX_DISCARD_SECTORS,
	    .max_discard_seg = VBLK_MAX_SEGS,
	    .max_write_zeroes_sectors = MAX_DISCARD_SECTORS,
	    .max_write_zeroes_seg = VBLK_MAX_SEGS,
	};
}

/* Pops, parses and starts every chain available on queue qi (locked). */
static void process(struct virtio_blk *vb, unsigned qi)
{
	struct virtq *vq = virtio_pci_queue(vb->vp, qi);
	struct vblk_queue *q = &vb->q[qi];
	struct vblk_limits lim;
	bool pushed = false;

	if (vb->quiescing || vb->paused || !virtq_ready(vq))
		return;
	q->starved = false;
	limits(vb, &lim);
	do {
		virtq_disable_notify(vq);
		for (;;) {
			struct vblk_slot *s = q->free;
			struct virtq_chain c;
			int r;

			if (!s) {
				/* A completion calls us again; the driver
				 * need not kick meanwhile. */
				q->starved = true;
				goto out;
			}
			r = virtq_pop(vq, &c, s->iov, VBLK_MAX_IOV);
			if (r == 0)
				break;
			if (r == -EPROTO)
				goto out;
			if (r == -EBADMSG) {
				/* The iovecs cannot be used, not even for a
				 * status byte: nothing to answer with. */
				q->st.queue_errors++;
				virtq_fail(vq, c.error);
				goto out;
			}
			if (vblk_parse(s->iov, c.nr_out, c.nr_in, &lim, &s->req) < 0) {
				q->st.queue_errors++;
				dev_log(vb->name, "queue %u: request without a status byte", qi);
				virtq_fail(vq, VIRTQ_ERR_DEVICE);
				goto out;
			}
			q->free = s->next_free;
			q->inflight++;
			s->q = qi;
			s->head = c.head;
			s->gen = vq->generation;
			s->t0 = now_ns();
			s->seg_next = 0;
			s->flush_after = s->flushing = false;
			s->written = 0;
			q->st.requests[s->req.type < VIRTIO_BLK_STAT_TYPES ? s->req.type
									   : VBLK_UNKNOWN]++;
			pushed |= start(s);
		}
	} while (virtq_enable_notify(vq));
out:
	if (pushed)
		virtio_pci_queue_done(vb->vp, qi);
	else
		virtio_pci_queue_check(vb->vp, qi);
}

static void vb_queue_notify(void *opaque, unsigned q, struct virtq *vq)
{
	struct virtio_blk *vb = opaque;

	if (q < vb->nq)
		process(vb, q);
}

/* Unlocked: every request with the block layer finishes (and is answered,
 * or dropped if its queue was reset) before this returns. */
static void vb_quiesce(void *opaque)
{
	struct virtio_blk *vb = opaque;

	virtio_pci_lock(vb->vp);
	vb->quiescing = true;
	virtio_pci_unlock(vb->vp);
	block_drain(vb->bd);
}

static void vb_reset(void *opaque)
{
	struct virtio_blk *vb = opaque;

	vb->features = 0;
	vb->writeback = false;
	vb->wce_set = false;
	vb->quiescing = false;
	for (unsigned i = 0; i < vb->nq; i++)
		vb->q[i].starved = false;
}

static void vb_pause(void *opaque)
{
	((struct virtio_blk *)opaque)->paused = true;
}

static void vb_resume(void *opaque)
{
	struct virtio_blk *vb = opaque;

	vb->paused = false;
	vb->quiescing = false;
	for (unsigned i = 0; i < vb->nq; i++)
		if (vb->q[i].starved)
			process(vb, i);
}

/* ---- the device type ---- */

/* "MINIVMM-" and the CRC-32 of the image's absolute path, NUL-padded. */
static void default_serial(struct virtio_blk *vb)
{
	const char *name = block_name(vb->bd);
	char *abs = name ? realpath(name, NULL) : NULL;
	const char *p = abs ? abs : name ? name : "";
	uLong crc = crc32(0L, Z_NULL, 0);
	char buf[VBLK_ID_BYTES + 1];

	crc = crc32(crc, (const Bytef *)p, (uInt)strlen(p));
	snprintf(buf, sizeof(buf), "MINIVMM-%08lX", (unsigned long)crc);
	memset(vb->id, 0, sizeof(vb->id));
	memcpy(vb->id, buf, strlen(buf));
	free(abs);
}

static void completion_ready(void *opaque, uint32_t events)
{
	block_complete(opaque);
}

static void vb_destroy(void *state)
{
	struct virtio_blk *vb = state;

	if (!vb)
		return;
	if (vb->fd_registered)
		event_loop_del_fd(vb->loop, block_completion_fd(vb->bd));
	if (vb->bd)
		block_drain(vb->bd);
	virtio_pci_destroy(vb->vp);
	for (unsigned i = 0; i < VIRTIO_BLK_MAX_QUEUES; i++)
		free(vb->q[i].slots);
	free(vb);
}

static void *vb_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
		       size_t errlen)
{
	const struct virtio_blk_args *a = e->arg;
	struct virtio_pci_config cfg = {.devfn = e->devfn, .id = e->id};
	struct virtio_blk *vb;
	uint64_t f;

	if (!a || !a->bd) {
		snprintf(err, errlen, "%s: no disk", e->id ? e->id : "virtio-blk");
		return NULL;
	}
	if (a->num_queues < 1 || a->num_queues > VIRTIO_BLK_MAX_QUEUES) {
		snprintf(err, errlen, "%s: num_queues must be 1..%u", e->id ? e->id : "virtio-blk",
			 VIRTIO_BLK_MAX_QUEUES);
		return NULL;
	}
	vb = calloc(1, sizeof(*vb));
	if (!vb)
		goto nomem;
	vb->bd = a->bd;
	vb->nq = a->num_queues;
	vb->capacity = block_size(a->bd) / VBLK_SECTOR;
	vb->read_only = block_read_only(a->bd);
	snprintf(vb->name, sizeof(vb->name), "%s", e->id ? e->id : "virtio-blk");
	if (a->serial) {
		size_t n = strlen(a->serial);

		memcpy(vb->id, a->serial, n < VBLK_ID_BYTES ? n : VBLK_ID_BYTES);
	} else {
		default_serial(vb);
	}
	for (unsigned i = 0; i < vb->nq; i++) {
		struct vblk_queue *q = &vb->q[i];

		q->slots = calloc(QUEUE_SIZE, sizeof(*q->slots));
		if (!q->slots)
			goto nomem;
		for (unsigned j = QUEUE_SIZE; j-- > 0;) {
			q->slots[j].vb = vb;
			q->slots[j].next_free = q->free;
			q->free = &q->slots[j];
		}
	}
	f = BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_GEOMETRY) |
	    BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_TOPOLOGY) |
	    BIT(VIRTIO_BLK_F_CONFIG_WCE) | BIT(VIRTIO_BLK_F_DISCARD) |
	    BIT(VIRTIO_BLK_F_WRITE_ZEROES) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	    BIT(VIRTIO_RING_F_EVENT_IDX);
	if (vb->read_only)
		f |= BIT(VIRTIO_BLK_F_RO);
	if (vb->nq > 1)
		f |= BIT(VIRTIO_BLK_F_MQ);
	vb->ops = (struct virtio_dev_ops){
	    .name = "virtio-blk",
	    .device_type = 2,
	    .class_code = 0x010000,
	    .features = f,
	    .num_queues = vb->nq,
	    .config_size = CFG_SIZE,
	    .config_read = vb_config_read,
	    .config_write = vb_config_write,
	    .set_features = vb_set_features,
	    .queue_notify = vb_queue_notify,
	    .quiesce = vb_quiesce,
	    .reset = vb_reset,
	    .pause = vb_pause,
	    .resume = vb_resume,
	};
	for (unsigned i = 0; i < vb->nq; i++)
		vb->ops.queue_max[i] = QUEUE_SIZE;
	cfg.transport = a->transport;
	vb->vp = virtio_pci_create(ctx, &cfg, &vb->ops, vb, err, errlen);
	if (!vb->vp) {
		vb_destroy(vb);
		return NULL;
	}
	vb->loop = ctx->loop;
	if (vb->loop) {
		int fd = block_completion_fd(vb->bd);

		if (fd < 0 || event_loop_add_fd(vb->loop, fd, EPOLLIN, completion_ready, vb->bd) < 0) {
			snprintf(err, errlen, "%s: cannot watch the disk's completions", vb->name);
			vb_destroy(vb);
			return NULL;
		}
		vb->fd_registered = true;
	}
	return vb;
nomem:
	snprintf(err, errlen, "%s: out of memory", e->id ? e->id : "virtio-blk");
	vb_destroy(vb);
	return NULL;
}

static void vb_dev_quiesce(void *state)
{
	virtio_pci_quiesce(((struct virtio_blk *)state)->vp);
}

static void vb_dev_reset(void *state)
{
	virtio_pci_reset(((struct virtio_blk *)state)->vp);
}

static void vb_dev_resume(void *state)
{
	virtio_pci_resume(((struct virtio_blk *)state)->vp);
}

/* No DMA while paused: kicks are held, and what is in flight finishes now. */
static void vb_dev_pause(void *state)
{
	struct virtio_blk *vb = state;

	virtio_pci_pause(vb->vp);
	block_drain(vb->bd);
}

/* The stats hook: the transport's paths per queue, with each queue's
 * requests and their pop-to-push latency (log2 buckets of ns). */
static json_t *vb_stats(void *state, bool reset)
{
	struct virtio_blk *vb = state;
	json_t *j = virtio_pci_stats_json(vb->vp, reset);
	json_t *queues = json_object_get(j, "queues");
	struct virtio_blk_stats st;

	virtio_blk_get_stats(vb, &st);
	for (unsigned i = 0; i < st.num_queues && i < json_array_size(queues); i++) {
		const struct virtio_blk_queue_stats *q = &st.q[i];
		json_t *hist = json_array();
		uint64_t n = 0, seen = 0, p99 = 0;

		for (unsigned b = 0; b < VIRTIO_BLK_LAT_BUCKETS; b++)
			n += q->latency[b];
		for (unsigned b = 0; b < VIRTIO_BLK_LAT_BUCKETS; b++) {
			if (!q->latency[b])
				continue;
			seen += q->latency[b];
			if (!p99 && seen * 100 >= n * 99)
				p99 = 1ULL << (b + 1);
			json_array_append_new(hist, json_pack("[I,I]", (json_int_t)1 << (b + 1),
							      (json_int_t)q->latency[b]));
		}
		json_object_set_new(json_array_get(queues, i), "latency",
				    json_pack("{s:I,s:I,s:o}", "count", (json_int_t)n, "p99_ns",
					      (json_int_t)p99, "histogram_log2_ns", hist));
	}
	return j;
}

const struct device_type virtio_blk_type = {
    .name = "virtio-blk",
    .stats = vb_stats,
    .create = vb_create,
    .quiesce = vb_dev_quiesce,
    .reset = vb_dev_reset,
    .resume = vb_dev_resume,
    .pause = vb_dev_pause,
    .destroy = vb_destroy,
};

void virtio_blk_get_stats(struct virtio_blk *vb, struct virtio_blk_stats *st)
{
	memset(st, 0, sizeof(*st));
	virtio_pci_lock(vb->vp);
	st->num_queues = vb->nq;
	for (unsigned i = 0; i < vb->nq; i++)
		st->q[i] = vb->q[i].st;
	virtio_pci_unlock(vb->vp);
	if (vb->bd)
		block_get_path_stats(vb->bd, &st->path);
}

struct virtio_pci *virtio_blk_transport(struct virtio_blk *vb)
{
	return vb->vp;
}
