// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What "minivmm-img info" can say about a qcow2 image from its header alone,
 * for the images block_open refuses for I/O (encryption, zstd compression,
 * an external data file, extended L2 entries): qemu-img describes them, and
 * so do we.  Nothing here is used for I/O; every field is bounded by the
 * buffer it comes from.  Also the backing-chain lookup the tool uses to
 * refuse writing over an image it reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/qcow2.h"

#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ull << 1)

/* Copies a name of n bytes from the header into dst (size dstlen), or fails. */
static int copy_name(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	if (n >= dstlen || memchr(src, 0, n))
		return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = 0;
	return 0;
}

static int describe_extensions(const uint8_t *buf, uint64_t pos, uint64_t end,
			       struct block_info *info, char *err, size_t errlen)
{
	while (pos + 8 <= end) {
		uint32_t type = be32_get(buf + pos), len = be32_get(buf + pos + 4);

		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos) {
			block_errf(err, errlen, "header extension 0x%x overruns the header", type);
			return -EINVAL;
		}
		if (type == QCOW2_EXT_BACKING_FORMAT &&
		    copy_name(info->backing_format, sizeof(info->backing_format), buf + pos, len)) {
			block_errf(err, errlen, "backing format name is invalid");
			return -EINVAL;
		}
		if (type == QCOW2_EXT_DATA_FILE &&
		    copy_name(info->data_file, sizeof(info->data_file), buf + pos, len)) {
			block_errf(err, errlen, "data file name is invalid");
			return -EINVAL;
		}
		pos += ((uint64_t)len + 7) & ~7ull;
	}
	return 0;
}

static int describe_v3(const uint8_t *buf, size_t len, struct block_info *info, uint32_t *hlen,
		       char *err, size_t errlen)
{
	uint64_t incompat, compat, autoclear;
	uint32_t order;
	uint8_t ctype = 0;

	if (len < sizeof(struct qcow2_header)) {
		block_errf(err, errlen, "the qcow2 v3 header is truncated");
		return -EINVAL;
	}
	incompat = be64_get(buf + offsetof(struct qcow2_header, incompatible_features));
	compat = be64_get(buf + offsetof(struct qcow2_header, compatible_features));
	autoclear = be64_get(buf + offsetof(struct qcow2_header, autoclear_features));
	order = be32_get(buf + offsetof(struct qcow2_header, refcount_order));
	*hlen = be32_get(buf + offsetof(struct qcow2_header, header_length));
	if (*hlen < sizeof(struct qcow2_header) || *hlen % 8 || *hlen > info->cluster_size ||
	    *hlen > len) {
		block_errf(err, errlen, "header length %u is invalid", *hlen);
		return -EINVAL;
	}
	if (incompat & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DATA_FILE |
			 QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2)) {
		/* Bits no one knows: qemu-img refuses to describe those too. */
		block_errf(err, errlen, "unsupported qcow2 feature: unknown incompatible feature "
					"bit %d", __builtin_ctzll(incompat & ~0x1full));
		return -ENOTSUP;
	}
	if (order > 6) {
		block_errf(err, errlen, "refcount order %u is invalid", order);
		return -EINVAL;
	}
	info->refcount_bits = 1u << order;
	info->dirty = incompat & QCOW2_INCOMPAT_DIRTY;
	info->corrupt = incompat & QCOW2_INCOMPAT_CORRUPT;
	info->extended_l2 = incompat & QCOW2_INCOMPAT_EXTL2;
	info->lazy_refcounts = compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
	info->data_file_raw = autoclear & QCOW2_AUTOCLEAR_DATA_FILE_RAW;
	if (*hlen > sizeof(struct qcow2_header))
		ctype = buf[sizeof(struct qcow2_header)];
	if (ctype > 1) {
		block_errf(err, errlen, "compression type %u is unknown", ctype);
		return -EINVAL;
	}
	snprintf(info->compression_type, sizeof(info->compression_type), "%s",
		 ctype ? "zstd" : "zlib");
	return 0;
}

int qcow2_describe_buf(const uint8_t *buf, size_t len, struct block_info *info, char *err,
		       size_t errlen)
{
	uint32_t bits, crypt, hlen = 72, bs;
	uint64_t bo, end;
	int ret;

	memset(info, 0, sizeof(*info));
	if (len < 72 || be32_get(buf) != QCOW2_MAGIC) {
		block_errf(err, errlen, "not a qcow2 image");
		return -ENOTSUP;
	}
	snprintf(info->format, sizeof(info->format), "qcow2");
	info->header_only = true;
	info->version = (int)be32_get(buf + 4);
	if (info->version != 2 && info->version != 3) {
		block_errf(err, errlen, "qcow2 version %d is not supported", info->version);
		return -ENOTSUP;
	}
	bits = be32_get(buf + offsetof(struct qcow2_header, cluster_bits));
	if (bits < 9 || bits > 21) {
		block_errf(err, errlen, "cluster size 2^%u is invalid (512 B..2 MiB)", bits);
		return -EINVAL;
	}
	info->cluster_size = 1u << bits;
	info->virtual_size = be64_get(buf + offsetof(struct qcow2_header, size));
	if (info->virtual_size > (1ull << 62)) {
		block_errf(err, errlen, "virtual size %llu is too large",
			   (unsigned long long)info->virtual_size);
		return -EINVAL;
	}
	crypt = be32_get(buf + offsetof(struct qcow2_header, crypt_method));
	if (crypt > 2) {
		block_errf(err, errlen, "encryption method %u is unknown", crypt);
		return -EINVAL;
	}
	snprintf(info->encryption, sizeof(info->encryption), "%s",
		 crypt == 2 ? "luks" : crypt == 1 ? "aes" : "");
	info->refcount_bits = 16;
	if (info->version == 3) {
		ret = describe_v3(buf, len, info, &hlen, err, errlen);
		if (ret)
			return ret;
	}

	/* The backing file name and the extensions, all in cluster 0. */
	end = len < info->cluster_size ? len : info->cluster_size;
	bo = be64_get(buf + offsetof(struct qcow2_header, backing_file_offset));
	bs = be32_get(buf + offsetof(struct qcow2_header, backing_file_size));
	if (bo) {
		if (bs == 0 || bo < hlen || bo > end || bs > end - bo ||
		    copy_name(info->backing_file, sizeof(info->backing_file), buf + bo, bs)) {
			block_errf(err, errlen, "backing file name is out of bounds");
			return -EINVAL;
		}
		end = bo;
	}
	if (info->version == 3)
		return describe_extensions(buf, hlen, end, info, err, errlen);
	return 0;
}

int block_describe(const char *path, const char *format, struct block_info *info, char *err,
		   size_t errlen)
{
	uint8_t *buf;
	ssize_t n;
	int fd, ret;

	memset(info, 0, sizeof(*info));
	if (format && strcmp(format, "qcow2")) {
		block_errf(err, errlen, "'%s': only qcow2 images are described from their header",
			   path);
		return -ENOTSUP;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		block_errf(err, errlen, "could not open '%s': %s", path, strerror(errno));
		return ret;
	}
	/* Cluster 0 holds everything described; clusters are at most 2 MiB. */
	buf = calloc(1, 2u << 20);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, buf, 2u << 20, 0);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret)
		block_errf(err, errlen, "could not read '%s': %s", path, strerror(-ret));
	else
		ret = qcow2_describe_buf(buf, (size_t)n, info, err, errlen);
	free(buf);
	if (ret && ret != -ENOMEM && n >= 0 && err && errlen) {
		char sub[256];
		snprintf(sub, sizeof(sub), "%s", err);
		block_errf(err, errlen, "'%s': %s", path, sub);
	}
	return ret;
}

int block_chain_find(const struct block_dev *bd, uint64_t dev, uint64_t ino)
{
	for (int depth = 0; bd; depth++) {
		struct stat st;

		if (fstat(bd->file.fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
			return depth;
		/* Only qcow2 images have backing files. */
		if (bd->drv != &block_driver_qcow2 || !bd->state)
			break;
		bd = ((const struct qcow2 *)bd->state)->backing;
	}
	return -1;
}
