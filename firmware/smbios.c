// SPDX-License-Identifier: GPL-2.0-or-later
/* Field choices follow SeaBIOS's own SMBIOS builder (src/fw/smbios.c), which
 * Windows and Linux guests have long seen on QEMU. */
#include "firmware/smbios.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "vmm/le.h"

/* The byte that makes p[0..len) sum to zero, given that it is zero now. */
static uint8_t fw_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "0"
#endif

#define VENDOR		  "minivmm"
#define DEFAULT_BIOS_DATE "01/01/2024"
#define MAX_STRING	  64

/* Entry point (SMBIOS 2.1 32-bit) */
#define EP_CHECKSUM	 4
#define EP_LENGTH	 5
#define EP_MAJOR	 6
#define EP_MINOR	 7
#define EP_MAX_STRUCT	 8
#define EP_DMI_ANCHOR	 16
#define EP_DMI_CHECKSUM	 21
#define EP_TABLE_LENGTH	 22
#define EP_TABLE_ADDRESS 24
#define EP_NR_STRUCTS	 28
#define EP_BCD_REVISION	 30
static_assert(EP_BCD_REVISION + 1 == SMBIOS_ANCHOR_SIZE, "31-byte entry point");

/* Formatted-area lengths (SMBIOS 2.3/2.4 layouts) */
#define T0_LEN	 0x18
#define T1_LEN	 0x1b
#define T3_LEN	 0x15
#define T4_LEN	 0x23
#define T16_LEN	 0x0f
#define T17_LEN	 0x1b
#define T19_LEN	 0x0f
#define T32_LEN	 0x0b
#define T127_LEN 0x04

#define MIB		 (1024ull * 1024)
#define GIB		 (1024 * MIB)
#define MEM_DEVICE_BYTES (16 * GIB) /* one type 17 per 16 GiB, as SeaBIOS */

#define ARRAY_HANDLE 0x1000

struct sb {
	uint8_t *p;
	size_t len, cap;
	unsigned nr_structs;
	size_t max_struct;
	bool oom;
	/* the structure being built */
	size_t start;
	unsigned nr_strings;
};

static bool sb_grow(struct sb *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	return true;
}

/* Starts a structure; returns its formatted area (zeroed) or NULL. */
static uint8_t *sb_begin(struct sb *b, uint8_t type, uint8_t len, uint16_t handle)
{
	uint8_t *s;

	if (!sb_grow(b, len))
		return NULL;
	b->start = b->len;
	b->nr_strings = 0;
	s = b->p + b->len;
	memset(s, 0, len);
	s[0] = type;
	s[1] = len;
	le16_put(s + 2, handle);
	b->len += len;
	return s;
}

/* Appends a string to the current structure and stores its number at field
 * offset off of the formatted area; an empty or NULL string stays 0. */
static void sb_string(struct sb *b, size_t off, const char *str)
{
	size_t n = str ? strlen(str) : 0;

	if (n == 0 || !sb_grow(b, n + 1))
		return;
	memcpy(b->p + b->len, str, n + 1);
	b->len += n + 1;
	b->p[b->start + off] = (uint8_t)++b->nr_strings;
}

/* Ends the string set: one NUL after the last string, two if there is none. */
static void sb_end(struct sb *b)
{
	size_t size;

	if (!sb_grow(b, 2))
		return;
	b->p[b->len++] = 0;
	if (b->nr_strings == 0)
		b->p[b->len++] = 0;
	size = b->len - b->start;
	b->nr_structs++;
	if (size > b->max_struct)
		b->max_struct = size;
}

static void type0(struct sb *b, const struct smbios_config *cfg)
{
	uint8_t *s = sb_begin(b, 0, T0_LEN, 0x0000);

	if (!s)
		return;
	le16_put(s + 0x06, 0xe800); /* BIOS starting segment */
	s[0x09] = 0;		       /* ROM size: not described */
	s[0x0a] = 0x08;		       /* characteristics not supported */
	s[0x13] = 0x04;		       /* targeted content distribution (SVVP) */
	s[0x14] = 1;		       /* system BIOS major release */
	s[0x15] = 0;
	s[0x16] = 0xff; /* no embedded controller */
	s[0x17] = 0xff;
	sb_string(b, 0x04, cfg->bios_vendor ? cfg->bios_vendor : VENDOR);
	sb_string(b, 0x05, cfg->bios_version ? cfg->bios_version : MINIVMM_VERSION);
	sb_string(b, 0x08, cfg->bios_date ? cfg->bios_date : DEFAULT_BIOS_DATE);
	sb_end(b);
}

static void type1(struct sb *b, const struct smbios_config *cfg)
{
	uint8_t *s = sb_begin(b, 1, T1_LEN, 0x0100);

	if (!s)
		return;
	if (cfg->uuid)
		memcpy(s + 0x08, cfg->uuid, 16);
	s[0x18] = 0x06; /* woken by the power switch */
	sb_string(b, 0x04, VENDOR);
	sb_string(b, 0x05, "Standard PC (i440FX + PIIX)");
	sb_string(b, 0x06, cfg->version);
	sb_string(b, 0x1a, VENDOR); /* family */
	sb_end(b);
}

static void type3(struct sb *b)
{
	uint8_t *s = sb_begin(b, 3, T3_LEN, 0x0300);

	if (!s)
		return;
	s[0x05] = 0x01; /* other */
	s[0x09] = 0x03; /* boot-up state: safe */
	s[0x0a] = 0x03; /* power supply: safe */
	s[0x0b] = 0x03; /* thermal: safe */
	s[0x0c] = 0x02; /* security: unknown */
	sb_string(b, 0x04, VENDOR);
	sb_end(b);
}

static void type4(struct sb *b, const struct smbios_config *cfg, unsigned cpu)
{
	uint8_t *s = sb_begin(b, 4, T4_LEN, (uint16_t)(0x0400 + cpu));
	char socket[16];

	if (!s)
		return;
	s[0x05] = 0x03; /* central processor */
	s[0x06] = 0x01; /* family: other */
	le32_put(s + 0x08, cfg->cpuid_signature);
	le32_put(s + 0x0c, cfg->cpuid_features);
	le16_put(s + 0x14, 2000);   /* max speed, MHz */
	le16_put(s + 0x16, 2000);   /* current speed */
	s[0x18] = 0x41;		       /* socket populated, CPU enabled */
	s[0x19] = 0x01;		       /* upgrade: other */
	le16_put(s + 0x1a, 0xffff); /* no cache structures */
	le16_put(s + 0x1c, 0xffff);
	le16_put(s + 0x1e, 0xffff);
	snprintf(socket, sizeof(socket), "CPU %u", cpu);
	sb_string(b, 0x04, socket);
	sb_string(b, 0x07, VENDOR);
	sb_end(b);
}

static void type16(struct sb *b, uint64_t ram, unsigned nr_devices)
{
	uint8_t *s = sb_begin(b, 16, T16_LEN, ARRAY_HANDLE);
	uint64_t kib = ram / 1024;

	if (!s)
		return;
	s[0x04] = 0x01; /* location: other */
	s[0x05] = 0x03; /* system memory */
	s[0x06] = 0x06; /* multi-bit ECC (SeaBIOS: "to make Microsoft happy") */
	le32_put(s + 0x07, kib < 0x80000000u ? (uint32_t)kib : 0x80000000u);
	le16_put(s + 0x0b, 0xfffe); /* no error information */
	le16_put(s + 0x0d, (uint16_t)nr_devices);
	sb_end(b);
}

static void type17(struct sb *b, unsigned i, uint64_t bytes)
{
	uint8_t *s = sb_begin(b, 17, T17_LEN, (uint16_t)(0x1100 + i));
	char locator[24];

	if (!s)
		return;
	le16_put(s + 0x04, ARRAY_HANDLE);
	le16_put(s + 0x06, 0xfffe);
	le16_put(s + 0x08, 64);				    /* total width */
	le16_put(s + 0x0a, 64);				    /* data width */
	le16_put(s + 0x0c, (uint16_t)((bytes + MIB - 1) / MIB)); /* MiB, <= 16384 */
	s[0x0e] = 0x09;						    /* DIMM */
	s[0x12] = 0x07;						    /* RAM */
	le16_put(s + 0x13, 0x0002);				    /* type detail: unknown */
	snprintf(locator, sizeof(locator), "DIMM %u", i);
	sb_string(b, 0x10, locator);
	sb_end(b);
}

static void type19(struct sb *b, unsigned i, uint64_t start, uint64_t bytes)
{
	uint8_t *s = sb_begin(b, 19, T19_LEN, (uint16_t)(0x1300 + i));

	if (!s)
		return;
	le32_put(s + 0x04, (uint32_t)(start / 1024));
	le32_put(s + 0x08, (uint32_t)((start + bytes) / 1024 - 1));
	le16_put(s + 0x0c, ARRAY_HANDLE);
	s[0x0e] = 1; /* partition width */
	sb_end(b);
}

static void type32(struct sb *b)
{
	uint8_t *s = sb_begin(b, 32, T32_LEN, 0x2000);

	if (!s)
		return;
	s[0x0a] = 0; /* no errors detected */
	sb_end(b);
}

static bool string_ok(const char *s)
{
	return !s || strlen(s) <= MAX_STRING;
}

int smbios_build(const struct smbios_config *cfg, struct smbios_blobs *out)
{
	struct sb b = {0};
	uint64_t ram = cfg->ram_below_4g + cfg->ram_above_4g;
	unsigned nr_devices;
	uint8_t *a;

	*out = (struct smbios_blobs){0};
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > SMBIOS_MAX_CPUS || cfg->ram_below_4g < MIB ||
	    cfg->ram_below_4g > 4 * GIB || cfg->ram_above_4g > 1024 * GIB ||
	    !string_ok(cfg->bios_vendor) || !string_ok(cfg->bios_version) ||
	    !string_ok(cfg->bios_date) || !string_ok(cfg->version))
		return -EINVAL;
	nr_devices = (unsigned)((ram + MEM_DEVICE_BYTES - 1) / MEM_DEVICE_BYTES);

	type0(&b, cfg);
	type1(&b, cfg);
	type3(&b);
	for (unsigned i = 0; i < cfg->nr_cpus; i++)
		type4(&b, cfg, i);
	type16(&b, ram, nr_devices);
	for (unsigned i = 0; i < nr_devices; i++) {
		uint64_t left = ram - (uint64_t)i * MEM_DEVICE_BYTES;

		type17(&b, i, left < MEM_DEVICE_BYTES ? left : MEM_DEVICE_BYTES);
	}
	type19(&b, 0, 0, cfg->ram_below_4g);
	if (cfg->ram_above_4g)
		type19(&b, 1, 4 * GIB, cfg->ram_above_4g);
	type32(&b);
	if (sb_begin(&b, 127, T127_LEN, 0x7f00))
		sb_end(&b);

	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	if (b.len > 0xffff || b.max_struct > 0xffff) {
		free(b.p);
		return -E2BIG;
	}
	a = calloc(1, SMBIOS_ANCHOR_SIZE);
	if (!a) {
		free(b.p);
		return -ENOMEM;
	}
	memcpy(a, "_SM_", 4);
	a[EP_LENGTH] = SMBIOS_ANCHOR_SIZE;
	a[EP_MAJOR] = 2;
	a[EP_MINOR] = 4;
	le16_put(a + EP_MAX_STRUCT, (uint16_t)b.max_struct);
	memcpy(a + EP_DMI_ANCHOR, "_DMI_", 5);
	le16_put(a + EP_TABLE_LENGTH, (uint16_t)b.len);
	le32_put(a + EP_TABLE_ADDRESS, 0); /* the firmware fills it in */
	le16_put(a + EP_NR_STRUCTS, (uint16_t)b.nr_structs);
	a[EP_BCD_REVISION] = 0x24;
	a[EP_DMI_CHECKSUM] = fw_checksum(a + EP_DMI_ANCHOR, SMBIOS_ANCHOR_SIZE - EP_DMI_ANCHOR);
	a[EP_CHECKSUM] = fw_checksum(a, SMBIOS_ANCHOR_SIZE);

	out->anchor = a;
	out->anchor_len = SMBIOS_ANCHOR_SIZE;
	out->tables = b.p;
	out->tables_len = b.len;
	return 0;
}

void smbios_blobs_free(struct smbios_blobs *b)
{
	free(b->anchor);
	free(b->tables);
	*b = (struct smbios_blobs){0};
}

int smbios_install_fw_cfg(struct fw_cfg *fw, const struct smbios_blobs *b)
{
	int err = fw_cfg_add_file(fw, SMBIOS_ANCHOR_FILE, b->anchor, b->anchor_len, false);

	if (!err)
		err = fw_cfg_add_file(fw, SMBIOS_TABLES_FILE, b->tables, b->tables_len, false);
	return err;
}

int smbios_install_direct(const struct guest_mem *mem, const struct smbios_blobs *b,
			  uint64_t anchor_gpa, uint64_t tables_gpa)
{
	uint8_t a[SMBIOS_ANCHOR_SIZE];

	if (!b->anchor || b->anchor_len != SMBIOS_ANCHOR_SIZE || !b->tables || !b->tables_len ||
	    anchor_gpa % 16 || anchor_gpa < 0xf0000 || anchor_gpa + SMBIOS_ANCHOR_SIZE > 0x100000 ||
	    tables_gpa > 0x100000000ull - b->tables_len)
		return -EINVAL;
	if (anchor_gpa < tables_gpa + b->tables_len && tables_gpa < anchor_gpa + SMBIOS_ANCHOR_SIZE)
		return -EINVAL;
	memcpy(a, b->anchor, sizeof(a));
	le32_put(a + EP_TABLE_ADDRESS, (uint32_t)tables_gpa);
	a[EP_DMI_CHECKSUM] = 0;
	a[EP_DMI_CHECKSUM] = fw_checksum(a + EP_DMI_ANCHOR, SMBIOS_ANCHOR_SIZE - EP_DMI_ANCHOR);
	a[EP_CHECKSUM] = 0;
	a[EP_CHECKSUM] = fw_checksum(a, SMBIOS_ANCHOR_SIZE);
	if (guest_mem_write(mem, tables_gpa, b->tables, b->tables_len) ||
	    guest_mem_write(mem, anchor_gpa, a, sizeof(a)))
		return -EFAULT;
	return 0;
}
