/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk (virtio 1.x §5.2) on the virtio PCI transport: one block
 * device (devices/block/block.h) per PCI function, transitional by
 * default (1af4:1001, subsystem 1af4:0002).
 */
#ifndef MINIVMM_VIRTIO_BLK_H
#define MINIVMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "vmm/device.h"

struct block_dev;

#define VIRTIO_BLK_MAX_QUEUES 16
#define VIRTIO_BLK_ID_BYTES   20 /* GET_ID: the serial, NUL-padded */

/* The board's configuration of one virtio disk (board row .arg). */
struct virtio_blk_args {
	struct block_dev *bd;	   /* opened by vmm/drives.c; the device does not close it */
	const char *serial;	   /* GET_ID; NULL: derived from the image */
	unsigned num_queues;	   /* 1..VIRTIO_BLK_MAX_QUEUES */
	enum virtio_transport transport;
};

/* Board row: .devfn -1 (the next option slot) or a fixed slot, .irq -1,
 * .arg a const struct virtio_blk_args *. */
extern const struct device_type virtio_blk_type;

#endif
