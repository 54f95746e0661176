/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VM-exit statistics for research: every exit counted by reason, port I/O by
 * port and MMIO by bus region, each with the time minivmm spent handling it
 * (total, max and a log2 histogram).  Each vCPU owns one struct exit_stats,
 * which only its own vCPU writes: the hot path takes the table's own mutex,
 * which nobody else holds except a reader taking a live copy
 * (stats_take(), QMP query-exit-stats) or the merge at exit.
 */
#ifndef MINIVMM_STATS_H
#define MINIVMM_STATS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/bus.h"

struct fastpath;

#define STATS_HIST_BUCKETS 40 /* bucket i: [2^i, 2^(i+1)) ns; bucket 0 also holds 0 */
#define STATS_MAX_REASON 64

struct stat_bucket {
	uint64_t count;
	uint64_t total_ns;
	uint64_t max_ns;
	uint64_t hist[STATS_HIST_BUCKETS];
};

struct io_stat {
	struct stat_bucket time;
	uint64_t reads, writes, unclaimed;
	int region; /* bus region id seen last, BUS_UNCLAIMED if none */
};

struct exit_stats {
	struct stat_bucket reason[STATS_MAX_REASON + 1]; /* last slot: reasons >= 64 */
	struct io_stat *pio[65536];			 /* by port, allocated on first use */
	struct io_stat *mmio[BUS_MAX_REGIONS + 1];	 /* by region id; last slot unclaimed */
	uint64_t interrupted; /* KVM_RUN returned EINTR (kicks) */
	pthread_mutex_t lock; /* the writer's (its vCPU) and a reader's */
};

struct exit_stats *stats_new(void);
void stats_free(struct exit_stats *s);

/* Adds one sample to a bucket (no lock: the caller owns b). */
void stats_record(struct stat_bucket *b, uint64_t ns);
/* Each takes s's lock. */
void stats_exit(struct exit_stats *s, unsigned reason, uint64_t ns);
void stats_pio(struct exit_stats *s, uint16_t port, bool write, int region, uint64_t ns);
void stats_mmio(struct exit_stats *s, int region, bool write, uint64_t ns);
void stats_interrupted(struct exit_stats *s);

/* Adds src into dst (dst may start empty; dst is the caller's alone). */
void stats_merge(struct exit_stats *dst, const struct exit_stats *src);
/* The same under src's lock, while src's writer runs; with reset, src is
 * zeroed in the same step. */
void stats_take(struct exit_stats *dst, struct exit_stats *src, bool reset);

/* Human-readable table and JSON.  The buses name the regions; fp (may be
 * NULL) adds which fast paths are on and what went through them ("accel"). */
void stats_print_table(const struct exit_stats *s, const struct bus *pio, const struct bus *mmio,
		       const struct fastpath *fp, FILE *f);
/* The exit statistics as JSON, a new reference (NULL: no memory). */
json_t *stats_json(const struct exit_stats *s, const struct bus *pio, const struct bus *mmio,
		   const struct fastpath *fp);

const char *stats_reason_name(unsigned reason);

/* A bucket as JSON: {"count", "total_ns", "avg_ns", "p99_ns", "max_ns",
 * "histogram_log2_ns": [[upper bound ns, count]...]} (new reference). */
json_t *stats_bucket_json(const struct stat_bucket *b);
/* The devices' part (board_stats_json()) as a table: one row per queue of
 * each device whose statistics have "queues" (the virtio devices). */
void stats_print_devices(json_t *devices, FILE *f);

#endif
