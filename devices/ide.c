// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * IDE channel: the task-file registers of two units, their status and the
 * channel's interrupt, the PIO data port, the block requests that fill and
 * drain the unit buffers, pause/resume, and the life cycle (attach, medium
 * change, reset).  The ATA commands live in ide_ata.c, the bus-master engine
 * in ide_dma.c, the ATAPI packet commands in atapi.c (see ide_int.h for how
 * a command travels through them).
 *
 * Facts from ATA/ATAPI-6 (T13 1410D), the Intel PIIX3 data sheet (bus-master
 * registers and PRD format) and QEMU's hw/ide (what SeaBIOS, Linux and
 * Windows have been seen to rely on: register values of absent units, the
 * handling of short and long PRD tables).
 *
 * Every data transfer goes through the unit's buffer (PIO) or straight
 * between the image and guest memory (DMA).  The buffer is never touched by
 * the guest while a block request fills or drains it: the unit shows BSY and
 * commands and data-port accesses are ignored until the completion arrives.
 */
#include "devices/ide.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "devices/atapi.h"
#include "devices/ide_int.h"
#include "vmm/loop.h"

#define DEFAULT_DMA 0x45 /* UDMA mode 5 selected, as QEMU reports at power-on */

static_assert(IDE_BUF_SIZE % CD_SECTOR == 0, "buffer holds whole CD blocks");
static_assert(BUF_SECTORS % MAX_MULT == 0, "DRQ blocks never straddle the buffer end");

static unsigned ide_serial_next = 1;

/* ------------------------------------------------------------ interrupts */

static void irq_update(struct ide_channel *ch)
{
	bool level = ch->irq_pending && !(ch->ctl & CTL_NIEN);

	if (level != ch->irq_level) {
		ch->irq_level = level;
		irq_line_set(&ch->irq, level);
	}
}

/* The bus-master interrupt bit follows INTRQ whatever the transfer mode,
 * as on the PIIX: Windows' pciidex looks at it to claim the interrupt. */
void ide_irq_raise(struct ide_channel *ch)
{
	ch->irq_pending = true;
	if (!(ch->ctl & CTL_NIEN))
		ch->bm_status |= BM_ST_INT;
	irq_update(ch);
}

static void irq_lower(struct ide_channel *ch)
{
	ch->irq_pending = false;
	irq_update(ch);
}

/* ------------------------------------------------------------ registers */

static bool channel_empty(const struct ide_channel *ch)
{
	return ch->unit[0].kind == IDE_NONE && ch->unit[1].kind == IDE_NONE;
}

void ide_unit_set_signature(struct ide_unit *u)
{
	u->select &= ~0x0f;
	u->nsector = 1;
	u->sector = 1;
	u->hob_nsector = u->hob_sector = u->hob_lcyl = u->hob_hcyl = 0;
	switch (u->kind) {
	case IDE_CDROM:
		u->lcyl = 0x14;
		u->hcyl = 0xeb;
		break;
	case IDE_DISK:
		u->lcyl = 0;
		u->hcyl = 0;
		break;
	default:
		u->lcyl = 0xff;
		u->hcyl = 0xff;
		break;
	}
}

/* After reset or diagnostics: ATAPI devices leave DRDY clear (ATAPI-6 9.10). */
uint8_t ide_unit_diag_status(const struct ide_unit *u)
{
	return u->kind == IDE_DISK ? ST_DRDY | ST_DSC : 0;
}

void ide_unit_stop_transfer(struct ide_unit *u)
{
	u->end_fn = END_NONE;
	u->pos = u->end = 0;
	u->to_host = true;
}

void ide_unit_reset(struct ide_unit *u, bool hard)
{
	u->gen++;
	ide_unit_stop_transfer(u);
	u->feature = u->hob_feature = 0;
	u->select = 0xa0 | (u->idx ? SEL_DEV : 0);
	ide_unit_set_signature(u);
	u->error = 0x01;
	u->mult = MAX_MULT;
	u->cur_cyls = u->cyls;
	u->cur_heads = u->heads;
	u->cur_secs = u->secs;
	if (hard) {
		u->wcache = true;
		u->pio_mode = 0x0c;
		u->dma_mode = DEFAULT_DMA;
		u->locked = false;
	}
	if (u->kind == IDE_CDROM)
		atapi_reset(u);
	/* So is a request that waits for the channel to resume. */
	u->deferred = false;
	/* A DMA command of this unit that still waits for the engine is gone. */
	if (u->ch->dma.pending && u->ch->dma.unit == u->idx)
		u->ch->dma.pending = false;
	if (u->inflight) {
		u->reset_pending = true;
		u->status = ST_BSY;
	} else {
		u->status = ide_unit_diag_status(u);
	}
}

/* A reset that hit a unit with a request in flight ends when it completes. */
void ide_unit_finish_reset(struct ide_unit *u)
{
	u->reset_pending = false;
	u->status = (u->ch->ctl & CTL_SRST) ? ST_BSY : ide_unit_diag_status(u);
}

static uint8_t reg_read(struct ide_channel *ch, unsigned reg)
{
	struct ide_unit *u = &ch->unit[ch->cur];
	bool hob = ch->ctl & CTL_HOB;

	if (channel_empty(ch)) {
		if (reg == 7)
			irq_lower(ch);
		return 0;
	}
	switch (reg) {
	case 1:
		if (u->kind == IDE_NONE)
			return 0;
		return hob ? u->hob_feature : u->error;
	case 2:
		return hob ? u->hob_nsector : u->nsector;
	case 3:
		return hob ? u->hob_sector : u->sector;
	case 4:
		return hob ? u->hob_lcyl : u->lcyl;
	case 5:
		return hob ? u->hob_hcyl : u->hcyl;
	case 6:
		return u->select;
	default:
		irq_lower(ch);
		return u->kind == IDE_NONE ? 0 : u->status;
	}
}

static void reg_write(struct ide_channel *ch, unsigned reg, uint8_t v)
{
	/* Both devices latch task-file writes; the previous value becomes the
	 * "high order byte" of the LBA48 register pair. */
	for (unsigned i = 0; i < 2; i++) {
		struct ide_unit *u = &ch->unit[i];

		switch (reg) {
		case 1:
			u->hob_feature = u->feature;
			u->feature = v;
			break;
		case 2:
			u->hob_nsector = u->nsector;
			u->nsector = v;
			break;
		case 3:
			u->hob_sector = u->sector;
			u->sector = v;
			break;
		case 4:
			u->hob_lcyl = u->lcyl;
			u->lcyl = v;
			break;
		case 5:
			u->hob_hcyl = u->hcyl;
			u->hcyl = v;
			break;
		case 6:
			u->select = (uint8_t)((v & ~SEL_DEV) | (i ? SEL_DEV : 0));
			break;
		default:
			break;
		}
	}
	ch->ctl &= ~CTL_HOB;
	if (reg == 6)
		ch->cur = (v & SEL_DEV) ? 1 : 0;
	if (reg == 7) {
		irq_lower(ch);
		ide_ata_exec(ch, v);
	}
}

/* ------------------------------------------------------------ PIO */

void ide_pio_start(struct ide_unit *u, uint32_t start, uint32_t len, bool to_host,
		   enum ide_end end_fn)
{
	/* Host invariant: every caller sizes windows from the buffer. */
	if (len == 0 || start > IDE_BUF_SIZE || len > IDE_BUF_SIZE - start || end_fn == END_NONE)
		abort();
	u->pos = start;
	u->end = start + len;
	u->to_host = to_host;
	u->end_fn = end_fn;
	u->status = ST_DRDY | ST_DSC | ST_DRQ;
}

static void window_done(struct ide_unit *u)
{
	enum ide_end fn = u->end_fn;

	u->end_fn = END_NONE;
	u->status &= ~ST_DRQ;
	switch (fn) {
	case END_DISK_READ:
		ata_pio_read_next(u);
		break;
	case END_DISK_WRITE:
		ata_pio_write_block(u);
		break;
	case END_PACKET:
		atapi_packet_received(u);
		break;
	case END_ATAPI_DATA:
		atapi_window_done(u);
		break;
	default:
		u->status = ST_DRDY | ST_DSC;
		break;
	}
}

static bool pio_ready(const struct ide_unit *u, bool to_host)
{
	return u->kind != IDE_NONE && u->end_fn != END_NONE && (u->status & ST_DRQ) &&
	       !(u->status & ST_BSY) && u->to_host == to_host && u->pos < u->end;
}

/* A last access that reaches past the window (odd ATAPI byte counts) moves
 * only what is left: reads are padded with zeros, extra written bytes dropped. */
static uint32_t data_read(struct ide_channel *ch, unsigned size)
{
	struct ide_unit *u = &ch->unit[ch->cur];
	uint32_t v = 0, n;

	if (!pio_ready(u, true))
		return 0;
	n = u->end - u->pos < size ? u->end - u->pos : size;
	for (uint32_t i = 0; i < n; i++)
		v |= (uint32_t)u->buf[u->pos + i] << (8 * i);
	u->pos += n;
	if (u->pos >= u->end)
		window_done(u);
	return v;
}

static void data_write(struct ide_channel *ch, uint32_t v, unsigned size)
{
	struct ide_unit *u = &ch->unit[ch->cur];
	uint32_t n;

	if (!pio_ready(u, false))
		return;
	n = u->end - u->pos < size ? u->end - u->pos : size;
	for (uint32_t i = 0; i < n; i++)
		u->buf[u->pos + i] = (uint8_t)(v >> (8 * i));
	u->pos += n;
	if (u->pos >= u->end)
		window_done(u);
}

/* ------------------------------------------------------------ block I/O */

static void unit_io_dispatch(struct ide_unit *u, int64_t ret)
{
	if (u->kind == IDE_CDROM)
		atapi_read_done(u, ret);
	else
		ata_io_done(u, ret);
}

static void unit_io_cb(void *opaque, int64_t ret)
{
	struct ide_unit *u = opaque;
	struct ide_channel *ch = u->ch;

	pthread_mutex_lock(&ch->lock);
	u->inflight = false;
	if (u->inflight_gen != u->gen) {
		if (u->reset_pending)
			ide_unit_finish_reset(u);
	} else {
		unit_io_dispatch(u, ret);
	}
	pthread_mutex_unlock(&ch->lock);
}

/* Starts a request on the unit's buffer; a refusal completes it at once. */
void ide_unit_submit(struct ide_unit *u, enum ide_io_kind kind, uint64_t offset, uint32_t len)
{
	struct iovec iov = {.iov_base = u->buf, .iov_len = len};
	int ret;

	u->status = ST_DRDY | ST_BSY;
	if (u->ch->paused) {
		u->deferred = true;
		u->deferred_kind = kind;
		u->deferred_offset = offset;
		u->deferred_len = len;
		return;
	}
	if (!u->bd) {
		unit_io_dispatch(u, -ENOMEDIUM);
		return;
	}
	u->inflight = true;
	u->inflight_gen = u->gen;
	switch (kind) {
	case IO_READ:
		ret = block_aio_read(u->bd, offset, &iov, 1, unit_io_cb, u);
		break;
	case IO_WRITE:
		ret = block_aio_write(u->bd, offset, &iov, 1, unit_io_cb, u);
		break;
	default:
		ret = block_aio_flush(u->bd, unit_io_cb, u);
		break;
	}
	if (ret < 0) {
		u->inflight = false;
		unit_io_dispatch(u, ret);
	}
}

int ide_submit_read(struct ide_unit *u, uint64_t offset, uint32_t len)
{
	ide_unit_submit(u, IO_READ, offset, len);
	return 0;
}

/* ------------------------------------------------------------ bus ops */

static uint64_t ide_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ide_channel *ch = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&ch->lock);
	if (offset == 0) {
		if (size == 2 || size == 4)
			v = data_read(ch, size);
		else
			v = size == 1 ? 0xff : 0;
	} else {
		for (unsigned i = 0; i < size && offset + i < IDE_CMD_SIZE; i++)
			v |= (uint64_t)reg_read(ch, (unsigned)offset + i) << (8 * i);
	}
	pthread_mutex_unlock(&ch->lock);
	return v;
}

static void ide_cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ide_channel *ch = opaque;

	pthread_mutex_lock(&ch->lock);
	if (offset == 0) {
		if (size == 2 || size == 4)
			data_write(ch, (uint32_t)value, size);
	} else {
		for (unsigned i = 0; i < size && offset + i < IDE_CMD_SIZE; i++)
			reg_write(ch, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
	}
	pthread_mutex_unlock(&ch->lock);
}

static uint64_t ide_ctl_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ide_channel *ch = opaque;
	const struct ide_unit *u;
	uint64_t v;

	if (offset != 0)
		return 0;
	pthread_mutex_lock(&ch->lock);
	u = &ch->unit[ch->cur];
	v = channel_empty(ch) || u->kind == IDE_NONE ? 0 : u->status;
	pthread_mutex_unlock(&ch->lock);
	return v;
}

static void ide_ctl_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ide_channel *ch = opaque;
	uint8_t v = (uint8_t)value;

	if (offset != 0)
		return;
	pthread_mutex_lock(&ch->lock);
	if (!(ch->ctl & CTL_SRST) && (v & CTL_SRST)) {
		/* Devices hold BSY while SRST is asserted. */
		ide_dma_cancel(ch);
		ch->irq_pending = false;
		ch->cur = 0;
		for (unsigned i = 0; i < 2; i++) {
			struct ide_unit *u = &ch->unit[i];

			ide_unit_reset(u, false);
			if (u->kind != IDE_NONE)
				u->status = ST_BSY;
		}
	} else if ((ch->ctl & CTL_SRST) && !(v & CTL_SRST)) {
		for (unsigned i = 0; i < 2; i++) {
			struct ide_unit *u = &ch->unit[i];

			if (!u->reset_pending)
				u->status = ide_unit_diag_status(u);
		}
	}
	ch->ctl = v;
	irq_update(ch);
	pthread_mutex_unlock(&ch->lock);
}

const struct bus_ops ide_cmd_bus_ops = {.read = ide_cmd_read, .write = ide_cmd_write};
const struct bus_ops ide_ctl_bus_ops = {.read = ide_ctl_read, .write = ide_ctl_write};

/* ------------------------------------------------------------ life cycle */

static void block_ready(void *opaque, uint32_t events)
{
	block_complete(opaque);
}

static int register_medium(struct ide_channel *ch, struct block_dev *bd)
{
	if (!ch->loop || !bd)
		return 0;
	/* block_open() made the completion fd. */
	if (block_completion_fd(bd) < 0)
		return -EIO;
	return event_loop_add_fd(ch->loop, block_completion_fd(bd), EPOLLIN, block_ready, bd);
}

static void unregister_medium(struct ide_channel *ch, struct block_dev *bd, bool registered)
{
	if (registered && ch->loop)
		event_loop_del_fd(ch->loop, block_completion_fd(bd));
}

struct ide_channel *ide_channel_create(const struct irq_line *irq, const struct guest_mem *mem,
				       struct event_loop *loop)
{
	struct ide_channel *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	pthread_mutex_init(&ch->lock, NULL);
	if (irq)
		ch->irq = *irq;
	ch->mem = mem;
	ch->loop = loop;
	for (unsigned i = 0; i < 2; i++) {
		struct ide_unit *u = &ch->unit[i];

		u->ch = ch;
		u->idx = i;
		u->kind = IDE_NONE;
		u->buf = calloc(1, IDE_BUF_SIZE);
		if (!u->buf) {
			free(ch->unit[0].buf);
			free(ch);
			return NULL;
		}
	}
	ide_channel_reset(ch);
	return ch;
}

void ide_channel_destroy(struct ide_channel *ch)
{
	if (!ch)
		return;
	for (unsigned i = 0; i < 2; i++) {
		struct ide_unit *u = &ch->unit[i];
		struct block_dev *bd;
		bool reg;

		pthread_mutex_lock(&ch->lock);
		bd = u->bd;
		reg = u->fd_registered;
		u->fd_registered = false;
		pthread_mutex_unlock(&ch->lock);
		if (bd) {
			unregister_medium(ch, bd, reg);
			block_drain(bd);
		}
	}
	for (unsigned i = 0; i < 2; i++)
		free(ch->unit[i].buf);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}

void ide_channel_pause(struct ide_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->paused++;
	pthread_mutex_unlock(&ch->lock);
	/* Every request submitted before paused went up is with the block
	 * layer now; waiting for it runs its completion (which may write guest
	 * RAM, now and never later).  Nothing new starts meanwhile: unit_submit
	 * defers, dma_run is not called. */
	ide_channel_drain(ch);
}

void ide_channel_resume(struct ide_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	if (ch->paused && !--ch->paused) {
		for (unsigned i = 0; i < 2; i++) {
			struct ide_unit *u = &ch->unit[i];

			if (u->deferred) {
				u->deferred = false;
				ide_unit_submit(u, u->deferred_kind, u->deferred_offset,
						u->deferred_len);
			}
		}
		ide_dma_resume(ch);
	}
	pthread_mutex_unlock(&ch->lock);
}

/*
 * Quiesce, reset, resume.  Waiting rather than bouncing: a reset is rare,
 * the wait is bounded by one request per unit, and DMA then stays zero-copy
 * (straight between the image and guest RAM).  Bounce buffers would also
 * let an old write reach the disk after the new guest's first writes.
 */
void ide_channel_reset(struct ide_channel *ch)
{
	ide_channel_pause(ch);
	pthread_mutex_lock(&ch->lock);
	ch->ctl = 0;
	ch->cur = 0;
	ch->irq_pending = false;
	irq_update(ch);
	ide_dma_reset(ch);
	for (unsigned i = 0; i < 2; i++)
		ide_unit_reset(&ch->unit[i], true);
	pthread_mutex_unlock(&ch->lock);
	ide_channel_resume(ch);
}

void ide_channel_drain(struct ide_channel *ch)
{
	for (unsigned i = 0; i < 2; i++) {
		struct block_dev *bd;

		pthread_mutex_lock(&ch->lock);
		bd = ch->unit[i].bd;
		pthread_mutex_unlock(&ch->lock);
		if (bd)
			block_drain(bd);
	}
}

static void default_geometry(struct ide_unit *u)
{
	uint64_t cyls = u->nb_sectors / (16 * 63);

	if (cyls > 16383)
		cyls = 16383;
	if (cyls < 2)
		cyls = 2;
	u->cyls = (unsigned)cyls;
	u->heads = 16;
	u->secs = 63;
}

static int attach(struct ide_channel *ch, unsigned unit, struct block_dev *bd, enum ide_kind kind)
{
	struct ide_unit *u;
	int ret;

	if (unit > 1)
		return -EINVAL;
	pthread_mutex_lock(&ch->lock);
	u = &ch->unit[unit];
	ret = u->kind != IDE_NONE ? -EBUSY : 0;
	pthread_mutex_unlock(&ch->lock);
	if (ret)
		return ret;
	ret = register_medium(ch, bd);
	if (ret)
		return ret;
	pthread_mutex_lock(&ch->lock);
	u->kind = kind;
	u->bd = bd;
	u->fd_registered = ch->loop && bd;
	u->read_only = bd ? block_read_only(bd) : true;
	u->nb_sectors = bd ? block_size(bd) / (kind == IDE_DISK ? IDE_SECTOR : CD_SECTOR) : 0;
	u->serial = ide_serial_next++;
	default_geometry(u);
	u->tray_open = u->locked = u->swapped = false;
	u->ev_removal = u->ev_new_media = u->ev_eject_request = false;
	u->change_state = 0;
	ide_unit_reset(u, true);
	/* The other unit's signature ("absent") does not change. */
	pthread_mutex_unlock(&ch->lock);
	return 0;
}

int ide_attach_disk(struct ide_channel *ch, unsigned unit, struct block_dev *bd)
{
	if (!bd || block_size(bd) < IDE_SECTOR)
		return -EINVAL;
	return attach(ch, unit, bd, IDE_DISK);
}

int ide_attach_cdrom(struct ide_channel *ch, unsigned unit, struct block_dev *bd)
{
	if (bd && block_size(bd) < CD_SECTOR)
		return -EINVAL;
	return attach(ch, unit, bd, IDE_CDROM);
}

/* The CD-ROM unit, locked; NULL (nothing locked) when there is none. */
static struct ide_unit *lock_cdrom(struct ide_channel *ch, unsigned unit)
{
	if (unit > 1)
		return NULL;
	pthread_mutex_lock(&ch->lock);
	if (ch->unit[unit].kind != IDE_CDROM) {
		pthread_mutex_unlock(&ch->lock);
		return NULL;
	}
	return &ch->unit[unit];
}

int ide_cdrom_get_state(struct ide_channel *ch, unsigned unit, struct ide_cdrom_state *st)
{
	struct ide_unit *u = lock_cdrom(ch, unit);

	if (!u)
		return -EINVAL;
	*st = (struct ide_cdrom_state){.bd = u->bd,
				       .tray_open = u->tray_open,
				       .locked = u->locked,
				       .eject_requested = u->ev_eject_request};
	pthread_mutex_unlock(&ch->lock);
	return 0;
}

int ide_cdrom_open_tray(struct ide_channel *ch, unsigned unit, bool force)
{
	struct ide_unit *u = lock_cdrom(ch, unit);
	int ret;

	if (!u)
		return -EINVAL;
	ret = atapi_open_tray(u, force);
	pthread_mutex_unlock(&ch->lock);
	return ret;
}

int ide_cdrom_close_tray(struct ide_channel *ch, unsigned unit)
{
	struct ide_unit *u = lock_cdrom(ch, unit);

	if (!u)
		return -EINVAL;
	atapi_close_tray(u);
	pthread_mutex_unlock(&ch->lock);
	return 0;
}

int ide_cdrom_swap_medium(struct ide_channel *ch, unsigned unit, struct block_dev *bd,
			  struct block_dev **old)
{
	struct block_dev *prev;
	struct ide_unit *u;
	bool reg;
	int ret;

	if (old)
		*old = NULL;
	if (bd && block_size(bd) < CD_SECTOR)
		return -EINVAL;
	if (!lock_cdrom(ch, unit))
		return -EINVAL;
	pthread_mutex_unlock(&ch->lock);
	/* The new medium's completions first: a failure changes nothing. */
	ret = register_medium(ch, bd);
	if (ret)
		return ret;

	pthread_mutex_lock(&ch->lock);
	u = &ch->unit[unit];
	if (!u->tray_open) {
		pthread_mutex_unlock(&ch->lock);
		unregister_medium(ch, bd, ch->loop && bd);
		return -EBUSY;
	}
	prev = u->bd;
	reg = u->fd_registered;
	u->bd = NULL;
	u->fd_registered = false;
	u->nb_sectors = 0;
	atapi_medium_swapped(u);
	pthread_mutex_unlock(&ch->lock);
	/* Requests on the old medium end now (their data lands before this
	 * returns, or the command ends NOT READY); none starts on it again. */
	if (prev) {
		unregister_medium(ch, prev, reg);
		block_drain(prev);
	}

	pthread_mutex_lock(&ch->lock);
	u->bd = bd;
	u->fd_registered = ch->loop && bd;
	u->read_only = true;
	u->nb_sectors = bd ? block_size(bd) / CD_SECTOR : 0;
	/* The guest closed the tray meanwhile (START STOP UNIT): the disc
	 * arrives in a closed drive, and is new to it. */
	atapi_medium_inserted(u);
	pthread_mutex_unlock(&ch->lock);
	if (old)
		*old = prev;
	return 0;
}

int ide_cdrom_change_medium(struct ide_channel *ch, unsigned unit, struct block_dev *bd, bool force)
{
	int ret = ide_cdrom_open_tray(ch, unit, force);

	if (!ret)
		ret = ide_cdrom_swap_medium(ch, unit, bd, NULL);
	if (!ret)
		ret = ide_cdrom_close_tray(ch, unit);
	return ret;
}

void ide_set_tray_notifier(struct ide_channel *ch, ide_tray_fn *fn, void *opaque)
{
	pthread_mutex_lock(&ch->lock);
	ch->tray_fn = fn;
	ch->tray_opaque = opaque;
	pthread_mutex_unlock(&ch->lock);
}
