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
 * Locking: one mutex guards configuration space; config hooks run with it
 * held and must not call pci_config_* on the same bus.  INTx uses a second
 * mutex, taken after the first when both are held; pci_set_irq() may be
 * called from any thread, including from within a config hook.
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

#define PCI_NUM_BARS   6
#define PCI_MAX_DEVFN  256
#define PCI_DEVFN(slot, fn) ((unsigned)(((slot) << 3) | (fn)))
#define PCI_SLOT(devfn)	    (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)	    ((devfn) & 7)

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
	/* Space was freed on a bus (under the config lock): a function that
	 * places a range of its own, not a BAR, tries again to place one the
	 * bus refused for an overlap. */
	void (*retry_decode)(void *opaque, struct pci_dev *dev);
};

/* The PIRQ router (PIIX3): called with the INTx mutex held when the combined
 * level of PIRQ line pirq (0..3) changes. */
typedef void pci_pirq_fn(void *opaque, unsigned pirq, bool level);

struct pci_bus *pci_bus_create(struct bus *pio, struct bus *mmio);
void pci_bus_destroy(struct pci_bus *bus);
void pci_bus_set_router(struct pci_bus *bus, pci_pirq_fn *fn, void *opaque);
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
/* Appends a capability of len bytes (id and next pointer included) and
 * returns its offset, or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *dev, uint8_t id, unsigned len);

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
/* From a config or reset hook of dev (the config lock held), after dev took
 * a range of its own off a bus: every range refused earlier, BAR or not, is
 * tried again. */
void pci_dev_retry_decodes(struct pci_dev *dev);

void pci_set_irq(struct pci_dev *dev, bool level);

/* Configuration access as the host bridge performs it (bus 0 only; other
 * buses read all ones).  reg is the byte offset; size 1, 2 or 4; an access
 * crossing a dword is split by the caller. */
uint32_t pci_config_read(struct pci_bus *bus, unsigned devfn, unsigned reg, unsigned size);
void pci_config_write(struct pci_bus *bus, unsigned devfn, unsigned reg, uint32_t val,
		      unsigned size);

#endif
