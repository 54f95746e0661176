// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A small VNC test client over libvncclient, for the tier-1 VNC test
 * (tests/guest/vnc_test.py):
 *
 *   vncclient PORT [--password PW] [--keysyms TEXT] [--ext TEXT]
 *             [--wait-update] [--pointer X,Y,BUTTONS]... [--wait-size WxH SECONDS]
 *             [--retry SECONDS]
 *
 * connects to 127.0.0.1:PORT, optionally waits for one framebuffer update,
 * types TEXT as plain keysym events (--keysyms) or as QEMU extended key
 * events with their XT codes (--ext; lowercase letters, digits, space, '.'
 * and '/' for Return), sends pointer events in order (--pointer; buttons as
 * RFB's mask, 1 left), or stays connected until the server's framebuffer
 * has become WxH (--wait-size: DesktopSize without reconnecting; every size
 * seen is printed), then disconnects.  --retry: a refused connection is
 * tried again for SECONDS (the server may not listen yet).  Exit status: 0 done, 3 the server
 * refused us (authentication or connection), 4 --ext but the server did not
 * ack the extension, 5 --wait-size timed out, 1 anything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rfb/keysym.h>
#include <rfb/rfbclient.h>

static const char *password;

static char *get_password(rfbClient *cl)
{
	(void)cl;
	return strdup(password ? password : "");
}

static void quiet(const char *format, ...)
{
	(void)format;
}

/* XT (set 1) make codes of the keys the test types. */
static unsigned xt_code(char c)
{
	static const char row1[] = "1234567890", row2[] = "qwertyuiop", row3[] = "asdfghjkl",
			  row4[] = "zxcvbnm";
	const char *p;

	if ((p = strchr(row1, c)) && c)
		return 0x02 + (unsigned)(p - row1);
	if ((p = strchr(row2, c)) && c)
		return 0x10 + (unsigned)(p - row2);
	if ((p = strchr(row3, c)) && c)
		return 0x1e + (unsigned)(p - row3);
	if ((p = strchr(row4, c)) && c)
		return 0x2c + (unsigned)(p - row4);
	if (c == ' ')
		return 0x39;
	if (c == '.')
		return 0x34;
	if (c == '/')
		return 0x1c; /* Return */
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Handles server messages for ms milliseconds, or until done() says so. */
static int pump(rfbClient *cl, long ms, rfbBool (*done)(rfbClient *))
{
	long end = now_ms() + ms;

	while (now_ms() < end) {
		int r = WaitForMessage(cl, 20000);

		if (r < 0 || (r > 0 && !HandleRFBServerMessage(cl)))
			return -1;
		/* What libvncclient already read sits in its buffer, where
		 * WaitForMessage()'s select() does not see it. */
		while (cl->buffered > 0)
			if (!HandleRFBServerMessage(cl))
				return -1;
		if (done && done(cl))
			return 1;
	}
	return 0;
}

static rfbBool got_update;

static void on_update(rfbClient *cl, int x, int y, int w, int h)
{
	(void)cl, (void)x, (void)y, (void)w, (void)h;
	got_update = TRUE;
}

static rfbBool updated(rfbClient *cl)
{
	(void)cl;
	return got_update;
}

static int want_w, want_h, seen_w, seen_h;

static rfbBool size_reached(rfbClient *cl)
{
	if (cl->width != seen_w || cl->height != seen_h) {
		seen_w = cl->width;
		seen_h = cl->height;
		printf("vncclient: size %dx%d\n", seen_w, seen_h);
		fflush(stdout);
	}
	return cl->width == want_w && cl->height == want_h;
}

static rfbBool ext_acked(rfbClient *cl)
{
	return SupportsClient2Server(cl, rfbQemuEvent);
}

int main(int argc, char **argv)
{
	const char *keysyms = NULL, *ext = NULL, *pointer[16];
	unsigned npointer = 0;
	long wait_size_s = 0, retry_s = 0, give_up;
	rfbBool wait_update = FALSE;
	rfbClient *cl;
	int port;

	if (argc < 2) {
		fprintf(stderr, "usage: vncclient PORT [--password PW] [--keysyms TEXT] "
				"[--ext TEXT] [--wait-update]\n");
		return 1;
	}
	port = atoi(argv[1]);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--password") && i + 1 < argc)
			password = argv[++i];
		else if (!strcmp(argv[i], "--keysyms") && i + 1 < argc)
			keysyms = argv[++i];
		else if (!strcmp(argv[i], "--ext") && i + 1 < argc)
			ext = argv[++i];
		else if (!strcmp(argv[i], "--wait-update"))
			wait_update = TRUE;
		else if (!strcmp(argv[i], "--retry") && i + 1 < argc)
			retry_s = atol(argv[++i]);
		else if (!strcmp(argv[i], "--pointer") && i + 1 < argc && npointer < 16)
			pointer[npointer++] = argv[++i];
		else if (!strcmp(argv[i], "--wait-size") && i + 2 < argc &&
			 sscanf(argv[i + 1], "%dx%d", &want_w, &want_h) == 2) {
			wait_size_s = atol(argv[i + 2]);
			i += 2;
		}
		else {
			fprintf(stderr, "vncclient: unknown argument '%s'\n", argv[i]);
			return 1;
		}
	}
	if (!getenv("VNCCLIENT_DEBUG")) {
		rfbClientLog = quiet;
		rfbClientErr = quiet;
	}
	give_up = now_ms() + retry_s * 1000;
	for (;;) {
		cl = rfbGetClient(8, 3, 4);
		if (!cl)
			return 1;
		cl->GetPassword = get_password;
		cl->GotFrameBufferUpdate = on_update;
		cl->serverHost = strdup("127.0.0.1");
		cl->serverPort = port;
		if (rfbInitClient(cl, NULL, NULL))
			break; /* (rfbInitClient frees cl when it fails) */
		if (now_ms() >= give_up) {
			printf("vncclient: refused\n");
			return 3;
		}
		struct timespec pause = { 0, 200 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	printf("vncclient: connected, %dx%d\n", cl->width, cl->height);
	if (wait_update && pump(cl, 5000, updated) != 1) {
		printf("vncclient: no update\n");
		return 1;
	}
	if (ext && pump(cl, 5000, ext_acked) != 1) {
		printf("vncclient: no extended key event ack\n");
		return 4;
	}
	for (const char *s = keysyms; s && *s; s++) {
		uint32_t sym = *s == '/' ? XK_Return : (uint32_t)(unsigned char)*s;

		SendKeyEvent(cl, sym, TRUE);
		SendKeyEvent(cl, sym, FALSE);
		pump(cl, 30, NULL);
	}
	for (const char *s = ext; s && *s; s++) {
		unsigned code = xt_code(*s);

		if (!code) {
			fprintf(stderr, "vncclient: no XT code for '%c'\n", *s);
			return 1;
		}
		SendExtendedKeyEvent(cl, (uint32_t)(unsigned char)*s, code, TRUE);
		SendExtendedKeyEvent(cl, (uint32_t)(unsigned char)*s, code, FALSE);
		pump(cl, 30, NULL);
	}
	for (unsigned i = 0; i < npointer; i++) {
		int x, y, b;

		if (sscanf(pointer[i], "%d,%d,%d", &x, &y, &b) != 3) {
			fprintf(stderr, "vncclient: --pointer %s: not X,Y,BUTTONS\n", pointer[i]);
			return 1;
		}
		SendPointerEvent(cl, x, y, b);
		pump(cl, 100, NULL);
	}
	if (wait_size_s && pump(cl, wait_size_s * 1000, size_reached) != 1) {
		printf("vncclient: the size never became %dx%d\n", want_w, want_h);
		return 5;
	}
	pump(cl, 100, NULL);
	printf("vncclient: done\n");
	free(cl->frameBuffer);
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl);
	return 0;
}
