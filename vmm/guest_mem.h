/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest physical memory as devices see it: a short list of RAM regions and
 * accessors that translate whole ranges (address and length), so that no
 * device ever touches host memory outside guest RAM.
 */
#ifndef MINIVMM_GUEST_MEM_H
#define MINIVMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The machine describes at most 4 regions (memmap.c); a fifth and later
 * one fails with -ENOSPC, never silently. */
#define GUEST_MEM_MAX_REGIONS 8

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	bool readonly; /* guest can't write it; devices can't DMA into it */
	const char *name;
};

struct guest_mem {
	struct guest_mem_region region[GUEST_MEM_MAX_REGIONS];
	unsigned nr;
};

/* Adds a region; 0, or -EINVAL for an empty, overflowing or overlapping one,
 * -ENOSPC when the table is full. */
int guest_mem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size, void *hva, bool readonly,
		  const char *name);

/* Host pointer for [gpa, gpa + len) if the whole range lies in one region
 * (and, for write, a writable one); NULL otherwise.  len 0 is refused. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len, bool write);

/* Copy to or from guest memory; the range may span adjacent regions.
 * 0, or -EFAULT if any byte is outside RAM (nothing is copied then). */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len);

/* The one translator for DMA (IDE bus master, virtqueues): [gpa, gpa + len)
 * as host ranges iov[0 .. *nr_iov), one entry per region the range touches,
 * in order.  0 on success (len 0 gives no entry); -EFAULT if any byte lies
 * outside RAM, in a read-only region when write is set, or beyond 2^64;
 * -ENOBUFS if it needs more than max_iov entries.  On error *nr_iov is 0
 * and iov may have been written. */
int guest_mem_map_iov(const struct guest_mem *mem, uint64_t gpa, uint64_t len, bool write,
		      struct iovec *iov, unsigned max_iov, unsigned *nr_iov);

#endif
