/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC platform around the CPU: PCI bus 0 with the i440FX host bridge,
 * the PIIX3 ISA bridge, IDE and PIIX4 power management, fw_cfg with what
 * SeaBIOS reads (memory map, CPU count, boot order, ACPI and SMBIOS tables),
 * and the small legacy ports firmware touches.  vm.c creates it; this file
 * is where the machine's shape (shared/design.md) is written down.
 */
#ifndef MINIVMM_PC_H
#define MINIVMM_PC_H

#include <stddef.h>

struct vm;
struct pc;

/* Opens the drive images (user errors: bad path, bad image). */
int pc_prepare(struct vm *vm, char *err, size_t errlen);
/* Creates the --debugcon file (until then nothing is written): call once
 * every check has passed, before the vCPUs run. */
int pc_start_outputs(struct vm *vm, char *err, size_t errlen);
/* Creates the devices and places them on the buses. */
int pc_create(struct vm *vm, char *err, size_t errlen);
void pc_destroy(struct vm *vm);

#endif
