// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the fast-path test device (devices/testdev.c) and the
 * coalesced ring's drain (vmm/fastpath.c) as a hostile guest drives them,
 * on a fake host with every capability.  The input is a program: port and
 * MMIO accesses of any size around the device's ranges (the doorbell, the
 * interrupt trigger, slot moves to any address, dirty-page reads, the
 * window), and coalesced rings with any entries (addresses, lengths, port
 * or MMIO) and any first/last indices, drained to the buses.
 *
 * Checked after every step (abort() on a violation):
 * - the drain never dispatches more than the ring holds and, when the
 *   indices were valid, leaves it empty;
 * - the window's write count is the number of writes that reached it,
 *   whether they came as exits or from the ring;
 * - the slot register holds a 4 KiB-aligned address, and the host has the
 *   slot mapped exactly there (or nowhere for 0).
 *
 * Built like the other targets: -fsanitize=fuzzer with -Dfuzz=true, and
 * -DFUZZ_STANDALONE as a runner replaying built-in seeds and fixed mutations
 * in every test run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/testdev.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/bus.h"
#include "vmm/fastpath.h"
#include "vmm/irq_mux.h"
#include "vmm/loop.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_fastpath: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define RING_BYTES 4096
#define PORT_LO	   (TESTDEV_PORT - 8)
#define MMIO_LO	   (TESTDEV_MMIO - 0x10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long steps, drained;

/* ---- a fake host: accepts everything, remembers the one slot ---- */

static uint64_t slot_gpa;
static bool slot_live;

static void h_caps(void *o, struct fastpath_caps *c)
{
	*c = (struct fastpath_caps){true, true, true, true, true, true, true, true, true};
}

static int h_ok(void)
{
	return 0;
}

static int h_ioeventfd(void *o, int fd, bool pio, uint64_t addr, unsigned len, bool dm,
		       uint64_t data, bool assign)
{
	return h_ok();
}

static int h_irqfd(void *o, int fd, unsigned gsi, int rfd, bool assign)
{
	return h_ok();
}

static int h_zone(void *o, bool pio, uint64_t addr, uint64_t size, bool assign)
{
	return h_ok();
}

static int h_slot_add(void *o, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	CHECK(!slot_live && gpa && gpa % 4096 == 0);
	slot_live = true;
	slot_gpa = gpa;
	return 1;
}

static int h_slot_move(void *o, int slot, uint64_t gpa)
{
	CHECK(slot_live && slot == 1 && gpa && gpa % 4096 == 0);
	slot_gpa = gpa;
	return 0;
}

static int h_slot_remove(void *o, int slot)
{
	CHECK(slot_live && slot == 1);
	slot_live = false;
	slot_gpa = 0;
	return 0;
}

static int h_slot_log(void *o, int slot, bool on)
{
	return h_ok();
}

static int h_slot_dirty(void *o, int slot, uint64_t *bitmap, size_t words)
{
	CHECK(slot_live && words >= 1);
	bitmap[0] = 0x5;
	return 0;
}

static const struct fastpath_host host = {
    .caps = h_caps,
    .ioeventfd = h_ioeventfd,
    .irqfd = h_irqfd,
    .coalesced_zone = h_zone,
    .slot_add = h_slot_add,
    .slot_move = h_slot_move,
    .slot_remove = h_slot_remove,
    .slot_log_dirty = h_slot_log,
    .slot_get_dirty = h_slot_dirty,
};

static void irq_sink(void *opaque, unsigned gsi, bool level)
{
}

/* ---- the program ---- */

struct machine {
	struct bus *pio, *mmio;
	struct event_loop *loop;
	struct irq_mux isa;
	struct fastpath *fp;
	void *dev;
	uint32_t window_writes; /* what reached the window, by our count */
	struct kvm_coalesced_mmio_ring *ring;
	unsigned max;
};

static bool in_window(uint64_t addr, unsigned size)
{
	return addr >= TESTDEV_MMIO && addr - TESTDEV_MMIO + size <= TESTDEV_MMIO_SIZE;
}

static bool valid_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static void check_state(struct machine *m)
{
	uint64_t v;

	bus_read(m->pio, TESTDEV_PORT + 0x14, 4, &v);
	CHECK((uint32_t)v == m->window_writes);
	bus_read(m->pio, TESTDEV_PORT + 0x0c, 4, &v);
	CHECK(v % 4096 == 0);
	CHECK(v == (slot_live ? slot_gpa : 0));
}

static void ring_step(struct machine *m, struct input *in)
{
	unsigned n = in_u8(in) % 48, got;
	uint8_t mode = in_u8(in);
	uint32_t first = mode & 1 ? in_u32(in) : in_u8(in) % m->max, last = first;
	bool valid = first < m->max;
	unsigned expect_window = 0;
	uint32_t i;

	memset(m->ring, 0, RING_BYTES);
	for (unsigned k = 0; k < n && valid; k++) {
		struct kvm_coalesced_mmio *e = &m->ring->coalesced_mmio[last];
		uint8_t how = in_u8(in);

		e->phys_addr = how & 1 ? in_u64(in) : MMIO_LO + in_u16(in) % 0x1100;
		e->len = how & 2 ? in_u32(in) : (uint32_t)1 << (in_u8(in) % 4);
		e->pio = how & 4 ? 1 : 0;
		if (e->pio)
			e->phys_addr = PORT_LO + e->phys_addr % 0x30;
		memcpy(e->data, &(uint64_t){in_u64(in)}, 8);
		last = (last + 1) % m->max;
	}
	if (mode & 2)
		last = mode & 4 ? in_u32(in) : in_u8(in); /* a ring KVM did not write */
	m->ring->first = first;
	m->ring->last = last;
	valid = valid && last < m->max;
	/* What the window should get: the ring's entries from first to last. */
	for (i = first; valid && i != last; i = (i + 1) % m->max) {
		const struct kvm_coalesced_mmio *e = &m->ring->coalesced_mmio[i];

		if (!e->pio && valid_size(e->len) && in_window(e->phys_addr, e->len))
			expect_window++;
	}
	got = fastpath_coalesced_drain(m->fp, m->ring, m->max);
	CHECK(got <= m->max);
	if (valid) {
		CHECK(m->ring->first == m->ring->last);
		CHECK(got == (last - first + m->max) % m->max);
		m->window_writes += expect_window;
	} else {
		CHECK(got == 0);
	}
	drained += got;
}

static void step(struct machine *m, struct input *in)
{
	uint8_t op = in_u8(in);
	unsigned size = 1u << (in_u8(in) % 4);
	uint64_t v;

	switch (op % 5) {
	case 0: { /* port write */
		uint16_t port = (uint16_t)(PORT_LO + in_u8(in) % 0x30);
		uint32_t val = op & 0x80 ? in_u32(in) : TESTDEV_DOORBELL_VALUE;

		if (op & 0x40) { /* a slot address that is page-aligned */
			port = TESTDEV_PORT + 0x0c;
			val = in_u32(in) & ~0xfffu;
			size = 4;
		}
		bus_write(m->pio, port, val, size > 4 ? 4 : size);
		break;
	}
	case 1:
		bus_read(m->pio, (uint16_t)(PORT_LO + in_u8(in) % 0x30), size > 4 ? 4 : size, &v);
		break;
	case 2: {
		uint64_t addr = MMIO_LO + in_u16(in) % 0x1100;

		if (bus_write(m->mmio, addr, in_u64(in), size) != BUS_UNCLAIMED &&
		    in_window(addr, size))
			m->window_writes++;
		break;
	}
	case 3:
		bus_read(m->mmio, MMIO_LO + in_u16(in) % 0x1100, size, &v);
		break;
	case 4:
		ring_step(m, in);
		break;
	}
	check_state(m);
	steps++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct board_entry e = {
		.type = &testdev_type,
		.id = "testdev",
		.port = TESTDEV_PORT,
		.irq = TESTDEV_IRQ,
		.devfn = -1,
	};
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct input in = {data, size, 0};
	struct machine m = {0};
	struct dev_ctx ctx;
	char err[256];

	slot_live = false;
	slot_gpa = 0;
	/* The first byte picks the switches: both paths get fuzzed. */
	if (size) {
		accel = (struct vm_accel){!(data[0] & 1), !(data[0] & 2), !(data[0] & 4),
					  !(data[0] & 8)};
		in.pos = 1;
	}
	m.pio = bus_create("pio", 0x10000);
	m.mmio = bus_create("mmio", 0);
	m.loop = event_loop_new();
	CHECK(m.pio && m.mmio && m.loop);
	irq_mux_init(&m.isa, irq_sink, NULL);
	m.fp = fastpath_new(&host, NULL, &accel, m.loop, m.pio, m.mmio);
	m.ring = calloc(1, RING_BYTES);
	CHECK(m.fp && m.ring);
	m.max = (RING_BYTES - sizeof(*m.ring)) / sizeof(m.ring->coalesced_mmio[0]);
	ctx = (struct dev_ctx){
		.pio = m.pio, .mmio = m.mmio, .loop = m.loop, .isa_irqs = &m.isa, .fastpath = m.fp};
	m.dev = testdev_type.create(&ctx, &e, err, sizeof(err));
	if (!m.dev) {
		fprintf(stderr, "fuzz_fastpath: %s\n", err);
		abort();
	}
	for (unsigned i = 0; i < 4096 && in.pos < in.len; i++)
		step(&m, &in);
	testdev_type.reset(m.dev);
	m.window_writes = 0;
	check_state(&m);
	testdev_type.destroy(m.dev);
	CHECK(!slot_live);
	fastpath_free(m.fp);
	irq_mux_destroy(&m.isa);
	event_loop_free(m.loop);
	bus_destroy(m.pio);
	bus_destroy(m.mmio);
	free(m.ring);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

#define NR_SEEDS 3

static void put(struct fuzz_seed *s, const void *p, size_t n)
{
	if (s->len + n > FUZZ_SEED_MAX)
		return;
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

static void op(struct fuzz_seed *s, uint8_t o, uint8_t size_log2)
{
	put(s, &o, 1);
	put(s, &size_log2, 1);
}

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	uint8_t switches = (uint8_t)(which == 1 ? 0xf : 0);
	uint32_t slot = 0xfef10000;

	s->len = 0;
	put(s, &switches, 1);
	/* Ring the doorbell, trigger the interrupt, map the slot, read it. */
	op(s, 0, 2);
	put(s, &(uint8_t){8}, 1);
	op(s, 0, 2);
	put(s, &(uint8_t){16}, 1);
	op(s, 0x40, 2);
	put(s, &(uint8_t){0}, 1);
	put(s, &slot, 4);
	op(s, 1, 2);
	put(s, &(uint8_t){0x18}, 1);
	/* Window writes, then a ring of them across its end. */
	for (unsigned i = 0; i < 4; i++) {
		op(s, 2, 2);
		put(s, &(uint16_t){(uint16_t)(0x10 + 4 * i)}, 2);
		put(s, &(uint64_t){0x1111ULL * i}, 8);
	}
	op(s, 4, 0);
	put(s, &(uint8_t){6}, 1);		   /* six entries */
	put(s, &(uint8_t){which == 2 ? 2 : 0}, 1); /* mode */
	put(s, &(uint8_t){166}, 1);		   /* first, near the end */
	for (unsigned i = 0; i < 6; i++) {
		put(s, &(uint8_t){(uint8_t)(i == 5 ? 4 : 0)}, 1);
		put(s, &(uint16_t){(uint16_t)(0x10 + 4 * i)}, 2);
		put(s, &(uint8_t){2}, 1);
		put(s, &(uint64_t){0xabcd0000ULL + i}, 8);
	}
	if (which == 2)
		put(s, &(uint32_t){1000}, 4);
	op(s, 3, 2);
	put(s, &(uint16_t){0x10}, 2);
}

static const struct fuzz_target target = {
    .name = "fuzz_fastpath",
    .seed_prefix = "fastpath-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	struct fuzz_seed s;

	fuzz_standalone_begin(&target, argc, argv);
	for (unsigned it = 0; it < 3000; it++) {
		unsigned edits = 1 + fuzz_rng() % 8;

		seed_build(it % NR_SEEDS, &s);
		for (unsigned k = 0; k < edits && s.len; k++)
			s.b[fuzz_rng() % s.len] = (uint8_t)fuzz_rng();
		fuzz_run_buf(s.b, s.len);
	}
	printf("fuzz_fastpath: %lu inputs, %lu steps checked, %lu ring entries drained, no "
	       "violation\n",
	       fuzz_runs(), steps, drained);
	return 0;
}
#endif
