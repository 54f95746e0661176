// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-balloon (devices/virtio/virtio_balloon.h) driven through the real
 * transport and PCI core as the drivers drive it: the 2013 Windows balloon
 * and Linux's legacy driver on BAR0, Linux's modern one on BAR4, with rings
 * in a fake guest RAM that has a hole and a read-only BIOS, a fake discard
 * hook that records what was given back and a hand-driven clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_balloon.h"
#include "tests/unit/fake_timer.h"
#include "tests/unit/fake_virtio_driver.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"
#include "vmm/loop.h"

#define RAM_SIZE   (2u << 20)	   /* guest RAM: 0..0x9ffff and 0xc0000..2 MiB */
#define HOLE_START 0xa0000u
#define HOLE_END   0xc0000u
#define BIOS_GPA   0xfffc0000u /* 256 KiB read-only */
#define BIOS_SIZE  (256u << 10)
#define DEVFN	   PCI_DEVFN(3, 0)

#define F(bit) (1ULL << (bit))
#define F_STATS	    F(VIRTIO_BALLOON_F_STATS_VQ)
#define F_OOM	    F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM)
#define F_REPORTING F(VIRTIO_BALLOON_F_REPORTING)
#define F_RING	    (F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_RING_F_EVENT_IDX))

static struct fvd drv;
static uint8_t *bios;
static struct virtio_balloon *vb;
static struct virtio_balloon_args args;

/* Without fast paths no doorbell watches an fd; the fake timers need no
 * loop. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return 0;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

/* What the discard hook saw. */
#define MAX_DISCARDS 64
static struct {
	uintptr_t hva;
	size_t len;
} discards[MAX_DISCARDS];
static unsigned nr_discards;

/* BALLOON_CHANGE notifications. */
static unsigned changes;
static uint64_t last_change;

static int fake_discard(void *opaque, void *hva, size_t len)
{
	assert_ptr_equal(opaque, &args);
	if (nr_discards < MAX_DISCARDS)
		discards[nr_discards] = (typeof(discards[0])){(uintptr_t)hva, len};
	nr_discards++;
	return 0;
}

static void on_change(void *opaque, uint64_t actual)
{
	changes++;
	last_change = actual;
}

static bool intx(void)
{
	return drv.pirq_level[2]; /* slot 3, INTA */
}

static int setup(void **state)
{
	fvd_init_bare(&drv, RAM_SIZE, 1 << 16, DEVFN);
	drv.ring_stride = 4;
	bios = aligned_alloc(4096, BIOS_SIZE);
	assert_int_equal(guest_mem_add(&drv.mem, 0, HOLE_START, drv.ram, false, "ram-low"), 0);
	assert_int_equal(guest_mem_add(&drv.mem, HOLE_END, RAM_SIZE - HOLE_END, drv.ram + HOLE_END,
				       false, "ram"),
			 0);
	assert_int_equal(guest_mem_add(&drv.mem, BIOS_GPA, BIOS_SIZE, bios, true, "bios"), 0);
	nr_discards = changes = 0;
	last_change = 0;
	args = (struct virtio_balloon_args){
	    .free_page_reporting = true,
	    .ram_size = RAM_SIZE,
	    .host_page_size = 4096,
	    .discard = fake_discard,
	    .discard_opaque = &args,
	};
	vb = NULL;
	return 0;
}

static int teardown(void **state)
{
	if (vb)
		virtio_balloon_type.destroy(vb);
	fvd_fini(&drv);
	free(bios);
	return 0;
}

static void make(void)
{
	struct dev_ctx ctx = fvd_ctx(&drv, NULL);
	struct board_entry e = {.type = &virtio_balloon_type, .id = "balloon0", .irq = -1,
				.devfn = -1, .arg = &args};
	char err[128];

	vb = virtio_balloon_type.create(&ctx, &e, err, sizeof(err));
	assert_non_null(vb);
	virtio_balloon_set_change_notify(vb, on_change, NULL);
	pci_bus_seal(drv.pci);
}

static struct virtio_balloon_counters counters(void)
{
	struct virtio_balloon_counters c;

	virtio_balloon_get_counters(vb, &c);
	return c;
}

/* ---- the driver (fake_virtio_driver) ---- */

static uint32_t used_len(unsigned q, uint16_t i)
{
	uint32_t id, len;

	fvd_used_elem(&drv, q, i, &id, &len);
	return len;
}

/* One buffer as a one-descriptor chain on queue q. */
static void post(unsigned q, uint64_t addr, uint32_t len, bool writable)
{
	const struct fvd_seg s = {addr, len, writable ? VIRTQ_DESC_F_WRITE : 0};

	fvd_chain(&drv, q, &s, 1);
}

static void kick(unsigned q)
{
	fvd_kick(&drv, q);
}

/* Every queue at the size the device offers. */
static void check_qsize(unsigned nq, uint16_t size)
{
	for (unsigned q = 0; q < nq; q++)
		assert_int_equal(drv.ring[q].size, size);
}

/* Linux's legacy driver (and the 2013 Windows balloon's order): reset, ACK,
 * DRIVER, features, queues by PFN, DRIVER_OK.  Rings of queue q at
 * 0x10000 + 0x4000 q (legacy layout: used at +0x1000). */
static void legacy_bring_up(uint32_t guest_features, unsigned nq)
{
	fvd_legacy_up(&drv, guest_features, nq, 0x10, true);
	check_qsize(nq, VIRTIO_BALLOON_QUEUE_SIZE);
}

/* Linux's modern driver, 64-entry queues at the same places. */
static void modern_bring_up(uint64_t guest_features, unsigned nq)
{
	drv.modern_qsize = 64;
	fvd_modern_up(&drv, guest_features, nq, 0x10, true);
	check_qsize(nq, 64);
	assert_true(virtio_pci_modern(virtio_balloon_transport(vb)));
}

/* Config bytes one at a time, as the Windows driver reads them. */
static uint32_t legacy_config32(unsigned off)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 4; i++)
		v |= (uint32_t)fvd_io_r(&drv, VIRTIO_PCI_CONFIG_OFF(false) + off + i, 1) << (8 * i);
	return v;
}

static void legacy_config_write_bytes(unsigned off, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		fvd_io_w(&drv, VIRTIO_PCI_CONFIG_OFF(false) + off + i, (v >> (8 * i)) & 0xff, 1);
}

/* A page of PFNs at gpa 0x80000 for the inflate or deflate queue. */
#define PFN_BUF 0x80000u

static void post_pfns(unsigned q, const uint32_t *pfn, unsigned n, uint32_t extra_bytes)
{
	for (unsigned i = 0; i < n; i++)
		fvd_put32(&drv, PFN_BUF + 4 * i, pfn[i]);
	post(q, PFN_BUF, 4 * n + extra_bytes, false);
	kick(q);
}

static uintptr_t hva(uint64_t gpa)
{
	return (uintptr_t)(gpa >= BIOS_GPA ? bios + (gpa - BIOS_GPA) : drv.ram + gpa);
}

/* ---- tests ---- */

static void test_ids_features_queues(void **state)
{
	make();
	assert_int_equal(fvd_cfg_r(&drv, 0, 4), 0x10021af4);
	assert_int_equal(fvd_cfg_r(&drv, PCI_SUBSYSTEM_VENDOR, 4), 0x00051af4);
	assert_int_equal(fvd_cfg_r(&drv, PCI_CLASS_PROG, 1) | fvd_cfg_r(&drv, PCI_CLASS_DEVICE, 2)
								  << 8,
			 0x00ff00);
	fvd_place_bars(&drv);
	/* QEMU's defaults, but free page reporting offered, DEFLATE_ON_OOM not */
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_HOST_FEATURES, 4),
			 F_STATS | F_REPORTING | F_RING);
	for (unsigned q = 0; q < 4; q++) {
		fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, q, 2);
		assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_NUM, 2),
				 VIRTIO_BALLOON_QUEUE_SIZE);
	}
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 4, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_NUM, 2), 0);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_NUMQ), 2), 4);
	/* config: 8 bytes, num_pages then actual, both 0 */
	assert_int_equal(legacy_config32(0), 0);
	assert_int_equal(legacy_config32(4), 0);
}

static void test_options_change_features(void **state)
{
	args.deflate_on_oom = true;
	args.free_page_reporting = false;
	make();
	fvd_place_bars(&drv);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_HOST_FEATURES, 4), F_STATS | F_OOM | F_RING);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 3, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_NUM, 2), 0);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_NUMQ), 2), 3);
}

static void test_modern_only_ids(void **state)
{
	args.transport = VIRTIO_TRANSPORT_MODERN;
	make();
	assert_int_equal(fvd_cfg_r(&drv, 0, 4), 0x10451af4);
	assert_int_equal(fvd_cfg_r(&drv, PCI_REVISION_ID, 1), 1);
}

/* Inflate: valid pages are discarded at their host address; a PFN in the
 * VGA hole, past the RAM, in the read-only BIOS or above 2^44 ignored and
 * counted; deflate only counts. */
static void inflate_deflate(bool modern)
{
	const uint32_t pfns[] = {
	    0x10,			   /* low RAM */
	    HOLE_START >> 12,		   /* the VGA hole */
	    (HOLE_END >> 12) - 1,	   /* the hole's last page */
	    HOLE_END >> 12,		   /* RAM after the hole */
	    RAM_SIZE >> 12,		   /* just past the RAM */
	    (RAM_SIZE >> 12) - 1,	   /* the last page */
	    BIOS_GPA >> 12,		   /* read-only */
	    0xffffffffu,		   /* far away */
	};
	struct virtio_balloon_counters c;

	make();
	if (modern)
		modern_bring_up(F_STATS | F_REPORTING, 4);
	else
		legacy_bring_up(F_STATS | F_REPORTING, 4);
	post_pfns(VIRTIO_BALLOON_Q_INFLATE, pfns, 8, 0);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_INFLATE), 1);
	assert_int_equal(used_len(VIRTIO_BALLOON_Q_INFLATE, 0), 0);
	c = counters();
	assert_int_equal(c.inflated, 3);
	assert_int_equal(c.bad_pfns, 5);
	assert_int_equal(nr_discards, 3);
	assert_int_equal(discards[0].hva, hva(0x10000));
	assert_int_equal(discards[0].len, 4096);
	assert_int_equal(discards[1].hva, hva(HOLE_END));
	assert_int_equal(discards[2].hva, hva(RAM_SIZE - 4096));
	assert_int_equal(c.discarded_bytes, 3 * 4096);
	assert_true(intx());

	post_pfns(VIRTIO_BALLOON_Q_DEFLATE, pfns, 8, 0);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_DEFLATE), 1);
	c = counters();
	assert_int_equal(c.deflated, 3);
	assert_int_equal(c.bad_pfns, 10);
	assert_int_equal(nr_discards, 3);
}

static void test_inflate_deflate_legacy(void **state)
{
	inflate_deflate(false);
}

static void test_inflate_deflate_modern(void **state)
{
	inflate_deflate(true);
}

/* Runs of PFNs that follow each other in host memory go back in one call;
 * a run stops at a gap, at the VGA hole (the hole's two sides are apart in
 * guest-physical space though not in this host mapping: each page is
 * checked on its own) and at the end of the buffer. */
static void test_inflate_runs(void **state)
{
	const uint32_t pfns[] = {0x30, 0x31, 0x32, 0x40, 0x41, 0x9f, 0xa0, 0xc0, 0xc1};

	make();
	legacy_bring_up(F_STATS, 3);
	post_pfns(VIRTIO_BALLOON_Q_INFLATE, pfns, 9, 0);
	assert_int_equal(counters().inflated, 8);
	assert_int_equal(counters().bad_pfns, 1);
	assert_int_equal(nr_discards, 4);
	assert_int_equal(discards[0].hva, hva(0x30000));
	assert_int_equal(discards[0].len, 3 * 4096);
	assert_int_equal(discards[1].hva, hva(0x40000));
	assert_int_equal(discards[1].len, 2 * 4096);
	assert_int_equal(discards[2].hva, hva(0x9f000));
	assert_int_equal(discards[2].len, 4096);
	assert_int_equal(discards[3].hva, hva(0xc0000));
	assert_int_equal(discards[3].len, 2 * 4096);
	assert_int_equal(counters().discarded_bytes, 8 * 4096);
	/* the next buffer starts a run of its own */
	post_pfns(VIRTIO_BALLOON_Q_INFLATE, (const uint32_t[]){0xc2}, 1, 0);
	assert_int_equal(nr_discards, 5);
	assert_int_equal(discards[4].hva, hva(0xc2000));
}

/* 16 KiB host pages: a host page goes back once its four 4 KiB parts were
 * inflated; a page of another host page in between starts over. */
static void test_inflate_large_host_pages(void **state)
{
	const uint32_t all4[] = {0x20, 0x21, 0x22, 0x23};
	const uint32_t broken[] = {0x40, 0x41, 0x80, 0x42, 0x43};

	args.host_page_size = 16384;
	make();
	legacy_bring_up(F_STATS, 3);
	post_pfns(VIRTIO_BALLOON_Q_INFLATE, all4, 4, 0);
	assert_int_equal(nr_discards, 1);
	assert_int_equal(discards[0].hva, hva(0x20000));
	assert_int_equal(discards[0].len, 16384);
	post_pfns(VIRTIO_BALLOON_Q_INFLATE, broken, 5, 0);
	assert_int_equal(nr_discards, 1);
	assert_int_equal(counters().inflated, 9);
}

/* Malformed inflate buffers: trailing bytes, a descriptor chain that
 * leaves the queue, a buffer outside RAM; each counted and returned. */
static void test_malformed_chains(void **state)
{
	const uint32_t one[] = {0x30};
	struct fvd_ring *r = &drv.ring[VIRTIO_BALLOON_Q_INFLATE];
	struct virtio_balloon_counters c;

	make();
	legacy_bring_up(F_STATS, 3);
	post_pfns(VIRTIO_BALLOON_Q_INFLATE, one, 1, 2);
	c = counters();
	assert_int_equal(c.inflated, 1);
	assert_int_equal(c.bad_chains, 1);
	/* next beyond the queue */
	fvd_desc_at(&drv, r->desc, 5, PFN_BUF, 4, VIRTQ_DESC_F_NEXT, 999);
	fvd_offer(&drv, VIRTIO_BALLOON_Q_INFLATE, 5);
	kick(VIRTIO_BALLOON_Q_INFLATE);
	/* a buffer in the hole */
	fvd_desc_at(&drv, r->desc, 6, HOLE_START, 4, 0, 0);
	fvd_offer(&drv, VIRTIO_BALLOON_Q_INFLATE, 6);
	kick(VIRTIO_BALLOON_Q_INFLATE);
	c = counters();
	assert_int_equal(c.bad_chains, 3);
	assert_int_equal(c.inflated, 1);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_INFLATE), 3);
	/* a head beyond the queue stops it (the transport's business) */
	fvd_offer(&drv, VIRTIO_BALLOON_Q_INFLATE, 200);
	kick(VIRTIO_BALLOON_Q_INFLATE);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_INFLATE), 3);
	assert_int_equal(virtq_error(virtio_pci_queue(virtio_balloon_transport(vb), 0)),
			 VIRTQ_ERR_HEAD);
}

/* Free page reporting: each writable buffer discarded on its host-page
 * interior and returned with length 0; a buffer leaving RAM refuses the
 * chain; a readable one is never discarded. */
static void reporting(bool modern)
{
	unsigned q = VIRTIO_BALLOON_Q_REPORTING;
	struct virtio_balloon_counters c;

	make();
	if (modern)
		modern_bring_up(F_STATS | F_REPORTING, 4);
	else
		legacy_bring_up(F_STATS | F_REPORTING, 4);
	post(q, 0x100000, 0x40000, true);
	kick(q);
	assert_int_equal(fvd_used_idx(&drv, q), 1);
	assert_int_equal(used_len(q, 0), 0);
	assert_int_equal(nr_discards, 1);
	assert_int_equal(discards[0].hva, hva(0x100000));
	assert_int_equal(discards[0].len, 0x40000);
	/* unaligned: only the whole pages inside */
	post(q, 0x100800, 0x2000, true);
	kick(q);
	assert_int_equal(nr_discards, 2);
	assert_int_equal(discards[1].hva, hva(0x101000));
	assert_int_equal(discards[1].len, 0x1000);
	/* runs past the end of RAM: refused, returned, nothing discarded */
	post(q, RAM_SIZE - 0x1000, 0x2000, true);
	kick(q);
	/* across the VGA hole */
	post(q, HOLE_START - 0x1000, 0x2000, true);
	kick(q);
	/* readable: the BIOS could be named so; never discarded */
	post(q, BIOS_GPA, 0x1000, false);
	kick(q);
	assert_int_equal(fvd_used_idx(&drv, q), 5);
	assert_int_equal(nr_discards, 2);
	c = counters();
	assert_int_equal(c.reports, 3);
	assert_int_equal(c.bad_chains, 3);
	assert_int_equal(c.reported_bytes, 0x42000);
}

static void test_reporting_legacy(void **state)
{
	reporting(false);
}

static void test_reporting_modern(void **state)
{
	reporting(true);
}

/* A driver that numbers only what it negotiated: REPORTING without
 * STATS_VQ puts the reporting queue at 2. */
static void test_reporting_compact_numbering(void **state)
{
	make();
	legacy_bring_up(F_REPORTING, 3);
	post(2, 0x100000, 0x1000, true);
	kick(2);
	assert_int_equal(fvd_used_idx(&drv, 2), 1);
	assert_int_equal(nr_discards, 1);
	assert_int_equal(counters().stats_updates, 0);
}

/* Stats: the buffer is kept; its tags read (an unknown one and a short
 * trailing entry ignored, absent ones UINT64_MAX); the poll timer returns
 * it at once when first set, then every interval; 0 stops it. */
static void post_stats(unsigned n_extra)
{
	static const uint16_t tags[] = {VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_MEMFREE,
					VIRTIO_BALLOON_S_MEMTOT, 99};
	uint64_t gpa = 0x90000;

	for (unsigned i = 0; i < 4; i++) {
		fvd_put16(&drv, gpa + 10 * i, tags[i]);
		fvd_put64(&drv, gpa + 10 * i + 2, 1000 * (i + 1) + n_extra);
	}
	post(VIRTIO_BALLOON_Q_STATS, gpa, 40 + 5, false);
	kick(VIRTIO_BALLOON_Q_STATS);
}

static void test_stats_polling(void **state)
{
	struct virtio_balloon_guest_stats st;

	make();
	virtio_balloon_guest_stats(vb, &st);
	assert_int_equal(st.last_update, 0);
	for (unsigned i = 0; i < VIRTIO_BALLOON_S_NR; i++)
		assert_true(st.stat[i] == UINT64_MAX);
	legacy_bring_up(F_STATS, 3);
	post_stats(0);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 0); /* held */
	virtio_balloon_guest_stats(vb, &st);
	assert_int_equal(st.stat[VIRTIO_BALLOON_S_SWAP_IN], 1000);
	assert_int_equal(st.stat[VIRTIO_BALLOON_S_MEMFREE], 2000);
	assert_int_equal(st.stat[VIRTIO_BALLOON_S_MEMTOT], 3000);
	assert_true(st.stat[VIRTIO_BALLOON_S_SWAP_OUT] == UINT64_MAX);
	assert_true(st.last_update > 0);

	/* Off: nothing comes back however long we wait. */
	fake_clock_advance(100ULL * 1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 0);
	/* QEMU's checks */
	assert_int_equal(virtio_balloon_set_poll_interval(vb, -1), -EINVAL);
	assert_int_equal(virtio_balloon_set_poll_interval(vb, 1LL << 32), -ERANGE);
	assert_int_equal(virtio_balloon_set_poll_interval(vb, 5), 0);
	assert_int_equal(virtio_balloon_poll_interval(vb), 5);
	fake_clock_advance(0); /* a new timer fires at once */
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 1);
	assert_int_equal(counters().stats_polls, 1);
	post_stats(7);
	virtio_balloon_guest_stats(vb, &st);
	assert_int_equal(st.stat[VIRTIO_BALLOON_S_MEMTOT], 3007);
	fake_clock_advance(4ULL * 1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 1);
	fake_clock_advance(1ULL * 1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 2);
	/* the guest is slow: the timer finds nothing to return and waits on */
	fake_clock_advance(20ULL * 1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 2);
	post_stats(9);
	assert_int_equal(virtio_balloon_set_poll_interval(vb, 0), 0);
	fake_clock_advance(100ULL * 1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 2);
	assert_int_equal(virtio_balloon_poll_interval(vb), 0);
}

/* A second buffer before the first was returned: the first goes back. */
static void test_stats_second_buffer(void **state)
{
	make();
	legacy_bring_up(F_STATS, 3);
	post_stats(0);
	post_stats(1);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 1);
	assert_int_equal(counters().stats_updates, 2);
}

/* The 2013 Windows balloon: STATS_VQ not acked at DRIVER_OK, set later
 * when its service connects (a feature write after DRIVER_OK on the
 * legacy interface), cleared when it leaves. */
static void test_legacy_features_after_driver_ok(void **state)
{
	make();
	legacy_bring_up(0, 3);
	post_stats(0); /* the real driver posts it just before DRIVER_OK */
	assert_int_equal(virtio_balloon_set_poll_interval(vb, 1), 0);
	fake_clock_advance(0);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 0); /* not negotiated */
	fvd_io_w(&drv, VIRTIO_PCI_GUEST_FEATURES, F_STATS, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_GUEST_FEATURES, 4), F_STATS);
	fake_clock_advance(1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 1);
	post_stats(0);
	fvd_io_w(&drv, VIRTIO_PCI_GUEST_FEATURES, 0, 4);
	fake_clock_advance(1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 1);
}

/* num_pages from the target (RAM - target in 4 KiB pages, a target above
 * the RAM capped), read a byte at a time, with a configuration interrupt
 * (ISR 3); actual written a byte at a time: each change notified. */
static void test_config_target_actual(void **state)
{
	make();
	legacy_bring_up(F_STATS, 3);
	assert_false(intx());
	virtio_balloon_set_target(vb, RAM_SIZE - (256u << 12));
	assert_int_equal(virtio_balloon_num_pages(vb), 256);
	assert_int_equal(legacy_config32(0), 256);
	assert_true(intx());
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 3);
	assert_false(intx());
	virtio_balloon_set_target(vb, 1ULL << 40);
	assert_int_equal(legacy_config32(0), 0);
	virtio_balloon_set_target(vb, 4096);
	assert_int_equal(legacy_config32(0), (RAM_SIZE >> 12) - 1);

	assert_int_equal(virtio_balloon_actual_bytes(vb), RAM_SIZE);
	legacy_config_write_bytes(4, 0x0100); /* 256 pages: one byte changes */
	assert_int_equal(changes, 1);
	assert_int_equal(last_change, RAM_SIZE - (256u << 12));
	assert_int_equal(virtio_balloon_actual_bytes(vb), RAM_SIZE - (256u << 12));
	assert_int_equal(legacy_config32(4), 256);
	/* num_pages is the host's: a guest write does nothing */
	legacy_config_write_bytes(0, 7);
	assert_int_equal(legacy_config32(0), (RAM_SIZE >> 12) - 1);
	assert_int_equal(changes, 1);
	/* a guest claiming more than the RAM reads as nothing left */
	fvd_io_w(&drv, VIRTIO_PCI_CONFIG_OFF(false) + 4, 0xffffffffu, 4);
	assert_int_equal(virtio_balloon_actual_bytes(vb), 0);
	assert_int_equal(changes, 2);
}

static void test_config_modern(void **state)
{
	make();
	modern_bring_up(F_STATS, 3);
	virtio_balloon_set_target(vb, RAM_SIZE / 2);
	assert_int_equal(fvd_mm_r(&drv, FVD_MODERN_BAR + VIRTIO_PCI_DEVICE_OFF, 4),
			 RAM_SIZE / 2 / 4096);
	fvd_mm_w(&drv, FVD_MODERN_BAR + VIRTIO_PCI_DEVICE_OFF + 4, 10, 4);
	assert_int_equal(changes, 1);
	assert_int_equal(fvd_mm_r(&drv, FVD_MODERN_BAR + VIRTIO_PCI_DEVICE_OFF, 8),
			 (uint64_t)10 << 32 | (RAM_SIZE / 2 / 4096));
}

/* Reset (status 0): the held stats buffer is dropped with the queues,
 * actual goes back to 0 (notified), the target stays (as QEMU's); the
 * driver brings the device up again and everything works. */
static void test_reset(void **state)
{
	const uint32_t one[] = {0x30};

	make();
	legacy_bring_up(F_STATS | F_REPORTING, 4);
	virtio_balloon_set_target(vb, RAM_SIZE - 4096);
	post_stats(0);
	fvd_io_w(&drv, VIRTIO_PCI_CONFIG_OFF(false) + 4, 1, 4);
	assert_int_equal(changes, 1);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	assert_int_equal(changes, 2);
	assert_int_equal(last_change, RAM_SIZE);
	assert_int_equal(legacy_config32(4), 0);
	assert_int_equal(legacy_config32(0), 1);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 2, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	/* the poll timer finds nothing held: no write into the old ring */
	assert_int_equal(virtio_balloon_set_poll_interval(vb, 1), 0);
	memset(drv.ram + drv.ring[2].used, 0, 16);
	fake_clock_advance(0);
	assert_int_equal(fvd_used_idx(&drv, 2), 0);
	/* and again from the start */
	memset(drv.ram + 0x10000, 0, 0x10000);
	legacy_bring_up(F_STATS | F_REPORTING, 4);
	post_pfns(VIRTIO_BALLOON_Q_INFLATE, one, 1, 0);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_INFLATE), 1);
	post_stats(0);
	fake_clock_advance(1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 1);
	/* the machine's reset path too */
	virtio_balloon_type.quiesce(vb);
	virtio_balloon_type.reset(vb);
	virtio_balloon_type.resume(vb);
	assert_int_equal(legacy_config32(0), 1);
}

/* Paused: the poll timer returns nothing; resume re-arms it. */
static void test_pause_holds_poll(void **state)
{
	make();
	legacy_bring_up(F_STATS, 3);
	post_stats(0);
	assert_int_equal(virtio_balloon_set_poll_interval(vb, 2), 0);
	virtio_balloon_type.pause(vb);
	fake_clock_advance(10ULL * 1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 0);
	virtio_balloon_type.resume(vb);
	fake_clock_advance(2ULL * 1000000000);
	assert_int_equal(fvd_used_idx(&drv, VIRTIO_BALLOON_Q_STATS), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ids_features_queues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_options_change_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modern_only_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_deflate_legacy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_deflate_modern, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_large_host_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_chains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reporting_legacy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reporting_modern, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reporting_compact_numbering, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_polling, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_second_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_features_after_driver_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_target_actual, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_modern, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_holds_poll, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
