/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ATAPI CD-ROM's PACKET commands (atapi.c), as the rest of the IDE model
 * calls them.  Called with the channel's mutex held.
 */
#ifndef MINIVMM_ATAPI_H
#define MINIVMM_ATAPI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/ide_int.h"

void atapi_packet_cmd(struct ide_unit *u); /* ATA command A0h */
void atapi_packet_received(struct ide_unit *u);
void atapi_window_done(struct ide_unit *u);
void atapi_read_done(struct ide_unit *u, int64_t ret);
void atapi_dma_done(struct ide_unit *u, int err);
void atapi_reset(struct ide_unit *u);
/* The tray state machine's host side (ide_cdrom_* in ide.c): 0 or -EBUSY
 * (locked, not forced: an eject request for the guest). */
int atapi_open_tray(struct ide_unit *u, bool force);
void atapi_close_tray(struct ide_unit *u);
/* u->bd was just taken out of the open tray (a new one goes in next). */
void atapi_medium_swapped(struct ide_unit *u);
/* The new medium is in; the tray is normally still open. */
void atapi_medium_inserted(struct ide_unit *u);

#endif
