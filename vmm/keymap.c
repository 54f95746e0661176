// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Keysyms to qnum keys for the guest's keyboard layout: vmm/keymap.h.
 *
 * A layout is its 48 keys of the main block (the writing-system keys of a
 * 102-key keyboard, in the order of main_keys[]) given as three UTF-8 rows,
 * plain, with Shift and with AltGr (a space: nothing there), plus a few
 * extra symbols.  Combining accents in a row stand for dead keys.  The keys
 * every layout shares (Return, arrows, keypad...) are in common_keys[].
 * The symbols follow the keyboards' printed legends, as QEMU's
 * pc-bios/keymaps give them; only the keysym values come from
 * <rfb/keysym.h>.
 */
#include "vmm/keymap.h"

#include <string.h>

#include <rfb/keysym.h>

/* The main block's keys, as the rows list them. */
static const uint8_t main_keys[] = {
	0x29,								    /* ` */
	0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, /* 1 .. = */
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, /* q .. ] */
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,	    /* a .. ' */
	0x2b,								    /* \ */
	0x56,								    /* 102nd key */
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,	    /* z .. / */
};
#define MAIN_KEYS (sizeof(main_keys) / sizeof(main_keys[0]))

struct keymap_extra {
	uint32_t keysym;
	uint8_t qnum, mod;
};

struct keymap {
	const char *name;
	const char *plain, *shift, *altgr; /* UTF-8, MAIN_KEYS characters each */
	const struct keymap_extra *extra;
	size_t nr_extra;
};

#define EXTRA(a) .extra = (a), .nr_extra = sizeof(a) / sizeof((a)[0])

static const struct keymap_extra extra_none[] = {
	{XK_backslash, 0x2b, KEYMAP_MOD_PLAIN}, /* keep the array non-empty */
};

static const struct keymap_extra extra_en_gb[] = {
	{0xa6, 0x29, KEYMAP_MOD_ALTGR},	      /* brokenbar */
	{XK_EuroSign, 0x05, KEYMAP_MOD_ALTGR},
};

static const struct keymap_extra extra_de[] = {
	{0xb2, 0x03, KEYMAP_MOD_ALTGR}, /* twosuperior */
	{0xb3, 0x04, KEYMAP_MOD_ALTGR}, /* threesuperior */
	{XK_braceleft, 0x08, KEYMAP_MOD_ALTGR},
	{XK_bracketleft, 0x09, KEYMAP_MOD_ALTGR},
	{XK_bracketright, 0x0a, KEYMAP_MOD_ALTGR},
	{XK_braceright, 0x0b, KEYMAP_MOD_ALTGR},
	{XK_backslash, 0x0c, KEYMAP_MOD_ALTGR},
	{XK_at, 0x10, KEYMAP_MOD_ALTGR},
	{XK_EuroSign, 0x12, KEYMAP_MOD_ALTGR},
	{XK_asciitilde, 0x1b, KEYMAP_MOD_ALTGR},
	{XK_bar, 0x56, KEYMAP_MOD_ALTGR},
	{0xb5, 0x32, KEYMAP_MOD_ALTGR}, /* mu */
	/* the spacing forms of the dead keys, from clients whose own layout
	 * has them as plain symbols: the dead key is the nearest the guest has */
	{XK_asciicircum, 0x29, KEYMAP_MOD_PLAIN},
	{0xb4, 0x0d, KEYMAP_MOD_PLAIN}, /* acute */
	{XK_grave, 0x0d, KEYMAP_MOD_SHIFT},
};

static const struct keymap_extra extra_fr[] = {
	{XK_asciitilde, 0x03, KEYMAP_MOD_ALTGR},
	{XK_numbersign, 0x04, KEYMAP_MOD_ALTGR},
	{XK_braceleft, 0x05, KEYMAP_MOD_ALTGR},
	{XK_bracketleft, 0x06, KEYMAP_MOD_ALTGR},
	{XK_bar, 0x07, KEYMAP_MOD_ALTGR},
	{XK_grave, 0x08, KEYMAP_MOD_ALTGR},
	{XK_backslash, 0x09, KEYMAP_MOD_ALTGR},
	{XK_asciicircum, 0x0a, KEYMAP_MOD_ALTGR},
	{XK_at, 0x0b, KEYMAP_MOD_ALTGR},
	{XK_bracketright, 0x0c, KEYMAP_MOD_ALTGR},
	{XK_braceright, 0x0d, KEYMAP_MOD_ALTGR},
	{XK_EuroSign, 0x12, KEYMAP_MOD_ALTGR},
	{0xa4, 0x1b, KEYMAP_MOD_ALTGR}, /* currency */
	{0xa8, 0x1a, KEYMAP_MOD_SHIFT}, /* diaeresis: the dead key */
};

/* Rows: ` 1234567890-= qwertyuiop[] asdfghjkl;' \ <102nd> zxcvbnm,./ */
static const struct keymap layouts[] = {
	{
		.name = "en-us",
		.plain = "`1234567890-=qwertyuiop[]asdfghjkl;'\\ zxcvbnm,./",
		.shift = "~!@#$%^&*()_+QWERTYUIOP{}ASDFGHJKL:\"| ZXCVBNM<>?",
		.altgr = NULL,
		EXTRA(extra_none),
	},
	{
		.name = "en-gb",
		.plain = "`1234567890-=qwertyuiop[]asdfghjkl;'#\\zxcvbnm,./",
		.shift = "¬!\"£$%^&*()_+QWERTYUIOP{}ASDFGHJKL:@~|ZXCVBNM<>?",
		.altgr = NULL,
		EXTRA(extra_en_gb),
	},
	{
		.name = "de",
		.plain = "\u03021234567890ß\u0301qwertzuiopü+asdfghjklöä#<yxcvbnm,.-",
		.shift = "°!\"§$%&/()=?\u0300QWERTZUIOPÜ*ASDFGHJKLÖÄ'>YXCVBNM;:_",
		.altgr = NULL,
		EXTRA(extra_de),
	},
	{
		.name = "fr",
		.plain = "²&é\"'(-è_çà)=azertyuiop\u0302$qsdfghjklmù*<wxcvbn,;:!",
		.shift = " 1234567890°+AZERTYUIOP\u0308£QSDFGHJKLM%µ>WXCVBN?./§",
		.altgr = NULL,
		EXTRA(extra_fr),
	},
};
#define NR_LAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

/* The keys outside the main block, the same in every layout. */
static const struct {
	uint32_t keysym;
	uint8_t qnum;
} common_keys[] = {
	{XK_space, 0x39},	{XK_Return, 0x1c},	  {XK_Escape, 0x01},
	{XK_Tab, 0x0f},		{XK_ISO_Left_Tab, 0x0f},  {XK_BackSpace, 0x0e},
	{XK_Shift_L, 0x2a},	{XK_Shift_R, 0x36},	  {XK_Control_L, 0x1d},
	{XK_Control_R, 0x9d},	{XK_Alt_L, 0x38},	  {XK_Alt_R, 0xb8},
	{XK_Meta_L, 0x38},	{XK_Meta_R, 0xb8},	  {XK_ISO_Level3_Shift, 0xb8},
	{XK_Mode_switch, 0xb8}, {XK_Super_L, 0xdb},	  {XK_Super_R, 0xdc},
	{XK_Menu, 0xdd},	{XK_Caps_Lock, 0x3a},	  {XK_Num_Lock, 0x45},
	{XK_Scroll_Lock, 0x46}, {XK_F1, 0x3b},		  {XK_F2, 0x3c},
	{XK_F3, 0x3d},		{XK_F4, 0x3e},		  {XK_F5, 0x3f},
	{XK_F6, 0x40},		{XK_F7, 0x41},		  {XK_F8, 0x42},
	{XK_F9, 0x43},		{XK_F10, 0x44},		  {XK_F11, 0x57},
	{XK_F12, 0x58},		{XK_Home, 0xc7},	  {XK_Up, 0xc8},
	{XK_Prior, 0xc9},	{XK_Left, 0xcb},	  {XK_Right, 0xcd},
	{XK_End, 0xcf},		{XK_Down, 0xd0},	  {XK_Next, 0xd1},
	{XK_Insert, 0xd2},	{XK_Delete, 0xd3},	  {XK_Print, 0xb7},
	{XK_Sys_Req, 0x54},	{XK_Pause, 0xc6},	  {XK_Break, 0xc6},
	{XK_KP_Enter, 0x9c},	{XK_KP_Divide, 0xb5},	  {XK_KP_Multiply, 0x37},
	{XK_KP_Subtract, 0x4a}, {XK_KP_Add, 0x4e},	  {XK_KP_Decimal, 0x53},
	{XK_KP_Separator, 0x53}, {XK_KP_Delete, 0x53},	  {XK_KP_0, 0x52},
	{XK_KP_Insert, 0x52},	{XK_KP_1, 0x4f},	  {XK_KP_End, 0x4f},
	{XK_KP_2, 0x50},	{XK_KP_Down, 0x50},	  {XK_KP_3, 0x51},
	{XK_KP_Next, 0x51},	{XK_KP_4, 0x4b},	  {XK_KP_Left, 0x4b},
	{XK_KP_5, 0x4c},	{XK_KP_Begin, 0x4c},	  {XK_KP_6, 0x4d},
	{XK_KP_Right, 0x4d},	{XK_KP_7, 0x47},	  {XK_KP_Home, 0x47},
	{XK_KP_8, 0x48},	{XK_KP_Up, 0x48},	  {XK_KP_9, 0x49},
	{XK_KP_Prior, 0x49},
};

const struct keymap *keymap_find(const char *name)
{
	for (size_t i = 0; i < NR_LAYOUTS; i++)
		if (!strcmp(layouts[i].name, name))
			return &layouts[i];
	/* QEMU's name for en-us */
	if (!strcmp(name, "us"))
		return &layouts[0];
	return NULL;
}

const char *keymap_names(void)
{
	return "en-us, en-gb, de, fr";
}

const char *keymap_name(const struct keymap *km)
{
	return km->name;
}

/* The next character of a row (the tables are ours, so well-formed). */
static uint32_t utf8_next(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	uint32_t c;

	if (p[0] < 0x80) {
		c = p[0];
		*s += 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		c = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
		*s += 2;
	} else {
		c = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		*s += 3;
	}
	return c;
}

/* A row's character as the keysym a client sends for it (0: none). */
static uint32_t char_keysym(uint32_t c)
{
	switch (c) {
	case ' ':
		return 0;
	case 0x300:
		return XK_dead_grave;
	case 0x301:
		return XK_dead_acute;
	case 0x302:
		return XK_dead_circumflex;
	case 0x303:
		return XK_dead_tilde;
	case 0x308:
		return XK_dead_diaeresis;
	case 0x20ac:
		return XK_EuroSign;
	}
	return c;
}

static bool latin1_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7);
}

/* Client keysyms in the Unicode range (0x01000000 + code point) for what
 * has a legacy keysym. */
static uint32_t normalise(uint32_t keysym)
{
	if ((keysym & 0xff000000) == 0x01000000) {
		uint32_t cp = keysym & 0xffffff;

		if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff))
			return cp;
		if (cp == 0x20ac)
			return XK_EuroSign;
	}
	return keysym;
}

static bool lookup_row(const char *row, uint32_t keysym, size_t *index, bool *letter,
		       const char *other)
{
	const char *s = row, *o = other;

	if (!row)
		return false;
	for (size_t i = 0; i < MAIN_KEYS && *s; i++) {
		uint32_t c = utf8_next(&s), oc = o && *o ? utf8_next(&o) : 0;

		if (char_keysym(c) == keysym) {
			*index = i;
			/* a letter and its capital on one key */
			*letter = latin1_letter(c) ? oc == c - 0x20
						   : latin1_letter(oc) && c == oc - 0x20;
			return true;
		}
	}
	return false;
}

bool keymap_lookup(const struct keymap *km, uint32_t keysym, unsigned *qnum, unsigned *mod)
{
	size_t i;
	bool letter;

	keysym = normalise(keysym);
	if (keysym == 0)
		return false;
	if (lookup_row(km->plain, keysym, &i, &letter, km->shift)) {
		*qnum = main_keys[i];
		*mod = letter ? KEYMAP_MOD_ANY : KEYMAP_MOD_PLAIN;
		return true;
	}
	if (lookup_row(km->shift, keysym, &i, &letter, km->plain)) {
		*qnum = main_keys[i];
		*mod = letter ? KEYMAP_MOD_ANY : KEYMAP_MOD_SHIFT;
		return true;
	}
	if (lookup_row(km->altgr, keysym, &i, &letter, NULL)) {
		*qnum = main_keys[i];
		*mod = KEYMAP_MOD_ALTGR;
		return true;
	}
	for (i = 0; i < km->nr_extra; i++) {
		if (km->extra[i].keysym == keysym) {
			*qnum = km->extra[i].qnum;
			*mod = km->extra[i].mod;
			return true;
		}
	}
	for (i = 0; i < sizeof(common_keys) / sizeof(common_keys[0]); i++) {
		if (common_keys[i].keysym == keysym) {
			*qnum = common_keys[i].qnum;
			*mod = KEYMAP_MOD_ANY;
			return true;
		}
	}
	return false;
}

#define QNUM_SHIFT_L 0x2a
#define QNUM_SHIFT_R 0x36
#define QNUM_ALTGR   0xb8

static void track(struct keymap_state *st, uint32_t keysym, bool down)
{
	switch (keysym) {
	case XK_Shift_L:
		st->shift_l = down;
		break;
	case XK_Shift_R:
		st->shift_r = down;
		break;
	case XK_ISO_Level3_Shift:
	case XK_Mode_switch:
	case XK_Alt_R:
		st->altgr = down;
		break;
	}
}

size_t keymap_translate(const struct keymap *km, struct keymap_state *st, uint32_t keysym,
			bool down, struct keymap_event *out)
{
	unsigned qnum, mod;
	bool want_shift, want_altgr, shift = st->shift_l || st->shift_r;
	size_t n = 0, undo_from, undo_n;

	if (!keymap_lookup(km, keysym, &qnum, &mod))
		return 0;
	track(st, normalise(keysym), down);
	if (!down || mod == KEYMAP_MOD_ANY) {
		out[n++] = (struct keymap_event){.qnum = (uint16_t)qnum, .down = down};
		return n;
	}
	want_shift = mod == KEYMAP_MOD_SHIFT;
	want_altgr = mod == KEYMAP_MOD_ALTGR;
	/* Modifiers into the state the symbol needs... */
	if (shift && !want_shift) {
		if (st->shift_l)
			out[n++] = (struct keymap_event){QNUM_SHIFT_L, false};
		if (st->shift_r)
			out[n++] = (struct keymap_event){QNUM_SHIFT_R, false};
	} else if (!shift && want_shift) {
		out[n++] = (struct keymap_event){QNUM_SHIFT_L, true};
	}
	if (st->altgr != want_altgr)
		out[n++] = (struct keymap_event){QNUM_ALTGR, want_altgr};
	undo_n = n;
	out[n++] = (struct keymap_event){.qnum = (uint16_t)qnum, .down = true};
	/* ...and back, in reverse order. */
	undo_from = undo_n;
	while (undo_from-- > 0) {
		out[n] = out[undo_from];
		out[n].down = !out[n].down;
		n++;
	}
	return n;
}
