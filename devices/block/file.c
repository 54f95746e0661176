// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host files and block devices in QEMU's cache modes.  With O_DIRECT the
 * kernel wants offset, length and buffer aligned; requests that are not get
 * an aligned bounce buffer (read-modify-write for writes).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/block_int.h"

static block_trace_fn *_Atomic trace_fn;
static void *_Atomic trace_opaque;

void block_set_trace(block_trace_fn *fn, void *opaque)
{
	trace_opaque = opaque;
	trace_fn = fn;
}

void host_file_trace(struct host_file *hf, enum block_trace_op op, uint64_t off, const void *buf,
		     size_t len)
{
	block_trace_fn *fn = trace_fn;

	if (fn)
		fn(trace_opaque, hf->fd, op, off, buf, len);
}

static int open_flags(bool read_only, enum block_cache cache)
{
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	if (cache == BLOCK_CACHE_NONE || cache == BLOCK_CACHE_DIRECTSYNC)
		flags |= O_DIRECT;
	if (!read_only && (cache == BLOCK_CACHE_WRITETHROUGH || cache == BLOCK_CACHE_DIRECTSYNC))
		flags |= O_DSYNC;
	return flags;
}

/* The smallest alignment O_DIRECT accepts here: try 512, fall back to 4096. */
static unsigned probe_alignment(int fd, bool is_blockdev)
{
	void *buf;
	unsigned a = 4096;

	if (is_blockdev) {
		int ss = 0;
		if (ioctl(fd, BLKSSZGET, &ss) == 0 && ss >= 512 && ss <= 65536)
			return (unsigned)ss;
		return 4096;
	}
	if (posix_memalign(&buf, 4096, 4096))
		return 4096;
	if (pread(fd, (char *)buf + 512, 512, 0) >= 0)
		a = 512;
	free(buf);
	return a;
}

int host_file_open(struct host_file *hf, const char *path, bool read_only, enum block_cache cache,
		   char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(hf, 0, sizeof(*hf));
	hf->fd = -1;
	fd = open(path, open_flags(read_only, cache));
	if (fd < 0 && errno == EINVAL && (cache == BLOCK_CACHE_NONE || cache == BLOCK_CACHE_DIRECTSYNC)) {
		block_errf(err, errlen, "%s: O_DIRECT is not supported here (cache=none/directsync)",
			   path);
		return -EINVAL;
	}
	if (fd < 0) {
		int e = errno;
		block_errf(err, errlen, "could not open '%s': %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		block_errf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		block_errf(err, errlen, "'%s' is not a regular file or block device", path);
		return -EINVAL;
	}
	hf->fd = fd;
	hf->cache = cache;
	hf->is_blockdev = S_ISBLK(st.st_mode);
	hf->direct = cache == BLOCK_CACHE_NONE || cache == BLOCK_CACHE_DIRECTSYNC;
	hf->align = hf->direct ? probe_alignment(fd, hf->is_blockdev) : 1;
	pthread_mutex_init(&hf->rmw_lock, NULL);
	return 0;
}

void host_file_close(struct host_file *hf)
{
	if (hf->fd >= 0) {
		close(hf->fd);
		pthread_mutex_destroy(&hf->rmw_lock);
	}
	hf->fd = -1;
}

/* ------------------------------------------------------------ locking */

#define LOCK_PERM_BASE 100
#define LOCK_SHARED_BASE 200

static const char *const perm_names[] = {"consistent read", "write", "write unchanged",
					 "resize"};

static int lock_byte(int fd, unsigned off)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* 1 when another open file description holds byte off, 0 when none, -errno. */
static int byte_taken(int fd, unsigned off)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

int host_file_lock(struct host_file *hf, const char *path, unsigned perm, unsigned shared,
		   char *err, size_t errlen)
{
	unsigned nperm = sizeof(perm_names) / sizeof(perm_names[0]);
	int ret = 0;

	/* Take ours first, then look: of two racing opens, one sees the other. */
	for (unsigned i = 0; i < nperm && !ret; i++) {
		if (perm & (1u << i))
			ret = lock_byte(hf->fd, LOCK_PERM_BASE + i);
		if (!ret && !(shared & (1u << i)))
			ret = lock_byte(hf->fd, LOCK_SHARED_BASE + i);
	}
	if (ret == -EINVAL || ret == -ENOLCK || ret == -EOPNOTSUPP || ret == -ENOSYS)
		return 0; /* no OFD locks on this file system: as QEMU's locking=auto */
	/* What others hold that we do not grant: a writer is the usual one. */
	for (unsigned i = 0; i < nperm && !ret; i++) {
		int t;

		if (shared & (1u << i))
			continue;
		t = byte_taken(hf->fd, LOCK_PERM_BASE + i);
		if (t > 0 && (1u << i) == BLOCK_PERM_WRITE) {
			block_errf(err, errlen,
				   "'%s' is in use by another process (locked for writing); close "
				   "it there first, or inspect it read-only with force sharing "
				   "(qemu-img info -U)",
				   path);
			return -EBUSY;
		}
		if (t > 0) {
			block_errf(err, errlen,
				   "'%s' is in use by another process (locked for %s); close it "
				   "there first",
				   path, perm_names[i]);
			return -EBUSY;
		}
		ret = t < 0 ? t : 0;
	}
	/* What we hold that others do not grant. */
	for (unsigned i = 0; i < nperm && !ret; i++) {
		int t;

		if (!(perm & (1u << i)))
			continue;
		t = byte_taken(hf->fd, LOCK_SHARED_BASE + i);
		if (t > 0) {
			block_errf(err, errlen,
				   "'%s' is in use by another process (which does not share %s "
				   "access); close it there first",
				   path, perm_names[i]);
			return -EBUSY;
		}
		ret = t < 0 ? t : 0;
	}
	if (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -ENOSYS)
		return 0;
	if (ret)
		block_errf(err, errlen, "could not lock '%s': %s", path, strerror(-ret));
	return ret;
}

static int full_pread(int fd, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int full_pwrite(int fd, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool is_aligned(const struct host_file *hf, uint64_t off, const void *buf, size_t len)
{
	uint64_t a = hf->align;
	return (off % a) == 0 && (len % a) == 0 && ((uintptr_t)buf % a) == 0;
}

/* O_DIRECT with an unaligned request: go through an aligned bounce buffer. */
static int bounce_rw(struct host_file *hf, uint64_t off, void *rbuf, const void *wbuf, size_t len)
{
	uint64_t a = hf->align;
	uint64_t start = off / a * a;
	uint64_t end = (off + len + a - 1) / a * a;
	size_t chunk = 1 << 20;
	int ret = 0;
	void *b;

	if (posix_memalign(&b, a < 4096 ? 4096 : a, chunk))
		return -ENOMEM;
	if (wbuf)
		pthread_mutex_lock(&hf->rmw_lock);
	for (uint64_t pos = start; pos < end && !ret; pos += chunk) {
		size_t n = end - pos < chunk ? (size_t)(end - pos) : chunk;
		uint64_t lo = pos > off ? pos : off;
		uint64_t hi = pos + n < off + len ? pos + n : off + len;

		if (!wbuf || lo != pos || hi != pos + n)
			ret = full_pread(hf->fd, pos, b, n);
		if (ret)
			break;
		if (wbuf) {
			memcpy((uint8_t *)b + (lo - pos), (const uint8_t *)wbuf + (lo - off), hi - lo);
			ret = full_pwrite(hf->fd, pos, b, n);
		} else {
			memcpy((uint8_t *)rbuf + (lo - off), (uint8_t *)b + (lo - pos), hi - lo);
		}
	}
	if (wbuf)
		pthread_mutex_unlock(&hf->rmw_lock);
	free(b);
	return ret;
}

int host_file_pread(struct host_file *hf, uint64_t off, void *buf, size_t len)
{
	if (off + len < off)
		return -EINVAL;
	if (hf->direct && !is_aligned(hf, off, buf, len))
		return bounce_rw(hf, off, buf, NULL, len);
	return full_pread(hf->fd, off, buf, len);
}

int host_file_pwrite(struct host_file *hf, uint64_t off, const void *buf, size_t len)
{
	int ret;

	if (off + len < off || off + len > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (hf->direct && !is_aligned(hf, off, buf, len))
		ret = bounce_rw(hf, off, NULL, buf, len);
	else
		ret = full_pwrite(hf->fd, off, buf, len);
	if (!ret)
		host_file_trace(hf, BLOCK_TRACE_WRITE, off, buf, len);
	return ret;
}

int host_file_flush(struct host_file *hf)
{
	if (hf->cache == BLOCK_CACHE_UNSAFE)
		return 0;
	host_file_trace(hf, BLOCK_TRACE_SYNC, 0, NULL, 0);
	if (fdatasync(hf->fd) < 0)
		return -errno;
	return 0;
}

int host_file_length(struct host_file *hf, uint64_t *len)
{
	struct stat st;

	if (hf->is_blockdev) {
		uint64_t sz;
		if (ioctl(hf->fd, BLKGETSIZE64, &sz) < 0)
			return -errno;
		*len = sz;
		return 0;
	}
	if (fstat(hf->fd, &st) < 0)
		return -errno;
	*len = (uint64_t)st.st_size;
	return 0;
}

uint64_t host_file_allocated(struct host_file *hf)
{
	struct stat st;

	if (fstat(hf->fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

int host_file_truncate(struct host_file *hf, uint64_t len)
{
	if (hf->is_blockdev)
		return -ENOTSUP;
	if (len > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (ftruncate(hf->fd, (off_t)len) < 0)
		return -errno;
	return 0;
}

int host_file_discard(struct host_file *hf, uint64_t off, uint64_t len)
{
	if (hf->is_blockdev) {
		/* BLKZEROOUT: the contract says the range reads as zeros after discard. */
		uint64_t range[2] = {off, len};
		if (ioctl(hf->fd, BLKZEROOUT, range) < 0)
			return -errno;
		return 0;
	}
	if (fallocate(hf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) ==
	    0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	/* No hole punching on this file system: write zeros. */
	{
		static const uint8_t zero[65536] __attribute__((aligned(4096)));
		while (len) {
			size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
			int ret = host_file_pwrite(hf, off, zero, n);
			if (ret)
				return ret;
			off += n;
			len -= n;
		}
	}
	return 0;
}
