/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One IDE channel (two units: ATA disks or ATAPI CD-ROMs) with its PIIX-style
 * bus-master DMA engine, on top of the block layer.  PCI-agnostic: the PCI
 * function (PIIX3 IDE) registers the three bus ranges of each channel.
 *
 *   ide_cmd_bus_ops    8 ports (0x1f0-0x1f7 / 0x170-0x177).  The data port
 *                      takes 2- and 4-byte accesses; other ports are bytes
 *                      (wider accesses are split).
 *   ide_ctl_bus_ops    1 port (0x3f6 / 0x376): alternate status on read,
 *                      device control (nIEN, SRST, HOB) on write.
 *   ide_bmdma_bus_ops  8 bytes (BAR4 + 0 / + 8): +0 command (start bit 0,
 *                      direction bit 3), +2 status (active 0x01, error 0x02
 *                      and interrupt 0x04 write-1-to-clear, drive 0/1 DMA
 *                      capable 0x20/0x40), +4 PRD table address (dword).
 *
 * The opaque of all three is the struct ide_channel.
 *
 * Threads: port accesses come from vCPU threads; block completions run on
 * the I/O thread (the channel registers each medium's completion fd with the
 * event loop given at creation) or inside ide_channel_drain().  Every entry
 * point takes the channel's mutex.  The interrupt line is driven with that
 * mutex held (lock order: channel, then whatever is behind the irq_line).
 *
 * Block devices stay owned by the caller: close them only after
 * ide_channel_destroy(), or after ide_cdrom_swap_medium() or
 * ide_cdrom_change_medium() has returned with the old medium out.  Attach,
 * tray and medium operations and destroy must run on the I/O thread (or
 * before it starts), as they add and remove event-loop fds and wait for
 * requests.
 */
#ifndef MINIVMM_IDE_H
#define MINIVMM_IDE_H

#include <stdbool.h>

#include "devices/block/block.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"
#include "vmm/irq.h"

#define IDE_CMD_SIZE   8
#define IDE_CTL_SIZE   1
#define IDE_BMDMA_SIZE 8

struct ide_channel;
struct event_loop;

/* irq is copied (may be NULL: no interrupt line).  loop may be NULL: then
 * completions run only in ide_channel_drain(). */
struct ide_channel *ide_channel_create(const struct irq_line *irq, const struct guest_mem *mem,
				       struct event_loop *loop);
/* Waits for outstanding I/O (running its completions), then frees. */
void ide_channel_destroy(struct ide_channel *ch);

/* unit 0 = master, 1 = slave.  0, -EINVAL (bad unit, NULL disk, a disk that
 * is empty) or -EBUSY (unit taken), or an error registering the fd. */
int ide_attach_disk(struct ide_channel *ch, unsigned unit, struct block_dev *bd);
/* bd NULL: a drive with no medium.  Sectors are 2048 bytes; a tail shorter
 * than that is not visible. */
int ide_attach_cdrom(struct ide_channel *ch, unsigned unit, struct block_dev *bd);
/*
 * The CD-ROM's tray and medium (QEMU's model: a medium can be in an open
 * tray; only an open tray lets one be taken out or put in).  What the guest
 * sees is atapi.c's business: NOT READY while there is no medium or the
 * tray is open, then, after the tray closes on a medium, NOT READY once and
 * UNIT ATTENTION 28h once, and GET EVENT STATUS NOTIFICATION media events.
 * -EINVAL for a unit that is not a CD-ROM.
 */
struct ide_cdrom_state {
	struct block_dev *bd; /* the medium, NULL: none */
	bool tray_open;
	bool locked;	      /* the guest prevents removal (PREVENT ALLOW MEDIUM REMOVAL) */
	bool eject_requested; /* reported to the guest, not yet read by it */
};
int ide_cdrom_get_state(struct ide_channel *ch, unsigned unit, struct ide_cdrom_state *st);
/* Opens the tray (0; also when it is open already).  While the guest locks
 * it, the guest is asked to allow an eject (GESN eject request) and the tray
 * stays shut (-EBUSY), unless force, which unlocks and opens it.  A command
 * that was reading the medium ends with NOT READY. */
int ide_cdrom_open_tray(struct ide_channel *ch, unsigned unit, bool force);
/* Closes the tray (0; also when it is closed). */
int ide_cdrom_close_tray(struct ide_channel *ch, unsigned unit);
/* Takes the medium out of the open tray and puts bd in (NULL: leaves it
 * empty); -EBUSY when the tray is closed.  Waits for every request on the old
 * medium first, so none of its data reaches the guest after this returns;
 * *old (may be NULL) gets the old medium, which the caller then closes. */
int ide_cdrom_swap_medium(struct ide_channel *ch, unsigned unit, struct block_dev *bd,
			  struct block_dev **old);
/* Open (force or not), swap, close: -EBUSY while the guest prevents removal
 * unless force. */
int ide_cdrom_change_medium(struct ide_channel *ch, unsigned unit, struct block_dev *bd,
			    bool force);
/* fn learns of every tray movement, the host's and the guest's (START STOP
 * UNIT on a vCPU thread).  It is called with the channel's mutex held (lock
 * order: channel, then what fn takes) and must not call into the channel. */
typedef void ide_tray_fn(void *opaque, unsigned unit, bool open);
void ide_set_tray_notifier(struct ide_channel *ch, ide_tray_fn *fn, void *opaque);

/* Hardware reset (PCI reset / machine reset): both units and the DMA engine.
 * Quiesces first (see ide_channel_pause), so when it returns no request
 * started before it is in flight and none will touch guest RAM. */
void ide_channel_reset(struct ide_channel *ch);
/* Stops the channel from starting block requests or DMA (a command that asks
 * for one waits with BSY, a DMA transfer stays pending) and waits for every
 * request in flight, running its completion, before it returns: afterwards
 * nothing touches guest memory until ide_channel_resume().  Nests (a counter).
 * Call it without the channel's mutex held; completions that are due run on
 * the calling thread (normally the I/O thread, with the vCPUs stopped). */
void ide_channel_pause(struct ide_channel *ch);
/* Undoes one ide_channel_pause(); the last one starts what was held back. */
void ide_channel_resume(struct ide_channel *ch);
/* Runs every pending completion until no I/O is in flight (tests, fuzzing). */
void ide_channel_drain(struct ide_channel *ch);

extern const struct bus_ops ide_cmd_bus_ops;
extern const struct bus_ops ide_ctl_bus_ops;
extern const struct bus_ops ide_bmdma_bus_ops;

#endif
