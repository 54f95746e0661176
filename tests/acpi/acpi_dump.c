// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writes minivmm's ACPI tables, as a guest finds them after the table-loader
 * script has run, one file per table (rsdp.dat, rsdt.dat, facp.dat, facs.dat,
 * dsdt.dat, ssdt.dat, apic.dat) for iasl -d and acpiexec.
 *
 * usage: acpi_dump OUTDIR NR_CPUS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/acpi.h"

#define LOW_SIZE  0x100000
#define HIGH_BASE 0x7fff0000u
#define HIGH_SIZE 0x10000
#define RSDP_GPA  0xf5a40

static struct guest_mem mem;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int dump(const char *dir, const char *name, uint32_t gpa, uint32_t len)
{
	const uint8_t *p = guest_mem_ptr(&mem, gpa, len, false);
	char path[4096];
	FILE *f;

	if (!p) {
		fprintf(stderr, "acpi_dump: %s at %#x+%#x is outside RAM\n", name, gpa, len);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

static int dump_table(const char *dir, const char *name, uint32_t gpa)
{
	const uint8_t *h = guest_mem_ptr(&mem, gpa, 8, false);

	return h ? dump(dir, name, gpa, le32(h + 4)) : -1;
}

int main(int argc, char **argv)
{
	struct acpi_config cfg = {.low_ram_end = 0x80000000};
	struct acpi_blobs b;
	uint8_t *low = calloc(1, LOW_SIZE), *high = calloc(1, HIGH_SIZE);
	const uint8_t *rsdt, *fadt = NULL;
	uint32_t rsdt_gpa, n;
	int err = 0;

	if (argc != 3 || !low || !high) {
		fprintf(stderr, "usage: acpi_dump OUTDIR NR_CPUS\n");
		return 2;
	}
	cfg.nr_cpus = (unsigned)strtoul(argv[2], NULL, 0);
	if (guest_mem_add(&mem, 0, LOW_SIZE, low, false, "low") ||
	    guest_mem_add(&mem, HIGH_BASE, HIGH_SIZE, high, false, "high") ||
	    acpi_build(&cfg, &b) || acpi_install_direct(&mem, &b, HIGH_BASE, RSDP_GPA)) {
		fprintf(stderr, "acpi_dump: building or placing the tables failed\n");
		return 1;
	}
	rsdt_gpa = le32(low + RSDP_GPA + 16);
	err |= dump(argv[1], "rsdp", RSDP_GPA, 20);
	err |= dump_table(argv[1], "rsdt", rsdt_gpa);
	rsdt = guest_mem_ptr(&mem, rsdt_gpa, 36, false);
	n = rsdt ? (le32(rsdt + 4) - 36) / 4 : 0;
	for (uint32_t i = 0; i < n && rsdt; i++) {
		uint32_t a = le32(rsdt + 36 + 4 * i);
		const uint8_t *h = guest_mem_ptr(&mem, a, 116, false);
		char name[5] = {0};

		if (!h)
			return 1;
		for (int k = 0; k < 4; k++)
			name[k] = (char)(h[k] | 0x20); /* lower case */
		err |= dump_table(argv[1], name, a);
		if (!memcmp(h, "FACP", 4))
			fadt = h;
	}
	if (!fadt) {
		fprintf(stderr, "acpi_dump: no FADT\n");
		return 1;
	}
	err |= dump(argv[1], "facs", le32(fadt + 36), 64);
	err |= dump_table(argv[1], "dsdt", le32(fadt + 40));
	acpi_blobs_free(&b);
	free(low);
	free(high);
	return err ? 1 : 0;
}
