// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Balloon commands (vmm/balloon_control.h).  The texts were taken from
 * qemu-system-x86_64 7.2 with -device virtio-balloon,id=balloon0 and
 * without it (qmp_balloon, qmp_query_balloon, balloon_stats_get_all,
 * balloon_stats_set_poll_interval, qom-get/qom-set's lookups).
 */
#include "vmm/balloon_control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_balloon.h"
#include "vmm/qmp.h"

struct balloon_control {
	struct virtio_balloon *vb;
	struct qmp *q;
	char path[128];
};

static void balloon_changed(void *opaque, uint64_t actual)
{
	struct balloon_control *bc = opaque;

	qmp_event(bc->q, "BALLOON_CHANGE", json_pack("{s:I}", "actual", (json_int_t)actual));
}

struct balloon_control *balloon_control_new(struct virtio_balloon *vb, const char *id,
					    struct qmp *q)
{
	struct balloon_control *bc = calloc(1, sizeof(*bc));

	if (!bc)
		return NULL;
	bc->vb = vb;
	bc->q = q;
	snprintf(bc->path, sizeof(bc->path), "%s%s", BALLOON_QOM_PREFIX, id ? id : "");
	if (vb)
		virtio_balloon_set_change_notify(vb, balloon_changed, bc);
	return bc;
}

void balloon_control_free(struct balloon_control *bc)
{
	free(bc);
}

/* ---- arguments, in QEMU's order: each member, then the unexpected ---- */

static json_t *member(json_t *args, const char *name, struct qmp_error *err)
{
	json_t *v = json_object_get(args, name);

	if (!v)
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter '%s' is missing", name);
	return v;
}

static int int_member(json_t *args, const char *name, json_int_t *out, struct qmp_error *err)
{
	json_t *v = member(args, name, err);

	if (!v)
		return -1;
	if (!json_is_integer(v)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for '%s', expected: integer", name);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int str_member(json_t *args, const char *name, const char **out, struct qmp_error *err)
{
	json_t *v = member(args, name, err);

	if (!v)
		return -1;
	if (!json_is_string(v)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for '%s', expected: string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static bool active(struct balloon_control *bc, struct qmp_error *err)
{
	if (!bc->vb)
		qmp_error_set(err, "DeviceNotActive", "No balloon device has been activated");
	return bc->vb != NULL;
}

/* ---- balloon, query-balloon ---- */

static json_t *cmd_balloon(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"value", NULL};
	struct balloon_control *bc = opaque;
	json_int_t value;

	if (int_member(args, "value", &value, err) < 0 || qmp_args_only(args, allowed, err) < 0 ||
	    !active(bc, err))
		return NULL;
	if (value <= 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Parameter 'target' expects a size");
		return NULL;
	}
	virtio_balloon_set_target(bc->vb, (uint64_t)value);
	return json_object();
}

static json_t *cmd_query_balloon(void *opaque, json_t *args, struct qmp_error *err)
{
	struct balloon_control *bc = opaque;

	if (qmp_args_only(args, NULL, err) < 0 || !active(bc, err))
		return NULL;
	return json_pack("{s:I}", "actual", (json_int_t)virtio_balloon_actual_bytes(bc->vb));
}

/* ---- qom-get, qom-set ---- */

#define PROP_STATS    "guest-stats"
#define PROP_INTERVAL "guest-stats-polling-interval"

/* The balloon at path, or NULL with QEMU's DeviceNotFound. */
static struct virtio_balloon *lookup(struct balloon_control *bc, const char *path,
				     struct qmp_error *err)
{
	if (bc->vb && !strcmp(path, bc->path))
		return bc->vb;
	qmp_error_set(err, QMP_ERR_DEVICE_NOT_FOUND, "Device '%.200s' not found", path);
	return NULL;
}

static json_t *guest_stats_json(struct virtio_balloon *vb)
{
	struct virtio_balloon_guest_stats st;
	json_t *stats = json_object();

	virtio_balloon_guest_stats(vb, &st);
	for (unsigned i = 0; stats && i < VIRTIO_BALLOON_S_NR; i++)
		if (json_object_set_new(stats, virtio_balloon_stat_names[i],
					json_integer((json_int_t)st.stat[i])) < 0) {
			json_decref(stats);
			stats = NULL;
		}
	if (!stats)
		return NULL;
	return json_pack("{s:o, s:I}", "stats", stats, "last-update", (json_int_t)st.last_update);
}

static json_t *cmd_qom_get(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"path", "property", NULL};
	struct balloon_control *bc = opaque;
	const char *path, *prop;
	struct virtio_balloon *vb;
	json_t *ret;

	if (str_member(args, "path", &path, err) < 0 ||
	    str_member(args, "property", &prop, err) < 0 || qmp_args_only(args, allowed, err) < 0)
		return NULL;
	vb = lookup(bc, path, err);
	if (!vb)
		return NULL;
	if (!strcmp(prop, PROP_STATS))
		ret = guest_stats_json(vb);
	else if (!strcmp(prop, PROP_INTERVAL))
		ret = json_integer((json_int_t)virtio_balloon_poll_interval(vb));
	else {
		qmp_error_set(err, QMP_ERR_GENERIC, "Property 'virtio-balloon-pci.%.200s' not found",
			      prop);
		return NULL;
	}
	if (!ret)
		qmp_error_set(err, QMP_ERR_GENERIC, "out of memory");
	return ret;
}

static json_t *cmd_qom_set(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"path", "property", "value", NULL};
	struct balloon_control *bc = opaque;
	const char *path, *prop;
	struct virtio_balloon *vb;
	json_t *value;
	int ret;

	if (str_member(args, "path", &path, err) < 0 ||
	    str_member(args, "property", &prop, err) < 0 || !(value = member(args, "value", err)) ||
	    qmp_args_only(args, allowed, err) < 0)
		return NULL;
	vb = lookup(bc, path, err);
	if (!vb)
		return NULL;
	if (!strcmp(prop, PROP_STATS)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Property 'virtio-balloon-device." PROP_STATS "' is not writable");
		return NULL;
	}
	if (strcmp(prop, PROP_INTERVAL)) {
		qmp_error_set(err, QMP_ERR_GENERIC, "Property 'virtio-balloon-pci.%.200s' not found",
			      prop);
		return NULL;
	}
	if (!json_is_integer(value)) {
		qmp_error_set(err, QMP_ERR_GENERIC,
			      "Invalid parameter type for '" PROP_INTERVAL "', expected: integer");
		return NULL;
	}
	ret = virtio_balloon_set_poll_interval(vb, json_integer_value(value));
	if (ret == -EINVAL) {
		qmp_error_set(err, QMP_ERR_GENERIC, "timer value must be greater than zero");
		return NULL;
	}
	if (ret < 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "timer value is too big");
		return NULL;
	}
	return json_object();
}

int balloon_control_register(struct qmp *q, struct balloon_control *bc)
{
	static const struct {
		const char *name;
		qmp_command_fn fn;
	} cmds[] = {
	    {"balloon", cmd_balloon},
	    {"query-balloon", cmd_query_balloon},
	    {"qom-get", cmd_qom_get},
	    {"qom-set", cmd_qom_set},
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int ret = qmp_register(q, cmds[i].name, cmds[i].fn, bc);

		if (ret < 0)
			return ret;
	}
	return 0;
}
