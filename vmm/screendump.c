// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Screendumps to PPM or PNG: vmm/screendump.h.  PNG through libpng's
 * write API (png_create_write_struct, png_set_IHDR, one row at a time);
 * PPM as netpbm's P6 (a text header, then RGB bytes).
 */
#include "vmm/screendump.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/display.h"

int screendump_format_parse(const char *name, enum screendump_format *out)
{
	if (!strcmp(name, "ppm"))
		*out = SCREENDUMP_PPM;
	else if (!strcmp(name, "png"))
		*out = SCREENDUMP_PNG;
	else
		return -1;
	return 0;
}

/* One row of 0x00RRGGBB pixels as RGB bytes. */
static void row_rgb(const struct display_image *img, unsigned y, uint8_t *out)
{
	const uint32_t *src = img->pixels + (size_t)y * (img->stride / 4);

	for (unsigned x = 0; x < img->width; x++) {
		out[3 * x] = (uint8_t)(src[x] >> 16);
		out[3 * x + 1] = (uint8_t)(src[x] >> 8);
		out[3 * x + 2] = (uint8_t)src[x];
	}
}

static int write_ppm(FILE *f, const struct display_image *img, uint8_t *row)
{
	if (fprintf(f, "P6\n%u %u\n255\n", img->width, img->height) < 0)
		return -1;
	for (unsigned y = 0; y < img->height; y++) {
		row_rgb(img, y, row);
		if (fwrite(row, 3, img->width, f) != img->width)
			return -1;
	}
	return 0;
}

/* libpng reports errors by longjmp; nothing here needs cleaning up but
 * the structures, which the caller frees. */
static int write_png(FILE *f, const struct display_image *img, uint8_t *row)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	int ret = -1;

	if (!png || !info)
		goto out;
	if (setjmp(png_jmpbuf(png)))
		goto out;
	png_init_io(png, f);
	png_set_IHDR(png, info, img->width, img->height, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (unsigned y = 0; y < img->height; y++) {
		row_rgb(img, y, row);
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	ret = 0;
out:
	png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
	return ret;
}

int screendump_write_image(const struct display_image *img, const char *path,
			   enum screendump_format fmt, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], base[PATH_MAX];
	uint8_t *row = NULL;
	FILE *f = NULL;
	int fd, ret = -1, saved;

	if (!img || !img->pixels || !img->width || !img->height ||
	    img->stride < (size_t)img->width * 4) {
		snprintf(err, errlen, "no picture to dump");
		return -1;
	}
	if (!*path || strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "screendump: bad file name");
		return -1;
	}
	strcpy(dir, path);
	strcpy(base, path);
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(dir), basename(base)) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "screendump: '%s': file name too long", path);
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "screendump: cannot create a file beside '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	/* As a file created with the usual umask would be. */
	if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "wb"))) {
		saved = errno;
		close(fd);
		goto fail;
	}
	row = malloc((size_t)img->width * 3);
	if (!row) {
		saved = ENOMEM;
		goto fail;
	}
	errno = 0;
	if ((fmt == SCREENDUMP_PNG ? write_png(f, img, row) : write_ppm(f, img, row)) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) < 0) {
		saved = errno ? errno : EIO;
		goto fail;
	}
	if (fclose(f) != 0) {
		f = NULL;
		saved = errno;
		goto fail;
	}
	f = NULL;
	if (rename(tmp, path) < 0) {
		saved = errno;
		goto fail;
	}
	free(row);
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	free(row);
	snprintf(err, errlen, "screendump: cannot write '%s': %s", path, strerror(saved));
	return ret;
}

int screendump_write(struct display *d, const char *path, enum screendump_format fmt,
		     char *err, size_t errlen)
{
	const struct display_image *img;

	if (!d || !display_has_source(d)) {
		snprintf(err, errlen, "no display to dump (the machine has no display device)");
		return -1;
	}
	display_refresh(d, true);
	img = display_image(d);
	if (!img) {
		snprintf(err, errlen, "no picture to dump (the display is off)");
		return -1;
	}
	return screendump_write_image(img, path, fmt, err, errlen);
}
