// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qcow2 guest-offset mapping: the L2 table cache, reads (normal, zero,
 * compressed and backing clusters), writes with cluster allocation and
 * copy-on-write of partial clusters, and discard.
 *
 * One mutex covers the metadata.  Reads and in-place writes of allocated
 * clusters drop it for the data transfer; they count as "users", and clusters
 * freed while users exist are only released when the last one leaves, so a
 * cluster is never reused under an unlocked transfer.  Allocating writes drop
 * it too, see write_alloc.  The same reads and writes can also bypass the
 * workers and go to io_uring after a translation here (qcow2_map).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "devices/block/qcow2.h"

/* ------------------------------------------------------------- cache */

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t size)
{
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		void *p;
		if (posix_memalign(&p, 4096, size))
			return -ENOMEM;
		c->e[i].data = p;
	}
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	for (unsigned i = 0; c->e && i < c->n; i++)
		free(c->e[i].data);
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].offset == offset) {
			c->e[i].offset = 0;
			c->e[i].dirty = false;
		}
}

void qcow2_cache_dirty(struct qcow2_cache *c, const uint8_t *data)
{
	if (c->e[c->last].data == data) {
		c->e[c->last].dirty = true;
		return;
	}
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].data == data)
			c->e[i].dirty = true;
}

static bool cache_has_dirty(const struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].dirty && c->e[i].offset)
			return true;
	return false;
}

int qcow2_meta_pwrite(struct qcow2 *q, uint64_t off, const void *buf, size_t len)
{
	q->unsynced = true;
	q->write_gen++;
	return host_file_pwrite(q->f, off, buf, len);
}

int qcow2_barrier(struct qcow2 *q)
{
	int ret = host_file_flush(q->f);

	if (!ret)
		q->unsynced = false;
	return ret;
}

static int barrier_if_needed(struct qcow2 *q)
{
	return q->unsynced ? qcow2_barrier(q) : 0;
}

int qcow2_cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_cache_entry *e = &c->e[i];
		int ret;

		if (!e->dirty || !e->offset)
			continue;
		ret = qcow2_meta_pwrite(q, e->offset, e->data, q->cluster_size);
		if (ret)
			return ret;
		e->dirty = false;
	}
	return 0;
}

/* Widens the dirty range [*lo, *hi) (empty when lo == hi) to cover idx. */
static void dirty_range_add(uint64_t *lo, uint64_t *hi, uint64_t idx)
{
	if (*lo == *hi) {
		*lo = idx;
		*hi = idx + 1;
		return;
	}
	if (idx < *lo)
		*lo = idx;
	if (idx + 1 > *hi)
		*hi = idx + 1;
}

void qcow2_l1_dirty(struct qcow2 *q, uint64_t idx)
{
	dirty_range_add(&q->l1_dirty_lo, &q->l1_dirty_hi, idx);
}

void qcow2_rt_dirty(struct qcow2 *q, uint64_t idx)
{
	dirty_range_add(&q->rt_dirty_lo, &q->rt_dirty_hi, idx);
}

static int write_table_range(struct qcow2 *q, uint64_t table_off, const uint64_t *t,
			     uint64_t lo, uint64_t hi)
{
	uint8_t *b = malloc((hi - lo) * 8);
	int ret;

	if (!b)
		return -ENOMEM;
	for (uint64_t i = lo; i < hi; i++)
		be64_put(b + (i - lo) * 8, t[i]);
	ret = qcow2_meta_pwrite(q, table_off + lo * 8, b, (hi - lo) * 8);
	free(b);
	return ret;
}

/* Refcount blocks, then (after a barrier) the table entries that name new ones. */
static int write_refcounts(struct qcow2 *q)
{
	int ret = qcow2_cache_write_dirty(q, &q->rb_cache);

	if (ret || q->rt_dirty_lo == q->rt_dirty_hi)
		return ret;
	ret = barrier_if_needed(q);
	if (!ret)
		ret = write_table_range(q, q->rt_offset, q->rt, q->rt_dirty_lo, q->rt_dirty_hi);
	if (!ret)
		q->rt_dirty_lo = q->rt_dirty_hi = 0;
	return ret;
}

/* Everything an L2 table may point at is stable: refcounts and new data. */
static int prepare_l2_write(struct qcow2 *q)
{
	int ret = write_refcounts(q);

	return ret ? ret : barrier_if_needed(q);
}

int qcow2_meta_flush(struct qcow2 *q, unsigned flags)
{
	int ret;

	if (cache_has_dirty(&q->l2_cache)) {
		ret = prepare_l2_write(q);
		if (!ret)
			ret = qcow2_cache_write_dirty(q, &q->l2_cache);
	} else {
		ret = write_refcounts(q);
	}
	if (!ret && q->l1_dirty_lo != q->l1_dirty_hi) {
		/* New L2 tables are stable before an L1 entry names them. */
		ret = barrier_if_needed(q);
		if (!ret)
			ret = write_table_range(q, q->l1_offset, q->l1, q->l1_dirty_lo,
						q->l1_dirty_hi);
		if (!ret)
			q->l1_dirty_lo = q->l1_dirty_hi = 0;
	}
	if (!ret && q->npending) {
		/* The references these frees dropped are now stable. */
		ret = barrier_if_needed(q);
		if (!ret)
			qcow2_frees_stable(q);
	}
	if (!ret && (flags & QCOW2_FLUSH_FREES)) {
		qcow2_users_done(q);
		ret = qcow2_cache_write_dirty(q, &q->rb_cache);
	}
	if (!ret && (flags & QCOW2_FLUSH_SYNC))
		ret = qcow2_barrier(q);
	return ret;
}

/* A dirty victim is written first; an L2 table only after what it depends on. */
static int cache_write_victim(struct qcow2 *q, struct qcow2_cache *c,
			      struct qcow2_cache_entry *e)
{
	int ret = 0;

	if (!e->dirty || !e->offset)
		return 0;
	if (c == &q->l2_cache)
		ret = prepare_l2_write(q);
	if (!ret)
		ret = qcow2_meta_pwrite(q, e->offset, e->data, q->cluster_size);
	if (!ret)
		e->dirty = false;
	return ret;
}

/* The cached cluster at host offset, or NULL: never reads. */
static uint8_t *cache_peek(struct qcow2_cache *c, uint64_t offset)
{
	if (c->e[c->last].offset == offset) {
		c->e[c->last].lru = ++c->tick;
		return c->e[c->last].data;
	}
	for (unsigned i = 0; i < c->n; i++) {
		if (c->e[i].offset == offset) {
			c->e[i].lru = ++c->tick;
			c->last = i;
			return c->e[i].data;
		}
	}
	return NULL;
}

int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset, bool fresh,
		    uint8_t **data)
{
	struct qcow2_cache_entry *victim = NULL;
	int ret;

	if (!offset || !qcow2_is_aligned(q, offset))
		return -EIO;
	if (c->e[c->last].offset == offset) {
		c->e[c->last].lru = ++c->tick;
		if (fresh)
			memset(c->e[c->last].data, 0, q->cluster_size);
		*data = c->e[c->last].data;
		return 0;
	}
	for (unsigned i = 0; i < c->n; i++) {
		if (c->e[i].offset == offset) {
			c->e[i].lru = ++c->tick;
			c->last = i;
			if (fresh)
				memset(c->e[i].data, 0, q->cluster_size);
			*data = c->e[i].data;
			return 0;
		}
		if (!victim || c->e[i].lru < victim->lru)
			victim = &c->e[i];
	}
	ret = cache_write_victim(q, c, victim);
	if (ret)
		return ret;
	victim->offset = 0;
	if (fresh) {
		memset(victim->data, 0, q->cluster_size);
	} else {
		if (offset > q->file_size || q->cluster_size > q->file_size - offset)
			return -EIO; /* a table past the end of the file */
		ret = host_file_pread(q->f, offset, victim->data, q->cluster_size);
		if (ret)
			return ret;
	}
	victim->offset = offset;
	victim->lru = ++c->tick;
	c->last = (unsigned)(victim - c->e);
	*data = victim->data;
	return 0;
}

/* -------------------------------------------------------- corruption */

int qcow2_signal_corruption(struct qcow2 *q, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (q->broken)
		return -EIO;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	q->broken = true;
	fprintf(stderr, "minivmm: '%s': qcow2 image is corrupt: %s; further access refused\n",
		q->bd->filename, why);
	if (q->bd->read_only || q->snapshot_view || q->version < 3 ||
	    (q->incompat & QCOW2_INCOMPAT_CORRUPT)) {
		q->corrupt = true;
		return -EIO;
	}
	/* Only the bit: nothing else of the metadata is trusted any more. */
	q->corrupt = true;
	q->incompat |= QCOW2_INCOMPAT_CORRUPT;
	{
		unsigned field = offsetof(struct qcow2_header, incompatible_features);
		uint8_t feat[8];

		be64_put(feat, q->incompat);
		if (!qcow2_write_header_field(q, field, feat, 8))
			qcow2_barrier(q);
	}
	return -EIO;
}

/* Where a cluster-sized table or data cluster cannot be: what is wrong, or NULL. */
static const char *bad_cluster_offset(struct qcow2 *q, uint64_t off, uint64_t len)
{
	if (!qcow2_is_aligned(q, off))
		return "is not cluster aligned";
	if (off >= QCOW2_MAX_HOST_OFFSET || off > q->file_size || len > q->file_size - off)
		return "lies past the end of the file";
	return NULL;
}

/* ---------------------------------------------------------- L2 tables */

static uint64_t l2e_get(const uint8_t *tab, uint64_t idx)
{
	return be64_get(tab + idx * 8);
}

static bool l2e_in_place(uint64_t e)
{
	return (e & QCOW2_OFLAG_COPIED) && !(e & QCOW2_OFLAG_COMPRESSED) &&
	       !(e & QCOW2_OFLAG_ZERO) && (e & QCOW2_L2E_OFFSET_MASK);
}

static bool l2e_normal(uint64_t e)
{
	return !(e & QCOW2_OFLAG_COMPRESSED) && !(e & QCOW2_OFLAG_ZERO) &&
	       (e & QCOW2_L2E_OFFSET_MASK);
}

static bool l2_offset_ok(struct qcow2 *q, uint64_t off)
{
	return !bad_cluster_offset(q, off, q->cluster_size) &&
	       !qcow2_overlaps_fixed_metadata(q, off, q->cluster_size);
}

static int check_l2_offset(struct qcow2 *q, uint64_t off)
{
	const char *why;

	if (l2_offset_ok(q, off))
		return 0;
	why = bad_cluster_offset(q, off, q->cluster_size);
	return qcow2_signal_corruption(q, "L2 table offset 0x%llx %s", (unsigned long long)off,
				       why ? why : "overlaps other metadata");
}

/*
 * The L2 table for an L1 index.  For writes it is made private first: a
 * missing table is allocated, a shared one (snapshot) is copied.
 */
static int get_l2(struct qcow2 *q, uint64_t l1_idx, bool for_write, uint8_t **tab,
		  uint64_t *l2_off)
{
	uint64_t l1e, off, new_off;
	uint8_t *old = NULL, *t;
	int ret;

	if (q->broken)
		return -EIO;
	if (l1_idx >= q->l1_size)
		return -EIO;
	l1e = q->l1[l1_idx];
	off = l1e & QCOW2_L1E_OFFSET_MASK;
	if (off && check_l2_offset(q, off))
		return -EIO;
	if (!for_write || (off && (l1e & QCOW2_OFLAG_COPIED))) {
		*l2_off = off;
		if (!off) {
			*tab = NULL;
			return 0;
		}
		return qcow2_cache_get(q, &q->l2_cache, off, false, tab);
	}

	/* Allocate a private table; copy the shared one if there is one. */
	ret = qcow2_alloc_contiguous(q, 1, &new_off);
	if (ret)
		return ret;
	if (off) {
		ret = qcow2_cache_get(q, &q->l2_cache, off, false, &t);
		if (ret)
			return ret;
		old = malloc(q->cluster_size);
		if (!old)
			return -ENOMEM;
		memcpy(old, t, q->cluster_size);
	}
	ret = qcow2_cache_get(q, &q->l2_cache, new_off, true, &t);
	if (!ret && old)
		memcpy(t, old, q->cluster_size);
	free(old);
	if (ret) {
		qcow2_free_unused(q, new_off, q->cluster_size);
		return ret;
	}
	/* Written back (and made stable) before the L1 entry: qcow2_meta_flush. */
	qcow2_cache_dirty(&q->l2_cache, t);
	q->l1[l1_idx] = new_off | QCOW2_OFLAG_COPIED;
	qcow2_l1_dirty(q, l1_idx);
	if (off) {
		qcow2_cache_drop(&q->l2_cache, off);
		qcow2_free_range(q, off, q->cluster_size);
	}
	*l2_off = new_off;
	*tab = t;
	return 0;
}

/* ------------------------------------------------------------- reads */

static int read_compressed(struct qcow2 *q, uint64_t e, uint8_t **out)
{
	uint64_t coff = e & q->coffset_mask;
	uint64_t nb = ((e >> q->csize_shift) & q->csize_mask) + 1;
	uint64_t csize = nb * 512 - (coff & 511);
	z_stream zs;
	int zr, ret;

	if (q->zbuf && q->zcache_entry == e) {
		*out = q->zbuf;
		return 0;
	}
	if (!q->zbuf) {
		q->zbuf = malloc(q->cluster_size);
		q->zin = malloc(q->cluster_size * 2);
		if (!q->zbuf || !q->zin)
			return -ENOMEM;
	}
	if (coff >= q->file_size)
		return qcow2_signal_corruption(q, "compressed cluster offset 0x%llx lies past the "
						  "end of the file", (unsigned long long)coff);
	if (csize > q->cluster_size * 2)
		return -EIO;
	q->zcache_entry = UINT64_MAX;
	ret = host_file_pread(q->f, coff, q->zin, csize);
	if (ret)
		return ret;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -12) != Z_OK)
		return -ENOMEM;
	zs.next_in = q->zin;
	zs.avail_in = (unsigned)csize;
	zs.next_out = q->zbuf;
	zs.avail_out = (unsigned)q->cluster_size;
	zr = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR) || zs.avail_out != 0)
		return -EIO;
	q->zcache_entry = e;
	*out = q->zbuf;
	return 0;
}

static int read_backing(struct qcow2 *q, uint64_t voff, uint8_t *dst, uint64_t len)
{
	uint64_t bsize, n = 0;

	if (!q->backing) {
		memset(dst, 0, len);
		return 0;
	}
	bsize = block_size(q->backing);
	if (voff < bsize)
		n = bsize - voff < len ? bsize - voff : len;
	if (n) {
		int ret = block_pread(q->backing, voff, dst, n);
		if (ret)
			return ret;
	}
	memset(dst + n, 0, len - n);
	return 0;
}

static bool data_offset_ok(struct qcow2 *q, uint64_t host, uint64_t len)
{
	return !bad_cluster_offset(q, host, len);
}

static int check_data_offset(struct qcow2 *q, uint64_t host, uint64_t len)
{
	const char *why = bad_cluster_offset(q, host, len);

	if (!why)
		return 0;
	return qcow2_signal_corruption(q, "data cluster offset 0x%llx %s",
				       (unsigned long long)host, why);
}

/* Reads part of one guest cluster, given its L2 entry, under the lock. */
static int read_cluster_part(struct qcow2 *q, uint64_t e, uint64_t vcluster, uint64_t from,
			     uint64_t len, uint8_t *dst)
{
	int ret;

	if (!len)
		return 0;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint8_t *z = NULL;
		ret = read_compressed(q, e, &z);
		if (!ret)
			memcpy(dst, z + from, len);
		return ret;
	}
	if (e & QCOW2_OFLAG_ZERO) {
		memset(dst, 0, len);
		return 0;
	}
	if (e & QCOW2_L2E_OFFSET_MASK) {
		uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
		ret = check_data_offset(q, host, q->cluster_size);
		if (ret)
			return ret;
		return host_file_pread(q->f, host + from, dst, len);
	}
	return read_backing(q, vcluster + from, dst, len);
}

static void user_enter(struct qcow2 *q)
{
	q->users++;
	pthread_mutex_unlock(&q->lock);
}

static void user_leave(struct qcow2 *q)
{
	pthread_mutex_lock(&q->lock);
	q->users--;
	qcow2_users_done(q);
}

int qcow2_pread(struct block_dev *bd, uint64_t off, void *vbuf, size_t len)
{
	struct qcow2 *q = bd->state;
	uint8_t *buf = vbuf;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (len && !ret) {
		uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
		uint64_t l2_idx = (off >> q->cluster_bits) & (q->l2_entries - 1);
		uint64_t in_off = qcow2_offset_in_cluster(q, off);
		uint64_t vcluster = off - in_off;
		uint64_t n_req, k, bytes, e, l2_off;
		uint8_t *tab;

		ret = get_l2(q, l1_idx, false, &tab, &l2_off);
		if (ret)
			break;
		n_req = (in_off + len + q->cluster_size - 1) >> q->cluster_bits;
		if (n_req > q->l2_entries - l2_idx)
			n_req = q->l2_entries - l2_idx;
		e = tab ? l2e_get(tab, l2_idx) : 0;
		k = 1;
		if (l2e_normal(e)) {
			uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
			while (k < n_req && l2e_normal(l2e_get(tab, l2_idx + k)) &&
			       (l2e_get(tab, l2_idx + k) & QCOW2_L2E_OFFSET_MASK) ==
				       host + k * q->cluster_size)
				k++;
			bytes = k * q->cluster_size - in_off;
			if (bytes > len)
				bytes = len;
			ret = check_data_offset(q, host, k * q->cluster_size);
			if (ret)
				break;
			user_enter(q);
			ret = host_file_pread(q->f, host + in_off, buf, bytes);
			user_leave(q);
		} else if (!(e & QCOW2_OFLAG_COMPRESSED)) {
			/* Zero or unallocated: the same kind of neighbours in one go. */
			bool zero = e & QCOW2_OFLAG_ZERO;
			while (k < n_req && tab) {
				uint64_t n = l2e_get(tab, l2_idx + k);
				if (l2e_normal(n) || (n & QCOW2_OFLAG_COMPRESSED) ||
				    (bool)(n & QCOW2_OFLAG_ZERO) != zero)
					break;
				k++;
			}
			if (!tab)
				k = n_req;
			bytes = k * q->cluster_size - in_off;
			if (bytes > len)
				bytes = len;
			if (zero)
				memset(buf, 0, bytes);
			else
				ret = read_backing(q, off, buf, bytes);
		} else {
			bytes = q->cluster_size - in_off;
			if (bytes > len)
				bytes = len;
			ret = read_cluster_part(q, e, vcluster, in_off, bytes, buf);
		}
		off += bytes;
		buf += bytes;
		len -= bytes;
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* ------------------------------------------------------------ writes */

#define MAX_ALLOC_RUN 256

static int free_old_entry(struct qcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t coff = e & q->coffset_mask;
		uint64_t nb = ((e >> q->csize_shift) & q->csize_mask) + 1;
		if (q->zcache_entry == e)
			q->zcache_entry = UINT64_MAX;
		return qcow2_free_range(q, coff & ~511ull, nb * 512);
	}
	if (e & QCOW2_L2E_OFFSET_MASK)
		return qcow2_free_range(q, e & QCOW2_L2E_OFFSET_MASK, q->cluster_size);
	return 0;
}


static bool inflight_overlaps(const struct qcow2 *q, uint64_t start, uint64_t end)
{
	for (const struct qcow2_inflight *f = q->inflight; f; f = f->next)
		if (start < f->end && f->start < end)
			return true;
	return false;
}

static void inflight_remove(struct qcow2 *q, struct qcow2_inflight *me)
{
	for (struct qcow2_inflight **pp = &q->inflight; *pp; pp = &(*pp)->next) {
		if (*pp == me) {
			*pp = me->next;
			break;
		}
	}
	pthread_cond_broadcast(&q->inflight_done);
}

/*
 * Writes [off, off+len) where the clusters need allocating.  Under the lock
 * it reserves fresh clusters and merges the old content of partial clusters;
 * the data is written without the lock; under it again the L2 entries point
 * at the new clusters (written back later, after a barrier that covers the
 * data) and the old clusters are freed.  Meanwhile the guest range is marked
 * in flight so that writers and discards of the same clusters wait: two
 * allocations of one cluster would lose one of the writes.
 * *written is 0 when it had to wait; the caller then looks again.
 */
static int write_alloc(struct qcow2 *q, uint64_t off, const uint8_t *buf, uint64_t len,
		       uint64_t l2_idx, uint64_t k, uint64_t *written)
{
	uint64_t in_off = qcow2_offset_in_cluster(q, off);
	uint64_t vcluster = off - in_off;
	uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
	uint64_t old[MAX_ALLOC_RUN];
	uint64_t host, got, bytes, end, l2_off, wlen;
	struct qcow2_inflight me;
	const uint8_t *src = buf;
	uint8_t *tab, *tmp = NULL;
	int ret;

	*written = 0;
	if (k > MAX_ALLOC_RUN)
		k = MAX_ALLOC_RUN;
	if (inflight_overlaps(q, vcluster, vcluster + k * q->cluster_size)) {
		pthread_cond_wait(&q->inflight_done, &q->lock);
		return 0;
	}
	ret = get_l2(q, l1_idx, true, &tab, &l2_off);
	if (ret)
		return ret;
	for (uint64_t i = 0; i < k; i++)
		old[i] = l2e_get(tab, l2_idx + i);

	ret = qcow2_alloc_clusters(q, k, &host, &got);
	if (ret)
		return ret;
	k = got;
	bytes = k * q->cluster_size - in_off;
	if (bytes > len)
		bytes = len;
	end = in_off + bytes; /* within the run */
	wlen = bytes;

	if (in_off != 0 || (end & (q->cluster_size - 1)) != 0) {
		uint64_t run = k * q->cluster_size;
		uint64_t last = (k - 1) * q->cluster_size;

		tmp = malloc(run);
		if (!tmp) {
			ret = -ENOMEM;
			goto fail;
		}
		ret = read_cluster_part(q, old[0], vcluster, 0, in_off, tmp);
		if (!ret && end < run)
			ret = read_cluster_part(q, old[k - 1], vcluster + last, end - last,
						run - end, tmp + end);
		if (ret)
			goto fail;
		memcpy(tmp + in_off, buf, bytes);
		src = tmp;
		wlen = run;
	}

	me.start = vcluster;
	me.end = vcluster + k * q->cluster_size;
	me.next = q->inflight;
	q->inflight = &me;
	pthread_mutex_unlock(&q->lock);
	ret = host_file_pwrite(q->f, host, src, wlen);
	pthread_mutex_lock(&q->lock);
	/* The table may have been evicted meanwhile; it is private, so same offset. */
	if (!ret)
		ret = get_l2(q, l1_idx, true, &tab, &l2_off);
	if (ret) {
		inflight_remove(q, &me);
		goto fail;
	}
	free(tmp);
	/* The data must be stable before this L2 table is written. */
	q->unsynced = true;
	q->write_gen++;
	for (uint64_t i = 0; i < k; i++)
		be64_put(tab + (l2_idx + i) * 8, (host + i * q->cluster_size) | QCOW2_OFLAG_COPIED);
	qcow2_cache_dirty(&q->l2_cache, tab);
	inflight_remove(q, &me);
	for (uint64_t i = 0; i < k; i++)
		free_old_entry(q, old[i]);
	*written = bytes;
	return 0;
fail:
	free(tmp);
	/* Nothing points at the new clusters: give them back. */
	qcow2_free_unused(q, host, k * q->cluster_size);
	return ret;
}

static int write_locked(struct qcow2 *q, uint64_t off, const uint8_t *buf, uint64_t len)
{
	int ret = 0;

	while (len && !ret) {
		uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
		uint64_t l2_idx = (off >> q->cluster_bits) & (q->l2_entries - 1);
		uint64_t in_off = qcow2_offset_in_cluster(q, off);
		uint64_t n_req, k, bytes = 0, e, l2_off;
		uint8_t *tab;

		if (q->corrupt || q->broken)
			return -EIO;
		ret = get_l2(q, l1_idx, true, &tab, &l2_off);
		if (ret)
			break;
		n_req = (in_off + len + q->cluster_size - 1) >> q->cluster_bits;
		if (n_req > q->l2_entries - l2_idx)
			n_req = q->l2_entries - l2_idx;
		e = l2e_get(tab, l2_idx);
		k = 1;
		if (l2e_in_place(e)) {
			uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
			while (k < n_req && l2e_in_place(l2e_get(tab, l2_idx + k)) &&
			       (l2e_get(tab, l2_idx + k) & QCOW2_L2E_OFFSET_MASK) ==
				       host + k * q->cluster_size)
				k++;
			bytes = k * q->cluster_size - in_off;
			if (bytes > len)
				bytes = len;
			if (check_data_offset(q, host, k * q->cluster_size))
				return -EIO;
			if (qcow2_overlaps_fixed_metadata(q, host, k * q->cluster_size))
				return qcow2_signal_corruption(
					q, "data cluster offset 0x%llx overlaps metadata; a write "
					   "there was stopped",
					(unsigned long long)host);
			user_enter(q);
			ret = host_file_pwrite(q->f, host + in_off, buf, bytes);
			user_leave(q);
		} else {
			while (k < n_req && !l2e_in_place(l2e_get(tab, l2_idx + k)))
				k++;
			ret = write_alloc(q, off, buf, len, l2_idx, k, &bytes);
		}
		off += bytes;
		buf += bytes;
		len -= bytes;
	}
	return ret;
}

/* Write-through modes promise stable data at completion; frees must not pile up. */
static int write_finish(struct qcow2 *q, int ret)
{
	enum block_cache c = q->f->cache;

	if (ret)
		return ret;
	if (c == BLOCK_CACHE_WRITETHROUGH || c == BLOCK_CACHE_DIRECTSYNC)
		return qcow2_meta_flush(q, QCOW2_FLUSH_FREES);
	if (q->npending + q->nready > 4096)
		return qcow2_meta_flush(q, QCOW2_FLUSH_FREES);
	return 0;
}

int qcow2_pwrite(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *q = bd->state;
	int ret;

	pthread_mutex_lock(&q->lock);
	ret = q->snapshot_view ? -EROFS : write_finish(q, write_locked(q, off, buf, len));
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* ----------------------------------------------------------- discard */

static bool reads_zero(struct qcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return false;
	if (e & QCOW2_OFLAG_ZERO)
		return true;
	return !(e & QCOW2_L2E_OFFSET_MASK) && !q->backing_file;
}

static int zero_write(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint8_t *z = calloc(1, len);
	int ret;

	if (!z)
		return -ENOMEM;
	ret = write_locked(q, off, z, len);
	free(z);
	return ret;
}

int qcow2_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
	struct qcow2 *q = bd->state;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (q->snapshot_view || q->corrupt)
		ret = q->snapshot_view ? -EROFS : -EIO;
	while (len && !ret) {
		uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
		uint64_t l2_idx = (off >> q->cluster_bits) & (q->l2_entries - 1);
		uint64_t in_off = qcow2_offset_in_cluster(q, off);
		uint64_t bytes, k, l2_off, e;
		uint8_t *tab;

		if (inflight_overlaps(q, off - in_off, off + len)) {
			pthread_cond_wait(&q->inflight_done, &q->lock);
			continue;
		}
		ret = get_l2(q, l1_idx, false, &tab, &l2_off);
		if (ret)
			break;
		e = tab ? l2e_get(tab, l2_idx) : 0;
		if (in_off || len < q->cluster_size) {
			/* Part of a cluster: write zeros unless it reads as zeros already. */
			bytes = q->cluster_size - in_off;
			if (bytes > len)
				bytes = len;
			if (!reads_zero(q, e))
				ret = zero_write(q, off, bytes);
		} else if (!tab && !q->backing_file) {
			/* No L2 table, no backing file: the whole table's range is zero. */
			bytes = (q->l2_entries - l2_idx) * q->cluster_size;
			if (bytes > len)
				bytes = len / q->cluster_size * q->cluster_size;
		} else if (q->version == 2 && q->backing_file) {
			/* v2 has no zero flag: only data can hide the backing file. */
			bytes = q->cluster_size;
			ret = zero_write(q, off, bytes);
		} else {
			uint64_t nv = q->backing_file ? QCOW2_OFLAG_ZERO : 0;
			uint64_t old[MAX_ALLOC_RUN];

			k = len >> q->cluster_bits;
			if (k > q->l2_entries - l2_idx)
				k = q->l2_entries - l2_idx;
			if (k > MAX_ALLOC_RUN)
				k = MAX_ALLOC_RUN;
			bytes = k * q->cluster_size;
			ret = get_l2(q, l1_idx, true, &tab, &l2_off);
			if (ret)
				break;
			for (uint64_t i = 0; i < k; i++) {
				old[i] = l2e_get(tab, l2_idx + i);
				be64_put(tab + (l2_idx + i) * 8, nv);
			}
			qcow2_cache_dirty(&q->l2_cache, tab);
			for (uint64_t i = 0; i < k; i++)
				free_old_entry(q, old[i]);
		}
		off += bytes;
		len -= bytes;
	}
	if (!q->snapshot_view)
		ret = write_finish(q, ret);
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int qcow2_status(struct block_dev *bd, uint64_t off, uint64_t len, bool *zero, uint64_t *pnum)
{
	struct qcow2 *q = bd->state;
	uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
	uint64_t l2_idx = (off >> q->cluster_bits) & (q->l2_entries - 1);
	uint64_t in_off = qcow2_offset_in_cluster(q, off);
	uint64_t n, l2_off;
	uint8_t *tab;
	bool z;
	int ret;

	pthread_mutex_lock(&q->lock);
	ret = get_l2(q, l1_idx, false, &tab, &l2_off);
	if (ret)
		goto out;
	z = reads_zero(q, tab ? l2e_get(tab, l2_idx) : 0);
	if (!tab) {
		n = (q->l2_entries - l2_idx) * q->cluster_size - in_off;
	} else {
		uint64_t k = 1;
		while (l2_idx + k < q->l2_entries &&
		       reads_zero(q, l2e_get(tab, l2_idx + k)) == z &&
		       k * q->cluster_size - in_off < len)
			k++;
		n = k * q->cluster_size - in_off;
	}
	*zero = z;
	*pnum = n < len ? n : len;
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* ---------------------------------------------------------- io_uring */

static int map_locked(struct qcow2 *q, uint64_t off, uint64_t len, bool write, uint64_t *host)
{
	uint64_t l1_idx = off >> (q->cluster_bits + q->l2_bits);
	uint64_t l2_idx = (off >> q->cluster_bits) & (q->l2_entries - 1);
	uint64_t in_off = qcow2_offset_in_cluster(q, off);
	uint64_t n = (in_off + len + q->cluster_size - 1) >> q->cluster_bits;
	uint64_t l1e, l2_off, first;
	const uint8_t *tab;

	if (!len || n > q->l2_entries - l2_idx || l1_idx >= q->l1_size)
		return -EAGAIN;
	if (write && (q->corrupt || q->snapshot_view))
		return -EAGAIN; /* the workers give the error */
	l1e = q->l1[l1_idx];
	l2_off = l1e & QCOW2_L1E_OFFSET_MASK;
	/* A write to a shared L2 table copies it first: not here. */
	if (q->broken || !l2_off || (write && !(l1e & QCOW2_OFLAG_COPIED)) ||
	    !l2_offset_ok(q, l2_off))
		return -EAGAIN; /* the workers report a bad offset */
	tab = cache_peek(&q->l2_cache, l2_off);
	if (!tab)
		return -EAGAIN;
	first = l2e_get(tab, l2_idx) & QCOW2_L2E_OFFSET_MASK;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = l2e_get(tab, l2_idx + i);
		if (!(write ? l2e_in_place(e) : l2e_normal(e)) ||
		    (e & QCOW2_L2E_OFFSET_MASK) != first + i * q->cluster_size)
			return -EAGAIN;
	}
	if (!data_offset_ok(q, first, n * q->cluster_size))
		return -EAGAIN;
	if (write && qcow2_overlaps_fixed_metadata(q, first, n * q->cluster_size))
		return -EAGAIN; /* the workers mark the image corrupt */
	*host = first + in_off;
	return 0;
}

/*
 * Reads of allocated clusters and overwrites of in-place ones, the requests
 * that touch no metadata, go to io_uring straight from the submitting thread
 * (block.c).  The lock is only tried: a holder may be waiting for the disk,
 * and then the workers take the request.  The extent counts as a user until
 * qcow2_unmap, so that its clusters are not freed and reused under it; an
 * overwrite in place needs no barrier, exactly as on the worker path.
 */
int qcow2_map(struct block_dev *bd, uint64_t off, uint64_t len, bool write, uint64_t *host,
	      unsigned *token)
{
	struct qcow2 *q = bd->state;
	int ret;

	if (pthread_mutex_trylock(&q->lock))
		return -EAGAIN;
	ret = map_locked(q, off, len, write, host);
	if (!ret) {
		*token = q->ring_epoch;
		atomic_fetch_add(&q->ring_users[*token], 1);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* Frees that waited for this user run at the next locked qcow2_users_done. */
void qcow2_unmap(struct block_dev *bd, unsigned token)
{
	struct qcow2 *q = bd->state;

	atomic_fetch_sub(&q->ring_users[token & 1], 1);
}
