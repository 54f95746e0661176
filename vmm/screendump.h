/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Screendumps: the display's current picture (vmm/display.h) as a file,
 * PPM (P6, QEMU's default) or PNG, for QMP `screendump`, minivmm-ctl and
 * --screendump-on-exit.
 *
 * The file is written under a temporary name in the same directory and
 * renamed over the target only once complete, so a failed dump leaves no
 * partial file and an existing one is replaced only on success.
 */
#ifndef MINIVMM_SCREENDUMP_H
#define MINIVMM_SCREENDUMP_H

#include <stddef.h>

struct display;
struct display_image;

enum screendump_format { SCREENDUMP_PPM, SCREENDUMP_PNG };

/* "ppm" or "png" (QMP's names); -1 for anything else. */
int screendump_format_parse(const char *name, enum screendump_format *out);

/* One image to path: 0, or -1 with one line in err. */
int screendump_write_image(const struct display_image *img, const char *path,
			   enum screendump_format fmt, char *err, size_t errlen);

/* The display brought up to date (a full refresh) and written; no picture
 * (no source, or the source is off) is an error. */
int screendump_write(struct display *d, const char *path, enum screendump_format fmt,
		     char *err, size_t errlen);

#endif
