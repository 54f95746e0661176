/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PIIX3 USB UHCI controller (00:01.2, 8086:7020 rev 1, class 0c0300,
 * INTD, 32 bytes of registers behind BAR4) with two root ports, and, when
 * the board asks for it, QEMU's HID tablet on port 1.
 *
 * Registers and schedule rules are QEMU's (shared/guest-drivers.md §4.2,
 * §4.3): a 1024-entry frame list at FLBASEADD, walked one entry per 1 ms
 * frame while USBCMD.RS is set; queue heads and transfer descriptors read
 * and written back through the checked guest-memory accessors; every walk
 * bounded (256 links a frame, 128 queue heads before a loop that did no
 * work ends the frame, 1280 bytes a frame).  A pointer outside RAM stops
 * the controller with HSERR, an unknown PID with HCPERR; never a host
 * access outside guest RAM.
 *
 * Time: frames are counted by a clock, FRNUM = the frames since RS was set
 * (at most 128 behind: an older backlog is skipped, as QEMU does, and at
 * most 16 run at once).  The frame timer on the I/O thread runs every 1 ms
 * while the schedule does work; after 32 frames in which nothing but NAKs
 * and inactive TDs were seen it wakes only every 8 ms and runs the frames
 * due in one go, until a TD completes, a device has news (the tablet got
 * an event) or the guest touches a register, which first runs every frame
 * due, so FRNUM and the schedule a guest sees are never late.
 *
 * Threads: registers on vCPU threads, frames on the I/O thread; one mutex
 * guards the controller and the ports' devices (each device then takes
 * its own).  Lock order: PCI config lock, this lock, PCI interrupt lock.
 */
#ifndef MINIVMM_UHCI_H
#define MINIVMM_UHCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/usb.h"
#include "vmm/device.h"

#define UHCI_BAR      4
#define UHCI_IO_SIZE  32
#define UHCI_NR_PORTS 2

/* Register offsets in the BAR4 window */
#define UHCI_USBCMD    0x00
#define UHCI_USBSTS    0x02
#define UHCI_USBINTR   0x04
#define UHCI_FRNUM     0x06
#define UHCI_FLBASEADD 0x08
#define UHCI_SOFMOD    0x0c
#define UHCI_PORTSC1   0x10
#define UHCI_PORTSC2   0x12

#define UHCI_CMD_RS	 0x0001
#define UHCI_CMD_HCRESET 0x0002
#define UHCI_CMD_GRESET	 0x0004
#define UHCI_CMD_EGSM	 0x0008
#define UHCI_CMD_FGR	 0x0010
#define UHCI_CMD_SWDBG	 0x0020
#define UHCI_CMD_CF	 0x0040
#define UHCI_CMD_MAXP	 0x0080

#define UHCI_STS_USBINT	  0x0001
#define UHCI_STS_USBERR	  0x0002
#define UHCI_STS_RD	  0x0004
#define UHCI_STS_HSERR	  0x0008
#define UHCI_STS_HCPERR	  0x0010
#define UHCI_STS_HCHALTED 0x0020

#define UHCI_INTR_TIMEOUT 0x0001
#define UHCI_INTR_RESUME  0x0002
#define UHCI_INTR_IOC	  0x0004
#define UHCI_INTR_SPD	  0x0008

#define UHCI_PORT_CCS  0x0001
#define UHCI_PORT_CSC  0x0002
#define UHCI_PORT_PE   0x0004
#define UHCI_PORT_PEDC 0x0008
#define UHCI_PORT_RD   0x0040
#define UHCI_PORT_RSVD 0x0080 /* reads 1 */
#define UHCI_PORT_LSDA 0x0100
#define UHCI_PORT_PR   0x0200
#define UHCI_PORT_SUSP 0x1000

/* Link pointers, TD control and token (UHCI 1.1 §3.2, §3.3) */
#define UHCI_LINK_T  0x1
#define UHCI_LINK_Q  0x2
#define UHCI_LINK_VF 0x4

#define UHCI_TD_ACTLEN_MASK 0x7ff
#define UHCI_TD_TIMEOUT	    (1u << 18)
#define UHCI_TD_NAK	    (1u << 19)
#define UHCI_TD_BABBLE	    (1u << 20)
#define UHCI_TD_STALL	    (1u << 22)
#define UHCI_TD_ACTIVE	    (1u << 23)
#define UHCI_TD_IOC	    (1u << 24)
#define UHCI_TD_IOS	    (1u << 25)
#define UHCI_TD_LS	    (1u << 26)
#define UHCI_TD_CERR_SHIFT  27
#define UHCI_TD_SPD	    (1u << 29)

#define UHCI_FRAME_NS	       1000000ull
#define UHCI_MAX_LINKS	       256
#define UHCI_MAX_QHS	       128
#define UHCI_FRAME_BYTES       1280
#define UHCI_MAX_LAG_FRAMES    128
#define UHCI_MAX_FRAMES_AT_ONCE 16
#define UHCI_IDLE_FRAMES       32 /* idle frames before the timer slows down */
#define UHCI_BATCH_FRAMES      8  /* frames per wakeup while idle */

struct uhci;
struct uhci_stats {
	uint64_t frames;	 /* frames run */
	uint64_t frames_skipped; /* a backlog beyond 128 frames, skipped */
	uint64_t ticks, batched_ticks; /* timer wakeups; of those, while idle */
	uint64_t tds;		 /* active TDs handed to a device */
	uint64_t completed;	 /* of those, completed (ACK) */
	uint64_t naks;
	uint64_t short_packets;
	uint64_t interrupts; /* the INTx line raised */
	uint64_t err_stall, err_timeout, err_babble; /* TD errors */
	uint64_t err_pid;	/* HCPERR: an unknown PID */
	uint64_t err_host;	/* HSERR: a pointer or buffer outside RAM */
	uint64_t link_limit;	/* frames ended by the 256-link limit */
	uint64_t qh_loops;	/* frames ended by a QH loop without work */
	uint64_t bandwidth;	/* frames ended by the byte budget */
};

/* The controller at devfn on ctx's PCI bus, with its BAR, interrupt and
 * frame timer; no device on its ports yet.  NULL with a reason in err. */
struct uhci *uhci_create(const struct dev_ctx *ctx, unsigned devfn, char *err, size_t errlen);
void uhci_destroy(struct uhci *u);
/* port 0 or 1 (PORTSC1, PORTSC2).  The device stays the caller's and must
 * outlive the controller or be detached first.  0, -EINVAL or -EBUSY. */
int uhci_attach(struct uhci *u, unsigned port, struct usb_device *dev);
void uhci_detach(struct uhci *u, unsigned port);
void uhci_quiesce(struct uhci *u);
void uhci_pause(struct uhci *u);
void uhci_resume(struct uhci *u);
void uhci_get_stats(struct uhci *u, struct uhci_stats *st, bool reset);
struct pci_dev *uhci_pci_dev(struct uhci *u);

/* Board row: .devfn 01.2, .arg a const struct uhci_args * (or NULL: no
 * device).  With tablet, QEMU's HID tablet sits on port 1 and registers
 * with ctx->input. */
struct uhci_args {
	bool tablet;
};
extern const struct device_type uhci_type;

#endif
