// SPDX-License-Identifier: GPL-2.0-or-later
/* fw_cfg driven through its two bus ranges, with a fake guest RAM:
 * 64 KiB at 0, a hole, 4 KiB at RAM2_BASE, and a read-only page. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/fw_cfg.h"

#define RAM_SIZE  0x10000
#define RAM2_BASE 0x20000
#define RAM2_SIZE 0x1000
#define ROM_BASE  0x30000
#define ROM_SIZE  0x1000

#define DESC 0x1000 /* descriptor address used by most tests */
#define BUF  0x2000
#define FILL 0xa5

struct fixture {
	struct fw_cfg *fw;
	struct guest_mem mem;
	uint8_t *ram, *ram2, *rom;
	/* write callback */
	unsigned cb_calls;
	uint32_t cb_offset, cb_len, cb_size;
	uint8_t cb_data[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram = malloc(RAM_SIZE);
	f->ram2 = malloc(RAM2_SIZE);
	f->rom = malloc(ROM_SIZE);
	if (!f->ram || !f->ram2 || !f->rom)
		return -1;
	memset(f->ram, FILL, RAM_SIZE);
	memset(f->ram2, FILL, RAM2_SIZE);
	memset(f->rom, FILL, ROM_SIZE);
	if (guest_mem_add(&f->mem, 0, RAM_SIZE, f->ram, false, "ram") ||
	    guest_mem_add(&f->mem, RAM2_BASE, RAM2_SIZE, f->ram2, false, "ram2") ||
	    guest_mem_add(&f->mem, ROM_BASE, ROM_SIZE, f->rom, true, "rom"))
		return -1;
	f->fw = fw_cfg_create(&f->mem);
	if (!f->fw)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fw_cfg_destroy(f->fw);
	free(f->ram);
	free(f->ram2);
	free(f->rom);
	free(f);
	return 0;
}

static void sel(struct fixture *f, uint16_t key)
{
	fw_cfg_port_ops.write(f->fw, 0, key, 2);
}

static uint8_t data_byte(struct fixture *f)
{
	return (uint8_t)fw_cfg_port_ops.read(f->fw, 1, 1);
}

/* What `rep insb` from 0x511 does. */
static void data_read(struct fixture *f, void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = data_byte(f);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static void desc_put(struct fixture *f, uint64_t at, uint32_t control, uint32_t length,
		     uint64_t addr)
{
	uint8_t d[16];

	put_be32(d, control);
	put_be32(d + 4, length);
	put_be64(d + 8, addr);
	assert_int_equal(guest_mem_write(&f->mem, at, d, sizeof(d)), 0);
}

/* SeaBIOS's way: one outl of cpu_to_be32(addr) to 0x518. */
static void dma_kick(struct fixture *f, uint64_t desc_addr)
{
	if (desc_addr >> 32)
		fw_cfg_dma_ops.write(f->fw, 0, __builtin_bswap32((uint32_t)(desc_addr >> 32)), 4);
	fw_cfg_dma_ops.write(f->fw, 4, __builtin_bswap32((uint32_t)desc_addr), 4);
}

/* Runs a descriptor at DESC and returns the control word it left. */
static uint32_t dma(struct fixture *f, uint32_t control, uint32_t length, uint64_t addr)
{
	uint8_t ctl[4];

	desc_put(f, DESC, control, length, addr);
	dma_kick(f, DESC);
	assert_int_equal(guest_mem_read(&f->mem, DESC, ctl, 4), 0);
	return be32(ctl);
}

static uint32_t sel_ctl(uint16_t key)
{
	return (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT;
}

static void assert_filled(const uint8_t *p, uint8_t v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, p[i], v);
}

static void test_signature_and_id(void **state)
{
	struct fixture *f = *state;
	uint8_t sig[6], id[4];

	sel(f, FW_CFG_SIGNATURE);
	data_read(f, sig, sizeof(sig));
	assert_memory_equal(sig, "QEMU\0\0", 6);
	/* A byte read at 0x510 is a data read too, as in QEMU. */
	sel(f, FW_CFG_SIGNATURE);
	assert_int_equal(fw_cfg_port_ops.read(f->fw, 0, 1), 'Q');
	assert_int_equal(data_byte(f), 'E');
	/* Wider reads of the data port are not data reads. */
	assert_int_equal(fw_cfg_port_ops.read(f->fw, 0, 2), 0);
	assert_int_equal(data_byte(f), 'M');

	sel(f, FW_CFG_ID);
	data_read(f, id, sizeof(id));
	assert_int_equal(id[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	assert_int_equal(id[1] | id[2] | id[3], 0);
}

static void test_no_dma(void **state)
{
	struct fixture *f = *state;
	struct fw_cfg *fw = fw_cfg_create(NULL);

	assert_non_null(fw);
	fw_cfg_port_ops.write(fw, 0, FW_CFG_ID, 2);
	assert_int_equal(fw_cfg_port_ops.read(fw, 1, 1), FW_CFG_VERSION);
	/* The trigger does nothing without guest memory. */
	desc_put(f, DESC, sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_READ, 4, BUF);
	fw_cfg_dma_ops.write(fw, 4, __builtin_bswap32(DESC), 4);
	assert_int_equal(f->ram[BUF], FILL);
	fw_cfg_destroy(fw);
}

static void test_dma_signature_reads(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fw_cfg_dma_ops.read(f->fw, 0, 1), 'Q');
	assert_int_equal(fw_cfg_dma_ops.read(f->fw, 7, 1), 'G');
	/* Port order: "QEMU" in memory after inl 0x514, " CFG" after inl 0x518. */
	assert_int_equal(fw_cfg_dma_ops.read(f->fw, 0, 4), 0x554d4551);
	assert_int_equal(fw_cfg_dma_ops.read(f->fw, 4, 4), 0x47464320);
	assert_int_equal(fw_cfg_dma_ops.read(f->fw, 2, 2), 0x554d);
	assert_true(fw_cfg_dma_ops.read(f->fw, 0, 8) == 0x47464320554d4551ULL);
}

static void test_legacy_keys(void **state)
{
	struct fixture *f = *state;
	uint8_t b[8];

	assert_int_equal(fw_cfg_add_u16(f->fw, FW_CFG_NB_CPUS, 4), 0);
	assert_int_equal(fw_cfg_add_u16(f->fw, FW_CFG_MAX_CPUS, 0x102), 0);
	assert_int_equal(fw_cfg_add_u32(f->fw, FW_CFG_IRQ0_OVERRIDE, 1), 0);
	assert_int_equal(fw_cfg_add_u64(f->fw, FW_CFG_RAM_SIZE, 0x1122334455667788ULL), 0);
	assert_int_equal(fw_cfg_add_u16(f->fw, FW_CFG_NB_CPUS, 5), -EEXIST);
	assert_int_equal(fw_cfg_add_u16(f->fw, FW_CFG_SIGNATURE, 5), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(f->fw, FW_CFG_ID, 5), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(f->fw, FW_CFG_FILE_DIR, 5), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(f->fw, FW_CFG_FILE_FIRST, 5), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(f->fw, 0x4005, 5), -EINVAL);

	sel(f, FW_CFG_NB_CPUS);
	data_read(f, b, 3);
	assert_memory_equal(b, "\x04\x00\x00", 3);
	sel(f, FW_CFG_MAX_CPUS);
	data_read(f, b, 2);
	assert_memory_equal(b, "\x02\x01", 2);
	sel(f, FW_CFG_IRQ0_OVERRIDE);
	data_read(f, b, 4);
	assert_memory_equal(b, "\x01\x00\x00\x00", 4);
	sel(f, FW_CFG_RAM_SIZE);
	data_read(f, b, 8);
	assert_memory_equal(b, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);
	/* QEMU ignores the old write-channel bit when selecting. */
	sel(f, 0x4000 | FW_CFG_NB_CPUS);
	assert_int_equal(data_byte(f), 4);
}

static void test_unknown_keys(void **state)
{
	struct fixture *f = *state;
	const uint16_t keys[] = {FW_CFG_UUID,
				 FW_CFG_BOOT_MENU,
				 FW_CFG_FILE_FIRST,
				 0x3fff,
				 0x7fff,
				 FW_CFG_E820_TABLE,
				 0x8020,
				 0xffff};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		sel(f, keys[k]);
		for (int i = 0; i < 8; i++)
			assert_int_equal(data_byte(f), 0);
		memset(f->ram + BUF, FILL, 64);
		assert_int_equal(dma(f, sel_ctl(keys[k]) | FW_CFG_DMA_CTL_READ, 64, BUF), 0);
		assert_filled(f->ram + BUF, 0, 64);
		assert_int_equal(dma(f, sel_ctl(keys[k]) | FW_CFG_DMA_CTL_WRITE, 4, BUF),
				 FW_CFG_DMA_CTL_ERROR);
		assert_int_equal(dma(f, sel_ctl(keys[k]) | FW_CFG_DMA_CTL_SKIP, 4, BUF), 0);
	}
}

static void test_directory(void **state)
{
	struct fixture *f = *state;
	static const char *names[] = {"etc/e820", "bootorder", "etc/acpi/tables", "a",
				      "etc/acpi/rsdp"};
	static const char *sorted[] = {"a", "bootorder", "etc/acpi/rsdp", "etc/acpi/tables",
				       "etc/e820"};
	char name56[57];
	uint8_t dir[4 + 64 * 6];

	for (size_t i = 0; i < 5; i++)
		assert_int_equal(
		    fw_cfg_add_file(f->fw, names[i], names[i], strlen(names[i]) + 1, false), 0);
	assert_int_equal(fw_cfg_add_file(f->fw, "bootorder", "x", 1, false), -EEXIST);
	assert_int_equal(fw_cfg_add_file(f->fw, "", "x", 1, false), -EINVAL);
	memset(name56, 'n', 56);
	name56[56] = '\0';
	assert_int_equal(fw_cfg_add_file(f->fw, name56, "x", 1, false), -EINVAL);
	name56[55] = '\0';
	assert_int_equal(fw_cfg_add_file(f->fw, name56, "x", 1, false), 0); /* sorts last */

	sel(f, FW_CFG_FILE_DIR);
	data_read(f, dir, sizeof(dir));
	assert_int_equal(be32(dir), 6);
	for (size_t i = 0; i < 6; i++) {
		const uint8_t *e = dir + 4 + 64 * i;
		const char *want = i < 5 ? sorted[i] : name56;

		assert_int_equal(be32(e), i < 5 ? strlen(want) + 1 : 1);
		assert_int_equal(e[4] << 8 | e[5], FW_CFG_FILE_FIRST + i);
		assert_int_equal(e[6] | e[7], 0);
		assert_string_equal((const char *)e + 8, want);
		assert_filled(e + 8 + strlen(want), 0, 56 - strlen(want));
		assert_int_equal(fw_cfg_file_key(f->fw, want), FW_CFG_FILE_FIRST + i);
	}
	assert_int_equal(fw_cfg_file_key(f->fw, "nope"), -ENOENT);
	/* Past the last entry the directory reads as zeros. */
	assert_int_equal(data_byte(f), 0);

	/* Each key reads its own file. */
	for (size_t i = 0; i < 5; i++) {
		char buf[32] = {0};

		sel(f, (uint16_t)(FW_CFG_FILE_FIRST + i));
		data_read(f, buf, strlen(sorted[i]) + 1);
		assert_string_equal(buf, sorted[i]);
	}
}

static void test_too_many_files(void **state)
{
	struct fixture *f = *state;
	char name[16];

	for (int i = 0; i < FW_CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		assert_int_equal(fw_cfg_add_file(f->fw, name, NULL, 0, false), 0);
	}
	assert_int_equal(fw_cfg_add_file(f->fw, "zzz", NULL, 0, false), -ENOSPC);
	sel(f, FW_CFG_FILE_DIR);
	assert_int_equal(data_byte(f), 0);
	assert_int_equal(data_byte(f), 0);
	assert_int_equal(data_byte(f), 0);
	assert_int_equal(data_byte(f), FW_CFG_MAX_FILES);
}

static void add_pattern_file(struct fixture *f, const char *name, size_t len)
{
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(fw_cfg_add_file(f->fw, name, p, len, false), 0);
	free(p);
}

static void assert_pattern(const uint8_t *p, size_t from, size_t len)
{
	for (size_t i = 0; i < len; i++)
		assert_int_equal(p[i], (uint8_t)((from + i) * 7 + 1));
}

static void test_file_port_reads(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[300];
	int key;

	add_pattern_file(f, "etc/blob", 200);
	key = fw_cfg_file_key(f->fw, "etc/blob");
	sel(f, (uint16_t)key);
	data_read(f, buf, sizeof(buf));
	assert_pattern(buf, 0, 200);
	assert_filled(buf + 200, 0, 100);
	/* Selecting again rewinds. */
	sel(f, (uint16_t)key);
	assert_int_equal(data_byte(f), 1);
	/* Byte writes to the data port are ignored. */
	fw_cfg_port_ops.write(f->fw, 1, 0x55, 1);
	assert_int_equal(data_byte(f), 8);
}

static void test_file_dma_reads(void **state)
{
	struct fixture *f = *state;
	uint16_t key;

	add_pattern_file(f, "etc/blob", 200);
	key = (uint16_t)fw_cfg_file_key(f->fw, "etc/blob");

	assert_int_equal(dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_READ, 100, BUF), 0);
	assert_pattern(f->ram + BUF, 0, 100);
	assert_int_equal(f->ram[BUF + 100], FILL);
	/* Without SELECT the offset carries on, also from DMA to port reads. */
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_READ, 50, BUF), 0);
	assert_pattern(f->ram + BUF, 100, 50);
	assert_int_equal(data_byte(f), (uint8_t)(150 * 7 + 1));
	/* Reading across the end zero-fills the rest. */
	memset(f->ram + BUF, FILL, 256);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_READ, 100, BUF), 0);
	assert_pattern(f->ram + BUF, 151, 49);
	assert_filled(f->ram + BUF + 49, 0, 51);
	assert_int_equal(f->ram[BUF + 100], FILL);

	/* SELECT + SKIP, then READ without SELECT (SeaBIOS's partial reads). */
	assert_int_equal(dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_SKIP, 123, 0xdeadbeef00ULL), 0);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_READ, 10, BUF), 0);
	assert_pattern(f->ram + BUF, 123, 10);
	/* SELECT alone rewinds and transfers nothing. */
	memset(f->ram + BUF, FILL, 16);
	assert_int_equal(dma(f, sel_ctl(key), 16, BUF), 0);
	assert_filled(f->ram + BUF, FILL, 16);
	assert_int_equal(data_byte(f), 1);
	/* READ wins over WRITE and SKIP. */
	assert_int_equal(
	    dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_WRITE | FW_CFG_DMA_CTL_SKIP,
		4, BUF),
	    0);
	assert_pattern(f->ram + BUF, 0, 4);
	/* Zero-length read: nothing happens, success. */
	assert_int_equal(dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_READ, 0, BUF), 0);
	assert_int_equal(data_byte(f), 1);
}

static void test_dma_address_registers(void **state)
{
	struct fixture *f = *state;

	add_pattern_file(f, "etc/blob", 16);
	/* An 8-byte big-endian write triggers too; the descriptor is in RAM2. */
	desc_put(f, RAM2_BASE, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 16,
		 RAM2_BASE + 0x100);
	fw_cfg_dma_ops.write(f->fw, 0, __builtin_bswap64(RAM2_BASE), 8);
	assert_int_equal(be32(f->ram2), 0);
	assert_pattern(f->ram2 + 0x100, 0, 16);

	/* A high-half write alone does nothing; the next low write completes it. */
	desc_put(f, DESC, sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_READ, 4, BUF);
	fw_cfg_dma_ops.write(f->fw, 0, __builtin_bswap32(1), 4);
	assert_int_equal(be32(f->ram + DESC), sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_READ);
	fw_cfg_dma_ops.write(f->fw, 4, __builtin_bswap32(DESC), 4);
	/* 0x1_0000_1000 is outside RAM: nothing done at DESC. */
	assert_int_equal(be32(f->ram + DESC), sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_READ);
	/* The address was cleared by the transfer, so this one hits DESC. */
	fw_cfg_dma_ops.write(f->fw, 4, __builtin_bswap32(DESC), 4);
	assert_int_equal(be32(f->ram + DESC), 0);
	assert_memory_equal(f->ram + BUF, "QEMU", 4);
	/* Other widths and offsets are ignored. */
	desc_put(f, DESC, sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_READ, 4, BUF);
	fw_cfg_dma_ops.write(f->fw, 4, __builtin_bswap16(DESC), 2);
	fw_cfg_dma_ops.write(f->fw, 2, __builtin_bswap32(DESC), 4);
	fw_cfg_dma_ops.write(f->fw, 7, DESC >> 8, 1);
	assert_int_equal(be32(f->ram + DESC), sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_READ);
}

static void test_control_written_back_be(void **state)
{
	struct fixture *f = *state;

	/* A WRITE to the signature fails: control becomes 00 00 00 01. */
	desc_put(f, DESC, sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_WRITE, 4, BUF);
	dma_kick(f, DESC);
	assert_memory_equal(f->ram + DESC, "\x00\x00\x00\x01", 4);
	/* Only the control word is written back. */
	assert_int_equal(be32(f->ram + DESC + 4), 4);
	desc_put(f, DESC, sel_ctl(FW_CFG_SIGNATURE) | FW_CFG_DMA_CTL_READ, 4, BUF);
	dma_kick(f, DESC);
	assert_memory_equal(f->ram + DESC, "\x00\x00\x00\x00", 4);
}

static void record_write(void *opaque, const uint8_t *data, uint32_t size, uint32_t offset,
			 uint32_t len)
{
	struct fixture *f = opaque;

	f->cb_calls++;
	f->cb_offset = offset;
	f->cb_len = len;
	f->cb_size = size;
	assert_true(size <= sizeof(f->cb_data));
	memcpy(f->cb_data, data, size);
}

static void test_dma_write(void **state)
{
	struct fixture *f = *state;
	uint8_t init[16] = {0};
	uint16_t key, ro;

	assert_int_equal(fw_cfg_add_file_cb(f->fw, "etc/vmgenid_addr", init, sizeof(init), true,
					    record_write, f),
			 0);
	add_pattern_file(f, "etc/ro", 16);
	key = (uint16_t)fw_cfg_file_key(f->fw, "etc/vmgenid_addr");
	ro = (uint16_t)fw_cfg_file_key(f->fw, "etc/ro");

	memcpy(f->ram + BUF, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	/* SeaBIOS's WRITE_POINTER: select, skip to the offset, write. */
	assert_int_equal(dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_SKIP, 4, 0), 0);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_WRITE, 8, BUF), 0);
	assert_int_equal(f->cb_calls, 1);
	assert_int_equal(f->cb_offset, 4);
	assert_int_equal(f->cb_len, 8);
	assert_int_equal(f->cb_size, 16);
	assert_memory_equal(f->cb_data, "\0\0\0\0\x11\x22\x33\x44\x55\x66\x77\x88\0\0\0\0", 16);
	/* The data reads back, and the offset advanced past the write. */
	assert_int_equal(data_byte(f), 0);
	sel(f, key);
	assert_int_equal(data_byte(f), 0);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_READ, 8, BUF + 0x100), 0);
	assert_memory_equal(f->ram + BUF + 0x100, "\0\0\0\x11\x22\x33\x44\x55", 8);

	/* A write crossing the end is dropped whole, with ERROR. */
	assert_int_equal(dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_SKIP, 12, 0), 0);
	memset(f->ram + BUF, 0xee, 8);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_WRITE, 8, BUF), FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(f->cb_calls, 1);
	sel(f, key);
	for (int i = 0; i < 16; i++)
		assert_int_not_equal(data_byte(f), 0xee);
	/* A write starting at the end fails too. */
	assert_int_equal(dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_SKIP, 16, 0), 0);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_WRITE, 1, BUF), FW_CFG_DMA_CTL_ERROR);

	/* Read-only file: ERROR, content unchanged, no callback. */
	assert_int_equal(dma(f, sel_ctl(ro) | FW_CFG_DMA_CTL_WRITE, 4, BUF), FW_CFG_DMA_CTL_ERROR);
	sel(f, ro);
	assert_int_equal(data_byte(f), 1);
	assert_int_equal(f->cb_calls, 1);

	/* A write whose source is outside RAM: ERROR, file unchanged. */
	assert_int_equal(dma(f, sel_ctl(key) | FW_CFG_DMA_CTL_WRITE, 4, RAM_SIZE - 2),
			 FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(f->cb_calls, 1);
	sel(f, key);
	assert_int_equal(data_byte(f), 0);
}

static void test_descriptor_outside_ram(void **state)
{
	struct fixture *f = *state;
	uint8_t before[RAM_SIZE];

	add_pattern_file(f, "etc/blob", 64);
	memcpy(before, f->ram, RAM_SIZE);
	/* Wholly outside: silently dropped, nothing changes. */
	dma_kick(f, 0x50000);
	dma_kick(f, 0xfffffffffffffff8ULL);
	assert_memory_equal(before, f->ram, RAM_SIZE);

	/* Straddling the end of RAM: the control word is in RAM, so it gets ERROR
	 * and nothing is transferred. */
	put_be32(f->ram + RAM_SIZE - 8, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ);
	put_be32(f->ram + RAM_SIZE - 4, 64);
	dma_kick(f, RAM_SIZE - 8);
	assert_int_equal(be32(f->ram + RAM_SIZE - 8), FW_CFG_DMA_CTL_ERROR);

	/* In read-only memory: the control word can't be written; no crash. */
	put_be32(f->rom, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ);
	put_be32(f->rom + 4, 64);
	put_be64(f->rom + 8, BUF);
	memset(f->ram + BUF, FILL, 64);
	dma_kick(f, ROM_BASE);
	assert_int_equal(be32(f->rom), sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ);
	assert_pattern(f->ram + BUF, 0, 64); /* the transfer itself went through */
}

static void test_buffer_outside_ram(void **state)
{
	struct fixture *f = *state;

	add_pattern_file(f, "etc/blob", 64);
	/* Partly outside: ERROR. */
	assert_int_equal(
	    dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 64, RAM_SIZE - 32),
	    FW_CFG_DMA_CTL_ERROR);
	/* Into the hole between regions, and into ROM. */
	assert_int_equal(dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 8, 0x18000),
			 FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 8, ROM_BASE),
			 FW_CFG_DMA_CTL_ERROR);
	assert_filled(f->rom, FILL, ROM_SIZE);
	/* The zero-fill part past the end of the item fails the same way. */
	assert_int_equal(
	    dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 64 + 32, RAM_SIZE - 64),
	    FW_CFG_DMA_CTL_ERROR);
	assert_pattern(f->ram + RAM_SIZE - 64, 0, 64);
	/* An address that wraps around 2^64. */
	assert_int_equal(
	    dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 64, 0xfffffffffffffff0ULL),
	    FW_CFG_DMA_CTL_ERROR);
	/* Skips never touch memory, wherever they point. */
	assert_int_equal(
	    dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_SKIP, 8, 0xfffffffffffffff0ULL), 0);
}

static void test_huge_lengths(void **state)
{
	struct fixture *f = *state;

	add_pattern_file(f, "etc/blob", 64);
	/* 4 GiB - 1 read into 64 KiB of RAM: the file fits, the zero-fill fails. */
	assert_int_equal(dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 0xffffffff, BUF),
			 FW_CFG_DMA_CTL_ERROR);
	assert_pattern(f->ram + BUF, 0, 64);
	/* Huge skip: the offset stops at the end and later reads are zeros. */
	assert_int_equal(dma(f, sel_ctl(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_SKIP, 0xffffffff, 0),
			 0);
	assert_int_equal(data_byte(f), 0);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_SKIP, 0xffffffff, 0), 0);
	assert_int_equal(dma(f, FW_CFG_DMA_CTL_WRITE, 0xffffffff, BUF), FW_CFG_DMA_CTL_ERROR);
	/* A huge zero-fill of an unknown key stops at the end of RAM with ERROR. */
	assert_int_equal(dma(f, sel_ctl(0x1234) | FW_CFG_DMA_CTL_READ, 0xffffffff, BUF),
			 FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(f->ram[RAM_SIZE - 1], 0);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	add_pattern_file(f, "etc/blob", 64);
	sel(f, FW_CFG_FILE_FIRST);
	data_byte(f);
	fw_cfg_dma_ops.write(f->fw, 0, __builtin_bswap32(1), 4);
	fw_cfg_reset(f->fw);
	/* Key 0, offset 0. */
	assert_int_equal(data_byte(f), 'Q');
	/* The half-written DMA address is gone: this one hits DESC, not 1:DESC. */
	desc_put(f, DESC, FW_CFG_DMA_CTL_READ, 3, BUF);
	fw_cfg_dma_ops.write(f->fw, 4, __builtin_bswap32(DESC), 4);
	assert_int_equal(be32(f->ram + DESC), 0);
	assert_memory_equal(f->ram + BUF, "EMU", 3);
	/* Files survive a reset. */
	assert_int_equal(fw_cfg_file_key(f->fw, "etc/blob"), FW_CFG_FILE_FIRST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_dma, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dma_signature_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_port_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_dma_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dma_address_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_written_back_be, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dma_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_descriptor_outside_ram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_outside_ram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_huge_lengths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
