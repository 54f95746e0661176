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

#include <stdbool.h>
#include <stddef.h>

struct dev_ctx;
struct fw_cfg;
struct rtc_cmos;
struct piix_ide;
struct piix4_pm;

/* The devices whose registers firmware reads or programs. */
struct pc_firmware_devices {
	struct fw_cfg *fw_cfg;
	struct rtc_cmos *rtc;
	struct piix_ide *ide;
	struct piix4_pm *pm;
	/* The PCI slot of each virtio disk, in cfg->vdisks order (boot order). */
	const unsigned *vblk_slot;
	/* The PCI slot of each NIC and whether it has an option ROM, in
	 * cfg->nics order (boot order n); NULL without NICs. */
	const unsigned *nic_slot;
	const bool *nic_rom;
};

/* Called once every device exists and before the PCI bus is sealed, so
 * that the presets are the power-on state every reset brings back. */
int pc_firmware_setup(const struct pc_firmware_devices *d, const struct dev_ctx *ctx, char *err,
		      size_t errlen);

#endif
