// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A small VNC test client over libvncclient, for the tier-1 VNC test
 * (tests/guest/vnc_test.py):
 *
 *   vncclient PORT [--password PW] [--keysyms TEXT] [--ext TEXT]
 *             [--wait-update] [--pointer X,Y,BUTTONS]... [--wait-size WxH SECONDS]
 *             [--retry SECONDS] [--encodings LIST] [--bench SECONDS]
 *
 * connects to 127.0.0.1:PORT, optionally waits for one framebuffer update,
 * types TEXT as plain keysym events (--keysyms) or as QEMU extended key
 * events with their XT codes (--ext; lowercase letters, digits, space, '.'
 * and '/' for Return), sends pointer events in order (--pointer; buttons as
 * RFB's mask, 1 left), or stays connected until the server's framebuffer
 * has become WxH (--wait-size: DesktopSize without reconnecting; every size
 * seen is printed), then disconnects.  --retry: a refused connection is
 * tried again for SECONDS (the server may not listen yet).  --encodings: the
 * encodings offered, in libvncclient's syntax ("tight zrle raw"; default
 * the library's own list, as its viewers send it).
 *
 * --bench SECONDS (the display benchmark, tools/bench-vnc): stays connected
 * like a viewer (libvncclient asks for an incremental update after each one
 * it has taken in), lets the first second go by (the first full update),
 * prints "vncclient: bench start", counts for SECONDS and prints
 *   vncclient: bench seconds=S bytes=B updates=U rects=R
 * B the bytes TCP delivered to us in the window (TCP_INFO), U the
 * FramebufferUpdate messages taken in, R their rectangles.
 *
 * Exit status: 0 done, 3 the server
 * refused us (authentication or connection), 4 --ext but the server did not
 * ack the extension, 5 --wait-size timed out, 1 anything else.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/tcp.h> /* tcpi_bytes_received, which glibc's lacks */
#include <netinet/in.h>
#include <sys/socket.h>

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

static unsigned long long nr_updates, nr_rects;

static void on_update_counted(rfbClient *cl, int x, int y, int w, int h)
{
	on_update(cl, x, y, w, h);
	nr_rects++;
}

static void on_update_finished(rfbClient *cl)
{
	(void)cl;
	nr_updates++;
}

/* What TCP has delivered to us on the connection so far. */
static int bytes_received(rfbClient *cl, unsigned long long *bytes)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(cl->sock, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return -1;
	*bytes = ti.tcpi_bytes_received;
	return 0;
}

static int bench(rfbClient *cl, long seconds)
{
	unsigned long long b0, b1, u0, r0;
	long t0, t1;

	if (pump(cl, 1000, NULL) < 0)
		return -1;
	if (bytes_received(cl, &b0) < 0) {
		fprintf(stderr, "vncclient: no TCP_INFO byte count on this kernel\n");
		return -1;
	}
	printf("vncclient: bench start\n");
	fflush(stdout);
	u0 = nr_updates;
	r0 = nr_rects;
	t0 = now_ms();
	if (pump(cl, seconds * 1000, NULL) < 0)
		return -1;
	t1 = now_ms();
	if (bytes_received(cl, &b1) < 0)
		return -1;
	printf("vncclient: bench seconds=%.3f bytes=%llu updates=%llu rects=%llu\n",
	       (double)(t1 - t0) / 1000, b1 - b0, nr_updates - u0, nr_rects - r0);
	fflush(stdout);
	return 0;
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
	const char *encodings = NULL;
	long wait_size_s = 0, retry_s = 0, bench_s = 0, give_up;
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
		else if (!strcmp(argv[i], "--encodings") && i + 1 < argc)
			encodings = argv[++i];
		else if (!strcmp(argv[i], "--bench") && i + 1 < argc) {
			bench_s = atol(argv[++i]);
			if (bench_s < 1) {
				fprintf(stderr, "vncclient: --bench wants whole seconds, at least 1\n");
				return 1;
			}
		}
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
		cl->GotFrameBufferUpdate = on_update_counted;
		cl->FinishedFrameBufferUpdate = on_update_finished;
		if (encodings)
			cl->appData.encodingsString = encodings;
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
	if (bench_s && bench(cl, bench_s) < 0) {
		printf("vncclient: the connection ended during --bench\n");
		return 1;
	}
	pump(cl, 100, NULL);
	printf("vncclient: done\n");
	free(cl->frameBuffer);
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl);
	return 0;
}
