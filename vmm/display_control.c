// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The display's QMP commands: vmm/display_control.h.  Arguments and error
 * texts as QEMU 7.2's qmp_screendump (ui/console.c) and qmp_set_password /
 * qmp_change_vnc_password (monitor/qmp-cmds.c, ui/vnc.c) give them.
 */
#include "vmm/display_control.h"

#include <jansson.h>
#include <string.h>

#include "vmm/qmp.h"
#include "vmm/screendump.h"
#include "vmm/vnc.h"

static json_t *cmd_screendump(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"filename", "device", "head", "format", NULL};
	struct display_control *dc = opaque;
	const char *file = NULL, *format = NULL, *device = NULL;
	enum screendump_format fmt = SCREENDUMP_PPM;
	char why[512];

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "filename", true, &file, err) < 0 ||
	    qmp_arg_string(args, "format", false, &format, err) < 0 ||
	    qmp_arg_string(args, "device", false, &device, err) < 0)
		return NULL;
	if (json_object_get(args, "head") && !json_is_integer(json_object_get(args, "head"))) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Invalid parameter type for 'head', expected: integer");
		return NULL;
	}
	if (format && screendump_format_parse(format, &fmt) < 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'format' does not accept value '%s'",
			      format);
		return NULL;
	}
	/* One display: device and head may name only it. */
	if ((device && strcmp(device, "vga")) ||
	    (json_object_get(args, "head") &&
	     json_integer_value(json_object_get(args, "head")) != 0)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "There is no console %s, head %lld",
			      device ? device : "vga",
			      (long long)json_integer_value(json_object_get(args, "head")));
		return NULL;
	}
	if (screendump_write(dc->display, file, fmt, why, sizeof(why)) < 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "%s", why);
		return NULL;
	}
	return json_object();
}

static json_t *set_vnc_password(struct display_control *dc, const char *password,
				struct qmp_error *err)
{
	/* QEMU without -vnc ...,password: its vnc_display_password() fails */
	if (!dc->vnc || !dc->vnc_password) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Could not set password");
		return NULL;
	}
	vnc_set_password(dc->vnc, password);
	return json_object();
}

static json_t *cmd_set_password(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"protocol", "password", "connected", "display",
					      NULL};
	const char *protocol = NULL, *password = NULL, *connected = NULL, *display = NULL;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "protocol", true, &protocol, err) < 0 ||
	    qmp_arg_string(args, "password", true, &password, err) < 0 ||
	    qmp_arg_string(args, "connected", false, &connected, err) < 0 ||
	    qmp_arg_string(args, "display", false, &display, err) < 0)
		return NULL;
	if (strcmp(protocol, "vnc")) {
		if (!strcmp(protocol, "spice"))
			qmp_error_set(err, QMP_ERR_GENERIC, "SPICE is not in use");
		else
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Parameter 'protocol' does not accept value '%s'", protocol);
		return NULL;
	}
	/* QEMU's VNC takes only "keep" */
	if (connected && strcmp(connected, "keep")) {
		if (strcmp(connected, "fail") && strcmp(connected, "disconnect"))
			qmp_error_set(err, QMP_ERR_GENERIC,
				      "Parameter 'connected' does not accept value '%s'", connected);
		else
			qmp_error_set(err, QMP_ERR_GENERIC, "VNC supports only connected=keep");
		return NULL;
	}
	return set_vnc_password(opaque, password, err);
}

static json_t *cmd_change_vnc_password(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"password", NULL};
	const char *password = NULL;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "password", true, &password, err) < 0)
		return NULL;
	return set_vnc_password(opaque, password, err);
}

int display_control_register(struct qmp *q, struct display_control *dc)
{
	static const struct {
		const char *name;
		qmp_command_fn fn;
	} cmds[] = {
		{"screendump", cmd_screendump},
		{"set_password", cmd_set_password},
		{"change-vnc-password", cmd_change_vnc_password},
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int ret = qmp_register(q, cmds[i].name, cmds[i].fn, dc);

		if (ret < 0)
			return ret;
	}
	return 0;
}
