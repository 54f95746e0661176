// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: open a mutated image (qcow2 or raw, probed) held in a
 * memfd, read it, write and discard a little, flush, and check it.  Backing
 * files are not opened, so a mutated header cannot reach host files.
 *
 * It checks what it can promise:
 *  - a shadow copy of every byte read or written: each read-back must equal
 *    the last write there, a discarded range zeros, and a region never
 *    written what it read before the first write;
 *  - an image that passed check before the run passes it after the writes.
 * Both only for images that passed check (or raw ones): in a corrupt image
 * two guest clusters can share a host cluster, and then a write to one
 * shows in the other, as it does in QEMU.  A violated promise aborts, which
 * libFuzzer and the standalone runner both report as a failure.
 *
 * Built with -DFUZZ_STANDALONE it is a plain program that feeds every file of
 * the directories (or files) named on its command line once, so the seed
 * corpus runs in every normal test run; a file it cannot read fails the run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IO_MAX 70000

/* ------------------------------------------------------------- shadow */

/*
 * What the image is known to hold, in 512-byte pages of a small hash table
 * (a run touches at most 16 ranges of IO_MAX bytes).  An entry belongs to
 * this input when its generation is the current one.
 */
#define PAGE 512
#define NPAGES 8192
struct shadow_page {
	uint64_t gen;
	uint64_t idx;
	uint8_t data[PAGE];
	uint8_t known[PAGE];
};
static struct shadow_page *shadow;
static uint64_t shadow_gen;

static struct shadow_page *page_get(uint64_t idx, bool create)
{
	uint64_t h = (idx * 0x9e3779b97f4a7c15ull) >> 51; /* 13 bits: NPAGES */

	for (unsigned i = 0; i < NPAGES; i++) {
		struct shadow_page *p = &shadow[(h + i) % NPAGES];
		if (p->gen != shadow_gen) {
			if (!create)
				return NULL;
			p->gen = shadow_gen;
			p->idx = idx;
			memset(p->known, 0, PAGE);
			return p;
		}
		if (p->idx == idx)
			return p;
	}
	abort(); /* cannot happen: far more pages than a run touches */
}

/* how: 0 forget, 1 set from buf, 2 set zeros. */
static void shadow_store(uint64_t off, const uint8_t *buf, size_t len, int how)
{
	for (size_t i = 0; i < len;) {
		struct shadow_page *p = page_get((off + i) / PAGE, how != 0);
		size_t in = (size_t)((off + i) % PAGE);
		size_t n = PAGE - in < len - i ? PAGE - in : len - i;

		if (p) {
			if (how == 1)
				memcpy(p->data + in, buf + i, n);
			else if (how == 2)
				memset(p->data + in, 0, n);
			memset(p->known + in, how != 0, n);
		}
		i += n;
	}
}

/* A read's result against the shadow; what was not known becomes known. */
static void shadow_check_read(uint64_t off, const uint8_t *buf, size_t len, bool enforce)
{
	for (size_t i = 0; i < len;) {
		struct shadow_page *p = page_get((off + i) / PAGE, true);
		size_t in = (size_t)((off + i) % PAGE);
		size_t n = PAGE - in < len - i ? PAGE - in : len - i;

		for (size_t k = 0; enforce && k < n; k++) {
			if (p->known[in + k] && p->data[in + k] != buf[i + k]) {
				fprintf(stderr,
					"fuzz_qcow2: read-back mismatch at offset %llu: 0x%02x, "
					"expected 0x%02x\n",
					(unsigned long long)(off + i + k), buf[i + k],
					p->data[in + k]);
				abort();
			}
		}
		memcpy(p->data + in, buf + i, n);
		memset(p->known + in, 1, n);
		i += n;
	}
}

/* --------------------------------------------------------------- run */

static uint64_t mix(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < size && i < 512; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	return h;
}

static bool check_clean(struct block_dev *bd, struct block_check_result *res, int *ret)
{
	*ret = block_check(bd, BLOCK_REPAIR_NONE, res, NULL, NULL);
	return *ret == -ENOTSUP || (!*ret && !res->corruptions && !res->check_errors);
}

static void clamp(uint64_t vsize, uint64_t *off, size_t *n)
{
	if (*n > vsize - *off)
		*n = (size_t)(vsize - *off);
}

static void read_and_check(struct block_dev *bd, uint64_t off, size_t n, uint8_t *buf,
			   bool enforce)
{
	if (block_pread(bd, off, buf, n) == 0)
		shadow_check_read(off, buf, n, enforce);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Synchronous calls only: one worker and no io_uring ring to set up per input. */
	struct block_opts o = {
		.no_backing = true, .l2_cache_bytes = 4096, .workers = 1, .aio = BLOCK_AIO_THREADS};
	struct block_check_result res;
	struct block_dev *bd;
	char path[64], err[256];
	static uint8_t buf[IO_MAX], wbuf[IO_MAX];
	uint64_t h = mix(data, size), vsize;
	bool clean, io_error = false;
	int fd, ret;

	if (!shadow) {
		shadow = calloc(NPAGES, sizeof(*shadow));
		if (!shadow)
			abort();
	}
	shadow_gen++;
	fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (block_open(&bd, path, &o, err, sizeof(err)) != 0) {
		close(fd);
		return 0;
	}
	vsize = block_size(bd);
	clean = check_clean(bd, &res, &ret);

	/* Original content, before any write. */
	for (int i = 0; i < 8 && vsize; i++) {
		uint64_t off = (h >> (i * 7)) % vsize;
		size_t n = (size_t)((h >> (i * 3)) % sizeof(buf)) + 1;
		uint64_t off2 = (uint64_t)i * 65536 % vsize;

		clamp(vsize, &off, &n);
		read_and_check(bd, off, n, buf, clean);
		read_and_check(bd, off2, vsize - off2 < 4096 ? (size_t)(vsize - off2) : 4096, buf,
			       clean);
	}
	/* Writes, each read back; one discard. */
	for (int i = 0; i < 4 && vsize; i++) {
		uint64_t off = (h >> (i * 11)) % vsize;
		size_t n = (size_t)((h >> (i * 5)) % sizeof(wbuf)) + 1;

		clamp(vsize, &off, &n);
		for (size_t k = 0; k < n; k++)
			wbuf[k] = (uint8_t)(0x5a + i + (k >> 9));
		if (block_pwrite(bd, off, wbuf, n) == 0) {
			shadow_store(off, wbuf, n, 1);
		} else {
			shadow_store(off, NULL, n, 0); /* may be partly written */
			io_error = true;
		}
		read_and_check(bd, off, n, buf, clean);
		if (i == 2) {
			if (block_discard(bd, off, n) == 0) {
				shadow_store(off, NULL, n, 2);
			} else {
				shadow_store(off, NULL, n, 0);
				io_error = true;
			}
			read_and_check(bd, off, n, buf, clean);
		}
	}
	if (block_flush(bd))
		io_error = true;
	/* Everything read or written so far, once more after the flush. */
	for (int i = 0; i < 8 && vsize; i++) {
		uint64_t off = (h >> (i * 7)) % vsize;
		size_t n = (size_t)((h >> (i * 3)) % sizeof(buf)) + 1;

		clamp(vsize, &off, &n);
		read_and_check(bd, off, n, buf, clean);
	}
	if (clean && ret != -ENOTSUP) {
		struct block_check_result after;
		int r2;

		if (!check_clean(bd, &after, &r2) || (!io_error && after.leaks > res.leaks)) {
			fprintf(stderr,
				"fuzz_qcow2: the image passed check before the writes, not after "
				"(ret %d, %llu corruptions, %llu leaks, %llu errors)\n",
				r2, (unsigned long long)after.corruptions,
				(unsigned long long)after.leaks,
				(unsigned long long)after.check_errors);
			abort();
		}
	}
	block_close(bd);
	close(fd);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		fuzz_run_path("fuzz_qcow2", argv[i]);
	printf("ran %lu inputs\n", fuzz_runs());
	if (!fuzz_runs()) {
		fprintf(stderr, "no corpus files found\n");
		return 1;
	}
	return 0;
}
#endif
