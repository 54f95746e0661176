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

#include "devices/block/block.h"
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

/* The state virtio_blk_type.create returns. */
struct virtio_blk;

/* Counters for --stats, per queue.  Types in the order of enum vblk_type
 * (virtio_blk_req.h): in, out, flush, get-id, discard, write-zeroes,
 * unknown. */
#define VIRTIO_BLK_STAT_TYPES	 7
#define VIRTIO_BLK_LAT_BUCKETS	 32 /* bucket b: [2^b, 2^(b+1)) ns; the last is open */
struct virtio_blk_queue_stats {
	uint64_t requests[VIRTIO_BLK_STAT_TYPES];
	uint64_t bytes_read, bytes_written;
	uint64_t errors;       /* completed with IOERR or UNSUPP */
	uint64_t queue_errors; /* chains that could not be answered: the queue failed */
	uint64_t dropped;      /* finished after their queue was reset: not pushed */
	uint64_t latency[VIRTIO_BLK_LAT_BUCKETS]; /* pop to push */
};
struct virtio_blk_stats {
	unsigned num_queues;
	struct block_path_stats path; /* the image's requests: io_uring or workers */
	struct virtio_blk_queue_stats q[VIRTIO_BLK_MAX_QUEUES];
};
/* Any thread (takes the transport lock). */
void virtio_blk_get_stats(struct virtio_blk *vb, struct virtio_blk_stats *st);

/* For tests: the transport (its BARs are on the buses the board gave). */
struct virtio_pci *virtio_blk_transport(struct virtio_blk *vb);

#endif
