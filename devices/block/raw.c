// SPDX-License-Identifier: GPL-2.0-or-later
/* raw images: regular files and block devices, byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "devices/block/block_int.h"

/*
 * Signatures of the formats QEMU's block drivers probe by content (their
 * .bdrv_probe functions), all within the first sector.  Where QEMU also
 * checks a version field we look at the magic alone: refusing a little more
 * is safe.  dmg is probed by file name only (".dmg"), so no sector content
 * can make an image probe as dmg.
 */
struct foreign_magic {
	const char *format;
	unsigned offset;
	unsigned len;
	const char *magic;
};

static const struct foreign_magic foreign_magics[] = {
	{"qcow/qcow2", 0, 4, "QFI\xfb"}, /* qcow (version 1) and qcow2 share it */
	{"qed", 0, 4, "QED\0"},
	{"vmdk", 0, 4, "KDMV"}, /* VMDK4_MAGIC, stored big-endian */
	{"vmdk", 0, 4, "COWD"}, /* VMDK3_MAGIC */
	{"vdi", 64, 4, "\x7f\x10\xda\xbe"}, /* 0xbeda107f little-endian after the text */
	{"vhdx", 0, 8, "vhdxfile"},
	{"vpc", 0, 8, "conectix"},
	{"luks", 0, 6, "LUKS\xba\xbe"},
	{"parallels", 0, 16, "WithoutFreeSpace"},
	{"parallels", 0, 16, "WithouFreSpacExt"},
	{"bochs", 0, 23, "Bochs Virtual HD Image"}, /* with its NUL */
	{"cloop", 0, 23, "#!/bin/sh\n#V2.0 Format\n"},
};

/* A VMDK text descriptor: a line (after blanks, not a comment) "version=N". */
static bool is_vmdk_descriptor(const uint8_t *buf, size_t len)
{
	const char *p = (const char *)buf, *end = p + len;

	while (p < end) {
		if (*p == '#') {
			while (p < end && *p != '\n')
				p++;
			p++;
			continue;
		}
		if (*p == ' ') {
			while (p < end && *p == ' ')
				p++;
			continue;
		}
		if (end - p >= 10 && !memcmp(p, "version=", 8) && p[8] >= '1' && p[8] <= '3' &&
		    (p[9] == '\n' || (end - p >= 11 && p[9] == '\r' && p[10] == '\n')))
			return true;
		while (p < end && *p != '\n')
			p++;
		p++;
	}
	return false;
}

const char *block_probe_foreign(const uint8_t *buf)
{
	for (size_t i = 0; i < sizeof(foreign_magics) / sizeof(foreign_magics[0]); i++) {
		const struct foreign_magic *m = &foreign_magics[i];
		if (!memcmp(buf + m->offset, m->magic, m->len))
			return m->format;
	}
	if (is_vmdk_descriptor(buf, BLOCK_PROBE_BYTES))
		return "vmdk";
	return NULL;
}

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
