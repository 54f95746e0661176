/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 internals shared by qcow2.c (header, open, create), qcow2_map.c
 * (L1/L2 lookup, reads, writes, discard) and qcow2_refcount.c (refcounts,
 * cluster allocation, check).
 *
 * Metadata is cached and written back (like QEMU's qcow2 caches): L2 tables,
 * refcount blocks, L1 and refcount-table entries change in memory and reach
 * the file at a guest flush, on cache eviction, or before a header switch.
 * qcow2_meta_flush() writes them in dependency order with an fdatasync
 * barrier between levels, so that a power loss at any point leaves at most
 * leaked clusters:
 *   refcount blocks, (sync), refcount-table entries, (sync, also covering the
 *   data of newly allocated clusters), L2 tables, (sync), L1 entries.
 * Frees go the other way: a cluster's refcount drops only after the metadata
 * that stopped pointing at it is on stable storage, so a freed cluster is
 * never reused while the file still points at it.  Overwrites of allocated
 * clusters change no metadata and cost no barrier; cache=unsafe skips the
 * barriers (host_file_flush does nothing there).
 */
#ifndef MINIVMM_QCOW2_H
#define MINIVMM_QCOW2_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/block/block_int.h"

#define QCOW2_MAGIC 0x514649fbu

#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull
#define QCOW2_L1E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_REFT_OFFSET_MASK 0xfffffffffffffe00ull

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_EXT_END 0
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* The limits QEMU applies, so that a hostile header cannot make us allocate. */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)
#define QCOW2_MAX_HOST_OFFSET (1ull << 56)
#define QCOW2_DEFAULT_L2_CACHE (4u << 20)

/* The on-disk header, big-endian; v2 ends at nb_snapshots/snapshots_offset. */
struct qcow2_header {
	uint32_t magic;
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	/* version 3 */
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;
	uint32_t header_length;
} __attribute__((packed));
static_assert(sizeof(struct qcow2_header) == 104, "qcow2 v3 header is 104 bytes");

struct qcow2_cache_entry {
	uint64_t offset; /* host offset of the cached cluster, 0 = empty */
	uint64_t lru;
	uint8_t *data;
	bool dirty; /* changed in memory, not yet written */
};

struct qcow2_cache {
	unsigned n;
	uint64_t tick;
	unsigned last;
	struct qcow2_cache_entry *e;
};

struct qcow2_snapshot {
	uint64_t l1_table_offset;
	uint32_t l1_size;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	char *id, *name;
};

struct qcow2_pending_free {
	uint64_t offset, len;
};

/* Guest range [start, end) whose clusters an unlocked write is allocating. */
struct qcow2_inflight {
	uint64_t start, end;
	struct qcow2_inflight *next;
};

struct qcow2 {
	pthread_mutex_t lock;
	struct block_dev *bd;
	struct host_file *f;
	struct block_dev *backing;

	int version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits;
	uint64_t l2_entries;
	uint64_t size;
	uint32_t header_length;
	uint64_t incompat, compat, autoclear;

	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1; /* host-endian copy */

	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;
	unsigned refcount_order;
	unsigned rb_bits; /* log2 of refcounts per block */
	uint64_t refcount_max;

	unsigned csize_shift;
	uint64_t csize_mask;
	uint64_t coffset_mask;

	char *backing_file;
	char backing_format[32];

	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_size;
	struct qcow2_snapshot *snapshots;

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;

	uint64_t file_size; /* bytes; grows as clusters are allocated */
	uint64_t free_hint; /* cluster index where the free-cluster search starts */
	bool corrupt;
	bool broken; /* corruption found at run time: all access refused */
	bool snapshot_view; /* opened an internal snapshot */

	/* Writeback state, see the top of this file. */
	bool unsynced; /* written to the file since the last barrier */
	uint64_t write_gen; /* counts what sets unsynced */
	uint64_t l1_dirty_lo, l1_dirty_hi; /* L1 entries [lo, hi) to write */
	uint64_t rt_dirty_lo, rt_dirty_hi; /* refcount-table entries to write */

	/* Data I/O in flight without the lock: frees wait until it is done. */
	unsigned users;
	/*
	 * The same on io_uring, counted per epoch and dropped without the lock.
	 * Ready frees wait for the epoch that was current when they became
	 * ready; new users count in the other one, so the wait always ends.
	 */
	atomic_uint ring_users[2];
	unsigned ring_epoch;
	size_t nready_old; /* ready[0, nready_old) wait for epoch ring_epoch ^ 1 */
	/* Freed clusters whose dropped references are not yet stable ... */
	struct qcow2_pending_free *pending;
	size_t npending, pending_cap;
	/* ... and those that are, waiting for users to reach 0. */
	struct qcow2_pending_free *ready;
	size_t nready, ready_cap;

	/* Allocating writes whose data is being written without the lock. */
	struct qcow2_inflight *inflight;
	pthread_cond_t inflight_done;

	/* The last decompressed cluster. */
	uint64_t zcache_entry;
	uint8_t *zbuf, *zin;
};

/* qcow2_refcount.c */
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t rc);
int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset, uint64_t *got);
/* Allocates exactly n contiguous clusters. */
int qcow2_alloc_contiguous(struct qcow2 *q, uint64_t n, uint64_t *offset);
/*
 * Drops one reference on every cluster overlapping [offset, offset + len),
 * once the metadata change that stopped referencing them is stable.
 */
int qcow2_free_range(struct qcow2 *q, uint64_t offset, uint64_t len);
/* The same, at once: for clusters nothing in the file has pointed at. */
int qcow2_free_unused(struct qcow2 *q, uint64_t offset, uint64_t len);
void qcow2_users_done(struct qcow2 *q);
/* Makes pending frees ready (caller has made their metadata stable). */
void qcow2_frees_stable(struct qcow2 *q);
void qcow2_rt_dirty(struct qcow2 *q, uint64_t idx);
int qcow2_check(struct block_dev *bd, enum block_repair repair, struct block_check_result *res,
		void (*report)(void *, const char *), void *opaque);
void qcow2_mark_corrupt(struct qcow2 *q, const char *why);
/*
 * Corrupt metadata met at run time (under the lock): said once on stderr
 * naming the image, the corrupt bit set in a writable v3 header (as QEMU
 * does), every later request refused with -EIO.  Returns -EIO.
 */
__attribute__((format(printf, 2, 3))) int qcow2_signal_corruption(struct qcow2 *q,
								   const char *fmt, ...);

/* qcow2_map.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t size);
void qcow2_cache_free(struct qcow2_cache *c);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset);
void qcow2_cache_dirty(struct qcow2_cache *c, const uint8_t *data);
/* Writes every dirty entry of c (no barrier); 0 or -errno. */
int qcow2_cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c);
/* Metadata writes go through here: they leave the file "unsynced". */
int qcow2_meta_pwrite(struct qcow2 *q, uint64_t off, const void *buf, size_t len);
/* A barrier: fdatasync (nothing with cache=unsafe). */
int qcow2_barrier(struct qcow2 *q);
#define QCOW2_FLUSH_FREES 1u /* also apply ready frees */
#define QCOW2_FLUSH_SYNC 2u /* end with a barrier (a guest flush) */
/* Writes all cached metadata in dependency order; under the lock. */
int qcow2_meta_flush(struct qcow2 *q, unsigned flags);
void qcow2_l1_dirty(struct qcow2 *q, uint64_t idx);
/* Returns the cached cluster at host offset, reading it when absent. */
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, bool fresh,
		    uint8_t **data);
int qcow2_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len);
int qcow2_pwrite(struct block_dev *bd, uint64_t off, const void *buf, size_t len);
int qcow2_discard(struct block_dev *bd, uint64_t off, uint64_t len);
int qcow2_status(struct block_dev *bd, uint64_t off, uint64_t len, bool *zero, uint64_t *pnum);
int qcow2_map(struct block_dev *bd, uint64_t off, uint64_t len, bool write, uint64_t *host,
	      unsigned *token);
void qcow2_unmap(struct block_dev *bd, unsigned token);

/* qcow2.c */
/* Is [offset, offset+len) clear of the header, L1 table, reftable and snapshot table? */
bool qcow2_overlaps_fixed_metadata(struct qcow2 *q, uint64_t offset, uint64_t len);
int qcow2_write_header_field(struct qcow2 *q, unsigned field_offset, const void *data,
			     size_t len);

static inline uint64_t qcow2_offset_in_cluster(const struct qcow2 *q, uint64_t off)
{
	return off & (q->cluster_size - 1);
}

static inline bool qcow2_is_aligned(const struct qcow2 *q, uint64_t off)
{
	return (off & (q->cluster_size - 1)) == 0;
}

#endif
