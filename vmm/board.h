/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The board: every device of the machine, created from the configuration
 * in the order of one table (vmm/board.c), looked up by id, and taken
 * through the life cycle together (vmm/device.h).
 */
#ifndef MINIVMM_BOARD_H
#define MINIVMM_BOARD_H

#include <stddef.h>
#include <stdio.h>

#include "vmm/device.h"

#include "devices/uart16550.h"

struct board;
struct drives;
struct net_backend;

/* Host-side backends that some devices are connected to. */
struct board_backends {
	struct uart16550_backend com1; /* all NULL: output dropped */
	const struct drives *drives;   /* opened by drives_open(), or NULL */
	FILE *const *debugcon;	       /* SeaBIOS debug port log (opened later), or NULL */
	struct net_backend *const *nics; /* cfg->nics' backends (the caller closes them), or NULL */
};

/* Creates the PCI bus and every device in the table, places them, links
 * them and fills the firmware interface (fw_cfg, or the tables in RAM for
 * a boot without firmware).  ctx->pci is filled in here.  Every failure,
 * a placement conflict included, is an error: NULL with err set. */
struct board *board_create(const struct dev_ctx *ctx, const struct board_backends *be, char *err,
			   size_t errlen);
void board_destroy(struct board *b);

/* The life cycle (vmm/device.h), in table order; reset is quiesce all,
 * reset all (the PCI bus last), resume all, in three calls so that the
 * caller can put the CPUs and guest RAM back between quiesce and reset. */
void board_quiesce(struct board *b);
void board_reset(struct board *b);
void board_resume(struct board *b);
void board_pause(struct board *b);

/* The state of device id if it is of that type (NULL type: any); NULL if
 * there is no such device. */
void *board_find(struct board *b, const char *id, const struct device_type *type);
/* A command for device id: -1 with err set when there is no such device
 * or it takes no commands. */
int board_control(struct board *b, const char *id, const char *command, struct json_t *args,
		  struct json_t **reply, char *err, size_t errlen);
/* The statistics of every device that keeps some (device_type.stats), as a
 * new JSON object keyed by device id; an empty object when none does. */
struct json_t *board_stats_json(struct board *b, bool reset);
/* Calls fn for each device, in table order. */
void board_for_each(struct board *b, void (*fn)(void *opaque, const struct board_entry *e,
						void *state),
		    void *opaque);

#endif
