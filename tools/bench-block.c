// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-block: our block layer against "qemu-img bench" on the same images,
 * in one run.  Not a test: it prints MB/s or IOPS for both and the ratio.
 *
 *   bench-block [-t CACHE] [-d DEPTH] [-m IMAGE_MiB] [-n RANDOM_REQUESTS]
 *               [-R ROUNDS] [-i threads|io_uring] [-q QEMU_AIO] [-f FORMAT]
 *               [-r ROW] DIR
 *
 * -m is the image size (default 2048 MiB: a sequential run then lasts about
 * a second here, long enough for start-up and drift to weigh little).
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
 *
 * Each row runs -R times (default 5) and prints both medians and the median
 * of the per-round ratios.  The host's disk drifts, so the order alternates
 * (minivmm first in even rounds, qemu-img first in odd ones), and every
 * timed run starts after a sync(), so that neither pays for the other's
 * writeback.  Writes go to
 * each program's own image; the read rows of a round read one image with both
 * programs (the one minivmm wrote in even rounds, qemu-img's in odd ones), so
 * that the file's layout on the host does not decide the comparison.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/block/block.h"
#include "bench_stats.h"

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

static double run_here(const char *path, const char *fmt, enum block_cache cache, bool write,
		       size_t bufsize, uint64_t step, long count, int depth)
{
	struct block_opts o = {.format = fmt, .cache = cache, .aio = our_aio};
	struct bench b = {0};
	struct slot *slots = calloc((size_t)depth, sizeof(*slots));
	char err[256];
	double t0, t;
	void *buf;

	if (block_open(&b.bd, path, &o, err, sizeof(err))) {
		fprintf(stderr, "bench-block: %s\n", err);
		exit(1);
	}
	b.size = block_size(b.bd);
	b.step = step;
	b.bufsize = bufsize;
	b.write = write;
	b.to_submit = b.to_finish = count;
	/*
	 * As qemu-img bench (7.2) does: it allocates and fills depth buffers
	 * but passes the first one to every request (strace: all 512 writes of
	 * a 1 MiB row come from one address).  The kernel pins each request's
	 * pages; with 16 different buffers it pins 16 times as many distinct
	 * pages: 16 threads appending 1 MiB O_DIRECT writes to a file, no
	 * block layer involved, ran 1.77-1.99 GB/s here from 16 buffers and
	 * 2.0-2.5 GB/s from one.  The comparison is of block layers, not that.
	 */
	if (posix_memalign(&buf, 4096, bufsize * (size_t)depth))
		exit(1);
	memset(buf, 0xa5, bufsize * (size_t)depth);
	for (int i = 0; i < depth; i++) {
		slots[i].b = &b;
		slots[i].buf = buf;
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
	free(buf);
	free(slots);
	if (b.err) {
		fprintf(stderr, "bench-block: I/O error: %s\n", strerror(b.err));
		exit(1);
	}
	return t;
}

/*
 * Each of our runs is a fresh process, as each qemu-img bench is: on a VM
 * host the physical memory a buffer lands on can move the result by 2x
 * (README), and a buffer freed and allocated again in one process gets the
 * same pages, and so the same luck, in every round.
 */
static double run_ours(const char *path, const char *fmt, enum block_cache cache, bool is_write,
		       size_t bufsize, uint64_t step, long count, int depth)
{
	struct {
		double secs;
		bool uring;
	} res = {-1, false};
	int fds[2], status;
	pid_t pid;

	fflush(stdout);
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		res.secs = run_here(path, fmt, cache, is_write, bufsize, step, count, depth);
		res.uring = !strcmp(our_aio_used, "io_uring");
		if (write(fds[1], &res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &res, sizeof(res)) != sizeof(res))
		res.secs = -1;
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		res.secs = -1;
	our_aio_used = res.uring ? "io_uring" : "threads";
	return res.secs;
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

#define MAX_ROUNDS 15

struct row {
	const char *name;
	bool write;
	size_t bs;
	uint64_t step;
	long count;
	bool fresh; /* starts from new, empty images */
	double ours[MAX_ROUNDS], theirs[MAX_ROUNDS], ratio[MAX_ROUNDS];
};

static void print_row(const char *fmt, struct row *r, int rounds)
{
	double a = bench_median(r->ours, rounds), b = bench_median(r->theirs, rounds);
	double q = bench_median(r->ratio, rounds), lo = r->ratio[0], hi = r->ratio[rounds - 1];
	const char *unit = r->bs >= (1 << 20) ? "MB/s" : "IOPS";

	/* bench_median() sorted them: the extremes show how much runs of one program vary. */
	printf("%-6s %-14s %8.0f %s %7.0f %s %6.2fx  %.2f-%.2f  %s  (runs: %.0f-%.0f, %.0f-%.0f)\n",
	       fmt, r->name, a, unit, b, unit, q, lo, hi, our_aio_used, r->ours[0],
	       r->ours[rounds - 1], r->theirs[0], r->theirs[rounds - 1]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *cache_name = "none";
	int depth = 16, rounds = 5, opt;
	uint64_t mib = 2048;
	long nrand = 20000;
	const char *only_fmt = NULL, *only_row = NULL;
	int cache;

	while ((opt = getopt(argc, argv, "t:d:m:n:i:q:f:r:R:")) != -1) {
		switch (opt) {
		case 'f':
			only_fmt = optarg;
			break;
		case 'r':
			only_row = optarg;
			break;
		case 'R':
			rounds = atoi(optarg);
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
	if (optind != argc - 1 || cache < 0 || depth < 1 || depth > 256 || mib < 16 ||
	    rounds < 1 || rounds > MAX_ROUNDS)
		goto usage;
	if (system("qemu-img --version >/dev/null 2>&1")) {
		fprintf(stderr, "bench-block: qemu-img not found (qemu-utils)\n");
		return 77;
	}
	printf("cache=%s depth=%d image=%" PRIu64 " MiB, random: %ld requests, %d rounds; "
	       "qemu-img -i %s\n",
	       cache_name, depth, mib, nrand, rounds, qemu_aio ? qemu_aio : "(default)");
	printf("%-6s %-14s %12s %12s %7s  %-9s  %-8s  %s\n", "format", "test", "minivmm", "qemu-img",
	       "ratio", "range", "our aio", "(runs: minivmm, qemu-img)");
	for (int f = 0; f < 2; f++) {
		const char *fmt = f ? "qcow2" : "raw";
		char img[2][4096];
		uint64_t size = mib << 20;
		long nseq = (long)mib;
		uint64_t rstep = 4096ull * 7919;
		struct row rows[] = {
			{.name = "seq write 1M", .write = true, .bs = 1 << 20, .step = 1 << 20,
			 .count = nseq, .fresh = true},
			{.name = "seq read 1M", .bs = 1 << 20, .step = 1 << 20, .count = nseq},
			{.name = "rand read 4K", .bs = 4096, .step = rstep, .count = nrand},
			{.name = "rand write 4K", .write = true, .bs = 4096, .step = rstep,
			 .count = nrand},
		};
		const size_t nrows = sizeof(rows) / sizeof(rows[0]);

		if (only_fmt && strcmp(only_fmt, fmt))
			continue;
		snprintf(img[0], sizeof(img[0]), "%s/bench-ours.%s", argv[optind], fmt);
		snprintf(img[1], sizeof(img[1]), "%s/bench-qemu.%s", argv[optind], fmt);
		for (int k = 0; k < rounds; k++) {
			for (size_t r = 0; r < nrows; r++) {
				struct row *row = &rows[r];
				bool shown = !only_row || strstr(row->name, only_row);
				/* Reads share one image; writes each go to their own. */
				const char *mine = row->write ? img[0] : img[k % 2];
				const char *qemus = row->write ? img[1] : img[k % 2];
				double a = 0, b = 0;

				if (row->fresh) {
					make_image(img[0], fmt, size);
					make_image(img[1], fmt, size);
				}
				if (!shown && !row->fresh)
					continue;
				for (int turn = 0; turn < 2; turn++) {
					/* Neither program pays for the other's writeback. */
					sync();
					if ((turn == 0) == (k % 2 == 0)) {
						a = run_ours(mine, fmt, (enum block_cache)cache,
							     row->write, row->bs, row->step,
							     row->count, depth);
						if (a <= 0)
							return 1;
					} else {
						b = run_qemu(qemus, fmt, cache_name, row->write,
							     row->bs, row->step, row->count, depth);
						if (b <= 0) {
							fprintf(stderr,
								"bench-block: qemu-img bench failed\n");
							return 1;
						}
					}
				}
				if (row->bs >= (1 << 20)) {
					row->ours[k] = (double)row->count * (double)row->bs / a / 1e6;
					row->theirs[k] = (double)row->count * (double)row->bs / b / 1e6;
				} else {
					row->ours[k] = (double)row->count / a;
					row->theirs[k] = (double)row->count / b;
				}
				row->ratio[k] = row->ours[k] / row->theirs[k];
			}
		}
		for (size_t r = 0; r < nrows; r++)
			if (!only_row || strstr(rows[r].name, only_row))
				print_row(fmt, &rows[r], rounds);
		unlink(img[0]);
		unlink(img[1]);
	}
	return 0;
usage:
	fprintf(stderr, "usage: bench-block [-t CACHE] [-d DEPTH] [-m IMAGE_MiB] [-n RANDOM]\n"
			"                   [-R ROUNDS] [-i threads|io_uring] [-q QEMU_AIO]\n"
			"                   [-f raw|qcow2] [-r ROW] DIR\n");
	return 2;
}
