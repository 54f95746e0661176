/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The BIOS memory map as handed to firmware (fw_cfg etc/e820) and to Linux
 * (boot_params).  Produced by vmm/memmap.c from the machine's layout. */
#ifndef MINIVMM_E820_H
#define MINIVMM_E820_H

#include <stdint.h>

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_MAX_ENTRIES 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

#endif
