/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port-I/O and MMIO buses.
 *
 * A device claims an address range with a constant ops struct; every VM exit
 * for port I/O or MMIO is routed through bus_read()/bus_write(), which find
 * the range and call the device with the offset inside it.  Ranges are
 * checked at registration: empty, overflowing and overlapping ranges are
 * refused.  An access nobody claims reads as all ones and writes are
 * dropped; the caller counts those.
 */
#ifndef MINIVMM_BUS_H
#define MINIVMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* size is 1, 2, 4 or 8; the result is masked to size by the bus. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

struct bus;

/* Region ids are small integers, stable for the life of the bus, so that
 * statistics can be kept per region.  BUS_UNCLAIMED is returned for an
 * access no region covers. */
#define BUS_UNCLAIMED (-1)
#define BUS_MAX_REGIONS 256

struct bus *bus_create(const char *name, uint64_t limit);
void bus_destroy(struct bus *bus);

/* Returns the region id (>= 0), -EINVAL for an empty or overflowing range or
 * one beyond the bus limit, -EEXIST for an overlap, -ENOSPC when full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name);
/* Registering again with the same ops and opaque after bus_unregister()
 * reuses that region's id. */
/* Removes the region that starts at base; 0 or -ENOENT.  A handler that is
 * running on another vCPU finishes with the old ops and opaque, which stay
 * valid because regions are only freed with the bus. */
int bus_unregister(struct bus *bus, uint64_t base);

/* Dispatch.  Both return the region id or BUS_UNCLAIMED.  A read of an
 * unclaimed address yields all ones of the access size.  Sizes other than
 * 1, 2, 4 and 8 never reach a device: they are treated as unclaimed. */
int bus_read(struct bus *bus, uint64_t addr, unsigned size, uint64_t *value);
int bus_write(struct bus *bus, uint64_t addr, uint64_t value, unsigned size);

/* Name of a region by id (for statistics); "unclaimed" for BUS_UNCLAIMED. */
const char *bus_region_name(const struct bus *bus, int id);
const char *bus_name(const struct bus *bus);

#endif
