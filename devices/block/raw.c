// SPDX-License-Identifier: GPL-2.0-or-later
/* raw images: regular files and block devices, byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "devices/block/block_int.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
	return 1; /* anything is a raw image, as the last resort */
}

static int raw_open(struct block_dev *bd, const struct block_opts *opts, char *err, size_t errlen)
{
	int ret;

	if (opts->internal_snapshot) {
		block_errf(err, errlen, "'%s': raw images have no internal snapshots",
			   bd->filename);
		return -ENOTSUP;
	}
	ret = host_file_length(&bd->file, &bd->size);
	if (ret) {
		block_errf(err, errlen, "'%s': cannot get its size: %s", bd->filename,
			   strerror(-ret));
		return ret;
	}
	return 0;
}

static void raw_close(struct block_dev *bd)
{
}

static int raw_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
	return host_file_pread(&bd->file, off, buf, len);
}

static int raw_pwrite(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
	return host_file_pwrite(&bd->file, off, buf, len);
}

static int raw_flush(struct block_dev *bd)
{
	return host_file_flush(&bd->file);
}

static int raw_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
	return host_file_discard(&bd->file, off, len);
}

static int raw_truncate(struct block_dev *bd, uint64_t size)
{
	int ret = host_file_truncate(&bd->file, size);
	if (!ret)
		bd->size = size;
	return ret;
}

static int raw_create(const char *path, const struct block_create_opts *opts, char *err,
		      size_t errlen)
{
	int fd;

	if (opts->backing_file) {
		block_errf(err, errlen, "raw images cannot have a backing file");
		return -EINVAL;
	}
	if (opts->size > (uint64_t)INT64_MAX) {
		block_errf(err, errlen, "image size too large");
		return -EINVAL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		block_errf(err, errlen, "could not create '%s': %s", path, strerror(e));
		return -e;
	}
	if (ftruncate(fd, (off_t)opts->size) < 0) {
		int e = errno;
		close(fd);
		block_errf(err, errlen, "could not resize '%s': %s", path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

const struct block_driver block_driver_raw = {
	.name = "raw",
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.flush = raw_flush,
	.discard = raw_discard,
	.truncate = raw_truncate,
	.create = raw_create,
};
