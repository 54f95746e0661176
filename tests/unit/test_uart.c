// SPDX-License-Identifier: GPL-2.0-or-later
/* 16550A UART driven through its bus ops, with a recording interrupt line,
 * a recording backend and the fake clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/uart16550.h"
#include "tests/unit/fake_timer.h"

#define RBR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

/* IIR values with FIFOs enabled */
#define IIR_NONE 0xc1
#define IIR_RLS	 0xc6
#define IIR_RDA	 0xc4
#define IIR_CTI	 0xcc
#define IIR_THRE 0xc2
#define IIR_MS	 0xc0

#define OUT2 0x08
#define LOOP 0x10

/* Divisor 12 at 115200 baud base, 10 bits per character. */
#define CHAR_NS_DIV12 (12ULL * 10 * 1000000000ULL / 115200)

struct fixture {
	struct uart16550 *u;
	/* interrupt line */
	bool level;
	unsigned rises, falls, repeats;
	/* backend */
	uint8_t tx[4096];
	size_t tx_len;
	unsigned rx_ready_calls;
	bool refill_in_rx_ready; /* push once from inside rx_ready */
	size_t refill_accepted;
};

static void record_irq(void *opaque, unsigned gsi, bool level)
{
	struct fixture *f = opaque;

	assert_int_equal(gsi, 4);
	/* Only reset repeats a level (it forces the line low). */
	if (level == f->level) {
		assert_false(level);
		f->repeats++;
		return;
	}
	if (level)
		f->rises++;
	else
		f->falls++;
	f->level = level;
}

static void record_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct fixture *f = opaque;

	assert_true(f->tx_len + len <= sizeof(f->tx));
	memcpy(f->tx + f->tx_len, buf, len);
	f->tx_len += len;
}

static void record_rx_ready(void *opaque)
{
	struct fixture *f = opaque;
	static const uint8_t more[4] = "MORE";

	f->rx_ready_calls++;
	/* Runs without the UART lock: pushing from here must not deadlock. */
	if (f->refill_in_rx_ready) {
		f->refill_in_rx_ready = false;
		f->refill_accepted += uart16550_receive(f->u, more, sizeof(more));
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line irq = {.set_level = record_irq, .opaque = f, .gsi = 4};
	struct uart16550_backend be = {
	    .write = record_tx, .rx_ready = record_rx_ready, .opaque = f};

	if (!f)
		return -1;
	f->u = uart16550_create(&irq, &be, NULL);
	if (!f->u) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uart16550_destroy(f->u);
	free(f);
	return 0;
}

static uint8_t rd(struct fixture *f, unsigned reg)
{
	return (uint8_t)uart16550_bus_ops.read(f->u, reg, 1);
}

static void wr(struct fixture *f, unsigned reg, uint8_t val)
{
	uart16550_bus_ops.write(f->u, reg, val, 1);
}

static size_t push(struct fixture *f, const char *s, size_t n)
{
	return uart16550_receive(f->u, (const uint8_t *)s, n);
}

static void assert_reset_state(struct fixture *f)
{
	assert_int_equal(rd(f, IER), 0x00);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(rd(f, LCR), 0x00);
	assert_int_equal(rd(f, MCR), 0x00);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, MSR), 0xb0);
	assert_int_equal(rd(f, SCR), 0x00);
	wr(f, LCR, 0x80);
	assert_int_equal(rd(f, 0), 12);
	assert_int_equal(rd(f, 1), 0);
	wr(f, LCR, 0x00);
	assert_false(f->level);
}

static void test_power_on_state(void **state)
{
	struct fixture *f = *state;

	assert_reset_state(f);
	assert_int_equal(f->rises, 0);
	assert_int_equal(f->tx_len, 0);
}

static void test_register_readback(void **state)
{
	struct fixture *f = *state;

	wr(f, SCR, 0xa5);
	assert_int_equal(rd(f, SCR), 0xa5);
	wr(f, LCR, 0x1b); /* 8E1 */
	assert_int_equal(rd(f, LCR), 0x1b);
	wr(f, MCR, 0xff); /* only bits 0-4 exist */
	assert_int_equal(rd(f, MCR), 0x1f);
	wr(f, MCR, 0x0b);
	assert_int_equal(rd(f, MCR), 0x0b);
	/* leaving loopback with OUT1 set was a trailing edge of RI */
	assert_int_equal(rd(f, MSR), 0xb4);
	wr(f, IER, 0xff); /* only bits 0-3 exist */
	assert_int_equal(rd(f, IER), 0x0f);
	wr(f, IER, 0x00);
	/* LSR and MSR ignore writes */
	wr(f, LSR, 0x00);
	assert_int_equal(rd(f, LSR), 0x60);
	wr(f, MSR, 0x00);
	assert_int_equal(rd(f, MSR), 0xb0);
}

static void test_divisor_latch(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x05);
	wr(f, LCR, 0x83);
	wr(f, 0, 0x01); /* DLL */
	wr(f, 1, 0x02); /* DLM */
	assert_int_equal(rd(f, 0), 0x01);
	assert_int_equal(rd(f, 1), 0x02);
	assert_int_equal(rd(f, LCR), 0x83);
	/* nothing was transmitted and IER was untouched */
	assert_int_equal(f->tx_len, 0);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), 0x05);
	wr(f, LCR, 0x83);
	assert_int_equal(rd(f, 0), 0x01);
	assert_int_equal(rd(f, 1), 0x02);
	/* a 16-bit access at offset 0 reaches DLL and DLM, low byte first */
	uart16550_bus_ops.write(f->u, 0, 0x0306, 2);
	assert_int_equal(uart16550_bus_ops.read(f->u, 0, 2), 0x0306);
	assert_int_equal(rd(f, 0), 0x06);
	assert_int_equal(rd(f, 1), 0x03);
}

static void test_tx_to_backend(void **state)
{
	struct fixture *f = *state;
	const char *msg = "Hello, COM1\r\n";

	for (const char *p = msg; *p; p++) {
		assert_int_equal(rd(f, LSR) & 0x20, 0x20); /* THRE before each byte */
		wr(f, RBR, (uint8_t)*p);
	}
	assert_int_equal(f->tx_len, strlen(msg));
	assert_memory_equal(f->tx, msg, strlen(msg));
	/* instant transmitter: THR and shift register empty again */
	assert_int_equal(rd(f, LSR), 0x60);
	/* same with FIFOs on */
	wr(f, FCR, 0x07);
	wr(f, RBR, 'x');
	assert_int_equal(f->tx_len, strlen(msg) + 1);
	assert_int_equal(f->tx[f->tx_len - 1], 'x');
	assert_int_equal(rd(f, LSR), 0x60);
}

static void test_rx_fifo_fill(void **state)
{
	struct fixture *f = *state;
	const char *data = "0123456789abcdefXYZW";

	wr(f, FCR, 0x07);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(push(f, data, 20), 16);
	assert_int_equal(push(f, "Q", 1), 0); /* full */
	assert_int_equal(rd(f, LSR), 0x61);   /* DR, no overrun: nothing was lost */
	for (int i = 0; i < 16; i++) {
		assert_int_equal(rd(f, LSR) & 0x01, 0x01);
		assert_int_equal(rd(f, RBR), (uint8_t)data[i]);
	}
	assert_int_equal(rd(f, LSR), 0x60);
	/* empty RBR reads harmlessly */
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(rd(f, LSR), 0x60);
	/* wrap-around of the ring */
	assert_int_equal(push(f, data, 10), 10);
	assert_int_equal(rd(f, RBR), '0');
	assert_int_equal(push(f, data + 10, 10), 7);
	for (int i = 1; i < 17; i++)
		assert_int_equal(rd(f, RBR), (uint8_t)data[i]);
	assert_int_equal(rd(f, LSR), 0x60);

	/* FCR bit 1 empties the receive FIFO */
	assert_int_equal(push(f, data, 5), 5);
	wr(f, FCR, 0x03);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(push(f, data, 16), 16);
	/* disabling the FIFOs empties them and leaves one holding register */
	wr(f, FCR, 0x00);
	assert_int_equal(rd(f, IIR) & 0xc0, 0x00);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(push(f, "ab", 2), 1);
	assert_int_equal(push(f, "b", 1), 0);
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(push(f, "b", 1), 1);
	assert_int_equal(rd(f, RBR), 'b');
	/* nothing or NULL */
	assert_int_equal(uart16550_receive(f->u, NULL, 5), 0);
	assert_int_equal(push(f, "", 0), 0);
}

static void test_overrun(void **state)
{
	struct fixture *f = *state;

	/* Loopback into a full FIFO is the one way to lose a byte. */
	wr(f, FCR, 0x01);
	wr(f, MCR, LOOP);
	wr(f, IER, 0x04); /* receiver line status */
	for (int i = 0; i < 17; i++)
		wr(f, RBR, (uint8_t)('a' + i));
	assert_int_equal(f->tx_len, 0);
	assert_int_equal(rd(f, IIR), IIR_RLS);
	assert_int_equal(rd(f, LSR), 0x63); /* OE, DR; reading clears OE */
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* the FIFO kept the first 16, the 17th was lost */
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(f, RBR), (uint8_t)('a' + i));
	assert_int_equal(rd(f, LSR), 0x60);

	/* 16450 mode: a second byte before the first was read overruns */
	wr(f, FCR, 0x00);
	wr(f, RBR, '1');
	wr(f, RBR, '2');
	assert_int_equal(rd(f, LSR), 0x63);
	assert_int_equal(rd(f, RBR), '1');
	assert_int_equal(rd(f, LSR), 0x60);
}

static void test_trigger_levels(void **state)
{
	struct fixture *f = *state;
	static const struct {
		uint8_t fcr;
		unsigned level;
	} t[] = {{0x01, 1}, {0x41, 4}, {0x81, 8}, {0xc1, 14}};
	const char *data = "0123456789abcdef";

	wr(f, MCR, OUT2);
	wr(f, IER, 0x01);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		wr(f, FCR, t[i].fcr | 0x02);
		assert_int_equal(push(f, data, t[i].level - 1), t[i].level - 1);
		assert_int_equal(rd(f, IIR), IIR_NONE);
		assert_false(f->level);
		assert_int_equal(push(f, data, 1), 1);
		assert_int_equal(rd(f, IIR), IIR_RDA);
		assert_true(f->level);
		/* RDA is not cleared by reading IIR, only by draining below the level */
		assert_int_equal(rd(f, IIR), IIR_RDA);
		rd(f, RBR);
		assert_int_equal(rd(f, IIR), IIR_NONE);
		assert_false(f->level);
	}
	/* lowering the trigger level with data waiting raises RDA at once */
	wr(f, FCR, 0xc3);
	assert_int_equal(push(f, data, 5), 5);
	assert_false(f->level);
	wr(f, FCR, 0x41);
	assert_int_equal(rd(f, IIR), IIR_RDA);
	assert_true(f->level);
	/* RDA needs IER bit 0 */
	wr(f, IER, 0x00);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_false(f->level);
	/* 16450 mode: any byte is "data available" */
	wr(f, FCR, 0x00);
	wr(f, IER, 0x01);
	assert_int_equal(push(f, "z", 1), 1);
	assert_int_equal(rd(f, IIR), 0x04);
	assert_true(f->level);
	assert_int_equal(rd(f, RBR), 'z');
	assert_int_equal(rd(f, IIR), 0x01);
	assert_false(f->level);
}

static void test_character_timeout(void **state)
{
	struct fixture *f = *state;
	const uint64_t four = 4 * CHAR_NS_DIV12;

	wr(f, MCR, OUT2);
	wr(f, IER, 0x01);
	wr(f, FCR, 0xc7); /* trigger 14 */
	assert_int_equal(push(f, "abc", 3), 3);
	fake_clock_advance(four - 1000);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_false(f->level);
	/* a new character restarts the 4-character wait */
	assert_int_equal(push(f, "d", 1), 1);
	fake_clock_advance(four - 1000);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	fake_clock_advance(1000);
	assert_int_equal(rd(f, IIR), IIR_CTI);
	assert_true(f->level);
	/* IIR reads and time do not clear it; reading a character does */
	fake_clock_advance(10 * four);
	assert_int_equal(rd(f, IIR), IIR_CTI);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_false(f->level);
	/* the read restarted the timer for the remaining three */
	fake_clock_advance(four - 1);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	fake_clock_advance(1);
	assert_int_equal(rd(f, IIR), IIR_CTI);
	assert_true(f->level);
	/* masked by IER bit 0, like RDA */
	wr(f, IER, 0x00);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_false(f->level);
	wr(f, IER, 0x01);
	assert_int_equal(rd(f, IIR), IIR_CTI);
	/* draining the FIFO ends it; an empty FIFO never times out */
	assert_int_equal(rd(f, RBR), 'b');
	assert_int_equal(rd(f, RBR), 'c');
	assert_int_equal(rd(f, RBR), 'd');
	fake_clock_advance(10 * four);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_false(f->level);

	/* the character time follows the divisor: 115200 baud */
	wr(f, LCR, 0x80);
	wr(f, 0, 1);
	wr(f, 1, 0);
	wr(f, LCR, 0x03);
	assert_int_equal(push(f, "e", 1), 1);
	fake_clock_advance(4 * 86805 - 10);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	fake_clock_advance(10);
	assert_int_equal(rd(f, IIR), IIR_CTI);
	assert_int_equal(rd(f, RBR), 'e');

	/* a divisor of 0 must not divide by zero */
	wr(f, LCR, 0x80);
	wr(f, 0, 0);
	wr(f, LCR, 0x03);
	assert_int_equal(push(f, "f", 1), 1);
	fake_clock_advance(4 * 65536ULL * 10 * 1000000000ULL / 115200 + 1);
	assert_int_equal(rd(f, IIR), IIR_CTI);

	/* 16450 mode has no timeout */
	wr(f, LCR, 0x80);
	wr(f, 0, 12);
	wr(f, LCR, 0x03);
	wr(f, FCR, 0x00);
	wr(f, IER, 0x00);
	assert_int_equal(push(f, "g", 1), 1);
	fake_clock_advance(100 * four);
	wr(f, IER, 0x01);
	assert_int_equal(rd(f, IIR), 0x04);
}

static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;

	wr(f, MCR, OUT2);
	wr(f, FCR, 0x01);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* enabling ETBEI with THR empty raises THRE */
	wr(f, IER, 0x02);
	assert_true(f->level);
	assert_int_equal(f->rises, 1);
	/* reading IIR that reports THRE acknowledges it */
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_false(f->level);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* rewriting IER with ETBEI still set does not raise it again */
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* a 0 -> 1 edge of ETBEI does (Linux's startup THRE test, Windows) */
	wr(f, IER, 0x00);
	wr(f, IER, 0x02);
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_false(f->level);

	/* Writing THR clears THRE; the instant transmitter empties THR again
	 * and raises it: the line goes high again after the write. */
	f->rises = f->falls = 0;
	wr(f, RBR, 'a');
	assert_int_equal(f->tx_len, 1);
	assert_int_equal(f->rises, 1);
	assert_true(f->level);
	/* With THRE already pending, the write drops the line for a moment so
	 * that an edge-triggered PIC sees a new edge. */
	wr(f, RBR, 'b');
	assert_int_equal(f->falls, 1);
	assert_int_equal(f->rises, 2);
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_false(f->level);

	/* ETBEI off forgets a pending THRE */
	wr(f, RBR, 'c');
	assert_true(f->level);
	wr(f, IER, 0x00);
	assert_false(f->level);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_memory_equal(f->tx, "abc", 3);

	/* THRE is not acknowledged by an IIR read reporting something else */
	wr(f, IER, 0x03);
	assert_int_equal(push(f, "x", 1), 1);
	assert_int_equal(rd(f, IIR), IIR_RDA);
	assert_int_equal(rd(f, RBR), 'x');
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_int_equal(rd(f, IIR), IIR_NONE);
}

static void test_interrupt_priority(void **state)
{
	struct fixture *f = *state;

	wr(f, FCR, 0x01); /* trigger 1 */
	wr(f, IER, 0x0f);
	/* Entering loopback with MCR outputs low changes DCD, DSR and CTS (a
	 * modem status delta); 17 bytes looped back overrun the FIFO. */
	wr(f, MCR, LOOP);
	for (int i = 0; i < 17; i++)
		wr(f, RBR, (uint8_t)i);
	assert_int_equal(rd(f, IIR), IIR_RLS);
	assert_int_equal(rd(f, IIR), IIR_RLS);
	assert_int_equal(rd(f, LSR) & 0x02, 0x02);
	assert_int_equal(rd(f, IIR), IIR_RDA);
	for (int i = 0; i < 16; i++)
		rd(f, RBR);
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_int_equal(rd(f, IIR), IIR_MS);
	assert_int_equal(rd(f, MSR), 0x0b); /* DDCD | DDSR | DCTS, lines low */
	assert_int_equal(rd(f, IIR), IIR_NONE);

	/* character timeout ranks with RDA, above THRE */
	wr(f, MCR, 0);
	rd(f, MSR);
	wr(f, FCR, 0xc1);
	wr(f, IER, 0x00);
	wr(f, IER, 0x03);
	assert_int_equal(push(f, "ab", 2), 2);
	assert_int_equal(rd(f, IIR), IIR_THRE);
	wr(f, IER, 0x01);
	wr(f, IER, 0x03);
	fake_clock_advance(4 * CHAR_NS_DIV12);
	assert_int_equal(rd(f, IIR), IIR_CTI);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, IIR), IIR_THRE);
	assert_int_equal(rd(f, IIR), IIR_NONE);
}

static void test_out2_gates_irq(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x02);
	/* pending in IIR, but the pin is not connected without OUT2 */
	assert_false(f->level);
	wr(f, MCR, 0x03); /* DTR | RTS */
	assert_false(f->level);
	wr(f, MCR, 0x0b);
	assert_true(f->level);
	wr(f, MCR, 0x03);
	assert_false(f->level);
	wr(f, MCR, 0x0b);
	assert_true(f->level);
	/* loopback does not change the gating (see update_irq()) */
	wr(f, MCR, LOOP | OUT2);
	assert_true(f->level);
	wr(f, MCR, LOOP);
	assert_false(f->level);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x01);
	wr(f, MCR, OUT2);
	wr(f, IER, 0x00);
	wr(f, IER, 0x02);
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0x02);
	assert_false(f->level);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;

	/* Linux's 8250 autoconfig check: LOOP | OUT2 | RTS reads DCD | CTS. */
	wr(f, MCR, LOOP | 0x0a);
	assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
	wr(f, MCR, LOOP | 0x0f);
	assert_int_equal(rd(f, MSR), 0xf2); /* RI, DCD, DSR, CTS; DSR changed */
	wr(f, MCR, LOOP | 0x01);
	/* RI trailing edge, DCD and CTS dropped */
	assert_int_equal(rd(f, MSR), 0x20 | 0x04 | 0x08 | 0x01);
	assert_int_equal(rd(f, MSR), 0x20);

	/* TX loops to RX and not to the backend */
	wr(f, RBR, 'L');
	assert_int_equal(f->tx_len, 0);
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(rd(f, RBR), 'L');
	/* the line is cut off: host input waits */
	assert_int_equal(push(f, "h", 1), 0);
	assert_int_equal(f->rx_ready_calls, 0);
	/* leaving loopback reconnects the receiver and asks for the input */
	wr(f, MCR, 0x00);
	assert_int_equal(f->rx_ready_calls, 1);
	assert_int_equal(push(f, "h", 1), 1);
	assert_int_equal(rd(f, RBR), 'h');
	/* back to a present terminal: DCD, DSR, CTS with their deltas */
	assert_int_equal(rd(f, MSR), 0xb0 | 0x08 | 0x01);
	assert_int_equal(rd(f, MSR), 0xb0);
	wr(f, RBR, 'T');
	assert_int_equal(f->tx_len, 1);
	assert_int_equal(f->tx[0], 'T');

	/* modem status interrupt */
	wr(f, IER, 0x08);
	wr(f, MCR, OUT2);
	assert_false(f->level);
	wr(f, MCR, OUT2 | LOOP | 0x02); /* CTS stays, DCD stays, DSR drops */
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0x00);
	assert_int_equal(rd(f, MSR), 0x92);
	assert_false(f->level);
	wr(f, MCR, OUT2);
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0x00);
	assert_int_equal(rd(f, MSR), 0xb2);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_false(f->level);

	/* received-data interrupt in loopback, as a driver self-test (and our
	 * uart_irq guest) uses it */
	wr(f, FCR, 0x07);
	wr(f, IER, 0x01);
	wr(f, MCR, OUT2 | LOOP);
	rd(f, MSR);
	assert_false(f->level);
	wr(f, RBR, 0x5a);
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), IIR_RDA);
	assert_int_equal(rd(f, RBR), 0x5a);
	assert_false(f->level);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_int_equal(f->tx_len, 1);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	wr(f, LCR, 0x80);
	wr(f, 0, 0x34);
	wr(f, 1, 0x12);
	wr(f, LCR, 0x1f);
	wr(f, IER, 0x0f);
	wr(f, FCR, 0xc7);
	wr(f, MCR, 0x1f);
	wr(f, MCR, OUT2);
	wr(f, SCR, 0x55);
	assert_int_equal(push(f, "data", 4), 4);
	assert_true(f->level);
	uart16550_reset(f->u);
	assert_false(f->level);
	assert_reset_state(f);
	assert_int_equal(rd(f, RBR), 0); /* FIFO emptied */
	/* timeouts armed before the reset do nothing */
	fake_clock_advance(100 * CHAR_NS_DIV12);
	assert_int_equal(rd(f, IIR), 0x01);
	/* a second reset is harmless */
	uart16550_reset(f->u);
	assert_reset_state(f);
}

static void test_rx_ready(void **state)
{
	struct fixture *f = *state;
	const char *data = "0123456789abcdefghij";

	wr(f, FCR, 0x01);
	assert_int_equal(push(f, data, 16), 16);
	/* nothing was refused: no callback when room frees */
	rd(f, RBR);
	assert_int_equal(f->rx_ready_calls, 0);
	assert_int_equal(push(f, data, 5), 1);
	assert_int_equal(f->rx_ready_calls, 0);
	rd(f, RBR);
	assert_int_equal(f->rx_ready_calls, 1);
	/* once per refusal */
	rd(f, RBR);
	assert_int_equal(f->rx_ready_calls, 1);
	/* clearing the FIFO frees room too */
	assert_int_equal(push(f, data, 5), 2);
	wr(f, FCR, 0x03);
	assert_int_equal(f->rx_ready_calls, 2);
	/* the callback may push more (it runs without the UART lock) */
	assert_int_equal(push(f, data, 16), 16);
	assert_int_equal(push(f, data, 1), 0);
	f->refill_in_rx_ready = true;
	assert_int_equal(rd(f, RBR), '0');
	assert_int_equal(f->rx_ready_calls, 3);
	assert_int_equal(f->refill_accepted, 1);
	/* the refill was short again, so the next read calls back again */
	assert_int_equal(rd(f, RBR), '1');
	assert_int_equal(f->rx_ready_calls, 4);
	for (int i = 2; i < 16; i++)
		assert_int_equal(rd(f, RBR), (uint8_t)data[i]);
	assert_int_equal(rd(f, RBR), 'M');
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(f->rx_ready_calls, 4);
	/* reset frees room too */
	while (push(f, data, 16))
		;
	uart16550_reset(f->u);
	assert_int_equal(f->rx_ready_calls, 5);
}

static void test_wide_and_hostile_accesses(void **state)
{
	struct fixture *f = *state;
	static const unsigned sizes[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 255, 0x80000000u};
	static const uint64_t offsets[] = {
	    0, 1, 6, 7, 8, 9, 0xffff, 0x7fffffff, 1ULL << 32, UINT64_MAX - 3, UINT64_MAX};

	/* a 16-bit read at SCR: SCR then nothing (all ones) */
	wr(f, SCR, 0x42);
	assert_int_equal(uart16550_bus_ops.read(f->u, 7, 2), 0xff42);
	assert_int_equal(uart16550_bus_ops.read(f->u, 8, 1), 0xff);
	/* a 32-bit read at LCR: LCR, MCR, LSR, MSR */
	wr(f, LCR, 0x03);
	assert_int_equal(uart16550_bus_ops.read(f->u, 3, 4), 0xb0600003);
	/* a 16-bit write at LCR sets LCR and MCR */
	uart16550_bus_ops.write(f->u, 3, 0x0803, 2);
	assert_int_equal(rd(f, MCR), 0x08);

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			uint64_t v = uart16550_bus_ops.read(f->u, offsets[i], sizes[j]);

			if (offsets[i] >= 8 && sizes[j] >= 1 && sizes[j] <= 8)
				assert_true(v == (sizes[j] == 8 ? UINT64_MAX
								: (1ULL << (8 * sizes[j])) - 1));
			uart16550_bus_ops.write(f->u, offsets[i], 0, sizes[j]);
		}
	}

	/* writes beyond the registers change nothing */
	wr(f, SCR, 0x99);
	wr(f, LCR, 0x03);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		if (offsets[i] >= 8)
			uart16550_bus_ops.write(f->u, offsets[i], UINT64_MAX, 8);
	uart16550_bus_ops.write(f->u, 4, UINT64_MAX, 0);
	uart16550_bus_ops.write(f->u, 4, UINT64_MAX, 9);
	assert_int_equal(rd(f, SCR), 0x99);
	assert_int_equal(rd(f, LCR), 0x03);
	assert_int_equal(rd(f, MCR), 0x00);
}

/* Random accesses: no crash, no sanitizer report, and the pin always agrees
 * with IIR, OUT2 and loopback. */
static void test_random_accesses(void **state)
{
	struct fixture *f = *state;
	uint32_t seed = 12345;

	for (int n = 0; n < 200000; n++) {
		uint32_t r;

		seed = seed * 1103515245 + 12345;
		r = seed >> 8;
		switch (r % 8) {
		case 0:
		case 1:
		case 2:
			uart16550_bus_ops.write(f->u, (r >> 3) % 10, r >> 7, 1 + (r >> 15) % 4);
			break;
		case 3:
		case 4:
			uart16550_bus_ops.read(f->u, (r >> 3) % 10, 1 + (r >> 15) % 2);
			break;
		case 5:
			push(f, "random bytes from the host", (r >> 3) % 27);
			break;
		case 6:
			fake_clock_advance((r >> 3) % 10000000);
			break;
		case 7: {
			bool level = f->level;
			uint8_t mcr = rd(f, MCR);
			uint8_t lcr = rd(f, LCR);
			uint8_t iir = rd(f, IIR);

			assert_int_equal(level, !(iir & 1) && (mcr & OUT2));
			assert_int_equal(rd(f, LCR), lcr);
			assert_int_equal(rd(f, LSR) & 0x60, 0x60);
			break;
		}
		}
		if (f->tx_len > sizeof(f->tx) / 2)
			f->tx_len = 0;
	}
}

static void test_create_without_irq_or_backend(void **state)
{
	struct uart16550 *u = uart16550_create(NULL, NULL, NULL);

	assert_non_null(u);
	uart16550_bus_ops.write(u, 4, OUT2, 1);
	uart16550_bus_ops.write(u, 1, 0x0f, 1);
	uart16550_bus_ops.write(u, 0, 'x', 1);
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"abc", 3), 1);
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(uart16550_bus_ops.read(u, 0, 1), 'a');
	uart16550_reset(u);
	uart16550_destroy(u);
	uart16550_destroy(NULL);
}

/* A host thread streams bytes with flow control while the guest thread
 * polls LSR and reads RBR: every byte arrives, once, in order. */
#define STREAM_LEN 50000

struct stream {
	struct uart16550 *u;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool room;
	unsigned waits;
};

static uint8_t stream_byte(size_t i)
{
	return (uint8_t)(i * 31 % 251);
}

static void stream_rx_ready(void *opaque)
{
	struct stream *st = opaque;

	pthread_mutex_lock(&st->lock);
	st->room = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void *stream_producer(void *arg)
{
	struct stream *st = arg;
	uint8_t buf[STREAM_LEN];
	size_t pos = 0;

	for (size_t i = 0; i < STREAM_LEN; i++)
		buf[i] = stream_byte(i);
	while (pos < STREAM_LEN) {
		size_t want = STREAM_LEN - pos < 37 ? STREAM_LEN - pos : 37;
		size_t n = uart16550_receive(st->u, buf + pos, want);

		pos += n;
		if (n < want) {
			pthread_mutex_lock(&st->lock);
			while (!st->room)
				pthread_cond_wait(&st->cond, &st->lock);
			st->room = false;
			st->waits++;
			pthread_mutex_unlock(&st->lock);
		}
	}
	return NULL;
}

static void test_threaded_stream(void **state)
{
	struct stream st = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	struct uart16550_backend be = {.rx_ready = stream_rx_ready, .opaque = &st};
	pthread_t producer;
	size_t got = 0;

	st.u = uart16550_create(NULL, &be, NULL);
	assert_non_null(st.u);
	uart16550_bus_ops.write(st.u, FCR, 0x87, 1);
	uart16550_bus_ops.write(st.u, IER, 0x0f, 1);
	assert_int_equal(pthread_create(&producer, NULL, stream_producer, &st), 0);
	while (got < STREAM_LEN) {
		if (uart16550_bus_ops.read(st.u, LSR, 1) & 0x01) {
			uint8_t b = (uint8_t)uart16550_bus_ops.read(st.u, RBR, 1);

			if (b != stream_byte(got))
				fail_msg("byte %zu: got 0x%02x, want 0x%02x", got, b,
					 stream_byte(got));
			got++;
		} else {
			/* other register traffic meanwhile */
			uart16550_bus_ops.read(st.u, IIR, 1);
			uart16550_bus_ops.write(st.u, RBR, 'x', 1);
		}
	}
	pthread_join(producer, NULL);
	assert_int_equal(uart16550_bus_ops.read(st.u, LSR, 1), 0x60);
	assert_true(st.waits > 0);
	uart16550_destroy(st.u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_power_on_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_readback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_to_backend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_fifo_fill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overrun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trigger_levels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_character_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interrupt_priority, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out2_gates_irq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wide_and_hostile_accesses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random_accesses, setup, teardown),
	    cmocka_unit_test(test_create_without_irq_or_backend),
	    cmocka_unit_test(test_threaded_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
