// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test driver for the block layer, called by the scripts in tests/block:
 *   compare IMG REF [FMT]          read IMG through the layer (sync and aio),
 *                                  compare with the raw file REF
 *   workload IMG REF SEED OPS [CACHE]  random aio writes/discards/flushes on IMG,
 *                                  mirrored into the raw file REF
 *   crash-write IMG LOG SEED OPS   the crash test's writer (killed by the script)
 *   crash-verify IMG LOG SEED OPS  both promises of a flush after the kill
 *   hold IMG rw|ro [FMT]           open IMG, print "holding", keep it open
 *                                  until stdin closes
 *   open IMG [rw|share]            open (share: read-only, force_share), read
 *                                  everything, write a little (rw);
 *                                  exit 0 = opened, 10 = refused, 11 = I/O error
 *   snapshot IMG                   snapshot=on: writes visible, original untouched
 *   internal-snapshot IMG NAME REF read snapshot NAME and compare with REF
 *   barrier-order DIR              the order of qcow2 writes and barriers
 *   powerloss DIR SEED             replays prefixes of the recorded writes,
 *                                  as a power loss would leave them, through
 *                                  qemu-img check and a read-back
 *   async-ready IMG                right after block_open, before any I/O:
 *                                  the completion fd, threads, io_uring fds
 *   write IMG OFF FILE [FMT]       write FILE's bytes at OFF through the aio path,
 *                                  print the format; exit 0 = written,
 *                                  12 = refused with EPERM, 1 = other error
 *   repair-crashes IMG DIR         check -r all on IMG with its writes recorded;
 *                                  DIR/crash-N.qcow2 are the images a power
 *                                  loss at each barrier would leave
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static int count_dir(const char *dir, const char *link_prefix)
{
	char path[512], target[256];
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		if (!link_prefix) {
			n++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = 0;
			n += !strncmp(target, link_prefix, strlen(link_prefix));
		}
	}
	closedir(d);
	return n;
}

static int cmd_async_ready(int argc, char **argv)
{
	struct block_opts o = {0};
	struct block_dev *bd = open_or_die(argv[2], &o);

	printf("fd=%d threads=%d rings=%d aio=%s\n", block_completion_fd(bd) >= 0,
	       count_dir("/proc/self/task", NULL),
	       count_dir("/proc/self/fd", "anon_inode:[io_uring]"), block_aio_name(bd));
	block_close(bd);
	return 0;
}

static int cmd_hold(int argc, char **argv)
{
	struct block_opts o = {.read_only = strcmp(argv[3], "rw") != 0,
			       .format = argc > 4 ? argv[4] : NULL};
	struct block_dev *bd;
	char err[512], c;
	int ret = block_open(&bd, argv[2], &o, err, sizeof(err));

	if (ret) {
		printf("refused: %s\n", err);
		return 10;
	}
	printf("holding\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	block_close(bd);
	return 0;
}

static int cmd_write(int argc, char **argv)
{
	struct block_opts o = {.format = argc > 5 ? argv[5] : NULL};
	struct block_dev *bd = open_or_die(argv[2], &o);
	uint64_t off = strtoull(argv[3], NULL, 0);
	struct aio_slot s = {0};
	uint8_t *buf = malloc(1 << 20);
	int fd = ref_fd(argv[4], false);
	ssize_t n = read(fd, buf, 1 << 20);
	struct iovec iov;
	int ret;

	close(fd);
	if (n < 0) {
		perror(argv[4]);
		return 1;
	}
	printf("format=%s\n", block_format(bd));
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	ret = block_aio_write(bd, off, &iov, 1, aio_cb, &s);
	if (!ret) {
		block_drain(bd);
		ret = s.done ? (int)(s.ret < 0 ? s.ret : 0) : -EIO;
	}
	if (!ret)
		ret = block_flush(bd);
	block_close(bd);
	free(buf);
	printf("write: %s\n", ret ? strerror(-ret) : "done");
	return ret == -EPERM ? 12 : ret ? 1 : 0;
}

static int cmd_open(int argc, char **argv)
{
	bool rw = argc > 3 && !strcmp(argv[3], "rw");
	bool share = argc > 3 && !strcmp(argv[3], "share");
	struct block_opts o = {.read_only = !rw, .l2_cache_bytes = 1024, .force_share = share};
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

	if (block_pwrite(bd, 0, b, sizeof(b)) != -EROFS) {
		fprintf(stderr, "snapshot view accepted a write\n");
		return 1;
	}
	block_close(bd);
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

/* ------------------------------------------------ write-order tracing */

struct tev {
	enum block_trace_op op;
	uint64_t off, len;
	uint8_t *data; /* powerloss only */
	bool ring; /* a write that io_uring did (the ring path traces no buffer) */
};

static struct {
	pthread_mutex_t lock;
	struct tev *ev;
	size_t n, cap;
	bool keep_data;
	int fd; /* the one image file written; -1 until the first write */
	bool other_fd;
} tr = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static void trace_rec(void *opaque, int fd, enum block_trace_op op, uint64_t off, const void *buf,
		      size_t len)
{
	pthread_mutex_lock(&tr.lock);
	if (tr.fd < 0)
		tr.fd = fd;
	if (fd != tr.fd)
		tr.other_fd = true;
	if (tr.n == tr.cap) {
		tr.cap = tr.cap ? tr.cap * 2 : 256;
		tr.ev = realloc(tr.ev, tr.cap * sizeof(*tr.ev));
		if (!tr.ev)
			abort();
	}
	tr.ev[tr.n].op = op;
	tr.ev[tr.n].off = off;
	tr.ev[tr.n].len = len;
	tr.ev[tr.n].data = NULL;
	tr.ev[tr.n].ring = op == BLOCK_TRACE_WRITE && !buf;
	if (tr.keep_data && buf) {
		tr.ev[tr.n].data = malloc(len);
		memcpy(tr.ev[tr.n].data, buf, len);
	}
	tr.n++;
	pthread_mutex_unlock(&tr.lock);
}

static void trace_reset(void)
{
	for (size_t i = 0; i < tr.n; i++)
		free(tr.ev[i].data);
	tr.n = 0;
	tr.fd = -1;
	tr.other_fd = false;
}

static uint64_t file_be64(int fd, uint64_t off)
{
	uint8_t b[8];
	if (pread(fd, b, 8, (off_t)off) != 8)
		return 0;
	return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
	       (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
	       (uint64_t)b[6] << 8 | b[7];
}

/* Where the metadata of guest offset 0 and 64 KiB lives (read after the writes). */
struct layout {
	uint64_t cs, l1, rt, rb, l2, data0, data1;
};

static void read_layout(const char *path, struct layout *l)
{
	int fd = ref_fd(path, false);
	const uint64_t mask = 0x00fffffffffffe00ull;

	l->cs = 1ull << (file_be64(fd, 20) >> 32);
	l->l1 = file_be64(fd, 40);
	l->rt = file_be64(fd, 48);
	l->rb = file_be64(fd, l->rt);
	l->l2 = file_be64(fd, l->l1) & mask;
	l->data0 = l->l2 ? file_be64(fd, l->l2) & mask : 0;
	l->data1 = l->l2 ? file_be64(fd, l->l2 + 8) & mask : 0;
	close(fd);
}

static const char *classify(const struct layout *l, const struct tev *e)
{
	if (e->op == BLOCK_TRACE_SYNC)
		return "SYNC";
	if (e->off < l->cs)
		return "header";
	if (e->off >= l->rt && e->off < l->rt + l->cs)
		return "reftable";
	if (e->off >= l->l1 && e->off < l->l1 + l->cs)
		return "L1";
	if (e->off >= l->rb && e->off < l->rb + l->cs)
		return "refblock";
	if (l->l2 && e->off >= l->l2 && e->off < l->l2 + l->cs)
		return "L2";
	if ((l->data0 && e->off >= l->data0 && e->off < l->data0 + l->cs) ||
	    (l->data1 && e->off >= l->data1 && e->off < l->data1 + l->cs))
		return "data";
	return "other";
}

static long ev_first(const struct layout *l, const char *what)
{
	for (size_t i = 0; i < tr.n; i++)
		if (!strcmp(classify(l, &tr.ev[i]), what))
			return (long)i;
	return -1;
}

static long ev_last(const struct layout *l, const char *what)
{
	for (size_t i = tr.n; i-- > 0;)
		if (!strcmp(classify(l, &tr.ev[i]), what))
			return (long)i;
	return -1;
}

static long ev_count(const struct layout *l, const char *what)
{
	long n = 0;
	for (size_t i = 0; i < tr.n; i++)
		n += !strcmp(classify(l, &tr.ev[i]), what);
	return n;
}

static bool sync_between(long a, long b)
{
	for (long i = a + 1; i < b; i++)
		if (tr.ev[i].op == BLOCK_TRACE_SYNC)
			return true;
	return false;
}

static void print_seq(const char *name, const struct layout *l)
{
	const char *prev = NULL;
	printf("%-34s", name);
	for (size_t i = 0; i < tr.n; i++) {
		const char *c = classify(l, &tr.ev[i]);
		if (prev && !strcmp(prev, c) && strcmp(c, "SYNC"))
			continue;
		printf(" %s", c);
		prev = c;
	}
	printf("%s\n", tr.n ? "" : " (nothing)");
}

static int order_fail;
#define ORDER_EXPECT(cond, ...)                                                                 \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "FAIL: " __VA_ARGS__);                                  \
			fprintf(stderr, "\n");                                                  \
			order_fail = 1;                                                         \
		}                                                                               \
	} while (0)

/* A must be written, then a barrier, then B (every write of A before any of B). */
static void expect_before(const struct layout *l, const char *a, const char *b)
{
	long la = ev_last(l, a), fb = ev_first(l, b);
	ORDER_EXPECT(la >= 0 && fb >= 0, "expected writes to %s and %s", a, b);
	ORDER_EXPECT(la < fb && sync_between(la, fb), "%s must be stable before %s is written", a,
		     b);
}

static void expect_final_sync(void)
{
	ORDER_EXPECT(tr.n && tr.ev[tr.n - 1].op == BLOCK_TRACE_SYNC,
		     "a guest flush must end with a barrier");
}

static int cmd_barrier_order(int argc, char **argv)
{
	char path[4096];
	struct block_create_opts c = {.format = "qcow2", .size = 64 << 20};
	struct block_opts o = {0};
	struct block_dev *bd;
	struct layout l;
	char err[256];
	uint8_t *buf = malloc(65536);

	memset(buf, 0x5a, 65536);
	snprintf(path, sizeof(path), "%s/order.qcow2", argv[2]);
	if (block_create(path, &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	block_set_trace(trace_rec, NULL);

	/* 1. First write: a new L2 table and a new data cluster. */
	bd = open_or_die(path, &o);
	trace_reset();
	if (block_pwrite(bd, 0, buf, 65536) || block_flush(bd))
		return 1;
	read_layout(path, &l);
	print_seq("allocating write + flush:", &l);
	ORDER_EXPECT(!tr.other_fd, "writes to more than one file");
	expect_before(&l, "refblock", "L2");
	expect_before(&l, "data", "L2");
	expect_before(&l, "L2", "L1");
	expect_final_sync();

	/* 2. Overwrites of allocated clusters: no metadata, no barrier until the flush. */
	trace_reset();
	for (int i = 0; i < 16; i++)
		if (block_pwrite(bd, (uint64_t)i * 4096, buf, 4096))
			return 1;
	print_seq("16 overwrites:", &l);
	ORDER_EXPECT(ev_count(&l, "SYNC") == 0, "overwrites caused barriers");
	ORDER_EXPECT(ev_count(&l, "data") == 16 && tr.n == 16, "overwrites wrote metadata");
	trace_reset();
	if (block_flush(bd))
		return 1;
	print_seq("flush after overwrites:", &l);
	ORDER_EXPECT(tr.n == 1 && tr.ev[0].op == BLOCK_TRACE_SYNC,
		     "a flush with clean metadata is one barrier");

	/* 2b. The same as requests (io_uring, where built): still data only. */
	{
		struct aio_slot slots[16];
		struct block_path_stats before, after;
		char name[64];

		memset(slots, 0, sizeof(slots));
		block_get_path_stats(bd, &before);
		trace_reset();
		for (int i = 0; i < 16; i++) {
			struct iovec iov = {buf + i * 4096, 4096};
			if (block_aio_write(bd, (uint64_t)i * 4096, &iov, 1, aio_cb, &slots[i]))
				return 1;
		}
		block_drain(bd);
		for (int i = 0; i < 16; i++)
			ORDER_EXPECT(slots[i].done && slots[i].ret == 4096,
				     "aio overwrite %d failed", i);
		snprintf(name, sizeof(name), "16 aio overwrites (%s):", block_aio_name(bd));
		print_seq(name, &l);
		ORDER_EXPECT(ev_count(&l, "SYNC") == 0, "aio overwrites caused barriers");
		ORDER_EXPECT(ev_count(&l, "data") == 16 && tr.n == 16,
			     "aio overwrites wrote metadata");
		block_get_path_stats(bd, &after);
		ORDER_EXPECT(after.uring + after.workers == before.uring + before.workers + 16,
			     "the path counters missed aio overwrites");
		if (!strcmp(block_aio_name(bd), "io_uring")) {
			for (size_t i = 0; i < tr.n; i++)
				ORDER_EXPECT(tr.ev[i].ring, "aio overwrite %zu did not use io_uring",
					     i);
			ORDER_EXPECT(after.uring == before.uring + 16,
				     "io_uring_requests counted %" PRIu64 " of 16 overwrites",
				     after.uring - before.uring);
		}
		trace_reset();
		if (block_flush(bd))
			return 1;
		ORDER_EXPECT(tr.n == 1 && tr.ev[0].op == BLOCK_TRACE_SYNC,
			     "a flush after aio overwrites is one barrier");
	}

	/* 3. Allocation in an existing L2 table: no L1 write. */
	trace_reset();
	if (block_pwrite(bd, 65536, buf, 4096) || block_flush(bd))
		return 1;
	read_layout(path, &l);
	print_seq("allocating write in old L2 + flush:", &l);
	expect_before(&l, "refblock", "L2");
	expect_before(&l, "data", "L2");
	ORDER_EXPECT(ev_count(&l, "L1") == 0, "L1 written without a new L2 table");
	expect_final_sync();

	/* 4. Discard: the L2 entry is stable before the refcount drops. */
	trace_reset();
	if (block_discard(bd, 0, 65536) || block_flush(bd))
		return 1;
	print_seq("discard + flush:", &l);
	expect_before(&l, "L2", "refblock");
	expect_final_sync();
	block_close(bd);

	/* 5. cache=unsafe: no barriers at all. */
	o.cache = BLOCK_CACHE_UNSAFE;
	bd = open_or_die(path, &o);
	trace_reset();
	if (block_pwrite(bd, 1 << 20, buf, 65536) || block_flush(bd))
		return 1;
	block_close(bd);
	print_seq("cache=unsafe write + flush + close:", &l);
	ORDER_EXPECT(ev_count(&l, "SYNC") == 0, "cache=unsafe issued barriers");

	block_set_trace(NULL, NULL);
	trace_reset();
	free(buf);
	if (!order_fail)
		printf("write order ok\n");
	return order_fail;
}

/* ------------------------------------------------------ power loss */

struct flush_point {
	size_t trace_pos; /* events before it are what the flush made stable */
	uint8_t *content; /* the guest's view when it completed */
};

static int qemu_check_rc(const char *path)
{
	char cmd[8300];
	int st;

	snprintf(cmd, sizeof(cmd), "qemu-img check '%s' >/dev/null 2>&1", path);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* Base image plus events [0, upto), plus, when tear, a random part of later writes. */
static int build_crash_image(const char *path, const uint8_t *base, size_t base_len, size_t upto,
			     size_t tear_end)
{
	size_t len = base_len;
	uint8_t *img;
	int fd;

	for (size_t i = 0; i < tear_end; i++)
		if (tr.ev[i].op == BLOCK_TRACE_WRITE && tr.ev[i].off + tr.ev[i].len > len)
			len = tr.ev[i].off + tr.ev[i].len;
	/* The file may have grown further than the stable writes; zeros then. */
	img = calloc(1, len);
	memcpy(img, base, base_len);
	for (size_t i = 0; i < tear_end; i++) {
		struct tev *e = &tr.ev[i];
		if (e->op != BLOCK_TRACE_WRITE)
			continue;
		if (i < upto) {
			memcpy(img + e->off, e->data, e->len);
		} else {
			/* Unstable: each 512-byte sector reached the disk or not. */
			for (uint64_t p = 0; p < e->len; p += 512)
				if (rnd() & 1)
					memcpy(img + e->off + p, e->data + p,
					       e->len - p < 512 ? e->len - p : 512);
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, img, len) != (ssize_t)len) {
		free(img);
		return -1;
	}
	close(fd);
	free(img);
	return 0;
}

static int powerloss_round(const char *dir, unsigned cs, uint64_t seed)
{
	char path[4096], crash[4096];
	struct block_create_opts c = {.format = "qcow2", .size = 4 << 20, .cluster_size = cs};
	struct block_opts o = {.l2_cache_bytes = 2 * cs};
	uint64_t size = c.size;
	struct flush_point fp[64];
	int nfp = 0, checks = 0, bad = 0;
	uint8_t *model = calloc(1, size), *buf = malloc(3 * cs + 8192), *got = malloc(size);
	uint8_t *base;
	size_t base_len;
	struct block_dev *bd;
	char err[256];
	int fd;

	snprintf(path, sizeof(path), "%s/pl.qcow2", dir);
	snprintf(crash, sizeof(crash), "%s/crash.qcow2", dir);
	if (block_create(path, &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	fd = ref_fd(path, false);
	base_len = (size_t)lseek(fd, 0, SEEK_END);
	base = malloc(base_len);
	if (pread(fd, base, base_len, 0) != (ssize_t)base_len)
		return 1;
	close(fd);

	rng_state = seed | 1;
	trace_reset();
	tr.keep_data = true;
	block_set_trace(trace_rec, NULL);
	bd = open_or_die(path, &o);
	for (int op = 0; op < 250; op++) {
		uint64_t r = rnd() % 100;
		uint64_t len = rnd() % (3 * cs + 4096) + 1, off;
		if (rnd() % 2)
			len = (len + 511) & ~511ull;
		off = rnd() % (size - len + 1);
		if (rnd() % 2)
			off &= ~(uint64_t)(cs - 1);
		if (r < 65) {
			fill(buf, len, rnd());
			if (block_pwrite(bd, off, buf, len))
				return 1;
			memcpy(model + off, buf, len);
		} else if (r < 85) {
			if (block_discard(bd, off, len))
				return 1;
			memset(model + off, 0, len);
		} else if (nfp < 63) {
			if (block_flush(bd))
				return 1;
			fp[nfp].trace_pos = tr.n;
			fp[nfp].content = malloc(size);
			memcpy(fp[nfp].content, model, size);
			nfp++;
		}
	}
	block_close(bd);
	fp[nfp].trace_pos = tr.n; /* close writes everything back and syncs */
	fp[nfp].content = malloc(size);
	memcpy(fp[nfp].content, model, size);
	nfp++;
	block_set_trace(NULL, NULL);

	/* Barriers: what was written before one, and a torn part of what follows. */
	size_t nsync = 0, stride, k = 0;
	for (size_t s = 0; s < tr.n; s++)
		nsync += tr.ev[s].op == BLOCK_TRACE_SYNC;
	stride = nsync / 80 + 1; /* bounded run time; the offset varies per seed */
	for (size_t s = 0; s <= tr.n; s++) {
		size_t next = s + 1;
		if (s < tr.n && (tr.ev[s].op != BLOCK_TRACE_SYNC || (k++ + seed) % stride))
			continue;
		while (next < tr.n && tr.ev[next].op != BLOCK_TRACE_SYNC)
			next++;
		if (next > tr.n)
			next = tr.n;
		if (build_crash_image(crash, base, base_len, s, next))
			return 1;
		int rc = qemu_check_rc(crash);
		checks++;
		if (rc != 0 && rc != 3) {
			fprintf(stderr, "crash before event %zu (of %zu), cluster %u: qemu-img check "
					"exit %d\n", s, tr.n, cs, rc);
			char cmd[8300];
			snprintf(cmd, sizeof(cmd), "qemu-img check '%s' | head -20 >&2", crash);
			if (system(cmd)) {
			}
			bad++;
			break;
		}
	}
	/* Right after each completed flush: exactly the flushed content. */
	for (int i = 0; i < nfp && !bad; i++) {
		struct block_opts ro = {.read_only = true};
		struct block_dev *cb;
		int rc;

		if (build_crash_image(crash, base, base_len, fp[i].trace_pos, fp[i].trace_pos))
			return 1;
		rc = qemu_check_rc(crash);
		checks++;
		if (rc != 0 && rc != 3) {
			fprintf(stderr, "after flush %d: qemu-img check exit %d\n", i, rc);
			bad++;
			break;
		}
		cb = open_or_die(crash, &ro);
		if (block_pread(cb, 0, got, size) || memcmp(got, fp[i].content, size)) {
			fprintf(stderr, "after flush %d (cluster %u): flushed data missing\n", i, cs);
			bad++;
		}
		block_close(cb);
	}
	printf("cluster %6u: %zu writes/barriers recorded, %d flushes, %d crash images "
	       "checked: %s\n", cs, tr.n, nfp, checks, bad ? "FAIL" : "ok");
	for (int i = 0; i < nfp; i++)
		free(fp[i].content);
	trace_reset();
	tr.keep_data = false;
	free(model);
	free(buf);
	free(got);
	free(base);
	return bad;
}

/* ------------------------------------------------ repair power loss */

static int cmd_repair_crashes(int argc, char **argv)
{
	struct block_opts o = {.repair = true};
	struct block_check_result res;
	struct block_dev *bd;
	char crash[4096];
	uint8_t *base;
	size_t base_len;
	int fd, n = 0, ret;

	fd = ref_fd(argv[2], false);
	base_len = (size_t)lseek(fd, 0, SEEK_END);
	base = malloc(base_len);
	if (!base || pread(fd, base, base_len, 0) != (ssize_t)base_len)
		return 1;
	close(fd);

	rng_state = 12345;
	trace_reset();
	tr.keep_data = true;
	block_set_trace(trace_rec, NULL);
	bd = open_or_die(argv[2], &o);
	ret = block_check(bd, BLOCK_REPAIR_ALL, &res, NULL, NULL);
	block_close(bd);
	block_set_trace(NULL, NULL);
	if (ret || res.corruptions != res.corruptions_fixed) {
		fprintf(stderr, "repair failed: %s, %" PRIu64 " of %" PRIu64 " fixed\n",
			strerror(-ret), res.corruptions_fixed, res.corruptions);
		return 1;
	}
	/* Each barrier: what came before it, and a torn part of what follows. */
	for (size_t s = 0; s <= tr.n; s++) {
		size_t next = s + 1;
		if (s < tr.n && tr.ev[s].op != BLOCK_TRACE_SYNC)
			continue;
		while (next < tr.n && tr.ev[next].op != BLOCK_TRACE_SYNC)
			next++;
		if (next > tr.n)
			next = tr.n;
		snprintf(crash, sizeof(crash), "%s/crash-%d.qcow2", argv[3], n++);
		if (build_crash_image(crash, base, base_len, s, next))
			return 1;
	}
	printf("%zu writes/barriers recorded, %d crash images\n", tr.n, n);
	trace_reset();
	tr.keep_data = false;
	free(base);
	return 0;
}

static int cmd_powerloss(int argc, char **argv)
{
	static const unsigned sizes[] = {512, 4096, 65536};
	uint64_t seed = strtoull(argv[3], NULL, 0);
	int bad = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bad |= powerloss_round(argv[2], sizes[i], seed + i);
	return bad;
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
	if (argc >= 3 && !strcmp(argv[1], "async-ready"))
		return cmd_async_ready(argc, argv);
	if (argc >= 4 && !strcmp(argv[1], "hold"))
		return cmd_hold(argc, argv);
	if (argc >= 5 && !strcmp(argv[1], "write"))
		return cmd_write(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "open"))
		return cmd_open(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "snapshot"))
		return cmd_snapshot(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "barrier-order"))
		return cmd_barrier_order(argc, argv);
	if (argc >= 4 && !strcmp(argv[1], "powerloss"))
		return cmd_powerloss(argc, argv);
	if (argc >= 4 && !strcmp(argv[1], "repair-crashes"))
		return cmd_repair_crashes(argc, argv);
	if (argc >= 5 && !strcmp(argv[1], "internal-snapshot"))
		return cmd_internal_snapshot(argc, argv);
	fprintf(stderr, "usage: see the comment at the top of blktool.c\n");
	return 2;
}
