/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net (virtio 1.x §5.1) on the virtio PCI transport, transitional
 * by default (1af4:1000, subsystem 1af4:0001, revision 0, class 0x020000),
 * one receive/transmit pair and a control queue:
 *   0 receive, 1 transmit (256 entries), 2 control (64).
 * Multiqueue is not offered yet (one pair whatever the backend).
 *
 * Features: MAC, STATUS, MRG_RXBUF, CTRL_VQ, CTRL_RX (promiscuous and
 * all-multicast), CTRL_MAC_ADDR, INDIRECT_DESC, EVENT_IDX; with a backend
 * that takes vnet headers also CSUM, GUEST_CSUM, HOST_TSO4/6/ECN and
 * GUEST_TSO4/6/ECN (QEMU's rule: NetKVM uses CSUM and HOST_TSO4 without
 * acknowledging them, so they are honoured whenever offered).
 *
 * Config (8 bytes): mac[6], status (le16, bit 0 link up).
 *
 * Receive: nothing before DRIVER_OK; while the receive ring is empty the
 * backend is not read (its fd is off in the loop) until the driver kicks
 * the queue again; without MRG_RXBUF a frame that does not fit the chain
 * at the head of the ring is dropped (counted), with it a frame spans up
 * to 64 chains and num_buffers says how many.  The MAC filter starts
 * promiscuous, as QEMU's.
 * Transmit: each chain's header is checked (gso type and size, hdr_len,
 * csum_start/offset inside the frame) and frames shorter than an Ethernet
 * header or longer than 65535 + 14 + 4 bytes are dropped and counted.
 * Without vnet headers a NEEDS_CSUM frame gets its checksum here.
 * Control: answered inside the notify exit (the queue has no ioeventfd).
 */
#ifndef MINIVMM_VIRTIO_NET_H
#define MINIVMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "vmm/device.h"

struct net_backend;

/* Feature bits (§5.1.3) */
#define VIRTIO_NET_F_CSUM	   0
#define VIRTIO_NET_F_GUEST_CSUM	   1
#define VIRTIO_NET_F_MAC	   5
#define VIRTIO_NET_F_GUEST_TSO4	   7
#define VIRTIO_NET_F_GUEST_TSO6	   8
#define VIRTIO_NET_F_GUEST_ECN	   9
#define VIRTIO_NET_F_GUEST_UFO	   10
#define VIRTIO_NET_F_HOST_TSO4	   11
#define VIRTIO_NET_F_HOST_TSO6	   12
#define VIRTIO_NET_F_HOST_ECN	   13
#define VIRTIO_NET_F_HOST_UFO	   14
#define VIRTIO_NET_F_MRG_RXBUF	   15
#define VIRTIO_NET_F_STATUS	   16
#define VIRTIO_NET_F_CTRL_VQ	   17
#define VIRTIO_NET_F_CTRL_RX	   18
#define VIRTIO_NET_F_CTRL_VLAN	   19
#define VIRTIO_NET_F_CTRL_RX_EXTRA 20
#define VIRTIO_NET_F_MQ		   22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

/* virtio_net_hdr */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP	    3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN	    0x80
#define VIRTIO_NET_HDR_LEN	    10 /* legacy without MRG_RXBUF */
#define VIRTIO_NET_HDR_MRG_LEN	    12 /* with num_buffers: MRG_RXBUF or VERSION_1 */

/* Control queue (§5.1.6.5) */
#define VIRTIO_NET_OK			0
#define VIRTIO_NET_ERR			1
#define VIRTIO_NET_CTRL_RX		0
#define VIRTIO_NET_CTRL_RX_PROMISC	0
#define VIRTIO_NET_CTRL_RX_ALLMULTI	1
#define VIRTIO_NET_CTRL_MAC		1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET	0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET	1
#define VIRTIO_NET_MAC_TABLE_ENTRIES	64 /* QEMU's */

#define VIRTIO_NET_Q_RX	      0
#define VIRTIO_NET_Q_TX	      1
#define VIRTIO_NET_Q_CTRL     2
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_CTRL_SIZE  64
#define VIRTIO_NET_MAX_FRAME  (65535 + 14 + 4) /* a 64 KiB GSO frame, VLAN tag */
#define VIRTIO_NET_MIN_FRAME  14	       /* an Ethernet header */
#define VIRTIO_NET_MRG_MAX    64	       /* chains one received frame may span */
#define VIRTIO_NET_CONFIG_SIZE 8

/* The board's configuration of one NIC (board row .arg). */
struct virtio_net_args {
	struct net_backend *backend; /* the caller's; it outlives the device */
	uint8_t mac[6];
	enum virtio_transport transport;
	const char *rom_path; /* an option ROM for the ROM BAR (iPXE), or NULL */
};

/* The largest option ROM a NIC takes. */
#define VIRTIO_NET_ROM_MAX (1u << 20)

/* Board row: .devfn -1 (the next option slot), .irq -1, .arg a const
 * struct virtio_net_args *. */
extern const struct device_type virtio_net_type;

struct virtio_net;

struct virtio_net_rx_stats {
	uint64_t packets, bytes;
	uint64_t ring_empty;	/* the ring ran dry: the backend stopped being read */
	uint64_t drop_too_big;	/* did not fit the buffer (no MRG_RXBUF) */
	uint64_t drop_filtered; /* refused by the MAC filter */
	uint64_t drop_bad;	/* from the backend: shorter than its header or a frame */
	uint64_t truncated;	/* needed more than VIRTIO_NET_MRG_MAX chains */
	uint64_t bad_chains;	/* refused by the queue, or without room for a header */
	uint64_t backend_errors;
};
struct virtio_net_tx_stats {
	uint64_t packets, bytes;
	uint64_t drop_short_hdr; /* shorter than the virtio header */
	uint64_t drop_runt;	 /* frame shorter than an Ethernet header */
	uint64_t drop_giant;	 /* longer than VIRTIO_NET_MAX_FRAME */
	uint64_t drop_bad_gso;	 /* gso type, size or hdr_len the device cannot take */
	uint64_t drop_bad_csum;	 /* csum_start/offset outside the frame */
	uint64_t bad_chains;	 /* refused by the queue, or with writable parts only */
	uint64_t backend_errors; /* the backend refused the frame */
	uint64_t sw_csum;	 /* checksums filled in here (no vnet headers) */
	uint64_t budget_yields;	 /* the rest of the ring left for the loop's next turn */
};
struct virtio_net_ctrl_stats {
	uint64_t commands, errors; /* errors: answered VIRTIO_NET_ERR */
	uint64_t bad_chains;	   /* no room for the ack: pushed unanswered */
};
struct virtio_net_stats {
	struct virtio_net_rx_stats rx;
	struct virtio_net_tx_stats tx;
	struct virtio_net_ctrl_stats ctrl;
};
/* Any thread (takes the transport lock). */
void virtio_net_get_stats(struct virtio_net *vn, struct virtio_net_stats *st);

/* The receive filter as the driver set it (QMP query-rx-filter's words). */
struct virtio_net_filter {
	bool promisc, allmulti;
	bool uni_overflow, multi_overflow;
	unsigned nr_uni, nr_multi;
	uint8_t mac[6];
	uint8_t table[VIRTIO_NET_MAC_TABLE_ENTRIES][6]; /* nr_uni unicast, then multicast */
};
void virtio_net_get_filter(struct virtio_net *vn, struct virtio_net_filter *f);

/* Link state (STATUS, a configuration interrupt on change); up at start. */
void virtio_net_set_link(struct virtio_net *vn, bool up);
bool virtio_net_link(struct virtio_net *vn);

/* What the loop calls when the backend's fd is readable (tests call it
 * directly); and whether the backend is being read now. */
void virtio_net_backend_readable(struct virtio_net *vn);
bool virtio_net_rx_watching(struct virtio_net *vn);

/* For tests: the transport. */
struct virtio_pci *virtio_net_transport(struct virtio_net *vn);

#endif
