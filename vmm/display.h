/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The display: the one picture of the machine's screen, between the device
 * that draws it (the VGA, the source) and whoever shows it (the VNC server,
 * screendumps: the listeners).  Neither side knows the other.
 *
 * The source owns the image (32-bit pixels 0x00RRGGBB in host memory) and
 * keeps it up to date when asked: display_refresh() calls the source's
 * refresh hook, which converts what changed in the guest's memory since the
 * last call and reports it with display_damage(), or a new size or place of
 * the image with display_resize().  Listeners see both, in that order.  A
 * refresh that finds nothing changed reports nothing and costs no more than
 * the source's check (a dirty log, a shadow compare).
 *
 * Threads: all of it on the I/O thread (the source takes its own lock
 * against vCPU threads while it reads guest-written state).
 */
#ifndef MINIVMM_DISPLAY_H
#define MINIVMM_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* pixels[y * stride / 4 + x] is the pixel at (x, y), 0x00RRGGBB. */
struct display_image {
	uint32_t *pixels;
	unsigned width, height;
	size_t stride; /* bytes, >= width * 4 */
};

struct display_source_ops {
	/* Brings the image up to date and reports what changed (full: report
	 * the whole image as changed, e.g. for a new client). */
	void (*refresh)(void *opaque, bool full);
};

struct display_listener_ops {
	/* A new image (size, stride or buffer); the whole of it counts as
	 * changed.  NULL: no picture (the source is off). */
	void (*resize)(void *opaque, const struct display_image *img);
	/* [x, x + w) x [y, y + h) changed, inside the current image. */
	void (*damage)(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h);
};

struct display;

struct display *display_new(void);
void display_free(struct display *d);

/* One source; a second call replaces it (ops NULL: none). */
void display_set_source(struct display *d, const struct display_source_ops *ops, void *opaque);
bool display_has_source(const struct display *d);

/* Up to DISPLAY_MAX_LISTENERS; -1 when full. */
#define DISPLAY_MAX_LISTENERS 4
int display_add_listener(struct display *d, const struct display_listener_ops *ops, void *opaque);
void display_remove_listener(struct display *d, const struct display_listener_ops *ops,
			     void *opaque);

/* For the source, from its refresh hook (or at any time on the I/O thread):
 * the image changed place or size (img is copied; NULL: no picture), or a
 * rectangle of it changed (clipped to the image; empty ones are dropped). */
void display_resize(struct display *d, const struct display_image *img);
void display_damage(struct display *d, unsigned x, unsigned y, unsigned w, unsigned h);

/* The machine's part before every refresh: fn delivers the guest's writes
 * still posted in KVM's coalesced MMIO ring to the devices, so that text a
 * halted guest wrote shows without waiting for its next exit. */
void display_set_sync(struct display *d, void (*fn)(void *opaque), void *opaque);

/* For listeners: bring the image up to date (calls the sync hook, then the
 * source's). */
void display_refresh(struct display *d, bool full);
/* The current image, or NULL when there is none. */
const struct display_image *display_image(const struct display *d);

#endif
