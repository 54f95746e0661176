// SPDX-License-Identifier: GPL-2.0-or-later
/* The i8042 controller with keyboard and mouse, driven through its two
 * ports as SeaBIOS, Linux and Windows drive it, with recording interrupt
 * lines, a recording reset request and a recording A20 handler. */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/i8042.h"

#define OBF	0x01
#define IBF	0x02
#define SYS	0x04
#define CMDBIT	0x08
#define KEYLOCK 0x10
#define AUXOBF	0x20
#define TIMEOUT 0x40
#define PARITY	0x80

#define ACK 0xfa

struct line {
	bool level;
	unsigned rises, falls;
};

struct fixture {
	struct i8042 *dev;
	struct line kbd, aux;
	unsigned resets;
	unsigned a20_calls;
	bool a20;
};

static void record_irq(void *opaque, unsigned gsi, bool level)
{
	struct fixture *f = opaque;
	struct line *l;

	assert_true(gsi == I8042_KBD_IRQ || gsi == I8042_AUX_IRQ);
	l = gsi == I8042_KBD_IRQ ? &f->kbd : &f->aux;
	if (level && !l->level)
		l->rises++;
	if (!level && l->level)
		l->falls++;
	l->level = level;
}

/* Both callbacks touch the controller: they would deadlock if it called
 * them with its mutex held. */
static void record_reset(void *opaque)
{
	struct fixture *f = opaque;

	f->resets++;
	(void)i8042_status_bus_ops.read(f->dev, 0, 1);
}

static void record_exit(void *opaque, int status)
{
	fail_msg("the i8042 never asks for an exit");
}

static void record_a20(void *opaque, bool on)
{
	struct fixture *f = opaque;

	f->a20_calls++;
	f->a20 = on;
	(void)i8042_status_bus_ops.read(f->dev, 0, 1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line kbd = { .set_level = record_irq, .opaque = f, .gsi = I8042_KBD_IRQ };
	struct irq_line aux = { .set_level = record_irq, .opaque = f, .gsi = I8042_AUX_IRQ };
	struct machine_events ev = { .reset = record_reset, .exit = record_exit, .opaque = f };

	assert_non_null(f);
	f->dev = i8042_create(&kbd, &aux, &ev);
	assert_non_null(f->dev);
	i8042_set_a20_handler(f->dev, record_a20, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(f->dev);
	free(f);
	return 0;
}

static uint8_t status(struct fixture *f)
{
	uint64_t v = i8042_status_bus_ops.read(f->dev, 0, 1);

	return (uint8_t)v;
}

static uint8_t in60(struct fixture *f)
{
	return (uint8_t)i8042_data_bus_ops.read(f->dev, 0, 1);
}

static void out60(struct fixture *f, uint8_t v)
{
	i8042_data_bus_ops.write(f->dev, 0, v, 1);
}

static void out64(struct fixture *f, uint8_t v)
{
	i8042_status_bus_ops.write(f->dev, 0, v, 1);
}

/* The next byte must be there, from the keyboard side (aux false) or the
 * aux side, and have the value given. */
static void expect_byte(struct fixture *f, bool aux, uint8_t want)
{
	uint8_t st = status(f);

	assert_true(st & OBF);
	assert_int_equal(!!(st & AUXOBF), aux);
	assert_int_equal(in60(f), want);
}

static void expect_empty(struct fixture *f)
{
	assert_int_equal(status(f) & (OBF | AUXOBF), 0);
}

static void write_ctr(struct fixture *f, uint8_t ctr)
{
	out64(f, 0x60);
	out60(f, ctr);
}

static uint8_t read_ctr(struct fixture *f)
{
	out64(f, 0x20);
	assert_true(status(f) & OBF);
	return in60(f);
}

static void kbd_cmd(struct fixture *f, uint8_t cmd)
{
	out60(f, cmd);
}

static void aux_cmd(struct fixture *f, uint8_t cmd)
{
	out64(f, 0xd4);
	out60(f, cmd);
}

/* seabios-interface.md §8 and SeaBIOS's ps2port.c, in order. */
static void test_seabios_init(void **state)
{
	struct fixture *f = *state;

	/* power-on: nothing to read, key lock open, no self-test yet */
	assert_int_equal(status(f) & (OBF | IBF | SYS | KEYLOCK), KEYLOCK);

	out64(f, 0xad);
	out64(f, 0xa7);
	assert_true(status(f) & CMDBIT);
	write_ctr(f, 0x30);
	assert_false(status(f) & CMDBIT);

	out64(f, 0xaa);
	expect_byte(f, false, 0x55);
	assert_true(status(f) & SYS);
	out64(f, 0xab);
	expect_byte(f, false, 0x00);
	expect_empty(f);

	/* ps2_command() enables only the port it talks to, interrupts off */
	write_ctr(f, 0x20);
	kbd_cmd(f, 0xff);
	expect_byte(f, false, ACK);
	expect_byte(f, false, 0xaa);
	kbd_cmd(f, 0xf5);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0xf0);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0x02);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0xf4);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0xed);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0x07);
	expect_byte(f, false, ACK);
	assert_int_equal(i8042_kbd_leds(f->dev), 0x07);
	kbd_cmd(f, 0xf2);
	expect_byte(f, false, ACK);
	expect_byte(f, false, 0xab);
	expect_byte(f, false, 0x83);
	expect_empty(f);

	write_ctr(f, 0x10);
	aux_cmd(f, 0xff);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 0xaa);
	expect_byte(f, true, 0x00);
	aux_cmd(f, 0xf2);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 0x00);
	aux_cmd(f, 0xf3);
	expect_byte(f, true, ACK);
	aux_cmd(f, 40);
	expect_byte(f, true, ACK);
	aux_cmd(f, 0xe8);
	expect_byte(f, true, ACK);
	aux_cmd(f, 0x03);
	expect_byte(f, true, ACK);
	aux_cmd(f, 0xe7);
	expect_byte(f, true, ACK);
	aux_cmd(f, 0xe6);
	expect_byte(f, true, ACK);
	aux_cmd(f, 0xf4);
	expect_byte(f, true, ACK);
	aux_cmd(f, 0xe9);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 0x20); /* stream, enabled, 1:1, no buttons */
	expect_byte(f, true, 0x03);
	expect_byte(f, true, 40);
	aux_cmd(f, 0xf5);
	expect_byte(f, true, ACK);
	expect_empty(f);

	/* interrupts were off in every command byte until now */
	assert_int_equal(f->kbd.rises + f->aux.rises, 0);

	write_ctr(f, 0x61);
	assert_int_equal(read_ctr(f), 0x61);
	expect_empty(f);
	/* with IRQ 1 enabled the answer itself interrupts, as in QEMU */
	assert_int_equal(f->kbd.rises, 1);
	assert_int_equal(f->kbd.falls, 1);
	assert_false(f->kbd.level);
	assert_int_equal(f->resets, 0);
}

static void test_irq_levels(void **state)
{
	struct fixture *f = *state;
	const uint8_t a[] = {0x1c}, a_up[] = {0xf0, 0x1c};

	write_ctr(f, 0x03); /* both interrupts, no translation */
	assert_true(i8042_key_event(f->dev, a, sizeof(a)));
	assert_true(f->kbd.level);
	assert_false(f->aux.level);
	expect_byte(f, false, 0x1c);
	assert_false(f->kbd.level);
	assert_int_equal(f->kbd.rises, 1);
	assert_int_equal(f->kbd.falls, 1);

	/* a second byte waiting: the read makes a fresh edge */
	assert_true(i8042_key_event(f->dev, a_up, sizeof(a_up)));
	expect_byte(f, false, 0xf0);
	assert_true(f->kbd.level);
	assert_int_equal(f->kbd.rises, 3);
	assert_int_equal(f->kbd.falls, 2);
	expect_byte(f, false, 0x1c);
	assert_false(f->kbd.level);
	assert_int_equal(f->kbd.rises, 3);
	assert_int_equal(f->kbd.falls, 3);

	/* reading an empty buffer returns the last byte again, no edge */
	assert_int_equal(in60(f), 0x1c);
	assert_int_equal(in60(f), 0x1c);
	assert_int_equal(f->kbd.rises, 3);

	/* the command byte gates the line while the byte stays put */
	assert_true(i8042_key_event(f->dev, a, sizeof(a)));
	assert_true(f->kbd.level);
	write_ctr(f, 0x02);
	assert_false(f->kbd.level);
	assert_true(status(f) & OBF);
	write_ctr(f, 0x03);
	assert_true(f->kbd.level);
	expect_byte(f, false, 0x1c);
	assert_false(f->kbd.level);

	/* mouse bytes: IRQ 12 and AUX_OBF, never IRQ 1 */
	aux_cmd(f, 0xf4);
	assert_true(f->aux.level);
	expect_byte(f, true, ACK);
	assert_false(f->aux.level);
	assert_true(i8042_mouse_event(f->dev, 10, 5, 0, I8042_BTN_LEFT));
	assert_true(f->aux.level);
	assert_false(f->kbd.level);
	expect_byte(f, true, 0x08 | 0x20 | 0x01); /* y is up on PS/2: 5 down is -5 */
	expect_byte(f, true, 10);
	expect_byte(f, true, (uint8_t)-5);
	assert_false(f->aux.level);
	assert_int_equal(f->aux.rises, 4); /* one edge per byte: ACK + 3 */
	assert_int_equal(f->aux.falls, 4);

	/* controller answers are keyboard-side bytes; 0xD3 is an aux byte */
	out64(f, 0xd3);
	out60(f, 0x5a);
	assert_true(f->aux.level);
	expect_byte(f, true, 0x5a);
	out64(f, 0xd2);
	out60(f, 0xa5);
	assert_true(f->kbd.level);
	expect_byte(f, false, 0xa5);
	assert_false(f->kbd.level || f->aux.level);

	/* a controller reset drops both lines */
	assert_true(i8042_key_event(f->dev, a, sizeof(a)));
	assert_true(f->kbd.level);
	i8042_reset(f->dev);
	assert_false(f->kbd.level);
	expect_empty(f);
}

static void test_translation(void **state)
{
	struct fixture *f = *state;
	const uint8_t a[] = {0x1c}, a_up[] = {0xf0, 0x1c};
	const uint8_t up_up[] = {0xe0, 0xf0, 0x75}; /* arrow-up break */
	const uint8_t f7[] = {0x83};

	write_ctr(f, 0x41);
	assert_true(i8042_key_event(f->dev, a, sizeof(a)));
	expect_byte(f, false, 0x1e);
	assert_true(i8042_key_event(f->dev, a_up, sizeof(a_up)));
	expect_byte(f, false, 0x9e);
	expect_empty(f);
	assert_true(i8042_key_event(f->dev, up_up, sizeof(up_up)));
	expect_byte(f, false, 0xe0);
	expect_byte(f, false, 0xc8);
	assert_true(i8042_key_event(f->dev, f7, sizeof(f7)));
	expect_byte(f, false, 0x41);
	expect_empty(f);

	/* answers pass the translator too: MF2 id 0x83 reads 0x41 */
	kbd_cmd(f, 0xf2);
	expect_byte(f, false, ACK);
	expect_byte(f, false, 0xab);
	expect_byte(f, false, 0x41);
	kbd_cmd(f, 0xf0);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0x00);
	expect_byte(f, false, ACK);
	expect_byte(f, false, 0x41); /* set 2, translated */
	expect_empty(f);

	/* off: set 2 as it is */
	write_ctr(f, 0x01);
	assert_true(i8042_key_event(f->dev, up_up, sizeof(up_up)));
	expect_byte(f, false, 0xe0);
	expect_byte(f, false, 0xf0);
	expect_byte(f, false, 0x75);
	kbd_cmd(f, 0xf0);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0x00);
	expect_byte(f, false, ACK);
	expect_byte(f, false, 0x02);

	/* a guest that picks set 1 without translation gets set 1 */
	kbd_cmd(f, 0xf0);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0x01);
	expect_byte(f, false, ACK);
	assert_true(i8042_key_event(f->dev, up_up, sizeof(up_up)));
	expect_byte(f, false, 0xe0);
	expect_byte(f, false, 0xc8);
	expect_empty(f);
}

/* Reads what the guest gets for one event, translated to set 1, into out. */
static size_t read_all(struct fixture *f, uint8_t *out, size_t room)
{
	size_t n = 0;

	while (status(f) & OBF) {
		assert_true(n < room);
		out[n++] = in60(f);
	}
	return n;
}

/* Every qnum a key has: its set 2 bytes, through the controller's own
 * translation, read back as that qnum's set 1 make and break. */
static void test_qnum_roundtrip(void **state)
{
	struct fixture *f = *state;
	unsigned keys = 0;

	write_ctr(f, 0x41);
	for (unsigned q = 1; q <= 0xff; q++) {
		uint8_t seq[I8042_QNUM_SEQ_MAX], got[16];
		size_t n = i8042_qnum_to_set2(q, true, seq), m;

		if (q == 0x80)
			assert_int_equal(n, 0);
		if (!n)
			continue;
		keys++;
		assert_true(n <= I8042_QNUM_SEQ_MAX);
		assert_true(i8042_qnum_event(f->dev, q, true));
		m = read_all(f, got, sizeof(got));
		if (q == I8042_QNUM_PAUSE) {
			const uint8_t want[] = {0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5};

			assert_int_equal(m, sizeof(want));
			assert_memory_equal(got, want, sizeof(want));
			assert_true(i8042_qnum_event(f->dev, q, false));
			expect_empty(f);
			continue;
		}
		if (q == I8042_QNUM_PRINT) {
			const uint8_t want[] = {0xe0, 0x2a, 0xe0, 0x37};
			const uint8_t want_up[] = {0xe0, 0xb7, 0xe0, 0xaa};

			assert_int_equal(m, sizeof(want));
			assert_memory_equal(got, want, sizeof(want));
			assert_true(i8042_qnum_event(f->dev, q, false));
			m = read_all(f, got, sizeof(got));
			assert_int_equal(m, sizeof(want_up));
			assert_memory_equal(got, want_up, sizeof(want_up));
			continue;
		}
		if (q & 0x80) {
			assert_int_equal(m, 2);
			assert_int_equal(got[0], 0xe0);
			assert_int_equal(got[1], q & 0x7f);
		} else {
			assert_int_equal(m, 1);
			assert_int_equal(got[0], q);
		}
		assert_true(i8042_qnum_event(f->dev, q, false));
		m = read_all(f, got, sizeof(got));
		if (q & 0x80) {
			assert_int_equal(m, 2);
			assert_int_equal(got[0], 0xe0);
			assert_int_equal(got[1], q);
		} else {
			assert_int_equal(m, 1);
			assert_int_equal(got[0], q | 0x80);
		}
	}
	/* the 127 plain codes, the 0xE0 ones, Print Screen and Pause */
	assert_true(keys >= 127 + 100);
	assert_int_equal(i8042_qnum_to_set2(0, true, (uint8_t[8]){0}), 0);
	assert_int_equal(i8042_qnum_to_set2(0x100, true, (uint8_t[8]){0}), 0);
}

static void test_queue_overflow(void **state)
{
	struct fixture *f = *state;
	uint8_t key[1];
	const uint8_t three[] = {0xe0, 0xf0, 0x75};
	unsigned accepted = 0;

	write_ctr(f, 0x01);
	/* one byte goes to the output buffer, 16 wait in the keyboard */
	for (unsigned i = 0; i < 40; i++) {
		key[0] = (uint8_t)(0x10 + i);
		if (i8042_key_event(f->dev, key, 1))
			accepted++;
		else
			break;
	}
	assert_int_equal(accepted, 17);
	/* a multi-byte event is never split when it does not fit */
	assert_false(i8042_key_event(f->dev, three, sizeof(three)));
	for (unsigned i = 0; i < 17; i++)
		expect_byte(f, false, (uint8_t)(0x10 + i));
	expect_empty(f);
	assert_false(i8042_key_event(f->dev, three, 0));
	assert_false(i8042_key_event(f->dev, three, 17));

	/* command answers still get through a buffer full of keys */
	key[0] = 0x1c;
	while (i8042_key_event(f->dev, key, 1))
		;
	out64(f, 0xd2); /* makes the controller answer after the buffered byte */
	out60(f, 0x77);
	expect_byte(f, false, 0x1c);
	expect_byte(f, false, 0x77);
	/* the next key moved into the output buffer; a command drops the
	 * keys still in the keyboard */
	kbd_cmd(f, 0xee);
	expect_byte(f, false, 0x1c);
	expect_byte(f, false, 0xee);
	expect_empty(f);

	/* scanning off: keys are dropped */
	kbd_cmd(f, 0xf5);
	expect_byte(f, false, ACK);
	assert_false(i8042_key_event(f->dev, key, 1));
	expect_empty(f);
	kbd_cmd(f, 0xf4);
	expect_byte(f, false, ACK);
	assert_true(i8042_key_event(f->dev, key, 1));
	expect_byte(f, false, 0x1c);

	/* mouse: motion waits in the counters, packets are whole */
	aux_cmd(f, 0xf4);
	expect_byte(f, true, ACK);
	for (unsigned i = 0; i < 20; i++)
		assert_true(i8042_mouse_event(f->dev, 1, 0, 0, 0));
	/* 1 byte in the output buffer + 5 packets of 3 bytes queued = 16 */
	unsigned bytes = 0, xsum = 0;
	while (status(f) & OBF) {
		uint8_t b0, dx, dy;

		assert_true(status(f) & AUXOBF);
		b0 = in60(f);
		assert_true(status(f) & AUXOBF);
		dx = in60(f);
		assert_true(status(f) & AUXOBF);
		dy = in60(f);
		assert_int_equal(b0, 0x08);
		assert_int_equal(dy, 0);
		xsum += dx;
		bytes += 3;
		assert_true(bytes < 300);
	}
	assert_int_equal(xsum, 20); /* all of the motion arrived */
}

static void test_reset_line(void **state)
{
	struct fixture *f = *state;

	for (unsigned c = 0; c < 0xf0; c++) {
		if (c == 0xd1 || c == 0xdd)
			continue;
		out64(f, (uint8_t)c);
		while (status(f) & OBF)
			in60(f);
	}
	assert_int_equal(f->resets, 0);
	for (unsigned c = 0xf0; c <= 0xff; c++) {
		unsigned before = f->resets;

		out64(f, (uint8_t)c);
		assert_int_equal(f->resets - before, (c & 1) ? 0u : 1u);
	}
	assert_int_equal(f->resets, 8);

	out64(f, 0xd1);
	out60(f, 0xdf);
	assert_int_equal(f->resets, 8);
	out64(f, 0xd1);
	out60(f, 0xde);
	assert_int_equal(f->resets, 9);

	/* the common reboot request of Linux and Windows */
	i8042_reset(f->dev);
	out64(f, 0xfe);
	assert_int_equal(f->resets, 10);
}

static void test_output_port_a20(void **state)
{
	struct fixture *f = *state;
	const uint8_t a[] = {0x1c};

	out64(f, 0xd0);
	expect_byte(f, false, 0xcf); /* reset high, A20 on, unmodelled lines 1 */
	assert_int_equal(f->a20_calls, 0);

	out64(f, 0xd1);
	out60(f, 0xdd);
	assert_int_equal(f->a20_calls, 1);
	assert_false(f->a20);
	out64(f, 0xd0);
	expect_byte(f, false, 0xcd);
	out64(f, 0xdf); /* HP-style A20 on */
	assert_int_equal(f->a20_calls, 2);
	assert_true(f->a20);
	out64(f, 0xdf); /* no change, no call */
	assert_int_equal(f->a20_calls, 2);
	out64(f, 0xdd);
	assert_false(f->a20);
	i8042_reset(f->dev); /* power-on A20 is on */
	assert_int_equal(f->a20_calls, 4);
	assert_true(f->a20);

	/* bit 4 of the output port shows a keyboard byte waiting */
	write_ctr(f, 0x00);
	assert_true(i8042_key_event(f->dev, a, 1));
	out64(f, 0xd0);
	expect_byte(f, false, 0x1c);
	expect_byte(f, false, 0xdf);
	assert_int_equal(f->resets, 0);
}

static void test_controller_misc(void **state)
{
	struct fixture *f = *state;

	/* Linux's aux probe: loopback through 0xD3, then the disable bit */
	out64(f, 0xd3);
	out60(f, 0x5a);
	expect_byte(f, true, 0x5a);
	out64(f, 0xa7);
	assert_int_equal(read_ctr(f) & 0x20, 0x20);
	out64(f, 0xa8);
	assert_int_equal(read_ctr(f) & 0x20, 0);
	out64(f, 0xa9);
	expect_byte(f, false, 0x00);
	out64(f, 0xad);
	assert_int_equal(read_ctr(f) & 0x10, 0x10);
	out64(f, 0xe0);
	expect_byte(f, false, 0x02); /* keyboard clock held low */
	out64(f, 0xae);
	out64(f, 0xe0);
	expect_byte(f, false, 0x03);
	out64(f, 0xc0);
	expect_byte(f, false, 0x80);

	/* internal RAM beyond the command byte */
	out64(f, 0x65);
	out60(f, 0x42);
	out64(f, 0x25);
	expect_byte(f, false, 0x42);
	out64(f, 0x3f);
	expect_byte(f, false, 0x00);

	/* a port disabled by the command byte holds its bytes back */
	const uint8_t a[] = {0x1c};
	write_ctr(f, 0x10);
	assert_true(i8042_key_event(f->dev, a, 1));
	expect_empty(f);
	out64(f, 0xae);
	expect_byte(f, false, 0x1c);
	/* sending to the keyboard enables its port again */
	write_ctr(f, 0x10);
	kbd_cmd(f, 0xee);
	expect_byte(f, false, 0xee);
	assert_int_equal(read_ctr(f) & 0x10, 0);

	/* keyboard: unknown command, resend, typematic, defaults */
	kbd_cmd(f, 0x01);
	expect_byte(f, false, 0xfe);
	kbd_cmd(f, 0xf3);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0x20);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0xfe);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0xf0);
	expect_byte(f, false, ACK);
	kbd_cmd(f, 0x09); /* no such set */
	expect_byte(f, false, 0xfe);
	kbd_cmd(f, 0xf6);
	expect_byte(f, false, ACK);
	expect_empty(f);
}

static void test_mouse(void **state)
{
	struct fixture *f = *state;

	write_ctr(f, 0x02);
	/* not enabled: events are dropped */
	assert_false(i8042_mouse_event(f->dev, 3, 3, 0, 0));
	expect_empty(f);

	/* IntelliMouse knock: 200, 100, 80 -> id 3 and 4-byte packets */
	const uint8_t knock[] = {200, 100, 80};
	for (unsigned i = 0; i < 3; i++) {
		aux_cmd(f, 0xf3);
		expect_byte(f, true, ACK);
		aux_cmd(f, knock[i]);
		expect_byte(f, true, ACK);
	}
	aux_cmd(f, 0xf2);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 3);
	aux_cmd(f, 0xf4);
	expect_byte(f, true, ACK);
	assert_true(i8042_mouse_event(f->dev, -300, 0, 1, I8042_BTN_RIGHT | I8042_BTN_MIDDLE));
	/* 9-bit deltas: -255 first, then the remaining -45 */
	expect_byte(f, true, 0x08 | 0x10 | 0x06);
	expect_byte(f, true, 0x01);
	expect_byte(f, true, 0x00);
	expect_byte(f, true, 0x01);
	expect_byte(f, true, 0x08 | 0x10 | 0x06);
	expect_byte(f, true, (uint8_t)-45);
	expect_byte(f, true, 0x00);
	expect_byte(f, true, 0x00);
	expect_empty(f);

	/* a button change alone is a packet */
	assert_true(i8042_mouse_event(f->dev, 0, 0, 0, 0));
	expect_byte(f, true, 0x08);
	expect_byte(f, true, 0);
	expect_byte(f, true, 0);
	expect_byte(f, true, 0);
	expect_empty(f);

	/* remote mode: motion waits for 0xEB */
	aux_cmd(f, 0xf0);
	expect_byte(f, true, ACK);
	assert_true(i8042_mouse_event(f->dev, 0, -7, 0, I8042_BTN_LEFT));
	expect_empty(f);
	aux_cmd(f, 0xe9);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 0x40 | 0x20 | 0x04);
	expect_byte(f, true, 2);
	expect_byte(f, true, 80);
	aux_cmd(f, 0xeb);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 0x09);
	expect_byte(f, true, 0);
	expect_byte(f, true, 7);
	expect_byte(f, true, 0);
	aux_cmd(f, 0xea);
	expect_byte(f, true, ACK);

	/* wrap mode echoes until 0xEC */
	aux_cmd(f, 0xee);
	expect_byte(f, true, ACK);
	aux_cmd(f, 0x12);
	expect_byte(f, true, 0x12);
	aux_cmd(f, 0xec);
	expect_byte(f, true, ACK);

	/* 2:1 scaling applies to stream reports */
	aux_cmd(f, 0xe7);
	expect_byte(f, true, ACK);
	assert_true(i8042_mouse_event(f->dev, 3, 0, 0, I8042_BTN_LEFT));
	expect_byte(f, true, 0x09);
	expect_byte(f, true, 3);
	expect_byte(f, true, 0);
	expect_byte(f, true, 0);

	/* 200, 200, 80 on a wheel mouse: five buttons, id 4 */
	const uint8_t knock5[] = {200, 200, 80};
	for (unsigned i = 0; i < 3; i++) {
		aux_cmd(f, 0xf3);
		expect_byte(f, true, ACK);
		aux_cmd(f, knock5[i]);
		expect_byte(f, true, ACK);
	}
	aux_cmd(f, 0xf2);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 4);
	aux_cmd(f, 0xf4);
	expect_byte(f, true, ACK);
	assert_true(i8042_mouse_event(f->dev, 0, 0, -1, I8042_BTN_4));
	expect_byte(f, true, 0x08);
	expect_byte(f, true, 0);
	expect_byte(f, true, 0);
	expect_byte(f, true, 0x1f); /* z -1 in the low nibble, button 4 */

	/* unknown command, and reset back to a plain mouse */
	aux_cmd(f, 0x01);
	expect_byte(f, true, 0xfe);
	aux_cmd(f, 0xff);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 0xaa);
	expect_byte(f, true, 0x00);
	aux_cmd(f, 0xf2);
	expect_byte(f, true, ACK);
	expect_byte(f, true, 0);
	expect_empty(f);
}

/* A small deterministic generator, so a failure repeats. */
static uint32_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void check_consistent(struct fixture *f)
{
	uint8_t st = status(f);

	assert_int_equal(st & (IBF | TIMEOUT | PARITY), 0);
	assert_true(st & KEYLOCK);
	if (st & AUXOBF)
		assert_true(st & OBF);
	if (f->kbd.level)
		assert_int_equal(st & (OBF | AUXOBF), OBF);
	if (f->aux.level)
		assert_int_equal(st & (OBF | AUXOBF), OBF | AUXOBF);
}

static void test_hostile_storm(void **state)
{
	static const unsigned sizes[] = {1, 2, 4, 8};
	struct fixture *f = *state;
	uint8_t buf[24];

	rng_state = 0x8042u;
	for (unsigned i = 0; i < 200000; i++) {
		uint32_t r = rng();
		uint64_t off = (r >> 8) % 8 == 0 ? (r >> 12) % 4 : 0;
		unsigned size = sizes[(r >> 16) % 4];
		uint64_t val = ((uint64_t)rng() << 32) | rng();

		switch (r % 10) {
		case 0:
		case 1:
			i8042_status_bus_ops.write(f->dev, off, val, size);
			break;
		case 2:
		case 3:
			i8042_data_bus_ops.write(f->dev, off, val, size);
			break;
		case 4:
		case 5:
			(void)i8042_data_bus_ops.read(f->dev, off, size);
			break;
		case 6:
			(void)i8042_status_bus_ops.read(f->dev, off, size);
			break;
		case 7: {
			size_t n = rng() % sizeof(buf);

			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)rng();
			(void)i8042_key_event(f->dev, buf, n);
			break;
		}
		case 8: {
			static const int extremes[] = {INT_MIN, INT_MAX, -1, 0, 1, 255, -256};
			int dx = (rng() & 1) ? extremes[rng() % 7] : (int)rng();
			int dy = (rng() & 1) ? extremes[rng() % 7] : (int)(rng() % 600) - 300;

			(void)i8042_mouse_event(f->dev, dx, dy, (int)rng(), rng());
			break;
		}
		default:
			if (rng() % 64 == 0)
				i8042_reset(f->dev);
			else
				(void)i8042_data_bus_ops.read(f->dev, 0, 1);
			break;
		}
		check_consistent(f);
	}
	/* the controller still works afterwards */
	i8042_reset(f->dev);
	expect_empty(f);
	out64(f, 0xaa);
	expect_byte(f, false, 0x55);
	write_ctr(f, 0x61);
	assert_int_equal(read_ctr(f), 0x61);
	kbd_cmd(f, 0xff);
	expect_byte(f, false, ACK);
	expect_byte(f, false, 0xaa);
	expect_empty(f);
	assert_false(f->kbd.level || f->aux.level);
}

/* The I/O thread types while a vCPU thread reads: every accepted key is
 * read exactly once and in order. */
struct typist {
	struct i8042 *dev;
	unsigned accepted;
	uint8_t sent[20000];
};

static void *typist_run(void *opaque)
{
	struct typist *t = opaque;

	for (unsigned i = 0; i < 20000; i++) {
		uint8_t key = (uint8_t)(i % 0x70 + 1);

		if (i8042_key_event(t->dev, &key, 1)) {
			t->sent[t->accepted++] = key;
		} else {
			i--; /* full: let the reader in, then the same key again */
			sched_yield();
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct typist *t = calloc(1, sizeof(*t));
	pthread_t th;
	unsigned got = 0;

	assert_non_null(t);
	t->dev = f->dev;
	write_ctr(f, 0x01);
	assert_int_equal(pthread_create(&th, NULL, typist_run, t), 0);
	while (got < 20000) {
		if (status(f) & OBF) {
			uint8_t b = in60(f);

			assert_int_equal(b, (uint8_t)(got % 0x70 + 1));
			got++;
		} else {
			sched_yield();
		}
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(t->accepted, 20000);
	expect_empty(f);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seabios_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qnum_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_port_a20, setup, teardown),
		cmocka_unit_test_setup_teardown(test_controller_misc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mouse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
