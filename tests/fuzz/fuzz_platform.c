// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the PC platform's guest-facing parsers wired together as
 * vmm/vm.c and vmm/pc.c wire them, on real port-I/O and MMIO buses but
 * without KVM.  The input is a program of port accesses (a dense selector
 * over the ports that something claims, size 1/2/4, read or write, value),
 * MMIO accesses near the BARs and ROM BARs the guest may have programmed,
 * PCI configuration accesses through 0xcf8/0xcfc, clock steps that fire the
 * devices' timers (tests/unit/fake_timer.c), host input (keys, mouse, power
 * button, GPEs, system reset, bytes on COM1) and fw_cfg DMA descriptors in a
 * small RAM.
 *
 * On the buses: i440FX (0xcf8/0xcfc, 0xcf9 passed to the reset control
 * register), PIIX3 as PIRQ router, PIIX4 PM (PM block where the guest puts
 * PMBA, APM 0xb2/0xb3, GPE0 0xafe0), COM1 (16550A at 0x3f8), the i8042
 * (0x60/0x64), the RTC/CMOS (0x70/0x71), port 0x92, fw_cfg (0x510, DMA
 * 0x514) and the POST port; not IDE (fuzz_ide has it).
 * Two stand-in PCI functions (00:05.0, 00:06.0) bring I/O, 32-bit and
 * 64-bit memory BARs, expansion ROMs and INTx pins, so that BAR decoding
 * and PIRQ routing have something to move; none of the machine's own
 * functions has a BAR.  Machine resets requested by a device run after the
 * access that asked, in vmm/vm.c's order, as the main thread would.
 *
 * The interrupt lines go through the machine's own wired-OR mux
 * (vmm/irq_mux.c), with the sources the machine takes in its order
 * (platform_wire_irqs()).  Checked after every operation, each a failure
 * (abort, so the runner exits non-zero): no crash or sanitizer report; the
 * mux tells its sink (KVM_IRQ_LINE) of changes only, and every GSI equals
 * the OR of its sources; the PIRQ levels equal what the stand-ins assert
 * and the router's source holds exactly the ISA lines the routed PIRQs
 * name; every other source stays on its own line; the SCI follows
 * PM1/GPE0 status and enable, the RTC line register C's IRQF and the i8042
 * lines its status register; register read-backs (0xcf8 latch, 0xcf9,
 * 0x92, fw_cfg DMA signature, PM timer width, 8086:1237 at 00:00.0); no
 * range that should decode (a stand-in's I/O BAR, the PM block) stays off
 * the bus while its place is free; after a reset, everything at power-on
 * state.  At the end: the buses still dispatch and accept new regions, the
 * read-only page is untouched, and (ASan) nothing leaked.
 *
 * Built like fuzz_fw_cfg: with -fsanitize=fuzzer as a libFuzzer target
 * (-Dfuzz=true), and with -DFUZZ_STANDALONE as a runner for the normal test
 * suite that replays files given on the command line, built-in seeds and a
 * fixed number of mutations of them.
 *   fuzz_platform [FILE|DIR]...      fuzz_platform --write-seeds DIR
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/fw_cfg.h"
#include "devices/i440fx.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "devices/piix4_pm.h"
#include "devices/port92.h"
#include "devices/reset_control.h"
#include "devices/rtc_cmos.h"
#include "devices/uart16550.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/unit/fake_timer.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"
#include "vmm/irq_mux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x10000
#define ROM_BASE 0x10000
#define ROM_SIZE 0x1000

#define RTC_PORT   0x70
#define RTC_GSI	   8
#define COM1_GSI   4
#define COM1_PORT  0x3f8
#define UART_MCR   4
#define MCR_OUT2   0x08
#define PORT92	   0x92
#define POST_PORT  0x80
#define PC_PM_BASE 0x600

/* Stand-in PCI functions */
#define STUB_A_DEVFN PCI_DEVFN(5, 0)
#define STUB_B_DEVFN PCI_DEVFN(6, 0)
#define STUB_REGS    64
#define STUB_A_ROM   3000 /* rounded up to 4 KiB by the PCI core */
#define STUB_B_ROM   2048

/* Fake time one input may spend; the RTC's fastest periodic rate fires
 * every 122 us, so this bounds the timer callbacks per input. */
#define MAX_ADVANCE_NS (30ULL * 1000000000ULL)

#define WP_SIZE 8

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(real_stderr ? real_stderr : stderr, "fuzz_platform: %s:%d: %s\n",  \
				__FILE__, __LINE__, #cond);                                        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static FILE *real_stderr, *dev_null;

static uint8_t ram[RAM_SIZE], rom[ROM_SIZE];
static struct guest_mem mem;

/* ---- recorders ---- */

/* The interrupt sources on the wired-OR ISA lines, in the order the machine
 * takes them from its irq_mux (platform_wire_irqs()). */
enum {
	SRC_RTC,
	SRC_COM1,
	SRC_KBD,
	SRC_AUX,
	SRC_ROUTER, /* PIIX3: names the ISA IRQ per call */
	SRC_IDE,    /* likewise, IRQ 14 and 15 */
	SRC_SCI,
	NR_SRC
};

/* What KVM_IRQ_LINE holds: the last level the mux wrote to each GSI. */
static bool wire[IRQ_MUX_LINES];

static bool reset_pending, a20_on;

static unsigned long nr_ops, accesses, irq_edges, resets, exits, dma_runs, wp_calls, key_events,
    mouse_events, com1_irq_ops, shared_line_ops, timer_ns_total;

static bool piix3_irq_ok(unsigned irq)
{
	return irq >= 3 && irq <= 15 && irq != 8 && irq != 13;
}

/* The mux's sink, where the machine has kvm_set_irq(). */
static void rec_gsi(void *opaque, unsigned gsi, bool level)
{
	CHECK(gsi < 16);
	/* The mux tells its sink of changes only. */
	CHECK(wire[gsi] != level);
	wire[gsi] = level;
	irq_edges++;
}

static void ev_reset(void *opaque)
{
	reset_pending = true;
}

static void ev_exit(void *opaque, int status)
{
	CHECK(status == 0); /* only S5 soft-off asks */
	exits++;
}

static void on_a20(void *opaque, bool on)
{
	a20_on = on;
}

static void on_wp_write(void *opaque, const uint8_t *d, uint32_t size, uint32_t offset,
			uint32_t len)
{
	CHECK(d != NULL && size == WP_SIZE);
	CHECK(len > 0 && offset <= size && len <= size - offset);
	wp_calls++;
}

static uint64_t probe_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0x5a00 + offset;
}

static void sink_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
}

static const struct bus_ops probe_ops = {.read = probe_read, .write = sink_write};

static void com1_write(void *opaque, const uint8_t *buf, size_t len)
{
	CHECK(buf != NULL && len == 1);
}

static const struct uart16550_backend com1_be = {.write = com1_write};
static const struct bus_ops post_ops = {.write = sink_write};

/* ---- stand-in PCI functions ---- */

struct stub;

struct stub_bar {
	struct stub *s;
	uint64_t size;
};

struct stub {
	struct pci_dev *dev;
	unsigned devfn, pirq;
	uint64_t io_default;
	struct stub_bar bar[PCI_NUM_BARS];
	uint8_t regs[STUB_REGS];
	bool irq;
};

static uint64_t stub_read(void *opaque, uint64_t offset, unsigned size)
{
	struct stub_bar *b = opaque;
	uint64_t v = 0;

	/* The bus hands over only accesses that fit the region. */
	CHECK(size <= b->size && offset <= b->size - size);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b->s->regs[(offset + i) % STUB_REGS] << (8 * i);
	return v;
}

/* Bit 0 of register 0 is the function's INTx pin. */
static void stub_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct stub_bar *b = opaque;
	struct stub *s = b->s;

	CHECK(size <= b->size && offset <= b->size - size);
	for (unsigned i = 0; i < size; i++)
		s->regs[(offset + i) % STUB_REGS] = (uint8_t)(value >> (8 * i));
	if (offset == 0) {
		s->irq = s->regs[0] & 1;
		pci_set_irq(s->dev, s->irq);
	}
}

static const struct bus_ops stub_ops = {.read = stub_read, .write = stub_write};

static void stub_reset(void *opaque, struct pci_dev *dev)
{
	struct stub *s = opaque;

	memset(s->regs, 0, sizeof(s->regs));
	s->irq = false;
	pci_set_irq(dev, false);
}

static const struct pci_dev_ops stub_pci_ops = {.reset = stub_reset};

static uint8_t stub_rom_byte(unsigned which, uint64_t off)
{
	unsigned len = which ? STUB_B_ROM : STUB_A_ROM;

	if (off >= len)
		return 0;
	if (off < 2)
		return off ? 0xaa : 0x55;
	return (uint8_t)(off * 13 + which);
}

static void stub_add_bar(struct stub *s, unsigned idx, enum pci_bar_kind kind, bool prefetch,
			 uint64_t size)
{
	s->bar[idx] = (struct stub_bar){.s = s, .size = size};
	CHECK(pci_dev_set_bar(s->dev, idx, kind, prefetch, size, &stub_ops, &s->bar[idx]) == 0);
}

/* A: 05.0 INTA, I/O 32, mem 4K, 64-bit prefetchable 16K, ROM 3000 bytes.
 * B: 06.0 INTB, I/O 16, mem 4K (same size as A's, to collide), mem 16 in
 * BAR5, ROM 2K. */
static void stub_create(struct pci_bus *pci, struct stub *s, unsigned which)
{
	struct pci_dev_info info = {
	    .vendor = 0x1234,
	    .device = (uint16_t)(0x5670 + which),
	    .class_code = 0x078000,
	    .irq_pin = (uint8_t)(which + 1),
	    .name = which ? "stubB" : "stubA",
	};
	uint8_t rom_data[STUB_A_ROM];
	unsigned rom_len = which ? STUB_B_ROM : STUB_A_ROM;

	memset(s, 0, sizeof(*s));
	s->devfn = which ? STUB_B_DEVFN : STUB_A_DEVFN;
	s->pirq = (PCI_SLOT(s->devfn) + info.irq_pin + 2) & 3;
	s->io_default = which ? 0xc100 : 0xc000;
	s->dev = pci_dev_add(pci, s->devfn, &info, &stub_pci_ops, s);
	CHECK(s->dev != NULL);
	if (which == 0) {
		stub_add_bar(s, 0, PCI_BAR_IO, false, 32);
		stub_add_bar(s, 1, PCI_BAR_MEM32, false, 0x1000);
		stub_add_bar(s, 2, PCI_BAR_MEM64, true, 0x4000);
	} else {
		stub_add_bar(s, 0, PCI_BAR_IO, false, 16);
		stub_add_bar(s, 1, PCI_BAR_MEM32, false, 0x1000);
		stub_add_bar(s, 5, PCI_BAR_MEM32, false, 16);
	}
	for (unsigned i = 0; i < rom_len; i++)
		rom_data[i] = stub_rom_byte(which, i);
	CHECK(pci_dev_set_rom(s->dev, rom_data, rom_len) == 0);
	CHECK(pci_dev_add_cap(s->dev, 0x09, 8) > 0);
	CHECK(pci_dev_add_cap(s->dev, 0x05, 10) > 0);
}

/* ---- the platform ---- */

struct platform {
	struct irq_mux mux;
	uint32_t src_bit[NR_SRC]; /* each source's bit in mux.level[] */
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	struct i440fx *host;
	struct piix3 *isa;
	struct piix4_pm *pm;
	struct i8042 *kbc;
	struct rtc_cmos *rtc;
	struct fw_cfg *fw;
	struct uart16550 *uart;
	struct reset_control rc;
	struct port92 p92;
	struct stub stub[2];
	int id_conf_addr, id_rtc, id_fw_dma;
	uint32_t latch; /* what 0xcf8 should read back */
	uint16_t preset_pmba;
	bool dma;
	uint64_t advanced;
};

static void add_fw_cfg_items(struct fw_cfg *fw)
{
	static const uint8_t boot_wait[2] = {0xe8, 0x03};
	static const char bootorder[] = "/pci@i0cf8/ide@1,1/drive@0/disk@0\n";
	uint8_t e820[2 * 20] = {0};
	uint8_t blob[300], wp[WP_SIZE] = {0};

	/* RAM [0, 64K), reserved [0xfeffc000, +16K), as add_e820() lays them out. */
	e820[10] = 1;
	e820[16] = 1;
	e820[20 + 1] = 0xc0;
	e820[20 + 2] = 0xff;
	e820[20 + 3] = 0xfe;
	e820[28 + 1] = 0x40;
	e820[36] = 2;
	for (unsigned i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i ^ 0x3c);
	CHECK(fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, RAM_SIZE) == 0);
	CHECK(fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, 2) == 0);
	CHECK(fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, 2) == 0);
	CHECK(fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, 1) == 0);
	CHECK(fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, 0) == 0);
	CHECK(fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1) == 0);
	CHECK(fw_cfg_add_file(fw, "etc/boot-menu-wait", boot_wait, 2, false) == 0);
	CHECK(fw_cfg_add_file(fw, "etc/e820", e820, sizeof(e820), false) == 0);
	CHECK(fw_cfg_add_file(fw, "bootorder", bootorder, sizeof(bootorder) - 1, false) == 0);
	CHECK(fw_cfg_add_file(fw, "etc/table-loader", blob, sizeof(blob), false) == 0);
	CHECK(fw_cfg_add_file_cb(fw, "etc/wp", wp, sizeof(wp), true, on_wp_write, NULL) == 0);
}

static int place(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque, const char *name)
{
	int id = bus_register(bus, base, len, ops, opaque, name);

	CHECK(id >= 0);
	return id;
}

/* The machine's interrupt wiring, source for source: vmm/vm.c
 * create_devices() puts one irq_mux in front of KVM_IRQ_LINE and takes a
 * source for the RTC (IRQ 8), COM1 (4), the keyboard (1) and the mouse (12);
 * then vmm/pc.c pc_create() takes one for the PIIX3 router and one for IDE
 * (both name the IRQ per call) and one for the SCI (9).  IDE is not on the
 * buses here, so its source stays low.  This is the one function to
 * replace with the board's own wiring. */
static void platform_wire_irqs(struct platform *p, struct irq_line line[NR_SRC])
{
	static const unsigned gsi[NR_SRC] = {
	    [SRC_RTC] = RTC_GSI,       [SRC_COM1] = COM1_GSI,	     [SRC_KBD] = I8042_KBD_IRQ,
	    [SRC_AUX] = I8042_AUX_IRQ, [SRC_SCI] = PIIX4_PM_SCI_IRQ,
	};

	irq_mux_init(&p->mux, rec_gsi, NULL);
	for (unsigned s = 0; s < NR_SRC; s++) {
		CHECK(irq_mux_line(&p->mux, gsi[s], &line[s]) == 0);
		p->src_bit[s] = ((const struct irq_mux_source *)line[s].opaque)->bit;
	}
}

/* flags: bit 0 PMBA preset to 0x600 (direct Linux boot), bit 1 fw_cfg
 * without DMA, bit 2 RTC in local time. */
static void platform_create(struct platform *p, uint8_t flags)
{
	static const struct timespec epoch = {.tv_sec = 1700000000, .tv_nsec = 123456789};
	struct machine_events ev = {.reset = ev_reset, .exit = ev_exit, .opaque = p};
	struct irq_line irq[NR_SRC];

	memset(p, 0, sizeof(*p));
	platform_wire_irqs(p, irq);
	p->pio = bus_create("pio", 0x10000);
	p->mmio = bus_create("mmio", 0);
	CHECK(p->pio && p->mmio);

	/* vmm/vm.c create_devices() */
	p->uart = uart16550_create(&irq[SRC_COM1], &com1_be, NULL);
	CHECK(p->uart != NULL);
	place(p->pio, COM1_PORT, UART16550_NR_REGS, &uart16550_bus_ops, p->uart, "com1");
	p->rtc = rtc_cmos_create_at(&irq[SRC_RTC], NULL, flags & 4, &epoch);
	CHECK(p->rtc != NULL);
	rtc_cmos_set_byte(p->rtc, 0x17, 0x00);
	rtc_cmos_set_byte(p->rtc, 0x5f, 1);
	p->id_rtc = place(p->pio, RTC_PORT, RTC_CMOS_NR_PORTS, &rtc_cmos_bus_ops, p->rtc, "rtc");
	reset_control_init(&p->rc, &ev);
	port92_init(&p->p92, &ev);
	place(p->pio, PORT92, 1, &port92_bus_ops, &p->p92, "port92");
	p->kbc = i8042_create(&irq[SRC_KBD], &irq[SRC_AUX], &ev);
	CHECK(p->kbc != NULL);
	i8042_set_a20_handler(p->kbc, on_a20, NULL);
	place(p->pio, I8042_DATA_PORT, 1, &i8042_data_bus_ops, p->kbc, "i8042-data");
	place(p->pio, I8042_CMD_PORT, 1, &i8042_status_bus_ops, p->kbc, "i8042-cmd");

	/* vmm/pc.c pc_create() */
	p->pci = pci_bus_create(p->pio, p->mmio);
	CHECK(p->pci != NULL);
	p->host = i440fx_create(p->pci);
	CHECK(p->host != NULL);
	p->isa = piix3_create(p->pci, &irq[SRC_ROUTER]);
	CHECK(p->isa != NULL);
	i440fx_set_cf9(p->host, &reset_control_bus_ops, &p->rc);
	p->id_conf_addr =
	    place(p->pio, PCI_CONF_ADDR_PORT, 4, &i440fx_conf_addr_ops, p->host, "pci-conf-addr");
	place(p->pio, PCI_CONF_DATA_PORT, 4, &i440fx_conf_data_ops, p->host, "pci-conf-data");
	p->pm = piix4_pm_create(p->pci, PIIX4_PM_DEVFN, p->pio, &irq[SRC_SCI], &ev, NULL);
	CHECK(p->pm != NULL);
	place(p->pio, PIIX4_PM_APM_PORT, PIIX4_PM_APM_NR_PORTS, &piix4_pm_apm_bus_ops, p->pm,
	      "apm");
	place(p->pio, PIIX4_GPE0_PORT, PIIX4_GPE0_NR_PORTS, &piix4_pm_gpe_bus_ops, p->pm, "gpe0");
	if (flags & 1) {
		piix4_pm_preset_pmba(p->pm, PC_PM_BASE);
		p->preset_pmba = PC_PM_BASE;
	}
	stub_create(p->pci, &p->stub[0], 0);
	stub_create(p->pci, &p->stub[1], 1);

	p->dma = !(flags & 2);
	p->fw = fw_cfg_create(p->dma ? &mem : NULL);
	CHECK(p->fw != NULL);
	add_fw_cfg_items(p->fw);
	place(p->pio, FW_CFG_PORT_BASE, FW_CFG_PORT_SIZE, &fw_cfg_port_ops, p->fw, "fw_cfg");
	p->id_fw_dma = p->dma ? place(p->pio, FW_CFG_DMA_BASE, FW_CFG_DMA_SIZE, &fw_cfg_dma_ops,
				      p->fw, "fw_cfg-dma")
			      : BUS_UNCLAIMED;
	place(p->pio, POST_PORT, 1, &post_ops, NULL, "post");
	pci_bus_seal(p->pci);
}

/* vmm/pc.c pc_destroy() and vmm/vm.c vm_destroy() order. */
static void platform_destroy(struct platform *p)
{
	fw_cfg_destroy(p->fw);
	piix4_pm_destroy(p->pm);
	piix3_destroy(p->isa);
	i440fx_destroy(p->host);
	pci_bus_destroy(p->pci);
	rtc_cmos_destroy(p->rtc);
	uart16550_destroy(p->uart);
	i8042_destroy(p->kbc);
	bus_destroy(p->pio);
	bus_destroy(p->mmio);
	irq_mux_destroy(&p->mux);
}

/* vmm/vm.c do_reset(): the reset hooks in registration order. */
static void platform_reset(struct platform *p)
{
	uart16550_reset(p->uart);
	rtc_cmos_reset(p->rtc);
	reset_control_reset(&p->rc);
	i8042_reset(p->kbc);
	port92_reset(&p->p92);
	i440fx_reset(p->host);
	pci_bus_reset(p->pci);
	fw_cfg_reset(p->fw);
	p->latch = 0;
	resets++;
}

/* ---- input ---- */

static uint64_t in_value(struct input *in, unsigned size)
{
	switch (size) {
	case 1:
		return in_u8(in);
	case 2:
		return in_u16(in);
	case 4:
		return in_u32(in);
	default:
		return in_u64(in);
	}
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/* ---- bus access with per-port read-back checks ---- */

static uint16_t pm_base(struct platform *p)
{
	uint16_t base = piix4_pm_io_base(p->pm);

	if (!base)
		base = (uint16_t)(pci_config_read(p->pci, PIIX4_PM_DEVFN, 0x40, 2) & 0xffc0);
	return base ? base : PC_PM_BASE;
}

static uint64_t stub_io_base(struct platform *p, unsigned which)
{
	struct stub *s = &p->stub[which];
	uint64_t base = pci_dev_bar_addr(s->dev, 0);

	if (!base)
		base = pci_config_read(p->pci, s->devfn, PCI_BASE_ADDRESS_0, 4) & 0xfffc;
	return base ? base : s->io_default;
}

static uint64_t pio_read(struct platform *p, uint32_t port, unsigned size)
{
	uint64_t v;
	int id = bus_read(p->pio, port, size, &v);

	accesses++;
	CHECK(v <= size_mask(size));
	if (id == BUS_UNCLAIMED) {
		CHECK(v == size_mask(size));
		return v;
	}
	if (id == p->id_conf_addr && port == PCI_CONF_ADDR_PORT && size == 4)
		CHECK(v == p->latch);
	if (id == p->id_conf_addr && port == PCI_CONF_ADDR_PORT + 1 && size == 1)
		CHECK(v == p->rc.value);
	if (port == PORT92)
		CHECK(v == p->p92.value);
	if (id == p->id_rtc && port == RTC_PORT)
		CHECK((v & 0xff) == 0xff); /* the index port is write-only */
	if (id == p->id_fw_dma)
		for (unsigned i = 0; i < size; i++)
			CHECK((uint8_t)(v >> (8 * i)) ==
			      (uint8_t) "QEMU CFG"[port - FW_CFG_DMA_BASE + i]);
	if (port == piix4_pm_io_base(p->pm) + 8u && size == 4)
		CHECK(v >> 24 == 0); /* the PM timer has 24 bits */
	return v;
}

static void pio_write(struct platform *p, uint32_t port, uint64_t value, unsigned size)
{
	int id = bus_write(p->pio, port, value, size);

	accesses++;
	if (id == p->id_conf_addr && port == PCI_CONF_ADDR_PORT && size == 4)
		p->latch = (uint32_t)value & 0xfffffffc;
}

/* ---- operations ---- */

/* The port selector: everything that claims a port, densely. */
enum {
	P_KBD_DATA,
	P_KBD_CMD,
	P_RTC_INDEX,
	P_RTC_DATA,
	P_PORT92,
	P_APM_CNT,
	P_APM_STS,
	P_CF8,
	P_CF9,
	P_CFA,
	P_CFB,
	P_CFC,
	P_CFD,
	P_CFE,
	P_CFF,
	P_FW_SEL,
	P_FW_DATA,
	P_FW_DMA_HI,
	P_FW_DMA_LO,
	P_GPE0,
	P_GPE1,
	P_GPE2,
	P_GPE3,
	P_POST,
	P_PM_ANY, /* + offset byte */
	P_PM1_STS,
	P_PM1_EN,
	P_PM1_CNT,
	P_PM_TMR,
	P_STUB_A_IO, /* + offset byte */
	P_STUB_B_IO, /* + offset byte */
	P_COM1,	     /* + offset byte */
	P_RAW,	     /* + 16-bit port */
	NR_SEL
};
static_assert(NR_SEL <= 256, "the selector is one byte");

static const uint16_t fixed_port[P_PM_ANY] = {
    [P_KBD_DATA] = I8042_DATA_PORT,
    [P_KBD_CMD] = I8042_CMD_PORT,
    [P_RTC_INDEX] = RTC_PORT,
    [P_RTC_DATA] = RTC_PORT + 1,
    [P_PORT92] = PORT92,
    [P_APM_CNT] = PIIX4_PM_APM_PORT,
    [P_APM_STS] = PIIX4_PM_APM_PORT + 1,
    [P_CF8] = 0xcf8,
    [P_CF9] = 0xcf9,
    [P_CFA] = 0xcfa,
    [P_CFB] = 0xcfb,
    [P_CFC] = 0xcfc,
    [P_CFD] = 0xcfd,
    [P_CFE] = 0xcfe,
    [P_CFF] = 0xcff,
    [P_FW_SEL] = FW_CFG_PORT_BASE,
    [P_FW_DATA] = FW_CFG_PORT_BASE + 1,
    [P_FW_DMA_HI] = FW_CFG_DMA_BASE,
    [P_FW_DMA_LO] = FW_CFG_DMA_BASE + 4,
    [P_GPE0] = PIIX4_GPE0_PORT,
    [P_GPE1] = PIIX4_GPE0_PORT + 1,
    [P_GPE2] = PIIX4_GPE0_PORT + 2,
    [P_GPE3] = PIIX4_GPE0_PORT + 3,
    [P_POST] = POST_PORT,
};

/* Ranges relative to a guest-programmed base reach a little past their end,
 * so that straddling accesses are tried too. */
static uint32_t resolve_port(struct platform *p, struct input *in, uint8_t sel)
{
	unsigned s = sel % NR_SEL;

	if (s < P_PM_ANY)
		return fixed_port[s];
	switch (s) {
	case P_PM_ANY:
		return pm_base(p) + in_u8(in) % (PIIX4_PM_IO_SIZE + 4);
	case P_PM1_STS:
		return pm_base(p);
	case P_PM1_EN:
		return pm_base(p) + 2u;
	case P_PM1_CNT:
		return pm_base(p) + 4u;
	case P_PM_TMR:
		return pm_base(p) + 8u;
	case P_STUB_A_IO:
		return (uint32_t)stub_io_base(p, 0) + in_u8(in) % 36;
	case P_STUB_B_IO:
		return (uint32_t)stub_io_base(p, 1) + in_u8(in) % 20;
	case P_COM1:
		return COM1_PORT + in_u8(in) % (UART16550_NR_REGS + 2);
	default:
		return in_u16(in);
	}
}

static const unsigned pio_sizes[4] = {1, 2, 4, 1};

/* op bits: 3-4 size, 5 write, 6-7 extra repetitions of a read. */
static void op_pio(struct platform *p, struct input *in, uint8_t op)
{
	unsigned size = pio_sizes[(op >> 3) & 3], reps = 1 + (op >> 6);
	uint32_t port = resolve_port(p, in, in_u8(in));

	if (op & 0x20) {
		pio_write(p, port, in_value(in, size), size);
		return;
	}
	for (unsigned i = 0; i < reps; i++)
		pio_read(p, port, size);
}

static uint64_t rom_base(struct platform *p, unsigned which)
{
	uint32_t v = pci_config_read(p->pci, p->stub[which].devfn, PCI_ROM_ADDRESS, 4);

	return v & (which ? ~(uint32_t)(STUB_B_ROM - 1) : ~0xfffu);
}

static uint64_t mem_bar_base(struct platform *p, unsigned which, unsigned idx)
{
	struct stub *s = &p->stub[which];
	uint64_t base = pci_dev_bar_addr(s->dev, idx);

	if (!base) {
		base = pci_config_read(p->pci, s->devfn, PCI_BASE_ADDRESS_0 + 4 * idx, 4) & ~0xfu;
		if (which == 0 && idx == 2)
			base |= (uint64_t)pci_config_read(p->pci, s->devfn,
							  PCI_BASE_ADDRESS_0 + 4 * idx + 4, 4)
				<< 32;
	}
	return base;
}

/* op bits: 3-4 size 1/2/4/8, 5 write.  Then a target byte and an offset. */
static void op_mmio(struct platform *p, struct input *in, uint8_t op)
{
	static const unsigned sizes[4] = {1, 2, 4, 8};
	unsigned size = sizes[(op >> 3) & 3], rom_which = 2;
	uint8_t t = in_u8(in);
	uint16_t off = in_u16(in);
	uint64_t addr, base = 0, v;
	int id;

	switch (t % 8) {
	case 0:
		addr = mem_bar_base(p, 0, 1) + off % 0x1010;
		break;
	case 1:
		addr = mem_bar_base(p, 0, 2) + off % 0x4010;
		break;
	case 2:
		base = rom_base(p, 0);
		addr = base + off % 0x1010;
		rom_which = 0;
		break;
	case 3:
		addr = mem_bar_base(p, 1, 1) + off % 0x1010;
		break;
	case 4:
		base = rom_base(p, 1);
		addr = base + off % 0x810;
		rom_which = 1;
		break;
	case 5:
		addr = mem_bar_base(p, 1, 5) + off % 24;
		break;
	case 6:
		addr = in_u32(in) | (uint64_t)(t >> 7) << 32;
		break;
	default:
		addr = ~0ULL - off % 16; /* the top of the address space */
		break;
	}
	accesses++;
	if (op & 0x20) {
		bus_write(p->mmio, addr, in_value(in, size), size);
		return;
	}
	id = bus_read(p->mmio, addr, size, &v);
	CHECK(v <= size_mask(size));
	if (id == BUS_UNCLAIMED) {
		CHECK(v == size_mask(size));
		return;
	}
	/* A read that hit the ROM region sees the ROM's bytes. */
	if (rom_which < 2 &&
	    strcmp(bus_region_name(p->mmio, id), rom_which ? "stubB-rom" : "stubA-rom") == 0)
		for (unsigned i = 0; i < size; i++)
			CHECK((uint8_t)(v >> (8 * i)) == stub_rom_byte(rom_which, addr - base + i));
}

/* Steps of 1 us to 6.4 s, or op bit 3: up to 65535 ns (edges like the
 * RTC's update-in-progress window). */
static void op_clock(struct platform *p, struct input *in, uint8_t op)
{
	static const uint64_t unit[4] = {1000, 1000000, 10000000, 100000000};
	uint64_t ns;

	if (op & 0x08) {
		ns = in_u16(in);
	} else {
		uint8_t b = in_u8(in);

		ns = ((b & 0x3f) + 1u) * unit[b >> 6];
	}
	if (ns > MAX_ADVANCE_NS - p->advanced)
		ns = MAX_ADVANCE_NS - p->advanced;
	p->advanced += ns;
	timer_ns_total += ns;
	fake_clock_advance(ns);
}

/* Press and release of a few keys, as a host keyboard sends them. */
static void key_press(struct platform *p, unsigned which)
{
	static const uint8_t make[][3] = {{1, 0x1c}, {1, 0x5a},	      {2, 0xe0, 0x75},
					  {1, 0x83}, {2, 0xe0, 0x7c}, {1, 0x76},
					  {1, 0x12}, {2, 0xe0, 0x1f}};
	const uint8_t *m = make[which % 8];
	uint8_t brk[4];
	size_t n = 0;

	CHECK(m[0] <= 2);
	i8042_key_event(p->kbc, m + 1, m[0]);
	if (m[0] == 2)
		brk[n++] = m[1];
	brk[n++] = 0xf0;
	brk[n++] = m[m[0]];
	i8042_key_event(p->kbc, brk, n);
	key_events += 2;
}

/* op bits 3-5 pick the event. */
static void op_host(struct platform *p, struct input *in, uint8_t op)
{
	switch ((op >> 3) & 7) {
	case 0: {
		uint8_t b[20];
		size_t n = in_u8(in) % 18; /* 0 and 17 are refused */

		for (size_t i = 0; i < n; i++)
			b[i] = in_u8(in);
		i8042_key_event(p->kbc, n ? b : NULL, n);
		key_events++;
		break;
	}
	case 1:
	case 2: {
		int scale = op & 0x40 ? 1024 : 1;
		int dx = (int8_t)in_u8(in) * scale, dy = (int8_t)in_u8(in) * scale;
		int dz = (int8_t)in_u8(in);

		i8042_mouse_event(p->kbc, dx, dy, dz, in_u8(in));
		mouse_events++;
		break;
	}
	case 3:
		piix4_pm_power_button(p->pm);
		break;
	case 4:
		piix4_pm_raise_gpe(p->pm, in_u8(in) % 20);
		break;
	case 5:
		reset_pending = true; /* system_reset from the control socket */
		break;
	case 6:
		key_press(p, in_u8(in));
		break;
	default: { /* bytes typed on COM1's console */
		uint8_t b[UART16550_FIFO_SIZE + 4];
		size_t n = in_u8(in) % sizeof(b);

		for (size_t i = 0; i < n; i++)
			b[i] = in_u8(in);
		CHECK(uart16550_receive(p->uart, b, n) <= n);
		break;
	}
	}
}

/* PCI configuration through the ports: devfn from a short list, register,
 * op bits 3-4 size, 5 write, 6 a bus other than 0, 7 enable bit clear. */
static void op_config(struct platform *p, struct input *in, uint8_t op)
{
	static const uint8_t devfns[7] = {PCI_DEVFN(0, 0), PCI_DEVFN(1, 0), PIIX4_PM_DEVFN,
					  STUB_A_DEVFN,	   STUB_B_DEVFN,    PCI_DEVFN(1, 1),
					  PCI_DEVFN(2, 0)};
	uint8_t d = in_u8(in), reg = in_u8(in);
	unsigned devfn = d % 8 < 7 ? devfns[d % 8] : in_u8(in);
	unsigned size = pio_sizes[(op >> 3) & 3];
	uint32_t addr =
	    (op & 0x80 ? 0 : 0x80000000u) | (op & 0x40 ? 1u << 16 : 0) | devfn << 8 | (reg & 0xfcu);
	uint32_t port = PCI_CONF_DATA_PORT + (reg & 3u);
	uint64_t v;

	pio_write(p, PCI_CONF_ADDR_PORT, addr, 4);
	if (op & 0x20) {
		pio_write(p, port, in_u32(in), size);
		return;
	}
	v = pio_read(p, port, size);
	if (addr == 0x80000000u && size == 4 && port == PCI_CONF_DATA_PORT)
		CHECK(v == 0x12378086);
	if (!(addr & 0x80000000u) || (addr & 0xff0000))
		CHECK(v == size_mask(size));
}

/* fw_cfg DMA: a descriptor in RAM and/or the doorbell, op bits 3-4. */
static void put_be32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void op_ram(struct platform *p, struct input *in, uint8_t op)
{
	unsigned kind = (op >> 3) & 3;
	uint32_t at = in_u16(in) & ~3u;

	if (kind == 0) {
		unsigned n = in_u8(in) % 64;

		for (unsigned i = 0; i < n && at + i < RAM_SIZE; i++)
			ram[at + i] = in_u8(in);
		return;
	}
	if (kind != 2) {
		uint16_t key = in_u16(in);
		uint8_t flags = in_u8(in);
		uint32_t len = in_u16(in);
		uint32_t addr = op & 0x80 ? in_u32(in) : in_u16(in);
		uint8_t d[16];

		if (!(key & 0x4000))
			key &= 0x803f;
		put_be32(d, (uint32_t)key << 16 | (flags & 0x1f));
		put_be32(d + 4, len);
		put_be32(d + 8, 0);
		put_be32(d + 12, addr);
		guest_mem_write(&mem, at, d, sizeof(d));
	}
	if (kind != 1) {
		const uint8_t *c;

		pio_write(p, FW_CFG_DMA_BASE, 0, 4);
		pio_write(p, FW_CFG_DMA_BASE + 4, __builtin_bswap32(at), 4);
		if (!p->dma)
			return;
		dma_runs++;
		/* The control word ends as 0 or ERROR (big-endian). */
		c = guest_mem_ptr(&mem, at, 4, true);
		if (c)
			CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0 && c[3] <= FW_CFG_DMA_CTL_ERROR);
	}
}

/* ---- invariants ---- */

static bool route_of(uint8_t route, unsigned *irq)
{
	*irq = route & 0x0f;
	return !(route & 0x80) && piix3_irq_ok(*irq);
}

/* Source src holds line gsi high. */
static bool src_level(const struct platform *p, unsigned src, unsigned gsi)
{
	return p->mux.level[gsi] & p->src_bit[src];
}

static void check_irqs(struct platform *p)
{
	static const unsigned fixed_gsi[NR_SRC] = {
	    [SRC_RTC] = RTC_GSI,       [SRC_COM1] = COM1_GSI,	     [SRC_KBD] = I8042_KBD_IRQ,
	    [SRC_AUX] = I8042_AUX_IRQ, [SRC_SCI] = PIIX4_PM_SCI_IRQ,
	};
	bool pirq[4] = {false}, isa[16] = {false};
	uint32_t all = 0;

	for (unsigned i = 0; i < 2; i++) {
		struct stub *s = &p->stub[i];
		uint32_t cmd = pci_config_read(p->pci, s->devfn, PCI_COMMAND, 2);
		uint32_t st = pci_config_read(p->pci, s->devfn, PCI_STATUS, 1);

		CHECK(!!(st & PCI_STATUS_INTERRUPT) == s->irq);
		if (s->irq && !(cmd & PCI_COMMAND_INTX_DISABLE))
			pirq[s->pirq] = true;
	}
	for (unsigned i = 0; i < 4; i++) {
		unsigned irq;

		CHECK(pci_bus_pirq_level(p->pci, i) == pirq[i]);
		if (route_of((uint8_t)pci_config_read(p->pci, PCI_DEVFN(1, 0), PIIX3_PIRQRC + i, 1),
			     &irq) &&
		    pirq[i])
			isa[irq] = true;
	}
	for (unsigned g = 0; g < IRQ_MUX_LINES; g++) {
		uint32_t lv = p->mux.level[g];

		/* The router drives exactly the IRQs its routed PIRQs name. */
		CHECK(src_level(p, SRC_ROUTER, g) == (g < 16 && isa[g]));
		/* Every other source stays on its own IRQ; IDE is not on the
		 * buses. */
		for (unsigned s = 0; s < NR_SRC; s++)
			if (s != SRC_ROUTER && s != SRC_IDE && g != fixed_gsi[s])
				CHECK(!src_level(p, s, g));
		CHECK(!src_level(p, SRC_IDE, g));
		/* The GSI (KVM_IRQ_LINE) is the wired OR of its sources. */
		CHECK(wire[g] == (lv != 0));
		if (lv & (lv - 1))
			shared_line_ops++; /* two sources high on one line */
		all |= lv;
	}
	CHECK((all & ~((p->src_bit[NR_SRC - 1] << 1) - 1)) == 0);

	/* The SCI: with SCI_EN, any enabled PM1 or GPE0 event.  The level is taken before
	 * the reads, which bring it up to date themselves; the timer sample
	 * they do finds nothing new, as the fake clock fired every deadline. */
	if (piix4_pm_io_base(p->pm)) {
		bool sci = src_level(p, SRC_SCI, PIIX4_PM_SCI_IRQ);
		uint16_t base = piix4_pm_io_base(p->pm);
		uint64_t sts = pio_read(p, base, 2), en = pio_read(p, base + 2u, 2);
		uint64_t gsts = pio_read(p, PIIX4_GPE0_PORT, 2);
		uint64_t gen = pio_read(p, PIIX4_GPE0_PORT + 2, 2);

		uint64_t cnt = pio_read(p, base + 4u, 2);

		CHECK(sci == ((cnt & 1) && ((sts & en & 0x0521) || (gsts & gen))));
		CHECK(src_level(p, SRC_SCI, PIIX4_PM_SCI_IRQ) == sci);
	}
	CHECK(src_level(p, SRC_RTC, RTC_GSI) == !!(rtc_cmos_get_byte(p->rtc, 0x0c) & 0x80));
	/* COM1 reaches the PIC only through OUT2 (reading MCR changes nothing). */
	if (src_level(p, SRC_COM1, COM1_GSI)) {
		CHECK(pio_read(p, COM1_PORT + UART_MCR, 1) & MCR_OUT2);
		com1_irq_ops++;
	}
	{
		uint64_t st = pio_read(p, I8042_CMD_PORT, 1);

		if (src_level(p, SRC_KBD, I8042_KBD_IRQ))
			CHECK((st & 0x21) == 0x01);
		if (src_level(p, SRC_AUX, I8042_AUX_IRQ))
			CHECK((st & 0x21) == 0x21);
	}
}

/* Is [base, base + len) free on the bus?  Probes with a throw-away region
 * (the same ops each time, so the bus reuses one region id). */
static bool range_free(struct bus *bus, uint64_t base, uint64_t len)
{
	if (bus_register(bus, base, len, &probe_ops, NULL, "probe") < 0)
		return false;
	CHECK(bus_unregister(bus, base) == 0);
	return true;
}

static void stale_decode(const char *what, uint64_t at)
{
	fprintf(real_stderr,
		"fuzz_platform: %s at 0x%llx should decode, its place is free, "
		"and it is not on the bus\n",
		what, (unsigned long long)at);
	abort();
}

/* A range that should decode, is not on the bus, and could be. */
static void check_stale_decodes(struct platform *p)
{
	uint32_t pmba;

	for (unsigned i = 0; i < 2; i++) {
		struct stub *s = &p->stub[i];
		uint32_t cmd = pci_config_read(p->pci, s->devfn, PCI_COMMAND, 2);
		uint64_t io = pci_config_read(p->pci, s->devfn, PCI_BASE_ADDRESS_0, 4) & ~3u;

		if ((cmd & PCI_COMMAND_IO) && io && io + s->bar[0].size <= 0x10000 &&
		    !pci_dev_bar_addr(s->dev, 0) && range_free(p->pio, io, s->bar[0].size))
			stale_decode(i ? "stubB BAR0" : "stubA BAR0", io);
	}
	pmba = pci_config_read(p->pci, PIIX4_PM_DEVFN, 0x40, 2) & 0xffc0;
	if ((pci_config_read(p->pci, PIIX4_PM_DEVFN, 0x80, 1) & 1) && pmba &&
	    !piix4_pm_io_base(p->pm) && range_free(p->pio, pmba, PIIX4_PM_IO_SIZE))
		stale_decode("piix4-pm", pmba);
}

static void check_after_reset(struct platform *p)
{
	for (unsigned g = 0; g < IRQ_MUX_LINES; g++)
		CHECK(p->mux.level[g] == 0 && !wire[g]);
	CHECK(p->rc.value == 0 && p->p92.value == 0);
	CHECK(a20_on);
	CHECK(pio_read(p, PCI_CONF_ADDR_PORT, 4) == 0);
	CHECK(piix4_pm_io_base(p->pm) == p->preset_pmba);
	for (unsigned i = 0; i < 2; i++)
		for (unsigned b = 0; b < PCI_NUM_BARS; b++)
			CHECK(pci_dev_bar_addr(p->stub[i].dev, b) == 0);
	/* fw_cfg is back at key 0, offset 0; reselecting leaves it there. */
	CHECK(pio_read(p, FW_CFG_PORT_BASE + 1, 1) == 'Q');
	pio_write(p, FW_CFG_PORT_BASE, FW_CFG_SIGNATURE, 2);
}

/* The buses still dispatch to the fixed devices and accept new regions. */
static void check_dispatch(struct platform *p)
{
	static const uint32_t ids[3][2] = {{PCI_DEVFN(0, 0), 0x12378086},
					   {PCI_DEVFN(1, 0), 0x70008086},
					   {PIIX4_PM_DEVFN, 0x71138086}};
	static const uint64_t probes[4] = {0x2f8, 0x3e8, 0x1000, 0x8000};
	static const uint64_t mprobes[3] = {0xfed00000, 0xe0000000, 0x100000000ULL};
	bool placed = false;

	for (unsigned i = 0; i < 3; i++) {
		pio_write(p, PCI_CONF_ADDR_PORT, 0x80000000u | ids[i][0] << 8, 4);
		CHECK(pio_read(p, PCI_CONF_DATA_PORT, 4) == ids[i][1]);
	}
	pio_write(p, FW_CFG_PORT_BASE, FW_CFG_SIGNATURE, 2);
	for (unsigned i = 0; i < 4; i++)
		CHECK(pio_read(p, FW_CFG_PORT_BASE + 1, 1) == (uint8_t) "QEMU"[i]);
	pio_write(p, RTC_PORT, 0x0d, 1);
	CHECK(pio_read(p, RTC_PORT + 1, 1) == 0x80);
	CHECK((pio_read(p, I8042_CMD_PORT, 1) & 0x10) == 0x10);

	/* Region ids are recycled: however often BARs moved, there is room. */
	for (unsigned i = 0; i < 4 && !placed; i++) {
		int id = bus_register(p->pio, probes[i], 8, &probe_ops, NULL, "probe");
		uint64_t v;

		CHECK(id >= 0 || id == -EEXIST);
		if (id < 0)
			continue;
		CHECK(bus_read(p->pio, probes[i] + 2, 2, &v) == id && v == 0x5a02);
		CHECK(bus_unregister(p->pio, probes[i]) == 0);
		placed = true;
	}
	CHECK(placed);
	placed = false;
	for (unsigned i = 0; i < 3 && !placed; i++) {
		int id = bus_register(p->mmio, mprobes[i], 0x1000, &probe_ops, NULL, "probe");
		uint64_t v;

		CHECK(id >= 0 || id == -EEXIST);
		if (id < 0)
			continue;
		CHECK(bus_read(p->mmio, mprobes[i] + 8, 4, &v) == id && v == 0x5a08);
		CHECK(bus_unregister(p->mmio, mprobes[i]) == 0);
		placed = true;
	}
	CHECK(placed);
}

static void recorders_clear(void)
{
	memset(wire, 0, sizeof(wire));
	reset_pending = false;
	a20_on = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct platform plat;
	struct input in = {.p = data, .len = size};
	struct platform *p = &plat;

	if (!mem.nr) {
		CHECK(guest_mem_add(&mem, 0, RAM_SIZE, ram, false, "ram") == 0);
		CHECK(guest_mem_add(&mem, ROM_BASE, ROM_SIZE, rom, true, "rom") == 0);
		/* Devices cap their guest-triggered log lines per instance,
		 * and every input makes new instances: keep them out of the
		 * fuzzer's output.  glibc lets a program assign stderr. */
		real_stderr = stderr;
		dev_null = fopen("/dev/null", "w");
		CHECK(dev_null != NULL);
	}
	memset(ram, 0, sizeof(ram));
	memset(rom, 0x5a, sizeof(rom));
	recorders_clear();
	stderr = dev_null;

	platform_create(p, in_u8(&in));
	check_irqs(p);
	while (in.pos < in.len) {
		uint8_t op = in_u8(&in);

		switch (op & 7) {
		case 0:
		case 1:
		case 2:
			op_pio(p, &in, op);
			break;
		case 3:
			op_mmio(p, &in, op);
			break;
		case 4:
			op_clock(p, &in, op);
			break;
		case 5:
			op_host(p, &in, op);
			break;
		case 6:
			op_config(p, &in, op);
			break;
		default:
			op_ram(p, &in, op);
			break;
		}
		nr_ops++;
		if (reset_pending) {
			reset_pending = false;
			platform_reset(p);
			check_after_reset(p);
		}
		check_irqs(p);
		check_stale_decodes(p);
	}
	check_dispatch(p);
	for (size_t i = 0; i < sizeof(rom); i++)
		CHECK(rom[i] == 0x5a);
	platform_destroy(p);
	stderr = real_stderr;
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "tests/fuzz/standalone.h"

#define NR_SEEDS 6
#define SEED_MAX 1024

static_assert(SEED_MAX <= FUZZ_SEED_MAX, "seeds fit the runner's buffer");

static void seed_u8(struct fuzz_seed *s, uint8_t v)
{
	if (s->len >= SEED_MAX)
		abort();
	s->b[s->len++] = v;
}

static void seed_val(struct fuzz_seed *s, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		seed_u8(s, (uint8_t)(v >> (8 * i)));
}

static uint8_t size_bits(unsigned size)
{
	return size == 4 ? 2 : size == 2 ? 1 : 0;
}

/* Selectors P_PM_ANY, P_STUB_*_IO, P_COM1 and P_RAW take an extra argument. */
static void seed_sel(struct fuzz_seed *s, unsigned sel, unsigned arg)
{
	seed_u8(s, (uint8_t)sel);
	if (sel == P_RAW)
		seed_val(s, arg, 2);
	else if (sel == P_PM_ANY || sel == P_STUB_A_IO || sel == P_STUB_B_IO || sel == P_COM1)
		seed_u8(s, (uint8_t)arg);
}

static void seed_out(struct fuzz_seed *s, unsigned sel, unsigned arg, unsigned size, uint32_t v)
{
	seed_u8(s, (uint8_t)(0x20 | size_bits(size) << 3));
	seed_sel(s, sel, arg);
	seed_val(s, v, size);
}

static void seed_in(struct fuzz_seed *s, unsigned sel, unsigned arg, unsigned size, unsigned reps)
{
	seed_u8(s, (uint8_t)((reps - 1) << 6 | size_bits(size) << 3));
	seed_sel(s, sel, arg);
}

/* d: index into op_config's list (0 host, 1 piix3, 2 pm, 3 stub A, 4 stub B). */
static void seed_cfg_write(struct fuzz_seed *s, unsigned d, unsigned reg, unsigned size, uint32_t v)
{
	seed_u8(s, (uint8_t)(6 | 0x20 | size_bits(size) << 3));
	seed_u8(s, (uint8_t)d);
	seed_u8(s, (uint8_t)reg);
	seed_val(s, v, 4);
}

static void seed_cfg_read(struct fuzz_seed *s, unsigned d, unsigned reg, unsigned size)
{
	seed_u8(s, (uint8_t)(6 | size_bits(size) << 3));
	seed_u8(s, (uint8_t)d);
	seed_u8(s, (uint8_t)reg);
}

static void seed_clock(struct fuzz_seed *s, unsigned unit, unsigned n)
{
	seed_u8(s, 4);
	seed_u8(s, (uint8_t)(unit << 6 | (n - 1)));
}

static void seed_mmio(struct fuzz_seed *s, bool write, unsigned size, unsigned target, uint16_t off,
		      uint64_t v)
{
	seed_u8(s, (uint8_t)(3 | (write ? 0x20 : 0) | (size == 8 ? 3 : size_bits(size)) << 3));
	seed_u8(s, (uint8_t)target);
	seed_val(s, off, 2);
	if (write)
		seed_val(s, v, size);
}

static void seed_host(struct fuzz_seed *s, unsigned event)
{
	seed_u8(s, (uint8_t)(5 | event << 3));
}

static void seed_kbd_cmd(struct fuzz_seed *s, uint8_t cmd)
{
	seed_out(s, P_KBD_CMD, 0, 1, cmd);
}

static void seed_kbd_data(struct fuzz_seed *s, uint8_t v, unsigned answers)
{
	seed_out(s, P_KBD_DATA, 0, 1, v);
	if (answers)
		seed_in(s, P_KBD_DATA, 0, 1, answers);
}

static void seed_cmos(struct fuzz_seed *s, uint8_t index, int value)
{
	seed_out(s, P_RTC_INDEX, 0, 1, index);
	if (value < 0)
		seed_in(s, P_RTC_DATA, 0, 1, 1);
	else
		seed_out(s, P_RTC_DATA, 0, 1, (uint32_t)value);
}

/* SeaBIOS's pciinit: probe, size, assign, enable (stand-in addresses). */
static void seed_pci_setup(struct fuzz_seed *s)
{
	for (unsigned d = 0; d < 7; d++) {
		seed_cfg_read(s, d, 0x00, 4);
		seed_cfg_read(s, d, 0x0e, 1);
	}
	for (unsigned d = 3; d <= 4; d++)
		for (unsigned bar = 0; bar < 6; bar++) {
			seed_cfg_write(s, d, 0x10 + 4 * bar, 4, 0xffffffff);
			seed_cfg_read(s, d, 0x10 + 4 * bar, 4);
			seed_cfg_write(s, d, 0x10 + 4 * bar, 4, 0);
		}
	seed_cfg_write(s, 3, 0x30, 4, 0xfffff800);
	seed_cfg_read(s, 3, 0x30, 4);
	seed_cfg_write(s, 3, 0x10, 4, 0xc000);
	seed_cfg_write(s, 3, 0x14, 4, 0xfebf0000);
	seed_cfg_write(s, 3, 0x18, 4, 0xfe00000c);
	seed_cfg_write(s, 3, 0x1c, 4, 0);
	seed_cfg_write(s, 3, 0x30, 4, 0xfeb80001);
	seed_cfg_write(s, 3, 0x04, 2, 0x0007);
	seed_cfg_write(s, 4, 0x10, 4, 0xc040);
	seed_cfg_write(s, 4, 0x14, 4, 0xfebf1000);
	seed_cfg_write(s, 4, 0x24, 4, 0xfebf2000);
	seed_cfg_write(s, 4, 0x30, 4, 0xfeb7f801);
	seed_cfg_write(s, 4, 0x04, 2, 0x0003);
	/* PIIX3 routes A-D to 10, 10, 11, 11 and the interrupt lines */
	seed_cfg_write(s, 1, 0x60, 4, 0x0b0b0a0a);
	seed_cfg_write(s, 3, 0x3c, 1, 10);
	seed_cfg_write(s, 4, 0x3c, 1, 11);
}

static const uint8_t mouse_init[] = {0xff, 0xf3, 200,  0xf3, 100,  0xf3,
				     80,   0xf2, 0xe8, 0x03, 0xe9, 0xf4};

static void seed_build(unsigned which, struct fuzz_seed *s)
{
	memset(s, 0, sizeof(*s));
	switch (which) {
	case 0: /* PCI probing and ROM reads; BARs moved onto each other */
		seed_u8(s, 0);
		seed_pci_setup(s);
		seed_mmio(s, false, 2, 2, 0, 0);     /* 0xaa55 */
		seed_mmio(s, false, 8, 2, 0xbfc, 0); /* ROM end, straddling */
		seed_mmio(s, true, 4, 0, 0x10, 0x12345678);
		seed_mmio(s, false, 4, 0, 0x10, 0);
		seed_mmio(s, false, 8, 1, 0x3ff8, 0);
		seed_mmio(s, false, 4, 4, 0x7fe, 0);
		seed_in(s, P_STUB_A_IO, 4, 4, 1);
		seed_out(s, P_STUB_B_IO, 2, 2, 0xbeef);
		seed_cfg_write(s, 4, 0x14, 4, 0xfebf0000); /* onto A's BAR1 */
		seed_cfg_write(s, 4, 0x10, 4, 0xc000);	   /* onto A's BAR0 */
		seed_cfg_write(s, 3, 0x14, 4, 0xfebe0000); /* A moves away */
		seed_cfg_write(s, 3, 0x10, 4, 0xc080);
		seed_mmio(s, false, 4, 3, 0, 0);
		seed_cfg_write(s, 3, 0x04, 2, 0); /* decode off */
		seed_cfg_write(s, 4, 0x30, 4, 0xfebe0001);
		seed_mmio(s, false, 1, 4, 0, 0);
		break;
	case 1: /* PMBA programming, ACPI enable, PM timer, GPE, S5 */
		seed_u8(s, 0);
		seed_cfg_read(s, 2, 0x40, 4);
		seed_cfg_write(s, 2, 0x40, 4, 0x601);
		seed_cfg_write(s, 2, 0x80, 1, 0x01);
		seed_cfg_read(s, 2, 0x58, 4);
		seed_out(s, P_APM_CNT, 0, 1, 0xf1);
		seed_in(s, P_PM1_CNT, 0, 2, 1);
		seed_in(s, P_PM_TMR, 0, 4, 4);
		seed_out(s, P_PM1_EN, 0, 2, 0x0001);
		seed_clock(s, 3, 30);
		seed_in(s, P_PM1_STS, 0, 2, 1);
		seed_out(s, P_PM1_STS, 0, 2, 0x0001);
		seed_out(s, P_GPE2, 0, 2, 0xffff);
		seed_host(s, 4);
		seed_u8(s, 1);
		seed_in(s, P_GPE0, 0, 4, 1);
		seed_out(s, P_GPE0, 0, 1, 0x02);
		seed_out(s, P_PM1_EN, 0, 2, 0x0100);
		seed_host(s, 3);
		seed_in(s, P_PM1_STS, 0, 2, 1);
		seed_out(s, P_PM1_STS, 0, 2, 0x0100);
		seed_out(s, P_PM_ANY, 0x30, 4, 0xdeadbeef);
		seed_in(s, P_PM_ANY, 0x3e, 4, 1);
		seed_cfg_write(s, 2, 0x41, 1, 0xb0); /* PMBA to 0xb000 */
		seed_in(s, P_PM_TMR, 0, 4, 1);
		seed_cfg_write(s, 2, 0x40, 4, 0x41); /* onto the i8042 and RTC */
		seed_cfg_write(s, 2, 0x40, 4, 0x601);
		seed_cfg_write(s, 3, 0x10, 4, 0x620); /* a BAR inside the PM block */
		seed_cfg_write(s, 3, 0x04, 2, 0x0001);
		seed_cfg_write(s, 2, 0x40, 4, 0x701); /* the PM block moves away */
		seed_in(s, P_STUB_A_IO, 0, 1, 1);
		/* The BAR now decodes at 0x620 (overlap healing): switch it
		 * off so that the PM block gets 0x600 back. */
		seed_cfg_write(s, 3, 0x04, 2, 0);
		seed_cfg_write(s, 2, 0x40, 4, 0x601);
		seed_out(s, P_PM1_CNT, 0, 2, 0x2000); /* SLP_EN, S5 */
		seed_out(s, P_PM1_CNT, 0, 2, 0x2400); /* S1: ignored */
		break;
	case 2: /* i8042 as SeaBIOS and Linux set it up, keys, mouse, reset */
		seed_u8(s, 0);
		seed_kbd_cmd(s, 0xad);
		seed_kbd_cmd(s, 0xa7);
		seed_in(s, P_KBD_DATA, 0, 1, 2);
		seed_kbd_cmd(s, 0xaa);
		seed_in(s, P_KBD_CMD, 0, 1, 1);
		seed_in(s, P_KBD_DATA, 0, 1, 1);
		seed_kbd_cmd(s, 0xab);
		seed_in(s, P_KBD_DATA, 0, 1, 1);
		seed_kbd_cmd(s, 0x20);
		seed_in(s, P_KBD_DATA, 0, 1, 1);
		seed_kbd_cmd(s, 0x60);
		seed_kbd_data(s, 0x30, 0);
		seed_kbd_data(s, 0xff, 2);
		seed_kbd_data(s, 0xf5, 1);
		seed_kbd_data(s, 0xf2, 3);
		seed_kbd_data(s, 0xf0, 1);
		seed_kbd_data(s, 0x02, 1);
		seed_kbd_data(s, 0xed, 1);
		seed_kbd_data(s, 0x07, 1);
		seed_kbd_cmd(s, 0x60);
		seed_kbd_data(s, 0x47, 0);
		seed_kbd_data(s, 0xf4, 1);
		seed_host(s, 6);
		seed_u8(s, 2);
		seed_in(s, P_KBD_DATA, 0, 1, 4);
		seed_host(s, 0);
		seed_u8(s, 8);
		seed_val(s, 0x77f014e1f07714e1ULL, 8); /* Pause */
		seed_in(s, P_KBD_DATA, 0, 1, 4);
		seed_in(s, P_KBD_DATA, 0, 1, 4);
		/* the mouse, with the IntelliMouse knock */
		for (unsigned i = 0; i < sizeof(mouse_init); i++) {
			seed_kbd_cmd(s, 0xd4);
			seed_kbd_data(s, mouse_init[i], 1);
		}
		seed_in(s, P_KBD_DATA, 0, 1, 4);
		seed_host(s, 1);
		seed_val(s, 0x07fd0510, 4);
		seed_in(s, P_KBD_CMD, 0, 1, 1);
		seed_in(s, P_KBD_DATA, 0, 1, 4);
		seed_kbd_cmd(s, 0xd0);
		seed_in(s, P_KBD_DATA, 0, 1, 1);
		seed_kbd_cmd(s, 0xd1);
		seed_kbd_data(s, 0xdd, 0); /* A20 off */
		seed_kbd_cmd(s, 0xdf);
		seed_kbd_cmd(s, 0xd3);
		seed_kbd_data(s, 0x42, 1);
		seed_kbd_cmd(s, 0xfe); /* reset pulse */
		seed_in(s, P_KBD_CMD, 0, 1, 1);
		break;
	case 3: /* CMOS with the NMI bit, periodic interrupt, alarm, SET, 0xcf9 */
		seed_u8(s, 4);
		seed_cmos(s, 0x8a, -1);
		seed_cmos(s, 0x8b, -1);
		seed_cmos(s, 0x8d, -1);
		seed_cmos(s, 0x10, -1);
		seed_cmos(s, 0x0f, 0x00);
		seed_cmos(s, 0x00, -1);
		seed_cmos(s, 0x32, -1);
		seed_cmos(s, 0x0a, 0x23);
		seed_cmos(s, 0x0b, 0x42);
		seed_clock(s, 1, 10);
		seed_cmos(s, 0x0c, -1);
		seed_clock(s, 2, 50);
		seed_cmos(s, 0x0c, -1);
		seed_cmos(s, 0x0c, -1);
		seed_cmos(s, 0x0b, 0x82); /* SET */
		for (unsigned r = 0; r <= 9; r += 2)
			seed_cmos(s, (uint8_t)r, 0x59 - r);
		seed_cmos(s, 0x01, 0xc0);
		seed_cmos(s, 0x03, 0xc0);
		seed_cmos(s, 0x05, 0xc0);
		seed_cmos(s, 0x0b, 0x32); /* AIE, UIE, 24h */
		seed_clock(s, 3, 15);
		seed_cmos(s, 0x0c, -1);
		seed_u8(s, 4 | 8);
		seed_val(s, 0xfff0, 2);
		seed_out(s, P_RTC_INDEX, 0, 2, 0x0a0a); /* index and data in one */
		seed_in(s, P_RTC_INDEX, 0, 2, 1);
		seed_cmos(s, 0x0a, 0x06); /* divider in reset */
		seed_cmos(s, 0x0a, 0x26);
		seed_in(s, P_CF9, 0, 1, 1);
		seed_out(s, P_CF9, 0, 1, 0x02);
		seed_out(s, P_CF9, 0, 1, 0x06);
		seed_cmos(s, 0x0b, -1);
		break;
	case 4: /* fw_cfg: signature, ID, directory by DMA, write pointer; port 0x92 */
		seed_u8(s, 1);
		seed_out(s, P_FW_SEL, 0, 2, FW_CFG_SIGNATURE);
		seed_in(s, P_FW_DATA, 0, 1, 4);
		seed_out(s, P_FW_SEL, 0, 2, FW_CFG_ID);
		seed_in(s, P_FW_DATA, 0, 1, 4);
		seed_in(s, P_FW_DMA_HI, 0, 4, 1);
		seed_in(s, P_FW_DMA_LO, 0, 4, 1);
		seed_u8(s, 7 | 3 << 3); /* descriptor and doorbell */
		seed_val(s, 0x100, 2);
		seed_val(s, FW_CFG_FILE_DIR, 2);
		seed_u8(s, FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ);
		seed_val(s, 4 + 64 * 5, 2);
		seed_val(s, 0x1000, 2);
		seed_u8(s, 7 | 3 << 3); /* etc/wp: select, skip 2, write 4 */
		seed_val(s, 0x100, 2);
		seed_val(s, FW_CFG_FILE_FIRST + 4, 2);
		seed_u8(s, FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP);
		seed_val(s, 2, 2);
		seed_val(s, 0, 2);
		seed_u8(s, 7 | 3 << 3);
		seed_val(s, 0x100, 2);
		seed_val(s, 0, 2);
		seed_u8(s, FW_CFG_DMA_CTL_WRITE);
		seed_val(s, 4, 2);
		seed_val(s, 0x2000, 2);
		seed_out(s, P_FW_SEL, 0, 2, FW_CFG_FILE_FIRST + 1);
		seed_in(s, P_FW_DATA, 0, 1, 4);
		seed_out(s, P_FW_DMA_HI, 0, 4, 0);
		seed_out(s, P_FW_DMA_LO, 0, 4, 0x00f0ff00); /* descriptor into the hole */
		seed_out(s, P_PORT92, 0, 1, 0x02);
		seed_in(s, P_PORT92, 0, 1, 1);
		seed_out(s, P_POST, 0, 1, 0x55);
		seed_out(s, P_PORT92, 0, 1, 0x03); /* fast reset */
		seed_in(s, P_FW_DATA, 0, 1, 1);
		break;
	default: /* PIRQ routing under asserted INTx, INTx disable, IRQ 9 shared */
		seed_u8(s, 1);
		seed_pci_setup(s);
		seed_cfg_write(s, 1, 0x60, 4, 0x0b0a0905);
		seed_out(s, P_STUB_A_IO, 0, 1, 1);     /* A: INTA -> PIRQA -> IRQ 5 */
		seed_out(s, P_STUB_B_IO, 0, 1, 1);     /* B: INTB -> PIRQC -> IRQ 10 */
		seed_cfg_write(s, 1, 0x60, 1, 0x0b);   /* reroute while high */
		seed_cfg_write(s, 1, 0x62, 1, 0x0b);   /* both on 11 */
		seed_cfg_write(s, 3, 0x04, 2, 0x0407); /* INTx disable */
		seed_cfg_read(s, 3, 0x06, 2);
		seed_cfg_write(s, 3, 0x04, 2, 0x0007);
		seed_cfg_write(s, 1, 0x60, 1, 0x09); /* PIRQA on the SCI's IRQ */
		seed_out(s, P_GPE2, 0, 1, 0x01);
		seed_host(s, 4);
		seed_u8(s, 0);
		seed_out(s, P_STUB_A_IO, 0, 1, 0);
		seed_cfg_write(s, 1, 0x60, 1, 0x0c); /* the mouse's IRQ */
		seed_out(s, P_STUB_A_IO, 0, 1, 1);
		/* COM1's THRE interrupt and PIRQA on IRQ 4, A dropping first */
		seed_out(s, P_COM1, 1, 1, 0x02);
		seed_out(s, P_COM1, UART_MCR, 1, MCR_OUT2);
		seed_cfg_write(s, 1, 0x60, 1, COM1_GSI);
		seed_out(s, P_STUB_A_IO, 0, 1, 0);
		seed_in(s, P_COM1, 2, 1, 1); /* IIR: THRE acknowledged */
		seed_out(s, P_COM1, 0, 1, 'x');
		seed_host(s, 7);
		seed_u8(s, 3);
		seed_val(s, 0x0a6b6f, 3);
		seed_out(s, P_COM1, 1, 1, 0x01);
		seed_out(s, P_STUB_A_IO, 0, 1, 1);
		seed_cfg_write(s, 1, 0x60, 1, 0x80);
		seed_mmio(s, true, 1, 3, 0, 0);
		seed_host(s, 5); /* system_reset with lines high */
		seed_in(s, P_STUB_A_IO, 0, 1, 1);
		break;
	}
}

static void run_mutations(unsigned count)
{
	static const uint8_t interesting[] = {0,    1,	  0x7f, 0x80, 0xff, 0x06, 0x0b,
					      0x41, 0xc0, 0xf1, 0xfe, 0x20, 0x26, 0x42};
	struct fuzz_seed s;

	for (unsigned it = 0; it < count; it++) {
		unsigned edits = 1 + fuzz_rng() % 6;

		seed_build(it % NR_SEEDS, &s);
		for (unsigned k = 0; k < edits && s.len; k++) {
			size_t off = fuzz_rng() % s.len;

			switch (fuzz_rng() % 5) {
			case 0:
				s.b[off] = interesting[fuzz_rng() % sizeof(interesting)];
				break;
			case 1: /* append random bytes: new operations */
				while (s.len < SEED_MAX && fuzz_rng() % 32)
					s.b[s.len++] = (uint8_t)fuzz_rng();
				break;
			case 2:
				s.len = off; /* truncate */
				break;
			case 3: /* splice a slice of another seed in */
				if (s.len + 32 <= SEED_MAX) {
					struct fuzz_seed o;
					size_t from;

					seed_build((unsigned)(fuzz_rng() % NR_SEEDS), &o);
					from = fuzz_rng() % o.len;
					for (size_t i = 0; i < 32 && from + i < o.len; i++)
						s.b[s.len++] = o.b[from + i];
				}
				break;
			default:
				s.b[off] ^= (uint8_t)(1 + fuzz_rng() % 255);
				break;
			}
		}
		fuzz_run_buf(s.b, s.len);
	}
}

static const struct fuzz_target target = {
	.name = "fuzz_platform",
	.seed_prefix = "platform-seed-",
	.nr_seeds = NR_SEEDS,
	.seed_build = seed_build,
};

int main(int argc, char **argv)
{
	unsigned long seed_resets, seed_exits;

	fuzz_standalone_begin(&target, argc, argv);
	/* The seeds reach what they were written for. */
	seed_resets = resets;
	seed_exits = exits;
	if (seed_resets < 4 || seed_exits < 1 || key_events < 3 || dma_runs < 3 || wp_calls < 1 ||
	    com1_irq_ops < 1 || shared_line_ops < 1) {
		fprintf(stderr,
			"fuzz_platform: seeds fell short: %lu resets, %lu exits, %lu key events, "
			"%lu DMA runs, %lu write-pointer writes, %lu operations with COM1's "
			"interrupt, %lu with two sources on one line\n",
			seed_resets, seed_exits, key_events, dma_runs, wp_calls, com1_irq_ops,
			shared_line_ops);
		return 1;
	}
	run_mutations(20000);
	printf("fuzz_platform: %lu inputs, %lu operations, %lu bus accesses, %lu interrupt edges, "
	       "%lu resets, %lu soft-offs, %lu DMA doorbells, %lu key and %lu mouse events, "
	       "%.1f s of fake time, %lu operations with two sources on one line; no invariant "
	       "violated\n",
	       fuzz_runs(), nr_ops, accesses, irq_edges, resets, exits, dma_runs, key_events,
	       mouse_events, (double)timer_ns_total / 1e9, shared_line_ops);
	return 0;
}
#endif
