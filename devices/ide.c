// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * IDE channel: the task-file registers of two units, ATA disk commands (PIO
 * and bus-master DMA), the PIIX bus-master engine, and the glue to the
 * asynchronous block layer.  The ATAPI packet commands live in atapi.c.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "devices/atapi.h"
#include "vmm/le.h"
#include "vmm/loop.h"

#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define CTL_HOB	 0x80

#define SEL_LBA 0x40
#define SEL_DEV 0x10

#define BM_CMD_START  0x01
#define BM_CMD_TO_MEM 0x08
#define BM_ST_ACTIVE  0x01
#define BM_ST_ERROR   0x02
#define BM_ST_INT     0x04
#define BM_ST_CAP     0x60

#define PRD_EOT 0x8000
/* QEMU reads at most one page of PRDs; the PIIX also forbids crossing 64 KiB. */
#define PRD_MAX_ENTRIES 512

#define MAX_MULT    16
#define BUF_SECTORS (IDE_BUF_SIZE / IDE_SECTOR)
#define DEFAULT_DMA 0x45 /* UDMA mode 5 selected, as QEMU reports at power-on */

static_assert(IDE_BUF_SIZE % CD_SECTOR == 0, "buffer holds whole CD blocks");
static_assert(BUF_SECTORS % MAX_MULT == 0, "DRQ blocks never straddle the buffer end");

static unsigned ide_serial_next = 1;

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

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

static void unit_set_signature(struct ide_unit *u)
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
static uint8_t unit_diag_status(const struct ide_unit *u)
{
	return u->kind == IDE_DISK ? ST_DRDY | ST_DSC : 0;
}

static void unit_stop_transfer(struct ide_unit *u)
{
	u->end_fn = END_NONE;
	u->pos = u->end = 0;
	u->to_host = true;
}

static void unit_reset(struct ide_unit *u, bool hard)
{
	u->gen++;
	unit_stop_transfer(u);
	u->feature = u->hob_feature = 0;
	u->select = 0xa0 | (u->idx ? SEL_DEV : 0);
	unit_set_signature(u);
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
		u->status = unit_diag_status(u);
	}
}

static void channel_cancel_dma(struct ide_channel *ch)
{
	ch->dma.pending = false;
	ch->bm_status &= ~BM_ST_ACTIVE;
}

/* A reset that hit a unit with a request in flight ends when it completes. */
static void unit_finish_reset(struct ide_unit *u)
{
	u->reset_pending = false;
	u->status = (u->ch->ctl & CTL_SRST) ? ST_BSY : unit_diag_status(u);
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

static void exec_cmd(struct ide_channel *ch, uint8_t cmd);

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
		exec_cmd(ch, v);
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

static void disk_read_next(struct ide_unit *u);
static void disk_write_block(struct ide_unit *u);

static void window_done(struct ide_unit *u)
{
	enum ide_end fn = u->end_fn;

	u->end_fn = END_NONE;
	u->status &= ~ST_DRQ;
	switch (fn) {
	case END_DISK_READ:
		disk_read_next(u);
		break;
	case END_DISK_WRITE:
		disk_write_block(u);
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

static void ata_io_done(struct ide_unit *u, int64_t ret);

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
			unit_finish_reset(u);
	} else {
		unit_io_dispatch(u, ret);
	}
	pthread_mutex_unlock(&ch->lock);
}

/* Starts a request on the unit's buffer; a refusal completes it at once. */
static void unit_submit(struct ide_unit *u, enum ide_io_kind kind, uint64_t offset, uint32_t len)
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
	unit_submit(u, IO_READ, offset, len);
	return 0;
}

/* ------------------------------------------------------------ bus-master DMA */

/* Appends guest range [gpa, gpa + len) to the iovec list, split at RAM
 * region edges.  -EFAULT if any byte is not RAM (or not writable RAM when
 * the device writes to memory). */
static int map_range(struct ide_channel *ch, uint64_t gpa, uint64_t len, bool to_mem, int *cnt)
{
	const struct guest_mem *mem = ch->mem;

	while (len) {
		const struct guest_mem_region *r = NULL;
		uint64_t off, n;
		uint8_t *p;

		for (unsigned i = 0; i < mem->nr && i < GUEST_MEM_MAX_REGIONS; i++) {
			if (gpa >= mem->region[i].gpa &&
			    gpa - mem->region[i].gpa < mem->region[i].size) {
				r = &mem->region[i];
				break;
			}
		}
		if (!r || (to_mem && r->readonly))
			return -EFAULT;
		off = gpa - r->gpa;
		n = min_u64(len, r->size - off);
		p = r->hva + off;
		if (*cnt > 0 &&
		    (uint8_t *)ch->iov[*cnt - 1].iov_base + ch->iov[*cnt - 1].iov_len == p) {
			ch->iov[*cnt - 1].iov_len += n;
		} else {
			if (*cnt >= IDE_MAX_IOV)
				return -EFAULT;
			ch->iov[*cnt].iov_base = p;
			ch->iov[*cnt].iov_len = n;
			(*cnt)++;
		}
		gpa += n;
		len -= n;
	}
	return 0;
}

/* Walks the PRD table for up to need bytes.  *covered < need means the table
 * ran out (short); *stay means it holds more than the transfer needs, which
 * leaves the engine active, as on the PIIX. */
static int prd_map(struct ide_channel *ch, uint64_t need, bool to_mem, int *cnt, uint64_t *covered,
		   bool *stay)
{
	uint32_t table = ch->bm_prd;

	*cnt = 0;
	*covered = 0;
	*stay = false;
	for (unsigned i = 0; i < PRD_MAX_ENTRIES; i++) {
		uint64_t ea = (uint64_t)table + 8u * i, take;
		uint32_t addr, len;
		uint8_t e[8];
		bool eot;

		if (i && (ea >> 16) != (table >> 16))
			break;
		if (guest_mem_read(ch->mem, ea, e, sizeof(e)))
			return -EFAULT;
		addr = le32_get(e);
		len = le16_get(e + 4) & 0xfffe;
		if (!len)
			len = 0x10000;
		eot = le16_get(e + 6) & PRD_EOT;
		take = min_u64(len, need - *covered);
		if (map_range(ch, addr, take, to_mem, cnt))
			return -EFAULT;
		*covered += take;
		if (*covered == need) {
			*stay = !(eot && take == len);
			return 0;
		}
		if (eot)
			break;
	}
	return 0;
}

static void disk_dma_done(struct ide_unit *u, int err);

/* The command, the engine or both ended. */
static void dma_complete(struct ide_channel *ch, int err)
{
	struct ide_dma *d = &ch->dma;
	struct ide_unit *u = &ch->unit[d->unit];

	if (d->short_prd && !err) {
		/* The PRDs were too short: QEMU clears Active and raises no
		 * interrupt; the driver times out and resets. */
		ch->bm_status &= ~BM_ST_ACTIVE;
		u->status = ST_DRDY | ST_DSC;
		return;
	}
	if (err || !d->stay_active)
		ch->bm_status &= ~BM_ST_ACTIVE;
	if (u->kind == IDE_CDROM)
		atapi_dma_done(u, err);
	else
		disk_dma_done(u, err);
}

static void dma_cb(void *opaque, int64_t ret)
{
	struct ide_unit *u = opaque;
	struct ide_channel *ch = u->ch;

	pthread_mutex_lock(&ch->lock);
	u->inflight = false;
	ch->dma.inflight = false;
	if (u->inflight_gen != u->gen) {
		if (u->reset_pending)
			unit_finish_reset(u);
	} else {
		dma_complete(ch, ret < 0 ? (int)ret : 0);
	}
	pthread_mutex_unlock(&ch->lock);
}

static void dma_run(struct ide_channel *ch)
{
	struct ide_dma *d = &ch->dma;
	struct ide_unit *u = &ch->unit[d->unit];
	bool to_mem = d->op != DMA_DISK_WRITE;
	uint64_t covered, xfer, granule;
	int cnt, ret;

	d->pending = false;
	if (prd_map(ch, d->bytes, to_mem, &cnt, &covered, &d->stay_active)) {
		/* A PRD or a buffer outside RAM: the PIIX reports a master
		 * abort in the error bit and the transfer ends with an error. */
		ch->bm_status |= BM_ST_ERROR;
		d->short_prd = false;
		dma_complete(ch, -EFAULT);
		return;
	}
	granule = d->op == DMA_CD_READ ? CD_SECTOR : d->op == DMA_BUF ? 1 : IDE_SECTOR;
	d->short_prd = covered < d->bytes;
	xfer = covered - covered % granule;
	/* Trim the list to xfer bytes (only a short table leaves a tail). */
	{
		uint64_t sum = 0;
		int n = 0;

		while (n < cnt && sum < xfer) {
			if (sum + ch->iov[n].iov_len > xfer)
				ch->iov[n].iov_len = xfer - sum;
			sum += ch->iov[n].iov_len;
			n++;
		}
		cnt = n;
	}
	d->done_bytes = xfer;
	if (!xfer) {
		dma_complete(ch, 0);
		return;
	}
	if (d->op == DMA_BUF) {
		uint64_t pos = 0;

		for (int i = 0; i < cnt; i++) {
			memcpy(ch->iov[i].iov_base, u->buf + pos, ch->iov[i].iov_len);
			pos += ch->iov[i].iov_len;
		}
		dma_complete(ch, 0);
		return;
	}
	if (!u->bd) {
		dma_complete(ch, -ENOMEDIUM);
		return;
	}
	d->inflight = true;
	u->inflight = true;
	u->inflight_gen = u->gen;
	if (d->op == DMA_DISK_WRITE)
		ret = block_aio_write(u->bd, d->offset, ch->iov, cnt, dma_cb, u);
	else
		ret = block_aio_read(u->bd, d->offset, ch->iov, cnt, dma_cb, u);
	if (ret < 0) {
		d->inflight = false;
		u->inflight = false;
		dma_complete(ch, ret);
	}
}

bool ide_dma_request(struct ide_unit *u, enum ide_dma_op op, uint64_t offset, uint64_t bytes)
{
	struct ide_channel *ch = u->ch;

	/* One engine per channel: the other unit's transfer is still running. */
	if (ch->dma.inflight)
		return false;
	ch->dma = (struct ide_dma){
	    .pending = true, .unit = u->idx, .op = op, .offset = offset, .bytes = bytes};
	u->status = ST_DRDY | ST_DSC | ST_DRQ;
	if ((ch->bm_status & BM_ST_ACTIVE) && !ch->paused)
		dma_run(ch);
	return true;
}

static void bm_cmd_write(struct ide_channel *ch, uint8_t v)
{
	if ((v ^ ch->bm_cmd) & BM_CMD_START) {
		if (v & BM_CMD_START) {
			if (!(ch->bm_status & BM_ST_ACTIVE)) {
				ch->bm_status |= BM_ST_ACTIVE;
				if (ch->dma.pending && !ch->paused)
					dma_run(ch);
			}
		} else {
			/* A request already with the block layer still completes
			 * (QEMU waits for it too); only Active drops now. */
			ch->bm_status &= ~BM_ST_ACTIVE;
		}
	}
	ch->bm_cmd = v & (BM_CMD_START | BM_CMD_TO_MEM);
}

static uint8_t bm_readb(struct ide_channel *ch, unsigned off)
{
	switch (off) {
	case 0:
		return ch->bm_cmd;
	case 2:
		return ch->bm_status;
	case 4:
	case 5:
	case 6:
	case 7:
		return (uint8_t)(ch->bm_prd >> (8 * (off - 4)));
	default:
		return 0;
	}
}

static void bm_writeb(struct ide_channel *ch, unsigned off, uint8_t v)
{
	switch (off) {
	case 0:
		bm_cmd_write(ch, v);
		break;
	case 2:
		ch->bm_status = (uint8_t)((v & BM_ST_CAP) | (ch->bm_status & BM_ST_ACTIVE) |
					  (ch->bm_status & ~v & (BM_ST_ERROR | BM_ST_INT)));
		break;
	case 4:
	case 5:
	case 6:
	case 7: {
		unsigned shift = 8 * (off - 4);

		ch->bm_prd = (ch->bm_prd & ~(0xffu << shift)) | ((uint32_t)v << shift);
		ch->bm_prd &= ~3u;
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------ ATA helpers */

static void ata_ok(struct ide_unit *u)
{
	u->error = 0;
	u->status = ST_DRDY | ST_DSC;
	ide_irq_raise(u->ch);
}

static void ata_error(struct ide_unit *u, uint8_t err)
{
	unit_stop_transfer(u);
	u->error = err;
	u->status = ST_DRDY | ST_ERR;
	ide_irq_raise(u->ch);
}

static void ata_abort(struct ide_unit *u)
{
	ata_error(u, ER_ABRT);
}

static uint64_t ata_count(const struct ide_unit *u)
{
	if (u->lba48) {
		unsigned n = (unsigned)u->hob_nsector << 8 | u->nsector;

		return n ? n : 65536;
	}
	return u->nsector ? u->nsector : 256;
}

/* false for a CHS address outside the current geometry */
static bool ata_get_lba(const struct ide_unit *u, uint64_t *lba)
{
	if (u->lba48) {
		*lba = (uint64_t)u->hob_hcyl << 40 | (uint64_t)u->hob_lcyl << 32 |
		       (uint64_t)u->hob_sector << 24 | (uint64_t)u->hcyl << 16 |
		       (uint64_t)u->lcyl << 8 | u->sector;
	} else if (u->select & SEL_LBA) {
		*lba = (uint64_t)(u->select & 0x0f) << 24 | (uint64_t)u->hcyl << 16 |
		       (uint64_t)u->lcyl << 8 | u->sector;
	} else {
		unsigned cyl = (unsigned)u->hcyl << 8 | u->lcyl, head = u->select & 0x0f;

		if (!u->sector || u->sector > u->cur_secs || head >= u->cur_heads)
			return false;
		*lba = ((uint64_t)cyl * u->cur_heads + head) * u->cur_secs + u->sector - 1;
	}
	return true;
}

static void ata_set_lba(struct ide_unit *u, uint64_t lba)
{
	if (u->lba48) {
		u->sector = (uint8_t)lba;
		u->lcyl = (uint8_t)(lba >> 8);
		u->hcyl = (uint8_t)(lba >> 16);
		u->hob_sector = (uint8_t)(lba >> 24);
		u->hob_lcyl = (uint8_t)(lba >> 32);
		u->hob_hcyl = (uint8_t)(lba >> 40);
	} else if (u->select & SEL_LBA) {
		u->sector = (uint8_t)lba;
		u->lcyl = (uint8_t)(lba >> 8);
		u->hcyl = (uint8_t)(lba >> 16);
		u->select = (uint8_t)((u->select & 0xf0) | ((lba >> 24) & 0x0f));
	} else {
		uint64_t track = (uint64_t)u->cur_heads * u->cur_secs;
		uint64_t cyl = lba / track, r = lba % track;

		if (cyl > 0xffff)
			cyl = 0xffff;
		u->lcyl = (uint8_t)cyl;
		u->hcyl = (uint8_t)(cyl >> 8);
		u->select = (uint8_t)((u->select & 0xf0) | (r / u->cur_secs));
		u->sector = (uint8_t)(r % u->cur_secs + 1);
	}
}

/* Decodes address and count and checks them against the disk. */
static bool ata_range(struct ide_unit *u, uint64_t *lba, uint64_t *count)
{
	*count = ata_count(u);
	if (!ata_get_lba(u, lba) || *lba > u->nb_sectors || *count > u->nb_sectors - *lba) {
		ata_error(u, ER_IDNF);
		return false;
	}
	return true;
}

static void ide_ata_string(uint16_t *words, unsigned first, unsigned nwords, const char *s)
{
	size_t len = strlen(s);

	for (unsigned i = 0; i < nwords * 2; i++) {
		uint8_t c = i < len ? (uint8_t)s[i] : ' ';

		if (i & 1)
			words[first + i / 2] |= c;
		else
			words[first + i / 2] = (uint16_t)(c << 8);
	}
}

/* Words both IDENTIFY variants share: strings, transfer modes. */
static void ide_identify_common(struct ide_unit *u, uint16_t *id)
{
	char serial[21];

	snprintf(serial, sizeof(serial), "MV%08u", u->serial % 100000000u);
	ide_ata_string(id, 10, 10, serial);
	ide_ata_string(id, 23, 4, "0.1.0");
	id[49] = 1 << 11 | 1 << 9 | 1 << 8; /* IORDY, LBA, DMA */
	id[53] = 0x0007;		    /* words 54-58, 64-70 and 88 valid */
	id[63] = 0x0007;
	if ((u->dma_mode >> 3) == 4)
		id[63] |= (uint16_t)(0x100 << (u->dma_mode & 7));
	id[64] = 0x0003; /* PIO 3 and 4 */
	id[65] = 120;
	id[66] = 120;
	id[67] = 120;
	id[68] = 120;
	id[88] = 0x003f;
	if ((u->dma_mode >> 3) == 8)
		id[88] |= (uint16_t)(0x100 << (u->dma_mode & 7));
}

static void identify_to_buf(struct ide_unit *u, uint16_t *id)
{
	unsigned sum = 0xa5;

	id[255] = 0;
	for (unsigned i = 0; i < 255; i++) {
		le16_put(u->buf + 2 * i, id[i]);
		sum += u->buf[2 * i] + u->buf[2 * i + 1];
	}
	/* Integrity word: signature A5h, and the byte that makes the sum 0. */
	id[255] = (uint16_t)(((0x100 - (sum & 0xff)) & 0xff) << 8 | 0xa5);
	le16_put(u->buf + 510, id[255]);
}

static void ata_identify(struct ide_unit *u)
{
	uint16_t id[256] = {0};
	uint64_t cap = (uint64_t)u->cur_cyls * u->cur_heads * u->cur_secs;
	uint64_t lba28 = min_u64(u->nb_sectors, 0x0fffffff);

	id[0] = 0x0040; /* fixed device */
	id[1] = (uint16_t)u->cyls;
	id[3] = (uint16_t)u->heads;
	id[6] = (uint16_t)u->secs;
	ide_identify_common(u, id);
	ide_ata_string(id, 27, 20, "MINIVMM HARDDISK");
	id[47] = 0x8000 | MAX_MULT;
	id[50] = 0x4000;
	id[51] = 0x0200;
	id[52] = 0x0200;
	id[54] = (uint16_t)u->cur_cyls;
	id[55] = (uint16_t)u->cur_heads;
	id[56] = (uint16_t)u->cur_secs;
	cap = min_u64(cap, lba28);
	id[57] = (uint16_t)cap;
	id[58] = (uint16_t)(cap >> 16);
	id[59] = u->mult ? (uint16_t)(0x100 | u->mult) : 0;
	id[60] = (uint16_t)lba28;
	id[61] = (uint16_t)(lba28 >> 16);
	id[80] = 0x007e;				/* ATA-1 .. ATA-6 */
	id[82] = 1 << 14 | 1 << 5 | 1 << 3;		/* NOP, write cache, power management */
	id[83] = 1 << 14 | 1 << 13 | 1 << 12 | 1 << 10; /* FLUSH EXT, FLUSH, LBA48 */
	id[84] = 1 << 14;
	id[85] = (uint16_t)(1 << 14 | (u->wcache ? 1 << 5 : 0) | 1 << 3);
	id[86] = 1 << 13 | 1 << 12 | 1 << 10;
	id[87] = 1 << 14;
	id[93] = (uint16_t)(1 << 14 | 1 << 13 | (u->idx ? 0x0b00 : 0x000b));
	id[100] = (uint16_t)u->nb_sectors;
	id[101] = (uint16_t)(u->nb_sectors >> 16);
	id[102] = (uint16_t)(u->nb_sectors >> 32);
	id[103] = (uint16_t)(u->nb_sectors >> 48);
	identify_to_buf(u, id);
	ide_pio_start(u, 0, 512, true, END_STOP);
	ide_irq_raise(u->ch);
}

void atapi_identify(struct ide_unit *u)
{
	uint16_t id[256] = {0};

	id[0] = 0x85c0; /* ATAPI, CD-ROM, removable, 50us DRQ, 12-byte packets */
	ide_identify_common(u, id);
	ide_ata_string(id, 27, 20, "MINIVMM CD-ROM");
	id[50] = 0x4000;
	id[71] = 30;
	id[72] = 30;
	id[80] = 0x001e;	   /* ATA/ATAPI-1 .. 4 */
	id[82] = 1 << 14 | 1 << 4; /* NOP, PACKET */
	id[83] = 1 << 14;
	id[84] = 1 << 14;
	id[85] = 1 << 14 | 1 << 4;
	id[87] = 1 << 14;
	identify_to_buf(u, id);
	ide_pio_start(u, 0, 512, true, END_STOP);
	ide_irq_raise(u->ch);
}

/* ------------------------------------------------------------ ATA disk I/O */

static void disk_load_chunk(struct ide_unit *u)
{
	uint32_t n = (uint32_t)min_u64(u->left, BUF_SECTORS);

	u->buf_len = n * IDE_SECTOR;
	u->chunk_pos = 0;
	unit_submit(u, IO_READ, u->lba * IDE_SECTOR, u->buf_len);
}

static void disk_read_window(struct ide_unit *u)
{
	uint32_t n = u->buf_len - u->chunk_pos;

	if (n > u->block * IDE_SECTOR)
		n = u->block * IDE_SECTOR;
	ide_pio_start(u, u->chunk_pos, n, true, END_DISK_READ);
	ide_irq_raise(u->ch);
}

static void disk_read_next(struct ide_unit *u)
{
	u->xfer_left -= (u->end - u->chunk_pos) / IDE_SECTOR;
	u->chunk_pos = u->end;
	if (!u->xfer_left) {
		ata_set_lba(u, u->lba);
		u->status = ST_DRDY | ST_DSC;
	} else if (u->chunk_pos >= u->buf_len) {
		disk_load_chunk(u);
	} else {
		disk_read_window(u);
	}
}

static void disk_write_window(struct ide_unit *u, bool irq)
{
	uint32_t n = (uint32_t)min_u64(u->left, u->block) * IDE_SECTOR;

	ide_pio_start(u, u->buf_len, n, false, END_DISK_WRITE);
	if (irq)
		ide_irq_raise(u->ch);
}

static void disk_write_block(struct ide_unit *u)
{
	u->left -= (u->end - u->buf_len) / IDE_SECTOR;
	u->buf_len = u->end;
	if (!u->left || u->buf_len + min_u64(u->left, u->block) * IDE_SECTOR > IDE_BUF_SIZE)
		unit_submit(u, IO_WRITE, u->lba * IDE_SECTOR, u->buf_len);
	else
		disk_write_window(u, true);
}

static bool cmd_is_write(uint8_t cmd)
{
	return cmd == 0x30 || cmd == 0x31 || cmd == 0x34 || cmd == 0xc5 || cmd == 0x39;
}

static void ata_io_done(struct ide_unit *u, int64_t ret)
{
	if (u->cmd == 0xe7 || u->cmd == 0xea) {
		if (ret < 0)
			ata_abort(u);
		else
			ata_ok(u);
	} else if (cmd_is_write(u->cmd)) {
		if (ret < 0) {
			ata_abort(u);
			return;
		}
		u->lba += u->buf_len / IDE_SECTOR;
		u->buf_len = 0;
		if (!u->left) {
			ata_set_lba(u, u->lba);
			ata_ok(u);
		} else {
			disk_write_window(u, true);
		}
	} else {
		if (ret < 0) {
			ata_error(u, ER_UNC);
			return;
		}
		u->lba += u->buf_len / IDE_SECTOR;
		u->left -= u->buf_len / IDE_SECTOR;
		disk_read_window(u);
	}
}

static void disk_dma_done(struct ide_unit *u, int err)
{
	struct ide_dma *d = &u->ch->dma;

	if (err) {
		ata_error(u, d->op == DMA_DISK_READ && err != -EFAULT ? ER_UNC : ER_ABRT);
		return;
	}
	ata_set_lba(u, d->offset / IDE_SECTOR + d->done_bytes / IDE_SECTOR);
	ata_ok(u);
}

static void cmd_pio_rw(struct ide_unit *u, bool write, bool multiple)
{
	uint64_t lba, count;

	if (multiple && !u->mult) {
		ata_abort(u);
		return;
	}
	if (write && u->read_only) {
		ata_abort(u);
		return;
	}
	if (!ata_range(u, &lba, &count))
		return;
	u->lba = lba;
	u->left = count;
	u->xfer_left = count;
	u->block = multiple ? u->mult : 1;
	if (write) {
		u->buf_len = 0;
		disk_write_window(u, false);
	} else {
		disk_load_chunk(u);
	}
}

static void cmd_dma_rw(struct ide_unit *u, bool write)
{
	uint64_t lba, count;

	if (write && u->read_only) {
		ata_abort(u);
		return;
	}
	if (!ata_range(u, &lba, &count))
		return;
	if (!ide_dma_request(u, write ? DMA_DISK_WRITE : DMA_DISK_READ, lba * IDE_SECTOR,
			     count * IDE_SECTOR))
		ata_abort(u);
}

static void cmd_verify(struct ide_unit *u)
{
	uint64_t lba, count;

	if (ata_range(u, &lba, &count)) {
		ata_set_lba(u, lba + count - 1);
		ata_ok(u);
	}
}

static void cmd_seek(struct ide_unit *u)
{
	uint64_t lba;

	if (!ata_get_lba(u, &lba) || lba >= u->nb_sectors)
		ata_error(u, ER_IDNF);
	else
		ata_ok(u);
}

static void cmd_set_features(struct ide_unit *u)
{
	uint8_t mode = u->nsector;

	switch (u->feature) {
	case 0x02:
		u->wcache = true;
		break;
	case 0x82:
		u->wcache = false;
		break;
	case 0x03:
		switch (mode >> 3) {
		case 0: /* PIO default */
			u->pio_mode = mode;
			break;
		case 1:
			if ((mode & 7) > 4) {
				ata_abort(u);
				return;
			}
			u->pio_mode = mode;
			break;
		case 4:
			if ((mode & 7) > 2) {
				ata_abort(u);
				return;
			}
			u->dma_mode = mode;
			break;
		case 8:
			if ((mode & 7) > 5) {
				ata_abort(u);
				return;
			}
			u->dma_mode = mode;
			break;
		default:
			ata_abort(u);
			return;
		}
		break;
	default:
		/* Look-ahead, reverting to defaults and the like change nothing
		 * a guest could observe. */
		break;
	}
	ata_ok(u);
}

static void cmd_init_dev_params(struct ide_unit *u)
{
	unsigned heads = (u->select & 0x0f) + 1u, secs = u->nsector;
	uint64_t cyls;

	if (!secs) {
		ata_abort(u);
		return;
	}
	cyls = u->nb_sectors / (heads * secs);
	u->cur_heads = heads;
	u->cur_secs = secs;
	u->cur_cyls = (unsigned)min_u64(cyls, 0xffff);
	ata_ok(u);
}

static void cmd_set_multiple(struct ide_unit *u)
{
	unsigned n = u->nsector;

	if (n > MAX_MULT || (n & (n - 1))) {
		ata_abort(u);
		return;
	}
	u->mult = n;
	ata_ok(u);
}

static void cmd_read_native_max(struct ide_unit *u, bool ext)
{
	uint64_t max = u->nb_sectors ? u->nb_sectors - 1 : 0;

	u->lba48 = ext;
	if (!ext) {
		max = min_u64(max, 0x0fffffff);
		u->select |= SEL_LBA;
	}
	ata_set_lba(u, max);
	ata_ok(u);
}

static void cmd_diagnostic(struct ide_channel *ch)
{
	for (unsigned i = 0; i < 2; i++) {
		struct ide_unit *u = &ch->unit[i];

		if (u->kind == IDE_NONE)
			continue;
		unit_stop_transfer(u);
		unit_set_signature(u);
		u->status = unit_diag_status(u);
		u->error = 0x01;
	}
	ide_irq_raise(ch);
}

static void exec_disk_cmd(struct ide_unit *u, uint8_t cmd)
{
	switch (cmd) {
	case 0xec:
		ata_identify(u);
		break;
	case 0x20:
	case 0x21:
	case 0x24:
		cmd_pio_rw(u, false, false);
		break;
	case 0x30:
	case 0x31:
	case 0x34:
		cmd_pio_rw(u, true, false);
		break;
	case 0xc4:
	case 0x29:
		cmd_pio_rw(u, false, true);
		break;
	case 0xc5:
	case 0x39:
		cmd_pio_rw(u, true, true);
		break;
	case 0xc8:
	case 0xc9:
	case 0x25:
		cmd_dma_rw(u, false);
		break;
	case 0xca:
	case 0xcb:
	case 0x35:
		cmd_dma_rw(u, true);
		break;
	case 0x40:
	case 0x41:
	case 0x42:
		cmd_verify(u);
		break;
	case 0xc6:
		cmd_set_multiple(u);
		break;
	case 0x91:
		cmd_init_dev_params(u);
		break;
	case 0xf8:
		cmd_read_native_max(u, false);
		break;
	case 0x27:
		cmd_read_native_max(u, true);
		break;
	case 0xe7:
	case 0xea:
		unit_submit(u, IO_FLUSH, 0, 0);
		break;
	default:
		if (cmd >= 0x70 && cmd <= 0x7f)
			cmd_seek(u);
		else
			ata_abort(u);
		break;
	}
}

static void exec_cdrom_cmd(struct ide_unit *u, uint8_t cmd)
{
	switch (cmd) {
	case 0xec:
		/* Tells the driver it is talking to an ATAPI device. */
		ata_abort(u);
		unit_set_signature(u);
		break;
	case 0xa1:
		atapi_identify(u);
		break;
	case 0xa0:
		atapi_packet_cmd(u);
		break;
	case 0x08:
		unit_reset(u, false);
		break;
	case 0xe7:
	case 0xea:
		ata_ok(u);
		break;
	default:
		ata_abort(u);
		break;
	}
}

static void exec_cmd(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_unit *u = &ch->unit[ch->cur];

	/* An absent unit does not answer. */
	if (u->kind == IDE_NONE || u->reset_pending)
		return;
	/* Only DEVICE RESET to an ATAPI device is taken while BSY or DRQ. */
	if ((u->status & (ST_BSY | ST_DRQ)) && !(cmd == 0x08 && u->kind == IDE_CDROM))
		return;
	if (u->inflight && cmd != 0x08)
		return;
	unit_stop_transfer(u);
	u->cmd = cmd;
	u->error = 0;
	u->lba48 = cmd == 0x24 || cmd == 0x34 || cmd == 0x29 || cmd == 0x39 || cmd == 0x25 ||
		   cmd == 0x35 || cmd == 0x42;
	switch (cmd) {
	case 0x90:
		cmd_diagnostic(ch);
		return;
	case 0xef:
		cmd_set_features(u);
		return;
	case 0xe5:
	case 0x98:
		u->nsector = 0xff; /* active or idle */
		ata_ok(u);
		return;
	case 0xe0:
	case 0xe1:
	case 0xe2:
	case 0xe3:
	case 0xe6:
	case 0x94:
	case 0x95:
	case 0x96:
	case 0x97:
	case 0x99:
		ata_ok(u);
		return;
	default:
		break;
	}
	if (u->kind == IDE_DISK)
		exec_disk_cmd(u, cmd);
	else
		exec_cdrom_cmd(u, cmd);
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
		channel_cancel_dma(ch);
		ch->irq_pending = false;
		ch->cur = 0;
		for (unsigned i = 0; i < 2; i++) {
			struct ide_unit *u = &ch->unit[i];

			unit_reset(u, false);
			if (u->kind != IDE_NONE)
				u->status = ST_BSY;
		}
	} else if ((ch->ctl & CTL_SRST) && !(v & CTL_SRST)) {
		for (unsigned i = 0; i < 2; i++) {
			struct ide_unit *u = &ch->unit[i];

			if (!u->reset_pending)
				u->status = unit_diag_status(u);
		}
	}
	ch->ctl = v;
	irq_update(ch);
	pthread_mutex_unlock(&ch->lock);
}

static uint64_t ide_bmdma_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ide_channel *ch = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&ch->lock);
	for (unsigned i = 0; i < size && offset + i < IDE_BMDMA_SIZE; i++)
		v |= (uint64_t)bm_readb(ch, (unsigned)offset + i) << (8 * i);
	pthread_mutex_unlock(&ch->lock);
	return v;
}

static void ide_bmdma_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ide_channel *ch = opaque;

	pthread_mutex_lock(&ch->lock);
	for (unsigned i = 0; i < size && offset + i < IDE_BMDMA_SIZE; i++)
		bm_writeb(ch, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
	pthread_mutex_unlock(&ch->lock);
}

const struct bus_ops ide_cmd_bus_ops = {.read = ide_cmd_read, .write = ide_cmd_write};
const struct bus_ops ide_ctl_bus_ops = {.read = ide_ctl_read, .write = ide_ctl_write};
const struct bus_ops ide_bmdma_bus_ops = {.read = ide_bmdma_read, .write = ide_bmdma_write};

/* ------------------------------------------------------------ life cycle */

static void block_ready(void *opaque, uint32_t events)
{
	block_complete(opaque);
}

/* The block layer makes its completion eventfd with the first request, so
 * an empty read brings it into being before the fd is registered. */
static int register_medium(struct ide_channel *ch, struct block_dev *bd)
{
	if (!ch->loop || !bd)
		return 0;
	if (block_completion_fd(bd) < 0) {
		static uint8_t dummy;
		struct iovec iov = {.iov_base = &dummy, .iov_len = 0};
		int ret = block_aio_read(bd, 0, &iov, 1, NULL, NULL);

		if (ret < 0)
			return ret;
		block_drain(bd);
	}
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
				unit_submit(u, u->deferred_kind, u->deferred_offset,
					    u->deferred_len);
			}
		}
		if (ch->dma.pending && (ch->bm_status & BM_ST_ACTIVE))
			dma_run(ch);
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
	ch->bm_cmd = 0;
	ch->bm_status = 0;
	ch->bm_prd = 0;
	ch->dma.pending = false;
	for (unsigned i = 0; i < 2; i++)
		unit_reset(&ch->unit[i], true);
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
	u->tray_open = false;
	u->locked = false;
	unit_reset(u, true);
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

int ide_cdrom_change_medium(struct ide_channel *ch, unsigned unit, struct block_dev *bd, bool force)
{
	struct block_dev *old;
	struct ide_unit *u;
	bool reg;
	int ret;

	if (unit > 1 || (bd && block_size(bd) < CD_SECTOR))
		return -EINVAL;
	pthread_mutex_lock(&ch->lock);
	u = &ch->unit[unit];
	if (u->kind != IDE_CDROM) {
		pthread_mutex_unlock(&ch->lock);
		return -EINVAL;
	}
	if (u->locked && !force) {
		pthread_mutex_unlock(&ch->lock);
		return -EBUSY;
	}
	old = u->bd;
	reg = u->fd_registered;
	u->bd = NULL;
	u->fd_registered = false;
	u->nb_sectors = 0;
	if (old)
		atapi_medium_changed(u, false);
	pthread_mutex_unlock(&ch->lock);

	if (old) {
		unregister_medium(ch, old, reg);
		block_drain(old);
	}
	ret = register_medium(ch, bd);
	if (ret)
		return ret;

	pthread_mutex_lock(&ch->lock);
	u->bd = bd;
	u->fd_registered = ch->loop && bd;
	u->read_only = true;
	u->nb_sectors = bd ? block_size(bd) / CD_SECTOR : 0;
	if (bd)
		atapi_medium_changed(u, true);
	pthread_mutex_unlock(&ch->lock);
	return 0;
}
