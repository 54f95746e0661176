/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues (virtio 1.x §2.7, and the legacy layout of §2.7.2) for
 * every virtio device: the device pops chains of guest buffers as iovecs and
 * pushes used elements back; the transport sets the queue up, tells it the
 * negotiated features, asks whether an interrupt is due and resets it.
 *
 * Everything in the rings is written by a hostile guest.  Every chain walk is
 * bounded three ways (descriptor index below the queue size or the indirect
 * table's length, a hop limit, the caller's iovec capacity); every buffer is
 * translated as a whole range by guest_mem_map_iov(), so an iovec never
 * reaches outside guest RAM, and a writable one never into read-only memory;
 * an avail index that moves by more than the queue size fails the queue.
 * The module writes no guest memory but the used ring (flags, idx, ring,
 * avail_event).
 *
 * Thread rule: a queue is used by one thread at a time (the I/O thread, or a
 * vCPU thread when ioeventfd is off); the transport serialises setup, reset,
 * feature changes and the device's pops and pushes.  The module takes no
 * lock.  Memory ordering against the guest's vCPUs is the module's business:
 * an acquire after reading avail->idx, a release before publishing
 * used->idx, and a full fence before looking at what the guest asked for
 * (interrupt and notification suppression).
 *
 * The host pointers kept after setup stay valid as long as the guest_mem
 * table and its mappings do (for the VM's life).
 */
#ifndef MINIVMM_VIRTQUEUE_H
#define MINIVMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/guest_mem.h"

/* Feature bits the ring depends on (the transport passes its negotiated word). */
#define VIRTIO_F_NOTIFY_ON_EMPTY    24 /* legacy only */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX	    29 /* "PUBLISH_INDICES" in the 2012 virtio-win drivers */

/* Guest-visible layout (little-endian). */
#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1
#define VIRTQ_DESC_SIZE		   16

#define VIRTQ_MAX_SIZE	       32768
#define VIRTQ_LEGACY_ALIGN     4096
#define VIRTQ_LEGACY_PFN_SHIFT 12
/* The longest indirect table accepted, in descriptors (512 KiB).  Drivers use
 * far fewer (viostor 52: at most 67; Linux: seg_max + 2). */
#define VIRTQ_MAX_INDIRECT 32768

/* Why a queue failed (virtq_error()) or a chain was refused (chain.error). */
enum virtq_err {
	VIRTQ_OK = 0,
	/* Queue-level: the queue stops, every call returns -EPROTO until reset. */
	VIRTQ_ERR_AVAIL_IDX, /* avail->idx moved by more than the queue size */
	VIRTQ_ERR_HEAD,	     /* an avail ring entry names a descriptor >= queue size */
	VIRTQ_ERR_DEVICE,    /* the device failed the queue (virtq_fail) */
	/* Chain-level: the chain is consumed, the device completes or fails it. */
	VIRTQ_ERR_NEXT,		   /* next >= queue size (or >= the indirect table's length) */
	VIRTQ_ERR_LOOP,		   /* more descriptors than the hop limit: a loop */
	VIRTQ_ERR_ORDER,	   /* a readable descriptor after a writable one */
	VIRTQ_ERR_INDIRECT_LEN,	   /* indirect table length 0, not a multiple of 16, too long */
	VIRTQ_ERR_INDIRECT_NESTED, /* an indirect descriptor inside an indirect table */
	VIRTQ_ERR_INDIRECT_NEXT,   /* INDIRECT together with NEXT */
	VIRTQ_ERR_ADDR,		   /* a buffer or table outside RAM (or a writable one in ROM) */
	VIRTQ_ERR_IOV_FULL,	   /* more iovec entries than the caller gave */
	VIRTQ_ERR_TOO_LONG,	   /* the chain's total length exceeds 2^32 - 1 bytes */
};

/* A short English phrase for logs ("descriptor loop", ...). */
const char *virtq_err_str(enum virtq_err err);

struct virtq_stats {
	uint64_t pops, pushes;
	uint64_t bad_chains;		/* chains refused with a chain-level error */
	uint64_t indirect_chains;	/* chains that used an indirect table */
	uint64_t indirect_unnegotiated; /* ... without INDIRECT_DESC negotiated */
	/* virtq_need_interrupt()'s answers */
	uint64_t interrupts, interrupts_suppressed;
};

struct virtq {
	const struct guest_mem *mem;
	uint64_t features;
	uint16_t size;		      /* 0: not set up */
	enum virtq_err error;	      /* queue-level, sticky until reset */
	uint8_t *desc, *avail, *used; /* host pointers, whole rings checked at setup */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;	 /* next avail ring entry to pop */
	uint16_t shadow_avail;	 /* avail->idx as last read */
	uint16_t used_idx;	 /* next used ring entry; published in used->idx */
	uint16_t signalled_used; /* used_idx at the last interrupt decision */
	bool signalled_valid;
	bool notify_enabled; /* the device wants kicks (virtq_disable_notify) */
	unsigned inflight;   /* popped, not yet pushed */
	/* Moves on at every reset and setup (a legacy PFN write, a device
	 * reset): a device that completes asynchronously records it at pop
	 * and pushes only if it is unchanged, so that a request popped before
	 * a reset never lands in the new rings. */
	uint32_t generation;
	struct virtq_stats stats;
};

/* A popped chain: iov[0, nr_out) readable by the device, then iov[nr_out,
 * nr_out + nr_in) writable, in the guest's order. */
struct virtq_chain {
	uint16_t head;	      /* give it back to virtq_push() */
	enum virtq_err error; /* VIRTQ_OK, or why the chain was refused */
	unsigned nr_out, nr_in;
	uint32_t out_len, in_len; /* bytes; out_len + in_len < 2^32 */
	unsigned nr_desc;	  /* descriptors walked, the indirect one included */
	bool indirect;
};

/* Once, before anything else: the queue reads guest memory through mem. */
void virtq_init(struct virtq *vq, const struct guest_mem *mem);

/*
 * Sets the queue up with fresh indices (as after a reset).  size must be a
 * power of 2 up to VIRTQ_MAX_SIZE; each ring must lie wholly in guest RAM
 * (descriptor table 16·size, avail ring 6 + 2·size, used ring 6 + 8·size
 * bytes, the event fields included whatever the features; the used ring
 * writable) and be aligned (16, 2, 4).  0, or -EINVAL (bad size or
 * alignment) or -EFAULT (a ring outside RAM): the queue is then not set up
 * and the transport refuses DRIVER_OK or the queue's enable.
 */
int virtq_setup(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
		uint64_t features);
/* The legacy layout from one page frame number: desc at pfn << 12, avail
 * right after it, used at the next 4096-aligned address.  As virtq_setup();
 * pfn 0 is refused with -EINVAL (it means "delete the queue"). */
int virtq_setup_legacy(struct virtq *vq, uint16_t size, uint32_t pfn, uint64_t features);
/* Where the legacy layout puts the used ring, and the whole ring's size. */
uint64_t virtq_legacy_used_offset(uint16_t size);
uint64_t virtq_legacy_ring_size(uint16_t size);

/* The negotiated features may change at any time (the 2013 balloon rewrites
 * them after DRIVER_OK); only EVENT_IDX, INDIRECT_DESC and NOTIFY_ON_EMPTY
 * matter here. */
void virtq_set_features(struct virtq *vq, uint64_t features);

/* Back to "not set up"; the statistics are kept, the generation moves on. */
void virtq_reset(struct virtq *vq);

static inline bool virtq_ready(const struct virtq *vq)
{
	return vq->size != 0 && vq->error == VIRTQ_OK;
}

/* VIRTQ_OK, or the queue-level reason the queue stopped. */
static inline enum virtq_err virtq_error(const struct virtq *vq)
{
	return vq->error;
}

/* The device stops the queue itself (e.g. for a chain it cannot complete). */
void virtq_fail(struct virtq *vq, enum virtq_err err);

/* Where both sides of a ring stand now, for --stats when a guest seems
 * stuck: the driver's avail index and its flags or used_event (what it
 * asked of interrupts) beside the device's own indexes.  Zero when the
 * queue is not set up. */
struct virtq_ring_state {
	uint16_t last_avail, avail_idx, used_idx;
	uint16_t avail_flags, used_event; /* the driver's: used_event with EVENT_IDX */
	uint16_t used_flags, avail_event; /* ours: avail_event with EVENT_IDX */
	unsigned inflight;
	bool notify_enabled, event_idx;
};
void virtq_ring_state(const struct virtq *vq, struct virtq_ring_state *st);

/*
 * Pops the next available chain into iov[0, max_iov).
 *   1        a chain, in *chain (chain->error VIRTQ_OK)
 *   0        nothing available (or the queue is not set up)
 *   -EBADMSG a malformed chain (chain->head and chain->error set): it was
 *            consumed, and the device either completes it (virtq_push with
 *            the length it wrote, usually 0, or an error status it could
 *            place) or fails the queue; the iovecs must not be used
 *   -EPROTO  the queue is in its error state (virtq_error() says why):
 *            the transport reports it (modern: DEVICE_NEEDS_RESET and a
 *            configuration interrupt; legacy: the queue stays stopped)
 * Indirect descriptors are accepted whether or not INDIRECT_DESC was
 * negotiated (viostor 52 uses them without acknowledging the feature).
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *chain, struct iovec *iov, unsigned max_iov);

/* Gives back the chain popped last, not yet pushed (e.g. a receive buffer
 * that cannot be filled now): the next pop returns it again. */
void virtq_unpop(struct virtq *vq);

/* Chains available and not popped yet: >= 0, or -EPROTO (the check on the
 * avail index may fail the queue). */
int virtq_pending(struct virtq *vq);

/*
 * Returns a chain: used element (head, len = bytes written into its writable
 * part) then used->idx published after a release barrier.  0, -EINVAL for a
 * head >= the queue size, -EPROTO when the queue is not set up or failed
 * (nothing is written then).
 */
int virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * After one or more pushes: whether the guest wants an interrupt now.
 * Without EVENT_IDX: unless avail->flags has NO_INTERRUPT; with it: if the
 * used index passed used_event since the last decision (vring_need_event,
 * with 16-bit wrap), the NO_INTERRUPT flag being ignored as the spec says.
 * NOTIFY_ON_EMPTY (legacy): always when nothing is in flight and nothing
 * available.  false for a queue that is not ready.
 */
bool virtq_need_interrupt(struct virtq *vq);

/*
 * Kick suppression for the driver.  disable: set VIRTQ_USED_F_NO_NOTIFY
 * (without EVENT_IDX) or stop moving avail_event (with it).  enable: clear
 * the flag or set avail_event to the current avail index, then look again:
 * true if chains arrived meanwhile (the device must pop them, since the
 * driver may not kick for them).  The device loop:
 *     do { virtq_disable_notify(vq); while (virtq_pop(...) ...) ...; }
 *     while (virtq_enable_notify(vq));
 */
void virtq_disable_notify(struct virtq *vq);
bool virtq_enable_notify(struct virtq *vq);

/* Bounded copies between a chain's iovecs and a buffer, from byte offset off:
 * the number of bytes copied (less than len if the iovecs end first). */
size_t virtq_iov_read(const struct iovec *iov, unsigned nr, size_t off, void *buf, size_t len);
size_t virtq_iov_write(const struct iovec *iov, unsigned nr, size_t off, const void *buf,
		       size_t len);

/* A cursor over iovecs, for a device to take a header, then data, then a
 * trailer (e.g. virtio-blk: 16-byte header, sectors, status byte). */
struct virtq_iter {
	const struct iovec *iov;
	unsigned nr, i; /* entry i, offset off in it */
	size_t off;
	size_t left; /* bytes from the cursor to the end */
};

void virtq_iter_init(struct virtq_iter *it, const struct iovec *iov, unsigned nr);
/* Exactly len bytes into buf and advance, or false and nothing consumed. */
bool virtq_iter_take(struct virtq_iter *it, void *buf, size_t len);
/* Exactly len bytes from buf into the iovecs and advance, or false. */
bool virtq_iter_put(struct virtq_iter *it, const void *buf, size_t len);
/* Advance by up to len bytes; the number skipped. */
size_t virtq_iter_skip(struct virtq_iter *it, size_t len);
/* The next len bytes as iovecs out[0, *nr) (for the block layer) and
 * advance: 0, -ERANGE if fewer than len bytes are left, -ENOBUFS if they need
 * more than max entries (nothing consumed then). */
int virtq_iter_slice(struct virtq_iter *it, size_t len, struct iovec *out, unsigned max,
		     unsigned *nr);

#endif
