// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/disk_stats.h"

#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_blk.h"
#include "vmm/board.h"
#include "vmm/cli.h"

/* In the order of enum vblk_type (virtio_blk.h). */
static const char *const type_names[VIRTIO_BLK_STAT_TYPES] = {
	"in", "out", "flush", "get-id", "discard", "write-zeroes", "unknown",
};

struct disk {
	const char *id;
	struct virtio_blk_stats st;
	struct virtio_blk_queue_stats sum;
};

struct collect {
	struct disk *d;
	unsigned n, max;
};

static void add_queue(struct virtio_blk_queue_stats *sum, const struct virtio_blk_queue_stats *q)
{
	for (unsigned t = 0; t < VIRTIO_BLK_STAT_TYPES; t++)
		sum->requests[t] += q->requests[t];
	sum->bytes_read += q->bytes_read;
	sum->bytes_written += q->bytes_written;
	sum->errors += q->errors;
	sum->queue_errors += q->queue_errors;
	sum->dropped += q->dropped;
	for (unsigned b = 0; b < VIRTIO_BLK_LAT_BUCKETS; b++)
		sum->latency[b] += q->latency[b];
}

static void collect_one(void *opaque, const struct board_entry *e, void *state)
{
	struct collect *c = opaque;
	struct disk *d;

	if (e->type != &virtio_blk_type || c->n == c->max)
		return;
	d = &c->d[c->n++];
	memset(d, 0, sizeof(*d));
	d->id = e->id;
	virtio_blk_get_stats(state, &d->st);
	for (unsigned q = 0; q < d->st.num_queues && q < VIRTIO_BLK_MAX_QUEUES; q++)
		add_queue(&d->sum, &d->st.q[q]);
}

/* Every virtio disk's counters now, in board order (*d freed by the caller);
 * -1 when out of memory. */
static int collect(struct board *b, struct disk **d)
{
	struct collect c = { .max = CLI_MAX_VIRTIO_DISKS };

	c.d = calloc(c.max, sizeof(*c.d));
	*d = c.d;
	if (!c.d)
		return -1;
	board_for_each(b, collect_one, &c);
	return (int)c.n;
}

static json_t *queue_json(const struct virtio_blk_queue_stats *q)
{
	json_t *req = json_object(), *hist = json_array();

	for (unsigned t = 0; req && t < VIRTIO_BLK_STAT_TYPES; t++)
		json_object_set_new(req, type_names[t], json_integer((json_int_t)q->requests[t]));
	for (unsigned b = 0; hist && b < VIRTIO_BLK_LAT_BUCKETS; b++)
		if (q->latency[b])
			json_array_append_new(hist, json_pack("[I, I]", (json_int_t)1 << (b + 1),
							      (json_int_t)q->latency[b]));
	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:o}", "requests", req, "bytes_read",
			 (json_int_t)q->bytes_read, "bytes_written", (json_int_t)q->bytes_written,
			 "errors", (json_int_t)q->errors, "queue_errors",
			 (json_int_t)q->queue_errors, "dropped", (json_int_t)q->dropped,
			 "latency_histogram_ns", hist);
}

json_t *disk_stats_json(struct board *b)
{
	struct disk *d;
	int n = collect(b, &d);
	json_t *list = n < 0 ? NULL : json_array();

	for (int i = 0; list && i < n; i++) {
		json_t *o = queue_json(&d[i].sum), *per = json_array();

		for (unsigned q = 0; per && q < d[i].st.num_queues && q < VIRTIO_BLK_MAX_QUEUES; q++)
			json_array_append_new(per, queue_json(&d[i].st.q[q]));
		if (!o || !per) {
			json_decref(o);
			json_decref(per);
			json_decref(list);
			free(d);
			return NULL;
		}
		json_object_set_new(o, "id", json_string(d[i].id));
		json_object_set_new(o, "queues", json_integer(d[i].st.num_queues));
		json_object_set_new(o, "io_uring_requests",
				    json_integer((json_int_t)d[i].st.path.uring));
		json_object_set_new(o, "worker_requests",
				    json_integer((json_int_t)d[i].st.path.workers));
		json_object_set_new(o, "per_queue", per);
		json_array_append_new(list, o);
	}
	free(d);
	return list;
}

/* The upper bound of the bucket that holds the 99th percentile, in ns. */
static unsigned long long p99_ns(const struct virtio_blk_queue_stats *q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned b = 0; b < VIRTIO_BLK_LAT_BUCKETS; b++)
		total += q->latency[b];
	for (unsigned b = 0; b < VIRTIO_BLK_LAT_BUCKETS; b++) {
		seen += q->latency[b];
		if (total && seen * 100 >= total * 99)
			return 1ULL << (b + 1);
	}
	return 0;
}

void disk_stats_print(struct board *b, FILE *f)
{
	struct disk *d;
	int n = collect(b, &d);

	if (n <= 0) {
		free(d);
		return;
	}
	fprintf(f, "virtio disks:\n  %-14s %6s %10s %10s %8s %12s %12s %7s %9s %10s %10s\n", "id",
		"queues", "reads", "writes", "flushes", "read bytes", "written", "errors",
		"p99<= us", "io_uring", "workers");
	for (int i = 0; i < n; i++) {
		const struct virtio_blk_queue_stats *s = &d[i].sum;

		fprintf(f,
			"  %-14s %6u %10llu %10llu %8llu %12llu %12llu %7llu %9.1f %10llu %10llu\n",
			d[i].id, d[i].st.num_queues, (unsigned long long)s->requests[0],
			(unsigned long long)s->requests[1], (unsigned long long)s->requests[2],
			(unsigned long long)s->bytes_read, (unsigned long long)s->bytes_written,
			(unsigned long long)(s->errors + s->queue_errors), p99_ns(s) / 1000.0,
			(unsigned long long)d[i].st.path.uring,
			(unsigned long long)d[i].st.path.workers);
	}
	free(d);
}
