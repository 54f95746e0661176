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
void atapi_medium_changed(struct ide_unit *u, bool inserted);

#endif
