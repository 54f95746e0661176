// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VNC server over libvncserver, driven by the I/O thread's event loop:
 * vmm/vnc.h.
 *
 * Facts from libvncserver 0.9.14 (rfb/rfb.h, libvncserver/main.c,
 * rfbserver.c, sockets.c): without rfbRunEventLoop() the library starts no
 * thread (backgroundLoop stays FALSE), rfbProcessEvents() selects over its
 * own fd_set and sends the pending updates; rfbInitSockets() leaves
 * listenSock at -1 when it cannot listen; rfbNewFramebuffer() resets the
 * server pixel format, so the pixels are converted into the library's
 * layout (red in the low byte) rather than the format changed.  The QEMU
 * extended key event as QEMU's ui/vnc.c sends and takes it.
 */
#include "vmm/vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>

#include <rfb/rfb.h>

#include "vmm/display.h"
#include "vmm/input.h"
#include "vmm/keymap.h"
#include "vmm/loop.h"
#include "vmm/timer.h"

#define QEMU_EXT_KEY_ENCODING ((int)0xfffffefe) /* -258 */
#define QEMU_EXT_KEY_REST     11		 /* the message after its type byte */
#define MAX_CLIENTS	      16

/* Totals of the clients gone and the server's own counters. */
struct vnc_counters {
	uint64_t connections, refused, updates, bytes, frames, damaged_frames, resizes;
	uint64_t keys, ext_keys, unmapped_keys, pointer_events, bad_messages;
	uint64_t encoder_ns;
};

struct vnc_client {
	struct vnc *vnc;
	int fd; /* as watched: the library closes cl->sock before clientGoneHook */
	struct keymap_state keys;
	int buttons; /* RFB button mask last seen */
	bool ext_key_ack_pending;
};

struct vnc {
	struct event_loop *loop;
	struct display *display;
	struct input *input;
	const struct keymap *keymap;
	rfbScreenInfoPtr screen;
	struct vm_timer *frame;
	uint64_t frame_ns; /* the frame timer's period: VNC_FRAME_NS, more while still */
	bool frame_armed;
	bool frame_damaged; /* this tick's refresh reported damage */
	int listen_fds[2];

	uint32_t *fb; /* the library's framebuffer: width * height, no padding */
	unsigned width, height;
	bool blank; /* no picture: a black screen */

	bool need_password;
	bool have_password;
	char password[VNC_PASSWORD_MAX + 1];

	unsigned nr_clients;
	struct vnc_counters c;
};

/* ---- the library's log ---- */

/* The library is chatty (every connection, every encoding): quiet unless
 * MINIVMM_VNC_DEBUG is set; its errors are turned into our own messages
 * where they matter.  (Its log hooks have no context: one for all.) */
static int last_lib_errno;

static void lib_vlog(const char *format, va_list ap)
{
	if (!getenv("MINIVMM_VNC_DEBUG"))
		return;
	fputs("minivmm: vnc: ", stderr);
	vfprintf(stderr, format, ap);
}

__attribute__((format(printf, 1, 2))) static void lib_log(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	lib_vlog(format, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static void lib_err(const char *format, ...)
{
	va_list ap;

	last_lib_errno = errno;
	va_start(ap, format);
	lib_vlog(format, ap);
	va_end(ap);
}

/* ---- framebuffer ---- */

/* 0x00RRGGBB to the library's default 32-bit format: red in bits 0-7. */
static inline uint32_t to_lib_pixel(uint32_t p)
{
	return (p & 0x0000ff00u) | (p >> 16 & 0xffu) | (p & 0xffu) << 16;
}

static void copy_rect(struct vnc *v, const struct display_image *img, unsigned x, unsigned y,
		      unsigned w, unsigned h)
{
	if (x >= v->width || y >= v->height || x >= img->width || y >= img->height)
		return;
	if (w > v->width - x)
		w = v->width - x;
	if (w > img->width - x)
		w = img->width - x;
	if (h > v->height - y)
		h = v->height - y;
	if (h > img->height - y)
		h = img->height - y;
	for (unsigned row = y; row < y + h; row++) {
		const uint32_t *src = img->pixels + row * (img->stride / 4) + x;
		uint32_t *dst = v->fb + (size_t)row * v->width + x;

		for (unsigned i = 0; i < w; i++)
			dst[i] = to_lib_pixel(src[i]);
	}
}

/* A new framebuffer of the image's size (or the blank one), filled. */
static int new_framebuffer(struct vnc *v, const struct display_image *img)
{
	unsigned w = img ? img->width : VNC_BLANK_W, h = img ? img->height : VNC_BLANK_H;
	uint32_t *fb, *old = v->fb;

	if (!w || !h) {
		img = NULL;
		w = VNC_BLANK_W;
		h = VNC_BLANK_H;
	}
	fb = calloc((size_t)w * h, 4);
	if (!fb)
		return -1;
	v->fb = fb;
	v->width = w;
	v->height = h;
	v->blank = !img;
	if (img)
		copy_rect(v, img, 0, 0, w, h);
	if (v->screen) {
		rfbNewFramebuffer(v->screen, (char *)fb, (int)w, (int)h, 8, 3, 4);
		v->c.resizes++;
	}
	free(old);
	return 0;
}

static void on_resize(void *opaque, const struct display_image *img)
{
	struct vnc *v = opaque;

	if (!img && v->blank)
		return;
	if (new_framebuffer(v, img) < 0)
		fprintf(stderr, "minivmm: vnc: out of memory for a %ux%u screen\n",
			img ? img->width : VNC_BLANK_W, img ? img->height : VNC_BLANK_H);
}

static void on_damage(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
	struct vnc *v = opaque;
	const struct display_image *img = display_image(v->display);

	if (!img || v->blank || img->width != v->width || img->height != v->height)
		return;
	copy_rect(v, img, x, y, w, h);
	if (x < v->width && y < v->height) {
		unsigned x2 = w > v->width - x ? v->width : x + w;
		unsigned y2 = h > v->height - y ? v->height : y + h;

		rfbMarkRectAsModified(v->screen, (int)x, (int)y, (int)x2, (int)y2);
		v->frame_damaged = true;
	}
}

static const struct display_listener_ops vnc_listener = {
	.resize = on_resize,
	.damage = on_damage,
};

/* ---- running the library ---- */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void send_pending_acks(struct vnc *v);

static void process(struct vnc *v)
{
	uint64_t t0 = thread_cpu_ns();

	rfbProcessEvents(v->screen, 0);
	send_pending_acks(v);
	v->c.encoder_ns += thread_cpu_ns() - t0;
}

static void arm_frame(struct vnc *v)
{
	vm_timer_mod(v->frame, vm_clock_ns() + v->frame_ns);
	v->frame_armed = true;
}

/* Something is likely to change soon (a client came or typed): back to the
 * full frame rate, and the next look within VNC_FRAME_NS. */
static void frame_soon(struct vnc *v)
{
	if (v->frame_ns == VNC_FRAME_NS)
		return;
	v->frame_ns = VNC_FRAME_NS;
	if (v->frame_armed)
		arm_frame(v);
}

static void frame_tick(void *opaque)
{
	struct vnc *v = opaque;

	v->frame_armed = false;
	if (!v->nr_clients)
		return;
	v->frame_damaged = false;
	if (v->display)
		display_refresh(v->display, false);
	v->c.frames++;
	if (v->frame_damaged) {
		v->c.damaged_frames++;
		v->frame_ns = VNC_FRAME_NS;
	} else if (v->frame_ns < VNC_FRAME_IDLE_NS) {
		/* Nothing changed: look less often (QEMU backs off too, by
		 * 50 ms steps up to 3 s; doubling gets there in 5 frames). */
		v->frame_ns = v->frame_ns * 2 > VNC_FRAME_IDLE_NS ? VNC_FRAME_IDLE_NS
								  : v->frame_ns * 2;
	}
	process(v);
	if (v->nr_clients && !v->frame_armed)
		arm_frame(v);
}

static void on_fd(void *opaque, uint32_t events)
{
	(void)events;
	process(opaque);
}

/* ---- clients ---- */

/* The counters of a client, into the totals (when it goes). */
static void take_client_counters(struct vnc *v, rfbClientPtr cl)
{
	v->c.updates += (uint64_t)rfbStatGetMessageCountSent(cl, rfbFramebufferUpdate);
	v->c.bytes += (uint64_t)rfbStatGetSentBytes(cl);
}

static rfbProtocolExtension qemu_ext_key;

static void client_gone(rfbClientPtr cl)
{
	struct vnc_client *vc = cl->clientData;
	struct vnc *v;
	bool reused = false;
	rfbClientIteratorPtr it;
	rfbClientPtr other;

	if (!vc)
		return;
	v = vc->vnc;
	take_client_counters(v, cl);
	/* The fd number may already belong to a client accepted since. */
	it = rfbGetClientIterator(v->screen);
	while ((other = rfbClientIteratorNext(it)))
		if (other != cl && other->sock == vc->fd)
			reused = true;
	rfbReleaseClientIterator(it);
	if (!reused)
		event_loop_del_fd(v->loop, vc->fd);
	if (v->input)
		input_release_all(v->input);
	v->nr_clients--;
	/* libvncserver 0.9.14 frees no client's extension records (and its
	 * rfbDisableExtension() only their data): ours go here. */
	for (rfbExtensionData **e = &cl->extensions; *e;) {
		rfbExtensionData *dead = *e;

		if (dead->extension != &qemu_ext_key) {
			e = &dead->next;
			continue;
		}
		*e = dead->next;
		free(dead->data);
		free(dead);
	}
	cl->clientData = NULL;
	free(vc);
}

static enum rfbNewClientAction client_new(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;
	struct vnc_client *vc;

	if (v->nr_clients >= MAX_CLIENTS) {
		v->c.refused++;
		return RFB_CLIENT_REFUSE;
	}
	vc = calloc(1, sizeof(*vc));
	if (!vc) {
		v->c.refused++;
		return RFB_CLIENT_REFUSE;
	}
	vc->vnc = v;
	vc->fd = cl->sock;
	/* A stale watch of a closed socket with the same number goes first. */
	event_loop_del_fd(v->loop, vc->fd);
	if (event_loop_add_fd(v->loop, vc->fd, EPOLLIN, on_fd, v) < 0) {
		free(vc);
		v->c.refused++;
		return RFB_CLIENT_REFUSE;
	}
	cl->clientData = vc;
	cl->clientGoneHook = client_gone;
	v->nr_clients++;
	v->c.connections++;
	frame_soon(v);
	if (v->nr_clients == 1) {
		/* The picture may have changed while nobody looked. */
		if (v->display)
			display_refresh(v->display, true);
		if (!v->frame_armed)
			arm_frame(v);
	}
	return RFB_CLIENT_ACCEPT;
}

/* VNC authentication: the client's DES of our challenge with the password
 * as key.  No password yet: nobody gets in. */
static rfbBool check_password(rfbClientPtr cl, const char *response, int len)
{
	struct vnc *v = cl->screen->screenData;
	unsigned char expect[CHALLENGESIZE];
	unsigned char diff = 0;

	if (!v->have_password || len != CHALLENGESIZE)
		return FALSE;
	memcpy(expect, cl->authChallenge, CHALLENGESIZE);
	rfbEncryptBytes(expect, v->password);
	for (int i = 0; i < CHALLENGESIZE; i++)
		diff |= expect[i] ^ (unsigned char)response[i];
	return diff == 0;
}

/* ---- input ---- */

static void key_event(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc_client *vc = cl->clientData;
	struct vnc *v = cl->screen->screenData;
	struct keymap_event ev[KEYMAP_MAX_EVENTS];
	size_t n;

	if (!vc)
		return;
	v->c.keys++;
	frame_soon(v);
	n = keymap_translate(v->keymap, &vc->keys, keysym, down, ev);
	if (!n)
		v->c.unmapped_keys++;
	for (size_t i = 0; i < n && v->input; i++)
		input_key(v->input, ev[i].qnum, ev[i].down);
}

/* RFB buttons: 1 left, 2 middle, 3 right, 4/5 wheel up/down. */
static void pointer_event(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc_client *vc = cl->clientData;
	struct vnc *v = cl->screen->screenData;
	unsigned buttons = 0;
	int dz = 0, pressed;

	if (!vc)
		return;
	v->c.pointer_events++;
	frame_soon(v);
	pressed = mask & ~vc->buttons;
	vc->buttons = mask;
	if (mask & 0x01)
		buttons |= INPUT_BTN_LEFT;
	if (mask & 0x02)
		buttons |= INPUT_BTN_MIDDLE;
	if (mask & 0x04)
		buttons |= INPUT_BTN_RIGHT;
	if (pressed & 0x08)
		dz--;
	if (pressed & 0x10)
		dz++;
	if (v->input)
		input_pointer(v->input, x, y, v->width, v->height, dz, buttons);
}

/* ---- the QEMU extended key event ---- */

static int qemu_ext_key_encodings[] = {QEMU_EXT_KEY_ENCODING, 0};

/* The ack QEMU sends: a FramebufferUpdate of one rectangle of the screen's
 * size with the pseudo-encoding. */
static void ext_key_send_ack(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;
	unsigned char msg[sz_rfbFramebufferUpdateMsg + sz_rfbFramebufferUpdateRectHeader] = {0};
	uint32_t enc = (uint32_t)QEMU_EXT_KEY_ENCODING;
	int ok;

	msg[0] = rfbFramebufferUpdate;
	msg[3] = 1; /* one rectangle */
	/* x = y = 0 */
	msg[8] = (unsigned char)(v->width >> 8);
	msg[9] = (unsigned char)v->width;
	msg[10] = (unsigned char)(v->height >> 8);
	msg[11] = (unsigned char)v->height;
	msg[12] = (unsigned char)(enc >> 24);
	msg[13] = (unsigned char)(enc >> 16);
	msg[14] = (unsigned char)(enc >> 8);
	msg[15] = (unsigned char)enc;
	LOCK(cl->sendMutex);
	ok = rfbWriteExact(cl, (const char *)msg, sizeof(msg));
	UNLOCK(cl->sendMutex);
	if (ok < 0)
		rfbCloseClient(cl);
}

/* The ack goes out after the update with the SupportedMessages rectangle
 * (send_pending_acks), not at once: the library's
 * first update carries its SupportedMessages rectangle, which does not
 * list message 255, and libvncclient takes that list as replacing what
 * the ack told it. */
static rfbBool ext_key_enable(rfbClientPtr cl, void **data, int encoding)
{
	struct vnc_client *vc = cl->clientData;

	(void)data;
	if (encoding != QEMU_EXT_KEY_ENCODING)
		return FALSE;
	if (vc)
		vc->ext_key_ack_pending = true;
	return TRUE;
}

/* After each pass of the library: the acks whose SupportedMessages went. */
static void send_pending_acks(struct vnc *v)
{
	rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
	rfbClientPtr cl;

	while ((cl = rfbClientIteratorNext(it))) {
		struct vnc_client *vc = cl->clientData;

		if (vc && vc->ext_key_ack_pending && cl->sock >= 0 &&
		    cl->state == RFB_NORMAL && !cl->enableSupportedMessages) {
			vc->ext_key_ack_pending = false;
			ext_key_send_ack(cl);
		}
	}
	rfbReleaseClientIterator(it);
}

static rfbBool ext_key_message(rfbClientPtr cl, void *data, const rfbClientToServerMsg *msg)
{
	struct vnc *v = cl->screen->screenData;
	unsigned char b[QEMU_EXT_KEY_REST];
	unsigned down, keycode;
	uint32_t keysym;

	(void)data;
	if (msg->type != rfbQemuEvent)
		return FALSE;
	if (rfbReadExact(cl, (char *)b, sizeof(b)) <= 0) {
		rfbCloseClient(cl);
		return TRUE;
	}
	/* Only subtype 0 (keys) has this length; audio (1) and others are
	 * not understood and their length is unknown: the client goes. */
	if (b[0] != 0) {
		v->c.bad_messages++;
		rfbCloseClient(cl);
		return TRUE;
	}
	down = (unsigned)b[1] << 8 | b[2];
	keysym = (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 | (uint32_t)b[5] << 8 | b[6];
	keycode = (unsigned)b[7] << 24 | (unsigned)b[8] << 16 | (unsigned)b[9] << 8 | b[10];
	if (!keycode) {
		/* no key: the keysym is what the client has */
		key_event(down != 0, keysym, cl);
		return TRUE;
	}
	v->c.ext_keys++;
	frame_soon(v);
	if (keycode > INPUT_QNUM_MAX) {
		v->c.unmapped_keys++;
		return TRUE;
	}
	if (v->input && cl->clientData)
		input_key(v->input, keycode, down != 0);
	return TRUE;
}

static rfbProtocolExtension qemu_ext_key = {
	.pseudoEncodings = qemu_ext_key_encodings,
	.enablePseudoEncoding = ext_key_enable,
	.handleMessage = ext_key_message,
};

/* ---- setup ---- */

static int parse_host(struct vnc *v, const char *host, unsigned port, char *err, size_t errlen)
{
	struct in_addr a4;
	struct in6_addr a6;
	rfbScreenInfoPtr s = v->screen;

	s->port = 0;
	s->ipv6port = 0;
	s->listen6Interface = NULL;
	if (!host || !strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &a4) == 1) {
		s->port = (int)port;
		s->listenInterface = a4.s_addr;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		s->ipv6port = (int)port;
		s->listen6Interface = (char *)host;
		/* "::" binds all: the IPv4 side too (the IPv6 socket is v6-only) */
		if (IN6_IS_ADDR_UNSPECIFIED(&a6)) {
			s->listen6Interface = NULL;
			s->port = (int)port;
			s->listenInterface = htonl(INADDR_ANY);
		}
		return 0;
	}
	snprintf(err, errlen, "'%s' is not a numeric IPv4 or IPv6 address", host);
	return -1;
}

static int watch_listeners(struct vnc *v, char *err, size_t errlen)
{
	int fds[2] = {v->screen->listenSock, v->screen->listen6Sock};

	for (int i = 0; i < 2; i++) {
		int r;

		if (fds[i] < 0)
			continue;
		r = event_loop_add_fd(v->loop, fds[i], EPOLLIN, on_fd, v);
		if (r < 0) {
			snprintf(err, errlen, "cannot watch the listening socket: %s",
				 strerror(-r));
			return -1;
		}
		v->listen_fds[i] = fds[i];
	}
	return 0;
}

/*
 * The library keeps its sockets in an fd_set: a client fd at FD_SETSIZE or
 * above would be written past its end.  It refuses a connection when more
 * than fdQuota of RLIMIT_NOFILE fds are open; accept() gives the lowest
 * free number, so a quota of fewer than FD_SETSIZE open fds keeps every
 * client below FD_SETSIZE, whatever the limit is.
 */
static void limit_fds(rfbScreenInfoPtr s)
{
	struct rlimit rl;

	/* (An unlimited RLIMIT_NOFILE is not handled: the library counts
	 * open fds up to the limit on every connection.) */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > 0) {
		double q = (double)(FD_SETSIZE - 64) / (double)rl.rlim_cur;

		if (q < s->fdQuota)
			s->fdQuota = (float)q;
	}
}

struct vnc *vnc_new(struct event_loop *loop, struct display *d, struct input *in,
		    const struct vnc_config *cfg, char *err, size_t errlen)
{
	static rfbBool extension_registered;
	int argc = 1;
	char arg0[] = "minivmm", *argv[] = {arg0, NULL};
	unsigned port = VNC_PORT_BASE + cfg->display;
	struct vnc *v;

	if (cfg->display > VNC_MAX_DISPLAY) {
		snprintf(err, errlen, "display %u is not 0..%d", cfg->display,
			 VNC_MAX_DISPLAY);
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		goto nomem;
	v->loop = loop;
	v->display = d;
	v->input = in;
	v->keymap = cfg->keymap ? cfg->keymap : keymap_find("en-us");
	v->listen_fds[0] = v->listen_fds[1] = -1;
	v->need_password = cfg->password || cfg->initial_password;
	if (cfg->initial_password)
		vnc_set_password(v, cfg->initial_password);
	v->frame = vm_timer_new(loop, frame_tick, v);
	v->frame_ns = VNC_FRAME_NS;
	if (!v->frame)
		goto nomem;
	if (new_framebuffer(v, d ? (display_refresh(d, true), display_image(d)) : NULL) < 0)
		goto nomem;

	rfbLog = lib_log;
	rfbErr = lib_err;
	if (!extension_registered) {
		rfbRegisterProtocolExtension(&qemu_ext_key);
		extension_registered = TRUE;
	}
	v->screen = rfbGetScreen(&argc, argv, (int)v->width, (int)v->height, 8, 3, 4);
	if (!v->screen)
		goto nomem;
	v->screen->screenData = v;
	/* The guest draws its own pointer: the library's default cursor would
	 * be painted into the picture. */
	rfbSetCursor(v->screen, NULL);
	v->screen->frameBuffer = (char *)v->fb;
	v->screen->desktopName = "minivmm";
	v->screen->alwaysShared = TRUE;
	v->screen->deferUpdateTime = 0; /* the frame timer paces updates */
	/* The library writes blocking: a client that stops reading holds the
	 * I/O thread at most this long (ms) before it is dropped. */
	v->screen->maxClientWait = 2000;
	limit_fds(v->screen);
	v->screen->newClientHook = client_new;
	v->screen->kbdAddEvent = key_event;
	v->screen->ptrAddEvent = pointer_event;
	if (v->need_password) {
		/* Non-NULL selects VNC authentication; the check is ours. */
		v->screen->authPasswdData = v;
		v->screen->passwordCheck = check_password;
	}
	if (parse_host(v, cfg->host, port, err, errlen) < 0)
		goto fail;
	last_lib_errno = 0;
	rfbInitServer(v->screen);
	if ((v->screen->port && v->screen->listenSock < 0) ||
	    (v->screen->ipv6port && v->screen->listen6Sock < 0)) {
		snprintf(err, errlen, "cannot listen on %s port %u: %s",
			 cfg->host ? cfg->host : "127.0.0.1", port,
			 last_lib_errno ? strerror(last_lib_errno) : "failed");
		goto fail;
	}
	if (watch_listeners(v, err, errlen) < 0)
		goto fail;
	if (d && display_add_listener(d, &vnc_listener, v) < 0) {
		snprintf(err, errlen, "the display has no room for another viewer");
		goto fail;
	}
	return v;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	vnc_free(v);
	return NULL;
}

void vnc_free(struct vnc *v)
{
	if (!v)
		return;
	if (v->display)
		display_remove_listener(v->display, &vnc_listener, v);
	for (int i = 0; i < 2; i++)
		if (v->listen_fds[i] >= 0)
			event_loop_del_fd(v->loop, v->listen_fds[i]);
	if (v->screen) {
		/* Closes every client (client_gone runs for each) and the
		 * listening sockets. */
		rfbShutdownServer(v->screen, TRUE);
		rfbScreenCleanup(v->screen);
	}
	if (v->frame)
		vm_timer_free(v->frame);
	memset(v->password, 0, sizeof(v->password));
	free(v->fb);
	free(v);
}

void vnc_set_password(struct vnc *v, const char *password)
{
	memset(v->password, 0, sizeof(v->password));
	strncpy(v->password, password, VNC_PASSWORD_MAX);
	v->have_password = true;
}

unsigned vnc_port(const struct vnc *v)
{
	return (unsigned)(v->screen->port ? v->screen->port : v->screen->ipv6port);
}

unsigned vnc_clients(const struct vnc *v)
{
	return v->nr_clients;
}

struct json_t *vnc_stats_json(struct vnc *v, bool reset)
{
	struct vnc_counters c = v->c;
	rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
	rfbClientPtr cl;
	json_t *j;

	/* The live clients' counters on top of the totals. */
	while ((cl = rfbClientIteratorNext(it))) {
		c.updates += (uint64_t)rfbStatGetMessageCountSent(cl, rfbFramebufferUpdate);
		c.bytes += (uint64_t)rfbStatGetSentBytes(cl);
	}
	rfbReleaseClientIterator(it);
	j = json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI sI}",
		      "clients", (json_int_t)v->nr_clients,
		      "connections", (json_int_t)c.connections,
		      "refused", (json_int_t)c.refused,
		      "updates", (json_int_t)c.updates,
		      "bytes_sent", (json_int_t)c.bytes,
		      "encoder_cpu_ns", (json_int_t)c.encoder_ns,
		      "frames", (json_int_t)c.frames,
		      "damaged_frames", (json_int_t)c.damaged_frames,
		      "resizes", (json_int_t)c.resizes,
		      "keys", (json_int_t)c.keys,
		      "ext_keys", (json_int_t)c.ext_keys,
		      "unmapped_keys", (json_int_t)c.unmapped_keys,
		      "pointer_events", (json_int_t)c.pointer_events,
		      "bad_messages", (json_int_t)c.bad_messages,
		      "width", (json_int_t)v->width, "height", (json_int_t)v->height);
	if (reset) {
		/* Live clients keep their library counters: remember them as
		 * negative totals so the next report starts from 0. */
		memset(&v->c, 0, sizeof(v->c));
		it = rfbGetClientIterator(v->screen);
		while ((cl = rfbClientIteratorNext(it))) {
			v->c.updates -= (uint64_t)rfbStatGetMessageCountSent(cl, rfbFramebufferUpdate);
			v->c.bytes -= (uint64_t)rfbStatGetSentBytes(cl);
		}
		rfbReleaseClientIterator(it);
	}
	return j;
}
