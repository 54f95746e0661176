/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --name NAME on every line minivmm writes to stderr.
 *
 * A farm runs many VMs into one log: each line must say which VM wrote it.
 * Rather than threading the name through every message, stderr itself is
 * replaced by a line-buffered stream that rewrites the start of each line:
 * "minivmm: x" becomes "minivmm[NAME]: x", and a line that does not start
 * with "minivmm: " (a table of --stats, a continuation) gets
 * "minivmm[NAME]: " in front.  Lines go to file descriptor 2 whole, in one
 * write(2) each where they fit the buffer, so lines of several threads do
 * not interleave.
 */
#ifndef MINIVMM_LOG_NAME_H
#define MINIVMM_LOG_NAME_H

#include <stdio.h>

/* Makes *stream (normally &stderr) prefix its lines with name, writing to
 * fd.  0, or -1 with errno (the stream is then left as it was).  Call
 * before any thread is started. */
int log_name_install(FILE **stream, int fd, const char *name);

#endif
