/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The user-mode network backend (--net user): libslirp's NAT, DHCP, DNS
 * and TFTP, no privileges needed.  QEMU's defaults: network 10.0.2.0/24,
 * the host (gateway) at .2, DNS at .3, DHCP from .15; IPv6 fec0::/64 with
 * the host at ::2 and DNS at ::3.  All libslirp calls run on the loop's
 * thread (its pre-poll hook and timers); the NIC may send and receive from
 * any thread.  Without vnet headers: the NIC offers no offload.
 */
#ifndef MINIVMM_NET_SLIRP_H
#define MINIVMM_NET_SLIRP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct net_backend;

#define NET_SLIRP_MAX_HOSTFWD 16

struct net_slirp_opts {
	const char *net;      /* ADDR[/PREFIX] (default 10.0.2.0/24) or NULL */
	const char *dns;      /* the DNS address inside the network, or NULL (.3) */
	const char *tftp;     /* a directory served by TFTP, or NULL */
	const char *bootfile; /* the DHCP boot file name, or NULL */
	bool restrict_on;     /* restrict=on: the guest reaches nothing outside */
	const char *hostfwd[NET_SLIRP_MAX_HOSTFWD]; /* [tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT */
	unsigned nr_hostfwd;
};

/* NULL with a one-line reason ("hostfwd=...: cannot listen on ...: Address
 * already in use") in err.  loop NULL: nothing runs until net_slirp_poll()
 * (tests). */
struct net_backend *net_slirp_open(struct event_loop *loop, const struct net_slirp_opts *o,
				   char *err, size_t errlen);

/* One turn of what the loop does before it waits (the guest's frames into
 * slirp, slirp's sockets and fd set); the longest wait slirp allows, in ms
 * (-1: any).  For tests without a running loop. */
int net_slirp_poll(struct net_backend *nb);

struct net_slirp_stats {
	uint64_t tx_frames, tx_dropped; /* guest to slirp */
	uint64_t rx_frames, rx_dropped; /* slirp to guest (queue full) */
	uint64_t guest_errors;		/* what libslirp found wrong in the guest's frames */
};
void net_slirp_get_stats(struct net_backend *nb, struct net_slirp_stats *st);

extern const struct net_backend_ops net_slirp_ops;

/* QEMU's hostfwd_add / hostfwd_remove (HMP), on the loop's thread: a rule
 * as hostfwd= takes it, or [tcp|udp]:[HOSTADDR]:HOSTPORT to remove; -1
 * with the reason in err (QEMU's words for remove: "invalid format", "host
 * forwarding rule for R not found"). */
bool net_backend_is_slirp(const struct net_backend *nb);
int net_slirp_hostfwd_add(struct net_backend *nb, const char *spec, char *err, size_t errlen);
int net_slirp_hostfwd_remove(struct net_backend *nb, const char *spec, char *err, size_t errlen);

#endif
