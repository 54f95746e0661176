// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-blk (devices/virtio/virtio_blk.c) on the real transport and PCI
 * core, with rings in a fake guest RAM and a raw image in a temporary file
 * behind the real block layer.  The test plays the driver: viostor 52 and
 * Linux on the legacy register file, Linux on the modern capabilities.
 * Completions run when the test drains the block device (no event loop).
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
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "devices/block/block.h"
#include "devices/pci.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_blk_req.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/unit/fake_virtio_driver.h"
#include "vmm/device.h"
#include "vmm/loop.h"

#define RAM_SIZE   (4u << 20)
#define DEVFN	   PCI_DEVFN(3, 0)
#define QSIZE	   256
#define DISK_SIZE  (1u << 20) /* 2048 sectors */
#define SECTORS	   (DISK_SIZE / 512)
#define BUF	   0x200000u /* request buffers */

#define F_SIZE_MAX   (1ULL << 1)
#define F_SEG_MAX    (1ULL << 2)
#define F_GEOMETRY   (1ULL << 4)
#define F_RO	     (1ULL << 5)
#define F_BLK_SIZE   (1ULL << 6)
#define F_FLUSH	     (1ULL << 9)
#define F_TOPOLOGY   (1ULL << 10)
#define F_CONFIG_WCE (1ULL << 11)
#define F_MQ	     (1ULL << 12)
#define F_DISCARD    (1ULL << 13)
#define F_WZ	     (1ULL << 14)
#define F_INDIRECT   (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENTIDX   (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_VERSION1   (1ULL << VIRTIO_F_VERSION_1)

#define R 0
#define W VIRTQ_DESC_F_WRITE

static struct fvd drv;
static struct block_dev *bd;
static struct virtio_blk *vb;
static char img[64];
static unsigned syncs;

static void open_disk(bool read_only)
{
	struct block_opts o = {.format = "raw", .read_only = read_only};
	char err[256];

	assert_int_equal(block_open(&bd, img, &o, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	struct block_create_opts co = {.format = "raw", .size = DISK_SIZE};
	char err[256];
	int fd;

	fvd_init(&drv, RAM_SIZE, DEVFN);
	snprintf(img, sizeof(img), "/tmp/test_virtio_blk.XXXXXX");
	fd = mkstemp(img);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(block_create(img, &co, err, sizeof(err)), 0);
	open_disk(false);
	/* Sector s holds bytes (s + i) & 0xff. */
	for (unsigned s = 0; s < SECTORS; s++) {
		uint8_t b[512];

		for (unsigned i = 0; i < 512; i++)
			b[i] = (uint8_t)(s + i);
		assert_int_equal(block_pwrite(bd, (uint64_t)s * 512, b, 512), 0);
	}
	vb = NULL;
	syncs = 0;
	return 0;
}

static int teardown(void **state)
{
	block_set_trace(NULL, NULL);
	if (vb)
		virtio_blk_type.destroy(vb);
	if (bd)
		block_close(bd);
	bd = NULL;
	fvd_fini(&drv);
	unlink(img);
	return 0;
}

static void make_on(enum virtio_transport t, unsigned nq, const char *serial,
		    struct event_loop *loop)
{
	struct dev_ctx ctx = fvd_ctx(&drv, loop);
	struct virtio_blk_args a = {.bd = bd, .serial = serial, .num_queues = nq, .transport = t};
	struct board_entry e = {.type = &virtio_blk_type, .id = "vblk0", .devfn = DEVFN, .irq = -1,
				.arg = &a};
	char err[128];

	vb = virtio_blk_type.create(&ctx, &e, err, sizeof(err));
	assert_non_null(vb);
	pci_bus_seal(drv.pci);
}

static void make(enum virtio_transport t, unsigned nq, const char *serial)
{
	make_on(t, nq, serial, NULL);
}

/* ---- the driver's accesses (fake_virtio_driver) ---- */

/* Every queue at the size the device offers, QSIZE. */
static void check_qsize(unsigned nq)
{
	for (unsigned q = 0; q < nq; q++)
		assert_int_equal(drv.ring[q].size, QSIZE);
}

/* Legacy bring-up as viostor 52: reset, features, PFNs, DRIVER_OK. */
static void legacy_up(uint32_t features, unsigned nq)
{
	fvd_legacy_up(&drv, features, nq, 0x100, true);
	check_qsize(nq);
}

/* Modern bring-up as Linux: features, FEATURES_OK, queues, DRIVER_OK. */
static void modern_up(uint64_t features, unsigned nq)
{
	fvd_modern_up(&drv, features, nq, 0x100, true);
	check_qsize(nq);
	assert_true(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1) == 0xf);
}

static void header(uint64_t gpa, uint32_t type, uint64_t sector)
{
	fvd_put32(&drv, gpa, type);
	fvd_put32(&drv, gpa + 4, 0);
	fvd_put64(&drv, gpa + 8, sector);
}

/* The usual three-buffer request: header, data, status. */
static uint16_t request(unsigned q, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
			uint16_t dflags, uint64_t status)
{
	struct fvd_seg s[3] = {{BUF + 0x100000 + 0x4000 * q + 64 * drv.ring[q].next, 16, R},
			       {data, len, dflags},
			       {status, 1, W}};

	header(s[0].gpa, type, sector);
	drv.ram[status] = 0xee;
	if (!len) {
		s[1] = s[2];
		return fvd_chain(&drv, q, s, 2);
	}
	return fvd_chain(&drv, q, s, 3);
}

static void kick(unsigned q)
{
	fvd_kick(&drv, q);
	block_drain(bd);
}

/* One request on queue 0, run to completion: its status byte. */
#define run1(...) run1_at(__LINE__, __VA_ARGS__)
static uint8_t run1_at(int line, uint32_t type, uint64_t sector, uint64_t data, uint32_t len, uint16_t dflags)
{
	uint16_t u = fvd_used_idx(&drv, 0), head;
	uint32_t id, ulen;

	head = request(0, type, sector, data, len, dflags, BUF + 0xff000);
	kick(0);
	if (fvd_used_idx(&drv, 0) != (uint16_t)(u + 1))
		fail_msg("line %d: request not answered (used %u)", line, fvd_used_idx(&drv, 0));
	fvd_used_elem(&drv, 0, u, &id, &ulen);
	assert_int_equal(id, head);
	return drv.ram[BUF + 0xff000];
}

static void sector_pattern(uint8_t *b, unsigned s)
{
	for (unsigned i = 0; i < 512; i++)
		b[i] = (uint8_t)(s + i);
}

/* ---- IDs and config ---- */

static void test_ids_viostor_inf(void **state)
{
	char id[80];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	snprintf(id, sizeof(id), "PCI\\VEN_%04X&DEV_%04X&SUBSYS_%04X%04X&REV_%02X",
		 fvd_cfg_r(&drv, 0, 2), fvd_cfg_r(&drv, 2, 2), fvd_cfg_r(&drv, PCI_SUBSYSTEM_ID, 2),
		 fvd_cfg_r(&drv, PCI_SUBSYSTEM_VENDOR, 2), fvd_cfg_r(&drv, PCI_REVISION_ID, 1));
	/* viostor.inf (2012-11-27), [RedHat.NTx86.5.2] */
	assert_string_equal(id, "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00");
	assert_int_equal(fvd_cfg_r(&drv, PCI_CLASS_PROG, 1) | fvd_cfg_r(&drv, PCI_CLASS_DEVICE, 2)
								  << 8,
			 0x010000);
	assert_int_equal(fvd_cfg_r(&drv, PCI_INTERRUPT_PIN, 1), 1);
	/* viostor needs at least 0x40 bytes of I/O. */
	fvd_cfg_w(&drv, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	assert_true((~(fvd_cfg_r(&drv, PCI_BASE_ADDRESS_0, 4) & ~3u) + 1) >= 0x40);
}

static void test_config_legacy(void **state)
{
	uint32_t hf;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	fvd_place_bars(&drv);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	hf = (uint32_t)fvd_io_r(&drv, VIRTIO_PCI_HOST_FEATURES, 4);
	assert_int_equal(hf, F_SIZE_MAX | F_SEG_MAX | F_GEOMETRY | F_BLK_SIZE | F_FLUSH |
				 F_TOPOLOGY | F_CONFIG_WCE | F_DISCARD | F_WZ | F_INDIRECT |
				 F_EVENTIDX);
	assert_int_equal(fvd_devcfg(&drv, 0, 8), SECTORS);
	assert_int_equal(fvd_devcfg(&drv, 8, 4), 1u << 20);
	assert_int_equal(fvd_devcfg(&drv, 12, 4), 126);
	assert_int_equal(fvd_devcfg(&drv, 16, 2), 2); /* 2048 / (16 * 63) */
	assert_int_equal(fvd_devcfg(&drv, 18, 1), 16);
	assert_int_equal(fvd_devcfg(&drv, 19, 1), 63);
	assert_int_equal(fvd_devcfg(&drv, 20, 4), 512);
	assert_int_equal(fvd_devcfg(&drv, 24, 8), 0); /* topology: 512-byte physical blocks */
	assert_int_equal(fvd_devcfg(&drv, 34, 2), 1);
	assert_int_equal(fvd_devcfg(&drv, 36, 4), 1u << 22);
	assert_int_equal(fvd_devcfg(&drv, 40, 4), 16);
	assert_int_equal(fvd_devcfg(&drv, 44, 4), 1);
	assert_int_equal(fvd_devcfg(&drv, 48, 4), 1u << 22);
	assert_int_equal(fvd_devcfg(&drv, 52, 4), 16);
	assert_int_equal(fvd_devcfg(&drv, 56, 1), 1);
	/* No FLUSH negotiated: writethrough. viostor acks WCACHE only. */
	assert_int_equal(fvd_devcfg(&drv, 32, 1), 0);
	fvd_io_w(&drv, VIRTIO_PCI_GUEST_FEATURES, F_FLUSH, 4);
	assert_int_equal(fvd_devcfg(&drv, 32, 1), 1);
	/* A word read across fields works too. */
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_CONFIG_OFF(false) + 18, 2), 16 | 63 << 8);
	/* Past the config: all ones, nothing breaks. */
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_CONFIG_OFF(false) + 60, 1), 0xff);
}

static void test_config_ro_mq(void **state)
{
	block_close(bd);
	open_disk(true);
	make(VIRTIO_TRANSPORT_MODERN, 4, NULL);
	drv.modern = true;
	fvd_place_bars(&drv);
	fvd_mm_w(&drv, fvd_common(VIRTIO_PCI_COMMON_DFSELECT), 0, 4);
	assert_true(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_DF), 4) & F_RO);
	assert_true(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_DF), 4) & F_MQ);
	assert_int_equal(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_NUMQ), 2), 4);
	assert_int_equal(fvd_devcfg(&drv, 34, 2), 4);
	assert_int_equal(fvd_devcfg(&drv, 16, 2),
			 2); /* 2048 sectors: 2 cylinders, QEMU's minimum */
	assert_int_equal(fvd_cfg_r(&drv, 2, 2), 0x1042);
}

/* QEMU's guess for a big disk: the cylinders stop at 16383. */
static void test_geometry_large(void **state)
{
	struct block_create_opts co = {.format = "raw", .size = 16ULL << 30};
	char err[256];

	block_close(bd);
	unlink(img);
	assert_int_equal(block_create(img, &co, err, sizeof(err)), 0);
	open_disk(false);
	make(VIRTIO_TRANSPORT_LEGACY, 1, NULL);
	fvd_place_bars(&drv);
	assert_int_equal(fvd_devcfg(&drv, 0, 8), (16ULL << 30) / 512);
	assert_int_equal(fvd_devcfg(&drv, 16, 2), 16383);
	assert_int_equal(fvd_devcfg(&drv, 18, 1), 16);
	assert_int_equal(fvd_devcfg(&drv, 19, 1), 63);
	legacy_up((uint32_t)F_FLUSH, 1);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, (16ULL << 30) / 512 - 1, BUF, 512, W),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, (16ULL << 30) / 512, BUF, 512, W),
			 VIRTIO_BLK_S_IOERR);
}

/* ---- GET_ID ---- */

static void test_get_id_default(void **state)
{
	char *abs = realpath(img, NULL), want[21];
	uint8_t *id = drv.ram + BUF;

	assert_non_null(abs);
	snprintf(want, sizeof(want), "MINIVMM-%08lX",
		 (unsigned long)crc32(crc32(0, Z_NULL, 0), (const Bytef *)abs, (uInt)strlen(abs)));
	free(abs);
	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)F_FLUSH, 1);
	memset(id, 0x55, 32);
	assert_int_equal(run1(VIRTIO_BLK_T_GET_ID, 0, BUF, 20, W), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, want, 16);
	for (unsigned i = 16; i < 20; i++)
		assert_int_equal(id[i], 0);
	assert_int_equal(id[20], 0x55);
}

static void test_get_id_serial(void **state)
{
	uint8_t *id = drv.ram + BUF;
	uint32_t h, len;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, "0123456789abcdefghijKLMN");
	legacy_up(0, 1);
	memset(id, 0x55, 32);
	assert_int_equal(run1(VIRTIO_BLK_T_GET_ID, 0, BUF, 20, W), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "0123456789abcdefghij", 20); /* 20 bytes, no NUL */
	fvd_used_elem(&drv, 0, 0, &h, &len);
	assert_int_equal(len, 21);
	/* A shorter buffer gets what fits. */
	memset(id, 0x55, 32);
	assert_int_equal(run1(VIRTIO_BLK_T_GET_ID, 0, BUF, 8, W), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "01234567", 8);
	assert_int_equal(id[8], 0x55);
}

/* ---- I/O ---- */

static void check_disk(unsigned sector, const uint8_t *want, size_t len)
{
	uint8_t *b = malloc(len);

	assert_int_equal(block_pread(bd, (uint64_t)sector * 512, b, len), 0);
	assert_memory_equal(b, want, len);
	free(b);
}

static void in_out(bool mod)
{
	uint8_t want[1024];
	struct virtio_blk_stats st;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	if (mod)
		modern_up(F_FLUSH | F_SEG_MAX | F_BLK_SIZE, 1);
	else
		legacy_up((uint32_t)(F_FLUSH | F_SEG_MAX), 1);
	/* Read sectors 10-11. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 10, BUF, 1024, W), VIRTIO_BLK_S_OK);
	sector_pattern(want, 10);
	sector_pattern(want + 512, 11);
	assert_memory_equal(drv.ram + BUF, want, 1024);
	/* Write sectors 100-101 and read them back from the image. */
	for (unsigned i = 0; i < 1024; i++)
		drv.ram[BUF + 0x1000 + i] = (uint8_t)(i * 7);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 100, BUF + 0x1000, 1024, R), VIRTIO_BLK_S_OK);
	check_disk(100, drv.ram + BUF + 0x1000, 1024);
	/* The last sector, and a zero-length read. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN, SECTORS - 1, BUF, 512, W), VIRTIO_BLK_S_OK);
	sector_pattern(want, SECTORS - 1);
	assert_memory_equal(drv.ram + BUF, want, 512);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, SECTORS, BUF, 0, W), VIRTIO_BLK_S_OK);
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.num_queues, 1);
	assert_int_equal(st.q[0].requests[VBLK_IN], 3);
	assert_int_equal(st.q[0].requests[VBLK_OUT], 1);
	assert_int_equal(st.q[0].bytes_read, 1536);
	assert_int_equal(st.q[0].bytes_written, 1024);
	assert_int_equal(st.q[0].errors, 0);
	{
		uint64_t n = 0;

		for (unsigned b = 0; b < VIRTIO_BLK_LAT_BUCKETS; b++)
			n += st.q[0].latency[b];
		assert_int_equal(n, 4); /* every answered request, pop to push */
		assert_int_equal(st.q[0].latency[0], 0); /* nothing takes under 2 ns */
	}
}

static void test_in_out_legacy(void **state)
{
	in_out(false);
}

static void test_in_out_modern(void **state)
{
	in_out(true);
}

/* viostor 52: indirect tables without INDIRECT_DESC negotiated, data in
 * several buffers, the header sharing nothing. */
static void test_in_indirect_sg(void **state)
{
	uint64_t table = BUF + 0x80000, hdr = BUF + 0x81000, st = BUF + 0x82000;
	struct fvd_ring *r = &drv.ring[0];
	uint8_t want[512];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)F_FLUSH, 1);
	header(hdr, VIRTIO_BLK_T_IN, 7);
	fvd_desc_at(&drv, table, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	fvd_desc_at(&drv, table, 1, BUF, 100, VIRTQ_DESC_F_NEXT | W, 2);
	fvd_desc_at(&drv, table, 2, BUF + 0x400, 412, VIRTQ_DESC_F_NEXT | W, 3);
	fvd_desc_at(&drv, table, 3, st, 1, W, 0);
	fvd_desc_at(&drv, r->desc, 0, table, 64, VIRTQ_DESC_F_INDIRECT, 0);
	fvd_put16(&drv, r->avail + 4, 0);
	fvd_put16(&drv, r->avail + 2, ++r->avail_idx);
	drv.ram[st] = 0xee;
	kick(0);
	assert_int_equal(fvd_used_idx(&drv, 0), 1);
	assert_int_equal(drv.ram[st], VIRTIO_BLK_S_OK);
	sector_pattern(want, 7);
	assert_memory_equal(drv.ram + BUF, want, 100);
	assert_memory_equal(drv.ram + BUF + 0x400, want + 100, 412);
}

/* Header, data and status in one writable-after-readable pair: the header
 * and an OUT's data share a buffer (ANY_LAYOUT), status inside the last
 * writable buffer's end. */
static void test_any_layout(void **state)
{
	struct fvd_seg s[2] = {{BUF, 16 + 512, R}, {BUF + 0x1000, 8, W}};

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	modern_up(F_FLUSH, 1);
	header(BUF, VIRTIO_BLK_T_OUT, 3);
	memset(drv.ram + BUF + 16, 0xab, 512);
	/* An OUT with 7 writable bytes before the status: wrong direction. */
	fvd_chain(&drv, 0, s, 2);
	kick(0);
	assert_int_equal(drv.ram[BUF + 0x1007], VIRTIO_BLK_S_IOERR);
	s[1].len = 1;
	fvd_chain(&drv, 0, s, 2);
	kick(0);
	assert_int_equal(drv.ram[BUF + 0x1000], VIRTIO_BLK_S_OK);
	check_disk(3, drv.ram + BUF + 16, 512);
}

static void trace(void *opaque, int fd, enum block_trace_op op, uint64_t off, const void *buf,
		  size_t len)
{
	if (op == BLOCK_TRACE_SYNC)
		__atomic_fetch_add(&syncs, 1, __ATOMIC_SEQ_CST);
}

static void test_flush(void **state)
{
	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)F_FLUSH, 1);
	block_set_trace(trace, NULL);
	assert_int_equal(run1(VIRTIO_BLK_T_FLUSH, 0, 0, 0, R), VIRTIO_BLK_S_OK);
	assert_true(syncs >= 1);
	/* A flush with data is malformed. */
	assert_int_equal(run1(VIRTIO_BLK_T_FLUSH, 0, BUF, 512, W), VIRTIO_BLK_S_IOERR);
}

/* Writeback: with FLUSH the guest flushes itself; without (legacy), and
 * after a modern guest wrote writeback = 0, each write is flushed. */
static void test_writeback_toggle(void **state)
{
	unsigned before;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	block_set_trace(trace, NULL);
	legacy_up(0, 1);
	assert_int_equal(fvd_devcfg(&drv, 32, 1), 0);
	before = syncs;
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_true(syncs > before);

	modern_up(F_FLUSH | F_CONFIG_WCE, 1);
	assert_int_equal(fvd_devcfg(&drv, 32, 1), 1);
	before = syncs;
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_int_equal(syncs, before);
	fvd_devcfg_w(&drv, 32, 0, 1);
	assert_int_equal(fvd_devcfg(&drv, 32, 1), 0);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_true(syncs > before);
	fvd_devcfg_w(&drv, 32, 1, 1);
	assert_int_equal(fvd_devcfg(&drv, 32, 1), 1);
	before = syncs;
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_int_equal(syncs, before);

	/* Without CONFIG_WCE the field is read-only. */
	modern_up(F_FLUSH, 1);
	fvd_devcfg_w(&drv, 32, 0, 1);
	assert_int_equal(fvd_devcfg(&drv, 32, 1), 1);
}

/* ---- DISCARD / WRITE_ZEROES ---- */

/* A request with n segments (raw bytes: len, usually 16 n) on queue 0. */
static uint8_t run_segs(uint32_t type, const uint32_t (*segs)[4], unsigned n, uint32_t len)
{
	uint64_t hdr = BUF + 0x3000, body = BUF + 0x3100, st = BUF + 0x3fff;
	struct fvd_seg s[3] = {{hdr, 16, R}, {body, len, R}, {st, 1, W}};
	uint16_t u = fvd_used_idx(&drv, 0);

	header(hdr, type, 0);
	for (unsigned i = 0; i < n; i++) {
		fvd_put64(&drv, body + 16 * i, (uint64_t)segs[i][0] | (uint64_t)segs[i][1] << 32);
		fvd_put32(&drv, body + 16 * i + 8, segs[i][2]);
		fvd_put32(&drv, body + 16 * i + 12, segs[i][3]);
	}
	drv.ram[st] = 0xee;
	if (len)
		fvd_chain(&drv, 0, s, 3);
	else
		fvd_chain(&drv, 0, (struct fvd_seg[]){s[0], s[2]}, 2);
	kick(0);
	assert_int_equal(fvd_used_idx(&drv, 0), (uint16_t)(u + 1));
	return drv.ram[st];
}

static bool sectors_zero(unsigned first, unsigned n)
{
	uint8_t b[512], z[512] = {0};

	for (unsigned s = first; s < first + n; s++) {
		assert_int_equal(block_pread(bd, (uint64_t)s * 512, b, 512), 0);
		if (memcmp(b, z, 512))
			return false;
	}
	return true;
}

static bool sector_intact(unsigned s)
{
	uint8_t b[512], want[512];

	sector_pattern(want, s);
	assert_int_equal(block_pread(bd, (uint64_t)s * 512, b, 512), 0);
	return memcmp(b, want, 512) == 0;
}

static void test_discard_write_zeroes_modern(void **state)
{
	static const uint32_t one[1][4] = {{20, 0, 4, 0}};
	static const uint32_t two[2][4] = {{40, 0, 2, 0}, {50, 0, 1, 0}};
	static const uint32_t wz_unmap[1][4] = {{60, 0, 3, VIRTIO_BLK_WZ_F_UNMAP}};
	static const uint32_t unmap[1][4] = {{70, 0, 1, VIRTIO_BLK_WZ_F_UNMAP}};
	static const uint32_t badflag[1][4] = {{70, 0, 1, 2}};
	static const uint32_t past[1][4] = {{SECTORS - 1, 0, 2, 0}};
	static const uint32_t wrap[1][4] = {{0xffffffffu, 0xffffffffu, 2, 0}};
	static const uint32_t toolong[1][4] = {{0, 0, (1u << 22) + 1, 0}};
	uint32_t many[17][4];
	struct virtio_blk_stats st;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	modern_up(F_FLUSH | F_DISCARD | F_WZ, 1);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, one, 1, 16), VIRTIO_BLK_S_OK);
	assert_true(sectors_zero(20, 4));
	assert_true(sector_intact(19) && sector_intact(24));
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, two, 2, 32), VIRTIO_BLK_S_OK);
	assert_true(sectors_zero(40, 2) && sectors_zero(50, 1));
	assert_true(sector_intact(42) && sector_intact(49) && sector_intact(51));
	assert_int_equal(run_segs(VIRTIO_BLK_T_WRITE_ZEROES, wz_unmap, 1, 16), VIRTIO_BLK_S_OK);
	assert_true(sectors_zero(60, 3) && sector_intact(63));
	/* Flags: unmap only for WRITE_ZEROES, nothing else anywhere. */
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, unmap, 1, 16), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run_segs(VIRTIO_BLK_T_WRITE_ZEROES, badflag, 1, 16), VIRTIO_BLK_S_UNSUPP);
	assert_true(sector_intact(70));
	/* Ranges, lengths and counts. */
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, past, 1, 16), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_segs(VIRTIO_BLK_T_WRITE_ZEROES, wrap, 1, 16), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, toolong, 1, 16), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, one, 1, 15), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, one, 0, 0), VIRTIO_BLK_S_IOERR);
	for (unsigned i = 0; i < 17; i++) {
		many[i][0] = 100 + i;
		many[i][1] = many[i][3] = 0;
		many[i][2] = 1;
	}
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, many, 17, 17 * 16), VIRTIO_BLK_S_IOERR);
	/* 4096 segments' worth of bytes: refused before any is read. */
	assert_int_equal(run_segs(VIRTIO_BLK_T_WRITE_ZEROES, many, 0, 4096 * 16),
			 VIRTIO_BLK_S_IOERR);
	assert_true(sector_intact(100));
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, many, 16, 16 * 16), VIRTIO_BLK_S_OK);
	assert_true(sectors_zero(100, 16) && sector_intact(116));
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.q[0].requests[VBLK_DISCARD], 9);
	assert_int_equal(st.q[0].requests[VBLK_WRITE_ZEROES], 4);
	assert_int_equal(st.q[0].errors, 9);
}

/* A legacy driver that negotiated them gets them done (as QEMU; Linux with
 * force_legacy=1 does); a driver that did not negotiate them gets UNSUPP. */
static void test_discard_legacy(void **state)
{
	static const uint32_t one[1][4] = {{20, 0, 4, 0}};
	static const uint32_t other[1][4] = {{30, 0, 2, 0}};

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)(F_FLUSH | F_DISCARD | F_WZ), 1);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_GUEST_FEATURES, 4), F_FLUSH | F_DISCARD | F_WZ);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, one, 1, 16), VIRTIO_BLK_S_OK);
	assert_true(sectors_zero(20, 4) && sector_intact(24));
	assert_int_equal(run_segs(VIRTIO_BLK_T_WRITE_ZEROES, other, 1, 16), VIRTIO_BLK_S_OK);
	assert_true(sectors_zero(30, 2) && sector_intact(32));
	legacy_up((uint32_t)F_FLUSH, 1);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, one, 1, 16), VIRTIO_BLK_S_UNSUPP);
	modern_up(F_FLUSH, 1);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, other, 1, 16), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run_segs(VIRTIO_BLK_T_WRITE_ZEROES, other, 1, 16), VIRTIO_BLK_S_UNSUPP);
}

/* ---- hostile requests ---- */

static void test_bad_requests(void **state)
{
	struct virtio_blk_stats st;
	uint8_t want[512];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)F_FLUSH, 1);
	/* Sector ranges. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN, SECTORS, BUF, 512, W), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, SECTORS - 1, BUF, 1024, W), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, UINT64_MAX, BUF, 512, W), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 1ULL << 55, BUF, 512, R), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, UINT64_MAX - 1, BUF, 1024, R), VIRTIO_BLK_S_IOERR);
	/* Lengths. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 0, BUF, 513, W), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 0, BUF, 511, R), VIRTIO_BLK_S_IOERR);
	/* Directions: a read with readable data, a write with writable. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 0, BUF, 512, R), VIRTIO_BLK_S_IOERR);
	memset(drv.ram + BUF, 0x77, 512);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 0, BUF, 512, W), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run1(VIRTIO_BLK_T_GET_ID, 0, BUF, 20, R), VIRTIO_BLK_S_IOERR);
	assert_true(sector_intact(0));
	/* Types: SCSI (2), GET_LIFETIME (10), garbage. */
	assert_int_equal(run1(2, 0, BUF, 512, W), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run1(10, 0, BUF, 512, W), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(run1(0x12345678, 0, BUF, 512, W), VIRTIO_BLK_S_UNSUPP);
	/* The legacy BARRIER bit is ignored, as QEMU does. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN | VIRTIO_BLK_T_BARRIER, 4, BUF, 512, W),
			 VIRTIO_BLK_S_OK);
	sector_pattern(want, 4);
	assert_memory_equal(drv.ram + BUF, want, 512);
	/* A header cut short. */
	{
		struct fvd_seg s[2] = {{BUF + 0x2000, 8, R}, {BUF + 0x2100, 1, W}};

		header(BUF + 0x2000, VIRTIO_BLK_T_IN, 0);
		fvd_chain(&drv, 0, s, 2);
		kick(0);
		assert_int_equal(drv.ram[BUF + 0x2100], VIRTIO_BLK_S_IOERR);
	}
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.q[0].errors, 14);
	assert_int_equal(st.q[0].queue_errors, 0);
	/* The queue goes on. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 9, BUF, 512, W), VIRTIO_BLK_S_OK);
	sector_pattern(want, 9);
	assert_memory_equal(drv.ram + BUF, want, 512);
}

/* Nothing writable for the status: the device cannot answer, the queue
 * fails (modern: DEVICE_NEEDS_RESET); a reset brings it back. */
static void test_no_status_byte(void **state)
{
	struct fvd_seg noin[2] = {{BUF + 0x2000, 16, R}, {BUF, 512, R}};
	struct fvd_seg ro_status[3] = {{BUF + 0x2000, 16, R}, {BUF, 512, W}, {BUF + 0x2100, 1, R}};
	struct virtio_blk_stats st;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	modern_up(F_FLUSH, 1);
	header(BUF + 0x2000, VIRTIO_BLK_T_OUT, 0);
	fvd_chain(&drv, 0, noin, 2);
	kick(0);
	assert_int_equal(fvd_used_idx(&drv, 0), 0);
	assert_true(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.q[0].queue_errors, 1);
	/* After a reset: a "read-only status byte" (readable after writable). */
	modern_up(F_FLUSH, 1);
	header(BUF + 0x2000, VIRTIO_BLK_T_IN, 0);
	fvd_chain(&drv, 0, ro_status, 3);
	kick(0);
	assert_int_equal(fvd_used_idx(&drv, 0), 0);
	assert_true(fvd_mm_r(&drv, fvd_common(VIRTIO_PCI_COMMON_STATUS), 1) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Legacy: the queue just stops. */
	legacy_up((uint32_t)F_FLUSH, 1);
	header(BUF + 0x2000, VIRTIO_BLK_T_OUT, 0);
	fvd_chain(&drv, 0, noin, 2);
	kick(0);
	request(0, VIRTIO_BLK_T_IN, 0, BUF, 512, W, BUF + 0x2200);
	kick(0);
	assert_int_equal(fvd_used_idx(&drv, 0), 0);
	assert_int_equal(drv.ram[BUF + 0x2200], 0xee);
	legacy_up((uint32_t)F_FLUSH, 1);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 0, BUF, 512, W), VIRTIO_BLK_S_OK);
	assert_true(sector_intact(0));
}

static void test_read_only(void **state)
{
	block_close(bd);
	open_disk(true);
	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	fvd_place_bars(&drv);
	assert_true(fvd_io_r(&drv, VIRTIO_PCI_HOST_FEATURES, 4) & F_RO);
	legacy_up((uint32_t)(F_FLUSH | F_RO), 1);
	memset(drv.ram + BUF, 0x11, 512);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 0, BUF, 512, R), VIRTIO_BLK_S_IOERR);
	assert_true(sector_intact(0));
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 1, BUF, 512, W), VIRTIO_BLK_S_OK);
	assert_int_equal(run1(VIRTIO_BLK_T_FLUSH, 0, 0, 0, R), VIRTIO_BLK_S_OK);
	modern_up(F_FLUSH | F_RO | F_DISCARD | F_WZ, 1);
	assert_int_equal(run_segs(VIRTIO_BLK_T_DISCARD, (const uint32_t[1][4]){{0, 0, 1, 0}}, 1, 16),
			 VIRTIO_BLK_S_IOERR);
	assert_true(sector_intact(0));
}

/* Two queues: each request is answered on its own queue. */
static void test_mq_independent(void **state)
{
	struct virtio_blk_stats st;
	uint8_t want[512];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 2, NULL);
	modern_up(F_FLUSH | F_MQ, 2);
	request(1, VIRTIO_BLK_T_IN, 30, BUF + 0x4000, 512, W, BUF + 0x5000);
	request(0, VIRTIO_BLK_T_IN, 31, BUF + 0x6000, 512, W, BUF + 0x7000);
	kick(1);
	assert_int_equal(fvd_used_idx(&drv, 1), 1);
	assert_int_equal(fvd_used_idx(&drv, 0), 0);
	assert_int_equal(drv.ram[BUF + 0x5000], VIRTIO_BLK_S_OK);
	assert_int_equal(drv.ram[BUF + 0x7000], 0xee);
	kick(0);
	assert_int_equal(fvd_used_idx(&drv, 0), 1);
	assert_int_equal(drv.ram[BUF + 0x7000], VIRTIO_BLK_S_OK);
	sector_pattern(want, 30);
	assert_memory_equal(drv.ram + BUF + 0x4000, want, 512);
	sector_pattern(want, 31);
	assert_memory_equal(drv.ram + BUF + 0x6000, want, 512);
	/* A failed queue leaves the other alone. */
	fvd_chain(&drv, 1, (struct fvd_seg[]){{BUF + 0x2000, 16, R}}, 1);
	kick(1);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 32, BUF, 512, W), VIRTIO_BLK_S_OK);
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.num_queues, 2);
	assert_int_equal(st.q[0].requests[VBLK_IN], 2);
	assert_int_equal(st.q[1].requests[VBLK_IN], 1);
	assert_int_equal(st.q[1].queue_errors, 1);
	assert_int_equal(st.q[0].queue_errors, 0);
}

/* ---- resets with requests in flight ---- */

/* A guest reset waits for what is in flight (it is answered in the old
 * rings), then the queues are gone. */
static void test_reset_in_flight(void **state)
{
	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)F_FLUSH, 1);
	request(0, VIRTIO_BLK_T_IN, 12, BUF, 512, W, BUF + 0x2000);
	request(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, R, BUF + 0x2001);
	fvd_kick(&drv, 0);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	assert_int_equal(fvd_used_idx(&drv, 0), 2);
	assert_int_equal(drv.ram[BUF + 0x2000], VIRTIO_BLK_S_OK);
	assert_int_equal(drv.ram[BUF + 0x2001], VIRTIO_BLK_S_OK);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	assert_int_equal(fvd_io_r(&drv, VIRTIO_PCI_QUEUE_PFN, 4), 0);
	/* A machine reset the same way. */
	legacy_up((uint32_t)F_FLUSH, 1);
	request(0, VIRTIO_BLK_T_IN, 12, BUF, 512, W, BUF + 0x2000);
	fvd_kick(&drv, 0);
	virtio_blk_type.quiesce(vb);
	assert_int_equal(fvd_used_idx(&drv, 0), 1);
	pci_bus_reset(drv.pci);
	virtio_blk_type.reset(vb);
	virtio_blk_type.resume(vb);
	legacy_up((uint32_t)F_FLUSH, 1);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, 13, BUF, 512, W), VIRTIO_BLK_S_OK);
}

/* FLUSH requests through one indirect descriptor each (a whole queue of
 * them fits the ring). */
static void flush_indirect(unsigned q, unsigned i)
{
	struct fvd_ring *r = &drv.ring[q];
	uint64_t table = BUF + 0x40000 + 32ULL * i, hdr = BUF + 0x50000 + 32ULL * i;
	uint16_t d = r->next;

	header(hdr, VIRTIO_BLK_T_FLUSH, 0);
	drv.ram[hdr + 16] = 0xee;
	fvd_desc_at(&drv, table, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	fvd_desc_at(&drv, table, 1, hdr + 16, 1, W, 0);
	fvd_desc_at(&drv, r->desc, d, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	r->next = (uint16_t)((r->next + 1) % QSIZE);
	fvd_put16(&drv, r->avail + 4 + 2 * (r->avail_idx % QSIZE), d);
	r->avail_idx++;
	fvd_put16(&drv, r->avail + 2, r->avail_idx);
}

/* The legacy quirk: a PFN write resets the queue under requests still with
 * the block layer.  They finish but are not pushed into the new rings; a
 * full queue's worth of them holds every slot, so the new ring's first
 * request waits for one and then runs. */
static void test_pfn_reset_in_flight(void **state)
{
	struct virtio_blk_stats st;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)F_FLUSH, 1);
	for (unsigned i = 0; i < QSIZE; i++)
		flush_indirect(0, i);
	fvd_kick(&drv, 0);
	/* viostor's renew: the same PFN again. */
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x100, 4);
	fvd_ring_place(&drv, 0, 0x100, QSIZE);
	request(0, VIRTIO_BLK_T_IN, 14, BUF, 512, W, BUF + 0x2000);
	kick(0);
	assert_int_equal(fvd_used_idx(&drv, 0), 1);
	assert_int_equal(drv.ram[BUF + 0x2000], VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < QSIZE; i++)
		assert_int_equal(drv.ram[BUF + 0x50000 + 32 * i + 16], 0xee);
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.q[0].dropped, QSIZE);
	assert_int_equal(st.q[0].requests[VBLK_FLUSH], QSIZE);
	assert_int_equal(st.q[0].requests[VBLK_IN], 1);
	assert_true(sector_intact(14));
}

/* ---- the parser alone, on host iovecs ---- */

static void test_parse_direct(void **state)
{
	static uint8_t hdr[16], data[1024], st[4];
	struct vblk_limits lim = {.capacity = 100, .max_discard_sectors = 8, .max_discard_seg = 2,
				  .discard = true};
	struct vblk_req *r = calloc(1, sizeof(*r));
	struct iovec iov[8];

	assert_non_null(r);
	/* Nothing writable, or only empty writable buffers: no status. */
	iov[0] = (struct iovec){hdr, 16};
	assert_int_equal(vblk_parse(iov, 1, 0, &lim, r), -EPROTO);
	iov[1] = (struct iovec){st, 0};
	assert_int_equal(vblk_parse(iov, 1, 1, &lim, r), -EPROTO);
	/* The status is the last byte of the last non-empty writable buffer. */
	memset(hdr, 0, 16);
	iov[1] = (struct iovec){data, 512};
	iov[2] = (struct iovec){st, 2};
	iov[3] = (struct iovec){st + 2, 0};
	assert_int_equal(vblk_parse(iov, 1, 3, &lim, r), 0);
	assert_ptr_equal(r->status, st + 1);
	/* 513 bytes of data (512 + the first status-buffer byte): not whole sectors. */
	assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
	iov[2] = (struct iovec){st, 1};
	assert_int_equal(vblk_parse(iov, 1, 2, &lim, r), 0);
	assert_int_equal(r->result, VIRTIO_BLK_S_OK);
	assert_int_equal(r->type, VBLK_IN);
	assert_int_equal(r->len, 512);
	assert_int_equal(r->nr_data, 1);
	assert_ptr_equal(r->data[0].iov_base, data);
	/* A header split over three buffers, data sharing the last one. */
	{
		uint8_t out[16 + 512];

		memset(out, 0, sizeof(out));
		out[0] = VIRTIO_BLK_T_OUT;
		out[8] = 99; /* sector 99: the last one */
		iov[0] = (struct iovec){out, 3};
		iov[1] = (struct iovec){out + 3, 10};
		iov[2] = (struct iovec){out + 13, 3 + 512};
		iov[3] = (struct iovec){st, 1};
		assert_int_equal(vblk_parse(iov, 3, 1, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_OK);
		assert_int_equal(r->type, VBLK_OUT);
		assert_int_equal(r->sector, 99);
		assert_int_equal(r->nr_data, 1);
		assert_ptr_equal(r->data[0].iov_base, out + 16);
		out[8] = 100;
		assert_int_equal(vblk_parse(iov, 3, 1, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
		/* Read-only: a write is refused before anything else. */
		out[8] = 0;
		lim.read_only = true;
		assert_int_equal(vblk_parse(iov, 3, 1, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
		lim.read_only = false;
	}
	/* A transfer larger than the block layer takes: IOERR, data untouched
	 * (the iovec is never dereferenced). */
	hdr[0] = VIRTIO_BLK_T_IN;
	lim.capacity = UINT64_MAX / 512;
	iov[0] = (struct iovec){hdr, 16};
	iov[1] = (struct iovec){data, (size_t)VBLK_MAX_BYTES + 512};
	iov[2] = (struct iovec){st, 1};
	assert_int_equal(vblk_parse(iov, 1, 2, &lim, r), 0);
	assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
	/* Sector arithmetic at the top of the range. */
	lim.capacity = UINT64_MAX;
	memset(hdr + 8, 0xff, 8);
	iov[1] = (struct iovec){data, 512};
	assert_int_equal(vblk_parse(iov, 1, 2, &lim, r), 0);
	assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
	/* More data iovecs than a request holds: IOERR. */
	{
		struct iovec *many = calloc(VBLK_MAX_IOV + 3, sizeof(*many));

		assert_non_null(many);
		memset(hdr + 8, 0, 8);
		lim.capacity = 1000; /* the range fits: only the iovec count fails */
		many[0] = (struct iovec){hdr, 16};
		for (unsigned i = 1; i <= VBLK_MAX_IOV + 1; i++)
			many[i] = (struct iovec){data, 512};
		many[VBLK_MAX_IOV + 2] = (struct iovec){st, 1};
		assert_int_equal(vblk_parse(many, 1, VBLK_MAX_IOV + 2, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
		assert_int_equal(r->nr_data, 0);
		lim.capacity = 100;
		free(many);
	}
	/* Discard segments: limits from vblk_limits. */
	{
		uint8_t d[16 + 48] = {0};

		d[0] = VIRTIO_BLK_T_DISCARD;
		d[16] = 1;	/* sector 1 */
		d[16 + 8] = 8; /* 8 sectors: the maximum */
		iov[0] = (struct iovec){d, 32};
		iov[1] = (struct iovec){st, 1};
		assert_int_equal(vblk_parse(iov, 1, 1, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_OK);
		assert_int_equal(r->nr_segs, 1);
		assert_int_equal(r->segs[0].sector, 1);
		assert_int_equal(r->segs[0].num_sectors, 8);
		d[16 + 8] = 9;
		assert_int_equal(vblk_parse(iov, 1, 1, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
		d[16 + 8] = 1;
		iov[0].iov_len = 16 + 48; /* three segments, two allowed */
		assert_int_equal(vblk_parse(iov, 1, 1, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_IOERR);
		lim.discard = false;
		iov[0].iov_len = 32;
		assert_int_equal(vblk_parse(iov, 1, 1, &lim, r), 0);
		assert_int_equal(r->result, VIRTIO_BLK_S_UNSUPP);
	}
	assert_string_equal(vblk_type_name(VBLK_WRITE_ZEROES), "write-zeroes");
	assert_string_equal(vblk_type_name((enum vblk_type)99), "?");
	free(r);
}

/* ---- with the I/O thread ---- */

static void *loop_main(void *loop)
{
	event_loop_run(loop);
	return NULL;
}

static bool wait_used(unsigned q, uint16_t want)
{
	for (unsigned i = 0; i < 5000; i++) {
		if (__atomic_load_n((uint16_t *)(drv.ram + drv.ring[q].used + 2),
				    __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(1000);
	}
	return false;
}

/* Completions on the loop thread (the completion fd on the event loop)
 * while the test's thread kicks, then a guest reset racing them: it waits
 * for every request in flight, each answered in the old rings. */
static void test_io_thread(void **state)
{
	struct event_loop *loop = event_loop_new();
	uint8_t want[512];
	pthread_t th;

	assert_non_null(loop);
	make_on(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL, loop);
	legacy_up((uint32_t)F_FLUSH, 1);
	assert_int_equal(pthread_create(&th, NULL, loop_main, loop), 0);
	for (unsigned i = 0; i < 64; i++) {
		request(0, VIRTIO_BLK_T_IN, i, BUF + 512 * i, 512, W, BUF + 0x80000 + i);
		fvd_kick(&drv, 0);
	}
	assert_true(wait_used(0, 64));
	for (unsigned i = 0; i < 64; i++) {
		sector_pattern(want, i);
		assert_memory_equal(drv.ram + BUF + 512 * i, want, 512);
		assert_int_equal(drv.ram[BUF + 0x80000 + i], VIRTIO_BLK_S_OK);
	}
	for (unsigned i = 0; i < 32; i++)
		request(0, i % 2 ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_OUT, 200 + i, BUF + 512 * i,
			i % 2 ? 0 : 512, R, BUF + 0x80100 + i);
	fvd_kick(&drv, 0);
	fvd_io_w(&drv, VIRTIO_PCI_STATUS, 0, 1);
	assert_int_equal(fvd_used_idx(&drv, 0), 96);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(drv.ram[BUF + 0x80100 + i], VIRTIO_BLK_S_OK);
	event_loop_stop(loop);
	pthread_join(th, NULL);
	virtio_blk_type.destroy(vb);
	vb = NULL;
	event_loop_free(loop);
}

/* A writethrough write whose queue is reset under it (a PFN write) is not
 * followed by its flush: nothing of a reset queue's requests goes on. */
static void test_pfn_reset_stops_steps(void **state)
{
	struct virtio_blk_stats st;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up(0, 1); /* no FLUSH: writethrough */
	block_set_trace(trace, NULL);
	memset(drv.ram + BUF, 0x42, 512);
	request(0, VIRTIO_BLK_T_OUT, 33, BUF, 512, R, BUF + 0x2000);
	fvd_kick(&drv, 0);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_SEL, 0, 2);
	fvd_io_w(&drv, VIRTIO_PCI_QUEUE_PFN, 0x100, 4);
	block_drain(bd);
	assert_int_equal(syncs, 0);
	assert_int_equal(drv.ram[BUF + 0x2000], 0xee);
	check_disk(33, drv.ram + BUF, 512); /* the write itself was already under way */
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.q[0].dropped, 1);
	assert_int_equal(st.q[0].errors, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_ids_viostor_inf),
	    T(test_config_legacy),
	    T(test_config_ro_mq),
	    T(test_geometry_large),
	    T(test_get_id_default),
	    T(test_get_id_serial),
	    T(test_in_out_legacy),
	    T(test_in_out_modern),
	    T(test_in_indirect_sg),
	    T(test_any_layout),
	    T(test_flush),
	    T(test_writeback_toggle),
	    T(test_discard_write_zeroes_modern),
	    T(test_discard_legacy),
	    T(test_bad_requests),
	    T(test_no_status_byte),
	    T(test_read_only),
	    T(test_mq_independent),
	    T(test_reset_in_flight),
	    T(test_pfn_reset_in_flight),
	    T(test_pfn_reset_stops_steps),
	    T(test_parse_direct),
	    T(test_io_thread),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
