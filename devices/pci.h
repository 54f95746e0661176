/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI bus 0: configuration space of each function, BAR sizing and decoding,
 * the expansion ROM BAR, capability lists and INTx.
 *
 * The core keeps every function's 256-byte configuration space together with
 * a write mask (bits the guest may change) and a write-1-to-clear mask.  A
 * guest config write is applied through those masks; then, if the COMMAND
 * register, a BAR or the ROM BAR changed, the core re-places the function's
 * regions on the port-I/O or MMIO bus (a BAR is decoded only while its
 * COMMAND enable bit is set and it holds an address that fits), and finally
 * the function's config_write hook sees the change.  Functions therefore
 * implement only what is special about them.
 *
 * INTx: a function reports its pin level with pci_set_irq().  The core ORs
 * the levels of all functions sharing a PIRQ line (slot S, pin P = 1..4 →
 * PIRQ (S + P - 2) & 3, as QEMU's i440FX and SeaBIOS have it) and tells the
 * router (the PIIX3 ISA bridge) when a PIRQ's level changes.
 *
 * MSI and MSI-X: the core lays out the capabilities, applies their write
 * masks, keeps the MSI-X table and PBA (answering accesses to that window of
 * the BAR that holds them; the rest of the BAR stays the device's), and
 * delivers messages through the bus's MSI sink.  While MSI or MSI-X is
 * enabled the function's INTx pin is not asserted (PCI 3.0 §6.8).
 *
 * Slots: the machine's fixed devices sit at 00.x and 01.x; slot 2 is kept
 * for VGA whether or not there is one, so that devices added by options get
 * the same slots, in option order, from 03.0 on (pci_bus_alloc_slot()).
 *
 * Locking: one mutex (the config lock) guards configuration space and the
 * placement of regions; config hooks, BAR notifiers and region decode hooks
 * run with it held and must not call pci_config_* on the same bus.  A
 * second mutex (the interrupt lock) guards INTx, MSI and MSI-X state and is
 * taken after the first when both are held; pci_set_irq(), pci_msi_notify()
 * and pci_msix_notify() may be called from any thread, including from
 * within a config hook.  The MSI sink and MSI notifiers run with the
 * interrupt lock held and must not call back into the PCI core.
 */
#ifndef MINIVMM_PCI_H
#define MINIVMM_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

#define PCI_CFG_SIZE 256

/* Standard header offsets */
#define PCI_VENDOR_ID	    0x00
#define PCI_DEVICE_ID	    0x02
#define PCI_COMMAND	    0x04
#define PCI_STATUS	    0x06
#define PCI_REVISION_ID	    0x08
#define PCI_CLASS_PROG	    0x09
#define PCI_CLASS_DEVICE    0x0a
#define PCI_HEADER_TYPE	    0x0e
#define PCI_BASE_ADDRESS_0  0x10
#define PCI_SUBSYSTEM_VENDOR 0x2c
#define PCI_SUBSYSTEM_ID    0x2e
#define PCI_ROM_ADDRESS	    0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d

#define PCI_COMMAND_IO	   0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_SERR   0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST  0x0010

#define PCI_HEADER_TYPE_MULTI 0x80

#define PCI_CAP_ID_MSI	0x05
#define PCI_CAP_ID_MSIX 0x11

#define PCI_NUM_BARS   6
#define PCI_MAX_DEVFN  256
#define PCI_DEVFN(slot, fn) ((unsigned)(((slot) << 3) | (fn)))
#define PCI_SLOT(devfn)	    (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)	    ((devfn) & 7)
#define PCI_MAX_SLOTS	    32
#define PCI_SLOT_VGA	    2 /* reserved for VGA even when there is none */
#define PCI_SLOT_FIRST_OPTION 3 /* first slot for devices added by options */

/* The notifier index of the expansion ROM BAR and of custom regions. */
#define PCI_ROM_IDX	       PCI_NUM_BARS
#define PCI_REGION_IDX(r)      (PCI_NUM_BARS + 1 + (r))
#define PCI_MAX_REGIONS	       2 /* custom regions per function */
#define PCI_MSIX_MAX_VECTORS   2048
#define PCI_MSI_MAX_VECTORS    32

/* QEMU gives every device this subsystem by default; SeaBIOS checks it on
 * the host bridge to recognise QEMU (seabios-interface.md §1). */
#define PCI_SUBSYS_VENDOR_QEMU 0x1af4
#define PCI_SUBSYS_ID_QEMU     0x1100

enum pci_bar_kind {
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64, /* takes this BAR and the next */
};

struct pci_bus;
struct pci_dev;

struct pci_dev_ops {
	/* After a guest write to [off, off + size) was applied.  old holds the
	 * previous value of those bytes (little-endian). */
	void (*config_write)(void *opaque, struct pci_dev *dev, unsigned off, unsigned size,
			     uint32_t old);
	/* Before a guest read of [off, off + size): refresh volatile bytes. */
	void (*config_read)(void *opaque, struct pci_dev *dev, unsigned off, unsigned size);
	/* Machine reset, after the core restored the power-on config space. */
	void (*reset)(void *opaque, struct pci_dev *dev);
};

/* The PIRQ router (PIIX3): called with the INTx mutex held when the combined
 * level of PIRQ line pirq (0..3) changes. */
typedef void pci_pirq_fn(void *opaque, unsigned pirq, bool level);

/* The router's answer to "which GSI does PIRQ pirq (0..3) drive now": the
 * GSI, or -1 when the PIRQ is disabled or routed nowhere valid.  Called
 * with the interrupt lock held. */
typedef int pci_pirq_gsi_fn(void *opaque, unsigned pirq);

/* Where an MSI goes: the lead points it at KVM_SIGNAL_MSI.  Called with the
 * interrupt lock held, from whichever thread notified. */
typedef void pci_msi_sink_fn(void *opaque, uint64_t addr, uint32_t data);

struct pci_bus *pci_bus_create(struct bus *pio, struct bus *mmio);
void pci_bus_destroy(struct pci_bus *bus);
void pci_bus_set_router(struct pci_bus *bus, pci_pirq_fn *fn, void *opaque);
void pci_bus_set_router_gsi(struct pci_bus *bus, pci_pirq_gsi_fn *fn, void *opaque);
/* For the router, after the route of PIRQ pirq changed (with the config
 * lock held: from a config or reset hook): tells the INTx notifier of every
 * function on that PIRQ. */
void pci_bus_pirq_route_changed(struct pci_bus *bus, unsigned pirq);
void pci_bus_set_msi_sink(struct pci_bus *bus, pci_msi_sink_fn *fn, void *opaque);

/* The next slot >= first_slot with no function on it that was neither
 * handed out before nor reserved (slot PCI_SLOT_VGA is reserved from the
 * start), marked as handed out; -ENOSPC when none is left below 32.  The
 * caller then adds its functions at PCI_DEVFN(slot, fn).  Call it in the
 * order of the command-line options, before the machine runs. */
int pci_bus_alloc_slot(struct pci_bus *bus, unsigned first_slot);
/* Keeps slot from pci_bus_alloc_slot(); 0 or -EINVAL for slot >= 32. */
int pci_bus_reserve_slot(struct pci_bus *bus, unsigned slot);
/* Level of a PIRQ line now. */
bool pci_bus_pirq_level(struct pci_bus *bus, unsigned pirq);
/* For a router changing where PIRQ pirq goes: with the INTx mutex held, the
 * router is told the line dropped, update(opaque) runs, and the router is
 * told the line's level again.  So the router's own state only ever changes
 * under that mutex. */
void pci_bus_reroute(struct pci_bus *bus, unsigned pirq, void (*update)(void *opaque),
		     void *opaque);

struct pci_dev_info {
	uint16_t vendor, device;
	uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint8_t header_type; /* 0, or PCI_HEADER_TYPE_MULTI on function 0 */
	uint8_t irq_pin; /* 0 none, 1..4 INTA..INTD */
	uint16_t subsys_vendor, subsys_id; /* 0/0: QEMU's 1af4:1100 */
	const char *name;
};

/* Adds a function at devfn.  NULL if devfn is taken or out of range. */
struct pci_dev *pci_dev_add(struct pci_bus *bus, unsigned devfn, const struct pci_dev_info *info,
			    const struct pci_dev_ops *ops, void *opaque);

/* Declares BAR idx (size a power of two; I/O >= 4, memory >= 16, rounded up
 * to 4 KiB for MMIO placement is the firmware's business).  The region is
 * placed on the bus with ops/opaque while decoded.  0 or -EINVAL. */
int pci_dev_set_bar(struct pci_dev *dev, unsigned idx, enum pci_bar_kind kind, bool prefetch,
		    uint64_t size, const struct bus_ops *ops, void *opaque);
/* An expansion ROM (copied; size rounded up to a power of two >= 2 KiB). */
int pci_dev_set_rom(struct pci_dev *dev, const void *data, size_t len);
/* An option ROM file read whole (512 bytes to max, starting 55 AA) before
 * anything is placed, so that a bad file changes nothing; what names it
 * ("vga: the VGA BIOS") leads the one-line error.  Freed by the caller. */
uint8_t *pci_rom_read(const char *path, size_t max, const char *what, size_t *len, char *err,
		      size_t errlen);
/* The first image's PCI data structure made to name vendor:device, as
 * QEMU patches a ROM shared by several devices (Debian's pxe-virtio.rom
 * says 1af4:1041; a transitional NIC is 1af4:1000, and SeaBIOS runs only a
 * ROM that names its device).  Only a ROM of the same vendor is changed;
 * the checksum byte at offset 6 keeps the image's sum. */
void pci_rom_patch_ids(uint8_t *rom, size_t len, uint16_t vendor, uint16_t device);
/* Appends a capability of len bytes (id and next pointer included) and
 * returns its offset, or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *dev, uint8_t id, unsigned len);

/* MSI capability with nvectors (a power of two, 1..32) vectors, a 64-bit
 * address if addr64, per-vector mask and pending bits if per_vector_mask.
 * Returns its config offset, -EINVAL or -ENOSPC.  Once per function. */
int pci_dev_add_msi(struct pci_dev *dev, unsigned nvectors, bool addr64, bool per_vector_mask);
/* MSI-X capability with nvectors (1..2048) vectors; the table (16 bytes a
 * vector) lies at table_off in memory BAR table_bar, the pending bit array
 * (8 bytes per 64 vectors) at pba_off in memory BAR pba_bar.  Both offsets
 * 8-byte aligned, both windows inside their (already declared) BARs and
 * apart.  Returns the capability's config offset, -EINVAL or -ENOSPC.
 * Accesses to the two windows are the core's; the rest of the BAR goes to
 * the BAR's own ops (reads 0 without ops). */
int pci_dev_add_msix(struct pci_dev *dev, unsigned nvectors, unsigned table_bar,
		     uint32_t table_off, unsigned pba_bar, uint32_t pba_off);

/* Sends MSI vector (below the number the guest enabled) or MSI-X vector.
 * 0 when sent, or held as pending because the vector (or for MSI-X the
 * function) is masked, or dropped because bus mastering is off; -ENODEV
 * when that capability is absent or not enabled (use INTx instead);
 * -EINVAL for a vector out of range.  Any thread. */
int pci_msi_notify(struct pci_dev *dev, unsigned vector);
int pci_msix_notify(struct pci_dev *dev, unsigned vector);
bool pci_msi_enabled(struct pci_dev *dev);
bool pci_msix_enabled(struct pci_dev *dev);

/* A vector's message as an irqfd route needs it.  masked: the message is
 * not to be sent now (vector or function masked, capability disabled, or
 * beyond the vectors the guest enabled). */
struct pci_msi_msg {
	uint64_t addr;
	uint32_t data;
	bool masked;
};
/* Called, with the interrupt lock held, for each vector whose message or
 * masked state changed: a table or config write, enable, function mask,
 * reset.  msix tells MSI-X from MSI vectors. */
typedef void pci_msi_notifier_fn(void *opaque, struct pci_dev *dev, bool msix, unsigned vector,
				 const struct pci_msi_msg *msg);
void pci_dev_set_msi_notifier(struct pci_dev *dev, pci_msi_notifier_fn *fn, void *opaque);
/* The message of a vector now; 0 or -EINVAL.  Not from a notifier. */
int pci_dev_msi_msg(struct pci_dev *dev, bool msix, unsigned vector, struct pci_msi_msg *msg);

/* Called, with the config lock held and after the buses changed, whenever
 * a BAR (idx 0..5), the ROM BAR (PCI_ROM_IDX) or a custom region
 * (PCI_REGION_IDX(r)) starts, stops or moves decoding, for whatever reason:
 * a BAR or COMMAND write, reset, or overlap healing placing a region that
 * was refused earlier.  0 means "not decoded".  Setting it reports nothing
 * for the present state. */
typedef void pci_bar_notifier_fn(void *opaque, struct pci_dev *dev, unsigned idx,
				 uint64_t old_addr, uint64_t new_addr);
void pci_dev_set_bar_notifier(struct pci_dev *dev, pci_bar_notifier_fn *fn, void *opaque);

/* A region the function decodes at a guest-programmed address under its own
 * enable bits rather than a BAR (PIIX4's PMBA).  decode(opaque, dev) says,
 * from config space, where it should decode now (0: nowhere); the core asks
 * after every config write to the function, on reset and after
 * pci_dev_update_regions(), and places it with the BARs' overlap rules.
 * Returns the region number r (notifier index PCI_REGION_IDX(r)), or
 * -EINVAL / -ENOSPC. */
typedef uint64_t pci_region_decode_fn(void *opaque, struct pci_dev *dev);
int pci_dev_add_region(struct pci_dev *dev, bool io, uint64_t size, pci_region_decode_fn *decode,
		       const struct bus_ops *ops, void *opaque, const char *name);
/* After the function changed its own config space directly: re-decode.
 * With the config lock held (from a hook) or before the machine runs. */
void pci_dev_update_regions(struct pci_dev *dev);
/* Where region r decodes now, 0 if nowhere.  Any thread. */
uint64_t pci_dev_region_addr(struct pci_dev *dev, unsigned r);
/* Takes region r off its bus for good (the function is going away). */
void pci_dev_release_region(struct pci_dev *dev, unsigned r);

/* INTx: the GSI the function's pin is routed to now, -1 without a pin or
 * a route.  Any thread, hooks and notifiers included, but not with the
 * interrupt lock held (from the MSI sink or a pci_bus_reroute() update). */
int pci_dev_intx_gsi(struct pci_dev *dev);
/* Called with the config lock held when that GSI changes (the router
 * changed the PIRQ's route; also on reset), with the new GSI or -1. */
typedef void pci_intx_notifier_fn(void *opaque, struct pci_dev *dev, int gsi);
void pci_dev_set_intx_notifier(struct pci_dev *dev, pci_intx_notifier_fn *fn, void *opaque);

/* The pin's effective level (pci_set_irq() after INTx disable and MSI) for
 * something other than the router: an irqfd (vmm/fastpath.h).  Called with
 * the interrupt lock held when it changes, and on setting (true if the pin
 * is asserted then) and clearing (false); fn NULL gives the pin back to
 * its PIRQ line.  The sink must not call back into the PCI core. */
typedef void pci_intx_sink_fn(void *opaque, struct pci_dev *dev, bool level);
void pci_dev_set_intx_sink(struct pci_dev *dev, pci_intx_sink_fn *fn, void *opaque);

/* Power-on state is what the config space holds when this is called; call it
 * once every device is added and preset. */
void pci_bus_seal(struct pci_bus *bus);
void pci_bus_reset(struct pci_bus *bus);

/* Direct config-space access for the function itself (no hooks, no masks). */
uint8_t *pci_dev_config(struct pci_dev *dev);
uint8_t *pci_dev_wmask(struct pci_dev *dev);
uint8_t *pci_dev_w1cmask(struct pci_dev *dev);
unsigned pci_dev_devfn(const struct pci_dev *dev);
/* The address BAR idx decodes at now, or 0 if it is not decoded. */
uint64_t pci_dev_bar_addr(struct pci_dev *dev, unsigned idx);

void pci_set_irq(struct pci_dev *dev, bool level);

/* Configuration access as the host bridge performs it (bus 0 only; other
 * buses read all ones).  reg is the byte offset; size 1, 2 or 4; an access
 * crossing a dword is split by the caller. */
uint32_t pci_config_read(struct pci_bus *bus, unsigned devfn, unsigned reg, unsigned size);
void pci_config_write(struct pci_bus *bus, unsigned devfn, unsigned reg, uint32_t val,
		      unsigned size);

#endif
