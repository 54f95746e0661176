// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/stats.h"
#include "vmm/fastpath.h"

#include <errno.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

struct exit_stats *stats_new(void)
{
	struct exit_stats *s = calloc(1, sizeof(struct exit_stats));

	if (s)
		pthread_mutex_init(&s->lock, NULL);
	return s;
}

/* Every count to zero, the slots freed; with s->lock held or unshared. */
static void stats_clear(struct exit_stats *s)
{
	for (unsigned i = 0; i < 65536; i++) {
		free(s->pio[i]);
		s->pio[i] = NULL;
	}
	for (unsigned i = 0; i <= BUS_MAX_REGIONS; i++) {
		free(s->mmio[i]);
		s->mmio[i] = NULL;
	}
	memset(s->reason, 0, sizeof(s->reason));
	s->interrupted = 0;
}

void stats_free(struct exit_stats *s)
{
	if (!s)
		return;
	stats_clear(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static unsigned hist_bucket(uint64_t ns)
{
	unsigned b = ns ? 63 - (unsigned)__builtin_clzll(ns) : 0;

	return b < STATS_HIST_BUCKETS ? b : STATS_HIST_BUCKETS - 1;
}

void stats_record(struct stat_bucket *b, uint64_t ns)
{
	b->count++;
	b->total_ns += ns;
	if (ns > b->max_ns)
		b->max_ns = ns;
	b->hist[hist_bucket(ns)]++;
}

void stats_exit(struct exit_stats *s, unsigned reason, uint64_t ns)
{
	pthread_mutex_lock(&s->lock);
	stats_record(&s->reason[reason < STATS_MAX_REASON ? reason : STATS_MAX_REASON], ns);
	pthread_mutex_unlock(&s->lock);
}

void stats_interrupted(struct exit_stats *s)
{
	pthread_mutex_lock(&s->lock);
	s->interrupted++;
	pthread_mutex_unlock(&s->lock);
}

static struct io_stat *io_slot(struct io_stat **slot)
{
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (*slot)
			(*slot)->region = BUS_UNCLAIMED;
	}
	return *slot;
}

static void io_record(struct io_stat *st, bool write, int region, uint64_t ns)
{
	if (!st)
		return; /* out of memory: drop the sample rather than the exit */
	stats_record(&st->time, ns);
	if (write)
		st->writes++;
	else
		st->reads++;
	if (region == BUS_UNCLAIMED)
		st->unclaimed++;
	else
		st->region = region;
}

void stats_pio(struct exit_stats *s, uint16_t port, bool write, int region, uint64_t ns)
{
	pthread_mutex_lock(&s->lock);
	io_record(io_slot(&s->pio[port]), write, region, ns);
	pthread_mutex_unlock(&s->lock);
}

void stats_mmio(struct exit_stats *s, int region, bool write, uint64_t ns)
{
	unsigned idx = region >= 0 && region < BUS_MAX_REGIONS ? (unsigned)region : BUS_MAX_REGIONS;

	pthread_mutex_lock(&s->lock);
	io_record(io_slot(&s->mmio[idx]), write, region, ns);
	pthread_mutex_unlock(&s->lock);
}

static void bucket_merge(struct stat_bucket *d, const struct stat_bucket *s)
{
	d->count += s->count;
	d->total_ns += s->total_ns;
	if (s->max_ns > d->max_ns)
		d->max_ns = s->max_ns;
	for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++)
		d->hist[i] += s->hist[i];
}

static void io_merge(struct io_stat **d, const struct io_stat *s)
{
	struct io_stat *t;

	if (!s || !(t = io_slot(d)))
		return;
	bucket_merge(&t->time, &s->time);
	t->reads += s->reads;
	t->writes += s->writes;
	t->unclaimed += s->unclaimed;
	if (s->region != BUS_UNCLAIMED)
		t->region = s->region;
}

void stats_merge(struct exit_stats *dst, const struct exit_stats *src)
{
	for (unsigned i = 0; i <= STATS_MAX_REASON; i++)
		bucket_merge(&dst->reason[i], &src->reason[i]);
	for (unsigned i = 0; i < 65536; i++)
		io_merge(&dst->pio[i], src->pio[i]);
	for (unsigned i = 0; i <= BUS_MAX_REGIONS; i++)
		io_merge(&dst->mmio[i], src->mmio[i]);
	dst->interrupted += src->interrupted;
}

void stats_take(struct exit_stats *dst, struct exit_stats *src, bool reset)
{
	pthread_mutex_lock(&src->lock);
	stats_merge(dst, src);
	if (reset)
		stats_clear(src);
	pthread_mutex_unlock(&src->lock);
}

static const char *const reason_names[] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_SET_TPR] = "set_tpr",
	[KVM_EXIT_TPR_ACCESS] = "tpr_access",
	[KVM_EXIT_NMI] = "nmi",
	[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_OSI] = "osi",
	[KVM_EXIT_PAPR_HCALL] = "papr_hcall",
	[KVM_EXIT_WATCHDOG] = "watchdog",
	[KVM_EXIT_EPR] = "epr",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	[KVM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
	[KVM_EXIT_HYPERV] = "hyperv",
};

const char *stats_reason_name(unsigned reason)
{
	if (reason < sizeof(reason_names) / sizeof(reason_names[0]) && reason_names[reason])
		return reason_names[reason];
	return "other";
}

/* Upper bound (ns) of the histogram bucket holding the given quantile. */
static uint64_t quantile_ns(const struct stat_bucket *b, double q)
{
	uint64_t want = (uint64_t)(q * (double)b->count), seen = 0;

	for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++) {
		seen += b->hist[i];
		if (seen > want)
			return (2ULL << i) < b->max_ns ? (2ULL << i) : b->max_ns;
	}
	return b->max_ns;
}

static void print_row(FILE *f, const char *name, const char *extra, const struct stat_bucket *b)
{
	fprintf(f, "  %-28s %-14s %10llu %12.3f %9.2f %9.2f %10.2f\n", name, extra,
		(unsigned long long)b->count, (double)b->total_ns / 1e6,
		b->count ? (double)b->total_ns / (double)b->count / 1e3 : 0.0,
		(double)quantile_ns(b, 0.99) / 1e3, (double)b->max_ns / 1e3);
}

static const char *region_name(const struct bus *bus, const struct io_stat *st)
{
	if (st->unclaimed && st->unclaimed == st->reads + st->writes)
		return "unclaimed";
	return bus ? bus_region_name(bus, st->region) : "?";
}

void stats_print_table(const struct exit_stats *s, const struct bus *pio, const struct bus *mmio,
		       const struct fastpath *fp, FILE *f)
{
	static const char head[] = "  %-28s %-14s %10s %12s %9s %9s %10s\n";
	char name[40], extra[32];

	fprintf(f, "\nminivmm: VM exits (time is what minivmm spent handling each exit)\n");
	fprintf(f, head, "reason", "", "count", "total ms", "avg us", "p99<= us", "max us");
	for (unsigned i = 0; i <= STATS_MAX_REASON; i++)
		if (s->reason[i].count)
			print_row(f, i < STATS_MAX_REASON ? stats_reason_name(i) : ">=64", "",
				  &s->reason[i]);
	fprintf(f, "  KVM_RUN interrupted by kicks: %llu\n", (unsigned long long)s->interrupted);

	fprintf(f, head, "port I/O by port", "device", "count", "total ms", "avg us", "p99<= us",
		"max us");
	for (unsigned p = 0; p < 65536; p++) {
		const struct io_stat *st = s->pio[p];

		if (!st)
			continue;
		snprintf(name, sizeof(name), "0x%04x (r %llu, w %llu)", p,
			 (unsigned long long)st->reads, (unsigned long long)st->writes);
		snprintf(extra, sizeof(extra), "%s", region_name(pio, st));
		print_row(f, name, extra, &st->time);
	}
	fprintf(f, head, "MMIO by region", "", "count", "total ms", "avg us", "p99<= us", "max us");
	for (unsigned i = 0; i <= BUS_MAX_REGIONS; i++) {
		const struct io_stat *st = s->mmio[i];

		if (!st)
			continue;
		snprintf(name, sizeof(name), "%s (r %llu, w %llu)",
			 i < BUS_MAX_REGIONS && mmio ? bus_region_name(mmio, (int)i) : "unclaimed",
			 (unsigned long long)st->reads, (unsigned long long)st->writes);
		print_row(f, name, "", &st->time);
	}
	if (fp)
		fastpath_print(fp, f);
}

json_t *stats_bucket_json(const struct stat_bucket *b)
{
	json_t *hist = json_array();

	/* Histogram as [upper bound ns, count] pairs for the non-empty buckets. */
	for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++)
		if (b->hist[i])
			json_array_append_new(hist, json_pack("[I,I]", (json_int_t)(2ULL << i),
							      (json_int_t)b->hist[i]));
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:o}", "count", (json_int_t)b->count, "total_ns",
			 (json_int_t)b->total_ns, "avg_ns",
			 (json_int_t)(b->count ? b->total_ns / b->count : 0), "p99_ns",
			 (json_int_t)quantile_ns(b, 0.99), "max_ns", (json_int_t)b->max_ns,
			 "histogram_log2_ns", hist);
}

static uint64_t jget(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* Where each ring stands now: a guest that waits for a completion it will
 * never get shows here (avail ahead of last_avail with no kick, requests in
 * flight that do not move, an ISR the driver does not read). */
static void print_rings(json_t *devices, FILE *f)
{
	const char *id;
	json_t *dev;

	fprintf(f, "\nminivmm: virtio rings now (avail: the driver's index; used_event: the "
		   "interrupt it asked for)\n");
	fprintf(f, "  %-14s %2s %10s %10s %10s %10s %8s %6s %4s %-6s\n", "device", "q",
		"last_avail", "avail", "used", "used_event", "inflight", "notify", "isr", "intx");
	json_object_foreach(devices, id, dev) {
		json_t *queues = json_object_get(dev, "queues"), *q;
		json_t *ix = json_object_get(dev, "intx_irqfd");
		size_t i;

		json_array_foreach(queues, i, q) {
			json_t *r = json_object_get(q, "ring");

			if (!r)
				continue;
			fprintf(
			    f, "  %-14s %2llu %10llu %10llu %10llu %10llu %8llu %6s %4llu %-6s\n",
			    id, (unsigned long long)jget(q, "queue", NULL),
			    (unsigned long long)jget(r, "last_avail", NULL),
			    (unsigned long long)jget(r, "avail_idx", NULL),
			    (unsigned long long)jget(r, "used_idx", NULL),
			    (unsigned long long)jget(r, "used_event", NULL),
			    (unsigned long long)jget(r, "inflight", NULL),
			    json_is_true(json_object_get(r, "notify_enabled")) ? "on" : "off",
			    (unsigned long long)jget(dev, "isr", NULL),
			    !ix ? "-"
			    : json_is_true(json_object_get(ix, "raised"))
				? "raised"
				: (json_is_true(json_object_get(ix, "level")) ? "level" : "low"));
		}
	}
}

/* The queues that move frames (a "role" and "packets": virtio-net's):
 * packets, bytes, ring-empty events and drops of every reason together. */
static void print_nic_queues(json_t *devices, FILE *f)
{
	const char *id;
	json_t *dev;
	bool head = false;

	json_object_foreach(devices, id, dev) {
		json_t *queues = json_object_get(dev, "queues"), *q;
		size_t i;

		json_array_foreach(queues, i, q) {
			const char *role = json_string_value(json_object_get(q, "role"));
			json_t *drops = json_object_get(q, "drops"), *v;
			unsigned long long dropped = 0;
			const char *k;

			if (!role || !json_object_get(q, "packets"))
				continue;
			if (!head) {
				fprintf(f, "\nminivmm: NIC queues\n  %-14s %2s %-4s %12s %14s %10s "
					   "%10s\n", "device", "q", "role", "packets", "bytes",
					"ring empty", "dropped");
				head = true;
			}
			json_object_foreach(drops, k, v)
				dropped += (unsigned long long)json_integer_value(v);
			fprintf(f, "  %-14s %2llu %-4s %12llu %14llu %10llu %10llu\n", id,
				(unsigned long long)jget(q, "queue", NULL), role,
				(unsigned long long)jget(q, "packets", NULL),
				(unsigned long long)jget(q, "bytes", NULL),
				(unsigned long long)jget(q, "ring_empty", NULL), dropped);
		}
	}
}

void stats_print_devices(json_t *devices, FILE *f)
{
	const char *id;
	json_t *dev;
	bool head = false;

	json_object_foreach(devices, id, dev) {
		json_t *queues = json_object_get(dev, "queues"), *q;
		size_t i;

		if (!json_is_array(queues))
			continue;
		if (!head) {
			fprintf(f, "\nminivmm: virtio queues (notifications and interrupts by path; "
				   "latency from pop to push)\n");
			fprintf(f, "  %-14s %2s %-7s %10s %10s %10s %10s %10s %10s %10s %9s %9s %10s\n",
				"device", "q", "driver", "ntf ioefd", "ntf exit", "irq irqfd", "irq msi",
				"irq ioctl", "irq supp", "requests", "avg us", "p99<= us", "max us");
			head = true;
		}
		json_array_foreach(queues, i, q) {
			json_t *lat = json_object_get(q, "latency");
			const char *drv = json_string_value(json_object_get(dev, "driver"));

			fprintf(f,
				"  %-14s %2llu %-7s %10llu %10llu %10llu %10llu %10llu %10llu %10llu",
				id, (unsigned long long)jget(q, "queue", NULL), drv ? drv : "?",
				(unsigned long long)jget(q, "notify", "ioeventfd"),
				(unsigned long long)jget(q, "notify", "exit"),
				(unsigned long long)jget(q, "interrupts", "irqfd"),
				(unsigned long long)jget(q, "interrupts", "msi"),
				(unsigned long long)jget(q, "interrupts", "ioctl"),
				(unsigned long long)jget(q, "interrupts", "suppressed"),
				(unsigned long long)(lat ? jget(lat, "count", NULL)
							 : jget(q, "chains", NULL)));
			/* A latency kept as log2 buckets only has no avg or max: "-". */
			if (lat) {
				static const char *const keys[] = {"avg_ns", "p99_ns", "max_ns"};

				for (unsigned k = 0; k < 3; k++) {
					if (json_object_get(lat, keys[k]))
						fprintf(f, " %9.2f",
							(double)jget(lat, keys[k], NULL) / 1e3);
					else
						fprintf(f, " %9s", "-");
				}
			}
			fputc('\n', f);
		}
	}
	print_nic_queues(devices, f);
	if (head)
		print_rings(devices, f);
}

static json_t *io_json(const struct io_stat *st, const char *region)
{
	json_t *o = stats_bucket_json(&st->time);

	json_object_set_new(o, "reads", json_integer((json_int_t)st->reads));
	json_object_set_new(o, "writes", json_integer((json_int_t)st->writes));
	json_object_set_new(o, "unclaimed", json_integer((json_int_t)st->unclaimed));
	json_object_set_new(o, "device", json_string(region));
	return o;
}

json_t *stats_json(const struct exit_stats *s, const struct bus *pio, const struct bus *mmio,
		   const struct fastpath *fp)
{
	json_t *root = json_object(), *reasons = json_object(), *ports = json_object(),
	       *regions = json_object();
	char key[16];

	if (!root || !reasons || !ports || !regions) {
		json_decref(root);
		json_decref(reasons);
		json_decref(ports);
		json_decref(regions);
		return NULL;
	}

	for (unsigned i = 0; i <= STATS_MAX_REASON; i++)
		if (s->reason[i].count)
			json_object_set_new(reasons, i < STATS_MAX_REASON ? stats_reason_name(i) : ">=64",
					    stats_bucket_json(&s->reason[i]));
	for (unsigned p = 0; p < 65536; p++) {
		if (!s->pio[p])
			continue;
		snprintf(key, sizeof(key), "0x%04x", p);
		json_object_set_new(ports, key, io_json(s->pio[p], region_name(pio, s->pio[p])));
	}
	for (unsigned i = 0; i <= BUS_MAX_REGIONS; i++) {
		const char *name;

		if (!s->mmio[i])
			continue;
		name = i < BUS_MAX_REGIONS && mmio ? bus_region_name(mmio, (int)i) : "unclaimed";
		json_object_set_new(regions, name, io_json(s->mmio[i], name));
	}
	json_object_set_new(root, "exits", reasons);
	json_object_set_new(root, "pio", ports);
	json_object_set_new(root, "mmio", regions);
	json_object_set_new(root, "interrupted", json_integer((json_int_t)s->interrupted));
	if (fp)
		json_object_set_new(root, "accel", fastpath_json(fp));
	return root;
}
