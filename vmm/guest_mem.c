// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>

int guest_mem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size, void *hva, bool readonly,
		  const char *name)
{
	if (size == 0 || gpa + size - 1 < gpa || !hva)
		return -EINVAL;
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct guest_mem_region *r = &mem->region[i];

		if (gpa <= r->gpa + r->size - 1 && r->gpa <= gpa + size - 1)
			return -EINVAL;
	}
	if (mem->nr == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	mem->region[mem->nr++] = (struct guest_mem_region){
		.gpa = gpa, .size = size, .hva = hva, .readonly = readonly, .name = name,
	};
	return 0;
}

static const struct guest_mem_region *find(const struct guest_mem *mem, uint64_t gpa)
{
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct guest_mem_region *r = &mem->region[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len, bool write)
{
	const struct guest_mem_region *r;

	if (len == 0)
		return NULL;
	r = find(mem, gpa);
	if (!r || len > r->size - (gpa - r->gpa) || (write && r->readonly))
		return NULL;
	return r->hva + (gpa - r->gpa);
}

int guest_mem_map_iov(const struct guest_mem *mem, uint64_t gpa, uint64_t len, bool write,
		      struct iovec *iov, unsigned max_iov, unsigned *nr_iov)
{
	uint64_t a = gpa, left = len;
	unsigned n = 0;

	*nr_iov = 0;
	if (len && gpa + (len - 1) < gpa)
		return -EFAULT; /* runs past 2^64 */
	while (left) {
		const struct guest_mem_region *r = find(mem, a);
		uint64_t chunk;

		if (!r || (write && r->readonly))
			return -EFAULT;
		if (n == max_iov)
			return -ENOBUFS;
		chunk = r->size - (a - r->gpa);
		if (chunk > left)
			chunk = left;
		iov[n].iov_base = r->hva + (a - r->gpa);
		iov[n].iov_len = (size_t)chunk;
		n++;
		left -= chunk;
		a += chunk; /* cannot wrap: checked above */
	}
	*nr_iov = n;
	return 0;
}

/* Walks the range region by region; checks everything before copying. */
static int copy(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len, bool write)
{
	for (int pass = 0; pass < 2; pass++) {
		uint64_t a = gpa;
		size_t done = 0;

		while (done < len) {
			const struct guest_mem_region *r = find(mem, a);
			size_t chunk;

			if (!r || (write && r->readonly))
				return -EFAULT;
			chunk = r->size - (a - r->gpa);
			if (chunk > len - done)
				chunk = len - done;
			if (pass == 1) {
				if (write)
					memcpy(r->hva + (a - r->gpa), (const uint8_t *)buf + done, chunk);
				else
					memcpy((uint8_t *)buf + done, r->hva + (a - r->gpa), chunk);
			}
			done += chunk;
			a += chunk;
			if (a == 0 && done < len)
				return -EFAULT; /* wrapped around the address space */
		}
	}
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len)
{
	return copy(mem, gpa, buf, len, false);
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len)
{
	return copy(mem, gpa, (void *)buf, len, true);
}
