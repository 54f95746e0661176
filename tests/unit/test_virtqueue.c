// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The split virtqueue against good and hostile rings in a fake guest RAM laid
 * out like the machine's, scaled down:
 *   [0, 0x10000)              "low"   RAM
 *   [0x10000, 0x20000)        "mid"   RAM, adjacent to low (a buffer across
 *                                     the boundary becomes two iovecs)
 *   hole up to 4 GiB - 4 KiB
 *   [4 GiB - 4 KiB, 4 GiB)    "bios"  read-only
 *   [4 GiB, 4 GiB + 1 MiB)    "high"  RAM (64-bit addresses)
 * The test plays the driver: it writes descriptors and the avail ring and
 * reads the used ring through guest_mem, as a guest would see them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/virtqueue.h"
#include "vmm/le.h"

#define LOW_SIZE  0x10000ULL
#define MID_BASE  0x10000ULL
#define MID_SIZE  0x10000ULL
#define RAM_END	  0x20000ULL
#define ROM_SIZE  0x1000ULL
#define ROM_BASE  (0x100000000ULL - ROM_SIZE)
#define HIGH_BASE 0x100000000ULL
#define HIGH_SIZE 0x100000ULL

/* The default queue: 8 entries in low RAM. */
#define QSIZE	8
#define Q_DESC	0x1000ULL
#define Q_AVAIL 0x2000ULL
#define Q_USED	0x3000ULL

#define F_INDIRECT  (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_NOE	    (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY)

#define NEXT  VIRTQ_DESC_F_NEXT
#define WRITE VIRTQ_DESC_F_WRITE
#define INDIR VIRTQ_DESC_F_INDIRECT

#define MAX_IOV 16

struct fx {
	struct guest_mem mem;
	uint8_t *low, *mid, *rom, *high;
	struct virtq vq;
	/* the driver's side */
	uint64_t desc, avail, used;
	uint16_t size, avail_idx;
	struct iovec iov[MAX_IOV];
	struct virtq_chain c;
};

static uint8_t *region(size_t size)
{
	uint8_t *p = aligned_alloc(4096, size);

	assert_non_null(p);
	memset(p, 0, size);
	return p;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->low = region(LOW_SIZE);
	f->mid = region(MID_SIZE);
	f->rom = region(ROM_SIZE);
	f->high = region(HIGH_SIZE);
	if (guest_mem_add(&f->mem, 0, LOW_SIZE, f->low, false, "low") ||
	    guest_mem_add(&f->mem, MID_BASE, MID_SIZE, f->mid, false, "mid") ||
	    guest_mem_add(&f->mem, ROM_BASE, ROM_SIZE, f->rom, true, "bios") ||
	    guest_mem_add(&f->mem, HIGH_BASE, HIGH_SIZE, f->high, false, "high"))
		return -1;
	virtq_init(&f->vq, &f->mem);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->low);
	free(f->mid);
	free(f->rom);
	free(f->high);
	free(f);
	return 0;
}

/* The guest's memory accesses. */
static void w16(struct fx *f, uint64_t gpa, uint16_t v)
{
	uint8_t b[2];

	le16_put(b, v);
	assert_int_equal(guest_mem_write(&f->mem, gpa, b, 2), 0);
}

static uint16_t r16(struct fx *f, uint64_t gpa)
{
	uint8_t b[2];

	assert_int_equal(guest_mem_read(&f->mem, gpa, b, 2), 0);
	return le16_get(b);
}

static uint32_t r32(struct fx *f, uint64_t gpa)
{
	uint8_t b[4];

	assert_int_equal(guest_mem_read(&f->mem, gpa, b, 4), 0);
	return le32_get(b);
}

/* Descriptor i of the table at gpa (the ring's or an indirect one). */
static void desc_at(struct fx *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	le64_put(d, addr);
	le32_put(d + 8, len);
	le16_put(d + 12, flags);
	le16_put(d + 14, next);
	assert_int_equal(guest_mem_write(&f->mem, table + 16ULL * i, d, 16), 0);
}

static void desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	desc_at(f, f->desc, i, addr, len, flags, next);
}

static void set_avail_idx(struct fx *f, uint16_t idx)
{
	f->avail_idx = idx;
	w16(f, f->avail + 2, idx);
}

/* Puts head in the avail ring and publishes it. */
static void offer(struct fx *f, uint16_t head)
{
	w16(f, f->avail + 4 + 2ULL * (f->avail_idx % f->size), head);
	set_avail_idx(f, (uint16_t)(f->avail_idx + 1));
}

static uint16_t used_idx(struct fx *f)
{
	return r16(f, f->used + 2);
}

static void used_elem(struct fx *f, uint16_t i, uint32_t *id, uint32_t *len)
{
	*id = r32(f, f->used + 4 + 8ULL * (i % f->size));
	*len = r32(f, f->used + 8 + 8ULL * (i % f->size));
}

static void set_used_event(struct fx *f, uint16_t v)
{
	w16(f, f->avail + 4 + 2ULL * f->size, v);
}

static uint16_t avail_event(struct fx *f)
{
	return r16(f, f->used + 4 + 8ULL * f->size);
}

static void queue_at(struct fx *f, uint16_t size, uint64_t d, uint64_t a, uint64_t u,
		     uint64_t features)
{
	f->size = size;
	f->desc = d;
	f->avail = a;
	f->used = u;
	f->avail_idx = 0;
	assert_int_equal(virtq_setup(&f->vq, size, d, a, u, features), 0);
}

static void queue(struct fx *f, uint64_t features)
{
	queue_at(f, QSIZE, Q_DESC, Q_AVAIL, Q_USED, features);
}

static int pop(struct fx *f)
{
	return virtq_pop(&f->vq, &f->c, f->iov, MAX_IOV);
}

/* Pops a chain that must be refused for err; it is completed with length 0. */
static void pop_bad(struct fx *f, uint16_t head, enum virtq_err err)
{
	uint16_t u = used_idx(f);

	assert_int_equal(pop(f), -EBADMSG);
	assert_int_equal(f->c.error, err);
	assert_int_equal(f->c.head, head);
	assert_int_equal(f->c.nr_out + f->c.nr_in, 0);
	assert_true(virtq_ready(&f->vq)); /* the queue itself goes on */
	assert_int_equal(virtq_push(&f->vq, head, 0), 0);
	assert_int_equal(used_idx(f), (uint16_t)(u + 1));
}

/* ---- setup ---- */

static void test_setup_sizes_and_alignment(void **state)
{
	struct fx *f = *state;
	struct virtq *vq = &f->vq;

	assert_false(virtq_ready(vq));
	assert_int_equal(pop(f), 0); /* not set up: nothing */
	assert_int_equal(virtq_push(vq, 0, 0), -EPROTO);
	assert_false(virtq_need_interrupt(vq));

	assert_int_equal(virtq_setup(vq, 0, Q_DESC, Q_AVAIL, Q_USED, 0), -EINVAL);
	assert_int_equal(virtq_setup(vq, 3, Q_DESC, Q_AVAIL, Q_USED, 0), -EINVAL);
	assert_int_equal(virtq_setup(vq, 65535, Q_DESC, Q_AVAIL, Q_USED, 0), -EINVAL);
	assert_int_equal(virtq_setup(vq, 48, Q_DESC, Q_AVAIL, Q_USED, 0), -EINVAL);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC + 8, Q_AVAIL, Q_USED, 0), -EINVAL);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, Q_AVAIL + 1, Q_USED, 0), -EINVAL);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, Q_AVAIL, Q_USED + 2, 0), -EINVAL);
	assert_false(virtq_ready(vq));
	/* 1 and the largest size are fine (32768 fills 832 KiB of high RAM). */
	assert_int_equal(virtq_setup(vq, 1, Q_DESC, Q_AVAIL, Q_USED, 0), 0);
	assert_true(virtq_ready(vq));
	assert_int_equal(
	    virtq_setup(vq, VIRTQ_MAX_SIZE, HIGH_BASE, HIGH_BASE + 0x80000, HIGH_BASE + 0xa0000, 0),
	    0);
	assert_true(virtq_ready(vq));
	virtq_reset(vq);
	assert_false(virtq_ready(vq));
	assert_int_equal(pop(f), 0);
}

static void test_setup_ring_outside_ram(void **state)
{
	struct fx *f = *state;
	struct virtq *vq = &f->vq;

	/* Each ring must lie wholly in RAM, event fields included. */
	assert_int_equal(virtq_setup(vq, 8, RAM_END - 0x70, Q_AVAIL, Q_USED, 0), -EFAULT);
	assert_int_equal(virtq_setup(vq, 8, RAM_END - 0x80, Q_AVAIL, Q_USED, 0), 0);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, RAM_END - 22, Q_USED, 0), 0);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, RAM_END - 20, Q_USED, 0), -EFAULT);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, Q_AVAIL, RAM_END - 72, 0), 0);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, Q_AVAIL, RAM_END - 68, 0), -EFAULT);
	assert_false(virtq_ready(vq));
	/* In the hole, beyond RAM, past 2^64. */
	assert_int_equal(virtq_setup(vq, 8, 0x80000000ULL, Q_AVAIL, Q_USED, 0), -EFAULT);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, HIGH_BASE + HIGH_SIZE, Q_USED, 0), -EFAULT);
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, Q_AVAIL, UINT64_MAX - 3, 0), -EFAULT);
	/* Across two regions (a ring is one mapping): low/mid, bios/high. */
	assert_int_equal(virtq_setup(vq, 8, MID_BASE - 0x40, Q_AVAIL, Q_USED, 0), -EFAULT);
	assert_int_equal(virtq_setup(vq, 8, HIGH_BASE - 0x40, Q_AVAIL, Q_USED, 0), -EFAULT);
	/* The used ring is written: not in ROM; the others may be read from it. */
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, Q_AVAIL, ROM_BASE, 0), -EFAULT);
	assert_int_equal(virtq_setup(vq, 8, ROM_BASE, ROM_BASE + 0x800, Q_USED, 0), 0);
	assert_true(virtq_ready(vq));
	/* A failed setup leaves the queue not set up, even if it was before. */
	assert_int_equal(virtq_setup(vq, 8, Q_DESC, Q_AVAIL, ROM_BASE, 0), -EFAULT);
	assert_false(virtq_ready(vq));
}

static void test_legacy_layout(void **state)
{
	struct fx *f = *state;
	struct virtq *vq = &f->vq;

	/* vring_size(num, 4096) as the legacy drivers compute it. */
	assert_int_equal(virtq_legacy_used_offset(256), 8192);
	assert_int_equal(virtq_legacy_ring_size(256), 8192 + 6 + 8 * 256);
	assert_int_equal(virtq_legacy_used_offset(128), 4096);
	assert_int_equal(virtq_legacy_ring_size(128), 4096 + 6 + 8 * 128);
	assert_int_equal(virtq_legacy_used_offset(1), 4096);
	assert_int_equal(virtq_legacy_used_offset(VIRTQ_MAX_SIZE), 0x91000);
	/* 16·N + 2·(3 + N) = 4096 + 518 for 256: just past a page. */
	assert_int_equal(virtq_legacy_used_offset(227), 4096);
	assert_int_equal(virtq_legacy_used_offset(228), 8192);

	assert_int_equal(virtq_setup_legacy(vq, 256, 0, 0), -EINVAL); /* PFN 0: delete */
	assert_int_equal(virtq_setup_legacy(vq, 100, 4, 0), -EINVAL);
	/* The ring's end (10246 bytes) must be in RAM. */
	assert_int_equal(virtq_setup_legacy(vq, 256, (RAM_END - 0x2000) >> 12, 0), -EFAULT);
	assert_int_equal(virtq_setup_legacy(vq, 256, (RAM_END - 0x3000) >> 12, 0), 0);
	/* A 32-bit PFN reaches above 4 GiB. */
	assert_int_equal(virtq_setup_legacy(vq, 256, HIGH_BASE >> 12, 0), 0);
	assert_int_equal(vq->desc_gpa, HIGH_BASE);
	assert_int_equal(vq->avail_gpa, HIGH_BASE + 4096);
	assert_int_equal(vq->used_gpa, HIGH_BASE + 8192);

	/* A chain through the legacy layout, completed where the driver looks. */
	f->size = 256;
	f->desc = HIGH_BASE;
	f->avail = HIGH_BASE + 4096;
	f->used = HIGH_BASE + 8192;
	f->avail_idx = 0;
	desc(f, 200, 0x5000, 64, WRITE, 0);
	offer(f, 200);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 200);
	assert_int_equal(f->c.in_len, 64);
	assert_int_equal(virtq_push(vq, 200, 64), 0);
	assert_int_equal(used_idx(f), 1);
	uint32_t id, len;
	used_elem(f, 0, &id, &len);
	assert_int_equal(id, 200);
	assert_int_equal(len, 64);
}

/* ---- good chains ---- */

static void test_direct_chain(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	queue(f, 0);
	/* virtio-blk shaped: header out, data in, status in; heads not in order */
	desc(f, 5, 0x8000, 16, NEXT, 2);
	desc(f, 2, 0x9000, 512, NEXT | WRITE, 7);
	desc(f, 7, 0x9200, 1, WRITE, 0);
	offer(f, 5);
	assert_int_equal(virtq_pending(&f->vq), 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.error, VIRTQ_OK);
	assert_int_equal(f->c.head, 5);
	assert_int_equal(f->c.nr_out, 1);
	assert_int_equal(f->c.nr_in, 2);
	assert_int_equal(f->c.out_len, 16);
	assert_int_equal(f->c.in_len, 513);
	assert_int_equal(f->c.nr_desc, 3);
	assert_false(f->c.indirect);
	assert_ptr_equal(f->iov[0].iov_base, f->low + 0x8000);
	assert_int_equal(f->iov[0].iov_len, 16);
	assert_ptr_equal(f->iov[1].iov_base, f->low + 0x9000);
	assert_int_equal(f->iov[1].iov_len, 512);
	assert_ptr_equal(f->iov[2].iov_base, f->low + 0x9200);
	assert_int_equal(f->iov[2].iov_len, 1);
	assert_int_equal(pop(f), 0);
	assert_int_equal(virtq_pending(&f->vq), 0);

	assert_int_equal(used_idx(f), 0);
	assert_int_equal(virtq_push(&f->vq, 5, 513), 0);
	assert_int_equal(used_idx(f), 1);
	used_elem(f, 0, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 513);
	assert_int_equal(virtq_push(&f->vq, QSIZE, 0), -EINVAL);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(f->vq.stats.pops, 1);
	assert_int_equal(f->vq.stats.pushes, 1);
}

static void test_buffer_across_regions(void **state)
{
	struct fx *f = *state;

	queue(f, 0);
	/* low|mid are adjacent: one descriptor, two iovecs. */
	desc(f, 0, MID_BASE - 100, 300, WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.nr_in, 2);
	assert_int_equal(f->c.in_len, 300);
	assert_ptr_equal(f->iov[0].iov_base, f->low + LOW_SIZE - 100);
	assert_int_equal(f->iov[0].iov_len, 100);
	assert_ptr_equal(f->iov[1].iov_base, f->mid);
	assert_int_equal(f->iov[1].iov_len, 200);
	assert_int_equal(virtq_push(&f->vq, 0, 300), 0);

	/* bios|high: readable across 4 GiB, but never writable into ROM. */
	desc(f, 1, ROM_BASE + ROM_SIZE - 8, 16, 0, 0);
	offer(f, 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.nr_out, 2);
	assert_ptr_equal(f->iov[0].iov_base, f->rom + ROM_SIZE - 8);
	assert_ptr_equal(f->iov[1].iov_base, f->high);
	assert_int_equal(virtq_push(&f->vq, 1, 0), 0);
	desc(f, 1, ROM_BASE + ROM_SIZE - 8, 16, WRITE, 0);
	offer(f, 1);
	pop_bad(f, 1, VIRTQ_ERR_ADDR);

	/* The caller's capacity counts iovecs, not descriptors. */
	desc(f, 0, MID_BASE - 100, 300, WRITE, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, f->iov, 1), -EBADMSG);
	assert_int_equal(f->c.error, VIRTQ_ERR_IOV_FULL);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	uint64_t table = HIGH_BASE + 0x10000;

	queue(f, 0); /* INDIRECT_DESC not negotiated: accepted anyway (viostor 52) */
	/* The table's descriptor: INDIRECT only; its WRITE flag is meaningless. */
	desc(f, 3, table, 3 * 16, INDIR | WRITE, 0);
	desc_at(f, table, 0, HIGH_BASE + 0x20000, 16, NEXT, 2);
	desc_at(f, table, 2, HIGH_BASE + 0x30000, 4096, NEXT, 1);
	desc_at(f, table, 1, 0xff00, 0x200, WRITE, 0); /* low|mid: 2 iovecs */
	offer(f, 3);
	assert_int_equal(pop(f), 1);
	assert_true(f->c.indirect);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(f->c.nr_desc, 4);
	assert_int_equal(f->c.nr_out, 2);
	assert_int_equal(f->c.nr_in, 2);
	assert_int_equal(f->c.out_len, 16 + 4096);
	assert_int_equal(f->c.in_len, 0x200);
	assert_ptr_equal(f->iov[0].iov_base, f->high + 0x20000);
	assert_ptr_equal(f->iov[1].iov_base, f->high + 0x30000);
	assert_ptr_equal(f->iov[2].iov_base, f->low + 0xff00);
	assert_ptr_equal(f->iov[3].iov_base, f->mid);
	assert_int_equal(f->vq.stats.indirect_chains, 1);
	assert_int_equal(f->vq.stats.indirect_unnegotiated, 1);
	assert_int_equal(virtq_push(&f->vq, 3, 0x200), 0);

	/* Negotiated this time; and a direct chain may end in a table. */
	virtq_set_features(&f->vq, F_INDIRECT);
	desc(f, 0, 0x8000, 16, NEXT, 1);
	desc(f, 1, table, 16, INDIR, 0);
	desc_at(f, table, 0, 0x9000, 1, WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.nr_out, 1);
	assert_int_equal(f->c.nr_in, 1);
	assert_int_equal(f->c.nr_desc, 3);
	assert_int_equal(f->vq.stats.indirect_chains, 2);
	assert_int_equal(f->vq.stats.indirect_unnegotiated, 1);
	assert_int_equal(virtq_push(&f->vq, 0, 1), 0);

	/* A table across two regions is read descriptor by descriptor. */
	uint64_t split = MID_BASE - 8; /* descriptor 0 straddles low|mid */

	desc(f, 0, split, 32, INDIR, 0);
	desc_at(f, split, 0, 0x8000, 8, NEXT, 1);
	desc_at(f, split, 1, 0x9000, 8, WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.nr_out, 1);
	assert_int_equal(f->c.nr_in, 1);
	assert_ptr_equal(f->iov[1].iov_base, f->low + 0x9000);
}

/* viostor 52: the table's chain has NEXT cleared and next = 0 at its end,
 * and up to 66 entries. */
static void test_indirect_long_table(void **state)
{
	struct fx *f = *state;
	uint64_t table = HIGH_BASE + 0x40000;
	struct iovec iov[80];

	queue(f, 0);
	for (unsigned i = 0; i < 66; i++)
		desc_at(f, table, i, HIGH_BASE + 0x50000 + 512ULL * i, i == 0 ? 16 : 512,
			(i < 65 ? NEXT : 0) | (i ? WRITE : 0), i < 65 ? i + 1 : 0);
	desc(f, 0, table, 66 * 16, INDIR, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, iov, 80), 1);
	assert_int_equal(f->c.nr_out, 1);
	assert_int_equal(f->c.nr_in, 65);
	assert_int_equal(f->c.in_len, 65 * 512);
	/* Longer than the queue (8) is fine inside a table: its bound is its length. */
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, iov, 65), -EBADMSG);
	assert_int_equal(f->c.error, VIRTQ_ERR_IOV_FULL);
}

static void test_index_wrap(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	queue_at(f, 4, Q_DESC, Q_AVAIL, Q_USED, 0);
	for (unsigned i = 0; i < 4; i++)
		desc(f, i, 0x8000 + 0x100 * i, 0x10 + i, WRITE, 0);
	/* Past 65535 twice, two chains outstanding at a time. */
	for (unsigned n = 0; n < 2 * 65536 + 7; n++) {
		uint16_t head = n % 4;

		offer(f, head);
		if (n % 2 == 0)
			continue;
		assert_int_equal(virtq_pending(&f->vq), 2);
		for (unsigned k = 0; k < 2; k++) {
			uint16_t want = (n - 1 + k) % 4;

			assert_int_equal(pop(f), 1);
			assert_int_equal(f->c.head, want);
			assert_int_equal(f->c.in_len, 0x10 + want);
			assert_int_equal(virtq_push(&f->vq, want, 0x10 + want), 0);
		}
		assert_int_equal(pop(f), 0);
		assert_int_equal(used_idx(f), (uint16_t)(n + 1));
	}
	used_elem(f, (uint16_t)(2 * 65536 + 5), &id, &len);
	assert_int_equal(id, (2 * 65536 + 5) % 4);
	assert_int_equal(len, 0x10 + id);
	assert_true(virtq_ready(&f->vq));
}

/* ---- hostile chains ---- */

static void test_descriptor_loops(void **state)
{
	struct fx *f = *state;
	uint64_t table = HIGH_BASE + 0x10000;

	queue(f, 0);
	desc(f, 0, 0x8000, 1, NEXT, 0); /* itself */
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_LOOP);
	desc(f, 0, 0x8000, 1, NEXT, 1);
	desc(f, 1, 0x8000, 1, NEXT, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_LOOP);
	/* Zero-length descriptors make no iovecs: the hop limit still ends the loop. */
	desc(f, 0, 0x8000, 0, NEXT, 1);
	desc(f, 1, 0x8000, 0, NEXT, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_LOOP);
	assert_int_equal(f->c.nr_desc, QSIZE);

	/* Exactly queue-size descriptors is a chain, not a loop. */
	for (unsigned i = 0; i < QSIZE; i++)
		desc(f, i, 0x8000 + i, 1, i < QSIZE - 1 ? NEXT : 0, i + 1);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.nr_desc, QSIZE);
	assert_int_equal(f->c.out_len, QSIZE);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);

	/* In a table: bounded by its length. */
	desc(f, 0, table, 4 * 16, INDIR, 0);
	desc_at(f, table, 0, 0x8000, 1, NEXT, 1);
	desc_at(f, table, 1, 0x8000, 1, NEXT, 2);
	desc_at(f, table, 2, 0x8000, 1, NEXT, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_LOOP);
	assert_int_equal(f->c.nr_desc, 1 + 4);
}

static void test_out_of_range_indices(void **state)
{
	struct fx *f = *state;
	uint64_t table = HIGH_BASE + 0x10000;

	queue(f, 0);
	desc(f, 0, 0x8000, 1, NEXT, QSIZE);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_NEXT);
	desc(f, 0, 0x8000, 1, NEXT, 0xffff);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_NEXT);
	/* next is only followed with NEXT set: a stray value is fine. */
	desc(f, 0, 0x8000, 1, 0, 0xffff);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	/* A table's next must stay inside the table (even where the ring is larger). */
	desc(f, 0, table, 2 * 16, INDIR, 0);
	desc_at(f, table, 0, 0x8000, 1, NEXT, 2);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_NEXT);

	/* A head out of range cannot be completed: the queue fails. */
	offer(f, QSIZE);
	assert_int_equal(pop(f), -EPROTO);
	assert_int_equal(virtq_error(&f->vq), VIRTQ_ERR_HEAD);
	assert_false(virtq_ready(&f->vq));
	assert_int_equal(pop(f), -EPROTO);
	assert_int_equal(virtq_pending(&f->vq), -EPROTO);
	assert_int_equal(virtq_push(&f->vq, 0, 0), -EPROTO);
	assert_false(virtq_need_interrupt(&f->vq));
	assert_false(virtq_enable_notify(&f->vq));
	/* Until the transport resets and sets it up again. */
	virtq_reset(&f->vq);
	assert_int_equal(virtq_error(&f->vq), VIRTQ_OK);
	memset(f->low + Q_AVAIL, 0, 0x2000);
	queue(f, 0);
	desc(f, 0, 0x8000, 1, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
}

static void test_indirect_rules(void **state)
{
	struct fx *f = *state;
	uint64_t table = HIGH_BASE + 0x10000, inner = HIGH_BASE + 0x11000;

	queue(f, F_INDIRECT);
	/* A table inside a table. */
	desc(f, 0, table, 2 * 16, INDIR, 0);
	desc_at(f, table, 0, 0x8000, 1, NEXT, 1);
	desc_at(f, table, 1, inner, 16, INDIR, 0);
	desc_at(f, inner, 0, 0x8000, 1, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_NESTED);
	desc_at(f, table, 0, inner, 16, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_NESTED);
	/* INDIRECT with NEXT: which comes first would be a guess. */
	desc(f, 0, table, 16, INDIR | NEXT, 1);
	desc(f, 1, 0x8000, 1, 0, 0);
	desc_at(f, table, 0, 0x8000, 1, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_NEXT);
	/* Table lengths: 0, not a multiple of 16, longer than accepted. */
	desc(f, 0, table, 0, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_LEN);
	desc(f, 0, table, 17, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_LEN);
	desc(f, 0, table, 8, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_LEN);
	desc(f, 0, HIGH_BASE, (VIRTQ_MAX_INDIRECT + 1) * 16, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_LEN);
	desc(f, 0, HIGH_BASE, 0xfffffff0, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_INDIRECT_LEN);
	/* The whole table in RAM, whatever the chain uses of it. */
	desc_at(f, HIGH_BASE + HIGH_SIZE - 16, 0, 0x8000, 1, 0, 0);
	desc(f, 0, HIGH_BASE + HIGH_SIZE - 16, 32, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	desc(f, 0, RAM_END - 16, 32, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	desc(f, 0, 0x40000000, 16, INDIR, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	/* A table in the BIOS ROM is only read: fine. */
	memset(f->rom, 0, 16);
	f->rom[8] = 4; /* len 4, flags 0, at address 0 */
	desc(f, 0, ROM_BASE, 16, INDIR, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.out_len, 4);
	assert_ptr_equal(f->iov[0].iov_base, f->low);
	assert_int_equal(f->vq.stats.bad_chains, 11);
}

static void test_lengths(void **state)
{
	struct fx *f = *state;

	queue(f, 0);
	/* Zero-length descriptors are allowed and make no iovec, wherever they point. */
	desc(f, 0, 0x8000, 0, NEXT, 1);
	desc(f, 1, 0xdead0000000ULL, 0, NEXT, 2);
	desc(f, 2, 0x9000, 4, WRITE | NEXT, 3);
	desc(f, 3, 0, 0, WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.nr_out, 0);
	assert_int_equal(f->c.nr_in, 1);
	assert_int_equal(f->c.in_len, 4);
	assert_int_equal(f->c.nr_desc, 4);
	assert_int_equal(virtq_push(&f->vq, 0, 4), 0);

	/* The total must stay below 2^32 (the used length is 32 bits): 4097
	 * descriptors of 1 MiB each, all over the same high RAM. */
	static struct iovec big[4100];
	uint64_t table = HIGH_BASE;

	for (unsigned i = 0; i < 4097; i++)
		desc_at(f, table, i, HIGH_BASE, HIGH_SIZE, i < 4096 ? NEXT : 0, i + 1);
	desc(f, 0, table, 4097 * 16, INDIR, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, big, 4100), -EBADMSG);
	assert_int_equal(f->c.error, VIRTQ_ERR_TOO_LONG);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	/* One less descriptor: exactly 4 GiB, still one byte too long. */
	desc_at(f, table, 4095, HIGH_BASE, HIGH_SIZE, 0, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, big, 4100), -EBADMSG);
	assert_int_equal(f->c.error, VIRTQ_ERR_TOO_LONG);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	/* 4 GiB - 1 bytes: the largest total accepted. */
	desc_at(f, table, 4094, HIGH_BASE, HIGH_SIZE - 1, NEXT, 4095);
	desc_at(f, table, 4095, HIGH_BASE, HIGH_SIZE, 0, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, big, 4100), 1);
	assert_int_equal(f->c.out_len, UINT32_MAX);
	assert_int_equal(f->c.nr_out, 4096);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	/* Huge but in range of the counter: refused for its address instead. */
	desc(f, 0, 0, 0xffffffff, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	/* Address + length past 2^64. */
	desc(f, 0, UINT64_MAX - 7, 16, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
}

static void test_buffers_outside_ram(void **state)
{
	struct fx *f = *state;

	queue(f, 0);
	/* Straddling the end of low RAM (mid ends at RAM_END) into the hole. */
	desc(f, 0, RAM_END - 8, 16, WRITE, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	desc(f, 0, RAM_END - 8, 8, WRITE, 0); /* ending exactly at the end: fine */
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	/* The end of high RAM. */
	desc(f, 0, HIGH_BASE + HIGH_SIZE - 1, 2, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	/* Crossing the hole below 4 GiB, into the BIOS and on into high RAM. */
	desc(f, 0, ROM_BASE - 0x100, 0x1100 + 0x100, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	/* All in the hole; past 2^64 is covered by test_lengths. */
	desc(f, 0, 0xc0000000, 512, WRITE, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
	/* A good descriptor before a bad one: the chain is refused as a whole. */
	desc(f, 0, 0x8000, 16, NEXT, 1);
	desc(f, 1, 0xc0000000, 512, WRITE, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ADDR);
}

static void test_avail_index_jump(void **state)
{
	struct fx *f = *state;

	queue(f, 0);
	for (unsigned i = 0; i < QSIZE; i++)
		desc(f, i, 0x8000, 1, 0, 0);
	/* Exactly the queue size outstanding is legal. */
	for (unsigned i = 0; i < QSIZE; i++)
		offer(f, i);
	assert_int_equal(virtq_pending(&f->vq), QSIZE);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pop(f), 1);
		assert_int_equal(virtq_push(&f->vq, f->c.head, 0), 0);
	}
	/* 3 popped: the index may go to 3 + size, not one further. */
	set_avail_idx(f, 3 + QSIZE);
	assert_int_equal(virtq_pending(&f->vq), QSIZE);
	set_avail_idx(f, 3 + QSIZE + 1);
	assert_int_equal(virtq_pending(&f->vq), -EPROTO);
	assert_int_equal(virtq_error(&f->vq), VIRTQ_ERR_AVAIL_IDX);
	assert_int_equal(pop(f), -EPROTO);
	assert_int_equal(virtq_push(&f->vq, 0, 0), -EPROTO);

	/* Found by a pop. */
	queue(f, 0);
	set_avail_idx(f, QSIZE + 1);
	assert_int_equal(pop(f), -EPROTO);
	assert_int_equal(virtq_error(&f->vq), VIRTQ_ERR_AVAIL_IDX);

	/* A backwards step is a jump of nearly 2^16. */
	queue(f, 0);
	set_avail_idx(f, 2);
	assert_int_equal(pop(f), 1);
	assert_int_equal(pop(f), 1);
	set_avail_idx(f, 1);
	assert_int_equal(pop(f), -EPROTO);
	assert_int_equal(virtq_error(&f->vq), VIRTQ_ERR_AVAIL_IDX);

	/* Found by virtq_enable_notify(): "look again", and the pop reports it. */
	queue(f, 0);
	virtq_disable_notify(&f->vq);
	set_avail_idx(f, 0x8000);
	assert_true(virtq_enable_notify(&f->vq));
	assert_int_equal(virtq_error(&f->vq), VIRTQ_ERR_AVAIL_IDX);
	assert_int_equal(pop(f), -EPROTO);
	assert_false(virtq_enable_notify(&f->vq));
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;
	uint64_t table = HIGH_BASE + 0x10000;

	queue(f, 0);
	desc(f, 0, 0x8000, 16, NEXT, 1);
	desc(f, 1, 0x9000, 16, WRITE | NEXT, 2);
	desc(f, 2, 0xa000, 16, NEXT, 3);
	desc(f, 3, 0xb000, 1, WRITE, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ORDER);
	/* A zero-length writable descriptor counts too. */
	desc(f, 1, 0x9000, 0, WRITE | NEXT, 2);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ORDER);
	/* Across the step into an indirect table. */
	desc(f, 0, 0x8000, 16, WRITE | NEXT, 1);
	desc(f, 1, table, 16, INDIR, 0);
	desc_at(f, table, 0, 0x9000, 16, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ORDER);
	/* Inside a table. */
	desc(f, 0, table, 32, INDIR, 0);
	desc_at(f, table, 0, 0x9000, 16, WRITE | NEXT, 1);
	desc_at(f, table, 1, 0x9000, 16, 0, 0);
	offer(f, 0);
	pop_bad(f, 0, VIRTQ_ERR_ORDER);
	/* Only writable, or only readable: fine. */
	desc(f, 0, 0x9000, 16, WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.nr_out, 0);
	assert_int_equal(f->c.nr_in, 1);
}

static void test_iov_capacity(void **state)
{
	struct fx *f = *state;
	struct iovec iov[4];

	queue(f, 0);
	for (unsigned i = 0; i < 5; i++)
		desc(f, i, 0x8000 + 0x10 * i, 0x10, i < 4 ? NEXT : 0, i + 1);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, iov, 4), -EBADMSG);
	assert_int_equal(f->c.error, VIRTQ_ERR_IOV_FULL);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	desc(f, 3, 0x8030, 0x10, 0, 0); /* 4 descriptors: exactly the capacity */
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, iov, 4), 1);
	assert_int_equal(f->c.nr_out, 4);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	/* Capacity 0: only an all-empty chain fits. */
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, iov, 0), -EBADMSG);
	assert_int_equal(f->c.error, VIRTQ_ERR_IOV_FULL);
	desc(f, 0, 0x8000, 0, 0, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->c, iov, 0), 1);
}

/* ---- suppression ---- */

static void test_interrupt_flag(void **state)
{
	struct fx *f = *state;

	queue(f, 0);
	desc(f, 0, 0x8000, 1, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	assert_true(virtq_need_interrupt(&f->vq));
	/* NO_INTERRUPT honoured without EVENT_IDX; used_event ignored. */
	w16(f, f->avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(f, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	assert_false(virtq_need_interrupt(&f->vq));
	assert_int_equal(f->vq.stats.interrupts, 1);
	assert_int_equal(f->vq.stats.interrupts_suppressed, 1);
}

static void test_interrupt_event_idx(void **state)
{
	struct fx *f = *state;
	uint16_t start[] = {0, 0xfffd};

	for (unsigned s = 0; s < 2; s++) {
		queue(f, F_EVENT_IDX);
		desc(f, 0, 0x8000, 1, 0, 0);
		/* Bring both indices to start[s] (through the wrap for the second). */
		for (unsigned i = 0; i < start[s]; i++) {
			offer(f, 0);
			assert_int_equal(pop(f), 1);
			assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
		}
		uint16_t u = start[s];

		/* The first decision after setup always interrupts. */
		assert_true(virtq_need_interrupt(&f->vq));
		/* The flag means nothing with EVENT_IDX (viostor sets it anyway). */
		w16(f, f->avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
		/* The driver wants an interrupt once used passes u + 2. */
		set_used_event(f, (uint16_t)(u + 2));
		for (unsigned k = 1; k <= 5; k++) {
			offer(f, 0);
			assert_int_equal(pop(f), 1);
			assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
			/* used idx is now u + k: interrupt when it steps past u + 2. */
			assert_int_equal(virtq_need_interrupt(&f->vq), k == 3);
		}
		/* Several pushes per decision: the step u+5 -> u+8 covers u+6. */
		set_used_event(f, (uint16_t)(u + 6));
		for (unsigned k = 0; k < 3; k++) {
			offer(f, 0);
			assert_int_equal(pop(f), 1);
			assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
		}
		assert_true(virtq_need_interrupt(&f->vq));
		/* No push since the last decision: nothing to tell. */
		assert_false(virtq_need_interrupt(&f->vq));
		/* An event far behind (stale) does not interrupt. */
		set_used_event(f, (uint16_t)(u - 100));
		offer(f, 0);
		assert_int_equal(pop(f), 1);
		assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
		assert_false(virtq_need_interrupt(&f->vq));
	}
	/* Turning EVENT_IDX off mid-flight (a feature rewrite) brings the flag back. */
	virtq_set_features(&f->vq, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	assert_false(virtq_need_interrupt(&f->vq));
	w16(f, f->avail, 0);
	assert_true(virtq_need_interrupt(&f->vq));
}

static void test_notify_on_empty(void **state)
{
	struct fx *f = *state;

	queue(f, F_NOE);
	w16(f, f->avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
	desc(f, 0, 0x8000, 1, 0, 0);
	desc(f, 1, 0x8000, 1, 0, 0);
	offer(f, 0);
	offer(f, 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	assert_false(virtq_need_interrupt(&f->vq)); /* one still available */
	assert_int_equal(pop(f), 1);
	assert_false(virtq_need_interrupt(&f->vq)); /* one in flight */
	assert_int_equal(virtq_push(&f->vq, 1, 0), 0);
	assert_true(virtq_need_interrupt(&f->vq)); /* empty: despite the flag */
}

static void test_notify_suppression(void **state)
{
	struct fx *f = *state;

	/* Without EVENT_IDX: the used ring's NO_NOTIFY flag. */
	queue(f, 0);
	desc(f, 0, 0x8000, 1, 0, 0);
	assert_int_equal(r16(f, f->used), 0);
	virtq_disable_notify(&f->vq);
	assert_int_equal(r16(f, f->used), VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(r16(f, f->used), 0);
	virtq_disable_notify(&f->vq);
	offer(f, 0); /* arrives while the device is not listening */
	assert_true(virtq_enable_notify(&f->vq));
	assert_int_equal(pop(f), 1);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(avail_event(f), 0); /* never written without EVENT_IDX */

	/* With EVENT_IDX: avail_event. */
	queue(f, F_EVENT_IDX);
	w16(f, f->used + 4 + 8ULL * f->size, 0);
	desc(f, 0, 0x8000, 1, 0, 0);
	offer(f, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(avail_event(f), 1); /* kick me for the next one */
	virtq_disable_notify(&f->vq);
	assert_int_equal(r16(f, f->used), 0); /* the flag is not used then */
	assert_int_equal(pop(f), 1);
	assert_int_equal(avail_event(f), 1); /* not moved while disabled */
	offer(f, 0);
	offer(f, 0);
	assert_true(virtq_enable_notify(&f->vq));
	assert_int_equal(avail_event(f), 4);
	assert_int_equal(pop(f), 1);
	assert_int_equal(avail_event(f), 3);
	assert_int_equal(pop(f), 1);
	assert_int_equal(avail_event(f), 4);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(avail_event(f), 4);
	/* The driver's view: it kicks when its step passes avail_event. */
	assert_int_equal(virtq_pending(&f->vq), 0);
}

/* ---- for devices ---- */

static void test_unpop(void **state)
{
	struct fx *f = *state;

	queue(f, 0);
	desc(f, 4, 0x8000, 64, WRITE, 0);
	desc(f, 6, 0x9000, 64, WRITE, 0);
	offer(f, 4);
	offer(f, 6);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 4);
	virtq_unpop(&f->vq);
	assert_int_equal(virtq_pending(&f->vq), 2);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 4);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->c.head, 6);
	assert_int_equal(virtq_push(&f->vq, 4, 0), 0);
	assert_int_equal(virtq_push(&f->vq, 6, 0), 0);
	virtq_unpop(&f->vq); /* nothing in flight: no effect */
	assert_int_equal(pop(f), 0);
}

/* A device that completes later checks the generation it saw at pop: every
 * reset and every setup (the legacy PFN write) moves it on. */
static void test_generation(void **state)
{
	struct fx *f = *state;
	uint32_t g0, g1;

	queue(f, 0);
	desc(f, 0, 0x8000, 64, WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	g0 = f->vq.generation;
	virtq_reset(&f->vq);
	assert_int_not_equal(f->vq.generation, g0);
	g1 = f->vq.generation;
	/* The same rings set up again (viostor's renew after S3): still new. */
	queue(f, 0);
	assert_int_not_equal(f->vq.generation, g0);
	assert_int_not_equal(f->vq.generation, g1);
	g1 = f->vq.generation;
	assert_int_equal(virtq_setup_legacy(&f->vq, QSIZE, 0, 0), -EINVAL);
	assert_int_not_equal(f->vq.generation, g1);
	/* Pops and pushes leave it alone. */
	queue(f, 0);
	g1 = f->vq.generation;
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
	assert_int_equal(f->vq.generation, g1);
}

static void test_iov_helpers(void **state)
{
	uint8_t a[3] = {1, 2, 3}, b[1] = {4}, c[4] = {5, 6, 7, 8}, buf[16];
	struct iovec iov[] = {{a, 3}, {NULL, 0}, {b, 1}, {c, 4}}, out[4];
	struct virtq_iter it;
	unsigned nr;

	memset(buf, 0, sizeof(buf));
	assert_int_equal(virtq_iov_read(iov, 4, 2, buf, 16), 6);
	assert_memory_equal(buf, ((uint8_t[]){3, 4, 5, 6, 7, 8}), 6);
	assert_int_equal(virtq_iov_read(iov, 4, 8, buf, 16), 0);
	assert_int_equal(virtq_iov_read(iov, 4, 100, buf, 16), 0);
	assert_int_equal(virtq_iov_write(iov, 4, 3, (uint8_t[]){9, 9}, 2), 2);
	assert_int_equal(b[0], 9);
	assert_int_equal(c[0], 9);
	assert_int_equal(virtq_iov_write(iov, 4, 7, (uint8_t[]){10, 10}, 2), 1);
	assert_int_equal(c[3], 10);

	virtq_iter_init(&it, iov, 4);
	assert_int_equal(it.left, 8);
	assert_false(virtq_iter_take(&it, buf, 9)); /* all or nothing */
	assert_int_equal(it.left, 8);
	assert_true(virtq_iter_take(&it, buf, 2)); /* a "header" */
	assert_memory_equal(buf, ((uint8_t[]){1, 2}), 2);
	assert_int_equal(virtq_iter_slice(&it, 7, out, 4, &nr), -ERANGE);
	assert_int_equal(virtq_iter_slice(&it, 5, out, 2, &nr), -ENOBUFS);
	assert_int_equal(it.left, 6); /* nothing consumed */
	assert_int_equal(virtq_iter_slice(&it, 5, out, 4, &nr), 0);
	assert_int_equal(nr, 3); /* a[2], b, c[0..3): the empty entry skipped */
	assert_ptr_equal(out[0].iov_base, a + 2);
	assert_int_equal(out[0].iov_len, 1);
	assert_ptr_equal(out[1].iov_base, b);
	assert_ptr_equal(out[2].iov_base, c);
	assert_int_equal(out[2].iov_len, 3);
	assert_true(virtq_iter_put(&it, (uint8_t[]){0xee}, 1)); /* a status byte */
	assert_int_equal(c[3], 0xee);
	assert_int_equal(it.left, 0);
	assert_false(virtq_iter_put(&it, buf, 1));
	assert_true(virtq_iter_take(&it, buf, 0));
	assert_int_equal(virtq_iter_skip(&it, 5), 0);
	virtq_iter_init(&it, iov, 4);
	assert_int_equal(virtq_iter_skip(&it, 100), 8);
	virtq_iter_init(&it, NULL, 0);
	assert_int_equal(it.left, 0);
	assert_false(virtq_iter_take(&it, buf, 1));
}

static void test_chain_through_helpers(void **state)
{
	struct fx *f = *state;
	uint8_t hdr[16], st = 0x5a;
	struct virtq_iter it;
	struct iovec data[4];
	unsigned nr;

	queue(f, 0);
	memset(f->low + 0x8000, 0xab, 16);
	desc(f, 0, 0x8000, 16, NEXT, 1);
	desc(f, 1, MID_BASE - 256, 512, WRITE | NEXT, 2);
	desc(f, 2, 0xa000, 1, WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	virtq_iter_init(&it, f->iov, f->c.nr_out);
	assert_true(virtq_iter_take(&it, hdr, 16));
	assert_int_equal(hdr[15], 0xab);
	virtq_iter_init(&it, f->iov + f->c.nr_out, f->c.nr_in);
	assert_int_equal(virtq_iter_slice(&it, f->c.in_len - 1, data, 4, &nr), 0);
	assert_int_equal(nr, 2);
	assert_true(virtq_iter_put(&it, &st, 1));
	assert_int_equal(f->low[0xa000], 0x5a);
}

static void test_err_str(void **state)
{
	for (int e = VIRTQ_OK; e <= VIRTQ_ERR_TOO_LONG; e++)
		assert_string_not_equal(virtq_err_str(e), "unknown error");
	assert_string_equal(virtq_err_str(VIRTQ_ERR_LOOP), "descriptor loop");
	assert_string_equal(virtq_err_str((enum virtq_err)99), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_setup_sizes_and_alignment),
	    T(test_setup_ring_outside_ram),
	    T(test_legacy_layout),
	    T(test_direct_chain),
	    T(test_buffer_across_regions),
	    T(test_indirect),
	    T(test_indirect_long_table),
	    T(test_index_wrap),
	    T(test_descriptor_loops),
	    T(test_out_of_range_indices),
	    T(test_indirect_rules),
	    T(test_lengths),
	    T(test_buffers_outside_ram),
	    T(test_avail_index_jump),
	    T(test_readable_after_writable),
	    T(test_iov_capacity),
	    T(test_interrupt_flag),
	    T(test_interrupt_event_idx),
	    T(test_notify_on_empty),
	    T(test_notify_suppression),
	    T(test_unpop),
	    T(test_generation),
	    T(test_iov_helpers),
	    T(test_chain_through_helpers),
	    T(test_err_str),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
