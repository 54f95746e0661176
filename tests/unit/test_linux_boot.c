// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Direct Linux boot (vmm/linux_boot.c) against synthetic bzImages in fake
 * guest memory laid out like vmm/memmap.c's (RAM split around the VGA
 * window).  With --real-kernel the same loader runs on a real bzImage
 * ($MINIVMM_BZIMAGE, else the nested tier's kernel in $NESTED_CACHE, else
 * /boot/vmlinuz-*); that mode exits 77 without one, printing why
 * ($MINIVMM_BZIMAGE_MISSING, which tests/run sets when it cannot fetch it).
 */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/linux_boot.h"

#define MiB (1ULL << 20)
#define RAM_SIZE (32 * MiB)
#define PAYLOAD 8192 /* protected-mode bytes in the synthetic image */

struct fixture {
	uint8_t *ram;
	uint64_t ram_size;
	struct guest_mem mem;
	struct e820_entry e820[LINUX_BOOT_E820_MAX + 1];
	uint8_t *image;
	size_t image_size;
	uint8_t initrd[10000];
	struct linux_boot_config cfg;
	struct linux_boot_entry entry;
	char err[256];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t getn(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* A minimal modern bzImage: setup header as a 2.15 x86_64 kernel has it,
 * then PAYLOAD bytes of "kernel" and 64 bytes of trailer (a signature,
 * say) that are not part of syssize. */
static uint8_t *image_build(unsigned setup_sects, size_t *size)
{
	unsigned sects = setup_sects ? setup_sects : 4;
	size_t setup = (sects + 1) * 512;
	uint8_t *f;

	*size = setup + PAYLOAD + 64;
	f = calloc(1, *size);
	assert_non_null(f);
	f[0x1f1] = (uint8_t)setup_sects;
	put32(f + 0x1f4, PAYLOAD / 16);
	put16(f + 0x1fa, 0xffff); /* vid_mode */
	put16(f + 0x1fe, 0xaa55);
	f[0x200] = 0xeb;
	f[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(f + 0x202, "HdrS", 4);
	put16(f + 0x206, 0x020f);
	f[0x211] = 0x01; /* LOADED_HIGH */
	put32(f + 0x214, 0x100000);
	put32(f + 0x22c, 0x7fffffff);
	put32(f + 0x230, 0x200000);
	f[0x234] = 1;
	f[0x235] = 21;
	put16(f + 0x236, 0x7f);
	put32(f + 0x238, 2047);
	put64(f + 0x258, 0x1000000);
	put32(f + 0x260, 0x100000);
	/* Past the header: must not reach the zero page. */
	memset(f + 0x26c, 0xcc, 0x290 - 0x26c);
	for (size_t i = 0; i < PAYLOAD + 64; i++)
		f[setup + i] = (uint8_t)(i * 7 + 3);
	return f;
}

/* Like memmap_e820() for a 32 MiB machine. */
static unsigned e820_default(struct e820_entry *e, uint64_t ram_size)
{
	e[0] = (struct e820_entry){ 0, 0x9fc00, E820_RAM };
	e[1] = (struct e820_entry){ 0x9fc00, 0x400, E820_RESERVED };
	e[2] = (struct e820_entry){ 0xf0000, 0x10000, E820_RESERVED };
	e[3] = (struct e820_entry){ 0x100000, ram_size - 0x100000, E820_RAM };
	e[4] = (struct e820_entry){ 0xfeffc000, 0x4000, E820_RESERVED };
	return 5;
}

static struct fixture *fixture_new(uint64_t ram_size)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->ram_size = ram_size;
	fx->ram = calloc(1, ram_size);
	assert_non_null(fx->ram);
	assert_int_equal(guest_mem_add(&fx->mem, 0, 0xa0000, fx->ram, false, "ram-low"), 0);
	assert_int_equal(guest_mem_add(&fx->mem, 0xc0000, ram_size - 0xc0000, fx->ram + 0xc0000,
				       false, "ram"),
			 0);
	fx->image = image_build(4, &fx->image_size);
	for (size_t i = 0; i < sizeof(fx->initrd); i++)
		fx->initrd[i] = (uint8_t)(i ^ 0x5a);
	fx->cfg = (struct linux_boot_config){
		.kernel = fx->image,
		.kernel_size = fx->image_size,
		.initrd = fx->initrd,
		.initrd_size = sizeof(fx->initrd),
		.cmdline = "console=ttyS0",
		.e820 = fx->e820,
		.nr_e820 = e820_default(fx->e820, ram_size),
	};
	return fx;
}

static int setup(void **state)
{
	*state = fixture_new(RAM_SIZE);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->image);
	free(fx->ram);
	free(fx);
	return 0;
}

static int load(struct fixture *fx)
{
	memset(&fx->entry, 0xee, sizeof(fx->entry));
	memset(fx->err, 'x', sizeof(fx->err));
	return linux_boot_load(&fx->mem, &fx->cfg, &fx->entry, fx->err, sizeof(fx->err));
}

static void replace_image(struct fixture *fx, uint8_t *f, size_t size)
{
	free(fx->image);
	fx->image = f;
	fx->image_size = size;
	fx->cfg.kernel = f;
	fx->cfg.kernel_size = size;
}

static uint64_t zp(struct fixture *fx, unsigned off, unsigned n)
{
	return getn(fx->ram + LINUX_BOOT_ZERO_PAGE + off, n);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Loads and expects failure with exactly this return and message. */
static void expect_error(struct fixture *fx, int ret, const char *msg)
{
	assert_int_equal(load(fx), ret);
	assert_string_equal(fx->err, msg);
	/* Failure happens before any write. */
	assert_true(all_zero(fx->ram, fx->ram_size));
}

static void test_zero_page(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->err, "");
	/* The header as the file has it... */
	assert_memory_equal(fx->ram + LINUX_BOOT_ZERO_PAGE + 0x1fe, "\x55\xaa\xeb\x6aHdrS\x0f\x02", 10);
	assert_int_equal(zp(fx, 0x1fa, 2), 0xffff);
	assert_int_equal(zp(fx, 0x1f4, 4), PAYLOAD / 16);
	assert_int_equal(zp(fx, 0x230, 4), 0x200000);
	assert_int_equal(zp(fx, 0x238, 4), 2047);
	assert_int_equal(zp(fx, 0x260, 4), 0x100000);
	/* ...and nothing past its end (0x26c) copied. */
	assert_true(all_zero(fx->ram + LINUX_BOOT_ZERO_PAGE + 0x26c, 0x290 - 0x26c));
	assert_true(all_zero(fx->ram + LINUX_BOOT_ZERO_PAGE, 0x1e8));
	/* What the loader fills in. */
	assert_int_equal(zp(fx, 0x210, 1), 0xff);
	assert_int_equal(zp(fx, 0x211, 1), 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(zp(fx, 0x214, 4), 0x100000);
	assert_int_equal(zp(fx, 0x224, 2), 0xde00);
	assert_int_equal(zp(fx, 0x228, 4), 0x20000);
	assert_int_equal(zp(fx, 0x218, 4), 0x1ffd000);
	assert_int_equal(zp(fx, 0x21c, 4), sizeof(fx->initrd));
	/* ext_ramdisk_image/size, ext_cmd_line_ptr: all below 4 GiB. */
	assert_true(all_zero(fx->ram + LINUX_BOOT_ZERO_PAGE + 0xc0, 12));
	assert_string_equal((char *)fx->ram + 0x20000, "console=ttyS0");
	/* E820. */
	assert_int_equal(zp(fx, 0x1e8, 1), 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(zp(fx, 0x2d0 + i * 20, 8), fx->e820[i].addr);
		assert_int_equal(zp(fx, 0x2d0 + i * 20 + 8, 8), fx->e820[i].size);
		assert_int_equal(zp(fx, 0x2d0 + i * 20 + 16, 4), fx->e820[i].type);
	}
	assert_true(all_zero(fx->ram + LINUX_BOOT_ZERO_PAGE + 0x2d0 + 5 * 20, 4096 - 0x2d0 - 100));
}

static void test_kernel_and_initrd_bytes(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(load(fx), 0);
	assert_memory_equal(fx->ram + 0x100000, fx->image + 5 * 512, PAYLOAD);
	/* The trailer past syssize is not loaded. */
	assert_true(all_zero(fx->ram + 0x100000 + PAYLOAD, 64));
	/* Highest page below the 32 MiB end of RAM. */
	assert_int_equal(fx->entry.initrd_addr, 32 * MiB - 3 * 4096);
	assert_int_equal(fx->entry.initrd_size, sizeof(fx->initrd));
	assert_memory_equal(fx->ram + fx->entry.initrd_addr, fx->initrd, sizeof(fx->initrd));
	assert_int_equal(fx->entry.kernel_addr, 0x100000);
	assert_int_equal(fx->entry.kernel_size, PAYLOAD);
	/* Relocatable: max(1 MiB, pref_address) aligned to 2 MiB. */
	assert_int_equal(fx->entry.runtime_start, 0x1000000);
	assert_int_equal(fx->entry.init_size, 0x100000);
	assert_int_equal(fx->entry.cmdline_addr, 0x20000);
	assert_int_equal(fx->entry.protocol, 0x020f);
}

static void test_entry_64bit(void **state)
{
	struct fixture *fx = *state;
	const struct linux_boot_entry *e = &fx->entry;

	assert_int_equal(load(fx), 0);
	assert_true(e->long_mode);
	assert_int_equal(e->rip, 0x100200);
	assert_int_equal(e->rsi, 0x7000);
	assert_int_equal(e->rsp, 0x8ff0);
	assert_int_equal(e->rflags, 0x2);
	assert_int_equal(e->cr0, 0x80000011);
	assert_int_equal(e->cr3, 0x9000);
	assert_int_equal(e->cr4, 0x20);
	assert_int_equal(e->efer, 0x500);
	assert_int_equal(e->gdt_base, 0x500);
	assert_int_equal(e->gdt_limit, 47);
	assert_int_equal(e->cs.selector, 0x10);
	assert_int_equal(e->cs.l, 1);
	assert_int_equal(e->cs.db, 0);
	assert_int_equal(e->cs.type, 0xb);
	assert_int_equal(e->cs.s, 1);
	assert_int_equal(e->cs.present, 1);
	assert_int_equal(e->cs.g, 1);
	assert_int_equal(e->cs.limit, 0xffffffff);
	assert_int_equal(e->cs.base, 0);
	assert_int_equal(e->ds.selector, 0x18);
	assert_int_equal(e->ds.type, 0x3);
	assert_int_equal(e->ds.db, 1);
	assert_int_equal(e->tr.selector, 0x20);
	assert_int_equal(e->tr.type, 0xb);
	assert_int_equal(e->tr.s, 0);
	assert_int_equal(e->tr.base, 0x580);
	assert_int_equal(e->tr.limit, 0x67);
	/* The GDT in RAM says the same thing, in the CPU's encoding. */
	assert_int_equal(getn(fx->ram + 0x500, 8), 0);
	assert_int_equal(getn(fx->ram + 0x508, 8), 0);
	assert_int_equal(getn(fx->ram + 0x510, 8), 0x00af9b000000ffffULL);
	assert_int_equal(getn(fx->ram + 0x518, 8), 0x00cf93000000ffffULL);
	assert_int_equal(getn(fx->ram + 0x520, 8), 0x00008b0005800067ULL);
	assert_int_equal(getn(fx->ram + 0x528, 8), 0);
}

static void test_page_tables(void **state)
{
	struct fixture *fx = *state;
	const uint8_t *pml4 = fx->ram + 0x9000, *pdpt = fx->ram + 0xa000;

	assert_int_equal(load(fx), 0);
	assert_int_equal(getn(pml4, 8), 0xa003);
	assert_true(all_zero(pml4 + 8, 4096 - 8));
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(getn(pdpt + i * 8, 8), 0xb003 + i * 0x1000);
	assert_true(all_zero(pdpt + 32, 4096 - 32));
	for (uint64_t i = 0; i < 2048; i++)
		assert_int_equal(getn(fx->ram + 0xb000 + i * 8, 8), i * 0x200000 | 0x83);
}

static void check_entry_32bit(struct fixture *fx)
{
	const struct linux_boot_entry *e = &fx->entry;

	assert_int_equal(load(fx), 0);
	assert_false(e->long_mode);
	assert_int_equal(e->rip, 0x100000);
	assert_int_equal(e->rsi, 0x7000);
	assert_int_equal(e->rflags, 0x2);
	assert_int_equal(e->cr0, 0x11);
	assert_int_equal(e->cr3, 0);
	assert_int_equal(e->cr4, 0);
	assert_int_equal(e->efer, 0);
	assert_int_equal(e->cs.selector, 0x10);
	assert_int_equal(e->cs.l, 0);
	assert_int_equal(e->cs.db, 1);
	assert_int_equal(e->ds.selector, 0x18);
	assert_int_equal(getn(fx->ram + 0x510, 8), 0x00cf9b000000ffffULL);
	assert_int_equal(getn(fx->ram + 0x518, 8), 0x00cf93000000ffffULL);
	/* No page tables for a paging-off entry. */
	assert_true(all_zero(fx->ram + 0x9000, 6 * 4096));
	assert_int_equal(zp(fx, 0x214, 4), 0x100000);
}

static void test_entry_32bit_kernel(void **state)
{
	struct fixture *fx = *state;

	put16(fx->image + 0x236, 0); /* no XLF_KERNEL_64 */
	/* A code32_start elsewhere does not move the entry: we loaded at 1 MiB. */
	put32(fx->image + 0x214, 0x5000000);
	check_entry_32bit(fx);
}

static void test_entry_forced_32bit(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.force_32bit_entry = true;
	check_entry_32bit(fx);
}

/* Before 2.12 the xloadflags bytes are padding; before 2.10 there is no
 * pref_address or init_size. */
static void test_protocol_206(void **state)
{
	struct fixture *fx = *state;

	put16(fx->image + 0x206, 0x0206);
	fx->image[0x201] = 0x3a; /* header ends after cmdline_size, at 0x23c */
	check_entry_32bit(fx);
	assert_int_equal(fx->entry.protocol, 0x0206);
	assert_int_equal(fx->entry.runtime_start, 0x200000);
	assert_int_equal(fx->entry.init_size, PAYLOAD);
	assert_true(all_zero(fx->ram + LINUX_BOOT_ZERO_PAGE + 0x23c, 0x290 - 0x23c));
}

static void test_setup_sects_zero_means_4(void **state)
{
	struct fixture *fx = *state;
	size_t size;
	uint8_t *f = image_build(0, &size);

	replace_image(fx, f, size);
	assert_int_equal(load(fx), 0);
	assert_memory_equal(fx->ram + 0x100000, f + 5 * 512, PAYLOAD);
	assert_int_equal(zp(fx, 0x1f1, 1), 0);
}

static void test_setup_sects_1(void **state)
{
	struct fixture *fx = *state;
	size_t size;
	uint8_t *f = image_build(1, &size);

	replace_image(fx, f, size);
	assert_int_equal(load(fx), 0);
	assert_memory_equal(fx->ram + 0x100000, f + 1024, PAYLOAD);
}

static void test_no_initrd_no_cmdline(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.initrd = NULL;
	fx->cfg.cmdline = NULL;
	assert_int_equal(load(fx), 0);
	assert_int_equal(zp(fx, 0x218, 8), 0);
	assert_int_equal(fx->entry.initrd_addr, 0);
	assert_int_equal(fx->ram[0x20000], 0);
	assert_int_equal(zp(fx, 0x228, 4), 0x20000);
	/* Size 0 with a pointer is no initrd either. */
	fx->cfg.initrd = fx->initrd;
	fx->cfg.initrd_size = 0;
	assert_int_equal(load(fx), 0);
	assert_int_equal(zp(fx, 0x218, 8), 0);
}

static void test_hostile_header_fields_cleared(void **state)
{
	struct fixture *fx = *state;

	put64(fx->image + 0x250, 0x12345678); /* setup_data */
	put32(fx->image + 0x23c, 3);          /* hardware_subarch */
	put32(fx->image + 0x218, 0xdead000);  /* ramdisk_image */
	put32(fx->image + 0x228, 0xbeef000);  /* cmd_line_ptr */
	fx->image[0x211] |= 0x40;             /* KEEP_SEGMENTS */
	fx->cfg.initrd = NULL;
	assert_int_equal(load(fx), 0);
	assert_int_equal(zp(fx, 0x250, 8), 0);
	assert_int_equal(zp(fx, 0x23c, 4), 0);
	assert_int_equal(zp(fx, 0x218, 8), 0);
	assert_int_equal(zp(fx, 0x228, 4), 0x20000);
	assert_int_equal(zp(fx, 0x211, 1), 0x81);
}

static void test_initrd_addr_max(void **state)
{
	struct fixture *fx = *state;

	put32(fx->image + 0x22c, 0x17fffff);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->entry.initrd_addr, 24 * MiB - 3 * 4096);
	assert_int_equal(zp(fx, 0x218, 4), 24 * MiB - 3 * 4096);
}

static void test_initrd_ignores_ram_above_4g(void **state)
{
	struct fixture *fx = *state;

	fx->e820[fx->cfg.nr_e820++] = (struct e820_entry){ 1ULL << 32, 1ULL << 30, E820_RAM };
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->entry.initrd_addr, 32 * MiB - 3 * 4096);
	assert_int_equal(zp(fx, 0x1e8, 1), 6);
	assert_int_equal(zp(fx, 0x2d0 + 5 * 20, 8), 1ULL << 32);
}

static void test_initrd_picks_highest_entry_that_fits(void **state)
{
	struct fixture *fx = *state;

	/* RAM 1-20 MiB, a hole, then 8 KiB of RAM at 24 MiB: too small. */
	fx->e820[3] = (struct e820_entry){ 0x100000, 19 * MiB, E820_RAM };
	fx->e820[4] = (struct e820_entry){ 24 * MiB, 8192, E820_RAM };
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->entry.initrd_addr, 20 * MiB - 3 * 4096);
	/* Adjacent RAM entries count as one range. */
	fx->e820[4] = (struct e820_entry){ 20 * MiB, 4 * MiB, E820_RAM };
	memset(fx->ram, 0, fx->ram_size);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->entry.initrd_addr, 24 * MiB - 3 * 4096);
}

static void test_initrd_stays_above_kernel(void **state)
{
	struct fixture *fx = *state;

	/* Only 17 MiB + 8 KiB of RAM: room for the initrd only below the
	 * kernel's runtime range (16-17 MiB), which is not allowed. */
	fx->e820[3].size = 16 * MiB + 8192;
	expect_error(fx, -ENOSPC,
		     "initrd: 10 KiB does not fit below initrd_addr_max 0x7fffffff within RAM");
	fx->e820[3].size = 16 * MiB + 16384;
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->entry.initrd_addr, 17 * MiB + 4096);
}

static void test_initrd_too_big(void **state)
{
	struct fixture *fx = *state;

	/* Never read: the loader refuses before copying. */
	fx->cfg.initrd_size = 600 * MiB;
	expect_error(fx, -ENOSPC,
		     "initrd: 600 MiB does not fit below initrd_addr_max 0x7fffffff within RAM");
	put32(fx->image + 0x22c, 0x37ffffff);
	fx->cfg.initrd_size = 5ULL << 30;
	expect_error(fx, -ENOSPC,
		     "initrd: 5120 MiB does not fit below initrd_addr_max 0x37ffffff within RAM");
	fx->cfg.initrd_size = 16 * MiB;
	expect_error(fx, -ENOSPC,
		     "initrd: 16 MiB does not fit below initrd_addr_max 0x37ffffff within RAM");
}

static void test_cmdline_too_long(void **state)
{
	struct fixture *fx = *state;
	char *line = malloc(70000);

	assert_non_null(line);
	put32(fx->image + 0x238, 10);
	fx->cfg.cmdline = "0123456789";
	assert_int_equal(load(fx), 0);
	assert_string_equal((char *)fx->ram + 0x20000, "0123456789");
	memset(fx->ram, 0, fx->ram_size);
	fx->cfg.cmdline = "0123456789a";
	expect_error(fx, -E2BIG, "cmdline: 11 bytes, the kernel accepts at most 10");
	/* A kernel claiming more than our buffer gets the buffer's size. */
	put32(fx->image + 0x238, 0xffffffff);
	memset(line, 'a', 70000 - 1);
	line[70000 - 1] = '\0';
	fx->cfg.cmdline = line;
	expect_error(fx, -E2BIG, "cmdline: 69999 bytes, the kernel accepts at most 65535");
	line[65535] = '\0';
	assert_int_equal(load(fx), 0);
	assert_int_equal(strlen((char *)fx->ram + 0x20000), 65535);
	free(line);
}

static void test_bad_file(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.kernel_size = 100;
	expect_error(fx, -EINVAL, "kernel: file too small (100 bytes) for a bzImage");
	fx->cfg.kernel = NULL;
	expect_error(fx, -EINVAL, "kernel: file too small (0 bytes) for a bzImage");
	fx->cfg.kernel = fx->image;
	fx->cfg.kernel_size = fx->image_size;

	fx->image[0x203] = 'x';
	expect_error(fx, -EINVAL, "kernel: not a bzImage (no HdrS magic)");
	fx->image[0x203] = 'd';
	put16(fx->image + 0x1fe, 0x1234);
	expect_error(fx, -EINVAL, "kernel: not a bzImage (boot_flag 0x1234, want 0xaa55)");
	put16(fx->image + 0x1fe, 0xaa55);
	put16(fx->image + 0x206, 0x0203);
	expect_error(fx, -EINVAL, "kernel: boot protocol 2.03 too old (need 2.06)");
	put16(fx->image + 0x206, 0x020f);
	assert_int_equal(load(fx), 0);
}

static void test_bad_header_extent(void **state)
{
	struct fixture *fx = *state;

	fx->image[0x201] = 0x30;
	expect_error(fx, -EINVAL, "kernel: setup header ends at 0x232, too short for protocol 2.15");
	/* 0x23c is enough for 2.06-2.09 but not for 2.10 (init_size). */
	fx->image[0x201] = 0x3a;
	expect_error(fx, -EINVAL, "kernel: setup header ends at 0x23c, too short for protocol 2.15");
	fx->image[0x201] = 0xff;
	expect_error(fx, -EINVAL, "kernel: setup header ends at 0x301, past the zero page's 0x290");
	fx->image[0x201] = 0x6a;
	fx->cfg.kernel_size = 0x250;
	expect_error(fx, -EINVAL,
		     "kernel: truncated (592 bytes) inside the setup header (ends at 0x26c)");
}

static void test_truncated(void **state)
{
	struct fixture *fx = *state;
	char msg[200];

	fx->image[0x1f1] = 200;
	snprintf(msg, sizeof(msg),
		 "kernel: setup_sects 200: setup code (102912 bytes) does not fit the header and "
		 "a kernel in the file (%zu bytes)",
		 fx->image_size);
	expect_error(fx, -EINVAL, msg);
	/* Setup code that ends exactly at the end of the file: no kernel. */
	fx->image[0x1f1] = 4;
	fx->cfg.kernel_size = 5 * 512;
	expect_error(fx, -EINVAL,
		     "kernel: setup_sects 4: setup code (2560 bytes) does not fit the header and "
		     "a kernel in the file (2560 bytes)");
	/* Cut inside the kernel. */
	fx->cfg.kernel_size = 5 * 512 + PAYLOAD - 16;
	expect_error(fx, -EINVAL,
		     "kernel: syssize says 8192 bytes of kernel but the file has 8176 after the "
		     "setup code");
}

static void test_bad_syssize(void **state)
{
	struct fixture *fx = *state;
	char msg[200];

	put32(fx->image + 0x1f4, 0xffffffff);
	snprintf(msg, sizeof(msg),
		 "kernel: syssize says 68719476720 bytes of kernel but the file has %zu after "
		 "the setup code",
		 fx->image_size - 5 * 512);
	expect_error(fx, -EINVAL, msg);
	put32(fx->image + 0x1f4, 0);
	expect_error(fx, -EINVAL, "kernel: syssize is 0");
}

static void test_bad_flags_and_placement(void **state)
{
	struct fixture *fx = *state;

	fx->image[0x211] = 0;
	expect_error(fx, -EINVAL, "kernel: not loadable at 1 MiB (LOADED_HIGH clear: a zImage)");
	fx->image[0x211] = 1;
	put32(fx->image + 0x230, 0x300000);
	expect_error(fx, -EINVAL,
		     "kernel: relocatable, but kernel_alignment 0x300000 is not a power of two up "
		     "to 1 GiB");
	put32(fx->image + 0x230, 0);
	expect_error(fx, -EINVAL,
		     "kernel: relocatable, but kernel_alignment 0x0 is not a power of two up to 1 "
		     "GiB");
	put32(fx->image + 0x230, 0x80000000);
	expect_error(fx, -EINVAL,
		     "kernel: relocatable, but kernel_alignment 0x80000000 is not a power of two "
		     "up to 1 GiB");
	put32(fx->image + 0x230, 0x200000);
	put64(fx->image + 0x258, 0x100000000ULL);
	expect_error(fx, -EINVAL, "kernel: pref_address 0x100000000 is above 4 GiB");
	/* Relocatable, pref_address below 1 MiB: 1 MiB aligned up to 2 MiB. */
	put64(fx->image + 0x258, 0);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->entry.runtime_start, 0x200000);
	memset(fx->ram, 0, fx->ram_size);
	/* Not relocatable: runs at pref_address, which must be RAM. */
	fx->image[0x234] = 0;
	expect_error(fx, -EINVAL,
		     "kernel: not relocatable and pref_address 0x0 is below 1 MiB");
	put64(fx->image + 0x258, 0x3000000);
	expect_error(fx, -ENOSPC, "kernel: needs 1 MiB of RAM at 0x3000000-0x3100000 (init_size)");
	put64(fx->image + 0x258, 0x1000000);
	put32(fx->image + 0x260, 0xffffffff);
	expect_error(fx, -ENOSPC, "kernel: runs at 0x1000000-0x100ffffff (init_size), above 4 GiB");
	put32(fx->image + 0x260, 0x1100000);
	expect_error(fx, -ENOSPC, "kernel: needs 17 MiB of RAM at 0x1000000-0x2100000 (init_size)");
	put32(fx->image + 0x260, 0x100000);
	/* A non-relocatable kernel ignores kernel_alignment. */
	put32(fx->image + 0x230, 0x300000);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->entry.runtime_start, 0x1000000);
}

static void test_kernel_outside_ram(void **state)
{
	struct fixture *fx = *state;

	fx->e820[3] = (struct e820_entry){ 0x101000, 31 * MiB, E820_RAM };
	expect_error(fx, -ENOSPC, "kernel: 8 KiB at 0x100000-0x102000 is not all RAM");
	/* E820 says RAM but there is no guest memory behind it. */
	fx->e820[3] = (struct e820_entry){ 0x100000, 63 * MiB, E820_RAM };
	put64(fx->image + 0x258, 0x1f00000);
	expect_error(fx, -ENOSPC, "kernel: needs 1 MiB of RAM at 0x2000000-0x2100000 (init_size)");
	/* No E820 at all. */
	fx->cfg.nr_e820 = 0;
	expect_error(fx, -ENOSPC, "kernel: 8 KiB at 0x100000-0x102000 is not all RAM");
}

static void test_bad_e820(void **state)
{
	struct fixture *fx = *state;

	for (unsigned i = 5; i < LINUX_BOOT_E820_MAX + 1; i++)
		fx->e820[i] = (struct e820_entry){ (uint64_t)i << 32, 1ULL << 32, E820_RESERVED };
	fx->cfg.nr_e820 = LINUX_BOOT_E820_MAX + 1;
	expect_error(fx, -EINVAL, "e820: 129 entries, the zero page holds at most 128");
	fx->cfg.nr_e820 = LINUX_BOOT_E820_MAX;
	assert_int_equal(load(fx), 0);
	assert_int_equal(zp(fx, 0x1e8, 1), 128);
	assert_int_equal(zp(fx, 0x2d0 + 127 * 20, 8), 127ULL << 32);
	memset(fx->ram, 0, fx->ram_size);
	fx->cfg.nr_e820 = 6;
	fx->e820[5] = (struct e820_entry){ UINT64_MAX - 10, 12, E820_RESERVED };
	expect_error(fx, -EINVAL, "e820: entry 5 wraps around");
	fx->cfg.e820 = NULL;
	expect_error(fx, -EINVAL, "e820: no table for 6 entries");
}

static void test_no_low_memory(void **state)
{
	struct fixture *fx = *state;

	/* Only the RAM from 0xc0000 is guest memory. */
	fx->mem.region[0] = fx->mem.region[1];
	fx->mem.nr = 1;
	expect_error(fx, -EFAULT, "guest memory: no RAM for the GDT and TSS at 0x500-0x5e8");
}

static void test_err_buffer(void **state)
{
	struct fixture *fx = *state;
	char small[8];

	fx->image[0x203] = 'x';
	assert_int_equal(linux_boot_load(&fx->mem, &fx->cfg, &fx->entry, NULL, 0), -EINVAL);
	assert_int_equal(linux_boot_load(&fx->mem, &fx->cfg, &fx->entry, small, sizeof(small)),
			 -EINVAL);
	assert_string_equal(small, "kernel:");
	fx->image[0x203] = 'd';
	assert_int_equal(linux_boot_load(&fx->mem, &fx->cfg, &fx->entry, NULL, 0), 0);
}

/* Loading twice (as a reset does) gives the same guest RAM. */
static void test_reload_identical(void **state)
{
	struct fixture *fx = *state;
	uint8_t *copy = malloc(fx->ram_size);

	assert_non_null(copy);
	assert_int_equal(load(fx), 0);
	memcpy(copy, fx->ram, fx->ram_size);
	assert_int_equal(load(fx), 0);
	assert_memory_equal(copy, fx->ram, fx->ram_size);
	free(copy);
}

static int run_unit_tests(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_zero_page),
		T(test_kernel_and_initrd_bytes),
		T(test_entry_64bit),
		T(test_page_tables),
		T(test_entry_32bit_kernel),
		T(test_entry_forced_32bit),
		T(test_protocol_206),
		T(test_setup_sects_zero_means_4),
		T(test_setup_sects_1),
		T(test_no_initrd_no_cmdline),
		T(test_hostile_header_fields_cleared),
		T(test_initrd_addr_max),
		T(test_initrd_ignores_ram_above_4g),
		T(test_initrd_picks_highest_entry_that_fits),
		T(test_initrd_stays_above_kernel),
		T(test_initrd_too_big),
		T(test_cmdline_too_long),
		T(test_bad_file),
		T(test_bad_header_extent),
		T(test_truncated),
		T(test_bad_syssize),
		T(test_bad_flags_and_placement),
		T(test_kernel_outside_ram),
		T(test_bad_e820),
		T(test_no_low_memory),
		T(test_err_buffer),
		T(test_reload_identical),
#undef T
	};

	return cmocka_run_group_tests_name("linux_boot", tests, NULL, NULL);
}

/* --real-kernel: a distribution bzImage in a 512 MiB machine. */
static const char *real_kernel_path;

static void test_real_kernel(void **state)
{
	struct fixture *fx = fixture_new(512 * MiB);
	FILE *fp = fopen(real_kernel_path, "rb");
	size_t setup;
	long size;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size > 0x1000);
	rewind(fp);
	free(fx->image);
	fx->image = malloc((size_t)size);
	assert_non_null(fx->image);
	assert_int_equal(fread(fx->image, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	fx->cfg.kernel = fx->image;
	fx->cfg.kernel_size = (size_t)size;

	assert_int_equal(load(fx), 0);
	print_message("%s: protocol %u.%02u, %llu bytes at 1 MiB, runs at 0x%llx (init_size 0x%llx), "
		      "initrd at 0x%llx, %s entry\n",
		      real_kernel_path, fx->entry.protocol >> 8, fx->entry.protocol & 0xff,
		      (unsigned long long)fx->entry.kernel_size,
		      (unsigned long long)fx->entry.runtime_start,
		      (unsigned long long)fx->entry.init_size,
		      (unsigned long long)fx->entry.initrd_addr,
		      fx->entry.long_mode ? "64-bit" : "32-bit");
	/* A Debian 12 amd64 kernel: protocol 2.15, 64-bit entry, relocatable. */
	assert_true(fx->entry.protocol >= 0x020c);
	assert_true(fx->entry.long_mode);
	assert_int_equal(fx->entry.rip, 0x100200);
	setup = ((fx->image[0x1f1] ? fx->image[0x1f1] : 4) + 1) * 512;
	assert_memory_equal(fx->ram + 0x100000, fx->image + setup, fx->entry.kernel_size);
	assert_true(fx->entry.initrd_addr >= fx->entry.runtime_start + fx->entry.init_size);
	assert_true(fx->entry.initrd_addr + sizeof(fx->initrd) <= 512 * MiB);
	assert_memory_equal(fx->ram + LINUX_BOOT_ZERO_PAGE + 0x1f1, fx->image + 0x1f1,
			    0x210 - 0x1f1);
	assert_int_equal(zp(fx, 0x210, 1), 0xff);
	assert_string_equal((char *)fx->ram + 0x20000, "console=ttyS0");
	free(fx->image);
	free(fx->ram);
	free(fx);
}

/* The last path matching pattern (newest kernel version), or NULL. */
static char *last_match(const char *pattern)
{
	char *path = NULL;
	glob_t g;

	if (glob(pattern, 0, NULL, &g) == 0) {
		if (g.gl_pathc > 0)
			path = strdup(g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
	}
	return path;
}

static int run_real_kernel(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_real_kernel) };
	const char *cache = getenv("NESTED_CACHE"), *why = getenv("MINIVMM_BZIMAGE_MISSING");
	char pattern[4096];

	/* $MINIVMM_BZIMAGE (tests/run fetches Debian's kernel), then the
	 * nested tier's kernel cache, then the host's own kernels. */
	real_kernel_path = getenv("MINIVMM_BZIMAGE");
	if (!real_kernel_path || !*real_kernel_path) {
		real_kernel_path = NULL;
		if (cache && *cache &&
		    (size_t)snprintf(pattern, sizeof(pattern), "%s/kernel-*/boot/vmlinuz-*", cache) <
			sizeof(pattern))
			real_kernel_path = last_match(pattern);
		if (!real_kernel_path)
			real_kernel_path = last_match("/boot/vmlinuz-*");
	}
	if (!real_kernel_path) {
		printf("SKIP: no bzImage (not in $MINIVMM_BZIMAGE, %s/kernel-*, /boot): %s\n",
		       cache && *cache ? cache : "$NESTED_CACHE",
		       why && *why ? why
				   : "run tools/nested-run --fetch-kernel or install linux-image-amd64");
		return 77;
	}
	printf("bzImage: %s\n", real_kernel_path);
	return cmocka_run_group_tests_name("linux_boot_real_kernel", tests, NULL, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--real-kernel") == 0)
		return run_real_kernel();
	return run_unit_tests();
}
