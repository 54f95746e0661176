/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 16550A UART (the PC's COM ports), eight byte-wide registers at offsets
 * 0..7 of its bus range.  Wider accesses are split into byte accesses at
 * consecutive offsets, as the ISA bus does; offsets outside 0..7 read as
 * 0xff and ignore writes.
 *
 * Threads and locks: the UART has its own mutex.  Register accesses come from
 * vCPU threads, uart16550_receive() and the character-timeout timer from the
 * I/O thread.  With that mutex held the UART calls
 *   - irq_line_set() on its interrupt line,
 *   - the backend's write(),
 *   - vm_timer_mod() on its timer (never vm_timer_del(); a stale expiry is
 *     checked and ignored by the callback),
 * so none of those may call back into this UART, and the timer code must not
 * wait for a running callback inside vm_timer_mod().  rx_ready() is called
 * with the mutex released and may call uart16550_receive() directly.
 */
#ifndef MINIVMM_UART16550_H
#define MINIVMM_UART16550_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/irq.h"

struct event_loop;

#define UART16550_NR_REGS   8
#define UART16550_FIFO_SIZE 16

struct uart16550_backend {
	/* Bytes the guest transmitted, in order (never called in loopback). */
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	/* The receiver refused bytes earlier and has room again. */
	void (*rx_ready)(void *opaque);
	void *opaque;
};

/* irq and be are copied; either may be NULL (no interrupt, output dropped).
 * NULL if memory or the timer cannot be had. */
struct uart16550 *uart16550_create(const struct irq_line *irq, const struct uart16550_backend *be,
				   struct event_loop *loop);
/* Only once no other thread can touch the UART or fire its timer. */
void uart16550_destroy(struct uart16550 *u);

/* opaque = the struct uart16550 *. */
extern const struct bus_ops uart16550_bus_ops;

/* Bytes from the host for the guest.  Accepts as many as fit in the receive
 * FIFO (16 bytes, 1 with FIFOs off, none in loopback mode) and returns that
 * count; the rest stays with the caller, who waits for rx_ready().  Refused
 * bytes are not an overrun: nothing was lost. */
size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t len);

/* Power-on state; drives the interrupt line low. */
void uart16550_reset(struct uart16550 *u);

/* Board row: .port, .irq; .arg the const struct uart16550_backend * (or NULL). */
extern const struct device_type uart16550_type;

#endif
