/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fast-path test device (--testdev): one of each KVM fast path, for
 * tests on a real /dev/kvm (firmware/guests/fastpath.asm).  Not a device a
 * guest OS knows; it is on the board only when asked for.
 *
 * Ports TESTDEV_PORT + (each 4 bytes wide):
 *   0x00 W  doorbell: a 32-bit write of TESTDEV_DOORBELL_VALUE rings it
 *           (an ioeventfd; the ring is counted on the I/O thread)
 *   0x04 R  rings counted so far
 *   0x08 W  any write: one edge interrupt on the device's ISA IRQ
 *   0x0c RW guest address of the RAM slot (4 KiB aligned; 0 unmaps it)
 *   0x10 R  the slot's pages written since the last read, bit n = page n
 *   0x14 R  writes the window received
 * MMIO TESTDEV_MMIO, 4 KiB: the window, 64 dwords that keep what is
 * written (32-bit writes; a coalesced zone, so writes may be batched) and
 * read back.  The slot is TESTDEV_SLOT_SIZE bytes of RAM.
 */
#ifndef MINIVMM_TESTDEV_H
#define MINIVMM_TESTDEV_H

#include "vmm/device.h"

#define TESTDEV_PORT	       0x520
#define TESTDEV_PORTS	       0x20
#define TESTDEV_IRQ	       5
#define TESTDEV_MMIO	       0xfef00000ULL
#define TESTDEV_MMIO_SIZE      0x1000
#define TESTDEV_WINDOW_DWORDS  64
#define TESTDEV_SLOT_SIZE      0x4000
#define TESTDEV_DOORBELL_VALUE 0x600d

/* Board row: .port TESTDEV_PORT, .irq TESTDEV_IRQ. */
extern const struct device_type testdev_type;

#endif
