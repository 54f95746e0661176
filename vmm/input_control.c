// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QMP send-key and input-send-event (vmm/input_control.h).
 */
#include "vmm/input_control.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/input.h"
#include "vmm/qmp.h"
#include "vmm/timer.h"

#define MAX_KEYS      16
#define MAX_EVENTS    256
#define HOLD_MAX_MS   60000
#define HOLD_DEFAULT  100

struct input_control {
	struct input *in;
	struct vm_timer *release;
	unsigned held[MAX_KEYS]; /* send-key's keys, pressed in this order */
	unsigned nheld;
	/* The pointer as input-send-event left it. */
	unsigned abs_x, abs_y;
	unsigned buttons;
};

/* QEMU's QKeyCode names and their qnums (XT set 1, 0x80 | code for E0). */
static const struct {
	const char *name;
	unsigned char qnum;
} qcodes[] = {
	{ "esc", 0x01 },	  { "1", 0x02 },	    { "2", 0x03 },
	{ "3", 0x04 },		  { "4", 0x05 },	    { "5", 0x06 },
	{ "6", 0x07 },		  { "7", 0x08 },	    { "8", 0x09 },
	{ "9", 0x0a },		  { "0", 0x0b },	    { "minus", 0x0c },
	{ "equal", 0x0d },	  { "backspace", 0x0e },    { "tab", 0x0f },
	{ "q", 0x10 },		  { "w", 0x11 },	    { "e", 0x12 },
	{ "r", 0x13 },		  { "t", 0x14 },	    { "y", 0x15 },
	{ "u", 0x16 },		  { "i", 0x17 },	    { "o", 0x18 },
	{ "p", 0x19 },		  { "bracket_left", 0x1a }, { "bracket_right", 0x1b },
	{ "ret", 0x1c },	  { "ctrl", 0x1d },	    { "a", 0x1e },
	{ "s", 0x1f },		  { "d", 0x20 },	    { "f", 0x21 },
	{ "g", 0x22 },		  { "h", 0x23 },	    { "j", 0x24 },
	{ "k", 0x25 },		  { "l", 0x26 },	    { "semicolon", 0x27 },
	{ "apostrophe", 0x28 },	  { "grave_accent", 0x29 }, { "shift", 0x2a },
	{ "backslash", 0x2b },	  { "z", 0x2c },	    { "x", 0x2d },
	{ "c", 0x2e },		  { "v", 0x2f },	    { "b", 0x30 },
	{ "n", 0x31 },		  { "m", 0x32 },	    { "comma", 0x33 },
	{ "dot", 0x34 },	  { "slash", 0x35 },	    { "shift_r", 0x36 },
	{ "asterisk", 0x37 },	  { "kp_multiply", 0x37 },  { "alt", 0x38 },
	{ "spc", 0x39 },	  { "caps_lock", 0x3a },    { "f1", 0x3b },
	{ "f2", 0x3c },		  { "f3", 0x3d },	    { "f4", 0x3e },
	{ "f5", 0x3f },		  { "f6", 0x40 },	    { "f7", 0x41 },
	{ "f8", 0x42 },		  { "f9", 0x43 },	    { "f10", 0x44 },
	{ "num_lock", 0x45 },	  { "scroll_lock", 0x46 },  { "kp_7", 0x47 },
	{ "kp_8", 0x48 },	  { "kp_9", 0x49 },	    { "kp_subtract", 0x4a },
	{ "kp_4", 0x4b },	  { "kp_5", 0x4c },	    { "kp_6", 0x4d },
	{ "kp_add", 0x4e },	  { "kp_1", 0x4f },	    { "kp_2", 0x50 },
	{ "kp_3", 0x51 },	  { "kp_0", 0x52 },	    { "kp_decimal", 0x53 },
	{ "sysrq", 0x54 },	  { "less", 0x56 },	    { "f11", 0x57 },
	{ "f12", 0x58 },	  { "kp_equals", 0x59 },    { "katakanahiragana", 0x70 },
	{ "ro", 0x73 },		  { "henkan", 0x79 },	    { "muhenkan", 0x7b },
	{ "yen", 0x7d },	  { "kp_comma", 0x7e },	    { "audioprev", 0x90 },
	{ "audionext", 0x99 },	  { "kp_enter", 0x9c },	    { "ctrl_r", 0x9d },
	{ "audiomute", 0xa0 },	  { "audioplay", 0xa2 },    { "audiostop", 0xa4 },
	{ "volumedown", 0xae },	  { "volumeup", 0xb0 },	    { "kp_divide", 0xb5 },
	{ "print", 0xb7 },	  { "alt_r", 0xb8 },	    { "pause", 0xc6 },
	{ "home", 0xc7 },	  { "up", 0xc8 },	    { "pgup", 0xc9 },
	{ "left", 0xcb },	  { "right", 0xcd },	    { "end", 0xcf },
	{ "down", 0xd0 },	  { "pgdn", 0xd1 },	    { "insert", 0xd2 },
	{ "delete", 0xd3 },	  { "meta_l", 0xdb },	    { "meta_r", 0xdc },
	{ "menu", 0xdd },	  { "power", 0xde },	    { "sleep", 0xdf },
	{ "wake", 0xe3 },
};

int input_qcode_qnum(const char *name)
{
	for (size_t i = 0; i < sizeof(qcodes) / sizeof(qcodes[0]); i++)
		if (!strcmp(qcodes[i].name, name))
			return qcodes[i].qnum;
	return -1;
}

/* A KeyValue's qnum, or -1 with err set. */
static int key_value(json_t *kv, struct qmp_error *err)
{
	const char *type;
	json_t *data;

	if (!json_is_object(kv) || json_unpack(kv, "{s:s, s:o}", "type", &type, "data", &data)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for 'key', expected: KeyValue");
		return -1;
	}
	if (!strcmp(type, "number")) {
		json_int_t n = json_is_integer(data) ? json_integer_value(data) : -1;

		if (n < 0 || n > INPUT_QNUM_MAX) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Parameter 'data' expects a key number 0..255");
			return -1;
		}
		return (int)n;
	}
	if (!strcmp(type, "qcode")) {
		int q = json_is_string(data) ? input_qcode_qnum(json_string_value(data)) : -1;

		if (q < 0)
			qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'data' does not accept value '%.40s'",
				      json_is_string(data) ? json_string_value(data) : "?");
		return q;
	}
	qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'type' does not accept value '%.40s'", type);
	return -1;
}

static void release_held(struct input_control *ic)
{
	vm_timer_del(ic->release);
	while (ic->nheld)
		input_key(ic->in, ic->held[--ic->nheld], false);
}

static void release_timer(void *opaque)
{
	release_held(opaque);
}

static json_t *cmd_send_key(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = { "keys", "hold-time", NULL };
	struct input_control *ic = opaque;
	json_t *keys = json_object_get(args, "keys"), *hold = json_object_get(args, "hold-time");
	unsigned q[MAX_KEYS];
	json_int_t ms = HOLD_DEFAULT;
	size_t n;

	if (qmp_args_only(args, allowed, err) < 0)
		return NULL;
	if (!keys) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'keys' is missing");
		return NULL;
	}
	n = json_is_array(keys) ? json_array_size(keys) : 0;
	if (n == 0 || n > MAX_KEYS) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Parameter 'keys' expects a list of 1 to %d keys", MAX_KEYS);
		return NULL;
	}
	if (hold) {
		ms = json_is_integer(hold) ? json_integer_value(hold) : -1;
		if (ms < 0 || ms > HOLD_MAX_MS) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Parameter 'hold-time' expects milliseconds 0..%d", HOLD_MAX_MS);
			return NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int v = key_value(json_array_get(keys, i), err);

		if (v < 0)
			return NULL;
		q[i] = (unsigned)v;
	}
	release_held(ic);
	for (size_t i = 0; i < n; i++) {
		input_key(ic->in, q[i], true);
		ic->held[ic->nheld++] = q[i];
	}
	if (ms == 0)
		release_held(ic);
	else
		vm_timer_mod(ic->release, vm_clock_ns() + (uint64_t)ms * 1000000u);
	return json_object();
}

/* One InputEvent: keys go out at once, pointer changes are collected. */
struct pointer_batch {
	bool abs, rel, btn;
	unsigned x, y, buttons;
	int dx, dy, dz;
};

static int btn_bit(const char *name, int *dz)
{
	static const struct {
		const char *name;
		unsigned bit;
		int dz;
	} btns[] = { { "left", INPUT_BTN_LEFT, 0 },
		     { "right", INPUT_BTN_RIGHT, 0 },
		     { "middle", INPUT_BTN_MIDDLE, 0 },
		     { "wheel-up", 0, -1 },
		     { "wheel-down", 0, 1 } };

	for (size_t i = 0; i < sizeof(btns) / sizeof(btns[0]); i++)
		if (!strcmp(btns[i].name, name)) {
			*dz = btns[i].dz;
			return (int)btns[i].bit;
		}
	return -1;
}

static int axis_value(json_t *data, bool abs, bool *is_x, json_int_t *value,
		      struct qmp_error *err)
{
	const char *axis;

	if (json_unpack(data, "{s:s, s:I}", "axis", &axis, "value", value) ||
	    (strcmp(axis, "x") && strcmp(axis, "y"))) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Parameter 'data' expects {axis: x|y, value: integer}");
		return -1;
	}
	*is_x = !strcmp(axis, "x");
	if (abs && (*value < 0 || *value > INPUT_ABS_MAX)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'value' expects 0..%d", INPUT_ABS_MAX);
		return -1;
	}
	if (!abs && (*value < -65536 || *value > 65536)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'value' expects -65536..65536");
		return -1;
	}
	return 0;
}

/* Checks one event and, with apply, carries it out (keys) or adds it to pb. */
static int one_event(struct input_control *ic, json_t *ev, bool apply, struct pointer_batch *pb,
		     struct qmp_error *err)
{
	const char *type;
	json_t *data;

	if (!json_is_object(ev) || json_unpack(ev, "{s:s, s:o}", "type", &type, "data", &data) ||
	    !json_is_object(data)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for 'events', expected: InputEvent");
		return -1;
	}
	if (!strcmp(type, "key")) {
		int down, q;
		json_t *key;

		if (json_unpack(data, "{s:b, s:o}", "down", &down, "key", &key)) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Parameter 'data' expects {down: bool, key: KeyValue}");
			return -1;
		}
		q = key_value(key, err);
		if (q < 0)
			return -1;
		if (apply)
			input_key(ic->in, (unsigned)q, down);
		return 0;
	}
	if (!strcmp(type, "btn")) {
		const char *name;
		int down, dz, bit;

		if (json_unpack(data, "{s:b, s:s}", "down", &down, "button", &name) ||
		    (bit = btn_bit(name, &dz)) < 0) {
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Parameter 'data' expects {down: bool, button: left|right|"
				      "middle|wheel-up|wheel-down}");
			return -1;
		}
		if (down)
			pb->buttons |= (unsigned)bit;
		else
			pb->buttons &= ~(unsigned)bit;
		if (down)
			pb->dz += dz;
		pb->btn = true;
		return 0;
	}
	if (!strcmp(type, "rel") || !strcmp(type, "abs")) {
		bool abs = !strcmp(type, "abs"), is_x;
		json_int_t v;

		if (axis_value(data, abs, &is_x, &v, err) < 0)
			return -1;
		if (abs) {
			*(is_x ? &pb->x : &pb->y) = (unsigned)v;
			pb->abs = true;
		} else {
			*(is_x ? &pb->dx : &pb->dy) += (int)v;
			pb->rel = true;
		}
		return 0;
	}
	qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'type' does not accept value '%.40s'", type);
	return -1;
}

static json_t *cmd_input_send_event(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = { "events", "device", "head", NULL };
	struct input_control *ic = opaque;
	json_t *events = json_object_get(args, "events");
	struct pointer_batch pb;
	size_t n;

	if (qmp_args_only(args, allowed, err) < 0)
		return NULL;
	if (json_object_get(args, "device")) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Parameter 'device' is not supported: events go to the active devices");
		return NULL;
	}
	n = json_is_array(events) ? json_array_size(events) : 0;
	if (!events || n == 0 || n > MAX_EVENTS) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Parameter 'events' expects a list of 1 to %d events", MAX_EVENTS);
		return NULL;
	}
	/* Checked as a whole first: a bad event sends nothing. */
	for (int apply = 0; apply <= 1; apply++) {
		pb = (struct pointer_batch){ .x = ic->abs_x, .y = ic->abs_y, .buttons = ic->buttons };
		for (size_t i = 0; i < n; i++)
			if (one_event(ic, json_array_get(events, i), apply, &pb, err) < 0)
				return NULL;
	}
	/* Buttons alone go where the pointer goes now. */
	if (pb.btn && !pb.abs && !pb.rel) {
		pb.abs = input_pointer_absolute(ic->in);
		pb.rel = !pb.abs;
	}
	if (pb.abs) {
		/* A 0x8000-wide screen: the router's scaling keeps the value. */
		input_pointer(ic->in, (int)pb.x, (int)pb.y, INPUT_ABS_MAX + 1, INPUT_ABS_MAX + 1,
			      pb.dz, pb.buttons);
		ic->abs_x = pb.x;
		ic->abs_y = pb.y;
	} else if (pb.rel) {
		input_relative(ic->in, pb.dx, pb.dy, pb.dz, pb.buttons);
	}
	ic->buttons = pb.buttons;
	return json_object();
}

struct input_control *input_control_new(struct input *in, struct event_loop *loop)
{
	struct input_control *ic = calloc(1, sizeof(*ic));

	if (!ic)
		return NULL;
	ic->in = in;
	ic->release = vm_timer_new(loop, release_timer, ic);
	if (!ic->release) {
		free(ic);
		return NULL;
	}
	return ic;
}

void input_control_free(struct input_control *ic)
{
	if (!ic)
		return;
	vm_timer_free(ic->release);
	free(ic);
}

int input_control_register(struct qmp *q, struct input_control *ic)
{
	int ret = qmp_register(q, "send-key", cmd_send_key, ic);

	return ret < 0 ? ret : qmp_register(q, "input-send-event", cmd_input_send_event, ic);
}
