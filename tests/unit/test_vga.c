// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of devices/vga.c and devices/vga_render.c on real buses and a
 * real PCI bus, without KVM (no fastpath: every access comes through the
 * handlers): PCI identity and the ROM BAR, the register files, the dispi
 * registers and their limits, planar memory access against hand-computed
 * VRAM, and rendering (text, mode 0x13, a 32 bpp dispi mode) at the sizes
 * QEMU shows them, with the damage it reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <png.h>
#include <zlib.h>

#include "devices/pci.h"
#include "devices/vga.h"
#include "vmm/bus.h"
#include "vmm/display.h"
#include "vmm/fastpath.h"

#define DEVFN PCI_DEVFN(2, 0)
#define WIN   VGA_WINDOW_BASE

static struct bus *pio, *mmio;
static struct pci_bus *pci;
static struct display *disp;
static struct vga *vga;

/* What the display's listener saw. */
static struct {
	unsigned resizes, damages;
	unsigned w, h;
	unsigned x0, y0, x1, y1; /* union of the damage */
	const uint32_t *pixels;
	size_t stride;
} seen;

static void l_resize(void *opaque, const struct display_image *img)
{
	seen.resizes++;
	seen.w = img ? img->width : 0;
	seen.h = img ? img->height : 0;
	seen.pixels = img ? img->pixels : NULL;
	seen.stride = img ? img->stride : 0;
}

static void l_damage(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
	if (!seen.damages++) {
		seen.x0 = x, seen.y0 = y, seen.x1 = x + w, seen.y1 = y + h;
	} else {
		seen.x0 = x < seen.x0 ? x : seen.x0;
		seen.y0 = y < seen.y0 ? y : seen.y0;
		seen.x1 = x + w > seen.x1 ? x + w : seen.x1;
		seen.y1 = y + h > seen.y1 ? y + h : seen.y1;
	}
}

static const struct display_listener_ops l_ops = {.resize = l_resize, .damage = l_damage};

static void reset_seen(void)
{
	seen.resizes = seen.damages = 0;
}

static uint32_t pixel(unsigned x, unsigned y)
{
	assert_non_null(seen.pixels);
	assert_true(x < seen.w && y < seen.h);
	return seen.pixels[y * (seen.stride / 4) + x];
}

static void drop_machine(void)
{
	if (vga)
		vga_type.destroy(vga);
	if (pci)
		pci_bus_destroy(pci);
	if (pio)
		bus_destroy(pio);
	if (mmio)
		bus_destroy(mmio);
	vga = NULL;
	pci = NULL;
	pio = mmio = NULL;
}

/* A machine of its own, without a VGA yet: new buses (the old ones keep
 * the old VGA's claims). */
static void new_buses(void)
{
	drop_machine();
	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	pci = pci_bus_create(pio, mmio);
}

/* The VGA on them, loading BIOS (NULL: none) with the fast paths FP (NULL:
 * none); NULL with the reason in err. */
static struct vga *add_vga(const char *bios, struct fastpath *fp, char *err, size_t errlen)
{
	struct vga_args args = {.bios_path = bios};
	struct board_entry e = {
	    .type = &vga_type, .id = "vga", .irq = -1, .devfn = (int)DEVFN, .arg = &args};
	struct dev_ctx ctx = {
	    .pio = pio, .mmio = mmio, .pci = pci, .display = disp, .fastpath = fp};

	vga = vga_type.create(&ctx, &e, err, errlen);
	if (vga)
		pci_bus_seal(pci);
	return vga;
}

static int setup(void **state)
{
	char err[256];

	disp = display_new();
	assert_int_equal(display_add_listener(disp, &l_ops, NULL), 0);
	memset(&seen, 0, sizeof(seen));
	new_buses();
	assert_non_null(add_vga(NULL, NULL, err, sizeof(err)));
	return 0;
}

static int teardown(void **state)
{
	drop_machine();
	display_free(disp);
	return 0;
}

static void outb(unsigned port, uint8_t v)
{
	assert_int_not_equal(bus_write(pio, port, v, 1), BUS_UNCLAIMED);
}

static void outw(unsigned port, uint16_t v)
{
	assert_int_not_equal(bus_write(pio, port, v, 2), BUS_UNCLAIMED);
}

static uint8_t inb(unsigned port)
{
	uint64_t v;

	assert_int_not_equal(bus_read(pio, port, 1, &v), BUS_UNCLAIMED);
	return (uint8_t)v;
}

static uint16_t inw(unsigned port)
{
	uint64_t v;

	assert_int_not_equal(bus_read(pio, port, 2, &v), BUS_UNCLAIMED);
	return (uint16_t)v;
}

static void memw(uint32_t off, uint8_t v)
{
	assert_int_not_equal(bus_write(mmio, WIN + off, v, 1), BUS_UNCLAIMED);
}

static uint8_t memr(uint32_t off)
{
	uint64_t v;

	assert_int_not_equal(bus_read(mmio, WIN + off, 1, &v), BUS_UNCLAIMED);
	return (uint8_t)v;
}

static void sr(unsigned i, uint8_t v)
{
	outb(0x3c4, (uint8_t)i);
	outb(0x3c5, v);
}

static void gr(unsigned i, uint8_t v)
{
	outb(0x3ce, (uint8_t)i);
	outb(0x3cf, v);
}

static void cr(unsigned i, uint8_t v)
{
	outb(0x3d4, (uint8_t)i);
	outb(0x3d5, v);
}

static uint8_t cr_read(unsigned i)
{
	outb(0x3d4, (uint8_t)i);
	return inb(0x3d5);
}

static void dispi(unsigned i, uint16_t v)
{
	outw(VGA_DISPI_INDEX, (uint16_t)i);
	outw(VGA_DISPI_INDEX + 1, v);
}

static uint16_t dispi_r(unsigned i)
{
	outw(VGA_DISPI_INDEX, (uint16_t)i);
	return inw(VGA_DISPI_INDEX + 1);
}

/* Dispi register I written with V reads back as WANT. */
static void dispi_check(unsigned i, uint16_t v, uint16_t want)
{
	dispi(i, v);
	assert_int_equal(dispi_r(i), want);
}

/* Pixels the picture must have: EXPECT_PIXELS({x, y, 0xRRGGBB}, ...). */
struct px {
	unsigned x, y;
	uint32_t rgb;
};

static void expect_pixels(const struct px *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pixel(p[i].x, p[i].y) != p[i].rgb)
			fail_msg("pixel (%u,%u) is %06x, not %06x", p[i].x, p[i].y,
				 pixel(p[i].x, p[i].y), p[i].rgb);
	}
}

#define EXPECT_PIXELS(...)                                                                         \
	expect_pixels((const struct px[]){__VA_ARGS__},                                            \
		      sizeof((const struct px[]){__VA_ARGS__}) / sizeof(struct px))

/* XRES x YRES x BPP, then ENABLE (0x41: on with the LFB). */
static void dispi_mode(unsigned xres, unsigned yres, unsigned bpp, uint16_t enable)
{
	dispi(1, (uint16_t)xres);
	dispi(2, (uint16_t)yres);
	dispi(3, (uint16_t)bpp);
	dispi(4, enable);
}

/* A refresh with what the listener saw before it forgotten. */
static void refresh(void)
{
	reset_seen();
	vga_refresh(vga, false);
}

/* A refresh that must show a W x H picture. */
static void refresh_sized(unsigned w, unsigned h)
{
	refresh();
	assert_int_equal(seen.w, w);
	assert_int_equal(seen.h, h);
}

/* Font row ROW of character CH (font 0, plane 2), and text cell N. */
static void glyph_row(uint8_t ch, unsigned row, uint8_t bits)
{
	vga_vram(vga)[4 * (ch * 32u + row) + 2] = bits;
}

static void text_cell(unsigned n, uint8_t ch, uint8_t attr)
{
	vga_vram(vga)[4 * n] = ch;
	vga_vram(vga)[4 * n + 1] = attr;
}

/* A BIOS-style mode set from register tables (SeaVGABIOS's order). */
struct mode_regs {
	uint8_t misc, sr[4], gr[9], crtc[25], atc[20];
};

static void set_mode(const struct mode_regs *m)
{
	inb(0x3da);
	for (unsigned i = 0; i < 20; i++) {
		outb(0x3c0, (uint8_t)i);
		outb(0x3c0, m->atc[i]);
	}
	outb(0x3c0, 0x14);
	outb(0x3c0, 0);
	sr(0, 3);
	for (unsigned i = 0; i < 4; i++)
		sr(i + 1, m->sr[i]);
	for (unsigned i = 0; i < 9; i++)
		gr(i, m->gr[i]);
	outb(0x3c2, m->misc);
	cr(0x11, 0);
	for (unsigned i = 0; i < 25; i++)
		cr(i, m->crtc[i]);
	inb(0x3da);
	outb(0x3c0, 0x20);
}

/* shared/guest-drivers.md §5.1 (SeaVGABIOS stdvgamodes.c).  ATC_EGA16: the
 * 16 ATC palette entries of its EGA-compatible modes (3, 0x12). */
#define ATC_EGA16                                                                                  \
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e,  \
	    0x3f
static const struct mode_regs mode3 = {
    0x67,
    {0x00, 0x03, 0x00, 0x02},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff},
    {0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
     0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff},
    {ATC_EGA16, 0x0c, 0x00, 0x0f, 0x08},
};

static const struct mode_regs mode13 = {
    0x63,
    {0x01, 0x0f, 0x00, 0x0e},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff},
    {0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
     0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00},
};

static const struct mode_regs mode12 = {
    0xe3,
    {0x01, 0x0f, 0x00, 0x06},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff},
    {0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff},
    {ATC_EGA16, 0x01, 0x00, 0x0f, 0x00},
};

static void dac_set(uint8_t idx, uint8_t r, uint8_t g, uint8_t b)
{
	outb(0x3c8, idx);
	outb(0x3c9, r);
	outb(0x3c9, g);
	outb(0x3c9, b);
}

/* ---- PCI ---- */

static void test_pci_identity(void **state)
{
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_VENDOR_ID, 2), 0x1234);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_DEVICE_ID, 2), 0x1111);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_REVISION_ID, 1), 2);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_CLASS_DEVICE, 2), 0x0300);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_SUBSYSTEM_VENDOR, 2), 0x1af4);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_SUBSYSTEM_ID, 2), 0x1100);
	/* BAR0: 16 MiB prefetchable 32-bit; BAR2: 4 KiB */
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_BASE_ADDRESS_0, 4), 0xff000008);
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_BASE_ADDRESS_0 + 8, 4), 0xfffff000);
	/* no ROM without a file */
	pci_config_write(pci, DEVFN, PCI_ROM_ADDRESS, 0xfffff800, 4);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_ROM_ADDRESS, 4), 0);
}

static void test_pci_lfb_and_mmio_bar(void **state)
{
	uint64_t v;

	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, 0xfd000000, 4);
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 8, 0xfebf0000, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	assert_int_not_equal(bus_write(mmio, 0xfd000010, 0x11223344, 4), BUS_UNCLAIMED);
	assert_int_equal(vga_vram(vga)[0x10], 0x44);
	assert_int_equal(vga_vram(vga)[0x13], 0x11);
	bus_read(mmio, 0xfd000010, 2, &v);
	assert_int_equal(v, 0x3344);
	/* the last bytes of VRAM, and nothing beyond */
	assert_int_not_equal(bus_write(mmio, 0xfdfffffc, 0xaabbccdd, 4), BUS_UNCLAIMED);
	assert_int_equal(vga_vram(vga)[VGA_VRAM_SIZE - 1], 0xaa);
	/* BAR2: dispi ID at 0x500, VGA ports at 0x400 (0x3c0 + n), EDID 0 */
	bus_read(mmio, 0xfebf0500, 2, &v);
	assert_int_equal(v, 0xb0c5);
	bus_write(mmio, 0xfebf0500 + 2 * 1, 640, 2);
	assert_int_equal(dispi_r(1), 640);
	bus_write(mmio, 0xfebf0404, 0x0f02, 2); /* SR2 = 0x0f */
	outb(0x3c4, 2);
	assert_int_equal(inb(0x3c5), 0x0f);
	bus_read(mmio, 0xfebf0000, 4, &v);
	assert_int_equal(v, 0);
}

static void test_rom_bar(void **state)
{
	char path[] = "/tmp/test_vga_romXXXXXX", err[256];
	int fd = mkstemp(path);
	uint8_t rom[1024];
	uint64_t val;

	assert_true(fd >= 0);
	for (unsigned i = 0; i < sizeof(rom); i++)
		rom[i] = (uint8_t)(i * 7);
	rom[0] = 0x55;
	rom[1] = 0xaa;
	assert_int_equal(write(fd, rom, sizeof(rom)), (ssize_t)sizeof(rom));
	close(fd);
	new_buses();
	assert_non_null(add_vga(path, NULL, err, sizeof(err)));
	pci_config_write(pci, DEVFN, PCI_ROM_ADDRESS, 0xfffff800, 4);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_ROM_ADDRESS, 4) & 0xfffff800, 0xfffff800);
	pci_config_write(pci, DEVFN, PCI_ROM_ADDRESS, 0xfeb00001, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_not_equal(bus_read(mmio, 0xfeb00000, 2, &val), BUS_UNCLAIMED);
	assert_int_equal(val, 0xaa55);
	bus_read(mmio, 0xfeb00000 + 100, 1, &val);
	assert_int_equal(val, (uint8_t)(100 * 7));
	unlink(path);
}

static void test_rom_errors(void **state)
{
	char err[256];
	char path[] = "/tmp/test_vga_bigXXXXXX";
	int fd;

	new_buses();
	assert_null(add_vga("/nonexistent/vgabios.bin", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/vgabios.bin"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VGA_ROM_MAX + 1), 0);
	close(fd);
	assert_null(add_vga(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "KiB"));
	unlink(path);
}

/* ---- registers ---- */

static void test_attr_flipflop(void **state)
{
	inb(0x3da);	   /* ports 0x3dx are ignored while misc bit 0 is 0 ... */
	outb(0x3c2, 0x01); /* ... so colour first */
	inb(0x3da);
	outb(0x3c0, 0x05);
	outb(0x3c0, 0x2a);
	assert_int_equal(inb(0x3c1), 0x2a);
	outb(0x3c0, 0x06); /* index again: the flip-flop was back at index */
	outb(0x3c0, 0x11);
	outb(0x3c0, 0x05); /* an index again */
	outb(0x3c0, 0x33); /* its data */
	inb(0x3da);	   /* reset: next is an index */
	outb(0x3c0, 0x06);
	assert_int_equal(inb(0x3c1), 0x11);
	/* reading 0x3c0 in the data phase gives 0, in the index phase the index */
	inb(0x3da);
	outb(0x3c0, 0x07);
	assert_int_equal(inb(0x3c0), 0);
	inb(0x3da);
	assert_int_equal(inb(0x3c0), 0x07);
	/* input status 1 toggles retrace and display enable on every read */
	{
		uint8_t a = inb(0x3da), b = inb(0x3da);

		assert_int_equal((a ^ b) & 0x09, 0x09);
	}
}

static void test_crtc_protect_and_blocks(void **state)
{
	outb(0x3c2, 0x01); /* colour: CRTC at 0x3d4 */
	cr(0x11, 0x00);
	cr(0x00, 0x5f);
	cr(0x07, 0x1f);
	cr(0x11, 0x80); /* protect CR0-7 */
	cr(0x00, 0x12);
	assert_int_equal(cr_read(0x00), 0x5f);
	cr(0x07, 0xef); /* only bit 4 goes through */
	assert_int_equal(cr_read(0x07), 0x0f);
	cr(0x09, 0x4f); /* not protected */
	assert_int_equal(cr_read(0x09), 0x4f);
	/* the mono block is ignored while colour is selected */
	outb(0x3b4, 0x09);
	outb(0x3b5, 0x00);
	assert_int_equal(inb(0x3b5), 0xff);
	assert_int_equal(cr_read(0x09), 0x4f);
	/* and the reverse */
	outb(0x3c2, 0x00);
	outb(0x3b4, 0x09);
	assert_int_equal(inb(0x3b5), 0x4f);
	assert_int_equal(inb(0x3d5), 0xff);
	assert_int_equal(inb(0x3cc), 0x00);
}

static void test_dac_sequence(void **state)
{
	dac_set(5, 0x10, 0x20, 0x30);
	dac_set(6, 0x3f, 0x00, 0x01); /* the write index moved on by itself */
	outb(0x3c8, 7);
	outb(0x3c9, 0x01);
	outb(0x3c9, 0x02); /* two of three: not stored yet */
	outb(0x3c7, 5);
	assert_int_equal(inb(0x3c7), 3);
	assert_int_equal(inb(0x3c9), 0x10);
	assert_int_equal(inb(0x3c9), 0x20);
	assert_int_equal(inb(0x3c9), 0x30);
	assert_int_equal(inb(0x3c9), 0x3f);
	assert_int_equal(inb(0x3c9), 0x00);
	assert_int_equal(inb(0x3c9), 0x01);
	assert_int_equal(inb(0x3c9), 0x00); /* entry 7 untouched */
	outb(0x3c6, 0x0f);
	assert_int_equal(inb(0x3c6), 0x0f);
	/* 16-bit OUT to an index port: index, then data */
	outw(0x3c4, 0x0a02);
	outb(0x3c4, 2);
	assert_int_equal(inb(0x3c5), 0x0a);
	outw(0x3ce, 0x0f05); /* GR5 keeps its mask 0x7b */
	outb(0x3ce, 5);
	assert_int_equal(inb(0x3cf), 0x0b);
}

/* ---- dispi ---- */

static void test_dispi_id_caps(void **state)
{
	assert_int_equal(dispi_r(0), 0xb0c5);
	dispi_check(0, 0xb0c0, 0xb0c0);
	dispi_check(0, 0x1234, 0xb0c0);
	dispi_check(0, 0xb0c6, 0xb0c0);
	dispi_check(0, 0xb0c5, 0xb0c5);
	dispi(4, 0x02); /* GETCAPS */
	assert_int_equal(dispi_r(1), VGA_DISPI_MAX_XRES);
	assert_int_equal(dispi_r(2), VGA_DISPI_MAX_YRES);
	assert_int_equal(dispi_r(3), VGA_DISPI_MAX_BPP);
	dispi(4, 0);
	assert_int_equal(dispi_r(10), 256);
	/* the maxima fit */
	assert_true((uint64_t)VGA_DISPI_MAX_XRES * VGA_DISPI_MAX_YRES * 4 <= VGA_VRAM_SIZE);
	/* 0x1d0 is data too */
	outw(VGA_DISPI_INDEX, 1);
	outw(VGA_DISPI_INDEX + 2, 800);
	assert_int_equal(dispi_r(1), 800);
}

static void test_dispi_limits(void **state)
{
	dispi_mode(2560, 1600, 32, 0x41 | 0x80);
	assert_int_equal(dispi_r(4) & 1, 1);
	/* a virtual width that does not fit is refused */
	dispi_check(6, 0xffff, 2560);
	dispi_check(9, 0xffff, 0);
	/* 65535 pixels of X offset still fit in 16 MiB at this size ... */
	dispi_check(8, 0xffff, 0xffff);
	/* ... but then not one line of Y offset more */
	dispi_check(9, 50, 0);
	/* a bigger XRES while enabled turns the mode off */
	dispi(1, 4000);
	assert_int_equal(dispi_r(4) & 1, 0);
	/* enabling a mode that does not fit is refused */
	dispi(1, 0);
	dispi(4, 0x41);
	assert_int_equal(dispi_r(4) & 1, 0);
	dispi_mode(640, 480, 7, 0x41); /* no such depth */
	assert_int_equal(dispi_r(4) & 1, 0);
	dispi_check(3, 0, 8); /* 0 means 8 */
	/* BANK is masked to VRAM */
	dispi_check(5, 0xffff, 255);
	vga_refresh(vga, true); /* nothing to show, nothing out of bounds */
}

/* ---- memory ---- */

static void planar_setup(void)
{
	outb(0x3c2, 0xe3);
	sr(4, 0x06); /* no chain-4, no odd/even */
	gr(5, 0x00);
	gr(6, 0x05); /* A0000 64K, graphics */
	sr(2, 0x0f);
	gr(8, 0xff);
	gr(3, 0x00);
	gr(1, 0x00);
}

static uint32_t vram32(uint32_t plane_addr)
{
	uint32_t v;

	memcpy(&v, vga_vram(vga) + 4 * plane_addr, 4);
	return v;
}

static void test_write_modes(void **state)
{
	planar_setup();
	/* mode 0, plain: the byte to every enabled plane */
	memw(0, 0xa5);
	assert_int_equal(vram32(0), 0xa5a5a5a5);
	/* map mask */
	sr(2, 0x05);
	memw(1, 0x3c);
	assert_int_equal(vram32(1), 0x003c003c);
	sr(2, 0x0f);
	/* set/reset: planes 0 and 2 from GR0 (0x05 -> planes 0, 2 set) */
	gr(1, 0x05);
	gr(0, 0x01);
	memw(2, 0x77); /* plane 0 all ones, plane 2 zero, planes 1 and 3 the byte */
	assert_int_equal(vram32(2), 0x770077ff);
	gr(1, 0);
	/* rotate 4 and XOR with the latches, bit mask 0xf0 */
	memr(0); /* latches = a5 a5 a5 a5 */
	gr(3, 0x18 | 4);
	gr(8, 0xf0);
	memw(3, 0x0f); /* rotated: 0xf0; xor a5: 0x55; masked: 0x50 | (a5 & 0x0f) */
	assert_int_equal(vram32(3), 0x55555555);
	gr(3, 0);
	gr(8, 0xff);
	/* mode 1: the latches as they are */
	memr(2);
	gr(5, 0x01);
	memw(4, 0x00);
	assert_int_equal(vram32(4), 0x770077ff);
	/* mode 2: the byte's low nibble as a colour, bit mask 0x0f */
	memr(0);
	gr(5, 0x02);
	gr(8, 0x0f);
	memw(5, 0x0a); /* planes 1, 3 set in bits 0-3; bits 4-7 from the latch a5 */
	assert_int_equal(vram32(5), 0xafa0afa0);
	/* mode 3: GR0 colour, bit mask = GR8 & rotated byte */
	memr(0);
	gr(5, 0x03);
	gr(0, 0x06);
	gr(8, 0xff);
	memw(6, 0xc3);
	assert_int_equal(vram32(6), 0x24e7e724);
}

static void test_read_modes(void **state)
{
	uint32_t v = 0x0f33aa55;

	planar_setup();
	memcpy(vga_vram(vga) + 4 * 10, &v, 4);
	for (unsigned p = 0; p < 4; p++) {
		gr(4, (uint8_t)p);
		assert_int_equal(memr(10), (uint8_t)(v >> (8 * p)));
	}
	/* read mode 1: pixels whose colour equals GR2 on the planes in GR7 */
	gr(5, 0x08);
	gr(7, 0x0f);
	gr(2, 0x05); /* planes 0, 2 set; 1, 3 clear */
	{
		uint8_t want = 0x55 & ~0xaa & 0x33 & ~0x0f;

		assert_int_equal(memr(10), want);
	}
	gr(7, 0x01); /* plane 0 only */
	assert_int_equal(memr(10), 0x55);
	/* a window outside GR6's map reads all ones */
	gr(6, 0x0d); /* B8000 32K */
	assert_int_equal(memr(0), 0xff);
}

static void test_chain4_oddeven(void **state)
{
	outb(0x3c2, 0x63);
	sr(4, 0x0e); /* chain-4 */
	sr(2, 0x0f);
	gr(5, 0x40);
	gr(6, 0x05);
	memw(5, 0x77);
	memw(320 * 2 + 7, 0x12);
	assert_int_equal(vga_vram(vga)[5], 0x77);
	assert_int_equal(vga_vram(vga)[647], 0x12);
	assert_int_equal(memr(5), 0x77);
	/* odd/even text at B8000 */
	sr(4, 0x02);
	sr(2, 0x03);
	gr(5, 0x10);
	gr(6, 0x0e);
	gr(4, 0x00);
	memw(0x18000, 'A');
	memw(0x18001, 0x1f);
	memw(0x18002, 'B');
	assert_int_equal(vga_vram(vga)[0], 'A');
	assert_int_equal(vga_vram(vga)[1], 0x1f);
	assert_int_equal(vga_vram(vga)[4], 'B');
	assert_int_equal(memr(0x18001), 0x1f);
	/* plane 2 stays out of reach with SR2 = 3 */
	gr(4, 0x02);
	memw(0x18000, 0x99);
	assert_int_equal(vga_vram(vga)[2], 0);
}

static void test_bank_window(void **state)
{
	dispi_mode(640, 480, 32, 0x41);
	assert_int_equal(dispi_r(4) & 1, 1);
	dispi(5, 3);
	memw(0x10, 0xee);
	assert_int_equal(vga_vram(vga)[3 * 65536 + 0x10], 0xee);
	/* the last bank reaches the last byte of VRAM and no further */
	dispi(5, 255);
	memw(0xffff, 0xdd);
	assert_int_equal(vga_vram(vga)[VGA_VRAM_SIZE - 1], 0xdd);
	assert_int_equal(memr(0xffff), 0xdd);
	assert_int_equal(memr(0x10000), 0xff); /* beyond the 64K window */
}

/* ---- rendering ---- */

static void test_text_render_and_damage(void **state)
{
	uint32_t fg, bg;

	set_mode(&mode3);
	dac_set(0x01, 0x00, 0x00, 0x2a); /* blue background (ATC 1 -> DAC 1) */
	dac_set(0x3f, 0x3f, 0x3f, 0x3f); /* white foreground (ATC 15 -> DAC 0x3f) */
	/* the glyph of 'A' in plane 2, font 0: rows alternate 0x81 / 0x7e */
	for (unsigned row = 0; row < 16; row++)
		glyph_row('A', row, row & 1 ? 0x7e : 0x81);
	text_cell(0, 'A', 0x1f);
	text_cell(2, ' ', 0x1f); /* where the cursor goes later */
	cr(0x0a, 0x20); /* no cursor */
	refresh();
	assert_int_equal(seen.resizes, 1);
	assert_int_equal(seen.w, 720);
	assert_int_equal(seen.h, 400);
	fg = pixel(0, 0);
	bg = pixel(1, 0);
	assert_int_equal(fg, 0xffffff);
	assert_int_equal(bg, 0x0000a8); /* 0x2a as QEMU widens it */
	EXPECT_PIXELS({7, 0, fg}, {8, 0, bg}, /* 9th column: background for 'A' */
		      {0, 1, bg}, {1, 1, fg});
	/* the second refresh reports nothing */
	refresh();
	assert_int_equal(seen.damages, 0);
	assert_int_equal(seen.resizes, 0);
	/* one cell changed through the window: that cell only */
	memw(0x18000 + 2 * (80 * 3 + 10), 'A');
	refresh();
	assert_int_equal(seen.damages, 1);
	assert_int_equal(seen.x0, 10 * 9);
	assert_int_equal(seen.y0, 3 * 16);
	assert_int_equal(seen.x1, 11 * 9);
	assert_int_equal(seen.y1, 4 * 16);
	/* the cursor appears: its cell (row 0, column 2, scan lines 14-15) */
	cr(0x0a, 0x0e);
	cr(0x0b, 0x0f);
	cr(0x0e, 0);
	cr(0x0f, 2);
	refresh();
	assert_int_equal(seen.damages, 1);
	assert_int_equal(seen.x0, 18);
	assert_int_equal(pixel(18, 15), fg);
	assert_int_equal(pixel(18, 13), bg);
	/* a palette change redraws everything */
	dac_set(0x01, 0x2a, 0x00, 0x00);
	refresh();
	assert_int_equal(seen.x0, 0);
	assert_int_equal(seen.y0, 0);
	assert_int_equal(seen.x1, 720);
	assert_int_equal(seen.y1, 400);
	assert_int_equal(pixel(1, 0), 0xa80000);
}

static void test_mode13_render(void **state)
{
	set_mode(&mode13);
	dac_set(0x2a, 0x3f, 0x00, 0x00);
	memw(20 * 320 + 10, 0x2a);
	/* as QEMU shows it: 80 character clocks of 4 bytes, each byte two
	 * pixels; 400 lines (VDE 0x18f), two a row (CR09 0x41) */
	refresh_sized(640, 400);
	EXPECT_PIXELS({20, 40, 0xff0000}, {21, 40, 0xff0000}, {20, 41, 0xff0000},
		      {21, 41, 0xff0000}, {22, 40, 0x000000}, {20, 42, 0x000000},
		      {19, 39, 0x000000});
	refresh();
	assert_int_equal(seen.damages, 0);
	memw(150 * 320 + 5, 0x2a);
	refresh();
	assert_int_equal(seen.damages, 1);
	assert_true(seen.y0 <= 300 && seen.y1 >= 302); /* the lines reading its page */
	assert_int_equal(pixel(10, 301), 0xff0000);
	/* double scan on top (CR09 bit 7): 4 lines a row, and a redraw */
	cr(0x09, 0xc1);
	refresh();
	assert_int_equal(seen.resizes, 0);
	assert_int_equal(seen.y0, 0);
	assert_int_equal(seen.y1, 400);
	assert_int_equal(pixel(20, 83), 0xff0000);
	assert_int_equal(pixel(20, 84), 0x000000);
	/* the line compare (CR18 + CR07 bit 4 + CR09 bit 6) at line 99: the
	 * lines after it show VRAM from 0, so row 20 of VRAM at line 180 */
	cr(0x09, 0x01);
	cr(0x18, 99);
	cr(0x07, 0x0f);
	vga_refresh(vga, false);
	EXPECT_PIXELS({20, 40, 0xff0000}, {20, 140, 0xff0000}, {20, 141, 0xff0000},
		      {20, 142, 0x000000});
}

static void test_mode12_render(void **state)
{
	set_mode(&mode12);
	dac_set(0x3b, 0x00, 0x3f, 0x3f); /* ATC 0x0b -> 0x3b */
	/* colour 0x0b at pixel 3 of line 479 with write mode 2 */
	gr(5, 0x02);
	gr(8, 0x10);
	memr(479 * 80);
	memw(479 * 80, 0x0b);
	refresh_sized(640, 480);
	assert_int_equal(pixel(3, 479), 0x00ffff);
	assert_int_equal(pixel(2, 479), 0);
}

static void test_dispi32_render(void **state)
{
	dispi_mode(64, 32, 32, 0x41);
	refresh_sized(64, 32);
	/* slow path: the LFB BAR through its handler */
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, 0xfd000000, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	bus_write(mmio, 0xfd000000 + (5 * 64 + 7) * 4, 0x00123456, 4);
	refresh();
	assert_int_equal(seen.damages, 1);
	assert_int_equal(pixel(7, 5), 0x123456);
	/* panning: X_OFFSET 7, Y_OFFSET 5 puts that pixel at (0, 0) */
	dispi(6, 64);
	dispi(8, 7);
	dispi(9, 5);
	vga_refresh(vga, false);
	assert_int_equal(pixel(0, 0), 0x123456);
	/* 16 bpp: 0xf800 is red */
	dispi(4, 0);
	dispi(3, 16);
	dispi(4, 0x41);
	bus_write(mmio, 0xfd000000, 0xf800, 2);
	vga_refresh(vga, false);
	assert_int_equal(pixel(0, 0), 0xff0000);
}

static void test_hostile_geometry(void **state)
{
	/* everything at its largest: nothing read or written out of VRAM
	 * (ASan watches the VRAM mapping's neighbours) */
	dispi_mode(2560, 1600, 32, 0x41 | 0x80);
	dispi(6, 0xffff);
	dispi(8, 0xffff);
	dispi(9, 0xffff);
	dispi(5, 0xffff);
	for (unsigned o = 0; o < 0x20000; o += 0x1fff)
		memw(o, 0x5a);
	vga_refresh(vga, true);
	assert_int_equal(seen.w, 2560);
	/* legacy registers at their largest */
	dispi(4, 0);
	outb(0x3c2, 0x01);
	cr(0x11, 0);
	for (unsigned i = 0; i < 0x19; i++)
		cr(i, 0xff);
	inb(0x3da);
	outb(0x3c0, 0x20); /* picture on */
	gr(6, 0x01);
	for (unsigned shift = 0; shift < 4; shift++) {
		gr(5, (uint8_t)(shift << 5));
		vga_refresh(vga, true);
	}
	gr(6, 0x00); /* text with 256 columns and every start address */
	vga_refresh(vga, true);
	sr(4, 0x00);
	gr(5, 0x00);
	gr(6, 0x00);
	for (unsigned o = 0; o < 0x20000; o += 0x3ff)
		memw(o, 0xa5);
	vga_refresh(vga, true);
}

/* ---- the fast paths, against a fake KVM ---- */

static struct {
	uint64_t slot_gpa, dirty0;
	uint32_t slot_flags;
	int zones;
	uint8_t *hva;
} fk;

static void f_caps(void *o, struct fastpath_caps *c)
{
	*c = (struct fastpath_caps){.coalesced_mmio = true, .dirty_log = true};
}

static int f_zone(void *o, bool is_pio, uint64_t addr, uint64_t size, bool assign)
{
	fk.zones += assign ? 1 : -1;
	return 0;
}

static int f_slot_add(void *o, uint64_t gpa, uint64_t size, void *hva, uint32_t flags)
{
	fk.slot_gpa = gpa;
	fk.slot_flags = flags;
	fk.hva = hva;
	return 3;
}

static int f_slot_move(void *o, int slot, uint64_t gpa)
{
	fk.slot_gpa = gpa;
	return 0;
}

static int f_slot_remove(void *o, int slot)
{
	fk.slot_gpa = 0;
	return 0;
}

static int f_slot_log(void *o, int slot, bool on)
{
	fk.slot_flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0;
	return 0;
}

static int f_slot_dirty(void *o, int slot, uint64_t *bitmap, size_t words)
{
	assert_true(words >= VGA_VRAM_SIZE / 4096 / 64);
	bitmap[0] = fk.dirty0;
	fk.dirty0 = 0;
	return 0;
}

static const struct fastpath_host fake_host = {
    .caps = f_caps,
    .coalesced_zone = f_zone,
    .slot_add = f_slot_add,
    .slot_move = f_slot_move,
    .slot_remove = f_slot_remove,
    .slot_log_dirty = f_slot_log,
    .slot_get_dirty = f_slot_dirty,
};

/* A VGA whose LFB KVM maps (the fake), in a 64x32x32 dispi mode; writes
 * "through KVM" go straight to VRAM, as a guest's would. */
static struct fastpath *fast_vga(bool dirty_log)
{
	struct vm_accel accel = VM_ACCEL_DEFAULT;
	struct fastpath *fp;
	char err[256];

	new_buses();
	memset(&fk, 0, sizeof(fk));
	accel.dirty_log = dirty_log;
	fp = fastpath_new(&fake_host, NULL, &accel, NULL, pio, mmio);
	assert_non_null(fp);
	assert_non_null(add_vga(NULL, fp, err, sizeof(err)));
	assert_int_equal(fk.zones, 1); /* the window, coalesced */
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0, 0xfd000000, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(fk.slot_gpa, 0xfd000000); /* the slot follows BAR0 */
	assert_ptr_equal(fk.hva, vga_vram(vga));
	assert_int_equal(!!(fk.slot_flags & KVM_MEM_LOG_DIRTY_PAGES), dirty_log);
	dispi_mode(64, 32, 32, 0x41);
	refresh();
	assert_int_equal(seen.w, 64);
	return fp;
}

static void fast_vga_end(struct fastpath *fp)
{
	vga_type.destroy(vga);
	vga = NULL;
	fastpath_free(fp);
}

static void test_lfb_dirty_log(void **state)
{
	struct fastpath *fp = fast_vga(true);
	uint32_t px = 0x00abcdef;
	json_t *st;

	/* a guest write KVM did not log is not looked at ... */
	memcpy(vga_vram(vga) + 4096 + 8, &px, 4);
	refresh();
	assert_int_equal(seen.damages, 0);
	/* ... a logged page is: lines 16-31 (page 1 of 256-byte lines) */
	fk.dirty0 = 1ULL << 1;
	refresh();
	assert_int_equal(seen.damages, 1);
	assert_int_equal(seen.y0, 16);
	assert_int_equal(seen.y1, 32);
	assert_int_equal(pixel(2, 16), px);
	st = vga_type.stats(vga, false);
	assert_true(json_is_true(json_object_get(st, "window_coalesced")));
	assert_true(json_is_true(json_object_get(st, "lfb_dirty_log")));
	json_decref(st);
	fast_vga_end(fp);
}

static void test_lfb_shadow_compare(void **state)
{
	struct fastpath *fp = fast_vga(false);
	uint32_t px = 0x00123456;

	/* no dirty log: VRAM is compared with what was drawn */
	refresh();
	assert_int_equal(seen.damages, 0);
	memcpy(vga_vram(vga) + 4096 * 1 + 4, &px, 4);
	refresh();
	assert_int_equal(seen.damages, 1);
	assert_int_equal(seen.y0, 16);
	assert_int_equal(seen.y1, 32);
	assert_int_equal(pixel(1, 16), px);
	refresh();
	assert_int_equal(seen.damages, 0);
	fast_vga_end(fp);
}

/* Mode 4 (CGA 320x200, 4 colours): odd/even at 0xb8000, odd lines from
 * CPU offset 0x2000. */
static void test_cga4_render(void **state)
{
	static const struct mode_regs mode4 = {
	    0x63,
	    {0x09, 0x03, 0x00, 0x02},
	    {0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0f, 0x0f, 0xff},
	    {0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00,
	     0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff},
	    {0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11,
	     0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x03, 0x00},
	};

	set_mode(&mode4);
	dac_set(0x13, 0x3f, 0, 0);
	dac_set(0x15, 0, 0x3f, 0);
	dac_set(0x17, 0, 0, 0x3f);
	memw(0x18000, 0xe4);	      /* pixels 0-3: colours 3 2 1 0 */
	memw(0x18001, 0x1b);	      /* pixels 4-7: 0 1 2 3 */
	memw(0x18000 + 0x2000, 0xc0); /* line 1, pixel 0: colour 3 */
	memw(0x18000 + 80, 0x40);     /* line 2, pixel 0: colour 1 */
	/* as QEMU shows it: SR1 bit 3 doubles every pixel, double scan every
	 * scan line: 640x400 */
	refresh_sized(640, 400);
	EXPECT_PIXELS({0, 0, 0x0000ff}, {1, 1, 0x0000ff}, {2, 0, 0x00ff00}, {4, 0, 0xff0000},
		      {6, 0, 0}, {10, 0, 0xff0000}, {14, 0, 0x0000ff}, {15, 1, 0x0000ff},
		      {0, 2, 0x0000ff}, /* scan line 1: the 0x2000 bank */
		      {0, 4, 0xff0000}, /* scan line 2: the next 80 bytes */
		      {0, 5, 0xff0000});
}

/* Mode 6 (640x200, 2 colours): plane 0 only, odd lines from 0x2000 (no
 * odd/even: plane address = CPU offset). */
static void test_cga2_render(void **state)
{
	static const struct mode_regs mode6 = {
	    0x63,
	    {0x01, 0x01, 0x00, 0x06},
	    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x0f, 0xff},
	    {0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00,
	     0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x00, 0x96, 0xb9, 0xc2, 0xff},
	    {0x00, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17,
	     0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x01, 0x00, 0x01, 0x00},
	};

	set_mode(&mode6);
	dac_set(0x17, 0x3f, 0x3f, 0x3f);
	memw(0x18000, 0x80);
	memw(0x18000 + 0x2000, 0x01);
	memw(0x18000 + 80 + 1, 0x80);
	/* 400 lines, each scan line twice (double scan); the row scan counter
	 * picks the bank */
	refresh_sized(640, 400);
	EXPECT_PIXELS({0, 0, 0xffffff}, {0, 1, 0xffffff}, {1, 0, 0}, {7, 2, 0xffffff},
		      {7, 3, 0xffffff}, {0, 2, 0}, {8, 4, 0xffffff}, {8, 5, 0xffffff});
}

/* Dispi at 4 bpp (VBE 0x102): planar at XRES x YRES through the window. */
static void test_dispi_planar_render(void **state)
{
	set_mode(&mode12);
	dac_set(0x3b, 0x00, 0x3f, 0x3f);
	dispi_mode(800, 600, 4, 0x41);
	gr(5, 0x02); /* write mode 2 */
	gr(8, 0x01); /* pixel 7 of the byte */
	memr(599 * 100 + 99);
	memw(599 * 100 + 99, 0x0b);
	refresh_sized(800, 600);
	assert_int_equal(pixel(799, 599), 0x00ffff);
	assert_int_equal(pixel(798, 599), 0);
}

/* 80x50 (8-line cells) and the 9th column of line-drawing characters. */
static void test_text_80x50_ninth_column(void **state)
{
	set_mode(&mode3);
	cr(0x09, 0x47); /* 8 scan lines a row */
	cr(0x0a, 0x20);
	dac_set(0x3f, 0x3f, 0x3f, 0x3f);
	for (unsigned row = 0; row < 8; row++) {
		glyph_row(0xc4, row, 0xff); /* a horizontal line char */
		glyph_row(0xb0, row, 0xff);
	}
	text_cell(0, 0xc4, 0x0f);
	text_cell(1, 0xb0, 0x0f);
	refresh_sized(720, 400);
	EXPECT_PIXELS({7, 0, 0xffffff}, {8, 0, 0xffffff}, /* 0xc4: duplicated (ATC10 bit 2) */
		      {17, 0, 0},			  /* 0xb0: not a line character */
		      {0, 8, 0} /* the second row of cells */);
}

/* 40 columns with the halved dot clock (SR1 bit 3, modes 0/1): 16 dots a
 * cell, each font bit twice and no 9th column, as QEMU draws it. */
static void test_text_40col_wide_dots(void **state)
{
	set_mode(&mode3);
	sr(1, 0x08);
	cr(0x11, 0);
	cr(0x01, 0x27);
	cr(0x0a, 0x20);
	dac_set(0x3f, 0x3f, 0x3f, 0x3f);
	glyph_row('A', 0, 0x81);
	text_cell(0, 'A', 0x0f);
	refresh_sized(640, 400);
	EXPECT_PIXELS({0, 0, 0xffffff}, {1, 0, 0xffffff}, {2, 0, 0}, {13, 0, 0}, {14, 0, 0xffffff},
		      {15, 0, 0xffffff}, {16, 0, 0});
}

/* ---- a known text screen against QEMU's picture of it ---- */

/* JSON array KEY of STATE into out[n] (bytes). */
static void json_bytes(json_t *state, const char *key, uint8_t *out, size_t n)
{
	json_t *a = json_object_get(state, key);

	assert_true(json_is_array(a));
	assert_true(json_array_size(a) >= n);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)json_integer_value(json_array_get(a, i));
}

/*
 * vgaboot's TEXT step (firmware/guests/vgaboot.asm -DSTOP_TEXT: SeaVGABIOS's
 * mode 3, "HELLO" and the cursor after it) as QEMU 7.2 showed it, in
 * tests/unit/data/ (VGA_TEST_DATA): the registers and the 256 KiB of VRAM
 * (font in plane 2 as SeaVGABIOS loaded it) QEMU held, and QEMU's screendump
 * PNG, all made once by
 *     tests/unit/data/make_vga_text.py build/firmware/vgaboot-text.bin tests/unit/data
 * Loaded into our device model through its ports and VRAM, the render must
 * be that PNG pixel for pixel.
 */
static void test_text_matches_qemu_png(void **state)
{
	const char *dir = getenv("VGA_TEST_DATA");
	char path[4096];
	json_t *st;
	json_error_t jerr;
	struct mode_regs m;
	uint8_t sr0[5], ar[21], dac[768], *rgb;
	gzFile gz;
	png_image img;
	unsigned differ = 0, first = 0;

	if (!dir) {
		print_message("VGA_TEST_DATA not set (meson test sets it)\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/vga_text_state.json", dir);
	st = json_load_file(path, 0, &jerr);
	assert_non_null(st);
	m.misc = (uint8_t)json_integer_value(json_object_get(st, "misc"));
	json_bytes(st, "sr", sr0, 5);
	memcpy(m.sr, sr0 + 1, 4);
	json_bytes(st, "gr", m.gr, 9);
	json_bytes(st, "cr", m.crtc, 25);
	json_bytes(st, "ar", ar, 21);
	memcpy(m.atc, ar, 20);
	json_bytes(st, "dac", dac, 768);
	json_decref(st);

	snprintf(path, sizeof(path), "%s/vga_text_vram.gz", dir);
	gz = gzopen(path, "rb");
	assert_non_null(gz);
	assert_int_equal(gzread(gz, vga_vram(vga), 256u << 10), 256u << 10);
	gzclose(gz);

	set_mode(&m);
	inb(0x3da);
	outb(0x3c0, 0x34); /* AR14 as QEMU had it, the picture on */
	outb(0x3c0, ar[0x14]);
	outb(0x3c6, 0xff); /* QEMU has no PEL mask; SeaVGABIOS writes 0xff */
	outb(0x3c8, 0);
	for (unsigned i = 0; i < 768; i++)
		outb(0x3c9, dac[i]);
	reset_seen();
	vga_refresh(vga, true);

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	snprintf(path, sizeof(path), "%s/vga_text_qemu.png", dir);
	assert_true(png_image_begin_read_from_file(&img, path));
	img.format = PNG_FORMAT_RGB;
	rgb = malloc(PNG_IMAGE_SIZE(img));
	assert_non_null(rgb);
	assert_true(png_image_finish_read(&img, NULL, rgb, 0, NULL));
	assert_int_equal(seen.w, img.width);
	assert_int_equal(seen.h, img.height);
	for (unsigned y = 0; y < img.height; y++) {
		for (unsigned x = 0; x < img.width; x++) {
			const uint8_t *q = rgb + 3 * ((size_t)y * img.width + x);
			uint32_t want = (uint32_t)q[0] << 16 | q[1] << 8 | q[2];

			if (pixel(x, y) != want && !differ++)
				first = y * img.width + x;
		}
	}
	if (differ)
		print_message("%u pixels differ, the first at (%u,%u): ours %06x, QEMU's %02x%02x%02x\n",
			      differ, first % img.width, first / img.width,
			      pixel(first % img.width, first / img.width), rgb[3 * first],
			      rgb[3 * first + 1], rgb[3 * first + 2]);
	free(rgb);
	assert_int_equal(differ, 0);
}

static void test_reset(void **state)
{
	dispi(1, 640);
	outb(0x3c2, 0x67);
	vga_vram(vga)[100] = 1;
	vga_type.reset(vga);
	assert_int_equal(dispi_r(1), 0);
	assert_int_equal(dispi_r(0), 0xb0c5);
	assert_int_equal(inb(0x3cc), 0);
	assert_int_equal(vga_vram(vga)[100], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pci_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_lfb_and_mmio_bar, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rom_bar, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rom_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attr_flipflop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crtc_protect_and_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dac_sequence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dispi_id_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dispi_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chain4_oddeven, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bank_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text_render_and_damage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mode13_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mode12_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dispi32_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_geometry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lfb_dirty_log, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lfb_shadow_compare, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cga4_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cga2_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dispi_planar_render, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text_80x50_ninth_column, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text_40col_wide_dots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text_matches_qemu_png, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
