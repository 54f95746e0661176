// SPDX-License-Identifier: GPL-2.0-or-later
/* QMP set_link and query-rx-filter (vmm/net_control.h). */
#include "vmm/net_control.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_net.h"
#include "vmm/net_slirp.h"
#include "vmm/qmp.h"

struct nic {
	struct virtio_net *vn;
	struct net_backend *backend;
	char id[32], alias[32];
};

struct net_control {
	struct nic *nic;
	unsigned n;
};

struct net_control *net_control_new(void)
{
	return calloc(1, sizeof(struct net_control));
}

int net_control_add(struct net_control *nc, struct virtio_net *vn, const char *id,
		    const char *alias, struct net_backend *backend)
{
	struct nic *n = realloc(nc->nic, (nc->n + 1) * sizeof(*n));

	if (!n)
		return -1;
	nc->nic = n;
	n = &nc->nic[nc->n++];
	memset(n, 0, sizeof(*n));
	n->vn = vn;
	n->backend = backend;
	snprintf(n->id, sizeof(n->id), "%s", id);
	snprintf(n->alias, sizeof(n->alias), "%s", alias ? alias : "");
	return 0;
}

void net_control_free(struct net_control *nc)
{
	if (!nc)
		return;
	free(nc->nic);
	free(nc);
}

static struct nic *lookup(struct net_control *nc, const char *name, struct qmp_error *err)
{
	for (unsigned i = 0; i < nc->n; i++)
		if (!strcmp(nc->nic[i].id, name) ||
		    (nc->nic[i].alias[0] && !strcmp(nc->nic[i].alias, name)))
			return &nc->nic[i];
	qmp_error_set(err, QMP_ERR_DEVICE_NOT_FOUND, "Device '%.200s' not found", name);
	return NULL;
}

static json_t *cmd_set_link(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"name", "up", NULL};
	const char *name;
	struct nic *n;
	bool up;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "name", true, &name, err) < 0 ||
	    qmp_arg_bool(args, "up", true, &up, err) < 0)
		return NULL;
	n = lookup(opaque, name, err);
	if (!n)
		return NULL;
	virtio_net_set_link(n->vn, up);
	return json_object();
}

static json_t *mac_json(const uint8_t *m)
{
	char s[18];

	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return json_string(s);
}

static json_t *filter_json(const struct nic *n)
{
	struct virtio_net_filter f;
	json_t *uni = json_array(), *multi = json_array();
	unsigned nr_uni, nr_multi;

	virtio_net_get_filter(n->vn, &f);
	nr_uni = f.nr_uni < VIRTIO_NET_MAC_TABLE_ENTRIES ? f.nr_uni : VIRTIO_NET_MAC_TABLE_ENTRIES;
	nr_multi = f.nr_multi < VIRTIO_NET_MAC_TABLE_ENTRIES - nr_uni
		       ? f.nr_multi
		       : VIRTIO_NET_MAC_TABLE_ENTRIES - nr_uni;
	for (unsigned i = 0; uni && i < nr_uni; i++)
		json_array_append_new(uni, mac_json(f.table[i]));
	for (unsigned i = 0; multi && i < nr_multi; i++)
		json_array_append_new(multi, mac_json(f.table[nr_uni + i]));
	/* QEMU's words: "all" with allmulti or an overflowed table, "none"
	 * never here (no NOMULTI/NOUNI), else "normal". */
	return json_pack("{s:s, s:b, s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:[], s:o, s:o}", "name",
			 n->id, "promiscuous", f.promisc, "multicast",
			 f.allmulti || f.multi_overflow ? "all" : "normal", "unicast",
			 f.uni_overflow ? "all" : "normal", "vlan", "all", "broadcast-allowed",
			 true, "multicast-overflow", f.multi_overflow, "unicast-overflow",
			 f.uni_overflow, "main-mac", mac_json(f.mac), "vlan-table", "unicast-table",
			 uni, "multicast-table", multi);
}

static json_t *cmd_query_rx_filter(void *opaque, json_t *args, struct qmp_error *err)
{
	static const char *const allowed[] = {"name", NULL};
	struct net_control *nc = opaque;
	const char *name = NULL;
	json_t *list;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "name", false, &name, err) < 0)
		return NULL;
	list = json_array();
	if (name) {
		struct nic *n = lookup(nc, name, err);

		if (!n) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, filter_json(n));
		return list;
	}
	for (unsigned i = 0; list && i < nc->n; i++)
		json_array_append_new(list, filter_json(&nc->nic[i]));
	return list;
}

/* The user backend netdev names (a NIC's id or its backend's id=), or the
 * first one; NULL with QEMU's HMP words in err. */
static struct nic *user_backend(struct net_control *nc, const char *netdev, struct qmp_error *err)
{
	for (unsigned i = 0; i < nc->n; i++) {
		struct nic *n = &nc->nic[i];

		if (netdev && strcmp(n->id, netdev) && (!n->alias[0] || strcmp(n->alias, netdev)))
			continue;
		if (net_backend_is_slirp(n->backend))
			return n;
		if (netdev)
			break;
	}
	if (netdev)
		qmp_error_set(err, QMP_ERR_GENERIC, "unknown netdev %.100s or not a user backend",
			      netdev);
	else
		qmp_error_set(err, QMP_ERR_GENERIC, "no usermode network configured");
	return NULL;
}

static json_t *hostfwd(void *opaque, json_t *args, struct qmp_error *err, bool add)
{
	static const char *const allowed[] = {"netdev", "rule", NULL};
	const char *netdev = NULL, *rule;
	char why[256];
	struct nic *n;

	if (qmp_args_only(args, allowed, err) < 0 ||
	    qmp_arg_string(args, "netdev", false, &netdev, err) < 0 ||
	    qmp_arg_string(args, "rule", true, &rule, err) < 0)
		return NULL;
	n = user_backend(opaque, netdev, err);
	if (!n)
		return NULL;
	if ((add ? net_slirp_hostfwd_add : net_slirp_hostfwd_remove)(n->backend, rule, why,
								     sizeof(why)) < 0) {
		qmp_error_set(err, QMP_ERR_GENERIC, "%s", why);
		return NULL;
	}
	return json_object();
}

static json_t *cmd_hostfwd_add(void *opaque, json_t *args, struct qmp_error *err)
{
	return hostfwd(opaque, args, err, true);
}

static json_t *cmd_hostfwd_remove(void *opaque, json_t *args, struct qmp_error *err)
{
	return hostfwd(opaque, args, err, false);
}

int net_control_register(struct qmp *q, struct net_control *nc)
{
	static const struct {
		const char *name;
		qmp_command_fn fn;
	} cmds[] = {
	    {"set_link", cmd_set_link},
	    {"query-rx-filter", cmd_query_rx_filter},
	    {"x-hostfwd-add", cmd_hostfwd_add},
	    {"x-hostfwd-remove", cmd_hostfwd_remove},
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int ret = qmp_register(q, cmds[i].name, cmds[i].fn, nc);

		if (ret < 0)
			return ret;
	}
	return 0;
}
