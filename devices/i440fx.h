/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The i440FX host bridge (00:00.0, 8086:1237) and PCI configuration
 * mechanism #1 (ports 0xcf8 address, 0xcfc data).
 *
 * PAM (0x59-0x5f) and SMRAM (0x72) are plain read/write bytes: guest RAM at
 * 0xc0000-0xfffff is always writable and the BIOS is re-copied there on
 * reset, which is all SeaBIOS needs (seabios-interface.md §4).
 *
 * 0xcf8-0xcfb is claimed as one 4-byte range; only dword accesses at 0xcf8
 * reach the address latch.  A byte access at 0xcf9 (the PIIX3 reset control
 * register) goes to the "narrow" ops the machine hands in.
 */
#ifndef MINIVMM_I440FX_H
#define MINIVMM_I440FX_H

#include "vmm/device.h"
#include "devices/pci.h"
#include "vmm/bus.h"

#define PCI_CONF_ADDR_PORT 0xcf8
#define PCI_CONF_DATA_PORT 0xcfc

struct i440fx;

struct i440fx *i440fx_create(struct pci_bus *bus);
void i440fx_destroy(struct i440fx *h);
/* Byte accesses at 0xcf9 go to ops (offset 0). */
void i440fx_set_cf9(struct i440fx *h, const struct bus_ops *ops, void *opaque);
/* Clears the address latch (machine reset). */
void i440fx_reset(void *h);

extern const struct bus_ops i440fx_conf_addr_ops; /* 0xcf8, 4 bytes; opaque: struct i440fx * */
extern const struct bus_ops i440fx_conf_data_ops; /* 0xcfc, 4 bytes; opaque: struct i440fx * */

/* Board row: .devfn 00.0; claims 0xcf8 and 0xcfc. */
extern const struct device_type i440fx_type;

#endif
