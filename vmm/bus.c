// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Port-I/O and MMIO buses: a sorted array of ranges searched by bisection.
 *
 * Lookups take the read lock only long enough to copy the ops and opaque
 * pointers, so a handler may itself register or unregister ranges (a BAR
 * moving on a config write) without deadlocking.  Region structs are never
 * freed before the bus, so a handler still running on another vCPU after its
 * range was removed keeps valid pointers (kvmtool solves the same problem
 * with reference counts and deferred removal).
 */
#include "vmm/bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct bus_region {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	char name[32];
	int id;
	bool active;
};

struct bus {
	char name[16];
	uint64_t limit; /* highest valid address + 1, 0 for the whole 64-bit space */
	pthread_rwlock_t lock;
	struct bus_region *active[BUS_MAX_REGIONS]; /* sorted by base */
	unsigned nr_active;
	struct bus_region *all[BUS_MAX_REGIONS]; /* indexed by id, kept until destroy */
	unsigned nr_all;
};

struct bus *bus_create(const char *name, uint64_t limit)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	snprintf(bus->name, sizeof(bus->name), "%s", name);
	bus->limit = limit;
	pthread_rwlock_init(&bus->lock, NULL);
	return bus;
}

void bus_destroy(struct bus *bus)
{
	if (!bus)
		return;
	for (unsigned i = 0; i < bus->nr_all; i++)
		free(bus->all[i]);
	pthread_rwlock_destroy(&bus->lock);
	free(bus);
}

/* Index of the first active region whose base is > addr. */
static unsigned upper_bound(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr_active;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (bus->active[mid]->base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name)
{
	struct bus_region *r;
	unsigned pos;
	int ret;

	if (len == 0 || base + len - 1 < base || !ops)
		return -EINVAL;
	if (bus->limit && (base >= bus->limit || len > bus->limit - base))
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	pos = upper_bound(bus, base);
	if (pos > 0) {
		const struct bus_region *prev = bus->active[pos - 1];

		if (prev->base + prev->len - 1 >= base) {
			ret = -EEXIST;
			goto out;
		}
	}
	if (pos < bus->nr_active && bus->active[pos]->base <= base + len - 1) {
		ret = -EEXIST;
		goto out;
	}
	/* A device moving its range (a BAR write) gets its old region back, so
	 * ids stay bounded by the number of devices and statistics stay under
	 * one id however often the guest moves it. */
	r = NULL;
	for (unsigned i = 0; i < bus->nr_all; i++) {
		if (!bus->all[i]->active && bus->all[i]->ops == ops && bus->all[i]->opaque == opaque) {
			r = bus->all[i];
			break;
		}
	}
	if (!r) {
		if (bus->nr_all == BUS_MAX_REGIONS) {
			ret = -ENOSPC;
			goto out;
		}
		r = calloc(1, sizeof(*r));
		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		r->id = (int)bus->nr_all;
		bus->all[bus->nr_all++] = r;
	}
	r->base = base;
	r->len = len;
	r->ops = ops;
	r->opaque = opaque;
	r->active = true;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "?");
	memmove(&bus->active[pos + 1], &bus->active[pos],
		(bus->nr_active - pos) * sizeof(bus->active[0]));
	bus->active[pos] = r;
	bus->nr_active++;
	ret = r->id;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned i = 0; i < bus->nr_active; i++) {
		if (bus->active[i]->base == base) {
			bus->active[i]->active = false;
			memmove(&bus->active[i], &bus->active[i + 1],
				(bus->nr_active - i - 1) * sizeof(bus->active[0]));
			bus->nr_active--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* Finds the region holding [addr, addr + size); copies what the caller
 * needs while the lock is held.  An access straddling the end of a region
 * is treated as unclaimed. */
static int lookup(struct bus *bus, uint64_t addr, unsigned size, const struct bus_ops **ops,
		  void **opaque, uint64_t *offset)
{
	int id = BUS_UNCLAIMED;
	unsigned pos;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return BUS_UNCLAIMED;
	pthread_rwlock_rdlock(&bus->lock);
	pos = upper_bound(bus, addr);
	if (pos > 0) {
		const struct bus_region *r = bus->active[pos - 1];
		uint64_t off = addr - r->base;

		if (off < r->len && size <= r->len - off) {
			*ops = r->ops;
			*opaque = r->opaque;
			*offset = off;
			id = r->id;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return id;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

int bus_read(struct bus *bus, uint64_t addr, unsigned size, uint64_t *value)
{
	const struct bus_ops *ops = NULL;
	void *opaque = NULL;
	uint64_t offset = 0;
	int id = lookup(bus, addr, size, &ops, &opaque, &offset);

	if (id == BUS_UNCLAIMED || !ops->read)
		*value = size > 8 ? ~0ULL : size_mask(size);
	else
		*value = ops->read(opaque, offset, size) & size_mask(size);
	return id;
}

int bus_write(struct bus *bus, uint64_t addr, uint64_t value, unsigned size)
{
	const struct bus_ops *ops = NULL;
	void *opaque = NULL;
	uint64_t offset = 0;
	int id = lookup(bus, addr, size, &ops, &opaque, &offset);

	if (id != BUS_UNCLAIMED && ops->write)
		ops->write(opaque, offset, value & size_mask(size), size);
	return id;
}

const char *bus_region_name(const struct bus *bus, int id)
{
	const char *name = "unclaimed";
	struct bus *b = (struct bus *)bus; /* the lock is not part of the value */

	pthread_rwlock_rdlock(&b->lock);
	if (id >= 0 && (unsigned)id < b->nr_all)
		name = b->all[id]->name; /* regions live as long as the bus */
	pthread_rwlock_unlock(&b->lock);
	return name;
}

const char *bus_name(const struct bus *bus)
{
	return bus->name;
}
