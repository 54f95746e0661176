// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the PIIX3 UHCI (devices/uhci.c) with the USB tablet on port
 * 1 (devices/usb_tablet.c, devices/usb.c), on the real PCI core and input
 * router, as a hostile guest drives it.  Each input is a program: register
 * accesses of any size at any offset of BAR4, config accesses, words
 * written anywhere in a small guest RAM (frame lists, queue heads, TDs,
 * SETUP packets, buffers), a ready-made bring-up (frame list, port reset
 * and enable, RS), TDs laid out from the input, pointer events, time
 * passing on a fake clock (the frame timer), pauses, resumes and machine
 * resets.  The RAM is followed by a hole and a read-only BIOS.
 *
 * Checked after every step, abort() on a violation (ASan checks every
 * access of guest memory besides):
 * - FRNUM is 11 bits and the ports' reserved bit 7 reads 1;
 * - HSERR or HCPERR means the interrupt line is up;
 * - the read-only BIOS is never written.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/uhci.h"
#include "devices/usb.h"
#include "tests/unit/fake_timer.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"
#include "vmm/input.h"
#include "vmm/le.h"
#include "vmm/loop.h"

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_uhci: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

#define RAM_SIZE  0x40000u /* 256 KiB, then nothing up to the BIOS */
#define BIOS_GPA  0xffff0000u
#define BIOS_SIZE 0x10000u
#define IO_BASE	  0xc000u
#define DEVFN	  PCI_DEVFN(1, 2)
#define FL	  0x1000u
#define QH0	  0x2000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fake timers need no loop; without fast paths nothing watches an fd. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	return 0;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

/* The input as a stream of little-endian integers, 0 past its end (not
 * tests/fuzz/fuzz_input.h: its struct input would meet vmm/input.h's). */
struct prog {
	const uint8_t *p;
	size_t len, pos;
};

static uint8_t p8(struct prog *g)
{
	return g->pos < g->len ? g->p[g->pos++] : 0;
}

static uint16_t p16(struct prog *g)
{
	uint16_t lo = p8(g);

	return (uint16_t)(lo | p8(g) << 8);
}

static uint32_t p32(struct prog *g)
{
	uint32_t lo = p16(g);

	return lo | (uint32_t)p16(g) << 16;
}

/* Simulated time per input, so that no input takes long: 2 s. */
#define TIME_BUDGET_NS 2000000000ull

static uint8_t *ram, *bios, *bios_copy;
static uint64_t time_used;
static struct pci_bus *pci_of_check;

static void pass_time(uint64_t ns)
{
	if (ns > TIME_BUDGET_NS - time_used)
		ns = TIME_BUDGET_NS - time_used;
	time_used += ns;
	fake_clock_advance(ns);
}
static bool pirq_level[4];
static unsigned long steps, errors_seen, completed, naks;

static void router(void *opaque, unsigned pirq, bool level)
{
	pirq_level[pirq] = level;
}

static uint16_t reg(struct bus *pio, unsigned off)
{
	uint64_t v = 0;

	bus_read(pio, IO_BASE + off, 2, &v);
	return (uint16_t)v;
}

static void check_invariants(struct uhci *u, struct bus *pio)
{
	uint16_t sts;

	CHECK(memcmp(bios, bios_copy, BIOS_SIZE) == 0);
	steps++;
	/* A config write may have moved the BAR or turned decoding off. */
	if (pci_dev_bar_addr(uhci_pci_dev(u), UHCI_BAR) != IO_BASE)
		return;
	sts = reg(pio, UHCI_USBSTS);

	CHECK(reg(pio, UHCI_FRNUM) <= 0x7ff);
	CHECK(reg(pio, UHCI_PORTSC1) & UHCI_PORT_RSVD);
	CHECK(reg(pio, UHCI_PORTSC2) & UHCI_PORT_RSVD);
	if (sts & (UHCI_STS_HSERR | UHCI_STS_HCPERR)) {
		errors_seen++;
		/* unless INTx is disabled in COMMAND */
		CHECK(pirq_level[3] ||
		      (pci_config_read(pci_of_check, DEVFN, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE));
	}
}

static void bring_up(struct bus *pio)
{
	for (unsigned i = 0; i < 1024; i++)
		le32_put(ram + FL + 4 * i, QH0 | UHCI_LINK_Q);
	le32_put(ram + QH0, UHCI_LINK_T);
	bus_write(pio, IO_BASE + UHCI_FLBASEADD, FL, 4);
	bus_write(pio, IO_BASE + UHCI_PORTSC1, UHCI_PORT_PR, 2);
	bus_write(pio, IO_BASE + UHCI_PORTSC1, 0, 2);
	bus_write(pio, IO_BASE + UHCI_PORTSC1, UHCI_PORT_PE | UHCI_PORT_CSC, 2);
	bus_write(pio, IO_BASE + UHCI_USBCMD, UHCI_CMD_RS | UHCI_CMD_MAXP, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct uhci_args args = { .tablet = true };
	struct prog g = { data, size, 0 };
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	struct guest_mem mem;
	struct dev_ctx ctx;
	struct board_entry e = { .type = &uhci_type, .id = "uhci", .irq = -1, .devfn = (int)DEVFN,
				 .arg = &args };
	struct input *in;
	struct uhci *u;
	char err[128];
	unsigned n = 0;

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		bios = aligned_alloc(4096, BIOS_SIZE);
		bios_copy = malloc(BIOS_SIZE);
		if (!ram || !bios || !bios_copy)
			abort();
		for (unsigned i = 0; i < BIOS_SIZE; i++)
			bios[i] = (uint8_t)(i * 7 + 1);
		memcpy(bios_copy, bios, BIOS_SIZE);
	}
	memset(ram, 0, RAM_SIZE);
	time_used = 0;
	memset(&mem, 0, sizeof(mem));
	memset(pirq_level, 0, sizeof(pirq_level));
	CHECK(guest_mem_add(&mem, 0, RAM_SIZE, ram, false, "ram") == 0);
	CHECK(guest_mem_add(&mem, BIOS_GPA, BIOS_SIZE, bios, true, "bios") == 0);
	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	pci = pci_bus_create(pio, mmio);
	in = input_new();
	if (!pio || !mmio || !pci || !in)
		abort();
	pci_bus_set_router(pci, router, NULL);
	pci_of_check = pci;
	input_set_running(in, true);
	ctx = (struct dev_ctx){ .pio = pio, .mmio = mmio, .pci = pci, .mem = &mem, .input = in };
	u = uhci_type.create(&ctx, &e, err, sizeof(err));
	CHECK(u != NULL);
	pci_bus_seal(pci);
	pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 4 * UHCI_BAR, IO_BASE, 4);
	pci_config_write(pci, DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);

	while (g.pos < g.len && n++ < 1000) {
		uint8_t op = p8(&g);
		unsigned sz = 1u << ((op >> 4) & 3), off;
		uint64_t v = 0;
		uint32_t a;

		if (sz == 8)
			sz = 4;
		switch (op & 0xf) {
		case 0: /* register write, any offset and size */
			off = p8(&g) & 0x3f; /* past the 32 bytes too: nobody there */
			bus_write(pio, IO_BASE + off, p32(&g), sz);
			break;
		case 1: /* register read */
			off = p8(&g) & 0x1f;
			bus_read(pio, IO_BASE + off, sz, &v);
			break;
		case 2: /* a word anywhere in the RAM */
			a = (p32(&g) % (RAM_SIZE / 4)) * 4;
			le32_put(ram + a, p32(&g));
			break;
		case 3: /* time passes: up to ~64 ms, in quarter milliseconds */
			pass_time((uint64_t)p8(&g) * 250000ull);
			break;
		case 4: /* a pointer event (to the tablet once it is active) */
			input_pointer(in, (int16_t)p16(&g), (int16_t)p16(&g), 1024, 768,
				      (int8_t)p8(&g), p8(&g) & 7);
			break;
		case 5: /* pause / resume */
			if (op & 0x40)
				uhci_type.pause(u);
			else
				uhci_type.resume(u);
			break;
		case 6: /* machine reset */
			uhci_type.quiesce(u);
			pci_bus_reset(pci);
			uhci_type.resume(u);
			pci_config_write(pci, DEVFN, PCI_BASE_ADDRESS_0 + 4 * UHCI_BAR, IO_BASE, 4);
			pci_config_write(pci, DEVFN, PCI_COMMAND,
					 PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
			break;
		case 7: /* config space */
			off = p8(&g) & ~(sz - 1);
			if (op & 0x40)
				pci_config_read(pci, DEVFN, off, sz);
			else
				pci_config_write(pci, DEVFN, off, p32(&g), sz);
			break;
		case 8:
			bring_up(pio);
			break;
		case 9: { /* a TD at slot s (of 64 at 0x3000) hung on the QH's element */
			unsigned s = p8(&g) & 63;
			uint32_t td = 0x3000 + 16 * s;

			le32_put(ram + td, p32(&g));	 /* link */
			le32_put(ram + td + 4, p32(&g) | UHCI_TD_ACTIVE);
			le32_put(ram + td + 8, p32(&g)); /* token */
			le32_put(ram + td + 12, 0x8000 + 64 * s); /* its buffer */
			if (op & 0x40)
				le32_put(ram + QH0 + 4, td);
			break;
		}
		case 10: /* 8 bytes of a buffer: a SETUP packet */
			a = 0x8000 + 64 * (p8(&g) & 63);
			for (unsigned i = 0; i < 8; i++)
				ram[a + i] = p8(&g);
			break;
		default: /* a long stretch of time at once: up to ~1 s */
			pass_time((uint64_t)p8(&g) * 4000000ull);
			break;
		}
		check_invariants(u, pio);
	}
	{
		struct uhci_stats st;

		uhci_get_stats(u, &st, false);
		completed += st.completed;
		naks += st.naks;
	}
	uhci_type.destroy(u);
	input_free(in);
	pci_bus_destroy(pci);
	bus_destroy(pio);
	bus_destroy(mmio);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

#define NR_SEEDS 3

static void put(struct fuzz_seed *s, const void *p, size_t n)
{
	if (s->len + n <= FUZZ_SEED_MAX) {
		memcpy(s->b + s->len, p, n);
		s->len += n;
	}
}

static void put8(struct fuzz_seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void put32(struct fuzz_seed *s, uint32_t v)
{
	uint8_t b[4];

	le32_put(b, v);
	put(s, b, 4);
}

static void td(struct fuzz_seed *s, unsigned slot, uint32_t link, uint32_t ctrl, uint32_t tok,
	       bool hang)
{
	put8(s, (uint8_t)(9 | (hang ? 0x40 : 0)));
	put8(s, (uint8_t)slot);
	put32(s, link);
	put32(s, ctrl);
	put32(s, tok);
}

#define TDA(i) (0x3000u + 16u * (i))

static uint32_t tok(unsigned pid, unsigned addr, unsigned ep, unsigned len)
{
	return pid | addr << 8 | ep << 15 | ((len - 1) & 0x7ff) << 21;
}

static void setup_pkt(struct fuzz_seed *s, unsigned slot, const uint8_t *b)
{
	put8(s, 10);
	put8(s, (uint8_t)slot);
	put(s, b, 8);
}

static void wait_ms(struct fuzz_seed *s, uint8_t quarter_ms)
{
	put8(s, 3);
	put8(s, quarter_ms);
}

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	static const uint8_t get_dev[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
	static const uint8_t set_addr[8] = { 0, 5, 1, 0, 0, 0, 0, 0 };
	static const uint8_t set_cfg[8] = { 0, 9, 1, 0, 0, 0, 0, 0 };
	static const uint8_t set_idle[8] = { 0x21, 0x0a, 0, 0, 0, 0, 0, 0 };
	static const uint8_t get_rep[8] = { 0x81, 6, 0, 0x22, 0, 0, 74, 0 };
	const uint32_t vf = UHCI_LINK_VF, ctl = 3u << UHCI_TD_CERR_SHIFT;

	s->len = 0;
	put8(s, 8); /* bring-up */
	wait_ms(s, 8);
	switch (which) {
	case 0: /* enumeration: device descriptor, address, configuration */
		setup_pkt(s, 0, get_dev);
		td(s, 1, TDA(2) | vf, ctl, tok(USB_PID_IN, 0, 0, 8), false);
		td(s, 2, TDA(3) | vf, ctl, tok(USB_PID_IN, 0, 0, 8), false);
		td(s, 3, UHCI_LINK_T, ctl | UHCI_TD_IOC, tok(USB_PID_OUT, 0, 0, 0), false);
		td(s, 0, TDA(1) | vf, ctl, tok(USB_PID_SETUP, 0, 0, 8), true);
		wait_ms(s, 12);
		setup_pkt(s, 4, set_addr);
		td(s, 5, UHCI_LINK_T, ctl | UHCI_TD_IOC, tok(USB_PID_IN, 0, 0, 0), false);
		td(s, 4, TDA(5) | vf, ctl, tok(USB_PID_SETUP, 0, 0, 8), true);
		wait_ms(s, 12);
		setup_pkt(s, 6, set_cfg);
		td(s, 7, UHCI_LINK_T, ctl, tok(USB_PID_IN, 1, 0, 0), false);
		td(s, 6, TDA(7) | vf, ctl, tok(USB_PID_SETUP, 1, 0, 8), true);
		wait_ms(s, 12);
		setup_pkt(s, 8, set_idle);
		td(s, 9, UHCI_LINK_T, ctl, tok(USB_PID_IN, 1, 0, 0), false);
		td(s, 8, TDA(9) | vf, ctl, tok(USB_PID_SETUP, 1, 0, 8), true);
		wait_ms(s, 12);
		setup_pkt(s, 10, get_rep);
		td(s, 11, TDA(12) | vf, ctl, tok(USB_PID_IN, 1, 0, 64), false);
		td(s, 12, UHCI_LINK_T, ctl, tok(USB_PID_OUT, 1, 0, 0), false);
		td(s, 10, TDA(11) | vf, ctl, tok(USB_PID_SETUP, 1, 0, 8), true);
		wait_ms(s, 12);
		/* the interrupt endpoint, an event, a report */
		td(s, 13, UHCI_LINK_T, ctl | UHCI_TD_IOC, tok(USB_PID_IN, 1, 1, 8), true);
		put(s, (uint8_t[]){ 0, UHCI_USBINTR, 0xf, 0, 0, 0 }, 6);
		wait_ms(s, 40);
		put(s, (uint8_t[]){ 4, 0x10, 0x01, 0x20, 0x01, 0xff, 1 }, 7);
		wait_ms(s, 40);
		put(s, (uint8_t[]){ 1 | 0x10, UHCI_USBSTS }, 2);
		break;
	case 1: /* loops: a self-linked TD, QHs in a circle, then a bad PID */
		td(s, 0, 0x3000, ctl, tok(USB_PID_IN, 0, 1, 8), true);
		wait_ms(s, 20);
		put(s, (uint8_t[]){ 2, 0x00, 0x08, 0, 0 }, 5); /* QH0 link -> QH0|Q */
		put32(s, QH0 | UHCI_LINK_Q);
		wait_ms(s, 20);
		td(s, 1, UHCI_LINK_T, ctl, tok(0x55, 0, 0, 8), true);
		wait_ms(s, 8);
		put(s, (uint8_t[]){ 0 | 0x10, UHCI_USBSTS, 0x3f, 0, 0, 0 }, 6);
		break;
	default: /* pointers out of RAM, a pause and a reset */
		td(s, 0, 0x7fff0000u, ctl, tok(USB_PID_IN, 0x7f, 0, 8), true);
		wait_ms(s, 8);
		put(s, (uint8_t[]){ 0 | 0x20, UHCI_FLBASEADD, 0, 0, 0xf0, 0xff }, 6);
		put(s, (uint8_t[]){ 0 | 0x10, UHCI_USBCMD, 1, 0, 0, 0 }, 6);
		wait_ms(s, 8);
		put8(s, 5 | 0x40);
		put(s, (uint8_t[]){ 11, 200 }, 2);
		put8(s, 5);
		put8(s, 6);
		put8(s, 8);
		wait_ms(s, 200);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = { 0,	    1,		 2,	  4,
						0x2002,	    0x3000,	 0xffffffffu, 0x00800000u,
						0x00e00069u, 0x7fe0002du, 0x3ff,   RAM_SIZE - 2 };
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]),
			    FUZZ_SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
	.name = "fuzz_uhci",
	.seed_prefix = "uhci-seed-",
	.nr_seeds = NR_SEEDS,
	.seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(20000);
	printf("fuzz_uhci: %lu inputs, %lu steps checked, %lu with HSERR/HCPERR, %lu TDs "
	       "completed, %lu NAKs, no violation\n",
	       fuzz_runs(), steps, errors_seen, completed, naks);
	return 0;
}
#endif
