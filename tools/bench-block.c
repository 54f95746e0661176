// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-block: our block layer against "qemu-img bench" on the same images,
 * in one run.  Not a test: it prints MB/s or IOPS for both and the ratio.
 *
 *   bench-block [-t CACHE] [-d DEPTH] [-m IMAGE_MiB] [-n RANDOM_REQUESTS]
 *               [-i threads|io_uring] [-q QEMU_AIO] [-f FORMAT] [-r ROW] DIR
 *
 * -i picks our request path (default: the block layer's default), -q passes
 * "-i QEMU_AIO" to qemu-img bench (default: qemu-img's own, threads).
 * -f raw|qcow2 and -r "rand read" (a part of a row's name) run only those
 * rows, e.g. under perf; the rows a chosen one depends on (the sequential
 * write that fills the image) still run.
 *
 * Rows: sequential 1 MiB writes (into a fresh image, so qcow2 allocates) and
 * reads, then "random" 4 KiB reads and writes.  qemu-img bench has no random
 * mode, so both sides use the same large odd stride (offset = (offset +
 * step) mod size), which visits the image in a scattered order.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/block/block.h"

struct bench {
	struct block_dev *bd;
	uint64_t size, step, offset;
	size_t bufsize;
	bool write;
	long to_submit, to_finish;
	int err;
};

struct slot {
	struct bench *b;
	uint8_t *buf;
};

static void submit_one(struct slot *s);

static void bench_cb(void *opaque, int64_t ret)
{
	struct slot *s = opaque;

	if (ret < 0)
		s->b->err = (int)-ret;
	s->b->to_finish--;
	if (s->b->to_submit > 0)
		submit_one(s);
}

static void submit_one(struct slot *s)
{
	struct bench *b = s->b;
	struct iovec iov = {s->buf, b->bufsize};
	uint64_t off = b->offset;
	int ret;

	b->offset = (b->offset + b->step) % b->size;
	b->to_submit--;
	ret = b->write ? block_aio_write(b->bd, off, &iov, 1, bench_cb, s)
		       : block_aio_read(b->bd, off, &iov, 1, bench_cb, s);
	if (ret) {
		b->err = -ret;
		b->to_finish--;
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum block_aio our_aio;
static const char *our_aio_used;

static double run_ours(const char *path, const char *fmt, enum block_cache cache, bool write,
		       size_t bufsize, uint64_t step, long count, int depth)
{
	struct block_opts o = {.format = fmt, .cache = cache, .aio = our_aio};
	struct bench b = {0};
	struct slot *slots = calloc((size_t)depth, sizeof(*slots));
	char err[256];
	double t0, t;

	if (block_open(&b.bd, path, &o, err, sizeof(err))) {
		fprintf(stderr, "bench-block: %s\n", err);
		exit(1);
	}
	b.size = block_size(b.bd);
	b.step = step;
	b.bufsize = bufsize;
	b.write = write;
	b.to_submit = b.to_finish = count;
	for (int i = 0; i < depth; i++) {
		void *p;
		if (posix_memalign(&p, 4096, bufsize))
			exit(1);
		memset(p, 0xa5, bufsize);
		slots[i].b = &b;
		slots[i].buf = p;
	}
	t0 = now();
	for (int i = 0; i < depth && b.to_submit > 0; i++)
		submit_one(&slots[i]);
	while (b.to_finish > 0) {
		struct pollfd pfd = {.fd = block_completion_fd(b.bd), .events = POLLIN};
		poll(&pfd, 1, 100);
		block_complete(b.bd);
	}
	t = now() - t0;
	our_aio_used = block_aio_name(b.bd);
	block_close(b.bd);
	for (int i = 0; i < depth; i++)
		free(slots[i].buf);
	free(slots);
	if (b.err) {
		fprintf(stderr, "bench-block: I/O error: %s\n", strerror(b.err));
		exit(1);
	}
	return t;
}

static const char *qemu_aio;

static double run_qemu(const char *path, const char *fmt, const char *cache, bool write,
		       size_t bufsize, uint64_t step, long count, int depth)
{
	char cmd[8400], line[512];
	double secs = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "qemu-img bench -f %s -t %s %s%s %s -c %ld -d %d -s %zu -S %" PRIu64 " '%s' 2>&1",
		 fmt, cache, qemu_aio ? "-i " : "", qemu_aio ? qemu_aio : "", write ? "-w" : "",
		 count, depth, bufsize, step, path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "Run completed in %lf seconds", &secs) == 1)
			break;
	while (fgets(line, sizeof(line), p))
		;
	pclose(p);
	return secs;
}

static void make_image(const char *path, const char *fmt, uint64_t size)
{
	struct block_create_opts c = {.format = fmt, .size = size};
	char err[256];

	unlink(path);
	if (block_create(path, &c, err, sizeof(err))) {
		fprintf(stderr, "bench-block: %s\n", err);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *cache_name = "none";
	int depth = 16, opt;
	uint64_t mib = 512;
	long nrand = 20000;
	const char *only_fmt = NULL, *only_row = NULL;
	int cache;

	while ((opt = getopt(argc, argv, "t:d:m:n:i:q:f:r:")) != -1) {
		switch (opt) {
		case 'f':
			only_fmt = optarg;
			break;
		case 'r':
			only_row = optarg;
			break;
		case 'i':
			if (block_aio_parse(optarg) < 0)
				goto usage;
			our_aio = (enum block_aio)block_aio_parse(optarg);
			break;
		case 'q':
			qemu_aio = optarg;
			break;
		case 't':
			cache_name = optarg;
			break;
		case 'd':
			depth = atoi(optarg);
			break;
		case 'm':
			mib = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			nrand = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	cache = block_cache_parse(cache_name);
	if (optind != argc - 1 || cache < 0 || depth < 1 || depth > 256 || mib < 16)
		goto usage;
	if (system("qemu-img --version >/dev/null 2>&1")) {
		fprintf(stderr, "bench-block: qemu-img not found (qemu-utils)\n");
		return 77;
	}
	printf("cache=%s depth=%d image=%" PRIu64 " MiB, random: %ld requests; qemu-img -i %s\n",
	       cache_name, depth, mib, nrand, qemu_aio ? qemu_aio : "(default)");
	printf("%-6s %-14s %12s %12s %7s  %s\n", "format", "test", "minivmm", "qemu-img", "ratio",
	       "our aio");
	for (int f = 0; f < 2; f++) {
		const char *fmt = f ? "qcow2" : "raw";
		char ours[4096], theirs[4096];
		uint64_t size = mib << 20;
		long nseq = (long)mib;
		uint64_t rstep = 4096ull * 7919;
		struct {
			const char *name;
			bool write;
			size_t bs;
			uint64_t step;
			long count;
			bool fresh;
		} rows[] = {
			{"seq write 1M", true, 1 << 20, 1 << 20, nseq, true},
			{"seq read 1M", false, 1 << 20, 1 << 20, nseq, false},
			{"rand read 4K", false, 4096, rstep, nrand, false},
			{"rand write 4K", true, 4096, rstep, nrand, false},
		};

		if (only_fmt && strcmp(only_fmt, fmt))
			continue;
		snprintf(ours, sizeof(ours), "%s/bench-ours.%s", argv[optind], fmt);
		snprintf(theirs, sizeof(theirs), "%s/bench-qemu.%s", argv[optind], fmt);
		for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
			double a, b, va, vb;
			bool shown = !only_row || strstr(rows[r].name, only_row);
			if (rows[r].fresh) {
				make_image(ours, fmt, size);
				make_image(theirs, fmt, size);
			}
			if (!shown && !rows[r].fresh)
				continue;
			a = run_ours(ours, fmt, (enum block_cache)cache, rows[r].write, rows[r].bs,
				     rows[r].step, rows[r].count, depth);
			b = run_qemu(theirs, fmt, cache_name, rows[r].write, rows[r].bs,
				     rows[r].step, rows[r].count, depth);
			if (b <= 0) {
				fprintf(stderr, "bench-block: qemu-img bench failed\n");
				return 1;
			}
			if (rows[r].bs >= (1 << 20)) {
				va = (double)rows[r].count * (double)rows[r].bs / a / 1e6;
				vb = (double)rows[r].count * (double)rows[r].bs / b / 1e6;
				printf("%-6s %-14s %8.0f MB/s %7.0f MB/s %6.2fx  %s\n", fmt,
				       rows[r].name, va, vb, va / vb, our_aio_used);
			} else {
				va = (double)rows[r].count / a;
				vb = (double)rows[r].count / b;
				printf("%-6s %-14s %7.0f IOPS %7.0f IOPS %6.2fx  %s\n", fmt,
				       rows[r].name, va, vb, va / vb, our_aio_used);
			}
			fflush(stdout);
		}
		unlink(ours);
		unlink(theirs);
	}
	return 0;
usage:
	fprintf(stderr, "usage: bench-block [-t CACHE] [-d DEPTH] [-m IMAGE_MiB] [-n RANDOM]\n"
			"                   [-i threads|io_uring] [-q QEMU_AIO] [-f raw|qcow2]\n"
			"                   [-r ROW] DIR\n");
	return 2;
}
