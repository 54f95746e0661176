// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The USB device core: endpoint 0's control pipe and token dispatch (see
 * usb.h).  The sequence follows USB 1.1 §8.5.3 and §9.4.6 (SET_ADDRESS
 * takes effect once its status stage completes); the choice of answering a
 * refused device-to-host request with a STALL of the SETUP packet itself
 * is QEMU's (hw/usb/core.c do_token_setup), which UHCI drivers accept.
 */
#include "devices/usb.h"

#include <string.h>

#include "vmm/le.h"

void usb_device_init(struct usb_device *dev, const struct usb_device_ops *ops, void *opaque,
		     bool low_speed)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->opaque = opaque;
	dev->low_speed = low_speed;
}

void usb_device_reset(struct usb_device *dev)
{
	dev->addr = 0;
	dev->addr_pending = false;
	dev->stage = USB_CTRL_IDLE;
	dev->ctrl_len = dev->ctrl_pos = 0;
	if (dev->ops->reset)
		dev->ops->reset(dev->opaque);
}

void usb_device_notify(struct usb_device *dev, bool wakeup)
{
	if (dev->port_ops && dev->port_ops->notify)
		dev->port_ops->notify(dev->port_opaque, dev->port, wakeup);
}

static bool is_set_address(const struct usb_setup *s)
{
	return s->request_type == (USB_TYPE_STANDARD | USB_RECIP_DEVICE) &&
	       s->request == USB_REQ_SET_ADDRESS;
}

static enum usb_result stall(struct usb_device *dev)
{
	dev->stage = USB_CTRL_IDLE;
	dev->bad_tokens++;
	return USB_STALL;
}

static enum usb_result do_setup(struct usb_device *dev, const uint8_t *buf, size_t len)
{
	struct usb_setup *s = &dev->setup;
	enum usb_result r;
	size_t actual = 0;

	/* A new SETUP ends whatever transfer was under way. */
	dev->stage = USB_CTRL_IDLE;
	dev->addr_pending = false;
	if (len != 8)
		return stall(dev);
	s->request_type = buf[0];
	s->request = buf[1];
	s->value = le16_get(buf + 2);
	s->index = le16_get(buf + 4);
	s->length = le16_get(buf + 6);
	dev->ctrl_pos = 0;
	dev->ctrl_len = s->length < USB_CTRL_BUF ? s->length : USB_CTRL_BUF;
	if (s->request_type & USB_DIR_IN) {
		r = dev->ops->handle_control(dev->opaque, s, dev->ctrl_buf, dev->ctrl_len, &actual);
		if (r != USB_ACK)
			return stall(dev);
		dev->ctrl_len = actual < dev->ctrl_len ? actual : dev->ctrl_len;
		dev->stage = USB_CTRL_DATA_IN;
		return USB_ACK;
	}
	if (is_set_address(s)) {
		if (s->value > 127 || s->length || s->index)
			return stall(dev);
		dev->pending_addr = (uint8_t)s->value;
		dev->addr_pending = true;
	}
	dev->stage = dev->ctrl_len ? USB_CTRL_DATA_OUT : USB_CTRL_STATUS;
	return USB_ACK;
}

/* The status stage of a host-to-device request: it is carried out now. */
static enum usb_result finish_out(struct usb_device *dev)
{
	size_t actual = 0;

	dev->stage = USB_CTRL_IDLE;
	if (dev->addr_pending) {
		dev->addr = dev->pending_addr;
		dev->addr_pending = false;
		return USB_ACK;
	}
	if (dev->ops->handle_control(dev->opaque, &dev->setup, dev->ctrl_buf, dev->ctrl_pos,
				     &actual) != USB_ACK)
		return stall(dev);
	return USB_ACK;
}

static enum usb_result control_token(struct usb_device *dev, unsigned pid, uint8_t *buf,
				     size_t len, size_t *actual)
{
	size_t n;

	if (pid == USB_PID_SETUP) {
		enum usb_result r = do_setup(dev, buf, len);

		if (r == USB_ACK)
			*actual = 8;
		return r;
	}
	switch (dev->stage) {
	case USB_CTRL_DATA_IN:
		if (pid == USB_PID_OUT) { /* status stage */
			dev->stage = USB_CTRL_IDLE;
			return USB_ACK;
		}
		n = dev->ctrl_len - dev->ctrl_pos;
		if (n > len)
			n = len;
		memcpy(buf, dev->ctrl_buf + dev->ctrl_pos, n);
		dev->ctrl_pos += n;
		*actual = n;
		return USB_ACK;
	case USB_CTRL_DATA_OUT:
		if (pid == USB_PID_IN) /* status stage, perhaps after a short data stage */
			return finish_out(dev);
		n = dev->ctrl_len - dev->ctrl_pos;
		if (len > n)
			return stall(dev); /* more than wLength announced */
		memcpy(dev->ctrl_buf + dev->ctrl_pos, buf, len);
		dev->ctrl_pos += len;
		*actual = len;
		return USB_ACK;
	case USB_CTRL_STATUS:
		/* The status packet is zero-length; a bigger buffer gets 0 bytes. */
		if (pid == USB_PID_IN)
			return finish_out(dev);
		return stall(dev);
	case USB_CTRL_IDLE:
	default:
		return stall(dev);
	}
}

enum usb_result usb_device_token(struct usb_device *dev, unsigned pid, unsigned ep, uint8_t *buf,
				 size_t len, size_t *actual)
{
	*actual = 0;
	if (ep == 0)
		return control_token(dev, pid, buf, len, actual);
	if (ep > 15 || pid == USB_PID_SETUP) {
		dev->bad_tokens++;
		return USB_STALL;
	}
	return dev->ops->handle_data(dev->opaque, pid, ep, buf, len, actual);
}
