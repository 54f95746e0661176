/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SeaBIOS's debug console (port 0x402, QEMU's isa-debugcon): bytes written
 * go to a log file; a read returns 0xe9, which is how SeaBIOS decides to
 * keep its log there (seabios-interface.md §8).  Only on the board when
 * --debugcon is given, as in QEMU: SeaBIOS then skips its log otherwise.
 */
#ifndef MINIVMM_DEBUGCON_H
#define MINIVMM_DEBUGCON_H

#include "vmm/device.h"

#define DEBUGCON_PORT 0x402

/* Board row: .port 0x402, .arg a FILE *const * to the log (the caller's;
 * NULL until the caller has created the file). */
extern const struct device_type debugcon_type;

#endif
