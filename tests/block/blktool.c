// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test driver for the block layer, called by the scripts in tests/block:
 *   compare IMG REF [FMT]          read IMG through the layer (sync and aio),
 *                                  compare with the raw file REF
 *   workload IMG REF SEED OPS [CACHE]  random aio writes/discards/flushes on IMG,
 *                                  mirrored into the raw file REF
 *   crash-write IMG LOG SEED OPS   the crash test's writer (killed by the script)
 *   crash-verify IMG LOG SEED OPS  both promises of a flush after the kill
 *   open IMG [rw]                  open, read everything, write a little;
 *                                  exit 0 = opened, 10 = refused, 11 = I/O error
 *   snapshot IMG                   snapshot=on: writes visible, original untouched
 *   internal-snapshot IMG NAME REF read snapshot NAME and compare with REF
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/block.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		p[i] = (uint8_t)s;
	}
}

static struct block_dev *open_or_die(const char *path, const struct block_opts *o)
{
	struct block_dev *bd;
	char err[512];
	int ret = block_open(&bd, path, o, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "open %s: %s (%s)\n", path, err, strerror(-ret));
		exit(1);
	}
	return bd;
}

static int ref_fd(const char *path, bool write)
{
	int fd = open(path, write ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void ref_read(int fd, uint64_t off, uint8_t *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);
	if (n < 0) {
		perror("pread ref");
		exit(1);
	}
	memset(buf + n, 0, len - (size_t)n);
}

struct aio_slot {
	int64_t ret;
	bool done;
};

static void aio_cb(void *opaque, int64_t ret)
{
	struct aio_slot *s = opaque;
	s->ret = ret;
	s->done = true;
}

static int cmd_compare(int argc, char **argv)
{
	struct block_opts o = {.read_only = true, .format = argc > 4 ? argv[4] : NULL};
	struct block_dev *bd = open_or_die(argv[2], &o);
	int fd = ref_fd(argv[3], false);
	uint64_t size = block_size(bd), pos = 0;
	uint8_t *a = malloc(4 << 20), *b = malloc(4 << 20);
	int bad = 0;

	rng_state = 12345;
	/* Sync reads in odd sizes. */
	while (pos < size) {
		size_t n = (size_t)(rnd() % (3 << 20)) + 1;
		if (n > size - pos)
			n = (size_t)(size - pos);
		int ret = block_pread(bd, pos, a, n);
		if (ret) {
			fprintf(stderr, "read at %" PRIu64 ": %s\n", pos, strerror(-ret));
			return 1;
		}
		ref_read(fd, pos, b, n);
		if (memcmp(a, b, n)) {
			for (size_t i = 0; i < n; i++)
				if (a[i] != b[i]) {
					fprintf(stderr, "mismatch at offset %" PRIu64 "\n", pos + i);
					break;
				}
			bad = 1;
			break;
		}
		pos += n;
	}
	/* Async reads, two iovecs each, at random places. */
	for (int i = 0; i < 64 && !bad && size; i++) {
		struct aio_slot s = {0};
		uint64_t off = rnd() % size;
		size_t n = (size_t)(rnd() % 200000) + 1;
		struct iovec iov[2];
		if (n > size - off)
			n = (size_t)(size - off);
		iov[0].iov_base = a;
		iov[0].iov_len = n / 3;
		iov[1].iov_base = a + n / 3;
		iov[1].iov_len = n - n / 3;
		if (block_aio_read(bd, off, iov, 2, aio_cb, &s)) {
			fprintf(stderr, "aio submit failed\n");
			return 1;
		}
		block_drain(bd);
		ref_read(fd, off, b, n);
		if (!s.done || s.ret != (int64_t)n || memcmp(a, b, n)) {
			fprintf(stderr, "aio read mismatch at %" PRIu64 "+%zu (ret %" PRId64 ")\n",
				off, n, s.ret);
			bad = 1;
		}
	}
	block_close(bd);
	free(a);
	free(b);
	if (!bad)
		printf("images match (%" PRIu64 " bytes)\n", size);
	return bad;
}

struct wop {
	int kind; /* 0 write, 1 discard, 2 flush */
	uint64_t off, len;
	uint8_t *buf;
	struct aio_slot slot;
};

static int cmd_workload(int argc, char **argv)
{
	struct block_opts o = {0};
	struct block_dev *bd;
	int fd = ref_fd(argv[3], true);
	uint64_t size;
	long ops = atol(argv[5]);
	int zfd = -1;

	if (argc > 6) {
		int c = block_cache_parse(argv[6]);
		if (c < 0) {
			fprintf(stderr, "bad cache mode\n");
			return 1;
		}
		o.cache = (enum block_cache)c;
	}
	o.l2_cache_bytes = 3 * 65536; /* small, to exercise eviction */
	bd = open_or_die(argv[2], &o);
	size = block_size(bd);
	rng_state = strtoull(argv[4], NULL, 0) | 1;
	zfd = open("/dev/zero", O_RDONLY);

	for (long done = 0; done < ops;) {
		struct wop batch[8];
		int n = (int)(rnd() % 8) + 1;

		memset(batch, 0, sizeof(batch));
		if (rnd() % 16 == 0) {
			n = 1;
			batch[0].kind = 2;
		} else {
			for (int i = 0; i < n; i++) {
				struct wop *w = &batch[i];
				uint64_t r = rnd() % 100;
				/* Disjoint slots keep the batch free of overlaps. */
				uint64_t slot = size / (uint64_t)n;
				uint64_t base = slot * (uint64_t)i;
				w->kind = r < 15 ? 1 : 0;
				w->len = r % 3 == 0 ? rnd() % 300000 + 1 : rnd() % 9000 + 1;
				if (rnd() % 4 == 0)
					w->len = (w->len + 511) & ~511ull;
				if (w->len > slot)
					w->len = slot;
				w->off = base + rnd() % (slot - w->len + 1);
				if (rnd() % 3 == 0)
					w->off &= ~4095ull;
				if (w->off < base)
					w->off = base;
				if (w->kind == 0) {
					w->buf = malloc(w->len);
					fill(w->buf, w->len, rnd());
				}
			}
		}
		for (int i = 0; i < n; i++) {
			struct wop *w = &batch[i];
			struct iovec iov = {w->buf, w->len};
			int ret = w->kind == 0   ? block_aio_write(bd, w->off, &iov, 1, aio_cb,
								   &w->slot)
				  : w->kind == 1 ? block_aio_discard(bd, w->off, w->len, aio_cb,
								     &w->slot)
						 : block_aio_flush(bd, aio_cb, &w->slot);
			if (ret) {
				fprintf(stderr, "submit: %s\n", strerror(-ret));
				return 1;
			}
		}
		block_drain(bd);
		for (int i = 0; i < n; i++) {
			struct wop *w = &batch[i];
			if (!w->slot.done || w->slot.ret < 0) {
				fprintf(stderr, "op %d at %" PRIu64 "+%" PRIu64 " failed: %s\n",
					w->kind, w->off, w->len, strerror((int)-w->slot.ret));
				return 1;
			}
			if (w->kind == 0) {
				if (pwrite(fd, w->buf, w->len, (off_t)w->off) != (ssize_t)w->len)
					return 1;
			} else if (w->kind == 1) {
				uint8_t *z = calloc(1, w->len);
				if (pwrite(fd, z, w->len, (off_t)w->off) != (ssize_t)w->len)
					return 1;
				free(z);
			}
			free(w->buf);
		}
		done += n;
	}
	if (block_flush(bd)) {
		fprintf(stderr, "final flush failed\n");
		return 1;
	}
	block_close(bd);
	close(fd);
	if (zfd >= 0)
		close(zfd);
	printf("workload done\n");
	return 0;
}

/* ---------------------------------------------------------- crash test */

#define CBLK 4096
#define CMAGIC 0x6372617368746573ull

struct cop {
	int kind; /* 0 write, 1 discard, 2 flush */
	uint64_t blk, n;
};

static struct cop crash_op(uint64_t nblocks)
{
	struct cop c;
	uint64_t r = rnd() % 100;

	c.kind = r < 70 ? 0 : r < 85 ? 1 : 2;
	c.n = c.kind == 0 ? rnd() % 4 + 1 : rnd() % 40 + 1;
	c.blk = rnd() % nblocks;
	if (c.blk + c.n > nblocks)
		c.n = nblocks - c.blk;
	return c;
}

static void crash_block(uint8_t *b, uint64_t blk, uint64_t seq)
{
	fill(b, CBLK, seq * 1000003 + blk);
	memcpy(b, &(uint64_t){CMAGIC}, 8);
	memcpy(b + 8, &blk, 8);
	memcpy(b + 16, &seq, 8);
}

static int cmd_crash_write(int argc, char **argv)
{
	struct block_opts o = {0};
	struct block_dev *bd = open_or_die(argv[2], &o);
	int log = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
	uint64_t nblocks = block_size(bd) / CBLK;
	long ops = atol(argv[5]);
	uint8_t *buf = malloc(4 * CBLK);

	rng_state = strtoull(argv[4], NULL, 0) | 1;
	for (long seq = 1; seq <= ops; seq++) {
		struct cop c = crash_op(nblocks);
		int ret = 0;
		if (c.kind == 0) {
			for (uint64_t i = 0; i < c.n; i++)
				crash_block(buf + i * CBLK, c.blk + i, (uint64_t)seq);
			ret = block_pwrite(bd, c.blk * CBLK, buf, c.n * CBLK);
		} else if (c.kind == 1) {
			ret = block_discard(bd, c.blk * CBLK, c.n * CBLK);
		} else {
			ret = block_flush(bd);
			if (!ret) {
				char line[32];
				int len = snprintf(line, sizeof(line), "%ld\n", seq);
				if (write(log, line, (size_t)len) != len)
					return 1;
			}
		}
		if (ret) {
			fprintf(stderr, "op %ld failed: %s\n", seq, strerror(-ret));
			return 1;
		}
	}
	block_close(bd);
	free(buf);
	close(log);
	return 0;
}

static int cmd_crash_verify(int argc, char **argv)
{
	struct block_opts o = {.read_only = true};
	struct block_dev *bd = open_or_die(argv[2], &o);
	FILE *log = fopen(argv[3], "r");
	uint64_t nblocks = block_size(bd) / CBLK;
	long ops = atol(argv[5]), flushed = 0, v;
	/* For each block: the committed state and whether later states exist. */
	int64_t *committed = calloc(nblocks, sizeof(int64_t));
	struct cop *all = calloc((size_t)ops + 1, sizeof(*all));
	uint8_t *buf = malloc(CBLK), *want = malloc(CBLK);
	long bad = 0;

	while (log && fscanf(log, "%ld", &v) == 1)
		flushed = v;
	rng_state = strtoull(argv[4], NULL, 0) | 1;
	for (long seq = 1; seq <= ops; seq++) {
		all[seq] = crash_op(nblocks);
		if (seq > flushed)
			continue;
		for (uint64_t i = 0; i < all[seq].n; i++) {
			if (all[seq].kind == 0)
				committed[all[seq].blk + i] = seq;
			else if (all[seq].kind == 1)
				committed[all[seq].blk + i] = 0;
		}
	}

	/*
	 * Writes after the last flush are neither durable nor atomic (a write
	 * may be split over several host clusters), so each 512-byte sector
	 * must hold the flushed state or the state of some later op on its block.
	 */
	for (uint64_t b = 0; b < nblocks; b++) {
		int ret = block_pread(bd, b * CBLK, buf, CBLK);
		if (ret) {
			fprintf(stderr, "read of block %" PRIu64 ": %s\n", b, strerror(-ret));
			return 1;
		}
		for (int sec = 0; sec < CBLK / 512; sec++) {
			const uint8_t *got = buf + sec * 512;
			bool ok = false;
			/* candidate -1: the flushed state; then every later op on b */
			for (long seq = -1; seq <= ops && !ok; seq = seq < 0 ? flushed + 1 : seq + 1) {
				int64_t st;
				if (seq < 0) {
					st = committed[b];
				} else {
					struct cop *c = &all[seq];
					if (c->kind == 2 || b < c->blk || b >= c->blk + c->n)
						continue;
					st = c->kind == 0 ? seq : 0;
				}
				if (st == 0) {
					memset(want, 0, CBLK);
				} else {
					crash_block(want, b, (uint64_t)st);
				}
				ok = !memcmp(got, want + sec * 512, 512);
			}
			if (!ok) {
				fprintf(stderr, "block %" PRIu64 " sector %d: neither the flushed state "
						"(%" PRId64 ") nor a later write\n", b, sec, committed[b]);
				bad++;
				break;
			}
		}
	}
	block_close(bd);
	free(committed);
	free(all);
	free(buf);
	free(want);
	if (log)
		fclose(log);
	printf("flushed up to op %ld; %ld bad blocks of %" PRIu64 "\n", flushed, bad, nblocks);
	return bad ? 1 : 0;
}

/* ------------------------------------------------------- error paths */

static int cmd_open(int argc, char **argv)
{
	bool rw = argc > 3 && !strcmp(argv[3], "rw");
	struct block_opts o = {.read_only = !rw, .l2_cache_bytes = 1024};
	struct block_dev *bd;
	char err[512];
	int ret = block_open(&bd, argv[2], &o, err, sizeof(err));
	uint8_t *buf;
	uint64_t size;
	int ioerr = 0;

	if (ret) {
		printf("refused: %s\n", err);
		return 10;
	}
	size = block_size(bd);
	buf = malloc(1 << 20);
	for (uint64_t pos = 0; pos < size && pos < (256ull << 20); pos += 1 << 20) {
		size_t n = size - pos < (1 << 20) ? (size_t)(size - pos) : (1 << 20);
		if (block_pread(bd, pos, buf, n))
			ioerr = 1;
	}
	if (rw) {
		memset(buf, 0xab, 70000);
		for (int i = 0; i < 16 && size > 70000; i++) {
			uint64_t off = (size - 70000) / 16 * (uint64_t)i;
			if (block_pwrite(bd, off, buf, 70000) || block_discard(bd, off, 65536))
				ioerr = 1;
		}
		if (block_flush(bd))
			ioerr = 1;
	}
	block_close(bd);
	free(buf);
	printf(ioerr ? "opened, I/O error on access\n" : "opened, all access fine\n");
	return ioerr ? 11 : 0;
}

static int cmd_snapshot(int argc, char **argv)
{
	struct block_opts o = {.snapshot = true};
	struct block_dev *bd = open_or_die(argv[2], &o);
	uint8_t a[8192], b[8192], orig[8192];
	int fd = ref_fd(argv[2], false);
	struct block_dev *ro;
	struct block_opts ro_o = {.read_only = true};

	ro = open_or_die(argv[2], &ro_o);
	if (block_pread(ro, 4096, orig, sizeof(orig)))
		return 1;
	block_close(ro);
	close(fd);
	fill(a, sizeof(a), 7);
	if (block_pwrite(bd, 4096, a, sizeof(a)) || block_flush(bd) ||
	    block_pread(bd, 4096, b, sizeof(b)) || memcmp(a, b, sizeof(a))) {
		fprintf(stderr, "snapshot=on: write not visible\n");
		return 1;
	}
	block_close(bd);
	ro = open_or_die(argv[2], &ro_o);
	if (block_pread(ro, 4096, b, sizeof(b)) || memcmp(orig, b, sizeof(b))) {
		fprintf(stderr, "snapshot=on: the original image changed\n");
		return 1;
	}
	block_close(ro);
	printf("snapshot=on ok\n");
	return 0;
}

static int cmd_internal_snapshot(int argc, char **argv)
{
	struct block_opts o = {.read_only = true, .internal_snapshot = argv[3]};
	struct block_dev *bd = open_or_die(argv[2], &o);
	uint8_t b[4096];
	char *args[] = {argv[0], "compare", argv[2], argv[4], NULL};

	if (block_pwrite(bd, 0, b, sizeof(b)) != -EROFS) {
		fprintf(stderr, "snapshot view accepted a write\n");
		return 1;
	}
	block_close(bd);
	(void)args;
	{
		/* compare through the snapshot */
		struct block_dev *s = open_or_die(argv[2], &o);
		int fd = ref_fd(argv[4], false);
		uint64_t size = block_size(s);
		uint8_t *x = malloc(1 << 20), *y = malloc(1 << 20);
		for (uint64_t pos = 0; pos < size; pos += 1 << 20) {
			size_t n = size - pos < (1 << 20) ? (size_t)(size - pos) : (1 << 20);
			if (block_pread(s, pos, x, n))
				return 1;
			ref_read(fd, pos, y, n);
			if (memcmp(x, y, n)) {
				fprintf(stderr, "snapshot content differs near %" PRIu64 "\n", pos);
				return 1;
			}
		}
		block_close(s);
		free(x);
		free(y);
		close(fd);
	}
	printf("internal snapshot ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "compare"))
		return cmd_compare(argc, argv);
	if (argc >= 6 && !strcmp(argv[1], "workload"))
		return cmd_workload(argc, argv);
	if (argc >= 6 && !strcmp(argv[1], "crash-write"))
		return cmd_crash_write(argc, argv);
	if (argc >= 6 && !strcmp(argv[1], "crash-verify"))
		return cmd_crash_verify(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "open"))
		return cmd_open(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "snapshot"))
		return cmd_snapshot(argc, argv);
	if (argc >= 5 && !strcmp(argv[1], "internal-snapshot"))
		return cmd_internal_snapshot(argc, argv);
	fprintf(stderr, "usage: see the comment at the top of blktool.c\n");
	return 2;
}
