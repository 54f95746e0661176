/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block layer: one interface for every image format (raw, qcow2), used by
 * every disk device (IDE, virtio-blk) and by minivmm-img.
 *
 * Requests are asynchronous: block_aio_*() hand the request to io_uring
 * (raw images; qcow2 data of allocated clusters) or to a small pool of worker
 * threads and return at once, so a
 * vCPU thread never waits for the disk.  Completions are collected per device and announced on an eventfd
 * (block_completion_fd); the owner's I/O thread calls block_complete() and the
 * callbacks run there, on the thread that owns the device state.
 *
 * The synchronous helpers (block_pread, ...) are for tools and tests.
 */
#ifndef MINIVMM_BLOCK_H
#define MINIVMM_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum block_cache {
	BLOCK_CACHE_WRITEBACK, /* page cache, flush = fdatasync (default) */
	BLOCK_CACHE_WRITETHROUGH, /* page cache, every write O_DSYNC */
	BLOCK_CACHE_NONE, /* O_DIRECT, flush = fdatasync */
	BLOCK_CACHE_DIRECTSYNC, /* O_DIRECT + O_DSYNC */
	BLOCK_CACHE_UNSAFE, /* page cache, flushes ignored */
};

enum block_aio {
	BLOCK_AIO_DEFAULT, /* the measured better one (see block.c) */
	BLOCK_AIO_THREADS, /* worker threads run the format driver */
	BLOCK_AIO_IO_URING, /* data I/O that needs no format work straight to io_uring */
};

struct block_opts {
	/*
	 * "raw", "qcow2" or NULL to probe.  An image probed as raw warns on
	 * stderr (when writable), and a write that would make its first sector
	 * probe as another format fails with -EPERM (the rest works).
	 */
	const char *format;
	bool read_only;
	bool snapshot; /* writes go to a temporary overlay deleted at close */
	bool no_backing; /* do not open backing files (fuzzing, info) */
	bool repair; /* for check -r: open even an image marked corrupt */
	bool quiet_probe; /* the caller reports block_probe_guarded() itself */
	/*
	 * Read-only inspection of an image another process may be writing
	 * (qemu-img -U): takes no lock that conflicts with a writer.  Without
	 * it an open takes QEMU's image locks and fails when another process
	 * (minivmm or QEMU) holds a conflicting one.
	 */
	bool force_share;
	enum block_cache cache;
	size_t l2_cache_bytes; /* qcow2 L2 table cache bound; 0 = default */
	const char *internal_snapshot; /* qcow2: open this snapshot read-only */
	unsigned workers; /* worker threads; 0 = default */
	enum block_aio aio; /* io_uring falls back to threads where unavailable */
};

struct block_dev;

/* ret is the number of bytes transferred (0 for flush/discard) or -errno. */
typedef void block_cb(void *opaque, int64_t ret);

/*
 * Writes nothing to the image (a qcow2 image left dirty is repaired at the
 * first write, discard or resize), takes QEMU-compatible locks (-EBUSY when
 * another process holds a conflicting one) and starts the asynchronous
 * machinery.
 */
int block_open(struct block_dev **out, const char *path, const struct block_opts *opts,
	       char *err, size_t errlen);
/* Waits for in-flight requests (without running their callbacks) and closes. */
void block_close(struct block_dev *bd);

uint64_t block_size(const struct block_dev *bd);
bool block_read_only(const struct block_dev *bd);
/* A short name for messages: the file name given to block_open. */
const char *block_name(const struct block_dev *bd);
const char *block_format(const struct block_dev *bd);
/* The format was probed and came out raw, and the image is writable: writes
 * that would make sector 0 look like another format are refused. */
bool block_probe_guarded(const struct block_dev *bd);
/* The one-line warning for such an image (nothing for any other). */
void block_warn_probed(const struct block_dev *bd);

int block_aio_read(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int iovcnt,
		   block_cb *cb, void *opaque);
int block_aio_write(struct block_dev *bd, uint64_t offset, const struct iovec *iov, int iovcnt,
		    block_cb *cb, void *opaque);
int block_aio_flush(struct block_dev *bd, block_cb *cb, void *opaque);
/* Afterwards the range reads as zeros. */
int block_aio_discard(struct block_dev *bd, uint64_t offset, uint64_t len, block_cb *cb,
		      void *opaque);

/*
 * Readable when completions are waiting; then call block_complete().  Valid
 * from block_open on: the ring and the workers are running by then.
 */
int block_completion_fd(const struct block_dev *bd);
/* Runs the callbacks of finished requests; returns how many ran. */
int block_complete(struct block_dev *bd);
/* Waits until nothing is in flight, running callbacks as they finish. */
void block_drain(struct block_dev *bd);

/* Synchronous forms, 0 or -errno. */
int block_pread(struct block_dev *bd, uint64_t offset, void *buf, size_t len);
int block_pwrite(struct block_dev *bd, uint64_t offset, const void *buf, size_t len);
int block_flush(struct block_dev *bd);
int block_discard(struct block_dev *bd, uint64_t offset, uint64_t len);
/* Grows the image (shrinking is refused). */
int block_truncate(struct block_dev *bd, uint64_t size);

/* Image creation, used by minivmm-img and for snapshot=on overlays. */
struct block_create_opts {
	const char *format; /* "raw" or "qcow2" */
	uint64_t size; /* 0 with a backing file: take the backing file's size */
	unsigned cluster_size; /* qcow2, 0 = 65536 */
	int compat; /* qcow2 version: 2 or 3 (0 = 3) */
	bool lazy_refcounts;
	unsigned refcount_bits; /* qcow2: 1, 2, 4, ... 64 (0 = 16; 16 only with compat 2) */
	const char *backing_file; /* qcow2 only, stored as given */
	const char *backing_format; /* NULL = probe */
};
int block_create(const char *path, const struct block_create_opts *opts, char *err,
		 size_t errlen);

/* Facts for "minivmm-img info". */
struct block_snapshot_info {
	char id[64];
	char name[256];
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
};
struct block_info {
	char format[16];
	uint64_t virtual_size;
	unsigned cluster_size;
	int version; /* qcow2: 2 or 3 */
	bool lazy_refcounts, dirty, corrupt;
	unsigned refcount_bits;
	char backing_file[1024];
	char backing_format[32];
	/* qcow2 features minivmm describes but cannot do I/O with. */
	char compression_type[8]; /* qcow2 v3: "zlib", "zstd" */
	char encryption[8]; /* "" (none), "aes", "luks" */
	char data_file[1024]; /* external data file, "" = none */
	bool data_file_raw, extended_l2;
	bool header_only; /* from block_describe: no snapshot list, not opened */
	unsigned nb_snapshots;
	struct block_snapshot_info *snapshots; /* freed by block_info_free */
};
int block_get_info(struct block_dev *bd, struct block_info *info);
/*
 * The same facts read from the image header alone, without opening the
 * image for I/O: for "minivmm-img info" of qcow2 images whose features
 * block_open refuses (encryption, zstd, an external data file, extended L2
 * entries).  format NULL probes; -ENOTSUP when the file is not qcow2.
 */
int block_describe(const char *path, const char *format, struct block_info *info, char *err,
		   size_t errlen);
/* The header parser of block_describe, on the first bytes of the file (fuzzed). */
int qcow2_describe_buf(const uint8_t *buf, size_t len, struct block_info *info, char *err,
		       size_t errlen);
/*
 * Is the file (st_dev, st_ino) bd's image or any image of its backing chain?
 * Returns its depth (0 = bd itself) or -1.
 */
int block_chain_find(const struct block_dev *bd, uint64_t dev, uint64_t ino);
void block_info_free(struct block_info *info);

/* Consistency check of the image metadata (qcow2; raw has nothing to check). */
enum block_repair {
	BLOCK_REPAIR_NONE,
	BLOCK_REPAIR_LEAKS,
	BLOCK_REPAIR_ALL,
};
struct block_check_result {
	uint64_t corruptions, leaks;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t check_errors; /* metadata that could not be read */
	uint64_t allocated_clusters, total_clusters;
	uint64_t image_end_offset;
};
/* Messages go through report(opaque, text) when given. */
int block_check(struct block_dev *bd, enum block_repair repair, struct block_check_result *res,
		void (*report)(void *opaque, const char *msg), void *opaque);

/*
 * For tests of write ordering: fn sees every write to an image file once it
 * is done, and every barrier (fdatasync) before it starts.  Process-wide;
 * NULL turns it off.  fn may be called from any thread.
 */
enum block_trace_op { BLOCK_TRACE_WRITE, BLOCK_TRACE_SYNC };
typedef void block_trace_fn(void *opaque, int fd, enum block_trace_op op, uint64_t off,
			    const void *buf, size_t len);
void block_set_trace(block_trace_fn *fn, void *opaque);

/* Parses "threads" or "io_uring"; -1 when unknown. */
int block_aio_parse(const char *s);
/* What the device uses after fallbacks: "threads" or "io_uring". */
const char *block_aio_name(const struct block_dev *bd);
/* Requests so far by the way they went: straight to io_uring from the
 * submitting thread, or to the worker pool (format work, flushes,
 * discards, whatever io_uring could not take).  Any thread. */
struct block_path_stats {
	uint64_t uring, workers;
};
void block_get_path_stats(const struct block_dev *bd, struct block_path_stats *st);

/* Parses "writeback", "none", ...; -1 when unknown. */
int block_cache_parse(const char *s);
/* Is the virtual range known to read as zeros without reading data? Sets *len. */
int block_status(struct block_dev *bd, uint64_t offset, uint64_t len, bool *zero,
		 uint64_t *pnum);

#endif
