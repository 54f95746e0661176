// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the PCI core's interrupt and placement machinery as a hostile
 * guest and a busy device drive it.  Bus 0 holds the i440FX and the PIIX3
 * (PIRQ routing) and two functions: one with MSI-X (70 vectors, the table in
 * 32-bit BAR 1 together with device registers, the PBA in 64-bit BAR 2) and
 * an I/O BAR; one with MSI (8 vectors, 64-bit, per-vector mask), an I/O
 * BAR and a custom region decoded from a config register.  The input is a
 * program: config writes and reads of any size, MMIO and port accesses of
 * any size at any offset of the decoded BARs, MSI/MSI-X notifications of
 * any vector, INTx levels, resets.
 *
 * Checked after every step (abort() on a violation):
 * - every MSI/MSI-X vector's message and masked state as last told to the
 *   MSI notifier equals what pci_dev_msi_msg() says now (no change missed);
 * - no unmasked MSI-X vector has its pending bit set, and no unmasked MSI
 *   vector either;
 * - the sink is called only with bus mastering on and a non-masked vector;
 * - every BAR's and the region's address as last told to the BAR notifier
 *   equals where it decodes now;
 * - the INTx GSI as last told to the INTx notifier equals
 *   pci_dev_intx_gsi(), and a function with MSI(-X) enabled holds no PIRQ.
 *
 * Built like the other targets: -fsanitize=fuzzer with -Dfuzz=true, and
 * -DFUZZ_STANDALONE as a runner replaying files, built-in seeds and fixed
 * mutations in every test run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i440fx.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/bus.h"
#include "vmm/irq.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_pci_msi: %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define DEVFN_X	   PCI_DEVFN(3, 0)
#define DEVFN_M	   PCI_DEVFN(4, 0)
#define X_VECTORS  70
#define M_VECTORS  8
#define CFG_REGION 0x60 /* DEVFN_M: dword, bit 0 enables the region at bits 15:4 */
#define REGION_LEN 16
#define NR_IDX	   (PCI_REGION_IDX(0) + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fn_state {
	struct pci_dev *dev;
	struct pci_msi_msg seen_x[X_VECTORS], seen_m[M_VECTORS];
	uint64_t bar_seen[NR_IDX];
	int gsi_seen;
};

static struct bus *pio, *mmio;
static struct pci_bus *pci;
static struct i440fx *host;
static struct piix3 *isa;
static struct fn_state fx, fm;
static unsigned long sent, notes, moves, steps;
static bool fx_level, fm_level; /* what each function asked for on INTx */

static uint64_t reg_read(void *opaque, uint64_t off, unsigned size)
{
	return off * 0x0101010101010101ULL;
}

static void reg_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
}

static const struct bus_ops reg_ops = { .read = reg_read, .write = reg_write };

static void isa_set(void *opaque, unsigned irq, bool level)
{
	CHECK(irq < 16);
}

static void sink(void *opaque, uint64_t addr, uint32_t data)
{
	/* Config space is not locked against us: single-threaded here. */
	CHECK((pci_dev_config(fx.dev)[PCI_COMMAND] & PCI_COMMAND_MASTER) ||
	      (pci_dev_config(fm.dev)[PCI_COMMAND] & PCI_COMMAND_MASTER));
	sent++;
}

static void msi_noted(void *opaque, struct pci_dev *dev, bool msix, unsigned vector,
		      const struct pci_msi_msg *msg)
{
	struct fn_state *f = opaque;

	CHECK(dev == f->dev);
	if (msix) {
		CHECK(vector < X_VECTORS);
		f->seen_x[vector] = *msg;
	} else {
		CHECK(vector < M_VECTORS);
		f->seen_m[vector] = *msg;
	}
	notes++;
}

static void bar_noted(void *opaque, struct pci_dev *dev, unsigned idx, uint64_t old_addr,
		      uint64_t new_addr)
{
	struct fn_state *f = opaque;

	CHECK(dev == f->dev);
	CHECK(idx < NR_IDX);
	CHECK(f->bar_seen[idx] == old_addr);
	CHECK(old_addr != new_addr);
	f->bar_seen[idx] = new_addr;
	moves++;
}

static void intx_noted(void *opaque, struct pci_dev *dev, int gsi)
{
	struct fn_state *f = opaque;

	CHECK(dev == f->dev);
	CHECK(gsi != f->gsi_seen);
	f->gsi_seen = gsi;
}

static uint64_t region_decode(void *opaque, struct pci_dev *dev)
{
	const uint8_t *c = pci_dev_config(dev);

	return (c[CFG_REGION] & 1) ? ((c[CFG_REGION] | c[CFG_REGION + 1] << 8) & 0xfff0) : 0;
}

static void fn_init(struct fn_state *f, unsigned devfn, uint16_t device)
{
	struct pci_dev_info info = {
		.vendor = 0x1af4, .device = device, .class_code = 0xff0000, .irq_pin = 1,
		.name = devfn == DEVFN_X ? "msix" : "msi",
	};

	memset(f, 0, sizeof(*f));
	f->gsi_seen = -1;
	f->dev = pci_dev_add(pci, devfn, &info, NULL, NULL);
	CHECK(f->dev);
	for (unsigned v = 0; v < X_VECTORS; v++)
		f->seen_x[v].masked = true;
	for (unsigned v = 0; v < M_VECTORS; v++)
		f->seen_m[v].masked = true;
}

static void machine_new(void)
{
	struct irq_line line = { .set_level = isa_set };

	pio = bus_create("pio", 0x10000);
	mmio = bus_create("mmio", 0);
	CHECK(pio && mmio);
	pci = pci_bus_create(pio, mmio);
	CHECK(pci);
	host = i440fx_create(pci);
	isa = piix3_create(pci, &line);
	CHECK(host && isa);

	fn_init(&fx, DEVFN_X, 0x1000);
	CHECK(pci_dev_set_bar(fx.dev, 0, PCI_BAR_IO, false, 32, &reg_ops, NULL) == 0);
	CHECK(pci_dev_set_bar(fx.dev, 1, PCI_BAR_MEM32, false, 0x2000, &reg_ops, NULL) == 0);
	CHECK(pci_dev_set_bar(fx.dev, 2, PCI_BAR_MEM64, true, 0x1000, NULL, NULL) == 0);
	CHECK(pci_dev_add_msix(fx.dev, X_VECTORS, 1, 0x800, 2, 0xff8 - 8) >= 0);

	fn_init(&fm, DEVFN_M, 0x1001);
	CHECK(pci_dev_set_bar(fm.dev, 0, PCI_BAR_IO, false, 16, &reg_ops, NULL) == 0);
	CHECK(pci_dev_add_msi(fm.dev, M_VECTORS, true, true) >= 0);
	CHECK(pci_dev_add_region(fm.dev, true, REGION_LEN, region_decode, &reg_ops, NULL,
				 "msi-region") == 0);
	pci_dev_wmask(fm.dev)[CFG_REGION] = 0xf1;
	pci_dev_wmask(fm.dev)[CFG_REGION + 1] = 0xff;

	pci_bus_set_msi_sink(pci, sink, NULL);
	for (struct fn_state *f = &fx; f; f = f == &fx ? &fm : NULL) {
		pci_dev_set_msi_notifier(f->dev, msi_noted, f);
		pci_dev_set_bar_notifier(f->dev, bar_noted, f);
		pci_dev_set_intx_notifier(f->dev, intx_noted, f);
	}
	pci_bus_seal(pci);
}

static void machine_free(void)
{
	pci_bus_destroy(pci);
	piix3_destroy(isa);
	i440fx_destroy(host);
	bus_destroy(pio);
	bus_destroy(mmio);
}

static uint64_t where(const struct fn_state *f, unsigned idx)
{
	if (idx < PCI_NUM_BARS)
		return pci_dev_bar_addr(f->dev, idx);
	if (idx == PCI_ROM_IDX)
		return 0; /* no ROM here */
	return pci_dev_region_addr(f->dev, idx - PCI_REGION_IDX(0));
}

static void check_fn(const struct fn_state *f)
{
	struct pci_msi_msg msg;
	uint64_t pba_bar = pci_dev_bar_addr(f->dev, 2);

	for (unsigned idx = 0; idx < NR_IDX; idx++)
		CHECK(f->bar_seen[idx] == where(f, idx));
	CHECK(f->gsi_seen == pci_dev_intx_gsi(f->dev));
	if (f == &fx) {
		for (unsigned v = 0; v < X_VECTORS; v++) {
			CHECK(pci_dev_msi_msg(f->dev, true, v, &msg) == 0);
			CHECK(msg.addr == f->seen_x[v].addr && msg.data == f->seen_x[v].data &&
			      msg.masked == f->seen_x[v].masked);
			if (!msg.masked && pba_bar) {
				uint64_t pba = 0;

				bus_read(mmio, pba_bar + 0xff0 + 8 * (v / 64), 8, &pba);
				CHECK(!((pba >> (v % 64)) & 1));
			}
		}
		CHECK(pci_dev_msi_msg(f->dev, true, X_VECTORS, &msg) == -EINVAL);
	} else {
		unsigned cap = pci_dev_config(f->dev)[PCI_CAPABILITY_LIST];
		uint32_t pend = pci_config_read(pci, DEVFN_M, cap + 0x14, 4);

		for (unsigned v = 0; v < M_VECTORS; v++) {
			CHECK(pci_dev_msi_msg(f->dev, false, v, &msg) == 0);
			CHECK(msg.addr == f->seen_m[v].addr && msg.data == f->seen_m[v].data &&
			      msg.masked == f->seen_m[v].masked);
			CHECK(msg.masked || !((pend >> v) & 1));
		}
		CHECK(pend >> M_VECTORS == 0);
	}
}

static uint64_t bar_base(const struct fn_state *f, unsigned which)
{
	switch (which % 4) {
	case 0:
		return pci_dev_bar_addr(f->dev, 0);
	case 1:
		return pci_dev_bar_addr(f->dev, 1);
	case 2:
		return pci_dev_bar_addr(f->dev, 2);
	default:
		return pci_dev_region_addr(f->dev, 0);
	}
}

static void step(struct input *in)
{
	uint8_t op = in_u8(in);
	struct fn_state *f = op & 0x80 ? &fm : &fx;
	unsigned devfn = op & 0x40 ? (f == &fx ? DEVFN_X : DEVFN_M) : PCI_DEVFN(1, 0);
	unsigned size = 1u << (in_u8(in) & 3);

	switch (op & 0x0f) {
	case 0:
	case 1:
	case 2: {
		uint8_t reg = in_u8(in);
		uint32_t val = in_u32(in);

		pci_config_write(pci, devfn, reg, val, size > 4 ? 4 : size);
		break;
	}
	case 3:
		pci_config_read(pci, devfn, in_u8(in), size > 4 ? 4 : size);
		break;
	case 4:
	case 5:
	case 6: {
		unsigned which = in_u8(in);
		uint64_t base = bar_base(f, which);
		uint64_t off = in_u16(in) & 0x1fff, v = 0;
		struct bus *b = which % 4 == 0 || which % 4 == 3 ? pio : mmio;

		if (!base)
			break;
		if (op & 0x10)
			bus_read(b, base + off, size, &v);
		else
			bus_write(b, base + off, in_u64(in), size);
		break;
	}
	case 7:
		/* The device's side: any vector, any time. */
		if (f == &fx)
			pci_msix_notify(f->dev, in_u8(in));
		else
			pci_msi_notify(f->dev, in_u8(in) & 15);
		break;
	case 8:
		pci_set_irq(f->dev, op & 0x10);
		*(f == &fx ? &fx_level : &fm_level) = op & 0x10;
		break;
	case 9:
		if ((op & 0x30) == 0x30) {
			pci_bus_reset(pci);
			fx_level = fm_level = false; /* reset drops the levels */
		}
		break;
	default: {
		/* A helper for reaching states: program one MSI-X entry. */
		uint64_t base = pci_dev_bar_addr(fx.dev, 1);
		unsigned v = in_u8(in) % X_VECTORS;

		if (base) {
			bus_write(mmio, base + 0x800 + 16 * v, 0xfee00000u, 4);
			bus_write(mmio, base + 0x800 + 16 * v + 8, in_u16(in), 4);
			bus_write(mmio, base + 0x800 + 16 * v + 12, op & 0x10 ? 1 : 0, 4);
		}
		break;
	}
	}
	steps++;
	check_fn(&fx);
	check_fn(&fm);
	/* A function with MSI or MSI-X on does not hold its PIRQ (slot 3 INTA
	 * is PIRQ C, slot 4 INTA PIRQ D; nobody else shares them). */
	if (pci_msix_enabled(fx.dev))
		CHECK(!pci_bus_pirq_level(pci, 2));
	else if (!(pci_dev_config(fx.dev)[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >> 8)))
		CHECK(pci_bus_pirq_level(pci, 2) == fx_level);
	if (pci_msi_enabled(fm.dev))
		CHECK(!pci_bus_pirq_level(pci, 3));
	else if (!(pci_dev_config(fm.dev)[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >> 8)))
		CHECK(pci_bus_pirq_level(pci, 3) == fm_level);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { .p = data, .len = size };

	machine_new();
	fx_level = fm_level = false;
	for (unsigned n = 0; in.pos < in.len && n < 2000; n++)
		step(&in);
	machine_free();
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <assert.h>

#include "tests/fuzz/standalone.h"

#define NR_SEEDS 3
#define SEED_MAX 1024

static_assert(SEED_MAX <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

static void put(struct fuzz_seed *s, const void *p, size_t n)
{
	if (s->len + n > SEED_MAX)
		return;
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

static void cfgw(struct fuzz_seed *s, bool m, unsigned reg, uint32_t val, unsigned size_log2)
{
	uint8_t h[3] = { (uint8_t)((m ? 0x80 : 0) | 0x40), (uint8_t)size_log2, (uint8_t)reg };

	put(s, h, 3);
	put(s, &val, 4);
}

static void isa_w(struct fuzz_seed *s, unsigned reg, uint32_t val)
{
	uint8_t h[3] = { 0x00, 2, (uint8_t)reg };

	put(s, h, 3);
	put(s, &val, 4);
}

static void entry(struct fuzz_seed *s, unsigned v, uint16_t data, bool masked)
{
	uint8_t h[3] = { (uint8_t)(0x0a | (masked ? 0x10 : 0)), 0, (uint8_t)v };

	put(s, h, 3);
	put(s, &data, 2);
}

static void notify(struct fuzz_seed *s, bool m, unsigned v)
{
	uint8_t h[3] = { (uint8_t)((m ? 0x80 : 0) | 0x07), 0, (uint8_t)v };

	put(s, h, 3);
}

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	s->len = 0;
	/* Routes, BARs, decoding on. */
	isa_w(s, 0x60, 0x0b0b0a0a);
	cfgw(s, false, PCI_BASE_ADDRESS_0, 0xc000, 2);
	cfgw(s, false, PCI_BASE_ADDRESS_0 + 4, 0xfe000000u, 2);
	cfgw(s, false, PCI_BASE_ADDRESS_0 + 8, 0xfe100000u, 2);
	cfgw(s, false, PCI_COMMAND, 0x7, 1);
	cfgw(s, true, PCI_BASE_ADDRESS_0, 0xc100, 2);
	cfgw(s, true, CFG_REGION, 0xc201, 2);
	cfgw(s, true, PCI_COMMAND, 0x5, 1);
	switch (which) {
	case 0: /* MSI-X: enable, program, pending and unmask */
		cfgw(s, false, 0x42, 0x8000, 1);
		notify(s, false, 3);
		entry(s, 3, 0x4041, false);
		cfgw(s, false, 0x42, 0xc000, 1);
		notify(s, false, 3);
		cfgw(s, false, 0x42, 0x8000, 1);
		entry(s, 69, 0x4045, true);
		notify(s, false, 69);
		entry(s, 69, 0x4045, false);
		break;
	case 1: /* MSI: 64-bit, mask and pending */
		cfgw(s, true, 0x44, 0xfee00000u, 2);
		cfgw(s, true, 0x4c, 0x4040, 1);
		cfgw(s, true, 0x50, 0x2, 2);
		cfgw(s, true, 0x42, 0x0031, 1);
		notify(s, true, 1);
		notify(s, true, 2);
		cfgw(s, true, 0x50, 0x0, 2);
		cfgw(s, true, 0x42, 0x0001, 1);
		notify(s, true, 5);
		break;
	default: /* overlap and healing: the region on the I/O BAR, then moves */
		cfgw(s, true, CFG_REGION, 0xc001, 2);
		cfgw(s, false, PCI_BASE_ADDRESS_0, 0xd000, 2);
		cfgw(s, true, PCI_BASE_ADDRESS_0 + 0, 0xc000, 2);
		cfgw(s, false, PCI_BASE_ADDRESS_0 + 8, 0xfe000000u, 2);
		cfgw(s, false, PCI_COMMAND, 0x0, 1);
		isa_w(s, 0x62, 0x80);
		cfgw(s, false, PCI_COMMAND, 0x7, 1);
		put(s, (uint8_t[]){ 0x39, 0 }, 2); /* reset */
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint32_t interesting[] = {
		0, 0x1, 0x7, 0x31, 0x4041, 0x8000, 0xc000, 0xc001,
		0xfe000000u, 0xfe100000u, 0xfee00000u, 0xffffffffu,
	};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		seed_build(it % NR_SEEDS, &s);
		fuzz_mutate(&s, interesting, sizeof(interesting) / sizeof(interesting[0]), SEED_MAX);
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
	.name = "fuzz_pci_msi",
	.seed_prefix = "pci-msi-seed-",
	.nr_seeds = NR_SEEDS,
	.seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	run_mutations(20000);
	printf("fuzz_pci_msi: %lu inputs, %lu steps checked, %lu messages sent, %lu notifier "
	       "calls, %lu BAR moves, no violation\n",
	       fuzz_runs(), steps, sent, notes, moves);
	return 0;
}
#endif
