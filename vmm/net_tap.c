// SPDX-License-Identifier: GPL-2.0-or-later
/* The tap backend (net_tap.h). */
#include "vmm/net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "vmm/net_backend.h"

static int tap_hdr_len(struct net_backend *nb, unsigned len)
{
	int l = (int)len;

	if (ioctl(nb->fd, TUNSETVNETHDRSZ, &l) < 0)
		return -errno;
	nb->hdr_len = len;
	return 0;
}

/* The TSO bits go only with CSUM (the kernel refuses them otherwise). */
static int tap_offload(struct net_backend *nb, unsigned flags)
{
	unsigned f = 0;

	if (flags & NET_OFFLOAD_CSUM) {
		f |= TUN_F_CSUM;
		if (flags & NET_OFFLOAD_TSO4)
			f |= TUN_F_TSO4;
		if (flags & NET_OFFLOAD_TSO6)
			f |= TUN_F_TSO6;
		if (flags & NET_OFFLOAD_TSO_ECN)
			f |= TUN_F_TSO_ECN;
	}
	if (ioctl(nb->fd, TUNSETOFFLOAD, (unsigned long)f) < 0)
		return -errno;
	return 0;
}

static void tap_close(struct net_backend *nb)
{
	close(nb->fd);
	free(nb);
}

static const struct net_backend_ops tap_ops = {
	.send = net_backend_fd_send,
	.recv = net_backend_fd_recv,
	.set_hdr_len = tap_hdr_len,
	.set_offload = tap_offload,
	.close = tap_close,
};

/* The fd is a tap set up (by us or a manager): the backend around it. */
static struct net_backend *wrap(int fd, const char *name, bool vnet, char *err, size_t errlen)
{
	struct net_backend *nb = calloc(1, sizeof(*nb));
	int fl = fcntl(fd, F_GETFL), sndbuf = INT_MAX;

	if (!nb) {
		snprintf(err, errlen, "tap %s: out of memory", name);
		return NULL;
	}
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "tap %s: cannot make it non-blocking: %s", name,
			 strerror(errno));
		free(nb);
		return NULL;
	}
	ioctl(fd, TUNSETSNDBUF, &sndbuf); /* QEMU's default; old kernels lack it */
	*nb = (struct net_backend){.ops = &tap_ops, .fd = fd, .vnet_hdr = vnet};
	snprintf(nb->name, sizeof(nb->name), "%s", name);
	if (vnet) {
		/* Which offloads the kernel takes: try them all, then none. */
		nb->hdr_len = 10;
		if (tap_hdr_len(nb, 10) < 0) {
			nb->vnet_hdr = false;
			nb->hdr_len = 0;
		} else if (tap_offload(nb, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 |
						   NET_OFFLOAD_TSO_ECN) == 0) {
			nb->offloads = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 |
				       NET_OFFLOAD_TSO_ECN;
			tap_offload(nb, 0);
		} else if (tap_offload(nb, NET_OFFLOAD_CSUM) == 0) {
			nb->offloads = NET_OFFLOAD_CSUM;
			tap_offload(nb, 0);
		}
	}
	return nb;
}

struct net_backend *net_tap_open(const char *ifname, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	unsigned features = 0;
	struct net_backend *nb;
	int fd;

	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "tap '%s': an interface name is 1 to %d bytes", ifname,
			 IFNAMSIZ - 1);
		return NULL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "tap %s: cannot open /dev/net/tun: %s", ifname,
			 strerror(errno));
		return NULL;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (features & IFF_ONE_QUEUE)
		ifr.ifr_flags |= IFF_ONE_QUEUE;
	if (features & IFF_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		if (e == EPERM || e == EACCES)
			snprintf(err, errlen, "tap %s: permission denied (creating or attaching a "
					      "tap needs CAP_NET_ADMIN, or a tap owned by this user)",
				 ifname);
		else if (e == EBUSY)
			snprintf(err, errlen, "tap %s: device busy (another process has it open, "
					      "or it is not a tap)", ifname);
		else if (e == EINVAL)
			snprintf(err, errlen, "tap %s: the interface exists and is not a tap "
					      "with these flags (%s)", ifname, strerror(e));
		else
			snprintf(err, errlen, "tap %s: %s", ifname, strerror(e));
		return NULL;
	}
	nb = wrap(fd, ifname, ifr.ifr_flags & IFF_VNET_HDR, err, errlen);
	if (!nb)
		close(fd);
	return nb;
}

struct net_backend *net_tap_from_fd(int fd, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	char name[32];

	if (fcntl(fd, F_GETFD) < 0) {
		snprintf(err, errlen, "tap fd=%d: not an open file descriptor", fd);
		return NULL;
	}
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		snprintf(err, errlen, "tap fd=%d: not a tap (%s)", fd, strerror(errno));
		return NULL;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP) {
		snprintf(err, errlen, "tap fd=%d: %s is a tun, not a tap", fd, ifr.ifr_name);
		return NULL;
	}
	if (!(ifr.ifr_flags & IFF_NO_PI)) {
		snprintf(err, errlen, "tap fd=%d: %s was set up with packet information "
				      "(IFF_NO_PI is needed)", fd, ifr.ifr_name);
		return NULL;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	snprintf(name, sizeof(name), "%.15s (fd=%d)", ifr.ifr_name, fd);
	return wrap(fd, name, ifr.ifr_flags & IFF_VNET_HDR, err, errlen);
}
