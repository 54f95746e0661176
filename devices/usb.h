/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A USB device as a host controller sees it: an address, endpoint 0's
 * control pipe and the data endpoints, reached by tokens.
 *
 * The controller (devices/uhci.c) hands every token addressed to the
 * device to usb_device_token(); the core here runs the control pipe's
 * three stages the way USB 1.1 §8.5.3 has them (SETUP, then IN or OUT data
 * packets up to wLength, then the status packet in the other direction),
 * applies SET_ADDRESS after its status stage and calls the device type's
 * handle_control() once per request: at SETUP for a device-to-host request
 * (the answer is buffered and read out by the data stage), at the status
 * stage for a host-to-device one (with the data the OUT packets brought).
 * Tokens for other endpoints go to handle_data().  The device type (the
 * tablet, devices/usb_tablet.c) answers with a typed result.
 *
 * A device tells its port that it has something new (notify): the
 * controller then polls sooner, and, when the device may wake the bus and
 * its port is suspended, signals resume.
 *
 * Threads and locks: the controller calls in with its own lock held; a
 * device takes its own lock inside.  A device calls usb_device_notify()
 * with no lock of its own held (the controller's lock comes first).
 */
#ifndef MINIVMM_USB_H
#define MINIVMM_USB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Token PIDs as a UHCI TD carries them. */
#define USB_PID_SETUP 0x2d
#define USB_PID_IN    0x69
#define USB_PID_OUT   0xe1

/* bmRequestType */
#define USB_DIR_IN	      0x80
#define USB_TYPE_MASK	      0x60
#define USB_TYPE_STANDARD     0x00
#define USB_TYPE_CLASS	      0x20
#define USB_TYPE_VENDOR	      0x40
#define USB_RECIP_MASK	      0x1f
#define USB_RECIP_DEVICE      0x00
#define USB_RECIP_INTERFACE   0x01
#define USB_RECIP_ENDPOINT    0x02

/* Standard requests (USB 1.1 §9.4) */
#define USB_REQ_GET_STATUS	  0x00
#define USB_REQ_CLEAR_FEATURE	  0x01
#define USB_REQ_SET_FEATURE	  0x03
#define USB_REQ_SET_ADDRESS	  0x05
#define USB_REQ_GET_DESCRIPTOR	  0x06
#define USB_REQ_SET_DESCRIPTOR	  0x07
#define USB_REQ_GET_CONFIGURATION 0x08
#define USB_REQ_SET_CONFIGURATION 0x09
#define USB_REQ_GET_INTERFACE	  0x0a
#define USB_REQ_SET_INTERFACE	  0x0b

#define USB_DT_DEVICE	     1
#define USB_DT_CONFIGURATION 2
#define USB_DT_STRING	     3
#define USB_DT_INTERFACE     4
#define USB_DT_ENDPOINT	     5

#define USB_FEATURE_ENDPOINT_HALT  0
#define USB_FEATURE_REMOTE_WAKEUP  1

/* The largest answer (or OUT data stage) a control request may have here:
 * wLength beyond it is cut to it (no descriptor of ours is longer). */
#define USB_CTRL_BUF 1024

/* What a token got from the device. */
enum usb_result {
	USB_ACK,   /* data moved (its length in *actual) */
	USB_NAK,   /* nothing now, try again */
	USB_STALL, /* the request or endpoint is refused */
	USB_BABBLE, /* the device sent more than the packet holds */
};

struct usb_setup {
	uint8_t request_type;
	uint8_t request;
	uint16_t value, index, length;
};

struct usb_device_ops {
	/* A bus reset (port reset, controller global reset): default state. */
	void (*reset)(void *opaque);
	/*
	 * One control request (not SET_ADDRESS, which the core keeps).  For a
	 * device-to-host request, fill at most len bytes of data and set
	 * *actual; for host-to-device, data holds the len bytes the host sent.
	 * USB_ACK or USB_STALL.
	 */
	enum usb_result (*handle_control)(void *opaque, const struct usb_setup *setup,
					  uint8_t *data, size_t len, size_t *actual);
	/* A token for endpoint ep (1..15): IN fills at most len bytes of buf,
	 * OUT brings len bytes.  ACK (with *actual), NAK or STALL. */
	enum usb_result (*handle_data)(void *opaque, unsigned pid, unsigned ep, uint8_t *buf,
				       size_t len, size_t *actual);
};

/* The controller's side of a port. */
struct usb_port_ops {
	/* The device has new data; wakeup: it may also wake a suspended bus
	 * (it was allowed to, SET_FEATURE DEVICE_REMOTE_WAKEUP). */
	void (*notify)(void *opaque, unsigned port, bool wakeup);
};

enum usb_ctrl_stage { USB_CTRL_IDLE, USB_CTRL_DATA_IN, USB_CTRL_DATA_OUT, USB_CTRL_STATUS };

struct usb_device {
	const struct usb_device_ops *ops;
	void *opaque;
	bool low_speed;
	/* Set by the controller on attach; guarded by the controller. */
	const struct usb_port_ops *port_ops;
	void *port_opaque;
	unsigned port;
	/* The control pipe, guarded by the controller's lock. */
	uint8_t addr;
	uint8_t pending_addr; /* SET_ADDRESS, applied after its status stage */
	bool addr_pending;
	enum usb_ctrl_stage stage;
	struct usb_setup setup;
	size_t ctrl_len, ctrl_pos;
	uint8_t ctrl_buf[USB_CTRL_BUF];
	uint64_t bad_tokens; /* tokens out of sequence or malformed */
};

/* Fills the core's part; ops and opaque are the device type's. */
void usb_device_init(struct usb_device *dev, const struct usb_device_ops *ops, void *opaque,
		     bool low_speed);
/* Bus reset: address 0, control pipe idle, then the device's reset. */
void usb_device_reset(struct usb_device *dev);
/*
 * One token addressed to the device.  buf holds len bytes: the data of a
 * SETUP (8 bytes are needed) or OUT packet, or room for an IN packet of at
 * most len bytes.  *actual is what moved.  A SETUP with len != 8, or a
 * data token out of the control sequence, STALLs.
 */
enum usb_result usb_device_token(struct usb_device *dev, unsigned pid, unsigned ep, uint8_t *buf,
				 size_t len, size_t *actual);
/* From the device, with no lock of the device held: see usb_port_ops. */
void usb_device_notify(struct usb_device *dev, bool wakeup);

#endif
