// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * i8042 keyboard controller, MF2 keyboard and PS/2 (IntelliMouse) mouse.
 *
 * Facts from QEMU's hw/input/pckbd.c and ps2.c, VirtualBox's DevPS2.cpp,
 * Linux's drivers/input/serio/i8042.c, SeaBIOS's src/hw/ps2port.c and the
 * IBM PS/2 technical reference as summarised by Adam Chapweske.  The
 * choices that differ between those are noted where they are made.
 */
#include "devices/i8042.h"
#include "vmm/device.h"
#include "vmm/input.h"

#include <stdio.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Status register */
#define ST_OBF	   0x01
#define ST_IBF	   0x02
#define ST_SYS	   0x04
#define ST_CMD	   0x08 /* last write went to 0x64 */
#define ST_KEYLOCK 0x10 /* set: keyboard not inhibited by the key lock */
#define ST_AUX_OBF 0x20

/* Command byte (controller RAM byte 0) */
#define CB_KBD_INT	0x01
#define CB_AUX_INT	0x02
#define CB_SYS		0x04
#define CB_KBD_DISABLED 0x10
#define CB_AUX_DISABLED 0x20
#define CB_XLATE	0x40
#define CB_RESET	(CB_KBD_INT | CB_AUX_INT) /* QEMU's power-on value */

/* Output port */
#define OP_RESET   0x01 /* 0 holds the CPU in reset */
#define OP_A20	   0x02
#define OP_KBD_OBF 0x10
#define OP_AUX_OBF 0x20
/* Lines we do not model read as 1, as QEMU has them (bits 2, 3, 6, 7). */
#define OP_RESET_VALUE (OP_RESET | OP_A20 | 0xcc)

/* Controller commands */
#define CC_READ_RAM	0x20 /* 0x20-0x3f */
#define CC_WRITE_RAM	0x60 /* 0x60-0x7f */
#define CC_PASSWORD	0xa4
#define CC_AUX_DISABLE	0xa7
#define CC_AUX_ENABLE	0xa8
#define CC_AUX_TEST	0xa9
#define CC_SELF_TEST	0xaa
#define CC_KBD_TEST	0xab
#define CC_KBD_DISABLE	0xad
#define CC_KBD_ENABLE	0xae
#define CC_READ_INPUT	0xc0
#define CC_READ_OUTPUT	0xd0
#define CC_WRITE_OUTPUT 0xd1
#define CC_WRITE_KBD_OB 0xd2
#define CC_WRITE_AUX_OB 0xd3
#define CC_WRITE_AUX	0xd4
#define CC_A20_OFF	0xdd
#define CC_A20_ON	0xdf
#define CC_READ_TEST	0xe0
#define CC_PULSE	0xf0 /* 0xf0-0xff: low nibble 0 bits are pulsed */

#define SELF_TEST_OK   0x55
#define PORT_TEST_OK   0x00
#define NO_PASSWORD    0xf1
#define INPUT_PORT     0x80 /* key lock open, colour display */
#define I8042_RAM_SIZE 32

/* Device commands and answers shared by keyboard and mouse */
#define DEV_ACK	     0xfa
#define DEV_RESEND   0xfe
#define DEV_BAT_OK   0xaa
#define DEV_RESET    0xff
#define DEV_DEFAULTS 0xf6
#define DEV_DISABLE  0xf5
#define DEV_ENABLE   0xf4
#define DEV_SET_RATE 0xf3
#define DEV_GET_ID   0xf2

#define KBD_SET_LEDS 0xed
#define KBD_ECHO     0xee
#define KBD_SCANSET  0xf0
#define KBD_ID0	     0xab
#define KBD_ID1	     0x83 /* MF2; 0x41 once translated */

#define AUX_SCALE11   0xe6
#define AUX_SCALE21   0xe7
#define AUX_SET_RES   0xe8
#define AUX_STATUS    0xe9
#define AUX_STREAM    0xea
#define AUX_READ_DATA 0xeb
#define AUX_WRAP_OFF  0xec
#define AUX_WRAP_ON   0xee
#define AUX_REMOTE    0xf0

#define AUX_ID_PS2	 0
#define AUX_ID_WHEEL	 3
#define AUX_ID_5BUTTON	 4
#define AUX_DEFAULT_RATE 100
#define AUX_DEFAULT_RES	 2
#define AUX_PKT_ALWAYS1	 0x08
#define AUX_ST_REMOTE	 0x40
#define AUX_ST_ENABLED	 0x20
#define AUX_ST_SCALE21	 0x10
/* Host motion kept in the mouse's counters is bounded, so that a flood of
 * events cannot overflow them; the guest loses only far-off motion. */
#define AUX_MOTION_LIMIT (1 << 16)

/* Queue sizes.  A device holds at most EVENT_LIMIT bytes from input events
 * (the 16 bytes of a real keyboard's buffer); the rest of the queue is room
 * for command answers, so an answer is never lost behind typed keys. */
#define QUEUE_SIZE  32
#define EVENT_LIMIT 16
#define CTRL_QUEUE  16

struct byte_queue {
	uint8_t data[QUEUE_SIZE];
	unsigned head, count;
};

struct keyboard {
	struct byte_queue q;
	uint8_t arg_cmd;   /* command waiting for its argument byte; 0 if none */
	uint8_t last_sent; /* raw byte last handed to the controller, for RESEND */
	uint8_t set;	   /* scan code set 1..3 */
	uint8_t leds;
	uint8_t typematic;
	bool scanning;
};

struct mouse {
	struct byte_queue q;
	uint8_t arg_cmd;
	uint8_t last_sent;
	uint8_t id;
	uint8_t rate, resolution;
	uint8_t knock[3]; /* last three sample rates, newest last */
	bool enabled, remote, wrap, scale21;
	unsigned buttons;     /* I8042_BTN_* as last reported by the host */
	bool buttons_changed; /* since the last packet */
	int dx, dy, dz;	      /* PS/2 directions: y up, z towards the user */
};

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line kbd_irq, aux_irq;
	struct machine_events ev;
	void (*a20_fn)(void *opaque, bool on);
	void *a20_opaque;

	uint8_t ram[I8042_RAM_SIZE]; /* ram[0] is the command byte */
	uint8_t outport;
	uint8_t pending_cmd; /* controller command waiting for a data byte */
	bool sys;	     /* status SYS: self-test passed */
	bool last_was_cmd;   /* status CMD/DATA */

	/* Answers of the controller itself, with whether each goes out as an
	 * aux byte (0xD3).  They take precedence over device bytes. */
	uint8_t ctrl_data[CTRL_QUEUE];
	bool ctrl_aux[CTRL_QUEUE];
	unsigned ctrl_head, ctrl_count;

	uint8_t obuf; /* kept after a read: an empty read returns it again */
	bool obf, obuf_aux;
	bool xlate_break; /* translation swallowed an 0xF0 */
	bool kbd_level, aux_level;
	struct input *input; /* where the sinks are registered, or NULL */

	struct keyboard kbd;
	struct mouse aux;
};

/*
 * The 8042's set 2 -> set 1 translation for bytes 0x00-0x7f.  Of the bytes
 * above, only 0x83 (F7) and 0x84 (SysRq) change, to 0x41 and 0x54; 0xF0
 * is swallowed and sets bit 7 of the next translated byte.
 */
static const uint8_t xlate_low[128] = {
    /* 0x00 */ 0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58,
    /* 0x08 */ 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    /* 0x10 */ 0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a,
    /* 0x18 */ 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    /* 0x20 */ 0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c,
    /* 0x28 */ 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    /* 0x30 */ 0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e,
    /* 0x38 */ 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    /* 0x40 */ 0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60,
    /* 0x48 */ 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    /* 0x50 */ 0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e,
    /* 0x58 */ 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    /* 0x60 */ 0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b,
    /* 0x68 */ 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    /* 0x70 */ 0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45,
    /* 0x78 */ 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

static uint8_t xlate_byte(uint8_t b)
{
	if (b < 0x80)
		return xlate_low[b];
	if (b == 0x83)
		return 0x41;
	if (b == 0x84)
		return 0x54;
	return b;
}

/* ---- queues ---- */

static void q_clear(struct byte_queue *q)
{
	q->head = 0;
	q->count = 0;
}

static bool q_push(struct byte_queue *q, uint8_t b)
{
	if (q->count >= QUEUE_SIZE)
		return false;
	q->data[(q->head + q->count) % QUEUE_SIZE] = b;
	q->count++;
	return true;
}

static uint8_t q_pop(struct byte_queue *q)
{
	uint8_t b = q->data[q->head];

	q->head = (q->head + 1) % QUEUE_SIZE;
	q->count--;
	return b;
}

static unsigned q_event_room(const struct byte_queue *q)
{
	return q->count >= EVENT_LIMIT ? 0 : EVENT_LIMIT - q->count;
}

static void ctrl_answer(struct i8042 *d, uint8_t b, bool aux)
{
	unsigned tail;

	if (d->ctrl_count >= CTRL_QUEUE)
		return; /* a guest that never reads loses the newest answer */
	tail = (d->ctrl_head + d->ctrl_count) % CTRL_QUEUE;
	d->ctrl_data[tail] = b;
	d->ctrl_aux[tail] = aux;
	d->ctrl_count++;
}

/* ---- output buffer and interrupt lines ---- */

static void drive_irqs(struct i8042 *d)
{
	uint8_t cb = d->ram[0];
	bool kbd = d->obf && !d->obuf_aux && (cb & CB_KBD_INT);
	bool aux = d->obf && d->obuf_aux && (cb & CB_AUX_INT);

	if (kbd != d->kbd_level) {
		d->kbd_level = kbd;
		irq_line_set(&d->kbd_irq, kbd);
	}
	if (aux != d->aux_level) {
		d->aux_level = aux;
		irq_line_set(&d->aux_irq, aux);
	}
}

/* The next keyboard byte as the controller passes it on; false if the
 * keyboard queue ran dry in the middle of a translated break code. */
static bool kbd_next_byte(struct i8042 *d, uint8_t *out)
{
	while (d->kbd.q.count) {
		uint8_t b = q_pop(&d->kbd.q);

		d->kbd.last_sent = b;
		if (!(d->ram[0] & CB_XLATE)) {
			*out = b;
			return true;
		}
		if (b == 0xf0) {
			d->xlate_break = true;
			continue;
		}
		*out = xlate_byte(b) | (d->xlate_break ? 0x80 : 0);
		d->xlate_break = false;
		return true;
	}
	return false;
}

static void aux_send_motion(struct i8042 *d);

/* Fills an empty output buffer and brings the interrupt lines in line. */
static void update(struct i8042 *d)
{
	uint8_t cb = d->ram[0];
	uint8_t b;

	if (!d->obf && d->ctrl_count) {
		d->obuf = d->ctrl_data[d->ctrl_head];
		d->obuf_aux = d->ctrl_aux[d->ctrl_head];
		d->ctrl_head = (d->ctrl_head + 1) % CTRL_QUEUE;
		d->ctrl_count--;
		d->obf = true;
	}
	/* A disabled port has its clock line held low: the device keeps its
	 * bytes until the port is enabled again. */
	if (!d->obf && !(cb & CB_KBD_DISABLED) && kbd_next_byte(d, &b)) {
		d->obuf = b;
		d->obuf_aux = false;
		d->obf = true;
	}
	if (!d->obf && !(cb & CB_AUX_DISABLED) && d->aux.q.count) {
		d->aux.last_sent = q_pop(&d->aux.q);
		d->obuf = d->aux.last_sent;
		d->obuf_aux = true;
		d->obf = true;
		aux_send_motion(d); /* room freed: counters may go out now */
	}
	drive_irqs(d);
}

/* ---- keyboard ---- */

static void kbd_defaults(struct keyboard *k)
{
	k->set = 2;
	k->typematic = 0x2b; /* 10.9 characters/s after 500 ms */
	k->arg_cmd = 0;
}

static void kbd_reply(struct i8042 *d, uint8_t b)
{
	q_push(&d->kbd.q, b);
}

static void kbd_command(struct i8042 *d, uint8_t v)
{
	struct keyboard *k = &d->kbd;
	uint8_t cmd = k->arg_cmd;

	if (cmd) {
		k->arg_cmd = 0;
		switch (cmd) {
		case KBD_SET_LEDS:
			k->leds = v & 0x07;
			kbd_reply(d, DEV_ACK);
			return;
		case DEV_SET_RATE:
			k->typematic = v & 0x7f;
			kbd_reply(d, DEV_ACK);
			return;
		case KBD_SCANSET:
			if (v == 0) {
				/* The raw set number: translated, 2 reads 0x41. */
				kbd_reply(d, DEV_ACK);
				kbd_reply(d, k->set);
			} else if (v <= 3) {
				k->set = v;
				kbd_reply(d, DEV_ACK);
			} else {
				kbd_reply(d, DEV_RESEND);
			}
			return;
		}
	}

	/* A keyboard drops what it had not sent yet when a command comes. */
	if (v != DEV_RESEND)
		q_clear(&k->q);
	switch (v) {
	case DEV_RESET:
		kbd_defaults(k);
		k->leds = 0;
		k->scanning = true;
		kbd_reply(d, DEV_ACK);
		kbd_reply(d, DEV_BAT_OK);
		break;
	case DEV_RESEND:
		kbd_reply(d, k->last_sent);
		break;
	case DEV_DEFAULTS:
		kbd_defaults(k);
		k->scanning = true;
		kbd_reply(d, DEV_ACK);
		break;
	case DEV_DISABLE:
		kbd_defaults(k);
		k->scanning = false;
		kbd_reply(d, DEV_ACK);
		break;
	case DEV_ENABLE:
		k->scanning = true;
		kbd_reply(d, DEV_ACK);
		break;
	case DEV_GET_ID:
		kbd_reply(d, DEV_ACK);
		kbd_reply(d, KBD_ID0);
		kbd_reply(d, KBD_ID1);
		break;
	case KBD_SET_LEDS:
	case DEV_SET_RATE:
	case KBD_SCANSET:
		k->arg_cmd = v;
		kbd_reply(d, DEV_ACK);
		break;
	case KBD_ECHO:
		kbd_reply(d, KBD_ECHO);
		break;
	case 0xf7: /* set 3 key-type commands: accepted, without effect */
	case 0xf8:
	case 0xf9:
	case 0xfa:
		kbd_reply(d, DEV_ACK);
		break;
	default:
		kbd_reply(d, DEV_RESEND);
		break;
	}
}

/* Set 2 -> set 1 inside the keyboard, for a guest that selected set 1
 * without controller translation.  Returns the length written. */
static size_t set2_to_set1(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t len = 0;
	bool brk = false;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == 0xf0) {
			brk = true;
			continue;
		}
		out[len++] = xlate_byte(in[i]) | (brk ? 0x80 : 0);
		brk = false;
	}
	return len;
}

/* ---- mouse ---- */

static void aux_defaults(struct mouse *m)
{
	m->rate = AUX_DEFAULT_RATE;
	m->resolution = AUX_DEFAULT_RES;
	m->scale21 = false;
	m->enabled = false;
	m->arg_cmd = 0;
	m->dx = m->dy = m->dz = 0;
	m->buttons_changed = false;
}

static void aux_power_on(struct mouse *m)
{
	aux_defaults(m);
	m->remote = false;
	m->wrap = false;
	m->id = AUX_ID_PS2;
	memset(m->knock, 0, sizeof(m->knock));
}

static void aux_reply(struct i8042 *d, uint8_t b)
{
	q_push(&d->aux.q, b);
}

static unsigned aux_packet_len(const struct mouse *m)
{
	return m->id == AUX_ID_PS2 ? 3 : 4;
}

static int clamp_int(long long v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : (int)v;
}

/* 2:1 scaling of stream-mode reports, from the PS/2 mouse reference. */
static int aux_scale(const struct mouse *m, int v)
{
	static const int small[6] = {0, 1, 1, 3, 6, 9};
	int mag = v < 0 ? -v : v;

	if (!m->scale21)
		return v;
	mag = mag < 6 ? small[mag] : 2 * mag;
	return v < 0 ? -mag : mag;
}

/* Takes one packet's worth of the counters into the queue (there must be
 * room for it). */
static void aux_packet(struct i8042 *d, bool stream)
{
	struct mouse *m = &d->aux;
	int dx = clamp_int(m->dx, -255, 255);
	int dy = clamp_int(m->dy, -255, 255);
	/* A plain PS/2 mouse has no wheel: its clicks are lost. */
	int dz = m->id == AUX_ID_PS2	   ? m->dz
		 : m->id == AUX_ID_5BUTTON ? clamp_int(m->dz, -8, 7)
					   : clamp_int(m->dz, -128, 127);
	int sx = stream ? aux_scale(m, dx) : dx;
	int sy = stream ? aux_scale(m, dy) : dy;
	uint8_t b0 = AUX_PKT_ALWAYS1 | (m->buttons & 0x07);

	m->dx -= dx;
	m->dy -= dy;
	m->dz -= dz;
	m->buttons_changed = false;
	if (sx > 255 || sx < -256) {
		b0 |= 0x40;
		sx = sx < 0 ? -256 : 255;
	}
	if (sy > 255 || sy < -256) {
		b0 |= 0x80;
		sy = sy < 0 ? -256 : 255;
	}
	b0 |= (sx < 0 ? 0x10 : 0) | (sy < 0 ? 0x20 : 0);
	aux_reply(d, b0);
	aux_reply(d, (uint8_t)sx);
	aux_reply(d, (uint8_t)sy);
	if (m->id == AUX_ID_WHEEL)
		aux_reply(d, (uint8_t)dz);
	else if (m->id == AUX_ID_5BUTTON)
		aux_reply(d, (uint8_t)((dz & 0x0f) | ((m->buttons & 0x18) << 1)));
}

static bool aux_has_motion(const struct mouse *m)
{
	return m->dx || m->dy || m->dz || m->buttons_changed;
}

/* Stream mode: report what the counters hold while the buffer has room. */
static void aux_send_motion(struct i8042 *d)
{
	struct mouse *m = &d->aux;

	if (!m->enabled || m->remote || m->wrap)
		return;
	while (aux_has_motion(m) && q_event_room(&m->q) >= aux_packet_len(m))
		aux_packet(d, true);
}

static void aux_set_rate(struct mouse *m, uint8_t rate)
{
	m->rate = rate;
	m->knock[0] = m->knock[1];
	m->knock[1] = m->knock[2];
	m->knock[2] = rate;
	/* The IntelliMouse knocks: 200, 100, 80 turns on the wheel, then
	 * 200, 200, 80 the fourth and fifth buttons. */
	if (m->knock[0] == 200 && m->knock[2] == 80) {
		if (m->knock[1] == 100 && m->id == AUX_ID_PS2)
			m->id = AUX_ID_WHEEL;
		else if (m->knock[1] == 200 && m->id == AUX_ID_WHEEL)
			m->id = AUX_ID_5BUTTON;
	}
}

static void aux_command(struct i8042 *d, uint8_t v)
{
	struct mouse *m = &d->aux;
	uint8_t cmd = m->arg_cmd;

	if (cmd) {
		m->arg_cmd = 0;
		if (cmd == DEV_SET_RATE)
			aux_set_rate(m, v);
		else
			m->resolution = v & 0x03;
		aux_reply(d, DEV_ACK);
		return;
	}
	if (m->wrap && v != AUX_WRAP_OFF && v != DEV_RESET) {
		aux_reply(d, v);
		return;
	}

	if (v != DEV_RESEND)
		q_clear(&m->q);
	switch (v) {
	case DEV_RESET:
		aux_power_on(m);
		aux_reply(d, DEV_ACK);
		aux_reply(d, DEV_BAT_OK);
		aux_reply(d, AUX_ID_PS2);
		break;
	case DEV_RESEND:
		aux_reply(d, m->last_sent);
		break;
	case DEV_DEFAULTS:
		aux_defaults(m);
		aux_reply(d, DEV_ACK);
		break;
	case DEV_DISABLE:
		m->enabled = false;
		m->dx = m->dy = m->dz = 0;
		m->buttons_changed = false;
		aux_reply(d, DEV_ACK);
		break;
	case DEV_ENABLE:
		m->enabled = true;
		aux_reply(d, DEV_ACK);
		break;
	case DEV_SET_RATE:
	case AUX_SET_RES:
		m->arg_cmd = v;
		aux_reply(d, DEV_ACK);
		break;
	case DEV_GET_ID:
		aux_reply(d, DEV_ACK);
		aux_reply(d, m->id);
		break;
	case AUX_REMOTE:
		m->remote = true;
		aux_reply(d, DEV_ACK);
		break;
	case AUX_STREAM:
		m->remote = false;
		m->dx = m->dy = m->dz = 0;
		aux_reply(d, DEV_ACK);
		break;
	case AUX_READ_DATA:
		aux_reply(d, DEV_ACK);
		aux_packet(d, false);
		break;
	case AUX_STATUS:
		aux_reply(d, DEV_ACK);
		/* buttons here are left 0x04, middle 0x02, right 0x01 */
		aux_reply(d, (uint8_t)((m->remote ? AUX_ST_REMOTE : 0) |
				       (m->enabled ? AUX_ST_ENABLED : 0) |
				       (m->scale21 ? AUX_ST_SCALE21 : 0) |
				       (m->buttons & I8042_BTN_LEFT ? 0x04 : 0) |
				       (m->buttons & I8042_BTN_MIDDLE ? 0x02 : 0) |
				       (m->buttons & I8042_BTN_RIGHT ? 0x01 : 0)));
		aux_reply(d, m->resolution);
		aux_reply(d, m->rate);
		break;
	case AUX_SCALE11:
	case AUX_SCALE21:
		m->scale21 = v == AUX_SCALE21;
		aux_reply(d, DEV_ACK);
		break;
	case AUX_WRAP_ON:
		m->wrap = true;
		aux_reply(d, DEV_ACK);
		break;
	case AUX_WRAP_OFF:
		m->wrap = false;
		aux_reply(d, DEV_ACK);
		break;
	default:
		aux_reply(d, DEV_RESEND);
		break;
	}
}

/* ---- controller ---- */

/* What a port access must do once the mutex is released; the handler is
 * copied under the mutex so that i8042_set_a20_handler() cannot race it. */
struct after_unlock {
	bool reset;
	bool a20_changed;
	bool a20;
	void (*a20_fn)(void *opaque, bool on);
	void *a20_opaque;
};

static void set_outport(struct i8042 *d, uint8_t v, struct after_unlock *after)
{
	if ((v ^ d->outport) & OP_A20) {
		after->a20_changed = true;
		after->a20 = v & OP_A20;
	}
	/* The OBF bits are outputs the controller drives itself. */
	d->outport = v & ~(OP_KBD_OBF | OP_AUX_OBF);
	if (!(v & OP_RESET))
		after->reset = true;
}

static uint8_t read_outport(const struct i8042 *d)
{
	return d->outport | (d->obf && !d->obuf_aux ? OP_KBD_OBF : 0) |
	       (d->obf && d->obuf_aux ? OP_AUX_OBF : 0);
}

static void write_command_byte(struct i8042 *d, uint8_t v)
{
	d->ram[0] = v;
	if (v & CB_SYS)
		d->sys = true;
	if (!(v & CB_XLATE))
		d->xlate_break = false;
}

static void controller_command(struct i8042 *d, uint8_t cmd, struct after_unlock *after)
{
	d->pending_cmd = 0;
	if (cmd >= CC_READ_RAM && cmd < CC_READ_RAM + I8042_RAM_SIZE) {
		ctrl_answer(d, d->ram[cmd - CC_READ_RAM], false);
		return;
	}
	if (cmd >= CC_WRITE_RAM && cmd < CC_WRITE_RAM + I8042_RAM_SIZE) {
		d->pending_cmd = cmd;
		return;
	}
	if (cmd >= CC_PULSE) {
		if (!(cmd & 0x01)) /* output port bit 0: the reset line */
			after->reset = true;
		return;
	}
	switch (cmd) {
	case CC_PASSWORD:
		ctrl_answer(d, NO_PASSWORD, false);
		break;
	case CC_AUX_DISABLE:
		d->ram[0] |= CB_AUX_DISABLED;
		break;
	case CC_AUX_ENABLE:
		d->ram[0] &= ~CB_AUX_DISABLED;
		break;
	case CC_AUX_TEST:
	case CC_KBD_TEST:
		ctrl_answer(d, PORT_TEST_OK, false);
		break;
	case CC_SELF_TEST:
		/* As VirtualBox and real controllers: the test leaves the
		 * ports disabled (firmware enables them again) and sets SYS. */
		d->sys = true;
		d->ram[0] |= CB_SYS | CB_KBD_DISABLED | CB_AUX_DISABLED;
		ctrl_answer(d, SELF_TEST_OK, false);
		break;
	case CC_KBD_DISABLE:
		d->ram[0] |= CB_KBD_DISABLED;
		break;
	case CC_KBD_ENABLE:
		d->ram[0] &= ~CB_KBD_DISABLED;
		break;
	case CC_READ_INPUT:
		ctrl_answer(d, INPUT_PORT, false);
		break;
	case CC_READ_OUTPUT:
		ctrl_answer(d, read_outport(d), false);
		break;
	case CC_WRITE_OUTPUT:
	case CC_WRITE_KBD_OB:
	case CC_WRITE_AUX_OB:
	case CC_WRITE_AUX:
		d->pending_cmd = cmd;
		break;
	case CC_A20_OFF:
		set_outport(d, d->outport & ~OP_A20, after);
		break;
	case CC_A20_ON:
		set_outport(d, d->outport | OP_A20, after);
		break;
	case CC_READ_TEST:
		/* T0/T1: the clock lines, low while a port is disabled. */
		ctrl_answer(d,
			    (uint8_t)((d->ram[0] & CB_KBD_DISABLED ? 0 : 0x01) |
				      (d->ram[0] & CB_AUX_DISABLED ? 0 : 0x02)),
			    false);
		break;
	default:
		break; /* unknown commands are ignored, as QEMU does */
	}
}

static void data_write(struct i8042 *d, uint8_t v, struct after_unlock *after)
{
	uint8_t cmd = d->pending_cmd;

	d->pending_cmd = 0;
	if (cmd >= CC_WRITE_RAM && cmd < CC_WRITE_RAM + I8042_RAM_SIZE) {
		if (cmd == CC_WRITE_RAM)
			write_command_byte(d, v);
		else
			d->ram[cmd - CC_WRITE_RAM] = v;
		return;
	}
	switch (cmd) {
	case CC_WRITE_OUTPUT:
		set_outport(d, v, after);
		break;
	case CC_WRITE_KBD_OB:
		ctrl_answer(d, v, false);
		break;
	case CC_WRITE_AUX_OB:
		ctrl_answer(d, v, true);
		break;
	case CC_WRITE_AUX:
		/* Sending to a device releases its clock line (VirtualBox,
		 * QEMU since 7.0, real controllers). */
		d->ram[0] &= ~CB_AUX_DISABLED;
		aux_command(d, v);
		break;
	default:
		d->ram[0] &= ~CB_KBD_DISABLED;
		kbd_command(d, v);
		break;
	}
}

static void unlock_and_run(struct i8042 *d, struct after_unlock *after)
{
	after->a20_fn = d->a20_fn;
	after->a20_opaque = d->a20_opaque;
	pthread_mutex_unlock(&d->lock);
	if (after->a20_changed && after->a20_fn)
		after->a20_fn(after->a20_opaque, after->a20);
	if (after->reset && d->ev.reset)
		d->ev.reset(d->ev.opaque);
}

/* ---- bus ops ---- */

/* Both ports are single bytes; a wider access (only possible when called
 * directly, the bus never routes one to a 1-byte region) sees this byte
 * and all ones above it, like an unclaimed neighbour. */
#define UPPER_ONES (~0xffULL)

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *d = opaque;
	uint8_t v;

	if (offset)
		return ~0ULL;
	pthread_mutex_lock(&d->lock);
	v = d->obuf;
	if (d->obf) {
		d->obf = false;
		drive_irqs(d); /* the falling edge, before a next byte raises it */
		update(d);
	}
	pthread_mutex_unlock(&d->lock);
	return UPPER_ONES | v;
}

/* A byte written to 0x60 (data) or 0x64 (command). */
static void port_write(struct i8042 *d, uint64_t offset, uint8_t value, bool cmd)
{
	struct after_unlock after = {0};

	if (offset)
		return;
	pthread_mutex_lock(&d->lock);
	d->last_was_cmd = cmd;
	if (cmd)
		controller_command(d, value, &after);
	else
		data_write(d, value, &after);
	update(d);
	unlock_and_run(d, &after);
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	port_write(opaque, offset, (uint8_t)value, false);
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *d = opaque;
	uint8_t st = ST_KEYLOCK;

	if (offset)
		return ~0ULL;
	pthread_mutex_lock(&d->lock);
	if (d->obf)
		st |= ST_OBF | (d->obuf_aux ? ST_AUX_OBF : 0);
	if (d->sys)
		st |= ST_SYS;
	if (d->last_was_cmd)
		st |= ST_CMD;
	pthread_mutex_unlock(&d->lock);
	return UPPER_ONES | st;
}

static void i8042_command_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	port_write(opaque, offset, (uint8_t)value, true);
}

const struct bus_ops i8042_data_bus_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
};

const struct bus_ops i8042_status_bus_ops = {
    .read = i8042_status_read,
    .write = i8042_command_write,
};

/* ---- host input ---- */

/* The set 2 make code whose translation is the set 1 code c (1-0x7f), or 0.
 * F7 and Alt+SysRq have their own codes above 0x7f, which the translation
 * maps to 0x41 and 0x54 as well. */
static uint8_t set2_of_set1(uint8_t c)
{
	if (c == 0x41)
		return 0x83;
	if (c == 0x54)
		return 0x84;
	for (unsigned b = 1; b < 0x80; b++)
		if (xlate_low[b] == c)
			return (uint8_t)b;
	return 0;
}

size_t i8042_qnum_to_set2(unsigned qnum, bool down, uint8_t *out)
{
	uint8_t code;
	size_t n = 0;

	/* Print Screen: a fake Left Shift around the key, as real keyboards
	 * send it without modifiers. */
	if (qnum == I8042_QNUM_PRINT) {
		static const uint8_t make[] = {0xe0, 0x12, 0xe0, 0x7c};
		static const uint8_t brk[] = {0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12};

		memcpy(out, down ? make : brk, down ? sizeof(make) : sizeof(brk));
		return down ? sizeof(make) : sizeof(brk);
	}
	/* Pause: the whole make-and-break on the press, nothing on release. */
	if (qnum == I8042_QNUM_PAUSE) {
		static const uint8_t seq[] = {0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77};

		if (!down)
			return 0;
		memcpy(out, seq, sizeof(seq));
		return sizeof(seq);
	}
	if (qnum > 0xff)
		return 0;
	code = set2_of_set1(qnum & 0x7f);
	if (!code)
		return 0;
	if (qnum & 0x80)
		out[n++] = 0xe0;
	if (!down)
		out[n++] = 0xf0;
	out[n++] = code;
	return n;
}

bool i8042_qnum_event(struct i8042 *dev, unsigned qnum, bool down)
{
	uint8_t seq[I8042_QNUM_SEQ_MAX];
	size_t n = i8042_qnum_to_set2(qnum, down, seq);

	/* A release with no bytes (Pause) counts as taken. */
	if (!n)
		return qnum == I8042_QNUM_PAUSE && !down;
	return i8042_key_event(dev, seq, n);
}

bool i8042_key_event(struct i8042 *dev, const uint8_t *set2, size_t n)
{
	uint8_t conv[EVENT_LIMIT];
	const uint8_t *bytes = set2;
	bool queued = false;

	if (!n || n > EVENT_LIMIT)
		return false;
	pthread_mutex_lock(&dev->lock);
	if (!dev->kbd.scanning)
		goto out;
	/* Set 3 is not modelled: a guest choosing it gets set 2 codes. */
	if (dev->kbd.set == 1) {
		n = set2_to_set1(set2, n, conv);
		bytes = conv;
	}
	if (q_event_room(&dev->kbd.q) < n)
		goto out;
	for (size_t i = 0; i < n; i++)
		q_push(&dev->kbd.q, bytes[i]);
	queued = true;
	update(dev);
out:
	pthread_mutex_unlock(&dev->lock);
	return queued;
}

bool i8042_mouse_event(struct i8042 *dev, int dx, int dy, int dz, unsigned buttons)
{
	struct mouse *m = &dev->aux;
	bool taken = false;

	pthread_mutex_lock(&dev->lock);
	if (m->enabled || m->remote) {
		m->dx = clamp_int((long long)m->dx + dx, -AUX_MOTION_LIMIT, AUX_MOTION_LIMIT);
		m->dy = clamp_int((long long)m->dy - dy, -AUX_MOTION_LIMIT, AUX_MOTION_LIMIT);
		m->dz = clamp_int((long long)m->dz + dz, -AUX_MOTION_LIMIT, AUX_MOTION_LIMIT);
		buttons &= 0x1f;
		if (buttons != m->buttons) {
			m->buttons = buttons;
			m->buttons_changed = true;
		}
		aux_send_motion(dev);
		update(dev);
		taken = true;
	}
	pthread_mutex_unlock(&dev->lock);
	return taken;
}

uint8_t i8042_kbd_leds(struct i8042 *dev)
{
	uint8_t leds;

	pthread_mutex_lock(&dev->lock);
	leds = dev->kbd.leds;
	pthread_mutex_unlock(&dev->lock);
	return leds;
}

/* ---- life cycle ---- */

static void reset_locked(struct i8042 *d, struct after_unlock *after)
{
	memset(d->ram, 0, sizeof(d->ram));
	d->ram[0] = CB_RESET;
	set_outport(d, OP_RESET_VALUE, after);
	d->pending_cmd = 0;
	d->sys = false;
	d->last_was_cmd = true;
	d->ctrl_head = d->ctrl_count = 0;
	d->obuf = 0;
	d->obf = d->obuf_aux = false;
	d->xlate_break = false;

	q_clear(&d->kbd.q);
	kbd_defaults(&d->kbd);
	d->kbd.leds = 0;
	d->kbd.scanning = true;
	d->kbd.last_sent = 0;

	q_clear(&d->aux.q);
	aux_power_on(&d->aux);
	d->aux.buttons = 0;
	d->aux.last_sent = 0;

	/* Force both lines low whatever we believed they were. */
	d->kbd_level = d->aux_level = false;
	irq_line_set(&d->kbd_irq, false);
	irq_line_set(&d->aux_irq, false);
}

void i8042_reset(struct i8042 *dev)
{
	struct after_unlock after = {0};

	pthread_mutex_lock(&dev->lock);
	reset_locked(dev, &after);
	unlock_and_run(dev, &after);
}

struct i8042 *i8042_create(const struct irq_line *kbd_irq, const struct irq_line *aux_irq,
			   const struct machine_events *ev)
{
	struct i8042 *d = calloc(1, sizeof(*d));
	struct after_unlock after = {0};

	if (!d)
		return NULL;
	if (pthread_mutex_init(&d->lock, NULL)) {
		free(d);
		return NULL;
	}
	if (kbd_irq)
		d->kbd_irq = *kbd_irq;
	if (aux_irq)
		d->aux_irq = *aux_irq;
	if (ev)
		d->ev = *ev;
	d->outport = OP_RESET_VALUE;
	reset_locked(d, &after); /* no handler yet: nothing to run after */
	return d;
}

void i8042_destroy(struct i8042 *dev)
{
	if (!dev)
		return;
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

void i8042_set_a20_handler(struct i8042 *dev, void (*fn)(void *opaque, bool on), void *opaque)
{
	pthread_mutex_lock(&dev->lock);
	dev->a20_fn = fn;
	dev->a20_opaque = opaque;
	pthread_mutex_unlock(&dev->lock);
}

/* ---- the board's view ---- */

static bool i8042_sink_key(void *opaque, unsigned qnum, bool down)
{
	return i8042_qnum_event(opaque, qnum, down);
}

/* INPUT_BTN_* have the PS/2 packet's bit order. */
static bool i8042_sink_rel(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
	return i8042_mouse_event(opaque, dx, dy, dz, buttons & 0x07);
}

static const struct input_kbd_ops i8042_kbd_sink = {.key = i8042_sink_key};
static const struct input_rel_ops i8042_mouse_sink = {.rel = i8042_sink_rel};

static void *i8042_dev_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			      size_t errlen)
{
	struct irq_line kbd, aux;
	struct i8042 *dev;

	if (dev_isa_irq(ctx, (unsigned)e->irq, &kbd, err, errlen) < 0 ||
	    dev_isa_irq(ctx, I8042_AUX_IRQ, &aux, err, errlen) < 0)
		return NULL;
	dev = i8042_create(&kbd, &aux, ctx->events);
	if (!dev) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	if (dev_claim(ctx->pio, I8042_DATA_PORT, 1, &i8042_data_bus_ops, dev, "i8042-data", err,
		      errlen) < 0 ||
	    dev_claim(ctx->pio, I8042_CMD_PORT, 1, &i8042_status_bus_ops, dev, "i8042-cmd", err,
		      errlen) < 0) {
		i8042_destroy(dev);
		return NULL;
	}
	if (ctx->input) {
		dev->input = ctx->input;
		input_set_keyboard(ctx->input, &i8042_kbd_sink, dev);
		input_set_mouse(ctx->input, &i8042_mouse_sink, dev);
	}
	return dev;
}

static void i8042_dev_reset(void *state)
{
	i8042_reset(state);
}

static void i8042_dev_destroy(void *state)
{
	struct i8042 *dev = state;

	if (dev->input) {
		input_set_keyboard(dev->input, NULL, NULL);
		input_set_mouse(dev->input, NULL, NULL);
	}
	i8042_destroy(state);
}

const struct device_type i8042_type = {
	.name = "i8042",
	.create = i8042_dev_create,
	.reset = i8042_dev_reset,
	.destroy = i8042_dev_destroy,
};
