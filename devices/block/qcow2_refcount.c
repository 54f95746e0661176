// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qcow2 refcounts: reading and writing entries of any width (1 to 64 bits),
 * cluster allocation, growing the refcount structures, and the consistency
 * check with leak and refcount repair, and the rebuild of the whole refcount
 * structure when refcount blocks are missing or unusable.
 *
 * A refcount block that does not exist yet is placed at the first cluster of
 * the range it describes: with no block, every cluster of that range has
 * refcount 0, so that cluster is free, and the block describes itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/block/qcow2.h"

static uint64_t rb_get(const struct qcow2 *q, const uint8_t *rb, uint64_t idx)
{
	unsigned bits = 1u << q->refcount_order;

	if (bits >= 8) {
		unsigned bytes = bits / 8;
		uint64_t v = 0;
		for (unsigned i = 0; i < bytes; i++)
			v = v << 8 | rb[idx * bytes + i];
		return v;
	}
	return (rb[idx * bits / 8] >> (idx * bits % 8)) & ((1u << bits) - 1);
}

/* Sets the entry and returns the byte that holds it (for the write-through). */
static uint64_t rb_set(const struct qcow2 *q, uint8_t *rb, uint64_t idx, uint64_t v,
		       unsigned *nbytes)
{
	unsigned bits = 1u << q->refcount_order;

	if (bits >= 8) {
		unsigned bytes = bits / 8;
		for (unsigned i = 0; i < bytes; i++)
			rb[idx * bytes + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
		*nbytes = bytes;
		return idx * bytes;
	}
	{
		uint64_t byte = idx * bits / 8;
		unsigned shift = idx * bits % 8;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
		rb[byte] = (uint8_t)((rb[byte] & ~mask) | ((v << shift) & mask));
		*nbytes = 1;
		return byte;
	}
}

static int load_refblock(struct qcow2 *q, uint64_t rb_off, uint8_t **rb)
{
	if (!qcow2_is_aligned(q, rb_off) || rb_off >= q->file_size ||
	    qcow2_overlaps_fixed_metadata(q, rb_off, q->cluster_size)) {
		/* The reftable itself is in the "fixed" set, the header too. */
		return -EIO;
	}
	return qcow2_cache_get(q, &q->rb_cache, rb_off, false, rb);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
	uint64_t idx = cluster >> q->rb_bits;
	uint64_t rb_off;
	uint8_t *rb;
	int ret;

	if (idx >= q->rt_entries) {
		*rc = 0;
		return 0;
	}
	rb_off = q->rt[idx] & QCOW2_REFT_OFFSET_MASK;
	if (!rb_off) {
		*rc = 0;
		return 0;
	}
	ret = load_refblock(q, rb_off, &rb);
	if (ret)
		return ret;
	*rc = rb_get(q, rb, cluster & ((1ull << q->rb_bits) - 1));
	return 0;
}

void qcow2_mark_corrupt(struct qcow2 *q, const char *why)
{
	uint8_t feat[8];

	if (q->corrupt)
		return;
	q->corrupt = true;
	fprintf(stderr, "minivmm: qcow2 image '%s' is corrupt (%s); further writes refused\n",
		q->bd->filename, why);
	if (q->version == 3) {
		q->incompat |= QCOW2_INCOMPAT_CORRUPT;
		be64_put(feat, q->incompat);
		if (!qcow2_write_header_field(q, offsetof(struct qcow2_header, incompatible_features),
					      feat, 8))
			qcow2_barrier(q);
	}
}

static int write_reftable(struct qcow2 *q, uint64_t table_off, const uint64_t *rt, uint64_t from,
			  uint64_t n)
{
	uint8_t *b = malloc(n * 8);
	int ret;

	if (!b)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		be64_put(b + i * 8, rt[from + i]);
	ret = qcow2_meta_pwrite(q, table_off + from * 8, b, n * 8);
	free(b);
	return ret;
}

static void note_file_end(struct qcow2 *q, uint64_t end)
{
	if (end > q->file_size)
		q->file_size = end;
}

/*
 * A bigger refcount table, placed with its own new refcount blocks at the
 * start of the first range the old table does not cover, so that none of
 * those clusters can be in use.  Written fully before the header switches.
 */
static int grow_reftable(struct qcow2 *q, uint64_t need_idx)
{
	uint64_t cs = q->cluster_size, per_rb = 1ull << q->rb_bits;
	uint64_t entries = q->rt_entries * 2 > need_idx + 1 ? q->rt_entries * 2 : need_idx + 1;
	uint64_t n, m = 1, first_range = q->rt_entries, start, *nrt;
	uint8_t *blocks;
	uint8_t hdr[12];
	int ret;

	for (int iter = 0; iter < 64; iter++) {
		n = (entries * 8 + cs - 1) / cs;
		m = (n + m + per_rb - 1) / per_rb;
		if (entries < first_range + m + 1)
			entries = first_range + m + 1;
		else if ((n + m + per_rb - 1) / per_rb == m && (entries * 8 + cs - 1) / cs == n)
			break;
	}
	n = (entries * 8 + cs - 1) / cs;
	entries = n * cs / 8;
	if (n * cs > QCOW2_MAX_REFTABLE_BYTES)
		return -ENOSPC;
	start = first_range << q->rb_bits;
	if ((start + n + m) * cs > QCOW2_MAX_HOST_OFFSET)
		return -ENOSPC;
	/* The new table copies every entry: the blocks they name must be on disk. */
	ret = qcow2_meta_flush(q, 0);
	if (ret)
		return ret;

	nrt = calloc(entries, 8);
	blocks = calloc(m, cs);
	if (!nrt || !blocks) {
		free(nrt);
		free(blocks);
		return -ENOMEM;
	}
	memcpy(nrt, q->rt, q->rt_entries * 8);
	for (uint64_t c = start; c < start + n + m; c++) {
		uint64_t j = (c >> q->rb_bits) - first_range;
		unsigned nb;
		rb_set(q, blocks + j * cs, c & (per_rb - 1), 1, &nb);
	}
	for (uint64_t j = 0; j < m; j++)
		nrt[first_range + j] = (start + n + j) * cs;

	ret = qcow2_meta_pwrite(q, (start + n) * cs, blocks, m * cs);
	if (!ret)
		ret = write_reftable(q, start * cs, nrt, 0, entries);
	if (!ret)
		ret = qcow2_barrier(q);
	free(blocks);
	if (ret) {
		free(nrt);
		return ret;
	}
	note_file_end(q, (start + n + m) * cs);
	be64_put(hdr, start * cs);
	be32_put(hdr + 8, (uint32_t)n);
	ret = qcow2_write_header_field(q, offsetof(struct qcow2_header, refcount_table_offset),
				       hdr, 12);
	if (ret) {
		free(nrt);
		return ret;
	}
	{
		uint64_t old_off = q->rt_offset, old_bytes = (uint64_t)q->rt_clusters * cs;
		free(q->rt);
		q->rt = nrt;
		q->rt_offset = start * cs;
		q->rt_clusters = (uint32_t)n;
		q->rt_entries = entries;
		qcow2_free_range(q, old_off, old_bytes);
	}
	return 0;
}

static int ensure_refblock(struct qcow2 *q, uint64_t idx)
{
	uint64_t first, off;
	uint8_t *rb;
	unsigned nb;
	int ret;

	if (idx >= q->rt_entries) {
		ret = grow_reftable(q, idx);
		if (ret)
			return ret;
	}
	if (q->rt[idx] & QCOW2_REFT_OFFSET_MASK)
		return 0;
	first = idx << q->rb_bits;
	off = first * q->cluster_size;
	if (off >= QCOW2_MAX_HOST_OFFSET)
		return -ENOSPC;
	if (qcow2_overlaps_fixed_metadata(q, off, q->cluster_size))
		return -EIO; /* only in a damaged image */
	ret = qcow2_cache_get(q, &q->rb_cache, off, true, &rb);
	if (ret)
		return ret;
	rb_set(q, rb, 0, 1, &nb);
	/* Written back before the table entry that names it (qcow2_meta_flush). */
	qcow2_cache_dirty(&q->rb_cache, rb);
	note_file_end(q, off + q->cluster_size);
	q->rt[idx] = off;
	qcow2_rt_dirty(q, idx);
	return 0;
}

static int refcount_write(struct qcow2 *q, uint64_t cluster, uint64_t rc, bool create)
{
	uint64_t idx = cluster >> q->rb_bits;
	uint64_t rb_off;
	uint8_t *rb;
	unsigned nb;
	int ret;

	if (create) {
		ret = ensure_refblock(q, idx);
		if (ret)
			return ret;
	} else if (idx >= q->rt_entries || !(q->rt[idx] & QCOW2_REFT_OFFSET_MASK)) {
		return -EIO;
	}
	rb_off = q->rt[idx] & QCOW2_REFT_OFFSET_MASK;
	ret = load_refblock(q, rb_off, &rb);
	if (ret)
		return ret;
	rb_set(q, rb, cluster & ((1ull << q->rb_bits) - 1), rc, &nb);
	qcow2_cache_dirty(&q->rb_cache, rb);
	return 0;
}

/* Sets clusters [c, c+n) to rc with one write per refcount block. */
static int refcount_write_run(struct qcow2 *q, uint64_t c, uint64_t n, uint64_t rc)
{
	while (n) {
		uint64_t idx = c >> q->rb_bits, per = 1ull << q->rb_bits;
		uint64_t in = c & (per - 1), k = per - in < n ? per - in : n;
		uint64_t rb_off;
		uint8_t *rb;
		unsigned nb = 0;
		int ret;

		if (idx >= q->rt_entries || !(q->rt[idx] & QCOW2_REFT_OFFSET_MASK))
			return -EIO;
		rb_off = q->rt[idx] & QCOW2_REFT_OFFSET_MASK;
		ret = load_refblock(q, rb_off, &rb);
		if (ret)
			return ret;
		for (uint64_t i = 0; i < k; i++)
			rb_set(q, rb, in + i, rc, &nb);
		qcow2_cache_dirty(&q->rb_cache, rb);
		c += k;
		n -= k;
	}
	return 0;
}

int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t rc)
{
	return refcount_write(q, cluster, rc, true);
}

int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset, uint64_t *got)
{
	uint64_t c = q->free_hint, rc;
	int ret;

	for (;;) {
		uint64_t m = 0, first_idx, last_idx;

		if ((c + 1) * q->cluster_size > QCOW2_MAX_HOST_OFFSET)
			return -ENOSPC;
		ret = qcow2_refcount_get(q, c, &rc);
		if (ret)
			return ret;
		if (rc) {
			c++;
			continue;
		}
		m = 1;
		while (m < n && qcow2_refcount_get(q, c + m, &rc) == 0 && rc == 0)
			m++;
		/* Make sure every block exists, then look again: a new block may sit
		 * on the first cluster of its range. */
		first_idx = c >> q->rb_bits;
		last_idx = (c + m - 1) >> q->rb_bits;
		for (uint64_t i = first_idx; i <= last_idx; i++) {
			ret = ensure_refblock(q, i);
			if (ret)
				return ret;
		}
		ret = qcow2_refcount_get(q, c, &rc);
		if (ret)
			return ret;
		if (rc) {
			c++;
			continue;
		}
		for (uint64_t i = 1; i < m; i++) {
			ret = qcow2_refcount_get(q, c + i, &rc);
			if (ret)
				return ret;
			if (rc) {
				m = i;
				break;
			}
		}
		ret = refcount_write_run(q, c, m, 1);
		if (ret)
			return ret;
		q->free_hint = c + m;
		note_file_end(q, (c + m) * q->cluster_size);
		*offset = c * q->cluster_size;
		*got = m;
		return 0;
	}
}

int qcow2_alloc_contiguous(struct qcow2 *q, uint64_t n, uint64_t *offset)
{
	uint64_t saved = q->free_hint;

	for (;;) {
		uint64_t off, got;
		int ret = qcow2_alloc_clusters(q, n, &off, &got);
		if (ret)
			return ret;
		if (got == n) {
			*offset = off;
			if (saved < q->free_hint && n > 1)
				q->free_hint = saved < off ? saved : q->free_hint;
			return 0;
		}
		/* Too short a hole: give it back and search past it. */
		qcow2_free_unused(q, off, got * q->cluster_size);
		q->free_hint = off / q->cluster_size + got;
	}
}

static int free_now(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	uint64_t first = offset >> q->cluster_bits;
	uint64_t last = (offset + len - 1) >> q->cluster_bits;
	int ret = 0;

	for (uint64_t c = first; c <= last; c++) {
		uint64_t rc;
		int r = qcow2_refcount_get(q, c, &rc);
		if (!r && rc == 0) {
			qcow2_mark_corrupt(q, "freeing a cluster whose refcount is already 0");
			r = -EIO;
		}
		if (!r)
			r = refcount_write(q, c, rc - 1, false);
		if (!r && rc == 1 && c < q->free_hint)
			q->free_hint = c;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

static int free_list_add(struct qcow2_pending_free **list, size_t *n, size_t *cap,
			 uint64_t offset, uint64_t len)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *p = realloc(*list, c * sizeof(**list));
		if (!p)
			return -ENOMEM; /* a leak, not a corruption */
		*list = p;
		*cap = c;
	}
	(*list)[*n].offset = offset;
	(*list)[*n].len = len;
	(*n)++;
	return 0;
}

int qcow2_free_range(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	if (!len)
		return 0;
	if (offset + len < offset || offset + len > QCOW2_MAX_HOST_OFFSET)
		return -EIO;
	return free_list_add(&q->pending, &q->npending, &q->pending_cap, offset, len);
}

int qcow2_free_unused(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	if (!len)
		return 0;
	if (offset + len < offset || offset + len > QCOW2_MAX_HOST_OFFSET)
		return -EIO;
	return free_now(q, offset, len);
}

void qcow2_frees_stable(struct qcow2 *q)
{
	for (size_t i = 0; i < q->npending; i++)
		free_list_add(&q->ready, &q->nready, &q->ready_cap, q->pending[i].offset,
			      q->pending[i].len);
	q->npending = 0;
}

/*
 * Applies the ready frees no transfer can still be using.  Ring users that
 * mapped before a free became ready are in the current epoch: the frees wait
 * for it to drain while new users count in the other epoch.
 */
void qcow2_users_done(struct qcow2 *q)
{
	unsigned cur = q->ring_epoch, old = cur ^ 1;
	size_t n;

	if (q->users || !q->nready || atomic_load(&q->ring_users[old]))
		return;
	n = atomic_load(&q->ring_users[cur]) ? q->nready_old : q->nready;
	for (size_t i = 0; i < n; i++)
		free_now(q, q->ready[i].offset, q->ready[i].len);
	memmove(q->ready, q->ready + n, (q->nready - n) * sizeof(*q->ready));
	q->nready -= n;
	q->nready_old = 0;
	if (q->nready) {
		q->ring_epoch = old;
		q->nready_old = q->nready;
	}
}

/* -------------------------------------------------------------- check */

struct check_ctx {
	struct qcow2 *q;
	uint16_t *counts; /* computed references, saturating */
	uint64_t nclusters;
	struct block_check_result *res;
	void (*report)(void *, const char *);
	void *opaque;
	enum block_repair repair;
};

__attribute__((format(printf, 2, 3))) static void creport(struct check_ctx *c, const char *fmt,
							   ...)
{
	char msg[256];
	va_list ap;

	if (!c->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->opaque, msg);
}

static void inc_range(struct check_ctx *c, uint64_t offset, uint64_t len, const char *what)
{
	uint64_t first, last;

	if (!len)
		return;
	first = offset >> c->q->cluster_bits;
	last = (offset + len - 1) >> c->q->cluster_bits;
	for (uint64_t k = first; k <= last; k++) {
		if (k >= c->nclusters) {
			creport(c, "ERROR %s at offset 0x%" PRIx64 " lies past the end of the image",
				what, k << c->q->cluster_bits);
			c->res->corruptions++;
			continue;
		}
		if (c->counts[k] != UINT16_MAX)
			c->counts[k]++;
	}
}

static int check_l2(struct check_ctx *c, uint64_t l2_off, bool active, uint64_t l1_idx)
{
	struct qcow2 *q = c->q;
	uint8_t *tab, *copy;
	int ret;

	ret = qcow2_cache_get(q, &q->l2_cache, l2_off, false, &tab);
	if (ret) {
		creport(c, "ERROR could not read L2 table at 0x%" PRIx64, l2_off);
		c->res->check_errors++;
		return 0;
	}
	copy = malloc(q->cluster_size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, tab, q->cluster_size);
	for (uint64_t i = 0; i < q->l2_entries; i++) {
		uint64_t e = be64_get(copy + i * 8);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t coff = e & q->coffset_mask;
			uint64_t nb = ((e >> q->csize_shift) & q->csize_mask) + 1;
			if (e & QCOW2_OFLAG_COPIED) {
				creport(c, "ERROR compressed cluster with the copied flag in L2 "
					   "entry 0x%" PRIx64, e);
				c->res->corruptions++;
			}
			inc_range(c, coff & ~511ull, nb * 512, "compressed cluster");
		} else if (e & QCOW2_L2E_OFFSET_MASK) {
			uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
			if (!qcow2_is_aligned(q, host)) {
				creport(c, "ERROR offset=0x%" PRIx64 ": cluster is not properly "
					   "aligned; L2 entry corrupted",
					host);
				c->res->corruptions++;
				continue;
			}
			inc_range(c, host, q->cluster_size, "data cluster");
		}
	}
	free(copy);
	return 0;
}

static int check_l1(struct check_ctx *c, uint64_t l1_off, uint32_t l1_size, bool active)
{
	struct qcow2 *q = c->q;
	uint64_t *l1;
	int ret;

	if (!l1_size)
		return 0;
	if (!qcow2_is_aligned(q, l1_off) || l1_off > q->file_size ||
	    (uint64_t)l1_size * 8 > q->file_size - l1_off ||
	    (uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		creport(c, "ERROR L1 table at 0x%" PRIx64 " is invalid", l1_off);
		c->res->corruptions++;
		return 0;
	}
	inc_range(c, l1_off, (uint64_t)l1_size * 8, "L1 table");
	l1 = malloc((uint64_t)l1_size * 8);
	if (!l1)
		return -ENOMEM;
	ret = host_file_pread(q->f, l1_off, l1, (uint64_t)l1_size * 8);
	if (ret) {
		free(l1);
		c->res->check_errors++;
		return 0;
	}
	for (uint32_t i = 0; i < l1_size && !ret; i++) {
		uint64_t l2 = be64_get(&l1[i]) & QCOW2_L1E_OFFSET_MASK;
		if (!l2)
			continue;
		if (!qcow2_is_aligned(q, l2) || l2 >= q->file_size) {
			creport(c, "ERROR L2 table offset 0x%" PRIx64 " is invalid", l2);
			c->res->corruptions++;
			continue;
		}
		inc_range(c, l2, q->cluster_size, "L2 table");
		ret = check_l2(c, l2, active, i);
	}
	free(l1);
	return ret;
}

/* The copied flags of the active L1 and its L2 tables against the refcounts. */
static int check_copied(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	int ret = 0;

	if (q->snapshot_view)
		return 0;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l1e = q->l1[i], l2 = l1e & QCOW2_L1E_OFFSET_MASK, rc;
		uint8_t *tab;

		if (!l2 || !qcow2_is_aligned(q, l2) || l2 >= q->file_size)
			continue;
		if (qcow2_refcount_get(q, l2 >> q->cluster_bits, &rc))
			continue;
		if ((rc == 1) != !!(l1e & QCOW2_OFLAG_COPIED)) {
			creport(c, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
				   " refcount=%" PRIu64, i, l1e, rc);
			c->res->corruptions++;
			if (c->repair == BLOCK_REPAIR_ALL) {
				uint8_t b[8];
				q->l1[i] = rc == 1 ? l1e | QCOW2_OFLAG_COPIED
						   : l1e & ~QCOW2_OFLAG_COPIED;
				be64_put(b, q->l1[i]);
				if (!qcow2_meta_pwrite(q, q->l1_offset + i * 8ull, b, 8))
					c->res->corruptions_fixed++;
			}
		}
		if (qcow2_cache_get(q, &q->l2_cache, l2, false, &tab))
			continue;
		for (uint64_t j = 0; j < q->l2_entries; j++) {
			uint64_t e = be64_get(tab + j * 8), host = e & QCOW2_L2E_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || !host || !qcow2_is_aligned(q, host))
				continue;
			if (qcow2_refcount_get(q, host >> q->cluster_bits, &rc))
				continue;
			if ((rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
				creport(c, "ERROR OFLAG_COPIED data cluster: l2_entry=%" PRIx64
					   " refcount=%" PRIu64, e, rc);
				c->res->corruptions++;
				if (c->repair == BLOCK_REPAIR_ALL) {
					e = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
					be64_put(tab + j * 8, e);
					if (!qcow2_meta_pwrite(q, l2 + j * 8, tab + j * 8, 8))
						c->res->corruptions_fixed++;
				}
			}
		}
	}
	return ret;
}

/* Can refcount block idx be read?  (The reasons load_refblock refuses one.) */
static bool refblock_usable(struct qcow2 *q, uint64_t idx)
{
	uint64_t off;

	if (idx >= q->rt_entries)
		return false;
	off = q->rt[idx] & QCOW2_REFT_OFFSET_MASK;
	return off && qcow2_is_aligned(q, off) && off < q->file_size &&
	       !qcow2_overlaps_fixed_metadata(q, off, q->cluster_size);
}

/* The computed count of cluster k for the new structure at [e, t). */
static uint64_t rebuild_count(const struct check_ctx *c, uint64_t k, uint64_t e, uint64_t t)
{
	if (k < c->nclusters)
		return c->counts[k];
	return k >= e && k < t;
}

static bool rebuild_block_needed(const struct check_ctx *c, uint64_t idx, uint64_t e, uint64_t t)
{
	uint64_t per = 1ull << c->q->rb_bits, first = idx * per;

	if (first < t && first + per > e)
		return true;
	for (uint64_t k = first; k < first + per && k < c->nclusters; k++)
		if (c->counts[k])
			return true;
	return false;
}

/*
 * A new refcount structure from the computed counts, for when the old one
 * cannot hold them (missing or unusable refcount blocks).  The new blocks
 * and table go past the end of the file, where nothing can be in use, and
 * are stable before one header write switches to them; until then the old
 * structure stays valid, so a crash leaves at most leaked clusters.  The old
 * table and blocks are referenced by nothing afterwards: the new counts
 * leave them free.
 */
static int rebuild_refcounts(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	uint64_t cs = q->cluster_size, per = 1ull << q->rb_bits;
	uint64_t e = c->nclusters, m = 0, n = 1, t = 0, nidx = 0;
	uint64_t *nrt = NULL, entries;
	uint8_t *blocks = NULL, hdr[12];
	uint16_t *counts;
	int ret, iter;

	creport(c, "Rebuilding refcount structure");
	/* The old table and the old blocks are free in the new structure. */
	for (uint64_t k = q->rt_offset / cs; k < q->rt_offset / cs + q->rt_clusters; k++)
		if (k < c->nclusters && c->counts[k] && c->counts[k] != UINT16_MAX)
			c->counts[k]--;
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		uint64_t off = q->rt[i] & QCOW2_REFT_OFFSET_MASK, k = off / cs;
		if (off && qcow2_is_aligned(q, off) && k < c->nclusters && c->counts[k] &&
		    c->counts[k] != UINT16_MAX)
			c->counts[k]--;
	}
	for (uint64_t k = 0; k < c->nclusters; k++) {
		if (c->counts[k] > q->refcount_max || c->counts[k] == UINT16_MAX) {
			creport(c, "ERROR cluster %" PRIu64 " has more references than its "
				   "refcount can hold; not rebuilding", k);
			return -EINVAL;
		}
	}
	/* m blocks and an n-cluster table at [e, e + m + n): find the fixed point. */
	for (iter = 0; iter < 64; iter++) {
		uint64_t m2 = 0, n2;
		t = e + m + n;
		nidx = (t + per - 1) / per;
		for (uint64_t i = 0; i < nidx; i++)
			m2 += rebuild_block_needed(c, i, e, t);
		n2 = (nidx * 8 + cs - 1) / cs;
		if (m2 == m && n2 == n)
			break;
		m = m2;
		n = n2;
	}
	if (iter == 64 || n * cs > QCOW2_MAX_REFTABLE_BYTES || t * cs > QCOW2_MAX_HOST_OFFSET) {
		creport(c, "ERROR the image is too large for a new refcount table");
		return -EFBIG;
	}
	entries = n * cs / 8;
	nrt = calloc(entries, 8);
	blocks = calloc(m ? m : 1, cs);
	counts = realloc(c->counts, t * sizeof(*counts));
	if (!nrt || !blocks || !counts) {
		free(nrt);
		free(blocks);
		if (counts)
			c->counts = counts;
		return -ENOMEM;
	}
	c->counts = counts;
	{
		uint64_t j = 0;
		for (uint64_t i = 0; i < nidx; i++) {
			if (!rebuild_block_needed(c, i, e, t))
				continue;
			for (uint64_t k = i * per; k < (i + 1) * per && k < t; k++) {
				unsigned nb;
				rb_set(q, blocks + j * cs, k - i * per, rebuild_count(c, k, e, t),
				       &nb);
			}
			nrt[i] = (e + j) * cs;
			j++;
		}
	}
	ret = qcow2_meta_pwrite(q, e * cs, blocks, m * cs);
	if (!ret)
		ret = write_reftable(q, (e + m) * cs, nrt, 0, entries);
	if (!ret)
		ret = qcow2_barrier(q);
	free(blocks);
	if (ret) {
		free(nrt);
		return ret;
	}
	note_file_end(q, t * cs);
	be64_put(hdr, (e + m) * cs);
	be32_put(hdr + 8, (uint32_t)n);
	ret = qcow2_write_header_field(q, offsetof(struct qcow2_header, refcount_table_offset),
				       hdr, 12);
	if (!ret)
		ret = qcow2_barrier(q);
	if (ret) {
		free(nrt);
		return ret;
	}
	for (unsigned i = 0; i < q->rb_cache.n; i++) {
		q->rb_cache.e[i].offset = 0;
		q->rb_cache.e[i].dirty = false;
	}
	free(q->rt);
	q->rt = nrt;
	q->rt_offset = (e + m) * cs;
	q->rt_clusters = (uint32_t)n;
	q->rt_entries = entries;
	q->rt_dirty_lo = q->rt_dirty_hi = 0;
	/* The counts were computed from the references: nothing is left to free. */
	q->npending = q->nready = q->nready_old = 0;
	q->free_hint = 0;
	for (uint64_t k = e; k < t; k++)
		c->counts[k] = 1;
	c->nclusters = t;
	return 0;
}

/* The refcount table and its blocks are in use too; notes blocks that cannot be used. */
static uint64_t count_refcount_structure(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	uint64_t unusable = 0;

	inc_range(c, q->rt_offset, (uint64_t)q->rt_clusters * q->cluster_size, "refcount table");
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		uint64_t off = q->rt[i] & QCOW2_REFT_OFFSET_MASK;
		if (!off)
			continue;
		if (!qcow2_is_aligned(q, off) || off >= q->file_size) {
			creport(c, "ERROR refcount block %" PRIu64 " offset 0x%" PRIx64
				   " is invalid", i, off);
			c->res->corruptions++;
			unusable++;
			continue;
		}
		if (!refblock_usable(q, i)) {
			creport(c, "ERROR refcount block %" PRIu64 " at 0x%" PRIx64
				   " overlaps other metadata", i, off);
			c->res->corruptions++;
			unusable++;
		}
		inc_range(c, off, q->cluster_size, "refcount block");
	}
	return unusable;
}

/*
 * Counts every reference the image makes: the header, the active L1 table
 * and those of the snapshots with their L2 tables and data, the snapshot
 * table, the refcount structure.  Sets *unusable to the refcount blocks that
 * cannot be used.
 */
static int count_references(struct check_ctx *c, uint64_t *unusable)
{
	struct qcow2 *q = c->q;
	uint8_t h[12];
	int ret;

	inc_range(c, 0, q->cluster_size, "header");
	/* The active L1 table from the header, even in a snapshot view. */
	ret = host_file_pread(q->f, offsetof(struct qcow2_header, l1_size), h, 12);
	if (!ret)
		ret = check_l1(c, be64_get(h + 4), be32_get(h), true);
	for (uint32_t i = 0; i < q->nb_snapshots && !ret; i++)
		ret = check_l1(c, q->snapshots[i].l1_table_offset, q->snapshots[i].l1_size, false);
	if (q->nb_snapshots)
		inc_range(c, q->snapshots_offset, q->snapshots_size, "snapshot table");
	*unusable = count_refcount_structure(c);
	return ret;
}

/* Clusters in use that no usable refcount block describes. */
static uint64_t find_missing_refblocks(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	uint64_t missing = 0;

	for (uint64_t k = 0; k < c->nclusters; k++) {
		if (!c->counts[k] || refblock_usable(q, k >> q->rb_bits))
			continue;
		creport(c, "ERROR cluster %" PRIu64 " refcount=0 reference=%u (no refcount "
			   "block)", k, c->counts[k]);
		c->res->corruptions++;
		missing++;
	}
	return missing;
}

/*
 * The stored count of cluster k against the computed one: more is a leak,
 * less a corruption; repaired as asked.
 */
static void compare_refcount(struct check_ctx *c, uint64_t k)
{
	struct qcow2 *q = c->q;
	struct block_check_result *res = c->res;
	uint64_t rc, want = c->counts[k];

	if (qcow2_refcount_get(q, k, &rc)) {
		res->check_errors++;
		return;
	}
	if (rc)
		res->allocated_clusters++;
	if (rc == want || (want == UINT16_MAX && rc > want))
		return;
	if (rc > want) {
		creport(c, "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64, k,
			rc, want);
		res->leaks++;
		if (c->repair != BLOCK_REPAIR_NONE && !refcount_write(q, k, want, false)) {
			res->leaks_fixed++;
			if (!want && k < q->free_hint)
				q->free_hint = k;
		}
	} else {
		creport(c, "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64, k,
			rc, want);
		res->corruptions++;
		if (c->repair == BLOCK_REPAIR_ALL && want <= q->refcount_max &&
		    !refcount_write(q, k, want, false))
			res->corruptions_fixed++;
	}
}

/* Counts stored for clusters past the end of the file are leaks. */
static void find_leaks_past_end(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	uint64_t per = 1ull << q->rb_bits;

	for (uint64_t i = 0; i < q->rt_entries; i++) {
		uint64_t first = i << q->rb_bits, from;
		if (!(q->rt[i] & QCOW2_REFT_OFFSET_MASK) || first + per <= c->nclusters)
			continue;
		from = first > c->nclusters ? first : c->nclusters;
		for (uint64_t k = from; k < first + per; k++) {
			uint64_t rc;
			if (qcow2_refcount_get(q, k, &rc) || !rc)
				continue;
			creport(c, "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=0", k,
				rc);
			c->res->leaks++;
			if (c->repair != BLOCK_REPAIR_NONE && !refcount_write(q, k, 0, false))
				c->res->leaks_fixed++;
		}
	}
}

/*
 * After a repair: the repaired refcounts are stable before the header says
 * they are good, and the corrupt and dirty bits go when nothing is left.
 */
static int finish_repair(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	struct block_check_result *res = c->res;
	uint8_t feat[8];
	int ret;

	if (c->repair == BLOCK_REPAIR_NONE)
		return 0;
	ret = qcow2_meta_flush(q, QCOW2_FLUSH_FREES | QCOW2_FLUSH_SYNC);
	if (ret || c->repair != BLOCK_REPAIR_ALL || res->corruptions != res->corruptions_fixed ||
	    res->check_errors || !(q->incompat & (QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY)))
		return ret;
	q->incompat &= ~(QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY);
	q->corrupt = false;
	be64_put(feat, q->incompat);
	ret = qcow2_write_header_field(q, offsetof(struct qcow2_header, incompatible_features),
				       feat, 8);
	if (!ret)
		ret = qcow2_barrier(q);
	return ret;
}

/* Under the lock: counts every reference, then compares and repairs. */
static int check_locked(struct check_ctx *c)
{
	struct qcow2 *q = c->q;
	uint64_t unusable, missing;
	int ret;

	c->nclusters = (q->file_size + q->cluster_size - 1) >> q->cluster_bits;
	c->counts = calloc(c->nclusters ? c->nclusters : 1, sizeof(uint16_t));
	if (!c->counts)
		return -ENOMEM;
	ret = count_references(c, &unusable);
	if (ret)
		return ret;
	missing = find_missing_refblocks(c);
	if ((unusable || missing) && c->repair == BLOCK_REPAIR_ALL) {
		ret = rebuild_refcounts(c);
		if (!ret) {
			c->res->corruptions_fixed += unusable + missing;
			unusable = missing = 0;
		} else if (ret != -EINVAL && ret != -EFBIG) {
			return ret;
		}
	}
	for (uint64_t k = 0; k < c->nclusters; k++) {
		/* Clusters without a usable refcount block were reported above. */
		if (!(unusable || missing) || refblock_usable(q, k >> q->rb_bits))
			compare_refcount(c, k);
	}
	find_leaks_past_end(c);
	ret = check_copied(c);
	c->res->total_clusters = q->size >> q->cluster_bits;
	c->res->image_end_offset = q->file_size;
	if (!ret)
		ret = finish_repair(c);
	return ret;
}

int qcow2_check(struct block_dev *bd, enum block_repair repair, struct block_check_result *res,
		void (*report)(void *, const char *), void *opaque)
{
	struct qcow2 *q = bd->state;
	struct check_ctx c = {
		.q = q, .res = res, .report = report, .opaque = opaque, .repair = repair};
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (repair != BLOCK_REPAIR_NONE && q->snapshot_view)
		ret = -EROFS;
	else if (!bd->read_only && !q->snapshot_view)
		/* Count against what is on disk, with every settled free applied. */
		ret = qcow2_meta_flush(q, QCOW2_FLUSH_FREES);
	if (!ret)
		ret = check_locked(&c);
	free(c.counts);
	pthread_mutex_unlock(&q->lock);
	return ret;
}
