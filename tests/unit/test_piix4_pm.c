// SPDX-License-Identifier: GPL-2.0-or-later
/* PIIX4 power management driven the way SeaBIOS and an ACPI OS drive it:
 * config space through the PCI core, the PM block, GPE0 and the APM ports
 * through a real port bus, with a recording SCI line, recorded machine
 * events and the fake clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pci.h"
#include "devices/piix4_pm.h"
#include "tests/unit/fake_timer.h"
#include "vmm/bus.h"

#define DEVFN  PIIX4_PM_DEVFN
#define PMBASE 0x600
#define NS     1000000000ull
#define HZ     3579545ull

#define PM1_STS 0x00
#define PM1_EN	0x02
#define PM1_CNT 0x04
#define PM_TMR	0x08
#define GLBCTL	0x28

#define STS_TMR	   0x0001
#define STS_PWRBTN 0x0100
#define EN_TMR	   0x0001
#define EN_PWRBTN  0x0100
#define CNT_SCI_EN 0x0001
#define CNT_SLP_EN 0x2000

struct fixture {
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	struct piix4_pm *pm;
	bool sci;
	unsigned rises, falls;
	unsigned exits, resets;
	int exit_status;
};

static void record_sci(void *opaque, unsigned gsi, bool level)
{
	struct fixture *f = opaque;

	assert_int_equal(gsi, PIIX4_PM_SCI_IRQ);
	if (level && !f->sci)
		f->rises++;
	if (!level && f->sci)
		f->falls++;
	f->sci = level;
}

static void record_exit(void *opaque, int status)
{
	struct fixture *f = opaque;

	f->exits++;
	f->exit_status = status;
}

static void record_reset(void *opaque)
{
	struct fixture *f = opaque;

	f->resets++;
}

static struct fixture *fixture_new(bool preset)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line sci = {.set_level = record_sci, .gsi = PIIX4_PM_SCI_IRQ};
	struct machine_events ev = {.reset = record_reset, .exit = record_exit};

	assert_non_null(f);
	sci.opaque = f;
	ev.opaque = f;
	f->pio = bus_create("pio", 0x10000);
	f->mmio = bus_create("mmio", 0);
	assert_non_null(f->pio);
	assert_non_null(f->mmio);
	f->pci = pci_bus_create(f->pio, f->mmio);
	assert_non_null(f->pci);
	f->pm = piix4_pm_create(f->pci, DEVFN, f->pio, &sci, &ev, NULL);
	assert_non_null(f->pm);
	assert_true(bus_register(f->pio, PIIX4_PM_APM_PORT, PIIX4_PM_APM_NR_PORTS,
				 &piix4_pm_apm_bus_ops, f->pm, "apm") >= 0);
	assert_true(bus_register(f->pio, PIIX4_GPE0_PORT, PIIX4_GPE0_NR_PORTS,
				 &piix4_pm_gpe_bus_ops, f->pm, "gpe0") >= 0);
	if (preset)
		piix4_pm_preset_pmba(f->pm, PMBASE);
	pci_bus_seal(f->pci);
	return f;
}

static void fixture_free(struct fixture *f)
{
	piix4_pm_destroy(f->pm);
	pci_bus_destroy(f->pci);
	bus_destroy(f->pio);
	bus_destroy(f->mmio);
	free(f);
}

static int setup(void **state)
{
	*state = fixture_new(false);
	return 0;
}

static int setup_preset(void **state)
{
	*state = fixture_new(true);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static uint32_t cfg_read(struct fixture *f, unsigned reg, unsigned size)
{
	return pci_config_read(f->pci, DEVFN, reg, size);
}

static void cfg_write(struct fixture *f, unsigned reg, uint32_t v, unsigned size)
{
	pci_config_write(f->pci, DEVFN, reg, v, size);
}

/* What SeaBIOS's piix4_pm_setup does (src/fw/pciinit.c). */
static void bios_program(struct fixture *f, uint16_t base)
{
	cfg_write(f, 0x40, base | 1u, 4);
	cfg_write(f, 0x80, 0x01, 1);
	cfg_write(f, 0x90, (base + 0x100u) | 1u, 4);
	cfg_write(f, 0xd2, 0x09, 1);
}

static uint64_t io_read(struct fixture *f, uint16_t port, unsigned size)
{
	uint64_t v = 0;

	bus_read(f->pio, port, size, &v);
	return v;
}

static int io_claimed(struct fixture *f, uint16_t port)
{
	uint64_t v;

	return bus_read(f->pio, port, 1, &v) != BUS_UNCLAIMED;
}

static void io_write(struct fixture *f, uint16_t port, uint64_t v, unsigned size)
{
	assert_int_not_equal(bus_write(f->pio, port, v, size), BUS_UNCLAIMED);
}

/* The OS's ACPI enable handshake (FADT SMI_CMD, ACPI_ENABLE): sets SCI_EN. */
static void acpi_enable(struct fixture *f)
{
	io_write(f, PIIX4_PM_APM_PORT, 0xf1, 1);
}

static uint32_t pm_tmr(struct fixture *f)
{
	return (uint32_t)io_read(f, PMBASE + PM_TMR, 4);
}

/* ---- config space ---- */

static void test_ids(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0x00, 2), 0x8086);
	assert_int_equal(cfg_read(f, 0x02, 2), 0x7113);
	assert_int_equal(cfg_read(f, 0x08, 1), 0x03);
	assert_int_equal(cfg_read(f, 0x08, 4) >> 8, 0x068000);
	assert_int_equal(cfg_read(f, 0x0e, 1), 0x00);
	assert_int_equal(cfg_read(f, 0x3d, 1), 0x01);
	assert_int_equal(cfg_read(f, 0x06, 2), 0x0280);
	assert_int_equal(cfg_read(f, 0x2c, 4), 0x11001af4);
	/* Power-on: PMBA says "I/O space", nothing enabled. */
	assert_int_equal(cfg_read(f, 0x40, 4), 0x00000001);
	assert_int_equal(cfg_read(f, 0x80, 1), 0x00);
	assert_int_equal(cfg_read(f, 0x90, 4), 0x00000001);
	assert_int_equal(cfg_read(f, 0xd2, 1), 0x00);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	/* SeaBIOS writes the interrupt line. */
	cfg_write(f, 0x3c, 9, 1);
	assert_int_equal(cfg_read(f, 0x3c, 1), 9);
}

static void test_smm_marker_read_only(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0x5b, 1), 0x02);
	assert_true(cfg_read(f, 0x58, 4) & (1u << 25));
	cfg_write(f, 0x5b, 0x00, 1);
	cfg_write(f, 0x58, 0x00000000, 4);
	cfg_write(f, 0x5a, 0x0000, 2);
	assert_int_equal(cfg_read(f, 0x5b, 1), 0x02);
	assert_int_equal(cfg_read(f, 0x58, 4), 0x02000000);
}

static void test_config_masks(void **state)
{
	struct fixture *f = *state;

	cfg_write(f, 0x40, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 0x40, 4), 0x0000ffc1);
	cfg_write(f, 0x40, 0x00000000, 4);
	assert_int_equal(cfg_read(f, 0x40, 4), 0x00000001); /* bit 0 stays */
	cfg_write(f, 0x80, 0xff, 1);
	assert_int_equal(cfg_read(f, 0x80, 1), 0x01);
	cfg_write(f, 0x90, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 0x90, 4), 0x0000fff1);
	cfg_write(f, 0xd2, 0x09, 1);
	assert_int_equal(cfg_read(f, 0xd2, 1), 0x09);
	/* Nothing decodes at the SMBus base. */
	bios_program(f, PMBASE);
	assert_false(io_claimed(f, PMBASE + 0x100));
}

static void test_pmba_decode(void **state)
{
	struct fixture *f = *state;

	assert_false(io_claimed(f, PMBASE));
	cfg_write(f, 0x40, PMBASE | 1, 4);
	assert_false(io_claimed(f, PMBASE)); /* PMREGMISC still off */
	cfg_write(f, 0x80, 0x01, 1);
	assert_true(io_claimed(f, PMBASE));
	assert_true(io_claimed(f, PMBASE + 0x3f));
	assert_false(io_claimed(f, PMBASE + 0x40));
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);

	/* Moving PMBA moves the block (byte write to the high byte). */
	cfg_write(f, 0x41, 0xb0, 1);
	assert_int_equal(cfg_read(f, 0x40, 4), 0xb001);
	assert_false(io_claimed(f, PMBASE));
	assert_true(io_claimed(f, 0xb000));
	assert_true(io_claimed(f, 0xb008));
	assert_int_equal(piix4_pm_io_base(f->pm), 0xb000);

	/* Low bits below 64-byte alignment are not writable. */
	cfg_write(f, 0x40, 0xc03f, 2);
	assert_int_equal(cfg_read(f, 0x40, 2), 0xc001);
	assert_true(io_claimed(f, 0xc000));

	cfg_write(f, 0x80, 0x00, 1);
	assert_false(io_claimed(f, 0xc000));
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	/* A dword write over 0x80 turns it back on. */
	cfg_write(f, 0x80, 0x00000001, 4);
	assert_true(io_claimed(f, 0xc000));
	/* PMBA 0 with the enable set decodes nothing. */
	cfg_write(f, 0x40, 0, 4);
	assert_false(io_claimed(f, 0));
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
}

/* ---- PM timer ---- */

static void test_pm_timer_rate(void **state)
{
	struct fixture *f = *state;
	uint32_t t0, t1, w, b0, b1, b2, b3;

	bios_program(f, PMBASE);
	t0 = pm_tmr(f);
	assert_int_equal(t0 >> 24, 0);
	fake_clock_advance(NS);
	t1 = pm_tmr(f);
	assert_int_equal((t1 - t0) & 0xffffff, HZ);
	/* No time passes between these reads: every width agrees. */
	w = (uint32_t)io_read(f, PMBASE + PM_TMR, 2);
	b0 = (uint32_t)io_read(f, PMBASE + PM_TMR, 1);
	b1 = (uint32_t)io_read(f, PMBASE + PM_TMR + 1, 1);
	b2 = (uint32_t)io_read(f, PMBASE + PM_TMR + 2, 1);
	b3 = (uint32_t)io_read(f, PMBASE + PM_TMR + 3, 1);
	assert_int_equal(w, t1 & 0xffff);
	assert_int_equal(b0 | b1 << 8 | b2 << 16, t1);
	assert_int_equal(b3, 0);
	assert_int_equal(io_read(f, PMBASE + PM_TMR + 2, 2), t1 >> 16);
	/* A millisecond is 3579.545 ticks. */
	fake_clock_advance(1000000);
	assert_in_range((pm_tmr(f) - t1) & 0xffffff, 3579, 3580);
	/* Writes do nothing. */
	t1 = pm_tmr(f);
	io_write(f, PMBASE + PM_TMR, 0, 4);
	assert_int_equal(pm_tmr(f), t1);
}

static void test_pm_timer_wrap(void **state)
{
	struct fixture *f = *state;
	uint32_t t0, t1;

	bios_program(f, PMBASE);
	t0 = pm_tmr(f);
	/* 5 s = 17897725 ticks, more than 2^24: the counter wraps. */
	fake_clock_advance(5 * NS);
	t1 = pm_tmr(f);
	assert_true(t1 <= 0xffffff);
	assert_int_equal(t1, (uint32_t)((t0 + 5 * HZ) & 0xffffff));
	assert_true(5 * HZ > 0xffffff);
	/* Long runs stay exact: a day later. */
	fake_clock_advance(86400 * NS);
	assert_int_equal(pm_tmr(f), (uint32_t)((t0 + 86405 * HZ) & 0xffffff));
}

/* ns from now until bit 23 of the PM timer next toggles (to within a tick). */
static uint64_t ns_to_toggle(struct fixture *f)
{
	uint32_t t = pm_tmr(f);
	uint64_t ticks = 0x800000 - (t & 0x7fffff);

	return ticks * NS / HZ;
}

static void test_tmr_overflow_sci(void **state)
{
	struct fixture *f = *state;
	uint64_t ns;
	uint32_t before, after;

	bios_program(f, PMBASE);
	acpi_enable(f);
	io_write(f, PMBASE + PM1_STS, 0xffff, 2);
	io_write(f, PMBASE + PM1_EN, EN_TMR, 2);
	assert_false(f->sci);

	ns = ns_to_toggle(f);
	fake_clock_advance(ns - 2000); /* a few ticks short */
	assert_false(f->sci);
	before = pm_tmr(f);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_TMR, 0);
	/* The timer callback raises the SCI on the toggle, with no access. */
	fake_clock_advance(4000);
	assert_true(f->sci);
	assert_int_equal(f->rises, 1);
	after = pm_tmr(f);
	assert_int_not_equal(before & 0x800000, after & 0x800000);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_TMR, STS_TMR);

	/* Acknowledge: the line drops; the next toggle raises it again. */
	io_write(f, PMBASE + PM1_STS, STS_TMR, 2);
	assert_false(f->sci);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_TMR, 0);
	fake_clock_advance(ns_to_toggle(f) + 2000);
	assert_true(f->sci);
	assert_int_equal(f->rises, 2);

	/* Disabling TMR_EN drops the SCI though the status stays. */
	io_write(f, PMBASE + PM1_EN, 0, 2);
	assert_false(f->sci);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_TMR, STS_TMR);
}

static void test_tmr_status_without_enable(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	acpi_enable(f);
	io_write(f, PMBASE + PM1_STS, STS_TMR, 2);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_TMR, 0);
	fake_clock_advance(3 * NS); /* more than 2^23 ticks */
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_TMR, STS_TMR);
	assert_false(f->sci);
	assert_int_equal(f->rises, 0);
	/* Enabling with the status pending raises the SCI at once. */
	io_write(f, PMBASE + PM1_EN, EN_TMR, 2);
	assert_true(f->sci);
}

/* ---- PM1 event and control ---- */

static void test_pm1_sts_w1c(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	io_write(f, PMBASE + PM1_STS, 0xffff, 2);
	piix4_pm_power_button(f->pm);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), STS_PWRBTN);
	io_write(f, PMBASE + PM1_STS, 0x0000, 2);
	io_write(f, PMBASE + PM1_STS, 0xfeff, 2);
	io_write(f, PMBASE + PM1_STS, 0xfe, 1);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), STS_PWRBTN);
	/* A byte write to the high byte clears bit 8. */
	io_write(f, PMBASE + PM1_STS + 1, 0x01, 1);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), 0);

	/* A dword write at +0: low half clears status, high half is PM1_EN. */
	piix4_pm_power_button(f->pm);
	io_write(f, PMBASE + PM1_STS, (uint32_t)EN_PWRBTN << 16 | STS_PWRBTN, 4);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 4), (uint32_t)EN_PWRBTN << 16);
	/* PM1_EN keeps only the defined enables. */
	io_write(f, PMBASE + PM1_EN, 0xffff, 2);
	assert_int_equal(io_read(f, PMBASE + PM1_EN, 2), 0x0521);
}

static void test_apm_sci_en(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2) & CNT_SCI_EN, 0);
	io_write(f, PIIX4_PM_APM_PORT, 0xf1, 1);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2) & CNT_SCI_EN, CNT_SCI_EN);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT, 1), 0xf1);
	/* Another command is latched and leaves SCI_EN alone. */
	io_write(f, PIIX4_PM_APM_PORT, 0x55, 1);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT, 1), 0x55);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2) & CNT_SCI_EN, CNT_SCI_EN);
	io_write(f, PIIX4_PM_APM_PORT, 0xf0, 1);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2) & CNT_SCI_EN, 0);
	/* 0xb3 is a plain latch (SeaBIOS's SMM handshake would spin on it). */
	io_write(f, PIIX4_PM_APM_PORT + 1, 0x01, 1);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT + 1, 1), 0x01);
	io_write(f, PIIX4_PM_APM_PORT + 1, 0x00, 1);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT + 1, 1), 0x00);
	/* A word write covers both. */
	io_write(f, PIIX4_PM_APM_PORT, 0x7af1, 2);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT, 2), 0x7af1);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2) & CNT_SCI_EN, CNT_SCI_EN);
	assert_int_equal(f->exits, 0);
	assert_false(f->sci);
}

static void test_s5_powers_off(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	io_write(f, PIIX4_PM_APM_PORT, 0xf1, 1);
	/* What Linux and Windows write for \_S5 = {0, 0, 0, 0}. */
	io_write(f, PMBASE + PM1_CNT, CNT_SLP_EN | CNT_SCI_EN, 2);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->exit_status, 0);
	assert_int_equal(f->resets, 0);
	/* SLP_EN is write-only. */
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2), CNT_SCI_EN);
	/* The same through a byte write of the high half. */
	io_write(f, PMBASE + PM1_CNT + 1, CNT_SLP_EN >> 8, 1);
	assert_int_equal(f->exits, 2);
	/* And inside a dword write at +4 (with the reserved bytes). */
	io_write(f, PMBASE + PM1_CNT, 0xffff0000u | CNT_SLP_EN, 4);
	assert_int_equal(f->exits, 3);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 4), 0);
}

static void test_other_sleep_types_ignored(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	for (unsigned typ = 1; typ < 8; typ++) {
		io_write(f, PMBASE + PM1_CNT, CNT_SLP_EN | typ << 10, 2);
		assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2), typ << 10);
	}
	assert_int_equal(f->exits, 0);
	/* SLP_TYP 0 without SLP_EN does nothing either. */
	io_write(f, PMBASE + PM1_CNT, 0, 2);
	assert_int_equal(f->exits, 0);
	/* The device still works afterwards. */
	io_write(f, PMBASE + PM1_CNT, CNT_SLP_EN, 2);
	assert_int_equal(f->exits, 1);
}

static void test_power_button(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	acpi_enable(f);
	io_write(f, PMBASE + PM1_STS, 0xffff, 2);
	/* Not enabled: the status latches, the line stays low. */
	piix4_pm_power_button(f->pm);
	assert_false(f->sci);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_PWRBTN, STS_PWRBTN);
	/* Enabling with the press pending raises the SCI; disabling drops it
	 * and leaves the status (the line follows PWRBTN_EN). */
	io_write(f, PMBASE + PM1_EN, EN_PWRBTN, 2);
	assert_true(f->sci);
	io_write(f, PMBASE + PM1_EN, 0, 2);
	assert_false(f->sci);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_PWRBTN, STS_PWRBTN);
	io_write(f, PMBASE + PM1_EN, EN_PWRBTN, 2);
	assert_true(f->sci);
	/* Reading does not clear it, writing 0 does not either. */
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_PWRBTN, STS_PWRBTN);
	io_write(f, PMBASE + PM1_STS, 0, 2);
	assert_true(f->sci);
	/* Write 1 to clear: the status goes, the line drops. */
	io_write(f, PMBASE + PM1_STS, STS_PWRBTN, 2);
	assert_false(f->sci);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2) & STS_PWRBTN, 0);
	/* Enabled: a press raises the SCI at once, level until cleared; a
	 * second press before the clear is the same pending event. */
	piix4_pm_power_button(f->pm);
	assert_true(f->sci);
	piix4_pm_power_button(f->pm);
	assert_int_equal(f->rises, 3);
	io_write(f, PMBASE + PM1_STS, STS_PWRBTN, 2);
	assert_false(f->sci);
	assert_int_equal(f->falls, 3);
	/* The button works even while the PM block is not decoded. */
	cfg_write(f, 0x80, 0, 1);
	piix4_pm_power_button(f->pm);
	assert_true(f->sci);
	assert_int_equal(f->exits, 0);
}

/* With ACPI disabled (SCI_EN clear: the chip would raise an SMI) a press
 * latches PWRBTN_STS but raises no SCI; the OS's ACPI enable brings the
 * SCI up for the event still pending; disabling ACPI again drops it. */
static void test_power_button_acpi_disabled(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	io_write(f, PMBASE + PM1_EN, EN_PWRBTN, 2);
	piix4_pm_power_button(f->pm);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), STS_PWRBTN);
	assert_false(f->sci);
	assert_int_equal(f->rises, 0);
	acpi_enable(f);
	assert_true(f->sci);
	io_write(f, PIIX4_PM_APM_PORT, 0xf0, 1);
	assert_false(f->sci);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), STS_PWRBTN);
	/* SCI_EN written directly (PM1_CNT is read/write) gates it too. */
	io_write(f, PMBASE + PM1_CNT, CNT_SCI_EN, 2);
	assert_true(f->sci);
	io_write(f, PMBASE + PM1_CNT, 0, 2);
	assert_false(f->sci);
	io_write(f, PMBASE + PM1_STS, STS_PWRBTN, 2);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), 0);
	acpi_enable(f);
	assert_false(f->sci);
	assert_int_equal(f->exits, 0);
}

/* A machine reset clears a pending press and drops the SCI; the button
 * works again afterwards. */
static void test_power_button_reset(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	acpi_enable(f);
	io_write(f, PMBASE + PM1_EN, EN_PWRBTN, 2);
	piix4_pm_power_button(f->pm);
	assert_true(f->sci);
	pci_bus_reset(f->pci);
	assert_false(f->sci);
	bios_program(f, PMBASE);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), 0);
	assert_int_equal(io_read(f, PMBASE + PM1_EN, 2), 0);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2) & CNT_SCI_EN, 0);
	acpi_enable(f);
	io_write(f, PMBASE + PM1_EN, EN_PWRBTN, 2);
	assert_false(f->sci);
	piix4_pm_power_button(f->pm);
	assert_true(f->sci);
}

/* The board's way in: the device type's control hook, "powerdown". */
static void test_power_button_control(void **state)
{
	struct fixture *f = *state;
	struct json_t *reply = (struct json_t *)1;
	char err[128] = "";

	bios_program(f, PMBASE);
	acpi_enable(f);
	io_write(f, PMBASE + PM1_EN, EN_PWRBTN, 2);
	assert_non_null(piix4_pm_type.control);
	assert_int_equal(piix4_pm_type.control(f->pm, "powerdown", NULL, &reply, err, sizeof(err)),
			 0);
	assert_null(reply);
	assert_true(f->sci);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 2), STS_PWRBTN);
	assert_int_equal(piix4_pm_type.control(f->pm, "sleep", NULL, &reply, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "sleep"));
}

static void test_gpe0(void **state)
{
	struct fixture *f = *state;

	acpi_enable(f);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT, 4), 0);
	io_write(f, PIIX4_GPE0_PORT + 2, 0xffff, 2);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT + 2, 2), 0xffff);
	io_write(f, PIIX4_GPE0_PORT + 2, 0x0000, 2);
	/* Status bits cannot be set by the guest. */
	io_write(f, PIIX4_GPE0_PORT, 0xffff, 2);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT, 2), 0);

	piix4_pm_raise_gpe(f->pm, 3);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT, 2), 0x0008);
	assert_false(f->sci);
	io_write(f, PIIX4_GPE0_PORT + 2, 0x08, 1);
	assert_true(f->sci);
	/* Writing zero or another bit does not clear it. */
	io_write(f, PIIX4_GPE0_PORT, 0x0004, 2);
	assert_true(f->sci);
	io_write(f, PIIX4_GPE0_PORT, 0x08, 1);
	assert_false(f->sci);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT, 4), 0x00080000);

	/* High byte, dword view. */
	piix4_pm_raise_gpe(f->pm, 9);
	io_write(f, PIIX4_GPE0_PORT + 3, 0x02, 1);
	assert_true(f->sci);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT, 4), 0x02080200);
	io_write(f, PIIX4_GPE0_PORT + 1, 0x02, 1);
	assert_false(f->sci);
	piix4_pm_raise_gpe(f->pm, 16); /* out of range: ignored */
	piix4_pm_raise_gpe(f->pm, ~0u);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT, 2), 0);
	assert_false(f->sci);
}

static void test_storage_registers(void **state)
{
	struct fixture *f = *state;

	bios_program(f, PMBASE);
	for (unsigned off = 0x0c; off < 0x40; off++)
		assert_int_equal(io_read(f, PMBASE + off, 1), 0);
	io_write(f, PMBASE + GLBCTL, 0x01000001, 4);
	assert_int_equal(io_read(f, PMBASE + GLBCTL, 4), 0x01000001);
	io_write(f, PMBASE + 0x0c, 0xdeadbeef, 4);
	assert_int_equal(io_read(f, PMBASE + 0x0d, 2), 0xadbe);
	io_write(f, PMBASE + 0x3f, 0x5a, 1);
	assert_int_equal(io_read(f, PMBASE + 0x3c, 4) >> 24, 0x5a);
	/* A word straddling the timer's top byte and +0x0c. */
	io_write(f, PMBASE + 0x0b, 0x77ff, 2);
	assert_int_equal(io_read(f, PMBASE + 0x0c, 1), 0x77);
	assert_int_equal(io_read(f, PMBASE + PM_TMR + 3, 1), 0);
	/* Reserved +6/+7 read 0 and ignore writes. */
	io_write(f, PMBASE + 6, 0xffff, 2);
	assert_int_equal(io_read(f, PMBASE + 6, 2), 0);
	assert_int_equal(f->exits, 0);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	unsigned falls;

	bios_program(f, 0xb000);
	io_write(f, PIIX4_PM_APM_PORT, 0xf1, 1);
	io_write(f, PIIX4_PM_APM_PORT + 1, 0x42, 1);
	io_write(f, 0xb000 + PM1_EN, EN_PWRBTN | EN_TMR, 2);
	io_write(f, 0xb000 + GLBCTL, 0x11, 1);
	io_write(f, PIIX4_GPE0_PORT + 2, 0xffff, 2);
	piix4_pm_raise_gpe(f->pm, 0);
	piix4_pm_power_button(f->pm);
	assert_true(f->sci);
	falls = f->falls;

	pci_bus_reset(f->pci);
	assert_false(f->sci);
	assert_int_equal(f->falls, falls + 1);
	assert_int_equal(cfg_read(f, 0x40, 4), 1);
	assert_int_equal(cfg_read(f, 0x80, 1), 0);
	assert_int_equal(cfg_read(f, 0x90, 4), 1);
	assert_int_equal(cfg_read(f, 0xd2, 1), 0);
	assert_int_equal(cfg_read(f, 0x5b, 1), 0x02);
	assert_false(io_claimed(f, 0xb000));
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	assert_int_equal(io_read(f, PIIX4_GPE0_PORT, 4), 0);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT, 2), 0);

	bios_program(f, PMBASE);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 4), 0);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2), 0);
	assert_int_equal(io_read(f, PMBASE + GLBCTL, 4), 0);
	/* No stale overflow timer: TMR_EN was cleared. */
	fake_clock_advance(10 * NS);
	assert_false(f->sci);
	assert_int_equal(f->exits, 0);
	/* The timer is still running. */
	{
		uint32_t t = pm_tmr(f);

		fake_clock_advance(NS);
		assert_int_equal((pm_tmr(f) - t) & 0xffffff, HZ);
	}
	/* piix4_pm_reset on its own is harmless. */
	piix4_pm_reset(f->pm);
	assert_false(f->sci);
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);
}

static void test_preset_survives_reset(void **state)
{
	struct fixture *f = *state;

	/* Decoded without any firmware. */
	assert_true(io_claimed(f, PMBASE));
	assert_int_equal(cfg_read(f, 0x40, 4), PMBASE | 1);
	assert_int_equal(cfg_read(f, 0x80, 1), 1);
	/* The guest moves and disables it; reset brings the preset back. */
	cfg_write(f, 0x40, 0xb001, 4);
	assert_true(io_claimed(f, 0xb000));
	cfg_write(f, 0x80, 0, 1);
	assert_false(io_claimed(f, 0xb000));
	assert_false(io_claimed(f, PMBASE));
	pci_bus_reset(f->pci);
	assert_true(io_claimed(f, PMBASE));
	assert_false(io_claimed(f, 0xb000));
	assert_int_equal(cfg_read(f, 0x40, 4), PMBASE | 1);
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);
	/* Reset while decoded at the same place keeps one registration. */
	pci_bus_reset(f->pci);
	assert_true(io_claimed(f, PMBASE));
	io_write(f, PMBASE + PM1_CNT, CNT_SLP_EN, 2);
	assert_int_equal(f->exits, 1);
}

/* ---- hostile guest ---- */

static uint64_t other_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0x12;
}

static const struct bus_ops other_ops = {.read = other_read};

static void test_pmba_over_other_region(void **state)
{
	struct fixture *f = *state;

	assert_true(bus_register(f->pio, 0x720, 8, &other_ops, NULL, "other") >= 0);
	bios_program(f, PMBASE);
	/* 0x700..0x73f would cover "other": not decoded, other still answers. */
	cfg_write(f, 0x40, 0x701, 4);
	assert_int_equal(cfg_read(f, 0x40, 4), 0x701);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	assert_false(io_claimed(f, 0x700));
	assert_false(io_claimed(f, PMBASE));
	assert_int_equal(io_read(f, 0x720, 1), 0x12);
	/* Over the APM ports and the GPE block too. */
	cfg_write(f, 0x40, 0x81, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT, 1), 0);
	cfg_write(f, 0x40, 0xafc1, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	/* At the very top of the port space it fits. */
	cfg_write(f, 0x40, 0xffc1, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), 0xffc0);
	assert_true(io_claimed(f, 0xffff));
	/* Moving back to free space decodes again. */
	cfg_write(f, 0x40, PMBASE | 1, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);
	assert_true(io_claimed(f, PMBASE));
	assert_false(io_claimed(f, 0xffc0));
}

/* The PM block and BARs share one placement: whichever is refused for an
 * overlap is decoded as soon as the other moves away. */
static void test_pmba_overlap_heals(void **state)
{
	static const struct pci_dev_info info = {
		.vendor = 0x1234, .device = 0x0001, .class_code = 0xff0000, .name = "other-fn",
	};
	struct fixture *f = *state;
	struct pci_dev *d = pci_dev_add(f->pci, PCI_DEVFN(5, 0), &info, NULL, NULL);
	unsigned devfn = PCI_DEVFN(5, 0);

	assert_non_null(d);
	assert_int_equal(pci_dev_set_bar(d, 0, PCI_BAR_IO, false, 0x40, &other_ops, NULL), 0);
	pci_config_write(f->pci, devfn, PCI_BASE_ADDRESS_0, PMBASE, 4);
	pci_config_write(f->pci, devfn, PCI_COMMAND, PCI_COMMAND_IO, 2);
	assert_int_equal(io_read(f, PMBASE, 1), 0x12);
	/* The BIOS puts the PM block on the BAR: refused. */
	bios_program(f, PMBASE);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	/* The BAR moves: the PM block appears. */
	pci_config_write(f->pci, devfn, PCI_BASE_ADDRESS_0, 0xc000, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);
	assert_int_equal(io_read(f, PMBASE + PM1_CNT, 2), 0);
	/* The other way round: the BAR asks for the PM block's place... */
	pci_config_write(f->pci, devfn, PCI_BASE_ADDRESS_0, PMBASE, 4);
	assert_int_equal(pci_dev_bar_addr(d, 0), 0);
	/* ...and gets it when PMIOSE goes off. */
	cfg_write(f, 0x80, 0, 1);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	assert_int_equal(pci_dev_bar_addr(d, 0), PMBASE);
	assert_int_equal(io_read(f, PMBASE, 1), 0x12);
}

/* A PCI function whose I/O BAR competes with the PM block for ports (found
 * by fuzz_platform): whichever was refused for the overlap decodes as soon
 * as the other moves away, in both directions. */
static uint64_t bar_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0x34;
}

static const struct bus_ops bar_ops = {.read = bar_read};

static void test_pmba_and_bar_heal(void **state)
{
	struct fixture *f = *state;
	struct pci_dev_info info = {
	    .vendor = 0x1234, .device = 0x5678, .class_code = 0x078000, .name = "competitor"};
	struct pci_dev *d = pci_dev_add(f->pci, PCI_DEVFN(5, 0), &info, NULL, NULL);
	unsigned devfn = PCI_DEVFN(5, 0);

	assert_non_null(d);
	assert_int_equal(pci_dev_set_bar(d, 0, PCI_BAR_IO, false, 32, &bar_ops, NULL), 0);
	bios_program(f, PMBASE);
	/* The BAR inside the PM block is refused... */
	pci_config_write(f->pci, devfn, PCI_BASE_ADDRESS_0, PMBASE + 0x20, 4);
	pci_config_write(f->pci, devfn, PCI_COMMAND, PCI_COMMAND_IO, 2);
	assert_int_equal(pci_dev_bar_addr(d, 0), 0);
	/* ...and decodes once the PM block moves away. */
	cfg_write(f, 0x40, 0x701, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), 0x700);
	assert_int_equal(pci_dev_bar_addr(d, 0), PMBASE + 0x20);
	assert_int_equal(io_read(f, PMBASE + 0x20, 1), 0x34);
	/* The PM block back over the BAR is refused... */
	cfg_write(f, 0x40, PMBASE | 1, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	assert_false(io_claimed(f, 0x700));
	/* ...and decodes once the BAR moves away, or stops decoding. */
	pci_config_write(f->pci, devfn, PCI_BASE_ADDRESS_0, 0xc000, 4);
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);
	assert_int_equal(pci_dev_bar_addr(d, 0), 0xc000);
	assert_true(pm_tmr(f) <= 0xffffff);
	pci_config_write(f->pci, devfn, PCI_BASE_ADDRESS_0, PMBASE + 0x20, 4);
	cfg_write(f, 0x80, 0x00, 1);
	assert_int_equal(pci_dev_bar_addr(d, 0), PMBASE + 0x20);
	cfg_write(f, 0x80, 0x01, 1);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	pci_config_write(f->pci, devfn, PCI_COMMAND, 0, 2);
	assert_int_equal(pci_dev_bar_addr(d, 0), 0);
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);
	assert_true(io_claimed(f, PMBASE + 0x20));
}

static void test_hostile_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t v;
	unsigned seed = 12345;

	bios_program(f, PMBASE);
	/* Straddling the end of the block, odd sizes: the bus refuses them
	 * before the device sees them. */
	assert_int_equal(bus_read(f->pio, PMBASE + 0x3e, 4, &v), BUS_UNCLAIMED);
	assert_int_equal(bus_read(f->pio, PMBASE, 3, &v), BUS_UNCLAIMED);
	assert_int_equal(bus_write(f->pio, PIIX4_GPE0_PORT + 3, 0xffff, 2), BUS_UNCLAIMED);
	assert_int_equal(bus_read(f->pio, PIIX4_PM_APM_PORT + 1, 4, &v), BUS_UNCLAIMED);
	/* The ops themselves tolerate offsets and sizes beyond their ranges. */
	v = piix4_pm_apm_bus_ops.read(f->pm, 1, 8);
	assert_int_equal(v, 0xffffffffffffff00ull); /* 0xb3, then nothing */
	piix4_pm_apm_bus_ops.write(f->pm, 5, 0xf1, 1);
	assert_int_equal(io_read(f, PIIX4_PM_APM_PORT, 1), 0);
	v = piix4_pm_gpe_bus_ops.read(f->pm, 2, 8);
	assert_int_equal(v >> 16, 0xffffffffffffull);
	piix4_pm_gpe_bus_ops.write(f->pm, 100, ~0ull, 8);
	piix4_pm_apm_bus_ops.write(f->pm, ~0ull, ~0ull, 16);

	/* Random accesses everywhere (SLP_EN only counted, never fatal). */
	for (unsigned i = 0; i < 20000; i++) {
		static const unsigned sizes[] = {1, 2, 4};
		unsigned size = sizes[rand_r(&seed) % 3];
		unsigned off = (unsigned)rand_r(&seed) % (0x41 - size);
		uint32_t val = (uint32_t)rand_r(&seed) ^ (uint32_t)rand_r(&seed) << 16;

		switch (rand_r(&seed) % 6) {
		case 0:
			bus_write(f->pio, PMBASE + off, val, size);
			break;
		case 1:
			bus_read(f->pio, PMBASE + off, size, &v);
			break;
		case 2:
			bus_write(f->pio, PIIX4_GPE0_PORT + (off & 3), val, size);
			break;
		case 3:
			bus_write(f->pio, PIIX4_PM_APM_PORT + (off & 1), val, size);
			break;
		case 4:
			piix4_pm_power_button(f->pm);
			break;
		default:
			fake_clock_advance((uint64_t)val);
			break;
		}
	}
	/* Random config writes to the device-specific area (PMBA included). */
	for (unsigned i = 0; i < 5000; i++) {
		unsigned reg = 0x40 + (unsigned)rand_r(&seed) % 0xbc;

		cfg_write(f, reg, (uint32_t)rand_r(&seed), 1);
		if (piix4_pm_io_base(f->pm))
			assert_true(io_claimed(f, piix4_pm_io_base(f->pm)));
	}
	assert_int_equal(cfg_read(f, 0x5b, 1), 0x02);
	assert_int_equal(cfg_read(f, 0x40, 1) & 0x3f, 0x01);
	/* Everything the guest did is undone by a reset. */
	pci_bus_reset(f->pci);
	assert_false(f->sci);
	assert_int_equal(piix4_pm_io_base(f->pm), 0);
	bios_program(f, PMBASE);
	assert_int_equal(io_read(f, PMBASE + PM1_STS, 4), 0);
}

/* ---- threads: vCPUs hammer the registers while config space moves the
 * block and the "I/O thread" runs the timer. ---- */

struct hammer {
	struct fixture *f;
	unsigned seed;
};

static void *hammer_thread(void *opaque)
{
	struct hammer *h = opaque;
	uint64_t v;

	for (unsigned i = 0; i < 20000; i++) {
		unsigned off = (unsigned)rand_r(&h->seed) % 0x3d;

		if (rand_r(&h->seed) & 1)
			bus_read(h->f->pio, PMBASE + off, 4, &v);
		else
			bus_write(h->f->pio, PMBASE + (off & ~1u), 0x0121, 2);
		piix4_pm_power_button(h->f->pm);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct hammer h[2] = {{f, 1}, {f, 2}};
	pthread_t t[2];

	bios_program(f, PMBASE);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
	for (unsigned i = 0; i < 2000; i++)
		cfg_write(f, 0x80, i & 1, 1);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	cfg_write(f, 0x80, 1, 1);
	assert_int_equal(piix4_pm_io_base(f->pm), PMBASE);
	/* The line agrees with the registers after all that. */
	io_write(f, PMBASE + PM1_STS, 0xffff, 2);
	io_write(f, PIIX4_GPE0_PORT, 0xffff, 2);
	assert_false(f->sci);
	assert_int_equal(f->exits, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_smm_marker_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_masks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pmba_decode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pm_timer_rate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pm_timer_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tmr_overflow_sci, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tmr_status_without_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pm1_sts_w1c, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apm_sci_en, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_s5_powers_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_sleep_types_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_button_acpi_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_button_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_button_control, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gpe0, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_storage_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_preset_survives_reset, setup_preset, teardown),
	    cmocka_unit_test_setup_teardown(test_pmba_over_other_region, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pmba_overlap_heals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pmba_and_bar_heal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_accesses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
