// SPDX-License-Identifier: GPL-2.0-or-later
/* The display between its source and listeners, and the input router. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/display.h"
#include "vmm/input.h"

/* ---- display ---- */

struct seen {
	unsigned resizes, damages;
	unsigned x, y, w, h;
	const struct display_image *img;
};

static void l_resize(void *opaque, const struct display_image *img)
{
	struct seen *s = opaque;

	s->resizes++;
	s->img = img;
}

static void l_damage(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
	struct seen *s = opaque;

	s->damages++;
	s->x = x, s->y = y, s->w = w, s->h = h;
}

static const struct display_listener_ops l_ops = { l_resize, l_damage };

struct src {
	struct display *d;
	unsigned calls;
	bool full;
};

static void s_refresh(void *opaque, bool full)
{
	struct src *s = opaque;

	s->calls++;
	s->full = full;
	display_damage(s->d, 1, 2, 3, 4);
}

static const struct display_source_ops s_ops = { s_refresh };

static void test_display_flow(void **state)
{
	(void)state;
	struct display *d = display_new();
	struct seen a = { 0 }, b = { 0 };
	struct src src = { .d = d };
	uint32_t px[8 * 6];
	struct display_image img = { px, 8, 6, 8 * 4 };

	assert_non_null(d);
	assert_false(display_has_source(d));
	display_refresh(d, false); /* no source: nothing */
	assert_int_equal(display_add_listener(d, &l_ops, &a), 0);
	assert_int_equal(display_add_listener(d, &l_ops, &b), 0);
	display_set_source(d, &s_ops, &src);
	assert_true(display_has_source(d));
	assert_null(display_image(d));

	display_refresh(d, false); /* damage without an image is dropped */
	assert_int_equal(src.calls, 1);
	assert_int_equal(a.damages, 0);

	display_resize(d, &img);
	assert_int_equal(a.resizes, 1);
	assert_int_equal(b.resizes, 1);
	assert_int_equal(a.img->width, 8);
	assert_ptr_equal(display_image(d)->pixels, px);
	display_refresh(d, true);
	assert_true(src.full);
	assert_int_equal(a.damages, 1);
	assert_int_equal(a.w, 3);

	/* Clipped to the image; empty and outside ones dropped. */
	display_damage(d, 6, 4, 100, 100);
	assert_int_equal(a.w, 2);
	assert_int_equal(a.h, 2);
	display_damage(d, 8, 0, 1, 1);
	display_damage(d, 0, 0, 0, 1);
	assert_int_equal(a.damages, 2);

	display_remove_listener(d, &l_ops, &a);
	display_damage(d, 0, 0, 1, 1);
	assert_int_equal(a.damages, 2);
	assert_int_equal(b.damages, 3);

	display_set_source(d, NULL, NULL); /* no picture any more */
	assert_null(display_image(d));
	assert_null(b.img);
	display_free(d);
}

/* The sync hook (the coalesced ring's drain) runs before the source
 * converts, on every refresh, and also without a source. */
static unsigned sync_calls, sync_src_calls_seen;
static struct src *sync_src;

static void sync_fn(void *opaque)
{
	sync_calls++;
	sync_src_calls_seen = sync_src->calls;
}

static void test_display_sync(void **state)
{
	(void)state;
	struct display *d = display_new();
	struct src s = { .d = d };

	sync_src = &s;
	display_set_sync(d, sync_fn, NULL);
	display_refresh(d, false);
	assert_int_equal(sync_calls, 1);
	display_set_source(d, &s_ops, &s);
	display_refresh(d, true);
	assert_int_equal(sync_calls, 2);
	assert_int_equal(sync_src_calls_seen, 0); /* before the source's hook */
	assert_int_equal(s.calls, 1);
	display_free(d);
}

static void test_display_listener_limit(void **state)
{
	(void)state;
	struct display *d = display_new();
	struct seen s[DISPLAY_MAX_LISTENERS + 1];

	for (unsigned i = 0; i < DISPLAY_MAX_LISTENERS; i++)
		assert_int_equal(display_add_listener(d, &l_ops, &s[i]), 0);
	assert_int_equal(display_add_listener(d, &l_ops, &s[DISPLAY_MAX_LISTENERS]), -1);
	display_free(d);
}

/* ---- input ---- */

struct sinks {
	unsigned keys, last_q;
	bool last_down, kbd_ok;
	unsigned rels, abss;
	int dx, dy, dz;
	unsigned x, y, buttons;
	bool active;
};

static bool k_key(void *o, unsigned q, bool down)
{
	struct sinks *s = o;

	s->keys++;
	s->last_q = q;
	s->last_down = down;
	return s->kbd_ok;
}

static bool m_rel(void *o, int dx, int dy, int dz, unsigned buttons)
{
	struct sinks *s = o;

	s->rels++;
	s->dx = dx, s->dy = dy, s->dz = dz, s->buttons = buttons;
	return true;
}

static bool t_abs(void *o, unsigned x, unsigned y, int dz, unsigned buttons)
{
	struct sinks *s = o;

	s->abss++;
	s->x = x, s->y = y, s->dz = dz, s->buttons = buttons;
	return true;
}

static bool t_active(void *o)
{
	return ((struct sinks *)o)->active;
}

static const struct input_kbd_ops k_ops = { k_key };
static const struct input_rel_ops m_ops = { m_rel };
static const struct input_abs_ops t_ops = { t_abs, t_active };

static void test_input_keys(void **state)
{
	(void)state;
	struct input *in = input_new();
	struct sinks s = { .kbd_ok = true };

	input_key(in, 0x1d, true); /* no keyboard: nothing */
	input_set_keyboard(in, &k_ops, &s);
	input_key(in, 0x1d, true); /* not running: dropped */
	assert_int_equal(s.keys, 0);
	input_set_running(in, true);
	input_key(in, 0x100, true); /* out of range */
	input_key(in, 0x2a, false); /* never pressed: not sent */
	assert_int_equal(s.keys, 0);
	input_key(in, 0x9d, true); /* Right Ctrl */
	input_key(in, 0x1e, true);
	input_key(in, 0x1e, false);
	assert_int_equal(s.keys, 3);
	s.kbd_ok = false; /* the guest's buffer is full: the press waits */
	input_key(in, 0x2a, true);
	assert_int_equal(s.keys, 4);
	assert_int_equal(input_keys_waiting(in), 1);
	s.kbd_ok = true;
	input_set_running(in, false);
	/* Lifts Left Shift (its press first) and Right Ctrl, even while paused. */
	input_release_all(in);
	assert_int_equal(s.keys, 7);
	assert_int_equal(input_keys_waiting(in), 0);
	assert_int_equal(s.last_q, 0x9d);
	assert_false(s.last_down);
	input_release_all(in);
	assert_int_equal(s.keys, 7);
	input_free(in);
}

/* A keyboard with room for `room` more events, recording what it took. */
struct small_kbd {
	unsigned room;
	unsigned n;
	unsigned q[64];
	bool down[64];
	unsigned arms, last_ms;
};

static bool small_key(void *o, unsigned q, bool down)
{
	struct small_kbd *k = o;

	if (!k->room || k->n == 64)
		return false;
	k->room--;
	k->q[k->n] = q;
	k->down[k->n++] = down;
	return true;
}

static void small_arm(void *o, unsigned ms)
{
	struct small_kbd *k = o;

	k->arms++;
	k->last_ms = ms;
}

static const struct input_kbd_ops small_ops = { small_key };

/* A burst (noVNC sends a word's keys at once) larger than the keyboard's
 * buffer: every event arrives, in order, as the guest makes room; one the
 * keyboard refuses for good is given up after INPUT_KEY_GIVE_UP_MS. */
static void test_input_key_backlog(void **state)
{
	(void)state;
	struct input *in = input_new();
	struct small_kbd k = { .room = 3 };

	input_set_keyboard(in, &small_ops, &k);
	input_set_retry(in, small_arm, &k);
	input_set_running(in, true);
	for (unsigned i = 0; i < 8; i++) {
		input_key(in, 0x10 + i, true);
		input_key(in, 0x10 + i, false);
	}
	assert_int_equal(k.n, 3);
	assert_int_equal(input_keys_waiting(in), 13);
	assert_true(k.arms > 0);
	assert_int_equal(k.last_ms, INPUT_KEY_RETRY_MS);
	/* The guest reads: room for 5, then for everything. */
	k.room = 5;
	input_retry_keys(in);
	assert_int_equal(k.n, 8);
	k.room = 100;
	input_retry_keys(in);
	assert_int_equal(k.n, 16);
	assert_int_equal(input_keys_waiting(in), 0);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(k.q[i], 0x10 + i / 2);
		assert_int_equal(k.down[i], i % 2 == 0);
	}
	/* While the VM is stopped nothing goes in; it resumes in order. */
	k.room = 0;
	input_key(in, 0x1e, true);
	input_set_running(in, false);
	input_retry_keys(in);
	k.room = 1;
	input_retry_keys(in);
	assert_int_equal(k.n, 16);
	input_set_running(in, true);
	assert_int_equal(k.n, 17);
	assert_int_equal(k.q[16], 0x1e);
	/* Refused for good: dropped after the give-up time, the rest go on. */
	k.room = 0;
	input_key(in, 0x1f, true);
	input_key(in, 0x1e, false);
	for (unsigned i = 0; i < INPUT_KEY_GIVE_UP_MS / INPUT_KEY_RETRY_MS - 2; i++)
		input_retry_keys(in);
	assert_int_equal(input_keys_waiting(in), 2);
	assert_int_equal(input_keys_dropped(in), 0);
	input_retry_keys(in);
	assert_int_equal(input_keys_dropped(in), 1);
	assert_int_equal(input_keys_waiting(in), 1);
	k.room = 1;
	input_retry_keys(in);
	assert_int_equal(k.q[17], 0x1e);
	assert_false(k.down[17]);
	/* A full backlog drops what does not fit. */
	k.room = 0;
	for (unsigned i = 0; i < INPUT_KEY_BACKLOG + 10; i++)
		input_key(in, 0x20, true);
	assert_int_equal(input_keys_waiting(in), INPUT_KEY_BACKLOG);
	assert_int_equal(input_keys_dropped(in), 1 + 10);
	input_free(in);
}

static void test_input_pointer(void **state)
{
	(void)state;
	struct input *in = input_new();
	struct sinks s = { 0 };

	input_set_running(in, true);
	input_pointer(in, 5, 5, 100, 100, 0, 0); /* no sink */
	input_set_mouse(in, &m_ops, &s);
	assert_false(input_pointer_absolute(in));
	input_pointer(in, 10, 20, 100, 100, 0, 0); /* motion since the last position */
	assert_int_equal(s.rels, 1);
	assert_int_equal(s.dx, 5);
	input_release_all(in);
	input_pointer(in, 10, 20, 100, 100, 0, 0); /* after a release: none known */
	assert_int_equal(s.dx, 0);
	input_pointer(in, 13, 15, 100, 100, 1, INPUT_BTN_LEFT);
	assert_int_equal(s.dx, 3);
	assert_int_equal(s.dy, -5);
	assert_int_equal(s.dz, 1);

	/* A tablet whose driver is not polling yet: still relative. */
	input_set_tablet(in, &t_ops, &s);
	assert_false(input_pointer_absolute(in));
	s.active = true;
	assert_true(input_pointer_absolute(in));
	input_pointer(in, 0, 0, 1024, 768, 0, 0);
	assert_int_equal(s.abss, 1);
	assert_int_equal(s.x, 0);
	input_pointer(in, 1023, 767, 1024, 768, 0, INPUT_BTN_RIGHT);
	assert_int_equal(s.x, INPUT_ABS_MAX);
	assert_int_equal(s.y, INPUT_ABS_MAX);
	input_pointer(in, 512, 5000, 1024, 768, 0, INPUT_BTN_RIGHT); /* clamped */
	assert_int_equal(s.x, (512ull * INPUT_ABS_MAX + 511) / 1023);
	assert_int_equal(s.y, INPUT_ABS_MAX);
	input_pointer(in, -3, 0, 1024, 768, 0, INPUT_BTN_RIGHT);
	assert_int_equal(s.x, 0);
	input_pointer(in, 5, 5, 1, 0, 0, INPUT_BTN_RIGHT); /* degenerate size */
	assert_int_equal(s.x, 0);

	/* Release lifts the button where the pointer is. */
	input_pointer(in, 1023, 0, 1024, 768, 0, INPUT_BTN_RIGHT);
	input_release_all(in);
	assert_int_equal(s.buttons, 0);
	assert_int_equal(s.x, INPUT_ABS_MAX);
	unsigned n = s.abss;
	input_release_all(in);
	assert_int_equal(s.abss, n);
	input_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_display_flow),
		cmocka_unit_test(test_display_listener_limit),
		cmocka_unit_test(test_display_sync),
		cmocka_unit_test(test_input_keys),
		cmocka_unit_test(test_input_key_backlog),
		cmocka_unit_test(test_input_pointer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
