// SPDX-License-Identifier: GPL-2.0-or-later
/* The display between its source and its listeners: vmm/display.h. */
#include "vmm/display.h"

#include <stdlib.h>

struct display_listener {
	const struct display_listener_ops *ops;
	void *opaque;
};

struct display {
	const struct display_source_ops *src;
	void *src_opaque;
	struct display_listener l[DISPLAY_MAX_LISTENERS];
	unsigned nr;
	struct display_image img;
	bool has_img;
	void (*sync)(void *opaque);
	void *sync_opaque;
};

struct display *display_new(void)
{
	return calloc(1, sizeof(struct display));
}

void display_free(struct display *d)
{
	free(d);
}

void display_set_source(struct display *d, const struct display_source_ops *ops, void *opaque)
{
	d->src = ops;
	d->src_opaque = opaque;
	if (!ops)
		display_resize(d, NULL);
}

bool display_has_source(const struct display *d)
{
	return d->src != NULL;
}

int display_add_listener(struct display *d, const struct display_listener_ops *ops, void *opaque)
{
	if (d->nr == DISPLAY_MAX_LISTENERS)
		return -1;
	d->l[d->nr++] = (struct display_listener){ ops, opaque };
	return 0;
}

void display_remove_listener(struct display *d, const struct display_listener_ops *ops,
			     void *opaque)
{
	for (unsigned i = 0; i < d->nr; i++) {
		if (d->l[i].ops == ops && d->l[i].opaque == opaque) {
			d->l[i] = d->l[--d->nr];
			return;
		}
	}
}

void display_resize(struct display *d, const struct display_image *img)
{
	d->has_img = img != NULL;
	if (img)
		d->img = *img;
	for (unsigned i = 0; i < d->nr; i++)
		if (d->l[i].ops->resize)
			d->l[i].ops->resize(d->l[i].opaque, img ? &d->img : NULL);
}

void display_damage(struct display *d, unsigned x, unsigned y, unsigned w, unsigned h)
{
	if (!d->has_img || x >= d->img.width || y >= d->img.height)
		return;
	if (w > d->img.width - x)
		w = d->img.width - x;
	if (h > d->img.height - y)
		h = d->img.height - y;
	if (!w || !h)
		return;
	for (unsigned i = 0; i < d->nr; i++)
		if (d->l[i].ops->damage)
			d->l[i].ops->damage(d->l[i].opaque, x, y, w, h);
}

void display_set_sync(struct display *d, void (*fn)(void *opaque), void *opaque)
{
	d->sync = fn;
	d->sync_opaque = opaque;
}

void display_refresh(struct display *d, bool full)
{
	if (d->sync)
		d->sync(d->sync_opaque);
	if (d->src && d->src->refresh)
		d->src->refresh(d->src_opaque, full);
}

const struct display_image *display_image(const struct display *d)
{
	return d->has_img ? &d->img : NULL;
}
