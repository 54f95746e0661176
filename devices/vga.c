// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QEMU's standard VGA: the register files, the legacy memory window, the
 * Bochs VBE (dispi) registers, PCI 00:02.0 with its framebuffer, MMIO and
 * ROM BARs.  Rendering is devices/vga_render.c; the facts are from QEMU's
 * hw/display/vga.c and docs/specs/standard-vga.rst and SeaBIOS's vgasrc
 * (shared/guest-drivers.md §5, shared/seabios-interface.md §7).
 *
 * Registers: misc output (0x3c2 write, 0x3cc read), feature control (0x3ca
 * read, 0x3ba/0x3da write), input status 0 (0x3c2 read) and 1 (0x3ba/0x3da:
 * the retrace and display-enable bits toggle on every read, so wait loops
 * end, and the read resets the attribute flip-flop), sequencer, graphics,
 * attribute (index/data flip-flop at 0x3c0), CRTC at 0x3d4/5 or 0x3b4/5 as
 * misc bit 0 says (the other block is ignored), CR11 bit 7 protecting
 * CR0-CR7 except CR7 bit 4, the DAC (PEL mask, read and write index, three
 * steps a colour).  Wider accesses are byte accesses at consecutive ports,
 * so a 16-bit OUT to an index port writes the index and then the data.
 *
 * Memory: plane-interleaved VRAM (byte a of plane p at vram[4a + p]).  The
 * window decodes per GR6 bits 3:2; chain-4 (SR4 bit 3) addresses VRAM
 * directly, odd/even (GR5 bit 4) picks plane (GR4 & 2) | (a & 1), otherwise
 * the four planes are read into the latches (read mode 0: one plane, 1:
 * colour compare) and written through write modes 0-3 with set/reset,
 * rotate, the logical function, bit mask and map mask.  With dispi enabled
 * in mode 1 (64 KiB at 0xa0000) the window is bank BANK of VRAM.
 *
 * Fast paths: BAR0 is a fastpath slot following the BAR with dirty logging;
 * the window's writes may be coalesced (they have no effect anyone sees
 * before the next exit, which replays them first; reads always exit).
 * Without them every access comes here and marks the pages it wrote.
 *
 * Dispi: ID keeps only 0xb0c0-0xb0c5; GETCAPS makes XRES/YRES/BPP read the
 * maxima (2560x1600x32, which fit in 16 MiB); ENABLE with a mode that does
 * not fit in VRAM is refused (counted); VIRT_WIDTH and the offsets are
 * clamped so that the visible picture stays inside VRAM; BANK is masked to
 * VRAM.  Enabling clears VRAM unless NOCLEARMEM.
 *
 * Locking: one mutex guards the registers (vCPU threads, the I/O thread's
 * refresh); VRAM is guest memory: the refresh reads it racily.
 */
#include "devices/vga.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/pci.h"
#include "devices/vga_int.h"
#include "vmm/bus.h"
#include "vmm/display.h"
#include "vmm/fastpath.h"

#define VGA_MMIO_BAR_SIZE 4096
#define MMIO_PORTS	  0x400
#define MMIO_DISPI	  0x500

/* Bits the guest may set in each sequencer and graphics register (QEMU's
 * sr_mask/gr_mask: the rest read as 0). */
static const uint8_t sr_mask[8] = {0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff};
static const uint8_t gr_mask[16] = {0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff};

/* Four plane bits to four bytes: plane p is byte p of a little-endian dword. */
static uint32_t expand4(unsigned bits)
{
	uint32_t v = 0;

	for (unsigned p = 0; p < 4; p++)
		if (bits & (1u << p))
			v |= 0xffu << (8 * p);
	return v;
}

static void mark_written(struct vga *v, uint32_t off)
{
	uint32_t page = off / VGA_PAGE;

	if (page < VGA_PAGES)
		atomic_fetch_or(&v->written[page / 64], 1ULL << (page % 64));
}

static uint32_t vram_dword(const struct vga *v, uint32_t plane_addr)
{
	uint32_t d;

	memcpy(&d, v->vram + 4 * (size_t)plane_addr, 4);
	return d;
}

/* ---- the register files ---- */

/* A port of the colour block while mono is selected, or the reverse. */
static bool port_ignored(const struct vga_regs *r, unsigned port)
{
	bool color = r->misc & 1;

	return (port >= 0x3b0 && port <= 0x3bf && color) ||
	       (port >= 0x3d0 && port <= 0x3df && !color);
}

static uint8_t port_read(struct vga *v, unsigned port)
{
	struct vga_regs *r = &v->regs;
	uint8_t val = 0xff;

	if (port_ignored(r, port))
		return 0xff;
	switch (port) {
	case 0x3c0:
		val = r->ar_flip ? 0 : r->ar_index;
		break;
	case 0x3c1:
		val = (r->ar_index & 0x1f) < 21 ? r->ar[r->ar_index & 0x1f] : 0;
		break;
	case 0x3c2:
		val = r->st00;
		break;
	case 0x3c4:
		val = r->sr_index;
		break;
	case 0x3c5:
		val = r->sr[r->sr_index];
		break;
	case 0x3c6:
		val = r->pel_mask;
		break;
	case 0x3c7:
		val = r->dac_state;
		break;
	case 0x3c8:
		val = r->dac_write;
		break;
	case 0x3c9:
		val = r->palette[r->dac_read * 3 + r->dac_sub];
		if (++r->dac_sub == 3) {
			r->dac_sub = 0;
			r->dac_read++;
		}
		break;
	case 0x3ca:
		val = r->fcr;
		break;
	case 0x3cc:
		val = r->misc;
		break;
	case 0x3ce:
		val = r->gr_index;
		break;
	case 0x3cf:
		val = r->gr[r->gr_index];
		break;
	case 0x3b4:
	case 0x3d4:
		val = r->cr_index;
		break;
	case 0x3b5:
	case 0x3d5:
		val = r->cr[r->cr_index];
		break;
	case 0x3ba:
	case 0x3da:
		/* No real timing: each read flips vertical retrace and display
		 * enable, so a loop waiting for either edge ends. */
		r->st01 ^= 0x08 | 0x01;
		val = r->st01;
		r->ar_flip = false;
		break;
	}
	return val;
}

static void attr_write(struct vga_regs *r, uint8_t val)
{
	unsigned idx = r->ar_index & 0x1f;

	if (!r->ar_flip) {
		r->ar_index = val & 0x3f;
		r->pal_gen++; /* bit 5 blanks or shows the picture */
	} else if (idx < 21) {
		static const uint8_t mask[21] = {
		    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
		    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0xef, 0xff, 0x3f, 0x0f, 0x0f,
		};

		r->ar[idx] = val & mask[idx];
		r->pal_gen++;
	}
	r->ar_flip = !r->ar_flip;
}

static void port_write(struct vga *v, unsigned port, uint8_t val)
{
	struct vga_regs *r = &v->regs;

	if (port_ignored(r, port))
		return;
	switch (port) {
	case 0x3c0:
		attr_write(r, val);
		break;
	case 0x3c2:
		r->misc = val & ~0x10;
		break;
	case 0x3c4:
		r->sr_index = val & 7;
		break;
	case 0x3c5:
		r->sr[r->sr_index] = val & sr_mask[r->sr_index];
		r->font_gen++; /* SR3 picks the font */
		break;
	case 0x3c6:
		r->pel_mask = val;
		r->pal_gen++;
		break;
	case 0x3c7:
		r->dac_read = val;
		r->dac_sub = 0;
		r->dac_state = 3;
		break;
	case 0x3c8:
		r->dac_write = val;
		r->dac_sub = 0;
		r->dac_state = 0;
		break;
	case 0x3c9:
		r->dac_cache[r->dac_sub++] = val;
		if (r->dac_sub == 3) {
			memcpy(&r->palette[r->dac_write * 3], r->dac_cache, 3);
			r->dac_sub = 0;
			r->dac_write++;
			r->pal_gen++;
		}
		break;
	case 0x3ce:
		r->gr_index = val & 0x0f;
		break;
	case 0x3cf:
		r->gr[r->gr_index] = val & gr_mask[r->gr_index];
		break;
	case 0x3b4:
	case 0x3d4:
		r->cr_index = val;
		break;
	case 0x3b5:
	case 0x3d5:
		/* CR11 bit 7 protects CR0-CR7, but for CR7's line compare bit. */
		if ((r->cr[0x11] & 0x80) && r->cr_index <= 7) {
			if (r->cr_index == 7)
				r->cr[7] = (r->cr[7] & ~0x10) | (val & 0x10);
			return;
		}
		r->cr[r->cr_index] = val;
		break;
	case 0x3ba:
	case 0x3da:
		r->fcr = val & 0x10;
		break;
	}
}

static uint64_t ports_read(void *opaque, uint64_t off, unsigned size)
{
	struct vga *v = opaque;
	uint64_t val = 0;

	atomic_fetch_add(&v->st.port_reads, 1);
	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < size; i++)
		if (off + i < VGA_PORT_COUNT)
			val |= (uint64_t)port_read(v, VGA_PORT_BASE + (unsigned)off + i) << (8 * i);
	pthread_mutex_unlock(&v->lock);
	return val;
}

static void ports_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct vga *v = opaque;

	atomic_fetch_add(&v->st.port_writes, 1);
	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < size; i++)
		if (off + i < VGA_PORT_COUNT)
			port_write(v, VGA_PORT_BASE + (unsigned)off + i, (uint8_t)(val >> (8 * i)));
	pthread_mutex_unlock(&v->lock);
}

static const struct bus_ops ports_ops = {.read = ports_read, .write = ports_write};

/* ---- dispi ---- */

static unsigned dispi_bytes_pp(unsigned bpp)
{
	return (bpp + 7) / 8; /* 15 -> 2; 4 -> 1 (planar, counted below) */
}

static bool dispi_bpp_ok(unsigned bpp)
{
	return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/* Bytes of VRAM one line of virt_width pixels takes. */
static uint64_t dispi_line_bytes(unsigned bpp, unsigned width)
{
	return bpp == 4 ? width / 2 : (uint64_t)width * dispi_bytes_pp(bpp);
}

bool vga_dispi_geometry(const struct vga_regs *r, uint32_t *line, uint32_t *start)
{
	unsigned bpp = r->dispi[DISPI_BPP], xres = r->dispi[DISPI_XRES];
	unsigned yres = r->dispi[DISPI_YRES];
	unsigned vw = r->dispi[DISPI_VIRT_WIDTH] > xres ? r->dispi[DISPI_VIRT_WIDTH] : xres;
	uint64_t l = dispi_line_bytes(bpp, vw), s;

	if (!dispi_bpp_ok(bpp) || !xres || !yres || xres > VGA_DISPI_MAX_XRES ||
	    yres > VGA_DISPI_MAX_YRES)
		return false;
	if (bpp == 4)
		s = (uint64_t)r->dispi[DISPI_Y_OFFSET] * l + r->dispi[DISPI_X_OFFSET] / 8 * 4;
	else
		s = (uint64_t)r->dispi[DISPI_Y_OFFSET] * l +
		    (uint64_t)r->dispi[DISPI_X_OFFSET] * dispi_bytes_pp(bpp);
	/* The last visible byte stays inside VRAM. */
	if (s + (yres - 1) * l + dispi_line_bytes(bpp, xres) > VGA_VRAM_SIZE)
		return false;
	*line = (uint32_t)l;
	*start = (uint32_t)s;
	return true;
}

/* After a geometry write while enabled: clamp virtual width and offsets so
 * that the picture stays inside VRAM (QEMU's vbe_fixup_regs does the same
 * kind of thing). */
static void dispi_clamp(struct vga_regs *r)
{
	uint32_t line, start;
	unsigned bpp = r->dispi[DISPI_BPP], xres = r->dispi[DISPI_XRES];
	unsigned yres = r->dispi[DISPI_YRES];
	uint64_t l;

	if (!(r->dispi[DISPI_ENABLE] & DISPI_ENABLED) || vga_dispi_geometry(r, &line, &start))
		goto height;
	if (r->dispi[DISPI_VIRT_WIDTH] < xres)
		r->dispi[DISPI_VIRT_WIDTH] = (uint16_t)xres;
	if (dispi_line_bytes(bpp, r->dispi[DISPI_VIRT_WIDTH]) * yres > VGA_VRAM_SIZE)
		r->dispi[DISPI_VIRT_WIDTH] = (uint16_t)xres;
	if (!vga_dispi_geometry(r, &line, &start)) {
		r->dispi[DISPI_X_OFFSET] = 0;
		r->dispi[DISPI_Y_OFFSET] = 0;
	}
height:
	l = dispi_line_bytes(bpp,
			     r->dispi[DISPI_VIRT_WIDTH] > xres ? r->dispi[DISPI_VIRT_WIDTH] : xres);
	if (l)
		r->dispi[DISPI_VIRT_HEIGHT] =
		    (uint16_t)(VGA_VRAM_SIZE / l > 0xffff ? 0xffff : VGA_VRAM_SIZE / l);
}

static void dispi_enable(struct vga *v, uint16_t val)
{
	struct vga_regs *r = &v->regs;
	uint16_t old = r->dispi[DISPI_ENABLE];
	uint32_t line, start;

	if ((val & DISPI_ENABLED) && !(old & DISPI_ENABLED)) {
		if (!r->dispi[DISPI_BPP])
			r->dispi[DISPI_BPP] = 8;
		r->dispi[DISPI_VIRT_WIDTH] = r->dispi[DISPI_XRES];
		r->dispi[DISPI_X_OFFSET] = r->dispi[DISPI_Y_OFFSET] = 0;
		if (!vga_dispi_geometry(r, &line, &start)) {
			/* A mode VRAM cannot hold, or no mode at all: stay off. */
			atomic_fetch_add(&v->st.refused, 1);
			r->dispi[DISPI_ENABLE] = val & ~DISPI_ENABLED;
			return;
		}
		r->dispi[DISPI_VIRT_HEIGHT] =
		    (uint16_t)(VGA_VRAM_SIZE / line > 0xffff ? 0xffff : VGA_VRAM_SIZE / line);
		if (!(val & DISPI_NOCLEARMEM)) {
			memset(v->vram, 0, (size_t)line * r->dispi[DISPI_YRES]);
			for (uint32_t o = 0; o < line * r->dispi[DISPI_YRES]; o += VGA_PAGE)
				mark_written(v, o);
		}
		/* As QEMU: graphics at 0xa0000 64K; chain-4 for the packed modes
		 * so that the bank window is linear VRAM. */
		r->gr[6] = (r->gr[6] & ~0x0c) | 0x05;
		r->sr[2] = 0x0f;
		if (r->dispi[DISPI_BPP] == 4)
			r->sr[4] &= ~0x08;
		else
			r->sr[4] |= 0x08;
	} else if (!(val & DISPI_ENABLED)) {
		r->bank_offset = 0;
	}
	r->dispi[DISPI_ENABLE] = val;
	r->pal_gen++; /* the 8-bit DAC bit */
}

static uint16_t dispi_read(struct vga *v, unsigned idx)
{
	struct vga_regs *r = &v->regs;

	if (r->dispi[DISPI_ENABLE] & DISPI_GETCAPS) {
		switch (idx) {
		case DISPI_XRES:
			return VGA_DISPI_MAX_XRES;
		case DISPI_YRES:
			return VGA_DISPI_MAX_YRES;
		case DISPI_BPP:
			return VGA_DISPI_MAX_BPP;
		}
	}
	if (idx == DISPI_VIDEO_MEMORY_64K)
		return VGA_VRAM_SIZE >> 16;
	return idx < DISPI_NR ? r->dispi[idx] : 0;
}

static void dispi_write(struct vga *v, unsigned idx, uint16_t val)
{
	struct vga_regs *r = &v->regs;

	switch (idx) {
	case DISPI_ID:
		if (val >= DISPI_ID0 && val <= DISPI_ID5)
			r->dispi[DISPI_ID] = val;
		break;
	case DISPI_XRES:
	case DISPI_YRES:
	case DISPI_BPP:
		if (idx == DISPI_BPP && !val)
			val = 8;
		r->dispi[idx] = val;
		if (r->dispi[DISPI_ENABLE] & DISPI_ENABLED) {
			uint32_t line, start;

			/* While enabled: keep the panning if it still fits, else
			 * drop it; a mode that does not fit at all turns off. */
			if (!vga_dispi_geometry(r, &line, &start)) {
				r->dispi[DISPI_VIRT_WIDTH] = r->dispi[DISPI_XRES];
				r->dispi[DISPI_X_OFFSET] = r->dispi[DISPI_Y_OFFSET] = 0;
			}
			if (!vga_dispi_geometry(r, &line, &start)) {
				atomic_fetch_add(&v->st.refused, 1);
				r->dispi[DISPI_ENABLE] &= ~DISPI_ENABLED;
				r->bank_offset = 0;
			}
			dispi_clamp(r);
		}
		break;
	case DISPI_ENABLE:
		dispi_enable(v, val);
		break;
	case DISPI_BANK:
		val &= (VGA_VRAM_SIZE >> 16) - 1;
		r->dispi[DISPI_BANK] = val;
		r->bank_offset = (uint32_t)val << 16;
		break;
	case DISPI_VIRT_WIDTH:
	case DISPI_X_OFFSET:
	case DISPI_Y_OFFSET: {
		uint16_t old = r->dispi[idx];
		uint32_t line, start;

		r->dispi[idx] = val;
		if ((r->dispi[DISPI_ENABLE] & DISPI_ENABLED) &&
		    !vga_dispi_geometry(r, &line, &start)) {
			atomic_fetch_add(&v->st.refused, 1);
			r->dispi[idx] = old; /* refused: keep what fitted */
		}
		dispi_clamp(r);
		break;
	}
	default:
		break; /* VIRT_HEIGHT and VIDEO_MEMORY_64K are computed */
	}
}

static uint64_t dispi_ports_read(void *opaque, uint64_t off, unsigned size)
{
	struct vga *v = opaque;
	uint64_t val;

	atomic_fetch_add(&v->st.dispi_reads, 1);
	pthread_mutex_lock(&v->lock);
	val = off == 0 ? v->regs.dispi_index : off < 3 ? dispi_read(v, v->regs.dispi_index) : 0;
	pthread_mutex_unlock(&v->lock);
	return size == 1 && off == 1 ? val & 0xff : val;
}

static void dispi_ports_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct vga *v = opaque;

	atomic_fetch_add(&v->st.dispi_writes, 1);
	pthread_mutex_lock(&v->lock);
	if (off == 0)
		v->regs.dispi_index = (uint16_t)val;
	else if (off < 3)
		dispi_write(v, v->regs.dispi_index, (uint16_t)val);
	pthread_mutex_unlock(&v->lock);
}

/* 0x1ce index, 0x1cf and 0x1d0 data (QEMU on x86 decodes both); 0x1d1 is
 * claimed so that a 16-bit access at 0x1d0 reaches us, and ignored. */
static const struct bus_ops dispi_ops = {.read = dispi_ports_read, .write = dispi_ports_write};

/* ---- the legacy window ---- */

/* The window offset as a VRAM address per GR6, or -1 when not decoded. */
static int64_t window_addr(const struct vga_regs *r, uint32_t off)
{
	switch ((r->gr[6] >> 2) & 3) {
	case 0:
		return off;
	case 1:
		if (off >= 0x10000)
			return -1;
		return (int64_t)off + r->bank_offset;
	case 2:
		return off >= 0x10000 && off < 0x18000 ? (int64_t)off - 0x10000 : -1;
	default:
		return off >= 0x18000 ? (int64_t)off - 0x18000 : -1;
	}
}

static uint8_t mem_readb(struct vga *v, uint32_t off)
{
	struct vga_regs *r = &v->regs;
	int64_t a = window_addr(r, off);
	uint32_t latch, x;

	if (a < 0)
		return 0xff;
	if (r->sr[4] & 0x08) { /* chain-4 */
		return a < VGA_VRAM_SIZE ? v->vram[a] : 0xff;
	}
	if (r->gr[5] & 0x10) { /* odd/even */
		uint64_t p = ((uint64_t)(a & ~1) << 1) | (r->gr[4] & 2) | (a & 1);

		return p < VGA_VRAM_SIZE ? v->vram[p] : 0xff;
	}
	if ((uint64_t)a * 4 + 4 > VGA_VRAM_SIZE)
		return 0xff;
	latch = r->latch = vram_dword(v, (uint32_t)a);
	if (!(r->gr[5] & 0x08))
		return (uint8_t)(latch >> (8 * (r->gr[4] & 3)));
	/* Colour compare: a pixel matches when every plane GR7 cares about
	 * equals that plane's bit in GR2. */
	x = (latch ^ expand4(r->gr[2])) & expand4(r->gr[7]);
	x |= x >> 16;
	x |= x >> 8;
	return (uint8_t)~x;
}

static void mem_writeb(struct vga *v, uint32_t off, uint8_t byte)
{
	struct vga_regs *r = &v->regs;
	int64_t a = window_addr(r, off);
	uint32_t val, bit_mask, wmask, old, latch = r->latch;
	unsigned rot;

	if (a < 0)
		return;
	if (r->sr[4] & 0x08) { /* chain-4 */
		if (a < VGA_VRAM_SIZE && (r->sr[2] & (1u << (a & 3)))) {
			v->vram[a] = byte;
			mark_written(v, (uint32_t)a);
			if ((a & 3) == 2)
				r->font_gen++;
		}
		return;
	}
	if (r->gr[5] & 0x10) { /* odd/even */
		unsigned plane = (r->gr[4] & 2) | (a & 1);
		uint64_t p = ((uint64_t)(a & ~1) << 1) | plane;

		if (p < VGA_VRAM_SIZE && (r->sr[2] & (1u << plane))) {
			v->vram[p] = byte;
			mark_written(v, (uint32_t)p);
			if (plane == 2)
				r->font_gen++;
		}
		return;
	}
	if ((uint64_t)a * 4 + 4 > VGA_VRAM_SIZE)
		return;
	rot = r->gr[3] & 7;
	switch (r->gr[5] & 3) {
	case 0:
		val = (uint8_t)((byte >> rot) | (byte << (8 - rot)));
		val *= 0x01010101u;
		val = (val & ~expand4(r->gr[1])) | (expand4(r->gr[0]) & expand4(r->gr[1]));
		bit_mask = r->gr[8];
		break;
	case 1:
		val = latch;
		goto store;
	case 2:
		val = expand4(byte & 0x0f);
		bit_mask = r->gr[8];
		break;
	default:
		val = (uint8_t)((byte >> rot) | (byte << (8 - rot)));
		bit_mask = r->gr[8] & val;
		val = expand4(r->gr[0]);
		break;
	}
	switch (r->gr[3] >> 3 & 3) {
	case 1:
		val &= latch;
		break;
	case 2:
		val |= latch;
		break;
	case 3:
		val ^= latch;
		break;
	}
	bit_mask *= 0x01010101u;
	val = (val & bit_mask) | (latch & ~bit_mask);
store:
	wmask = expand4(r->sr[2] & 0x0f);
	old = vram_dword(v, (uint32_t)a);
	val = (old & ~wmask) | (val & wmask);
	memcpy(v->vram + 4 * (size_t)a, &val, 4);
	mark_written(v, (uint32_t)a * 4);
	if (r->sr[2] & 4)
		r->font_gen++;
}

static uint64_t window_read(void *opaque, uint64_t off, unsigned size)
{
	struct vga *v = opaque;
	uint64_t val = 0;

	atomic_fetch_add(&v->st.win_reads, 1);
	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < size; i++)
		if (off + i < VGA_WINDOW_SIZE)
			val |= (uint64_t)mem_readb(v, (uint32_t)(off + i)) << (8 * i);
	pthread_mutex_unlock(&v->lock);
	return val;
}

static void window_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct vga *v = opaque;

	atomic_fetch_add(&v->st.win_writes, 1);
	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < size; i++)
		if (off + i < VGA_WINDOW_SIZE)
			mem_writeb(v, (uint32_t)(off + i), (uint8_t)(val >> (8 * i)));
	pthread_mutex_unlock(&v->lock);
}

static const struct bus_ops window_ops = {.read = window_read, .write = window_write};

/* ---- BAR0 (the LFB when KVM does not map it) and BAR2 ---- */

static uint64_t lfb_read(void *opaque, uint64_t off, unsigned size)
{
	struct vga *v = opaque;
	uint64_t val = 0;

	atomic_fetch_add(&v->st.lfb_reads, 1);
	if (off < VGA_VRAM_SIZE && off + size <= VGA_VRAM_SIZE)
		memcpy(&val, v->vram + off, size);
	else
		atomic_fetch_add(&v->st.bad_access, 1); /* straddles the end of VRAM */
	return val;
}

static void lfb_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct vga *v = opaque;

	atomic_fetch_add(&v->st.lfb_writes, 1);
	if (off >= VGA_VRAM_SIZE || off + size > VGA_VRAM_SIZE) {
		atomic_fetch_add(&v->st.bad_access, 1);
		return;
	}
	memcpy(v->vram + off, &val, size);
	mark_written(v, (uint32_t)off);
	mark_written(v, (uint32_t)(off + size - 1));
	if (off < VGA_LEGACY_BYTES) {
		pthread_mutex_lock(&v->lock);
		v->regs.font_gen++;
		pthread_mutex_unlock(&v->lock);
	}
}

static const struct bus_ops lfb_ops = {.read = lfb_read, .write = lfb_write};

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct vga *v = opaque;
	uint64_t val = 0;

	atomic_fetch_add(&v->st.mmio_bar, 1);
	if (off >= MMIO_PORTS && off + size <= MMIO_PORTS + 0x20)
		return ports_read(v, off - MMIO_PORTS + 0x10, size);
	if (off >= MMIO_DISPI && off + size <= MMIO_DISPI + 2 * DISPI_NR) {
		pthread_mutex_lock(&v->lock);
		val = dispi_read(v, (unsigned)(off - MMIO_DISPI) / 2);
		pthread_mutex_unlock(&v->lock);
		if (off & 1)
			val >>= 8;
	}
	return val; /* EDID and the rest: 0 */
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct vga *v = opaque;

	atomic_fetch_add(&v->st.mmio_bar, 1);
	if (off >= MMIO_PORTS && off + size <= MMIO_PORTS + 0x20) {
		ports_write(v, off - MMIO_PORTS + 0x10, val, size);
	} else if (off >= MMIO_DISPI && off + size <= MMIO_DISPI + 2 * DISPI_NR && size == 2 &&
		   !(off & 1)) {
		pthread_mutex_lock(&v->lock);
		dispi_write(v, (unsigned)(off - MMIO_DISPI) / 2, (uint16_t)val);
		pthread_mutex_unlock(&v->lock);
	}
}

static const struct bus_ops mmio_ops = {.read = mmio_read, .write = mmio_write};

/* ---- life cycle ---- */

static void regs_reset(struct vga *v)
{
	struct vga_regs *r = &v->regs;
	uint32_t fg = r->font_gen, pg = r->pal_gen;

	memset(r, 0, sizeof(*r));
	r->dispi[DISPI_ID] = DISPI_ID5;
	r->pel_mask = 0xff;
	r->font_gen = fg + 1;
	r->pal_gen = pg + 1;
}

static void vga_reset(void *state)
{
	struct vga *v = state;

	pthread_mutex_lock(&v->lock);
	regs_reset(v);
	memset(v->vram, 0, VGA_VRAM_SIZE);
	for (unsigned i = 0; i < VGA_DIRTY_WORDS; i++)
		atomic_store(&v->written[i], ~0ULL);
	pthread_mutex_unlock(&v->lock);
}

static void vga_destroy(void *state)
{
	struct vga *v = state;

	if (!v)
		return;
	if (v->display)
		display_set_source(v->display, NULL, NULL);
	vga_render_free(v);
	fastpath_zone_free(v->zone);
	if (v->slot)
		fastpath_slot_free(v->slot);
	else if (v->vram)
		munmap(v->vram, VGA_VRAM_SIZE);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static void source_refresh(void *opaque, bool full)
{
	vga_render_refresh(opaque, full);
}

static const struct display_source_ops source_ops = {.refresh = source_refresh};

static void *vga_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			size_t errlen)
{
	const struct vga_args *args = e->arg;
	const struct pci_dev_info info = {
	    .vendor = 0x1234,
	    .device = 0x1111,
	    .class_code = 0x030000,
	    .revision = 2,
	    .name = e->id,
	};
	struct vga *v;
	uint8_t *rom = NULL;
	size_t rom_len = 0;

	if (!ctx->pci || e->devfn < 0) {
		snprintf(err, errlen, "%s: a PCI device needs a PCI slot", e->id);
		return NULL;
	}
	if (args && args->bios_path) {
		char what[64];

		snprintf(what, sizeof(what), "%s: the VGA BIOS", e->id);
		rom = pci_rom_read(args->bios_path, VGA_ROM_MAX, what, &rom_len, err, errlen);
		if (!rom)
			return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		free(rom);
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	v->r.cursor_cell = -1;
	if (ctx->fastpath) {
		v->slot = fastpath_slot_new(ctx->fastpath, VGA_VRAM_SIZE, "vga-vram", err, errlen);
		if (!v->slot)
			goto fail;
		v->vram = fastpath_slot_hva(v->slot);
	} else {
		v->vram = mmap(NULL, VGA_VRAM_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (v->vram == MAP_FAILED) {
			v->vram = NULL;
			snprintf(err, errlen, "%s: cannot allocate VRAM", e->id);
			goto fail;
		}
		v->own_vram = true;
	}
	v->pci = pci_dev_add(ctx->pci, (unsigned)e->devfn, &info, NULL, v);
	if (!v->pci) {
		snprintf(err, errlen, "%s: PCI %02x.%x is taken", e->id, PCI_SLOT(e->devfn),
			 PCI_FUNC(e->devfn));
		goto fail;
	}
	if (pci_dev_set_bar(v->pci, 0, PCI_BAR_MEM32, true, VGA_VRAM_SIZE, &lfb_ops, v) < 0 ||
	    pci_dev_set_bar(v->pci, 2, PCI_BAR_MEM32, false, VGA_MMIO_BAR_SIZE, &mmio_ops, v) < 0) {
		snprintf(err, errlen, "%s: cannot declare the BARs", e->id);
		goto fail;
	}
	if (rom && pci_dev_set_rom(v->pci, rom, rom_len) < 0) {
		snprintf(err, errlen, "%s: the PCI core refused the ROM of %s", e->id,
			 args->bios_path);
		goto fail;
	}
	free(rom);
	rom = NULL;
	if (dev_claim(ctx->pio, VGA_PORT_BASE, VGA_PORT_COUNT, &ports_ops, v, "vga", err, errlen) <
		0 ||
	    dev_claim(ctx->pio, VGA_DISPI_INDEX, 4, &dispi_ops, v, "vga-dispi", err, errlen) < 0 ||
	    dev_claim(ctx->mmio, VGA_WINDOW_BASE, VGA_WINDOW_SIZE, &window_ops, v, "vga-window",
		      err, errlen) < 0)
		goto fail;
	if (v->slot && fastpath_slot_follow_bar(v->slot, v->pci, 0, 0) < 0) {
		snprintf(err, errlen, "%s: the framebuffer cannot follow BAR0", e->id);
		goto fail;
	}
	if (ctx->fastpath) {
		v->zone = fastpath_zone_add(ctx->fastpath, false, VGA_WINDOW_BASE, VGA_WINDOW_SIZE,
					    err, errlen);
		if (!v->zone)
			goto fail;
	}
	regs_reset(v);
	for (unsigned i = 0; i < VGA_DIRTY_WORDS; i++)
		atomic_store(&v->written[i], ~0ULL);
	v->display = ctx->display;
	if (v->display)
		display_set_source(v->display, &source_ops, v);
	return v;
fail:
	free(rom);
	vga_destroy(v);
	return NULL;
}

static json_t *vga_stats(void *state, bool reset)
{
	struct vga *v = state;
	struct vga_stats *s = &v->st;
	json_t *j;

#define STAT(name) (json_int_t)(reset ? atomic_exchange(&s->name, 0) : atomic_load(&s->name))
	j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:I, s:I, s:I, s:I, "
		      "s:I}",
		      "port_reads", STAT(port_reads), "port_writes", STAT(port_writes),
		      "dispi_reads", STAT(dispi_reads), "dispi_writes", STAT(dispi_writes),
		      "window_reads", STAT(win_reads), "window_writes", STAT(win_writes),
		      "lfb_exit_reads", STAT(lfb_reads), "lfb_exit_writes", STAT(lfb_writes),
		      "mmio_bar", STAT(mmio_bar), "window_coalesced",
		      v->zone && fastpath_zone_fast(v->zone), "lfb_dirty_log",
		      v->slot && fastpath_slot_fast(v->slot), "refreshes", STAT(refreshes),
		      "pixels_converted", STAT(pixels), "mode_changes", STAT(mode_changes),
		      "refused", STAT(refused), "bad_access", STAT(bad_access));
#undef STAT
	return j;
}

uint8_t *vga_vram(struct vga *v)
{
	return v->vram;
}

void vga_refresh(struct vga *v, bool full)
{
	vga_render_refresh(v, full);
}

const struct device_type vga_type = {
    .name = "vga",
    .create = vga_create,
    .reset = vga_reset,
    .destroy = vga_destroy,
    .stats = vga_stats,
};
