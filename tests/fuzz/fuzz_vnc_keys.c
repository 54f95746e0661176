// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: what a hostile VNC client controls on the way to the guest's
 * keyboard and mouse.  The input picks a --keymap layout, then is a program
 * of events: keysyms (any 32-bit value, Latin-1 characters, X function
 * keysyms) through keymap_translate(), QEMU extended key codes (any 32-bit
 * value) straight to the input router, pointer events, a client leaving
 * (input_release_all), the VM stopping and running; all into a real i8042
 * (its keyboard and mouse as the router's sinks, qnum to set 2), whose
 * output the guest side drains through port 0x60.  It must never crash,
 * a translation stays within KEYMAP_MAX_EVENTS and qnum 0..0xff, and a set 2
 * sequence within I8042_QNUM_SEQ_MAX.
 *
 * Built as a libFuzzer target (-Dfuzz=true) and, with -DFUZZ_STANDALONE,
 * as a runner of its seeds, its corpus and fixed mutations:
 *   fuzz_vnc_keys [FILE|DIR]...      run each file, then the seeds and mutations
 *   fuzz_vnc_keys --write-seeds DIR  write the built-in seeds as files
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "vmm/input.h"
#include "vmm/keymap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_vnc_keys: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const char *const layouts[] = {"en-us", "en-gb", "de", "fr"};
static unsigned long keys_sent, bytes_read;

struct rd {
	const uint8_t *p;
	size_t len, pos;
};

static uint8_t rd_u8(struct rd *r)
{
	return r->pos < r->len ? r->p[r->pos++] : 0;
}

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)rd_u8(r) << (8 * i);
	return v;
}

static bool sink_key(void *opaque, unsigned qnum, bool down)
{
	uint8_t seq[I8042_QNUM_SEQ_MAX + 8];

	CHECK(qnum <= INPUT_QNUM_MAX);
	CHECK(i8042_qnum_to_set2(qnum, down, seq) <= I8042_QNUM_SEQ_MAX);
	keys_sent++;
	return i8042_qnum_event(opaque, qnum, down);
}

static bool sink_rel(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
	return i8042_mouse_event(opaque, dx, dy, dz, buttons);
}

static const struct input_kbd_ops kbd_ops = {.key = sink_key};
static const struct input_rel_ops rel_ops = {.rel = sink_rel};

static void drain(struct i8042 *dev)
{
	/* status bit 0: a byte waits */
	for (int i = 0; i < 64 && (i8042_status_bus_ops.read(dev, 0, 1) & 1); i++) {
		i8042_data_bus_ops.read(dev, 0, 1);
		bytes_read++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = {data, size, 0};
	const struct keymap *km = keymap_find(layouts[rd_u8(&r) % 4]);
	struct machine_events ev = {0};
	struct keymap_state st = {0};
	struct i8042 *dev = i8042_create(NULL, NULL, &ev);
	struct input *in = input_new();

	CHECK(km && dev && in);
	input_set_keyboard(in, &kbd_ops, dev);
	input_set_mouse(in, &rel_ops, dev);
	input_set_running(in, true);
	while (r.pos < r.len) {
		uint8_t op = rd_u8(&r);
		bool down = op & 0x80;
		struct keymap_event out[KEYMAP_MAX_EVENTS];
		uint32_t ks;
		size_t n;

		switch (op & 0x07) {
		case 0: /* any keysym */
		case 1: /* a Latin-1 character */
		case 2: /* an X function keysym (0xff00 page) */
			ks = (op & 7) == 0 ? rd_u32(&r) : (op & 7) == 1 ? rd_u8(&r)
									  : 0xff00u | rd_u8(&r);
			n = keymap_translate(km, &st, ks, down, out);
			CHECK(n <= KEYMAP_MAX_EVENTS);
			for (size_t i = 0; i < n; i++) {
				CHECK(out[i].qnum <= 0xff);
				input_key(in, out[i].qnum, out[i].down);
			}
			break;
		case 3: /* an extended key event's keycode */
			input_key(in, rd_u32(&r), down);
			break;
		case 4: { /* the pointer */
			int x = (int16_t)(rd_u8(&r) | rd_u8(&r) << 8);
			int y = (int16_t)(rd_u8(&r) | rd_u8(&r) << 8);
			uint8_t b = rd_u8(&r);

			input_pointer(in, x, y, 640, 480, (b >> 3) & 1 ? -1 : (b >> 4) & 1, b & 7);
			break;
		}
		case 5: /* a client leaves */
			input_release_all(in);
			memset(&st, 0, sizeof(st));
			break;
		case 6: /* stop / cont */
			input_set_running(in, down);
			break;
		case 7:
			drain(dev);
			break;
		}
	}
	input_release_all(in);
	drain(dev);
	input_free(in);
	i8042_destroy(dev);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

#define NR_SEEDS 3

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	static const uint8_t seeds[NR_SEEDS][32] = {
		/* en-us: "a!" as keysyms, Shift held, then released; drain */
		{0, 0x81, 'a', 0x01, 'a', 0x81, '!', 0x01, '!', 0x82, 0xe1, 0x81, '1', 0x02, 0xe1,
		 0x07},
		/* de: '@' (AltGr), Pause and Print as extended keys, a client leaves */
		{2, 0x81, '@', 0x83, 0xc6, 0, 0, 0, 0x83, 0xb7, 0, 0, 0, 0x85, 0x07},
		/* fr: the pointer with buttons and the wheel, stop, a key, cont */
		{3, 0x04, 10, 0, 20, 0, 0x01, 0x04, 30, 0, 5, 0, 0x10, 0x06, 0x81, 'q', 0x86, 0x81,
		 'q', 0x07},
	};
	static const size_t lens[NR_SEEDS] = {16, 15, 20};

	memcpy(s->b, seeds[which], lens[which]);
	s->len = lens[which];
}

static const struct fuzz_target target = {
	.name = "fuzz_vnc_keys",
	.seed_prefix = "vnc-keys-seed-",
	.nr_seeds = NR_SEEDS,
	.seed_build = seed_build,
};

int main(int argc, char **argv)
{
	static const uint32_t interesting[] = {0, 0x7f, 0x80, 0xb7, 0xc6, 0xff, 0x100, 0xfe52,
					       0xff00, 0xffff, 0x01000041, 0xffffffff};
	struct fuzz_seed s;

	fuzz_standalone_begin(&target, argc, argv);
	for (unsigned it = 0; it < 20000; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]), 512);
		fuzz_run_buf(s.b, s.len);
	}
	printf("fuzz_vnc_keys: %lu inputs, %lu keys to the i8042, %lu bytes read, no crash\n",
	       fuzz_runs(), keys_sent, bytes_read);
	return 0;
}
#endif
