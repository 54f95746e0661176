// SPDX-License-Identifier: GPL-2.0-or-later
/* The QMP socket server (vmm/qmp_server.h). */
#include "vmm/qmp_server.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/loop.h"
#include "vmm/qmp.h"
#include "vmm/qmp_commands.h"
#include "vmm/qmp_session.h"

#define READ_CHUNK     65536
#define READS_PER_WAKE 4 /* then let the other fds have their turn */

struct qmp_client {
	struct qmp_server *server;
	struct qmp_client *next, **pprev;
	int fd;
	uint32_t watching; /* the epoll events asked for */
	bool read_closed;  /* the client sent EOF: close once replies are out */
	struct qmp_session session;
};

struct qmp_server {
	struct qmp *q;
	struct event_loop *loop;
	struct qmp_commands commands;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct qmp_client *clients;
	size_t nr_clients;
	bool said_full;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- clients ---- */

static void client_close(struct qmp_client *c)
{
	struct qmp_server *s = c->server;

	if (s->loop)
		event_loop_del_fd(s->loop, c->fd);
	close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	s->nr_clients--;
	qmp_session_destroy(&c->session);
	free(c);
}

static void client_watch(struct qmp_client *c)
{
	size_t pending;
	uint32_t want;

	qmp_session_output(&c->session, &pending);
	want = (c->read_closed ? 0 : EPOLLIN) | (pending ? EPOLLOUT : 0);
	if (want != c->watching && c->server->loop &&
	    event_loop_mod_fd(c->server->loop, c->fd, want) == 0)
		c->watching = want;
}

/* Writes what the socket takes.  0, or -1 when the client is gone. */
static int client_flush(struct qmp_client *c)
{
	for (;;) {
		size_t len;
		const char *out = qmp_session_output(&c->session, &len);
		ssize_t n;

		if (!len)
			return 0;
		n = send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		qmp_session_consume(&c->session, (size_t)n);
	}
}

/* Reads up to READS_PER_WAKE chunks.  0, or -1 when the client is gone. */
static int client_read(struct qmp_client *c)
{
	char buf[READ_CHUNK];

	for (int i = 0; i < READS_PER_WAKE && !c->read_closed; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0) {
			c->read_closed = true;
		} else if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		} else {
			qmp_session_feed(&c->session, buf, (size_t)n);
			if (qmp_session_overflowed(&c->session))
				return -1;
		}
	}
	return 0;
}

static void on_client(void *opaque, uint32_t events)
{
	struct qmp_client *c = opaque;
	size_t pending;

	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->read_closed && client_read(c) < 0) {
		client_close(c);
		return;
	}
	if (qmp_session_overflowed(&c->session) || client_flush(c) < 0) {
		client_close(c);
		return;
	}
	qmp_session_output(&c->session, &pending);
	if (c->read_closed && !pending) {
		client_close(c);
		return;
	}
	client_watch(c);
}

int qmp_server_add_client(struct qmp_server *s, int fd)
{
	struct qmp_client *c;

	if (s->nr_clients >= QMP_SERVER_MAX_CLIENTS) {
		if (!s->said_full)
			fprintf(stderr,
				"minivmm: --qmp: %d clients already connected; refusing more\n",
				QMP_SERVER_MAX_CLIENTS);
		s->said_full = true;
		close(fd);
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -1;
	}
	c->server = s;
	c->fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	qmp_session_init(&c->session, s->q, 0);
	if (s->loop && event_loop_add_fd(s->loop, fd, EPOLLIN, on_client, c) < 0) {
		qmp_session_destroy(&c->session);
		close(fd);
		free(c);
		return -1;
	}
	c->watching = EPOLLIN;
	c->next = s->clients;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->clients;
	s->clients = c;
	s->nr_clients++;
	/* The greeting goes out now: with wait=on the loop does not run yet. */
	if (client_flush(c) < 0) {
		client_close(c);
		return 0;
	}
	client_watch(c);
	return 0;
}

size_t qmp_server_client_count(const struct qmp_server *s)
{
	return s->nr_clients;
}

/* Events are only queued here and written by each client's own callback,
 * so that no client is closed under a callback further up the stack. */
static void on_event(void *opaque, json_t *event)
{
	struct qmp_server *s = opaque;

	for (struct qmp_client *c = s->clients; c; c = c->next) {
		qmp_session_event(&c->session, event);
		if (qmp_session_overflowed(&c->session) && s->loop)
			event_loop_mod_fd(s->loop, c->fd, EPOLLOUT); /* closed there */
		else
			client_watch(c);
	}
}

/* ---- the socket ---- */

static void on_accept(void *opaque, uint32_t events)
{
	struct qmp_server *s = opaque;

	for (int i = 0; i < 16; i++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN, or a client that went away already */
		qmp_server_add_client(s, fd);
	}
}

static int path_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!*path)
		return fail(err, errlen, "--qmp: the socket path is empty");
	if (strlen(path) >= sizeof(sa->sun_path))
		return fail(err, errlen,
			    "--qmp: '%.200s' is too long for a UNIX socket (at most %zu bytes)",
			    path, sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

/* Is a server listening at this socket?  1 yes, 0 no (stale), -1 errno. */
static int someone_listens(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), ret;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN)
		ret = 1; /* EAGAIN: its backlog is full, but it is there */
	else if (errno == ECONNREFUSED || errno == ENOENT)
		ret = 0;
	else
		ret = -1;
	if (ret < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return ret;
}

/* The checks shared by the pre-start check and the real bind.  *stale is
 * set when a socket nobody listens on is in the way. */
static int check_path(const char *path, struct sockaddr_un *sa, bool *stale, char *err,
		      size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int l;

	*stale = false;
	if (path_addr(path, sa, err, errlen) < 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return fail(err, errlen, "--qmp: '%s' is a directory", path);
		if (!S_ISSOCK(st.st_mode))
			return fail(err, errlen,
				    "--qmp: '%s' exists and is not a socket (not replaced)", path);
		l = someone_listens(sa);
		if (l < 0)
			return fail(err, errlen, "--qmp: cannot use '%s': %s", path,
				    strerror(errno));
		if (l > 0)
			return fail(err, errlen,
				    "--qmp: '%s' is in use: another process is listening on it",
				    path);
		*stale = true;
		return 0;
	}
	if (errno != ENOENT)
		return fail(err, errlen, "--qmp: cannot create '%s': %s", path, strerror(errno));
	strcpy(dir, path); /* shorter than sun_path */
	if (stat(dirname(dir), &st) < 0)
		return fail(err, errlen, "--qmp: cannot create '%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(err, errlen, "--qmp: cannot create '%s': %s", path, strerror(ENOTDIR));
	if (access(dir, W_OK | X_OK) < 0)
		return fail(err, errlen, "--qmp: cannot create '%s': %s", path, strerror(errno));
	return 0;
}

int qmp_server_check_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	bool stale;

	return check_path(path, &sa, &stale, err, errlen);
}

int qmp_server_listen(struct qmp_server *s, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	bool stale;
	mode_t old;
	int fd, ret;

	if (check_path(path, &sa, &stale, err, errlen) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail(err, errlen, "--qmp: socket: %s", strerror(errno));
	if (stale && unlink(path) < 0 && errno != ENOENT) {
		fail(err, errlen, "--qmp: cannot replace the stale socket '%s': %s", path,
		     strerror(errno));
		close(fd);
		return -1;
	}
	/* 0600 from the start: nobody else may connect even for a moment. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0) {
		fail(err, errlen, "--qmp: cannot create '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	strcpy(s->path, sa.sun_path);
	if (lstat(s->path, &st) < 0 || listen(fd, 16) < 0 ||
	    (s->loop && event_loop_add_fd(s->loop, fd, EPOLLIN, on_accept, s) < 0)) {
		fail(err, errlen, "--qmp: cannot listen on '%s': %s", s->path, strerror(errno));
		unlink(s->path);
		close(fd);
		s->path[0] = '\0';
		return -1;
	}
	s->listen_fd = fd;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

int qmp_server_wait(struct qmp_server *s, char *err, size_t errlen)
{
	struct signalfd_siginfo si;
	sigset_t set, old;
	int sfd, ret = -1;

	if (s->listen_fd < 0)
		return fail(err, errlen, "--qmp: no socket to wait on");
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fail(err, errlen, "--qmp: signalfd: %s", strerror(errno));
		goto out;
	}
	fprintf(stderr, "minivmm: --qmp: waiting for a client on '%s' (wait=on)\n", s->path);
	for (;;) {
		struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(err, errlen, "--qmp: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			ret = (int)si.ssi_signo;
			break;
		}
		if (p[0].revents) {
			int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd >= 0 && qmp_server_add_client(s, fd) == 0 && s->nr_clients > 0) {
				ret = 0;
				break;
			}
		}
	}
	close(sfd);
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* ---- life ---- */

struct qmp_server *qmp_server_new(struct qmp *q, struct event_loop *loop, const char *vm_name)
{
	struct qmp_server *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return NULL;
	s->q = q;
	s->loop = loop;
	s->listen_fd = -1;
	ret = qmp_commands_register(&s->commands, q, vm_name);
	if (ret == 0)
		ret = qmp_add_listener(q, on_event, s);
	if (ret < 0) {
		free(s);
		errno = -ret;
		return NULL;
	}
	return s;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qmp_server_free(struct qmp_server *s)
{
	struct stat st;
	long deadline;

	if (!s)
		return;
	qmp_flush_events(s->q); /* a SHUTDOWN event reaches the clients */
	qmp_del_listener(s->q, on_event, s);
	/* Replies and events still queued: what the clients take in 100 ms. */
	deadline = now_ms() + 100;
	for (struct qmp_client *c = s->clients; c; c = c->next) {
		size_t pending;

		while (client_flush(c) == 0 &&
		       (qmp_session_output(&c->session, &pending), pending > 0) &&
		       now_ms() < deadline) {
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};

			if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
				break;
		}
	}
	while (s->clients)
		client_close(s->clients);
	if (s->listen_fd >= 0) {
		if (s->loop)
			event_loop_del_fd(s->loop, s->listen_fd);
		close(s->listen_fd);
		/* Only our own socket: another process may have replaced it. */
		if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
			unlink(s->path);
	}
	free(s);
}
