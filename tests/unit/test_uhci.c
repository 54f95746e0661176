// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The PIIX3 UHCI controller (devices/uhci.h) and the USB tablet on its port
 * 1, on the real PCI core, a fake guest RAM (with a read-only BIOS) and a
 * hand-driven clock: register semantics; a fake driver that lays out a
 * frame list, queue heads and TDs and enumerates the tablet as Linux's
 * uhci_hcd/usbhid and SeaBIOS do; reports after events from a real input
 * router (vmm/input.h); interrupts; the idle batching of the frame timer;
 * and hostile schedules, which must end in error bits (ASan watches for
 * any access outside the RAM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/uhci.h"
#include "devices/usb.h"
#include "devices/usb_tablet.h"
#include "tests/unit/fake_timer.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"
#include "vmm/input.h"
#include "vmm/le.h"
#include "vmm/loop.h"

#define RAM_SIZE  (1u << 20)
#define BIOS_GPA  0xffff0000u
#define BIOS_SIZE 0x10000u
#define IO_BASE	  0xc040u
#define DEVFN	  PCI_DEVFN(1, 2)

#define FRAME_LIST 0x10000u
#define QH_INT	   0x20000u /* every frame: interrupt QH -> control QH */
#define QH_CTRL	   0x20010u
#define TD_BASE	   0x21000u /* TD i at TD_BASE + 16 i */
#define BUF_BASE   0x30000u /* buffer of TD i at BUF_BASE + 64 i */

#define MS 1000000ull

static uint8_t *ram, *bios;
static struct guest_mem mem;
static struct bus *pio, *mmio;
static struct pci_bus *pci;
static struct input *in;
static struct uhci *u;
static bool pirq_level[4];
static const struct uhci_args with_tablet = { .tablet = true };

/* The fake timers need no loop; without fast paths nothing watches an fd. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return 0;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

static void router(void *opaque, unsigned pirq, bool level)
{
	pirq_level[pirq] = level;
}

static bool irq(void)
{
	return pirq_level[3]; /* slot 1, INTD: PIRQD */
}

static uint16_t r16(unsigned off)
{
	uint64_t v = 0;

	bus_read(pio, IO_BASE + off, 2, &v);
	return (uint16_t)v;
}

static void w16(unsigned off, uint16_t v)
{
	bus_write(pio, IO_BASE + off, v, 2);
}

static void ms(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fake_clock_advance(MS);
}

static uint32_t rd32(uint32_t gpa)
{
	return le32_get(ram + gpa);
}

static void wr32(uint32_t gpa, uint32_t v)
{
	le32_put(ram + gpa, v);
}

static int setup(void **state)
{
	struct dev_ctx ctx;
	struct board_entry e = { .type = &uhci_type, .id = "uhci", .irq = -1,
				 .devfn = (int)DEVFN, .arg = &with_tablet };
	char err[128];

	ram = aligned_alloc(4096, RAM_SIZE);
	bios = aligned_alloc(4096, BIOS_SIZE);
	memset(ram, 0, RAM_SIZE);
	memset(bios, 0, BIOS_SIZE);
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guest_mem_add(&mem, 0, RAM_SIZE, ram, false, "ram"), 0);
	assert_int_equal(guest_mem_add(&mem, BIOS_GPA, BIOS_SIZE, bios, true, "bios"), 0);
	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	pci = pci_bus_create(pio, mmio);
	pci_bus_set_router(pci, router, NULL);
	memset(pirq_level, 0, sizeof(pirq_level));
	in = input_new();
	input_set_running(in, true);
	ctx = (struct dev_ctx){ .pio = pio, .mmio = mmio, .pci = pci, .mem = &mem, .input = in };
	u = uhci_type.create(&ctx, &e, err, sizeof(err));
	assert_non_null(u);
	pci_bus_seal(pci);
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 4 * UHCI_BAR, IO_BASE, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	return 0;
}

static int teardown(void **state)
{
	uhci_type.destroy(u);
	input_free(in);
	pci_bus_destroy(pci);
	bus_destroy(pio);
	bus_destroy(mmio);
	free(ram);
	free(bios);
	return 0;
}

/* The counters once the frames due have run (a register read runs them:
 * while the schedule is idle the timer only comes every 8 ms). */
static struct uhci_stats stats(void)
{
	struct uhci_stats st;

	r16(UHCI_FRNUM);
	uhci_get_stats(u, &st, false);
	return st;
}

/* ---- registers ---- */

static void test_identity_and_reset_values(void **state)
{
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_VENDOR_ID, 4), 0x70208086);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_REVISION_ID, 4), 0x0c030001);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_INTERRUPT_PIN, 1), 4);
	assert_int_equal(pci_config_read(pci, DEVFN, 0x60, 1), 0x10);
	assert_int_equal(pci_config_read(pci, DEVFN, 0x6a, 1), 0x01);
	assert_int_equal(pci_config_read(pci, DEVFN, PCI_BASE_ADDRESS_0 + 16, 4), IO_BASE | 1);
	/* SeaBIOS's USBLEGSUP write is kept. */
	pci_config_write(pci, DEVFN, 0xc0, 0x8f00, 2);
	assert_int_equal(pci_config_read(pci, DEVFN, 0xc0, 2), 0x8f00);

	assert_int_equal(r16(UHCI_USBCMD), 0);
	assert_int_equal(r16(UHCI_USBSTS), UHCI_STS_HCHALTED);
	assert_int_equal(r16(UHCI_USBINTR), 0);
	assert_int_equal(r16(UHCI_FRNUM), 0);
	assert_int_equal(r16(UHCI_FLBASEADD), 0);
	assert_int_equal(r16(UHCI_SOFMOD) & 0xff, 64);
	/* The tablet is on port 1: connected, a change to report. */
	assert_int_equal(r16(UHCI_PORTSC1), UHCI_PORT_RSVD | UHCI_PORT_CCS | UHCI_PORT_CSC);
	assert_int_equal(r16(UHCI_PORTSC2), UHCI_PORT_RSVD);
	assert_int_equal(r16(0x14), 0xff7f);
	assert_int_equal(r16(0x0e), 0xff7f);
}

static void test_register_semantics(void **state)
{
	uint64_t v = 0;

	/* FLBASEADD as one outl, the low 12 bits forced 0. */
	bus_write(pio, IO_BASE + UHCI_FLBASEADD, 0x12345fffu, 4);
	bus_read(pio, IO_BASE + UHCI_FLBASEADD, 4, &v);
	assert_int_equal(v, 0x12345000u);
	/* SOFMOD by outb. */
	bus_write(pio, IO_BASE + UHCI_SOFMOD, 0x41, 1);
	bus_read(pio, IO_BASE + UHCI_SOFMOD, 1, &v);
	assert_int_equal(v, 0x41);

	/* FRNUM only while halted. */
	w16(UHCI_FRNUM, 0xf123);
	assert_int_equal(r16(UHCI_FRNUM), 0x123);
	wr32(FRAME_LIST + 4 * 0x123, UHCI_LINK_T); /* frames find nothing */
	for (unsigned i = 0; i < 1024; i++)
		wr32(FRAME_LIST + 4 * i, UHCI_LINK_T);
	bus_write(pio, IO_BASE + UHCI_FLBASEADD, FRAME_LIST, 4);
	w16(UHCI_USBCMD, UHCI_CMD_RS | UHCI_CMD_CF | UHCI_CMD_MAXP);
	assert_int_equal(r16(UHCI_USBSTS) & UHCI_STS_HCHALTED, 0);
	w16(UHCI_FRNUM, 5);
	assert_int_equal(r16(UHCI_FRNUM), 0x123);
	ms(10);
	assert_int_equal(r16(UHCI_FRNUM), 0x123 + 10);
	/* Stopping halts at once; FRNUM stays. */
	w16(UHCI_USBCMD, 0);
	assert_int_equal(r16(UHCI_USBSTS) & UHCI_STS_HCHALTED, UHCI_STS_HCHALTED);
	ms(5);
	assert_int_equal(r16(UHCI_FRNUM), 0x123 + 10);

	/* USBSTS is write-1-to-clear. */
	w16(UHCI_USBSTS, UHCI_STS_HCHALTED);
	assert_int_equal(r16(UHCI_USBSTS), 0);

	/* Ports: CSC write-1-clear; PE only with a device; PR resets. */
	w16(UHCI_PORTSC1, UHCI_PORT_CSC);
	assert_int_equal(r16(UHCI_PORTSC1), UHCI_PORT_RSVD | UHCI_PORT_CCS);
	w16(UHCI_PORTSC2, UHCI_PORT_PE);
	assert_int_equal(r16(UHCI_PORTSC2), UHCI_PORT_RSVD);
	w16(UHCI_PORTSC1, UHCI_PORT_PR);
	assert_int_equal(r16(UHCI_PORTSC1), UHCI_PORT_RSVD | UHCI_PORT_CCS | UHCI_PORT_PR);
	w16(UHCI_PORTSC1, 0);
	w16(UHCI_PORTSC1, UHCI_PORT_PE);
	assert_int_equal(r16(UHCI_PORTSC1), UHCI_PORT_RSVD | UHCI_PORT_CCS | UHCI_PORT_PE);
	/* Read-only bits stay: CCS cannot be cleared, LSDA not set. */
	w16(UHCI_PORTSC1, UHCI_PORT_PE | UHCI_PORT_LSDA);
	assert_int_equal(r16(UHCI_PORTSC1), UHCI_PORT_RSVD | UHCI_PORT_CCS | UHCI_PORT_PE);

	/* HCRESET: power-on registers, the port connected again. */
	w16(UHCI_USBINTR, 0xf);
	w16(UHCI_USBCMD, UHCI_CMD_HCRESET);
	assert_int_equal(r16(UHCI_USBCMD), 0);
	assert_int_equal(r16(UHCI_USBSTS), UHCI_STS_HCHALTED);
	assert_int_equal(r16(UHCI_USBINTR), 0);
	assert_int_equal(r16(UHCI_FRNUM), 0);
	assert_int_equal(r16(UHCI_PORTSC1), UHCI_PORT_RSVD | UHCI_PORT_CCS | UHCI_PORT_CSC);
}

/* ---- a fake driver ---- */

static uint32_t td_addr(unsigned i)
{
	return TD_BASE + 16 * i;
}

static uint32_t buf_addr(unsigned i)
{
	return BUF_BASE + 64 * i;
}

static uint32_t token(unsigned pid, unsigned addr, unsigned ep, unsigned toggle, unsigned len)
{
	return pid | addr << 8 | ep << 15 | toggle << 19 | ((len - 1) & 0x7ff) << 21;
}

static void put_td(unsigned i, uint32_t link, uint32_t ctrl, uint32_t tok)
{
	wr32(td_addr(i), link);
	wr32(td_addr(i) + 4, ctrl);
	wr32(td_addr(i) + 8, tok);
	wr32(td_addr(i) + 12, buf_addr(i));
}

/* The controller running a schedule as Linux's uhci_hcd lays it out: all
 * frames -> the interrupt QH -> the control QH, both empty. */
static void start_schedule(void)
{
	for (unsigned i = 0; i < 1024; i++)
		wr32(FRAME_LIST + 4 * i, QH_INT | UHCI_LINK_Q);
	wr32(QH_INT, QH_CTRL | UHCI_LINK_Q);
	wr32(QH_INT + 4, UHCI_LINK_T);
	wr32(QH_CTRL, UHCI_LINK_T);
	wr32(QH_CTRL + 4, UHCI_LINK_T);
	w16(UHCI_USBCMD, UHCI_CMD_HCRESET);
	bus_write(pio, IO_BASE + UHCI_FLBASEADD, FRAME_LIST, 4);
	w16(UHCI_FRNUM, 0);
	w16(UHCI_USBCMD, UHCI_CMD_RS | UHCI_CMD_CF | UHCI_CMD_MAXP);
}

static void port_reset_enable(void)
{
	w16(UHCI_PORTSC1, UHCI_PORT_PR);
	ms(50);
	w16(UHCI_PORTSC1, 0);
	w16(UHCI_PORTSC1, UHCI_PORT_CSC | UHCI_PORT_PE);
	assert_true(r16(UHCI_PORTSC1) & UHCI_PORT_PE);
}

/*
 * One control transfer on the control QH: SETUP, IN or OUT data packets of
 * 8 bytes (wLength of them), the status packet with IOC.  depth: link the
 * TDs depth first (all in one frame) or breadth first (one a frame).
 * Returns the bytes the data stage moved (IN) into out, or -1 on a STALL.
 */
static int control(unsigned addr, uint8_t rt, uint8_t req, uint16_t value, uint16_t index,
		   uint16_t length, uint8_t *out, bool depth)
{
	unsigned n = 0, ndata = (length + 7) / 8, toggle = 1, got = 0;
	bool dir_in = rt & USB_DIR_IN;
	uint32_t vf = depth ? UHCI_LINK_VF : 0, ctrl = UHCI_TD_ACTIVE | 3u << UHCI_TD_CERR_SHIFT;
	uint8_t *setup = ram + buf_addr(0);

	setup[0] = rt;
	setup[1] = req;
	le16_put(setup + 2, value);
	le16_put(setup + 4, index);
	le16_put(setup + 6, length);
	put_td(n, td_addr(1) | vf, ctrl, token(USB_PID_SETUP, addr, 0, 0, 8));
	n++;
	for (unsigned i = 0; i < ndata; i++, n++) {
		unsigned len = length - 8 * i < 8 ? length - 8 * i : 8;

		put_td(n, td_addr(n + 1) | vf, ctrl,
		       token(dir_in ? USB_PID_IN : USB_PID_OUT, addr, 0, toggle, len));
		toggle ^= 1;
	}
	put_td(n, UHCI_LINK_T, ctrl | UHCI_TD_IOC,
	       token(dir_in ? USB_PID_OUT : USB_PID_IN, addr, 0, 1, 0));
	wr32(QH_CTRL + 4, td_addr(0));
	for (unsigned t = 0; t < 50 && (rd32(td_addr(n) + 4) & UHCI_TD_ACTIVE); t++) {
		bool stalled = false;

		ms(1);
		for (unsigned i = 0; i <= n; i++)
			stalled |= rd32(td_addr(i) + 4) & (UHCI_TD_STALL | UHCI_TD_TIMEOUT);
		if (stalled) {
			wr32(QH_CTRL + 4, UHCI_LINK_T);
			w16(UHCI_USBSTS, UHCI_STS_USBERR | UHCI_STS_USBINT);
			return -1;
		}
	}
	assert_false(rd32(td_addr(n) + 4) & UHCI_TD_ACTIVE);
	assert_int_equal(rd32(QH_CTRL + 4), UHCI_LINK_T); /* the queue ran to its end */
	for (unsigned i = 1; i < n; i++) {
		uint32_t c = rd32(td_addr(i) + 4);
		unsigned actual = ((c & 0x7ff) + 1) & 0x7ff;

		assert_false(c & (UHCI_TD_ACTIVE | UHCI_TD_STALL | UHCI_TD_TIMEOUT));
		if (dir_in && out) {
			memcpy(out + got, ram + buf_addr(i), actual);
			got += actual;
		}
	}
	/* The status TD's IOC. */
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_USBINT);
	w16(UHCI_USBSTS, UHCI_STS_USBINT);
	return (int)got;
}

static void set_address(unsigned addr)
{
	assert_int_equal(control(0, 0, USB_REQ_SET_ADDRESS, (uint16_t)addr, 0, 0, NULL, true), 0);
}

/* What Linux's hub driver and usbhid do, to the end of SET_IDLE. */
static void enumerate(unsigned addr)
{
	uint8_t d[256];

	start_schedule();
	port_reset_enable();
	assert_int_equal(control(0, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 8, d, true), 8);
	assert_int_equal(d[7], 8);
	set_address(addr);
	assert_int_equal(control(addr, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 18, d, false), 18);
	assert_int_equal(control(addr, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 9, d, true), 9);
	assert_int_equal(le16_get(d + 2), 34);
	assert_int_equal(control(addr, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 34, d, true), 34);
	assert_int_equal(control(addr, 0, USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL, true), 0);
	assert_int_equal(control(addr, 0x21, 0x0a, 0, 0, 0, NULL, true), 0); /* SET_IDLE 0 */
	assert_int_equal(control(addr, 0x81, USB_REQ_GET_DESCRIPTOR, 0x2200, 0, 74, d, true), 74);
}

static void test_enumerate_descriptors(void **state)
{
	static const uint8_t dev_desc[18] = { 18, 1, 0x00, 0x01, 0, 0, 0, 8, 0x27, 0x06,
					      0x01, 0x00, 0, 0, 1, 3, 5, 1 };
	static const uint8_t cfg_desc[34] = {
		9, 2, 34, 0, 1, 1, 7, 0xa0, 50,	 9, 4, 0, 0, 1, 3, 0, 2, 0,
		9, 0x21, 1, 0, 0, 1, 0x22, 74, 0, 7, 5, 0x81, 3, 8, 0, 10,
	};
	uint8_t d[256];

	start_schedule();
	port_reset_enable();
	/* The first 8 bytes at address 0, as both SeaBIOS and Linux ask. */
	memset(d, 0, sizeof(d));
	assert_int_equal(control(0, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 8, d, true), 8);
	assert_memory_equal(d, dev_desc, 8);
	set_address(5);
	/* Address 0 is gone: a timeout, with USBERR. */
	assert_int_equal(control(0, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 8, d, true), -1);
	assert_true(rd32(td_addr(0) + 4) & UHCI_TD_TIMEOUT);
	assert_true(stats().err_timeout >= 1);
	assert_int_equal(control(5, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 18, d, false), 18);
	assert_memory_equal(d, dev_desc, 18);
	assert_int_equal(control(5, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 9, d, true), 9);
	assert_memory_equal(d, cfg_desc, 9);
	assert_int_equal(control(5, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, d, true), 34);
	assert_memory_equal(d, cfg_desc, 34);
	/* Strings: languages, then UTF-16LE. */
	assert_int_equal(control(5, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0300, 0, 255, d, true), 4);
	assert_memory_equal(d, ((uint8_t[]){ 4, 3, 0x09, 0x04 }), 4);
	assert_int_equal(control(5, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0303, 0x409, 255, d, true),
			 32);
	assert_int_equal(d[0], 32);
	assert_int_equal(d[2], 'Q');
	assert_int_equal(d[3], 0);
	assert_int_equal(d[30], 't');
	assert_int_equal(control(5, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0305, 0x409, 255, d, true), 6);
	assert_int_equal(d[2], '4');
	assert_int_equal(control(5, 0x80, USB_REQ_GET_DESCRIPTOR, 0x03ee, 0, 255, d, true), -1);
	assert_int_equal(control(5, 0x80, USB_REQ_GET_CONFIGURATION, 0, 0, 1, d, true), 1);
	assert_int_equal(d[0], 0);
	assert_int_equal(control(5, 0, USB_REQ_SET_CONFIGURATION, 2, 0, 0, NULL, true), -1);
	assert_int_equal(control(5, 0, USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL, true), 0);
	assert_int_equal(control(5, 0x80, USB_REQ_GET_CONFIGURATION, 0, 0, 1, d, true), 1);
	assert_int_equal(d[0], 1);
	/* Configured, not polled yet: the pointer still goes to PS/2. */
	assert_false(input_pointer_absolute(in));
	/* The report descriptor: 74 bytes, QEMU's. */
	assert_int_equal(control(5, 0x81, USB_REQ_GET_DESCRIPTOR, 0x2200, 0, 255, d, true), 74);
	assert_memory_equal(d, ((uint8_t[]){ 0x05, 0x01, 0x09, 0x01, 0xa1, 0x01 }), 6);
	assert_int_equal(d[72], 0xc0);
	assert_int_equal(d[73], 0xc0);
	/* X and Y: Logical Maximum (0x7fff) */
	assert_memory_equal(d + 40, ((uint8_t[]){ 0x26, 0xff, 0x7f }), 3);
	/* Class requests: idle, protocol (a tablet has none). */
	assert_int_equal(control(5, 0x21, 0x0a, 0x0500, 0, 0, NULL, true), 0);
	assert_int_equal(control(5, 0xa1, 0x02, 0, 0, 1, d, true), 1);
	assert_int_equal(d[0], 5);
	assert_int_equal(control(5, 0x21, 0x0b, 0, 0, 0, NULL, true), -1);
	assert_int_equal(control(5, 0xa1, 0x03, 0, 0, 1, d, true), -1);
	assert_int_equal(control(5, 0x21, 0x09, 0x0200, 0, 1, NULL, true), -1);
	/* SET_IDLE activates the tablet: the pointer is absolute now. */
	assert_true(input_pointer_absolute(in));
	/* Status and features. */
	assert_int_equal(control(5, 0x80, USB_REQ_GET_STATUS, 0, 0, 2, d, true), 2);
	assert_int_equal(d[0], 0);
	assert_int_equal(control(5, 0, USB_REQ_SET_FEATURE, USB_FEATURE_REMOTE_WAKEUP, 0, 0, NULL,
				 true),
			 0);
	assert_int_equal(control(5, 0x80, USB_REQ_GET_STATUS, 0, 0, 2, d, true), 2);
	assert_int_equal(d[0], 2);
	assert_int_equal(control(5, 0x81, USB_REQ_GET_INTERFACE, 0, 0, 1, d, true), 1);
	assert_int_equal(control(5, 0x01, USB_REQ_SET_INTERFACE, 0, 0, 0, NULL, true), 0);
	assert_int_equal(control(5, 0x01, USB_REQ_SET_INTERFACE, 1, 0, 0, NULL, true), -1);
	/* A port reset forgets the address and the configuration. */
	port_reset_enable();
	assert_false(input_pointer_absolute(in));
	assert_int_equal(control(0, 0x80, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 8, d, true), 8);
}

/* An interrupt IN TD for endpoint 1 in the interrupt QH. */
static void arm_poll(unsigned addr, unsigned slot, bool ioc)
{
	put_td(slot, UHCI_LINK_T,
	       UHCI_TD_ACTIVE | 3u << UHCI_TD_CERR_SHIFT | (ioc ? UHCI_TD_IOC : 0) | UHCI_TD_SPD,
	       token(USB_PID_IN, addr, 1, 0, 8));
	wr32(QH_INT + 4, td_addr(slot));
}

/* Polls until the TD completes (true, report in r) or n ms pass. */
static bool poll(unsigned slot, unsigned n, uint8_t *r)
{
	for (unsigned i = 0; i < n; i++) {
		ms(1);
		if (!(rd32(td_addr(slot) + 4) & UHCI_TD_ACTIVE)) {
			uint32_t c = rd32(td_addr(slot) + 4);

			assert_int_equal(c & 0x7ff, USB_TABLET_REPORT - 1);
			assert_false(c & UHCI_TD_NAK);
			memcpy(r, ram + buf_addr(slot), USB_TABLET_REPORT);
			return true;
		}
	}
	return false;
}

static void test_reports(void **state)
{
	uint8_t r[8];
	unsigned x = (100 * 0x7fffu + 399) / 799, y = (50 * 0x7fffu + 299) / 599;

	enumerate(3);
	assert_true(input_pointer_absolute(in));
	w16(UHCI_USBINTR, UHCI_INTR_IOC | UHCI_INTR_SPD | UHCI_INTR_TIMEOUT);
	/* Nothing new: NAK, the TD stays active with its NAK bit. */
	arm_poll(3, 10, true);
	assert_false(poll(10, 20, r));
	assert_true(rd32(td_addr(10) + 4) & UHCI_TD_NAK);
	assert_false(irq());
	assert_true(stats().naks > 0);

	input_pointer(in, 100, 50, 800, 600, 0, INPUT_BTN_LEFT);
	assert_true(poll(10, 20, r));
	assert_int_equal(r[0], INPUT_BTN_LEFT);
	assert_int_equal(le16_get(r + 1), x);
	assert_int_equal(le16_get(r + 3), y);
	assert_int_equal(r[5], 0);
	/* IOC at the end of the frame: USBINT and the line; USBSTS clears. */
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_USBINT);
	assert_true(irq());
	w16(UHCI_USBSTS, UHCI_STS_USBINT);
	assert_false(irq());

	/* Motion with the same buttons merges; a button change queues. */
	input_pointer(in, 200, 60, 800, 600, 0, INPUT_BTN_LEFT);
	input_pointer(in, 799, 599, 800, 600, 0, INPUT_BTN_LEFT);
	input_pointer(in, 799, 599, 800, 600, 2, 0);
	arm_poll(3, 10, false);
	assert_true(poll(10, 20, r));
	assert_int_equal(r[0], INPUT_BTN_LEFT);
	assert_int_equal(le16_get(r + 1), 0x7fff);
	assert_int_equal(le16_get(r + 3), 0x7fff);
	arm_poll(3, 10, false);
	assert_true(poll(10, 20, r));
	assert_int_equal(r[0], 0);
	assert_int_equal((int8_t)r[5], -2); /* two clicks towards the user */
	arm_poll(3, 10, false);
	assert_false(poll(10, 20, r));

	/* GET_REPORT answers the pointer as it is. */
	assert_int_equal(control(3, 0xa1, 0x01, 0x0100, 0, 6, r, true), 6);
	assert_int_equal(le16_get(r + 1), 0x7fff);

	/* An idle rate repeats the report: SET_IDLE 2 (8 ms). */
	assert_int_equal(control(3, 0x21, 0x0a, 0x0200, 0, 0, NULL, true), 0);
	arm_poll(3, 10, false);
	assert_true(poll(10, 20, r));
	assert_int_equal(le16_get(r + 1), 0x7fff);

	/* A short IN packet with SPD: the SPD interrupt and the QH stays. */
	assert_int_equal(control(3, 0x21, 0x0a, 0, 0, 0, NULL, true), 0);
	w16(UHCI_USBSTS, 0x3f);
	assert_false(irq());
	arm_poll(3, 10, false);
	input_pointer(in, 1, 1, 800, 600, 0, 0);
	assert_true(poll(10, 20, r));
	assert_int_equal(rd32(QH_INT + 4), td_addr(10));
	assert_true(irq());
	assert_true(stats().short_packets >= 1);
	w16(UHCI_USBSTS, UHCI_STS_USBINT);
	assert_false(irq());
}

/* Full queue: 16 button changes and more; the guest ends with the last. */
static void test_queue_full(void **state)
{
	uint8_t r[8];
	unsigned n = 0;

	enumerate(2);
	for (unsigned i = 0; i < 40; i++)
		input_pointer(in, (int)i, 0, 800, 600, 0, i & 1 ? INPUT_BTN_RIGHT : 0);
	for (;;) {
		arm_poll(2, 10, false);
		if (!poll(10, 12, r))
			break;
		n++;
	}
	assert_int_equal(n, USB_TABLET_QUEUE);
	assert_int_equal(r[0], INPUT_BTN_RIGHT); /* event 39 */
	assert_int_equal(le16_get(r + 1), (39 * 0x7fffu + 399) / 799);
}

/* Idle schedule: the timer slows to batches, FRNUM stays exact. */
static void test_idle_batching(void **state)
{
	struct uhci_stats a, b;
	uint8_t r[8];
	uint16_t f0;

	enumerate(4);
	arm_poll(4, 10, false);
	ms(40); /* idle by now */
	f0 = r16(UHCI_FRNUM); /* a register access runs what is due */
	uhci_get_stats(u, &a, false);
	fake_clock_advance(800 * MS); /* one jump: the timer runs as it is armed */
	assert_int_equal(r16(UHCI_FRNUM), (f0 + 800) & 0x7ff);
	uhci_get_stats(u, &b, false);
	assert_int_equal(b.frames - a.frames, 800);
	assert_true(b.ticks - a.ticks <= 800 / UHCI_BATCH_FRAMES + 2);
	assert_true(b.batched_ticks - a.batched_ticks >= 800 / UHCI_BATCH_FRAMES - 2);
	assert_true(rd32(td_addr(10) + 4) & UHCI_TD_ACTIVE);
	assert_true(rd32(td_addr(10) + 4) & UHCI_TD_NAK);
	/* An event leaves the batching: the report comes within a frame. */
	input_pointer(in, 10, 10, 800, 600, 0, 0);
	fake_clock_advance(MS);
	assert_false(rd32(td_addr(10) + 4) & UHCI_TD_ACTIVE);
	memcpy(r, ram + buf_addr(10), 6);
	assert_int_equal(le16_get(r + 1), (10 * 0x7fffu + 399) / 799);
}

static void test_pause_resume(void **state)
{
	uint16_t f;

	enumerate(2);
	f = r16(UHCI_FRNUM);
	uhci_type.pause(u);
	fake_clock_advance(500 * MS);
	uhci_type.resume(u);
	assert_int_equal(r16(UHCI_FRNUM), f);
	ms(3);
	assert_int_equal(r16(UHCI_FRNUM), (f + 3) & 0x7ff);
}

/* A suspended bus: an event wakes it only when the driver allowed it. */
static void test_remote_wakeup(void **state)
{
	enumerate(2);
	w16(UHCI_USBINTR, UHCI_INTR_RESUME);
	w16(UHCI_USBCMD, 0);
	w16(UHCI_PORTSC1, UHCI_PORT_PE | UHCI_PORT_SUSP);
	w16(UHCI_USBCMD, UHCI_CMD_EGSM);
	input_pointer(in, 5, 5, 800, 600, 0, 0);
	assert_false(r16(UHCI_PORTSC1) & UHCI_PORT_RD);
	assert_false(irq());

	w16(UHCI_USBCMD, UHCI_CMD_RS);
	ms(2);
	assert_int_equal(control(2, 0, USB_REQ_SET_FEATURE, USB_FEATURE_REMOTE_WAKEUP, 0, 0, NULL,
				 true),
			 0);
	w16(UHCI_USBCMD, 0);
	w16(UHCI_PORTSC1, UHCI_PORT_PE | UHCI_PORT_SUSP);
	w16(UHCI_USBCMD, UHCI_CMD_EGSM);
	input_pointer(in, 6, 6, 800, 600, 0, 0);
	assert_true(r16(UHCI_PORTSC1) & UHCI_PORT_RD);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_RD);
	assert_true(r16(UHCI_USBCMD) & UHCI_CMD_FGR);
	assert_true(irq());
	w16(UHCI_USBSTS, UHCI_STS_RD);
	assert_false(irq());
}

static void test_hostile_schedules(void **state)
{
	struct uhci_stats st;

	start_schedule();
	port_reset_enable();

	/* A TD that links to itself, active and NAKing (the tablet's
	 * interrupt endpoint at address 0): 256 links, then the frame ends. */
	put_td(0, td_addr(0), UHCI_TD_ACTIVE, token(USB_PID_IN, 0, 1, 0, 8));
	wr32(QH_INT + 4, td_addr(0));
	wr32(QH_INT + 0, td_addr(0)); /* and the QH's own link back into it */
	ms(3);
	st = stats();
	assert_true(st.link_limit >= 3 || st.qh_loops >= 3);
	assert_false(r16(UHCI_USBSTS) & (UHCI_STS_HSERR | UHCI_STS_HCPERR));

	/* Two QHs in a circle, no TDs: the loop ends the frame. */
	wr32(QH_INT, QH_CTRL | UHCI_LINK_Q);
	wr32(QH_INT + 4, UHCI_LINK_T);
	wr32(QH_CTRL, QH_INT | UHCI_LINK_Q);
	wr32(QH_CTRL + 4, UHCI_LINK_T);
	st = stats();
	ms(3);
	assert_true(stats().qh_loops >= st.qh_loops + 3);
	assert_false(r16(UHCI_USBSTS) & UHCI_STS_HCHALTED);

	/* A QH loop that keeps finding inactive TDs with no work. */
	put_td(1, UHCI_LINK_T, 0, token(USB_PID_IN, 0, 1, 0, 8));
	wr32(QH_INT + 4, td_addr(1));
	wr32(QH_CTRL + 4, td_addr(1));
	ms(2);
	assert_false(r16(UHCI_USBSTS) & UHCI_STS_HCHALTED);

	/* An invalid PID: HCPERR, halted, RS cleared, the line up. */
	put_td(2, UHCI_LINK_T, UHCI_TD_ACTIVE, token(0x55, 0, 0, 0, 8));
	wr32(QH_INT, UHCI_LINK_T);
	wr32(QH_INT + 4, td_addr(2));
	ms(2);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HCPERR);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HCHALTED);
	assert_false(r16(UHCI_USBCMD) & UHCI_CMD_RS);
	assert_true(irq());
	assert_int_equal(stats().err_pid, 1);
	w16(UHCI_USBSTS, 0x3f);
	assert_false(irq());

	/* A link outside RAM: HSERR. */
	wr32(QH_INT + 4, 0x80000000u);
	w16(UHCI_USBCMD, UHCI_CMD_RS);
	ms(2);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HSERR);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HCHALTED);
	assert_true(irq());
	w16(UHCI_USBSTS, 0x3f);

	/* The frame list itself outside RAM. */
	bus_write(pio, IO_BASE + UHCI_FLBASEADD, 0xfff00000u, 4);
	w16(UHCI_USBCMD, UHCI_CMD_RS);
	ms(2);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HSERR);
	w16(UHCI_USBSTS, 0x3f);
	bus_write(pio, IO_BASE + UHCI_FLBASEADD, FRAME_LIST, 4);

	/* A SETUP whose 8 bytes run past the end of RAM. */
	put_td(3, UHCI_LINK_T, UHCI_TD_ACTIVE, token(USB_PID_SETUP, 0, 0, 0, 8));
	wr32(td_addr(3) + 12, RAM_SIZE - 4);
	wr32(QH_INT, UHCI_LINK_T);
	wr32(QH_INT + 4, td_addr(3));
	w16(UHCI_USBCMD, UHCI_CMD_RS);
	ms(2);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HSERR);
	w16(UHCI_USBSTS, 0x3f);

	/* An IN whose MaxLen (and report) runs past the end of RAM: a
	 * GET_DESCRIPTOR's data stage into the last 2 bytes. */
	wr32(QH_INT + 4, UHCI_LINK_T);
	w16(UHCI_USBCMD, UHCI_CMD_RS);
	{
		uint8_t *setup = ram + buf_addr(4);

		memcpy(setup, ((uint8_t[]){ 0x80, 6, 0, 1, 0, 0, 8, 0 }), 8);
		put_td(4, td_addr(5) | UHCI_LINK_VF, UHCI_TD_ACTIVE,
		       token(USB_PID_SETUP, 0, 0, 0, 8));
		put_td(5, UHCI_LINK_T, UHCI_TD_ACTIVE, token(USB_PID_IN, 0, 0, 1, 8));
		wr32(td_addr(5) + 12, RAM_SIZE - 2);
		wr32(QH_INT + 4, td_addr(4));
	}
	ms(2);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HSERR);
	w16(UHCI_USBSTS, 0x3f);

	/* A TD in the read-only BIOS: read, but its status cannot be written. */
	le32_put(bios + 0, UHCI_LINK_T);
	le32_put(bios + 4, UHCI_TD_ACTIVE);
	le32_put(bios + 8, token(USB_PID_IN, 0x7f, 0, 0, 8));
	le32_put(bios + 12, buf_addr(6));
	wr32(QH_INT + 4, BIOS_GPA);
	w16(UHCI_USBCMD, UHCI_CMD_RS);
	ms(2);
	assert_true(r16(UHCI_USBSTS) & UHCI_STS_HSERR);
	assert_int_equal(le32_get(bios + 4), UHCI_TD_ACTIVE);
	st = stats();
	assert_true(st.err_host >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumerate_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_batching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_schedules, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
