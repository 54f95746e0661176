// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PIIX4 power management function: ACPI PM1 event/control registers, the
 * PM timer, GPE0 and the APM command port.
 *
 * The PM timer is never stored: it is the number of 3.579545 MHz ticks
 * since creation, computed from vm_clock_ns() when read.  TMR_STS (bit 23
 * of the count toggled) is likewise derived lazily: every locked entry
 * first catches up with the clock ("sample"), so the status a guest reads
 * or clears reflects every toggle up to that moment.  A host timer runs
 * only while TMR_EN is set and TMR_STS is clear, to raise the SCI on the
 * toggle itself, as QEMU's hw/acpi/core.c does.
 *
 * Registers are handled byte by byte: every register here is either plain,
 * write-1-to-clear or read-only per bit, and the bits that act (SLP_EN and
 * SLP_TYP) share one byte, so splitting a wide access gives the same
 * result as the real chip and any size at any offset is harmless.
 *
 * Facts checked against QEMU's hw/acpi/piix4.c, hw/acpi/core.c and
 * hw/isa/apm.c, and SeaBIOS's src/fw/pciinit.c and src/fw/acpi.c.
 */
#include "devices/piix4_pm.h"
#include "vmm/device.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/timer.h"

/* Config space */
#define CFG_PMBA	 0x40
#define CFG_DEVACTB	 0x58
#define CFG_PMREGMISC	 0x80
#define CFG_SMBBA	 0x90
#define CFG_SMBHSTCFG	 0xd2
#define PMREGMISC_PMIOSE 0x01
#define PMBA_MASK	 0xffc0

/* PM I/O block offsets */
#define PM1_STS	   0x00
#define PM1_EN	   0x02
#define PM1_CNT	   0x04
#define PM_TMR	   0x08
#define PM_STORAGE 0x0c /* GPSTS .. GPO: plain storage up to the end */

#define STS_TMR	    0x0001
#define STS_BM	    0x0010
#define STS_GBL	    0x0020
#define STS_PWRBTN  0x0100
#define STS_RTC	    0x0400
#define STS_WAK	    0x8000
#define STS_ALL	    (STS_TMR | STS_BM | STS_GBL | STS_PWRBTN | STS_RTC | STS_WAK)
#define EN_ALL	    (STS_TMR | STS_GBL | STS_PWRBTN | STS_RTC) /* same bit positions */
#define SCI_SOURCES EN_ALL

#define CNT_SCI_EN	  0x0001
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP_MASK  0x7
#define CNT_SLP_EN	  0x2000
#define SLP_TYP_S5	  0 /* our DSDT's \_S5 package, as QEMU's PIIX4 has it */

#define APM_ACPI_ENABLE	 0xf1
#define APM_ACPI_DISABLE 0xf0

#define TMR_BITS   24
#define TMR_MASK   ((1u << TMR_BITS) - 1)
#define TMR_HALF   (1ull << (TMR_BITS - 1)) /* bit 23 toggles every TMR_HALF ticks */
#define NS_PER_SEC 1000000000ull

struct piix4_pm {
	struct pci_dev *dev;
	struct bus *pio;
	struct irq_line sci;
	struct machine_events ev;
	struct vm_timer *timer;

	int io_region; /* the PM I/O block: a custom region of the PCI core */

	pthread_mutex_t lock;	 /* guards everything below */
	uint64_t clock_base;	 /* vm_clock_ns() at tick 0 */
	uint64_t next_toggle;	 /* tick count at which TMR_STS is next set */
	uint64_t timer_deadline; /* 0: host timer not armed */
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint16_t gpe_sts, gpe_en;
	uint8_t apm_cnt, apm_sts;
	uint8_t storage[PIIX4_PM_IO_SIZE - PM_STORAGE];
	bool sci_level;
};

/* ---- PM timer ---- */

/* floor(ns * HZ / 1e9) without overflow for any 64-bit ns. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return ns / NS_PER_SEC * PIIX4_PM_TIMER_HZ +
	       ns % NS_PER_SEC * PIIX4_PM_TIMER_HZ / NS_PER_SEC;
}

/* The first ns at which ns_to_ticks() reaches ticks. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	uint64_t rem = ticks % PIIX4_PM_TIMER_HZ;

	return ticks / PIIX4_PM_TIMER_HZ * NS_PER_SEC +
	       (rem * NS_PER_SEC + PIIX4_PM_TIMER_HZ - 1) / PIIX4_PM_TIMER_HZ;
}

static uint64_t next_toggle_after(uint64_t ticks)
{
	return (ticks + TMR_HALF) & ~(TMR_HALF - 1);
}

/* With the lock held: the tick count now, with TMR_STS caught up. */
static uint64_t sample(struct piix4_pm *pm)
{
	uint64_t now = vm_clock_ns();
	uint64_t ticks = ns_to_ticks(now > pm->clock_base ? now - pm->clock_base : 0);

	if (ticks >= pm->next_toggle) {
		pm->pm1_sts |= STS_TMR;
		pm->next_toggle = next_toggle_after(ticks);
	}
	return ticks;
}

/* With the lock held, after any change: drive the SCI and (dis)arm the
 * overflow timer. */
static void update(struct piix4_pm *pm)
{
	/* SCI_EN routes the events to the SCI; clear (ACPI not enabled) they
	 * would go to SMI on the chip, which we do not have. */
	bool level = (pm->pm1_cnt & CNT_SCI_EN) &&
		     ((pm->pm1_sts & pm->pm1_en & SCI_SOURCES) || (pm->gpe_sts & pm->gpe_en));
	bool want_timer = (pm->pm1_en & STS_TMR) && !(pm->pm1_sts & STS_TMR);

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
	if (want_timer) {
		uint64_t deadline = pm->clock_base + ticks_to_ns(pm->next_toggle);

		if (deadline != pm->timer_deadline) {
			pm->timer_deadline = deadline;
			vm_timer_mod(pm->timer, deadline);
		}
	} else if (pm->timer_deadline) {
		pm->timer_deadline = 0;
		vm_timer_del(pm->timer);
	}
}

static void overflow_timer_fired(void *opaque)
{
	struct piix4_pm *pm = opaque;

	pthread_mutex_lock(&pm->lock);
	/* A late or stale expiry just finds nothing new. */
	pm->timer_deadline = 0;
	sample(pm);
	update(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* ---- PM I/O block ---- */

static uint8_t pm_read_byte(struct piix4_pm *pm, unsigned off, uint64_t ticks)
{
	switch (off) {
	case PM1_STS:
	case PM1_STS + 1:
		return (uint8_t)(pm->pm1_sts >> (8 * (off - PM1_STS)));
	case PM1_EN:
	case PM1_EN + 1:
		return (uint8_t)(pm->pm1_en >> (8 * (off - PM1_EN)));
	case PM1_CNT:
	case PM1_CNT + 1:
		return (uint8_t)(pm->pm1_cnt >> (8 * (off - PM1_CNT)));
	case PM_TMR:
	case PM_TMR + 1:
	case PM_TMR + 2:
		return (uint8_t)((ticks & TMR_MASK) >> (8 * (off - PM_TMR)));
	default:
		if (off >= PM_STORAGE && off < PIIX4_PM_IO_SIZE)
			return pm->storage[off - PM_STORAGE];
		return 0; /* reserved, and the timer's top byte */
	}
}

/* Returns true when the byte asked for soft-off. */
static bool pm_write_byte(struct piix4_pm *pm, unsigned off, uint8_t b)
{
	switch (off) {
	case PM1_STS:
	case PM1_STS + 1:
		pm->pm1_sts &= (uint16_t) ~((b << (8 * (off - PM1_STS))) & STS_ALL);
		return false;
	case PM1_EN:
	case PM1_EN + 1: {
		unsigned shift = 8 * (off - PM1_EN);

		pm->pm1_en = (uint16_t)((pm->pm1_en & ~(0xff << shift)) | ((b << shift) & EN_ALL));
		return false;
	}
	case PM1_CNT:
		pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & 0xff00) | b);
		return false;
	case PM1_CNT + 1: {
		uint16_t v = (uint16_t)(b << 8);

		pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & 0x00ff) | (v & ~CNT_SLP_EN));
		if (!(v & CNT_SLP_EN))
			return false;
		/* No S1-S4 here: the DSDT offers only \_S5; anything else is
		 * a guest asking for a state we do not have, and is ignored. */
		return ((v >> CNT_SLP_TYP_SHIFT) & CNT_SLP_TYP_MASK) == SLP_TYP_S5;
	}
	default:
		if (off >= PM_STORAGE && off < PIIX4_PM_IO_SIZE)
			pm->storage[off - PM_STORAGE] = b;
		return false; /* reserved bytes and the read-only timer */
	}
}

static uint64_t pm_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct piix4_pm *pm = opaque;
	uint64_t v = 0, ticks;

	if (size > 8)
		return ~0ull;
	pthread_mutex_lock(&pm->lock);
	ticks = sample(pm);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t b = off < PIIX4_PM_IO_SIZE ? pm_read_byte(pm, (unsigned)off, ticks) : 0xff;

		v |= (uint64_t)b << (8 * i);
	}
	update(pm); /* the sample may have set TMR_STS */
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void power_off(struct piix4_pm *pm)
{
	if (pm->ev.exit)
		pm->ev.exit(pm->ev.opaque, 0);
}

static void pm_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct piix4_pm *pm = opaque;
	bool off = false;

	if (size > 8)
		return;
	pthread_mutex_lock(&pm->lock);
	sample(pm);
	for (unsigned i = 0; i < size; i++)
		if (offset + i < PIIX4_PM_IO_SIZE)
			off |=
			    pm_write_byte(pm, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
	update(pm);
	pthread_mutex_unlock(&pm->lock);
	/* Outside the lock: the machine may stop vCPUs that wait on it. */
	if (off)
		power_off(pm);
}

static const struct bus_ops pm_io_ops = {
    .read = pm_io_read,
    .write = pm_io_write,
};

/* ---- GPE0 block ---- */

static uint64_t gpe_read(void *opaque, uint64_t offset, unsigned size)
{
	struct piix4_pm *pm = opaque;
	uint64_t v = 0;

	if (size > 8)
		return ~0ull;
	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t b = 0xff;

		if (off < 2)
			b = (uint8_t)(pm->gpe_sts >> (8 * off));
		else if (off < PIIX4_GPE0_NR_PORTS)
			b = (uint8_t)(pm->gpe_en >> (8 * (off - 2)));
		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void gpe_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct piix4_pm *pm = opaque;

	if (size > 8)
		return;
	pthread_mutex_lock(&pm->lock);
	sample(pm);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		unsigned shift = 8 * (unsigned)(off & 1);
		uint16_t b = (uint8_t)(value >> (8 * i));

		if (off < 2)
			pm->gpe_sts &= (uint16_t) ~(b << shift);
		else if (off < PIIX4_GPE0_NR_PORTS)
			pm->gpe_en = (uint16_t)((pm->gpe_en & ~(0xff << shift)) | (b << shift));
	}
	update(pm);
	pthread_mutex_unlock(&pm->lock);
}

const struct bus_ops piix4_pm_gpe_bus_ops = {
    .read = gpe_read,
    .write = gpe_write,
};

/* ---- APM control/status (0xb2/0xb3) ---- */

static uint64_t apm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct piix4_pm *pm = opaque;
	uint64_t v = 0;

	if (size > 8)
		return ~0ull;
	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t b = off == 0 ? pm->apm_cnt : off == 1 ? pm->apm_sts : 0xff;

		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void apm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct piix4_pm *pm = opaque;

	if (size > 8)
		return;
	pthread_mutex_lock(&pm->lock);
	sample(pm);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t b = (uint8_t)(value >> (8 * i));

		if (off == 1) {
			pm->apm_sts = b;
		} else if (off == 0) {
			/* The ACPI enable handshake (FADT SMI_CMD): the
			 * chipset's SMI handler would flip SCI_EN; with no
			 * SMM we do it here.  Other commands only latch. */
			pm->apm_cnt = b;
			if (b == APM_ACPI_ENABLE)
				pm->pm1_cnt |= CNT_SCI_EN;
			else if (b == APM_ACPI_DISABLE)
				pm->pm1_cnt &= (uint16_t)~CNT_SCI_EN;
		}
	}
	update(pm); /* SCI_EN gates the SCI */
	pthread_mutex_unlock(&pm->lock);
}

const struct bus_ops piix4_pm_apm_bus_ops = {
    .read = apm_read,
    .write = apm_write,
};

/* ---- PCI function ---- */

static uint32_t cfg_get32(const uint8_t *cfg, unsigned off)
{
	return (uint32_t)cfg[off] | (uint32_t)cfg[off + 1] << 8 | (uint32_t)cfg[off + 2] << 16 |
	       (uint32_t)cfg[off + 3] << 24;
}

/* Where PMBA and PMREGMISC say the PM I/O block decodes (the PCI core
 * asks after every config write and on reset, and places it, refusing an
 * overlap as it does for BARs).  Base 0 counts as "not programmed", as the
 * core treats BARs; PMIOSE is the block's own enable, COMMAND does not
 * gate it (as on QEMU's PIIX4). */
static uint64_t pm_io_decode(void *opaque, struct pci_dev *dev)
{
	const uint8_t *cfg = pci_dev_config(dev);

	if (!(cfg[CFG_PMREGMISC] & PMREGMISC_PMIOSE))
		return 0;
	return cfg_get32(cfg, CFG_PMBA) & PMBA_MASK;
}

void piix4_pm_reset(struct piix4_pm *pm)
{
	uint64_t ticks;

	pthread_mutex_lock(&pm->lock);
	ticks = sample(pm);
	pm->pm1_sts = 0;
	pm->pm1_en = 0;
	pm->pm1_cnt = 0;
	pm->gpe_sts = 0;
	pm->gpe_en = 0;
	pm->apm_cnt = 0;
	pm->apm_sts = 0;
	memset(pm->storage, 0, sizeof(pm->storage));
	/* The timer keeps counting; only a toggle after now sets TMR_STS. */
	pm->next_toggle = next_toggle_after(ticks);
	update(pm);
	/* Whatever the line held before, it starts low. */
	pm->sci_level = false;
	irq_line_set(&pm->sci, false);
	pthread_mutex_unlock(&pm->lock);
}

static void piix4_pm_pci_reset(void *opaque, struct pci_dev *dev)
{
	/* The core has restored PMBA and PMREGMISC to their power-on values
	 * and re-decoded the PM I/O block. */
	piix4_pm_reset(opaque);
}

static const struct pci_dev_ops piix4_pm_pci_ops = {
    .reset = piix4_pm_pci_reset,
};

struct piix4_pm *piix4_pm_create(struct pci_bus *pci, unsigned devfn, struct bus *pio,
				 const struct irq_line *sci, const struct machine_events *ev,
				 struct event_loop *loop)
{
	static const struct pci_dev_info info = {
	    .vendor = 0x8086,
	    .device = 0x7113,
	    .class_code = 0x068000, /* bridge, other */
	    .revision = 0x03,
	    .irq_pin = 1,
	    .name = "piix4-pm",
	};
	struct piix4_pm *pm = calloc(1, sizeof(*pm));
	uint8_t *cfg, *wmask;

	if (!pm)
		return NULL;
	pm->pio = pio;
	if (sci)
		pm->sci = *sci;
	if (ev)
		pm->ev = *ev;
	pthread_mutex_init(&pm->lock, NULL);
	pm->clock_base = vm_clock_ns();
	pm->next_toggle = TMR_HALF;
	pm->timer = vm_timer_new(loop, overflow_timer_fired, pm);
	if (!pm->timer)
		goto fail;
	pm->dev = pci_dev_add(pci, devfn, &info, &piix4_pm_pci_ops, pm);
	if (!pm->dev)
		goto fail;
	pm->io_region = pci_dev_add_region(pm->dev, true, PIIX4_PM_IO_SIZE, pm_io_decode,
					   &pm_io_ops, pm, "piix4-pm");
	if (pm->io_region < 0)
		goto fail; /* cannot happen: the function is new */

	cfg = pci_dev_config(pm->dev);
	wmask = pci_dev_wmask(pm->dev);
	/* Status: fast back-to-back capable, medium DEVSEL, as QEMU reports. */
	cfg[PCI_STATUS] = 0x80;
	cfg[PCI_STATUS + 1] = 0x02;
	cfg[CFG_PMBA] = 0x01; /* I/O space indicator */
	wmask[CFG_PMBA] = PMBA_MASK & 0xff;
	wmask[CFG_PMBA + 1] = PMBA_MASK >> 8;
	wmask[CFG_PMREGMISC] = PMREGMISC_PMIOSE;
	cfg[CFG_SMBBA] = 0x01;
	wmask[CFG_SMBBA] = 0xf0;
	wmask[CFG_SMBBA + 1] = 0xff;
	wmask[CFG_SMBHSTCFG] = 0xff;
	/* DEVACTB bit 25: SeaBIOS reads it as "SMM already initialised" and
	 * skips its SMM setup, which would spin on 0xb3 forever without SMM
	 * (seabios-interface.md §9).  Read-only so the guest cannot undo it. */
	cfg[CFG_DEVACTB + 3] = 0x02;
	return pm;

fail:
	if (pm->timer)
		vm_timer_free(pm->timer);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	return NULL;
}

void piix4_pm_destroy(struct piix4_pm *pm)
{
	if (!pm)
		return;
	pci_dev_release_region(pm->dev, (unsigned)pm->io_region);
	vm_timer_free(pm->timer);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

void piix4_pm_preset_pmba(struct piix4_pm *pm, uint16_t base)
{
	uint8_t *cfg = pci_dev_config(pm->dev);
	uint16_t pmba = (uint16_t)((base & PMBA_MASK) | 1);

	cfg[CFG_PMBA] = (uint8_t)pmba;
	cfg[CFG_PMBA + 1] = (uint8_t)(pmba >> 8);
	cfg[CFG_PMREGMISC] |= PMREGMISC_PMIOSE;
	pci_dev_update_regions(pm->dev);
}

void piix4_pm_power_button(struct piix4_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	sample(pm);
	pm->pm1_sts |= STS_PWRBTN;
	update(pm);
	pthread_mutex_unlock(&pm->lock);
}

void piix4_pm_raise_gpe(struct piix4_pm *pm, unsigned bit)
{
	if (bit >= 16)
		return;
	pthread_mutex_lock(&pm->lock);
	sample(pm);
	pm->gpe_sts |= (uint16_t)(1u << bit);
	update(pm);
	pthread_mutex_unlock(&pm->lock);
}

uint16_t piix4_pm_io_base(struct piix4_pm *pm)
{
	return (uint16_t)pci_dev_region_addr(pm->dev, (unsigned)pm->io_region);
}

/* ---- the board's view ---- */

static void *piix4_pm_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
				 char *err, size_t errlen)
{
	struct irq_line sci;
	struct piix4_pm *pm;

	if (dev_isa_irq(ctx, (unsigned)e->irq, &sci, err, errlen) < 0)
		return NULL;
	pm = piix4_pm_create(ctx->pci, (unsigned)e->devfn, ctx->pio, &sci, ctx->events, ctx->loop);
	if (!pm) {
		snprintf(err, errlen, "%s: cannot add the PM function at %02x.%x", e->id,
			 PCI_SLOT(e->devfn), PCI_FUNC(e->devfn));
		return NULL;
	}
	if (dev_claim(ctx->pio, PIIX4_PM_APM_PORT, PIIX4_PM_APM_NR_PORTS, &piix4_pm_apm_bus_ops, pm,
		      "apm", err, errlen) < 0 ||
	    dev_claim(ctx->pio, PIIX4_GPE0_PORT, PIIX4_GPE0_NR_PORTS, &piix4_pm_gpe_bus_ops, pm,
		      "gpe0", err, errlen) < 0) {
		piix4_pm_destroy(pm);
		return NULL;
	}
	return pm;
}

static void piix4_pm_dev_destroy(void *state)
{
	piix4_pm_destroy(state);
}

/* "powerdown": a press of the power button (QMP system_powerdown, SIGTERM). */
static int piix4_pm_dev_control(void *state, const char *command, struct json_t *args,
				struct json_t **reply, char *err, size_t errlen)
{
	if (strcmp(command, "powerdown")) {
		snprintf(err, errlen, "piix4-pm: no command '%.100s' (only powerdown)", command);
		return -1;
	}
	piix4_pm_power_button(state);
	*reply = NULL;
	return 0;
}

/* Reset comes from the PCI bus reset, through the function's hook. */
const struct device_type piix4_pm_type = {
	.name = "piix4-pm",
	.create = piix4_pm_dev_create,
	.destroy = piix4_pm_dev_destroy,
	.control = piix4_pm_dev_control,
};
