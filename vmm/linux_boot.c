// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Direct Linux boot, following Documentation/arch/x86/boot.rst.  The whole
 * job is done in two phases: parse and plan (every field of the hostile
 * bzImage checked, every guest range checked against E820 RAM and against
 * guest memory), then write.  Only the write phase touches guest RAM.
 */
#include "vmm/linux_boot.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/le.h"

/* Setup header offsets: the same in the file and in boot_params. */
#define HDR_START            0x1f1
#define HDR_SETUP_SECTS      0x1f1
#define HDR_SYSSIZE          0x1f4
#define HDR_BOOT_FLAG        0x1fe
#define HDR_JUMP_LEN         0x201 /* second byte of the jump: header end - 0x202 */
#define HDR_MAGIC            0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_HARDWARE_SUBARCH 0x23c
#define HDR_SETUP_DATA       0x250
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260

/* Where the header must at least reach for the fields we read. */
#define HDR_END_MIN_206 (HDR_CMDLINE_SIZE + 4)
#define HDR_END_MIN_210 (HDR_INIT_SIZE + 4)

/* boot_params outside the setup header. */
#define ZP_SIZE         4096
#define ZP_E820_ENTRIES 0x1e8
#define ZP_HDR_MAX_END  0x290 /* edd_mbr_sig_buffer follows the header */
#define ZP_E820_TABLE   0x2d0
#define ZP_E820_ENTRY   20

static_assert(ZP_E820_TABLE + LINUX_BOOT_E820_MAX * ZP_E820_ENTRY <= ZP_SIZE,
	      "E820 table fits in the zero page");

#define HDRS_MAGIC      0x53726448 /* "HdrS" */
#define BOOT_FLAG_MAGIC 0xaa55

#define LOADED_HIGH   0x01
#define KEEP_SEGMENTS 0x40
#define CAN_USE_HEAP  0x80

#define XLF_KERNEL_64 0x0001

#define TYPE_OF_LOADER_UNDEFINED 0xff
/* boot.rst's sample loader: heap end at 0xe000 in the setup segment.  The
 * setup code never runs with the 32/64-bit entries; the field is filled
 * for whoever reads it. */
#define HEAP_END_PTR 0xde00

#define STARTUP_64_OFFSET 0x200
#define PAGE_SIZE         4096ULL
#define SIZE_4G           0x100000000ULL
#define HUGE_2M           0x200000ULL

#define PTE_PRESENT 0x1ULL
#define PTE_RW      0x2ULL
#define PTE_PS      0x80ULL

#define GDT_ENTRIES 6 /* null, null, code, data, TSS (two slots) */
#define TSS_SIZE    104

static_assert(LINUX_BOOT_GDT + GDT_ENTRIES * 8 <= LINUX_BOOT_TSS, "GDT below the TSS");
static_assert(LINUX_BOOT_TSS + TSS_SIZE <= LINUX_BOOT_ZERO_PAGE, "TSS below the zero page");
static_assert(LINUX_BOOT_ZERO_PAGE + ZP_SIZE <= LINUX_BOOT_STACK_TOP, "stack above zero page");
static_assert(LINUX_BOOT_STACK_TOP < LINUX_BOOT_PML4, "stack below the page tables");
static_assert(LINUX_BOOT_PD + 4 * PAGE_SIZE <= LINUX_BOOT_CMDLINE, "tables below cmdline");
static_assert(LINUX_BOOT_CMDLINE + LINUX_BOOT_CMDLINE_MAX <= 0x9f000, "all below the EBDA");

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int ret,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* "600 MiB", "12 KiB" or "100 bytes", rounded up, for messages. */
static const char *fmt_size(char *buf, size_t len, uint64_t size)
{
	if (size >= (1ULL << 20))
		snprintf(buf, len, "%llu MiB", (unsigned long long)((size + (1ULL << 20) - 1) >> 20));
	else if (size >= 1024)
		snprintf(buf, len, "%llu KiB", (unsigned long long)((size + 1023) >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)size);
	return buf;
}

/* The setup header fields we use, in host order, all checked. */
struct bzimage {
	uint16_t protocol;
	size_t setup_size; /* boot sector + setup code: where the kernel starts */
	size_t hdr_end;    /* file offset just past the setup header */
	uint64_t kernel_size;
	uint8_t loadflags;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	bool relocatable;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
};

static int bzimage_parse(struct bzimage *bz, const uint8_t *f, size_t size, char *err,
			 size_t errlen)
{
	unsigned setup_sects;
	uint16_t boot_flag;

	memset(bz, 0, sizeof(*bz));
	if (!f || size < HDR_VERSION + 2)
		return fail(err, errlen, -EINVAL, "kernel: file too small (%zu bytes) for a bzImage",
			    f ? size : 0);
	if (le32_get(f + HDR_MAGIC) != HDRS_MAGIC)
		return fail(err, errlen, -EINVAL, "kernel: not a bzImage (no HdrS magic)");
	boot_flag = le16_get(f + HDR_BOOT_FLAG);
	if (boot_flag != BOOT_FLAG_MAGIC)
		return fail(err, errlen, -EINVAL,
			    "kernel: not a bzImage (boot_flag 0x%04x, want 0xaa55)", boot_flag);
	bz->protocol = le16_get(f + HDR_VERSION);
	if (bz->protocol < 0x0206)
		return fail(err, errlen, -EINVAL, "kernel: boot protocol %u.%02u too old (need 2.06)",
			    bz->protocol >> 8, bz->protocol & 0xff);

	bz->hdr_end = 0x202 + (size_t)f[HDR_JUMP_LEN];
	if (bz->hdr_end < (bz->protocol >= 0x020a ? HDR_END_MIN_210 : HDR_END_MIN_206))
		return fail(err, errlen, -EINVAL,
			    "kernel: setup header ends at 0x%zx, too short for protocol %u.%02u",
			    bz->hdr_end, bz->protocol >> 8, bz->protocol & 0xff);
	if (bz->hdr_end > ZP_HDR_MAX_END)
		return fail(err, errlen, -EINVAL,
			    "kernel: setup header ends at 0x%zx, past the zero page's 0x%x",
			    bz->hdr_end, ZP_HDR_MAX_END);
	if (bz->hdr_end > size)
		return fail(err, errlen, -EINVAL,
			    "kernel: truncated (%zu bytes) inside the setup header (ends at 0x%zx)",
			    size, bz->hdr_end);

	setup_sects = f[HDR_SETUP_SECTS] ? f[HDR_SETUP_SECTS] : 4;
	bz->setup_size = (setup_sects + 1) * 512;
	if (bz->setup_size < bz->hdr_end || bz->setup_size >= size)
		return fail(err, errlen, -EINVAL,
			    "kernel: setup_sects %u: setup code (%zu bytes) does not fit the header "
			    "and a kernel in the file (%zu bytes)",
			    setup_sects, bz->setup_size, size);
	bz->kernel_size = (uint64_t)le32_get(f + HDR_SYSSIZE) * 16;
	if (bz->kernel_size == 0)
		return fail(err, errlen, -EINVAL, "kernel: syssize is 0");
	if (bz->kernel_size > size - bz->setup_size)
		return fail(err, errlen, -EINVAL,
			    "kernel: syssize says %llu bytes of kernel but the file has %zu after the "
			    "setup code",
			    (unsigned long long)bz->kernel_size, size - bz->setup_size);

	bz->loadflags = f[HDR_LOADFLAGS];
	if (!(bz->loadflags & LOADED_HIGH))
		return fail(err, errlen, -EINVAL,
			    "kernel: not loadable at 1 MiB (LOADED_HIGH clear: a zImage)");
	bz->initrd_addr_max = le32_get(f + HDR_INITRD_ADDR_MAX);
	if (bz->initrd_addr_max == 0)
		bz->initrd_addr_max = 0x37ffffff; /* boot.rst: the value before 2.03 */
	bz->relocatable = f[HDR_RELOCATABLE] != 0;
	bz->kernel_alignment = le32_get(f + HDR_KERNEL_ALIGNMENT);
	if (bz->relocatable &&
	    (bz->kernel_alignment == 0 || (bz->kernel_alignment & (bz->kernel_alignment - 1)) ||
	     bz->kernel_alignment > (1U << 30)))
		return fail(err, errlen, -EINVAL,
			    "kernel: relocatable, but kernel_alignment 0x%x is not a power of two "
			    "up to 1 GiB",
			    bz->kernel_alignment);
	bz->xloadflags = bz->protocol >= 0x020c ? le16_get(f + HDR_XLOADFLAGS) : 0;
	bz->cmdline_size = le32_get(f + HDR_CMDLINE_SIZE);
	if (bz->protocol >= 0x020a) {
		bz->pref_address = le64_get(f + HDR_PREF_ADDRESS);
		bz->init_size = le32_get(f + HDR_INIT_SIZE);
	} else {
		bz->pref_address = LINUX_BOOT_KERNEL;
	}
	if (bz->pref_address >= SIZE_4G)
		return fail(err, errlen, -EINVAL, "kernel: pref_address 0x%llx is above 4 GiB",
			    (unsigned long long)bz->pref_address);
	return 0;
}

static int e820_check(const struct linux_boot_config *cfg, char *err, size_t errlen)
{
	if (cfg->nr_e820 > LINUX_BOOT_E820_MAX)
		return fail(err, errlen, -EINVAL, "e820: %u entries, the zero page holds at most %d",
			    cfg->nr_e820, LINUX_BOOT_E820_MAX);
	if (cfg->nr_e820 && !cfg->e820)
		return fail(err, errlen, -EINVAL, "e820: no table for %u entries", cfg->nr_e820);
	for (unsigned i = 0; i < cfg->nr_e820; i++)
		if (cfg->e820[i].size > UINT64_MAX - cfg->e820[i].addr)
			return fail(err, errlen, -EINVAL, "e820: entry %u wraps around", i);
	return 0;
}

/* Is [addr, addr + len) all E820 RAM?  Adjacent RAM entries join up. */
static bool e820_is_ram(const struct linux_boot_config *cfg, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;

	if (len == 0 || end < addr)
		return false;
	/* Each step jumps to the end of a different entry, so nr_e820 steps do. */
	for (unsigned step = 0; step < cfg->nr_e820 && addr < end; step++) {
		bool found = false;

		for (unsigned i = 0; i < cfg->nr_e820; i++) {
			const struct e820_entry *e = &cfg->e820[i];

			if (e->type == E820_RAM && addr >= e->addr && addr - e->addr < e->size) {
				addr = e->addr + e->size;
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	return addr >= end;
}

/* Is [addr, addr + len) all writable guest memory (possibly several regions)? */
static bool mem_is_ram(const struct guest_mem *mem, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;

	if (len == 0 || end < addr)
		return false;
	for (unsigned step = 0; step < mem->nr && addr < end; step++) {
		bool found = false;

		for (unsigned i = 0; i < mem->nr; i++) {
			const struct guest_mem_region *r = &mem->region[i];

			if (!r->readonly && addr >= r->gpa && addr - r->gpa < r->size) {
				addr = r->gpa + r->size;
				found = true;
				break;
			}
		}
		if (!found || addr == 0) /* region reaching the top of the address space */
			return found;
	}
	return addr >= end;
}

static bool usable(const struct guest_mem *mem, const struct linux_boot_config *cfg, uint64_t addr,
		   uint64_t len)
{
	return e820_is_ram(cfg, addr, len) && mem_is_ram(mem, addr, len);
}

/* Highest page-aligned start for the initrd in [floor, limit); 0 if none. */
static uint64_t initrd_place(const struct guest_mem *mem, const struct linux_boot_config *cfg,
			     uint64_t size, uint64_t floor, uint64_t limit)
{
	uint64_t best = 0;

	for (unsigned i = 0; i < cfg->nr_e820; i++) {
		const struct e820_entry *e = &cfg->e820[i];
		uint64_t lo, hi, a;

		if (e->type != E820_RAM)
			continue;
		lo = e->addr > floor ? e->addr : floor;
		hi = e->addr + e->size < limit ? e->addr + e->size : limit;
		if (hi <= lo || hi - lo < size)
			continue;
		a = (hi - size) & ~(PAGE_SIZE - 1);
		if (a < lo || a <= best || !mem_is_ram(mem, a, size))
			continue;
		best = a;
	}
	return best;
}

/* An 8-byte GDT descriptor for a code or data segment. */
static uint64_t seg_descriptor(const struct linux_boot_segment *s)
{
	uint64_t limit = s->g ? s->limit >> 12 : s->limit;

	return (limit & 0xffff) | (s->base & 0xffffff) << 16 | (uint64_t)(s->type & 0xf) << 40 |
	       (uint64_t)(s->s & 1) << 44 | (uint64_t)(s->dpl & 3) << 45 |
	       (uint64_t)(s->present & 1) << 47 | ((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(s->avl & 1) << 52 | (uint64_t)(s->l & 1) << 53 |
	       (uint64_t)(s->db & 1) << 54 | (uint64_t)(s->g & 1) << 55 |
	       ((s->base >> 24) & 0xff) << 56;
}

static void entry_fill(struct linux_boot_entry *e, bool long_mode)
{
	e->long_mode = long_mode;
	e->rsi = LINUX_BOOT_ZERO_PAGE;
	e->rsp = LINUX_BOOT_STACK_TOP;
	e->rflags = 0x2;
	e->gdt_base = LINUX_BOOT_GDT;
	e->gdt_limit = GDT_ENTRIES * 8 - 1;
	e->cs = (struct linux_boot_segment){
		.base = 0, .limit = 0xffffffff, .selector = LINUX_BOOT_SEL_CODE, .type = 0xb,
		.present = 1, .s = 1, .g = 1, .l = long_mode, .db = !long_mode,
	};
	e->ds = (struct linux_boot_segment){
		.base = 0, .limit = 0xffffffff, .selector = LINUX_BOOT_SEL_DATA, .type = 0x3,
		.present = 1, .s = 1, .g = 1, .db = 1,
	};
	e->tr = (struct linux_boot_segment){
		.base = LINUX_BOOT_TSS, .limit = TSS_SIZE - 1, .selector = LINUX_BOOT_SEL_TSS,
		.type = 0xb, .present = 1,
	};
	if (long_mode) {
		e->cr0 = LINUX_BOOT_CR0_PE | LINUX_BOOT_CR0_ET | LINUX_BOOT_CR0_PG;
		e->cr3 = LINUX_BOOT_PML4;
		e->cr4 = LINUX_BOOT_CR4_PAE;
		e->efer = LINUX_BOOT_EFER_LME | LINUX_BOOT_EFER_LMA;
		e->rip = LINUX_BOOT_KERNEL + STARTUP_64_OFFSET;
	} else {
		e->cr0 = LINUX_BOOT_CR0_PE | LINUX_BOOT_CR0_ET;
		e->rip = LINUX_BOOT_KERNEL;
	}
}

static void gdt_build(uint8_t *gdt, const struct linux_boot_entry *e)
{
	memset(gdt, 0, GDT_ENTRIES * 8);
	le64_put(gdt + LINUX_BOOT_SEL_CODE, seg_descriptor(&e->cs));
	le64_put(gdt + LINUX_BOOT_SEL_DATA, seg_descriptor(&e->ds));
	/* A system descriptor takes 16 bytes in long mode; the upper half
	 * (base bits 63:32) is zero. */
	le64_put(gdt + LINUX_BOOT_SEL_TSS, seg_descriptor(&e->tr));
}

static void zero_page_build(uint8_t *zp, const struct linux_boot_config *cfg,
			    const struct bzimage *bz, const struct linux_boot_entry *e)
{
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + HDR_START, cfg->kernel + HDR_START, bz->hdr_end - HDR_START);
	zp[HDR_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] = (uint8_t)((bz->loadflags | CAN_USE_HEAP) & ~KEEP_SEGMENTS);
	/* We loaded the kernel at 1 MiB whatever the file said. */
	le32_put(zp + HDR_CODE32_START, (uint32_t)LINUX_BOOT_KERNEL);
	le32_put(zp + HDR_RAMDISK_IMAGE, (uint32_t)e->initrd_addr);
	le32_put(zp + HDR_RAMDISK_SIZE, (uint32_t)e->initrd_size);
	le16_put(zp + HDR_HEAP_END_PTR, HEAP_END_PTR);
	le32_put(zp + HDR_CMD_LINE_PTR, (uint32_t)e->cmdline_addr);
	/* A hostile file must not hand the kernel a setup_data list or another
	 * platform's subarch: those are the loader's to fill. */
	le32_put(zp + HDR_HARDWARE_SUBARCH, 0);
	le64_put(zp + HDR_SETUP_DATA, 0);
	zp[ZP_E820_ENTRIES] = (uint8_t)cfg->nr_e820;
	for (unsigned i = 0; i < cfg->nr_e820; i++) {
		uint8_t *p = zp + ZP_E820_TABLE + i * ZP_E820_ENTRY;

		le64_put(p, cfg->e820[i].addr);
		le64_put(p + 8, cfg->e820[i].size);
		le32_put(p + 16, cfg->e820[i].type);
	}
}

/* PML4 -> one PDPT -> four page directories of 2 MiB pages: 0-4 GiB. */
static int page_tables_write(struct guest_mem *mem)
{
	uint8_t page[PAGE_SIZE];
	int ret;

	memset(page, 0, sizeof(page));
	le64_put(page, LINUX_BOOT_PDPT | PTE_PRESENT | PTE_RW);
	ret = guest_mem_write(mem, LINUX_BOOT_PML4, page, sizeof(page));
	memset(page, 0, sizeof(page));
	for (unsigned i = 0; i < 4; i++)
		le64_put(page + i * 8, (LINUX_BOOT_PD + i * PAGE_SIZE) | PTE_PRESENT | PTE_RW);
	ret = ret ? ret : guest_mem_write(mem, LINUX_BOOT_PDPT, page, sizeof(page));
	for (unsigned d = 0; d < 4; d++) {
		for (unsigned i = 0; i < 512; i++)
			le64_put(page + i * 8, ((uint64_t)d * 512 + i) * HUGE_2M | PTE_PRESENT |
						       PTE_RW | PTE_PS);
		ret = ret ? ret : guest_mem_write(mem, LINUX_BOOT_PD + d * PAGE_SIZE, page,
						  sizeof(page));
	}
	return ret;
}

int linux_boot_load(struct guest_mem *mem, const struct linux_boot_config *cfg,
		    struct linux_boot_entry *entry, char *err, size_t errlen)
{
	static const struct {
		uint64_t addr, len;
		const char *what;
	} fixed[] = {
		{ LINUX_BOOT_GDT, LINUX_BOOT_TSS + TSS_SIZE - LINUX_BOOT_GDT, "GDT and TSS" },
		{ LINUX_BOOT_ZERO_PAGE, ZP_SIZE, "zero page" },
		{ LINUX_BOOT_STACK_TOP & ~(PAGE_SIZE - 1), PAGE_SIZE, "boot stack" },
		{ LINUX_BOOT_PML4, 6 * PAGE_SIZE, "page tables" },
	};
	uint8_t zp[ZP_SIZE], gdt[GDT_ENTRIES * 8], tss[TSS_SIZE];
	struct linux_boot_entry e;
	struct bzimage bz;
	uint64_t runtime, init, kernel_top, limit;
	size_t cmdline_len, cmdline_max;
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	char sz[32];
	bool long_mode;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ret = bzimage_parse(&bz, cfg->kernel, cfg->kernel_size, err, errlen);
	if (ret)
		return ret;
	ret = e820_check(cfg, err, errlen);
	if (ret)
		return ret;

	long_mode = (bz.xloadflags & XLF_KERNEL_64) && !cfg->force_32bit_entry;
	memset(&e, 0, sizeof(e));
	entry_fill(&e, long_mode);
	e.protocol = bz.protocol;
	e.kernel_addr = LINUX_BOOT_KERNEL;
	e.kernel_size = bz.kernel_size;

	/* boot.rst, init_size: where the kernel will run from. */
	if (bz.relocatable) {
		runtime = bz.pref_address > LINUX_BOOT_KERNEL ? bz.pref_address : LINUX_BOOT_KERNEL;
		runtime = (runtime + bz.kernel_alignment - 1) & ~((uint64_t)bz.kernel_alignment - 1);
	} else {
		runtime = bz.pref_address;
	}
	if (runtime < LINUX_BOOT_KERNEL)
		return fail(err, errlen, -EINVAL,
			    "kernel: not relocatable and pref_address 0x%llx is below 1 MiB",
			    (unsigned long long)runtime);
	init = bz.init_size > bz.kernel_size ? bz.init_size : bz.kernel_size;
	e.runtime_start = runtime;
	e.init_size = init;
	if (runtime + init > SIZE_4G)
		return fail(err, errlen, -ENOSPC,
			    "kernel: runs at 0x%llx-0x%llx (init_size), above 4 GiB",
			    (unsigned long long)runtime, (unsigned long long)(runtime + init));
	if (!usable(mem, cfg, LINUX_BOOT_KERNEL, bz.kernel_size))
		return fail(err, errlen, -ENOSPC,
			    "kernel: %s at 0x%llx-0x%llx is not all RAM",
			    fmt_size(sz, sizeof(sz), bz.kernel_size),
			    (unsigned long long)LINUX_BOOT_KERNEL,
			    (unsigned long long)(LINUX_BOOT_KERNEL + bz.kernel_size));
	if (!usable(mem, cfg, runtime, init))
		return fail(err, errlen, -ENOSPC,
			    "kernel: needs %s of RAM at 0x%llx-0x%llx (init_size)",
			    fmt_size(sz, sizeof(sz), init), (unsigned long long)runtime,
			    (unsigned long long)(runtime + init));
	kernel_top = runtime + init;
	if (kernel_top < LINUX_BOOT_KERNEL + bz.kernel_size)
		kernel_top = LINUX_BOOT_KERNEL + bz.kernel_size;

	cmdline_len = strlen(cmdline);
	cmdline_max = bz.cmdline_size < LINUX_BOOT_CMDLINE_MAX - 1 ? bz.cmdline_size
								 : LINUX_BOOT_CMDLINE_MAX - 1;
	if (cmdline_len > cmdline_max)
		return fail(err, errlen, -E2BIG, "cmdline: %zu bytes, the kernel accepts at most %zu",
			    cmdline_len, cmdline_max);
	e.cmdline_addr = LINUX_BOOT_CMDLINE;

	if (cfg->initrd && cfg->initrd_size) {
		limit = (uint64_t)bz.initrd_addr_max + 1;
		if (limit > SIZE_4G)
			limit = SIZE_4G;
		kernel_top = (kernel_top + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		e.initrd_addr = cfg->initrd_size < SIZE_4G
					? initrd_place(mem, cfg, cfg->initrd_size, kernel_top, limit)
					: 0;
		if (!e.initrd_addr)
			return fail(err, errlen, -ENOSPC,
				    "initrd: %s does not fit below initrd_addr_max 0x%x within RAM",
				    fmt_size(sz, sizeof(sz), cfg->initrd_size), bz.initrd_addr_max);
		e.initrd_size = cfg->initrd_size;
	}

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!mem_is_ram(mem, fixed[i].addr, fixed[i].len))
			return fail(err, errlen, -EFAULT,
				    "guest memory: no RAM for the %s at 0x%llx-0x%llx",
				    fixed[i].what, (unsigned long long)fixed[i].addr,
				    (unsigned long long)(fixed[i].addr + fixed[i].len));
	if (!mem_is_ram(mem, LINUX_BOOT_CMDLINE, cmdline_len + 1))
		return fail(err, errlen, -EFAULT, "guest memory: no RAM for the command line at 0x%llx",
			    (unsigned long long)LINUX_BOOT_CMDLINE);

	/* Everything is checked; from here on only host invariants can fail. */
	zero_page_build(zp, cfg, &bz, &e);
	gdt_build(gdt, &e);
	memset(tss, 0, sizeof(tss));
	ret = guest_mem_write(mem, LINUX_BOOT_GDT, gdt, sizeof(gdt));
	ret = ret ? ret : guest_mem_write(mem, LINUX_BOOT_TSS, tss, sizeof(tss));
	ret = ret ? ret : guest_mem_write(mem, LINUX_BOOT_ZERO_PAGE, zp, sizeof(zp));
	ret = ret ? ret : guest_mem_write(mem, LINUX_BOOT_CMDLINE, cmdline, cmdline_len + 1);
	ret = ret ? ret : guest_mem_write(mem, LINUX_BOOT_KERNEL, cfg->kernel + bz.setup_size,
					  bz.kernel_size);
	if (!ret && e.initrd_size)
		ret = guest_mem_write(mem, e.initrd_addr, cfg->initrd, e.initrd_size);
	if (!ret && long_mode)
		ret = page_tables_write(mem);
	if (ret)
		return fail(err, errlen, ret, "guest memory: write failed");
	*entry = e;
	return 0;
}
