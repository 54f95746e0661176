// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 16550A UART as a PC guest sees it at COM1.
 *
 * Transmission is instant: a byte written to THR goes to the backend at once
 * and THR/TSR are empty again when the write returns, so the TX FIFO never
 * holds anything.  Reception is flow-controlled by the host side instead of
 * by baud rate: uart16550_receive() takes what fits and rx_ready() asks for
 * more once the guest has read some.  The only way to lose a byte, and so the
 * only source of an overrun error, is loopback mode transmitting into a full
 * receive FIFO.
 *
 * Facts checked against the 16550D data sheet, QEMU's hw/char/serial.c and
 * Linux's 8250 driver (drivers/tty/serial/8250/8250_port.c).
 */
#include "devices/uart16550.h"
#include "vmm/device.h"

#include <stdio.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "vmm/timer.h"

enum {
	UART_RBR_THR = 0, /* DLL with DLAB */
	UART_IER = 1,	  /* DLM with DLAB */
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDI	 0x01 /* received data available (and character timeout) */
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI	 0x08
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI	   0x00
#define IIR_THRI   0x02
#define IIR_RDI	   0x04
#define IIR_RLSI   0x06
#define IIR_CTI	   0x0c
#define IIR_FIFO   0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER  0xc0

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_CTS	  0x10
#define MSR_DSR	  0x20
#define MSR_RI	  0x40
#define MSR_DCD	  0x80
#define MSR_DELTA 0x0f

/* 1.8432 MHz crystal / 16 */
#define UART_BAUD_BASE	   115200
#define UART_BITS_PER_CHAR 10
#define UART_RESET_DIVISOR 12 /* 9600 baud, as QEMU */

struct uart16550 {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct uart16550_backend be;
	struct vm_timer *timeout_timer;

	uint8_t ier, lcr, mcr, scr;
	uint8_t fcr;	   /* FCR_ENABLE and FCR_TRIGGER as last programmed */
	uint8_t lsr_err;   /* LSR_OE; DR, THRE and TEMT are derived */
	uint8_t msr_delta; /* MSR low nibble; the high nibble is derived */
	uint16_t divisor;

	uint8_t rx[UART16550_FIFO_SIZE];
	unsigned rx_head, rx_count;

	bool thr_ipending;     /* THR empty and not yet acknowledged */
	bool timeout_ipending; /* character timeout reached */
	uint64_t timeout_deadline;

	bool rx_blocked; /* receive() refused bytes: call rx_ready once room frees */
	bool rx_notify;	 /* call rx_ready after dropping the lock */
	bool irq_level;
};

static bool fifo_enabled(const struct uart16550 *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned rx_capacity(const struct uart16550 *u)
{
	return fifo_enabled(u) ? UART16550_FIFO_SIZE : 1;
}

static unsigned rx_trigger_level(const struct uart16550 *u)
{
	static const unsigned level[4] = {1, 4, 8, 14};

	return level[(u->fcr & FCR_TRIGGER) >> 6];
}

/* Ten bits per character (start, 8 data, stop), whatever LCR says; the
 * timeout only needs to be roughly right.  A divisor of 0 is not a valid
 * setting; treat it as the largest one rather than divide by zero. */
static uint64_t char_time_ns(const struct uart16550 *u)
{
	uint64_t div = u->divisor ? u->divisor : 0x10000;

	return div * UART_BITS_PER_CHAR * 1000000000ULL / UART_BAUD_BASE;
}

static void rx_room_freed(struct uart16550 *u)
{
	if (u->rx_blocked) {
		u->rx_blocked = false;
		u->rx_notify = true;
	}
}

/* Any character into or out of the RX FIFO restarts the 4-character timeout;
 * the 16450 mode has none. */
static void rx_activity(struct uart16550 *u)
{
	if (!fifo_enabled(u) || !u->timeout_timer)
		return;
	u->timeout_deadline = vm_clock_ns() + 4 * char_time_ns(u);
	vm_timer_mod(u->timeout_timer, u->timeout_deadline);
}

static void rx_flush(struct uart16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->timeout_ipending = false;
	rx_room_freed(u);
}

/* A byte from the line; one that finds the FIFO full is lost (overrun). */
static void rx_put(struct uart16550 *u, uint8_t byte)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->lsr_err |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART16550_FIFO_SIZE] = byte;
	u->rx_count++;
}

static uint8_t rx_get(struct uart16550 *u)
{
	uint8_t byte;

	/* Reading an empty RBR is harmless; it also clears a stale timeout. */
	u->timeout_ipending = false;
	if (!u->rx_count)
		return 0;
	byte = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART16550_FIFO_SIZE;
	u->rx_count--;
	if (u->rx_count)
		rx_activity(u);
	rx_room_freed(u);
	return byte;
}

/* Highest-priority pending source, as IIR bits 0-3. */
static uint8_t pending_source(const struct uart16550 *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr_err & LSR_OE))
		return IIR_RLSI;
	/* IER_RDI masks the timeout too: not in the data sheet, but real parts
	 * behave so (QEMU notes the same) and drivers never rely on the
	 * opposite. */
	if ((u->ier & IER_RDI) && u->timeout_ipending)
		return IIR_CTI;
	if ((u->ier & IER_RDI) && u->rx_count &&
	    (!fifo_enabled(u) || u->rx_count >= rx_trigger_level(u)))
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && u->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

/*
 * On a PC the UART's interrupt reaches the PIC only while MCR.OUT2 is set
 * (a tri-state buffer on the old boards, an enable bit in Super I/O chips).
 * Linux's 8250 driver sets OUT2 in startup for exactly this reason ("Most PC
 * uarts need OUT2 raised to enable interrupts") and probes the IRQ by
 * toggling it; DOS programs and Windows' serial.sys set it too.  QEMU does
 * not gate on OUT2, but a guest that expects interrupts without it would not
 * work on real hardware, so we follow the hardware.
 *
 * Loopback mode does not gate the output here.  On a discrete 8250 the OUT2
 * pin is forced inactive in loopback, so the PC's buffer would block the
 * interrupt, but Super I/O parts use the OUT2 bit itself, QEMU delivers
 * loopback interrupts, and tests (ours and drivers' self-tests) use them.
 */
static void update_irq(struct uart16550 *u)
{
	bool level = pending_source(u) != IIR_NO_INT && (u->mcr & MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

/* Modem input lines: a terminal that is always there (DCD, DSR, CTS) or, in
 * loopback, the modem outputs wired back (OUT2->DCD, OUT1->RI, DTR->DSR,
 * RTS->CTS). */
static uint8_t msr_lines(const struct uart16550 *u)
{
	uint8_t m = u->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (m & MCR_OUT2 ? MSR_DCD : 0) | (m & MCR_OUT1 ? MSR_RI : 0) |
	       (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_RTS ? MSR_CTS : 0);
}

static void mcr_write(struct uart16550 *u, uint8_t val)
{
	uint8_t before = msr_lines(u), after, changed;
	bool was_loop = u->mcr & MCR_LOOP;

	u->mcr = val & MCR_MASK;
	after = msr_lines(u);
	changed = before ^ after;
	if (changed & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
	if ((before & MSR_RI) && !(after & MSR_RI))
		u->msr_delta |= MSR_TERI;
	/* The receiver is reconnected to the line. */
	if (was_loop && !(u->mcr & MCR_LOOP))
		rx_room_freed(u);
}

static void fcr_write(struct uart16550 *u, uint8_t val)
{
	/* Enabling or disabling the FIFOs empties them; with FCR0 clear the
	 * other bits are not programmed. */
	if ((val & FCR_ENABLE) != (u->fcr & FCR_ENABLE))
		rx_flush(u);
	if (!(val & FCR_ENABLE)) {
		u->fcr &= ~FCR_ENABLE;
		return;
	}
	u->fcr = val & (FCR_ENABLE | FCR_TRIGGER);
	if (val & FCR_CLEAR_RX)
		rx_flush(u);
	/* FCR_CLEAR_TX: the TX FIFO is always empty. */
}

static void ier_write(struct uart16550 *u, uint8_t val)
{
	uint8_t changed = (u->ier ^ val) & IER_MASK;

	u->ier = val & IER_MASK;
	/* Turning ETBEI on while THR is empty raises THRE even if it was
	 * acknowledged before: Linux's THRE test at startup and Windows'
	 * IER 0 -> 0x0f toggling rely on it.  Turning it off forgets it. */
	if (changed & IER_THRI)
		u->thr_ipending = u->ier & IER_THRI;
}

static void thr_write(struct uart16550 *u, uint8_t byte)
{
	/* THR is full for a moment: let the line drop so an edge-triggered PIC
	 * sees a new edge when the transmitter empties it again. */
	u->thr_ipending = false;
	update_irq(u);
	if (u->mcr & MCR_LOOP) {
		rx_put(u, byte);
		rx_activity(u);
	} else if (u->be.write) {
		u->be.write(u->be.opaque, &byte, 1);
	}
	u->thr_ipending = true;
}

static uint8_t reg_read(struct uart16550 *u, unsigned reg)
{
	uint8_t val, src;

	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->divisor & 0xff;
		return rx_get(u);
	case UART_IER:
		if (u->lcr & LCR_DLAB)
			return u->divisor >> 8;
		return u->ier;
	case UART_IIR_FCR:
		src = pending_source(u);
		if (src == IIR_THRI)
			u->thr_ipending = false;
		return src | (fifo_enabled(u) ? IIR_FIFO : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		val = (u->rx_count ? LSR_DR : 0) | u->lsr_err | LSR_THRE | LSR_TEMT;
		u->lsr_err = 0;
		return val;
	case UART_MSR:
		val = msr_lines(u) | u->msr_delta;
		u->msr_delta = 0;
		return val;
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void reg_write(struct uart16550 *u, unsigned reg, uint8_t val)
{
	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->divisor = (u->divisor & 0xff00) | val;
		else
			thr_write(u, val);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB)
			u->divisor = (u->divisor & 0x00ff) | (uint16_t)(val << 8);
		else
			ier_write(u, val);
		break;
	case UART_IIR_FCR:
		fcr_write(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		mcr_write(u, val);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		/* LSR and MSR writes are factory-test features; ignore them. */
		break;
	}
}

static void uart_lock(struct uart16550 *u)
{
	pthread_mutex_lock(&u->lock);
}

static void uart_unlock(struct uart16550 *u)
{
	bool notify = u->rx_notify;

	u->rx_notify = false;
	pthread_mutex_unlock(&u->lock);
	if (notify && u->be.rx_ready)
		u->be.rx_ready(u->be.opaque);
}

static bool reg_index(uint64_t offset, unsigned i, unsigned *reg)
{
	if (offset >= UART16550_NR_REGS || i >= UART16550_NR_REGS - offset)
		return false;
	*reg = (unsigned)offset + i;
	return true;
}

/* Wider accesses are split into bytes at consecutive offsets, low byte first,
 * as an 8-bit ISA device sees them. */
static uint64_t uart_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart16550 *u = opaque;
	uint64_t val = 0;
	unsigned reg;

	if (size == 0 || size > 8)
		return ~0ULL;
	uart_lock(u);
	for (unsigned i = 0; i < size; i++) {
		uint8_t byte = reg_index(offset, i, &reg) ? reg_read(u, reg) : 0xff;

		val |= (uint64_t)byte << (8 * i);
	}
	update_irq(u);
	uart_unlock(u);
	return val;
}

static void uart_bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct uart16550 *u = opaque;
	unsigned reg;

	if (size == 0 || size > 8)
		return;
	uart_lock(u);
	for (unsigned i = 0; i < size; i++)
		if (reg_index(offset, i, &reg))
			reg_write(u, reg, (uint8_t)(value >> (8 * i)));
	update_irq(u);
	uart_unlock(u);
}

const struct bus_ops uart16550_bus_ops = {
    .read = uart_bus_read,
    .write = uart_bus_write,
};

/* I/O thread.  The timer is never deleted, only moved, so an expiry can be
 * stale: check the deadline and go back to sleep if it moved on. */
static void uart_timeout_fire(void *opaque)
{
	struct uart16550 *u = opaque;

	uart_lock(u);
	if (fifo_enabled(u) && u->rx_count && !u->timeout_ipending) {
		if (vm_clock_ns() >= u->timeout_deadline) {
			u->timeout_ipending = true;
			update_irq(u);
		} else {
			vm_timer_mod(u->timeout_timer, u->timeout_deadline);
		}
	}
	uart_unlock(u);
}

size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	if (!buf || !len)
		return 0;
	uart_lock(u);
	/* In loopback the receiver is cut off from the line. */
	if (!(u->mcr & MCR_LOOP)) {
		n = rx_capacity(u) - u->rx_count;
		if (n > len)
			n = len;
		for (size_t i = 0; i < n; i++)
			rx_put(u, buf[i]);
		if (n)
			rx_activity(u);
	}
	if (n < len)
		u->rx_blocked = true;
	update_irq(u);
	uart_unlock(u);
	return n;
}

static void reset_locked(struct uart16550 *u)
{
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->scr = 0;
	u->fcr = 0;
	u->lsr_err = 0;
	u->msr_delta = 0;
	u->divisor = UART_RESET_DIVISOR;
	u->thr_ipending = false;
	rx_flush(u);
	u->irq_level = false;
	irq_line_set(&u->irq, false);
}

void uart16550_reset(struct uart16550 *u)
{
	uart_lock(u);
	reset_locked(u);
	uart_unlock(u);
}

struct uart16550 *uart16550_create(const struct irq_line *irq, const struct uart16550_backend *be,
				   struct event_loop *loop)
{
	struct uart16550 *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	if (irq)
		u->irq = *irq;
	if (be)
		u->be = *be;
	u->timeout_timer = vm_timer_new(loop, uart_timeout_fire, u);
	if (!u->timeout_timer) {
		free(u);
		return NULL;
	}
	pthread_mutex_init(&u->lock, NULL);
	reset_locked(u);
	return u;
}

void uart16550_destroy(struct uart16550 *u)
{
	if (!u)
		return;
	vm_timer_free(u->timeout_timer);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* ---- the board's view ---- */

static void *uart16550_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
				  char *err, size_t errlen)
{
	struct irq_line irq;
	struct uart16550 *u;

	if (dev_isa_irq(ctx, (unsigned)e->irq, &irq, err, errlen) < 0)
		return NULL;
	u = uart16550_create(&irq, e->arg, ctx->loop);
	if (!u) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	if (dev_claim(ctx->pio, e->port, 8, &uart16550_bus_ops, u, e->id, err, errlen) < 0) {
		uart16550_destroy(u);
		return NULL;
	}
	return u;
}

static void uart16550_dev_reset(void *state)
{
	uart16550_reset(state);
}

static void uart16550_dev_destroy(void *state)
{
	uart16550_destroy(state);
}

const struct device_type uart16550_type = {
	.name = "16550a",
	.create = uart16550_dev_create,
	.reset = uart16550_dev_reset,
	.destroy = uart16550_dev_destroy,
};
