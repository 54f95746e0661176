// SPDX-License-Identifier: GPL-2.0-or-later
/* Keysyms to qnum keys (vmm/keymap.h): the layouts and the modifier
 * fix-ups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <rfb/keysym.h>

#include "vmm/keymap.h"

static void expect_key(const char *layout, uint32_t keysym, unsigned qnum, unsigned mod)
{
	const struct keymap *km = keymap_find(layout);
	unsigned q = 0, m = 99;

	assert_non_null(km);
	if (!keymap_lookup(km, keysym, &q, &m))
		fail_msg("%s: keysym 0x%x has no key", layout, keysym);
	if (q != qnum || m != mod)
		fail_msg("%s: keysym 0x%x: qnum 0x%x mod %u, want 0x%x mod %u", layout, keysym, q,
			 m, qnum, mod);
}

static void test_en_us(void **state)
{
	(void)state;
	expect_key("en-us", XK_a, 0x1e, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_A, 0x1e, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_z, 0x2c, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_1, 0x02, KEYMAP_MOD_PLAIN);
	expect_key("en-us", XK_exclam, 0x02, KEYMAP_MOD_SHIFT);
	expect_key("en-us", XK_0, 0x0b, KEYMAP_MOD_PLAIN);
	expect_key("en-us", XK_parenright, 0x0b, KEYMAP_MOD_SHIFT);
	expect_key("en-us", XK_grave, 0x29, KEYMAP_MOD_PLAIN);
	expect_key("en-us", XK_asciitilde, 0x29, KEYMAP_MOD_SHIFT);
	expect_key("en-us", XK_backslash, 0x2b, KEYMAP_MOD_PLAIN);
	expect_key("en-us", XK_bar, 0x2b, KEYMAP_MOD_SHIFT);
	expect_key("en-us", XK_slash, 0x35, KEYMAP_MOD_PLAIN);
	expect_key("en-us", XK_question, 0x35, KEYMAP_MOD_SHIFT);
	expect_key("en-us", XK_colon, 0x27, KEYMAP_MOD_SHIFT);
	expect_key("en-us", XK_quotedbl, 0x28, KEYMAP_MOD_SHIFT);
	expect_key("en-us", XK_space, 0x39, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Return, 0x1c, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Escape, 0x01, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_BackSpace, 0x0e, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Tab, 0x0f, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_F1, 0x3b, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_F12, 0x58, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Up, 0xc8, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Delete, 0xd3, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_KP_Enter, 0x9c, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_KP_7, 0x47, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Control_R, 0x9d, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Print, 0xb7, KEYMAP_MOD_ANY);
	expect_key("en-us", XK_Pause, 0xc6, KEYMAP_MOD_ANY);
	/* Unicode keysyms of ASCII */
	expect_key("en-us", 0x01000041, 0x1e, KEYMAP_MOD_ANY);
	assert_non_null(keymap_find("us"));
	assert_null(keymap_find("xx"));
	assert_string_equal(keymap_name(keymap_find("en-us")), "en-us");
}

static void test_other_layouts(void **state)
{
	(void)state;
	expect_key("en-gb", XK_numbersign, 0x2b, KEYMAP_MOD_PLAIN);
	expect_key("en-gb", XK_at, 0x28, KEYMAP_MOD_SHIFT);
	expect_key("en-gb", XK_quotedbl, 0x03, KEYMAP_MOD_SHIFT);
	expect_key("en-gb", 0xa3, 0x04, KEYMAP_MOD_SHIFT); /* sterling */
	expect_key("en-gb", XK_backslash, 0x56, KEYMAP_MOD_PLAIN);
	expect_key("de", XK_z, 0x15, KEYMAP_MOD_ANY);
	expect_key("de", XK_y, 0x2c, KEYMAP_MOD_ANY);
	expect_key("de", 0xfc, 0x1a, KEYMAP_MOD_ANY); /* udiaeresis */
	expect_key("de", 0xdc, 0x1a, KEYMAP_MOD_ANY);
	expect_key("de", 0xdf, 0x0c, KEYMAP_MOD_PLAIN); /* ssharp */
	expect_key("de", XK_at, 0x10, KEYMAP_MOD_ALTGR);
	expect_key("de", XK_EuroSign, 0x12, KEYMAP_MOD_ALTGR);
	expect_key("de", XK_minus, 0x35, KEYMAP_MOD_PLAIN);
	expect_key("de", XK_semicolon, 0x33, KEYMAP_MOD_SHIFT);
	expect_key("de", XK_dead_circumflex, 0x29, KEYMAP_MOD_PLAIN);
	expect_key("de", XK_less, 0x56, KEYMAP_MOD_PLAIN);
	expect_key("de", XK_bar, 0x56, KEYMAP_MOD_ALTGR);
	expect_key("fr", XK_a, 0x10, KEYMAP_MOD_ANY);
	expect_key("fr", XK_q, 0x1e, KEYMAP_MOD_ANY);
	expect_key("fr", XK_m, 0x27, KEYMAP_MOD_ANY);
	expect_key("fr", XK_1, 0x02, KEYMAP_MOD_SHIFT);
	expect_key("fr", XK_ampersand, 0x02, KEYMAP_MOD_PLAIN);
	expect_key("fr", 0xe9, 0x03, KEYMAP_MOD_PLAIN); /* eacute */
	expect_key("fr", XK_at, 0x0b, KEYMAP_MOD_ALTGR);
	expect_key("fr", XK_dead_circumflex, 0x1a, KEYMAP_MOD_PLAIN);
	expect_key("fr", XK_exclam, 0x35, KEYMAP_MOD_PLAIN);
}

/* Every layout's rows hold 48 characters and every printable ASCII
 * character has a key in each. */
static void test_layouts_complete(void **state)
{
	static const char *const names[] = {"en-us", "en-gb", "de", "fr"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct keymap *km = keymap_find(names[i]);

		assert_non_null(km);
		for (uint32_t c = 0x21; c < 0x7f; c++) {
			unsigned q, m;

			if (!keymap_lookup(km, c, &q, &m))
				fail_msg("%s: '%c' has no key", names[i], (int)c);
			assert_true(q > 0 && q <= 0xff);
		}
	}
}

static void expect_events(const struct keymap_event *ev, size_t n, const unsigned *want,
			  size_t nwant)
{
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		unsigned got = ev[i].qnum | (ev[i].down ? 0x100 : 0);

		if (got != want[i])
			fail_msg("event %zu: 0x%x, want 0x%x", i, got, want[i]);
	}
}

#define DN(q) (0x100 | (q))
#define UP(q) (q)

static void test_fixups(void **state)
{
	const struct keymap *us = keymap_find("en-us"), *de = keymap_find("de");
	struct keymap_state st = {0};
	struct keymap_event ev[KEYMAP_MAX_EVENTS];
	size_t n;

	(void)state;
	/* '!' without the client's Shift: a Shift around the key */
	n = keymap_translate(us, &st, XK_exclam, true, ev);
	expect_events(ev, n, (unsigned[]){DN(0x2a), DN(0x02), UP(0x2a)}, 3);
	n = keymap_translate(us, &st, XK_exclam, false, ev);
	expect_events(ev, n, (unsigned[]){UP(0x02)}, 1);
	/* with the client's Shift: as it is */
	n = keymap_translate(us, &st, XK_Shift_L, true, ev);
	expect_events(ev, n, (unsigned[]){DN(0x2a)}, 1);
	n = keymap_translate(us, &st, XK_exclam, true, ev);
	expect_events(ev, n, (unsigned[]){DN(0x02)}, 1);
	/* a capital letter with Shift, and '1' with Shift held: lifted */
	n = keymap_translate(us, &st, XK_A, true, ev);
	expect_events(ev, n, (unsigned[]){DN(0x1e)}, 1);
	n = keymap_translate(us, &st, XK_1, true, ev);
	expect_events(ev, n, (unsigned[]){UP(0x2a), DN(0x02), DN(0x2a)}, 3);
	n = keymap_translate(us, &st, XK_Shift_L, false, ev);
	expect_events(ev, n, (unsigned[]){UP(0x2a)}, 1);
	/* a letter needs no Shift either way (Caps Lock) */
	n = keymap_translate(us, &st, XK_A, true, ev);
	expect_events(ev, n, (unsigned[]){DN(0x1e)}, 1);
	/* German '@': AltGr+q */
	memset(&st, 0, sizeof(st));
	n = keymap_translate(de, &st, XK_at, true, ev);
	expect_events(ev, n, (unsigned[]){DN(0xb8), DN(0x10), UP(0xb8)}, 3);
	/* US-host Shift+2 for '@' on a German guest: Shift off, AltGr on */
	n = keymap_translate(de, &st, XK_Shift_R, true, ev);
	expect_events(ev, n, (unsigned[]){DN(0x36)}, 1);
	n = keymap_translate(de, &st, XK_at, true, ev);
	expect_events(ev, n, (unsigned[]){UP(0x36), DN(0xb8), DN(0x10), UP(0xb8), DN(0x36)}, 5);
	/* unknown keysym: nothing */
	assert_int_equal(keymap_translate(us, &st, 0x12345678, true, ev), 0);
	assert_int_equal(keymap_translate(us, &st, 0, true, ev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_en_us),
		cmocka_unit_test(test_other_layouts),
		cmocka_unit_test(test_layouts_complete),
		cmocka_unit_test(test_fixups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
