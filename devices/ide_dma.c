// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PIIX bus-master IDE engine of one channel (Intel PIIX3 data sheet,
 * "Bus Master IDE"): command, status and PRD-table registers, and the walk
 * of the physical region descriptor table that turns a transfer into an
 * iovec list over guest RAM for the block layer.
 *
 * A PRD is 8 bytes: a 32-bit buffer address, a 16-bit byte count (0 means
 * 64 KiB, bit 0 ignored) and bit 15 of the last word marking the end of the
 * table.  The walk is bounded three ways: at most PRD_MAX_ENTRIES entries,
 * never across the 64 KiB boundary of the table's start (the PIIX cannot),
 * at most IDE_MAX_IOV iovecs; every descriptor is read and every buffer
 * translated through guest_mem as a whole range, so an address outside RAM
 * (or into read-only memory, for a transfer to memory) ends the transfer
 * with the error bit set, never a host access outside guest RAM.
 *
 * Transfers move straight between the image and guest RAM; a channel reset
 * waits for one in flight first (ide_channel_pause in ide.c).
 */
#include <errno.h>
#include <string.h>

#include "devices/atapi.h"
#include "devices/ide_int.h"
#include "vmm/le.h"

#define PRD_EOT 0x8000
/* QEMU reads at most one page of PRDs; the PIIX also forbids crossing 64 KiB. */
#define PRD_MAX_ENTRIES 512

/* Appends guest range [gpa, gpa + len) to the iovec list through the one
 * translator every DMA engine shares (split at RAM region edges; -EFAULT if
 * any byte is not RAM, or not writable RAM when the device writes to
 * memory).  A piece that continues the previous one in host memory extends
 * it, so that a PRD table of adjacent 4 KiB buffers stays a few iovecs. */
static int map_range(struct ide_channel *ch, uint64_t gpa, uint64_t len, bool to_mem, int *cnt)
{
	unsigned nr = 0;
	struct iovec *prev, *first;
	int ret;

	if (!len)
		return 0;
	if (*cnt >= IDE_MAX_IOV)
		return -EFAULT;
	ret = guest_mem_map_iov(ch->mem, gpa, len, to_mem, &ch->iov[*cnt],
				(unsigned)(IDE_MAX_IOV - *cnt), &nr);
	if (ret < 0)
		return -EFAULT;
	first = &ch->iov[*cnt];
	prev = *cnt > 0 ? &ch->iov[*cnt - 1] : NULL;
	if (prev && (uint8_t *)prev->iov_base + prev->iov_len == first->iov_base) {
		prev->iov_len += first->iov_len;
		memmove(first, first + 1, (nr - 1) * sizeof(*first));
		nr--;
	}
	*cnt += (int)nr;
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
		ata_dma_done(u, err);
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
			ide_unit_finish_reset(u);
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


void ide_dma_cancel(struct ide_channel *ch)
{
	ch->dma.pending = false;
	ch->bm_status &= ~BM_ST_ACTIVE;
}

void ide_dma_reset(struct ide_channel *ch)
{
	ch->bm_cmd = 0;
	ch->bm_status = 0;
	ch->bm_prd = 0;
	ch->dma.pending = false;
}

void ide_dma_resume(struct ide_channel *ch)
{
	if (ch->dma.pending && (ch->bm_status & BM_ST_ACTIVE))
		dma_run(ch);
}

/* ------------------------------------------------------------ bus ops */

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

const struct bus_ops ide_bmdma_bus_ops = {.read = ide_bmdma_read, .write = ide_bmdma_write};
