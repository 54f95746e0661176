/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The drive images the user named, opened before anything else starts. */
#ifndef MINIVMM_DRIVES_H
#define MINIVMM_DRIVES_H

#include <stddef.h>

#include "vmm/cli.h"

struct block_dev;

struct drives {
	struct block_dev *disk[CLI_MAX_DISKS]; /* IDE, in --disk order */
	unsigned nr_disks;
	struct block_dev *vdisk[CLI_MAX_VIRTIO_DISKS]; /* if=virtio, in --disk order */
	unsigned nr_vdisks;
	struct block_dev *cdrom;	       /* NULL: no CD-ROM drive, or an empty one */
	bool has_cdrom;
};

/* Where the IDE drives sit, as QEMU's -hda..-hdd and -cdrom: disk i on
 * drives_disk_pos[i] = {channel, unit}, the CD-ROM on DRIVES_CDROM_POS. */
extern const unsigned drives_disk_pos[CLI_MAX_DISKS][2];
#define DRIVES_CDROM_CHANNEL 1
#define DRIVES_CDROM_UNIT    0

/* Opens every drive of cfg, the disks in command-line order whichever
 * their if= (so the first bad one is the one named); on failure a one-line reason naming the option
 * and the image is in err, and whatever was opened is closed again. */
int drives_open(struct drives *d, const struct vm_config *cfg, char *err, size_t errlen);
void drives_close(struct drives *d);
/* Flushes every writable image (data and qcow2 metadata to stable storage),
 * with nothing in flight; a failure is reported on stderr, naming the image.
 * 0, or -1 if any failed. */
int drives_flush(struct drives *d);

#endif
