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
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "devices/block/block.h"
#include "devices/pci.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_blk_req.h"
#include "devices/virtio/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"

#define RAM_SIZE   (4u << 20)
#define IO_BASE	   0xc000u
#define MSIX_BASE  0xfe000000u
#define MODERN_BAR 0xfe100000u
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

struct ring {
	uint64_t desc, avail, used;
	uint16_t avail_idx, next;
};

static uint8_t *ram;
static struct guest_mem mem;
static struct bus *pio, *mmio;
static struct pci_bus *pci;
static struct block_dev *bd;
static struct virtio_blk *vb;
static struct ring rings[4];
static bool modern;
static char img[64];
static unsigned syncs;

static void router(void *opaque, unsigned pirq, bool level)
{
}

static void sink(void *opaque, uint64_t addr, uint32_t data)
{
}

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

	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guest_mem_add(&mem, 0, RAM_SIZE, ram, false, "ram"), 0);
	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	pci = pci_bus_create(pio, mmio);
	pci_bus_set_router(pci, router, NULL);
	pci_bus_set_msi_sink(pci, sink, NULL);
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
	modern = false;
	memset(rings, 0, sizeof(rings));
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
	pci_bus_destroy(pci);
	bus_destroy(pio);
	bus_destroy(mmio);
	unlink(img);
	free(ram);
	return 0;
}

static void make(enum virtio_transport t, unsigned nq, const char *serial)
{
	struct dev_ctx ctx = {.pio = pio, .mmio = mmio, .pci = pci, .mem = &mem};
	struct virtio_blk_args a = {.bd = bd, .serial = serial, .num_queues = nq, .transport = t};
	struct board_entry e = {.type = &virtio_blk_type, .id = "vblk0", .devfn = DEVFN, .irq = -1,
				.arg = &a};
	char err[128];

	vb = virtio_blk_type.create(&ctx, &e, err, sizeof(err));
	assert_non_null(vb);
	pci_bus_seal(pci);
}

/* ---- the driver's accesses ---- */

static uint32_t cfg_r(unsigned off, unsigned size)
{
	return pci_config_read(pci, DEVFN, off, size);
}

static void cfg_w(unsigned off, uint32_t v, unsigned size)
{
	pci_config_write(pci, DEVFN, off, v, size);
}

static uint64_t io_r(unsigned off, unsigned size)
{
	uint64_t v = 0;

	bus_read(pio, IO_BASE + off, size, &v);
	return v;
}

static void io_w(unsigned off, uint64_t v, unsigned size)
{
	bus_write(pio, IO_BASE + off, v, size);
}

static uint64_t mm_r(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	bus_read(mmio, addr, size, &v);
	return v;
}

static void mm_w(uint64_t addr, uint64_t v, unsigned size)
{
	bus_write(mmio, addr, v, size);
}

static uint64_t common(unsigned off)
{
	return MODERN_BAR + VIRTIO_PCI_COMMON_OFF + off;
}

static void place_bars(void)
{
	cfg_w(PCI_BASE_ADDRESS_0, IO_BASE, 4);
	cfg_w(PCI_BASE_ADDRESS_0 + 4, MSIX_BASE, 4);
	cfg_w(PCI_BASE_ADDRESS_0 + 16, MODERN_BAR, 4);
	cfg_w(PCI_BASE_ADDRESS_0 + 20, 0, 4);
	cfg_w(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

/* Device config byte by byte, as viostor reads it. */
static uint64_t devcfg(unsigned off, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++) {
		uint64_t b = modern ? mm_r(MODERN_BAR + VIRTIO_PCI_DEVICE_OFF + off + i, 1)
				    : io_r(VIRTIO_PCI_CONFIG_OFF(false) + off + i, 1);
		v |= (b & 0xff) << (8 * i);
	}
	return v;
}

static void devcfg_w8(unsigned off, uint8_t v)
{
	if (modern)
		mm_w(MODERN_BAR + VIRTIO_PCI_DEVICE_OFF + off, v, 1);
	else
		io_w(VIRTIO_PCI_CONFIG_OFF(false) + off, v, 1);
}

static void ring_place(unsigned q, uint32_t pfn)
{
	struct ring *r = &rings[q];

	r->desc = (uint64_t)pfn << 12;
	r->avail = r->desc + 16ULL * QSIZE;
	r->used = (r->avail + 6 + 2ULL * QSIZE + 4095) & ~4095ULL;
	r->avail_idx = r->next = 0;
	memset(ram + r->desc, 0, r->used + 6 + 8 * QSIZE - r->desc); /* a driver's fresh rings */
}

/* Legacy bring-up as viostor 52: reset, features, PFNs, DRIVER_OK. */
static void legacy_up(uint32_t features, unsigned nq)
{
	modern = false;
	place_bars();
	io_w(VIRTIO_PCI_STATUS, 0, 1);
	io_w(VIRTIO_PCI_GUEST_FEATURES, features, 4);
	for (unsigned q = 0; q < nq; q++) {
		ring_place(q, 0x100 + 0x10 * q);
		io_w(VIRTIO_PCI_QUEUE_SEL, q, 2);
		assert_int_equal(io_r(VIRTIO_PCI_QUEUE_PFN, 4), 0);
		assert_int_equal(io_r(VIRTIO_PCI_QUEUE_NUM, 2), QSIZE);
		io_w(VIRTIO_PCI_QUEUE_PFN, 0x100 + 0x10 * q, 4);
	}
	io_w(VIRTIO_PCI_STATUS, VIRTIO_STATUS_DRIVER_OK, 1);
}

/* Modern bring-up as Linux: features, FEATURES_OK, queues, DRIVER_OK. */
static void modern_up(uint64_t features, unsigned nq)
{
	modern = true;
	place_bars();
	mm_w(common(VIRTIO_PCI_COMMON_STATUS), 0, 1);
	mm_w(common(VIRTIO_PCI_COMMON_STATUS), 3, 1);
	mm_w(common(VIRTIO_PCI_COMMON_GFSELECT), 0, 4);
	mm_w(common(VIRTIO_PCI_COMMON_GF), (uint32_t)features, 4);
	mm_w(common(VIRTIO_PCI_COMMON_GFSELECT), 1, 4);
	mm_w(common(VIRTIO_PCI_COMMON_GF), (features | F_VERSION1) >> 32, 4);
	mm_w(common(VIRTIO_PCI_COMMON_STATUS), 0xb, 1);
	assert_int_equal(mm_r(common(VIRTIO_PCI_COMMON_STATUS), 1), 0xb);
	for (unsigned q = 0; q < nq; q++) {
		struct ring *r = &rings[q];

		ring_place(q, 0x100 + 0x10 * q);
		mm_w(common(VIRTIO_PCI_COMMON_Q_SELECT), q, 2);
		assert_int_equal(mm_r(common(VIRTIO_PCI_COMMON_Q_SIZE), 2), QSIZE);
		mm_w(common(VIRTIO_PCI_COMMON_Q_DESCLO), (uint32_t)r->desc, 4);
		mm_w(common(VIRTIO_PCI_COMMON_Q_AVAILLO), (uint32_t)r->avail, 4);
		mm_w(common(VIRTIO_PCI_COMMON_Q_USEDLO), (uint32_t)r->used, 4);
		mm_w(common(VIRTIO_PCI_COMMON_Q_ENABLE), 1, 2);
	}
	mm_w(common(VIRTIO_PCI_COMMON_STATUS), 0xf, 1);
	assert_true(mm_r(common(VIRTIO_PCI_COMMON_STATUS), 1) == 0xf);
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(ram + gpa, &v, 2);
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(ram + gpa, &v, 4);
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ram + gpa, 2);
	return v;
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram + gpa, 4);
	return v;
}

static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	put64(table + 16 * i, addr);
	put32(table + 16 * i + 8, len);
	put16(table + 16 * i + 12, flags);
	put16(table + 16 * i + 14, next);
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	uint16_t flags;
};

/* A chain of n buffers on queue q (descriptors from r->next on), offered. */
static uint16_t chain(unsigned q, const struct seg *s, unsigned n)
{
	struct ring *r = &rings[q];
	uint16_t head = r->next;

	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((r->next + i) % QSIZE);
		uint16_t nx = (uint16_t)((d + 1) % QSIZE);

		desc_at(r->desc, d, s[i].gpa, s[i].len,
			(uint16_t)(s[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			i + 1 < n ? nx : 0);
	}
	r->next = (uint16_t)((r->next + n) % QSIZE);
	put16(r->avail + 4 + 2 * (r->avail_idx % QSIZE), head);
	r->avail_idx++;
	put16(r->avail + 2, r->avail_idx);
	return head;
}

static void header(uint64_t gpa, uint32_t type, uint64_t sector)
{
	put32(gpa, type);
	put32(gpa + 4, 0);
	put64(gpa + 8, sector);
}

/* The usual three-buffer request: header, data, status. */
static uint16_t request(unsigned q, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
			uint16_t dflags, uint64_t status)
{
	struct seg s[3] = {{BUF + 0x100000 + 64 * rings[q].next, 16, R},
			   {data, len, dflags},
			   {status, 1, W}};

	header(s[0].gpa, type, sector);
	ram[status] = 0xee;
	if (!len) {
		s[1] = s[2];
		return chain(q, s, 2);
	}
	return chain(q, s, 3);
}

static void kick(unsigned q)
{
	if (modern)
		mm_w(MODERN_BAR + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, q, 2);
	else
		io_w(VIRTIO_PCI_QUEUE_NOTIFY, q, 2);
	block_drain(bd);
}

static uint16_t used_idx(unsigned q)
{
	return get16(rings[q].used + 2);
}

static void used_elem(unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
	*id = get32(rings[q].used + 4 + 8 * (i % QSIZE));
	*len = get32(rings[q].used + 8 + 8 * (i % QSIZE));
}

/* One request on queue 0, run to completion: its status byte. */
#define run1(...) run1_at(__LINE__, __VA_ARGS__)
static uint8_t run1_at(int line, uint32_t type, uint64_t sector, uint64_t data, uint32_t len, uint16_t dflags)
{
	uint16_t u = used_idx(0), head;
	uint32_t id, ulen;

	head = request(0, type, sector, data, len, dflags, BUF + 0xff000);
	kick(0);
	if (used_idx(0) != (uint16_t)(u + 1))
		fail_msg("line %d: request not answered (used %u)", line, used_idx(0));
	used_elem(0, u, &id, &ulen);
	assert_int_equal(id, head);
	return ram[BUF + 0xff000];
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
	snprintf(id, sizeof(id), "PCI\\VEN_%04X&DEV_%04X&SUBSYS_%04X%04X&REV_%02X", cfg_r(0, 2),
		 cfg_r(2, 2), cfg_r(PCI_SUBSYSTEM_ID, 2), cfg_r(PCI_SUBSYSTEM_VENDOR, 2),
		 cfg_r(PCI_REVISION_ID, 1));
	/* viostor.inf (2012-11-27), [RedHat.NTx86.5.2] */
	assert_string_equal(id, "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00");
	assert_int_equal(cfg_r(PCI_CLASS_PROG, 1) | cfg_r(PCI_CLASS_DEVICE, 2) << 8, 0x010000);
	assert_int_equal(cfg_r(PCI_INTERRUPT_PIN, 1), 1);
	/* viostor needs at least 0x40 bytes of I/O. */
	cfg_w(PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	assert_true((~(cfg_r(PCI_BASE_ADDRESS_0, 4) & ~3u) + 1) >= 0x40);
}

static void test_config_legacy(void **state)
{
	uint32_t hf;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	place_bars();
	io_w(VIRTIO_PCI_STATUS, 0, 1);
	hf = (uint32_t)io_r(VIRTIO_PCI_HOST_FEATURES, 4);
	assert_int_equal(hf, F_SIZE_MAX | F_SEG_MAX | F_GEOMETRY | F_BLK_SIZE | F_FLUSH |
				 F_TOPOLOGY | F_CONFIG_WCE | F_DISCARD | F_WZ | F_INDIRECT |
				 F_EVENTIDX);
	assert_int_equal(devcfg(0, 8), SECTORS);
	assert_int_equal(devcfg(8, 4), 1u << 20);
	assert_int_equal(devcfg(12, 4), 126);
	assert_int_equal(devcfg(16, 2), 2); /* 2048 / (16 * 63) */
	assert_int_equal(devcfg(18, 1), 16);
	assert_int_equal(devcfg(19, 1), 63);
	assert_int_equal(devcfg(20, 4), 512);
	assert_int_equal(devcfg(24, 8), 0); /* topology: 512-byte physical blocks */
	assert_int_equal(devcfg(34, 2), 1);
	assert_int_equal(devcfg(36, 4), 1u << 22);
	assert_int_equal(devcfg(40, 4), 16);
	assert_int_equal(devcfg(44, 4), 1);
	assert_int_equal(devcfg(48, 4), 1u << 22);
	assert_int_equal(devcfg(52, 4), 16);
	assert_int_equal(devcfg(56, 1), 1);
	/* No FLUSH negotiated: writethrough. viostor acks WCACHE only. */
	assert_int_equal(devcfg(32, 1), 0);
	io_w(VIRTIO_PCI_GUEST_FEATURES, F_FLUSH, 4);
	assert_int_equal(devcfg(32, 1), 1);
	/* A word read across fields works too. */
	assert_int_equal(io_r(VIRTIO_PCI_CONFIG_OFF(false) + 18, 2), 16 | 63 << 8);
	/* Past the config: all ones, nothing breaks. */
	assert_int_equal(io_r(VIRTIO_PCI_CONFIG_OFF(false) + 60, 1), 0xff);
}

static void test_config_ro_mq(void **state)
{
	block_close(bd);
	open_disk(true);
	make(VIRTIO_TRANSPORT_MODERN, 4, NULL);
	modern = true;
	place_bars();
	mm_w(common(VIRTIO_PCI_COMMON_DFSELECT), 0, 4);
	assert_true(mm_r(common(VIRTIO_PCI_COMMON_DF), 4) & F_RO);
	assert_true(mm_r(common(VIRTIO_PCI_COMMON_DF), 4) & F_MQ);
	assert_int_equal(mm_r(common(VIRTIO_PCI_COMMON_NUMQ), 2), 4);
	assert_int_equal(devcfg(34, 2), 4);
	assert_int_equal(cfg_r(2, 2), 0x1042);
}

/* ---- GET_ID ---- */

static void test_get_id_default(void **state)
{
	char *abs = realpath(img, NULL), want[21];
	uint8_t *id = ram + BUF;

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
	uint8_t *id = ram + BUF;
	uint32_t h, len;

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, "0123456789abcdefghijKLMN");
	legacy_up(0, 1);
	memset(id, 0x55, 32);
	assert_int_equal(run1(VIRTIO_BLK_T_GET_ID, 0, BUF, 20, W), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "0123456789abcdefghij", 20); /* 20 bytes, no NUL */
	used_elem(0, 0, &h, &len);
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
	assert_memory_equal(ram + BUF, want, 1024);
	/* Write sectors 100-101 and read them back from the image. */
	for (unsigned i = 0; i < 1024; i++)
		ram[BUF + 0x1000 + i] = (uint8_t)(i * 7);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 100, BUF + 0x1000, 1024, R), VIRTIO_BLK_S_OK);
	check_disk(100, ram + BUF + 0x1000, 1024);
	/* The last sector, and a zero-length read. */
	assert_int_equal(run1(VIRTIO_BLK_T_IN, SECTORS - 1, BUF, 512, W), VIRTIO_BLK_S_OK);
	sector_pattern(want, SECTORS - 1);
	assert_memory_equal(ram + BUF, want, 512);
	assert_int_equal(run1(VIRTIO_BLK_T_IN, SECTORS, BUF, 0, W), VIRTIO_BLK_S_OK);
	virtio_blk_get_stats(vb, &st);
	assert_int_equal(st.num_queues, 1);
	assert_int_equal(st.q[0].requests[VBLK_IN], 3);
	assert_int_equal(st.q[0].requests[VBLK_OUT], 1);
	assert_int_equal(st.q[0].bytes_read, 1536);
	assert_int_equal(st.q[0].bytes_written, 1024);
	assert_int_equal(st.q[0].errors, 0);
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
	struct ring *r = &rings[0];
	uint8_t want[512];

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	legacy_up((uint32_t)F_FLUSH, 1);
	header(hdr, VIRTIO_BLK_T_IN, 7);
	desc_at(table, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(table, 1, BUF, 100, VIRTQ_DESC_F_NEXT | W, 2);
	desc_at(table, 2, BUF + 0x400, 412, VIRTQ_DESC_F_NEXT | W, 3);
	desc_at(table, 3, st, 1, W, 0);
	desc_at(r->desc, 0, table, 64, VIRTQ_DESC_F_INDIRECT, 0);
	put16(r->avail + 4, 0);
	put16(r->avail + 2, ++r->avail_idx);
	ram[st] = 0xee;
	kick(0);
	assert_int_equal(used_idx(0), 1);
	assert_int_equal(ram[st], VIRTIO_BLK_S_OK);
	sector_pattern(want, 7);
	assert_memory_equal(ram + BUF, want, 100);
	assert_memory_equal(ram + BUF + 0x400, want + 100, 412);
}

/* Header, data and status in one writable-after-readable pair: the header
 * and an OUT's data share a buffer (ANY_LAYOUT), status inside the last
 * writable buffer's end. */
static void test_any_layout(void **state)
{
	struct seg s[2] = {{BUF, 16 + 512, R}, {BUF + 0x1000, 8, W}};

	make(VIRTIO_TRANSPORT_TRANSITIONAL, 1, NULL);
	modern_up(F_FLUSH, 1);
	header(BUF, VIRTIO_BLK_T_OUT, 3);
	memset(ram + BUF + 16, 0xab, 512);
	/* An OUT with 7 writable bytes before the status: wrong direction. */
	chain(0, s, 2);
	kick(0);
	assert_int_equal(ram[BUF + 0x1007], VIRTIO_BLK_S_IOERR);
	s[1].len = 1;
	chain(0, s, 2);
	kick(0);
	assert_int_equal(ram[BUF + 0x1000], VIRTIO_BLK_S_OK);
	check_disk(3, ram + BUF + 16, 512);
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
	assert_int_equal(devcfg(32, 1), 0);
	before = syncs;
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_true(syncs > before);

	modern_up(F_FLUSH | F_CONFIG_WCE, 1);
	assert_int_equal(devcfg(32, 1), 1);
	before = syncs;
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_int_equal(syncs, before);
	devcfg_w8(32, 0);
	assert_int_equal(devcfg(32, 1), 0);
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_true(syncs > before);
	devcfg_w8(32, 1);
	assert_int_equal(devcfg(32, 1), 1);
	before = syncs;
	assert_int_equal(run1(VIRTIO_BLK_T_OUT, 5, BUF, 512, R), VIRTIO_BLK_S_OK);
	assert_int_equal(syncs, before);

	/* Without CONFIG_WCE the field is read-only. */
	modern_up(F_FLUSH, 1);
	devcfg_w8(32, 0);
	assert_int_equal(devcfg(32, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_ids_viostor_inf),
	    T(test_config_legacy),
	    T(test_config_ro_mq),
	    T(test_get_id_default),
	    T(test_get_id_serial),
	    T(test_in_out_legacy),
	    T(test_in_out_modern),
	    T(test_in_indirect_sg),
	    T(test_any_layout),
	    T(test_flush),
	    T(test_writeback_toggle),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
