/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What devices/vga.c (registers, memory, PCI) and devices/vga_render.c (the
 * conversion to pixels) share.  Not an interface for anyone else.
 */
#ifndef MINIVMM_VGA_INT_H
#define MINIVMM_VGA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/vga.h"

#define VGA_PAGE	 4096u
#define VGA_PAGES	 (VGA_VRAM_SIZE / VGA_PAGE)
#define VGA_DIRTY_WORDS	 (VGA_PAGES / 64)
#define VGA_LEGACY_BYTES (256u << 10) /* 64 KiB per plane, interleaved */

/* Dispi registers (index at 0x1ce). */
enum {
	DISPI_ID,
	DISPI_XRES,
	DISPI_YRES,
	DISPI_BPP,
	DISPI_ENABLE,
	DISPI_BANK,
	DISPI_VIRT_WIDTH,
	DISPI_VIRT_HEIGHT,
	DISPI_X_OFFSET,
	DISPI_Y_OFFSET,
	DISPI_VIDEO_MEMORY_64K,
	DISPI_NR
};
#define DISPI_ID0	 0xb0c0
#define DISPI_ID5	 0xb0c5
#define DISPI_ENABLED	 0x01
#define DISPI_GETCAPS	 0x02
#define DISPI_8BIT_DAC	 0x20
#define DISPI_LFB	 0x40
#define DISPI_NOCLEARMEM 0x80

/* The register state; the renderer works on a copy taken under the lock. */
struct vga_regs {
	uint8_t misc, fcr, st00, st01;
	uint8_t sr_index, sr[8];
	uint8_t gr_index, gr[16];
	uint8_t cr_index, cr[256];
	uint8_t ar_index, ar[21];
	bool ar_flip; /* the next 0x3c0 write is data */
	uint8_t pel_mask, dac_state, dac_sub, dac_read, dac_write, dac_cache[3];
	uint8_t palette[768]; /* as written: 6 bits, or 8 with the 8-bit DAC */
	uint16_t dispi_index, dispi[DISPI_NR];
	uint32_t bank_offset;
	uint32_t latch;
	uint32_t font_gen; /* bumped by every write that may touch plane 2 */
	uint32_t pal_gen;  /* bumped by every palette, ATC or colour-relevant write */
};

/* The renderer's own state (I/O thread only). */
struct vga_render {
	uint32_t *pixels;
	unsigned width, height;
	bool have_image;
	/* what the image shows now; a change is a resize/full redraw */
	unsigned kind, p1, p2, p3, p4;
	uint32_t start, line, geom; /* geom: the scan-line layout, packed */
	uint32_t font_gen, pal_gen;
	uint16_t *cells; /* text: char | attr << 8 per cell, as drawn */
	unsigned nr_cells;
	int cursor_cell, cursor_top, cursor_bottom; /* as drawn; -1 none */
	uint8_t *shadow; /* VRAM as last compared (fast path on, no dirty log) */
	uint64_t dirty[VGA_DIRTY_WORDS];
};

struct vga_stats {
	atomic_ullong port_reads, port_writes, dispi_reads, dispi_writes;
	atomic_ullong win_reads, win_writes, lfb_reads, lfb_writes, mmio_bar;
	atomic_ullong refreshes, pixels, mode_changes, refused, bad_access;
};

struct vga {
	pthread_mutex_t lock; /* guards regs */
	struct vga_regs regs;
	uint8_t *vram;	      /* VGA_VRAM_SIZE bytes, the slot's or our own */
	bool own_vram;	      /* mmap'ed here (no fastpath) */
	struct fp_slot *slot; /* the LFB, following BAR0 */
	struct fp_zone *zone; /* the legacy window, coalesced */
	struct pci_dev *pci;
	struct display *display;
	/* pages written through our handlers since the last refresh */
	_Atomic uint64_t written[VGA_DIRTY_WORDS];
	struct vga_render r;
	struct vga_stats st;
};

/* vga_render.c */
void vga_render_refresh(struct vga *v, bool full);
void vga_render_free(struct vga *v);
/* vga.c: the current dispi mode's line length and start, checked against
 * VRAM (false: the mode does not fit) */
bool vga_dispi_geometry(const struct vga_regs *r, uint32_t *line, uint32_t *start);

#endif
