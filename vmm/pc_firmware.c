// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/pc_firmware.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "devices/piix4_pm.h"
#include "devices/piix_ide.h"
#include "devices/rtc_cmos.h"
#include "firmware/acpi.h"
#include "firmware/smbios.h"
#include "vmm/cli.h"
#include "vmm/device.h"
#include "vmm/e820.h"
#include "vmm/le.h"
#include "vmm/memmap.h"

#define PC_PM_BASE 0x600 /* what SeaBIOS programs when it gets a table-loader */

/* Direct Linux boot: where the tables go when no firmware places them.
 * 0xe0000-0xfffff is RAM Linux's E820 does not offer, and where it scans
 * for the RSDP and the SMBIOS anchor. */
#define DIRECT_ACPI_TABLES   0xe0000
#define DIRECT_ACPI_MAX	     0x10000
#define DIRECT_ACPI_RSDP     0xf0000
#define DIRECT_SMBIOS_ANCHOR 0xf0100
#define DIRECT_SMBIOS_TABLES 0xf1000
#define DIRECT_SMBIOS_MAX    0xe000

/* ---- fw_cfg ---- */

/* The memory map SeaBIOS takes as the truth (etc/e820): RAM, and the pages
 * KVM keeps for itself; SeaBIOS adds its own reservations. */
static int add_e820(struct fw_cfg *fw, const struct memmap *map)
{
	struct e820_entry e[4];
	uint8_t buf[sizeof(e) / sizeof(e[0]) * 20];
	unsigned n = 0;

	e[n++] = (struct e820_entry){ 0, map->low_size, E820_RAM };
	e[n++] = (struct e820_entry){ MEMMAP_IDENTITY_MAP, MEMMAP_KVM_PRIV_END - MEMMAP_IDENTITY_MAP,
				      E820_RESERVED };
	if (map->high_size)
		e[n++] = (struct e820_entry){ MEMMAP_4G, map->high_size, E820_RAM };
	for (unsigned i = 0; i < n; i++) {
		le64_put(&buf[i * 20], e[i].addr);
		le64_put(&buf[i * 20 + 8], e[i].size);
		le32_put(&buf[i * 20 + 16], e[i].type);
	}
	return fw_cfg_add_file(fw, "etc/e820", buf, n * 20, false);
}

/*
 * Open Firmware paths SeaBIOS matches its boot devices against (a bootorder
 * line is matched by prefix against SeaBIOS's glob for the device: ATA
 * "/pci@i0cf8/NAME@1,1/drive@C/disk@U", virtio-blk "/pci@i0cf8/NAME@SLOT",
 * any NAME, the slot in hex).  We write QEMU's spelling.  c is the first
 * --disk on the command line, IDE or virtio; d the CD-ROM.
 */
static int add_bootorder(struct fw_cfg *fw, const struct vm_config *cfg,
			 const struct pc_firmware_devices *d)
{
	const unsigned *vblk_slot = d->vblk_slot;
	char buf[512], vpath[64];
	size_t len = 0;

	buf[0] = '\0';
	for (const char *l = cfg->boot_order; *l; l++) {
		const char *path = NULL;

		if (*l == 'c' && cfg->nr_vdisks && vblk_slot &&
		    (!cfg->nr_disks || cfg->vdisks[0].seq < cfg->disks[0].seq)) {
			snprintf(vpath, sizeof(vpath), "/pci@i0cf8/scsi@%x/disk@0,0", vblk_slot[0]);
			path = vpath;
		} else if (*l == 'c' && cfg->nr_disks) {
			path = "/pci@i0cf8/ide@1,1/drive@0/disk@0";
		} else if (*l == 'd' && cfg->has_cdrom) {
			path = "/pci@i0cf8/ide@1,1/drive@1/disk@0";
		} else if (*l == 'n' && d->nic_slot && d->nic_rom) {
			/* The first NIC with a ROM: SeaBIOS boots its BEV (iPXE). */
			for (unsigned i = 0; !path && i < cfg->nr_nics && i < CLI_MAX_NICS; i++) {
				if (!d->nic_rom[i])
					continue;
				snprintf(vpath, sizeof(vpath),
					 "/pci@i0cf8/ethernet@%x/ethernet-phy@0", d->nic_slot[i]);
				path = vpath;
			}
		}
		if (!path || strstr(buf, path))
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n", path);
	}
	if (!len)
		return 0;
	return fw_cfg_add_file(fw, "bootorder", buf, len, false);
}

static int setup_fw_cfg(struct fw_cfg *fw, const struct dev_ctx *ctx,
			const struct pc_firmware_devices *d)
{
	const struct vm_config *cfg = ctx->cfg;
	int ret = 0;

	ret |= fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, ctx->map->ram_size);
	ret |= fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, (uint16_t)cfg->cpus);
	ret |= fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, (uint16_t)cfg->cpus);
	/* No display yet: SeaBIOS mirrors its screen on COM1 instead. */
	ret |= fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, 1);
	ret |= fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, cfg->boot_menu == 1);
	ret |= fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
	if (cfg->boot_menu_timeout_ms) {
		uint8_t le[2];

		le16_put(le, (uint16_t)cfg->boot_menu_timeout_ms);
		ret |= fw_cfg_add_file(fw, "etc/boot-menu-wait", le, 2, false);
	}
	ret |= add_e820(fw, ctx->map);
	ret |= add_bootorder(fw, cfg, d);
	return ret ? -EINVAL : 0;
}

/* ---- ACPI and SMBIOS ---- */

static int setup_tables(struct fw_cfg *fw, const struct dev_ctx *ctx, char *err, size_t errlen)
{
	const struct vm_config *cfg = ctx->cfg;
	const struct memmap *map = ctx->map;
	struct acpi_config ac = {
		.nr_cpus = cfg->cpus,
		.low_ram_end = map->low_size,
		.pm_base = PC_PM_BASE,
	};
	struct smbios_config sc = {
		.nr_cpus = cfg->cpus,
		.ram_below_4g = map->low_size,
		.ram_above_4g = map->high_size,
	};
	struct acpi_blobs ab = { 0 };
	struct smbios_blobs sb = { 0 };
	unsigned eax = 0, ebx, ecx, edx = 0;
	int ret;

	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
		sc.cpuid_signature = eax;
		sc.cpuid_features = edx;
	}
	ret = acpi_build(&ac, &ab);
	if (ret == 0)
		ret = smbios_build(&sc, &sb);
	if (ret == 0 && !cfg->kernel) {
		ret = acpi_install_fw_cfg(fw, &ab);
		if (ret == 0)
			ret = smbios_install_fw_cfg(fw, &sb);
	} else if (ret == 0) {
		if (ab.tables_len > DIRECT_ACPI_MAX || sb.tables_len > DIRECT_SMBIOS_MAX)
			ret = -ENOSPC;
		if (ret == 0)
			ret = acpi_install_direct(ctx->mem, &ab, DIRECT_ACPI_TABLES, DIRECT_ACPI_RSDP);
		if (ret == 0)
			ret = smbios_install_direct(ctx->mem, &sb, DIRECT_SMBIOS_ANCHOR,
						    DIRECT_SMBIOS_TABLES);
	}
	acpi_blobs_free(&ab);
	smbios_blobs_free(&sb);
	if (ret < 0)
		snprintf(err, errlen, "cannot build the ACPI/SMBIOS tables: %s", strerror(-ret));
	return ret < 0 ? -1 : 0;
}

/* ---- CMOS ---- */

/* The CMOS fields firmware reads for the machine's shape (seabios-interface.md §5). */
static void cmos_preset(struct rtc_cmos *rtc, const struct dev_ctx *ctx)
{
	const struct memmap *map = ctx->map;
	uint64_t ext = map->low_size > (16ULL << 20) ? (map->low_size - (16ULL << 20)) >> 16 : 0;
	uint64_t ext_kib = map->low_size > (1ULL << 20) ? (map->low_size - (1ULL << 20)) >> 10 : 0;
	uint64_t high = map->high_size >> 16;

	if (ext_kib > 0xffff)
		ext_kib = 0xffff;
	if (ext > 0xffff)
		ext = 0xffff;
	rtc_cmos_set_byte(rtc, 0x17, (uint8_t)ext_kib);
	rtc_cmos_set_byte(rtc, 0x18, (uint8_t)(ext_kib >> 8));
	rtc_cmos_set_byte(rtc, 0x30, (uint8_t)ext_kib);
	rtc_cmos_set_byte(rtc, 0x31, (uint8_t)(ext_kib >> 8));
	rtc_cmos_set_byte(rtc, 0x34, (uint8_t)ext);
	rtc_cmos_set_byte(rtc, 0x35, (uint8_t)(ext >> 8));
	rtc_cmos_set_byte(rtc, 0x5b, (uint8_t)high);
	rtc_cmos_set_byte(rtc, 0x5c, (uint8_t)(high >> 8));
	rtc_cmos_set_byte(rtc, 0x5d, (uint8_t)(high >> 16));
	rtc_cmos_set_byte(rtc, 0x5f, (uint8_t)(ctx->cfg->cpus - 1));
}

int pc_firmware_setup(const struct pc_firmware_devices *d, const struct dev_ctx *ctx, char *err,
		      size_t errlen)
{
	struct fw_cfg *fw = d->fw_cfg;

	if (!d->fw_cfg || !d->rtc || !d->ide || !d->pm) {
		snprintf(err, errlen, "the board lacks fw_cfg, the RTC, IDE or PM");
		return -1;
	}
	cmos_preset(d->rtc, ctx);
	if (ctx->cfg->kernel) {
		/* Without a BIOS nobody turns the IDE channels' decoding on or
		 * programs PMBA; the ACPI tables say PC_PM_BASE. */
		piix_ide_preset_decode(d->ide);
		piix4_pm_preset_pmba(d->pm, PC_PM_BASE);
	}
	if (setup_fw_cfg(fw, ctx, d) < 0) {
		snprintf(err, errlen, "cannot set up fw_cfg");
		return -1;
	}
	return setup_tables(fw, ctx, err, errlen);
}
