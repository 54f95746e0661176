// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * virtio-net (devices/virtio/virtio_net.c) on the real transport and PCI
 * core, with rings in a fake guest RAM (tests/unit/fake_virtio_driver.c)
 * and a socketpair as the backend (one frame per message, with or without
 * vnet headers).  The test plays NetKVM on the legacy register file and
 * Linux on both interfaces; the backend's readable events are delivered by
 * calling virtio_net_backend_readable() (no event loop).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/unit/fake_virtio_driver.h"
#include "vmm/loop.h"
#include "vmm/net_backend.h"

#define RAM_SIZE (8u << 20)
#define DEVFN	 PCI_DEVFN(3, 0)
#define PFN0	 0x100
#define BUF	 0x200000u

#define F(b)	      (1ULL << (b))
#define F_MRG	      F(VIRTIO_NET_F_MRG_RXBUF)
#define F_CTRL	      (F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX))
#define F_MACADDR     F(VIRTIO_NET_F_CTRL_MAC_ADDR)
#define W	      VIRTQ_DESC_F_WRITE
#define RX	      VIRTIO_NET_Q_RX
#define TX	      VIRTIO_NET_Q_TX
#define CTRL	      VIRTIO_NET_Q_CTRL

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t OTHER[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
static const uint8_t MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

static struct fvd d;
static struct virtio_net *vn;
static struct net_backend *be;
static int peer = -1;
static uint64_t next_buf;

static int setup(void **state)
{
	(void)state;
	fvd_init(&d, RAM_SIZE, DEVFN);
	vn = NULL;
	peer = -1;
	next_buf = BUF;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (vn)
		virtio_net_type.destroy(vn);
	net_backend_close(be);
	be = NULL;
	if (peer >= 0)
		close(peer);
	fvd_fini(&d);
	return 0;
}

static void make_on(enum virtio_transport t, bool vnet, struct event_loop *loop)
{
	struct dev_ctx ctx = fvd_ctx(&d, loop);
	struct virtio_net_args a = {.transport = t};
	struct board_entry e = {.type = &virtio_net_type, .id = "net0", .devfn = DEVFN, .irq = -1,
				.arg = &a};
	char err[128];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	net_backend_close(be);
	be = a.backend = net_backend_socket(sv[0], vnet);
	assert_non_null(a.backend);
	memcpy(a.mac, MAC, 6);
	peer = sv[1];
	vn = virtio_net_type.create(&ctx, &e, err, sizeof(err));
	assert_non_null(vn);
	pci_bus_seal(d.pci);
}

static void make(enum virtio_transport t, bool vnet)
{
	make_on(t, vnet, NULL);
}

static uint64_t alloc(uint32_t len)
{
	uint64_t at = next_buf;

	next_buf = (next_buf + len + 63) & ~63ULL;
	assert_true(next_buf < RAM_SIZE);
	return at;
}

/* ---- frames ---- */

static size_t frame(uint8_t *f, const uint8_t *dst, size_t len, uint8_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, OTHER, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
	return len;
}

/* The backend side sends one frame (a zero vnet header first if hlen). */
static void peer_send(const uint8_t *dst, size_t len, unsigned hlen, uint8_t seed)
{
	static uint8_t buf[VIRTIO_NET_MAX_FRAME + 12];

	memset(buf, 0, hlen);
	frame(buf + hlen, dst, len, seed);
	assert_int_equal(send(peer, buf, hlen + len, 0), (ssize_t)(hlen + len));
}

static ssize_t peer_recv(uint8_t *buf, size_t len)
{
	return recv(peer, buf, len, MSG_DONTWAIT);
}

/* ---- identity and config ---- */

static void test_ids(void **state)
{
	(void)state;
	make(VIRTIO_TRANSPORT_TRANSITIONAL, false);
	assert_int_equal(fvd_cfg_r(&d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(fvd_cfg_r(&d, PCI_DEVICE_ID, 2), 0x1000);
	assert_int_equal(fvd_cfg_r(&d, PCI_SUBSYSTEM_VENDOR, 2), 0x1af4);
	assert_int_equal(fvd_cfg_r(&d, PCI_SUBSYSTEM_ID, 2), 1);
	assert_int_equal(fvd_cfg_r(&d, PCI_REVISION_ID, 1), 0);
	assert_int_equal(fvd_cfg_r(&d, PCI_CLASS_DEVICE, 2), 0x0200);
}

static void test_features_follow_backend(void **state)
{
	uint64_t f;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	f = fvd_features(&d);
	assert_true(f & F(VIRTIO_NET_F_MAC));
	assert_true(f & F(VIRTIO_NET_F_STATUS));
	assert_true(f & F_MRG);
	assert_true(f & F(VIRTIO_NET_F_CTRL_VQ));
	assert_true(f & F(VIRTIO_NET_F_CTRL_RX));
	assert_false(f & F(VIRTIO_NET_F_CTRL_RX_EXTRA));
	assert_false(f & F(VIRTIO_NET_F_CSUM));
	assert_false(f & F(VIRTIO_NET_F_GUEST_CSUM));
	assert_false(f & F(VIRTIO_NET_F_HOST_TSO4));
	assert_false(f & F(VIRTIO_NET_F_GUEST_TSO4));
	assert_false(f & F(VIRTIO_NET_F_MQ));
	virtio_net_type.destroy(vn);
	close(peer);
	fvd_new_bus(&d);
	make(VIRTIO_TRANSPORT_LEGACY, true);
	f = fvd_features(&d);
	for (unsigned b = VIRTIO_NET_F_CSUM; b <= VIRTIO_NET_F_HOST_ECN; b++)
		if (b != 2 && b != 3 && b != 4 && b != 5 && b != 6 && b != VIRTIO_NET_F_GUEST_UFO)
			assert_true(f & F(b));
	assert_false(f & F(VIRTIO_NET_F_HOST_UFO));
	assert_false(f & F(VIRTIO_NET_F_GUEST_UFO));
}

static void test_config_mac_link(void **state)
{
	(void)state;
	make(VIRTIO_TRANSPORT_TRANSITIONAL, false);
	fvd_legacy_up(&d, 0, 3, PFN0, true);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(fvd_devcfg(&d, i, 1), MAC[i]);
	assert_int_equal(fvd_devcfg(&d, 6, 2), 1);
	fvd_isr(&d);
	virtio_net_set_link(vn, false);
	assert_int_equal(fvd_isr(&d), 3);
	assert_int_equal(fvd_devcfg(&d, 6, 2), 0);
	assert_false(virtio_net_link(vn));
	virtio_net_set_link(vn, true);
	assert_int_equal(fvd_isr(&d), 3);
	assert_int_equal(fvd_devcfg(&d, 6, 2), 1);
}

/* ---- transmit ---- */

struct hdr {
	uint8_t flags, gso;
	uint16_t hdr_len, gso_size, csum_start, csum_off;
};

/* One TX chain: the header in its own descriptor (NetKVM), the frame. */
static void tx(const struct hdr *h, unsigned hlen, const uint8_t *f, size_t len)
{
	uint64_t hg = alloc(12), fg = alloc((uint32_t)len);
	struct fvd_seg s[2] = {{hg, hlen, 0}, {fg, (uint32_t)len, 0}};
	uint8_t raw[12] = {h->flags, h->gso};

	memcpy(raw + 2, &h->hdr_len, 2);
	memcpy(raw + 4, &h->gso_size, 2);
	memcpy(raw + 6, &h->csum_start, 2);
	memcpy(raw + 8, &h->csum_off, 2);
	memcpy(d.ram + hg, raw, hlen);
	memcpy(d.ram + fg, f, len);
	fvd_chain(&d, TX, s, len ? 2 : 1);
	fvd_kick(&d, TX);
}

static void test_tx_plain(void **state)
{
	uint8_t f[100], got[200];
	struct hdr h = {0};
	struct virtio_net_stats st;
	uint32_t id, len;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, 0, 3, PFN0, true);
	frame(f, OTHER, sizeof(f), 7);
	tx(&h, 10, f, sizeof(f));
	assert_int_equal(fvd_used_idx(&d, TX), 1);
	fvd_used_elem(&d, TX, 0, &id, &len);
	assert_int_equal(len, 0);
	assert_int_equal(peer_recv(got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.tx.packets, 1);
	assert_int_equal(st.tx.bytes, sizeof(f));
}

/* After a transmit run the driver is asked to kick again (no NO_NOTIFY
 * left behind: a Linux driver would never kick again). */
static void test_tx_kicks_wanted_after(void **state)
{
	uint8_t f[60], got[100];
	struct hdr h = {0};

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, 0, 3, PFN0, true);
	frame(f, OTHER, sizeof(f), 1);
	for (int i = 0; i < 3; i++) {
		tx(&h, 10, f, sizeof(f));
		assert_int_equal(fvd_get16(&d, d.ring[TX].used) & VIRTQ_USED_F_NO_NOTIFY, 0);
		assert_int_equal(peer_recv(got, sizeof(got)), sizeof(f));
	}
}

static void *loop_main(void *loop)
{
	event_loop_run(loop);
	return NULL;
}

/* 200 frames at once go 128 at a time (the device's TX_BUDGET): the first
 * part in the kick, the rest on the I/O thread after the loop's next turn. */
static void test_tx_budget(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct virtio_net_stats st;
	uint8_t f[60], got[100];
	uint64_t hg, fg;
	pthread_t th;
	unsigned n = 0;

	(void)state;
	assert_non_null(loop);
	make_on(VIRTIO_TRANSPORT_LEGACY, false, loop);
	fvd_legacy_up(&d, 0, 3, PFN0, true);
	frame(f, OTHER, sizeof(f), 1);
	hg = alloc(12);
	fg = alloc(sizeof(f));
	memcpy(d.ram + fg, f, sizeof(f));
	memset(d.ram + hg, 0, 12);
	for (unsigned i = 0; i < 200; i++) {
		struct fvd_seg s[2] = {{hg, 10, 0}, {fg, sizeof(f), 0}};

		fvd_chain(&d, TX, s, 2);
	}
	assert_int_equal(pthread_create(&th, NULL, loop_main, loop), 0);
	fvd_kick(&d, TX);
	for (int spin = 0; spin < 2000 && fvd_used_idx(&d, TX) != 200; spin++) {
		while (peer_recv(got, sizeof(got)) > 0)
			n++;
		usleep(1000);
	}
	while (peer_recv(got, sizeof(got)) > 0)
		n++;
	event_loop_stop(loop);
	pthread_join(th, NULL);
	assert_int_equal(fvd_used_idx(&d, TX), 200);
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.tx.packets + st.tx.backend_errors, 200);
	assert_true(st.tx.budget_yields >= 1);
	assert_int_equal(n, st.tx.packets);
	virtio_net_type.destroy(vn);
	vn = NULL;
	event_loop_free(loop);
}

static void test_tx_vnet_header_passed(void **state)
{
	uint8_t f[200], got[300];
	struct hdr h = {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 34, 16};

	(void)state;
	make(VIRTIO_TRANSPORT_TRANSITIONAL, true);
	/* NetKVM: no guest feature but MRG_RXBUF, TSO used unacknowledged. */
	fvd_legacy_up(&d, (uint32_t)F_MRG, 3, PFN0, true);
	frame(f, OTHER, sizeof(f), 1);
	tx(&h, 12, f, sizeof(f));
	assert_int_equal(peer_recv(got, sizeof(got)), 12 + sizeof(f));
	assert_int_equal(got[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(got[1], VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(got[2] | got[3] << 8, 54);
	assert_int_equal(got[4] | got[5] << 8, 1448);
	assert_int_equal(got[10] | got[11] << 8, 0);
	assert_memory_equal(got + 12, f, sizeof(f));
}

/* Every gso/csum combination against a backend with vnet headers and one
 * without: what passes, and which counter a refused one lands in. */
static void test_tx_header_matrix(void **state)
{
	static const uint8_t gsos[] = {VIRTIO_NET_HDR_GSO_NONE,
				       VIRTIO_NET_HDR_GSO_TCPV4,
				       VIRTIO_NET_HDR_GSO_UDP,
				       VIRTIO_NET_HDR_GSO_TCPV6,
				       2,
				       5,
				       0x7f,
				       VIRTIO_NET_HDR_GSO_ECN,
				       VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
				       VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
				       VIRTIO_NET_HDR_GSO_UDP | VIRTIO_NET_HDR_GSO_ECN};

	(void)state;
	for (int vnet = 0; vnet < 2; vnet++) {
		if (vn) {
			virtio_net_type.destroy(vn);
			close(peer);
			fvd_new_bus(&d);
		}
		make(VIRTIO_TRANSPORT_LEGACY, vnet);
		fvd_legacy_up(&d, 0, 3, PFN0, true);
		for (size_t g = 0; g < sizeof(gsos); g++) {
			for (int csum = 0; csum < 4; csum++) {
				uint8_t f[300], got[400];
				struct virtio_net_stats a, b;
				/* csum: 0 none, 1 inside, 2 offset past the end, 3 start past the end */
				struct hdr h = {csum ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0, gsos[g], 54,
						1448, csum == 3 ? 400 : 34, csum == 2 ? 300 : 16};
				uint8_t base = gsos[g] & 0x7f;
				bool ecn = gsos[g] & 0x80;
				bool ok_gso = base == 0 ? !ecn
							: vnet && (base == 1 || base == 4) && csum == 1;
				bool ok = ok_gso && (csum < 2);
				ssize_t n;

				frame(f, OTHER, sizeof(f), (uint8_t)g);
				virtio_net_get_stats(vn, &a);
				tx(&h, 10, f, sizeof(f));
				virtio_net_get_stats(vn, &b);
				n = peer_recv(got, sizeof(got));
				if (ok) {
					assert_int_equal(n, (vnet ? 10 : 0) + (ssize_t)sizeof(f));
					assert_int_equal(b.tx.packets, a.tx.packets + 1);
				} else {
					if (n >= 0)
						fail_msg("vnet %d gso 0x%x csum %d: sent", vnet,
							 gsos[g], csum);
					assert_int_equal(b.tx.packets, a.tx.packets);
					if (csum >= 2)
						assert_int_equal(b.tx.drop_bad_csum,
								 a.tx.drop_bad_csum + 1);
					else
						assert_int_equal(b.tx.drop_bad_gso,
								 a.tx.drop_bad_gso + 1);
				}
			}
		}
		/* Every chain came back used. */
		assert_int_equal(fvd_used_idx(&d, TX), sizeof(gsos) * 4);
	}
}

static void test_tx_sw_checksum(void **state)
{
	uint8_t f[64], got[100];
	/* a checksum over bytes 34.. stored at 50 */
	struct hdr h = {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16};
	uint32_t sum = 0;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, 0, 3, PFN0, true);
	frame(f, OTHER, sizeof(f), 3);
	f[50] = f[51] = 0;
	tx(&h, 10, f, sizeof(f));
	assert_int_equal(peer_recv(got, sizeof(got)), sizeof(f));
	for (size_t i = 34; i < sizeof(f); i += 2)
		sum += (uint32_t)got[i] << 8 | got[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff); /* the sum over the filled field folds to all ones */
}

static void test_tx_short_runt_giant(void **state)
{
	static uint8_t big[VIRTIO_NET_MAX_FRAME + 1];
	uint8_t f[14], got[64];
	struct hdr h = {0};
	struct virtio_net_stats st;
	uint64_t hg;
	struct fvd_seg s[1];

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, 0, 3, PFN0, true);
	frame(f, OTHER, sizeof(f), 0);
	tx(&h, 10, f, 13); /* runt: 13 bytes */
	frame(big, OTHER, sizeof(big), 0);
	tx(&h, 10, big, sizeof(big)); /* giant */
	hg = alloc(8);
	s[0] = (struct fvd_seg){hg, 8, 0}; /* shorter than the header */
	fvd_chain(&d, TX, s, 1);
	fvd_kick(&d, TX);
	s[0] = (struct fvd_seg){hg, 64, W}; /* only writable: not a frame */
	fvd_chain(&d, TX, s, 1);
	fvd_kick(&d, TX);
	assert_true(peer_recv(got, sizeof(got)) < 0);
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.tx.drop_runt, 1);
	assert_int_equal(st.tx.drop_giant, 1);
	assert_int_equal(st.tx.drop_short_hdr, 1);
	assert_int_equal(st.tx.bad_chains, 1);
	assert_int_equal(st.tx.packets, 0);
	assert_int_equal(fvd_used_idx(&d, TX), 4);
}

/* ---- receive ---- */

/* One writable buffer (mergeable layout), or header + data (NetKVM
 * without MRG_RXBUF). */
static uint64_t rx_post(uint32_t len)
{
	uint64_t g = alloc(len);
	struct fvd_seg s = {g, len, W};

	memset(d.ram + g, 0xee, len);
	fvd_chain(&d, RX, &s, 1);
	return g;
}

static uint64_t rx_post2(uint32_t hlen, uint32_t len)
{
	uint64_t g = alloc(hlen + len);
	struct fvd_seg s[2] = {{g, hlen, W}, {g + hlen, len, W}};

	fvd_chain(&d, RX, s, 2);
	return g;
}

static void test_rx_not_before_driver_ok(void **state)
{
	uint64_t g;
	uint32_t id, len;
	uint8_t f[100];

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	/* NetKVM: buffers posted and kicked before DRIVER_OK. */
	fvd_legacy_up(&d, 0, 3, PFN0, false);
	g = rx_post2(10, 1514);
	fvd_kick(&d, RX);
	peer_send(MAC, 100, 0, 9);
	virtio_net_backend_readable(vn);
	assert_int_equal(fvd_used_idx(&d, RX), 0);
	assert_false(virtio_net_rx_watching(vn));
	fvd_driver_ok(&d);
	assert_int_equal(fvd_used_idx(&d, RX), 1);
	fvd_used_elem(&d, RX, 0, &id, &len);
	assert_int_equal(len, 10 + 100);
	frame(f, MAC, 100, 9);
	assert_memory_equal(d.ram + g + 10, f, 100);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(d.ram[g + i], 0);
}

static void test_rx_dry_ring_stops_and_resumes(void **state)
{
	struct virtio_net_stats st;
	uint32_t id, len;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, (uint32_t)F_MRG, 3, PFN0, true);
	/* No buffers: the backend is not read, the frames wait there. */
	peer_send(MAC, 60, 0, 1);
	peer_send(MAC, 61, 0, 2);
	virtio_net_backend_readable(vn);
	assert_false(virtio_net_rx_watching(vn));
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.rx.ring_empty, 1);
	assert_int_equal(st.rx.packets, 0);
	/* Kicks are wanted now (no NO_NOTIFY). */
	assert_int_equal(fvd_get16(&d, d.ring[RX].used) & VIRTQ_USED_F_NO_NOTIFY, 0);
	rx_post(1526);
	fvd_kick(&d, RX);
	assert_int_equal(fvd_used_idx(&d, RX), 1);
	fvd_used_elem(&d, RX, 0, &id, &len);
	assert_int_equal(len, 12 + 60);
	/* One buffer, two frames: dry again, stopped again. */
	assert_false(virtio_net_rx_watching(vn));
	rx_post(1526);
	rx_post(1526);
	fvd_kick(&d, RX);
	assert_int_equal(fvd_used_idx(&d, RX), 2);
	fvd_used_elem(&d, RX, 1, &id, &len);
	assert_int_equal(len, 12 + 61);
	/* The backend is empty, buffers are left: it is read again. */
	assert_true(virtio_net_rx_watching(vn));
	peer_send(MAC, 62, 0, 3);
	virtio_net_backend_readable(vn);
	assert_int_equal(fvd_used_idx(&d, RX), 3);
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.rx.packets, 3);
	assert_int_equal(st.rx.ring_empty, 2);
}

static void test_rx_too_big_without_mrg(void **state)
{
	struct virtio_net_stats st;
	uint32_t id, len;
	uint64_t g;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, 0, 3, PFN0, true);
	g = rx_post2(10, 1000);
	fvd_kick(&d, RX);
	peer_send(MAC, 1001, 0, 1); /* one byte too many */
	peer_send(MAC, 1000, 0, 2);
	virtio_net_backend_readable(vn);
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.rx.drop_too_big, 1);
	assert_int_equal(fvd_used_idx(&d, RX), 1);
	fvd_used_elem(&d, RX, 0, &id, &len);
	assert_int_equal(len, 1010);
	assert_int_equal(d.ram[g + 10 + 20], (uint8_t)(2 + 20));
}

static void test_rx_mergeable_spans(void **state)
{
	uint64_t g[4];
	uint8_t f[1400];
	uint32_t id, len, total = 0;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, (uint32_t)F_MRG, 3, PFN0, true);
	g[0] = rx_post(512);
	g[1] = rx_post(512);
	fvd_kick(&d, RX);
	peer_send(MAC, sizeof(f), 0, 5);
	virtio_net_backend_readable(vn);
	/* 12 + 1400 needs three 512-byte buffers: two held, waiting. */
	assert_int_equal(fvd_used_idx(&d, RX), 0);
	assert_false(virtio_net_rx_watching(vn));
	g[2] = rx_post(512);
	g[3] = rx_post(512);
	fvd_kick(&d, RX);
	assert_int_equal(fvd_used_idx(&d, RX), 3);
	assert_int_equal(fvd_get16(&d, g[0] + 10), 3); /* num_buffers */
	frame(f, MAC, sizeof(f), 5);
	assert_memory_equal(d.ram + g[0] + 12, f, 500);
	assert_memory_equal(d.ram + g[1], f + 500, 512);
	assert_memory_equal(d.ram + g[2], f + 1012, 388);
	for (uint16_t i = 0; i < 3; i++) {
		fvd_used_elem(&d, RX, i, &id, &len);
		total += len;
	}
	assert_int_equal(total, 12 + sizeof(f));
}

static void test_rx_modern_header(void **state)
{
	uint64_t g;
	uint32_t id, len;

	(void)state;
	make(VIRTIO_TRANSPORT_MODERN, false);
	/* VERSION_1 without MRG_RXBUF: a 12-byte header, num_buffers 1. */
	fvd_modern_up(&d, 0, 3, PFN0, true);
	g = rx_post(1526);
	fvd_kick(&d, RX);
	peer_send(MAC, 80, 0, 4);
	virtio_net_backend_readable(vn);
	assert_int_equal(fvd_used_idx(&d, RX), 1);
	fvd_used_elem(&d, RX, 0, &id, &len);
	assert_int_equal(len, 92);
	assert_int_equal(fvd_get16(&d, g + 10), 1);
}

static void test_rx_vnet_header_kept(void **state)
{
	uint8_t buf[12 + 80] = {VIRTIO_NET_HDR_F_DATA_VALID};
	uint64_t g;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, true);
	fvd_legacy_up(&d, (uint32_t)(F_MRG | F(VIRTIO_NET_F_GUEST_CSUM)), 3, PFN0, true);
	g = rx_post(1526);
	fvd_kick(&d, RX);
	frame(buf + 12, MAC, 80, 0);
	assert_int_equal(send(peer, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	virtio_net_backend_readable(vn);
	assert_int_equal(fvd_used_idx(&d, RX), 1);
	assert_int_equal(d.ram[g], VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(fvd_get16(&d, g + 10), 1);
	/* A backend frame shorter than its header and an Ethernet header. */
	rx_post(1526);
	assert_int_equal(send(peer, buf, 12 + 13, 0), 25);
	virtio_net_backend_readable(vn);
	assert_int_equal(fvd_used_idx(&d, RX), 1);
}

/* The other end goes away: counted once, not read again (no spin on EOF). */
static void test_rx_backend_gone(void **state)
{
	struct virtio_net_stats st;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, (uint32_t)F_MRG, 3, PFN0, true);
	rx_post(1526);
	fvd_kick(&d, RX);
	assert_true(virtio_net_rx_watching(vn));
	close(peer);
	peer = -1;
	virtio_net_backend_readable(vn);
	assert_false(virtio_net_rx_watching(vn));
	rx_post(1526);
	fvd_kick(&d, RX);
	virtio_net_backend_readable(vn);
	assert_false(virtio_net_rx_watching(vn));
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.rx.backend_errors, 1);
	assert_int_equal(fvd_used_idx(&d, RX), 0);
}

/* ---- the control queue ---- */

static uint8_t ctrl(uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	uint64_t hg = alloc(2), dg = alloc(len ? len : 1), ag = alloc(1);
	struct fvd_seg s[3] = {{hg, 2, 0}, {dg, len, 0}, {ag, 1, W}};
	uint16_t u = fvd_used_idx(&d, CTRL);
	uint32_t id, ulen;

	d.ram[hg] = class;
	d.ram[hg + 1] = cmd;
	if (len)
		memcpy(d.ram + dg, data, len);
	d.ram[ag] = 0xee;
	if (len) {
		fvd_chain(&d, CTRL, s, 3);
	} else {
		s[1] = s[2];
		fvd_chain(&d, CTRL, s, 2);
	}
	fvd_kick(&d, CTRL);
	/* Answered before the kick returned. */
	assert_int_equal(fvd_used_idx(&d, CTRL), (uint16_t)(u + 1));
	fvd_used_elem(&d, CTRL, u, &id, &ulen);
	assert_int_equal(ulen, 1);
	return d.ram[ag];
}

static bool delivered(const uint8_t *dst)
{
	uint16_t u = fvd_used_idx(&d, RX);

	rx_post(1526);
	peer_send(dst, 64, 0, 0);
	virtio_net_backend_readable(vn);
	return fvd_used_idx(&d, RX) != u;
}

static void test_ctrl_rx_filter(void **state)
{
	uint8_t on = 1, off = 0;
	uint8_t table[4 + 6 + 4 + 6];
	struct virtio_net_filter flt;
	struct virtio_net_stats st;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, (uint32_t)(F_MRG | F_CTRL | F_MACADDR), 3, PFN0, true);
	/* Promiscuous at start (QEMU's default). */
	assert_true(delivered(OTHER));
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
			 VIRTIO_NET_OK);
	assert_false(delivered(OTHER));
	assert_true(delivered(MAC));
	assert_false(delivered(MCAST));
	assert_true(delivered((const uint8_t *)"\xff\xff\xff\xff\xff\xff"));
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
			 VIRTIO_NET_OK);
	assert_true(delivered(MCAST));
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &off, 1),
			 VIRTIO_NET_OK);
	/* MAC table: OTHER as unicast, MCAST as multicast. */
	memcpy(table, "\x01\0\0\0", 4);
	memcpy(table + 4, OTHER, 6);
	memcpy(table + 10, "\x01\0\0\0", 4);
	memcpy(table + 14, MCAST, 6);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
			      sizeof(table)),
			 VIRTIO_NET_OK);
	assert_true(delivered(OTHER));
	assert_true(delivered(MCAST));
	virtio_net_get_filter(vn, &flt);
	assert_int_equal(flt.nr_uni, 1);
	assert_int_equal(flt.nr_multi, 1);
	/* A table whose counts lie: refused, the old one stays. */
	memcpy(table + 10, "\x05\0\0\0", 4);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
			      sizeof(table)),
			 VIRTIO_NET_ERR);
	assert_true(delivered(OTHER));
	/* MAC_ADDR_SET moves our own address (and config). */
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
			      "\x52\x54\x00\x01\x02\x03", 6),
			 VIRTIO_NET_OK);
	assert_int_equal(fvd_devcfg(&d, 5, 1), 3);
	assert_true(delivered((const uint8_t *)"\x52\x54\x00\x01\x02\x03"));
	assert_false(delivered(MAC));
	/* Bad commands: unknown class, RX_EXTRA commands not offered, a
	 * command of the wrong length, no data at all. */
	assert_int_equal(ctrl(9, 0, &on, 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, 2, &on, 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, table, 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0),
			 VIRTIO_NET_ERR);
	virtio_net_get_stats(vn, &st);
	assert_int_equal(st.ctrl.errors, 5);
	assert_true(st.rx.drop_filtered >= 3);
	/* A reset brings the power-on MAC and promiscuous mode back. */
	fvd_io_w(&d, VIRTIO_PCI_STATUS, 0, 1);
	assert_int_equal(fvd_devcfg(&d, 5, 1), MAC[5]);
	virtio_net_get_filter(vn, &flt);
	assert_true(flt.promisc);
	assert_int_equal(flt.nr_uni, 0);
}

static void test_ctrl_not_negotiated(void **state)
{
	uint8_t off = 0;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	fvd_legacy_up(&d, (uint32_t)F_MRG, 3, PFN0, true);
	/* NetKVM sets queue 2 up whatever CTRL_VQ says: commands are refused. */
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
			 VIRTIO_NET_ERR);
	assert_true(delivered(OTHER));
}

static void test_stats_json(void **state)
{
	json_t *j;

	(void)state;
	make(VIRTIO_TRANSPORT_LEGACY, false);
	j = virtio_net_type.stats(vn, false);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "queues")), 3);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(j, "queues"), 0),
					      "role")),
	    "rx");
	assert_non_null(
	    json_object_get(json_array_get(json_object_get(j, "queues"), 0), "ring_empty"));
	assert_non_null(json_object_get(json_array_get(json_object_get(j, "queues"), 1), "drops"));
	json_decref(j);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ids),
		T(test_features_follow_backend),
		T(test_config_mac_link),
		T(test_tx_plain),
		T(test_tx_kicks_wanted_after),
		T(test_tx_budget),
		T(test_tx_vnet_header_passed),
		T(test_tx_header_matrix),
		T(test_tx_sw_checksum),
		T(test_tx_short_runt_giant),
		T(test_rx_not_before_driver_ok),
		T(test_rx_dry_ring_stops_and_resumes),
		T(test_rx_too_big_without_mrg),
		T(test_rx_mergeable_spans),
		T(test_rx_modern_header),
		T(test_rx_vnet_header_kept),
		T(test_rx_backend_gone),
		T(test_ctrl_rx_filter),
		T(test_ctrl_not_negotiated),
		T(test_stats_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
