// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the split virtqueue (devices/virtio/virtqueue.c).  The input
 * lays a ring out in a small fake guest RAM (legacy PFN or three modern
 * addresses, size, features) and is then a program: the guest writes
 * descriptors (in the ring or in indirect tables anywhere), offers heads,
 * moves the avail index (also by jumps), pokes memory, sets the suppression
 * fields; the device pops into iovec arrays of any capacity, writes into
 * what it got, pushes, asks for interrupts, toggles notifications, unpops;
 * the transport changes features, resets and sets the queue up again.
 *
 * RAM: "low" [0, 16K) and "mid" [16K, 32K) adjacent, a hole, a read-only
 * "bios" page below 4 GiB, "high" [4G, 4G + 16K); each its own allocation so
 * that ASan sees any access past one.  Invariants, abort() on violation:
 * - every iovec lies inside one region, a writable one never in the ROM;
 *   the iovecs sum to the chain's lengths, fit the capacity, total < 2^32;
 * - a popped head is below the queue size; a queue error is justified by
 *   what guest memory holds (an avail index more than size ahead, a head out
 *   of range); nothing available means the avail index equals what was popped;
 * - after a push, used->idx in guest memory counts the pushes since setup
 *   and the element holds (head, len); a push fails exactly when it must;
 * - the module writes no guest byte outside the used ring: a shadow copy of
 *   RAM follows every guest and device write and is compared.
 *
 * Built two ways, as the other targets: -fsanitize=fuzzer (-Dfuzz=true), and
 * -DFUZZ_STANDALONE as a runner of its seeds and fixed mutations:
 *   fuzz_virtqueue [FILE|DIR]...      run each file, then the seeds and mutations
 *   fuzz_virtqueue --write-seeds DIR  write the built-in seeds as files
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/le.h"

#define REG_SIZE  0x4000ULL
#define LOW_BASE  0ULL
#define MID_BASE  0x4000ULL
#define ROM_SIZE  0x1000ULL
#define ROM_BASE  (0x100000000ULL - ROM_SIZE)
#define HIGH_BASE 0x100000000ULL
#define NR_REG	  4

#define MAX_CAP	     24
#define MAX_INFLIGHT 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_virtqueue: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const struct {
	uint64_t gpa, size;
	bool ro;
	const char *name;
} layout[NR_REG] = {
    {LOW_BASE, REG_SIZE, false, "low"},
    {MID_BASE, REG_SIZE, false, "mid"},
    {ROM_BASE, ROM_SIZE, true, "bios"},
    {HIGH_BASE, REG_SIZE, false, "high"},
};

static uint8_t *ram[NR_REG], *shadow[NR_REG];
static struct guest_mem mem, shadow_mem;
static unsigned long pops_ok, pops_bad, queue_errors, pushes;

/* The harness's view of the queue. */
struct state {
	struct virtq vq;
	uint16_t popped; /* chains popped (good or bad) minus unpops, since setup */
	uint16_t pushed; /* since setup */
	uint16_t inflight[MAX_INFLIGHT];
	unsigned nr_inflight;
};

static void mem_init(void)
{
	if (mem.nr)
		return;
	for (unsigned i = 0; i < NR_REG; i++) {
		ram[i] = malloc(layout[i].size);
		shadow[i] = malloc(layout[i].size);
		CHECK(ram[i] && shadow[i]);
		CHECK(guest_mem_add(&mem, layout[i].gpa, layout[i].size, ram[i], layout[i].ro,
				    layout[i].name) == 0);
		/* The shadow is writable everywhere: the harness fills the ROM. */
		CHECK(guest_mem_add(&shadow_mem, layout[i].gpa, layout[i].size, shadow[i], false,
				    layout[i].name) == 0);
	}
}

/* A guest write, mirrored; refused (for both) outside writable RAM. */
static void guest_write(uint64_t gpa, const void *buf, size_t len)
{
	if (guest_mem_write(&mem, gpa, buf, len) == 0)
		CHECK(guest_mem_write(&shadow_mem, gpa, buf, len) == 0);
}

static uint16_t guest_r16(uint64_t gpa)
{
	uint8_t b[2] = {0, 0};

	guest_mem_read(&mem, gpa, b, 2);
	return le16_get(b);
}

static uint32_t guest_r32(uint64_t gpa)
{
	uint8_t b[4] = {0, 0, 0, 0};

	guest_mem_read(&mem, gpa, b, 4);
	return le32_get(b);
}

static void guest_w16(uint64_t gpa, uint16_t v)
{
	uint8_t b[2];

	le16_put(b, v);
	guest_write(gpa, b, 2);
}

/* The used ring is the module's to write: take it into the shadow. */
static void sync_used(const struct virtq *vq)
{
	static uint8_t buf[4 + 8 * VIRTQ_MAX_SIZE + 2];
	size_t len = 4 + 8 * (size_t)vq->size + 2;

	if (!vq->size)
		return;
	CHECK(len <= sizeof(buf));
	CHECK(guest_mem_read(&mem, vq->used_gpa, buf, len) == 0);
	CHECK(guest_mem_write(&shadow_mem, vq->used_gpa, buf, len) == 0);
}

static void compare_shadow(void)
{
	for (unsigned i = 0; i < NR_REG; i++)
		CHECK(memcmp(ram[i], shadow[i], layout[i].size) == 0);
}

/* Which region holds [p, p + len), or -1. */
static int region_of(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (unsigned i = 0; i < NR_REG; i++)
		if (b >= ram[i] && b < ram[i] + layout[i].size &&
		    len <= (size_t)(ram[i] + layout[i].size - b))
			return (int)i;
	return -1;
}

/* Buffer addresses: mostly in RAM, some at the edges, some anything. */
static uint64_t in_buf_addr(struct input *in)
{
	uint8_t k = in_u8(in);
	uint16_t off = in_u16(in);

	switch (k % 8) {
	case 0:
		return LOW_BASE + off % REG_SIZE;
	case 1:
		return MID_BASE + off % REG_SIZE;
	case 2:
		return HIGH_BASE + off % REG_SIZE;
	case 3:
		return ROM_BASE + off % ROM_SIZE;
	case 4: /* straddles the end of a region */
		return layout[off % NR_REG].gpa + layout[off % NR_REG].size - (off >> 8) % 64;
	case 5:
		return in_u64(in);
	case 6:
		return UINT64_MAX - off % 256;
	default:
		return MID_BASE - 64 + off % 128; /* across low|mid */
	}
}

static uint32_t in_len(struct input *in)
{
	uint8_t k = in_u8(in);

	switch (k % 5) {
	case 0:
		return in_u8(in);
	case 1:
		return in_u16(in);
	case 2:
		return in_u32(in);
	case 3:
		return 16 * (uint32_t)(in_u8(in) % 9); /* indirect table sizes */
	default:
		return 0;
	}
}

/* Ring addresses: aligned places in RAM mostly. */
static uint64_t in_ring_addr(struct input *in)
{
	uint8_t k = in_u8(in);
	uint16_t off = in_u16(in);
	uint64_t a;

	switch (k % 6) {
	case 0:
		a = LOW_BASE + off % REG_SIZE;
		break;
	case 1:
		a = MID_BASE + off % REG_SIZE;
		break;
	case 2:
		a = HIGH_BASE + off % REG_SIZE;
		break;
	case 3:
		a = ROM_BASE + off % ROM_SIZE;
		break;
	case 4:
		a = in_u64(in);
		break;
	default:
		a = LOW_BASE + (off % 16) * 0x400; /* spread out, rarely overlapping */
		break;
	}
	return k & 0x80 ? a : a & ~15ULL;
}

static void reset_state(struct state *s)
{
	s->popped = s->pushed = 0;
	s->nr_inflight = 0;
}

static void op_setup(struct state *s, struct input *in)
{
	uint8_t m = in_u8(in), f = in_u8(in);
	uint16_t size = (uint16_t)(1u << ((m >> 1) % 9));
	uint64_t features = (f & 1 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
			    (f & 2 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0) |
			    (f & 4 ? 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY : 0);
	int ret;

	if (m & 0x40)
		size = in_u16(in); /* anything, powers of 2 or not */
	reset_state(s);
	if (m & 1) {
		uint8_t k = in_u8(in);
		uint32_t pfn;

		switch (k % 4) {
		case 0:
			pfn = (uint32_t)((LOW_BASE >> 12) + k / 4 % 4);
			break;
		case 1:
			pfn = (uint32_t)((MID_BASE >> 12) + k / 4 % 4);
			break;
		case 2:
			pfn = (uint32_t)((HIGH_BASE >> 12) + k / 4 % 4);
			break;
		default:
			pfn = in_u32(in);
			break;
		}
		ret = virtq_setup_legacy(&s->vq, size, pfn, features);
		if (ret == 0) {
			CHECK(s->vq.desc_gpa == (uint64_t)pfn << 12);
			CHECK(s->vq.used_gpa % 4096 == 0);
		}
	} else {
		uint64_t d = in_ring_addr(in), a = in_ring_addr(in), u = in_ring_addr(in);

		ret = virtq_setup(&s->vq, size, d, a, u, features);
	}
	CHECK(ret == 0 || ret == -EINVAL || ret == -EFAULT);
	CHECK((ret == 0) == virtq_ready(&s->vq));
	if (ret == 0) {
		CHECK(size && size <= VIRTQ_MAX_SIZE && !(size & (size - 1)));
		CHECK(region_of(s->vq.used, 6 + 8 * (size_t)size) >= 0);
		CHECK(!layout[region_of(s->vq.used, 1)].ro);
		CHECK(region_of(s->vq.desc, 16 * (size_t)size) >= 0);
		CHECK(region_of(s->vq.avail, 6 + 2 * (size_t)size) >= 0);
	}
}

/* Was a queue-level failure found just now justified by guest memory? */
static void check_failure(struct state *s, enum virtq_err before)
{
	const struct virtq *vq = &s->vq;

	if (before != VIRTQ_OK || vq->error == VIRTQ_OK)
		return;
	queue_errors++;
	if (vq->error == VIRTQ_ERR_AVAIL_IDX)
		CHECK((uint16_t)(guest_r16(vq->avail_gpa + 2) - s->popped) > vq->size);
	else
		CHECK(vq->error == VIRTQ_ERR_HEAD);
}

static void op_desc(struct state *s, struct input *in)
{
	uint8_t where = in_u8(in), d[16];
	uint64_t table;
	unsigned idx;

	if (where & 1) {
		table = s->vq.desc_gpa;
		idx = in_u16(in) % (s->vq.size ? s->vq.size : 1);
	} else {
		table = in_buf_addr(in);
		idx = in_u8(in) % 16;
	}
	le64_put(d, in_buf_addr(in));
	le32_put(d + 8, in_len(in));
	le16_put(d + 12, in_u8(in) & 7);
	le16_put(d + 14, where & 2 ? in_u16(in) : in_u8(in) % 16);
	guest_write(table + 16ULL * idx, d, sizeof(d));
}

static void op_offer(struct state *s, struct input *in)
{
	uint8_t k = in_u8(in);
	uint16_t head = k & 0x80 ? in_u16(in) : k % (s->vq.size ? s->vq.size : 8);
	uint16_t idx;

	if (!s->vq.size)
		return;
	idx = guest_r16(s->vq.avail_gpa + 2);
	guest_w16(s->vq.avail_gpa + 4 + 2ULL * (idx % s->vq.size), head);
	guest_w16(s->vq.avail_gpa + 2, (uint16_t)(idx + 1));
}

static void op_avail_idx(struct state *s, struct input *in)
{
	uint16_t delta = in_u16(in);

	if (s->vq.size)
		guest_w16(s->vq.avail_gpa + 2, (uint16_t)(guest_r16(s->vq.avail_gpa + 2) + delta));
}

/* The device fills the first bytes of what it may write; mirrored. */
static void device_writes(const struct iovec *iov, unsigned nr, uint8_t pattern)
{
	size_t budget = 64;

	for (unsigned i = 0; i < nr && budget; i++) {
		size_t n = iov[i].iov_len < budget ? iov[i].iov_len : budget;
		int r = region_of(iov[i].iov_base, n);

		CHECK(r >= 0);
		memset(iov[i].iov_base, pattern, n);
		memset(shadow[r] + ((uint8_t *)iov[i].iov_base - ram[r]), pattern, n);
		budget -= n;
	}
}

static void check_chain(const struct virtq_chain *c, const struct iovec *iov, unsigned cap,
			uint16_t size)
{
	uint64_t out = 0, in = 0;

	CHECK(c->head < size);
	CHECK(c->nr_out + c->nr_in <= cap);
	CHECK(c->nr_desc >= 1);
	for (unsigned i = 0; i < c->nr_out + c->nr_in; i++) {
		int r = region_of(iov[i].iov_base, iov[i].iov_len);

		CHECK(iov[i].iov_len > 0);
		CHECK(r >= 0);
		if (i >= c->nr_out)
			CHECK(!layout[r].ro);
		*(i < c->nr_out ? &out : &in) += iov[i].iov_len;
	}
	CHECK(out == c->out_len && in == c->in_len);
	CHECK(out + in <= UINT32_MAX);
}

static void op_pop(struct state *s, struct input *in)
{
	struct iovec iov[MAX_CAP];
	unsigned cap = in_u8(in) % (MAX_CAP + 1);
	size_t want = in_u8(in) % 33; /* header bytes the device takes */
	enum virtq_err before = s->vq.error;
	uint16_t entry = 0;
	struct virtq_chain c;
	int ret;

	if (s->vq.size)
		entry = guest_r16(s->vq.avail_gpa + 4 + 2ULL * (s->popped % s->vq.size));
	ret = virtq_pop(&s->vq, &c, iov, cap);
	switch (ret) {
	case 1:
		CHECK(c.error == VIRTQ_OK);
		check_chain(&c, iov, cap, s->vq.size);
		if (c.nr_out) {
			struct virtq_iter it;
			uint8_t hdr[32];

			virtq_iter_init(&it, iov, c.nr_out);
			CHECK(virtq_iter_take(&it, hdr, want) == (want <= c.out_len));
		}
		device_writes(iov + c.nr_out, c.nr_in, (uint8_t)(0xa0 + c.head));
		pops_ok++;
		break;
	case -EBADMSG:
		CHECK(c.error > VIRTQ_ERR_DEVICE && c.head < s->vq.size);
		CHECK(c.nr_out == 0 && c.nr_in == 0);
		pops_bad++;
		break;
	case 0:
		CHECK(before == VIRTQ_OK);
		if (s->vq.size)
			CHECK(guest_r16(s->vq.avail_gpa + 2) == s->popped);
		return;
	case -EPROTO:
		CHECK(s->vq.error != VIRTQ_OK);
		if (before == VIRTQ_OK && s->vq.error == VIRTQ_ERR_HEAD)
			CHECK(entry >= s->vq.size);
		check_failure(s, before);
		return;
	default:
		CHECK(!"pop returned something else");
	}
	CHECK(before == VIRTQ_OK);
	s->popped++;
	if (s->nr_inflight < MAX_INFLIGHT)
		s->inflight[s->nr_inflight++] = c.head;
}

static void op_push(struct state *s, struct input *in)
{
	uint8_t k = in_u8(in);
	uint32_t len = in_u16(in);
	uint16_t head;
	bool listed = false;
	int ret;

	if (k & 0x80 || s->nr_inflight == 0) {
		head = k & 0x80 ? in_u16(in) : k % 8;
	} else {
		unsigned i = k % s->nr_inflight;

		head = s->inflight[i];
		s->inflight[i] = s->inflight[--s->nr_inflight];
		listed = true;
	}
	ret = virtq_push(&s->vq, head, len);
	if (!virtq_ready(&s->vq)) {
		CHECK(ret == -EPROTO);
		return;
	}
	if (head >= s->vq.size) {
		CHECK(!listed && ret == -EINVAL);
		return;
	}
	CHECK(ret == 0);
	s->pushed++;
	pushes++;
	/* The used ring, as the guest reads it. */
	CHECK(guest_r16(s->vq.used_gpa + 2) == s->pushed);
	uint64_t e = s->vq.used_gpa + 4 + 8ULL * ((uint16_t)(s->pushed - 1) % s->vq.size);
	CHECK(guest_r32(e) == head && guest_r32(e + 4) == len);
}

static void op_interrupt(struct state *s, struct input *in)
{
	uint8_t sub = in_u8(in), flags = sub & 1 ? in_u8(in) & 1 : 0;
	uint16_t used_event = sub & 2 ? in_u16(in) : 0;

	if (s->vq.size && sub & 1)
		guest_w16(s->vq.avail_gpa, flags);
	if (s->vq.size && sub & 2)
		guest_w16(s->vq.avail_gpa + 4 + 2ULL * s->vq.size, used_event);
	if (virtq_need_interrupt(&s->vq))
		CHECK(virtq_ready(&s->vq));
}

static void op_notify(struct state *s, struct input *in)
{
	enum virtq_err before = s->vq.error;
	bool event_idx = s->vq.features >> VIRTIO_RING_F_EVENT_IDX & 1;
	int n;

	switch (in_u8(in) % 3) {
	case 0:
		virtq_disable_notify(&s->vq);
		if (virtq_ready(&s->vq) && !event_idx)
			CHECK(guest_r16(s->vq.used_gpa) & VIRTQ_USED_F_NO_NOTIFY);
		break;
	case 1:
		if (virtq_enable_notify(&s->vq))
			CHECK(virtq_ready(&s->vq) || before == VIRTQ_OK);
		if (virtq_ready(&s->vq) && !event_idx)
			CHECK(!(guest_r16(s->vq.used_gpa) & VIRTQ_USED_F_NO_NOTIFY));
		if (virtq_ready(&s->vq) && event_idx)
			CHECK(guest_r16(s->vq.used_gpa + 4 + 8ULL * s->vq.size) ==
			      guest_r16(s->vq.avail_gpa + 2));
		break;
	default:
		n = virtq_pending(&s->vq);
		CHECK(n == -EPROTO || (n >= 0 && n <= s->vq.size));
		CHECK((n == -EPROTO) == (s->vq.error != VIRTQ_OK));
		break;
	}
	check_failure(s, before);
}

static void op_poke(struct input *in)
{
	uint64_t gpa = in_buf_addr(in);
	uint8_t buf[32];
	unsigned n = in_u8(in) % sizeof(buf);

	for (unsigned i = 0; i < n; i++)
		buf[i] = in_u8(in);
	guest_write(gpa, buf, n);
}

static void op_transport(struct state *s, struct input *in)
{
	uint8_t sub = in_u8(in);

	switch (sub % 4) {
	case 0:
		virtq_reset(&s->vq);
		reset_state(s);
		CHECK(!virtq_ready(&s->vq));
		break;
	case 1:
		op_setup(s, in);
		break;
	case 2:
		if (virtq_ready(&s->vq) && s->vq.inflight) {
			s->popped--;
			if (s->nr_inflight)
				s->nr_inflight--;
		}
		virtq_unpop(&s->vq);
		break;
	default:
		virtq_set_features(&s->vq,
				   (uint64_t)(sub >> 2 & 7) << 27 | (sub & 0x20 ? 1u << 24 : 0));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state s;
	struct input in = {.p = data, .len = size};
	unsigned ops = 0;

	mem_init();
	for (unsigned i = 0; i < NR_REG; i++) {
		memset(ram[i], 0, layout[i].size);
		if (layout[i].ro)
			memset(ram[i], 0x5a, layout[i].size);
		memcpy(shadow[i], ram[i], layout[i].size);
	}
	virtq_init(&s.vq, &mem);
	op_setup(&s, &in);
	sync_used(&s.vq);

	while (in.pos < in.len) {
		uint8_t op = in_u8(&in);

		switch (op % 10) {
		case 0:
		case 1:
			op_desc(&s, &in);
			break;
		case 2:
			op_offer(&s, &in);
			break;
		case 3:
			op_avail_idx(&s, &in);
			break;
		case 4:
		case 5:
			op_pop(&s, &in);
			break;
		case 6:
			op_push(&s, &in);
			break;
		case 7:
			if (op & 0x80)
				op_poke(&in);
			else
				op_interrupt(&s, &in);
			break;
		case 8:
			op_notify(&s, &in);
			break;
		default:
			op_transport(&s, &in);
			break;
		}
		sync_used(&s.vq);
		if (++ops % 16 == 0)
			compare_shadow();
	}
	compare_shadow();
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <assert.h>

#include "tests/fuzz/standalone.h"

#define NR_SEEDS 4
#define SEED_MAX 512

static_assert(SEED_MAX <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

static void seed_u8(struct fuzz_seed *s, uint8_t v)
{
	if (s->len >= SEED_MAX)
		abort();
	s->b[s->len++] = v;
}

static void seed_u16(struct fuzz_seed *s, uint16_t v)
{
	seed_u8(s, (uint8_t)v);
	seed_u8(s, (uint8_t)(v >> 8));
}

/* A modern ring of 2^log entries in low RAM: desc 0x0, avail 0x1000, used 0x2000. */
static void seed_modern(struct fuzz_seed *s, unsigned log, uint8_t features)
{
	seed_u8(s, (uint8_t)(log << 1));
	seed_u8(s, features);
	seed_u8(s, 0); /* low + 0 */
	seed_u16(s, 0);
	seed_u8(s, 0);
	seed_u16(s, 0x1000);
	seed_u8(s, 0);
	seed_u16(s, 0x2000);
}

/* Ring descriptor idx: buffer in low RAM at off, length len, flags, next. */
static void seed_desc(struct fuzz_seed *s, uint16_t idx, uint8_t kind, uint16_t off, uint16_t len,
		      uint8_t flags, uint8_t next)
{
	seed_u8(s, 0);
	seed_u8(s, 1); /* the ring's table, next as a byte */
	seed_u16(s, idx);
	seed_u8(s, kind);
	seed_u16(s, off);
	seed_u8(s, 1); /* 16-bit length */
	seed_u16(s, len);
	seed_u8(s, flags);
	seed_u8(s, next);
}

/* Descriptor idx of an indirect table at high + toff. */
static void seed_table_desc(struct fuzz_seed *s, uint16_t toff, uint8_t idx, uint16_t off,
			    uint16_t len, uint8_t flags, uint8_t next)
{
	seed_u8(s, 0);
	seed_u8(s, 0); /* a table anywhere */
	seed_u8(s, 2);
	seed_u16(s, toff);
	seed_u8(s, idx);
	seed_u8(s, 2); /* buffer in high */
	seed_u16(s, off);
	seed_u8(s, 1);
	seed_u16(s, len);
	seed_u8(s, flags);
	seed_u8(s, next);
}

static void seed_offer(struct fuzz_seed *s, uint8_t head)
{
	seed_u8(s, 2);
	seed_u8(s, head);
}

static void seed_pop(struct fuzz_seed *s, uint8_t cap)
{
	seed_u8(s, 4);
	seed_u8(s, cap);
	seed_u8(s, 16); /* header bytes to take */
}

static void seed_push(struct fuzz_seed *s, uint16_t len)
{
	seed_u8(s, 6);
	seed_u8(s, 0); /* the first in flight */
	seed_u16(s, len);
}

/* 0: virtio-blk shaped chains, pushed, interrupts asked, EVENT_IDX;
 * 1: legacy 256-entry ring with an indirect table in high RAM;
 * 2: loops, bad indices, nested tables, out-of-RAM buffers;
 * 3: avail index jumps, notification toggling, resets and a new setup. */
static void seed_build(unsigned which, struct fuzz_seed *s)
{
	memset(s, 0, sizeof(*s));
	switch (which) {
	case 0:
		seed_modern(s, 3, 1);
		for (unsigned r = 0; r < 3; r++) {
			seed_desc(s, 2 * r, 0, 0x3000 + 0x200 * r, 16, 1, 2 * r + 1);
			seed_desc(s, 2 * r + 1, 7, 0x30, 0x80, 2, 0); /* across low|mid */
			seed_offer(s, 2 * r);
		}
		seed_u8(s, 7); /* used_event = 1 */
		seed_u8(s, 2);
		seed_u16(s, 1);
		for (unsigned r = 0; r < 3; r++) {
			seed_pop(s, 8);
			seed_push(s, 0x80);
			seed_u8(s, 7);
			seed_u8(s, 0);
		}
		seed_pop(s, 8);
		break;
	case 1:
		seed_u8(s, 1 | 8 << 1); /* legacy, 256 */
		seed_u8(s, 2);
		seed_u8(s, 2); /* high, page 0 */
		seed_table_desc(s, 0x3000, 0, 0x3100, 16, 1, 1);
		seed_table_desc(s, 0x3000, 1, 0x3200, 512, 3, 2);
		seed_table_desc(s, 0x3000, 2, 0x3400, 1, 2, 0);
		/* ring descriptor 9: INDIRECT, table at high + 0x3000, 48 bytes */
		seed_u8(s, 0);
		seed_u8(s, 1);
		seed_u16(s, 9);
		seed_u8(s, 2);
		seed_u16(s, 0x3000);
		seed_u8(s, 3);
		seed_u8(s, 3);
		seed_u8(s, 4);
		seed_u8(s, 0);
		seed_offer(s, 9);
		seed_pop(s, 4);
		seed_push(s, 513);
		seed_offer(s, 9);
		seed_pop(s, 2); /* too small */
		seed_push(s, 0);
		break;
	case 2:
		seed_modern(s, 2, 2);
		seed_desc(s, 0, 0, 0x3000, 16, 1, 0); /* loop on itself */
		seed_offer(s, 0);
		seed_pop(s, 8);
		seed_desc(s, 1, 0, 0x3000, 16, 1, 9); /* next out of range */
		seed_offer(s, 1);
		seed_pop(s, 8);
		seed_desc(s, 2, 4, 0x0111, 64, 2, 0); /* from mid's end into the hole */
		seed_offer(s, 2);
		seed_pop(s, 8);
		seed_desc(s, 3, 0, 0x3000, 16, 4, 0); /* a table of one empty descriptor */
		seed_offer(s, 3);
		seed_pop(s, 8);
		seed_offer(s, 0x80); /* raw head */
		seed_u16(s, 77);
		seed_pop(s, 8);
		break;
	default:
		seed_modern(s, 4, 5);
		seed_desc(s, 0, 1, 0x100, 32, 2, 0);
		seed_u8(s, 8);
		seed_u8(s, 0); /* disable */
		seed_offer(s, 0);
		seed_u8(s, 8);
		seed_u8(s, 1); /* enable: more available */
		seed_pop(s, 1);
		seed_push(s, 32);
		seed_u8(s, 7);
		seed_u8(s, 0);
		seed_u8(s, 3); /* a jump */
		seed_u16(s, 17);
		seed_u8(s, 8);
		seed_u8(s, 2);
		seed_pop(s, 4);
		seed_u8(s, 9); /* reset, then a legacy setup */
		seed_u8(s, 0);
		seed_u8(s, 9);
		seed_u8(s, 1);
		seed_u8(s, 1 | 4 << 1);
		seed_u8(s, 1);
		seed_u8(s, 1);
		seed_desc(s, 5, 0, 0x3800, 8, 0, 0);
		seed_offer(s, 5);
		seed_pop(s, 2);
		seed_u8(s, 9);
		seed_u8(s, 2); /* unpop */
		seed_pop(s, 2);
		seed_push(s, 0);
		seed_u8(s, 0x89); /* poke the avail index (mid + 0x102) */
		seed_u8(s, 1);
		seed_u16(s, 0x102);
		seed_u8(s, 2);
		seed_u8(s, 0xff);
		seed_u8(s, 0xff);
		seed_pop(s, 2);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = {
	    0,	   1,	   2,	   3,	   7,	   8,	   15,	    16,		0xff,
	    0x100, 0x1000, 0x3ff0, 0x4000, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]), SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
    .name = "fuzz_virtqueue",
    .seed_prefix = "virtqueue-seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(30000);
	printf("fuzz_virtqueue: %lu inputs, %lu chains popped, %lu refused, %lu pushes, "
	       "%lu queue errors, no invariant broken\n",
	       fuzz_runs(), pops_ok, pops_bad, pushes, queue_errors);
	return 0;
}
#endif
