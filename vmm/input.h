/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Input routing: host-side events (the VNC server's keys and pointer) to
 * the guest's input devices, which register here as sinks: a keyboard (the
 * i8042), a relative mouse (the i8042's aux port) and an absolute pointer
 * (the USB tablet).  The router knows no device and no device knows the
 * VNC server.
 *
 * Keys are QEMU's "qnum" numbers, as the RFB extended key event carries
 * them: the XT (scan code set 1) make code, 0x80 | code for the keys with
 * an 0xE0 prefix (Right Ctrl 0x9d), 0xc6 for Pause.  The keyboard sink
 * converts to the scan code set the guest chose.
 *
 * The pointer arrives as a position in the screen's pixels with its size:
 * it goes to the absolute sink when one is registered and its guest driver
 * takes reports (active), scaled to 0..INPUT_ABS_MAX; otherwise the motion
 * since the last event goes to the relative sink.
 *
 * The router remembers which keys and buttons the guest saw pressed, so
 * that input_release_all() (a client went away, the VM is reset) lifts
 * them and no Ctrl stays stuck.  While the VM is not running
 * (input_set_running(false)), events are dropped: the guest sees nothing
 * it could not have received.
 *
 * Keys the keyboard cannot take yet (the i8042 holds 16 bytes; a VNC
 * client or noVNC may send a burst of a dozen events at once) wait here,
 * in order, and go in as the guest reads: retried every
 * INPUT_KEY_RETRY_MS on the owner's timer (input_set_retry), a key that the
 * keyboard refuses for INPUT_KEY_GIVE_UP_MS (scanning disabled, a guest
 * that reads nothing) dropped and counted.  Without a loop the waiting
 * keys are retried at the next key.
 *
 * Threads: events, registration and the running flag on the I/O thread;
 * sinks take their own locks against vCPU threads.
 */
#ifndef MINIVMM_INPUT_H
#define MINIVMM_INPUT_H

#include <stdbool.h>

#define INPUT_ABS_MAX 0x7fff

/* Buttons, as both pointer sinks take them. */
#define INPUT_BTN_LEFT	 0x01
#define INPUT_BTN_RIGHT	 0x02
#define INPUT_BTN_MIDDLE 0x04

struct input_kbd_ops {
	/* One key pressed or released; false if the guest dropped it. */
	bool (*key)(void *opaque, unsigned qnum, bool down);
};

struct input_rel_ops {
	/* dx right, dy down, dz wheel clicks towards the user; buttons held. */
	bool (*rel)(void *opaque, int dx, int dy, int dz, unsigned buttons);
};

struct input_abs_ops {
	/* x, y in 0..INPUT_ABS_MAX; dz as above. */
	bool (*abs)(void *opaque, unsigned x, unsigned y, int dz, unsigned buttons);
	/* Whether the guest's driver takes reports now (a configured device
	 * polling its endpoint); NULL: always. */
	bool (*active)(void *opaque);
};

struct input;

struct input *input_new(void);
void input_free(struct input *in);

/* One sink of each kind; a second call replaces it; ops NULL removes it. */
void input_set_keyboard(struct input *in, const struct input_kbd_ops *ops, void *opaque);
void input_set_mouse(struct input *in, const struct input_rel_ops *ops, void *opaque);
void input_set_tablet(struct input *in, const struct input_abs_ops *ops, void *opaque);

void input_set_running(struct input *in, bool running);

#define INPUT_KEY_BACKLOG    256
#define INPUT_KEY_RETRY_MS   10
#define INPUT_KEY_GIVE_UP_MS 2000
/* How the router asks to be called again (input_retry_keys) after ms
 * milliseconds: the owner's timer on the I/O thread.  NULL: no timer. */
typedef void input_retry_fn(void *opaque, unsigned ms);
void input_set_retry(struct input *in, input_retry_fn *fn, void *opaque);
void input_retry_keys(struct input *in);
/* Keys waiting now, and the ones given up (backlog full, or refused too
 * long) since the start. */
unsigned input_keys_waiting(const struct input *in);
unsigned long long input_keys_dropped(const struct input *in);

/* qnum 0..INPUT_QNUM_MAX; others are ignored. */
#define INPUT_QNUM_MAX 0xff
void input_key(struct input *in, unsigned qnum, bool down);
/* Position (x, y) on a width x height screen; wheel clicks dz. */
void input_pointer(struct input *in, int x, int y, unsigned width, unsigned height, int dz,
		   unsigned buttons);
/* Relative motion (QMP's rel events): to the relative sink only. */
void input_relative(struct input *in, int dx, int dy, int dz, unsigned buttons);
void input_release_all(struct input *in);

/* Whether the pointer goes to the absolute sink now. */
bool input_pointer_absolute(const struct input *in);

#endif
