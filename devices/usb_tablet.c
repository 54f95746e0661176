// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The USB HID tablet (see usb_tablet.h): its descriptors, its standard and
 * class requests, its event queue and its interrupt endpoint.
 *
 * The descriptor bytes are QEMU's full-speed tablet (hw/usb/dev-hid.c
 * desc_tablet, desc_device_tablet, desc_iface_tablet, desc_strings and
 * qemu_tablet_hid_report_descriptor), written out here as USB 1.1 §9.6 and
 * HID 1.11 §6.2 lay them out.  What QEMU does beyond that and we do not:
 * the Microsoft OS string descriptor (0xEE) is refused (Windows takes the
 * STALL as "none" and keeps its defaults).
 */
#include "devices/usb_tablet.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/input.h"
#include "vmm/le.h"
#include "vmm/timer.h"

/* HID class requests (HID 1.11 §7.2) and descriptor types (§7.1) */
#define HID_GET_REPORT	 0x01
#define HID_GET_IDLE	 0x02
#define HID_GET_PROTOCOL 0x03
#define HID_SET_REPORT	 0x09
#define HID_SET_IDLE	 0x0a
#define HID_SET_PROTOCOL 0x0b
#define HID_DT_HID	 0x21
#define HID_DT_REPORT	 0x22

#define IDLE_UNIT_NS 4000000ull /* SET_IDLE counts 4 ms */
#define DZ_LIMIT     (1 << 20)	/* what a queued entry may hold */

static const uint8_t device_desc[] = {
	18, USB_DT_DEVICE,
	0x00, 0x01,	    /* bcdUSB 1.00 */
	0, 0, 0,	    /* class, subclass, protocol: per interface */
	8,		    /* bMaxPacketSize0 */
	0x27, 0x06,	    /* idVendor 0x0627 */
	0x01, 0x00,	    /* idProduct 0x0001 */
	0x00, 0x00,	    /* bcdDevice */
	1, 3, 5,	    /* iManufacturer, iProduct, iSerialNumber */
	1,		    /* bNumConfigurations */
};

#define CONFIG_TOTAL (9 + 9 + 9 + 7)
static const uint8_t config_desc[] = {
	/* configuration */
	9, USB_DT_CONFIGURATION, CONFIG_TOTAL, 0,
	1,		/* bNumInterfaces */
	1,		/* bConfigurationValue */
	7,		/* iConfiguration "HID Tablet" */
	0x80 | 0x20,	/* bus powered, remote wakeup */
	50,		/* 100 mA */
	/* interface 0 */
	9, USB_DT_INTERFACE, 0, 0,
	1,		/* bNumEndpoints */
	3, 0, 2,	/* HID, no boot subclass, protocol 2 */
	0,		/* iInterface */
	/* HID descriptor */
	9, HID_DT_HID, 0x01, 0x00, /* bcdHID as QEMU has it */
	0,		/* country */
	1, HID_DT_REPORT, USB_TABLET_REPORT_DESC_LEN, 0,
	/* endpoint 0x81: interrupt IN, 8 bytes, 10 ms */
	7, USB_DT_ENDPOINT, 0x81, 0x03, 8, 0, 10,
};

static const uint8_t report_desc[] = {
	0x05, 0x01,	  /* Usage Page (Generic Desktop) */
	0x09, 0x01,	  /* Usage (Pointer) */
	0xa1, 0x01,	  /* Collection (Application) */
	0x09, 0x01,	  /*  Usage (Pointer) */
	0xa1, 0x00,	  /*  Collection (Physical) */
	0x05, 0x09,	  /*   Usage Page (Button) */
	0x19, 0x01,	  /*   Usage Minimum (1) */
	0x29, 0x03,	  /*   Usage Maximum (3) */
	0x15, 0x00,	  /*   Logical Minimum (0) */
	0x25, 0x01,	  /*   Logical Maximum (1) */
	0x95, 0x03,	  /*   Report Count (3) */
	0x75, 0x01,	  /*   Report Size (1) */
	0x81, 0x02,	  /*   Input (Data, Var, Abs): the buttons */
	0x95, 0x01,	  /*   Report Count (1) */
	0x75, 0x05,	  /*   Report Size (5) */
	0x81, 0x01,	  /*   Input (Const): padding */
	0x05, 0x01,	  /*   Usage Page (Generic Desktop) */
	0x09, 0x30,	  /*   Usage (X) */
	0x09, 0x31,	  /*   Usage (Y) */
	0x15, 0x00,	  /*   Logical Minimum (0) */
	0x26, 0xff, 0x7f, /*   Logical Maximum (0x7fff) */
	0x35, 0x00,	  /*   Physical Minimum (0) */
	0x46, 0xff, 0x7f, /*   Physical Maximum (0x7fff) */
	0x75, 0x10,	  /*   Report Size (16) */
	0x95, 0x02,	  /*   Report Count (2) */
	0x81, 0x02,	  /*   Input (Data, Var, Abs): X, Y */
	0x05, 0x01,	  /*   Usage Page (Generic Desktop) */
	0x09, 0x38,	  /*   Usage (Wheel) */
	0x15, 0x81,	  /*   Logical Minimum (-127) */
	0x25, 0x7f,	  /*   Logical Maximum (127) */
	0x35, 0x00,	  /*   Physical Minimum (0: same as logical) */
	0x45, 0x00,	  /*   Physical Maximum (0: same as logical) */
	0x75, 0x08,	  /*   Report Size (8) */
	0x95, 0x01,	  /*   Report Count (1) */
	0x81, 0x06,	  /*   Input (Data, Var, Rel): the wheel */
	0xc0,		  /*  End Collection */
	0xc0,		  /* End Collection */
};

_Static_assert(sizeof(device_desc) == 18, "device descriptor");
_Static_assert(sizeof(config_desc) == CONFIG_TOTAL, "configuration descriptor set");
_Static_assert(sizeof(report_desc) == USB_TABLET_REPORT_DESC_LEN, "QEMU's 74-byte report");

/* QEMU's string table for its HID devices, which the tablet shares. */
static const char *const strings[] = {
	[1] = "QEMU",	     [2] = "QEMU USB Mouse", [3] = "QEMU USB Tablet",
	[4] = "QEMU USB Keyboard", [5] = "42", /* == remote wakeup works */
	[6] = "HID Mouse",   [7] = "HID Tablet",     [8] = "HID Keyboard",
};
#define NR_STRINGS (sizeof(strings) / sizeof(strings[0]))

struct tablet_event {
	uint16_t x, y;
	int32_t dz;
	uint8_t buttons;
};

struct usb_tablet {
	struct usb_device dev;
	struct input *in;
	pthread_mutex_t lock; /* guards everything below */
	uint8_t config;	      /* 0 or 1 */
	bool remote_wakeup;
	bool activated; /* the driver polled the configured device */
	bool ep_halt;
	uint8_t idle;	/* 4 ms units, 0 = only on change */
	uint64_t next_idle_ns;
	struct tablet_event q[USB_TABLET_QUEUE];
	unsigned head, n;
	struct tablet_event now; /* the pointer as the newest event has it */
	struct usb_tablet_stats st;
};

/* ---- events ---- */

static unsigned clamp_abs(unsigned v)
{
	return v > INPUT_ABS_MAX ? INPUT_ABS_MAX : v;
}

static int32_t add_dz(int32_t a, int b)
{
	int64_t s = (int64_t)a + b;

	return (int32_t)(s > DZ_LIMIT ? DZ_LIMIT : s < -DZ_LIMIT ? -DZ_LIMIT : s);
}

bool usb_tablet_event(struct usb_tablet *t, unsigned x, unsigned y, int dz, unsigned buttons)
{
	struct tablet_event e = { .x = (uint16_t)clamp_abs(x), .y = (uint16_t)clamp_abs(y),
				  .buttons = (uint8_t)(buttons & 7) };
	bool wakeup;

	pthread_mutex_lock(&t->lock);
	t->st.events++;
	if (t->n > 0 && t->q[(t->head + t->n - 1) % USB_TABLET_QUEUE].buttons == e.buttons) {
		struct tablet_event *last = &t->q[(t->head + t->n - 1) % USB_TABLET_QUEUE];

		last->x = e.x;
		last->y = e.y;
		last->dz = add_dz(last->dz, dz);
		t->st.merged++;
	} else if (t->n < USB_TABLET_QUEUE) {
		e.dz = add_dz(0, dz);
		t->q[(t->head + t->n) % USB_TABLET_QUEUE] = e;
		t->n++;
	} else {
		/* Full: the newest entry becomes this event, so that the
		 * guest ends up with the pointer's real state. */
		struct tablet_event *last = &t->q[(t->head + t->n - 1) % USB_TABLET_QUEUE];

		e.dz = add_dz(last->dz, dz);
		*last = e;
		t->st.overwritten++;
	}
	t->now = e;
	t->now.dz = 0;
	wakeup = t->remote_wakeup;
	pthread_mutex_unlock(&t->lock);
	usb_device_notify(&t->dev, wakeup);
	return true;
}

bool usb_tablet_active(struct usb_tablet *t)
{
	bool a;

	pthread_mutex_lock(&t->lock);
	a = t->config && t->activated;
	pthread_mutex_unlock(&t->lock);
	return a;
}

static bool sink_abs(void *opaque, unsigned x, unsigned y, int dz, unsigned buttons)
{
	return usb_tablet_event(opaque, x, y, dz, buttons);
}

static bool sink_active(void *opaque)
{
	return usb_tablet_active(opaque);
}

static const struct input_abs_ops sink_ops = { .abs = sink_abs, .active = sink_active };

/* Locked: the next report (the oldest queued event, or the pointer as it
 * is); an entry leaves the queue once its wheel motion is all sent. */
static size_t take_report(struct usb_tablet *t, uint8_t *buf, size_t len)
{
	uint8_t r[USB_TABLET_REPORT];
	struct tablet_event *e = t->n ? &t->q[t->head] : &t->now;
	int dz = e->dz > 127 ? 127 : e->dz < -127 ? -127 : (int)e->dz;

	e->dz -= dz;
	r[0] = e->buttons;
	le16_put(r + 1, e->x);
	le16_put(r + 3, e->y);
	r[5] = (uint8_t)(int8_t)-dz; /* HID's wheel counts away from the user */
	if (t->n && e->dz == 0) {
		t->head = (t->head + 1) % USB_TABLET_QUEUE;
		t->n--;
	}
	if (len > sizeof(r))
		len = sizeof(r);
	memcpy(buf, r, len);
	return len;
}

/* ---- USB side ---- */

static void tablet_reset(void *opaque)
{
	struct usb_tablet *t = opaque;

	pthread_mutex_lock(&t->lock);
	t->config = 0;
	t->remote_wakeup = false;
	t->activated = false;
	t->ep_halt = false;
	t->idle = 0;
	t->next_idle_ns = 0;
	t->head = t->n = 0;
	pthread_mutex_unlock(&t->lock);
}

static size_t put(uint8_t *data, size_t len, const void *src, size_t n)
{
	if (n > len)
		n = len;
	memcpy(data, src, n);
	return n;
}

/* A string descriptor: index 0 lists US English, the others are UTF-16LE
 * of ASCII text. */
static bool string_desc(unsigned idx, uint8_t *data, size_t len, size_t *actual)
{
	uint8_t d[2 + 2 * 32];
	size_t n;

	if (idx == 0) {
		static const uint8_t langs[4] = { 4, USB_DT_STRING, 0x09, 0x04 };

		*actual = put(data, len, langs, sizeof(langs));
		return true;
	}
	if (idx >= NR_STRINGS || !strings[idx])
		return false;
	n = strlen(strings[idx]);
	d[0] = (uint8_t)(2 + 2 * n);
	d[1] = USB_DT_STRING;
	for (size_t i = 0; i < n; i++) {
		d[2 + 2 * i] = (uint8_t)strings[idx][i];
		d[3 + 2 * i] = 0;
	}
	*actual = put(data, len, d, d[0]);
	return true;
}

/* Locked.  Standard requests; false: STALL. */
static bool standard_request(struct usb_tablet *t, const struct usb_setup *s, uint8_t *data,
			     size_t len, size_t *actual)
{
	unsigned recip = s->request_type & USB_RECIP_MASK;
	bool in = s->request_type & USB_DIR_IN;
	uint8_t two[2] = { 0, 0 };

	switch (s->request) {
	case USB_REQ_GET_STATUS:
		if (!in)
			return false;
		if (recip == USB_RECIP_DEVICE)
			two[0] = t->remote_wakeup ? 2 : 0; /* bus powered */
		else if (recip == USB_RECIP_ENDPOINT && (s->index & 0x8f) == 0x81)
			two[0] = t->ep_halt ? 1 : 0;
		else if (!(recip == USB_RECIP_INTERFACE && s->index == 0) &&
			 !(recip == USB_RECIP_ENDPOINT && (s->index & 0x8f) == 0))
			return false;
		*actual = put(data, len, two, 2);
		return true;
	case USB_REQ_SET_FEATURE:
	case USB_REQ_CLEAR_FEATURE:
		if (in)
			return false;
		if (recip == USB_RECIP_DEVICE && s->value == USB_FEATURE_REMOTE_WAKEUP) {
			t->remote_wakeup = s->request == USB_REQ_SET_FEATURE;
			return true;
		}
		if (recip == USB_RECIP_ENDPOINT && s->value == USB_FEATURE_ENDPOINT_HALT) {
			if ((s->index & 0x8f) == 0x81) {
				t->ep_halt = s->request == USB_REQ_SET_FEATURE;
				return true;
			}
			return (s->index & 0x8f) == 0; /* the control pipe never halts */
		}
		return false;
	case USB_REQ_GET_DESCRIPTOR:
		if (!in || recip != USB_RECIP_DEVICE)
			return false;
		switch (s->value >> 8) {
		case USB_DT_DEVICE:
			*actual = put(data, len, device_desc, sizeof(device_desc));
			return true;
		case USB_DT_CONFIGURATION:
			if ((s->value & 0xff) != 0)
				return false;
			*actual = put(data, len, config_desc, sizeof(config_desc));
			return true;
		case USB_DT_STRING:
			return string_desc(s->value & 0xff, data, len, actual);
		}
		return false;
	case USB_REQ_GET_CONFIGURATION:
		if (!in || recip != USB_RECIP_DEVICE)
			return false;
		*actual = put(data, len, &t->config, 1);
		return true;
	case USB_REQ_SET_CONFIGURATION:
		if (in || recip != USB_RECIP_DEVICE || s->value > 1)
			return false;
		t->config = (uint8_t)s->value;
		t->ep_halt = false;
		if (!t->config)
			t->activated = false;
		return true;
	case USB_REQ_GET_INTERFACE:
		if (!in || recip != USB_RECIP_INTERFACE || s->index != 0 || !t->config)
			return false;
		*actual = put(data, len, two, 1);
		return true;
	case USB_REQ_SET_INTERFACE:
		return !in && recip == USB_RECIP_INTERFACE && s->index == 0 && s->value == 0 &&
		       t->config;
	}
	return false;
}

/* Locked.  The HID interface's requests; false: STALL. */
static bool interface_request(struct usb_tablet *t, const struct usb_setup *s, uint8_t *data,
			      size_t len, size_t *actual)
{
	unsigned type = s->request_type & USB_TYPE_MASK;
	bool in = s->request_type & USB_DIR_IN;

	if ((s->index & 0xff) != 0)
		return false;
	if (type == USB_TYPE_STANDARD && in && s->request == USB_REQ_GET_DESCRIPTOR) {
		if (s->value >> 8 == HID_DT_REPORT) {
			*actual = put(data, len, report_desc, sizeof(report_desc));
			return true;
		}
		if (s->value >> 8 == HID_DT_HID) {
			*actual = put(data, len, config_desc + 18, 9);
			return true;
		}
		return false;
	}
	if (type != USB_TYPE_CLASS)
		return standard_request(t, s, data, len, actual);
	switch (s->request) {
	case HID_GET_REPORT:
		if (!in)
			return false;
		*actual = take_report(t, data, len);
		return true;
	case HID_GET_IDLE:
		if (!in)
			return false;
		*actual = put(data, len, &t->idle, 1);
		return true;
	case HID_SET_IDLE:
		if (in)
			return false;
		t->idle = (uint8_t)(s->value >> 8);
		t->next_idle_ns = vm_clock_ns() + t->idle * IDLE_UNIT_NS;
		if (t->config)
			t->activated = true;
		return true;
	}
	/* GET/SET_PROTOCOL are for boot devices, SET_REPORT for outputs:
	 * a pointer has neither (QEMU refuses them for the tablet too). */
	return false;
}

static enum usb_result tablet_control(void *opaque, const struct usb_setup *s, uint8_t *data,
				      size_t len, size_t *actual)
{
	struct usb_tablet *t = opaque;
	bool ok;

	pthread_mutex_lock(&t->lock);
	t->st.control_requests++;
	if ((s->request_type & USB_RECIP_MASK) == USB_RECIP_INTERFACE)
		ok = interface_request(t, s, data, len, actual);
	else if ((s->request_type & USB_TYPE_MASK) == USB_TYPE_STANDARD)
		ok = standard_request(t, s, data, len, actual);
	else
		ok = false;
	if (!ok)
		t->st.stalls++;
	pthread_mutex_unlock(&t->lock);
	return ok ? USB_ACK : USB_STALL;
}

static enum usb_result tablet_data(void *opaque, unsigned pid, unsigned ep, uint8_t *buf,
				   size_t len, size_t *actual)
{
	struct usb_tablet *t = opaque;
	enum usb_result r = USB_STALL;
	uint64_t now;

	pthread_mutex_lock(&t->lock);
	if (pid != USB_PID_IN || ep != 1 || t->ep_halt) {
		t->st.stalls++;
		goto out;
	}
	if (t->config)
		t->activated = true;
	now = vm_clock_ns();
	if (t->n) {
		t->st.reports++;
	} else if (t->idle && now >= t->next_idle_ns) {
		t->st.reports++;
		t->st.idle_reports++;
	} else {
		t->st.naks++;
		r = USB_NAK;
		goto out;
	}
	t->next_idle_ns = now + t->idle * IDLE_UNIT_NS;
	*actual = take_report(t, buf, len);
	r = USB_ACK;
out:
	pthread_mutex_unlock(&t->lock);
	return r;
}

static const struct usb_device_ops tablet_ops = {
	.reset = tablet_reset,
	.handle_control = tablet_control,
	.handle_data = tablet_data,
};

struct usb_tablet *usb_tablet_create(struct input *in)
{
	struct usb_tablet *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	usb_device_init(&t->dev, &tablet_ops, t, false);
	t->in = in;
	if (in)
		input_set_tablet(in, &sink_ops, t);
	return t;
}

void usb_tablet_destroy(struct usb_tablet *t)
{
	if (!t)
		return;
	if (t->in)
		input_set_tablet(t->in, NULL, NULL);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct usb_device *usb_tablet_device(struct usb_tablet *t)
{
	return &t->dev;
}

void usb_tablet_get_stats(struct usb_tablet *t, struct usb_tablet_stats *st, bool reset)
{
	pthread_mutex_lock(&t->lock);
	*st = t->st;
	if (reset)
		memset(&t->st, 0, sizeof(t->st));
	pthread_mutex_unlock(&t->lock);
}
