// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split virtqueues; the rules are in virtqueue.h.  Layout (virtio 1.x
 * §2.7): descriptor {le64 addr; le32 len; le16 flags; le16 next}; avail ring
 * {le16 flags; le16 idx; le16 ring[size]; le16 used_event}; used ring
 * {le16 flags; le16 idx; {le32 id; le32 len} ring[size]; le16 avail_event}.
 */
#include "devices/virtio/virtqueue.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "vmm/le.h"

/* Ring fields are read and written in place as naturally aligned 16-bit
 * words (alignment is checked at setup), which is the guest's byte order
 * only on a little-endian host: minivmm runs on x86 KVM. */
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host");

#define AVAIL_FLAGS 0
#define AVAIL_IDX   2
#define AVAIL_RING  4
#define USED_FLAGS  0
#define USED_IDX    2
#define USED_RING   4
#define USED_ELEM   8

const char *virtq_err_str(enum virtq_err err)
{
	switch (err) {
	case VIRTQ_OK:
		return "no error";
	case VIRTQ_ERR_AVAIL_IDX:
		return "avail index moved by more than the queue size";
	case VIRTQ_ERR_HEAD:
		return "avail ring entry out of range";
	case VIRTQ_ERR_DEVICE:
		return "failed by the device";
	case VIRTQ_ERR_NEXT:
		return "descriptor next index out of range";
	case VIRTQ_ERR_LOOP:
		return "descriptor loop";
	case VIRTQ_ERR_ORDER:
		return "readable descriptor after a writable one";
	case VIRTQ_ERR_INDIRECT_LEN:
		return "bad indirect table length";
	case VIRTQ_ERR_INDIRECT_NESTED:
		return "indirect descriptor inside an indirect table";
	case VIRTQ_ERR_INDIRECT_NEXT:
		return "indirect descriptor with NEXT";
	case VIRTQ_ERR_ADDR:
		return "buffer outside guest RAM";
	case VIRTQ_ERR_IOV_FULL:
		return "chain longer than the device accepts";
	case VIRTQ_ERR_TOO_LONG:
		return "chain longer than 4 GiB";
	}
	return "unknown error";
}

static inline uint16_t ring_load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static inline void ring_store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static inline bool has(const struct virtq *vq, unsigned bit)
{
	return vq->features >> bit & 1;
}

static uint8_t *used_event_ptr(const struct virtq *vq)
{
	return vq->avail + AVAIL_RING + 2 * (size_t)vq->size;
}

static uint8_t *avail_event_ptr(const struct virtq *vq)
{
	return vq->used + USED_RING + USED_ELEM * (size_t)vq->size;
}

void virtq_ring_state(const struct virtq *vq, struct virtq_ring_state *st)
{
	memset(st, 0, sizeof(*st));
	st->last_avail = vq->last_avail;
	st->used_idx = vq->used_idx;
	st->inflight = vq->inflight;
	st->notify_enabled = vq->notify_enabled;
	st->event_idx = has(vq, VIRTIO_RING_F_EVENT_IDX);
	if (!vq->size)
		return;
	st->avail_idx = ring_load16(vq->avail + AVAIL_IDX);
	st->avail_flags = ring_load16(vq->avail + AVAIL_FLAGS);
	st->used_event = ring_load16(used_event_ptr(vq));
	st->used_flags = ring_load16(vq->used + USED_FLAGS);
	st->avail_event = ring_load16(avail_event_ptr(vq));
}

void virtq_init(struct virtq *vq, const struct guest_mem *mem)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->notify_enabled = true;
}

void virtq_reset(struct virtq *vq)
{
	const struct guest_mem *mem = vq->mem;
	struct virtq_stats stats = vq->stats;
	uint32_t generation = vq->generation + 1;

	virtq_init(vq, mem);
	vq->stats = stats;
	vq->generation = generation;
}

void virtq_set_features(struct virtq *vq, uint64_t features)
{
	vq->features = features;
}

void virtq_fail(struct virtq *vq, enum virtq_err err)
{
	if (vq->error == VIRTQ_OK)
		vq->error = err == VIRTQ_OK ? VIRTQ_ERR_DEVICE : err;
}

int virtq_setup(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
		uint64_t features)
{
	uint8_t *d, *a, *u;

	virtq_reset(vq);
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if (desc % 16 || avail % 2 || used % 4)
		return -EINVAL;
	d = guest_mem_ptr(vq->mem, desc, (uint64_t)VIRTQ_DESC_SIZE * size, false);
	a = guest_mem_ptr(vq->mem, avail, AVAIL_RING + 2 * (uint64_t)size + 2, false);
	u = guest_mem_ptr(vq->mem, used, USED_RING + USED_ELEM * (uint64_t)size + 2, true);
	if (!d || !a || !u)
		return -EFAULT;
	/* Host alignment follows from guest alignment only if the region's
	 * mapping is itself aligned; mmap'ed RAM is, but a table could lie. */
	if ((uintptr_t)d % 16 || (uintptr_t)a % 2 || (uintptr_t)u % 4)
		return -EINVAL;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	vq->features = features;
	vq->size = size;
	return 0;
}

uint64_t virtq_legacy_used_offset(uint16_t size)
{
	uint64_t a = VIRTQ_DESC_SIZE * (uint64_t)size + 2 * (3 + (uint64_t)size);

	return (a + VIRTQ_LEGACY_ALIGN - 1) & ~(uint64_t)(VIRTQ_LEGACY_ALIGN - 1);
}

uint64_t virtq_legacy_ring_size(uint16_t size)
{
	return virtq_legacy_used_offset(size) + 2 * 3 + USED_ELEM * (uint64_t)size;
}

int virtq_setup_legacy(struct virtq *vq, uint16_t size, uint32_t pfn, uint64_t features)
{
	uint64_t base = (uint64_t)pfn << VIRTQ_LEGACY_PFN_SHIFT;

	if (pfn == 0) {
		virtq_reset(vq);
		return -EINVAL;
	}
	return virtq_setup(vq, size, base, base + VIRTQ_DESC_SIZE * (uint64_t)size,
			   base + virtq_legacy_used_offset(size), features);
}

/*
 * Reads avail->idx and checks how far it moved: a driver can never have more
 * than size chains outstanding, so a bigger step is garbage (or an attack)
 * and fails the queue.  Returns the number of chains available, or -EPROTO.
 */
static int refresh_avail(struct virtq *vq)
{
	uint16_t idx = __atomic_load_n((const uint16_t *)(vq->avail + AVAIL_IDX), __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - vq->last_avail);

	if (n > vq->size) {
		virtq_fail(vq, VIRTQ_ERR_AVAIL_IDX);
		return -EPROTO;
	}
	vq->shadow_avail = idx;
	return n;
}

int virtq_pending(struct virtq *vq)
{
	if (vq->error)
		return -EPROTO;
	if (!vq->size)
		return 0;
	return refresh_avail(vq);
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One copy of the guest's descriptor: everything after uses the copy. */
static void desc_decode(const uint8_t *p, struct desc *d)
{
	uint8_t b[VIRTQ_DESC_SIZE];

	memcpy(b, p, sizeof(b));
	d->addr = le64_get(b);
	d->len = le32_get(b + 8);
	d->flags = le16_get(b + 12);
	d->next = le16_get(b + 14);
}

/* An indirect table, checked as a whole: in one host mapping (fast path) or
 * read descriptor by descriptor through guest_mem_read(). */
struct table {
	const uint8_t *host;
	uint64_t gpa;
	uint32_t n;
};

static enum virtq_err table_open(const struct virtq *vq, const struct desc *d, struct table *t)
{
	struct iovec probe[GUEST_MEM_MAX_REGIONS];
	unsigned nr;

	if (d->len == 0 || d->len % VIRTQ_DESC_SIZE ||
	    d->len / VIRTQ_DESC_SIZE > VIRTQ_MAX_INDIRECT)
		return VIRTQ_ERR_INDIRECT_LEN;
	t->gpa = d->addr;
	t->n = d->len / VIRTQ_DESC_SIZE;
	t->host = guest_mem_ptr(vq->mem, d->addr, d->len, false);
	if (!t->host && guest_mem_map_iov(vq->mem, d->addr, d->len, false, probe,
					  GUEST_MEM_MAX_REGIONS, &nr) != 0)
		return VIRTQ_ERR_ADDR;
	return VIRTQ_OK;
}

static void table_read(const struct virtq *vq, const struct table *t, uint32_t i, struct desc *d)
{
	uint8_t b[VIRTQ_DESC_SIZE];

	if (t->host) {
		desc_decode(t->host + (size_t)i * VIRTQ_DESC_SIZE, d);
		return;
	}
	/* Cannot fail: the whole table was checked by table_open(). */
	if (guest_mem_read(vq->mem, t->gpa + (uint64_t)i * VIRTQ_DESC_SIZE, b, sizeof(b)))
		memset(b, 0, sizeof(b));
	desc_decode(b, d);
}

/* Walks the chain at head; VIRTQ_OK or why it is refused. */
static enum virtq_err walk(struct virtq *vq, struct virtq_chain *c, struct iovec *iov,
			   unsigned max_iov)
{
	struct table t = {0};
	bool in_table = false, seen_write = false;
	uint32_t idx = c->head, hops = 0, limit = vq->size;
	uint64_t total = 0;
	unsigned n = 0;

	for (;;) {
		struct desc d;
		unsigned got;
		bool write;
		int ret;

		if (++hops > limit)
			return VIRTQ_ERR_LOOP;
		if (in_table)
			table_read(vq, &t, idx, &d);
		else
			desc_decode(vq->desc + (size_t)idx * VIRTQ_DESC_SIZE, &d);
		c->nr_desc++;

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			enum virtq_err err;

			if (in_table)
				return VIRTQ_ERR_INDIRECT_NESTED;
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return VIRTQ_ERR_INDIRECT_NEXT;
			err = table_open(vq, &d, &t);
			if (err)
				return err;
			/* The table is a chain of its own, bounded by its length;
			 * its descriptor's WRITE flag means nothing (spec). */
			in_table = true;
			c->indirect = true;
			idx = 0;
			hops = 0;
			limit = t.n;
			continue;
		}

		write = d.flags & VIRTQ_DESC_F_WRITE;
		if (!write && seen_write)
			return VIRTQ_ERR_ORDER;
		seen_write |= write;
		if (total + d.len > UINT32_MAX)
			return VIRTQ_ERR_TOO_LONG;
		total += d.len;
		ret = guest_mem_map_iov(vq->mem, d.addr, d.len, write, iov + n, max_iov - n, &got);
		if (ret == -ENOBUFS)
			return VIRTQ_ERR_IOV_FULL;
		if (ret)
			return VIRTQ_ERR_ADDR;
		n += got;
		if (write) {
			c->nr_in += got;
			c->in_len += d.len;
		} else {
			c->nr_out += got;
			c->out_len += d.len;
		}

		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return VIRTQ_OK;
		idx = d.next;
		if (idx >= (in_table ? t.n : vq->size))
			return VIRTQ_ERR_NEXT;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c, struct iovec *iov, unsigned max_iov)
{
	uint16_t head;

	memset(c, 0, sizeof(*c));
	if (vq->error)
		return -EPROTO;
	if (!vq->size)
		return 0;
	if (vq->last_avail == vq->shadow_avail) {
		int n = refresh_avail(vq);

		if (n == 0 && vq->notify_enabled && has(vq, VIRTIO_RING_F_EVENT_IDX)) {
			/* Empty: "kick me for the next one", then look once more,
			 * with a full fence between, or a chain the driver adds
			 * meanwhile gets neither a kick nor a look. */
			ring_store16(avail_event_ptr(vq), vq->last_avail);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			n = refresh_avail(vq);
		}
		if (n <= 0)
			return n;
	}
	/* The ring entry is read after the index (acquire in refresh_avail). */
	head = ring_load16(vq->avail + AVAIL_RING + 2 * (size_t)(vq->last_avail & (vq->size - 1)));
	vq->last_avail++;
	if (vq->notify_enabled && has(vq, VIRTIO_RING_F_EVENT_IDX))
		ring_store16(avail_event_ptr(vq), vq->last_avail);
	if (head >= vq->size) {
		/* No used element can name it: nothing to complete. */
		virtq_fail(vq, VIRTQ_ERR_HEAD);
		return -EPROTO;
	}
	c->head = head;
	vq->inflight++;
	vq->stats.pops++;
	c->error = walk(vq, c, iov, max_iov);
	if (c->indirect) {
		vq->stats.indirect_chains++;
		if (!has(vq, VIRTIO_RING_F_INDIRECT_DESC))
			vq->stats.indirect_unnegotiated++;
	}
	if (c->error) {
		vq->stats.bad_chains++;
		c->nr_out = c->nr_in = 0;
		c->out_len = c->in_len = 0;
		return -EBADMSG;
	}
	return 1;
}

void virtq_unpop(struct virtq *vq)
{
	if (!virtq_ready(vq) || vq->inflight == 0)
		return;
	vq->last_avail--;
	vq->inflight--;
	vq->stats.pops--;
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	uint8_t *e;

	if (!virtq_ready(vq))
		return -EPROTO;
	if (head >= vq->size)
		return -EINVAL;
	e = vq->used + USED_RING + USED_ELEM * (size_t)(vq->used_idx & (vq->size - 1));
	__atomic_store_n((uint32_t *)e, head, __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(e + 4), len, __ATOMIC_RELAXED);
	vq->used_idx++;
	/* The element is visible before the index that publishes it. */
	__atomic_store_n((uint16_t *)(vq->used + USED_IDX), vq->used_idx, __ATOMIC_RELEASE);
	if (vq->inflight)
		vq->inflight--;
	vq->stats.pushes++;
	return 0;
}

/* vring_need_event(): did the index step from old to new pass event? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_need_interrupt(struct virtq *vq)
{
	bool ret;

	if (!virtq_ready(vq))
		return false;
	/* The used index must be visible before we read what the guest asked. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (has(vq, VIRTIO_F_NOTIFY_ON_EMPTY) && vq->inflight == 0 &&
	    ring_load16(vq->avail + AVAIL_IDX) == vq->last_avail) {
		ret = true;
	} else if (!has(vq, VIRTIO_RING_F_EVENT_IDX)) {
		ret = !(ring_load16(vq->avail + AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	} else {
		bool valid = vq->signalled_valid;
		uint16_t old = vq->signalled_used;

		vq->signalled_valid = true;
		vq->signalled_used = vq->used_idx;
		ret = !valid || need_event(ring_load16(used_event_ptr(vq)), vq->used_idx, old);
	}
	if (ret)
		vq->stats.interrupts++;
	else
		vq->stats.interrupts_suppressed++;
	return ret;
}

void virtq_disable_notify(struct virtq *vq)
{
	vq->notify_enabled = false;
	if (!virtq_ready(vq) || has(vq, VIRTIO_RING_F_EVENT_IDX))
		return;
	ring_store16(vq->used + USED_FLAGS,
		     ring_load16(vq->used + USED_FLAGS) | VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtq *vq)
{
	vq->notify_enabled = true;
	if (!virtq_ready(vq))
		return false;
	if (has(vq, VIRTIO_RING_F_EVENT_IDX))
		ring_store16(avail_event_ptr(vq), ring_load16(vq->avail + AVAIL_IDX));
	else
		ring_store16(vq->used + USED_FLAGS,
			     ring_load16(vq->used + USED_FLAGS) & ~VIRTQ_USED_F_NO_NOTIFY);
	/* Our flag or event before the driver's index: else a chain added in
	 * between would get neither a kick nor a look. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* A failure found here is reported by the next pop: say "look again". */
	return refresh_avail(vq) != 0;
}

size_t virtq_iov_read(const struct iovec *iov, unsigned nr, size_t off, void *buf, size_t len)
{
	struct virtq_iter it;

	virtq_iter_init(&it, iov, nr);
	virtq_iter_skip(&it, off);
	if (len > it.left)
		len = it.left;
	virtq_iter_take(&it, buf, len);
	return len;
}

size_t virtq_iov_write(const struct iovec *iov, unsigned nr, size_t off, const void *buf,
		       size_t len)
{
	struct virtq_iter it;

	virtq_iter_init(&it, iov, nr);
	virtq_iter_skip(&it, off);
	if (len > it.left)
		len = it.left;
	virtq_iter_put(&it, buf, len);
	return len;
}

void virtq_iter_init(struct virtq_iter *it, const struct iovec *iov, unsigned nr)
{
	*it = (struct virtq_iter){.iov = iov, .nr = nr};
	for (unsigned i = 0; i < nr; i++)
		it->left =
		    iov[i].iov_len > SIZE_MAX - it->left ? SIZE_MAX : it->left + iov[i].iov_len;
}

/* Copies len <= it->left bytes between the cursor and buf, advancing. */
static void iter_copy(struct virtq_iter *it, uint8_t *buf, size_t len, bool to_iov)
{
	while (len && it->i < it->nr) {
		const struct iovec *v;
		size_t chunk;

		/* Empty entries are stepped over; len <= left keeps i < nr. */
		while (it->i < it->nr - 1 && it->iov[it->i].iov_len == it->off) {
			it->i++;
			it->off = 0;
		}
		v = &it->iov[it->i];
		chunk = v->iov_len - it->off;
		if (chunk > len)
			chunk = len;
		if (to_iov)
			memcpy((uint8_t *)v->iov_base + it->off, buf, chunk);
		else
			memcpy(buf, (const uint8_t *)v->iov_base + it->off, chunk);
		buf += chunk;
		len -= chunk;
		virtq_iter_skip(it, chunk);
	}
}

bool virtq_iter_take(struct virtq_iter *it, void *buf, size_t len)
{
	if (len > it->left)
		return false;
	iter_copy(it, buf, len, false);
	return true;
}

bool virtq_iter_put(struct virtq_iter *it, const void *buf, size_t len)
{
	if (len > it->left)
		return false;
	iter_copy(it, (uint8_t *)buf, len, true);
	return true;
}

size_t virtq_iter_skip(struct virtq_iter *it, size_t len)
{
	size_t done = 0;

	while (done < len && it->i < it->nr) {
		size_t chunk = it->iov[it->i].iov_len - it->off;

		if (chunk > len - done)
			chunk = len - done;
		it->off += chunk;
		done += chunk;
		if (it->off == it->iov[it->i].iov_len) {
			it->i++;
			it->off = 0;
		}
	}
	it->left -= done;
	return done;
}

int virtq_iter_slice(struct virtq_iter *it, size_t len, struct iovec *out, unsigned max,
		     unsigned *nr)
{
	struct virtq_iter probe = *it;
	unsigned n = 0;

	*nr = 0;
	if (len > it->left)
		return -ERANGE;
	while (len && probe.i < probe.nr) {
		const struct iovec *v;
		size_t chunk;

		/* Skip empty entries: they would only use up out[]. */
		while (probe.i < probe.nr - 1 && probe.iov[probe.i].iov_len == probe.off) {
			probe.i++;
			probe.off = 0;
		}
		v = &probe.iov[probe.i];
		chunk = v->iov_len - probe.off;
		if (chunk > len)
			chunk = len;
		if (n == max)
			return -ENOBUFS;
		out[n].iov_base = (uint8_t *)v->iov_base + probe.off;
		out[n].iov_len = chunk;
		n++;
		len -= chunk;
		virtq_iter_skip(&probe, chunk);
	}
	*it = probe;
	*nr = n;
	return 0;
}
