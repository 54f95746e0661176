// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VNC server (vmm/vnc.h) with a fake display source and a fake
 * keyboard behind the real input router, on a real event loop in its own
 * thread; a libvncclient client in the test's thread connects over
 * loopback: the framebuffer it receives equals the source's picture, a
 * resize reaches it, its extended key events and keysyms arrive as qnums,
 * the password is refused until set and accepted after; a still screen is
 * looked at about once a second, a key brings the full frame rate back.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <rfb/keysym.h>
#include <rfb/rfbclient.h>

#include "vmm/display.h"
#include "vmm/input.h"
#include "vmm/keymap.h"
#include "vmm/loop.h"
#include "vmm/timer.h"
#include "vmm/vnc.h"

/* ---- the fake source: a pattern, resized on request ---- */

struct source {
	struct display *d;
	pthread_mutex_t lock;
	unsigned w, h;	     /* the current picture */
	unsigned want_w, want_h; /* a resize asked for by the test thread */
	uint32_t *pixels;
	unsigned refreshes;
};

static uint32_t pattern(unsigned x, unsigned y, unsigned w)
{
	return (uint32_t)((x * 3 + w) & 0xff) << 16 | (uint32_t)(y * 5 & 0xff) << 8 |
	       ((x + y) & 0xff);
}

static void source_fill(struct source *s, unsigned w, unsigned h)
{
	free(s->pixels);
	s->pixels = malloc((size_t)w * h * 4);
	assert_non_null(s->pixels);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++)
			s->pixels[y * w + x] = pattern(x, y, w);
	s->w = w;
	s->h = h;
}

/* On the loop thread. */
static void source_refresh(void *opaque, bool full)
{
	struct source *s = opaque;

	pthread_mutex_lock(&s->lock);
	s->refreshes++;
	if (s->want_w) {
		struct display_image img;

		source_fill(s, s->want_w, s->want_h);
		s->want_w = 0;
		img = (struct display_image){s->pixels, s->w, s->h, (size_t)s->w * 4};
		display_resize(s->d, &img);
	} else if (full) {
		display_damage(s->d, 0, 0, s->w, s->h);
	}
	pthread_mutex_unlock(&s->lock);
}

static const struct display_source_ops source_ops = {.refresh = source_refresh};

/* ---- the fake keyboard ---- */

struct keys {
	pthread_mutex_t lock;
	unsigned n;
	unsigned ev[64]; /* qnum | 0x100 when down */
};

static bool kbd_key(void *opaque, unsigned qnum, bool down)
{
	struct keys *k = opaque;

	pthread_mutex_lock(&k->lock);
	if (k->n < 64)
		k->ev[k->n++] = qnum | (down ? 0x100 : 0);
	pthread_mutex_unlock(&k->lock);
	return true;
}

static const struct input_kbd_ops kbd_ops = {.key = kbd_key};

/* The fake PS/2 mouse: motion and buttons, into the key log as
 * 0x1000 | buttons << 8 | (dz & 0xff) after (dx, dy) in mouse_dx/dy. */
static int mouse_dx, mouse_dy;

static bool mouse_rel(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
	struct keys *k = opaque;

	pthread_mutex_lock(&k->lock);
	mouse_dx += dx;
	mouse_dy += dy;
	if (k->n < 64)
		k->ev[k->n++] = 0x1000 | buttons << 8 | ((unsigned)dz & 0xff);
	pthread_mutex_unlock(&k->lock);
	return true;
}

static const struct input_rel_ops mouse_ops = {.rel = mouse_rel};

/* ---- the machine ---- */

struct fixture {
	struct event_loop *loop;
	struct display *d;
	struct input *in;
	struct vnc *vnc;
	struct source src;
	struct keys keys;
	pthread_t thread;
	bool running;
	unsigned port;
};

static void *loop_thread(void *opaque)
{
	event_loop_run(opaque);
	return NULL;
}

static void start_loop(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f->loop), 0);
	f->running = true;
}

static void stop_loop(struct fixture *f)
{
	if (!f->running)
		return;
	event_loop_stop(f->loop);
	pthread_join(f->thread, NULL);
	f->running = false;
}

/* fn(f) on the loop thread, waited for (the loop cannot be restarted). */
struct on_loop {
	struct fixture *f;
	void (*fn)(struct fixture *f);
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void on_loop_cb(void *opaque)
{
	struct on_loop *o = opaque;

	o->fn(o->f);
	pthread_mutex_lock(&o->lock);
	o->done = true;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

static void run_on_loop(struct fixture *f, void (*fn)(struct fixture *f))
{
	struct on_loop o = {.f = f, .fn = fn};
	struct vm_timer *t;

	pthread_mutex_init(&o.lock, NULL);
	pthread_cond_init(&o.cond, NULL);
	t = vm_timer_new(f->loop, on_loop_cb, &o);
	assert_non_null(t);
	vm_timer_mod(t, vm_clock_ns());
	pthread_mutex_lock(&o.lock);
	while (!o.done)
		pthread_cond_wait(&o.cond, &o.lock);
	pthread_mutex_unlock(&o.lock);
	vm_timer_free(t);
}

/* A server on the first free display from 40 (the tests of other
 * worktrees may hold some). */
static void start_vnc(struct fixture *f, bool password, const char *initial)
{
	char err[256] = "";

	for (unsigned n = 40; n <= VNC_MAX_DISPLAY && !f->vnc; n++) {
		struct vnc_config cfg = {.display = n, .password = password,
					 .initial_password = initial};

		f->vnc = vnc_new(f->loop, f->d, f->in, &cfg, err, sizeof(err));
	}
	if (!f->vnc)
		fail_msg("no VNC server: %s", err);
	f->port = vnc_port(f->vnc);
}

static struct fixture *fixture_new(bool password, const char *initial)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pthread_mutex_init(&f->src.lock, NULL);
	pthread_mutex_init(&f->keys.lock, NULL);
	f->loop = event_loop_new();
	f->d = display_new();
	f->in = input_new();
	assert_non_null(f->loop);
	assert_non_null(f->d);
	assert_non_null(f->in);
	f->src.d = f->d;
	source_fill(&f->src, 64, 48);
	display_set_source(f->d, &source_ops, &f->src);
	display_resize(f->d, &(struct display_image){f->src.pixels, 64, 48, 64 * 4});
	input_set_keyboard(f->in, &kbd_ops, &f->keys);
	input_set_mouse(f->in, &mouse_ops, &f->keys);
	input_set_running(f->in, true);
	start_vnc(f, password, initial);
	start_loop(f);
	return f;
}

static void fixture_free(struct fixture *f)
{
	stop_loop(f);
	vnc_free(f->vnc);
	display_free(f->d);
	input_free(f->in);
	event_loop_free(f->loop);
	free(f->src.pixels);
	free(f);
}

/* ---- the client ---- */

static const char *client_password;

static char *get_password(rfbClient *cl)
{
	(void)cl;
	return strdup(client_password ? client_password : "");
}

static void quiet(const char *format, ...)
{
	(void)format;
}

static int got_updates;
static void got_fb(rfbClient *c, int x, int y, int w, int h)
{
	(void)c;
	got_updates++;
	(void)x, (void)y, (void)w, (void)h;
}

static rfbClient *connect_client(struct fixture *f, const char *password)
{
	rfbClient *cl = rfbGetClient(8, 3, 4);

	assert_non_null(cl);
	rfbClientLog = quiet;
	rfbClientErr = quiet;
	client_password = password;
	cl->GetPassword = get_password;
	cl->GotFrameBufferUpdate = got_fb;
	/* lossless: no JPEG in Tight */
	cl->appData.enableJPEG = FALSE;
	cl->appData.encodingsString = "tight zrle hextile copyrect raw";
	cl->serverHost = strdup("127.0.0.1");
	cl->serverPort = (int)f->port;
	if (!rfbInitClient(cl, NULL, NULL))
		return NULL; /* rfbInitClient freed it */
	return cl;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The client's picture, in its own pixel format, equals the source's. */
static bool client_matches(rfbClient *cl, struct source *s)
{
	bool same = true;

	pthread_mutex_lock(&s->lock);
	if ((unsigned)cl->width != s->w || (unsigned)cl->height != s->h) {
		same = false;
	} else {
		const uint32_t *fb = (const uint32_t *)cl->frameBuffer;

		for (unsigned i = 0; i < s->w * s->h && same; i++) {
			uint32_t p = s->pixels[i], c = fb[i];
			uint32_t r = c >> cl->format.redShift & 0xff, g = c >> cl->format.greenShift & 0xff,
				 b = c >> cl->format.blueShift & 0xff;

			same = r == (p >> 16 & 0xff) && g == (p >> 8 & 0xff) && b == (p & 0xff);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return same;
}

/* Handles the server's messages, asking for updates, until the picture
 * matches (or 5 s pass). */
static void sync_picture(rfbClient *cl, struct fixture *f)
{
	uint64_t end = now_ms() + 5000;

	while (now_ms() < end) {
		int r = WaitForMessage(cl, 50000);

		assert_true(r >= 0);
		if (r > 0)
			assert_true(HandleRFBServerMessage(cl));
		/* already read into libvncclient's buffer: select() misses it */
		while (cl->buffered > 0)
			assert_true(HandleRFBServerMessage(cl));
		if (client_matches(cl, &f->src))
			return;
		SendFramebufferUpdateRequest(cl, 0, 0, cl->width, cl->height, TRUE);
	}
	fail_msg("pixel 0: client 0x%x (shifts %d %d %d) source 0x%x; 1: 0x%x 0x%x; "
		 "the client's picture (%dx%d) never matched the source (%ux%u)",
		 ((uint32_t *)cl->frameBuffer)[0], cl->format.redShift, cl->format.greenShift,
		 cl->format.blueShift, f->src.pixels[0], ((uint32_t *)cl->frameBuffer)[1],
		 f->src.pixels[1], cl->width,
		 cl->height, f->src.w, f->src.h);
}

static void wait_keys(struct fixture *f, rfbClient *cl, unsigned n)
{
	uint64_t end = now_ms() + 5000;

	while (now_ms() < end) {
		unsigned have;

		pthread_mutex_lock(&f->keys.lock);
		have = f->keys.n;
		pthread_mutex_unlock(&f->keys.lock);
		if (have >= n)
			return;
		if (WaitForMessage(cl, 20000) > 0)
			assert_true(HandleRFBServerMessage(cl));
	}
	fail_msg("only %u of %u key events arrived", f->keys.n, n);
}

static void close_client(rfbClient *cl)
{
	/* the default MallocFrameBuffer's buffer is the application's */
	free(cl->frameBuffer);
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl);
}

/* ---- tests ---- */

static void test_picture_resize_keys(void **state)
{
	struct fixture *f = fixture_new(false, NULL);
	rfbClient *cl = connect_client(f, NULL);
	uint64_t end;

	(void)state;
	assert_non_null(cl);
	sync_picture(cl, f);

	/* a new guest resolution: the client follows without reconnecting */
	pthread_mutex_lock(&f->src.lock);
	f->src.want_w = 100;
	f->src.want_h = 60;
	pthread_mutex_unlock(&f->src.lock);
	end = now_ms() + 3000;
	for (;;) {
		unsigned w;

		pthread_mutex_lock(&f->src.lock);
		w = f->src.w;
		pthread_mutex_unlock(&f->src.lock);
		if (w == 100)
			break;
		assert_true(now_ms() < end);
		if (WaitForMessage(cl, 20000) > 0)
			assert_true(HandleRFBServerMessage(cl));
	}
	sync_picture(cl, f);
	assert_int_equal(cl->width, 100);
	assert_int_equal(cl->height, 60);

	/* the extended key event: its ack follows an update */
	end = now_ms() + 3000;
	while (!SupportsClient2Server(cl, rfbQemuEvent) && now_ms() < end)
		if (WaitForMessage(cl, 20000) > 0)
			assert_true(HandleRFBServerMessage(cl));
	assert_true(SupportsClient2Server(cl, rfbQemuEvent));
	assert_true(SendExtendedKeyEvent(cl, XK_Control_R, 0x9d, TRUE));
	assert_true(SendExtendedKeyEvent(cl, XK_Control_R, 0x9d, FALSE));
	assert_true(SendExtendedKeyEvent(cl, XK_b, 0x30, TRUE));
	assert_true(SendExtendedKeyEvent(cl, XK_b, 0x30, FALSE));
	/* plain keysyms, through the en-us layout */
	assert_true(SendKeyEvent(cl, XK_a, TRUE));
	assert_true(SendKeyEvent(cl, XK_a, FALSE));
	assert_true(SendKeyEvent(cl, XK_exclam, TRUE));
	assert_true(SendKeyEvent(cl, XK_exclam, FALSE));
	wait_keys(f, cl, 10);
	{
		const unsigned want[] = {0x19d, 0x9d, 0x130, 0x30, 0x11e, 0x1e,
					 0x12a, 0x102, 0x2a, 0x02};

		for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			assert_int_equal(f->keys.ev[i], want[i]);
	}

	/* a key held when the client goes is released */
	assert_true(SendKeyEvent(cl, XK_Shift_L, TRUE));
	wait_keys(f, cl, 11);
	close_client(cl);
	end = now_ms() + 5000;
	for (;;) {
		unsigned n;

		pthread_mutex_lock(&f->keys.lock);
		n = f->keys.n;
		pthread_mutex_unlock(&f->keys.lock);
		if (n >= 12)
			break;
		assert_true(now_ms() < end);
		usleep(10000);
	}
	assert_int_equal(f->keys.ev[10], 0x12a);
	assert_int_equal(f->keys.ev[11], 0x2a);

	stop_loop(f);
	{
		json_t *j = vnc_stats_json(f->vnc, false);

		assert_non_null(j);
		assert_int_equal(json_integer_value(json_object_get(j, "clients")), 0);
		assert_int_equal(json_integer_value(json_object_get(j, "connections")), 1);
		assert_true(json_integer_value(json_object_get(j, "updates")) >= 2);
		assert_true(json_integer_value(json_object_get(j, "bytes_sent")) > 64 * 48 * 4);
		assert_int_equal(json_integer_value(json_object_get(j, "ext_keys")), 4);
		assert_true(json_integer_value(json_object_get(j, "keys")) >= 5);
		json_decref(j);
	}
	fixture_free(f);
}

static void set_secret(struct fixture *f)
{
	vnc_set_password(f->vnc, "secret");
}

static void remove_source(struct fixture *f)
{
	display_set_source(f->d, NULL, NULL);
}

static void test_password(void **state)
{
	struct fixture *f = fixture_new(true, NULL);
	rfbClient *cl;

	(void)state;
	/* no password set yet: nobody gets in, whatever they say */
	assert_null(connect_client(f, ""));
	assert_null(connect_client(f, "secret"));
	run_on_loop(f, set_secret);
	assert_null(connect_client(f, "wrong"));
	cl = connect_client(f, "secret");
	assert_non_null(cl);
	sync_picture(cl, f);
	close_client(cl);
	fixture_free(f);

	/* an initial password (--vnc-password-file); only 8 characters count */
	f = fixture_new(true, "longerthan8");
	cl = connect_client(f, "longerth");
	assert_non_null(cl);
	close_client(cl);
	fixture_free(f);
}

/* No picture: a blank screen, still there for input. */
static void test_blank(void **state)
{
	struct fixture *f = fixture_new(false, NULL);
	rfbClient *cl;

	(void)state;
	run_on_loop(f, remove_source);
	cl = connect_client(f, NULL);
	assert_non_null(cl);
	assert_int_equal(cl->width, VNC_BLANK_W);
	assert_int_equal(cl->height, VNC_BLANK_H);
	assert_true(SendKeyEvent(cl, XK_Return, TRUE));
	wait_keys(f, cl, 1);
	assert_int_equal(f->keys.ev[0], 0x11c);
	close_client(cl);
	fixture_free(f);
}

/* The pointer: RFB buttons 1-3 to left/middle/right, 4/5 to wheel clicks,
 * positions to relative motion for the PS/2 mouse. */
static void test_pointer(void **state)
{
	struct fixture *f = fixture_new(false, NULL);
	rfbClient *cl = connect_client(f, NULL);

	(void)state;
	assert_non_null(cl);
	assert_true(SendPointerEvent(cl, 10, 10, 0));
	assert_true(SendPointerEvent(cl, 15, 7, rfbButton1Mask));
	assert_true(SendPointerEvent(cl, 15, 7, rfbButton3Mask));
	assert_true(SendPointerEvent(cl, 15, 7, rfbButton5Mask));
	assert_true(SendPointerEvent(cl, 15, 7, 0));
	assert_true(SendPointerEvent(cl, 15, 7, rfbButton4Mask));
	wait_keys(f, cl, 6);
	pthread_mutex_lock(&f->keys.lock);
	assert_int_equal(f->keys.ev[0], 0x1000);
	assert_int_equal(f->keys.ev[1], 0x1000 | INPUT_BTN_LEFT << 8);
	assert_int_equal(f->keys.ev[2], 0x1000 | INPUT_BTN_RIGHT << 8);
	assert_int_equal(f->keys.ev[3], 0x1000 | 1); /* wheel down: towards the user */
	assert_int_equal(f->keys.ev[4], 0x1000);
	assert_int_equal(f->keys.ev[5], 0x1000 | 0xff); /* wheel up: -1 */
	assert_int_equal(mouse_dx, 5);
	assert_int_equal(mouse_dy, -3);
	pthread_mutex_unlock(&f->keys.lock);
	close_client(cl);
	fixture_free(f);
}

static unsigned refreshes(struct fixture *f)
{
	unsigned n;

	pthread_mutex_lock(&f->src.lock);
	n = f->src.refreshes;
	pthread_mutex_unlock(&f->src.lock);
	return n;
}

/* Handles the server's messages for ms milliseconds. */
static void pump_ms(rfbClient *cl, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		if (WaitForMessage(cl, 20000) > 0)
			assert_true(HandleRFBServerMessage(cl));
		while (cl->buffered > 0)
			assert_true(HandleRFBServerMessage(cl));
	}
}

/* A still screen: the frame timer backs off to VNC_FRAME_IDLE_NS (at the
 * full rate 2 s would be 60 looks), a change after that still reaches the
 * client within about that period, and a key brings the full rate back. */
static void test_still_backs_off(void **state)
{
	struct fixture *f = fixture_new(false, NULL);
	rfbClient *cl = connect_client(f, NULL);
	unsigned r0, r1;
	uint64_t t0;

	(void)state;
	_Static_assert(VNC_FRAME_IDLE_NS == 1000000000ull, "the figures below assume 1 s");
	assert_non_null(cl);
	sync_picture(cl, f);
	pump_ms(cl, 2500); /* 33 ms doubling to 1 s: about 2 s */
	r0 = refreshes(f);
	pump_ms(cl, 2000);
	r1 = refreshes(f);
	assert_in_range(r1 - r0, 1, 4);

	pthread_mutex_lock(&f->src.lock);
	f->src.want_w = 80;
	f->src.want_h = 50;
	pthread_mutex_unlock(&f->src.lock);
	t0 = now_ms();
	while (cl->width != 80) {
		assert_true(now_ms() < t0 + 1800);
		pump_ms(cl, 20);
	}
	sync_picture(cl, f);

	pump_ms(cl, 2500);
	assert_true(SendKeyEvent(cl, XK_a, TRUE));
	assert_true(SendKeyEvent(cl, XK_a, FALSE));
	wait_keys(f, cl, 2);
	r0 = refreshes(f);
	pump_ms(cl, 300); /* looks 33, 66 and 133 ms apart again */
	r1 = refreshes(f);
	assert_true(r1 - r0 >= 2);
	close_client(cl);
	fixture_free(f);
}

/* A port in use: a clear error, and the first server keeps working. */
static void test_port_in_use(void **state)
{
	struct fixture *f = fixture_new(false, NULL);
	struct vnc_config cfg = {.display = f->port - VNC_PORT_BASE};
	char err[256] = "";

	(void)state;
	stop_loop(f);
	assert_null(vnc_new(f->loop, NULL, NULL, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	cfg.host = "not-an-address";
	cfg.display = 0;
	assert_null(vnc_new(f->loop, NULL, NULL, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "not-an-address"));
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_picture_resize_keys),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_blank),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_still_backs_off),
		cmocka_unit_test(test_port_in_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
