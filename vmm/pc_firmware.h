/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the PC tells its firmware, or does in its place: the fw_cfg items
 * SeaBIOS reads (memory map, CPU count, boot order and menu, ACPI and
 * SMBIOS through the table-loader), the CMOS fields firmware reads for the
 * machine's shape, and, for a direct Linux boot without firmware, the
 * tables in RAM and the chipset registers firmware would have programmed.
 */
#ifndef MINIVMM_PC_FIRMWARE_H
#define MINIVMM_PC_FIRMWARE_H

#include <stddef.h>

struct board;
struct dev_ctx;

/* Called once every device exists and before the PCI bus is sealed, so
 * that the presets are the power-on state every reset brings back. */
int pc_firmware_setup(struct board *b, const struct dev_ctx *ctx, char *err, size_t errlen);

#endif
