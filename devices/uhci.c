// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PIIX3 UHCI: registers, root ports, the frame clock and the schedule walk
 * (see uhci.h for the model and its limits).
 *
 * Facts from QEMU's hw/usb/hcd-uhci.c as shared/guest-drivers.md §4
 * records them: register semantics, the hidden IOC/SPD latch behind
 * USBINT, TD completion (ActLen n-1, ACTIVE and NAK cleared, short IN
 * packets leave the queue head where it is), errors, and the frame
 * limits.  Where QEMU has no answer for a hostile guest (a DMA address
 * outside RAM) the controller stops with HSERR, as a PCI master abort
 * would stop the real chip.
 */
#include "devices/uhci.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/usb_tablet.h"
#include "vmm/fastpath.h"
#include "vmm/guest_mem.h"
#include "vmm/le.h"
#include "vmm/timer.h"

#define CFG_SBRN      0x60 /* serial bus release number: USB 1.0 */
#define CFG_USBCLK    0x6a /* QEMU's reset value: USB clock on */
#define CFG_USBLEGSUP 0xc0 /* legacy support: stored only */

#define PORT_READ_ONLY	0x01bb
#define PORT_WRITE_CLEAR (UHCI_PORT_CSC | UHCI_PORT_PEDC)

#define LATCH_IOC 0x1
#define LATCH_SPD 0x2

enum td_result { TD_NEXT_QH, TD_COMPLETE, TD_STOP };

struct uhci_port {
	uint16_t ctrl;
	struct usb_device *dev;
};

struct uhci {
	struct pci_dev *dev;
	const struct guest_mem *mem;
	struct vm_timer *timer;
	struct fp_intx *intx;
	struct usb_tablet *tablet; /* the board's tablet, ours to free */

	pthread_mutex_t lock; /* guards everything below */
	uint16_t cmd, sts, intr, frnum;
	uint32_t flbase;
	uint8_t sof;
	uint8_t latch; /* IOC and SPD seen, cleared with USBINT */
	struct uhci_port port[UHCI_NR_PORTS];
	bool running;  /* RS set and not halted by an error */
	bool stopped;  /* quiesced or paused: no frames, no DMA */
	bool irq_level;
	bool idle;	/* slow timer: frames run in batches */
	unsigned idle_frames;
	uint64_t next_frame_ns; /* when the frame FRNUM names is due */
	uint8_t pending; /* interrupts collected over the frames of one run */
	uint8_t buf[2048]; /* one packet: MaxLen is at most 0x7ff + 1 */
	struct uhci_stats st;
};

/* ---- interrupts and state ---- */

static void update_irq(struct uhci *u)
{
	bool level = ((u->latch & LATCH_IOC) && (u->intr & UHCI_INTR_IOC)) ||
		     ((u->latch & LATCH_SPD) && (u->intr & UHCI_INTR_SPD)) ||
		     ((u->sts & UHCI_STS_USBERR) && (u->intr & UHCI_INTR_TIMEOUT)) ||
		     ((u->sts & UHCI_STS_RD) && (u->intr & UHCI_INTR_RESUME)) ||
		     (u->sts & (UHCI_STS_HSERR | UHCI_STS_HCPERR));

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (level)
		u->st.interrupts++;
	pci_set_irq(u->dev, level);
}

/* Locked: the timer for the next wakeup, or none. */
static void arm(struct uhci *u)
{
	uint64_t now, deadline;

	if (!u->running || u->stopped) {
		vm_timer_del(u->timer);
		return;
	}
	deadline = u->next_frame_ns;
	if (u->idle)
		deadline += (UHCI_BATCH_FRAMES - 1) * UHCI_FRAME_NS;
	now = vm_clock_ns();
	if (deadline <= now)
		deadline = now + UHCI_FRAME_NS / 4; /* a backlog: the next 16 soon */
	vm_timer_mod(u->timer, deadline);
}

static void halt(struct uhci *u)
{
	u->cmd &= (uint16_t)~UHCI_CMD_RS;
	u->sts |= UHCI_STS_HCHALTED;
	u->running = false;
	vm_timer_del(u->timer);
}

static void host_error(struct uhci *u)
{
	u->st.err_host++;
	u->sts |= UHCI_STS_HSERR;
	halt(u);
	update_irq(u);
}

/* Remote wakeup or a connect change while suspended: resume signalling. */
static void global_resume(struct uhci *u)
{
	if (u->cmd & UHCI_CMD_EGSM) {
		u->cmd |= UHCI_CMD_FGR;
		u->sts |= UHCI_STS_RD;
		update_irq(u);
	}
}

static void port_connect(struct uhci *u, unsigned p)
{
	struct uhci_port *port = &u->port[p];

	port->ctrl |= UHCI_PORT_CCS | UHCI_PORT_CSC;
	if (port->dev->low_speed)
		port->ctrl |= UHCI_PORT_LSDA;
	else
		port->ctrl &= (uint16_t)~UHCI_PORT_LSDA;
}

/* HCRESET, GRESET and the PCI reset: power-on registers; the devices see a
 * bus reset and show up as newly connected. */
static void controller_reset(struct uhci *u)
{
	u->cmd = 0;
	u->sts = UHCI_STS_HCHALTED;
	u->intr = 0;
	u->frnum = 0;
	u->flbase = 0;
	u->sof = 64;
	u->latch = 0;
	u->pending = 0;
	u->running = false;
	u->idle = false;
	u->idle_frames = 0;
	vm_timer_del(u->timer);
	for (unsigned p = 0; p < UHCI_NR_PORTS; p++) {
		u->port[p].ctrl = UHCI_PORT_RSVD;
		if (u->port[p].dev) {
			usb_device_reset(u->port[p].dev);
			port_connect(u, p);
		}
	}
	update_irq(u);
}

/* ---- the schedule ---- */

static struct usb_device *find_device(struct uhci *u, unsigned addr)
{
	for (unsigned p = 0; p < UHCI_NR_PORTS; p++) {
		struct uhci_port *port = &u->port[p];

		if ((port->ctrl & UHCI_PORT_PE) && port->dev && port->dev->addr == addr)
			return port->dev;
	}
	return NULL;
}

static int read_words(struct uhci *u, uint32_t gpa, uint32_t *w, unsigned n)
{
	uint8_t b[16];

	if (guest_mem_read(u->mem, gpa, b, 4 * n) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++)
		w[i] = le32_get(b + 4 * i);
	return 0;
}

static int write_word(struct uhci *u, uint32_t gpa, uint32_t v)
{
	uint8_t b[4];

	le32_put(b, v);
	return guest_mem_write(u->mem, gpa, b, 4);
}

/* An error that ends the TD: its bit, ACTIVE off, USBERR now. */
static void td_error(struct uhci *u, uint32_t *ctrl, uint32_t bits)
{
	*ctrl = (*ctrl | bits) & ~UHCI_TD_ACTIVE;
	u->sts |= UHCI_STS_USBERR;
	if (*ctrl & UHCI_TD_IOC)
		u->pending |= LATCH_IOC;
	update_irq(u);
}

/* td = {link, ctrl, token, buffer}; ctrl is updated in place.  *work:
 * the TD changed state for a reason other than a NAK. */
static enum td_result handle_td(struct uhci *u, uint32_t *td, bool *work)
{
	uint32_t *ctrl = &td[1], token = td[2], buffer = td[3];
	unsigned pid = token & 0xff, addr = (token >> 8) & 0x7f, ep = (token >> 15) & 0xf;
	size_t max_len = ((token >> 21) + 1) & 0x7ff, actual = 0, len;
	struct usb_device *dev;
	enum usb_result r;

	if (!(*ctrl & UHCI_TD_ACTIVE)) {
		/* IOC even on an inactive TD (QEMU, after the EHCI spec). */
		if (*ctrl & UHCI_TD_IOC)
			u->pending |= LATCH_IOC;
		return TD_NEXT_QH;
	}
	if (pid != USB_PID_SETUP && pid != USB_PID_IN && pid != USB_PID_OUT) {
		u->st.err_pid++;
		u->sts |= UHCI_STS_HCPERR;
		halt(u);
		update_irq(u);
		return TD_STOP;
	}
	*work = true;
	u->st.tds++;
	dev = find_device(u, addr);
	if (!dev) {
		/* Nobody answers: a timeout, no retries left. */
		u->st.err_timeout++;
		*ctrl &= ~(3u << UHCI_TD_CERR_SHIFT);
		td_error(u, ctrl, UHCI_TD_TIMEOUT);
		return TD_NEXT_QH;
	}
	if (pid != USB_PID_IN && max_len && guest_mem_read(u->mem, buffer, u->buf, max_len) < 0) {
		host_error(u);
		return TD_STOP;
	}
	r = usb_device_token(dev, pid, ep, u->buf, max_len, &actual);
	if (r == USB_ACK && pid == USB_PID_IN && actual > max_len)
		r = USB_BABBLE;
	switch (r) {
	case USB_ACK:
		if (pid == USB_PID_IN && actual &&
		    guest_mem_write(u->mem, buffer, u->buf, actual) < 0) {
			host_error(u);
			return TD_STOP;
		}
		len = pid == USB_PID_IN ? actual : max_len;
		u->st.completed++;
		/* NAK from an earlier frame goes too ("win2k relies on this"). */
		*ctrl = (*ctrl & ~(UHCI_TD_ACTLEN_MASK | UHCI_TD_ACTIVE | UHCI_TD_NAK)) |
			((uint32_t)(len - 1) & UHCI_TD_ACTLEN_MASK);
		if (*ctrl & UHCI_TD_IOC)
			u->pending |= LATCH_IOC;
		if (pid == USB_PID_IN && (*ctrl & UHCI_TD_SPD) && len < max_len) {
			u->st.short_packets++;
			u->pending |= LATCH_SPD;
			return TD_NEXT_QH; /* the queue head stays on this TD */
		}
		return TD_COMPLETE;
	case USB_NAK:
		*work = false;
		u->st.naks++;
		*ctrl |= UHCI_TD_NAK;
		return TD_NEXT_QH;
	case USB_STALL:
		u->st.err_stall++;
		td_error(u, ctrl, UHCI_TD_STALL);
		return TD_NEXT_QH;
	case USB_BABBLE:
	default:
		u->st.err_babble++;
		td_error(u, ctrl, UHCI_TD_BABBLE | UHCI_TD_STALL);
		return TD_STOP;
	}
}

/* Has this queue head been seen in this round?  Adds it if not. */
static bool qh_seen(uint32_t *seen, unsigned *n, uint32_t addr)
{
	for (unsigned i = 0; i < *n; i++)
		if (seen[i] == addr)
			return true;
	if (*n >= UHCI_MAX_QHS)
		return true;
	seen[(*n)++] = addr;
	return false;
}

/* Locked: the frame FRNUM names.  Returns whether any TD did work. */
static bool process_frame(struct uhci *u)
{
	uint32_t seen[UHCI_MAX_QHS], link, curr_qh = 0, qh[2] = { 0, 0 }, td[4];
	unsigned nseen = 0, td_count = 0, bytes = 0, cnt;
	bool work = false;

	u->st.frames++;
	if (read_words(u, u->flbase + ((u->frnum & 0x3ffu) << 2), &link, 1) < 0) {
		host_error(u);
		return true;
	}
	for (cnt = 0; !(link & UHCI_LINK_T); cnt++) {
		uint32_t addr = link & ~0xfu, old_ctrl;
		enum td_result r;
		bool did = false;

		if (cnt >= UHCI_MAX_LINKS) {
			u->st.link_limit++;
			break;
		}
		if (bytes >= UHCI_FRAME_BYTES) {
			u->st.bandwidth++;
			break;
		}
		if (link & UHCI_LINK_Q) {
			if (qh_seen(seen, &nseen, addr)) {
				/* Round and round: fine while it does work (the
				 * driver's bandwidth reclamation loop), over when a
				 * whole round did nothing. */
				if (td_count == 0) {
					u->st.qh_loops++;
					break;
				}
				td_count = 0;
				nseen = 0;
				qh_seen(seen, &nseen, addr);
			}
			if (read_words(u, addr, qh, 2) < 0) {
				host_error(u);
				return true;
			}
			if (qh[1] & UHCI_LINK_T) {
				curr_qh = 0;
				link = qh[0];
			} else {
				curr_qh = addr;
				link = qh[1];
			}
			continue;
		}
		if (read_words(u, addr, td, 4) < 0) {
			host_error(u);
			return true;
		}
		old_ctrl = td[1];
		r = handle_td(u, td, &did);
		work |= did;
		if (td[1] != old_ctrl && write_word(u, addr + 4, td[1]) < 0) {
			host_error(u);
			return true;
		}
		if (r == TD_STOP)
			break;
		if (r == TD_NEXT_QH) {
			link = curr_qh ? qh[0] : td[0];
			continue;
		}
		/* Complete: on along the queue. */
		td_count++;
		bytes += ((td[1] & UHCI_TD_ACTLEN_MASK) + 1) & UHCI_TD_ACTLEN_MASK;
		link = td[0];
		if (curr_qh) {
			qh[1] = link;
			if (write_word(u, curr_qh + 4, link) < 0) {
				host_error(u);
				return true;
			}
			/* Breadth first: one TD per queue head per visit. */
			if (!(link & UHCI_LINK_VF)) {
				curr_qh = 0;
				link = qh[0];
			}
		}
	}
	return work;
}

/* Locked: runs the frames that are due by now (see uhci.h). */
static void catch_up(struct uhci *u, uint64_t now)
{
	uint64_t due;

	if (!u->running || u->stopped || now < u->next_frame_ns)
		return;
	due = (now - u->next_frame_ns) / UHCI_FRAME_NS + 1;
	if (due > UHCI_MAX_LAG_FRAMES) {
		uint64_t skip = due - UHCI_MAX_LAG_FRAMES;

		u->st.frames_skipped += skip;
		u->frnum = (uint16_t)((u->frnum + skip) & 0x7ff);
		u->next_frame_ns += skip * UHCI_FRAME_NS;
		due = UHCI_MAX_LAG_FRAMES;
	}
	if (due > UHCI_MAX_FRAMES_AT_ONCE)
		due = UHCI_MAX_FRAMES_AT_ONCE;
	for (uint64_t i = 0; i < due && u->running; i++) {
		bool work = process_frame(u);

		/* FRNUM moves on after the frame: a driver looks at FRNUM - 1
		 * when the interrupt comes. */
		u->frnum = (u->frnum + 1) & 0x7ff;
		u->next_frame_ns += UHCI_FRAME_NS;
		if (work) {
			u->idle_frames = 0;
			u->idle = false;
		} else if (++u->idle_frames >= UHCI_IDLE_FRAMES) {
			u->idle = true;
		}
	}
	if (u->pending) {
		u->latch |= u->pending;
		u->sts |= UHCI_STS_USBINT;
		u->pending = 0;
		update_irq(u);
	}
}

static void frame_timer(void *opaque)
{
	struct uhci *u = opaque;

	pthread_mutex_lock(&u->lock);
	if (u->running && !u->stopped) {
		u->st.ticks++;
		if (u->idle)
			u->st.batched_ticks++;
		catch_up(u, vm_clock_ns());
	}
	arm(u);
	pthread_mutex_unlock(&u->lock);
}

/* ---- registers ---- */

static void start(struct uhci *u)
{
	u->sts &= (uint16_t)~UHCI_STS_HCHALTED;
	u->running = true;
	u->idle = false;
	u->idle_frames = 0;
	u->next_frame_ns = vm_clock_ns() + UHCI_FRAME_NS;
	arm(u);
}

static void write_cmd(struct uhci *u, uint16_t val)
{
	if ((val & UHCI_CMD_RS) && !(u->cmd & UHCI_CMD_RS))
		start(u);
	else if (!(val & UHCI_CMD_RS))
		halt(u);
	if (val & (UHCI_CMD_GRESET | UHCI_CMD_HCRESET)) {
		controller_reset(u);
		return;
	}
	u->cmd = val;
	if ((val & UHCI_CMD_EGSM) &&
	    ((u->port[0].ctrl & UHCI_PORT_RD) || (u->port[1].ctrl & UHCI_PORT_RD)))
		global_resume(u);
}

static void write_port(struct uhci *u, unsigned p, uint16_t val)
{
	struct uhci_port *port = &u->port[p];

	/* PR going 0 -> 1 resets the device on the port. */
	if (port->dev && (val & UHCI_PORT_PR) && !(port->ctrl & UHCI_PORT_PR))
		usb_device_reset(port->dev);
	port->ctrl &= PORT_READ_ONLY;
	if (!(port->ctrl & UHCI_PORT_CCS))
		val &= (uint16_t)~UHCI_PORT_PE; /* no device, no enable */
	port->ctrl |= val & (uint16_t)~PORT_READ_ONLY;
	port->ctrl &= (uint16_t)~(val & PORT_WRITE_CLEAR);
}

static uint16_t read16(struct uhci *u, unsigned off)
{
	switch (off) {
	case UHCI_USBCMD:
		return u->cmd;
	case UHCI_USBSTS:
		return u->sts;
	case UHCI_USBINTR:
		return u->intr;
	case UHCI_FRNUM:
		return u->frnum;
	case UHCI_FLBASEADD:
		return (uint16_t)u->flbase;
	case UHCI_FLBASEADD + 2:
		return (uint16_t)(u->flbase >> 16);
	case UHCI_SOFMOD:
		return u->sof;
	case UHCI_PORTSC1:
	case UHCI_PORTSC2:
		return u->port[(off - UHCI_PORTSC1) / 2].ctrl;
	}
	return 0xff7f; /* as a port that is not there */
}

static void write16(struct uhci *u, unsigned off, uint16_t val)
{
	switch (off) {
	case UHCI_USBCMD:
		write_cmd(u, val);
		break;
	case UHCI_USBSTS:
		u->sts &= (uint16_t)~val;
		if (val & UHCI_STS_USBINT)
			u->latch = 0;
		update_irq(u);
		break;
	case UHCI_USBINTR:
		u->intr = val & 0x0f;
		update_irq(u);
		break;
	case UHCI_FRNUM:
		if (u->sts & UHCI_STS_HCHALTED)
			u->frnum = val & 0x7ff;
		break;
	case UHCI_FLBASEADD:
		u->flbase = (u->flbase & 0xffff0000u) | (val & 0xf000u);
		break;
	case UHCI_FLBASEADD + 2:
		u->flbase = (u->flbase & 0xffffu) | (uint32_t)val << 16;
		break;
	case UHCI_SOFMOD:
		u->sof = (uint8_t)val;
		break;
	case UHCI_PORTSC1:
	case UHCI_PORTSC2:
		write_port(u, (off - UHCI_PORTSC1) / 2, val);
		break;
	}
}

/* Bits a byte write to the other half of a register must not set again:
 * the write-1-to-clear ones. */
static uint16_t w1c_bits(unsigned off)
{
	switch (off) {
	case UHCI_USBSTS:
		return 0xffff;
	case UHCI_PORTSC1:
	case UHCI_PORTSC2:
		return PORT_WRITE_CLEAR;
	}
	return 0;
}

static uint64_t bar_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uhci *u = opaque;
	unsigned off = (unsigned)offset;
	uint64_t v;

	if (offset >= UHCI_IO_SIZE)
		return ~0ull;
	pthread_mutex_lock(&u->lock);
	catch_up(u, vm_clock_ns());
	if (size == 1)
		v = read16(u, off & ~1u) >> (8 * (off & 1)) & 0xff;
	else if (size == 2 && !(off & 1))
		v = read16(u, off);
	else if (size == 4 && !(off & 3))
		v = read16(u, off) | (uint32_t)read16(u, off + 2) << 16;
	else
		v = ~0ull; /* unaligned */
	pthread_mutex_unlock(&u->lock);
	return v;
}

static void bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct uhci *u = opaque;
	unsigned off = (unsigned)offset;

	if (offset >= UHCI_IO_SIZE)
		return;
	pthread_mutex_lock(&u->lock);
	catch_up(u, vm_clock_ns());
	if (size == 1) {
		unsigned reg = off & ~1u, shift = 8 * (off & 1);
		uint16_t keep = (uint16_t)(read16(u, reg) & ~w1c_bits(reg) & ~(0xff << shift));

		/* SOFMOD is a byte register of its own. */
		if (reg == UHCI_SOFMOD)
			keep = 0;
		if (reg != UHCI_SOFMOD || shift == 0)
			write16(u, reg, (uint16_t)(keep | (value & 0xff) << shift));
	} else if (size == 2 && !(off & 1)) {
		write16(u, off, (uint16_t)value);
	} else if (size == 4 && !(off & 3)) {
		write16(u, off, (uint16_t)value);
		write16(u, off + 2, (uint16_t)(value >> 16));
	}
	pthread_mutex_unlock(&u->lock);
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

/* ---- ports ---- */

static void port_notify(void *opaque, unsigned p, bool wakeup)
{
	struct uhci *u = opaque;
	struct uhci_port *port;

	if (p >= UHCI_NR_PORTS)
		return;
	pthread_mutex_lock(&u->lock);
	port = &u->port[p];
	if (wakeup && (port->ctrl & UHCI_PORT_SUSP) && !(port->ctrl & UHCI_PORT_RD)) {
		port->ctrl |= UHCI_PORT_RD;
		global_resume(u);
	}
	/* News: poll at the full rate again, starting with what is due (at
	 * the full rate the timer is armed for the next frame already). */
	u->idle_frames = 0;
	if (u->idle) {
		u->idle = false;
		arm(u);
	}
	pthread_mutex_unlock(&u->lock);
}

static const struct usb_port_ops port_ops = { .notify = port_notify };

int uhci_attach(struct uhci *u, unsigned p, struct usb_device *dev)
{
	int ret = 0;

	if (p >= UHCI_NR_PORTS || !dev)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	if (u->port[p].dev) {
		ret = -EBUSY;
	} else {
		dev->port_ops = &port_ops;
		dev->port_opaque = u;
		dev->port = p;
		u->port[p].dev = dev;
		usb_device_reset(dev);
		port_connect(u, p);
		global_resume(u);
	}
	pthread_mutex_unlock(&u->lock);
	return ret;
}

void uhci_detach(struct uhci *u, unsigned p)
{
	struct uhci_port *port;

	if (p >= UHCI_NR_PORTS)
		return;
	pthread_mutex_lock(&u->lock);
	port = &u->port[p];
	if (port->dev) {
		port->dev->port_ops = NULL;
		port->dev = NULL;
		if (port->ctrl & UHCI_PORT_CCS)
			port->ctrl = (port->ctrl & (uint16_t)~UHCI_PORT_CCS) | UHCI_PORT_CSC;
		if (port->ctrl & UHCI_PORT_PE)
			port->ctrl = (port->ctrl & (uint16_t)~UHCI_PORT_PE) | UHCI_PORT_PEDC;
		global_resume(u);
	}
	pthread_mutex_unlock(&u->lock);
}

/* ---- life cycle ---- */

static void uhci_pci_reset(void *opaque, struct pci_dev *dev)
{
	struct uhci *u = opaque;

	pthread_mutex_lock(&u->lock);
	controller_reset(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct pci_dev_ops uhci_pci_ops = { .reset = uhci_pci_reset };

struct uhci *uhci_create(const struct dev_ctx *ctx, unsigned devfn, char *err, size_t errlen)
{
	static const struct pci_dev_info info = {
		.vendor = 0x8086,
		.device = 0x7020, /* 82371SB PIIX3 USB */
		.class_code = 0x0c0300,
		.revision = 0x01,
		.irq_pin = 4, /* INTD */
		.name = "piix3-usb-uhci",
	};
	struct uhci *u = calloc(1, sizeof(*u));
	uint8_t *cfg, *wmask;

	if (!u) {
		snprintf(err, errlen, "out of memory creating the UHCI controller");
		return NULL;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->mem = ctx->mem;
	u->timer = vm_timer_new(ctx->loop, frame_timer, u);
	if (!u->timer) {
		snprintf(err, errlen, "out of memory creating the UHCI frame timer");
		goto fail;
	}
	u->dev = pci_dev_add(ctx->pci, devfn, &info, &uhci_pci_ops, u);
	if (!u->dev) {
		snprintf(err, errlen, "PCI %02x.%x is taken (UHCI)", PCI_SLOT(devfn),
			 PCI_FUNC(devfn));
		goto fail;
	}
	/* BSD guests seem to rely on the 32-byte BAR4 (QEMU's comment). */
	if (pci_dev_set_bar(u->dev, UHCI_BAR, PCI_BAR_IO, false, UHCI_IO_SIZE, &bar_ops, u) < 0) {
		snprintf(err, errlen, "cannot lay out the UHCI BAR");
		goto fail;
	}
	cfg = pci_dev_config(u->dev);
	wmask = pci_dev_wmask(u->dev);
	cfg[CFG_SBRN] = 0x10;
	cfg[CFG_USBCLK] = 0x01;
	wmask[CFG_USBLEGSUP] = 0xff;
	wmask[CFG_USBLEGSUP + 1] = 0xff;
	if (ctx->fastpath) {
		u->intx = fastpath_intx_attach(ctx->fastpath, u->dev, err, errlen);
		if (!u->intx)
			goto fail;
	}
	controller_reset(u);
	return u;
fail:
	uhci_destroy(u);
	return NULL;
}

void uhci_destroy(struct uhci *u)
{
	if (!u)
		return;
	if (u->intx)
		fastpath_intx_detach(u->intx);
	if (u->timer)
		vm_timer_free(u->timer);
	for (unsigned p = 0; p < UHCI_NR_PORTS; p++)
		if (u->port[p].dev)
			u->port[p].dev->port_ops = NULL;
	usb_tablet_destroy(u->tablet);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

void uhci_quiesce(struct uhci *u)
{
	pthread_mutex_lock(&u->lock);
	u->stopped = true;
	vm_timer_del(u->timer);
	pthread_mutex_unlock(&u->lock);
}

void uhci_pause(struct uhci *u)
{
	uhci_quiesce(u);
}

/* Frames start again from now: a paused machine saw no time pass. */
void uhci_resume(struct uhci *u)
{
	pthread_mutex_lock(&u->lock);
	u->stopped = false;
	if (u->running)
		u->next_frame_ns = vm_clock_ns() + UHCI_FRAME_NS;
	arm(u);
	pthread_mutex_unlock(&u->lock);
}

void uhci_get_stats(struct uhci *u, struct uhci_stats *st, bool reset)
{
	pthread_mutex_lock(&u->lock);
	*st = u->st;
	if (reset)
		memset(&u->st, 0, sizeof(u->st));
	pthread_mutex_unlock(&u->lock);
}

struct pci_dev *uhci_pci_dev(struct uhci *u)
{
	return u->dev;
}

/* ---- the board's view ---- */

static void *uhci_dev_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			     size_t errlen)
{
	const struct uhci_args *args = e->arg;
	struct uhci *u;

	if (e->devfn < 0) {
		snprintf(err, errlen, "%s: the UHCI needs a fixed PCI address", e->id);
		return NULL;
	}
	u = uhci_create(ctx, (unsigned)e->devfn, err, errlen);
	if (!u || !args || !args->tablet)
		return u;
	u->tablet = usb_tablet_create(ctx->input);
	if (!u->tablet || uhci_attach(u, 0, usb_tablet_device(u->tablet)) < 0) {
		snprintf(err, errlen, "%s: cannot attach the USB tablet", e->id);
		uhci_destroy(u);
		return NULL;
	}
	return u;
}

static void uhci_dev_quiesce(void *state)
{
	uhci_quiesce(state);
}

static void uhci_dev_pause(void *state)
{
	uhci_pause(state);
}

static void uhci_dev_resume(void *state)
{
	uhci_resume(state);
}

static void uhci_dev_destroy(void *state)
{
	uhci_destroy(state);
}

static json_t *uhci_dev_stats(void *state, bool reset)
{
	struct uhci *u = state;
	struct uhci_stats s;
	json_t *o;

	uhci_get_stats(u, &s, reset);
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "frames", (json_int_t)s.frames,
		      "frames_skipped", (json_int_t)s.frames_skipped, "ticks",
		      (json_int_t)s.ticks, "batched_ticks", (json_int_t)s.batched_ticks, "tds",
		      (json_int_t)s.tds, "completed", (json_int_t)s.completed, "naks",
		      (json_int_t)s.naks, "short_packets", (json_int_t)s.short_packets,
		      "interrupts", (json_int_t)s.interrupts);
	if (!o)
		return NULL;
	json_object_set_new(
	    o, "errors",
	    json_pack("{s:I,s:I,s:I,s:I,s:I}", "stall", (json_int_t)s.err_stall, "timeout",
		      (json_int_t)s.err_timeout, "babble", (json_int_t)s.err_babble, "bad_pid",
		      (json_int_t)s.err_pid, "host", (json_int_t)s.err_host));
	json_object_set_new(o, "frame_limits",
			    json_pack("{s:I,s:I,s:I}", "links", (json_int_t)s.link_limit,
				      "qh_loops", (json_int_t)s.qh_loops, "bandwidth",
				      (json_int_t)s.bandwidth));
	if (u->tablet) {
		struct usb_tablet_stats t;

		usb_tablet_get_stats(u->tablet, &t, reset);
		json_object_set_new(
		    o, "tablet",
		    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "events", (json_int_t)t.events,
			      "merged", (json_int_t)t.merged, "overwritten",
			      (json_int_t)t.overwritten, "reports", (json_int_t)t.reports,
			      "idle_reports", (json_int_t)t.idle_reports, "naks",
			      (json_int_t)t.naks, "control_requests",
			      (json_int_t)t.control_requests, "stalls", (json_int_t)t.stalls));
	}
	return o;
}

/* Reset comes from the PCI bus reset, through the function's hook. */
const struct device_type uhci_type = {
	.name = "piix3-usb-uhci",
	.create = uhci_dev_create,
	.quiesce = uhci_dev_quiesce,
	.pause = uhci_dev_pause,
	.resume = uhci_dev_resume,
	.destroy = uhci_dev_destroy,
	.stats = uhci_dev_stats,
};
