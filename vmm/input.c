// SPDX-License-Identifier: GPL-2.0-or-later
/* Input routing from the host to the guest's devices: vmm/input.h. */
#include "vmm/input.h"

#include <stdint.h>
#include <stdlib.h>

struct input {
	const struct input_kbd_ops *kbd;
	void *kbd_opaque;
	const struct input_rel_ops *rel;
	void *rel_opaque;
	const struct input_abs_ops *abs;
	void *abs_opaque;
	bool running;
	uint64_t down[(INPUT_QNUM_MAX + 1) / 64]; /* keys the guest saw pressed */
	unsigned buttons;			 /* buttons the guest saw held */
	bool have_pos;
	int last_x, last_y;	 /* for relative motion */
	unsigned abs_x, abs_y; /* the last absolute position sent */
};

struct input *input_new(void)
{
	return calloc(1, sizeof(struct input));
}

void input_free(struct input *in)
{
	free(in);
}

void input_set_keyboard(struct input *in, const struct input_kbd_ops *ops, void *opaque)
{
	in->kbd = ops;
	in->kbd_opaque = opaque;
}

void input_set_mouse(struct input *in, const struct input_rel_ops *ops, void *opaque)
{
	in->rel = ops;
	in->rel_opaque = opaque;
}

void input_set_tablet(struct input *in, const struct input_abs_ops *ops, void *opaque)
{
	in->abs = ops;
	in->abs_opaque = opaque;
}

void input_set_running(struct input *in, bool running)
{
	in->running = running;
}

static bool key_is_down(const struct input *in, unsigned q)
{
	return in->down[q / 64] >> (q % 64) & 1;
}

static void key_mark(struct input *in, unsigned q, bool down)
{
	if (down)
		in->down[q / 64] |= 1ull << (q % 64);
	else
		in->down[q / 64] &= ~(1ull << (q % 64));
}

void input_key(struct input *in, unsigned qnum, bool down)
{
	if (qnum > INPUT_QNUM_MAX || !in->running || !in->kbd)
		return;
	/* A release the guest never saw pressed is not sent (a key held
	 * while the VM was paused or before the client connected); a press
	 * repeats as typematic keys do. */
	if (!down && !key_is_down(in, qnum))
		return;
	if (in->kbd->key(in->kbd_opaque, qnum, down))
		key_mark(in, qnum, down);
}

bool input_pointer_absolute(const struct input *in)
{
	return in->abs && (!in->abs->active || in->abs->active(in->abs_opaque));
}

static unsigned scale(int v, unsigned size)
{
	if (v <= 0 || size < 2)
		return 0;
	if ((unsigned)v >= size - 1)
		return INPUT_ABS_MAX;
	return (unsigned)(((uint64_t)v * INPUT_ABS_MAX + (size - 1) / 2) / (size - 1));
}

void input_pointer(struct input *in, int x, int y, unsigned width, unsigned height, int dz,
		   unsigned buttons)
{
	bool sent = false;

	if (!in->running)
		return;
	if (input_pointer_absolute(in)) {
		in->abs_x = scale(x, width);
		in->abs_y = scale(y, height);
		sent = in->abs->abs(in->abs_opaque, in->abs_x, in->abs_y, dz, buttons);
	} else if (in->rel) {
		int dx = in->have_pos ? x - in->last_x : 0;
		int dy = in->have_pos ? y - in->last_y : 0;

		sent = in->rel->rel(in->rel_opaque, dx, dy, dz, buttons);
	}
	in->have_pos = true;
	in->last_x = x;
	in->last_y = y;
	if (sent)
		in->buttons = buttons;
}

void input_relative(struct input *in, int dx, int dy, int dz, unsigned buttons)
{
	if (!in->running || !in->rel)
		return;
	if (in->rel->rel(in->rel_opaque, dx, dy, dz, buttons))
		in->buttons = buttons;
}

void input_release_all(struct input *in)
{
	bool was = in->running;

	in->running = true; /* the releases go out even while paused */
	for (unsigned q = 0; q <= INPUT_QNUM_MAX; q++)
		if (key_is_down(in, q))
			input_key(in, q, false);
	/* Buttons go up where the pointer is. */
	if (in->buttons && input_pointer_absolute(in))
		in->abs->abs(in->abs_opaque, in->abs_x, in->abs_y, 0, 0);
	else if (in->buttons && in->rel)
		in->rel->rel(in->rel_opaque, 0, 0, 0, 0);
	in->buttons = 0;
	in->have_pos = false;
	in->running = was;
}
