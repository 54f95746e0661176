/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI tables for the "pc" machine (shared/windows2003.md, "ACPI"): RSDP
 * rev 0 -> RSDT -> FADT rev 1 (-> FACS, DSDT), SSDT (processors), MADT.
 *
 * acpi_build() produces the three fw_cfg files QEMU hands SeaBIOS:
 *   etc/acpi/tables  FACS, DSDT, SSDT, FADT, MADT, RSDT with their pointers
 *                    as offsets into this file and zero checksums;
 *   etc/acpi/rsdp    the RSDP, its RSDT pointer an offset into the tables;
 *   etc/table-loader the script that places both (tables: align 4096, zone
 *                    HIGH, the DSDT first so it stays inside one page; rsdp:
 *                    align 16, zone FSEG), relocates every pointer and then
 *                    fixes every checksum.
 * acpi_install_fw_cfg() publishes them; acpi_install_direct() runs the same
 * script into guest RAM for a boot without firmware.
 */
#ifndef MINIVMM_ACPI_H
#define MINIVMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

struct fw_cfg;

#define ACPI_TABLES_FILE "etc/acpi/tables"
#define ACPI_RSDP_FILE	 "etc/acpi/rsdp"

#define ACPI_MAX_CPUS	     255   /* xAPIC IDs 0..254 in one-byte MADT fields */
#define ACPI_PM_BASE_DEFAULT 0x600 /* what SeaBIOS programs when the loader exists */
#define ACPI_PCI_HOLE_END    0xfec00000
#define ACPI_TABLES_ALIGN    4096
#define ACPI_RSDP_ALIGN	     16

struct acpi_config {
	unsigned nr_cpus;     /* 1..ACPI_MAX_CPUS; APIC ID = ACPI processor ID = index */
	uint64_t low_ram_end; /* start of the 32-bit PCI window in PCI0._CRS,
			       * 1 MiB..ACPI_PCI_HOLE_END */
	uint16_t pm_base;     /* PIIX4 PMBA; 0 means ACPI_PM_BASE_DEFAULT */
	bool has_fdc;	      /* FDC0 (PNP0700) reports present */
};

struct acpi_blobs {
	uint8_t *tables, *rsdp, *loader;
	size_t tables_len, rsdp_len, loader_len;
};

/* 0, -EINVAL for a bad config, -ENOMEM.  Free with acpi_blobs_free. */
int acpi_build(const struct acpi_config *cfg, struct acpi_blobs *out);
void acpi_blobs_free(struct acpi_blobs *b);

/* Adds etc/acpi/tables, etc/acpi/rsdp and etc/table-loader (read-only). */
int acpi_install_fw_cfg(struct fw_cfg *fw, const struct acpi_blobs *b);

/*
 * Direct boot: runs the loader script into guest RAM with etc/acpi/tables at
 * tables_gpa (ACPI_TABLES_ALIGN-aligned, below 4 GiB, tables_len bytes: the
 * caller reserves that in the E820 map) and the RSDP at rsdp_gpa
 * (ACPI_RSDP_ALIGN-aligned, inside 0xE0000-0xFFFFF where OSes scan for it).
 * 0 or the executor's error (firmware/table_loader.h).
 */
int acpi_install_direct(const struct guest_mem *mem, const struct acpi_blobs *b,
			uint64_t tables_gpa, uint64_t rsdp_gpa);

#endif
