/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tap backend (linux/if_tun.h, as QEMU's net/tap-linux.c uses it):
 * IFF_TAP | IFF_NO_PI, IFF_VNET_HDR when the kernel has it, non-blocking.
 * No helper script is ever run (QEMU's script=no, downscript=no).
 */
#ifndef MINIVMM_NET_TAP_H
#define MINIVMM_NET_TAP_H

#include <stddef.h>

struct net_backend;

/* Opens (or creates, with CAP_NET_ADMIN) the tap ifname: NULL with one
 * line in err ("no such device", "permission denied", "busy"...). */
struct net_backend *net_tap_open(const char *ifname, char *err, size_t errlen);
/* Takes an open tap fd handed over by a manager (libvirt's fd=N): checked
 * with TUNGETIFF to be a tap without packet information; the backend owns
 * it from then on (also on failure it is left open for the caller). */
struct net_backend *net_tap_from_fd(int fd, char *err, size_t errlen);

#endif
