/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP server: a UNIX socket (--qmp unix:PATH[,server=on][,wait=on|off]),
 * any number of clients up to QMP_SERVER_MAX_CLIENTS, each with its own
 * protocol session (vmm/qmp_session.h), all served on the loop thread
 * through event_loop_add_fd.  A client that does not read its replies is
 * disconnected once its output buffer is full; nothing blocks the loop or
 * a vCPU.  The protocol's own commands (vmm/qmp_commands.h) are registered
 * by qmp_server_new(), with or without a socket.
 */
#ifndef MINIVMM_QMP_SERVER_H
#define MINIVMM_QMP_SERVER_H

#include <stddef.h>

struct event_loop;
struct qmp;
struct qmp_server;

#define QMP_SERVER_MAX_CLIENTS 32

/* vm_name: --name (query-name), or NULL; it must outlive the server.  NULL
 * with errno on failure. */
struct qmp_server *qmp_server_new(struct qmp *q, struct event_loop *loop, const char *vm_name);

/*
 * Before anything is started: can a socket be made at path?  Creates
 * nothing.  Refused: a path too long for sun_path, a missing or unwritable
 * directory, an existing file that is not a socket, a socket another
 * process listens on.  A socket nobody listens on (stale) will be replaced.
 * 0, or -1 with one line naming --qmp and the path in err.
 */
int qmp_server_check_path(const char *path, char *err, size_t errlen);

/* Creates the socket (0600; a stale one replaced) and listens.  0, or -1
 * with one line in err (nothing left behind). */
int qmp_server_listen(struct qmp_server *s, const char *path, char *err, size_t errlen);

/*
 * wait=on: blocks until a client connects (it is accepted and greeted; the
 * loop serves it once it runs).  SIGINT, SIGTERM and SIGHUP end the wait:
 * returns 0 for a client, the signal's number for a signal, -1 with err.
 */
int qmp_server_wait(struct qmp_server *s, char *err, size_t errlen);

/* Serves fd (a connected stream socket, taken over: closed by the server)
 * as one client.  0, or -1 (fd closed) when full or out of memory. */
int qmp_server_add_client(struct qmp_server *s, int fd);
size_t qmp_server_client_count(const struct qmp_server *s);

/* Delivers queued events, writes what each client can still take without
 * blocking (up to 100 ms in all), closes every client and removes the
 * socket file if it is still ours.  Before qmp_free(). */
void qmp_server_free(struct qmp_server *s);

#endif
