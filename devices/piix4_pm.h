/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIIX4 power management, PCI function 00:01.3 (8086:7113, class 0x0680,
 * revision 3), as QEMU's "pc" machine has it: the ACPI fixed hardware that
 * SeaBIOS, Windows and Linux drive through the FADT.
 *
 * Config space: PMBA at 0x40 (bits 15:6, bit 0 reads 1), PMREGMISC 0x80
 * bit 0 enables the 64-byte PM I/O block at PMBA; SMBus base 0x90 and host
 * config 0xd2 are storage only (no SMBus controller).  Byte 0x5b reads 0x02
 * and is read-only: SeaBIOS then believes SMM is already set up and does
 * not try to start it (we have no SMM).
 *
 * PM I/O block at PMBA: +0 PM1_STS (write 1 to clear), +2 PM1_EN,
 * +4 PM1_CNT (SCI_EN, SLP_TYP, SLP_EN), +8 PM_TMR (24 bits at 3.579545 MHz),
 * +0x0c..+0x3f the PIIX4's other registers as plain storage.  Any access
 * of 1, 2 or 4 bytes at any offset works byte by byte.  PM1_CNT with
 * SLP_EN and SLP_TYP 0 (our \_S5) powers the machine off through
 * machine_events.exit(opaque, 0); other sleep types are ignored.
 *
 * The SCI is a level on its own interrupt line (IRQ 9): high while SCI_EN
 * is set (ACPI enabled) and an enabled PM1 event (timer overflow, global,
 * power button, RTC) or an enabled GPE0 event is pending.  With SCI_EN
 * clear the PIIX4 would raise an SMI instead (we have no SMM): the status
 * bits latch and the SCI follows once the OS enables ACPI.  (QEMU does not
 * gate on SCI_EN; ACPI operating systems enable it before anything else.)
 *
 * Outside the function: the GPE0 block (4 bytes, normally at 0xafe0:
 * +0 GPE0_STS write 1 to clear, +2 GPE0_EN) and the APM ports 0xb2/0xb3
 * (writing 0xf1 to 0xb2 sets SCI_EN, 0xf0 clears it; other values and 0xb3
 * are latched, no SMI is raised).  The machine registers those two with
 * the bus_ops below and the struct piix4_pm * as opaque.
 *
 * Threads and locks: one device mutex.  Register accesses come from vCPU
 * threads, the PM timer's overflow timer fires on the I/O thread.  With the
 * mutex held the device calls irq_line_set() on the SCI line and
 * vm_timer_mod()/vm_timer_del(), so the SCI line must not call back into
 * this device.  machine_events.exit() is called with no lock held.  The
 * PCI config lock is taken before the device mutex (the reset hook).  The
 * PM I/O block is a custom region of the PCI core (pci_dev_add_region):
 * the core decodes it from PMBA and PMREGMISC after every config write and
 * on reset, under the PCI config lock, with the same overlap refusal and
 * healing as BARs, and reports its moves to the function's BAR notifier as
 * PCI_REGION_IDX(0).
 */
#ifndef MINIVMM_PIIX4_PM_H
#define MINIVMM_PIIX4_PM_H

#include "vmm/device.h"
#include <stdint.h>

#include "devices/pci.h"
#include "vmm/bus.h"
#include "vmm/irq.h"
#include "vmm/machine_events.h"

struct event_loop;
struct piix4_pm;

#define PIIX4_PM_DEVFN	      PCI_DEVFN(1, 3)
#define PIIX4_PM_SCI_IRQ      9
#define PIIX4_PM_APM_PORT     0xb2 /* control; status at 0xb3 */
#define PIIX4_PM_APM_NR_PORTS 2
#define PIIX4_GPE0_PORT	      0xafe0
#define PIIX4_GPE0_NR_PORTS   4
#define PIIX4_PM_IO_SIZE      64
#define PIIX4_PM_TIMER_HZ     3579545

/* Adds the function at devfn on pci; the PM I/O block is placed on the
 * PCI bus's port bus (which pio must be) while enabled.  sci and ev are
 * copied, either may be NULL.  loop is for
 * the PM timer's overflow timer.  NULL if devfn is taken or memory or a
 * timer cannot be had. */
struct piix4_pm *piix4_pm_create(struct pci_bus *pci, unsigned devfn, struct bus *pio,
				 const struct irq_line *sci, const struct machine_events *ev,
				 struct event_loop *loop);
/* Once no vCPU and no timer can reach the device any more, and before the
 * port bus is destroyed.  The PCI function itself belongs to the PCI bus:
 * do not reset or access the PCI bus after this. */
void piix4_pm_destroy(struct piix4_pm *pm);

/* opaque = the struct piix4_pm *.  APM: PIIX4_PM_APM_NR_PORTS ports at
 * PIIX4_PM_APM_PORT; GPE0: PIIX4_GPE0_NR_PORTS ports at PIIX4_GPE0_PORT. */
extern const struct bus_ops piix4_pm_apm_bus_ops;
extern const struct bus_ops piix4_pm_gpe_bus_ops;

/* What firmware would program, for a direct Linux boot with no BIOS:
 * PMBA = base | 1 and PMREGMISC = 1, decoded at once.  Call before
 * pci_bus_seal() so that the PCI core records it as the power-on state and
 * every reset brings it back. */
void piix4_pm_preset_pmba(struct piix4_pm *pm, uint16_t base);

/* A press of the power button: PWRBTN_STS is set, whatever PWRBTN_EN says,
 * and stays set until the guest writes 1 to it; the SCI follows while the
 * guest has PWRBTN_EN and SCI_EN set (now or later).  The board's control
 * command "powerdown" does the same.  Any thread. */
void piix4_pm_power_button(struct piix4_pm *pm);
/* Sets bit (0..15) of GPE0_STS, e.g. for a hotplug event; the SCI follows
 * GPE0_EN.  Other bits are ignored.  Any thread. */
void piix4_pm_raise_gpe(struct piix4_pm *pm, unsigned bit);

/* PM1, GPE0 and APM registers and the PIIX4 storage registers to 0, SCI
 * low, overflow timer stopped; the PM timer keeps counting.  pci_bus_reset()
 * already does this through the function's reset hook (and then re-decodes
 * the PM I/O block from the restored config space); calling it again is
 * harmless. */
void piix4_pm_reset(struct piix4_pm *pm);

/* The PM I/O base decoded now, 0 if none (for tests and statistics). */
uint16_t piix4_pm_io_base(struct piix4_pm *pm);

/* Board row: .devfn 01.3, .irq the SCI (9); claims APM and GPE0 ports. */
extern const struct device_type piix4_pm_type;

#endif
