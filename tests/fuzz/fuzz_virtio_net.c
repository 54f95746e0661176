// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: virtio-net (devices/virtio/virtio_net.c) as a hostile guest
 * drives it, shaped like fuzz_virtio_blk.c.  Each input picks a transport
 * and a backend with or without vnet headers (a socketpair), then is a
 * program against a fresh PCI bus holding the real device: PCI config and
 * BAR accesses of any size, bytes, descriptors, virtio-net headers and
 * control commands written into guest memory, kicks of every queue (the
 * transmit and control paths), frames of any length and header pushed in
 * from the backend side and the backend's readable event, link changes,
 * legacy PFN writes, pauses, resumes and machine resets.
 *
 * Checked, abort() on a violation (ASan and UBSan do the rest):
 * - every frame the device hands the backend is an Ethernet frame (14 to
 *   VIRTIO_NET_MAX_FRAME bytes after the header), and with vnet headers
 *   its header has only NEEDS_CSUM, a gso type the device offered, and
 *   csum_start/offset and hdr_len inside the frame;
 * - nothing is received before the driver first set DRIVER_OK;
 * - every frame that reached the backend is counted as sent, and no more
 *   frames reach the guest than the backend side sent;
 * - after a machine reset no queue is set up and the status is 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_virtio_ops.h"
#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/guest_mem.h"
#include "vmm/net_backend.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_virtio_net: %s:%d: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define RAM_SIZE   0x40000u /* 256 KiB: rings and buffers anywhere in it */
#define DEVFN	   PCI_DEVFN(3, 0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static struct guest_mem mem;
static unsigned long steps, kicks, sent, received, readables;
static uint8_t frame_buf[VIRTIO_NET_MAX_FRAME + 64];

/* What reached the backend: each frame checked against the header length
 * the device set on the backend. */
static unsigned drain_peer(int peer, const struct net_backend *be)
{
	size_t hl = be->vnet_hdr ? be->hdr_len : 0;
	unsigned n = 0;
	ssize_t r;

	while ((r = recv(peer, frame_buf, sizeof(frame_buf), MSG_DONTWAIT)) >= 0) {
		size_t len;

		n++;
		CHECK((size_t)r >= hl);
		len = (size_t)r - hl;
		CHECK(len >= VIRTIO_NET_MIN_FRAME);
		CHECK(len <= VIRTIO_NET_MAX_FRAME);
		if (hl) {
			uint8_t gso = frame_buf[1] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
			uint16_t hdr_len = (uint16_t)(frame_buf[2] | frame_buf[3] << 8);
			uint16_t cs = (uint16_t)(frame_buf[6] | frame_buf[7] << 8);
			uint16_t co = (uint16_t)(frame_buf[8] | frame_buf[9] << 8);

			CHECK((frame_buf[0] & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0);
			CHECK(gso == VIRTIO_NET_HDR_GSO_NONE || gso == VIRTIO_NET_HDR_GSO_TCPV4 ||
			      gso == VIRTIO_NET_HDR_GSO_TCPV6);
			if (gso != VIRTIO_NET_HDR_GSO_NONE)
				CHECK(hdr_len <= len && (frame_buf[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM));
			else
				CHECK(!(frame_buf[1] & VIRTIO_NET_HDR_GSO_ECN));
			if (frame_buf[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM)
				CHECK((size_t)cs + co + 2 <= len);
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	struct bus *pio, *mmio;
	struct pci_bus *pci;
	struct dev_ctx ctx;
	struct virtio_net_args a = {.mac = {0x52, 0x54, 0, 0x12, 0x34, 0x56}};
	struct board_entry e = {.type = &virtio_net_type, .id = "nfuzz", .devfn = DEVFN, .irq = -1};
	struct virtio_net *vn;
	struct virtio_pci *vp;
	struct net_backend *be;
	struct virtio_net_stats st;
	struct fuzz_virtio_env env;
	char err[128];
	unsigned budget = 4096, to_peer = 0, sent_run = 0;
	bool vnet, driver_ok_seen = false;
	uint8_t mode;
	int sv[2];

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		CHECK(ram);
	}
	fuzz_virtio_env_init(&env, &mem, ram, RAM_SIZE, DEVFN);
	pio = env.pio;
	mmio = env.mmio;
	pci = env.pci;
	ctx = (struct dev_ctx){.pio = pio, .mmio = mmio, .pci = pci, .mem = &mem};

	mode = in_u8(&in);
	vnet = mode & 0x80;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	be = net_backend_socket(sv[0], vnet);
	CHECK(be);
	a.backend = be;
	a.transport = (enum virtio_transport)(mode % 3);
	e.arg = &a;
	vn = virtio_net_type.create(&ctx, &e, err, sizeof(err));
	CHECK(vn);
	vp = virtio_net_transport(vn);
	pci_bus_seal(pci);

	while (in.pos < in.len && budget--) {
		uint8_t op = in_u8(&in);

		steps++;
		kicks += (op & 0xf) == 15;
		if (fuzz_virtio_op(&env, op, &in))
			goto checks;
		switch (op & 0xf) {
		case 7: { /* a virtio-net header: where, flags, gso, hdr_len, size, csum */
			uint8_t h[12];
			uint64_t where = (uint64_t)in_u16(&in) << 2;

			h[0] = in_u8(&in);
			h[1] = in_u8(&in);
			for (unsigned i = 2; i < 12; i += 2) {
				uint16_t x = op & 0x40 ? in_u16(&in) : in_u8(&in);

				memcpy(h + i, &x, 2);
			}
			fuzz_virtio_put(&env, where, h, 12);
			break;
		}
		case 9: { /* a frame from the backend side: length, header, byte */
			size_t hl = vnet ? be->hdr_len : 0;
			size_t len = in_u16(&in);
			uint8_t fill = in_u8(&in);

			if (op & 0x40)
				len = len * 2 + 1;
			if (len > sizeof(frame_buf))
				len = sizeof(frame_buf);
			memset(frame_buf, fill, len);
			if (len >= 2)
				frame_buf[1] = in_u8(&in);
			/* mostly to our own MAC, so that the filter lets it in */
			if (!(op & 0x80) && len >= hl + 6)
				memcpy(frame_buf + hl, a.mac, 6);
			if (send(sv[1], frame_buf, len, MSG_DONTWAIT) >= 0)
				to_peer++;
			break;
		}
		case 11: /* pause / resume, link down / up */
			switch ((op >> 6) & 3) {
			case 0: virtio_net_type.pause(vn); break;
			case 1: virtio_net_type.resume(vn); break;
			case 2: virtio_net_set_link(vn, false); break;
			default: virtio_net_set_link(vn, true); break;
			}
			break;
		case 12: /* machine reset */
			virtio_net_type.quiesce(vn);
			pci_bus_reset(pci);
			virtio_net_type.reset(vn);
			virtio_pci_lock(vp);
			for (unsigned q = 0; q < 3; q++)
				CHECK(virtio_pci_queue(vp, q)->size == 0);
			CHECK(virtio_pci_status(vp) == 0);
			virtio_pci_unlock(vp);
			virtio_net_type.resume(vn);
			break;
		case 14: /* the backend is readable */
			readables++;
			virtio_net_backend_readable(vn);
			break;
		}
checks:
		if (virtio_pci_status(vp) & VIRTIO_STATUS_DRIVER_OK)
			driver_ok_seen = true;
		virtio_net_get_stats(vn, &st);
		if (!driver_ok_seen)
			CHECK(st.rx.packets == 0);
		sent_run += drain_peer(sv[1], be);
	}
	virtio_net_type.quiesce(vn);
	virtio_net_get_stats(vn, &st);
	received += st.rx.packets;
	sent_run += drain_peer(sv[1], be);
	sent += sent_run;
	CHECK(st.tx.packets == sent_run);
	CHECK(st.rx.packets <= to_peer);
	virtio_net_type.destroy(vn);
	net_backend_close(be);
	close(sv[1]);
	fuzz_virtio_env_fini(&env);
	return 0;
}

#ifdef FUZZ_STANDALONE

#define NR_SEEDS 3

static void pfn(struct fuzz_seed *s, uint8_t q, uint8_t page)
{
	fvs_io_w(s, 1, VIRTIO_PCI_QUEUE_SEL, q);
	fvs_put(s, (uint8_t[]){13, page}, 2);
}

static void net_hdr(struct fuzz_seed *s, uint32_t where, uint8_t flags, uint8_t gso,
		    uint8_t hdr_len, uint8_t gso_size, uint8_t cs, uint8_t co)
{
	uint16_t w = (uint16_t)(where >> 2);

	fvs_put(s, (uint8_t[]){7}, 1);
	fvs_put(s, &w, 2);
	fvs_put(s, (uint8_t[]){flags, gso, hdr_len, gso_size, cs, co, 0}, 7);
}

/* NetKVM-like bring-up: RX at page 0x10, TX at 0x14, CTRL at 0x18, RX
 * buffers posted and kicked before DRIVER_OK. */
static void seed_build(unsigned which, struct fuzz_seed *s)
{
	s->len = 0;
	fvs_op(s, which == 1 ? 0x80 : which == 2 ? 2 : 0);
	fvs_op(s, 8);
	fvs_io_w(s, 0, VIRTIO_PCI_STATUS, 0);
	fvs_io_w(s, 0, VIRTIO_PCI_STATUS, 3);
	fvs_io_w(s, 2, VIRTIO_PCI_GUEST_FEATURES,
	     which == 0 ? 0 : (1u << VIRTIO_NET_F_MRG_RXBUF) | (1u << VIRTIO_NET_F_CTRL_VQ) |
				  (1u << VIRTIO_NET_F_CTRL_RX));
	pfn(s, 0, 0x10);
	pfn(s, 1, 0x14);
	pfn(s, 2, 0x18);
	/* two RX buffers of 1526 bytes at 0x30000 */
	fvs_desc(s, 0x10, 0, 0x30000, 1526, VIRTQ_DESC_F_WRITE, 0);
	fvs_desc(s, 0x10, 1, 0x30800, 1526, VIRTQ_DESC_F_WRITE, 0);
	fvs_avail(s, 0x10, 0, 0, 1);
	fvs_avail(s, 0x10, 1, 1, 2);
	fvs_io_w(s, 1, VIRTIO_PCI_QUEUE_NOTIFY, 0);
	/* a frame waiting in the backend, before DRIVER_OK */
	fvs_put(s, (uint8_t[]){9, 100, 0, 0xab, 0}, 5);
	fvs_op(s, 14);
	fvs_io_w(s, 0, VIRTIO_PCI_STATUS, 7);
	fvs_op(s, 14);
	/* TX: header at 0x20000, frame at 0x21000 (the header's own descriptor) */
	net_hdr(s, 0x20000, which == 1 ? 1 : 0, which == 1 ? 1 : 0, 54, 200, 34, 16);
	fvs_desc(s, 0x14, 0, 0x20000, which == 0 ? 10 : 12, VIRTQ_DESC_F_NEXT, 1);
	fvs_desc(s, 0x14, 1, 0x21000, 300, 0, 0);
	fvs_avail(s, 0x14, 0, 0, 1);
	fvs_io_w(s, 1, VIRTIO_PCI_QUEUE_NOTIFY, 1);
	/* control: PROMISC off */
	fvs_put(s, (uint8_t[]){5}, 1);
	fvs_put(s, &(uint16_t){0x22000 / 4}, 2);
	fvs_put(s, &(uint32_t){0x0000}, 4);
	fvs_desc(s, 0x18, 0, 0x22000, 2, VIRTQ_DESC_F_NEXT, 1);
	fvs_desc(s, 0x18, 1, 0x22004, 1, VIRTQ_DESC_F_NEXT, 2);
	fvs_desc(s, 0x18, 2, 0x22008, 1, VIRTQ_DESC_F_WRITE, 0);
	fvs_put(s, (uint8_t[]){0x1a}, 1); /* avail of a 64-entry queue differs: raw bytes */
	fvs_put(s, (uint8_t[]){0x40 | 11}, 1);
	fvs_io_w(s, 1, VIRTIO_PCI_QUEUE_NOTIFY, 2);
	fvs_op(s, 0x80 | 11);
	fvs_op(s, 0xc0 | 11);
	fvs_op(s, 12);
}

/* Values the mutations plant. */
static const uint32_t interesting[] = {
	0, 1, 2, 3, 4, 7, 10, 12, 13, 14, 0x80, 0x81, 0x84, 0x5ea, 0xffff, 0x10000, 0x10010,
	0xffffffffu
};

static const struct fuzz_target target = {
    .name = "fuzz_virtio_net",
    .seed_prefix = "virtio-net-seed-",
    .nr_seeds = NR_SEEDS,
    .seed_build = seed_build,
};

int main(int argc, char **argv)
{
	fuzz_standalone_begin(&target, argc, argv);
	fuzz_run_mutations(&target, interesting, sizeof(interesting) / sizeof(interesting[0]),
			   4000);
	printf("fuzz_virtio_net: %lu inputs, %lu steps, %lu kicks, %lu readable events, %lu "
	       "frames to the backend, %lu to the guest, no violation\n",
	       fuzz_runs(), steps, kicks, readables, sent, received);
	return 0;
}
#endif
