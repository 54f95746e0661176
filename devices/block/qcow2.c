// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qcow2 versions 2 and 3: header parsing and validation, open and close,
 * creation, resize and the facts "minivmm-img info" prints.  Every number
 * taken from the file is checked before use; nothing is written before the
 * whole header has been accepted, so a failed open changes nothing on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/qcow2.h"

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	if (len >= 8 && be32_get(buf) == QCOW2_MAGIC && be32_get(buf + 4) >= 2)
		return 100;
	return 0;
}

int qcow2_write_header_field(struct qcow2 *q, unsigned field_offset, const void *data, size_t len)
{
	return qcow2_meta_pwrite(q, field_offset, data, len);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

bool qcow2_overlaps_fixed_metadata(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	if (ranges_overlap(offset, len, 0, q->cluster_size))
		return true;
	if (ranges_overlap(offset, len, q->l1_offset, (uint64_t)q->l1_size * 8))
		return true;
	if (ranges_overlap(offset, len, q->rt_offset, (uint64_t)q->rt_clusters * q->cluster_size))
		return true;
	if (ranges_overlap(offset, len, q->snapshots_offset, q->snapshots_size))
		return true;
	return false;
}

static void free_snapshots(struct qcow2 *q)
{
	for (uint32_t i = 0; i < q->nb_snapshots && q->snapshots; i++) {
		free(q->snapshots[i].id);
		free(q->snapshots[i].name);
	}
	free(q->snapshots);
	q->snapshots = NULL;
}

static void qcow2_free(struct qcow2 *q)
{
	if (!q)
		return;
	if (q->backing)
		block_close(q->backing);
	free(q->l1);
	free(q->rt);
	free(q->backing_file);
	free_snapshots(q);
	qcow2_cache_free(&q->l2_cache);
	qcow2_cache_free(&q->rb_cache);
	free(q->pending);
	free(q->ready);
	free(q->zbuf);
	free(q->zin);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->inflight_done);
	free(q);
}

static char *strndup_checked(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

/* The snapshot table: bounded in count and size, every entry inside it. */
static int read_snapshots(struct qcow2 *q, char *err, size_t errlen)
{
	uint8_t *tab = NULL;
	uint64_t pos = 0, max;
	int ret;

	if (!q->nb_snapshots)
		return 0;
	if (q->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
		block_errf(err, errlen, "too many internal snapshots (%u)", q->nb_snapshots);
		return -EINVAL;
	}
	if (!qcow2_is_aligned(q, q->snapshots_offset) || q->snapshots_offset == 0 ||
	    q->snapshots_offset >= q->file_size) {
		block_errf(err, errlen, "snapshot table offset 0x%llx is invalid",
			   (unsigned long long)q->snapshots_offset);
		return -EINVAL;
	}
	max = q->file_size - q->snapshots_offset;
	if (max > QCOW2_MAX_SNAPSHOT_TABLE)
		max = QCOW2_MAX_SNAPSHOT_TABLE;
	tab = malloc(max);
	q->snapshots = calloc(q->nb_snapshots, sizeof(*q->snapshots));
	if (!tab || !q->snapshots) {
		free(tab);
		return -ENOMEM;
	}
	ret = host_file_pread(q->f, q->snapshots_offset, tab, max);
	if (ret) {
		free(tab);
		block_errf(err, errlen, "could not read the snapshot table: %s", strerror(-ret));
		return ret;
	}
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		struct qcow2_snapshot *s = &q->snapshots[i];
		const uint8_t *e = tab + pos;
		uint32_t extra, id_len, name_len;
		uint64_t len;

		if (pos + 40 > max)
			goto bad;
		s->l1_table_offset = be64_get(e);
		s->l1_size = be32_get(e + 8);
		id_len = be16_get(e + 12);
		name_len = be16_get(e + 14);
		s->date_sec = be32_get(e + 16);
		s->date_nsec = be32_get(e + 20);
		s->vm_clock_nsec = be64_get(e + 24);
		s->vm_state_size = be32_get(e + 32);
		extra = be32_get(e + 36);
		s->disk_size = q->size;
		len = 40ull + extra + id_len + name_len;
		len = (len + 7) & ~7ull;
		if (extra > 1024 || pos + len > max)
			goto bad;
		if (extra >= 16) {
			s->vm_state_size = be64_get(e + 40);
			s->disk_size = be64_get(e + 48);
		}
		s->id = strndup_checked(e + 40 + extra, id_len);
		s->name = strndup_checked(e + 40 + extra + id_len, name_len);
		if (!s->id || !s->name) {
			free(tab);
			return -ENOMEM;
		}
		pos += len;
	}
	q->snapshots_size = pos;
	free(tab);
	return 0;
bad:
	free(tab);
	block_errf(err, errlen, "snapshot table is truncated or malformed");
	return -EINVAL;
}

static int parse_extensions(struct qcow2 *q, const uint8_t *hdr, uint64_t end, char *err,
			    size_t errlen)
{
	uint64_t pos = q->header_length;

	while (pos + 8 <= end) {
		uint32_t type = be32_get(hdr + pos);
		uint32_t len = be32_get(hdr + pos + 4);

		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos) {
			block_errf(err, errlen, "header extension 0x%x overruns the header", type);
			return -EINVAL;
		}
		switch (type) {
		case QCOW2_EXT_BACKING_FORMAT:
			if (len >= sizeof(q->backing_format)) {
				block_errf(err, errlen, "backing format name too long");
				return -EINVAL;
			}
			memcpy(q->backing_format, hdr + pos, len);
			q->backing_format[len] = 0;
			break;
		case QCOW2_EXT_CRYPTO:
			block_errf(err, errlen, "'%s': encryption is not supported",
				   q->bd->filename);
			return -ENOTSUP;
		case QCOW2_EXT_DATA_FILE:
			block_errf(err, errlen, "'%s': external data files are not supported",
				   q->bd->filename);
			return -ENOTSUP;
		default:
			/* Bitmaps and feature names are optional: ignore. */
			break;
		}
		pos += ((uint64_t)len + 7) & ~7ull;
	}
	return 0;
}

static const char *incompat_name(unsigned bit)
{
	switch (bit) {
	case 0:
		return "dirty bit";
	case 1:
		return "corrupt bit";
	case 2:
		return "external data file";
	case 3:
		return "compression type";
	case 4:
		return "extended L2 entries";
	default:
		return NULL;
	}
}

static int check_table(struct qcow2 *q, const char *what, uint64_t offset, uint64_t bytes,
		       char *err, size_t errlen)
{
	if (!qcow2_is_aligned(q, offset) || offset == 0) {
		block_errf(err, errlen, "%s offset 0x%llx is invalid (not cluster aligned or zero)",
			   what, (unsigned long long)offset);
		return -EINVAL;
	}
	if (offset > q->file_size || bytes > q->file_size - offset) {
		block_errf(err, errlen, "%s at 0x%llx (%llu bytes) lies past the end of the file",
			   what, (unsigned long long)offset, (unsigned long long)bytes);
		return -EINVAL;
	}
	return 0;
}

static int read_table(struct qcow2 *q, uint64_t offset, uint64_t entries, uint64_t **out)
{
	uint64_t *t = malloc(entries ? entries * 8 : 8);
	int ret;

	if (!t)
		return -ENOMEM;
	ret = host_file_pread(q->f, offset, t, entries * 8);
	if (ret) {
		free(t);
		return ret;
	}
	for (uint64_t i = 0; i < entries; i++)
		t[i] = be64_get(&t[i]);
	*out = t;
	return 0;
}

/* ---------------------------------------------------------------- open */

/* A failed read of the image file, as every open step reports it. */
static int read_failed(struct qcow2 *q, int ret, char *err, size_t errlen)
{
	block_errf(err, errlen, "could not read '%s': %s", q->bd->filename, strerror(-ret));
	return ret;
}

static int check_incompat_features(struct qcow2 *q, char *err, size_t errlen)
{
	uint64_t unknown = q->incompat & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
					   QCOW2_INCOMPAT_COMPRESSION);
	int ret;

	if (unknown) {
		unsigned bit = (unsigned)__builtin_ctzll(unknown);
		const char *name = incompat_name(bit);
		if (name)
			block_errf(err, errlen, "'%s': unsupported qcow2 feature: %s",
				   q->bd->filename, name);
		else
			block_errf(err, errlen,
				   "'%s': unsupported qcow2 feature: unknown "
				   "incompatible feature bit %u",
				   q->bd->filename, bit);
		return -ENOTSUP;
	}
	if (q->incompat & QCOW2_INCOMPAT_COMPRESSION) {
		uint8_t type = 0;
		if (q->header_length > 104) {
			ret = host_file_pread(q->f, 104, &type, 1);
			if (ret)
				return read_failed(q, ret, err, errlen);
		}
		if (type != 0) {
			block_errf(err, errlen,
				   "'%s': unsupported qcow2 feature: compression type %u (only "
				   "zlib)",
				   q->bd->filename, type);
			return -ENOTSUP;
		}
	}
	return 0;
}

/*
 * The fixed header: version, geometry, features, virtual size, and the
 * numbers derived from them.  Reads h; checks every field it keeps.
 */
static int parse_header(struct qcow2 *q, struct qcow2_header *h, const struct block_opts *opts,
			char *err, size_t errlen)
{
	const char *name = q->bd->filename;
	uint64_t rb_entries;
	int ret;

	ret = host_file_length(q->f, &q->file_size);
	if (ret)
		return read_failed(q, ret, err, errlen);
	if (q->file_size < 72) {
		block_errf(err, errlen, "'%s' is too short to be a qcow2 image", name);
		return -EINVAL;
	}
	memset(h, 0, sizeof(*h));
	ret = host_file_pread(q->f, 0, h, sizeof(*h));
	if (ret)
		return read_failed(q, ret, err, errlen);
	if (be32_get(&h->magic) != QCOW2_MAGIC) {
		block_errf(err, errlen, "'%s' is not a qcow2 image", name);
		return -EINVAL;
	}
	q->version = (int)be32_get(&h->version);
	if (q->version != 2 && q->version != 3) {
		block_errf(err, errlen, "qcow2 version %d is not supported", q->version);
		return -ENOTSUP;
	}
	q->cluster_bits = be32_get(&h->cluster_bits);
	if (q->cluster_bits < 9 || q->cluster_bits > 21) {
		block_errf(err, errlen, "cluster size 2^%u is invalid (512 B..2 MiB)",
			   q->cluster_bits);
		return -EINVAL;
	}
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->l2_entries = 1ull << q->l2_bits;
	if (be32_get(&h->crypt_method)) {
		block_errf(err, errlen, "'%s': encryption is not supported", name);
		return -ENOTSUP;
	}
	if (q->version == 2) {
		q->header_length = 72;
		q->refcount_order = 4;
	} else {
		q->header_length = be32_get(&h->header_length);
		q->incompat = be64_get(&h->incompatible_features);
		q->compat = be64_get(&h->compatible_features);
		q->autoclear = be64_get(&h->autoclear_features);
		q->refcount_order = be32_get(&h->refcount_order);
		if (q->header_length < 104 || q->header_length > q->cluster_size ||
		    q->header_length % 8) {
			block_errf(err, errlen, "header length %u is invalid", q->header_length);
			return -EINVAL;
		}
		if (q->refcount_order > 6) {
			block_errf(err, errlen, "refcount order %u is invalid", q->refcount_order);
			return -EINVAL;
		}
	}
	ret = check_incompat_features(q, err, errlen);
	if (ret)
		return ret;
	q->corrupt = q->incompat & QCOW2_INCOMPAT_CORRUPT;
	if (q->corrupt && !opts->read_only && !opts->repair) {
		block_errf(err, errlen,
			   "'%s' is marked corrupt; open it read-only, or repair it with "
			   "'qemu-img check -r all' or 'minivmm-img check -r all'",
			   name);
		return -EACCES;
	}

	q->size = be64_get(&h->size);
	if (q->size > (1ull << 62)) {
		block_errf(err, errlen, "virtual size %llu is too large",
			   (unsigned long long)q->size);
		return -EINVAL;
	}
	q->refcount_max =
		q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
	rb_entries = (q->cluster_size * 8) >> q->refcount_order;
	q->rb_bits = (unsigned)__builtin_ctzll(rb_entries);
	q->csize_shift = 62 - (q->cluster_bits - 8);
	q->csize_mask = (1ull << (q->cluster_bits - 8)) - 1;
	q->coffset_mask = (1ull << q->csize_shift) - 1;
	return 0;
}

/* Where the active L1 table and the refcount table lie: sizes, bounds, overlap. */
static int check_tables(struct qcow2 *q, const struct qcow2_header *h, char *err,
			size_t errlen)
{
	uint64_t per_l1 = q->cluster_size * q->l2_entries;
	uint64_t l1_needed = q->size / per_l1 + (q->size % per_l1 != 0);
	int ret;

	q->l1_size = be32_get(&h->l1_size);
	q->l1_offset = be64_get(&h->l1_table_offset);
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		block_errf(err, errlen, "L1 table of %u entries is too large", q->l1_size);
		return -EFBIG;
	}
	if (q->l1_size < l1_needed) {
		block_errf(err, errlen, "L1 table of %u entries is too small for %llu bytes",
			   q->l1_size, (unsigned long long)q->size);
		return -EINVAL;
	}
	if (q->l1_size) {
		ret = check_table(q, "L1 table", q->l1_offset, (uint64_t)q->l1_size * 8, err,
				  errlen);
		if (ret)
			return ret;
	}

	q->rt_offset = be64_get(&h->refcount_table_offset);
	q->rt_clusters = be32_get(&h->refcount_table_clusters);
	if (q->rt_clusters == 0 ||
	    (uint64_t)q->rt_clusters * q->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
		block_errf(err, errlen, "refcount table of %u clusters is invalid",
			   q->rt_clusters);
		return -EINVAL;
	}
	q->rt_entries = (uint64_t)q->rt_clusters * q->cluster_size / 8;
	ret = check_table(q, "refcount table", q->rt_offset,
			  (uint64_t)q->rt_clusters * q->cluster_size, err, errlen);
	if (ret)
		return ret;
	if (ranges_overlap(q->rt_offset, q->rt_entries * 8, q->l1_offset,
			   (uint64_t)q->l1_size * 8)) {
		block_errf(err, errlen, "overlapping metadata: the L1 table overlaps the "
					"refcount table");
		return -EINVAL;
	}
	return 0;
}

/* The rest of cluster 0: the backing file name and the header extensions. */
static int read_header_cluster(struct qcow2 *q, const struct qcow2_header *h, char *err,
			       size_t errlen)
{
	uint64_t bo = be64_get(&h->backing_file_offset);
	uint32_t bs = be32_get(&h->backing_file_size);
	uint64_t hdr_end = q->cluster_size;
	uint8_t *cl0 = calloc(1, q->cluster_size);
	int ret = 0;

	if (!cl0)
		return -ENOMEM;
	ret = host_file_pread(q->f, 0, cl0, q->cluster_size);
	if (ret) {
		free(cl0);
		return read_failed(q, ret, err, errlen);
	}
	if (bo) {
		if (bs == 0 || bs > 1023 || bo < q->header_length || bo > q->cluster_size ||
		    bs > q->cluster_size - bo) {
			block_errf(err, errlen, "backing file name is out of bounds");
			ret = -EINVAL;
			goto out;
		}
		q->backing_file = strndup_checked(cl0 + bo, bs);
		if (!q->backing_file) {
			ret = -ENOMEM;
			goto out;
		}
		hdr_end = bo;
	}
	if (q->version == 3)
		ret = parse_extensions(q, cl0, hdr_end, err, errlen);
out:
	free(cl0);
	return ret;
}

/* The L1 table to read through: the active one, or an internal snapshot's. */
static int load_l1(struct qcow2 *q, const struct block_opts *opts, char *err, size_t errlen)
{
	uint64_t l1_off = q->l1_offset;
	uint32_t l1_size = q->l1_size;
	int ret;

	if (opts->internal_snapshot) {
		struct qcow2_snapshot *s = NULL;
		for (uint32_t i = 0; i < q->nb_snapshots; i++)
			if (!strcmp(q->snapshots[i].id, opts->internal_snapshot) ||
			    !strcmp(q->snapshots[i].name, opts->internal_snapshot))
				s = &q->snapshots[i];
		if (!s) {
			block_errf(err, errlen, "'%s' has no snapshot '%s'", q->bd->filename,
				   opts->internal_snapshot);
			return -ENOENT;
		}
		if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
			block_errf(err, errlen, "snapshot L1 table is too large");
			return -EFBIG;
		}
		l1_off = s->l1_table_offset;
		l1_size = s->l1_size;
		if (s->disk_size > (1ull << 62) ||
		    (uint64_t)l1_size * q->cluster_size * q->l2_entries < s->disk_size) {
			block_errf(err, errlen, "snapshot '%s' is malformed",
				   opts->internal_snapshot);
			return -EINVAL;
		}
		q->size = s->disk_size;
		q->snapshot_view = true;
		if (l1_size) {
			ret = check_table(q, "snapshot L1 table", l1_off, (uint64_t)l1_size * 8,
					  err, errlen);
			if (ret)
				return ret;
		}
	}
	ret = read_table(q, l1_off, l1_size, &q->l1);
	if (ret)
		return read_failed(q, ret, err, errlen);
	if (q->snapshot_view) {
		/* Keep the active L1 as the fixed metadata to protect. */
		q->l1_size = l1_size;
		q->l1_offset = l1_off;
	}
	return 0;
}

static int init_caches(struct qcow2 *q, const struct block_opts *opts)
{
	size_t bytes = opts->l2_cache_bytes ? opts->l2_cache_bytes : QCOW2_DEFAULT_L2_CACHE;
	uint64_t n = bytes / q->cluster_size;
	int ret;

	if (n < 2)
		n = 2;
	if (n > 4096)
		n = 4096;
	ret = qcow2_cache_init(&q->l2_cache, (unsigned)n, q->cluster_size);
	if (!ret)
		ret = qcow2_cache_init(&q->rb_cache, 16, q->cluster_size);
	return ret;
}

/*
 * The backing file, read-only, in the format the image names (else probed,
 * see block.c), its name relative to the image's directory.
 */
static int open_backing(struct qcow2 *q, const struct block_opts *opts, char *err,
			size_t errlen)
{
	struct block_dev *bd = q->bd;
	const char *fmt = q->backing_format[0] ? q->backing_format : NULL;
	enum block_cache bc = opts->cache;
	char path[PATH_MAX], sub[512];
	int ret;

	if (q->backing_file[0] != '/' && strchr(bd->filename, '/')) {
		const char *slash = strrchr(bd->filename, '/');
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - bd->filename), bd->filename,
			 q->backing_file);
	} else {
		snprintf(path, sizeof(path), "%s", q->backing_file);
	}
	if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
		block_errf(err, errlen, "backing file format '%s' is not supported", fmt);
		return -ENOTSUP;
	}
	/* A read-only backing file needs no O_DSYNC; keep the O_DIRECT choice. */
	if (bc == BLOCK_CACHE_WRITETHROUGH || bc == BLOCK_CACHE_UNSAFE)
		bc = BLOCK_CACHE_WRITEBACK;
	if (bc == BLOCK_CACHE_DIRECTSYNC)
		bc = BLOCK_CACHE_NONE;
	ret = block_open_backing(&q->backing, bd, path, fmt, bc, sub, sizeof(sub));
	if (ret == -ELOOP) /* a chain limit: one message, not one per image */
		block_errf(err, errlen, "%s", sub);
	else if (ret)
		block_errf(err, errlen, "could not open backing file of '%s': %s", bd->filename,
			   sub);
	return ret;
}

/*
 * Every step checks what it takes from the file before the next uses it;
 * nothing is written (see qcow2_activate for what the first write does).
 */
static int qcow2_open(struct block_dev *bd, const struct block_opts *opts, char *err,
		      size_t errlen)
{
	struct qcow2_header h;
	struct qcow2 *q;
	int ret;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->inflight_done, NULL);
	q->bd = bd;
	q->f = &bd->file;
	q->zcache_entry = UINT64_MAX;

	ret = parse_header(q, &h, opts, err, errlen);
	if (!ret)
		ret = check_tables(q, &h, err, errlen);
	if (!ret)
		ret = read_header_cluster(q, &h, err, errlen);
	if (!ret) {
		q->nb_snapshots = be32_get(&h.nb_snapshots);
		q->snapshots_offset = be64_get(&h.snapshots_offset);
		ret = read_snapshots(q, err, errlen);
	}
	if (!ret)
		ret = load_l1(q, opts, err, errlen);
	if (!ret) {
		ret = read_table(q, q->rt_offset, q->rt_entries, &q->rt);
		if (ret)
			read_failed(q, ret, err, errlen);
	}
	if (!ret)
		ret = init_caches(q, opts);
	q->free_hint = 0;
	if (!ret && q->backing_file && !opts->no_backing)
		ret = open_backing(q, opts, err, errlen);
	if (ret) {
		qcow2_free(q);
		return ret;
	}
	bd->state = q;
	bd->size = q->size;
	bd->read_only = opts->read_only || q->snapshot_view;
	return 0;
}

/*
 * Before the first change (block_driver.activate): nothing is written at
 * open, so that a start that fails later leaves the image as it was.
 * A dirty image (lazy refcounts, not closed cleanly) gets its refcounts
 * rebuilt, which also clears the dirty bit; autoclear bits we do not know
 * are cleared, as the spec asks of writers.
 */
static int qcow2_activate(struct block_dev *bd)
{
	struct qcow2 *q = bd->state;
	int ret = 0;

	if (q->snapshot_view)
		return 0;
	if (q->incompat & QCOW2_INCOMPAT_DIRTY) {
		struct block_check_result res = {0}; /* qcow2_check adds to it */

		/* Clears the dirty bit once the counts are rebuilt and stable. */
		ret = qcow2_check(bd, BLOCK_REPAIR_ALL, &res, NULL, NULL);
		if (ret || res.corruptions > res.corruptions_fixed || res.check_errors ||
		    (q->incompat & QCOW2_INCOMPAT_DIRTY)) {
			fprintf(stderr,
				"minivmm: '%s' was not closed cleanly and its refcounts could not "
				"be repaired; writes refused (try 'qemu-img check -r all')\n",
				bd->filename);
			return ret ? ret : -EIO;
		}
	}
	pthread_mutex_lock(&q->lock);
	if (q->autoclear) {
		uint8_t feat[8] = {0};

		q->autoclear = 0;
		ret = qcow2_write_header_field(q, offsetof(struct qcow2_header, autoclear_features),
					       feat, 8);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

static void qcow2_close(struct block_dev *bd)
{
	struct qcow2 *q = bd->state;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->users = 0;
	/* block_close has reaped the ring. */
	atomic_store(&q->ring_users[0], 0);
	atomic_store(&q->ring_users[1], 0);
	if (!bd->read_only && !q->snapshot_view) {
		int ret = qcow2_meta_flush(q, QCOW2_FLUSH_FREES | QCOW2_FLUSH_SYNC);
		if (ret)
			fprintf(stderr, "minivmm: '%s': writing metadata at close failed: %s\n",
				bd->filename, strerror(-ret));
	}
	pthread_mutex_unlock(&q->lock);
	qcow2_free(q);
	bd->state = NULL;
}

static int qcow2_flush(struct block_dev *bd)
{
	struct qcow2 *q = bd->state;
	int ret;
	/*
	 * Cached metadata goes out in dependency order; the last barrier runs
	 * without the lock so that other requests go on meanwhile.  It clears
	 * no state: writes that finished during it stay "unsynced".
	 */
	uint64_t gen;

	pthread_mutex_lock(&q->lock);
	ret = q->snapshot_view ? 0 : qcow2_meta_flush(q, QCOW2_FLUSH_FREES);
	gen = q->write_gen;
	pthread_mutex_unlock(&q->lock);
	if (ret)
		return ret;
	ret = host_file_flush(q->f);
	pthread_mutex_lock(&q->lock);
	if (!ret && q->write_gen == gen)
		q->unsynced = false; /* nothing was written meanwhile */
	pthread_mutex_unlock(&q->lock);
	return ret;
}

static int write_l1_entries(struct qcow2 *q, uint64_t offset, const uint64_t *l1, uint64_t n)
{
	uint64_t *buf = malloc(n ? n * 8 : 8);
	int ret;

	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		be64_put(&buf[i], l1[i]);
	ret = qcow2_meta_pwrite(q, offset, buf, n * 8);
	free(buf);
	return ret;
}

static int qcow2_truncate(struct block_dev *bd, uint64_t size)
{
	struct qcow2 *q = bd->state;
	uint64_t per_l1 = q->cluster_size * q->l2_entries;
	uint64_t need = size / per_l1 + (size % per_l1 != 0);
	uint8_t b[12];
	int ret = 0;

	if (size > (1ull << 62) || need * 8 > QCOW2_MAX_L1_BYTES)
		return -EFBIG;
	pthread_mutex_lock(&q->lock);
	if (q->corrupt || q->snapshot_view) {
		ret = -EIO;
		goto out;
	}
	if (need > q->l1_size) {
		uint64_t bytes = need * 8;
		uint64_t clusters = (bytes + q->cluster_size - 1) >> q->cluster_bits;
		uint64_t new_off, old_off = q->l1_offset, old_bytes = (uint64_t)q->l1_size * 8;
		uint64_t *nl1 = calloc(clusters * q->cluster_size / 8, 8);

		if (!nl1) {
			ret = -ENOMEM;
			goto out;
		}
		/* The copy names L2 tables that must be on disk; L1 must be clean. */
		ret = qcow2_meta_flush(q, 0);
		memcpy(nl1, q->l1, old_bytes);
		if (!ret)
			ret = qcow2_alloc_contiguous(q, clusters, &new_off);
		if (!ret)
			ret = write_l1_entries(q, new_off, nl1, clusters * q->cluster_size / 8);
		/* Its refcounts and content are stable before the header names it. */
		if (!ret)
			ret = qcow2_meta_flush(q, QCOW2_FLUSH_SYNC);
		if (ret) {
			free(nl1);
			goto out;
		}
		be32_put(b, (uint32_t)need);
		be64_put(b + 4, new_off);
		ret = qcow2_write_header_field(q, offsetof(struct qcow2_header, l1_size), b, 12);
		if (ret) {
			free(nl1);
			goto out;
		}
		free(q->l1);
		q->l1 = nl1;
		q->l1_offset = new_off;
		q->l1_size = (uint32_t)need;
		if (old_bytes)
			qcow2_free_range(q, old_off, old_bytes);
	}
	be64_put(b, size);
	ret = qcow2_write_header_field(q, offsetof(struct qcow2_header, size), b, 8);
	if (!ret)
		ret = qcow2_barrier(q);
	if (!ret) {
		q->size = size;
		bd->size = size;
	}
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

static int qcow2_info(struct block_dev *bd, struct block_info *info)
{
	struct qcow2 *q = bd->state;

	info->cluster_size = (unsigned)q->cluster_size;
	info->version = q->version;
	info->lazy_refcounts = q->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
	info->dirty = q->incompat & QCOW2_INCOMPAT_DIRTY;
	info->corrupt = q->corrupt;
	info->refcount_bits = 1u << q->refcount_order;
	if (q->version == 3) /* qcow2_open accepts zlib only */
		snprintf(info->compression_type, sizeof(info->compression_type), "zlib");
	if (q->backing_file)
		snprintf(info->backing_file, sizeof(info->backing_file), "%s", q->backing_file);
	snprintf(info->backing_format, sizeof(info->backing_format), "%s", q->backing_format);
	if (q->nb_snapshots) {
		info->snapshots = calloc(q->nb_snapshots, sizeof(*info->snapshots));
		if (!info->snapshots)
			return -ENOMEM;
		info->nb_snapshots = q->nb_snapshots;
		for (uint32_t i = 0; i < q->nb_snapshots; i++) {
			struct block_snapshot_info *s = &info->snapshots[i];
			snprintf(s->id, sizeof(s->id), "%s", q->snapshots[i].id);
			snprintf(s->name, sizeof(s->name), "%s", q->snapshots[i].name);
			s->vm_state_size = q->snapshots[i].vm_state_size;
			s->date_sec = q->snapshots[i].date_sec;
			s->date_nsec = q->snapshots[i].date_nsec;
			s->vm_clock_nsec = q->snapshots[i].vm_clock_nsec;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- create */

/*
 * A new image is one contiguous run of clusters, every one in use once:
 * header (with extensions and the backing file name), refcount table,
 * refcount blocks, L1 table.
 */
struct qcow2_layout {
	int version;
	unsigned cs, bits; /* cluster size and its log2 */
	unsigned refcount_order;
	uint64_t size;
	uint64_t l1_entries, l1_clusters;
	uint64_t rb_entries; /* refcounts per refcount block */
	uint64_t rt_clusters, rb_count;
	uint64_t total; /* clusters */
};

static int create_check_opts(const struct block_create_opts *opts, struct qcow2_layout *lay,
			     char *err, size_t errlen)
{
	unsigned rbits = opts->refcount_bits ? opts->refcount_bits : 16;

	lay->cs = opts->cluster_size ? opts->cluster_size : 65536;
	lay->version = opts->compat ? opts->compat : 3;
	if (lay->cs < 512 || lay->cs > (2u << 20) || (lay->cs & (lay->cs - 1))) {
		block_errf(err, errlen,
			   "cluster_size must be a power of two between 512 and 2097152 bytes");
		return -EINVAL;
	}
	lay->bits = (unsigned)__builtin_ctz(lay->cs);
	if (lay->version != 2 && lay->version != 3) {
		block_errf(err, errlen, "compat must be 0.10 or 1.1");
		return -EINVAL;
	}
	if (lay->version == 2 && opts->lazy_refcounts) {
		block_errf(err, errlen, "lazy_refcounts=on needs compat=1.1");
		return -EINVAL;
	}
	if (rbits > 64 || (rbits & (rbits - 1))) {
		block_errf(err, errlen, "refcount_bits must be a power of two up to 64");
		return -EINVAL;
	}
	if (lay->version == 2 && rbits != 16) {
		block_errf(err, errlen, "refcount_bits other than 16 need compat=1.1");
		return -EINVAL;
	}
	lay->refcount_order = (unsigned)__builtin_ctz(rbits);
	return 0;
}

/* The backing file name as a reader of the new image at path resolves it. */
static void backing_path(char *out, size_t len, const char *path, const char *backing)
{
	if (backing[0] != '/' && strchr(path, '/')) {
		const char *slash = strrchr(path, '/');
		snprintf(out, len, "%.*s/%s", (int)(slash - path), path, backing);
	} else {
		snprintf(out, len, "%s", backing);
	}
}

/*
 * Opens the backing chain of the new image: its size when none was given,
 * its format, and a refusal to create over any file of that chain (creating
 * truncates the file, so the new image would destroy what it is backed by).
 */
static int create_probe_backing(const char *path, const struct block_create_opts *opts,
				uint64_t *size, char *fmt, size_t fmtlen, char *err,
				size_t errlen)
{
	struct block_opts bo = {.format = opts->backing_format, .read_only = true};
	struct block_dev *b;
	char sub[512], rpath[PATH_MAX];
	struct stat st;
	int ret, depth = -1;

	if (strlen(opts->backing_file) > 1023) {
		block_errf(err, errlen, "backing file name too long");
		return -EINVAL;
	}
	backing_path(rpath, sizeof(rpath), path, opts->backing_file);
	ret = block_open(&b, rpath, &bo, sub, sizeof(sub));
	if (ret) {
		block_errf(err, errlen, "could not open backing file: %s", sub);
		return ret;
	}
	if (stat(path, &st) == 0)
		depth = block_chain_find(b, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (!*size)
		*size = block_size(b);
	snprintf(fmt, fmtlen, "%s", block_format(b));
	block_close(b);
	if (depth == 0) {
		block_errf(err, errlen, "%s: Error: Trying to create an image with the same "
					"filename as the backing file", path);
		return -EINVAL;
	}
	if (depth > 0) {
		block_errf(err, errlen,
			   "%s: Error: Trying to create an image over image %d of its own "
			   "backing chain", path, depth);
		return -EINVAL;
	}
	return 0;
}

/* The size of each part, for lay->size; refcount blocks that count themselves. */
static int create_layout(struct qcow2_layout *lay, char *err, size_t errlen)
{
	uint64_t cs = lay->cs, per_l1 = cs * (cs / 8);

	if (lay->size % 512) {
		block_errf(err, errlen, "image size must be a multiple of 512 bytes");
		return -EINVAL;
	}
	if (lay->size > (1ull << 62)) {
		block_errf(err, errlen, "image size too large");
		return -EFBIG;
	}
	lay->l1_entries = lay->size / per_l1 + (lay->size % per_l1 != 0);
	if (lay->l1_entries * 8 > QCOW2_MAX_L1_BYTES) {
		block_errf(err, errlen, "image size too large for cluster size %u", lay->cs);
		return -EFBIG;
	}
	/* An empty image has no L1 table (offset 0), as qemu-img makes it. */
	lay->l1_clusters = (lay->l1_entries * 8 + cs - 1) / cs;
	lay->rb_entries = cs * 8 >> lay->refcount_order;
	lay->rt_clusters = lay->rb_count = 1;
	for (int i = 0; i < 64; i++) {
		uint64_t total = 1 + lay->rt_clusters + lay->rb_count + lay->l1_clusters;
		uint64_t nrb = (total + lay->rb_entries - 1) / lay->rb_entries;
		uint64_t nrt = (nrb * 8 + cs - 1) / cs;
		if (nrb == lay->rb_count && nrt == lay->rt_clusters)
			break;
		lay->rb_count = nrb;
		lay->rt_clusters = nrt;
	}
	lay->total = 1 + lay->rt_clusters + lay->rb_count + lay->l1_clusters;
	if (lay->rt_clusters * cs > QCOW2_MAX_REFTABLE_BYTES) {
		block_errf(err, errlen, "image size too large for cluster size %u", lay->cs);
		return -EFBIG;
	}
	return 0;
}

/* Cluster 0: the header, the extensions, the backing file name. */
static int create_header(uint8_t *buf, const struct qcow2_layout *lay,
			 const struct block_create_opts *opts, const char *probed_fmt, char *err,
			 size_t errlen)
{
	uint64_t cs = lay->cs;
	size_t pos = 72;

	be32_put(buf + 0, QCOW2_MAGIC);
	be32_put(buf + 4, (uint32_t)lay->version);
	be32_put(buf + 20, lay->bits);
	be64_put(buf + 24, lay->size);
	be32_put(buf + 36, (uint32_t)lay->l1_entries);
	be64_put(buf + 40, lay->l1_clusters ? (1 + lay->rt_clusters + lay->rb_count) * cs : 0);
	be64_put(buf + 48, cs);
	be32_put(buf + 56, (uint32_t)lay->rt_clusters);
	if (lay->version == 3) {
		be64_put(buf + 80, opts->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
		be32_put(buf + 96, lay->refcount_order);
		be32_put(buf + 100, 104);
		pos = 104;
	}
	if (opts->backing_file) {
		const char *fmt = opts->backing_format ? opts->backing_format : probed_fmt;
		size_t flen = strlen(fmt), blen = strlen(opts->backing_file);

		if (lay->version == 3 || opts->backing_format) {
			be32_put(buf + pos, QCOW2_EXT_BACKING_FORMAT);
			be32_put(buf + pos + 4, (uint32_t)flen);
			memcpy(buf + pos + 8, fmt, flen);
			pos += 8 + ((flen + 7) & ~(size_t)7);
		}
		be32_put(buf + pos, QCOW2_EXT_END);
		be32_put(buf + pos + 4, 0);
		pos += 8;
		if (pos + blen > cs) {
			block_errf(err, errlen, "backing file name does not fit in the header");
			return -EINVAL;
		}
		be64_put(buf + 8, pos);
		be32_put(buf + 16, (uint32_t)blen);
		memcpy(buf + pos, opts->backing_file, blen);
	} else if (lay->version == 3) {
		be32_put(buf + pos, QCOW2_EXT_END);
	}
	return 0;
}

static void put_refcount(uint8_t *rb, unsigned order, uint64_t idx, uint64_t v)
{
	unsigned bits = 1u << order;

	if (bits >= 8) {
		unsigned bytes = bits / 8;
		for (unsigned i = 0; i < bytes; i++)
			rb[idx * bytes + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	} else {
		uint64_t bit = idx * bits;
		rb[bit / 8] |= (uint8_t)(v << (bit % 8));
	}
}

/* The refcount table and blocks: every cluster of the layout is in use once. */
static void create_refcounts(uint8_t *buf, const struct qcow2_layout *lay)
{
	uint64_t cs = lay->cs;

	for (uint64_t i = 0; i < lay->rb_count; i++) {
		uint8_t *rb = buf + (1 + lay->rt_clusters + i) * cs;
		be64_put(buf + cs + i * 8, (1 + lay->rt_clusters + i) * cs);
		for (uint64_t c = i * lay->rb_entries;
		     c < (i + 1) * lay->rb_entries && c < lay->total; c++)
			put_refcount(rb, lay->refcount_order, c - i * lay->rb_entries, 1);
	}
}

static int create_write(const char *path, const uint8_t *buf, uint64_t len, char *err,
			size_t errlen)
{
	uint64_t done = 0;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		block_errf(err, errlen, "could not create '%s': %s", path, strerror(errno));
		return ret;
	}
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		done += (uint64_t)n;
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		block_errf(err, errlen, "could not write '%s': %s", path, strerror(-ret));
	return ret;
}

static int qcow2_create(const char *path, const struct block_create_opts *opts, char *err,
			size_t errlen)
{
	struct qcow2_layout lay = {.size = opts->size};
	char bfmt[16] = "";
	uint8_t *buf;
	int ret;

	ret = create_check_opts(opts, &lay, err, errlen);
	if (!ret && opts->backing_file)
		ret = create_probe_backing(path, opts, &lay.size, bfmt, sizeof(bfmt), err, errlen);
	if (!ret)
		ret = create_layout(&lay, err, errlen);
	if (ret)
		return ret;
	buf = calloc(lay.total, lay.cs);
	if (!buf)
		return -ENOMEM;
	ret = create_header(buf, &lay, opts, bfmt, err, errlen);
	if (!ret) {
		create_refcounts(buf, &lay);
		ret = create_write(path, buf, lay.total * lay.cs, err, errlen);
	}
	free(buf);
	return ret;
}

const struct block_driver block_driver_qcow2 = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.pread = qcow2_pread,
	.pwrite = qcow2_pwrite,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.truncate = qcow2_truncate,
	.info = qcow2_info,
	.check = qcow2_check,
	.status = qcow2_status,
	.create = qcow2_create,
	.map = qcow2_map,
	.unmap = qcow2_unmap,
	.activate = qcow2_activate,
};
