/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP protocol's own commands: qmp_capabilities, query-commands,
 * query-version, query-name, and human-monitor-command with the few HMP
 * words farm scripts use (info status, info block, info name, stop, cont,
 * system_reset, system_powerdown, quit, eject, change, help).  The HMP words
 * run the QMP commands other parts register (query-status, eject...) by
 * name at run time: until one is registered its word answers with the
 * CommandNotFound error, as a QMP client would get.
 */
#ifndef MINIVMM_QMP_COMMANDS_H
#define MINIVMM_QMP_COMMANDS_H

#include <jansson.h>

#include "vmm/qmp.h"

struct qmp_commands {
	struct qmp *q;
	const char *name; /* --name, or NULL */
};

/* Registers the commands above; c must outlive the registry's use of it
 * (it is the commands' opaque).  0 or a negative errno. */
int qmp_commands_register(struct qmp_commands *c, struct qmp *q, const char *name);

/* {"qemu": {"major": M, "minor": m, "micro": u}, "package": "minivmm V"}:
 * our own version, as the greeting and query-version give it. */
json_t *qmp_version_json(void);

/* The arguments of qmp_capabilities ("enable": a list of capabilities; we
 * offer none), checked with QEMU's texts: 0, or -1 with err set. */
int qmp_capabilities_check(json_t *args, struct qmp_error *err);

/* One HMP command line, run as human-monitor-command does: the text it
 * prints ("\r\n" line ends, as QEMU's monitor), as a new string. */
char *qmp_hmp_run(struct qmp_commands *c, const char *line);

#endif
