// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ATAPI CD-ROM: the PACKET protocol (ATA/ATAPI-6 section 9.8) and the MMC
 * commands Windows, Linux and SeaBIOS send to a read-only CD/DVD drive.
 *
 * Data-in replies are built whole in the unit's buffer (the largest, READ
 * DVD STRUCTURE format 0, is 2052 bytes) and cut to the allocation length;
 * reads of the medium go through the buffer in chunks for PIO, or straight
 * into guest memory for DMA.  Each PIO DRQ window is at most the byte count
 * limit the driver put in the cylinder registers.
 *
 * The tray (QEMU's model, MMC-6 for the events): a medium may sit in an open
 * tray; the host takes one out or puts one in only while the tray is open.
 * The guest sees NOT READY / medium not present while there is no medium
 * (ASCQ 01 tray closed, 02 tray open).  After the tray closes on a medium
 * the drive reports, to the first command that is not allowed during a unit
 * attention, NOT READY / medium not present (ASCQ 00), then to the next one
 * UNIT ATTENTION / medium may have changed (as QEMU does, for drivers that
 * never poll GET EVENT STATUS NOTIFICATION).  GESN reports, one per poll,
 * media removal (the tray opened on a medium; reported whatever the tray
 * does, as MMC lets it be, where QEMU has no such event), then while the
 * tray is closed new media, then an eject request (the host asked while the
 * guest locked the tray), each once.  PREVENT ALLOW MEDIUM REMOVAL locks the
 * tray against the host (unless forced) and START STOP UNIT's eject.
 */
#include <errno.h>
#include <string.h>

#include "devices/atapi.h"
#include "vmm/le.h"

enum {
	SK_NO_SENSE = 0x0,
	SK_NOT_READY = 0x2,
	SK_MEDIUM_ERROR = 0x3,
	SK_ILLEGAL_REQUEST = 0x5,
	SK_UNIT_ATTENTION = 0x6,
	SK_ABORTED_COMMAND = 0xb,
};

enum {
	ASC_READ_ERROR = 0x11,
	ASC_INVALID_OPCODE = 0x20,
	ASC_LBA_OUT_OF_RANGE = 0x21,
	ASC_INVALID_FIELD = 0x24,
	ASC_MEDIUM_CHANGED = 0x28,
	ASC_INCOMPATIBLE_FORMAT = 0x30,
	ASC_SAVING_NOT_SUPPORTED = 0x39,
	ASC_NO_MEDIUM = 0x3a,
	ASC_REMOVAL_PREVENTED = 0x53,
};

/* GESN media event codes (MMC-6 table 146) and media status bits */
enum { EV_NONE = 0, EV_EJECT_REQUEST = 1, EV_NEW_MEDIA = 2, EV_MEDIA_REMOVAL = 3 };
enum { MS_TRAY_OPEN = 0x01, MS_MEDIA_PRESENT = 0x02 };

/* More blocks than fit on an 80-minute CD: call it a DVD. */
#define CD_MAX_BLOCKS (80u * 60 * 75)

#define CMD_ALLOW_UA	0x01 /* runs while a unit attention is pending */
#define CMD_NEED_MEDIUM 0x02

static bool medium_ready(const struct ide_unit *u)
{
	return u->bd && !u->tray_open && u->nb_sectors;
}

static bool medium_is_dvd(const struct ide_unit *u)
{
	return u->nb_sectors > CD_MAX_BLOCKS;
}

static void set_reason(struct ide_unit *u, uint8_t reason)
{
	u->nsector = (uint8_t)((u->nsector & ~7) | reason);
}

static void atapi_ok(struct ide_unit *u)
{
	u->end_fn = END_NONE;
	u->error = 0;
	u->status = ST_DRDY | ST_DSC;
	set_reason(u, IR_IO | IR_COD);
	ide_irq_raise(u->ch);
}

static void atapi_error(struct ide_unit *u, uint8_t key, uint8_t asc, uint8_t ascq)
{
	u->end_fn = END_NONE;
	u->pos = u->end = 0;
	u->sense_key = key;
	u->asc = asc;
	u->ascq = ascq;
	u->error = (uint8_t)(key << 4);
	u->status = ST_DRDY | ST_ERR;
	set_reason(u, IR_IO | IR_COD);
	ide_irq_raise(u->ch);
}

static void invalid_field(struct ide_unit *u)
{
	atapi_error(u, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

static void out_of_range(struct ide_unit *u)
{
	atapi_error(u, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
}

static void not_ready(struct ide_unit *u)
{
	atapi_error(u, SK_NOT_READY, ASC_NO_MEDIUM, u->tray_open ? 0x02 : 0x01);
}

/* Next PIO step of a data-in phase: a window, a chunk to load, or the end. */
static void next_window(struct ide_unit *u)
{
	uint32_t n;

	if (!u->xfer_left) {
		atapi_ok(u);
		return;
	}
	if (u->chunk_pos >= u->buf_len) {
		uint32_t blocks;

		if (!u->left || !u->bd) {
			not_ready(u);
			return;
		}
		blocks = u->left < IDE_BUF_SIZE / CD_SECTOR ? (uint32_t)u->left
							    : IDE_BUF_SIZE / CD_SECTOR;
		u->buf_len = blocks * CD_SECTOR;
		u->chunk_pos = 0;
		ide_submit_read(u, u->lba * CD_SECTOR, u->buf_len);
		return;
	}
	n = u->buf_len - u->chunk_pos;
	if (n > u->xfer_left)
		n = (uint32_t)u->xfer_left;
	if (n > u->bcl) {
		/* A window cut by the limit must be even. */
		n = u->bcl & ~1u;
		if (!n)
			n = 2;
	}
	u->lcyl = (uint8_t)n;
	u->hcyl = (uint8_t)(n >> 8);
	set_reason(u, IR_IO);
	ide_pio_start(u, u->chunk_pos, n, true, END_ATAPI_DATA);
	ide_irq_raise(u->ch);
}

static void start_data_in(struct ide_unit *u, enum ide_dma_op op, uint64_t offset, uint64_t bytes)
{
	if (u->atapi_dma) {
		if (!ide_dma_request(u, op, offset, bytes))
			atapi_error(u, SK_ABORTED_COMMAND, 0, 0);
		return;
	}
	next_window(u);
}

/* Sends len bytes of u->buf, cut to the allocation length. */
static void reply(struct ide_unit *u, uint32_t len, uint32_t alloc)
{
	uint32_t n = len < alloc ? len : alloc;

	if (!n) {
		atapi_ok(u);
		return;
	}
	u->buf_len = n;
	u->chunk_pos = 0;
	u->xfer_left = n;
	u->left = 0;
	start_data_in(u, DMA_BUF, 0, n);
}

static void start_read(struct ide_unit *u, uint64_t lba, uint64_t blocks)
{
	if (lba > u->nb_sectors || blocks > u->nb_sectors - lba) {
		out_of_range(u);
		return;
	}
	if (!blocks) {
		atapi_ok(u);
		return;
	}
	u->lba = lba;
	u->left = blocks;
	u->xfer_left = blocks * CD_SECTOR;
	u->buf_len = 0;
	u->chunk_pos = 0;
	start_data_in(u, DMA_CD_READ, lba * CD_SECTOR, blocks * CD_SECTOR);
}

static void lba_to_msf(uint8_t *p, uint64_t lba)
{
	lba += 150;
	p[0] = (uint8_t)(lba / (60 * 75));
	p[1] = (uint8_t)((lba / 75) % 60);
	p[2] = (uint8_t)(lba % 75);
}

/* A TOC address field: MSF (0, M, S, F) or a big-endian LBA. */
static void put_addr(uint8_t *p, uint64_t lba, bool msf)
{
	if (msf) {
		p[0] = 0;
		lba_to_msf(p + 1, lba);
	} else {
		be32_put(p, (uint32_t)lba);
	}
}

static void cmd_test_unit_ready(struct ide_unit *u)
{
	atapi_ok(u);
}

static void cmd_request_sense(struct ide_unit *u)
{
	uint8_t *b = u->buf;

	memset(b, 0, 18);
	b[0] = 0x70; /* current error, fixed format */
	b[7] = 10;
	if (u->sense_key == SK_NO_SENSE && u->change_state == 2) {
		/* A pending attention is reported (and cleared) here too. */
		b[2] = SK_UNIT_ATTENTION;
		b[12] = ASC_MEDIUM_CHANGED;
		u->change_state = 0;
	} else {
		b[2] = u->sense_key;
		b[12] = u->asc;
		b[13] = u->ascq;
	}
	u->sense_key = SK_NO_SENSE;
	u->asc = u->ascq = 0;
	reply(u, 18, u->packet[4]);
}

static void cmd_inquiry(struct ide_unit *u)
{
	uint8_t *b = u->buf;

	if (u->packet[1] & 1) { /* no vital product data pages */
		invalid_field(u);
		return;
	}
	memset(b, 0, 36);
	b[0] = 0x05; /* CD/DVD device */
	b[1] = 0x80; /* removable */
	b[3] = 0x21; /* ATAPI, response data format 1 */
	b[4] = 31;
	memcpy(b + 8, "MINIVMM ", 8);
	memcpy(b + 16, "CD-ROM          ", 16);
	memcpy(b + 32, "0.1 ", 4);
	reply(u, 36, be16_get(u->packet + 3));
}

/* ------------------------------------------------------------ tray */

static void tray_move(struct ide_unit *u, bool open)
{
	struct ide_channel *ch = u->ch;

	if (u->tray_open == open)
		return;
	u->tray_open = open;
	if (ch->tray_fn)
		ch->tray_fn(ch->tray_opaque, u->idx, open);
}

/* The medium went out of reach under a command of this unit: a data phase
 * not yet moved, a request held back by a pause, a DMA transfer waiting for
 * the engine end with NOT READY, so that nothing of the old medium (nor of
 * the next, for the old one's block numbers) reaches the guest.  A request
 * already with the block layer is waited for by the caller, and its
 * completion ends the command the same way (atapi_read_done). */
/* Commands whose data comes from, or describes, the medium: a transfer of
 * theirs in progress when the disc goes is cut.  The others (REQUEST
 * SENSE, INQUIRY, GESN, MODE SENSE...) answer from the drive's own state
 * and finish normally, as on a real drive. */
static bool describes_medium(uint8_t opcode)
{
	switch (opcode) {
	case 0x25: /* READ CAPACITY */
	case 0x28: /* READ(10) */
	case 0x43: /* READ TOC/PMA/ATIP */
	case 0x51: /* READ DISC INFORMATION */
	case 0x52: /* READ TRACK INFORMATION */
	case 0xa8: /* READ(12) */
	case 0xb9: /* READ CD MSF */
	case 0xbe: /* READ CD */
		return true;
	default:
		return false;
	}
}

static void cut_command(struct ide_unit *u)
{
	struct ide_channel *ch = u->ch;
	bool cut = false;

	if (u->end_fn == END_ATAPI_DATA && describes_medium(u->packet[0])) {
		ide_unit_stop_transfer(u);
		cut = true;
	}
	if (u->deferred) {
		u->deferred = false;
		cut = true;
	}
	if (ch->dma.pending && ch->dma.unit == u->idx) {
		ch->dma.pending = false;
		cut = true;
	}
	if (cut)
		not_ready(u);
}

/* The tray closed: a medium put in while it was open (or any medium, when
 * the host closes it, as QEMU does) is new to the guest. */
static void tray_closed(struct ide_unit *u, bool by_host)
{
	u->ev_eject_request = false;
	if (u->bd && u->nb_sectors && (by_host || u->swapped)) {
		u->ev_new_media = true;
		u->change_state = 1;
	}
	u->swapped = false;
	tray_move(u, false);
}

int atapi_open_tray(struct ide_unit *u, bool force)
{
	if (u->tray_open)
		return 0;
	if (u->locked) {
		u->ev_eject_request = true;
		if (!force)
			return -EBUSY;
		u->locked = false;
	}
	if (u->bd)
		u->ev_removal = true;
	u->ev_new_media = u->ev_eject_request = false;
	u->change_state = 0;
	tray_move(u, true);
	cut_command(u);
	return 0;
}

void atapi_close_tray(struct ide_unit *u)
{
	if (u->tray_open)
		tray_closed(u, true);
}

void atapi_medium_inserted(struct ide_unit *u)
{
	if (!u->tray_open)
		tray_closed(u, true);
}

void atapi_medium_swapped(struct ide_unit *u)
{
	u->swapped = true;
	u->ev_new_media = false;
	u->change_state = 0;
	cut_command(u);
}

/* ------------------------------------------------------------ commands */

/* LoEj with Start 0 opens the tray, with Start 1 closes it; a power
 * condition, or no LoEj, moves nothing. */
static void cmd_start_stop(struct ide_unit *u)
{
	bool loej = u->packet[4] & 2, start = u->packet[4] & 1;

	if (loej && !(u->packet[4] & 0xf0)) {
		if (!start && !u->tray_open) {
			if (u->locked) {
				atapi_error(u, SK_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
				return;
			}
			u->ev_eject_request = u->ev_new_media = false;
			u->change_state = 0;
			tray_move(u, true);
		} else if (start && u->tray_open) {
			tray_closed(u, false);
		}
	}
	atapi_ok(u);
}

static void cmd_prevent_allow(struct ide_unit *u)
{
	u->locked = u->packet[4] & 1;
	atapi_ok(u);
}

static void cmd_read_capacity(struct ide_unit *u)
{
	uint64_t last = u->nb_sectors - 1;

	be32_put(u->buf, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
	be32_put(u->buf + 4, CD_SECTOR);
	reply(u, 8, 8);
}

static void cmd_read10(struct ide_unit *u)
{
	start_read(u, be32_get(u->packet + 2), be16_get(u->packet + 7));
}

static void cmd_read12(struct ide_unit *u)
{
	start_read(u, be32_get(u->packet + 2), be32_get(u->packet + 6));
}

static void cmd_read_cd(struct ide_unit *u)
{
	const uint8_t *p = u->packet;
	uint32_t blocks = (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];

	switch (p[9] & 0xf8) {
	case 0x00: /* no main-channel data asked for */
		if (be32_get(p + 2) >= u->nb_sectors)
			out_of_range(u);
		else
			atapi_ok(u);
		break;
	case 0x10: /* user data only */
		start_read(u, be32_get(p + 2), blocks);
		break;
	default: /* headers, EDC, raw 2352-byte sectors: not modelled */
		invalid_field(u);
		break;
	}
}

static void cmd_seek(struct ide_unit *u)
{
	if (be32_get(u->packet + 2) >= u->nb_sectors)
		out_of_range(u);
	else
		atapi_ok(u);
}

static void cmd_read_toc(struct ide_unit *u)
{
	const uint8_t *p = u->packet;
	bool msf = p[1] & 2;
	unsigned format = p[2] & 0x0f, start = p[6];
	uint8_t *b = u->buf, *q;
	uint32_t len;

	if (!format)
		format = p[9] >> 6; /* the SFF-8020 place for it */
	memset(b, 0, 64);
	switch (format) {
	case 0:
		if (start > 1 && start != 0xaa) {
			invalid_field(u);
			return;
		}
		q = b + 4;
		if (start <= 1) {
			q[1] = 0x14; /* data track, Q sub-channel position */
			q[2] = 1;
			put_addr(q + 4, 0, msf);
			q += 8;
		}
		q[1] = 0x14;
		q[2] = 0xaa; /* lead-out */
		put_addr(q + 4, u->nb_sectors, msf);
		q += 8;
		len = (uint32_t)(q - b);
		break;
	case 1: /* session information */
		b[5] = 0x14;
		b[6] = 1;
		put_addr(b + 8, 0, msf);
		len = 12;
		break;
	case 2: { /* full TOC: points A0 (first track), A1 (last), A2 (lead-out), 1 */
		static const uint8_t points[] = {0xa0, 0xa1, 0xa2, 0x01};

		q = b + 4;
		for (unsigned i = 0; i < 4; i++, q += 11) {
			q[0] = 1;
			q[1] = 0x14;
			q[3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1)
				q[8] = 1;
			else if (points[i] == 0xa2)
				put_addr(q + 7, u->nb_sectors, msf);
			else
				put_addr(q + 7, 0, msf);
		}
		len = (uint32_t)(q - b);
		break;
	}
	default:
		invalid_field(u);
		return;
	}
	be16_put(b, (uint16_t)(len - 2));
	b[2] = 1;
	b[3] = 1;
	reply(u, len, be16_get(p + 7));
}

static uint8_t *add_feature(uint8_t *q, uint16_t code, uint8_t flags, uint8_t len)
{
	be16_put(q, code);
	q[2] = flags;
	q[3] = len;
	return q + 4;
}

static void cmd_get_configuration(struct ide_unit *u)
{
	const uint8_t *p = u->packet;
	unsigned rt = p[1] & 3, from = be16_get(p + 2);
	uint16_t cur = medium_ready(u) ? (medium_is_dvd(u) ? 0x0010 : 0x0008) : 0;
	uint8_t *b = u->buf, *q = b + 8;
	uint32_t len;

	if (rt == 3) {
		invalid_field(u);
		return;
	}
	memset(b, 0, 64);
#define WANT(code) (rt == 2 ? (code) == from : (code) >= from)
	if (WANT(0x0000)) { /* profile list */
		q = add_feature(q, 0x0000, 0x03, 8);
		be16_put(q, 0x0010);
		q[2] = cur == 0x0010;
		be16_put(q + 4, 0x0008);
		q[6] = cur == 0x0008;
		q += 8;
	}
	if (WANT(0x0001)) { /* core: ATAPI, version 2 */
		q = add_feature(q, 0x0001, 0x0b, 8);
		be32_put(q, 2);
		q[4] = 1; /* DBE */
		q += 8;
	}
	if (WANT(0x0003)) { /* removable medium: tray, eject, lock */
		q = add_feature(q, 0x0003, 0x03, 4);
		q[0] = 0x29 | (u->locked ? 0x04 : 0);
		q += 4;
	}
#undef WANT
	len = (uint32_t)(q - b);
	be32_put(b, len - 4);
	be16_put(b + 6, cur);
	reply(u, len, be16_get(p + 7));
}

static void cmd_gesn(struct ide_unit *u)
{
	const uint8_t *p = u->packet;
	uint8_t *b = u->buf;
	uint32_t len;

	if (!(p[1] & 1)) { /* only polled operation */
		invalid_field(u);
		return;
	}
	memset(b, 0, 8);
	b[3] = 0x10; /* supported classes: media */
	if (p[4] & 0x10) {
		b[2] = 0x04;
		b[4] = EV_NONE;
		if (u->ev_removal) {
			b[4] = EV_MEDIA_REMOVAL;
			u->ev_removal = false;
		} else if (!u->tray_open && u->ev_new_media) {
			b[4] = EV_NEW_MEDIA;
			u->ev_new_media = false;
		} else if (!u->tray_open && u->ev_eject_request) {
			b[4] = EV_EJECT_REQUEST;
			u->ev_eject_request = false;
		}
		b[5] = u->tray_open ? MS_TRAY_OPEN : medium_ready(u) ? MS_MEDIA_PRESENT : 0;
		len = 8;
	} else {
		b[2] = 0x80; /* no event available */
		len = 4;
	}
	be16_put(b, (uint16_t)(len - 2));
	reply(u, len, be16_get(p + 7));
}

static void cmd_read_disc_info(struct ide_unit *u)
{
	uint8_t *b = u->buf;

	if (u->packet[1] & 7) {
		invalid_field(u);
		return;
	}
	memset(b, 0, 34);
	be16_put(b, 32);
	b[2] = 0x0e; /* last session complete, disc finalized */
	b[3] = 1;    /* first track */
	b[4] = 1;    /* sessions */
	b[5] = 1;    /* first track of last session */
	b[6] = 1;    /* last track of last session */
	b[7] = 0x20; /* unrestricted use */
	reply(u, 34, be16_get(u->packet + 7));
}

static uint8_t *mode_page(struct ide_unit *u, uint8_t *q, unsigned page)
{
	switch (page) {
	case 0x01: /* read error recovery */
		memset(q, 0, 8);
		q[0] = 0x01;
		q[1] = 6;
		q[3] = 5; /* read retry count */
		return q + 8;
	case 0x0e: /* CD audio control */
		memset(q, 0, 16);
		q[0] = 0x0e;
		q[1] = 14;
		q[2] = 0x04; /* immediate */
		q[8] = 1;
		q[9] = 0xff;
		q[10] = 2;
		q[11] = 0xff;
		return q + 16;
	default: /* 0x2a: capabilities and mechanical status */
		memset(q, 0, 20);
		q[0] = 0x2a;
		q[1] = 18;
		q[2] = 0x3b; /* reads CD-R, CD-RW, method 2, DVD-ROM, DVD-R, DVD-RAM */
		q[4] = 0x71; /* audio play, mode 2 form 1 and 2, multi-session */
		q[5] = 0x60;
		q[6] = 0x29 | (u->locked ? 0x02 : 0); /* tray, eject, lock, lock state */
		be16_put(q + 8, 706);		      /* maximum speed, kB/s */
		be16_put(q + 10, 2);		      /* volume levels */
		be16_put(q + 12, 512);		      /* buffer, KiB */
		be16_put(q + 14, 706);		      /* current speed */
		return q + 20;
	}
}

static void cmd_mode_sense10(struct ide_unit *u)
{
	const uint8_t *p = u->packet;
	unsigned pc = p[2] >> 6, page = p[2] & 0x3f;
	uint8_t *b = u->buf, *q = b + 8;
	uint32_t len;

	if (pc == 3) {
		atapi_error(u, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
		return;
	}
	if (pc == 1 || (page != 0x01 && page != 0x0e && page != 0x2a && page != 0x3f)) {
		invalid_field(u);
		return;
	}
	memset(b, 0, 8);
	if (page == 0x3f) {
		q = mode_page(u, q, 0x01);
		q = mode_page(u, q, 0x0e);
		q = mode_page(u, q, 0x2a);
	} else {
		q = mode_page(u, q, page);
	}
	len = (uint32_t)(q - b);
	be16_put(b, (uint16_t)(len - 2));
	reply(u, len, be16_get(p + 7));
}

static void cmd_read_dvd_structure(struct ide_unit *u)
{
	const uint8_t *p = u->packet;
	uint8_t *b = u->buf;
	uint32_t len;

	if (p[1] & 0x0f) { /* media type other than DVD */
		invalid_field(u);
		return;
	}
	switch (p[7]) {
	case 0x00: /* physical format information */
	case 0x01: /* copyright information */
		if (!medium_is_dvd(u)) {
			atapi_error(u, SK_ILLEGAL_REQUEST, ASC_INCOMPATIBLE_FORMAT, 0x02);
			return;
		}
		if (p[6]) { /* only layer 0 */
			invalid_field(u);
			return;
		}
		if (p[7] == 0x00) {
			len = 4 + 2048;
			memset(b, 0, len);
			b[4] = 0x01; /* DVD-ROM, part version 1 */
			b[5] = 0x0f; /* 120 mm, no maximum rate */
			b[6] = 0x01; /* one layer, embossed */
			be32_put(b + 12, (uint32_t)(u->nb_sectors - 1)); /* end sector */
			be32_put(b + 16, (uint32_t)(u->nb_sectors - 1)); /* layer 0 end */
		} else {
			len = 8;
			memset(b, 0, len); /* no copy protection, all regions */
		}
		break;
	case 0xff: { /* the list of structures offered */
		static const uint8_t list[] = {0x00, 0x01, 0xff};
		static const uint16_t sizes[] = {2048, 4, 12};

		len = 4 + 4 * 3;
		memset(b, 0, len);
		for (unsigned i = 0; i < 3; i++) {
			b[4 + 4 * i] = list[i];
			b[5 + 4 * i] = 0x40; /* readable */
			be16_put(b + 6 + 4 * i, sizes[i]);
		}
		break;
	}
	default:
		invalid_field(u);
		return;
	}
	be16_put(b, (uint16_t)(len - 2));
	reply(u, len, be16_get(p + 8));
}

static void cmd_set_cd_speed(struct ide_unit *u)
{
	atapi_ok(u);
}

static void cmd_mechanism_status(struct ide_unit *u)
{
	uint8_t *b = u->buf;

	memset(b, 0, 8);
	b[1] = u->tray_open ? 0x10 : 0; /* door open */
	reply(u, 8, be16_get(u->packet + 8));
}

struct atapi_cmd {
	void (*fn)(struct ide_unit *u);
	uint8_t flags;
};

static const struct atapi_cmd atapi_cmds[256] = {
    [0x00] = {cmd_test_unit_ready, CMD_NEED_MEDIUM},
    [0x03] = {cmd_request_sense, CMD_ALLOW_UA},
    [0x12] = {cmd_inquiry, CMD_ALLOW_UA},
    [0x1b] = {cmd_start_stop, 0},
    [0x1e] = {cmd_prevent_allow, 0},
    [0x25] = {cmd_read_capacity, CMD_NEED_MEDIUM},
    [0x28] = {cmd_read10, CMD_NEED_MEDIUM},
    [0x2b] = {cmd_seek, CMD_NEED_MEDIUM},
    [0x43] = {cmd_read_toc, CMD_NEED_MEDIUM},
    [0x46] = {cmd_get_configuration, CMD_ALLOW_UA},
    [0x4a] = {cmd_gesn, CMD_ALLOW_UA},
    [0x51] = {cmd_read_disc_info, CMD_NEED_MEDIUM},
    [0x5a] = {cmd_mode_sense10, 0},
    [0xa8] = {cmd_read12, CMD_NEED_MEDIUM},
    [0xad] = {cmd_read_dvd_structure, CMD_NEED_MEDIUM},
    [0xbb] = {cmd_set_cd_speed, 0},
    [0xbd] = {cmd_mechanism_status, 0},
    [0xbe] = {cmd_read_cd, CMD_NEED_MEDIUM},
};

/* ------------------------------------------------------------ protocol */

void atapi_packet_cmd(struct ide_unit *u)
{
	unsigned bcl = (unsigned)u->hcyl << 8 | u->lcyl;

	if (u->feature & 0x02) { /* overlapped commands are not offered */
		u->status = ST_DRDY | ST_ERR;
		u->error = ER_ABRT;
		ide_irq_raise(u->ch);
		return;
	}
	u->atapi_dma = u->feature & 0x01;
	u->bcl = bcl == 0 || bcl == 0xffff ? 0xfffe : bcl;
	set_reason(u, IR_COD);
	/* Accelerated DRQ (IDENTIFY PACKET word 0): no interrupt before the packet. */
	ide_pio_start(u, 0, 12, false, END_PACKET);
}

void atapi_packet_received(struct ide_unit *u)
{
	const struct atapi_cmd *c;

	memcpy(u->packet, u->buf, sizeof(u->packet));
	c = &atapi_cmds[u->packet[0]];
	u->status = ST_DRDY | ST_BSY;
	if (!(c->flags & CMD_ALLOW_UA) && u->change_state && medium_ready(u)) {
		if (u->change_state == 1) {
			atapi_error(u, SK_NOT_READY, ASC_NO_MEDIUM, 0);
			u->change_state = 2;
		} else {
			atapi_error(u, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
			u->change_state = 0;
		}
		return;
	}
	if (!c->fn) {
		atapi_error(u, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
		return;
	}
	if ((c->flags & CMD_NEED_MEDIUM) && !medium_ready(u)) {
		not_ready(u);
		return;
	}
	if (c->fn != cmd_request_sense) {
		u->sense_key = SK_NO_SENSE;
		u->asc = u->ascq = 0;
	}
	c->fn(u);
}

void atapi_window_done(struct ide_unit *u)
{
	uint32_t sent = u->end - u->chunk_pos;

	u->chunk_pos = u->end;
	u->xfer_left -= sent < u->xfer_left ? sent : u->xfer_left;
	next_window(u);
}

void atapi_read_done(struct ide_unit *u, int64_t ret)
{
	/* The medium went away while the request ran (the tray opened). */
	if (ret == -ENOMEDIUM || !medium_ready(u)) {
		not_ready(u);
		return;
	}
	if (ret < 0) {
		atapi_error(u, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
		return;
	}
	u->lba += u->buf_len / CD_SECTOR;
	u->left -= u->buf_len / CD_SECTOR;
	next_window(u);
}

void atapi_dma_done(struct ide_unit *u, int err)
{
	if (!err)
		atapi_ok(u);
	else if (err == -ENOMEDIUM)
		not_ready(u);
	else if (err == -EFAULT)
		atapi_error(u, SK_ABORTED_COMMAND, 0, 0);
	else
		atapi_error(u, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
}

void atapi_reset(struct ide_unit *u)
{
	u->atapi_dma = false;
	u->sense_key = SK_NO_SENSE;
	u->asc = u->ascq = 0;
}
