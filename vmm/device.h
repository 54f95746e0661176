/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a device type offers the board, and what the board hands a device.
 *
 * Every device type exports one constant `struct device_type` (the model is
 * bhyve's `struct pci_devemu`): how to create an instance from a board
 * entry, and its part in the machine's life cycle.  The board (vmm/board.c)
 * creates instances in the order of its table, in one visible place.
 *
 * A device gets what it may use through `struct dev_ctx`: the buses, PCI
 * bus 0, the ISA interrupt lines, checked guest memory, the event loop (and
 * so timers), the machine-wide requests (reset, exit), the KVM fast paths
 * (vmm/fastpath.h, each with its slow path) and a rate-limited log.
 * It never sees `struct vm`, KVM or another device.  The few links between
 * devices that the hardware has (0xcf9 sharing the PCI address port's dword)
 * are made by the board, after creation, where a reader sees them.
 *
 * Life cycle, all called on the I/O thread with every vCPU parked:
 *   quiesce  stop touching guest memory and wait for (or cancel) in-flight
 *            I/O: when it returns, no old request writes guest RAM;
 *   reset    power-on state (after every device is quiesced);
 *   resume   start again after a reset or a pause;
 *   pause    the VM is stopped (QMP `stop`): no DMA, no timers, no
 *            interrupts until resume.
 * A reset of the machine is quiesce all, reset all, resume all.
 */
#ifndef MINIVMM_DEVICE_H
#define MINIVMM_DEVICE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus;
struct bus_ops;
struct pci_bus;
struct guest_mem;
struct event_loop;
struct irq_mux;
struct irq_line;
struct machine_events;
struct vm_config;
struct memmap;
struct json_t;
struct fastpath;
struct display;
struct input;

/* The resources of the machine a device may use. */
struct dev_ctx {
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	const struct guest_mem *mem;
	struct event_loop *loop;
	struct irq_mux *isa_irqs; /* wired-OR ISA lines 0-15 */
	const struct machine_events *events;
	const struct vm_config *cfg;
	const struct memmap *map;
	struct fastpath *fastpath; /* ioeventfd, irqfd, coalesced MMIO, slots: vmm/fastpath.h */
	struct display *display;   /* the screen a display device draws (vmm/display.h), or NULL */
	struct input *input;	   /* where input devices register (vmm/input.h), or NULL */
};

/* One row of the board table: which device, its name, and where it sits.
 * Fields a device does not use stay 0.  arg is the device's own typed
 * configuration (a drive list, a serial backend), or NULL. */
struct board_entry {
	const struct device_type *type;
	const char *id;	 /* unique on the board; how commands address it */
	uint16_t port;	 /* first I/O port, for ISA devices */
	int irq;	 /* ISA IRQ, or -1 */
	int devfn;	 /* PCI slot and function, or -1 */
	const void *arg;
};

struct device_type {
	const char *name;
	/* Creates the instance and places it on the buses.  Returns its state
	 * (handed to every other hook) or NULL with a one-line reason in err. */
	void *(*create)(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			size_t errlen);
	void (*quiesce)(void *state);
	void (*reset)(void *state);
	void (*resume)(void *state);
	void (*pause)(void *state);
	void (*destroy)(void *state);
	/* A command addressed to this device by id (the control socket):
	 * 0 with *reply set (may stay NULL), or -1 with a reason in err. */
	int (*control)(void *state, const char *command, struct json_t *args,
		       struct json_t **reply, char *err, size_t errlen);
	/* Optional, for research (--stats, query-exit-stats): the device's own
	 * counters as a new JSON object (NULL: none); with reset they restart
	 * from 0.  Any thread; the device takes its own locks. */
	struct json_t *(*stats)(void *state, bool reset);
};

/* Claims [base, base + len) on a bus for a device, with a reason naming the
 * device in err on failure (an overlap, an empty range). */
int dev_claim(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
	      void *opaque, const char *name, char *err, size_t errlen);

/* A source of its own on ISA line irq (0-15), wired-OR with the others. */
int dev_isa_irq(const struct dev_ctx *ctx, unsigned irq, struct irq_line *line, char *err,
		size_t errlen);

/*
 * A log line a guest can trigger: a burst of DEV_LOG_BURST lines per call
 * site, then one a second, with a count of what was dropped in between, so
 * that a guest cannot flood the host's logs.
 */
struct dev_log_limit {
	uint64_t last_refill_ns;
	unsigned tokens;
	unsigned long dropped;
};
#define DEV_LOG_BURST 10

__attribute__((format(printf, 3, 4))) void dev_log_limited(struct dev_log_limit *lim,
							    const char *dev, const char *fmt, ...);
#define dev_log(dev, ...)                                                                    \
	do {                                                                                  \
		static struct dev_log_limit lim__;                                            \
		dev_log_limited(&lim__, dev, __VA_ARGS__);                                    \
	} while (0)

#endif
