/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The USB HID tablet as QEMU presents it on a full-speed (UHCI) port:
 * 0627:0001 "QEMU USB Tablet", one configuration, one HID interface
 * (subclass 0, no boot protocol) with one interrupt IN endpoint 0x81 of 8
 * bytes every 10 ms, and a 74-byte report descriptor for a 6-byte report
 * (buttons; X and Y absolute 0..0x7fff; wheel relative).  Facts from
 * shared/guest-drivers.md §4.4 (QEMU hw/usb/dev-hid.c, hw/input/hid.c).
 *
 * It is the absolute pointer sink of vmm/input.h: events queue (16 deep;
 * motion with the same buttons merges into the newest entry) until the
 * guest's interrupt IN token takes them, one report per token; with
 * nothing new the token is NAKed, unless the idle rate (SET_IDLE) asks
 * for a repeat.  active() is true once the guest configured the device
 * and polled it (an interrupt IN or SET_IDLE), so that the router sends
 * the pointer to the PS/2 mouse until a driver (not SeaBIOS, which leaves
 * non-boot HID devices alone) takes the tablet.
 *
 * Threads: the controller calls the USB side with its lock held; the
 * input side comes from the I/O thread.  One mutex inside guards the
 * state; the port is notified after it is dropped.
 */
#ifndef MINIVMM_USB_TABLET_H
#define MINIVMM_USB_TABLET_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/usb.h"

#define USB_TABLET_QUEUE     16
#define USB_TABLET_REPORT    6
#define USB_TABLET_REPORT_DESC_LEN 74

struct input;
struct usb_tablet;

/* in may be NULL (no input router): events then come only through
 * usb_tablet_event().  NULL when out of memory. */
struct usb_tablet *usb_tablet_create(struct input *in);
void usb_tablet_destroy(struct usb_tablet *t);
/* The device to attach to a controller's port. */
struct usb_device *usb_tablet_device(struct usb_tablet *t);

/* The input sink's two calls, also for tests: x, y 0..INPUT_ABS_MAX
 * (larger values are clamped), dz clicks towards the user. */
bool usb_tablet_event(struct usb_tablet *t, unsigned x, unsigned y, int dz, unsigned buttons);
bool usb_tablet_active(struct usb_tablet *t);

struct usb_tablet_stats {
	uint64_t events;	  /* from the input side */
	uint64_t merged;	  /* motion folded into a queued entry */
	uint64_t overwritten;	  /* the queue was full: the newest entry took the event */
	uint64_t reports;	  /* interrupt IN reports sent */
	uint64_t idle_reports;	  /* of those, repeats for the idle rate */
	uint64_t naks;		  /* interrupt IN with nothing new */
	uint64_t control_requests; /* handled by the device (not SET_ADDRESS) */
	uint64_t stalls;	  /* requests or tokens refused */
};
void usb_tablet_get_stats(struct usb_tablet *t, struct usb_tablet_stats *st, bool reset);

#endif
