/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NICs over the control interface (vmm/qmp.h), with QEMU 7.2's names:
 *
 *   set_link {name, up}    the link the guest sees (virtio-net STATUS and a
 *                          configuration interrupt); name is the NIC's id
 *                          (net0, net1, ... in command-line order) or the
 *                          id= of its --net tap
 *   query-rx-filter {name?} the receive filter each driver set through the
 *                          control queue, one object per NIC (or the named
 *                          one): promiscuous, multicast and unicast
 *                          ("normal", "all", "none"), main-mac, the MAC
 *                          tables, overflows
 *
 *   x-hostfwd-add {netdev?, rule}    a forward on a --net user backend
 *   x-hostfwd-remove {netdev?, rule} (the first user backend without
 *                          netdev; rule as hostfwd= takes it, or
 *                          [tcp|udp]:[HOSTADDR]:PORT to remove): what the
 *                          HMP words hostfwd_add and hostfwd_remove run,
 *                          as QEMU has them only in HMP
 *
 * An unknown name is DeviceNotFound "Device 'X' not found", as QEMU.
 */
#ifndef MINIVMM_NET_CONTROL_H
#define MINIVMM_NET_CONTROL_H

struct qmp;
struct virtio_net;
struct net_backend;

struct net_control;

struct net_control *net_control_new(void);
/* A NIC under its names (alias may be NULL or "") with its backend (for
 * the hostfwd commands; may be NULL); -1 when out of memory. */
int net_control_add(struct net_control *nc, struct virtio_net *vn, const char *id,
		    const char *alias, struct net_backend *backend);
void net_control_free(struct net_control *nc);

/* Registers the commands; 0 or the error of qmp_register(). */
int net_control_register(struct qmp *q, struct net_control *nc);

#endif
