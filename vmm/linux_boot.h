/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Direct Linux boot (--kernel/--initrd/--append): loads a bzImage, its initrd
 * and command line into guest RAM following the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst, protocol 2.06 or later) and describes the
 * CPU state to start the kernel in.  Pure: no KVM here, so it is unit-tested
 * and fuzzed against fake guest memory.  The bzImage is treated as hostile.
 *
 * Guest-physical layout (all fixed, all below 0x9f000, none overlapping):
 *   0x00500 - 0x0052f  GDT: 0x10 code, 0x18 data, 0x20 TSS (16-byte descriptor)
 *   0x00580 - 0x005e7  a zeroed TSS, only so that TR holds something valid
 *   0x07000 - 0x07fff  boot_params ("zero page"); rsi points here
 *   0x08000 - 0x08fff  boot stack (rsp = 0x8ff0; the kernel sets its own)
 *   0x09000 - 0x09fff  PML4 (64-bit entry only)
 *   0x0a000 - 0x0afff  PDPT
 *   0x0b000 - 0x0efff  four page directories: 2 MiB pages identity-mapping 0-4 GiB
 *   0x20000 - 0x2ffff  command line (at most min(cmdline_size, 65535) bytes + NUL)
 *   0x100000 -         protected-mode kernel (syssize * 16 bytes).  Always
 *                      1 MiB: every kernel accepts it, and a relocatable one
 *                      moves itself to align_up(max(1 MiB, pref_address),
 *                      kernel_alignment); a non-relocatable one to
 *                      pref_address.  That runtime range of init_size bytes
 *                      must be RAM too.
 *   initrd             page aligned, as high as possible in E820 RAM below
 *                      min(initrd_addr_max + 1, 4 GiB), above the kernel's
 *                      load and runtime ranges.
 */
#ifndef MINIVMM_LINUX_BOOT_H
#define MINIVMM_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/e820.h"
#include "vmm/guest_mem.h"

#define LINUX_BOOT_GDT         0x500ULL
#define LINUX_BOOT_TSS         0x580ULL
#define LINUX_BOOT_ZERO_PAGE   0x7000ULL
#define LINUX_BOOT_STACK_TOP   0x8ff0ULL
#define LINUX_BOOT_PML4        0x9000ULL
#define LINUX_BOOT_PDPT        0xa000ULL
#define LINUX_BOOT_PD          0xb000ULL /* four pages */
#define LINUX_BOOT_CMDLINE     0x20000ULL
#define LINUX_BOOT_CMDLINE_MAX 0x10000ULL /* bytes reserved, NUL included */
#define LINUX_BOOT_KERNEL      0x100000ULL

#define LINUX_BOOT_E820_MAX 128 /* what the zero page holds */

/* Selectors the protocol requires (__BOOT_CS, __BOOT_DS), plus our TSS. */
#define LINUX_BOOT_SEL_CODE 0x10
#define LINUX_BOOT_SEL_DATA 0x18
#define LINUX_BOOT_SEL_TSS  0x20

struct linux_boot_config {
	const uint8_t *kernel; /* whole bzImage file */
	size_t kernel_size;
	const uint8_t *initrd; /* may be NULL (or initrd_size 0): no initrd */
	size_t initrd_size;
	const char *cmdline; /* may be NULL: empty command line */
	const struct e820_entry *e820; /* copied into the zero page; RAM entries */
	unsigned nr_e820;              /* also decide where things may go */
	bool force_32bit_entry; /* 32-bit entry even if the kernel has a 64-bit one */
};

/* One segment register, in the shape of KVM's struct kvm_segment: limit is
 * in bytes (0xffffffff with g = 1 for a flat 4 GiB segment). */
struct linux_boot_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type; /* 0xb code exec/read accessed (or busy TSS), 0x3 data r/w accessed */
	uint8_t present, dpl, db, s, l, g, avl;
};

/*
 * CPU state of the boot vCPU.  Everything not listed here is zero: all other
 * general registers (the 32-bit entry requires ebp, edi and ebx to be zero),
 * IDT base and limit, CR2.  LDTR is unusable (KVM: unusable = 1).
 *
 * 64-bit entry (long_mode): CR0 = PE | ET | PG, CR4 = PAE, EFER = LME | LMA,
 *   CR3 = LINUX_BOOT_PML4 (0-4 GiB identity-mapped with 2 MiB pages), CS a
 *   64-bit code segment (l = 1, db = 0), rip = load address + 0x200.
 * 32-bit entry: CR0 = PE | ET, CR4 = 0, EFER = 0, CR3 = 0, paging off, CS a
 *   flat 32-bit code segment (db = 1), rip = the load address (1 MiB; the
 *   zero page's code32_start says the same, whatever the file said).
 * Both: rflags = 0x2 (interrupts off), rsi = boot_params, CS = cs;
 *   DS, ES, FS, GS and SS = ds; TR = tr; GDTR = gdt_base/gdt_limit, and the
 *   GDT in guest RAM holds descriptors matching cs, ds and tr.
 */
struct linux_boot_entry {
	bool long_mode;
	uint64_t rip, rsi, rsp, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	struct linux_boot_segment cs, ds, tr;

	/* Where things went, for logs and tests. */
	uint64_t kernel_addr, kernel_size;       /* protected-mode image as loaded */
	uint64_t runtime_start, init_size;       /* where the kernel will run */
	uint64_t initrd_addr, initrd_size;       /* 0, 0 without an initrd */
	uint64_t cmdline_addr;
	uint16_t protocol;                       /* e.g. 0x020f */
};

#define LINUX_BOOT_CR0_PE    (1ULL << 0)
#define LINUX_BOOT_CR0_ET    (1ULL << 4)
#define LINUX_BOOT_CR0_PG    (1ULL << 31)
#define LINUX_BOOT_CR4_PAE   (1ULL << 5)
#define LINUX_BOOT_EFER_LME  (1ULL << 8)
#define LINUX_BOOT_EFER_LMA  (1ULL << 10)

/*
 * Validates the bzImage and the requests, then writes the kernel, initrd,
 * command line, zero page, GDT, TSS and (64-bit) page tables into mem and
 * fills *entry.  0 on success; otherwise a negative errno (-EINVAL bad image
 * or E820, -E2BIG command line too long, -ENOSPC something does not fit in
 * RAM, -EFAULT guest memory missing where the fixed layout needs it) and a
 * one-line message in err (if err and errlen).  Nothing is validated after
 * the first write, so a failure caused by the image leaves guest RAM as it was.
 */
int linux_boot_load(struct guest_mem *mem, const struct linux_boot_config *cfg,
		    struct linux_boot_entry *entry, char *err, size_t errlen);

#endif
