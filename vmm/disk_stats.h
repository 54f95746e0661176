/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio disks' request counters (virtio_blk_get_stats()) for --stats:
 * one entry per virtio-blk row of the board, in board order, as JSON (the
 * "virtio-blk" member of --stats=json:) or as a table.
 */
#ifndef MINIVMM_DISK_STATS_H
#define MINIVMM_DISK_STATS_H

#include <jansson.h>
#include <stdio.h>

struct board;

/* [{"id", "queues", "requests": {type: n}, "bytes_read", "bytes_written",
 * "errors", "queue_errors", "dropped", "io_uring_requests",
 * "worker_requests" (whole device), "latency_histogram_ns": [[upper
 * bound ns, n], ...] (pop to push, log2 buckets; the last is open above),
 * "per_queue": [{"requests", ...}, ...]}, ...]; a new reference, NULL when
 * out of memory. */
json_t *disk_stats_json(struct board *b);
/* The same as a table on f; nothing without virtio disks. */
void disk_stats_print(struct board *b, FILE *f);

#endif
