// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ATA command set of the IDE model (ATA/ATAPI-6, T13 1410D): one table,
 * ata_cmds[], from opcode to the handler for a disk and the handler for an
 * ATAPI device (NULL: the device aborts the command), with flags saying
 * how the command addresses the medium (LBA48) and moves data (PIO or DMA,
 * which direction, DRQ blocks of one sector or of the MULTIPLE size).  The
 * PACKET command hands over to atapi.c.
 *
 * Disk PIO goes through the unit buffer in chunks of up to IDE_BUF_SIZE:
 * reads load a chunk (one block request), then open one DRQ window per block
 * until the chunk is sent; writes collect blocks until the buffer is full or
 * the command ends, then store them (one request).  DMA commands hand the
 * whole transfer to the bus-master engine (ide_dma.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/atapi.h"
#include "devices/ide_int.h"
#include "vmm/le.h"

/* ata_cmd.flags */
#define ATA_LBA48    0x01 /* 48-bit address and count (the "EXT" commands) */
#define ATA_DMA	     0x02 /* data through the bus-master engine */
#define ATA_WRITE    0x04 /* data from the host to the medium */
#define ATA_MULTIPLE 0x08 /* DRQ blocks of SET MULTIPLE's size */
#define ATA_FLUSH    0x10 /* a cache flush: the block request is a flush */
#define ATA_RESET    0x20 /* DEVICE RESET: taken by an ATAPI device while BSY/DRQ */

struct ata_cmd;
typedef void ata_handler(struct ide_unit *u, const struct ata_cmd *c);

struct ata_cmd {
	ata_handler *disk;  /* NULL: a disk aborts it */
	ata_handler *cdrom; /* NULL: an ATAPI device aborts it */
	uint8_t flags;
};

static const struct ata_cmd ata_cmds[256];

/* ------------------------------------------------------------ completion and errors */

static void ata_ok(struct ide_unit *u)
{
	u->error = 0;
	u->status = ST_DRDY | ST_DSC;
	ide_irq_raise(u->ch);
}

static void ata_error(struct ide_unit *u, uint8_t err)
{
	ide_unit_stop_transfer(u);
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
	ide_unit_submit(u, IO_READ, u->lba * IDE_SECTOR, u->buf_len);
}

static void disk_read_window(struct ide_unit *u)
{
	uint32_t n = u->buf_len - u->chunk_pos;

	if (n > u->block * IDE_SECTOR)
		n = u->block * IDE_SECTOR;
	if (n == 0) {
		/* A completion that finds no window to give (the guest changed
		 * the command's state under a request in flight, found by
		 * fuzz_ide): the command ends aborted, never the VMM. */
		ata_abort(u);
		return;
	}
	ide_pio_start(u, u->chunk_pos, n, true, END_DISK_READ);
	ide_irq_raise(u->ch);
}

void ata_pio_read_next(struct ide_unit *u)
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

void ata_pio_write_block(struct ide_unit *u)
{
	u->left -= (u->end - u->buf_len) / IDE_SECTOR;
	u->buf_len = u->end;
	if (!u->left || u->buf_len + min_u64(u->left, u->block) * IDE_SECTOR > IDE_BUF_SIZE)
		ide_unit_submit(u, IO_WRITE, u->lba * IDE_SECTOR, u->buf_len);
	else
		disk_write_window(u, true);
}

void ata_io_done(struct ide_unit *u, int64_t ret)
{
	const struct ata_cmd *c = &ata_cmds[u->cmd];

	if (c->flags & ATA_FLUSH) {
		if (ret < 0)
			ata_abort(u);
		else
			ata_ok(u);
	} else if (c->flags & ATA_WRITE) {
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

void ata_dma_done(struct ide_unit *u, int err)
{
	struct ide_dma *d = &u->ch->dma;

	if (err) {
		ata_error(u, d->op == DMA_DISK_READ && err != -EFAULT ? ER_UNC : ER_ABRT);
		return;
	}
	ata_set_lba(u, d->offset / IDE_SECTOR + d->done_bytes / IDE_SECTOR);
	ata_ok(u);
}

/* ------------------------------------------------------------ commands */

static void cmd_pio_rw(struct ide_unit *u, const struct ata_cmd *c)
{
	bool write = c->flags & ATA_WRITE, multiple = c->flags & ATA_MULTIPLE;
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

static void cmd_dma_rw(struct ide_unit *u, const struct ata_cmd *c)
{
	bool write = c->flags & ATA_WRITE;
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

static void cmd_verify(struct ide_unit *u, const struct ata_cmd *c)
{
	uint64_t lba, count;

	if (ata_range(u, &lba, &count)) {
		ata_set_lba(u, lba + count - 1);
		ata_ok(u);
	}
}

static void cmd_seek(struct ide_unit *u, const struct ata_cmd *c)
{
	uint64_t lba;

	if (!ata_get_lba(u, &lba) || lba >= u->nb_sectors)
		ata_error(u, ER_IDNF);
	else
		ata_ok(u);
}

static void cmd_set_features(struct ide_unit *u, const struct ata_cmd *c)
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

static void cmd_init_dev_params(struct ide_unit *u, const struct ata_cmd *c)
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

static void cmd_set_multiple(struct ide_unit *u, const struct ata_cmd *c)
{
	unsigned n = u->nsector;

	if (n > MAX_MULT || (n & (n - 1))) {
		ata_abort(u);
		return;
	}
	u->mult = n;
	ata_ok(u);
}

static void cmd_read_native_max(struct ide_unit *u, const struct ata_cmd *c)
{
	bool ext = c->flags & ATA_LBA48;
	uint64_t max = u->nb_sectors ? u->nb_sectors - 1 : 0;

	u->lba48 = ext;
	if (!ext) {
		max = min_u64(max, 0x0fffffff);
		u->select |= SEL_LBA;
	}
	ata_set_lba(u, max);
	ata_ok(u);
}

/* Addresses both devices, whichever is selected. */
static void cmd_diagnostic(struct ide_unit *sel, const struct ata_cmd *c)
{
	struct ide_channel *ch = sel->ch;

	for (unsigned i = 0; i < 2; i++) {
		struct ide_unit *u = &ch->unit[i];

		if (u->kind == IDE_NONE)
			continue;
		ide_unit_stop_transfer(u);
		ide_unit_set_signature(u);
		u->status = ide_unit_diag_status(u);
		u->error = 0x01;
	}
	ide_irq_raise(ch);
}

static void cmd_ok(struct ide_unit *u, const struct ata_cmd *c)
{
	ata_ok(u);
}

/* CHECK POWER MODE: always active or idle. */
static void cmd_check_power(struct ide_unit *u, const struct ata_cmd *c)
{
	u->nsector = 0xff;
	ata_ok(u);
}

static void cmd_flush(struct ide_unit *u, const struct ata_cmd *c)
{
	ide_unit_submit(u, IO_FLUSH, 0, 0);
}

static void cmd_identify(struct ide_unit *u, const struct ata_cmd *c)
{
	ata_identify(u);
}

/* IDENTIFY DEVICE to an ATAPI device: aborted, with the signature that
 * tells the driver it talks to an ATAPI device. */
static void cmd_identify_atapi_sig(struct ide_unit *u, const struct ata_cmd *c)
{
	ata_abort(u);
	ide_unit_set_signature(u);
}

static void cmd_identify_packet(struct ide_unit *u, const struct ata_cmd *c)
{
	atapi_identify(u);
}

static void cmd_packet(struct ide_unit *u, const struct ata_cmd *c)
{
	atapi_packet_cmd(u);
}

static void cmd_device_reset(struct ide_unit *u, const struct ata_cmd *c)
{
	ide_unit_reset(u, false);
}

/* clang-format off */
#define DISK(fn, f)  { .disk = fn, .flags = (f) }
#define ATAPI(fn, f) { .cdrom = fn, .flags = (f) }
#define BOTH(fn)     { .disk = fn, .cdrom = fn }

static const struct ata_cmd ata_cmds[256] = {
	[0x08] = ATAPI(cmd_device_reset, ATA_RESET),			/* DEVICE RESET */
	[0x20] = DISK(cmd_pio_rw, 0),					/* READ SECTORS */
	[0x21] = DISK(cmd_pio_rw, 0),					/* ... without retry */
	[0x24] = DISK(cmd_pio_rw, ATA_LBA48),				/* READ SECTORS EXT */
	[0x25] = DISK(cmd_dma_rw, ATA_DMA | ATA_LBA48),			/* READ DMA EXT */
	[0x27] = DISK(cmd_read_native_max, ATA_LBA48),			/* READ NATIVE MAX ADDRESS EXT */
	[0x29] = DISK(cmd_pio_rw, ATA_MULTIPLE | ATA_LBA48),		/* READ MULTIPLE EXT */
	[0x30] = DISK(cmd_pio_rw, ATA_WRITE),				/* WRITE SECTORS */
	[0x31] = DISK(cmd_pio_rw, ATA_WRITE),				/* ... without retry */
	[0x34] = DISK(cmd_pio_rw, ATA_WRITE | ATA_LBA48),		/* WRITE SECTORS EXT */
	[0x35] = DISK(cmd_dma_rw, ATA_DMA | ATA_WRITE | ATA_LBA48),	/* WRITE DMA EXT */
	[0x39] = DISK(cmd_pio_rw, ATA_WRITE | ATA_MULTIPLE | ATA_LBA48), /* WRITE MULTIPLE EXT */
	[0x40] = DISK(cmd_verify, 0),					/* READ VERIFY SECTORS */
	[0x41] = DISK(cmd_verify, 0),					/* ... without retry */
	[0x42] = DISK(cmd_verify, ATA_LBA48),				/* READ VERIFY SECTORS EXT */
	[0x70 ... 0x7f] = DISK(cmd_seek, 0),				/* SEEK */
	[0x90] = BOTH(cmd_diagnostic),					/* EXECUTE DEVICE DIAGNOSTIC */
	[0x91] = DISK(cmd_init_dev_params, 0),				/* INITIALIZE DEVICE PARAMETERS */
	[0x94 ... 0x97] = BOTH(cmd_ok),					/* STANDBY/IDLE (old codes) */
	[0x98] = BOTH(cmd_check_power),					/* CHECK POWER MODE (old) */
	[0x99] = BOTH(cmd_ok),						/* SLEEP (old) */
	[0xa0] = ATAPI(cmd_packet, 0),					/* PACKET */
	[0xa1] = ATAPI(cmd_identify_packet, 0),				/* IDENTIFY PACKET DEVICE */
	[0xc4] = DISK(cmd_pio_rw, ATA_MULTIPLE),			/* READ MULTIPLE */
	[0xc5] = DISK(cmd_pio_rw, ATA_WRITE | ATA_MULTIPLE),		/* WRITE MULTIPLE */
	[0xc6] = DISK(cmd_set_multiple, 0),				/* SET MULTIPLE MODE */
	[0xc8] = DISK(cmd_dma_rw, ATA_DMA),				/* READ DMA */
	[0xc9] = DISK(cmd_dma_rw, ATA_DMA),				/* ... without retry */
	[0xca] = DISK(cmd_dma_rw, ATA_DMA | ATA_WRITE),			/* WRITE DMA */
	[0xcb] = DISK(cmd_dma_rw, ATA_DMA | ATA_WRITE),			/* ... without retry */
	[0xe0 ... 0xe3] = BOTH(cmd_ok),					/* STANDBY/IDLE (IMMEDIATE) */
	[0xe5] = BOTH(cmd_check_power),					/* CHECK POWER MODE */
	[0xe6] = BOTH(cmd_ok),						/* SLEEP */
	/* A CD-ROM has no write cache to flush. */
	[0xe7] = { .disk = cmd_flush, .cdrom = cmd_ok, .flags = ATA_FLUSH },	/* FLUSH CACHE */
	[0xea] = { .disk = cmd_flush, .cdrom = cmd_ok, .flags = ATA_FLUSH },	/* FLUSH CACHE EXT */
	[0xec] = { .disk = cmd_identify, .cdrom = cmd_identify_atapi_sig },	/* IDENTIFY DEVICE */
	[0xef] = BOTH(cmd_set_features),				/* SET FEATURES */
	[0xf8] = DISK(cmd_read_native_max, 0),				/* READ NATIVE MAX ADDRESS */
};
/* clang-format on */

void ide_ata_exec(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_unit *u = &ch->unit[ch->cur];
	const struct ata_cmd *c = &ata_cmds[cmd];
	bool device_reset = (c->flags & ATA_RESET) && u->kind == IDE_CDROM;
	ata_handler *fn;

	/* An absent unit does not answer. */
	if (u->kind == IDE_NONE || u->reset_pending)
		return;
	/* Only DEVICE RESET to an ATAPI device is taken while BSY or DRQ. */
	if ((u->status & (ST_BSY | ST_DRQ)) && !device_reset)
		return;
	if (u->inflight && !(c->flags & ATA_RESET))
		return;
	ide_unit_stop_transfer(u);
	u->cmd = cmd;
	u->error = 0;
	u->lba48 = c->flags & ATA_LBA48;
	fn = u->kind == IDE_DISK ? c->disk : c->cdrom;
	if (fn)
		fn(u, c);
	else
		ata_abort(u);
}
