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
	/* Keys the keyboard had no room for, oldest at head. */
	struct {
		unsigned short qnum;
		bool down;
	} backlog[INPUT_KEY_BACKLOG];
	unsigned head, count;
	unsigned refusals; /* retries of the head key so far */
	unsigned long long dropped;
	input_retry_fn *retry;
	void *retry_opaque;
};

struct input *input_new(void)
{
	return calloc(1, sizeof(struct input));
}

void input_free(struct input *in)
{
	free(in);
}

static void drain(struct input *in);

void input_set_retry(struct input *in, input_retry_fn *fn, void *opaque)
{
	in->retry = fn;
	in->retry_opaque = opaque;
}

void input_retry_keys(struct input *in)
{
	drain(in);
}

unsigned input_keys_waiting(const struct input *in)
{
	return in->count;
}

unsigned long long input_keys_dropped(const struct input *in)
{
	return in->dropped;
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
	if (running && in->count)
		drain(in);
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

/* Feeds waiting keys in order while the keyboard takes them. */
static void drain(struct input *in)
{
	while (in->count && in->running && in->kbd) {
		unsigned q = in->backlog[in->head].qnum;
		bool down = in->backlog[in->head].down;

		if (!in->kbd->key(in->kbd_opaque, q, down)) {
			if (++in->refusals < INPUT_KEY_GIVE_UP_MS / INPUT_KEY_RETRY_MS)
				break;
			/* Refused for too long: this one is lost. */
			in->dropped++;
			if (down)
				key_mark(in, q, false);
		}
		in->refusals = 0;
		in->head = (in->head + 1) % INPUT_KEY_BACKLOG;
		in->count--;
	}
	if (in->count && in->retry)
		in->retry(in->retry_opaque, INPUT_KEY_RETRY_MS);
}

void input_key(struct input *in, unsigned qnum, bool down)
{
	if (qnum > INPUT_QNUM_MAX || !in->running || !in->kbd)
		return;
	/* A release the guest never saw pressed is not sent (a key held
	 * while the VM was paused or before the client connected); a press
	 * repeats as typematic keys do.  A key waiting counts as seen. */
	if (!down && !key_is_down(in, qnum))
		return;
	if (!in->count) {
		if (in->kbd->key(in->kbd_opaque, qnum, down)) {
			key_mark(in, qnum, down);
			return;
		}
		in->refusals = 1;
		if (in->retry)
			in->retry(in->retry_opaque, INPUT_KEY_RETRY_MS);
	} else if (in->count == INPUT_KEY_BACKLOG) {
		in->dropped++;
		return;
	}
	/* Behind the waiting ones: the timer feeds them in order. */
	in->backlog[(in->head + in->count) % INPUT_KEY_BACKLOG].qnum = (unsigned short)qnum;
	in->backlog[(in->head + in->count) % INPUT_KEY_BACKLOG].down = down;
	in->count++;
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
	drain(in);
	/* Buttons go up where the pointer is. */
	if (in->buttons && input_pointer_absolute(in))
		in->abs->abs(in->abs_opaque, in->abs_x, in->abs_y, 0, 0);
	else if (in->buttons && in->rel)
		in->rel->rel(in->rel_opaque, 0, 0, 0, 0);
	in->buttons = 0;
	in->have_pos = false;
	in->running = was;
}
