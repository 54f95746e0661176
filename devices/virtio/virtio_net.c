// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-net (virtio 1.x §5.1) on the virtio PCI transport: one
 * receive/transmit pair and a control queue over a net_backend.
 *
 * Receive runs on the I/O thread when the backend's fd is readable (and
 * on whichever thread kicks the receive queue): frames are read into a
 * staging buffer, filtered, then copied into the guest's chains.  When the
 * ring is empty the fd is turned off in the loop (no busy loop) and
 * notifications are enabled, then the ring is looked at again (no lost
 * wakeup); the next kick turns the fd back on.  A frame that needs more
 * chains than the ring holds right now waits in the staging buffer, its
 * chains popped, until the next kick.
 *
 * Transmit and control run where the kick lands (the I/O thread for
 * transmit with ioeventfd; always the vCPU's exit for control).
 *
 * Lock: everything is guarded by the transport lock (virtio_pci_lock); the
 * hooks the transport calls hold it already, except quiesce.
 */
#include "devices/virtio/virtio_net.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci.h"
#include "vmm/le.h"
#include "vmm/loop.h"
#include "vmm/net_backend.h"

#define BIT(n) (1ULL << (n))

#define MAX_IOV	   64 /* iovecs of one chain */
#define RX_BUDGET  256 /* frames per readable event, so others get the loop too */
#define TX_BUDGET  128 /* frames per turn before the rest is put back on the loop */
#define STAGE_SIZE (VIRTIO_NET_HDR_MRG_LEN + VIRTIO_NET_MAX_FRAME)

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};

struct held_chain {
	uint16_t head;
	uint32_t len; /* bytes written */
};

struct virtio_net {
	struct virtio_dev_ops ops;
	struct virtio_pci *vp;
	struct net_backend *be;
	struct event_loop *loop;
	int tx_more;   /* eventfd: transmit goes on (the budget ran out), or -1 */
	bool watching; /* the backend's fd is in the loop */
	bool be_gone;  /* the backend failed or ended: not read any more */
	bool paused, quiescing;
	uint64_t features; /* negotiated */
	unsigned hdr_len;  /* the guest's: 10 or 12 */
	bool link_up;
	uint8_t mac[6];	    /* config; the filter's own address */
	uint8_t mac_cfg[6]; /* power-on MAC, back at reset */
	/* the receive filter */
	bool promisc, allmulti, uni_overflow, multi_overflow;
	unsigned nr_uni, nr_multi;
	uint8_t table[VIRTIO_NET_MAC_TABLE_ENTRIES][6];
	/* receive staging: a frame read from the backend, its header first
	 * (guest layout, hdr_len bytes) */
	uint8_t *stage;
	size_t stage_len; /* 0: none waiting */
	size_t stage_off; /* bytes of it already in held chains */
	/* chains popped for the frame waiting (mergeable buffers) */
	struct held_chain held[VIRTIO_NET_MRG_MAX];
	unsigned nr_held;
	struct iovec first_iov[MAX_IOV]; /* the first held chain's writable part */
	unsigned first_nr;
	uint32_t held_gen;
	/* transmit staging, for software checksums */
	uint8_t *txbuf;
	struct virtio_net_stats st;
	char name[32];
};

/* ---- config and features ---- */

static void vn_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	struct virtio_net *vn = opaque;
	uint8_t c[VIRTIO_NET_CONFIG_SIZE];

	memcpy(c, vn->mac, 6);
	le16_put(c + 6, vn->link_up ? 1 : 0);
	if (off < sizeof(c) && len <= sizeof(c) - off)
		memcpy(buf, c + off, len);
}

/* Legacy drivers may write the MAC through config (§5.1.4, QEMU allows it
 * without CTRL_MAC_ADDR on the legacy interface). */
static void vn_config_write(void *opaque, unsigned off, const void *buf, unsigned len)
{
	struct virtio_net *vn = opaque;

	if (virtio_pci_modern(vn->vp) || (vn->features & BIT(VIRTIO_NET_F_CTRL_MAC_ADDR)))
		return;
	for (unsigned i = 0; i < len; i++)
		if (off + i < 6)
			vn->mac[off + i] = ((const uint8_t *)buf)[i];
}

static unsigned offloads_for(uint64_t f)
{
	unsigned o = 0;

	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	o |= NET_OFFLOAD_CSUM;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
		o |= NET_OFFLOAD_TSO4;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
		o |= NET_OFFLOAD_TSO6;
	if ((f & BIT(VIRTIO_NET_F_GUEST_ECN)) && (o & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)))
		o |= NET_OFFLOAD_TSO_ECN;
	return o;
}

/* The backend follows what the guest accepted: the header length it
 * uses, and the offloads it may hand in (QEMU's virtio_net_apply_guest_offloads). */
static void apply_backend(struct virtio_net *vn)
{
	struct net_backend *be = vn->be;

	if (!be->vnet_hdr)
		return;
	if (be->ops->set_hdr_len && be->ops->set_hdr_len(be, vn->hdr_len) < 0)
		dev_log(vn->name, "the backend refused a %u-byte vnet header", vn->hdr_len);
	if (be->ops->set_offload &&
	    be->ops->set_offload(be, offloads_for(vn->features) & be->offloads) < 0)
		dev_log(vn->name, "the backend refused offloads 0x%x", offloads_for(vn->features));
}

static void vn_set_features(void *opaque, uint64_t features)
{
	struct virtio_net *vn = opaque;
	unsigned old = vn->hdr_len;

	vn->features = features;
	vn->hdr_len = features & (BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_F_VERSION_1))
			      ? VIRTIO_NET_HDR_MRG_LEN
			      : VIRTIO_NET_HDR_LEN;
	if (old != vn->hdr_len)
		vn->stage_len = vn->nr_held = 0; /* staged with the other layout */
	apply_backend(vn);
}

/* ---- the backend's fd in the loop ---- */

static void backend_ready(void *opaque, uint32_t events);

/* The backend's fd is in the loop only while frames can go somewhere. */
static void watch(struct virtio_net *vn, bool on)
{
	if (vn->watching == on)
		return;
	if (vn->loop && vn->be->fd >= 0) {
		if (!on)
			event_loop_del_fd(vn->loop, vn->be->fd);
		else if (event_loop_add_fd(vn->loop, vn->be->fd, EPOLLIN, backend_ready, vn) < 0) {
			dev_log(vn->name, "cannot watch %s", vn->be->name);
			return;
		}
	}
	vn->watching = on;
}

/* ---- receive ---- */

static bool is_multicast(const uint8_t *mac)
{
	return mac[0] & 1;
}

static bool in_table(const struct virtio_net *vn, const uint8_t *mac, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		if (!memcmp(vn->table[i], mac, 6))
			return true;
	return false;
}

/* QEMU's receive_filter without VLANs: promiscuous takes everything;
 * broadcast always; multicast with allmulti or in the table; unicast to our
 * address or in the table. */
static bool accept_frame(const struct virtio_net *vn, const uint8_t *dst)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	if (vn->promisc)
		return true;
	if (!memcmp(dst, bcast, 6))
		return true;
	if (is_multicast(dst))
		return vn->allmulti || vn->multi_overflow ||
		       in_table(vn, dst, vn->nr_uni, vn->nr_uni + vn->nr_multi);
	return !memcmp(dst, vn->mac, 6) || vn->uni_overflow || in_table(vn, dst, 0, vn->nr_uni);
}

static bool can_receive(struct virtio_net *vn)
{
	struct virtq *vq = virtio_pci_queue(vn->vp, VIRTIO_NET_Q_RX);

	return !vn->paused && !vn->quiescing && vn->link_up &&
	       (virtio_pci_status(vn->vp) & VIRTIO_STATUS_DRIVER_OK) && virtq_ready(vq);
}

/* Reads one frame from the backend into the staging buffer in the guest's
 * layout; 1 staged, 0 one was dropped, -1 nothing waits, -2 the backend
 * failed. */
static int stage_frame(struct virtio_net *vn)
{
	struct net_backend *be = vn->be;
	unsigned bh = be->vnet_hdr ? vn->hdr_len : 0;
	uint8_t *dst = vn->stage + vn->hdr_len - bh;
	ssize_t n = be->ops->recv(be, dst, STAGE_SIZE - (vn->hdr_len - bh));

	if (n == -EAGAIN)
		return -1;
	if (n <= 0) {
		/* An error: not read again before the driver's next kick; the
		 * end (a closed socket): never again. */
		vn->st.rx.backend_errors++;
		dev_log(vn->name, "receive from %s: %s", be->name,
			n ? strerror((int)-n) : "the backend is gone");
		vn->be_gone |= n == 0;
		return -2;
	}
	/* The backend refused the guest's header length (apply_backend):
	 * its frames cannot be laid out for the guest. */
	if ((size_t)n < bh + VIRTIO_NET_MIN_FRAME || (bh && be->hdr_len != bh)) {
		vn->st.rx.drop_bad++;
		return 0;
	}
	if (!bh)
		memset(vn->stage, 0, vn->hdr_len);
	if (!accept_frame(vn, vn->stage + vn->hdr_len)) {
		vn->st.rx.drop_filtered++;
		return 0;
	}
	if (vn->hdr_len == VIRTIO_NET_HDR_MRG_LEN)
		le16_put(vn->stage + 10, 1);
	vn->stage_len = vn->hdr_len + ((size_t)n - bh);
	vn->stage_off = 0;
	vn->nr_held = 0;
	return 1;
}

static void rx_done_frame(struct virtio_net *vn)
{
	vn->st.rx.packets++;
	vn->st.rx.bytes += vn->stage_len - vn->hdr_len;
	vn->stage_len = 0;
	vn->nr_held = 0;
}

/* The frame staged into one chain (no MRG_RXBUF): 1 delivered, 0 no chain
 * (wait), -1 dropped. */
static int deliver_single(struct virtio_net *vn, struct virtq *vq)
{
	struct iovec iov[MAX_IOV];
	struct virtq_chain c;
	int r = virtq_pop(vq, &c, iov, MAX_IOV);

	if (r == 0 || r == -EPROTO)
		return 0;
	if (r == -EBADMSG) {
		vn->st.rx.bad_chains++;
		virtq_push(vq, c.head, 0);
		return -2;
	}
	if (c.in_len < vn->stage_len) {
		/* Too big for a driver that reads one buffer: dropped, the
		 * chain stays for the next frame. */
		virtq_unpop(vq);
		vn->st.rx.drop_too_big++;
		vn->stage_len = 0;
		return -1;
	}
	virtq_iov_write(iov + c.nr_out, c.nr_in, 0, vn->stage, vn->stage_len);
	virtq_push(vq, c.head, (uint32_t)vn->stage_len);
	rx_done_frame(vn);
	return 1;
}

/* The frame staged over as many chains as it takes (MRG_RXBUF): 1
 * delivered, 0 waiting for more chains (those popped are held). */
static int deliver_mergeable(struct virtio_net *vn, struct virtq *vq)
{
	unsigned cap = vq->size < VIRTIO_NET_MRG_MAX ? vq->size : VIRTIO_NET_MRG_MAX;

	if (vn->nr_held && vn->held_gen != vq->generation) {
		vn->nr_held = 0; /* the ring was reset under them */
		vn->stage_off = 0;
	}
	while (vn->stage_off < vn->stage_len) {
		struct iovec iov[MAX_IOV];
		struct virtq_chain c;
		size_t n;
		int r;

		if (vn->nr_held == cap) {
			/* A ring of tiny buffers: the frame is cut here. */
			vn->st.rx.truncated++;
			vn->stage_len = vn->stage_off;
			break;
		}
		r = virtq_pop(vq, &c, iov, MAX_IOV);
		if (r == 0 || r == -EPROTO)
			return 0;
		if (r == -EBADMSG) {
			vn->st.rx.bad_chains++;
			virtq_push(vq, c.head, 0);
			continue;
		}
		if (!vn->nr_held && c.in_len < vn->hdr_len) {
			vn->st.rx.bad_chains++;
			virtq_push(vq, c.head, 0);
			continue;
		}
		n = virtq_iov_write(iov + c.nr_out, c.nr_in, 0, vn->stage + vn->stage_off,
				    vn->stage_len - vn->stage_off);
		if (!vn->nr_held) {
			vn->first_nr = c.nr_in < MAX_IOV ? c.nr_in : MAX_IOV;
			memcpy(vn->first_iov, iov + c.nr_out, vn->first_nr * sizeof(*iov));
			vn->held_gen = vq->generation;
		}
		vn->held[vn->nr_held++] = (struct held_chain){c.head, (uint32_t)n};
		vn->stage_off += n;
	}
	if (vn->hdr_len == VIRTIO_NET_HDR_MRG_LEN) {
		uint8_t nb[2];

		le16_put(nb, (uint16_t)vn->nr_held);
		virtq_iov_write(vn->first_iov, vn->first_nr, 10, nb, 2);
	}
	for (unsigned i = 0; i < vn->nr_held; i++)
		virtq_push(vq, vn->held[i].head, vn->held[i].len);
	rx_done_frame(vn);
	return 1;
}

/* Moves frames from the backend into the receive ring until one of them
 * runs out (locked). */
static void rx_run(struct virtio_net *vn)
{
	struct virtq *vq = virtio_pci_queue(vn->vp, VIRTIO_NET_Q_RX);
	bool mrg = vn->features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	uint16_t used0 = vq->used_idx;
	unsigned budget = RX_BUDGET;

	if (!can_receive(vn) || vn->be_gone) {
		watch(vn, false);
		return;
	}
	virtq_disable_notify(vq);
	while (budget) {
		int r;

		if (!vn->stage_len) {
			r = stage_frame(vn);
			if (r == -2) {
				watch(vn, false);
				goto out;
			}
			if (r < 0)
				break;
			if (r == 0) {
				budget--; /* dropped frames count against the budget too */
				continue;
			}
		}
		/* A frame waits (kept in the staging buffer, never lost). */
		r = mrg ? deliver_mergeable(vn, vq) : deliver_single(vn, vq);
		if (r == 0) {
			if (virtq_error(vq) != VIRTQ_OK)
				break;
			if (virtq_enable_notify(vq)) {
				virtq_disable_notify(vq);
				continue;
			}
			/* Dry: stop reading until the driver kicks. */
			vn->st.rx.ring_empty++;
			watch(vn, false);
			goto out;
		}
		if (r == 1)
			budget--;
	}
	/* The backend is empty (or the budget spent): keep reading; kicks
	 * stay off while the ring has buffers (the next frame that finds it
	 * empty turns them on and looks again). */
	watch(vn, virtq_error(vq) == VIRTQ_OK);
out:
	if (vq->used_idx != used0)
		virtio_pci_queue_done(vn->vp, VIRTIO_NET_Q_RX);
	else
		virtio_pci_queue_check(vn->vp, VIRTIO_NET_Q_RX);
}

void virtio_net_backend_readable(struct virtio_net *vn)
{
	virtio_pci_lock(vn->vp);
	rx_run(vn);
	virtio_pci_unlock(vn->vp);
}

static void backend_ready(void *opaque, uint32_t events)
{
	(void)events;
	virtio_net_backend_readable(opaque);
}

static void tx_run(struct virtio_net *vn);

static void tx_continue(void *opaque, uint32_t events)
{
	struct virtio_net *vn = opaque;
	uint64_t n;

	(void)events;
	if (read(vn->tx_more, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_pci_lock(vn->vp);
	tx_run(vn);
	virtio_pci_unlock(vn->vp);
}

/* ---- transmit ---- */

enum tx_verdict { TX_OK, TX_SHORT_HDR, TX_RUNT, TX_GIANT, TX_BAD_GSO, TX_BAD_CSUM };

/* The guest's header against the frame it heads (frame_len bytes) and
 * what was offered: a hostile header is refused, never passed on. */
static enum tx_verdict tx_check(const struct virtio_net *vn, const struct net_hdr *h,
				size_t frame_len)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint64_t offered = vn->ops.features;

	if (frame_len < VIRTIO_NET_MIN_FRAME)
		return TX_RUNT;
	if (frame_len > VIRTIO_NET_MAX_FRAME)
		return TX_GIANT;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if ((size_t)h->csum_start + h->csum_offset + 2 > frame_len)
			return TX_BAD_CSUM;
	}
	if (gso == VIRTIO_NET_HDR_GSO_NONE) {
		if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
			return TX_BAD_GSO;
		return TX_OK;
	}
	/* Segmentation: only what was offered (NetKVM uses HOST_TSO4
	 * without acknowledging it), and only with a checksum to fill. */
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && !(offered & BIT(VIRTIO_NET_F_HOST_TSO4)))
		return TX_BAD_GSO;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !(offered & BIT(VIRTIO_NET_F_HOST_TSO6)))
		return TX_BAD_GSO;
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return TX_BAD_GSO;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(offered & BIT(VIRTIO_NET_F_HOST_ECN)))
		return TX_BAD_GSO;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !h->gso_size || h->hdr_len > frame_len)
		return TX_BAD_GSO;
	return TX_OK;
}

/* The Internet checksum of [csum_start, end) stored at csum_start +
 * csum_offset (the pseudo-header sum is already there, as the spec has
 * it); tx_check made sure both lie inside the frame. */
static void sw_csum(uint8_t *f, size_t len, const struct net_hdr *h)
{
	uint32_t sum = 0;
	size_t i;

	for (i = h->csum_start; i + 1 < len; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	if (i < len)
		sum += (uint32_t)f[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	f[h->csum_start + h->csum_offset] = (uint8_t)(sum >> 8);
	f[h->csum_start + h->csum_offset + 1] = (uint8_t)sum;
}

static void count_verdict(struct virtio_net *vn, enum tx_verdict v)
{
	switch (v) {
	case TX_SHORT_HDR: vn->st.tx.drop_short_hdr++; break;
	case TX_RUNT: vn->st.tx.drop_runt++; break;
	case TX_GIANT: vn->st.tx.drop_giant++; break;
	case TX_BAD_GSO: vn->st.tx.drop_bad_gso++; break;
	case TX_BAD_CSUM: vn->st.tx.drop_bad_csum++; break;
	case TX_OK: break;
	}
}

/* One chain: header checked, frame sent (or dropped and counted). */
static void tx_one(struct virtio_net *vn, const struct iovec *iov, unsigned nr_out, uint32_t out_len)
{
	struct net_backend *be = vn->be;
	struct iovec send[MAX_IOV + 1];
	uint8_t raw[VIRTIO_NET_HDR_MRG_LEN] = {0};
	struct virtq_iter it;
	struct net_hdr h;
	enum tx_verdict v;
	size_t frame_len;
	unsigned nr = 0;
	ssize_t r;

	if (out_len < vn->hdr_len) {
		count_verdict(vn, TX_SHORT_HDR);
		return;
	}
	virtq_iter_init(&it, iov, nr_out);
	virtq_iter_take(&it, raw, vn->hdr_len);
	h = (struct net_hdr){raw[0], raw[1], le16_get(raw + 2), le16_get(raw + 4),
			     le16_get(raw + 6), le16_get(raw + 8)};
	frame_len = out_len - vn->hdr_len;
	v = tx_check(vn, &h, frame_len);
	if (v != TX_OK) {
		count_verdict(vn, v);
		return;
	}
	if (be->vnet_hdr) {
		/* Passed on as checked: only the flag the kernel takes, no
		 * num_buffers; in the backend's header length (10 or 12, the
		 * bytes past the guest's are zero). */
		raw[0] = h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
		if (vn->hdr_len == VIRTIO_NET_HDR_MRG_LEN)
			le16_put(raw + 10, 0);
		send[nr++] = (struct iovec){raw, be->hdr_len <= sizeof(raw) ? be->hdr_len : sizeof(raw)};
	}
	if (!be->vnet_hdr && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		virtq_iter_take(&it, vn->txbuf, frame_len);
		sw_csum(vn->txbuf, frame_len, &h);
		vn->st.tx.sw_csum++;
		send[nr++] = (struct iovec){vn->txbuf, frame_len};
	} else {
		unsigned n = 0;

		if (virtq_iter_slice(&it, frame_len, send + nr, MAX_IOV, &n) < 0) {
			virtq_iter_take(&it, vn->txbuf, frame_len);
			send[nr] = (struct iovec){vn->txbuf, frame_len};
			n = 1;
		}
		nr += n;
	}
	r = be->ops->send(be, send, nr);
	if (r < 0) {
		vn->st.tx.backend_errors++;
		if (r != -EAGAIN && r != -ENOBUFS)
			dev_log(vn->name, "send to %s: %s", be->name, strerror((int)-r));
		return;
	}
	vn->st.tx.packets++;
	vn->st.tx.bytes += frame_len;
}

/* Transmits what the ring holds (locked).  At most TX_BUDGET frames at a
 * time when there is a loop to come back on (the I/O thread must serve the
 * others too): the rest waits for the tx_more eventfd, kicks staying off. */
static void tx_run(struct virtio_net *vn)
{
	struct virtq *vq = virtio_pci_queue(vn->vp, VIRTIO_NET_Q_TX);
	unsigned budget = TX_BUDGET;
	bool pushed = false;

	/* As QEMU: the ring waits for DRIVER_OK (the transport kicks then). */
	if (vn->paused || vn->quiescing || !virtq_ready(vq) ||
	    !(virtio_pci_status(vn->vp) & VIRTIO_STATUS_DRIVER_OK))
		return;
	do {
		virtq_disable_notify(vq);
		for (;;) {
			struct iovec iov[MAX_IOV];
			struct virtq_chain c;
			int r;

			if (vn->tx_more >= 0 && !budget--) {
				uint64_t one = 1;

				if (write(vn->tx_more, &one, sizeof(one)) == sizeof(one)) {
					vn->st.tx.budget_yields++;
					goto out;
				}
			}
			r = virtq_pop(vq, &c, iov, MAX_IOV);
			if (r == 0)
				break; /* then notifications on, and a last look */
			if (r == -EPROTO)
				goto out;
			if (r == -EBADMSG)
				vn->st.tx.bad_chains++;
			else if (!c.nr_out)
				vn->st.tx.bad_chains++;
			else
				tx_one(vn, iov, c.nr_out, c.out_len);
			virtq_push(vq, c.head, 0);
			pushed = true;
		}
	} while (virtq_enable_notify(vq));
out:
	if (pushed)
		virtio_pci_queue_done(vn->vp, VIRTIO_NET_Q_TX);
	else
		virtio_pci_queue_check(vn->vp, VIRTIO_NET_Q_TX);
}

/* ---- control ---- */

static uint8_t ctrl_rx(struct virtio_net *vn, uint8_t cmd, struct virtq_iter *it)
{
	uint8_t on;

	if (!(vn->features & BIT(VIRTIO_NET_F_CTRL_RX)) || it->left != 1 ||
	    !virtq_iter_take(it, &on, 1))
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC:
		vn->promisc = on != 0;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_RX_ALLMULTI:
		vn->allmulti = on != 0;
		return VIRTIO_NET_OK;
	}
	return VIRTIO_NET_ERR; /* the CTRL_RX_EXTRA ones: not offered */
}

/* One table of the TABLE_SET command: le32 count, count MACs; the ones
 * that fit go to table[*at...], more set overflow.  False if malformed. */
static bool take_table(struct virtq_iter *it, uint8_t (*table)[6], unsigned *at,
		       unsigned *nr, bool *overflow)
{
	uint8_t b[4];
	uint32_t n;

	if (!virtq_iter_take(it, b, 4))
		return false;
	n = le32_get(b);
	if (n > it->left / 6)
		return false;
	*nr = 0;
	*overflow = false;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t mac[6];

		virtq_iter_take(it, mac, 6);
		if (*at < VIRTIO_NET_MAC_TABLE_ENTRIES) {
			memcpy(table[(*at)++], mac, 6);
			(*nr)++;
		} else {
			*overflow = true;
		}
	}
	return true;
}

static uint8_t ctrl_mac(struct virtio_net *vn, uint8_t cmd, struct virtq_iter *it)
{
	uint8_t table[VIRTIO_NET_MAC_TABLE_ENTRIES][6];
	unsigned at = 0, nu, nm;
	bool ou, om;

	if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
		uint8_t mac[6];

		if (!(vn->features & BIT(VIRTIO_NET_F_CTRL_MAC_ADDR)) || it->left != 6 ||
		    !virtq_iter_take(it, mac, 6))
			return VIRTIO_NET_ERR;
		memcpy(vn->mac, mac, 6);
		return VIRTIO_NET_OK;
	}
	if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || !(vn->features & BIT(VIRTIO_NET_F_CTRL_RX)))
		return VIRTIO_NET_ERR;
	if (!take_table(it, table, &at, &nu, &ou) || !take_table(it, table, &at, &nm, &om) ||
	    it->left)
		return VIRTIO_NET_ERR;
	/* A unicast entry in the multicast table (or the other way) is the
	 * guest's business; QEMU takes them as given. */
	memcpy(vn->table, table, sizeof(table));
	vn->nr_uni = nu;
	vn->nr_multi = nm;
	vn->uni_overflow = ou;
	vn->multi_overflow = om;
	return VIRTIO_NET_OK;
}

static void ctrl_run(struct virtio_net *vn)
{
	struct virtq *vq = virtio_pci_queue(vn->vp, VIRTIO_NET_Q_CTRL);
	bool pushed = false;

	if (vn->paused || vn->quiescing || !virtq_ready(vq))
		return;
	for (;;) {
		struct iovec iov[MAX_IOV];
		struct virtq_chain c;
		struct virtq_iter it;
		uint8_t hdr[2], ack = VIRTIO_NET_ERR;
		int r = virtq_pop(vq, &c, iov, MAX_IOV);

		if (r == 0 || r == -EPROTO)
			break;
		pushed = true;
		if (r == -EBADMSG || c.in_len < 1) {
			vn->st.ctrl.bad_chains++;
			virtq_push(vq, c.head, 0);
			continue;
		}
		vn->st.ctrl.commands++;
		virtq_iter_init(&it, iov, c.nr_out);
		if (virtq_iter_take(&it, hdr, 2)) {
			if (hdr[0] == VIRTIO_NET_CTRL_RX)
				ack = ctrl_rx(vn, hdr[1], &it);
			else if (hdr[0] == VIRTIO_NET_CTRL_MAC)
				ack = ctrl_mac(vn, hdr[1], &it);
		}
		vn->st.ctrl.errors += ack != VIRTIO_NET_OK;
		virtq_iov_write(iov + c.nr_out, c.nr_in, 0, &ack, 1);
		virtq_push(vq, c.head, 1);
	}
	if (pushed)
		virtio_pci_queue_done(vn->vp, VIRTIO_NET_Q_CTRL);
	else
		virtio_pci_queue_check(vn->vp, VIRTIO_NET_Q_CTRL);
}

static void vn_queue_notify(void *opaque, unsigned q, struct virtq *vq)
{
	struct virtio_net *vn = opaque;

	(void)vq;
	if (q == VIRTIO_NET_Q_RX)
		rx_run(vn); /* buffers came: read the backend again */
	else if (q == VIRTIO_NET_Q_TX)
		tx_run(vn);
	else if (q == VIRTIO_NET_Q_CTRL)
		ctrl_run(vn);
}

/* ---- life cycle ---- */

static void filter_reset(struct virtio_net *vn)
{
	vn->promisc = true; /* QEMU's, "for compatibility" */
	vn->allmulti = false;
	vn->uni_overflow = vn->multi_overflow = false;
	vn->nr_uni = vn->nr_multi = 0;
}

/* Unlocked: nothing here runs asynchronously; just stop receiving. */
static void vn_quiesce(void *opaque)
{
	struct virtio_net *vn = opaque;

	virtio_pci_lock(vn->vp);
	vn->quiescing = true;
	watch(vn, false);
	virtio_pci_unlock(vn->vp);
}

static void vn_reset(void *opaque)
{
	struct virtio_net *vn = opaque;

	vn->features = 0;
	vn->hdr_len = VIRTIO_NET_HDR_LEN;
	vn->quiescing = false;
	vn->stage_len = 0;
	vn->nr_held = 0;
	memcpy(vn->mac, vn->mac_cfg, 6);
	filter_reset(vn);
	watch(vn, false);
	apply_backend(vn);
}

static void vn_pause(void *opaque)
{
	struct virtio_net *vn = opaque;

	vn->paused = true;
	watch(vn, false);
}

static void vn_resume(void *opaque)
{
	struct virtio_net *vn = opaque;

	vn->paused = false;
	vn->quiescing = false;
	rx_run(vn);
	tx_run(vn);
}

static void vn_destroy(void *state)
{
	struct virtio_net *vn = state;

	if (!vn)
		return;
	if (vn->watching && vn->loop)
		event_loop_del_fd(vn->loop, vn->be->fd);
	if (vn->tx_more >= 0) {
		event_loop_del_fd(vn->loop, vn->tx_more);
		close(vn->tx_more);
	}
	virtio_pci_destroy(vn->vp);
	free(vn->stage);
	free(vn->txbuf);
	free(vn);
}

static void *vn_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
		       size_t errlen)
{
	const struct virtio_net_args *a = e->arg;
	const char *id = e->id ? e->id : "virtio-net";
	struct virtio_pci_config cfg = {.devfn = e->devfn, .id = e->id};
	struct virtio_net *vn;
	uint64_t f;

	uint8_t *rom = NULL;
	size_t rom_len = 0;

	if (!a || !a->backend) {
		snprintf(err, errlen, "%s: no network backend", id);
		return NULL;
	}
	if (a->rom_path) {
		char what[64];

		snprintf(what, sizeof(what), "%s: the option ROM", id);
		rom = pci_rom_read(a->rom_path, VIRTIO_NET_ROM_MAX, what, &rom_len, err, errlen);
		if (!rom)
			return NULL;
	}
	vn = calloc(1, sizeof(*vn));
	if (!vn)
		goto nomem;
	vn->be = a->backend;
	vn->tx_more = -1;
	vn->stage = malloc(STAGE_SIZE);
	vn->txbuf = malloc(VIRTIO_NET_MAX_FRAME);
	if (!vn->stage || !vn->txbuf)
		goto nomem;
	snprintf(vn->name, sizeof(vn->name), "%s", id);
	memcpy(vn->mac_cfg, a->mac, 6);
	memcpy(vn->mac, a->mac, 6);
	vn->link_up = true;
	vn->hdr_len = VIRTIO_NET_HDR_LEN;
	filter_reset(vn);
	f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
	    BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) |
	    BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	    BIT(VIRTIO_RING_F_EVENT_IDX);
	/* Offloads only when the backend finishes the frames (QEMU's
	 * virtio_net_get_features without a vnet header clears them all). */
	if (vn->be->vnet_hdr) {
		f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
		     BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN);
		if (vn->be->offloads & NET_OFFLOAD_CSUM) {
			f |= BIT(VIRTIO_NET_F_GUEST_CSUM);
			if (vn->be->offloads & NET_OFFLOAD_TSO4)
				f |= BIT(VIRTIO_NET_F_GUEST_TSO4);
			if (vn->be->offloads & NET_OFFLOAD_TSO6)
				f |= BIT(VIRTIO_NET_F_GUEST_TSO6);
			if (vn->be->offloads & NET_OFFLOAD_TSO_ECN)
				f |= BIT(VIRTIO_NET_F_GUEST_ECN);
		}
	}
	vn->ops = (struct virtio_dev_ops){
	    .name = "virtio-net",
	    .device_type = 1,
	    .class_code = 0x020000,
	    .features = f,
	    .num_queues = 3,
	    .queue_max = {VIRTIO_NET_QUEUE_SIZE, VIRTIO_NET_QUEUE_SIZE, VIRTIO_NET_CTRL_SIZE},
	    .config_size = VIRTIO_NET_CONFIG_SIZE,
	    .exit_queues = 1ULL << VIRTIO_NET_Q_CTRL,
	    .config_read = vn_config_read,
	    .config_write = vn_config_write,
	    .set_features = vn_set_features,
	    .queue_notify = vn_queue_notify,
	    .quiesce = vn_quiesce,
	    .reset = vn_reset,
	    .pause = vn_pause,
	    .resume = vn_resume,
	};
	cfg.transport = a->transport;
	apply_backend(vn);
	vn->vp = virtio_pci_create(ctx, &cfg, &vn->ops, vn, err, errlen);
	if (!vn->vp) {
		free(rom);
		vn_destroy(vn);
		return NULL;
	}
	/* iPXE for SeaBIOS to run and boot from (--boot order=n). */
	if (rom) {
		const uint8_t *c = pci_dev_config(virtio_pci_dev(vn->vp));

		pci_rom_patch_ids(rom, rom_len, (uint16_t)(c[0] | c[1] << 8),
				  (uint16_t)(c[2] | c[3] << 8));
	}
	if (rom && pci_dev_set_rom(virtio_pci_dev(vn->vp), rom, rom_len) < 0) {
		snprintf(err, errlen, "%s: the PCI core refused the option ROM %s", id,
			 a->rom_path);
		free(rom);
		vn_destroy(vn);
		return NULL;
	}
	free(rom);
	rom = NULL;
	/* The backend is watched once the driver is ready and posts buffers. */
	vn->loop = ctx->loop;
	if (vn->loop) {
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		if (fd < 0 || event_loop_add_fd(vn->loop, fd, EPOLLIN, tx_continue, vn) < 0) {
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "%s: cannot set up its transmit path", id);
			vn_destroy(vn);
			return NULL;
		}
		vn->tx_more = fd;
	}
	return vn;
nomem:
	snprintf(err, errlen, "%s: out of memory", id);
	free(rom);
	vn_destroy(vn);
	return NULL;
}

static void vn_dev_quiesce(void *state)
{
	virtio_pci_quiesce(((struct virtio_net *)state)->vp);
}

static void vn_dev_reset(void *state)
{
	virtio_pci_reset(((struct virtio_net *)state)->vp);
}

static void vn_dev_resume(void *state)
{
	virtio_pci_resume(((struct virtio_net *)state)->vp);
}

static void vn_dev_pause(void *state)
{
	virtio_pci_pause(((struct virtio_net *)state)->vp);
}

static void add_to_queue(json_t *queues, unsigned q, json_t *o)
{
	json_t *dst = json_array_get(queues, q);

	if (dst && o)
		json_object_update(dst, o);
	json_decref(o);
}

/* The stats hook: the transport's paths per queue (notifications and
 * interrupts by path), each queue with its role and its own counters. */
static json_t *vn_stats(void *state, bool reset)
{
	struct virtio_net *vn = state;
	json_t *j = virtio_pci_stats_json(vn->vp, reset);
	json_t *queues = json_object_get(j, "queues");
	struct virtio_net_stats st;

	virtio_pci_lock(vn->vp);
	st = vn->st;
	if (reset)
		memset(&vn->st, 0, sizeof(vn->st));
	virtio_pci_unlock(vn->vp);
	add_to_queue(queues, VIRTIO_NET_Q_RX,
		     json_pack("{s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "role", "rx",
			       "packets", (json_int_t)st.rx.packets, "bytes",
			       (json_int_t)st.rx.bytes, "ring_empty", (json_int_t)st.rx.ring_empty,
			       "drops", "too_big", (json_int_t)st.rx.drop_too_big, "filtered",
			       (json_int_t)st.rx.drop_filtered, "bad_frame",
			       (json_int_t)st.rx.drop_bad, "truncated", (json_int_t)st.rx.truncated,
			       "bad_chains", (json_int_t)st.rx.bad_chains, "backend_errors",
			       (json_int_t)st.rx.backend_errors));
	add_to_queue(queues, VIRTIO_NET_Q_TX,
		     json_pack("{s:s,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "role",
			       "tx", "packets", (json_int_t)st.tx.packets, "bytes",
			       (json_int_t)st.tx.bytes, "sw_csum", (json_int_t)st.tx.sw_csum,
			       "budget_yields", (json_int_t)st.tx.budget_yields,
			       "drops", "short_header", (json_int_t)st.tx.drop_short_hdr, "runt",
			       (json_int_t)st.tx.drop_runt, "giant", (json_int_t)st.tx.drop_giant,
			       "bad_gso", (json_int_t)st.tx.drop_bad_gso, "bad_csum",
			       (json_int_t)st.tx.drop_bad_csum, "bad_chains",
			       (json_int_t)st.tx.bad_chains, "backend_errors",
			       (json_int_t)st.tx.backend_errors));
	add_to_queue(queues, VIRTIO_NET_Q_CTRL,
		     json_pack("{s:s,s:I,s:I,s:I}", "role", "ctrl", "commands",
			       (json_int_t)st.ctrl.commands, "errors", (json_int_t)st.ctrl.errors,
			       "bad_chains", (json_int_t)st.ctrl.bad_chains));
	json_object_set_new(j, "backend", json_string(vn->be->name));
	return j;
}

const struct device_type virtio_net_type = {
    .name = "virtio-net",
    .stats = vn_stats,
    .create = vn_create,
    .quiesce = vn_dev_quiesce,
    .reset = vn_dev_reset,
    .resume = vn_dev_resume,
    .pause = vn_dev_pause,
    .destroy = vn_destroy,
};

void virtio_net_get_stats(struct virtio_net *vn, struct virtio_net_stats *st)
{
	virtio_pci_lock(vn->vp);
	*st = vn->st;
	virtio_pci_unlock(vn->vp);
}

void virtio_net_get_filter(struct virtio_net *vn, struct virtio_net_filter *f)
{
	virtio_pci_lock(vn->vp);
	*f = (struct virtio_net_filter){
		.promisc = vn->promisc,
		.allmulti = vn->allmulti,
		.uni_overflow = vn->uni_overflow,
		.multi_overflow = vn->multi_overflow,
		.nr_uni = vn->nr_uni,
		.nr_multi = vn->nr_multi,
	};
	memcpy(f->mac, vn->mac, 6);
	memcpy(f->table, vn->table, sizeof(f->table));
	virtio_pci_unlock(vn->vp);
}

void virtio_net_set_link(struct virtio_net *vn, bool up)
{
	virtio_pci_lock(vn->vp);
	if (vn->link_up != up) {
		vn->link_up = up;
		virtio_pci_config_changed(vn->vp);
		rx_run(vn);
	}
	virtio_pci_unlock(vn->vp);
}

bool virtio_net_link(struct virtio_net *vn)
{
	bool up;

	virtio_pci_lock(vn->vp);
	up = vn->link_up;
	virtio_pci_unlock(vn->vp);
	return up;
}

bool virtio_net_rx_watching(struct virtio_net *vn)
{
	bool w;

	virtio_pci_lock(vn->vp);
	w = vn->watching;
	virtio_pci_unlock(vn->vp);
	return w;
}

struct virtio_pci *virtio_net_transport(struct virtio_net *vn)
{
	return vn->vp;
}
