/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the IDE model: the state its four files share.  Nothing else
 * includes this header; devices use devices/ide.h.
 *
 *   ide.c      the channel: task-file registers, status, interrupt, PIO data
 *              port, block requests on the unit buffer, pause/resume, life
 *              cycle (attach, medium change, reset)
 *   ide_ata.c  the ATA command set, one table from opcode to handler
 *   ide_dma.c  the PIIX bus-master engine: registers, PRD walk, transfers
 *   atapi.c    the CD-ROM's PACKET commands (devices/atapi.h)
 *
 * How a command runs: a write of the command register reaches
 * ide_ata_exec(), which looks the opcode up and calls its handler.  The
 * handler either finishes at once (ata_ok / ata_error raise the interrupt),
 * opens a PIO window on the unit buffer (ide_pio_start: the guest moves the
 * data through the data port, and the window's end_fn says what follows),
 * starts a block request on that buffer (ide_unit_submit: the completion
 * comes back in ata_io_done or atapi_read_done), or hands a transfer to
 * the bus-master engine (ide_dma_request: it starts when the guest sets the
 * engine's start bit, and ends in ata_dma_done or atapi_dma_done).
 *
 * Every function here is called with the channel's mutex held.
 */
#ifndef MINIVMM_IDE_INT_H
#define MINIVMM_IDE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/ide.h"

/* One buffer per unit: PIO data blocks, ATAPI replies, chunks of reads. */
#define IDE_BUF_SIZE (128u * 1024)
#define IDE_SECTOR   512u
#define CD_SECTOR    2048u
/* The block layer takes at most 1024 iovecs per request. */
#define IDE_MAX_IOV 1024

/* Status register */
#define ST_ERR	0x01
#define ST_DRQ	0x08
#define ST_DSC	0x10
#define ST_DRDY 0x40
#define ST_BSY	0x80
/* Error register */
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC	0x40
/* ATAPI interrupt reason, in the sector count register */
#define IR_COD 0x01
#define IR_IO  0x02
/* Device control register */
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define CTL_HOB	 0x80
/* Device/head register */
#define SEL_LBA 0x40
#define SEL_DEV 0x10
/* Bus-master command and status registers */
#define BM_CMD_START  0x01
#define BM_CMD_TO_MEM 0x08
#define BM_ST_ACTIVE  0x01
#define BM_ST_ERROR   0x02
#define BM_ST_INT     0x04
#define BM_ST_CAP     0x60

/* The largest READ/WRITE MULTIPLE block, in sectors. */
#define MAX_MULT    16
#define BUF_SECTORS (IDE_BUF_SIZE / IDE_SECTOR)

enum ide_kind { IDE_NONE, IDE_DISK, IDE_CDROM };

/* What happens when the guest has moved the last byte of a PIO window. */
enum ide_end { END_NONE, END_STOP, END_DISK_READ, END_DISK_WRITE, END_PACKET, END_ATAPI_DATA };

enum ide_dma_op { DMA_DISK_READ, DMA_DISK_WRITE, DMA_CD_READ, DMA_BUF };

/* A block request on the unit's buffer (PIO transfers, flushes). */
enum ide_io_kind { IO_READ, IO_WRITE, IO_FLUSH };

struct ide_channel;

struct ide_unit {
	struct ide_channel *ch;
	unsigned idx;
	enum ide_kind kind;
	struct block_dev *bd; /* NULL: CD-ROM without medium */
	uint64_t nb_sectors;  /* medium size in 512 (disk) or 2048 (CD) byte units */
	bool read_only;
	bool fd_registered;
	unsigned serial;

	/* Task file; hob_* hold the previous write (LBA48 high bytes). */
	uint8_t feature, nsector, sector, lcyl, hcyl;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t select, status, error;

	/* The PIO window buf[pos, end) and its direction. */
	uint8_t *buf;
	uint32_t pos, end;
	bool to_host;
	enum ide_end end_fn;

	/* The command in progress. */
	uint8_t cmd;
	bool lba48;
	uint64_t lba;	    /* next sector (disk) or block (CD) to load or store */
	uint64_t left;	    /* disk: sectors not loaded/received; CD: blocks not loaded */
	uint64_t xfer_left; /* disk read: sectors not yet sent; ATAPI: bytes */
	uint32_t buf_len;   /* valid bytes in buf */
	uint32_t chunk_pos; /* start of the current window in buf */
	unsigned block;	    /* sectors per DRQ block */

	/* A request of this unit is with the block layer.  A software reset
	 * (SRST, DEVICE RESET) meanwhile bumps gen, and the stale completion
	 * finishes the reset instead; a DMA read of the same boot may still
	 * land, as on hardware.  A hardware reset waits for the request first
	 * (ide_channel_reset), so nothing lands in the next boot's RAM. */
	bool inflight, reset_pending;
	unsigned gen, inflight_gen;
	/* A request asked for while the channel was paused, submitted by
	 * ide_channel_resume() (the command waits with BSY meanwhile). */
	bool deferred;
	enum ide_io_kind deferred_kind;
	uint64_t deferred_offset;
	uint32_t deferred_len;

	/* Disk */
	unsigned cyls, heads, secs;
	unsigned cur_cyls, cur_heads, cur_secs;
	unsigned mult; /* sectors per block of READ/WRITE MULTIPLE, 0 = off */
	bool wcache;
	uint8_t pio_mode, dma_mode; /* SET FEATURES 03h values */

	/* ATAPI */
	uint8_t packet[12];
	uint32_t bcl; /* byte count limit of the PIO data-in phase */
	bool atapi_dma;
	uint8_t sense_key, asc, ascq;
	uint8_t change_state; /* after a medium change: 1 NOT READY, 2 UNIT ATTENTION */
	/* GESN media events waiting to be reported (atapi.c has the rules). */
	bool ev_removal, ev_new_media, ev_eject_request;
	bool tray_open, locked;
	bool swapped; /* the medium changed while the tray was open */
};

struct ide_dma {
	bool pending;  /* a DMA command waits for the engine */
	bool inflight; /* its block request is running */
	unsigned unit;
	enum ide_dma_op op;
	uint64_t offset, bytes;
	bool short_prd, stay_active;
	uint64_t done_bytes;
};

struct ide_channel {
	pthread_mutex_t lock;
	struct irq_line irq; /* a copy of the creator's */
	const struct guest_mem *mem;
	struct event_loop *loop;
	struct ide_unit unit[2];
	unsigned paused; /* ide_channel_pause() nesting: no request starts while > 0 */
	unsigned cur;	 /* selected unit */
	uint8_t ctl;	 /* device control */
	bool irq_pending, irq_level;

	/* Told of every tray movement, host's or guest's (ide_set_tray_notifier). */
	ide_tray_fn *tray_fn;
	void *tray_opaque;

	uint8_t bm_cmd, bm_status;
	uint32_t bm_prd;
	struct ide_dma dma;
	struct iovec iov[IDE_MAX_IOV];
};

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ide.c: the channel */
void ide_irq_raise(struct ide_channel *ch);
/* Opens the PIO window buf[start, start + len) with DRQ set. */
void ide_pio_start(struct ide_unit *u, uint32_t start, uint32_t len, bool to_host,
		   enum ide_end end_fn);
/* Starts a request on the unit's buffer (BSY meanwhile); the completion goes
 * to ata_io_done or atapi_read_done, at once if it is refused. */
void ide_unit_submit(struct ide_unit *u, enum ide_io_kind kind, uint64_t offset, uint32_t len);
/* Reads len bytes at offset into u->buf; completion in atapi_read_done. */
int ide_submit_read(struct ide_unit *u, uint64_t offset, uint32_t len);
void ide_unit_stop_transfer(struct ide_unit *u);
/* The register values that identify the device type (ATA-6 9.12). */
void ide_unit_set_signature(struct ide_unit *u);
uint8_t ide_unit_diag_status(const struct ide_unit *u);
/* hard: power-on (transfer modes, write cache, lock) as well. */
void ide_unit_reset(struct ide_unit *u, bool hard);
/* A reset that hit a unit with a request in flight ends when it completes. */
void ide_unit_finish_reset(struct ide_unit *u);

/* ide_ata.c: the ATA command set */
void ide_ata_exec(struct ide_channel *ch, uint8_t cmd);
/* The guest moved the last byte of a disk PIO window. */
void ata_pio_read_next(struct ide_unit *u);
void ata_pio_write_block(struct ide_unit *u);
void ata_io_done(struct ide_unit *u, int64_t ret);
void ata_dma_done(struct ide_unit *u, int err);
/* IDENTIFY PACKET DEVICE: data in the buffer, PIO started, interrupt. */
void atapi_identify(struct ide_unit *u);

/* ide_dma.c: the bus-master engine */
/* Hands a transfer to the bus-master engine; false while the engine is busy
 * with the other unit. */
bool ide_dma_request(struct ide_unit *u, enum ide_dma_op op, uint64_t offset, uint64_t bytes);
/* Drops a transfer that waits for the engine (software reset). */
void ide_dma_cancel(struct ide_channel *ch);
/* Power-on state of the engine's registers. */
void ide_dma_reset(struct ide_channel *ch);
/* After a pause: starts a transfer that waits with the engine started. */
void ide_dma_resume(struct ide_channel *ch);

#endif
