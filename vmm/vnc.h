/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VNC server: a display listener (vmm/display.h) and an input producer
 * (vmm/input.h) over libvncserver, on the I/O thread's event loop.
 *
 * No library thread runs: the listening sockets and every client socket
 * are watched by the loop (the clients learned through the library's
 * newClientHook/clientGoneHook) and each readiness runs one
 * rfbProcessEvents(screen, 0).  While at least one client is connected a
 * frame timer (VNC_FRAME_NS) asks the display for what changed, copies
 * only the changed rectangles into the library's framebuffer and marks
 * them; a new guest resolution becomes rfbNewFramebuffer, which the library
 * sends as DesktopSize or ExtendedDesktopSize.  Without clients there is no
 * timer; with clients and no change nothing is sent, and each frame that
 * found no change doubles the timer's period up to VNC_FRAME_IDLE_NS (a
 * still screen costs a look a second, not 30); a change, a new client or a
 * client's key or pointer event bring it back to VNC_FRAME_NS at once.  Without a picture the
 * clients see VNC_BLANK_W x VNC_BLANK_H black, and their input still goes
 * to the guest.
 *
 * Keys: the QEMU extended key event (pseudo-encoding -258), which the
 * library does not know, is a protocol extension here: its ack is the
 * FramebufferUpdate rectangle QEMU sends, and its message carries the XT
 * key (the qnum) straight to input_key().  Plain keysyms go through the
 * --keymap layout (vmm/keymap.h).  A client that leaves releases every key
 * and button (input_release_all()).
 *
 * Authentication: VNC's DES challenge when a password is required; until
 * one is set (vnc_set_password()), every client is refused, as in QEMU.
 * The password is never logged.  Websocket clients (noVNC) connect to the
 * same port; the library recognises them.
 */
#ifndef MINIVMM_VNC_H
#define MINIVMM_VNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct display;
struct input;
struct keymap;
struct json_t;

#define VNC_PORT_BASE	 5900
#define VNC_MAX_DISPLAY	 99
#define VNC_PASSWORD_MAX 8 /* the DES key: what VNC authentication uses */
#define VNC_FRAME_NS	 (1000000000ull / 30)
#define VNC_FRAME_IDLE_NS 1000000000ull /* the period a still screen backs off to */
#define VNC_BLANK_W	 640
#define VNC_BLANK_H	 480

struct vnc_config {
	/* A numeric address: "127.0.0.1", "0.0.0.0" (all IPv4), "::1" or "::"
	 * (all, IPv6 and IPv4).  NULL: 127.0.0.1. */
	const char *host;
	unsigned display; /* port VNC_PORT_BASE + display */
	bool password;	  /* clients must give the password */
	const char *initial_password; /* NULL: none yet (nobody gets in) */
	const struct keymap *keymap;  /* NULL: en-us */
};

struct vnc;

/* Listens; NULL with one line in err (a port in use, a bad address), and
 * then nothing is left open.  display and input stay the caller's and must
 * outlive the server; either may be NULL (tests). */
struct vnc *vnc_new(struct event_loop *loop, struct display *d, struct input *in,
		    const struct vnc_config *cfg, char *err, size_t errlen);
/* Closes every client and the listening sockets (loop thread, or after the
 * loop stopped). */
void vnc_free(struct vnc *v);

/* QMP set_password / change-vnc-password: the new password (at most
 * VNC_PASSWORD_MAX characters count; longer ones are cut, as the protocol
 * does).  Existing clients stay. */
void vnc_set_password(struct vnc *v, const char *password);

/* The port it listens on. */
unsigned vnc_port(const struct vnc *v);
unsigned vnc_clients(const struct vnc *v);

/* Counters as JSON (clients, connections, updates, bytes, encoder CPU
 * time, frames, keys, pointer events); reset: restart them from 0. */
struct json_t *vnc_stats_json(struct vnc *v, bool reset);

#endif
