// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio PCI transport (devices/virtio/virtio_pci.h) driven as the
 * drivers drive it: the 2012-2013 virtio-win drivers of Windows 2003 on the
 * legacy register file (shared/guest-drivers.md §1), Linux's legacy
 * (virtio_pci_legacy.c) and modern (virtio_pci_modern_dev.c) drivers,
 * through the PCI configuration space and the BARs of a real PCI core, with
 * a fake device of two queues and rings in fake guest memory.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/unit/fake_virtio_driver.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/fastpath.h"
#include "vmm/loop.h"

#define RAM_SIZE   (1u << 20)
#define DEVFN	   PCI_DEVFN(3, 0) /* slot 3 INTA: PIRQ C */
#define Q0_MAX	   256
#define Q1_MAX	   128

#define F_WCACHE   (1ULL << 9)
#define F_INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENTIDX (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_VERSION1 (1ULL << VIRTIO_F_VERSION_1)

struct fakedev {
	struct virtio_pci *vp;
	uint8_t config[24];
	atomic_uint notifies[2];
	unsigned quiesces, resets, pauses, resumes, set_features_calls;
	uint64_t features_seen;
	unsigned chains, bad_chains, indirect_chains;
	bool hold; /* pop but do not push */
};

static struct fvd drv;
static struct fakedev fd;

static void fake_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	struct fakedev *d = opaque;

	assert_true(off + len <= sizeof(d->config));
	memcpy(buf, d->config + off, len);
}

static void fake_config_write(void *opaque, unsigned off, const void *buf, unsigned len)
{
	struct fakedev *d = opaque;

	assert_true(off + len <= sizeof(d->config));
	memcpy(d->config + off, buf, len);
}

static void fake_set_features(void *opaque, uint64_t f)
{
	struct fakedev *d = opaque;

	d->features_seen = f;
	d->set_features_calls++;
}

static void fake_notify(void *opaque, unsigned q, struct virtq *vq)
{
	struct fakedev *d = opaque;
	struct virtq_chain c;
	struct iovec iov[16];
	int r;

	atomic_fetch_add(&d->notifies[q], 1);
	if (d->hold)
		return;
	while ((r = virtq_pop(vq, &c, iov, 16)) != 0) {
		uint8_t status = 0;

		if (r == -EPROTO)
			break;
		if (r == -EBADMSG) {
			d->bad_chains++;
			virtq_push(vq, c.head, 0);
			continue;
		}
		d->chains++;
		d->indirect_chains += c.indirect;
		if (c.nr_in)
			virtq_iov_write(iov + c.nr_out, c.nr_in, c.in_len - 1, &status, 1);
		virtq_push(vq, c.head, c.in_len);
	}
	virtio_pci_queue_done(d->vp, q);
}

static void fake_quiesce(void *opaque)
{
	((struct fakedev *)opaque)->quiesces++;
}

static void fake_reset(void *opaque)
{
	((struct fakedev *)opaque)->resets++;
}

static void fake_pause(void *opaque)
{
	((struct fakedev *)opaque)->pauses++;
}

static void fake_resume(void *opaque)
{
	((struct fakedev *)opaque)->resumes++;
}

static struct virtio_dev_ops fake_ops = {
    .name = "fakeblk",
    .device_type = 2,
    .class_code = 0x010000,
    .features = F_WCACHE | F_INDIRECT | F_EVENTIDX,
    .num_queues = 2,
    .queue_max = {Q0_MAX, Q1_MAX},
    .config_size = 24,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .set_features = fake_set_features,
    .queue_notify = fake_notify,
    .quiesce = fake_quiesce,
    .reset = fake_reset,
    .pause = fake_pause,
    .resume = fake_resume,
};

static bool intx(void)
{
	return drv.pirq_level[2]; /* slot 3, INTA */
}

static struct virtio_pci *make(enum virtio_transport t, uint16_t type, struct fastpath *fp)
{
	struct dev_ctx ctx = fvd_ctx(&drv, NULL);
	struct virtio_pci_config cfg = {.transport = t, .devfn = -1, .id = "vd0"};
	char err[128];
	struct virtio_pci *vp;

	ctx.fastpath = fp;
	fake_ops.device_type = type;
	vp = virtio_pci_create(&ctx, &cfg, &fake_ops, &fd, err, sizeof(err));
	assert_non_null(vp);
	fd.vp = vp;
	pci_bus_seal(drv.pci);
	return vp;
}

static int setup(void **state)
{
	fvd_init(&drv, RAM_SIZE, DEVFN);
	memset(&fd, 0, sizeof(fd));
	for (unsigned i = 0; i < sizeof(fd.config); i++)
		fd.config[i] = (uint8_t)(0x10 + i);
	return 0;
}

static int teardown(void **state)
{
	virtio_pci_destroy(fd.vp);
	fvd_fini(&drv);
	return 0;
}

static int find_cap(uint8_t id, int type)
{
	for (unsigned p = fvd_cfg_r(&drv, PCI_CAPABILITY_LIST, 1), n = 0; p && n < 48;
	     p = fvd_cfg_r(&drv, p + 1, 1), n++) {
		if (fvd_cfg_r(&drv, p, 1) == id &&
		    (type < 0 || fvd_cfg_r(&drv, p + 3, 1) == (unsigned)type))
			return (int)p;
	}
	return -1;
}

/* ---- rings in fake memory (queue 0's, drv.ring[0]) ---- */

/* A block request as viostor 52 sends it with INDIRECT offered but not
 * acknowledged: one head descriptor pointing at a table of three. */
static void indirect_request(struct fvd_ring *r, uint64_t table, uint64_t buf)
{
	fvd_desc_at(&drv, table, 0, buf, 16, VIRTQ_DESC_F_NEXT, 1);
	fvd_desc_at(&drv, table, 1, buf + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	fvd_desc_at(&drv, table, 2, buf + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	fvd_desc_at(&drv, r->desc, 0, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
	drv.ram[buf + 0x400] = 0xff;
	fvd_offer(&drv, (unsigned)(r - drv.ring), 0);
}

/* ---- IDs against the Windows 2003 INFs ---- */

static void hwid(char *out, size_t len)
{
	snprintf(out, len, "PCI\\VEN_%04X&DEV_%04X&SUBSYS_%04X%04X&REV_%02X", fvd_cfg_r(&drv, 0, 2),
		 fvd_cfg_r(&drv, 2, 2), fvd_cfg_r(&drv, PCI_SUBSYSTEM_ID, 2),
		 fvd_cfg_r(&drv, PCI_SUBSYSTEM_VENDOR, 2), fvd_cfg_r(&drv, PCI_REVISION_ID, 1));
}

static void check_ids(uint16_t type, uint32_t class_code, const char *inf_id)
{
	char id[80];

	fake_ops.class_code = class_code;
	make(VIRTIO_TRANSPORT_TRANSITIONAL, type, NULL);
	hwid(id, sizeof(id));
	assert_string_equal(id, inf_id);
	assert_int_equal(fvd_cfg_r(&drv, PCI_CLASS_PROG, 1) | fvd_cfg_r(&drv, PCI_CLASS_DEVICE, 2)
								  << 8,
			 class_code);
	assert_int_equal(fvd_cfg_r(&drv, PCI_INTERRUPT_PIN, 1), 1);
	fake_ops.class_code = 0x010000;
}

static void test_ids_viostor(void **state)
{
	check_ids(2, 0x010000, "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00");
}

static void test_ids_netkvm(void **state)
{
	check_ids(1, 0x020000, "PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00");
}

static void test_ids_balloon(void **state)
{
	check_ids(5, 0x00ff00, "PCI\\VEN_1AF4&DEV_1002&SUBSYS_00051AF4&REV_00");
}

static void test_ids_modern(void **state)
{
	make(VIRTIO_TRANSPORT_MODERN, 2, NULL);
	assert_int_equal(fvd_cfg_r(&drv, 2, 2), 0x1042);
	assert_int_equal(fvd_cfg_r(&drv, PCI_REVISION_ID, 1), 1);
	assert_int_equal(fvd_cfg_r(&drv, PCI_SUBSYSTEM_ID, 2), 2);
	/* No I/O BAR: BAR0 sizes to nothing. */
	fvd_cfg_w(&drv, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	assert_int_equal(fvd_cfg_r(&drv, PCI_BASE_ADDRESS_0, 4), 0);
	assert_true(find_cap(PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_COMMON_CFG) > 0);
}

/* ---- capabilities ---- */

static void test_caps_transitional(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t off, len;
	} want[] = {
	    {VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, 0x1000},
	    {VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 0x1000},
	    {VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, 0x1000},
	    {VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF, 8},
	};
	int c;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	/* BAR0: I/O, at least 0x40 bytes (viostor's IO_PORT_LENGTH). */
	fvd_cfg_w(&drv, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	assert_int_equal(fvd_cfg_r(&drv, PCI_BASE_ADDRESS_0, 4) & 1, 1);
	assert_true((~(fvd_cfg_r(&drv, PCI_BASE_ADDRESS_0, 4) & ~3u) + 1) >= 0x40);
	/* BAR4: 64-bit prefetchable. */
	assert_int_equal(fvd_cfg_r(&drv, PCI_BASE_ADDRESS_0 + 16, 4) & 0xf, 0xc);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		c = find_cap(PCI_CAP_ID_VNDR, want[i].type);
		assert_true(c > 0);
		assert_int_equal(fvd_cfg_r(&drv, c + 4, 1), VIRTIO_PCI_MODERN_BAR);
		assert_int_equal(fvd_cfg_r(&drv, c + 8, 4), want[i].off);
		assert_int_equal(fvd_cfg_r(&drv, c + 12, 4), want[i].len);
	}
	c = find_cap(PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_NOTIFY_CFG);
	assert_int_equal(fvd_cfg_r(&drv, c + 2, 1), 20);
	assert_int_equal(fvd_cfg_r(&drv, c + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
	assert_true(find_cap(PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG) > 0);
	c = find_cap(PCI_CAP_ID_MSIX, -1);
	assert_true(c > 0);
	assert_int_equal(fvd_cfg_r(&drv, c + 2, 2) & 0x7ff, 2); /* 3 vectors: 2 queues + config */
	assert_int_equal(fvd_cfg_r(&drv, c + 4, 4), VIRTIO_PCI_MSIX_BAR);
	assert_int_equal(fvd_cfg_r(&drv, c + 8, 4), VIRTIO_PCI_MSIX_PBA_OFF | VIRTIO_PCI_MSIX_BAR);
}

static void test_caps_legacy(void **state)
{
	make(VIRTIO_TRANSPORT_LEGACY, 2, NULL);
	assert_int_equal(find_cap(PCI_CAP_ID_VNDR, -1), -1);
	fvd_cfg_w(&drv, PCI_BASE_ADDRESS_0 + 16, 0xffffffffu, 4);
	assert_int_equal(fvd_cfg_r(&drv, PCI_BASE_ADDRESS_0 + 16, 4), 0);
	assert_true(find_cap(PCI_CAP_ID_MSIX, -1) > 0);
}

/* ---- the legacy register file as the 2003 drivers use it ---- */

static void test_viostor_2003(void **state)
{
	struct virtio_pci_path_stats ps;
	struct fvd_ring *r = &drv.ring[0];
	uint32_t hf;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	fvd_place_bars(&drv);
	/* FindAdapter: reset, select 0, host features. */
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	assert_int_equal(fd.quiesces, 1);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	hf = (uint32_t)fvd_io_r(&drv, VIRTIO_PCI_HOST_FEATURES, 4);
	assert_int_equal(hf, (uint32_t)fake_ops.features);
	/* Only WCACHE, read-modify-write: reads back as written. */
	fvd_io_w(&drv, VIRTIO_PCI_GUEST_FEATURES,
		 fvd_io_r(&drv, VIRTIO_PCI_GUEST_FEATURES, 4) | F_WCACHE, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_GUEST_FEATURES, 4), F_WCACHE);
	/* Bits never offered do not stick. */
	fvd_io_w(&drv, VIRTIO_PCI_GUEST_FEATURES, F_WCACHE | 1u << 3, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_GUEST_FEATURES, 4), F_WCACHE);
	/* Queue allocation: PFN 0 (else "already in use"), size, PFN. */
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_NUM, 2), Q0_MAX);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0x10);
	/* Queue 2 does not exist: size 0. */
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 2, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_NUM, 2), 0);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x30, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	/* Status straight from 0 to DRIVER_OK, read-modify-write. */
	fvd_io_w(&drv, VIRTIO_PCI_STATUS,
		 fvd_io_r(&drv, VIRTIO_PCI_STATUS, 1) | VIRTIO_STATUS_DRIVER_OK, 1);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_STATUS, 1), VIRTIO_STATUS_DRIVER_OK);
	/* Device config one byte at a time at 0x14 (no MSI-X). */
	for (unsigned i = 0; i < sizeof(fd.config); i++)
		assert_int_equal(fvd_io_r(&drv, 0x14 + i, 1), fd.config[i]);
	assert_int_equal(fvd_io_r(&drv, 0x14, 4), 0x13121110u);
	assert_int_equal(fvd_io_r(&drv, 0x14 + 2, 2), 0x1312);
	assert_int_equal(fvd_io_r(&drv, 0x14 + 23, 1), fd.config[23]);
	assert_int_equal(fvd_io_r(&drv, 0x14 + 22, 4), 0xffffffffu); /* past the end */
	/* VirtIODeviceDumpRegisters: 32-bit reads anywhere break nothing. */
	for (unsigned off = 0x0c; off <= 0x12; off += 2)
		fvd_io_r(&drv, off, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_STATUS, 1), VIRTIO_STATUS_DRIVER_OK);

	/* An indirect request without INDIRECT acknowledged. */
	fvd_ring_place(&drv, 0, 0x10, Q0_MAX);
	indirect_request(r, 0x40000, 0x50000);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	assert_int_equal(fd.notifies[0], 1);
	assert_int_equal(fd.chains, 1);
	assert_int_equal(fd.indirect_chains, 1);
	assert_int_equal(drv.ram[0x50400], 0);
	assert_int_equal(fvd_get16(&drv, r->used + 2), 1);
	/* Exactly ISR bit 0, INTx while it is set, cleared by the read. */
	assert_true(intx());
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 1);
	assert_false(intx());
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 0);
	/* Without fast paths: the kick was an exit, the interrupt INTx by the
	 * slow path (what --no-ioeventfd --no-irqfd give). */
	assert_int_equal(virtio_pci_path_stats(fd.vp, 0, &ps, false), 0);
	assert_int_equal(ps.notify_exit, 1);
	assert_int_equal(ps.notify_ioeventfd, 0);
	assert_int_equal(ps.irq_ioctl, 1);
	assert_int_equal(ps.irq_irqfd + ps.irq_msi, 0);

	/* ScsiRestartAdapter: reset, then every PFN reads 0 again. */
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	assert_int_equal(fd.quiesces, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_STATUS, 1), 0);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_GUEST_FEATURES, 4), 0);
	/* Crash-dump mode writes PFN 0 (delete); resume writes the old PFN. */
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0, 4);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0x10);
}

static void test_balloon_features_after_driver_ok(void **state)
{
	make(VIRTIO_TRANSPORT_TRANSITIONAL, 5, NULL);
	fvd_place_bars(&drv);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 7, 1);
	fvd_io_w(&drv, VIRTIO_PCI_GUEST_FEATURES, F_EVENTIDX, 4);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_GUEST_FEATURES, 4), F_EVENTIDX);
	assert_int_equal(fd.features_seen, F_EVENTIDX);
	assert_int_equal(virtio_pci_queue(fd.vp, 0)->features, F_EVENTIDX);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_STATUS, 1), 7);
}

static void test_config_isr3(void **state)
{
	struct fvd_ring *r = &drv.ring[0];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	fvd_place_bars(&drv);
	/* Nothing before DRIVER_OK. */
	virtio_pci_lock(fd.vp);
	virtio_pci_config_changed(fd.vp);
	virtio_pci_unlock(fd.vp);
	assert_false(intx());
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 0);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK, 1);
	virtio_pci_lock(fd.vp);
	virtio_pci_config_changed(fd.vp);
	virtio_pci_unlock(fd.vp);
	assert_true(intx());
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 3);
	assert_false(intx());
	/* A completion behind a config change: ISR 3, then 1 (viostor does
	 * not drain on 3). */
	fvd_ring_place(&drv, 0, 0x10, Q0_MAX);
	indirect_request(r, 0x40000, 0x50000);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	virtio_pci_lock(fd.vp);
	virtio_pci_config_changed(fd.vp);
	virtio_pci_unlock(fd.vp);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 3);
	assert_true(intx());
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 1);
	assert_false(intx());
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 0);
}

static void test_legacy_queue_error(void **state)
{
	struct fvd_ring *r = &drv.ring[0];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	fvd_place_bars(&drv);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK, 1);
	fvd_ring_place(&drv, 0, 0x10, Q0_MAX);
	fvd_put16(&drv, r->avail + 2, Q0_MAX + 1); /* a jump by more than the size */
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	assert_int_not_equal(virtq_error(virtio_pci_queue(fd.vp, 0)), VIRTQ_OK);
	/* Legacy: the queue stops, nothing else. */
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_STATUS, 1), VIRTIO_STATUS_DRIVER_OK);
	assert_false(intx());
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	assert_int_equal(fd.notifies[0], 1);
	/* Reset brings it back. */
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	assert_true(virtq_ready(virtio_pci_queue(fd.vp, 0)));
}

/* A PFN write resets the queue (the same PFN again included, as viostor's
 * renew after S3 does), and a device can tell: the generation moves on, for
 * that queue only.  So can a guest reset. */
static void test_legacy_pfn_generation(void **state)
{
	uint32_t g0, g1;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	fvd_place_bars(&drv);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 1, 2);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x20, 4);
	g0 = virtio_pci_queue(fd.vp, 0)->generation;
	g1 = virtio_pci_queue(fd.vp, 1)->generation;
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	assert_true(virtq_ready(virtio_pci_queue(fd.vp, 0)));
	assert_int_not_equal(virtio_pci_queue(fd.vp, 0)->generation, g0);
	assert_int_equal(virtio_pci_queue(fd.vp, 1)->generation, g1);
	g0 = virtio_pci_queue(fd.vp, 0)->generation;
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	assert_int_not_equal(virtio_pci_queue(fd.vp, 0)->generation, g0);
	assert_int_not_equal(virtio_pci_queue(fd.vp, 1)->generation, g1);
}

/* Linux's legacy driver with MSI-X: vectors at 0x14/0x16, config at 0x18. */
static void test_legacy_msix(void **state)
{
	int c;
	struct fvd_ring *r = &drv.ring[0];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	fvd_place_bars(&drv);
	c = find_cap(PCI_CAP_ID_MSIX, -1);
	fvd_cfg_w(&drv, c + 2, 0x8000, 2);
	for (unsigned v = 0; v < 3; v++) {
		fvd_mm_w(&drv, FVD_MSIX_BASE + 16 * v, 0xfee00000u, 4);
		fvd_mm_w(&drv, FVD_MSIX_BASE + 16 * v + 4, 0, 4);
		fvd_mm_w(&drv, FVD_MSIX_BASE + 16 * v + 8, 0x40 + v, 4);
		fvd_mm_w(&drv, FVD_MSIX_BASE + 16 * v + 12, 0, 4);
	}
	fvd_io_w(&drv, VIRTIO_MSI_CONFIG_VECTOR, 0, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_MSI_CONFIG_VECTOR, 2), 0);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	fvd_io_w(&drv, VIRTIO_MSI_QUEUE_VECTOR, 1, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_MSI_QUEUE_VECTOR, 2), 1);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 1, 2);
	fvd_io_w(&drv, VIRTIO_MSI_QUEUE_VECTOR, 9, 2); /* beyond the table */
	assert_int_equal(fvd_io_r(&drv, VIRTIO_MSI_QUEUE_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	for (unsigned i = 0; i < sizeof(fd.config); i++)
		assert_int_equal(fvd_io_r(&drv, 0x18 + i, 1), fd.config[i]);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 7, 1);
	fvd_ring_place(&drv, 0, 0x10, Q0_MAX);
	indirect_request(r, 0x40000, 0x50000);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	assert_int_equal(drv.msis, 1);
	assert_int_equal(drv.msi_data, 0x41);
	assert_false(intx());
}

/* ---- the modern interface as Linux's virtio_pci_modern uses it ---- */

static void modern_queue(unsigned q, uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa,
			 uint64_t used_gpa, uint16_t vector)
{
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SELECT), q, 2);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), size, 2);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_DESCLO), (uint32_t)desc_gpa, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_DESCHI), desc_gpa >> 32, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_AVAILLO), (uint32_t)avail_gpa, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_AVAILHI), avail_gpa >> 32, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_USEDLO), (uint32_t)used_gpa, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_USEDHI), used_gpa >> 32, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_MSIX), vector, 2);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_ENABLE), 1, 2);
}

static void modern_bring_up(struct fvd_ring *r)
{
	int c = find_cap(PCI_CAP_ID_MSIX, -1);
	uint64_t f;

	fvd_place_bars(&drv);
	fvd_cfg_w(&drv, c + 2, 0x8000, 2);
	for (unsigned v = 0; v < 3; v++) {
		fvd_mm_w(&drv, FVD_MSIX_BASE + 16 * v, 0xfee00000u, 4);
		fvd_mm_w(&drv, FVD_MSIX_BASE + 16 * v + 8, 0x50 + v, 4);
		fvd_mm_w(&drv, FVD_MSIX_BASE + 16 * v + 12, 0, 4);
	}
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), VIRTIO_STATUS_ACKNOWLEDGE, 1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_DFSELECT), 0, 4);
	f = fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_DF), 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_DFSELECT), 1, 4);
	f |= fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_DF), 4) << 32;
	assert_int_equal(f, fake_ops.features | F_VERSION1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GFSELECT), 0, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), (uint32_t)f, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GFSELECT), 1, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), f >> 32, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1), 0xb);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_MSIX), 0, 2);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_NUMQ), 2), 2);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SELECT), 1, 2);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), 2), Q1_MAX);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_NOFF), 2), 1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SELECT), 2, 2);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), 2), 0);
	r->size = 64;
	r->desc = 0x20000;
	r->avail = 0x21000;
	r->used = 0x22000;
	r->avail_idx = r->next = 0;
	modern_queue(0, 64, r->desc, r->avail, r->used, 1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0xf, 1);
	assert_true(virtio_pci_modern(fd.vp));
	assert_int_equal(fd.features_seen, f);
}

static void test_modern_linux(void **state)
{
	struct fvd_ring *r = &drv.ring[0];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	modern_bring_up(r);
	/* Device config through its window, any width. */
	assert_int_equal(fvd_mm_r(&drv, FVD_MODERN_BAR + VIRTIO_PCI_DEVICE_OFF, 8),
			 0x1716151413121110ULL);
	assert_int_equal(fvd_mm_r(&drv, FVD_MODERN_BAR + VIRTIO_PCI_DEVICE_OFF + 5, 1), 0x15);
	/* A request and the kick at queue 0's notify address. */
	indirect_request(r, 0x40000, 0x50000);
	fvd_put16(&drv, r->avail + 4 + 2 * 64, 0); /* used_event: interrupt after the first */
	fvd_mm_w(&drv, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	assert_int_equal(fd.chains, 1);
	assert_int_equal(drv.msis, 1);
	assert_int_equal(drv.msi_data, 0x51);
	assert_int_equal(drv.msi_addr, 0xfee00000u);
	/* Queue 1 is not enabled: its kick is ignored. */
	fvd_mm_w(&drv, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + 4, 1, 2);
	assert_int_equal(fd.notifies[1], 0);
	/* A misaligned or out-of-range notify does nothing. */
	fvd_mm_w(&drv, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + 2, 0, 2);
	fvd_mm_w(&drv, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + 0x400, 0, 2);
	assert_int_equal(fd.notifies[0], 1);
	/* An enabled queue's rings stay put. */
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_DESCLO), 0x90000, 4);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_DESCLO), 4), r->desc);
	/* Feature writes after FEATURES_OK are ignored. */
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GFSELECT), 0, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), 0, 4);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), 4),
			 (uint32_t)fake_ops.features);
	/* Reset through the modern status. */
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 0);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_MSIX), 2),
			 VIRTIO_MSI_NO_VECTOR);
	assert_false(virtq_ready(virtio_pci_queue(fd.vp, 0)));
}

static void test_modern_features_ok_refused(void **state)
{
	make(VIRTIO_TRANSPORT_MODERN, 2, NULL);
	fvd_place_bars(&drv);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GFSELECT), 0, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), 1u << 3, 4); /* never offered */
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1), 3);
	/* Offered bits but no VERSION_1: refused too. */
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), (uint32_t)F_WCACHE, 4);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), 4), (uint32_t)F_WCACHE);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1), 3);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GFSELECT), 1, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_GF), 1, 4);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1), 0xb);
	assert_int_equal(virtio_pci_features(fd.vp), F_WCACHE | F_VERSION1);
	/* A bad queue size keeps the queue disabled. */
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SELECT), 0, 2);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), 100, 2);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_ENABLE), 1, 2);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 0);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), 512, 2); /* above the maximum */
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_SIZE), 2), 0);
	/* Rings outside RAM are refused. */
	modern_queue(0, 64, RAM_SIZE - 16, 0x21000, 0x22000, 0);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 0);
}

static void test_modern_queue_error(void **state)
{
	struct fvd_ring *r = &drv.ring[0];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	modern_bring_up(r);
	fvd_put16(&drv, r->avail + 2, 200); /* more than the size */
	fvd_mm_w(&drv, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1),
			 0xf | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(drv.msis, 1);
	assert_int_equal(drv.msi_data, 0x50); /* the config vector */
	/* Reported once. */
	fvd_mm_w(&drv, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	assert_int_equal(drv.msis, 1);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1), 0);
}

static void test_pci_cfg_access(void **state)
{
	int c;
	struct fvd_ring *r = &drv.ring[0];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	modern_bring_up(r);
	c = find_cap(PCI_CAP_ID_VNDR, VIRTIO_PCI_CAP_PCI_CFG);
	/* num_queues through the window. */
	fvd_cfg_w(&drv, c + 4, VIRTIO_PCI_MODERN_BAR, 1);
	fvd_cfg_w(&drv, c + 8, VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_NUMQ, 4);
	fvd_cfg_w(&drv, c + 12, 2, 4);
	assert_int_equal(fvd_cfg_r(&drv, c + 16, 2), 2);
	/* A kick through the window. */
	indirect_request(r, 0x40000, 0x50000);
	fvd_cfg_w(&drv, c + 8, VIRTIO_PCI_NOTIFY_OFF, 4);
	fvd_cfg_w(&drv, c + 16, 0, 2);
	assert_int_equal(fd.chains, 1);
	/* A bad length or BAR does nothing. */
	fvd_cfg_w(&drv, c + 12, 3, 4);
	fvd_cfg_w(&drv, c + 16, 0, 4);
	fvd_cfg_w(&drv, c + 4, 0, 1);
	fvd_cfg_w(&drv, c + 12, 2, 4);
	fvd_cfg_w(&drv, c + 16, 0, 2);
	assert_int_equal(fd.notifies[0], 1);
}

/* ---- life cycle ---- */

static void test_pause_resume_reset(void **state)
{
	struct fvd_ring *r = &drv.ring[0];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	fvd_place_bars(&drv);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK, 1);
	fvd_ring_place(&drv, 0, 0x10, Q0_MAX);
	virtio_pci_pause(fd.vp);
	assert_int_equal(fd.pauses, 1);
	indirect_request(r, 0x40000, 0x50000);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	assert_int_equal(fd.notifies[0], 0);
	virtio_pci_resume(fd.vp);
	assert_int_equal(fd.notifies[0], 1);
	assert_int_equal(fd.chains, 1);
	/* Machine reset: quiesce, reset, resume. */
	virtio_pci_quiesce(fd.vp);
	assert_int_equal(fd.quiesces, 1);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2); /* dropped */
	pci_bus_reset(drv.pci);
	virtio_pci_reset(fd.vp);
	virtio_pci_resume(fd.vp);
	assert_int_equal(fd.notifies[0], 1);
	assert_int_equal(fd.resets, 1);
	fvd_place_bars(&drv);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_STATUS, 1), 0);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_ISR, 1), 0);
}

/* ---- doorbells through the fast path's exit route, following BARs ---- */

static void *loop_thread(void *opaque)
{
	event_loop_run(opaque);
	return NULL;
}

static bool wait_notifies(unsigned q, unsigned n)
{
	for (unsigned i = 0; i < 2000; i++) {
		if (atomic_load(&fd.notifies[q]) >= n)
			return true;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	return false;
}

static void test_fastpath_doorbells(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct fastpath *fp = fastpath_new(NULL, NULL, &VM_ACCEL_DEFAULT, loop, drv.pio, drv.mmio);
	struct virtio_pci_stats st;
	struct virtio_pci_path_stats ps;
	pthread_t th;
	struct fvd_ring *r = &drv.ring[0];

	assert_non_null(fp);
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);
	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, fp);
	fvd_place_bars(&drv);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x10, 4);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK, 1);
	fvd_ring_place(&drv, 0, 0x10, Q0_MAX);
	indirect_request(r, 0x40000, 0x50000);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	assert_true(wait_notifies(0, 1));
	assert_int_equal(fastpath_counters(fp)->doorbell_exit, 1);
	/* The firmware moves BAR0: the doorbell follows. */
	fvd_cfg_w(&drv, PCI_BASE_ADDRESS_0, FVD_IO_BASE + 0x100, 4);
	bus_write(drv.pio, FVD_IO_BASE + 0x100 + VIRTIO_PCI_QUEUE_NOTIFY, 0, 2);
	assert_true(wait_notifies(0, 2));
	assert_int_equal(fastpath_counters(fp)->doorbell_exit, 2);
	/* A 32-bit write is no doorbell match: handled at once. */
	bus_write(drv.pio, FVD_IO_BASE + 0x100 + VIRTIO_PCI_QUEUE_NOTIFY, 0, 4);
	assert_int_equal(fd.notifies[0], 3);
	virtio_pci_get_stats(fd.vp, &st);
	assert_int_equal(st.kicks, 3);
	/* By path: all three came through exits (two of them rang the
	 * doorbell's eventfd), none through KVM's ioeventfd. */
	assert_int_equal(virtio_pci_path_stats(fd.vp, 0, &ps, false), 0);
	assert_int_equal(ps.notify_exit, 3);
	assert_int_equal(ps.notify_ioeventfd, 0);
	assert_int_equal(virtio_pci_path_stats(fd.vp, 2, &ps, false), -EINVAL);
	/* Doorbells are freed with the loop stopped (vmm/fastpath.h). */
	event_loop_stop(loop);
	pthread_join(th, NULL);
	virtio_pci_destroy(fd.vp);
	fd.vp = NULL;
	fastpath_free(fp);
	event_loop_free(loop);
}

/* ---- the fast paths themselves, on a fake KVM: ioeventfds and irqfds ---- */

#define MAX_IOE 8

struct fake_ioe {
	int fd;
	bool pio, dm, live;
	uint64_t addr, data;
	unsigned len;
};

static struct {
	struct fake_ioe ioe[MAX_IOE];
	unsigned nr_ioe;
	int irq_fd[8];
	unsigned irq_gsi[8], nr_irq, next_gsi;
} fh;

static void h_caps(void *o, struct fastpath_caps *c)
{
	*c = (struct fastpath_caps){true, true, true, true, true, true, false, false, false};
}

static int h_ioeventfd(void *o, int efd, bool is_pio, uint64_t addr, unsigned len, bool dm,
		       uint64_t data, bool assign)
{
	for (unsigned i = 0; i < fh.nr_ioe; i++) {
		if (fh.ioe[i].fd == efd && fh.ioe[i].live && !assign) {
			fh.ioe[i].live = false;
			return 0;
		}
	}
	if (!assign)
		return -ENOENT;
	assert_true(fh.nr_ioe < MAX_IOE);
	fh.ioe[fh.nr_ioe++] = (struct fake_ioe){efd, is_pio, dm, true, addr, data, len};
	return 0;
}

static int h_irqfd(void *o, int efd, unsigned gsi, int rfd, bool assign)
{
	if (assign && fh.nr_irq < 8) {
		fh.irq_fd[fh.nr_irq] = efd;
		fh.irq_gsi[fh.nr_irq++] = gsi;
	}
	return 0;
}

static int h_route_add(void *o, uint64_t addr, uint32_t data)
{
	return (int)(24 + fh.next_gsi++);
}

static int h_route_ok(void *o, unsigned gsi, uint64_t addr, uint32_t data)
{
	return 0;
}

static int h_route_del(void *o, unsigned gsi)
{
	return 0;
}

static int h_signal_msi(void *o, uint64_t addr, uint32_t data)
{
	drv.msis++;
	return 1;
}

static const struct fastpath_host fake_kvm = {
    .caps = h_caps,
    .ioeventfd = h_ioeventfd,
    .irqfd = h_irqfd,
    .msi_route_add = h_route_add,
    .msi_route_set = h_route_ok,
    .msi_route_del = h_route_del,
    .signal_msi = h_signal_msi,
};

static const struct fake_ioe *live_ioe(bool is_pio, uint64_t addr, uint64_t data)
{
	for (unsigned i = 0; i < fh.nr_ioe; i++) {
		const struct fake_ioe *e = &fh.ioe[i];

		if (e->live && e->pio == is_pio && e->addr == addr && (!e->dm || e->data == data))
			return e;
	}
	return NULL;
}

/* What KVM does for a write an ioeventfd matches: signal it, no exit. */
static void kvm_signal(const struct fake_ioe *e)
{
	uint64_t one = 1;

	assert_int_equal(write(e->fd, &one, 8), 8);
}

static void test_fastpath_ioeventfd_irqfd(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct fastpath *fp;
	const struct fake_ioe *e;
	struct virtio_pci_path_stats ps;
	json_t *j, *q0;
	struct fvd_ring *r = &drv.ring[0];
	pthread_t th;
	uint64_t n;
	int c;

	memset(&fh, 0, sizeof(fh));
	fp = fastpath_new(&fake_kvm, NULL, &VM_ACCEL_DEFAULT, loop, drv.pio, drv.mmio);
	assert_non_null(fp);
	pci_bus_set_msi_sink(drv.pci, fastpath_msi_sink, fp);
	assert_int_equal(pthread_create(&th, NULL, loop_thread, loop), 0);
	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, fp);
	/* Nothing placed before the firmware programs the BARs. */
	assert_null(live_ioe(true, FVD_IO_BASE + VIRTIO_PCI_QUEUE_NOTIFY, 0));
	fvd_place_bars(&drv);
	/* Legacy: one PIO ioeventfd a queue, 2 bytes, datamatched on its index. */
	for (unsigned q = 0; q < 2; q++) {
		e = live_ioe(true, FVD_IO_BASE + VIRTIO_PCI_QUEUE_NOTIFY, q);
		assert_non_null(e);
		assert_true(e->dm);
		assert_int_equal(e->len, 2);
		/* Modern: MMIO at notify + 4q, any width. */
		e = live_ioe(false, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + 4 * q, 0);
		assert_non_null(e);
		assert_int_equal(e->len, 0);
	}
	/* The modern bring-up with MSI-X, then a kick that never exits. */
	modern_bring_up(r);
	indirect_request(r, 0x40000, 0x50000);
	fvd_put16(&drv, r->avail + 4 + 2 * 64, 0);
	kvm_signal(live_ioe(false, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF, 0));
	assert_true(wait_notifies(0, 1));
	assert_int_equal(fastpath_counters(fp)->doorbell_ioeventfd, 1);
	assert_int_equal(fastpath_counters(fp)->doorbell_exit, 0);
	/* The completion went out through queue 0's vector's irqfd. */
	for (unsigned i = 0; i < 200 && !atomic_load(&fastpath_counters(fp)->irq_irqfd); i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	assert_int_equal(fastpath_counters(fp)->irq_irqfd, 1);
	assert_int_equal(drv.msis, 0);
	assert_true(fh.nr_irq >= 1);
	c = 0;
	for (unsigned i = 0; i < fh.nr_irq; i++)
		if (read(fh.irq_fd[i], &n, 8) == 8)
			c += (int)n;
	assert_int_equal(c, 1);
	/* The research counters say the same, per queue. */
	assert_int_equal(virtio_pci_path_stats(fd.vp, 0, &ps, false), 0);
	assert_int_equal(ps.notify_ioeventfd, 1);
	assert_int_equal(ps.notify_exit, 0);
	assert_int_equal(ps.irq_irqfd, 1);
	assert_int_equal(ps.irq_msi + ps.irq_ioctl, 0);
	j = virtio_pci_stats_json(fd.vp, true);
	assert_non_null(j);
	q0 = json_array_get(json_object_get(j, "queues"), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(q0, "notify"), "ioeventfd")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(q0, "interrupts"), "irqfd")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "driver")), "modern");
	assert_string_equal(json_string_value(json_object_get(j, "transport")), "transitional");
	json_decref(j);
	/* reset: from 0 again */
	assert_int_equal(virtio_pci_path_stats(fd.vp, 0, &ps, false), 0);
	assert_int_equal(ps.notify_ioeventfd + ps.irq_irqfd, 0);
	/* The firmware moves BAR4: the ioeventfds follow. */
	fvd_cfg_w(&drv, PCI_BASE_ADDRESS_0 + 16, FVD_MODERN_BAR + 0x10000, 4);
	assert_null(live_ioe(false, FVD_MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF, 0));
	assert_non_null(live_ioe(false, FVD_MODERN_BAR + 0x10000 + VIRTIO_PCI_NOTIFY_OFF, 0));

	/* Doorbells are freed with the loop stopped (vmm/fastpath.h). */
	event_loop_stop(loop);
	pthread_join(th, NULL);
	virtio_pci_destroy(fd.vp);
	fd.vp = NULL;
	fastpath_free(fp);
	event_loop_free(loop);
}

static void test_transport_names(void **state)
{
	enum virtio_transport t;

	assert_int_equal(virtio_transport_parse("legacy", &t), 0);
	assert_int_equal(t, VIRTIO_TRANSPORT_LEGACY);
	assert_int_equal(virtio_transport_parse("modern", &t), 0);
	assert_int_equal(t, VIRTIO_TRANSPORT_MODERN);
	assert_int_equal(virtio_transport_parse("transitional", &t), 0);
	assert_int_equal(t, VIRTIO_TRANSPORT_TRANSITIONAL);
	assert_int_equal(virtio_transport_parse("Modern", &t), -EINVAL);
	assert_string_equal(virtio_transport_name(VIRTIO_TRANSPORT_TRANSITIONAL), "transitional");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ids_viostor),
	    T(test_ids_netkvm),
	    T(test_ids_balloon),
	    T(test_ids_modern),
	    T(test_caps_transitional),
	    T(test_caps_legacy),
	    T(test_viostor_2003),
	    T(test_balloon_features_after_driver_ok),
	    T(test_config_isr3),
	    T(test_legacy_queue_error),
	    T(test_legacy_pfn_generation),
	    T(test_legacy_msix),
	    T(test_modern_linux),
	    T(test_modern_features_ok_refused),
	    T(test_modern_queue_error),
	    T(test_pci_cfg_access),
	    T(test_pause_resume_reset),
	    T(test_fastpath_doorbells),
	    T(test_fastpath_ioeventfd_irqfd),
	    cmocka_unit_test(test_transport_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
