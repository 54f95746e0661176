/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the block layer: the host file with its cache mode, and the format
 * driver interface.  Drivers are synchronous and thread-safe; block.c runs
 * them on worker threads.
 */
#ifndef MINIVMM_BLOCK_INT_H
#define MINIVMM_BLOCK_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "devices/block/block.h"

/* A host file or block device opened in a cache mode. */
struct host_file {
	int fd;
	enum block_cache cache;
	bool direct;
	bool is_blockdev;
	unsigned align; /* O_DIRECT: offsets, lengths and buffers */
	pthread_mutex_t rmw_lock; /* serialises unaligned O_DIRECT writes */
};

int host_file_open(struct host_file *hf, const char *path, bool read_only, enum block_cache cache,
		   char *err, size_t errlen);
void host_file_close(struct host_file *hf);
/* Short reads past the end of the file are filled with zeros. */
int host_file_pread(struct host_file *hf, uint64_t off, void *buf, size_t len);
int host_file_pwrite(struct host_file *hf, uint64_t off, const void *buf, size_t len);
int host_file_flush(struct host_file *hf);
int host_file_length(struct host_file *hf, uint64_t *len);
int host_file_truncate(struct host_file *hf, uint64_t len);
int host_file_discard(struct host_file *hf, uint64_t off, uint64_t len);
/*
 * Image locking compatible with QEMU's file-posix driver: permissions are
 * QEMU's BLK_PERM_* bits; for each one held a shared OFD lock on byte
 * 100 + bit, for each one not granted to others a shared lock on 200 + bit.
 * Takes the locks, then tests for a conflict with another open file
 * description (another process, or another open in this one); the locks
 * go with the file descriptor.
 */
#define BLOCK_PERM_CONSISTENT_READ 0x01u
#define BLOCK_PERM_WRITE 0x02u
#define BLOCK_PERM_WRITE_UNCHANGED 0x04u
#define BLOCK_PERM_RESIZE 0x08u
#define BLOCK_PERM_ALL 0x0fu
int host_file_lock(struct host_file *hf, const char *path, unsigned perm, unsigned shared,
		   char *err, size_t errlen);
/* The test hook (block_set_trace); for paths that bypass host_file_pwrite. */
void host_file_trace(struct host_file *hf, enum block_trace_op op, uint64_t off, const void *buf,
		     size_t len);
/* Bytes actually used on the host (st_blocks). */
uint64_t host_file_allocated(struct host_file *hf);

struct block_driver {
	const char *name;
	/* Higher is a better match; 0 = not this format. */
	int (*probe)(const uint8_t *buf, size_t len);
	int (*open)(struct block_dev *bd, const struct block_opts *opts, char *err, size_t errlen);
	void (*close)(struct block_dev *bd);
	int (*pread)(struct block_dev *bd, uint64_t off, void *buf, size_t len);
	int (*pwrite)(struct block_dev *bd, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct block_dev *bd);
	int (*discard)(struct block_dev *bd, uint64_t off, uint64_t len);
	int (*truncate)(struct block_dev *bd, uint64_t size);
	int (*info)(struct block_dev *bd, struct block_info *info);
	int (*check)(struct block_dev *bd, enum block_repair repair,
		     struct block_check_result *res, void (*report)(void *, const char *),
		     void *opaque);
	int (*status)(struct block_dev *bd, uint64_t off, uint64_t len, bool *zero,
		      uint64_t *pnum);
	int (*create)(const char *path, const struct block_create_opts *opts, char *err,
		      size_t errlen);
	/*
	 * For the io_uring path of formats other than raw: the host offset of
	 * guest range [off, off+len) when it is one host extent that needs no
	 * metadata I/O or change and no waiting; -EAGAIN otherwise (the request
	 * then goes to the workers).  Called on the submitting thread, so it
	 * must not block.  The extent stays valid until unmap(token).
	 */
	int (*map)(struct block_dev *bd, uint64_t off, uint64_t len, bool write, uint64_t *host,
		   unsigned *token);
	void (*unmap)(struct block_dev *bd, unsigned token);
	/*
	 * Runs once before the first change to the image (write, discard,
	 * resize), never at open: an open and a close with no I/O between leave
	 * the file as it was.  qcow2 repairs a dirty image here.  An error
	 * refuses that change and every later one.
	 */
	int (*activate)(struct block_dev *bd);
};

struct block_worker_pool;
struct block_uring;

struct block_dev {
	const struct block_driver *drv;
	void *state;
	char *filename;
	uint64_t size;
	bool read_only;
	struct host_file file;
	unsigned chain_depth; /* how many overlays sit above this image */
	const struct block_dev *overlay; /* the image whose backing file we are */
	char *snapshot_tmp; /* snapshot=on: the overlay's path, already unlinked */
	/*
	 * The format was probed and came out raw: a write must not make the
	 * first sector probe as another format (CVE-2008-2004), see
	 * block_probe_foreign().  sector0_lock serialises such writes.
	 */
	bool probe_guard;
	bool force_share; /* opened with force_share; so is the backing chain */
	atomic_bool activated; /* drv->activate has run (or is not needed) */
	int activate_err; /* its error, returned to every later change */
	pthread_mutex_t activate_lock;
	bool probe_refused_said; /* the refusal was reported once */
	pthread_mutex_t sector0_lock;

	/* Asynchronous requests. */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned in_flight; /* submitted, callback not yet run */
	unsigned running; /* submitted, not yet finished by a worker */
	struct block_req *done_head, **done_tail;
	int event_fd;
	struct block_worker_pool *pool;
	enum block_aio aio; /* THREADS or IO_URING once opened */
	struct block_uring *uring; /* started by block_open */
	unsigned nworkers; /* pool size: block_opts.workers or the default */
	unsigned uring_inflight; /* queued to the ring, completion not reaped */
	atomic_uint_fast64_t n_uring, n_workers; /* block_get_path_stats */
};

/* The first sector's size, what probing looks at. */
#define BLOCK_PROBE_BYTES 512

/*
 * The name of the image format (one QEMU can probe: qcow, qcow2, QED, VMDK,
 * VDI, VHDX, VPC, LUKS, parallels, bochs, cloop) whose signature the first
 * BLOCK_PROBE_BYTES of buf carry, or NULL when they look like raw data.
 */
const char *block_probe_foreign(const uint8_t *buf);

extern const struct block_driver block_driver_raw;
extern const struct block_driver block_driver_qcow2;

/* Opens a backing file for a format driver, read-only, with chain limits. */
int block_open_backing(struct block_dev **out, struct block_dev *top, const char *path,
		       const char *format, enum block_cache cache, char *err, size_t errlen);

__attribute__((format(printf, 3, 4))) void block_errf(char *err, size_t errlen, const char *fmt,
						       ...);

#define BLOCK_MAX_CHAIN 64

static inline uint16_t be16_get(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t be32_get(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t be64_get(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)be32_get(b) << 32 | be32_get(b + 4);
}
static inline void be16_put(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = v >> 8;
	b[1] = v;
}
static inline void be32_put(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}
static inline void be64_put(void *p, uint64_t v)
{
	be32_put(p, v >> 32);
	be32_put((uint8_t *)p + 4, (uint32_t)v);
}

#endif
