// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the VGA (devices/vga.c, devices/vga_render.c) as a hostile
 * guest drives it.  One VGA on real buses and a real PCI bus (BAR0 at
 * 0xfd000000, BAR2 at 0xfebf0000, both decoded), a display with a listener,
 * no KVM.  The input is a program of steps, each an opcode byte and its
 * operands: port reads and writes of any size in 0x3b0-0x3df and 0x1ce-
 * 0x1d1, legacy window and LFB and BAR2 accesses of any size at any offset
 * (some past the end), refreshes (full or not), a BIOS-like mode set from a
 * table (text, 13h, 12h, a dispi mode) to get deep quickly, config writes,
 * resets.
 *
 * Checked after every refresh (abort() on a violation): the image the
 * listener was given is at most 4096 x 4096 with a stride of 4 x width, and
 * every damage rectangle lies inside it.  ASan checks that nothing reads or
 * writes outside VRAM, the image and the device.
 *
 * Built like the other targets: -fsanitize=fuzzer with -Dfuzz=true, and
 * -DFUZZ_STANDALONE as a runner replaying the corpus, built-in seeds and
 * fixed mutations in every test run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/vga.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/bus.h"
#include "vmm/display.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_vga: %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define DEVFN	  PCI_DEVFN(2, 0)
#define LFB	  0xfd000000u
#define MMIO_BAR  0xfebf0000u
#define MAX_STEPS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	bool have;
	unsigned w, h;
} img;
static unsigned long refreshes, damages, steps;

static void l_resize(void *opaque, const struct display_image *i)
{
	img.have = i != NULL;
	if (i) {
		CHECK(i->width <= 4096 && i->height <= 4096);
		CHECK(i->stride == (size_t)i->width * 4);
		CHECK(i->pixels);
		img.w = i->width;
		img.h = i->height;
	}
}

static void l_damage(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
	CHECK(img.have);
	CHECK(w && h && x + w <= img.w && y + h <= img.h);
	damages++;
}

static const struct display_listener_ops l_ops = {.resize = l_resize, .damage = l_damage};

static const uint8_t sizes[4] = {1, 2, 4, 8};

/* Mode tables as SeaVGABIOS writes them (misc, SR1-4, GR0-8, CRTC 0-0x18,
 * ATC 0-0x13), shared/guest-drivers.md §5.1. */
static const uint8_t modes[3][1 + 4 + 9 + 25 + 20] = {
    {0x67, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff, 0x5f,
     0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
     0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
     0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08},
    {0x63, 0x01, 0x0f, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff, 0x5f,
     0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
     0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00},
    {0xe3, 0x01, 0x0f, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff, 0x5f,
     0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
     0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x01, 0x00, 0x0f, 0x00},
};

static void outb(struct bus *pio, unsigned port, uint8_t v)
{
	bus_write(pio, port, v, 1);
}

static void set_mode(struct bus *pio, const uint8_t *m)
{
	uint64_t dummy;

	bus_read(pio, 0x3da, 1, &dummy);
	for (unsigned i = 0; i < 20; i++) {
		outb(pio, 0x3c0, (uint8_t)i);
		outb(pio, 0x3c0, m[39 + i]);
	}
	for (unsigned i = 0; i < 4; i++) {
		outb(pio, 0x3c4, (uint8_t)(i + 1));
		outb(pio, 0x3c5, m[1 + i]);
	}
	for (unsigned i = 0; i < 9; i++) {
		outb(pio, 0x3ce, (uint8_t)i);
		outb(pio, 0x3cf, m[5 + i]);
	}
	outb(pio, 0x3c2, m[0]);
	outb(pio, 0x3d4, 0x11);
	outb(pio, 0x3d5, 0);
	for (unsigned i = 0; i < 25; i++) {
		outb(pio, 0x3d4, (uint8_t)i);
		outb(pio, 0x3d5, m[14 + i]);
	}
	bus_read(pio, 0x3da, 1, &dummy);
	outb(pio, 0x3c0, 0x20);
}

static void dispi_mode(struct bus *pio, uint16_t x, uint16_t y, uint16_t bpp, uint16_t en)
{
	const uint16_t regs[][2] = {{4, 0}, {3, bpp}, {1, x}, {2, y}, {5, 0}, {4, en}};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		bus_write(pio, VGA_DISPI_INDEX, regs[i][0], 2);
		bus_write(pio, VGA_DISPI_INDEX + 1, regs[i][1], 2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {.p = data, .len = size};
	struct bus *pio = bus_create("pio", 0x10000), *mmio = bus_create("mmio", 0);
	struct pci_bus *pci = pci_bus_create(pio, mmio);
	struct display *disp = display_new();
	struct dev_ctx ctx = {.pio = pio, .mmio = mmio, .pci = pci, .display = disp};
	struct vga_args args = {.bios_path = NULL};
	struct board_entry e = {
	    .type = &vga_type, .id = "vga", .irq = -1, .devfn = (int)DEVFN, .arg = &args};
	char err[256];
	struct vga *v;
	uint64_t val;

	CHECK(pio && mmio && pci && disp);
	CHECK(display_add_listener(disp, &l_ops, NULL) == 0);
	img.have = false;
	v = vga_type.create(&ctx, &e, err, sizeof(err));
	CHECK(v);
	pci_bus_seal(pci);
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, LFB, 4);
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 8, MMIO_BAR, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);

	for (unsigned n = 0; in.pos < in.len && n < MAX_STEPS; n++) {
		uint8_t op = in_u8(&in), sz = sizes[(op >> 4) & 3];

		steps++;
		switch (op & 0x0f) {
		case 0: {
			unsigned port = 0x3b0 + in_u8(&in) % 0x30;

			bus_write(pio, port, in_u16(&in), sz > 2 ? 2 : sz);
			break;
		}
		case 1:
			bus_read(pio, 0x3b0 + in_u8(&in) % 0x30, sz > 2 ? 1 : sz, &val);
			break;
		case 2: {
			unsigned port = VGA_DISPI_INDEX + in_u8(&in) % 4;

			bus_write(pio, port, in_u16(&in), sz > 2 ? 2 : sz);
			break;
		}
		case 3:
			bus_read(pio, VGA_DISPI_INDEX + in_u8(&in) % 4, 2, &val);
			break;
		case 4: {
			uint32_t off = in_u32(&in) % (VGA_WINDOW_SIZE + 8);

			bus_write(mmio, VGA_WINDOW_BASE + off, in_u64(&in), sz);
			break;
		}
		case 5:
			bus_read(mmio, VGA_WINDOW_BASE + in_u32(&in) % (VGA_WINDOW_SIZE + 8), sz,
				 &val);
			break;
		case 6:
			vga_refresh(v, in_u8(&in) & 1);
			refreshes++;
			break;
		case 7: {
			uint32_t off = in_u32(&in) % (VGA_VRAM_SIZE + 8);

			bus_write(mmio, LFB + (uint64_t)off, in_u64(&in), sz);
			break;
		}
		case 8:
			bus_read(mmio, LFB + (uint64_t)(in_u32(&in) % (VGA_VRAM_SIZE + 8)), sz,
				 &val);
			break;
		case 9: {
			uint16_t off = in_u16(&in) % 0x1008;

			if (op & 0x40)
				bus_write(mmio, MMIO_BAR + off, in_u32(&in), sz);
			else
				bus_read(mmio, MMIO_BAR + off, sz, &val);
			break;
		}
		case 10:
			set_mode(pio, modes[in_u8(&in) % 3]);
			break;
		case 11: {
			uint16_t x = in_u16(&in), y = in_u16(&in);
			uint8_t b = in_u8(&in);

			dispi_mode(pio, x % 2600, y % 1700, (uint16_t)(b & 0x3f),
				   0x41 | (b & 0x80));
			break;
		}
		case 12: {
			uint8_t reg = in_u8(&in);

			pci_config_write(pci, DEVFN, reg & ~3u, in_u32(&in), 4);
			break;
		}
		case 13:
			vga_type.reset(v);
			break;
		default: /* a burst of window writes, as a clear screen does */
		{
			uint32_t off = in_u16(&in) * 2u;
			uint8_t b = in_u8(&in);

			for (unsigned i = 0; i < 64; i++)
				bus_write(mmio, VGA_WINDOW_BASE + (off + i) % VGA_WINDOW_SIZE, b,
					  1);
			break;
		}
		}
	}
	vga_refresh(v, false);
	vga_refresh(v, true);
	vga_type.destroy(v);
	pci_bus_destroy(pci);
	bus_destroy(pio);
	bus_destroy(mmio);
	display_free(disp);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <assert.h>

#include "tests/fuzz/standalone.h"

#define NR_SEEDS 4
#define SEED_MAX 1024

static_assert(SEED_MAX <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

static void put(struct fuzz_seed *s, const void *p, size_t n)
{
	if (s->len + n > SEED_MAX)
		return;
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

static void op(struct fuzz_seed *s, uint8_t code)
{
	put(s, &code, 1);
}

static void port_w(struct fuzz_seed *s, unsigned port, uint8_t v)
{
	uint8_t b[4] = {0x00, (uint8_t)(port - 0x3b0), v, 0};

	put(s, b, 4);
}

static void win_w(struct fuzz_seed *s, uint32_t off, uint64_t v, unsigned size_code)
{
	op(s, (uint8_t)(0x04 | size_code << 4));
	put(s, &off, 4);
	put(s, &v, 8);
}

static void refresh(struct fuzz_seed *s, bool full)
{
	uint8_t b[2] = {0x06, full};

	put(s, b, 2);
}

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	s->len = 0;
	switch (which) {
	case 0: /* mode 3, a few cells and a glyph, the cursor moving */
		put(s, (uint8_t[]){0x0a, 0}, 2);
		refresh(s, false);
		for (unsigned i = 0; i < 8; i++)
			win_w(s, 0x18000 + 2 * i, 0x1f41 + i, 1);
		port_w(s, 0x3d4, 0x0f);
		port_w(s, 0x3d5, 3);
		refresh(s, false);
		refresh(s, false);
		break;
	case 1: /* mode 13h, pixels, a palette entry */
		put(s, (uint8_t[]){0x0a, 1}, 2);
		port_w(s, 0x3c8, 0x2a);
		port_w(s, 0x3c9, 0x3f);
		port_w(s, 0x3c9, 0x00);
		port_w(s, 0x3c9, 0x10);
		for (unsigned i = 0; i < 8; i++)
			win_w(s, i * 321, 0x2a2a2a2a2a2a2a2aULL, 3);
		refresh(s, false);
		put(s, (uint8_t[]){0x0f, 0x00, 0x10, 0x2a}, 4);
		refresh(s, false);
		break;
	case 2: /* a 32 bpp dispi mode, LFB writes, panning */
		put(s, (uint8_t[]){0x0b, 0x80, 0x00, 0x40, 0x00, 32}, 6);
		for (unsigned i = 0; i < 4; i++) {
			uint32_t off = i * 4100;
			uint64_t v = 0x00ff00ff00ff00ffULL;

			op(s, 0x27);
			put(s, &off, 4);
			put(s, &v, 8);
		}
		refresh(s, false);
		put(s, (uint8_t[]){0x12, 0, 6, 0}, 4);	     /* index VIRT_WIDTH */
		put(s, (uint8_t[]){0x12, 1, 0xff, 0xff}, 4); /* a huge one */
		put(s, (uint8_t[]){0x12, 0, 8, 0}, 4);	     /* index X_OFFSET */
		put(s, (uint8_t[]){0x12, 1, 5, 0}, 4);
		refresh(s, true);
		break;
	default: /* mode 12h with every write mode and a read mode 1 */
		put(s, (uint8_t[]){0x0a, 2}, 2);
		for (unsigned mode = 0; mode < 4; mode++) {
			port_w(s, 0x3ce, 5);
			port_w(s, 0x3cf, (uint8_t)mode);
			port_w(s, 0x3ce, 8);
			port_w(s, 0x3cf, (uint8_t)(0x81 << mode));
			op(s, 0x05);
			put(s, (uint8_t[]){0, 0, 0, 0}, 4);
			win_w(s, mode * 80, 0xa5, 0);
		}
		port_w(s, 0x3ce, 5);
		port_w(s, 0x3cf, 0x08);
		op(s, 0x05);
		put(s, (uint8_t[]){0, 0, 0, 0}, 4);
		refresh(s, false);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = {
	    0,	     1,	      0x20,   0x3f,   0x80,	   0xff,	0xffff,	     0x10000,
	    0x18000, 0x1ffff, 0xb0c0, 0xb0c5, 0x00ffffffu, 0x01000000u, 0xffffffffu,
	};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]),
			    SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
    .name = "fuzz_vga",
    .seed_prefix = "vga-seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(2000);
	printf("fuzz_vga: %lu inputs, %lu steps, %lu refreshes, %lu damage rectangles, no "
	       "violation\n",
	       fuzz_runs(), steps, refreshes, damages);
	return 0;
}
#endif
