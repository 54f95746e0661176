/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keysyms to keys, for VNC clients that send only keysyms (RFB KeyEvent):
 * which key of the guest's keyboard layout gives the symbol, as a qnum
 * (vmm/input.h), and with which modifiers.  The guest's layout is what
 * --keymap names, as QEMU's -k: the VNC client's own layout does not matter,
 * since the symbol is what the user meant.
 *
 * When a symbol needs Shift or AltGr in the guest's layout and the client
 * does not hold it (or holds Shift where the symbol must come without),
 * keymap_translate() wraps the key in the modifier changes that give it and
 * undoes them afterwards, as QEMU's VNC server does.  Letters take either
 * Shift state, so that Caps Lock keeps working.
 *
 * Clients with the QEMU extended key event send the key itself and bypass
 * this (vmm/vnc.c).  Built-in tables: en-us (default), en-gb, de, fr.
 */
#ifndef MINIVMM_KEYMAP_H
#define MINIVMM_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keymap;

/* The layout of that name, or NULL. */
const struct keymap *keymap_find(const char *name);
/* "en-us, en-gb, de, fr": for error messages. */
const char *keymap_names(void);
const char *keymap_name(const struct keymap *km);

#define KEYMAP_MOD_ANY	 0 /* letters: either Shift state */
#define KEYMAP_MOD_PLAIN 1
#define KEYMAP_MOD_SHIFT 2
#define KEYMAP_MOD_ALTGR 3

/* The key giving keysym, with the modifier it needs; false if none does. */
bool keymap_lookup(const struct keymap *km, uint32_t keysym, unsigned *qnum, unsigned *mod);

/* What the client holds, as the keysyms it sent say. */
struct keymap_state {
	bool shift_l, shift_r, altgr;
};

struct keymap_event {
	uint16_t qnum;
	bool down;
};

/* The key events for one keysym press or release, in order (at most
 * KEYMAP_MAX_EVENTS), updating st for modifier keysyms.  0: no key. */
#define KEYMAP_MAX_EVENTS 8
size_t keymap_translate(const struct keymap *km, struct keymap_state *st, uint32_t keysym,
			bool down, struct keymap_event *out);

#endif
