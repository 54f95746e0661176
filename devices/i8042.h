/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The i8042 PS/2 controller with a keyboard on its first port and a mouse
 * on its auxiliary port, as SeaBIOS, Linux's i8042/atkbd/psmouse and
 * Windows' i8042prt drive it: data port 0x60, status (read) and command
 * (write) port 0x64, IRQ 1 for keyboard bytes and IRQ 12 for mouse bytes.
 *
 * The guest's writes take effect at once: the input buffer is never seen
 * full (IBF stays 0) and device answers are queued immediately.  Each
 * device has its own output queue; the controller moves one byte at a time
 * into its output buffer when that is empty, preferring its own answers,
 * then the keyboard, then the mouse.  Interrupt lines are levels: high
 * while the output buffer holds a byte from that source and the command
 * byte enables the interrupt, low once the guest reads the byte.
 *
 * Threads and locks: one mutex per controller.  Port accesses come from
 * vCPU threads, i8042_key_event()/i8042_mouse_event() from the I/O thread.
 * With the mutex held the controller calls irq_line_set() only; the
 * machine_events reset() and the A20 handler are called after the mutex is
 * released, so they may call back into the controller (i8042_reset() from
 * a synchronous reset path, for instance).
 */
#ifndef MINIVMM_I8042_H
#define MINIVMM_I8042_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/irq.h"
#include "vmm/machine_events.h"

#define I8042_DATA_PORT	  0x60
#define I8042_CMD_PORT	  0x64 /* command on write, status on read */
#define I8042_STATUS_PORT I8042_CMD_PORT
#define I8042_KBD_IRQ	  1
#define I8042_AUX_IRQ	  12

/* Mouse buttons for i8042_mouse_event(), as the PS/2 packet orders them. */
#define I8042_BTN_LEFT	 0x01
#define I8042_BTN_RIGHT	 0x02
#define I8042_BTN_MIDDLE 0x04
#define I8042_BTN_4	 0x08 /* reported once the guest enabled 5-button mode */
#define I8042_BTN_5	 0x10

struct i8042;

/* The irq lines and events are copied; either line may be NULL (no
 * interrupt).  ev->reset is called when the guest pulses or drives the
 * reset line (commands 0xF0-0xFE with bit 0 clear, output-port bit 0
 * written as 0).  NULL without memory. */
struct i8042 *i8042_create(const struct irq_line *kbd_irq, const struct irq_line *aux_irq,
			   const struct machine_events *ev);
/* Only once no other thread can call into the controller. */
void i8042_destroy(struct i8042 *dev);

/* Power-on state of controller, keyboard and mouse; drives both lines low. */
void i8042_reset(struct i8042 *dev);

/* Called with the new level whenever the guest changes the A20 bit of the
 * output port (0xD1, 0xDD, 0xDF) or a reset restores it.  Informational
 * under KVM, where A20 is always on.  fn may be NULL. */
void i8042_set_a20_handler(struct i8042 *dev, void (*fn)(void *opaque, bool on), void *opaque);

/* opaque: struct i8042 *.  Both are one-byte ports: register each with
 * length 1 at I8042_DATA_PORT and I8042_CMD_PORT. */
extern const struct bus_ops i8042_data_bus_ops;
extern const struct bus_ops i8042_status_bus_ops;

/* One key event as scan code set 2 bytes (a make code, or a break code with
 * its 0xF0, with any 0xE0/0xE1 prefixes), at most 16 bytes.  The keyboard
 * converts to the scan code set the guest selected and the controller
 * translates to set 1 when the command byte asks for it.  Returns false if
 * the event was dropped: keyboard scanning disabled (0xF5) or no room for
 * the whole event in the keyboard's 16-byte buffer (never a partial one). */
bool i8042_key_event(struct i8042 *dev, const uint8_t *set2, size_t n);

/* Keys as QEMU numbers them (vmm/input.h's qnum: the set 1 make code,
 * 0x80 | code for the 0xE0 keys), converted to set 2: the make or break
 * bytes in out (room for I8042_QNUM_SEQ_MAX), their number returned, 0 for
 * a qnum no key has.  Print Screen sends its fake-shift sequence, Pause its
 * 0xE1 make-and-break on the press and nothing on the release. */
#define I8042_QNUM_SEQ_MAX 8
#define I8042_QNUM_PRINT   0xb7
#define I8042_QNUM_PAUSE   0xc6
size_t i8042_qnum_to_set2(unsigned qnum, bool down, uint8_t *out);
/* i8042_key_event() of that sequence: what the input router's keyboard
 * sink calls (the board registers it in vmm/input.h, with the mouse). */
bool i8042_qnum_event(struct i8042 *dev, unsigned qnum, bool down);

/* Relative motion in screen directions (dx right, dy down), dz wheel clicks
 * towards the user (scrolling down), and the I8042_BTN_* bits held now.
 * Motion accumulates in the mouse until its buffer has room for a packet,
 * as a real mouse's counters do.  Returns false if dropped because the
 * guest has not enabled reporting (stream mode without 0xF4). */
bool i8042_mouse_event(struct i8042 *dev, int dx, int dy, int dz, unsigned buttons);

/* Keyboard LEDs as last set with 0xED: bit 0 Scroll, 1 Num, 2 Caps Lock. */
uint8_t i8042_kbd_leds(struct i8042 *dev);


/* Board row: .port I8042_DATA_PORT, .irq I8042_KBD_IRQ (the mouse takes I8042_AUX_IRQ). */
extern const struct device_type i8042_type;

#endif
