// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The IDE channel driven through its three bus ranges, with a fake guest RAM
 * (2 MiB at 0, a read-only page at ROM_BASE, nothing else) and raw images in
 * /tmp made with the block layer.  Channel "f->ch": an 8 MiB disk as master,
 * a 300-block CD as slave.  Data read by the guest is compared with what the
 * image files hold.
 *
 * A slow disk: the test is linked with --wrap=block_aio_read and
 * --wrap=block_drain.  While hold_reads is set, a read is recorded instead of
 * submitted; it goes to the block layer when someone waits for the device
 * (block_drain) or when the test releases it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/ide.h"
#include "devices/pci.h"
#include "devices/piix_ide.h"
#include "vmm/bus.h"
#include "vmm/loop.h"

#define RAM_SIZE (2u << 20)
#define ROM_BASE 0x400000
#define ROM_SIZE 0x1000

#define DISK_SECTORS 16384u /* 8 MiB */
#define CD_BLOCKS    300u
#define PRD	     0x1000

/* ATA registers */
#define R_DATA	  0
#define R_ERROR	  1
#define R_FEATURE 1
#define R_NSECT	  2
#define R_SECTOR  3
#define R_LCYL	  4
#define R_HCYL	  5
#define R_SELECT  6
#define R_STATUS  7
#define R_CMD	  7

/* The channel model registers no fds when given no loop; these only link. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return -ENOSYS;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

#define MAX_HELD 4

int __real_block_aio_read(struct block_dev *bd, uint64_t offset, const struct iovec *iov,
			  int iovcnt, block_cb *cb, void *opaque);
void __real_block_drain(struct block_dev *bd);
int __wrap_block_aio_read(struct block_dev *bd, uint64_t offset, const struct iovec *iov,
			  int iovcnt, block_cb *cb, void *opaque);
void __wrap_block_drain(struct block_dev *bd);

static struct held_read {
	struct block_dev *bd;
	uint64_t offset;
	struct iovec iov[16];
	int iovcnt;
	block_cb *cb;
	void *opaque;
} held[MAX_HELD];
static unsigned nr_held, reads_submitted;
static bool hold_reads;

int __wrap_block_aio_read(struct block_dev *bd, uint64_t offset, const struct iovec *iov,
			  int iovcnt, block_cb *cb, void *opaque)
{
	struct held_read *h = &held[nr_held];

	reads_submitted++;
	if (!hold_reads || nr_held == MAX_HELD || iovcnt > 16 || iovcnt < 0)
		return __real_block_aio_read(bd, offset, iov, iovcnt, cb, opaque);
	*h = (struct held_read){
	    .bd = bd, .offset = offset, .iovcnt = iovcnt, .cb = cb, .opaque = opaque};
	memcpy(h->iov, iov, (size_t)iovcnt * sizeof(*iov));
	nr_held++;
	return 0;
}

/* Hands the held reads of bd (all of them for NULL) to the block layer. */
static void release_held(struct block_dev *bd)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < nr_held; i++) {
		struct held_read h = held[i];

		if (bd && h.bd != bd) {
			held[keep++] = h;
			continue;
		}
		if (__real_block_aio_read(h.bd, h.offset, h.iov, h.iovcnt, h.cb, h.opaque) < 0)
			h.cb(h.opaque, -EIO);
	}
	nr_held = keep;
}

/* Runs (once) when someone waits for a device: what another thread does
 * meanwhile. */
static void (*drain_hook)(void *opaque);
static void *drain_hook_opaque;

void __wrap_block_drain(struct block_dev *bd)
{
	if (drain_hook) {
		void (*fn)(void *) = drain_hook;

		drain_hook = NULL;
		fn(drain_hook_opaque);
	}
	release_held(bd);
	__real_block_drain(bd);
}

struct irq_rec {
	bool level;
	unsigned rises;
};

struct fixture {
	struct guest_mem mem;
	uint8_t *ram, *rom;
	struct irq_rec irq;
	struct irq_line line;
	struct ide_channel *ch;
	struct block_dev *disk, *cd, *cd2;
	char disk_path[64], cd_path[64], cd2_path[64];
};

static void irq_set(void *opaque, unsigned gsi, bool level)
{
	struct irq_rec *r = opaque;

	if (level && !r->level)
		r->rises++;
	r->level = level;
}

static uint8_t disk_byte(uint64_t lba, unsigned i)
{
	return (uint8_t)(lba * 7 + i * 13 + (lba >> 8));
}

static uint8_t cd_byte(uint64_t blk, unsigned i, unsigned salt)
{
	return (uint8_t)(blk * 3 + i * 5 + (i >> 8) + salt);
}

static int make_image(char *path, const char *tmpl, uint64_t size, unsigned kind, unsigned salt)
{
	struct block_create_opts co = {.format = "raw", .size = size};
	struct block_opts o = {.format = "raw"};
	struct block_dev *bd;
	uint8_t *buf = malloc(size);
	char err[256];
	int fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	if (fd < 0 || !buf)
		return -1;
	close(fd);
	if (block_create(path, &co, err, sizeof(err)) ||
	    block_open(&bd, path, &o, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	for (uint64_t i = 0; i < size; i++)
		buf[i] = kind ? cd_byte(i / 2048, (unsigned)(i % 2048), salt)
			      : disk_byte(i / 512, (unsigned)(i % 512));
	if (block_pwrite(bd, 0, buf, size))
		return -1;
	block_close(bd);
	free(buf);
	return 0;
}

static int open_image(struct block_dev **bd, const char *path, bool ro)
{
	/* Read-only opens share the disk the fixture holds read-write. */
	struct block_opts o = {.format = "raw", .read_only = ro, .force_share = ro};
	char err[256];

	return block_open(bd, path, &o, err, sizeof(err));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram = calloc(1, RAM_SIZE);
	f->rom = calloc(1, ROM_SIZE);
	if (!f->ram || !f->rom || guest_mem_add(&f->mem, 0, RAM_SIZE, f->ram, false, "ram") ||
	    guest_mem_add(&f->mem, ROM_BASE, ROM_SIZE, f->rom, true, "rom"))
		return -1;
	if (make_image(f->disk_path, "/tmp/test_ide_disk_XXXXXX", DISK_SECTORS * 512ull, 0, 0) ||
	    make_image(f->cd_path, "/tmp/test_ide_cd_XXXXXX", CD_BLOCKS * 2048ull, 1, 0) ||
	    make_image(f->cd2_path, "/tmp/test_ide_cd2_XXXXXX", 100 * 2048ull, 1, 77))
		return -1;
	if (open_image(&f->disk, f->disk_path, false) || open_image(&f->cd, f->cd_path, true) ||
	    open_image(&f->cd2, f->cd2_path, true))
		return -1;
	f->line = (struct irq_line){.set_level = irq_set, .opaque = &f->irq, .gsi = 14};
	f->ch = ide_channel_create(&f->line, &f->mem, NULL);
	if (!f->ch || ide_attach_disk(f->ch, 0, f->disk) || ide_attach_cdrom(f->ch, 1, f->cd))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ide_channel_destroy(f->ch);
	block_close(f->disk);
	block_close(f->cd);
	block_close(f->cd2);
	unlink(f->disk_path);
	unlink(f->cd_path);
	unlink(f->cd2_path);
	free(f->ram);
	free(f->rom);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ port helpers */

static uint8_t inb(struct ide_channel *ch, unsigned reg)
{
	return (uint8_t)ide_cmd_bus_ops.read(ch, reg, 1);
}

static void outb(struct ide_channel *ch, unsigned reg, uint8_t v)
{
	ide_cmd_bus_ops.write(ch, reg, v, 1);
}

static uint16_t inw(struct ide_channel *ch)
{
	return (uint16_t)ide_cmd_bus_ops.read(ch, 0, 2);
}

static void outw(struct ide_channel *ch, uint16_t v)
{
	ide_cmd_bus_ops.write(ch, 0, v, 2);
}

static uint8_t altstatus(struct ide_channel *ch)
{
	return (uint8_t)ide_ctl_bus_ops.read(ch, 0, 1);
}

static void devctl(struct ide_channel *ch, uint8_t v)
{
	ide_ctl_bus_ops.write(ch, 0, v, 1);
}

static uint8_t bm_status(struct ide_channel *ch)
{
	return (uint8_t)ide_bmdma_bus_ops.read(ch, 2, 1);
}

static void bm_clear(struct ide_channel *ch)
{
	ide_bmdma_bus_ops.write(ch, 0, 0, 1);
	ide_bmdma_bus_ops.write(ch, 2, 0x06, 1);
}

static void bm_start(struct ide_channel *ch, uint32_t prd, bool to_mem)
{
	ide_bmdma_bus_ops.write(ch, 4, prd, 4);
	ide_bmdma_bus_ops.write(ch, 0, (to_mem ? 0x08 : 0) | 1, 1);
}

static void select_unit(struct ide_channel *ch, unsigned unit)
{
	outb(ch, R_SELECT, (uint8_t)(0xa0 | unit << 4));
}

/* Completes outstanding block requests; returns the status (clears INTRQ). */
static uint8_t settle(struct fixture *f)
{
	ide_channel_drain(f->ch);
	return inb(f->ch, R_STATUS);
}

static void lba28_cmd(struct fixture *f, uint32_t lba, uint8_t count, uint8_t cmd)
{
	select_unit(f->ch, 0);
	outb(f->ch, R_NSECT, count);
	outb(f->ch, R_SECTOR, (uint8_t)lba);
	outb(f->ch, R_LCYL, (uint8_t)(lba >> 8));
	outb(f->ch, R_HCYL, (uint8_t)(lba >> 16));
	outb(f->ch, R_SELECT, (uint8_t)(0xe0 | ((lba >> 24) & 0xf)));
	outb(f->ch, R_CMD, cmd);
}

static void lba48_cmd(struct fixture *f, uint64_t lba, uint16_t count, uint8_t cmd)
{
	select_unit(f->ch, 0);
	outb(f->ch, R_NSECT, (uint8_t)(count >> 8));
	outb(f->ch, R_SECTOR, (uint8_t)(lba >> 24));
	outb(f->ch, R_LCYL, (uint8_t)(lba >> 32));
	outb(f->ch, R_HCYL, (uint8_t)(lba >> 40));
	outb(f->ch, R_NSECT, (uint8_t)count);
	outb(f->ch, R_SECTOR, (uint8_t)lba);
	outb(f->ch, R_LCYL, (uint8_t)(lba >> 8));
	outb(f->ch, R_HCYL, (uint8_t)(lba >> 16));
	outb(f->ch, R_SELECT, 0xe0);
	outb(f->ch, R_CMD, cmd);
}

/* Reads n sectors by PIO in blocks of `block`, checking each against the
 * pattern, DRQ and one interrupt per block. */
static void pio_read_check(struct fixture *f, uint64_t lba, unsigned n, unsigned block)
{
	unsigned rises = f->irq.rises, blocks = 0;

	for (unsigned done = 0; done < n; blocks++) {
		unsigned b = n - done < block ? n - done : block;

		ide_channel_drain(f->ch);
		assert_true(f->irq.level);
		assert_int_equal(inb(f->ch, R_STATUS), 0x58);
		assert_false(f->irq.level);
		for (unsigned s = 0; s < b; s++, done++) {
			for (unsigned i = 0; i < 512; i += 2) {
				uint16_t w = inw(f->ch);

				if ((uint8_t)w != disk_byte(lba + done, i) ||
				    (uint8_t)(w >> 8) != disk_byte(lba + done, i + 1))
					fail_msg("sector %llu byte %u differs",
						 (unsigned long long)(lba + done), i);
			}
		}
	}
	assert_int_equal(settle(f), 0x50);
	assert_int_equal(f->irq.rises, rises + blocks);
}

static void pio_write(struct fixture *f, unsigned n, unsigned block, uint8_t salt)
{
	for (unsigned done = 0; done < n;) {
		unsigned b = n - done < block ? n - done : block;

		assert_int_equal(altstatus(f->ch), 0x58);
		for (unsigned s = 0; s < b; s++, done++)
			for (unsigned i = 0; i < 512; i += 4)
				ide_cmd_bus_ops.write(f->ch, 0,
						      (uint32_t)(done + salt) * 0x01010101u ^ i, 4);
		ide_channel_drain(f->ch);
		if (done < n)
			assert_true(f->irq.level);
		inb(f->ch, R_STATUS);
	}
}

static void check_written(struct fixture *f, uint64_t lba, unsigned n, uint8_t salt)
{
	uint8_t *buf = malloc(n * 512u);

	assert_non_null(buf);
	assert_int_equal(block_pread(f->disk, lba * 512, buf, n * 512u), 0);
	for (unsigned s = 0; s < n; s++) {
		for (unsigned i = 0; i < 512; i += 4) {
			uint32_t v = (uint32_t)(s + salt) * 0x01010101u ^ i, got;

			memcpy(&got, buf + s * 512 + i, 4);
			if (got != v)
				fail_msg("written sector %u byte %u: %08x != %08x", s, i, got, v);
		}
	}
	free(buf);
}

/* ------------------------------------------------------------ ATA tests */

static void test_signatures(void **state)
{
	struct fixture *f = *state;
	struct ide_channel *empty, *lone;
	struct irq_line none = {0};
	struct block_dev *ro;

	select_unit(f->ch, 0);
	assert_int_equal(inb(f->ch, R_NSECT), 1);
	assert_int_equal(inb(f->ch, R_SECTOR), 1);
	assert_int_equal(inb(f->ch, R_LCYL), 0);
	assert_int_equal(inb(f->ch, R_HCYL), 0);
	assert_int_equal(inb(f->ch, R_STATUS), 0x50);
	select_unit(f->ch, 1);
	assert_int_equal(inb(f->ch, R_LCYL), 0x14);
	assert_int_equal(inb(f->ch, R_HCYL), 0xeb);
	assert_int_equal(inb(f->ch, R_STATUS), 0x00);

	/* Software reset: BSY while asserted, signatures again afterwards. */
	select_unit(f->ch, 0);
	outb(f->ch, R_LCYL, 0x55);
	devctl(f->ch, 0x06);
	assert_int_equal(altstatus(f->ch), 0x80);
	devctl(f->ch, 0x02);
	assert_int_equal(altstatus(f->ch), 0x50);
	assert_int_equal(inb(f->ch, R_LCYL), 0);
	assert_int_equal(inb(f->ch, R_ERROR), 0x01);
	select_unit(f->ch, 1);
	assert_int_equal(inb(f->ch, R_LCYL), 0x14);
	assert_int_equal(inb(f->ch, R_HCYL), 0xeb);
	devctl(f->ch, 0x00);

	/* A channel with nothing attached reads 0 everywhere (as QEMU). */
	empty = ide_channel_create(&none, &f->mem, NULL);
	assert_non_null(empty);
	for (unsigned r = 1; r < 8; r++)
		assert_int_equal(inb(empty, r), 0);
	ide_channel_destroy(empty);

	/* Master only: the absent slave shows status 0 and the FFh signature. */
	assert_int_equal(open_image(&ro, f->disk_path, true), 0);
	lone = ide_channel_create(&none, &f->mem, NULL);
	assert_non_null(lone);
	assert_int_equal(ide_attach_disk(lone, 0, NULL), -EINVAL);
	assert_int_equal(ide_attach_disk(lone, 2, ro), -EINVAL);
	assert_int_equal(ide_attach_disk(lone, 0, ro), 0);
	assert_int_equal(inb(lone, R_STATUS), 0x50);
	select_unit(lone, 1);
	assert_int_equal(inb(lone, R_STATUS), 0);
	assert_int_equal(altstatus(lone), 0);
	assert_int_equal(inb(lone, R_ERROR), 0);
	assert_int_equal(inb(lone, R_LCYL), 0xff);
	assert_int_equal(inb(lone, R_HCYL), 0xff);
	/* Commands to the absent slave are ignored. */
	outb(lone, R_CMD, 0xec);
	assert_int_equal(inb(lone, R_STATUS), 0);
	ide_channel_destroy(lone);
	block_close(ro);
}

static void read_identify(struct fixture *f, uint16_t *id)
{
	for (unsigned i = 0; i < 256; i++)
		id[i] = inw(f->ch);
}

static void test_identify(void **state)
{
	struct fixture *f = *state;
	uint16_t id[256];
	uint8_t sum = 0;
	char model[41];

	select_unit(f->ch, 0);
	outb(f->ch, R_CMD, 0xec);
	assert_true(f->irq.level);
	assert_int_equal(inb(f->ch, R_STATUS), 0x58);
	assert_false(f->irq.level);
	read_identify(f, id);
	assert_int_equal(altstatus(f->ch), 0x50);
	assert_int_equal(id[0], 0x0040);
	assert_int_equal(id[1], DISK_SECTORS / (16 * 63));
	assert_int_equal(id[3], 16);
	assert_int_equal(id[6], 63);
	assert_int_equal(id[47], 0x8010);
	assert_int_equal(id[49] & 0x0300, 0x0300);
	assert_int_equal(id[60] | (uint32_t)id[61] << 16, DISK_SECTORS);
	assert_int_equal(id[100] | (uint64_t)id[101] << 16, DISK_SECTORS);
	assert_int_equal(id[102] | id[103], 0);
	assert_true(id[83] & (1 << 10));
	assert_true(id[86] & (1 << 10));
	assert_true(id[83] & (1 << 12));
	for (unsigned i = 0; i < 20; i++) {
		model[2 * i] = (char)(id[27 + i] >> 8);
		model[2 * i + 1] = (char)id[27 + i];
	}
	model[40] = 0;
	assert_string_equal(model, "MINIVMM HARDDISK                        ");
	assert_int_equal(id[255] & 0xff, 0xa5);
	for (unsigned i = 0; i < 256; i++)
		sum = (uint8_t)(sum + (id[i] & 0xff) + (id[i] >> 8));
	assert_int_equal(sum, 0);

	/* IDENTIFY to the CD aborts and shows the ATAPI signature. */
	select_unit(f->ch, 1);
	outb(f->ch, R_CMD, 0xec);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR), 0x04);
	assert_int_equal(inb(f->ch, R_LCYL), 0x14);
	assert_int_equal(inb(f->ch, R_HCYL), 0xeb);
	outb(f->ch, R_CMD, 0xa1);
	assert_int_equal(inb(f->ch, R_STATUS), 0x58);
	read_identify(f, id);
	assert_int_equal(id[0], 0x85c0);
	assert_true(id[49] & (1 << 8));

	/* IDENTIFY PACKET to the disk aborts. */
	select_unit(f->ch, 0);
	outb(f->ch, R_CMD, 0xa1);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR), 0x04);
	/* Unknown command: ABRT. */
	outb(f->ch, R_CMD, 0x5c);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR), 0x04);
	/* CHECK POWER MODE: active. */
	outb(f->ch, R_CMD, 0xe5);
	assert_int_equal(inb(f->ch, R_STATUS), 0x50);
	assert_int_equal(inb(f->ch, R_NSECT), 0xff);
}

static void test_pio_read(void **state)
{
	struct fixture *f = *state;

	lba28_cmd(f, 100, 3, 0x20);
	pio_read_check(f, 100, 3, 1);
	/* The last sector of the disk. */
	lba28_cmd(f, DISK_SECTORS - 1, 1, 0x20);
	pio_read_check(f, DISK_SECTORS - 1, 1, 1);
	/* READ MULTIPLE with 8-sector blocks: 8 + 8 + 4. */
	outb(f->ch, R_NSECT, 8);
	outb(f->ch, R_CMD, 0xc6);
	assert_int_equal(settle(f), 0x50);
	lba28_cmd(f, 1000, 20, 0xc4);
	pio_read_check(f, 1000, 20, 8);
	/* Count 0 = 256 sectors, then a read longer than the buffer (LBA48). */
	lba28_cmd(f, 5000, 0, 0x20);
	pio_read_check(f, 5000, 256, 1);
	lba48_cmd(f, 7000, 600, 0x29);
	pio_read_check(f, 7000, 600, 8);
}

static void test_pio_read_chs(void **state)
{
	struct fixture *f = *state;

	/* C/H/S 2/3/5 = (2 * 16 + 3) * 63 + 4 */
	select_unit(f->ch, 0);
	outb(f->ch, R_NSECT, 2);
	outb(f->ch, R_SECTOR, 5);
	outb(f->ch, R_LCYL, 2);
	outb(f->ch, R_HCYL, 0);
	outb(f->ch, R_SELECT, 0xa3);
	outb(f->ch, R_CMD, 0x20);
	pio_read_check(f, (2 * 16 + 3) * 63 + 4, 2, 1);
	/* Sector 0 does not exist in CHS. */
	outb(f->ch, R_SECTOR, 0);
	outb(f->ch, R_CMD, 0x20);
	assert_int_equal(settle(f), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR), 0x10);
}

static void test_pio_write(void **state)
{
	struct fixture *f = *state;

	lba28_cmd(f, 50, 2, 0x30);
	/* No interrupt before the first block of a write. */
	assert_false(f->irq.level);
	pio_write(f, 2, 1, 9);
	assert_int_equal(settle(f), 0x50);
	check_written(f, 50, 2, 9);

	outb(f->ch, R_NSECT, 16);
	outb(f->ch, R_CMD, 0xc6);
	settle(f);
	lba48_cmd(f, 3000, 300, 0x39);
	pio_write(f, 300, 16, 21);
	assert_int_equal(settle(f), 0x50);
	check_written(f, 3000, 300, 21);
	/* FLUSH CACHE completes. */
	outb(f->ch, R_CMD, 0xe7);
	assert_int_equal(settle(f), 0x50);
}

static void test_lba48_and_range(void **state)
{
	struct fixture *f = *state;

	/* HOB: the previous write of a register reads back with HOB set. */
	select_unit(f->ch, 0);
	outb(f->ch, R_NSECT, 0x12);
	outb(f->ch, R_NSECT, 0x34);
	devctl(f->ch, 0x80);
	assert_int_equal(inb(f->ch, R_NSECT), 0x12);
	devctl(f->ch, 0x00);
	assert_int_equal(inb(f->ch, R_NSECT), 0x34);

	lba48_cmd(f, 12345, 2, 0x24);
	pio_read_check(f, 12345, 2, 1);
	/* Beyond the end: IDNF with ERR and an interrupt, no data. */
	lba48_cmd(f, 1ull << 24, 1, 0x24);
	assert_true(f->irq.level);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR), 0x10);
	assert_int_equal(inw(f->ch), 0);
	lba28_cmd(f, DISK_SECTORS - 1, 2, 0x20);
	assert_int_equal(settle(f), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR), 0x10);
	lba28_cmd(f, DISK_SECTORS, 1, 0xca);
	assert_int_equal(settle(f), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR), 0x10);
	/* READ NATIVE MAX */
	lba28_cmd(f, 0, 0, 0xf8);
	assert_int_equal(settle(f), 0x50);
	assert_int_equal(inb(f->ch, R_SECTOR) | inb(f->ch, R_LCYL) << 8 | inb(f->ch, R_HCYL) << 16,
			 DISK_SECTORS - 1);
}

static void test_read_only(void **state)
{
	struct fixture *f = *state;
	struct irq_line none = {0};
	struct block_dev *ro;
	struct ide_channel *ch;

	assert_int_equal(open_image(&ro, f->disk_path, true), 0);
	ch = ide_channel_create(&none, &f->mem, NULL);
	assert_non_null(ch);
	assert_int_equal(ide_attach_disk(ch, 0, ro), 0);
	assert_int_equal(ide_attach_disk(ch, 0, ro), -EBUSY);
	outb(ch, R_NSECT, 1);
	outb(ch, R_SELECT, 0xe0);
	outb(ch, R_CMD, 0x30);
	assert_int_equal(inb(ch, R_STATUS), 0x41);
	assert_int_equal(inb(ch, R_ERROR), 0x04);
	outb(ch, R_CMD, 0xca);
	assert_int_equal(inb(ch, R_STATUS), 0x41);
	/* Reads still work. */
	outb(ch, R_CMD, 0x20);
	ide_channel_drain(ch);
	assert_int_equal(inb(ch, R_STATUS), 0x58);
	ide_channel_destroy(ch);
	block_close(ro);
}

static void test_nien(void **state)
{
	struct fixture *f = *state;
	unsigned rises = f->irq.rises;

	devctl(f->ch, 0x02);
	lba28_cmd(f, 1, 1, 0x20);
	ide_channel_drain(f->ch);
	assert_false(f->irq.level);
	assert_int_equal(f->irq.rises, rises);
	/* Alternate status does not acknowledge; enabling shows the pending one. */
	assert_int_equal(altstatus(f->ch), 0x58);
	devctl(f->ch, 0x00);
	assert_true(f->irq.level);
	assert_int_equal(altstatus(f->ch), 0x58);
	assert_true(f->irq.level);
	inb(f->ch, R_STATUS);
	assert_false(f->irq.level);
	/* Data port accesses without DRQ do nothing. */
	for (unsigned i = 0; i < 256; i++)
		inw(f->ch);
	assert_int_equal(inw(f->ch), 0);
	assert_int_equal(inb(f->ch, R_STATUS), 0x50);
}

/* ------------------------------------------------------------ DMA tests */

static void put_prd(struct fixture *f, unsigned idx, uint32_t addr, uint32_t len, bool eot)
{
	uint8_t *e = f->ram + PRD + 8 * idx;

	e[0] = (uint8_t)addr;
	e[1] = (uint8_t)(addr >> 8);
	e[2] = (uint8_t)(addr >> 16);
	e[3] = (uint8_t)(addr >> 24);
	e[4] = (uint8_t)len;
	e[5] = (uint8_t)(len >> 8);
	e[6] = 0;
	e[7] = eot ? 0x80 : 0;
}

static void check_ram_sectors(struct fixture *f, uint32_t addr, uint64_t lba, unsigned n)
{
	for (unsigned s = 0; s < n; s++)
		for (unsigned i = 0; i < 512; i++)
			if (f->ram[addr + s * 512 + i] != disk_byte(lba + s, i))
				fail_msg("DMA sector %u byte %u", s, i);
}

static void test_dma_read(void **state)
{
	struct fixture *f = *state;
	unsigned rises;

	/* 4 KiB + a 64 KiB entry (count 0) = 136 sectors. */
	put_prd(f, 0, 0x10000, 4096, false);
	put_prd(f, 1, 0x20000, 0, true);
	memset(f->ram + 0x10000, 0, 0x20000);
	bm_clear(f->ch);
	lba28_cmd(f, 200, 136, 0xc8);
	assert_int_equal(altstatus(f->ch), 0x58);
	rises = f->irq.rises;
	bm_start(f->ch, PRD, true);
	ide_channel_drain(f->ch);
	assert_int_equal(f->irq.rises, rises + 1);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x04);
	assert_int_equal(inb(f->ch, R_STATUS), 0x50);
	check_ram_sectors(f, 0x10000, 200, 8);
	check_ram_sectors(f, 0x20000, 208, 128);

	/* Start first, command second (also allowed). */
	bm_clear(f->ch);
	put_prd(f, 0, 0x30000, 1024, true);
	bm_start(f->ch, PRD, true);
	lba48_cmd(f, 9000, 2, 0x25);
	assert_int_equal(settle(f), 0x50);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x04);
	check_ram_sectors(f, 0x30000, 9000, 2);
}

/* A machine reset while a DMA read is with a slow disk: the reset waits for
 * it, and nothing of it reaches RAM that the rebooted guest reuses. */
static void test_reset_with_dma_in_flight(void **state)
{
	struct fixture *f = *state;

	put_prd(f, 0, 0x10000, 4096, true);
	memset(f->ram + 0x10000, 0, 4096);
	bm_clear(f->ch);
	hold_reads = true;
	lba28_cmd(f, 300, 8, 0xc8);
	bm_start(f->ch, PRD, true);
	assert_int_equal(nr_held, 1);
	assert_int_equal(bm_status(f->ch) & 0x01, 0x01);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(f->ram[0x10000 + i], 0);

	ide_channel_reset(f->ch);
	hold_reads = false;
	/* No request from before the reset is left to land. */
	assert_int_equal(nr_held, 0);
	memset(f->ram + 0x10000, 0xee, 4096);
	release_held(NULL);
	ide_channel_drain(f->ch);
	usleep(20000);
	ide_channel_drain(f->ch);
	for (unsigned i = 0; i < 4096; i++)
		if (f->ram[0x10000 + i] != 0xee)
			fail_msg("RAM byte %u written after the reset", i);

	/* Idle, as after power-on, and working. */
	assert_false(f->irq.level);
	assert_int_equal(bm_status(f->ch) & 0x07, 0);
	select_unit(f->ch, 0);
	assert_int_equal(inb(f->ch, R_STATUS), 0x50);
	assert_int_equal(inb(f->ch, R_ERROR), 0x01);
	lba28_cmd(f, 400, 8, 0xc8);
	bm_start(f->ch, PRD, true);
	assert_int_equal(settle(f), 0x50);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x04);
	check_ram_sectors(f, 0x10000, 400, 8);
}

/* Paused: what is in flight finishes before pause returns; nothing new
 * starts (DMA or PIO) until resume. */
static void test_pause_resume(void **state)
{
	struct fixture *f = *state;
	unsigned submitted;

	put_prd(f, 0, 0x10000, 4096, true);
	memset(f->ram + 0x10000, 0, 0x2000);
	bm_clear(f->ch);
	hold_reads = true;
	lba28_cmd(f, 500, 8, 0xc8);
	bm_start(f->ch, PRD, true);
	assert_int_equal(nr_held, 1);
	ide_channel_pause(f->ch);
	hold_reads = false;
	assert_int_equal(nr_held, 0);
	check_ram_sectors(f, 0x10000, 500, 8);
	assert_int_equal(inb(f->ch, R_STATUS), 0x50);

	/* A DMA read started while paused stays pending. */
	submitted = reads_submitted;
	bm_clear(f->ch);
	put_prd(f, 0, 0x11000, 4096, true);
	lba28_cmd(f, 600, 8, 0xc8);
	bm_start(f->ch, PRD, true);
	ide_channel_drain(f->ch);
	assert_int_equal(reads_submitted, submitted);
	assert_int_equal(f->ram[0x11000], 0);
	assert_int_equal(altstatus(f->ch), 0x58);
	/* Nested: only the last resume lets it go. */
	ide_channel_pause(f->ch);
	ide_channel_resume(f->ch);
	assert_int_equal(reads_submitted, submitted);
	ide_channel_resume(f->ch);
	assert_int_equal(reads_submitted, submitted + 1);
	assert_int_equal(settle(f), 0x50);
	check_ram_sectors(f, 0x11000, 600, 8);

	/* A PIO read waits with BSY. */
	ide_channel_pause(f->ch);
	lba28_cmd(f, 700, 1, 0x20);
	ide_channel_drain(f->ch);
	assert_int_equal(reads_submitted, submitted + 1);
	assert_int_equal(altstatus(f->ch), 0xc0);
	ide_channel_resume(f->ch);
	pio_read_check(f, 700, 1, 1);
}

static void dma_read_cmd(struct ide_channel *ch, uint32_t lba, uint8_t count)
{
	outb(ch, R_SELECT, 0xe0);
	outb(ch, R_NSECT, count);
	outb(ch, R_SECTOR, (uint8_t)lba);
	outb(ch, R_LCYL, (uint8_t)(lba >> 8));
	outb(ch, R_HCYL, (uint8_t)(lba >> 16));
	outb(ch, R_CMD, 0xc8);
	bm_start(ch, PRD, true);
}

/* The PCI function: quiesce covers both channels, and the PCI reset
 * quiesces before it resets. */
static void test_piix_quiesce_and_reset(void **state)
{
	struct fixture *f = *state;
	struct bus *pio = bus_create("pio", 0x10000), *mmio = bus_create("mmio", 0);
	struct ide_channel *ch;
	struct block_dev *ro;
	struct piix_ide *ide;
	struct pci_bus *pci;
	unsigned submitted;
	char err[128];

	assert_non_null(pio);
	assert_non_null(mmio);
	pci = pci_bus_create(pio, mmio);
	assert_non_null(pci);
	ide = piix_ide_create(pci, PCI_DEVFN(1, 1), pio, &f->line, &f->mem, NULL, err, sizeof(err));
	assert_non_null(ide);
	assert_int_equal(open_image(&ro, f->disk_path, true), 0);
	ch = piix_ide_channel(ide, 1);
	assert_int_equal(ide_attach_disk(ch, 0, ro), 0);
	pci_bus_seal(pci);

	put_prd(f, 0, 0x10000, 4096, true);
	memset(f->ram + 0x10000, 0, 4096);
	hold_reads = true;
	dma_read_cmd(ch, 300, 8);
	assert_int_equal(nr_held, 1);
	piix_ide_quiesce(ide);
	assert_int_equal(nr_held, 0);
	check_ram_sectors(f, 0x10000, 300, 8);
	assert_int_equal(inb(ch, R_STATUS), 0x50);

	/* Quiesced: a new transfer waits for the resume. */
	bm_clear(ch);
	submitted = reads_submitted;
	dma_read_cmd(ch, 0, 8);
	assert_int_equal(reads_submitted, submitted);
	piix_ide_resume(ide);
	assert_int_equal(reads_submitted, submitted + 1);
	assert_int_equal(nr_held, 1);

	/* Machine reset with that read held: nothing lands afterwards. */
	pci_bus_reset(pci);
	hold_reads = false;
	assert_int_equal(nr_held, 0);
	memset(f->ram + 0x10000, 0xee, 4096);
	release_held(NULL);
	ide_channel_drain(ch);
	for (unsigned i = 0; i < 4096; i++)
		if (f->ram[0x10000 + i] != 0xee)
			fail_msg("RAM byte %u written after the PCI reset", i);
	assert_int_equal(altstatus(ch), 0x50);
	assert_int_equal(bm_status(ch) & 0x07, 0);

	piix_ide_destroy(ide);
	pci_bus_destroy(pci);
	bus_destroy(pio);
	bus_destroy(mmio);
	block_close(ro);
}

static void test_dma_write(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < 4 * 512; i += 4) {
		uint32_t v = (uint32_t)(i / 512 + 40) * 0x01010101u ^ (i % 512);

		memcpy(f->ram + 0x40000 + i, &v, 4);
	}
	put_prd(f, 0, 0x40000, 1536, false);
	put_prd(f, 1, 0x40000 + 1536, 512, true);
	bm_clear(f->ch);
	lba28_cmd(f, 700, 4, 0xca);
	bm_start(f->ch, PRD, false);
	assert_int_equal(settle(f), 0x50);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x04);
	check_written(f, 700, 4, 40);
}

static void test_dma_errors(void **state)
{
	struct fixture *f = *state;
	unsigned rises;

	/* A buffer outside RAM: BM error + interrupt, drive ERR. */
	put_prd(f, 0, 0x40000000, 512, true);
	bm_clear(f->ch);
	lba28_cmd(f, 1, 1, 0xc8);
	rises = f->irq.rises;
	bm_start(f->ch, PRD, true);
	ide_channel_drain(f->ch);
	assert_int_equal(f->irq.rises, rises + 1);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x06);
	assert_int_equal(inb(f->ch, R_STATUS) & 0x01, 0x01);
	/* Reading into read-only memory is refused the same way. */
	put_prd(f, 0, ROM_BASE, 512, true);
	bm_clear(f->ch);
	lba28_cmd(f, 1, 1, 0xc8);
	bm_start(f->ch, PRD, true);
	ide_channel_drain(f->ch);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x06);
	assert_int_equal(f->rom[0], 0);
	assert_int_equal(inb(f->ch, R_STATUS) & 0x01, 0x01);
	/* The PRD table itself outside RAM. */
	bm_clear(f->ch);
	lba28_cmd(f, 1, 1, 0xc8);
	bm_start(f->ch, 0x10000000, true);
	ide_channel_drain(f->ch);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x06);
	inb(f->ch, R_STATUS);

	/* PRD longer than the transfer: interrupt, Active stays set. */
	put_prd(f, 0, 0x50000, 8192, true);
	bm_clear(f->ch);
	lba28_cmd(f, 3, 1, 0xc8);
	rises = f->irq.rises;
	bm_start(f->ch, PRD, true);
	assert_int_equal(settle(f), 0x50);
	assert_int_equal(f->irq.rises, rises + 1);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x05);
	check_ram_sectors(f, 0x50000, 3, 1);

	/* PRD shorter than the transfer: Active clears, no interrupt (QEMU). */
	put_prd(f, 0, 0x60000, 512, true);
	bm_clear(f->ch);
	lba28_cmd(f, 4, 4, 0xc8);
	rises = f->irq.rises;
	bm_start(f->ch, PRD, true);
	ide_channel_drain(f->ch);
	assert_int_equal(f->irq.rises, rises);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x00);
	assert_int_equal(inb(f->ch, R_STATUS), 0x50);
	check_ram_sectors(f, 0x60000, 4, 1);

	/* PRD address register: bits 1:0 read as zero; status W1C. */
	ide_bmdma_bus_ops.write(f->ch, 4, 0x12345677, 4);
	assert_int_equal(ide_bmdma_bus_ops.read(f->ch, 4, 4), 0x12345674);
	ide_bmdma_bus_ops.write(f->ch, 2, 0x60, 1);
	assert_int_equal(bm_status(f->ch) & 0x60, 0x60);
	bm_clear(f->ch);
}

/* ------------------------------------------------------------ ATAPI tests */

static void send_packet(struct fixture *f, const uint8_t *pkt, uint16_t bcl, bool dma)
{
	select_unit(f->ch, 1);
	outb(f->ch, R_FEATURE, dma ? 1 : 0);
	outb(f->ch, R_LCYL, (uint8_t)bcl);
	outb(f->ch, R_HCYL, (uint8_t)(bcl >> 8));
	outb(f->ch, R_CMD, 0xa0);
	assert_int_equal(altstatus(f->ch) & 0x89, 0x08);
	assert_int_equal(inb(f->ch, R_NSECT) & 3, 1);
	for (unsigned i = 0; i < 12; i += 2)
		outw(f->ch, (uint16_t)(pkt[i] | pkt[i + 1] << 8));
}

/* Collects the data-in phase by PIO; returns bytes read (max cap). Every
 * window must respect the limit. */
static size_t pio_in(struct fixture *f, uint8_t *out, size_t cap, uint16_t bcl)
{
	size_t got = 0;

	for (;;) {
		uint8_t st = settle(f);
		unsigned n;

		if (!(st & 0x08)) {
			assert_int_equal(inb(f->ch, R_NSECT) & 3, 3);
			return got;
		}
		assert_int_equal(inb(f->ch, R_NSECT) & 3, 2);
		n = inb(f->ch, R_LCYL) | inb(f->ch, R_HCYL) << 8;
		assert_true(n > 0);
		assert_true(n <= (bcl == 0xffff || bcl == 0 ? 0xfffe : bcl));
		for (unsigned i = 0; i < n; i += 2) {
			uint16_t w = inw(f->ch);

			if (got < cap)
				out[got] = (uint8_t)w;
			if (i + 1 < n && got + 1 < cap)
				out[got + 1] = (uint8_t)(w >> 8);
			got += i + 1 < n ? 2 : 1;
		}
	}
}

static void request_sense(struct fixture *f, uint8_t *key, uint8_t *asc)
{
	uint8_t pkt[12] = {0x03, 0, 0, 0, 18}, s[18];

	send_packet(f, pkt, 0xfffe, false);
	assert_int_equal(pio_in(f, s, sizeof(s), 0xfffe), 18);
	assert_int_equal(s[0], 0x70);
	*key = s[2] & 0x0f;
	*asc = s[12];
}

static uint8_t packet_status(struct fixture *f, const uint8_t *pkt)
{
	send_packet(f, pkt, 0xfffe, false);
	return settle(f);
}

static void test_atapi_inquiry_capacity(void **state)
{
	struct fixture *f = *state;
	uint8_t inq[12] = {0x12, 0, 0, 0, 36}, cap[12] = {0x25};
	uint8_t b[64];

	send_packet(f, inq, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 36);
	assert_int_equal(b[0], 0x05);
	assert_int_equal(b[1], 0x80);
	assert_memory_equal(b + 8, "MINIVMM ", 8);
	assert_memory_equal(b + 16, "CD-ROM", 6);

	send_packet(f, cap, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 8);
	assert_int_equal(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3], CD_BLOCKS - 1);
	assert_int_equal(b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7], 2048);

	/* Odd allocation length: 35 bytes, the last word half padding. */
	inq[4] = 35;
	send_packet(f, inq, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 35);
	assert_int_equal(altstatus(f->ch), 0x50);
}

static void check_cd_data(const uint8_t *b, uint64_t blk, unsigned n, unsigned salt)
{
	for (unsigned s = 0; s < n; s++)
		for (unsigned i = 0; i < 2048; i++)
			if (b[s * 2048 + i] != cd_byte(blk + s, i, salt))
				fail_msg("CD block %llu byte %u", (unsigned long long)(blk + s), i);
}

static void test_atapi_read(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[12] = {0x28, 0, 0, 0, 0, 10, 0, 0, 100};
	uint8_t *b = malloc(100 * 2048);

	assert_non_null(b);
	/* 100 blocks from 10: more than one buffer load, windows of 0xfffe. */
	send_packet(f, pkt, 0xffff, false);
	assert_int_equal(pio_in(f, b, 100 * 2048, 0xffff), 100 * 2048);
	check_cd_data(b, 10, 100, 0);
	/* Odd byte-count limit 2049: windows of 2048. */
	pkt[8] = 2;
	send_packet(f, pkt, 2049, false);
	assert_int_equal(pio_in(f, b, 2 * 2048, 2049), 2 * 2048);
	check_cd_data(b, 10, 2, 0);
	/* READ(12) of the last block */
	{
		uint8_t p12[12] = {0xa8, 0, 0, 0, (CD_BLOCKS - 1) >> 8, (CD_BLOCKS - 1) & 0xff,
				   0,	 0, 0, 1};

		send_packet(f, p12, 0xfffe, false);
		assert_int_equal(pio_in(f, b, 2048, 0xfffe), 2048);
		check_cd_data(b, CD_BLOCKS - 1, 1, 0);
	}
	/* DMA: 3 blocks into two PRD entries. */
	put_prd(f, 0, 0x70000, 4096, false);
	put_prd(f, 1, 0x72000, 2048, true);
	bm_clear(f->ch);
	pkt[8] = 3;
	send_packet(f, pkt, 0xfffe, true);
	bm_start(f->ch, PRD, true);
	assert_int_equal(settle(f), 0x50);
	assert_int_equal(inb(f->ch, R_NSECT) & 3, 3);
	assert_int_equal(bm_status(f->ch) & 0x07, 0x04);
	check_cd_data(f->ram + 0x70000, 10, 2, 0);
	check_cd_data(f->ram + 0x72000, 12, 1, 0);
	bm_clear(f->ch);
	free(b);
}

static void test_atapi_errors_and_sense(void **state)
{
	struct fixture *f = *state;
	uint8_t rd[12] = {0x28, 0, 0, 0, (CD_BLOCKS - 1) >> 8, (CD_BLOCKS - 1) & 0xff, 0, 0, 2};
	uint8_t huge[12] = {0xa8, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
	uint8_t bad[12] = {0xee}, key, asc;

	assert_int_equal(packet_status(f, rd), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR) >> 4, 5);
	assert_int_equal(inb(f->ch, R_NSECT) & 3, 3);
	request_sense(f, &key, &asc);
	assert_int_equal(key, 5);
	assert_int_equal(asc, 0x21);
	/* Sense is cleared once read. */
	request_sense(f, &key, &asc);
	assert_int_equal(key, 0);

	assert_int_equal(packet_status(f, huge), 0x41);
	request_sense(f, &key, &asc);
	assert_int_equal(asc, 0x21);
	assert_int_equal(packet_status(f, bad), 0x41);
	request_sense(f, &key, &asc);
	assert_int_equal(key, 5);
	assert_int_equal(asc, 0x20);
}

static void test_atapi_toc(void **state)
{
	struct fixture *f = *state;
	uint8_t toc[12] = {0x43, 0, 0, 0, 0, 0, 0, 0, 100}, b[128];
	unsigned lo = CD_BLOCKS + 150;

	send_packet(f, toc, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 20);
	assert_int_equal(b[1], 18);
	assert_int_equal(b[2], 1);
	assert_int_equal(b[3], 1);
	assert_int_equal(b[6], 1); /* track 1 */
	assert_int_equal(b[8] | b[9] | b[10] | b[11], 0);
	assert_int_equal(b[14], 0xaa);
	assert_int_equal(b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19], CD_BLOCKS);
	/* MSF */
	toc[1] = 2;
	send_packet(f, toc, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 20);
	assert_int_equal(b[9], 0);
	assert_int_equal(b[10], 2);
	assert_int_equal(b[11], 0);
	assert_int_equal(b[17], lo / 4500);
	assert_int_equal(b[18], (lo / 75) % 60);
	assert_int_equal(b[19], lo % 75);
	/* format 1: session info */
	toc[2] = 1;
	send_packet(f, toc, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 12);
	/* format 2: full TOC, 4 descriptors */
	toc[2] = 2;
	send_packet(f, toc, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 48);
	assert_int_equal(b[4 + 3], 0xa0);
	assert_int_equal(b[4 + 22 + 3], 0xa2);
	/* Allocation length cuts the reply. */
	toc[2] = 0;
	toc[8] = 4;
	send_packet(f, toc, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 4);
}

static void test_atapi_medium_change(void **state)
{
	struct fixture *f = *state;
	uint8_t tur[12] = {0x00}, inq[12] = {0x12, 0, 0, 0, 36};
	uint8_t gesn[12] = {0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8},
		cfg[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 64};
	uint8_t rd[12] = {0x28, 0, 0, 0, 0, 5, 0, 0, 1};
	uint8_t b[2048], key, asc;

	assert_int_equal(packet_status(f, tur), 0x50);
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, NULL, false), 0);
	assert_int_equal(packet_status(f, tur), 0x41);
	request_sense(f, &key, &asc);
	assert_int_equal(key, 2);
	assert_int_equal(asc, 0x3a);
	send_packet(f, gesn, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 8);
	assert_int_equal(b[4], 3); /* media removal */
	assert_int_equal(b[5] & 2, 0);

	/* PREVENT: an eject is refused unless forced. */
	{
		uint8_t prevent[12] = {0x1e, 0, 0, 0, 1};

		assert_int_equal(packet_status(f, prevent), 0x50);
		assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd2, false), -EBUSY);
		prevent[4] = 0;
		assert_int_equal(packet_status(f, prevent), 0x50);
	}
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd2, false), 0);
	/* INQUIRY and GESN run while the attention is pending. */
	send_packet(f, inq, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 36);
	send_packet(f, gesn, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 8);
	assert_int_equal(b[4], 2); /* new media */
	assert_int_equal(b[5] & 2, 2);
	send_packet(f, cfg, 0xfffe, false);
	assert_true(pio_in(f, b, sizeof(b), 0xfffe) >= 16);
	assert_int_equal(b[6] << 8 | b[7], 0x0008);
	/* Then NOT READY once, UNIT ATTENTION once, then ready. */
	assert_int_equal(packet_status(f, tur), 0x41);
	request_sense(f, &key, &asc);
	assert_int_equal(key, 2);
	assert_int_equal(packet_status(f, tur), 0x41);
	assert_int_equal(inb(f->ch, R_ERROR) >> 4, 6);
	request_sense(f, &key, &asc);
	assert_int_equal(key, 6);
	assert_int_equal(asc, 0x28);
	assert_int_equal(packet_status(f, tur), 0x50);
	send_packet(f, rd, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 2048);
	check_cd_data(b, 5, 1, 77);
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd, false), 0);
}

static void test_atapi_misc(void **state)
{
	struct fixture *f = *state;
	uint8_t ms[12] = {0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64};
	uint8_t all[12] = {0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255};
	uint8_t di[12] = {0x51, 0, 0, 0, 0, 0, 0, 0, 34};
	uint8_t dvd[12] = {0xad, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	uint8_t mech[12] = {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8};
	uint8_t rcd[12] = {0xbe, 0, 0, 0, 0, 7, 0, 0, 1, 0x10};
	uint8_t b[4096], key, asc;

	send_packet(f, ms, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 28);
	assert_int_equal(b[8], 0x2a);
	send_packet(f, all, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 8 + 8 + 16 + 20);
	send_packet(f, di, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 34);
	/* A CD-sized medium has no DVD structures. */
	assert_int_equal(packet_status(f, dvd), 0x41);
	request_sense(f, &key, &asc);
	assert_int_equal(key, 5);
	assert_int_equal(asc, 0x30);
	send_packet(f, mech, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 8);
	send_packet(f, rcd, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 2048);
	check_cd_data(b, 7, 1, 0);
	rcd[9] = 0xf8; /* raw sectors: not offered */
	assert_int_equal(packet_status(f, rcd), 0x41);
	request_sense(f, &key, &asc);
	assert_int_equal(asc, 0x24);
	/* Packet commands sent to the disk's PACKET opcode abort. */
	select_unit(f->ch, 0);
	outb(f->ch, R_CMD, 0xa0);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
}

/* ------------------------------------------------------------ the tray */

static struct tray_rec {
	unsigned moves;
	bool open;
	unsigned unit;
} tray;

static void tray_moved(void *opaque, unsigned unit, bool open)
{
	struct tray_rec *t = opaque;

	t->moves++;
	t->open = open;
	t->unit = unit;
}

/* key/asc/ascq of REQUEST SENSE as one number, 0x023a02 */
static unsigned sense3(struct fixture *f)
{
	uint8_t pkt[12] = {0x03, 0, 0, 0, 18}, s[18];

	send_packet(f, pkt, 0xfffe, false);
	assert_int_equal(pio_in(f, s, sizeof(s), 0xfffe), 18);
	return (unsigned)(s[2] & 0x0f) << 16 | (unsigned)s[12] << 8 | s[13];
}

/* A command's outcome: 0 for success, else its sense as sense3. */
static unsigned outcome(struct fixture *f, const uint8_t *pkt)
{
	uint8_t st = packet_status(f, pkt);

	if (!(st & 0x01))
		return 0;
	return sense3(f);
}

/* GESN media event code << 8 | media status */
static unsigned gesn(struct fixture *f)
{
	uint8_t pkt[12] = {0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8}, b[8];

	send_packet(f, pkt, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 8);
	assert_int_equal(b[2], 0x04); /* media class */
	return (unsigned)b[4] << 8 | b[5];
}

static const uint8_t tur[12] = {0x00};
static const uint8_t prevent[12] = {0x1e, 0, 0, 0, 1};
static const uint8_t allow[12] = {0x1e, 0, 0, 0, 0};
static const uint8_t guest_eject[12] = {0x1b, 0, 0, 0, 0x02};
static const uint8_t guest_load[12] = {0x1b, 0, 0, 0, 0x03};

/* After the tray closed on a medium: NOT READY 3A/00 once, UNIT ATTENTION
 * 28/00 once, then ready. */
static void expect_new_medium(struct fixture *f)
{
	assert_int_equal(outcome(f, tur), 0x023a00);
	assert_int_equal(outcome(f, tur), 0x062800);
	assert_int_equal(outcome(f, tur), 0);
}

static struct ide_cdrom_state cd_state(struct fixture *f)
{
	struct ide_cdrom_state st;

	assert_int_equal(ide_cdrom_get_state(f->ch, 1, &st), 0);
	return st;
}

/* Every host transition of the tray and what the guest sees after it. */
static void test_tray_host(void **state)
{
	struct fixture *f = *state;
	uint8_t cap[12] = {0x25}, rd[12] = {0x28, 0, 0, 0, 0, 7, 0, 0, 1};
	uint8_t toc[12] = {0x43, 0, 0, 0, 0, 0, 0xaa, 0, 12}, b[2048];
	struct block_dev *old;

	tray = (struct tray_rec){0};
	ide_set_tray_notifier(f->ch, tray_moved, &tray);
	assert_int_equal(ide_cdrom_get_state(f->ch, 0, &(struct ide_cdrom_state){0}), -EINVAL);
	assert_int_equal(ide_cdrom_open_tray(f->ch, 0, false), -EINVAL);
	assert_int_equal(ide_cdrom_open_tray(f->ch, 2, false), -EINVAL);
	assert_int_equal(outcome(f, tur), 0);
	assert_int_equal(gesn(f), 0x0002);
	/* A closed tray keeps its medium. */
	assert_int_equal(ide_cdrom_swap_medium(f->ch, 1, f->cd2, &old), -EBUSY);
	assert_int_equal(ide_cdrom_close_tray(f->ch, 1), 0);
	assert_int_equal(tray.moves, 0);

	/* Open: the medium stays in the open tray; NOT READY 3A/02. */
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), 0);
	assert_int_equal(tray.moves, 1);
	assert_true(tray.open);
	assert_int_equal(tray.unit, 1);
	assert_true(cd_state(f).tray_open);
	assert_ptr_equal(cd_state(f).bd, f->cd);
	assert_int_equal(outcome(f, tur), 0x023a02);
	assert_int_equal(outcome(f, cap), 0x023a02);
	assert_int_equal(gesn(f), 0x0301); /* media removal, tray open */
	assert_int_equal(gesn(f), 0x0001);
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), 0);
	assert_int_equal(tray.moves, 1);

	/* Close on the same medium: new media, NOT READY, UNIT ATTENTION. */
	assert_int_equal(ide_cdrom_close_tray(f->ch, 1), 0);
	assert_int_equal(tray.moves, 2);
	assert_false(tray.open);
	assert_int_equal(gesn(f), 0x0202);
	assert_int_equal(gesn(f), 0x0002);
	expect_new_medium(f);

	/* Take it out: an empty drive, tray closed: 3A/01; open: 3A/02. */
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), 0);
	assert_int_equal(ide_cdrom_swap_medium(f->ch, 1, NULL, &old), 0);
	assert_ptr_equal(old, f->cd);
	assert_null(cd_state(f).bd);
	assert_int_equal(outcome(f, tur), 0x023a02);
	assert_int_equal(ide_cdrom_close_tray(f->ch, 1), 0);
	assert_int_equal(gesn(f), 0x0300);
	assert_int_equal(gesn(f), 0x0000);
	assert_int_equal(outcome(f, tur), 0x023a01);
	assert_int_equal(outcome(f, rd), 0x023a01);
	assert_int_equal(outcome(f, tur), 0x023a01);
	/* Opening an empty drive reports no removal. */
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), 0);
	assert_int_equal(gesn(f), 0x0001);

	/* A new disc: its capacity, its TOC, its data. */
	assert_int_equal(ide_cdrom_swap_medium(f->ch, 1, f->cd2, &old), 0);
	assert_null(old);
	assert_int_equal(outcome(f, tur), 0x023a02);
	assert_int_equal(ide_cdrom_close_tray(f->ch, 1), 0);
	assert_int_equal(gesn(f), 0x0202);
	expect_new_medium(f);
	send_packet(f, cap, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 8);
	assert_int_equal(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3], 99);
	send_packet(f, toc, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 12);
	assert_int_equal(b[8] << 24 | b[9] << 16 | b[10] << 8 | b[11], 100);
	send_packet(f, rd, 0xfffe, false);
	assert_int_equal(pio_in(f, b, sizeof(b), 0xfffe), 2048);
	check_cd_data(b, 7, 1, 77);
	/* change_medium = open, swap, close */
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd, false), 0);
	assert_int_equal(gesn(f), 0x0302);
	assert_int_equal(gesn(f), 0x0202);
	expect_new_medium(f);
	ide_set_tray_notifier(f->ch, NULL, NULL);
}

/* The guest's lock, the host's eject request and force, START STOP UNIT. */
static void test_tray_lock_and_guest(void **state)
{
	struct fixture *f = *state;
	uint8_t power[12] = {0x1b, 0, 0, 0, 0x22}; /* LoEj with a power condition */
	uint8_t stop[12] = {0x1b, 0, 0, 0, 0x00};

	tray = (struct tray_rec){0};
	ide_set_tray_notifier(f->ch, tray_moved, &tray);
	assert_int_equal(outcome(f, prevent), 0);
	assert_true(cd_state(f).locked);
	/* Locked: the host's open asks the guest and leaves the tray shut. */
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), -EBUSY);
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd2, false), -EBUSY);
	assert_int_equal(tray.moves, 0);
	assert_true(cd_state(f).eject_requested);
	assert_int_equal(outcome(f, tur), 0);
	assert_int_equal(gesn(f), 0x0102); /* eject request */
	assert_false(cd_state(f).eject_requested);
	assert_int_equal(gesn(f), 0x0002);
	/* The guest's own eject is refused too: 05/53/02. */
	assert_int_equal(outcome(f, guest_eject), 0x055302);
	assert_false(cd_state(f).tray_open);
	/* A power condition or a STOP without LoEj moves nothing. */
	assert_int_equal(outcome(f, power), 0);
	assert_int_equal(outcome(f, stop), 0);
	assert_false(cd_state(f).tray_open);
	/* force unlocks and opens. */
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, true), 0);
	assert_int_equal(tray.moves, 1);
	assert_false(cd_state(f).locked);
	assert_int_equal(gesn(f), 0x0301);
	assert_int_equal(ide_cdrom_close_tray(f->ch, 1), 0);
	expect_new_medium(f);

	/* The guest allows, ejects (the tray opens, DEVICE_TRAY_MOVED's
	 * source), and loads again: same disc, no attention. */
	assert_int_equal(outcome(f, prevent), 0);
	assert_int_equal(outcome(f, allow), 0);
	tray.moves = 0;
	assert_int_equal(outcome(f, guest_eject), 0);
	assert_int_equal(tray.moves, 1);
	assert_true(tray.open);
	assert_int_equal(outcome(f, tur), 0x023a02);
	/* Locking an open tray does not stop a second eject (it is open). */
	assert_int_equal(outcome(f, prevent), 0);
	assert_int_equal(outcome(f, guest_eject), 0);
	assert_int_equal(tray.moves, 1);
	assert_int_equal(outcome(f, guest_load), 0);
	assert_int_equal(tray.moves, 2);
	assert_false(tray.open);
	assert_int_equal(outcome(f, tur), 0);
	assert_int_equal(gesn(f), 0x0002);
	/* A disc swapped while the guest held the tray open is new when the
	 * guest closes it. */
	assert_int_equal(outcome(f, allow), 0);
	assert_int_equal(outcome(f, guest_eject), 0);
	assert_int_equal(ide_cdrom_swap_medium(f->ch, 1, f->cd2, NULL), 0);
	assert_int_equal(outcome(f, guest_load), 0);
	assert_int_equal(gesn(f), 0x0202);
	expect_new_medium(f);
	/* A machine reset unlocks (the next boot's firmware may eject). */
	assert_int_equal(outcome(f, prevent), 0);
	ide_channel_reset(f->ch);
	assert_false(cd_state(f).locked);
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd, false), 0);
	ide_set_tray_notifier(f->ch, NULL, NULL);
}

/* A medium leaving under a command: nothing of it reaches the guest after
 * the swap, whatever stage the command was at. */
static void test_tray_cuts_commands(void **state)
{
	struct fixture *f = *state;
	uint8_t rd[12] = {0x28, 0, 0, 0, 0, 10, 0, 0, 80}, b[2048];
	unsigned submitted;

	/* A PIO read whose buffer load is with the block layer. */
	hold_reads = true;
	send_packet(f, rd, 0xfffe, false);
	assert_int_equal(nr_held, 1);
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), 0);
	assert_int_equal(ide_cdrom_swap_medium(f->ch, 1, f->cd2, NULL), 0);
	hold_reads = false;
	assert_int_equal(nr_held, 0); /* the swap waited for it */
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	assert_int_equal(sense3(f), 0x023a02);
	assert_int_equal(ide_cdrom_close_tray(f->ch, 1), 0);
	expect_new_medium(f);

	/* A PIO data phase under way: cut, the rest is not sent. */
	send_packet(f, rd, 0xfffe, false);
	assert_int_equal(settle(f) & 0x08, 0x08);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(inw(f->ch), cd_byte(10, 2 * i, 77) | cd_byte(10, 2 * i + 1, 77)
									  << 8);
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), 0);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	assert_int_equal(inw(f->ch), 0);
	assert_int_equal(sense3(f), 0x023a02);

	/* A DMA read waiting for the engine: cut; starting the engine later
	 * moves nothing. */
	assert_int_equal(ide_cdrom_close_tray(f->ch, 1), 0);
	expect_new_medium(f);
	memset(f->ram + 0x70000, 0, 4096);
	put_prd(f, 0, 0x70000, 2048, true);
	bm_clear(f->ch);
	rd[8] = 1;
	send_packet(f, rd, 0xfffe, true);
	assert_int_equal(altstatus(f->ch) & 0x08, 0x08);
	submitted = reads_submitted;
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd, false), 0);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	bm_start(f->ch, PRD, true);
	ide_channel_drain(f->ch);
	assert_int_equal(reads_submitted, submitted);
	memset(b, 0, sizeof(b));
	assert_memory_equal(f->ram + 0x70000, b, 2048);
	bm_clear(f->ch);
	/* The cut command's own error, reported with the tray open. */
	assert_int_equal(sense3(f), 0x023a02);
}

static void guest_closes_tray(void *opaque)
{
	struct fixture *f = opaque;

	assert_int_equal(packet_status(f, guest_load), 0x50);
}

/* The guest closes the tray (a vCPU) while the host swaps the disc: the new
 * disc arrives in a closed drive, and the guest is told of it. */
static void test_tray_closed_during_swap(void **state)
{
	struct fixture *f = *state;
	struct block_dev *old;

	tray = (struct tray_rec){0};
	ide_set_tray_notifier(f->ch, tray_moved, &tray);
	assert_int_equal(ide_cdrom_open_tray(f->ch, 1, false), 0);
	assert_int_equal(gesn(f), 0x0301);
	drain_hook = guest_closes_tray;
	drain_hook_opaque = f;
	assert_int_equal(ide_cdrom_swap_medium(f->ch, 1, f->cd2, &old), 0);
	assert_null(drain_hook);
	assert_ptr_equal(old, f->cd);
	assert_false(cd_state(f).tray_open);
	assert_ptr_equal(cd_state(f).bd, f->cd2);
	assert_int_equal(tray.moves, 2);
	assert_int_equal(gesn(f), 0x0202);
	expect_new_medium(f);
	/* A swap into a closed tray is refused and keeps the disc. */
	assert_int_equal(ide_cdrom_swap_medium(f->ch, 1, f->cd, &old), -EBUSY);
	assert_ptr_equal(cd_state(f).bd, f->cd2);
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd, false), 0);
	ide_set_tray_notifier(f->ch, NULL, NULL);
}

/* A read held back by a pause is dropped when the medium goes. */
static void test_tray_while_paused(void **state)
{
	struct fixture *f = *state;
	uint8_t rd[12] = {0x28, 0, 0, 0, 0, 10, 0, 0, 1};
	unsigned submitted = reads_submitted;

	ide_channel_pause(f->ch);
	send_packet(f, rd, 0xfffe, false);
	assert_int_equal(altstatus(f->ch) & 0x80, 0x80);
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd2, false), 0);
	assert_int_equal(altstatus(f->ch), 0x41);
	ide_channel_resume(f->ch);
	ide_channel_drain(f->ch);
	assert_int_equal(reads_submitted, submitted);
	assert_int_equal(inb(f->ch, R_STATUS), 0x41);
	expect_new_medium(f);
	assert_int_equal(ide_cdrom_change_medium(f->ch, 1, f->cd, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_signatures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pio_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pio_read_chs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pio_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lba48_and_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nien, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dma_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_with_dma_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_piix_quiesce_and_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dma_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dma_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atapi_inquiry_capacity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atapi_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atapi_errors_and_sense, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atapi_toc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atapi_medium_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atapi_misc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tray_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tray_lock_and_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tray_cuts_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tray_while_paused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tray_closed_during_swap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
