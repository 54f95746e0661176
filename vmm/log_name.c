// SPDX-License-Identifier: GPL-2.0-or-later
/* --name NAME on every stderr line (vmm/log_name.h), through fopencookie(). */
#include "vmm/log_name.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PLAIN	  "minivmm: "
#define PLAIN_LEN (sizeof(PLAIN) - 1)

struct named_log {
	int fd;
	char *prefix; /* "minivmm[NAME]: " */
	size_t prefix_len;
	bool line_start;
	/* The start of a line that may still become "minivmm: ". */
	char held[PLAIN_LEN];
	size_t nr_held;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Appends n bytes to out (capacity checked by the caller's sizing). */
static void put(char *out, size_t *len, const char *p, size_t n)
{
	memcpy(out + *len, p, n);
	*len += n;
}

static ssize_t named_write(void *cookie, const char *buf, size_t size)
{
	struct named_log *l = cookie;
	/* Worst case: a prefix before every byte (each a newline), plus what
	 * was held back. */
	size_t cap = l->nr_held + size * (l->prefix_len + 1) + l->prefix_len;
	char *out = malloc(cap);
	size_t len = 0, i = 0;

	if (!out) { /* say it unprefixed rather than lose it */
		if (write_all(l->fd, buf, size) < 0)
			return -1;
		return (ssize_t)size;
	}
	while (i < size) {
		if (l->line_start) {
			/* Collect up to PLAIN_LEN bytes to decide. */
			while (l->nr_held < PLAIN_LEN && i < size && buf[i] != '\n' &&
			       buf[i] == PLAIN[l->nr_held])
				l->held[l->nr_held++] = buf[i++];
			if (l->nr_held < PLAIN_LEN && i == size)
				break; /* undecided: wait for more */
			put(out, &len, l->prefix, l->prefix_len);
			if (l->nr_held < PLAIN_LEN) /* not ours: keep what was held */
				put(out, &len, l->held, l->nr_held);
			l->nr_held = 0;
			l->line_start = false;
		}
		const char *nl = memchr(buf + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) + 1 : size - i;

		put(out, &len, buf + i, n);
		i += n;
		if (nl)
			l->line_start = true;
	}
	int r = write_all(l->fd, out, len);

	free(out);
	return r < 0 ? -1 : (ssize_t)size;
}

/* The stream lives until exit, as stderr does; this keeps its state
 * reachable (glibc does not hand the cookie's address to leak checkers). */
static struct named_log *installed;

static int named_close(void *cookie)
{
	struct named_log *l = cookie;

	if (l->nr_held) /* an unfinished "minivmm" at the very end */
		(void)!write(l->fd, l->held, l->nr_held);
	if (installed == l)
		installed = NULL;
	free(l->prefix);
	free(l);
	return 0;
}

int log_name_install(FILE **stream, int fd, const char *name)
{
	static const cookie_io_functions_t io = {.write = named_write, .close = named_close};
	struct named_log *l = calloc(1, sizeof(*l));
	FILE *f;

	if (!l)
		return -1;
	l->fd = fd;
	l->line_start = true;
	if (asprintf(&l->prefix, "minivmm[%s]: ", name) < 0) {
		free(l);
		return -1;
	}
	l->prefix_len = strlen(l->prefix);
	f = fopencookie(l, "w", io);
	if (!f) {
		free(l->prefix);
		free(l);
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 4096);
	installed = l;
	fflush(*stream);
	*stream = f;
	return 0;
}
