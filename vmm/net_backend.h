/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a NIC sends its frames through and receives them from: a tap
 * (vmm/net_tap.c), or in tests a socket.  The NIC (devices/virtio/
 * virtio_net.c) uses it; whoever opened it closes it after the NIC is gone.
 *
 * Frames: one Ethernet frame per send/recv, without FCS.  With vnet_hdr the
 * backend's frames start with a virtio_net_hdr of hdr_len bytes (10, or 12
 * with num_buffers), in both directions, and the kernel side does checksum
 * and segmentation offloads (TUNSETOFFLOAD says which it may hand in).
 *
 * Threads: the NIC calls every hook with its transport lock held, from the
 * I/O thread or a vCPU thread; the backend keeps no state shared with
 * anything else.
 */
#ifndef MINIVMM_NET_BACKEND_H
#define MINIVMM_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* TUNSETOFFLOAD flags (linux/if_tun.h): what the backend may hand the guest. */
#define NET_OFFLOAD_CSUM    0x01
#define NET_OFFLOAD_TSO4    0x02
#define NET_OFFLOAD_TSO6    0x04
#define NET_OFFLOAD_TSO_ECN 0x08

struct net_backend;

struct net_backend_ops {
	/* One frame (the header first with vnet_hdr): bytes taken, or a
	 * negative errno (-EAGAIN: full for now, the frame is dropped). */
	ssize_t (*send)(struct net_backend *nb, const struct iovec *iov, unsigned n);
	/* One frame into buf: its length, -EAGAIN when none waits, or a
	 * negative errno.  A frame longer than len is cut (the socket's
	 * rule); len is always the largest frame plus a header. */
	ssize_t (*recv)(struct net_backend *nb, void *buf, size_t len);
	/* Optional (vnet_hdr): the header length both ways, 10 or 12. */
	int (*set_hdr_len)(struct net_backend *nb, unsigned len);
	/* Optional (vnet_hdr): NET_OFFLOAD_* the backend may now hand in. */
	int (*set_offload)(struct net_backend *nb, unsigned flags);
	void (*close)(struct net_backend *nb);
};

struct net_backend {
	const struct net_backend_ops *ops;
	int fd;		   /* readable when a frame waits (epoll), or -1 */
	bool vnet_hdr;	   /* frames carry a virtio_net_hdr */
	unsigned hdr_len;  /* with vnet_hdr: 10 or 12 (set_hdr_len) */
	unsigned offloads; /* NET_OFFLOAD_* it can take (set_offload) */
	char name[32];	   /* for messages: "tap10", "fd=5" */
};

/* A backend over a datagram or seqpacket socket (tests and fuzzing): one
 * frame per message; vnet_hdr makes it pass headers through as a tap does
 * (it accepts every header length and offload).  NULL: no memory.  The
 * socket becomes non-blocking and the backend's. */
struct net_backend *net_backend_socket(int fd, bool vnet_hdr);

/* The fd backends' send and recv (writev and read, EINTR retried). */
ssize_t net_backend_fd_send(struct net_backend *nb, const struct iovec *iov, unsigned n);
ssize_t net_backend_fd_recv(struct net_backend *nb, void *buf, size_t len);

void net_backend_close(struct net_backend *nb);

#endif
