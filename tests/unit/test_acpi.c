// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ACPI and SMBIOS tables: built, placed in a fake guest RAM by running the
 * table-loader script through the executor (as SeaBIOS would), then found and
 * checked the way an OS finds them: RSDP scan of 0xE0000-0xFFFFF, pointers
 * followed, every checksum and field of interest checked.  The DSDT is also
 * walked with the AML subset SeaBIOS's DSDT parser understands, because
 * SeaBIOS skips keyboard set-up when it cannot find PNP0303 there.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/fw_cfg.h"
#include "firmware/acpi.h"
#include "firmware/smbios.h"
#include "firmware/table_loader.h"
#include "vmm/le.h"

#define LOW_SIZE    0x100000 /* 0 - 1 MiB, holds the F segment */
#define HIGH_BASE   0x7fff0000ull
#define HIGH_SIZE   0x10000
#define TABLES_GPA  HIGH_BASE
#define RSDP_GPA    0xf5a40
#define LOW_RAM_END 0x80000000ull

struct ram {
	struct guest_mem mem;
	uint8_t *low, *high;
};

static void ram_init(struct ram *r)
{
	memset(r, 0, sizeof(*r));
	r->low = calloc(1, LOW_SIZE);
	r->high = calloc(1, HIGH_SIZE);
	assert_non_null(r->low);
	assert_non_null(r->high);
	assert_int_equal(guest_mem_add(&r->mem, 0, LOW_SIZE, r->low, false, "low"), 0);
	assert_int_equal(guest_mem_add(&r->mem, HIGH_BASE, HIGH_SIZE, r->high, false, "high"), 0);
}

static void ram_free(struct ram *r)
{
	free(r->low);
	free(r->high);
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Host pointer to a whole table at gpa, checked against the fake RAM. */
static const uint8_t *gptr(struct ram *r, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_mem_ptr(&r->mem, gpa, len, false);

	assert_non_null(p);
	return p;
}

/* A system description table at gpa: signature, length and checksum. */
static const uint8_t *table(struct ram *r, uint32_t gpa, const char *sig)
{
	const uint8_t *h = gptr(r, gpa, 36);
	uint32_t len = le32_get(h + 4);

	assert_memory_equal(h, sig, 4);
	assert_true(len >= 36);
	h = gptr(r, gpa, len);
	assert_int_equal(sum8(h, len), 0);
	return h;
}

/* ---- a walk of the DSDT with SeaBIOS's parser's opcode subset ---- */

struct dev {
	char name[8];
	uint32_t hid; /* EISA ID dword, 0 if none */
	const uint8_t *crs;
	size_t crs_len;
};

struct walk {
	const uint8_t *aml;
	struct dev devs[32];
	unsigned nr_devs;
	int cur; /* device being walked, -1 outside any */
	char last_name[8];
};

static size_t pkglen(const uint8_t *p, size_t *len)
{
	unsigned n = p[0] >> 6;

	if (n == 0) {
		*len = p[0] & 0x3f;
		return 1;
	}
	*len = p[0] & 0x0f;
	for (unsigned i = 0; i < n; i++)
		*len |= (size_t)p[1 + i] << (4 + 8 * i);
	return 1 + n;
}

static size_t namestring(struct walk *w, const uint8_t *p)
{
	size_t off = 0;
	unsigned segs = 1;

	while (p[off] == '\\' || p[off] == '^')
		off++;
	if (p[off] == 0x2e) {
		segs = 2;
		off++;
	} else if (p[off] == 0x2f) {
		segs = p[off + 1];
		off += 2;
	} else if (p[off] == 0) {
		return off + 1;
	}
	assert_true((p[off] >= 'A' && p[off] <= 'Z') || p[off] == '_');
	memcpy(w->last_name, p + off + 4 * (segs - 1), 4);
	w->last_name[4] = 0;
	return off + 4 * segs;
}

static size_t int_const(const uint8_t *p, uint32_t *v)
{
	switch (p[0]) {
	case 0x00:
	case 0x01:
		*v = p[0];
		return 1;
	case 0x0a:
		*v = p[1];
		return 2;
	case 0x0b:
		*v = le16_get(p + 1);
		return 3;
	case 0x0c:
		*v = le32_get(p + 1);
		return 5;
	}
	fail_msg("integer constant expected, opcode 0x%02x", p[0]);
	return 0;
}

static void termlist(struct walk *w, size_t off, size_t end);

static size_t termobj(struct walk *w, size_t off)
{
	const uint8_t *p = w->aml + off;
	size_t len, n;
	uint32_t v;

	switch (p[0]) {
	case 0x00:
	case 0x01:
	case 0x0a:
	case 0x0b:
	case 0x0c:
		return int_const(p, &v);
	case 0x0d:
		return strlen((const char *)p + 1) + 2;
	case 0x08: { /* Name */
		char name[8];

		n = 1 + namestring(w, p + 1);
		memcpy(name, w->last_name, sizeof(name));
		if (!strcmp(name, "_HID") && p[n] == 0x0c) {
			assert_true(w->cur >= 0);
			w->devs[w->cur].hid = le32_get(p + n + 1);
		}
		if (!strcmp(name, "_CRS") && p[n] == 0x11) {
			size_t h = pkglen(p + n + 1, &len);
			uint32_t blen;
			size_t k = int_const(p + n + 1 + h, &blen);

			assert_true(w->cur >= 0);
			w->devs[w->cur].crs = p + n + 1 + h + k;
			w->devs[w->cur].crs_len = blen;
		}
		return n + termobj(w, off + n);
	}
	case 0x10: /* Scope */
		n = 1 + pkglen(p + 1, &len);
		termlist(w, off + n + namestring(w, p + n), off + 1 + len);
		return 1 + len;
	case 0x11: /* Buffer */
	case 0x12: /* Package */
	case 0x14: /* Method */
		pkglen(p + 1, &len);
		return 1 + len;
	case 0x5b:
		switch (p[1]) {
		case 0x80: /* OperationRegion */
			n = 2 + namestring(w, p + 2) + 1;
			n += int_const(p + n, &v);
			return n + int_const(p + n, &v);
		case 0x81: /* Field */
		case 0x83: /* Processor */
			pkglen(p + 2, &len);
			return 2 + len;
		case 0x82: { /* Device */
			int outer = w->cur;

			n = 2 + pkglen(p + 2, &len);
			n += namestring(w, p + n);
			assert_true(w->nr_devs < 32);
			w->cur = (int)w->nr_devs++;
			memcpy(w->devs[w->cur].name, w->last_name, 8);
			termlist(w, off + n, off + 2 + len);
			w->cur = outer;
			return 2 + len;
		}
		}
		break;
	}
	fail_msg("opcode 0x%02x 0x%02x at DSDT offset %zu: SeaBIOS's parser would stop here", p[0],
		 p[1], off);
	return 0;
}

static void termlist(struct walk *w, size_t off, size_t end)
{
	/* SeaBIOS parses one term before it looks at the end: an empty scope
	 * makes it overrun and skip the rest of the enclosing one. */
	assert_true(off < end);
	while (off < end)
		off += termobj(w, off);
	assert_int_equal(off, end);
}

static uint32_t eisaid(const char *id)
{
	uint32_t v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
		     (uint32_t)(id[2] - 0x40) << 16;

	v |= (uint32_t)strtoul(id + 3, NULL, 16);
	/* AML stores it big-endian in a little-endian dword */
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

static const struct dev *find_dev(const struct walk *w, const char *hid)
{
	for (unsigned i = 0; i < w->nr_devs; i++)
		if (w->devs[i].hid == eisaid(hid))
			return &w->devs[i];
	return NULL;
}

static unsigned count_dev(const struct walk *w, const char *hid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < w->nr_devs; i++)
		n += w->devs[i].hid == eisaid(hid);
	return n;
}

/* The first resource descriptor of a kind in a _CRS buffer. */
static const uint8_t *find_resource(const struct dev *d, uint8_t large_tag, unsigned nth)
{
	size_t off = 0;

	while (off < d->crs_len) {
		const uint8_t *p = d->crs + off;

		if (p[0] & 0x80) {
			if (p[0] == large_tag && nth-- == 0)
				return p;
			off += 3 + le16_get(p + 1);
		} else {
			if ((p[0] >> 3) == 0x0f)
				break;
			off += 1 + (p[0] & 7);
		}
	}
	return NULL;
}

static void check_dsdt(const uint8_t *dsdt, const struct acpi_config *cfg)
{
	struct walk w = {.aml = dsdt, .cur = -1};
	const struct dev *pci, *kbd;
	const uint8_t *mem;

	termlist(&w, 36, le32_get(dsdt + 4));
	pci = find_dev(&w, "PNP0A03");
	kbd = find_dev(&w, "PNP0303");
	assert_non_null(pci);
	assert_non_null(kbd);
	assert_non_null(find_dev(&w, "PNP0F13"));
	assert_non_null(find_dev(&w, "PNP0B00"));
	assert_non_null(find_dev(&w, "PNP0501"));
	assert_non_null(find_dev(&w, "PNP0700"));
	assert_int_equal(count_dev(&w, "PNP0C0F"), 5);
	assert_non_null(kbd->crs);
	/* the second DWordMemory of PCI0._CRS is the hole */
	assert_non_null(pci->crs);
	assert_non_null(find_resource(pci, 0x87, 0));
	mem = find_resource(pci, 0x87, 1);
	assert_non_null(mem);
	assert_int_equal(le32_get(mem + 10), cfg->low_ram_end);
	assert_int_equal(le32_get(mem + 14), 0xfebfffff);
	assert_int_equal(le32_get(mem + 22), 0xfec00000 - cfg->low_ram_end);
	assert_null(find_resource(pci, 0x87, 2));
}

/* SSDT: Scope (\_PR) with one Processor per CPU, IDs 0..n-1. */
static void check_ssdt(const uint8_t *ssdt, unsigned nr_cpus)
{
	size_t end = le32_get(ssdt + 4), off = 36, len, n;
	unsigned cpus = 0;

	assert_int_equal(ssdt[off], 0x10);
	n = pkglen(ssdt + off + 1, &len);
	assert_int_equal(off + 1 + len, end);
	off += 1 + n;
	assert_memory_equal(ssdt + off, "\\_PR_", 5);
	off += 5;
	while (off < end) {
		char name[5];

		assert_int_equal(ssdt[off], 0x5b);
		assert_int_equal(ssdt[off + 1], 0x83);
		pkglen(ssdt + off + 2, &len);
		assert_int_equal(len, 11);
		snprintf(name, sizeof(name), "CP%02X", cpus);
		assert_memory_equal(ssdt + off + 3, name, 4);
		assert_int_equal(ssdt[off + 7], cpus);
		off += 2 + len;
		cpus++;
	}
	assert_int_equal(off, end);
	assert_int_equal(cpus, nr_cpus);
}

static void check_madt(const uint8_t *madt, unsigned nr_cpus)
{
	size_t end = le32_get(madt + 4), off = 44;
	unsigned lapics = 0, ioapics = 0, nmis = 0, isos = 0;
	uint16_t iso_flags[16];

	memset(iso_flags, 0xff, sizeof(iso_flags));
	assert_int_equal(madt[8], 1);
	assert_int_equal(le32_get(madt + 36), 0xfee00000);
	assert_int_equal(le32_get(madt + 40), 1);
	while (off < end) {
		const uint8_t *e = madt + off;

		assert_true(e[1] >= 2 && off + e[1] <= end);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);
			assert_int_equal(e[3], lapics);
			assert_int_equal(le32_get(e + 4), 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(le32_get(e + 4), 0xfec00000);
			assert_int_equal(le32_get(e + 8), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			assert_true(e[3] < 16);
			iso_flags[e[3]] = le16_get(e + 8);
			assert_int_equal(le32_get(e + 4), e[3] == 0 ? 2 : e[3]);
			isos++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(le16_get(e + 3), 0);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, end);
	assert_int_equal(lapics, nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
	assert_int_equal(isos, 5);
	assert_int_equal(iso_flags[0], 0);
	assert_int_equal(iso_flags[5], 0xd);
	assert_int_equal(iso_flags[9], 0xd);
	assert_int_equal(iso_flags[10], 0xd);
	assert_int_equal(iso_flags[11], 0xd);
}

static void check_fadt(struct ram *r, const uint8_t *fadt, const struct acpi_config *cfg)
{
	uint32_t facs = le32_get(fadt + 36), dsdt = le32_get(fadt + 40);
	uint32_t flags = 0x80a5 | (cfg->nr_cpus > 8 ? 1u << 18 : 0);
	const uint8_t *f, *d;

	assert_int_equal(le32_get(fadt + 4), 116);
	assert_int_equal(fadt[8], 1);
	assert_int_equal(fadt[44], 1);		 /* INT_MODEL */
	assert_int_equal(le16_get(fadt + 46), 9);	 /* SCI_INT */
	assert_int_equal(le32_get(fadt + 48), 0xb2); /* SMI_CMD */
	assert_int_equal(fadt[52], 0xf1);
	assert_int_equal(fadt[53], 0xf0);
	assert_int_equal(le32_get(fadt + 56), 0x600);  /* PM1a_EVT */
	assert_int_equal(le32_get(fadt + 60), 0);	   /* PM1b_EVT */
	assert_int_equal(le32_get(fadt + 64), 0x604);  /* PM1a_CNT */
	assert_int_equal(le32_get(fadt + 76), 0x608);  /* PM_TMR */
	assert_int_equal(le32_get(fadt + 80), 0xafe0); /* GPE0 */
	assert_int_equal(fadt[88], 4);
	assert_int_equal(fadt[89], 2);
	assert_int_equal(fadt[91], 4);
	assert_int_equal(fadt[92], 4);
	assert_int_equal(le16_get(fadt + 96), 0xfff);
	assert_int_equal(le16_get(fadt + 98), 0xfff);
	assert_int_equal(fadt[108], 0x32); /* CENTURY */
	assert_int_equal(le32_get(fadt + 112), flags);
	assert_false(le32_get(fadt + 112) & (1u << 4)); /* fixed power button */

	assert_int_equal(facs % 64, 0);
	f = gptr(r, facs, 64);
	assert_memory_equal(f, "FACS", 4);
	assert_int_equal(le32_get(f + 4), 64);

	d = table(r, dsdt, "DSDT");
	assert_int_equal(d[8], 1);
	/* inside one 4 KiB page */
	assert_int_equal(dsdt / 4096, (dsdt + le32_get(d + 4) - 1) / 4096);
	check_dsdt(d, cfg);
}

static void check_tables(struct ram *r, const struct acpi_config *cfg)
{
	const uint8_t *rsdp = NULL, *rsdt, *fadt = NULL, *madt = NULL, *ssdt = NULL;
	uint32_t nr;

	/* as an OS looks for it */
	for (uint32_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = r->low + a;

		if (!memcmp(p, "RSD PTR ", 8) && sum8(p, 20) == 0) {
			rsdp = p;
			break;
		}
	}
	assert_non_null(rsdp);
	assert_ptr_equal(rsdp, r->low + RSDP_GPA);
	assert_int_equal(rsdp[15], 0);
	rsdt = table(r, le32_get(rsdp + 16), "RSDT");
	nr = (le32_get(rsdt + 4) - 36) / 4;
	assert_int_equal(nr, 3);
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t a = le32_get(rsdt + 36 + 4 * i);
		const uint8_t *h = gptr(r, a, 4);

		if (!memcmp(h, "FACP", 4))
			fadt = table(r, a, "FACP");
		else if (!memcmp(h, "APIC", 4))
			madt = table(r, a, "APIC");
		else if (!memcmp(h, "SSDT", 4))
			ssdt = table(r, a, "SSDT");
		else
			fail_msg("unexpected table %.4s", (const char *)h);
	}
	assert_non_null(fadt);
	assert_non_null(madt);
	assert_non_null(ssdt);
	check_fadt(r, fadt, cfg);
	check_madt(madt, cfg->nr_cpus);
	check_ssdt(ssdt, cfg->nr_cpus);
}

static void build_and_check(unsigned nr_cpus, uint64_t low_ram_end)
{
	struct acpi_config cfg = {.nr_cpus = nr_cpus, .low_ram_end = low_ram_end};
	struct acpi_blobs b;
	struct ram r;

	ram_init(&r);
	assert_int_equal(acpi_build(&cfg, &b), 0);
	assert_int_equal(b.loader_len % TABLE_LOADER_ENTRY_SIZE, 0);
	assert_int_equal(b.rsdp_len, 20);
	assert_int_equal(acpi_install_direct(&r.mem, &b, TABLES_GPA, RSDP_GPA), 0);
	check_tables(&r, &cfg);
	acpi_blobs_free(&b);
	ram_free(&r);
}

static void test_acpi_1cpu(void **state)
{
	build_and_check(1, LOW_RAM_END);
}

static void test_acpi_2cpus(void **state)
{
	build_and_check(2, 0x20000000);
}

static void test_acpi_8cpus(void **state)
{
	build_and_check(8, 0xe0000000);
}

static void test_acpi_many_cpus(void **state)
{
	build_and_check(9, LOW_RAM_END);
	build_and_check(64, LOW_RAM_END);
	build_and_check(ACPI_MAX_CPUS, LOW_RAM_END);
}

static void test_acpi_bad_config(void **state)
{
	struct acpi_config cfg = {.nr_cpus = 0, .low_ram_end = LOW_RAM_END};
	struct acpi_blobs b;

	assert_int_equal(acpi_build(&cfg, &b), -EINVAL);
	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(acpi_build(&cfg, &b), -EINVAL);
	cfg.nr_cpus = 1;
	cfg.low_ram_end = 0xfec00000;
	assert_int_equal(acpi_build(&cfg, &b), -EINVAL);
	cfg.low_ram_end = 0x80000;
	assert_int_equal(acpi_build(&cfg, &b), -EINVAL);
}

/* The loader script has the shape SeaBIOS expects. */
static void test_loader_script(void **state)
{
	struct acpi_config cfg = {.nr_cpus = 2, .low_ram_end = LOW_RAM_END};
	struct acpi_blobs b;
	unsigned counts[5] = {0};

	assert_int_equal(acpi_build(&cfg, &b), 0);
	assert_string_equal((const char *)b.loader + 4, "etc/acpi/tables");
	assert_int_equal(le32_get(b.loader), 1);
	assert_int_equal(le32_get(b.loader + 0x3c), 4096);
	assert_int_equal(b.loader[0x40], 1);
	assert_string_equal((const char *)b.loader + 128 + 4, "etc/acpi/rsdp");
	assert_int_equal(le32_get(b.loader + 128), 1);
	assert_int_equal(le32_get(b.loader + 128 + 0x3c), 16);
	assert_int_equal(b.loader[128 + 0x40], 2);
	for (size_t off = 0; off < b.loader_len; off += 128) {
		uint32_t cmd = le32_get(b.loader + off);

		assert_true(cmd >= 1 && cmd <= 3);
		/* no pointer after the first checksum */
		if (cmd == 2)
			assert_int_equal(counts[3], 0);
		counts[cmd]++;
	}
	assert_int_equal(counts[1], 2);
	assert_int_equal(counts[2], 6); /* RSDP, 3 RSDT entries, FACS, DSDT */
	assert_int_equal(counts[3], 6); /* DSDT, SSDT, FADT, MADT, RSDT, RSDP */
	acpi_blobs_free(&b);
}

static void test_fdc_flag(void **state)
{
	struct acpi_config cfg = {.nr_cpus = 1, .low_ram_end = LOW_RAM_END};
	struct acpi_blobs a, b;
	size_t diff = 0;

	assert_int_equal(acpi_build(&cfg, &a), 0);
	cfg.has_fdc = true;
	assert_int_equal(acpi_build(&cfg, &b), 0);
	assert_int_equal(a.tables_len, b.tables_len);
	for (size_t i = 0; i < a.tables_len; i++)
		if (a.tables[i] != b.tables[i]) {
			assert_int_equal(a.tables[i], 0x00); /* ZeroOp -> OneOp */
			assert_int_equal(b.tables[i], 0x01);
			diff++;
		}
	assert_int_equal(diff, 1);
	acpi_blobs_free(&a);
	acpi_blobs_free(&b);
}

static void test_install_fw_cfg(void **state)
{
	struct acpi_config cfg = {.nr_cpus = 2, .low_ram_end = LOW_RAM_END};
	struct smbios_config scfg = {.nr_cpus = 2, .ram_below_4g = 512 << 20};
	struct fw_cfg *fw = fw_cfg_create(NULL);
	struct acpi_blobs b;
	struct smbios_blobs s;

	assert_non_null(fw);
	assert_int_equal(acpi_build(&cfg, &b), 0);
	assert_int_equal(smbios_build(&scfg, &s), 0);
	assert_int_equal(acpi_install_fw_cfg(fw, &b), 0);
	assert_int_equal(smbios_install_fw_cfg(fw, &s), 0);
	assert_true(fw_cfg_file_key(fw, "etc/acpi/tables") >= FW_CFG_FILE_FIRST);
	assert_true(fw_cfg_file_key(fw, "etc/acpi/rsdp") >= FW_CFG_FILE_FIRST);
	assert_true(fw_cfg_file_key(fw, "etc/table-loader") >= FW_CFG_FILE_FIRST);
	assert_true(fw_cfg_file_key(fw, "etc/smbios/smbios-anchor") >= FW_CFG_FILE_FIRST);
	assert_true(fw_cfg_file_key(fw, "etc/smbios/smbios-tables") >= FW_CFG_FILE_FIRST);
	assert_int_equal(acpi_install_fw_cfg(fw, &b), -EEXIST);
	acpi_blobs_free(&b);
	smbios_blobs_free(&s);
	fw_cfg_destroy(fw);
}

/* ---- the executor against hostile scripts ---- */

static uint8_t *entry(uint8_t *script, unsigned i, uint32_t cmd, const char *file)
{
	uint8_t *e = script + 128 * i;

	e[0] = (uint8_t)cmd;
	if (file)
		memcpy(e + 4, file, strlen(file));
	return e;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void alloc_entry(uint8_t *s, unsigned i, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = entry(s, i, 1, file);

	put32(e + 0x3c, align);
	e[0x40] = zone;
}

static void pointer_entry(uint8_t *s, unsigned i, const char *dest, const char *src, uint32_t off,
			  uint8_t size)
{
	uint8_t *e = entry(s, i, 2, dest);

	memcpy(e + 0x3c, src, strlen(src));
	put32(e + 0x74, off);
	e[0x78] = size;
}

static void checksum_entry(uint8_t *s, unsigned i, const char *file, uint32_t off, uint32_t start,
			   uint32_t len)
{
	uint8_t *e = entry(s, i, 3, file);

	put32(e + 0x3c, off);
	put32(e + 0x40, start);
	put32(e + 0x44, len);
}

static void test_executor_hostile(void **state)
{
	uint8_t data_a[64] = {0}, data_b[32] = {0};
	struct table_loader_file files[] = {
	    {"a", data_a, sizeof(data_a), HIGH_BASE},
	    {"b", data_b, sizeof(data_b), 0xf0000},
	};
	uint8_t s[128 * 4];
	struct ram r;

	ram_init(&r);

	/* a good script: b[4..8) += address of a, checksum of b */
	memset(s, 0, sizeof(s));
	alloc_entry(s, 0, "a", 64, 1);
	alloc_entry(s, 1, "b", 16, 2);
	pointer_entry(s, 2, "b", "a", 4, 4);
	checksum_entry(s, 3, "b", 0, 0, 32);
	data_b[4] = 0x10;
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), 0);
	assert_int_equal(le32_get(r.low + 0xf0004), HIGH_BASE + 0x10);
	assert_int_equal(sum8(r.low + 0xf0000, 32), 0);

	/* length not a multiple of 128, empty */
	assert_int_equal(table_loader_run(s, sizeof(s) - 1, files, 2, &r.mem), -EINVAL);
	assert_int_equal(table_loader_run(s, 0, files, 2, &r.mem), -EINVAL);

	/* an unknown command is skipped, WRITE_POINTER refused */
	s[3 * 128] = 0x7f;
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), 0);
	s[3 * 128] = 4;
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -ENOTSUP);
	checksum_entry(s, 3, "b", 0, 0, 32);

	/* misaligned, wrong zone, unknown zone, bad alignment */
	files[0].gpa = HIGH_BASE + 32;
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	files[0].gpa = HIGH_BASE;
	files[1].gpa = 0x9000;
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	files[1].gpa = 0xf0000;
	s[0x40] = 3;
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	s[0x40] = 1;
	put32(s + 0x3c, 48);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	put32(s + 0x3c, 64);

	/* not backed by RAM, overlapping */
	files[0].gpa = 0x40000000;
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EFAULT);
	files[0].gpa = 0xf0000;
	alloc_entry(s, 0, "a", 64, 2);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	alloc_entry(s, 0, "a", 64, 1);
	files[0].gpa = HIGH_BASE;

	/* a name without its NUL */
	memset(s + 2 * 128 + 4, 'x', 56);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	memset(s + 2 * 128, 0, 128);

	/* pointer: outside the file, bad size, to a file never allocated, too big */
	pointer_entry(s, 2, "b", "a", 30, 4);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	pointer_entry(s, 2, "b", "a", 0xfffffffe, 4);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	pointer_entry(s, 2, "b", "a", 4, 3);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	memset(s + 2 * 128, 0, 128);
	pointer_entry(s, 2, "b", "c", 4, 4);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	memset(s + 2 * 128, 0, 128);
	pointer_entry(s, 2, "b", "a", 4, 2); /* 0x7fff0010 does not fit 16 bits */
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	pointer_entry(s, 2, "b", "a", 4, 4);

	/* checksum: offset outside, range overflowing */
	checksum_entry(s, 3, "b", 32, 0, 32);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	checksum_entry(s, 3, "b", 0, 16, 0xfffffff8);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	checksum_entry(s, 3, "b", 0, 0, 33);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	checksum_entry(s, 3, "b", 0, 0, 32);

	/* allocating a file twice */
	alloc_entry(s, 1, "a", 64, 1);
	assert_int_equal(table_loader_run(s, sizeof(s), files, 2, &r.mem), -EINVAL);
	ram_free(&r);
}

/* ---- SMBIOS ---- */

struct smbios_walk {
	unsigned nr;
	size_t max;
	uint8_t types[600];
	uint16_t handles[600];
};

static void walk_smbios(const uint8_t *t, size_t len, struct smbios_walk *w)
{
	size_t off = 0;

	memset(w, 0, sizeof(*w));
	while (off < len) {
		const uint8_t *s = t + off;
		size_t end, nstr = 0, maxref = 0;

		assert_true(len - off >= 4);
		assert_true(s[1] >= 4 && s[1] <= len - off);
		assert_true(w->nr < 600);
		w->types[w->nr] = s[0];
		w->handles[w->nr] = le16_get(s + 2);
		for (unsigned i = 0; i < w->nr; i++)
			assert_int_not_equal(w->handles[i], w->handles[w->nr]);
		/* string set: strings each ended by NUL, the set by another NUL */
		end = off + s[1];
		assert_true(end + 2 <= len);
		if (t[end] == 0) {
			assert_int_equal(t[end + 1], 0);
			end += 2;
		} else {
			while (t[end] != 0) {
				const void *z = memchr(t + end, 0, len - end);

				assert_non_null(z);
				end = (size_t)((const uint8_t *)z - t) + 1;
				nstr++;
				assert_true(end < len);
			}
			end++;
		}
		/* string references in the types built here stay within the set */
		for (size_t i = 4; i < s[1]; i++) {
			bool is_str = (s[0] == 0 && (i == 4 || i == 5 || i == 8)) ||
				      (s[0] == 1 && (i == 4 || i == 5 || i == 6 || i == 7 ||
						     i == 0x19 || i == 0x1a)) ||
				      (s[0] == 3 && (i == 4 || i == 6 || i == 7 || i == 8)) ||
				      (s[0] == 4 && (i == 4 || i == 7 || i == 0x10 || i >= 0x20)) ||
				      (s[0] == 17 && (i == 0x10 || i == 0x11 || i >= 0x17));

			if (is_str && s[i] > maxref)
				maxref = s[i];
		}
		assert_true(maxref <= nstr);
		if (end - off > w->max)
			w->max = end - off;
		w->nr++;
		off = end;
		if (s[0] == 127)
			break;
	}
	assert_int_equal(off, len);
	assert_int_equal(w->types[w->nr - 1], 127);
}

static unsigned count_type(const struct smbios_walk *w, uint8_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < w->nr; i++)
		n += w->types[i] == type;
	return n;
}

static const uint8_t *nth_struct(const uint8_t *t, uint8_t type, unsigned nth)
{
	const uint8_t *s = t;

	for (;;) {
		const uint8_t *p = s + s[1];

		if (s[0] == type && nth-- == 0)
			return s;
		assert_int_not_equal(s[0], 127);
		while (p[0] || p[1])
			p++;
		s = p + 2;
	}
}

static void check_anchor(const uint8_t *a, const struct smbios_blobs *b,
			 const struct smbios_walk *w)
{
	assert_memory_equal(a, "_SM_", 4);
	assert_int_equal(a[5], 31);
	assert_int_equal(a[6], 2);
	assert_int_equal(a[7], 4);
	assert_memory_equal(a + 16, "_DMI_", 5);
	assert_int_equal(sum8(a, 31), 0);
	assert_int_equal(sum8(a, 16), 0); /* what SeaBIOS computes */
	assert_int_equal(sum8(a + 16, 15), 0);
	assert_int_equal(le16_get(a + 22), b->tables_len);
	assert_int_equal(le16_get(a + 28), w->nr);
	assert_int_equal(le16_get(a + 8), w->max);
	assert_int_equal(a[30], 0x24);
}

static void test_smbios_small(void **state)
{
	static const uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct smbios_config cfg = {
	    .nr_cpus = 2, .ram_below_4g = 512 << 20, .uuid = uuid, .cpuid_signature = 0x663};
	struct smbios_blobs b;
	struct smbios_walk w;
	const uint8_t *s;

	assert_int_equal(smbios_build(&cfg, &b), 0);
	assert_int_equal(b.anchor_len, 31);
	walk_smbios(b.tables, b.tables_len, &w);
	check_anchor(b.anchor, &b, &w);
	assert_int_equal(w.nr, 10);
	assert_int_equal(w.types[0], 0);
	assert_int_equal(w.types[1], 1);
	assert_int_equal(w.types[2], 3);
	assert_int_equal(count_type(&w, 4), 2);
	assert_int_equal(count_type(&w, 16), 1);
	assert_int_equal(count_type(&w, 17), 1);
	assert_int_equal(count_type(&w, 19), 1);
	assert_int_equal(count_type(&w, 32), 1);
	s = nth_struct(b.tables, 1, 0);
	assert_memory_equal(s + 8, uuid, 16);
	assert_string_equal((const char *)s + s[1], "minivmm");
	s = nth_struct(b.tables, 0, 0);
	assert_string_equal((const char *)s + s[1], "minivmm");
	s = nth_struct(b.tables, 4, 1);
	assert_int_equal(le32_get(s + 8), 0x663);
	assert_string_equal((const char *)s + s[1], "CPU 1");
	s = nth_struct(b.tables, 17, 0);
	assert_int_equal(le16_get(s + 0x0c), 512);
	s = nth_struct(b.tables, 19, 0);
	assert_int_equal(le32_get(s + 4), 0);
	assert_int_equal(le32_get(s + 8), (512 << 10) - 1);
	smbios_blobs_free(&b);
}

static void test_smbios_large(void **state)
{
	struct smbios_config cfg = {.nr_cpus = 8,
				    .ram_below_4g = 3ull << 30,
				    .ram_above_4g = 17ull << 30,
				    .bios_vendor = "SeaBIOS",
				    .bios_version = "1.16.2",
				    .bios_date = "04/01/2014"};
	struct smbios_blobs b;
	struct smbios_walk w;
	const uint8_t *s;

	assert_int_equal(smbios_build(&cfg, &b), 0);
	walk_smbios(b.tables, b.tables_len, &w);
	check_anchor(b.anchor, &b, &w);
	assert_int_equal(count_type(&w, 4), 8);
	assert_int_equal(count_type(&w, 17), 2); /* 20 GiB: 16 + 4 */
	assert_int_equal(count_type(&w, 19), 2);
	s = nth_struct(b.tables, 17, 1);
	assert_int_equal(le16_get(s + 0x0c), 4096);
	s = nth_struct(b.tables, 19, 1);
	assert_int_equal(le32_get(s + 4), 4u << 20);
	assert_int_equal(le32_get(s + 8), (21u << 20) - 1);
	s = nth_struct(b.tables, 16, 0);
	assert_int_equal(le32_get(s + 7), 20u << 20);
	assert_int_equal(le16_get(s + 0x0d), 2);
	s = nth_struct(b.tables, 0, 0);
	assert_string_equal((const char *)s + s[1], "SeaBIOS");
	smbios_blobs_free(&b);
}

static void test_smbios_bad_config(void **state)
{
	char long_str[80];
	struct smbios_config cfg = {.nr_cpus = 0, .ram_below_4g = 512 << 20};
	struct smbios_blobs b;

	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
	cfg.nr_cpus = 256;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
	cfg.nr_cpus = 1;
	cfg.ram_below_4g = 0;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
	cfg.ram_below_4g = 512 << 20;
	memset(long_str, 'x', sizeof(long_str) - 1);
	long_str[sizeof(long_str) - 1] = 0;
	cfg.bios_vendor = long_str;
	assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
}

static void test_smbios_direct(void **state)
{
	struct smbios_config cfg = {.nr_cpus = 4, .ram_below_4g = 1u << 30};
	struct smbios_blobs b;
	struct smbios_walk w;
	struct ram r;
	const uint8_t *a = NULL;

	ram_init(&r);
	assert_int_equal(smbios_build(&cfg, &b), 0);
	assert_int_equal(smbios_install_direct(&r.mem, &b, 0xf5a48, 0x9000), -EINVAL);
	assert_int_equal(smbios_install_direct(&r.mem, &b, 0xe0000, 0x9000), -EINVAL);
	assert_int_equal(smbios_install_direct(&r.mem, &b, 0xf5a40, 0xf5a40 - 16), -EINVAL);
	assert_int_equal(smbios_install_direct(&r.mem, &b, 0xf5a40, 0x40000000), -EFAULT);
	assert_int_equal(smbios_install_direct(&r.mem, &b, 0xf5a40, 0x9000), 0);
	for (uint32_t p = 0xf0000; p < 0x100000; p += 16)
		if (!memcmp(r.low + p, "_SM_", 4)) {
			a = r.low + p;
			break;
		}
	assert_non_null(a);
	assert_int_equal(le32_get(a + 24), 0x9000);
	walk_smbios(r.low + 0x9000, le16_get(a + 22), &w);
	check_anchor(a, &b, &w);
	smbios_blobs_free(&b);
	ram_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acpi_1cpu),	     cmocka_unit_test(test_acpi_2cpus),
	    cmocka_unit_test(test_acpi_8cpus),	     cmocka_unit_test(test_acpi_many_cpus),
	    cmocka_unit_test(test_acpi_bad_config),  cmocka_unit_test(test_loader_script),
	    cmocka_unit_test(test_fdc_flag),	     cmocka_unit_test(test_install_fw_cfg),
	    cmocka_unit_test(test_executor_hostile), cmocka_unit_test(test_smbios_small),
	    cmocka_unit_test(test_smbios_large),     cmocka_unit_test(test_smbios_bad_config),
	    cmocka_unit_test(test_smbios_direct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
