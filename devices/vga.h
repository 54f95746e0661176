/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's standard VGA ("-vga std"): PCI 1234:1111 with the VGA register
 * files, the legacy window at 0xa0000-0xbffff, the Bochs VBE "dispi"
 * extension and a 16 MiB linear framebuffer, and the display source that
 * turns its memory into 0x00RRGGBB pixels for vmm/display.h.
 *
 * Guest view:
 *   PCI        class 0x0300, revision 2, subsystem 1af4:1100;
 *              BAR0 16 MiB prefetchable 32-bit memory: VRAM, the linear
 *              framebuffer (a fastpath slot with dirty logging);
 *              BAR2 4 KiB MMIO: 0x000 EDID (reads 0), 0x400 ports
 *              0x3c0-0x3df, 0x500 dispi register i at 0x500 + 2i;
 *              ROM BAR: the VGA BIOS file (SeaVGABIOS) named by the args.
 *   I/O ports  0x3b0-0x3df (the 0x3bx block while misc bit 0 is 0, the
 *              0x3dx block while it is 1, the other one ignored), dispi
 *              index 0x1ce and data 0x1cf (and 0x1d0).
 *   Memory     0xa0000-0xbffff, decoded per GR6.
 *
 * VRAM is plane-interleaved as in QEMU: byte a of plane p is vram[4a + p],
 * so the legacy planes, chain-4 and the linear framebuffer agree.
 */
#ifndef MINIVMM_VGA_H
#define MINIVMM_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/device.h"

#define VGA_VRAM_SIZE	   (16u << 20)
#define VGA_ROM_MAX	   (128u << 10) /* what 0xc0000-0xdffff holds */
#define VGA_DISPI_INDEX	   0x1ce
#define VGA_PORT_BASE	   0x3b0
#define VGA_PORT_COUNT	   0x30
#define VGA_WINDOW_BASE	   0xa0000
#define VGA_WINDOW_SIZE	   0x20000
#define VGA_DISPI_MAX_XRES 2560
#define VGA_DISPI_MAX_YRES 1600
#define VGA_DISPI_MAX_BPP  32

/* The board row's arg. */
struct vga_args {
	const char *bios_path; /* the VGA BIOS for the ROM BAR; NULL: no ROM */
};

extern const struct device_type vga_type;

struct vga;
/* For tests: the device's VRAM (VGA_VRAM_SIZE bytes) and a refresh without
 * a display's listeners in between (the display in dev_ctx gets the report). */
uint8_t *vga_vram(struct vga *v);
void vga_refresh(struct vga *v, bool full);

#endif
