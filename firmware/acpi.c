// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Values follow QEMU's PIIX4 machine (hw/i386/acpi-build.c) and SeaBIOS's own
 * tables, which Windows Server 2003 is known to boot with: FADT revision 1
 * ("w2k requires FADT(rev1)"), ACPI 1.0 Processor objects, IOAPIC ID 0.
 */
#include "firmware/acpi.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "firmware/acpi_dsdt.h"
#include "vmm/le.h"
#include "firmware/table_loader.h"

#define OEM_ID	     "MINVMM" /* 6 characters */
#define OEM_TABLE_ID "MVMM"   /* followed by the signature, as QEMU does with "BXPC" */
#define CREATOR_ID   "MVMM"

/* Common header of the system description tables */
#define HDR_SIGNATURE	 0
#define HDR_LENGTH	 4
#define HDR_REVISION	 8
#define HDR_CHECKSUM	 9
#define HDR_OEM_ID	 10
#define HDR_OEM_TABLE_ID 16
#define HDR_OEM_REVISION 24
#define HDR_CREATOR_ID	 28
#define HDR_CREATOR_REV	 32
#define HDR_SIZE	 36

/* RSDP, ACPI 1.0 */
#define RSDP_CHECKSUM 8
#define RSDP_OEM_ID   9
#define RSDP_REVISION 15
#define RSDP_RSDT     16
#define RSDP_SIZE     20

/* FADT revision 1: the 116-byte ACPI 1.0 layout */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT	   40
#define FADT_INT_MODEL	   44
#define FADT_SCI_INT	   46
#define FADT_SMI_CMD	   48
#define FADT_ACPI_ENABLE   52
#define FADT_ACPI_DISABLE  53
#define FADT_PM1A_EVT_BLK  56
#define FADT_PM1A_CNT_BLK  64
#define FADT_PM_TMR_BLK	   76
#define FADT_GPE0_BLK	   80
#define FADT_PM1_EVT_LEN   88
#define FADT_PM1_CNT_LEN   89
#define FADT_PM_TMR_LEN	   91
#define FADT_GPE0_BLK_LEN  92
#define FADT_P_LVL2_LAT	   96
#define FADT_P_LVL3_LAT	   98
#define FADT_CENTURY	   108
#define FADT_FLAGS	   112
#define FADT_SIZE	   116

#define FADT_F_WBINVD		  (1u << 0)
#define FADT_F_PROC_C1		  (1u << 2)
#define FADT_F_SLP_BUTTON	  (1u << 5) /* no sleep button */
#define FADT_F_RTC_S4		  (1u << 7)
#define FADT_F_USE_PLATFORM_CLOCK (1u << 15)
#define FADT_F_FORCE_APIC_CLUSTER (1u << 18)
/* FADT_F_PWR_BUTTON (bit 4) stays clear: the power button is the fixed
 * feature in PM1_STS/PM1_EN. */

#define FACS_SIZE 64

/* MADT */
#define MADT_LAPIC_ADDR	 36
#define MADT_FLAGS	 40
#define MADT_ENTRIES	 44
#define MADT_LAPIC_SIZE	 8
#define MADT_IOAPIC_SIZE 12
#define MADT_ISO_SIZE	 10
#define MADT_NMI_SIZE	 6
#define MADT_PCAT_COMPAT 1

#define LAPIC_BASE  0xfee00000u
#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_ID   0 /* what KVM's in-kernel IOAPIC reports, and QEMU's MADT */

/* PIIX4 PM, SeaBIOS/QEMU values */
#define SCI_IRQ	     9
#define SMI_CMD_PORT 0xb2
#define ACPI_ENABLE  0xf1
#define ACPI_DISABLE 0xf0
#define GPE0_BLK     0xafe0
#define GPE0_LEN     4
#define RTC_CENTURY  0x32

/* Interrupts the links may route (level, active high), plus the SCI */
static const uint8_t pci_irqs[] = {5, 9, 10, 11};
#define MADT_NR_ISO (1 + sizeof(pci_irqs))

/* AML opcodes used by the SSDT */
#define AML_SCOPE_OP	 0x10
#define AML_EXT_PREFIX	 0x5b
#define AML_PROCESSOR_OP 0x83
#define AML_PROC_SIZE	 13 /* ExtOp, ProcessorOp, PkgLength(1), NameSeg, ID, PBLK, PBLK len */

struct layout {
	size_t dsdt, facs, ssdt, fadt, madt, rsdt, total;
	size_t ssdt_len, madt_len, rsdt_len;
};

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Bytes a PkgLength takes when it covers itself plus body bytes. */
static unsigned pkglen_bytes(size_t body)
{
	if (body + 1 <= 0x3f)
		return 1;
	if (body + 2 < (1u << 12))
		return 2;
	if (body + 3 < (1u << 20))
		return 3;
	return 4;
}

static uint8_t *put_pkglen(uint8_t *p, size_t body)
{
	unsigned n = pkglen_bytes(body);
	size_t total = body + n;

	if (n == 1) {
		*p++ = (uint8_t)total;
		return p;
	}
	*p++ = (uint8_t)((n - 1) << 6 | (total & 0xf));
	total >>= 4;
	for (unsigned i = 1; i < n; i++, total >>= 8)
		*p++ = (uint8_t)total;
	return p;
}

static size_t ssdt_body_len(unsigned nr_cpus)
{
	return 5 + (size_t)nr_cpus * AML_PROC_SIZE; /* "\_PR_" + the processors */
}

static size_t ssdt_len(unsigned nr_cpus)
{
	size_t body = ssdt_body_len(nr_cpus);

	return HDR_SIZE + 1 + pkglen_bytes(body) + body;
}

static void put_header(uint8_t *t, const char *sig, size_t len, uint8_t rev)
{
	memcpy(t + HDR_SIGNATURE, sig, 4);
	le32_put(t + HDR_LENGTH, (uint32_t)len);
	t[HDR_REVISION] = rev;
	t[HDR_CHECKSUM] = 0; /* the loader's ADD_CHECKSUM fills it in */
	memcpy(t + HDR_OEM_ID, OEM_ID, 6);
	memcpy(t + HDR_OEM_TABLE_ID, OEM_TABLE_ID, 4);
	memcpy(t + HDR_OEM_TABLE_ID + 4, sig, 4);
	le32_put(t + HDR_OEM_REVISION, 1);
	memcpy(t + HDR_CREATOR_ID, CREATOR_ID, 4);
	le32_put(t + HDR_CREATOR_REV, 1);
}

/*
 * Scope (\_PR) { Processor (CPxx, xx, 0, 0) {} ... }: ACPI 1.0 processor
 * objects, IDs matching the MADT.  No P_BLK: with P_LVL2/3 latencies of
 * 0xFFF and no duty cycle field the OS has no use for one, and an address
 * there would only invite reads of ports nothing decodes.
 */
static void build_ssdt(uint8_t *t, unsigned nr_cpus)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = ssdt_len(nr_cpus);
	uint8_t *p = t + HDR_SIZE;

	put_header(t, "SSDT", len, 1);
	*p++ = AML_SCOPE_OP;
	p = put_pkglen(p, ssdt_body_len(nr_cpus));
	memcpy(p, "\\_PR_", 5);
	p += 5;
	for (unsigned i = 0; i < nr_cpus; i++) {
		*p++ = AML_EXT_PREFIX;
		*p++ = AML_PROCESSOR_OP;
		p = put_pkglen(p, AML_PROC_SIZE - 3);
		*p++ = 'C';
		*p++ = 'P';
		*p++ = (uint8_t)hex[(i >> 4) & 0xf];
		*p++ = (uint8_t)hex[i & 0xf];
		*p++ = (uint8_t)i; /* ProcessorID */
		le32_put(p, 0); /* PBlkAddress */
		p += 4;
		*p++ = 0; /* PBlkLength */
	}
	assert((size_t)(p - t) == len);
}

static void build_dsdt(uint8_t *t, const struct acpi_config *cfg)
{
	uint8_t *hole = t + acpi_dsdt_hole_off;

	memcpy(t, acpi_dsdt_aml, acpi_dsdt_aml_len);
	t[HDR_CHECKSUM] = 0;
	assert(le32_get(hole) == 0xe0000000 && t[acpi_dsdt_fden_off] == 0x00);
	le32_put(hole, (uint32_t)cfg->low_ram_end);
	le32_put(hole + 4, ACPI_PCI_HOLE_END - 1);
	le32_put(hole + 12, (uint32_t)(ACPI_PCI_HOLE_END - cfg->low_ram_end));
	t[acpi_dsdt_fden_off] = cfg->has_fdc ? 0x01 : 0x00; /* OneOp : ZeroOp */
}

static void build_fadt(uint8_t *t, const struct acpi_config *cfg, const struct layout *lo,
		       uint16_t pm_base)
{
	uint32_t flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4 |
			 FADT_F_USE_PLATFORM_CLOCK;

	/* Flat logical APIC destinations stop at 8 CPUs (QEMU does the same). */
	if (cfg->nr_cpus > 8)
		flags |= FADT_F_FORCE_APIC_CLUSTER;
	put_header(t, "FACP", FADT_SIZE, 1);
	le32_put(t + FADT_FIRMWARE_CTRL, (uint32_t)lo->facs); /* relocated by the loader */
	le32_put(t + FADT_DSDT, (uint32_t)lo->dsdt);
	t[FADT_INT_MODEL] = 1;
	le16_put(t + FADT_SCI_INT, SCI_IRQ);
	le32_put(t + FADT_SMI_CMD, SMI_CMD_PORT);
	t[FADT_ACPI_ENABLE] = ACPI_ENABLE;
	t[FADT_ACPI_DISABLE] = ACPI_DISABLE;
	le32_put(t + FADT_PM1A_EVT_BLK, pm_base);
	le32_put(t + FADT_PM1A_CNT_BLK, pm_base + 4u);
	le32_put(t + FADT_PM_TMR_BLK, pm_base + 8u);
	le32_put(t + FADT_GPE0_BLK, GPE0_BLK);
	t[FADT_PM1_EVT_LEN] = 4;
	t[FADT_PM1_CNT_LEN] = 2;
	t[FADT_PM_TMR_LEN] = 4;
	t[FADT_GPE0_BLK_LEN] = GPE0_LEN;
	le16_put(t + FADT_P_LVL2_LAT, 0xfff); /* C2 not supported */
	le16_put(t + FADT_P_LVL3_LAT, 0xfff); /* C3 not supported */
	t[FADT_CENTURY] = RTC_CENTURY;
	le32_put(t + FADT_FLAGS, flags);
}

static size_t madt_len(unsigned nr_cpus)
{
	return MADT_ENTRIES + (size_t)nr_cpus * MADT_LAPIC_SIZE + MADT_IOAPIC_SIZE +
	       MADT_NR_ISO * MADT_ISO_SIZE + MADT_NMI_SIZE;
}

static uint8_t *put_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	p[0] = 2; /* Interrupt Source Override */
	p[1] = MADT_ISO_SIZE;
	p[2] = 0; /* ISA */
	p[3] = irq;
	le32_put(p + 4, gsi);
	le16_put(p + 8, flags);
	return p + MADT_ISO_SIZE;
}

static void build_madt(uint8_t *t, unsigned nr_cpus)
{
	size_t len = madt_len(nr_cpus);
	uint8_t *p = t + MADT_ENTRIES;

	put_header(t, "APIC", len, 1);
	le32_put(t + MADT_LAPIC_ADDR, LAPIC_BASE);
	le32_put(t + MADT_FLAGS, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < nr_cpus; i++) {
		p[0] = 0; /* Processor Local APIC */
		p[1] = MADT_LAPIC_SIZE;
		p[2] = (uint8_t)i;     /* ACPI processor ID, as in the SSDT */
		p[3] = (uint8_t)i;     /* APIC ID */
		le32_put(p + 4, 1); /* enabled */
		p += MADT_LAPIC_SIZE;
	}
	p[0] = 1; /* I/O APIC */
	p[1] = MADT_IOAPIC_SIZE;
	p[2] = IOAPIC_ID;
	p[3] = 0;
	le32_put(p + 4, IOAPIC_BASE);
	le32_put(p + 8, 0); /* GSI base */
	p += MADT_IOAPIC_SIZE;
	/* The PIT's IRQ 0 is wired to IOAPIC pin 2; flags 0: ISA defaults. */
	p = put_iso(p, 0, 2, 0);
	/* PCI interrupts and the SCI: level, active high (flags 0xD) */
	for (size_t i = 0; i < sizeof(pci_irqs); i++)
		p = put_iso(p, pci_irqs[i], pci_irqs[i], 0xd);
	p[0] = 4; /* Local APIC NMI */
	p[1] = MADT_NMI_SIZE;
	p[2] = 0xff; /* all processors */
	le16_put(p + 3, 0);
	p[5] = 1; /* LINT1 */
	p += MADT_NMI_SIZE;
	assert((size_t)(p - t) == len);
}

static void build_layout(struct layout *lo, unsigned nr_cpus)
{
	size_t off = 0;

	/* The DSDT first: placed page-aligned, it stays inside one page
	 * (KB896900) as long as it is below 4 KiB. */
	lo->dsdt = off;
	off += acpi_dsdt_aml_len;
	lo->facs = off = align_up(off, 64);
	off += FACS_SIZE;
	lo->ssdt_len = ssdt_len(nr_cpus);
	lo->ssdt = off;
	off = align_up(off + lo->ssdt_len, 8);
	lo->fadt = off;
	off = align_up(off + FADT_SIZE, 8);
	lo->madt_len = madt_len(nr_cpus);
	lo->madt = off;
	off = align_up(off + lo->madt_len, 8);
	lo->rsdt_len = HDR_SIZE + 3 * 4;
	lo->rsdt = off;
	off += lo->rsdt_len;
	lo->total = off;
}

static int build_loader(const struct layout *lo, struct acpi_blobs *out)
{
	const size_t tables[][2] = {
	    {lo->dsdt, acpi_dsdt_aml_len}, {lo->ssdt, lo->ssdt_len}, {lo->fadt, FADT_SIZE},
	    {lo->madt, lo->madt_len},	   {lo->rsdt, lo->rsdt_len},
	};
	struct table_loader l;

	table_loader_init(&l);
	table_loader_allocate(&l, ACPI_TABLES_FILE, ACPI_TABLES_ALIGN, TABLE_LOADER_ZONE_HIGH);
	table_loader_allocate(&l, ACPI_RSDP_FILE, ACPI_RSDP_ALIGN, TABLE_LOADER_ZONE_FSEG);
	/* Every pointer first: the checksums cover the relocated values. */
	table_loader_add_pointer(&l, ACPI_RSDP_FILE, RSDP_RSDT, 4, ACPI_TABLES_FILE);
	for (unsigned i = 0; i < 3; i++)
		table_loader_add_pointer(&l, ACPI_TABLES_FILE,
					 (uint32_t)(lo->rsdt + HDR_SIZE + 4 * i), 4,
					 ACPI_TABLES_FILE);
	table_loader_add_pointer(&l, ACPI_TABLES_FILE, (uint32_t)(lo->fadt + FADT_FIRMWARE_CTRL), 4,
				 ACPI_TABLES_FILE);
	table_loader_add_pointer(&l, ACPI_TABLES_FILE, (uint32_t)(lo->fadt + FADT_DSDT), 4,
				 ACPI_TABLES_FILE);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		table_loader_add_checksum(&l, ACPI_TABLES_FILE,
					  (uint32_t)(tables[i][0] + HDR_CHECKSUM),
					  (uint32_t)tables[i][0], (uint32_t)tables[i][1]);
	table_loader_add_checksum(&l, ACPI_RSDP_FILE, RSDP_CHECKSUM, 0, RSDP_SIZE);
	return table_loader_finish(&l, &out->loader, &out->loader_len);
}

int acpi_build(const struct acpi_config *cfg, struct acpi_blobs *out)
{
	uint16_t pm_base = cfg->pm_base ? cfg->pm_base : ACPI_PM_BASE_DEFAULT;
	struct layout lo;
	uint8_t *t;
	int err;

	*out = (struct acpi_blobs){0};
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS || cfg->low_ram_end < 0x100000 ||
	    cfg->low_ram_end >= ACPI_PCI_HOLE_END || pm_base > 0xffff - 0x40)
		return -EINVAL;

	build_layout(&lo, cfg->nr_cpus);
	out->tables = calloc(1, lo.total);
	out->rsdp = calloc(1, RSDP_SIZE);
	if (!out->tables || !out->rsdp) {
		acpi_blobs_free(out);
		return -ENOMEM;
	}
	out->tables_len = lo.total;
	out->rsdp_len = RSDP_SIZE;

	t = out->tables;
	build_dsdt(t + lo.dsdt, cfg);
	memcpy(t + lo.facs, "FACS", 4);
	le32_put(t + lo.facs + 4, FACS_SIZE);
	build_ssdt(t + lo.ssdt, cfg->nr_cpus);
	build_fadt(t + lo.fadt, cfg, &lo, pm_base);
	build_madt(t + lo.madt, cfg->nr_cpus);
	put_header(t + lo.rsdt, "RSDT", lo.rsdt_len, 1);
	le32_put(t + lo.rsdt + HDR_SIZE, (uint32_t)lo.fadt);
	le32_put(t + lo.rsdt + HDR_SIZE + 4, (uint32_t)lo.ssdt);
	le32_put(t + lo.rsdt + HDR_SIZE + 8, (uint32_t)lo.madt);

	memcpy(out->rsdp, "RSD PTR ", 8);
	memcpy(out->rsdp + RSDP_OEM_ID, OEM_ID, 6);
	out->rsdp[RSDP_REVISION] = 0;
	le32_put(out->rsdp + RSDP_RSDT, (uint32_t)lo.rsdt);

	err = build_loader(&lo, out);
	if (err)
		acpi_blobs_free(out);
	return err;
}

void acpi_blobs_free(struct acpi_blobs *b)
{
	free(b->tables);
	free(b->rsdp);
	free(b->loader);
	*b = (struct acpi_blobs){0};
}

int acpi_install_fw_cfg(struct fw_cfg *fw, const struct acpi_blobs *b)
{
	int err = fw_cfg_add_file(fw, ACPI_TABLES_FILE, b->tables, b->tables_len, false);

	if (!err)
		err = fw_cfg_add_file(fw, ACPI_RSDP_FILE, b->rsdp, b->rsdp_len, false);
	if (!err)
		err = fw_cfg_add_file(fw, TABLE_LOADER_FILE, b->loader, b->loader_len, false);
	return err;
}

int acpi_install_direct(const struct guest_mem *mem, const struct acpi_blobs *b,
			uint64_t tables_gpa, uint64_t rsdp_gpa)
{
	const struct table_loader_file files[] = {
	    {ACPI_TABLES_FILE, b->tables, b->tables_len, tables_gpa},
	    {ACPI_RSDP_FILE, b->rsdp, b->rsdp_len, rsdp_gpa},
	};

	return table_loader_run(b->loader, b->loader_len, files, 2, mem);
}
