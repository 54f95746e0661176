// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VGA's display source: VRAM and registers to 0x00RRGGBB pixels
 * (vmm/display.h), reporting only what changed.
 *
 * Modes, decided from a copy of the registers taken under the device lock:
 *   blank    ATC index bit 5 clear or SR1 "screen off" (dispi ignores the
 *            ATC bit, as QEMU does): a black picture;
 *   text     GR6 bit 0 clear: CR01 + 1 columns of 9 (8 with SR1 bit 0) dots,
 *            16 (each dot twice, no 9th) with SR1 bit 3 as QEMU draws them;
 *            (CR09 & 0x1f) + 1 scan lines a row, rows from the vertical
 *            display end (CR12 + CR07 bits 1 and 6); character at plane 0,
 *            attribute at plane 1, glyphs from plane 2 (32 bytes a glyph,
 *            font A/B per SR3 and attribute bit 3); attribute bit 7 is
 *            background intensity (no blinking); the 9th column repeats the
 *            8th for 0xc0-0xdf when ATC10 bit 2; the cursor (CR0A-CR0F)
 *            is drawn steady;
 *   planar   GR5 shift bits 0: 16 colours through the ATC palette, 8 pixels
 *            per plane address (modes 0x0d-0x12, 0x6a, mode 6 with only plane
 *            0 enabled); with dispi at BPP 4: XRES x YRES, VIRT_WIDTH and
 *            the offsets;
 *   cga4     GR5 bit 5: 2 bits a pixel from planes 0/1 (modes 4/5);
 *   256      GR5 bit 6: one byte a pixel through the DAC (mode 0x13 and
 *            mode X), 4 pixels per plane address, each shown twice;
 *   linear   dispi enabled with BPP 8/15/16/24/32.
 * Legacy graphics have the size QEMU gives them (its vga_get_resolution and
 * vga_draw_graphic): (CR01 + 1) character clocks of 4 plane bytes, shown as
 * 8 pixels, or 16 when SR1 bit 3 halves the dot clock (planar and CGA) or in
 * 256 colours (each byte twice); every line of the vertical display end
 * (CR12 + CR07 bits 1 and 6) is shown, a scan line repeated for double scan
 * (CR09 bit 7) and for each line of a character row (CR09 bits 0-4).  So
 * mode 0x13 is 640x400, 0x0d 640x400, mode 4 and 6 640x400, 0x12 640x480.
 * With CR17 bit 0 (bit 1) clear, the row scan counter's bit 0 (bit 1)
 * replaces VRAM address bit 14 or 15 per CR17 bit 6 (bit 15): the CGA and
 * Hercules banks (modes 4-6: QEMU 7.2 shows a mode 6 screen the same, by
 * hand: a boot sector's bytes at 0xb8000, 0xba001, 0xb8052, 0xba053 at
 * lines 0-1, 2-3, 4-5, 6-7 of 640x400 in both).  The line compare register
 * (CR18, CR07 bit 4, CR09 bit 6) restarts the address at 0 after its line,
 * as QEMU does.
 *
 * Change detection: text keeps the cells it drew (character, attribute),
 * the cursor and the font and palette generations, and redraws changed
 * cells only (everything when the legacy memory was written through the
 * LFB, behind the handlers that count font writes); graphics redraw the lines that read a dirty
 * page: pages the device's handlers wrote, or-ed with KVM's dirty log of the framebuffer slot, or,
 * when the slot is mapped without logging, a compare against a shadow copy of the visible VRAM.  A
 * new mode or size is a resize; a palette or mode register change redraws everything.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/vga_int.h"
#include "vmm/display.h"
#include "vmm/fastpath.h"

enum { K_NONE, K_BLANK, K_TEXT, K_PLANAR, K_CGA4, K_256, K_LINEAR };

#define MAX_DIM	    4096
#define LEGACY_MASK (VGA_LEGACY_BYTES - 1)

struct mode {
	unsigned kind, width, height, bpp;
	uint32_t start, line;		 /* text/legacy: plane addresses; dispi: VRAM bytes */
	unsigned cols, rows, cw, ch;	 /* text */
	bool dispi;
	/* graphics: character clocks of 4 VRAM bytes a line, pixels each */
	unsigned groups, gpx;
	/* legacy graphics: display lines a scan line (double scan), scan lines
	 * a row, CR17 bits 0-1, the VRAM bit the row scan bit 0 replaces, the
	 * line compare */
	unsigned dscan, maxscan, cga, bank_shift, lcomp;
};

/* A 6-bit DAC value as 8 bits, the way QEMU's VGA converts it (the low
 * bit repeated into the two new ones: 0x2a -> 0xa8, 0x3f -> 0xff), so that
 * a screendump of the same screen is the same picture under both. */
static uint32_t c6to8(uint8_t v)
{
	v &= 0x3f;
	return (uint32_t)((v << 2) | (v & 1) << 1 | (v & 1));
}

static void build_palettes(const struct vga_regs *r, uint32_t pal256[256], uint32_t pal16[16])
{
	bool dac8 = r->dispi[DISPI_ENABLE] & DISPI_8BIT_DAC;

	for (unsigned i = 0; i < 256; i++) {
		const uint8_t *p = &r->palette[3 * (i & r->pel_mask)];

		if (dac8)
			pal256[i] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		else
			pal256[i] = c6to8(p[0]) << 16 | c6to8(p[1]) << 8 | c6to8(p[2]);
	}
	for (unsigned i = 0; i < 16; i++) {
		unsigned v = r->ar[i];

		if (r->ar[0x10] & 0x80)
			v = ((r->ar[0x14] & 0x0f) << 4) | (v & 0x0f);
		else
			v = ((r->ar[0x14] & 0x0c) << 4) | (v & 0x3f);
		pal16[i] = pal256[v & 0xff];
	}
}

#define MIN_WIDTH  64
#define MIN_HEIGHT 32

static void decide_mode(const struct vga_regs *r, struct mode *m)
{
	unsigned hchars = r->cr[1] + 1u, lines, maxscan, dscan;
	bool dispi = r->dispi[DISPI_ENABLE] & DISPI_ENABLED;

	memset(m, 0, sizeof(*m));
	m->dispi = dispi;
	if (dispi) {
		if (!vga_dispi_geometry(r, &m->line, &m->start))
			return;
		m->width = r->dispi[DISPI_XRES];
		m->height = r->dispi[DISPI_YRES];
		m->bpp = r->dispi[DISPI_BPP];
		m->kind = m->bpp == 4 ? K_PLANAR : K_LINEAR;
		if (m->bpp == 4) {
			m->width &= ~7u;
			m->groups = m->width / 8;
			m->gpx = 8;
		}
	} else {
		lines = (r->cr[0x12] | ((r->cr[7] & 0x02u) << 7) | ((r->cr[7] & 0x40u) << 3)) + 1;
		maxscan = (r->cr[9] & 0x1fu) + 1;
		dscan = (r->cr[9] & 0x80) ? 2 : 1;
		m->start = (uint32_t)(r->cr[0x0c] << 8 | r->cr[0x0d]);
		m->line = r->cr[0x13] * 2u;
		if (!(r->gr[6] & 1)) {
			m->kind = K_TEXT;
			m->cw = (r->sr[1] & 8) ? 16 : (r->sr[1] & 1) ? 8 : 9;
			m->ch = maxscan;
			m->cols = hchars;
			m->rows = lines / dscan / maxscan;
			m->width = m->cols * m->cw;
			m->height = m->rows * m->ch;
		} else {
			unsigned shift = (r->gr[5] >> 5) & 3;

			m->kind = shift == 0 ? K_PLANAR : shift == 1 ? K_CGA4 : K_256;
			m->groups = hchars;
			m->gpx = m->kind != K_256 && (r->sr[1] & 8) ? 16 : 8;
			m->width = hchars * m->gpx;
			m->height = lines;
			m->dscan = dscan;
			m->maxscan = maxscan;
			m->cga = r->cr[0x17] & 3;
			m->bank_shift = (r->cr[0x17] & 0x40) ? 15 : 14;
			m->lcomp = r->cr[0x18] | ((r->cr[7] & 0x10u) << 4) | ((r->cr[9] & 0x40u) << 3);
		}
	}
	/* Registers nobody programmed yet (power-on zeroes: one 9x1 cell) or
	 * nonsense make no picture rather than a sliver a viewer chokes on. */
	if (m->width < MIN_WIDTH || m->height < MIN_HEIGHT || m->width > MAX_DIM ||
	    m->height > MAX_DIM) {
		m->kind = K_NONE;
		return;
	}
	if ((!dispi && !(r->ar_index & 0x20)) || (r->sr[1] & 0x20))
		m->kind = K_BLANK;
}

/* ---- dirty pages ---- */

/* The pages written since the last refresh, in R->dirty.  Returns true when
 * the guest wrote the legacy 256 KiB through the LFB (KVM's log or the
 * shadow compare say so): the font in plane 2 may have changed behind the
 * handlers' back. */
static bool collect_dirty(struct vga *v, const struct mode *m)
{
	struct vga_render *R = &v->r;
	uint64_t log[VGA_DIRTY_WORDS];
	_Static_assert(VGA_LEGACY_BYTES / VGA_PAGE == 64, "the legacy pages are word 0");

	for (unsigned i = 0; i < VGA_DIRTY_WORDS; i++)
		R->dirty[i] = atomic_exchange(&v->written[i], 0);
	if (!v->slot || !fastpath_slot_gpa(v->slot))
		return false; /* every write came through the handlers */
	if (fastpath_slot_fast(v->slot)) {
		if (fastpath_slot_dirty(v->slot, log, VGA_DIRTY_WORDS) < 0)
			return false;
		for (unsigned i = 0; i < VGA_DIRTY_WORDS; i++)
			R->dirty[i] |= log[i];
		return log[0] != 0;
	}
	/* Mapped without a dirty log: compare what the mode shows. */
	if (!R->shadow) {
		R->shadow = calloc(1, VGA_VRAM_SIZE);
		if (!R->shadow) {
			memset(R->dirty, 0xff, sizeof(R->dirty));
			return true;
		}
	}
	{
		uint64_t before = R->dirty[0];

		uint64_t lo = 0, hi = VGA_LEGACY_BYTES;

		if (m->dispi) {
			lo = m->start;
			hi = (uint64_t)m->start + (uint64_t)m->line * m->height;
			if (hi > VGA_VRAM_SIZE)
				hi = VGA_VRAM_SIZE;
		}
		for (uint64_t p = lo / VGA_PAGE; p * VGA_PAGE < hi; p++) {
			uint8_t *a = v->vram + p * VGA_PAGE, *s = R->shadow + p * VGA_PAGE;

			if (memcmp(a, s, VGA_PAGE)) {
				memcpy(s, a, VGA_PAGE);
				R->dirty[p / 64] |= 1ULL << (p % 64);
			}
		}
		return (R->dirty[0] & ~before) != 0;
	}
}

static bool page_dirty(const struct vga_render *R, uint32_t page)
{
	return page < VGA_PAGES && (R->dirty[page / 64] >> (page % 64) & 1);
}

/* Any dirty page in [lo, lo + len) of VRAM, wrapping at mask + 1. */
static bool range_dirty(const struct vga_render *R, uint32_t lo, uint32_t len, uint32_t mask)
{
	for (uint32_t o = 0; o < len; o += VGA_PAGE)
		if (page_dirty(R, ((lo + o) & mask) / VGA_PAGE))
			return true;
	return page_dirty(R, ((lo + len - 1) & mask) / VGA_PAGE);
}

/* ---- drawing ---- */

static uint32_t *row_ptr(struct vga_render *R, unsigned y)
{
	return R->pixels + (size_t)y * R->width;
}

static void draw_text_cell(struct vga *v, const struct vga_regs *r, const struct mode *m,
			   const uint32_t pal16[16], unsigned cx, unsigned cy, uint8_t chr,
			   uint8_t attr, bool cursor)
{
	struct vga_render *R = &v->r;
	unsigned sr3 = r->sr[3];
	unsigned map = (attr & 8) ? (((sr3 >> 5) & 1) << 2 | ((sr3 >> 2) & 3))
				  : (((sr3 >> 4) & 1) << 2 | (sr3 & 3));
	uint32_t font = ((map & 3) << 14) | ((map & 4) << 11);
	uint32_t fg = pal16[attr & 0x0f], bg = pal16[attr >> 4];
	unsigned cs = r->cr[0x0a] & 0x1f, ce = r->cr[0x0b] & 0x1f;
	bool dup9 = m->cw == 9 && (r->ar[0x10] & 4) && chr >= 0xc0 && chr <= 0xdf;

	for (unsigned row = 0; row < m->ch; row++) {
		uint32_t *px = row_ptr(R, cy * m->ch + row) + cx * m->cw;
		uint8_t bits =
		    row < 32 ? v->vram[(4 * (font + chr * 32u + row) + 2) & LEGACY_MASK] : 0;

		if (cursor && row >= cs && row <= ce)
			bits = 0xff;
		if (m->cw == 16) {
			for (unsigned i = 0; i < 8; i++)
				px[2 * i] = px[2 * i + 1] = (bits & (0x80 >> i)) ? fg : bg;
			continue;
		}
		for (unsigned i = 0; i < 8; i++)
			px[i] = (bits & (0x80 >> i)) ? fg : bg;
		if (m->cw == 9)
			px[8] =
			    (dup9 || (cursor && row >= cs && row <= ce)) && (bits & 1) ? fg : bg;
	}
}

static void refresh_text(struct vga *v, const struct vga_regs *r, const struct mode *m,
			 const uint32_t pal16[16], bool all)
{
	struct vga_render *R = &v->r;
	uint32_t cur = (uint32_t)(r->cr[0x0e] << 8 | r->cr[0x0f]);
	uint32_t d = (cur - m->start) & 0xffff;
	int cursor = -1;
	unsigned long pixels = 0;

	if (!(r->cr[0x0a] & 0x20) && m->line && d % m->line < m->cols && d / m->line < m->rows)
		cursor = (int)((d / m->line) * m->cols + d % m->line);
	for (unsigned cy = 0; cy < m->rows; cy++) {
		unsigned lo = m->cols, hi = 0;

		for (unsigned cx = 0; cx < m->cols; cx++) {
			unsigned n = cy * m->cols + cx;
			uint32_t pa = (m->start + cy * m->line + cx) & 0xffff;
			uint16_t cell = (uint16_t)(v->vram[4 * pa] | v->vram[4 * pa + 1] << 8);
			bool is_cur = (int)n == cursor, was_cur = (int)n == R->cursor_cell;

			bool shape = R->cursor_top != (r->cr[0x0a] & 0x1f) ||
				     R->cursor_bottom != (r->cr[0x0b] & 0x1f);

			if (!all && cell == R->cells[n] && is_cur == was_cur && !(is_cur && shape))
				continue;
			R->cells[n] = cell;
			draw_text_cell(v, r, m, pal16, cx, cy, (uint8_t)cell, (uint8_t)(cell >> 8),
				       is_cur);
			if (cx < lo)
				lo = cx;
			hi = cx + 1;
		}
		if (hi > lo) {
			display_damage(v->display, lo * m->cw, cy * m->ch, (hi - lo) * m->cw,
				       m->ch);
			pixels += (unsigned long)(hi - lo) * m->cw * m->ch;
		}
	}
	R->cursor_cell = cursor;
	R->cursor_top = r->cr[0x0a] & 0x1f;
	R->cursor_bottom = r->cr[0x0b] & 0x1f;
	atomic_fetch_add(&v->st.pixels, pixels);
}

/* The scan line and row scan counter of display line y. */
static void line_scan(const struct mode *m, unsigned y, unsigned *row, unsigned *rs)
{
	unsigned s = y / m->dscan;

	*row = s / m->maxscan;
	*rs = s % m->maxscan;
}

/* Where image line y starts (VRAM byte) and the wrap mask of its reads. */
static uint32_t line_base(const struct mode *m, unsigned y, uint32_t *mask)
{
	unsigned row, rs, row0 = 0;
	uint32_t a;

	if (m->dispi) {
		*mask = 0xffffffffu; /* checked against VRAM by the geometry */
		return m->start + y * m->line;
	}
	*mask = LEGACY_MASK;
	line_scan(m, y, &row, &rs);
	if (y > m->lcomp) { /* the address restarts at 0 after the compare line */
		unsigned rs0;

		line_scan(m, m->lcomp + 1, &row0, &rs0);
		a = (row - row0) * m->line * 4;
	} else {
		a = m->start * 4 + row * m->line * 4;
	}
	if (!(m->cga & 1))
		a = (a & ~(1u << m->bank_shift)) | (rs & 1u) << m->bank_shift;
	if (!(m->cga & 2))
		a = (a & ~0x8000u) | (rs & 2u) << 14;
	return a & LEGACY_MASK;
}

static uint32_t line_bytes(const struct mode *m)
{
	if (m->kind == K_LINEAR)
		return m->bpp == 15 ? m->width * 2 : m->width * ((m->bpp + 7) / 8);
	return m->groups * 4;
}

static void draw_line(struct vga *v, const struct vga_regs *r, const struct mode *m,
		      const uint32_t pal256[256], const uint32_t pal16[16], unsigned y)
{
	uint32_t mask, base = line_base(m, y, &mask);
	uint32_t *px = row_ptr(&v->r, y);
	const uint8_t *vr = v->vram;
	unsigned plane_en = r->ar[0x12] & 0x0f;

#define B(o) vr[(base + (o)) & mask]
	if (m->dispi)
		plane_en = 0x0f; /* dispi: all planes */
	switch (m->kind) {
	case K_PLANAR:
	case K_CGA4:
		for (unsigned g = 0; g < m->groups; g++) {
			/* the planes the ATC ignores read as 0, as in QEMU */
			uint8_t p[4];
			uint32_t *o = px + g * m->gpx;

			for (unsigned k = 0; k < 4; k++)
				p[k] = (plane_en >> k & 1) ? B(4 * g + k) : 0;
			for (unsigned i = 0; i < 8; i++) {
				unsigned c;

				if (m->kind == K_PLANAR) {
					unsigned s = 7 - i;

					c = ((p[0] >> s) & 1) | ((p[1] >> s) & 1) << 1 |
					    ((p[2] >> s) & 1) << 2 | ((p[3] >> s) & 1) << 3;
				} else {
					unsigned s = 6 - 2 * (i & 3), hi = i >> 2;

					c = ((p[hi] >> s) & 3) | ((p[2 + hi] >> s) & 3) << 2;
				}
				if (m->gpx == 16)
					o[2 * i] = o[2 * i + 1] = pal16[c];
				else
					o[i] = pal16[c];
			}
		}
		break;
	case K_256:
		for (unsigned x = 0; x < 4 * m->groups; x++)
			px[2 * x] = px[2 * x + 1] = pal256[B(x)];
		break;
	case K_LINEAR:
		for (unsigned x = 0; x < m->width; x++) {
			uint32_t o = base + x * ((m->bpp + 7) / 8), c;
			unsigned w;

			switch (m->bpp) {
			case 8:
				px[x] = pal256[vr[o]];
				break;
			case 15:
				w = vr[o] | vr[o + 1] << 8;
				c = ((w >> 10) & 0x1f) << 19 | ((w >> 5) & 0x1f) << 11 |
				    (w & 0x1f) << 3;
				px[x] = c | (c >> 5 & 0x070707);
				break;
			case 16:
				w = vr[o] | vr[o + 1] << 8;
				c = ((w >> 11) & 0x1f) << 19 | ((w >> 5) & 0x3f) << 10 |
				    (w & 0x1f) << 3;
				px[x] = c | (c >> 5 & 0x070007) | (c >> 6 & 0x000300);
				break;
			case 24:
				px[x] = (uint32_t)vr[o + 2] << 16 | vr[o + 1] << 8 | vr[o];
				break;
			default:
				px[x] = (uint32_t)vr[o + 2] << 16 | vr[o + 1] << 8 | vr[o];
				break;
			}
		}
		break;
	}
#undef B
}

static void refresh_graphics(struct vga *v, const struct vga_regs *r, const struct mode *m,
			     const uint32_t pal256[256], const uint32_t pal16[16], bool all)
{
	unsigned run = 0, first = 0;
	unsigned long pixels = 0;
	uint32_t len = line_bytes(m);

	for (unsigned y = 0; y <= m->height; y++) {
		bool redraw = false;

		if (y < m->height) {
			uint32_t mask, base = line_base(m, y, &mask);

			redraw = all || range_dirty(&v->r, base, len ? len : 1, mask);
			if (redraw) {
				draw_line(v, r, m, pal256, pal16, y);
				pixels += m->width;
			}
		}
		if (redraw) {
			if (!run++)
				first = y;
		} else if (run) {
			display_damage(v->display, 0, first, m->width, run);
			run = 0;
		}
	}
	atomic_fetch_add(&v->st.pixels, pixels);
}

static bool new_image(struct vga *v, const struct mode *m)
{
	struct vga_render *R = &v->r;
	struct display_image img;

	free(R->pixels);
	free(R->cells);
	R->cells = NULL;
	R->nr_cells = 0;
	R->pixels = calloc((size_t)m->width * m->height, 4);
	if (!R->pixels) {
		R->have_image = false;
		display_resize(v->display, NULL);
		return false;
	}
	if (m->kind == K_TEXT) {
		R->nr_cells = m->cols * m->rows;
		R->cells = calloc(R->nr_cells, sizeof(*R->cells));
		if (!R->cells) {
			free(R->pixels);
			R->pixels = NULL;
			R->have_image = false;
			display_resize(v->display, NULL);
			return false;
		}
	}
	R->width = m->width;
	R->height = m->height;
	R->have_image = true;
	img = (struct display_image){R->pixels, m->width, m->height, (size_t)m->width * 4};
	display_resize(v->display, &img);
	atomic_fetch_add(&v->st.mode_changes, 1);
	return true;
}

void vga_render_refresh(struct vga *v, bool full)
{
	struct vga_render *R = &v->r;
	struct vga_regs *r;
	struct mode m;
	uint32_t pal256[256], pal16[16];
	bool all = full, changed, lfb_legacy;
	uint32_t geom;

	if (!v->display)
		return;
	r = malloc(sizeof(*r));
	if (!r)
		return;
	pthread_mutex_lock(&v->lock);
	*r = v->regs;
	pthread_mutex_unlock(&v->lock);
	atomic_fetch_add(&v->st.refreshes, 1);

	decide_mode(r, &m);
	lfb_legacy = collect_dirty(v, &m);
	changed = m.kind != R->kind || m.width != R->width || m.height != R->height ||
		  m.bpp != R->p1 || m.cols != R->p2 || m.ch != R->p3 || m.cw != R->p4 ||
		  (m.kind != K_NONE && !R->have_image);
	if (changed) {
		R->kind = m.kind;
		R->p1 = m.bpp;
		R->p2 = m.cols;
		R->p3 = m.ch;
		R->p4 = m.cw;
		R->width = m.width;
		R->height = m.height;
		if (m.kind == K_NONE) {
			free(R->pixels);
			free(R->cells);
			R->pixels = NULL;
			R->cells = NULL;
			R->have_image = false;
			R->width = R->height = 0;
			display_resize(v->display, NULL);
			atomic_fetch_add(&v->st.mode_changes, 1);
			goto out;
		}
		if (!new_image(v, &m)) {
			R->kind = K_NONE;
			R->width = R->height = 0;
			goto out;
		}
		all = true;
	}
	if (m.kind == K_NONE)
		goto out;
	geom = m.dscan | m.maxscan << 2 | m.cga << 8 | (m.bank_shift & 1) << 10 | m.gpx << 11 |
	       m.lcomp << 16;
	if (m.start != R->start || m.line != R->line || geom != R->geom ||
	    r->pal_gen != R->pal_gen ||
	    (m.kind == K_TEXT && (r->font_gen != R->font_gen || lfb_legacy)))
		all = true;
	R->start = m.start;
	R->line = m.line;
	R->geom = geom;
	R->pal_gen = r->pal_gen;
	R->font_gen = r->font_gen;
	if (m.kind == K_BLANK) {
		if (all) {
			memset(R->pixels, 0, (size_t)R->width * R->height * 4);
			display_damage(v->display, 0, 0, R->width, R->height);
		}
		goto out;
	}
	build_palettes(r, pal256, pal16);
	if (m.kind == K_TEXT)
		refresh_text(v, r, &m, pal16, all);
	else
		refresh_graphics(v, r, &m, pal256, pal16, all);
out:
	free(r);
}

void vga_render_free(struct vga *v)
{
	free(v->r.pixels);
	free(v->r.cells);
	free(v->r.shadow);
	v->r.pixels = NULL;
	v->r.cells = NULL;
	v->r.shadow = NULL;
}
