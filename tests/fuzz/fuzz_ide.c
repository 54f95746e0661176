// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the input is a program run against one IDE channel: task-file
 * and data-port accesses of any size, device-control writes (SRST, nIEN,
 * HOB), bus-master register writes, PRD entries and raw bytes poked into a
 * small fake RAM, whole ATA commands and ATAPI packets, the host's tray
 * operations (open with or without force, close, swap the medium, change
 * it), resets, pauses and the completion of block requests.  The first byte picks
 * the layout (disk + CD, CD only, disk only, empty) and, in bit 2, whether
 * block requests complete after every operation or stay in flight until the
 * program completes one, waits for the channel, pauses or resets it.  The
 * disk is a 256 KiB raw file, the CDs 64 and 40 blocks; they live in /tmp
 * for the life of the process.  RAM: 64 KiB at 0 and a read-only page at
 * 0x20000.
 *
 * Block requests never reach the block layer's queues: the target is linked
 * with --wrap=block_aio_read,block_aio_write,block_aio_flush,block_drain and
 * holds every request, doing its I/O synchronously when the program (or a
 * block_drain, as the channel's pause does) completes it.
 *
 * Checked: no crash or sanitizer report; the read-only page never written;
 * the interrupt line only ever toggles (the recorder sees levels alternate);
 * reads of the registers stay within their width; every request's buffers
 * lie wholly in RAM or wholly outside it, never in the read-only page; at
 * most one request per unit; no request is submitted while the channel is
 * paused, none is left in flight when a pause or reset returns, and none
 * touches RAM after a reset that came after it (an epoch count); at the
 * end, with everything completed, no unit is BSY unless SRST is held, and
 * after a last reset every unit shows its power-on status.  The tray: no
 * request is ever submitted on a medium that is not in the drive, none of
 * the old medium is left when a swap returns, every tray movement reaches
 * the notifier once and the tray state always matches what it was told.

 * Built like fuzz_fw_cfg: with -fsanitize=fuzzer as a libFuzzer target
 * (-Dfuzz=true), and with -DFUZZ_STANDALONE as a runner for the normal test
 * suite that replays files given on the command line, built-in seeds and a
 * fixed number of mutations of them.
 *   fuzz_ide [FILE|DIR]...      fuzz_ide --write-seeds DIR
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/ide.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/loop.h"

#define MAX_HELD 4 /* one request per unit, and room to see a third */

#define RAM_SIZE 0x10000
#define ROM_BASE 0x20000
#define ROM_SIZE 0x1000

#define DISK_SIZE (256u * 1024)
#define CD_SIZE	  (64u * 2048)
#define CD2_SIZE  (40u * 2048)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No event loop is given to the channel; these only satisfy the linker. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return -ENOSYS;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_ide: %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static uint8_t ram[RAM_SIZE], rom[ROM_SIZE];
static struct guest_mem mem;
static struct block_dev *disk, *cd, *cd2;
static struct block_dev *cur_cd; /* the medium in the CD drive */
static bool tray_shadow;	 /* the tray as the notifier last said */
static unsigned long tray_moves;
static bool irq_level;
static unsigned long irq_edges, commands, packets, dma_starts;

static void irq_set(void *opaque, unsigned gsi, bool level)
{
	/* The channel reports changes only. */
	CHECK(level != irq_level);
	irq_level = level;
	irq_edges++;
}

/* ------------------------------------------------------------ held requests */

enum held_op { HELD_READ, HELD_WRITE, HELD_FLUSH };

struct held_req {
	struct block_dev *bd;
	enum held_op op;
	uint64_t offset;
	struct iovec *iov;
	int iovcnt;
	block_cb *cb;
	void *opaque;
	unsigned epoch;
};

static struct held_req held[MAX_HELD];
static unsigned nr_held;
static unsigned epoch;	     /* resets so far in this input */
static unsigned fuzz_paused; /* ide_channel_pause() calls not yet resumed */
static unsigned long completions;

int __wrap_block_aio_read(struct block_dev *bd, uint64_t offset, const struct iovec *iov,
			  int iovcnt, block_cb *cb, void *opaque);
int __wrap_block_aio_write(struct block_dev *bd, uint64_t offset, const struct iovec *iov,
			   int iovcnt, block_cb *cb, void *opaque);
int __wrap_block_aio_flush(struct block_dev *bd, block_cb *cb, void *opaque);
void __wrap_block_drain(struct block_dev *bd);
void __real_block_drain(struct block_dev *bd);

static bool overlaps(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
	return p < base + size && base < p + n;
}

static int hold(struct block_dev *bd, enum held_op op, uint64_t offset, const struct iovec *iov,
		int iovcnt, block_cb *cb, void *opaque)
{
	struct held_req *h;

	CHECK(!fuzz_paused);
	CHECK(nr_held < MAX_HELD - 1);
	CHECK(bd == disk || (bd && bd == cur_cd));
	CHECK(iovcnt >= 0 && iovcnt <= 1024);
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t n = iov[i].iov_len;

		/* Guest RAM wholly, or a buffer of the device's own. */
		if (overlaps(p, n, ram, sizeof(ram)))
			CHECK(p >= ram && n <= sizeof(ram) && p + n <= ram + sizeof(ram));
		CHECK(!overlaps(p, n, rom, sizeof(rom)));
	}
	h = &held[nr_held];
	*h = (struct held_req){.bd = bd,
			       .op = op,
			       .offset = offset,
			       .iovcnt = iovcnt,
			       .cb = cb,
			       .opaque = opaque,
			       .epoch = epoch};
	if (iovcnt) {
		h->iov = malloc((size_t)iovcnt * sizeof(*iov));
		CHECK(h->iov != NULL);
		memcpy(h->iov, iov, (size_t)iovcnt * sizeof(*iov));
	}
	nr_held++;
	return 0;
}

int __wrap_block_aio_read(struct block_dev *bd, uint64_t offset, const struct iovec *iov,
			  int iovcnt, block_cb *cb, void *opaque)
{
	return hold(bd, HELD_READ, offset, iov, iovcnt, cb, opaque);
}

int __wrap_block_aio_write(struct block_dev *bd, uint64_t offset, const struct iovec *iov,
			   int iovcnt, block_cb *cb, void *opaque)
{
	return hold(bd, HELD_WRITE, offset, iov, iovcnt, cb, opaque);
}

int __wrap_block_aio_flush(struct block_dev *bd, block_cb *cb, void *opaque)
{
	return hold(bd, HELD_FLUSH, 0, NULL, 0, cb, opaque);
}

static bool touches_ram(const struct held_req *h)
{
	for (int i = 0; i < h->iovcnt; i++)
		if (overlaps(h->iov[i].iov_base, h->iov[i].iov_len, ram, sizeof(ram)))
			return true;
	return false;
}

/* Does the I/O of held[k] now and runs its completion. */
static void complete_held(unsigned k)
{
	struct held_req h = held[k];
	size_t total = 0, pos = 0;
	int64_t ret = 0;
	uint8_t *tmp;

	memmove(&held[k], &held[k + 1], (nr_held - k - 1) * sizeof(held[0]));
	nr_held--;
	for (int i = 0; i < h.iovcnt; i++)
		total += h.iov[i].iov_len;
	tmp = malloc(total ? total : 1);
	CHECK(tmp != NULL);
	/* The rule under test: no request touches RAM after a reset that came
	 * after it. */
	if (touches_ram(&h))
		CHECK(h.epoch == epoch);
	switch (h.op) {
	case HELD_READ:
		ret = block_pread(h.bd, h.offset, tmp, total);
		for (int i = 0; !ret && i < h.iovcnt; i++) {
			memcpy(h.iov[i].iov_base, tmp + pos, h.iov[i].iov_len);
			pos += h.iov[i].iov_len;
		}
		break;
	case HELD_WRITE:
		for (int i = 0; i < h.iovcnt; i++) {
			memcpy(tmp + pos, h.iov[i].iov_base, h.iov[i].iov_len);
			pos += h.iov[i].iov_len;
		}
		ret = block_pwrite(h.bd, h.offset, tmp, total);
		break;
	default:
		ret = block_flush(h.bd);
		break;
	}
	free(tmp);
	free(h.iov);
	completions++;
	h.cb(h.opaque, ret < 0 ? ret : (int64_t)total);
}

/* Waiting for the device is what lets its held requests finish; one
 * completion may start another request, which is waited for as well. */
void __wrap_block_drain(struct block_dev *bd)
{
	for (unsigned k = 0; k < nr_held;) {
		if (held[k].bd == bd)
			complete_held(k);
		else
			k++;
	}
	__real_block_drain(bd);
}

static struct block_dev *make_image(const char *tmpl, uint64_t size, bool ro)
{
	struct block_create_opts co = {.format = "raw", .size = size};
	struct block_opts o = {.format = "raw", .read_only = ro, .workers = 1};
	struct block_dev *bd;
	char path[64], err[256];
	uint8_t *buf = malloc(size);
	int fd;

	snprintf(path, sizeof(path), "%s", tmpl);
	fd = mkstemp(path);
	CHECK(fd >= 0 && buf);
	close(fd);
	if (block_create(path, &co, err, sizeof(err)) ||
	    block_open(&bd, path, &o, err, sizeof(err))) {
		fprintf(stderr, "fuzz_ide: %s\n", err);
		abort();
	}
	if (!ro) {
		for (uint64_t i = 0; i < size; i++)
			buf[i] = (uint8_t)(i * 7 + (i >> 9));
		CHECK(block_pwrite(bd, 0, buf, size) == 0);
	} else {
		struct block_dev *w;

		block_close(bd);
		o.read_only = false;
		CHECK(block_open(&w, path, &o, err, sizeof(err)) == 0);
		for (uint64_t i = 0; i < size; i++)
			buf[i] = (uint8_t)(i * 3 + (i >> 11));
		CHECK(block_pwrite(w, 0, buf, size) == 0);
		block_close(w);
		o.read_only = true;
		CHECK(block_open(&bd, path, &o, err, sizeof(err)) == 0);
	}
	/* The name is gone; the open file stays until the process ends. */
	unlink(path);
	free(buf);
	return bd;
}

static void fuzz_init(void)
{
	if (mem.nr)
		return;
	CHECK(guest_mem_add(&mem, 0, RAM_SIZE, ram, false, "ram") == 0);
	CHECK(guest_mem_add(&mem, ROM_BASE, ROM_SIZE, rom, true, "rom") == 0);
	disk = make_image("/tmp/fuzz_ide_disk_XXXXXX", DISK_SIZE, false);
	cd = make_image("/tmp/fuzz_ide_cd_XXXXXX", CD_SIZE, true);
	cd2 = make_image("/tmp/fuzz_ide_cd2_XXXXXX", CD2_SIZE, true);
}

/* Addresses near RAM, at its edges, in the read-only page, or anywhere. */
static uint32_t in_addr(struct input *in)
{
	uint8_t kind = in_u8(in);
	uint16_t off = in_u16(in);

	switch (kind % 5) {
	case 0:
	case 1:
		return off % RAM_SIZE;
	case 2:
		return RAM_SIZE - off % 64;
	case 3:
		return ROM_BASE + off % ROM_SIZE;
	default:
		return in_u32(in);
	}
}

static const uint8_t ata_cmds[] = {0xec, 0xa1, 0x20, 0x21, 0x24, 0x29, 0x30, 0x34, 0x39, 0x40, 0x42,
				   0x70, 0x90, 0x91, 0xa0, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0x25, 0x35,
				   0xe5, 0xe7, 0xea, 0xef, 0xf8, 0x27, 0x08, 0xe0, 0x00, 0xff};
static const uint8_t atapi_ops[] = {0x00, 0x03, 0x12, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x43,
				    0x46, 0x4a, 0x51, 0x5a, 0xa8, 0xad, 0xbb, 0xbd, 0xbe};

static void op_ata_command(struct ide_channel *ch, struct input *in)
{
	uint8_t b = in_u8(in);

	ide_cmd_bus_ops.write(ch, 6, (b & 1) << 4 | 0xa0 | (b & 0x40), 1);
	for (unsigned r = 1; r <= 5; r++) {
		if (b & 0x80) /* LBA48: the high bytes first */
			ide_cmd_bus_ops.write(ch, r, in_u8(in), 1);
		ide_cmd_bus_ops.write(ch, r, in_u8(in), 1);
	}
	ide_cmd_bus_ops.write(ch, 7, ata_cmds[in_u8(in) % sizeof(ata_cmds)], 1);
	commands++;
}

static void op_packet(struct ide_channel *ch, struct input *in)
{
	uint8_t b = in_u8(in), pkt[12];

	ide_cmd_bus_ops.write(ch, 6, (b & 1) << 4 | 0xa0, 1);
	ide_cmd_bus_ops.write(ch, 1, (b >> 1) & 3, 1);
	ide_cmd_bus_ops.write(ch, 4, in_u8(in), 1);
	ide_cmd_bus_ops.write(ch, 5, in_u8(in), 1);
	ide_cmd_bus_ops.write(ch, 7, 0xa0, 1);
	for (unsigned i = 0; i < 12; i++)
		pkt[i] = in_u8(in);
	if (!(b & 0x80))
		pkt[0] = atapi_ops[pkt[0] % sizeof(atapi_ops)];
	for (unsigned i = 0; i < 12; i += 2)
		ide_cmd_bus_ops.write(ch, 0, (uint16_t)(pkt[i] | pkt[i + 1] << 8), 2);
	packets++;
}

static void op_data(struct ide_channel *ch, struct input *in, bool write)
{
	uint8_t b = in_u8(in);
	unsigned size = b & 1 ? 4 : 2, n = (unsigned)in_u8(in) * 8;

	for (unsigned i = 0; i < n; i++) {
		if (write)
			ide_cmd_bus_ops.write(ch, 0, (b & 2) ? in_u32(in) : i * 0x9e3779b9u, size);
		else
			CHECK(ide_cmd_bus_ops.read(ch, 0, size) <=
			      (size == 2 ? 0xffffu : 0xffffffffu));
	}
}

static void op_prd(struct input *in)
{
	unsigned idx = in_u8(in) % 8;
	uint32_t table = in_u8(in) & 1 ? 0x100 : RAM_SIZE - 16, addr = in_addr(in);
	uint16_t len = in_u16(in), flags = in_u8(in) & 1 ? 0x8000 : 0;
	uint8_t e[8] = {(uint8_t)addr,
			(uint8_t)(addr >> 8),
			(uint8_t)(addr >> 16),
			(uint8_t)(addr >> 24),
			(uint8_t)len,
			(uint8_t)(len >> 8),
			0,
			(uint8_t)(flags >> 8)};

	guest_mem_write(&mem, table + 8u * idx, e, sizeof(e));
}

static void op_bm(struct ide_channel *ch, struct input *in)
{
	static const unsigned sizes[] = {1, 2, 4, 1};
	uint8_t b = in_u8(in);
	unsigned size = sizes[b & 3], off = (b >> 2) & 7;

	switch ((b >> 5) % 4) {
	case 0: /* PRD address, then start */
		ide_bmdma_bus_ops.write(ch, 4, in_u8(in) & 1 ? 0x100 : in_addr(in), 4);
		ide_bmdma_bus_ops.write(ch, 0, 0x01 | (in_u8(in) & 0x08), 1);
		dma_starts++;
		break;
	case 1:
		ide_bmdma_bus_ops.write(ch, off, in_u32(in), size);
		break;
	case 2:
		ide_bmdma_bus_ops.read(ch, off, size);
		break;
	default: /* stop and clear */
		ide_bmdma_bus_ops.write(ch, 0, 0, 1);
		ide_bmdma_bus_ops.write(ch, 2, 0x06, 1);
		break;
	}
}

static void op_poke(struct input *in)
{
	uint16_t off = in_u16(in) % RAM_SIZE;
	unsigned n = in_u8(in);

	for (unsigned i = 0; i < n && off + i < RAM_SIZE; i++)
		ram[off + i] = in_u8(in);
}

static uint8_t ctl_shadow; /* the last device control value written */

static void channel_reset(struct ide_channel *ch)
{
	ide_channel_reset(ch);
	CHECK(nr_held == 0);
	epoch++;
	ctl_shadow = 0;
}

static void tray_moved(void *opaque, unsigned unit, bool open)
{
	CHECK(open != tray_shadow);
	CHECK(unit == *(unsigned *)opaque);
	tray_shadow = open;
	tray_moves++;
}

static void change_medium(struct ide_channel *ch, unsigned cd_unit, struct block_dev *bd,
			  bool force)
{
	if (ide_cdrom_change_medium(ch, cd_unit, bd, force) == 0)
		cur_cd = bd;
}

static void swap_medium(struct ide_channel *ch, unsigned cd_unit, struct block_dev *bd)
{
	struct block_dev *old = NULL;

	if (ide_cdrom_swap_medium(ch, cd_unit, bd, &old) == 0) {
		CHECK(old == cur_cd);
		cur_cd = bd;
		for (unsigned k = 0; old && old != bd && k < nr_held; k++)
			CHECK(held[k].bd != old);
	}
}

static void op_host(struct ide_channel *ch, struct input *in, unsigned cd_unit)
{
	static struct block_dev *const *const media[] = {NULL, &cd, &cd2, &cd};
	uint8_t b = in_u8(in);

	switch (b % 12) {
	case 0:
		channel_reset(ch);
		break;
	case 1:
		change_medium(ch, cd_unit, NULL, b & 0x80);
		break;
	case 2:
		change_medium(ch, cd_unit, cd2, b & 0x80);
		break;
	case 3:
		change_medium(ch, cd_unit, cd, b & 0x80);
		break;
	case 8:
		ide_cdrom_open_tray(ch, cd_unit, b & 0x80);
		break;
	case 9:
		ide_cdrom_close_tray(ch, cd_unit);
		break;
	case 10: {
		struct block_dev *const *m = media[(b >> 4) & 3];

		swap_medium(ch, cd_unit, m ? *m : NULL);
		break;
	}
	case 11:
		break; /* the state check after every operation does it */
	case 4:
		ide_channel_drain(ch);
		CHECK(nr_held == 0);
		break;
	case 5: /* one request finishes, whichever the program picks */
		if (nr_held)
			complete_held(in_u8(in) % nr_held);
		break;
	case 6:
		if (fuzz_paused < 3) {
			ide_channel_pause(ch);
			fuzz_paused++;
			CHECK(nr_held == 0);
		}
		break;
	default:
		if (fuzz_paused) {
			fuzz_paused--;
			ide_channel_resume(ch);
		}
		break;
	}
}

/* The tray as IDE reports it is what the notifier said, with cur_cd in it. */
static void check_tray(struct ide_channel *ch, unsigned cd_unit, bool has_cd)
{
	struct ide_cdrom_state st;

	if (!has_cd) {
		CHECK(ide_cdrom_get_state(ch, cd_unit, &st) == -EINVAL);
		return;
	}
	CHECK(ide_cdrom_get_state(ch, cd_unit, &st) == 0);
	CHECK(st.tray_open == tray_shadow);
	CHECK(st.bd == cur_cd);
}

/* With everything completed: nothing BSY but under SRST; after a reset,
 * every unit as at power-on and the engine stopped. */
static void check_end_state(struct ide_channel *ch, unsigned layout)
{
	/* Status at power-on by layout and unit: disk 50h, ATAPI and absent 0. */
	static const uint8_t power_on[4][2] = {{0x50, 0}, {0, 0}, {0x50, 0}, {0, 0}};

	while (fuzz_paused) {
		fuzz_paused--;
		ide_channel_resume(ch);
	}
	ide_channel_drain(ch);
	CHECK(nr_held == 0);
	for (unsigned unit = 0; unit < 2; unit++) {
		ide_cmd_bus_ops.write(ch, 6, 0xa0 | unit << 4, 1);
		if (!(ctl_shadow & 0x04))
			CHECK(!(ide_ctl_bus_ops.read(ch, 0, 1) & 0x80));
	}
	channel_reset(ch);
	CHECK(!irq_level);
	CHECK(!(ide_bmdma_bus_ops.read(ch, 2, 1) & 0x07));
	for (unsigned unit = 0; unit < 2; unit++) {
		ide_cmd_bus_ops.write(ch, 6, 0xa0 | unit << 4, 1);
		CHECK(ide_ctl_bus_ops.read(ch, 0, 1) == power_on[layout][unit]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {.p = data, .len = size};
	struct irq_line line = {.set_level = irq_set, .gsi = 14};
	struct ide_channel *ch;
	unsigned layout, cd_unit = 1;
	bool in_flight;
	uint8_t first;

	fuzz_init();
	memset(ram, 0, sizeof(ram));
	memset(rom, 0x5a, sizeof(rom));
	irq_level = false;
	nr_held = 0;
	epoch = 0;
	fuzz_paused = 0;
	ctl_shadow = 0;
	ch = ide_channel_create(&line, &mem, NULL);
	CHECK(ch != NULL);
	ide_set_tray_notifier(ch, tray_moved, &cd_unit);
	tray_shadow = false;
	first = in_u8(&in);
	layout = first % 4;
	cur_cd = layout < 2 ? cd : NULL;
	in_flight = first & 4;
	switch (layout) {
	case 0:
		CHECK(ide_attach_disk(ch, 0, disk) == 0);
		CHECK(ide_attach_cdrom(ch, 1, cd) == 0);
		break;
	case 1:
		CHECK(ide_attach_cdrom(ch, 0, cd) == 0);
		cd_unit = 0;
		break;
	case 2:
		CHECK(ide_attach_disk(ch, 0, disk) == 0);
		break;
	default:
		break;
	}

	while (in.pos < in.len) {
		uint8_t op = in_u8(&in);

		switch (op % 12) {
		case 0:
			ide_cmd_bus_ops.write(ch, 1 + op / 12 % 7, in_u8(&in), 1);
			break;
		case 1: {
			unsigned reg = op / 12 % 8, w = (op >> 7) ? 2 : 1;

			CHECK(ide_cmd_bus_ops.read(ch, reg, w) <= (w == 1 ? 0xffu : 0xffffu));
			CHECK(ide_ctl_bus_ops.read(ch, 0, 1) <= 0xff);
			break;
		}
		case 2:
			op_data(ch, &in, false);
			break;
		case 3:
			op_data(ch, &in, true);
			break;
		case 4:
			ctl_shadow = in_u8(&in);
			ide_ctl_bus_ops.write(ch, 0, ctl_shadow, 1);
			break;
		case 5:
		case 6:
			op_bm(ch, &in);
			break;
		case 7:
			op_prd(&in);
			break;
		case 8:
			op_ata_command(ch, &in);
			break;
		case 9:
			op_packet(ch, &in);
			break;
		case 10:
			op_poke(&in);
			break;
		default:
			op_host(ch, &in, cd_unit);
			break;
		}
		if (!in_flight)
			ide_channel_drain(ch);
		check_tray(ch, cd_unit, layout < 2);
	}
	check_end_state(ch, layout);
	ide_channel_destroy(ch);
	CHECK(nr_held == 0);
	for (size_t i = 0; i < sizeof(rom); i++)
		CHECK(rom[i] == 0x5a);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <assert.h>

#include "tests/fuzz/standalone.h"

#define NR_SEEDS 8
#define SEED_MAX 512

static_assert(SEED_MAX <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

static void seed_put(struct fuzz_seed *s, const uint8_t *p, size_t n)
{
	if (s->len + n > SEED_MAX)
		abort();
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

#define SEED(s, ...)                                                                               \
	do {                                                                                       \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		seed_put(s, b_, sizeof(b_));                                                       \
	} while (0)

/* op 8: ATA command; op 9: packet; op 7: PRD; op 5: bm; op 2/3: data. */
static void seed_build(unsigned which, struct fuzz_seed *s)
{
	memset(s, 0, sizeof(*s));
	switch (which) {
	case 0: /* disk: IDENTIFY, READ SECTORS of 2, data reads, READ MULTIPLE */
		SEED(s, 0, 8, 0x40, 2, 5, 0, 0, 0, 0,		       /* IDENTIFY */
		     2, 0, 40, 8, 0x40, 2, 9, 0, 0, 0, 2,	       /* READ SECTORS */
		     2, 0, 128, 2, 1, 128, 8, 0x40, 4, 0, 0, 0, 0, 17, /* SET MULTIPLE */
		     8, 0x40, 9, 1, 0, 0, 0, 15, 2, 1, 255);
		break;
	case 1: /* disk: WRITE SECTORS with data, then a DMA read with PRDs */
		SEED(s, 0, 8, 0x40, 1, 3, 0, 0, 0, 6, 3, 2, 64, 7, 1, 0, 0, 0x00, 0x20, 0x00, 0x04,
		     1, 8, 0x40, 2, 1, 0, 0, 0, 18, 5, 0x00, 1, 0x08);
		break;
	case 2: /* CD: INQUIRY, READ CAPACITY, READ(10) by PIO */
		SEED(s, 0, 9, 1, 0xfe, 0xff, 2, 0, 0, 0, 36, 0, 0, 0, 0, 0, 2, 0, 16, 9, 1, 0xfe,
		     0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 8, 9, 1, 0x01, 0x08, 6, 0, 0,
		     0, 3, 0, 0, 2, 0, 0, 0, 2, 0, 255);
		break;
	case 3: /* CD: medium change, TUR twice, REQUEST SENSE, GESN */
		SEED(s, 0, 11, 2, 9, 1, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0xfe,
		     0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0xfe, 0xff, 1, 0, 0, 0, 18, 0,
		     0, 0, 0, 0, 0, 0, 2, 0, 9, 9, 1, 0xfe, 0xff, 10, 1, 0, 0, 0x10, 0, 0, 8, 0, 0,
		     0, 0, 2, 0, 4);
		break;
	case 5: /* disk, in flight: DMA read reset while held, pause, PIO under SRST */
		SEED(s, 0x04, 7, 0, 1, 0, 0x00, 0x10, 0x00, 0x08, 1, 8, 0x40, 0, 4, 0, 0, 0, 18, 5,
		     0x00, 1, 0x08, 85, 11, 0, 7, 0, 1, 0, 0x00, 0x20, 0x00, 0x08, 1, 8, 0x40, 0, 4,
		     0, 0, 0, 18, 5, 0x00, 1, 0x08, 11, 5, 0, 11, 6, 8, 0x40, 0, 1, 0, 0, 0, 2, 85,
		     11, 7, 4, 0x04, 11, 5, 0, 4, 0x00, 8, 0x40, 0, 1, 0, 0, 0, 2, 11, 4, 2, 0, 32);
		break;
	case 6: /* CD, in flight: PIO READ(10) under SRST, DMA across a medium change
		 * and a reset */
		SEED(s, 0x05, 9, 0x00, 0xfe, 0xff, 6, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 85, 4, 0x04,
		     11, 5, 0, 4, 0x00, 85, 7, 0, 1, 0, 0x00, 0x30, 0x00, 0x08, 1, 9, 0x02, 0, 0, 6,
		     0, 0, 0, 0, 5, 0, 0, 1, 0, 0, 0, 5, 0, 1, 0x08, 11, 2, 9, 0x02, 0, 0, 6, 0, 0,
		     0, 0, 5, 0, 0, 1, 0, 0, 0, 5, 0, 1, 0x08, 11, 0, 2, 0, 8);
		break;
	case 7: /* CD, in flight: PREVENT, a refused open, GESN, forced open under a
		 * held READ(10), swap to the second disc, close, TUR twice, READ
		 * CAPACITY, the guest's eject and load */
		SEED(s, 0x04, 9, 1, 0xfe, 0xff, 0x1e, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 11, 8, 9, 1,
		     0xfe, 0xff, 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0, 2, 0, 8, 9, 1, 0xfe,
		     0xff, 0x28, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 11, 0x80, 11, 34, 11, 9, 11, 11,
		     9, 1, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0xfe, 0xff, 0, 0,
		     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0xfe, 0xff, 0x25, 0, 0, 0, 0, 0, 0, 0, 0,
		     0, 0, 0, 2, 0, 8, 9, 1, 0xfe, 0xff, 0x1b, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 11,
		     22, 9, 1, 0xfe, 0xff, 0x1b, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 11, 4);
		break;
	default: /* CD: READ(10) by DMA with a PRD into the read-only page */
		SEED(s, 0, 7, 1, 3, 0x00, 0x00, 0x02, 0x00, 0x00, 0x08, 1, 9, 3, 0xfe, 0xff, 6, 0,
		     0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 5, 0, 1, 0x08, 4, 0x06, 4, 0x02);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint8_t interesting[] = {0, 1, 0x7f, 0x80, 0xfe, 0xff, 0x08, 0x04, 0x02};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		unsigned edits = 1 + fuzz_rng() % 6;

		seed_build(it % NR_SEEDS, &s);
		/* Every other run keeps requests in flight (or stops doing so). */
		if ((it / NR_SEEDS) & 1)
			s.b[0] ^= 4;
		for (unsigned k = 0; k < edits && s.len; k++) {
			size_t off = fuzz_rng() % s.len;

			switch (fuzz_rng() % 4) {
			case 0:
				s.b[off] = interesting[fuzz_rng() % sizeof(interesting)];
				break;
			case 1:
				while (s.len < SEED_MAX && fuzz_rng() % 24)
					s.b[s.len++] = (uint8_t)fuzz_rng();
				break;
			case 2:
				s.len = off;
				break;
			default:
				s.b[off] ^= (uint8_t)(1 + fuzz_rng() % 255);
				break;
			}
		}
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
    .name = "fuzz_ide",
    .seed_prefix = "seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(20000);
	printf("fuzz_ide: %lu inputs, %lu ATA commands, %lu packets, %lu DMA starts, "
	       "%lu block requests, %lu interrupt edges, %lu tray moves, no crash\n",
	       fuzz_runs(), commands, packets, dma_starts, completions, irq_edges, tray_moves);
	return 0;
}
#endif
