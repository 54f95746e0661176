/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SMBIOS 2.4 tables (DMTF DSP0134) as QEMU hands them to SeaBIOS:
 * etc/smbios/smbios-anchor, the 31-byte "_SM_" entry point, and
 * etc/smbios/smbios-tables, the structures.  SeaBIOS (smbios_romfile_setup)
 * takes them only if the anchor is exactly 31 bytes and its table length
 * equals the tables file's size; it copies the structures, writes their
 * address into the anchor and fixes both checksums.
 *
 * Structures: type 0 (BIOS), 1 (system), 3 (enclosure), 4 per CPU, 16, 17 per
 * 16 GiB of RAM, 19 per RAM range (below and above 4 GiB), 32, 127.
 */
#ifndef MINIVMM_SMBIOS_H
#define MINIVMM_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

struct fw_cfg;

#define SMBIOS_ANCHOR_FILE "etc/smbios/smbios-anchor"
#define SMBIOS_TABLES_FILE "etc/smbios/smbios-tables"
#define SMBIOS_ANCHOR_SIZE 31
#define SMBIOS_MAX_CPUS	   255

struct smbios_config {
	unsigned nr_cpus;	  /* 1..SMBIOS_MAX_CPUS */
	uint64_t ram_below_4g;	  /* bytes of RAM from 0 */
	uint64_t ram_above_4g;	  /* bytes of RAM from 4 GiB */
	uint32_t cpuid_signature; /* CPUID.1 EAX, for the type 4 processor ID */
	uint32_t cpuid_features;  /* CPUID.1 EDX */
	const uint8_t *uuid;	  /* 16 bytes in SMBIOS order, or NULL (all zero) */
	/* Type 0 strings; NULL gives "minivmm", the project version, "01/01/2024". */
	const char *bios_vendor, *bios_version, *bios_date;
	const char *version; /* system/product version string, or NULL */
};

struct smbios_blobs {
	uint8_t *anchor, *tables;
	size_t anchor_len, tables_len;
};

/* 0, -EINVAL (bad config, a string over 64 bytes), -E2BIG (tables over the
 * 64 KiB an SMBIOS 2.x anchor can describe), -ENOMEM. */
int smbios_build(const struct smbios_config *cfg, struct smbios_blobs *out);
void smbios_blobs_free(struct smbios_blobs *b);

/* Adds etc/smbios/smbios-anchor and etc/smbios/smbios-tables (read-only). */
int smbios_install_fw_cfg(struct fw_cfg *fw, const struct smbios_blobs *b);

/* Direct boot: structures at tables_gpa (below 4 GiB; the caller reserves
 * it), the anchor at anchor_gpa (16-aligned in 0xF0000-0xFFFFF, where OSes
 * scan for it) with its address and checksums fixed.  0, -EINVAL, -EFAULT. */
int smbios_install_direct(const struct guest_mem *mem, const struct smbios_blobs *b,
			  uint64_t anchor_gpa, uint64_t tables_gpa);

#endif
