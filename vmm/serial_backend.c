// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/serial_backend.h"
#include "vmm/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#define CTRL_A 0x01

struct serial_backend {
	enum serial_mode mode;
	const char *path; /* file: the output, opened at start */
	int out_fd, in_fd;
	bool own_out;
	struct event_loop *loop;
	struct uart16550 *uart;
	void (*quit)(void *);
	void *quit_opaque;

	bool tty;
	struct termios saved;
	bool escape; /* the last byte typed was Ctrl-A */

	/* Input the UART has not taken yet; stdin is not read meanwhile. */
	uint8_t pending[256];
	size_t pending_len, pending_pos;
	bool in_watched;
	int ready_fd; /* eventfd: the UART has room again (signalled from vCPUs) */
};

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			return; /* the reader went away: drop the output */
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void be_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial_backend *s = opaque;

	if (s->out_fd >= 0)
		write_all(s->out_fd, buf, len);
}

static void be_rx_ready(void *opaque)
{
	struct serial_backend *s = opaque;
	uint64_t one = 1;

	if (write(s->ready_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("minivmm: eventfd");
}

/* Pushes what we hold; true when all of it went in. */
static bool push_pending(struct serial_backend *s)
{
	while (s->pending_pos < s->pending_len) {
		size_t n = uart16550_receive(s->uart, s->pending + s->pending_pos,
					     s->pending_len - s->pending_pos);

		if (n == 0)
			return false;
		s->pending_pos += n;
	}
	s->pending_pos = s->pending_len = 0;
	return true;
}

static void watch_input(struct serial_backend *s, bool on)
{
	if (s->in_watched == on)
		return;
	event_loop_mod_fd(s->loop, s->in_fd, on ? EPOLLIN : 0);
	s->in_watched = on;
}

static void input_ready(void *opaque, uint32_t events)
{
	struct serial_backend *s = opaque;
	uint8_t buf[sizeof(s->pending)];
	ssize_t n = read(s->in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input (or an error): the guest just gets no more. */
		event_loop_del_fd(s->loop, s->in_fd);
		s->in_watched = false;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (s->tty && s->escape) {
			s->escape = false;
			if (c == 'x' || c == 'X') {
				s->quit(s->quit_opaque);
				return;
			}
			if (c != CTRL_A)
				continue; /* unknown escape: swallow it */
		} else if (s->tty && c == CTRL_A) {
			s->escape = true;
			continue;
		}
		s->pending[s->pending_len++] = c;
	}
	if (!push_pending(s))
		watch_input(s, false);
}

static void room_ready(void *opaque, uint32_t events)
{
	struct serial_backend *s = opaque;
	uint64_t v;

	if (read(s->ready_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (push_pending(s) && s->in_fd >= 0)
		watch_input(s, true);
}

static struct serial_backend *serial_active; /* for the atexit terminal restore */

static void restore_terminal_atexit(void)
{
	if (serial_active)
		serial_backend_close(serial_active);
}

struct serial_backend *serial_backend_open(enum serial_mode mode, const char *path,
					   struct event_loop *loop, char *err, size_t errlen)
{
	struct serial_backend *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->mode = mode;
	s->loop = loop;
	s->out_fd = s->in_fd = -1;
	s->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mode == SERIAL_STDIO) {
		s->out_fd = STDOUT_FILENO;
		s->in_fd = STDIN_FILENO;
	} else if (mode == SERIAL_FILE) {
		/* Opened (and truncated) only by serial_backend_start(). */
		s->path = path;
	}
	return s;
}

int serial_backend_start(struct serial_backend *s, char *err, size_t errlen)
{
	if (s->mode != SERIAL_FILE || s->own_out)
		return 0;
	s->out_fd = cli_open_output("--serial", s->path, err, errlen);
	if (s->out_fd < 0)
		return -1;
	s->own_out = true;
	return 0;
}

void serial_backend_callbacks(struct serial_backend *s, struct uart16550_backend *be)
{
	*be = (struct uart16550_backend){ .write = be_write, .rx_ready = be_rx_ready, .opaque = s };
}

void serial_backend_attach(struct serial_backend *s, struct uart16550 *uart, void (*quit)(void *),
			   void *quit_opaque)
{
	s->uart = uart;
	s->quit = quit;
	s->quit_opaque = quit_opaque;
	if (s->in_fd < 0)
		return;
	if (isatty(s->in_fd) && tcgetattr(s->in_fd, &s->saved) == 0) {
		struct termios raw = s->saved;

		/* Raw input so the guest sees every key (Ctrl-C too); keep
		 * output processing as QEMU does. */
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST;
		if (tcsetattr(s->in_fd, TCSANOW, &raw) == 0) {
			s->tty = true;
			serial_active = s;
			atexit(restore_terminal_atexit);
		}
	}
	fcntl(s->in_fd, F_SETFL, fcntl(s->in_fd, F_GETFL) | O_NONBLOCK);
	if (event_loop_add_fd(s->loop, s->in_fd, EPOLLIN, input_ready, s) == 0)
		s->in_watched = true;
	if (s->ready_fd >= 0)
		event_loop_add_fd(s->loop, s->ready_fd, EPOLLIN, room_ready, s);
}

void serial_backend_close(struct serial_backend *s)
{
	if (!s)
		return;
	if (s->tty) {
		tcsetattr(s->in_fd, TCSANOW, &s->saved);
		s->tty = false;
	}
	if (s->in_fd >= 0)
		fcntl(s->in_fd, F_SETFL, fcntl(s->in_fd, F_GETFL) & ~O_NONBLOCK);
}

void serial_backend_free(struct serial_backend *s)
{
	if (!s)
		return;
	serial_backend_close(s);
	if (serial_active == s)
		serial_active = NULL;
	if (s->own_out && s->out_fd >= 0)
		close(s->out_fd);
	if (s->ready_fd >= 0)
		close(s->ready_fd);
	free(s);
}
