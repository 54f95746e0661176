/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The drives as the control interface sees them: QEMU's names for the IDE
 * drives of its `pc` machine (ide0-hd0, ide0-hd1, ide1-cd0, ide1-hd1: bus,
 * then hd or cd, then unit) and for -drive if=virtio (virtio0, virtio1...
 * in command-line order; not removable), and the operations QEMU 7.2
 * offers on them,
 * with its argument checking and its error texts:
 *
 *   query-block             every drive, its tray and its medium
 *   eject                   open the tray and take the medium out
 *   blockdev-change-medium  open a new image, then open, swap, close
 *   blockdev-open-tray      open (a locked tray: ask the guest, or force)
 *   blockdev-close-tray
 *   blockdev-remove-medium  take the medium out of an open tray
 *
 * A drive is addressed by `device` (its name) or `id`: our drives have no
 * user-given qdev id, so `id` takes the path query-block reports as `qdev`
 * (QEMU knows only -device ids there).  Every tray movement, the guest's
 * START STOP UNIT included, is sent as DEVICE_TRAY_MOVED {device, id,
 * tray-open}.
 *
 * A new image is opened as at start-up (format probing rules, image locks,
 * the drive's cache mode, nothing written): one that cannot be opened leaves
 * the drive as it was.  The images in struct drives belong to this module
 * from drive_control_new() on: a medium taken out is closed here and the
 * slot in struct drives always names the current one (drives_close() closes
 * it at the end, after the board).
 *
 * Threads: commands run on the I/O thread (they wait for the requests of an
 * old medium); the tray notifier may run on a vCPU thread.
 */
#ifndef MINIVMM_DRIVE_CONTROL_H
#define MINIVMM_DRIVE_CONTROL_H

#include <stdbool.h>

#include "vmm/cli.h"
#include "vmm/drives.h"

struct drive_control;
struct ide_channel;
struct qmp;

/* channel[0] primary, [1] secondary: where board.c put the drives of d
 * (drives_disk_pos).  Events go to q.  NULL when out of memory. */
struct drive_control *drive_control_new(struct drives *d, const struct vm_config *cfg,
					struct ide_channel *const channel[2], struct qmp *q);
/* Call after the channels are destroyed (the board first). */
void drive_control_free(struct drive_control *dc);

/* Registers the six commands above; 0 or the error of qmp_register(). */
int drive_control_register(struct qmp *q, struct drive_control *dc);

/* The same operations for other callers (HMP words, minivmm-ctl); 0, or -1
 * with QEMU's error in err. */
struct qmp_error;
int drive_control_eject(struct drive_control *dc, const char *device, const char *id, bool force,
			struct qmp_error *err);
int drive_control_change(struct drive_control *dc, const char *device, const char *id,
			 const char *filename, const char *format, bool force,
			 const char *read_only_mode, struct qmp_error *err);

#endif
