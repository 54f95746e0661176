/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where COM1 goes on the host: stdio (raw terminal, Ctrl-A x quits, Ctrl-A
 * Ctrl-A sends Ctrl-A), a file, or nowhere.  Input is read on the I/O thread
 * and pushed into the UART as fast as its FIFO takes it.
 */
#ifndef MINIVMM_SERIAL_BACKEND_H
#define MINIVMM_SERIAL_BACKEND_H

#include <stddef.h>

#include "devices/uart16550.h"
#include "vmm/cli.h"

struct event_loop;
struct serial_backend;

/* Prepares the backend; a file: output is not touched yet (check it with
 * cli_check_output first). */
struct serial_backend *serial_backend_open(enum serial_mode mode, const char *path,
					   struct event_loop *loop, char *err, size_t errlen);
/* Creates or truncates the file: output, once every check has passed;
 * output before that is dropped.  0, or -1 with a line naming the file. */
int serial_backend_start(struct serial_backend *s, char *err, size_t errlen);
/* The callbacks the UART is created with. */
void serial_backend_callbacks(struct serial_backend *s, struct uart16550_backend *be);
/* Starts feeding host input to the UART; quit is called for Ctrl-A x. */
void serial_backend_attach(struct serial_backend *s, struct uart16550 *uart, void (*quit)(void *),
			   void *quit_opaque);
/* Restores the terminal; safe to call more than once. */
void serial_backend_close(struct serial_backend *s);
void serial_backend_free(struct serial_backend *s);

#endif
