// SPDX-License-Identifier: GPL-2.0-or-later
/* The frame-per-message fd backend and what every fd backend shares. */
#include "vmm/net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

ssize_t net_backend_fd_send(struct net_backend *nb, const struct iovec *iov, unsigned n)
{
	ssize_t r;

	do
		r = writev(nb->fd, iov, (int)n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t net_backend_fd_recv(struct net_backend *nb, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(nb->fd, buf, len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

static int socket_hdr_len(struct net_backend *nb, unsigned len)
{
	nb->hdr_len = len;
	return 0;
}

static int socket_offload(struct net_backend *nb, unsigned flags)
{
	(void)nb;
	(void)flags;
	return 0;
}

static void socket_close(struct net_backend *nb)
{
	close(nb->fd);
	free(nb);
}

static const struct net_backend_ops socket_ops = {
	.send = net_backend_fd_send,
	.recv = net_backend_fd_recv,
	.set_hdr_len = socket_hdr_len,
	.set_offload = socket_offload,
	.close = socket_close,
};

struct net_backend *net_backend_socket(int fd, bool vnet_hdr)
{
	struct net_backend *nb = calloc(1, sizeof(*nb));
	int fl = fcntl(fd, F_GETFL);

	if (!nb)
		return NULL;
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	*nb = (struct net_backend){
		.ops = &socket_ops,
		.fd = fd,
		.vnet_hdr = vnet_hdr,
		.hdr_len = vnet_hdr ? 10 : 0,
		.offloads = vnet_hdr ? NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 |
					       NET_OFFLOAD_TSO_ECN
				     : 0,
	};
	snprintf(nb->name, sizeof(nb->name), "socket fd=%d", fd);
	return nb;
}

void net_backend_close(struct net_backend *nb)
{
	if (nb && nb->ops && nb->ops->close)
		nb->ops->close(nb);
}
