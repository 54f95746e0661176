// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The user-mode backend's glue (vmm/net_slirp.c) with libslirp, without a
 * running loop: the test is the NIC (send/recv on the backend) and turns
 * the loop's crank itself (net_slirp_poll, the pre-poll hook's work) on a
 * fake clock.  QEMU's addresses answer ARP (gateway .2, DNS .3); a hostfwd
 * connection from the host makes slirp look for the guest at .15; bad
 * options and a port in use are one-line errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/fake_timer.h"
#include "vmm/loop.h"
#include "vmm/net_backend.h"
#include "vmm/net_slirp.h"

/* No loop here: the backend must not touch one. */
int event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events, event_fd_fn fn,
		      void *opaque)
{
	fail_msg("event_loop_add_fd without a loop");
	return -1;
}

void event_loop_del_fd(struct event_loop *loop, int fd)
{
}

int event_loop_mod_fd(struct event_loop *loop, int fd, uint32_t events)
{
	return 0;
}

int event_loop_add_prepoll(struct event_loop *loop, event_prepoll_fn fn, void *opaque)
{
	fail_msg("event_loop_add_prepoll without a loop");
	return -1;
}

int event_loop_del_prepoll(struct event_loop *loop, event_prepoll_fn fn, void *opaque)
{
	return 0;
}

static const uint8_t GUEST_MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static ssize_t send_frame(struct net_backend *nb, const uint8_t *f, size_t len)
{
	struct iovec iov = {(void *)f, len};

	return nb->ops->send(nb, &iov, 1);
}

/* An ARP request from the guest (10.0.2.15) for ip. */
static size_t arp_request(uint8_t *f, const char *ip)
{
	struct in_addr a, me;

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, GUEST_MAC, 6);
	f[12] = 0x08, f[13] = 0x06;
	f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
	memcpy(f + 22, GUEST_MAC, 6);
	inet_pton(AF_INET, "10.0.2.15", &me);
	memcpy(f + 28, &me, 4);
	inet_pton(AF_INET, ip, &a);
	memcpy(f + 38, &a, 4);
	return 60;
}

/* Turns the crank until a frame comes (up to ~200 ms): its length or 0. */
static size_t wait_frame(struct net_backend *nb, uint8_t *buf, size_t len)
{
	for (int i = 0; i < 200; i++) {
		ssize_t r;

		net_slirp_poll(nb);
		r = nb->ops->recv(nb, buf, len);
		if (r > 0)
			return (size_t)r;
		assert_int_equal(r, -EAGAIN);
		fake_clock_advance(1000000);
		usleep(1000);
	}
	return 0;
}

static void test_arp_gateway_and_dns(void **state)
{
	struct net_slirp_opts o = {0};
	struct net_slirp_stats st;
	struct net_backend *nb;
	char err[256];
	uint8_t f[64], r[2048];
	static const char *const ips[] = {"10.0.2.2", "10.0.2.3"};

	(void)state;
	nb = net_slirp_open(NULL, &o, err, sizeof(err));
	assert_non_null(nb);
	assert_false(nb->vnet_hdr);
	assert_true(nb->fd >= 0);
	for (unsigned i = 0; i < 2; i++) {
		struct in_addr a;
		size_t n;

		assert_int_equal(send_frame(nb, f, arp_request(f, ips[i])), 60);
		n = wait_frame(nb, r, sizeof(r));
		assert_true(n >= 42);
		assert_memory_equal(r, GUEST_MAC, 6);		      /* to the guest */
		assert_int_equal(r[12] << 8 | r[13], 0x0806);	      /* ARP */
		assert_int_equal(r[20] << 8 | r[21], 2);	      /* a reply */
		assert_memory_equal(r + 22, "\x52\x55\x0a\x00\x02", 5); /* slirp's MACs */
		inet_pton(AF_INET, ips[i], &a);
		assert_memory_equal(r + 28, &a, 4);
	}
	/* nothing more waits: the fd is not readable */
	assert_int_equal(nb->ops->recv(nb, r, sizeof(r)), -EAGAIN);
	net_slirp_get_stats(nb, &st);
	assert_int_equal(st.tx_frames, 2);
	assert_int_equal(st.rx_frames, 2);
	net_backend_close(nb);
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* A host connection to a hostfwd port: slirp accepts it (its listening
 * socket came through the poll set) and looks for the guest at .15. */
static void test_hostfwd(void **state)
{
	char spec[64], err[256];
	struct net_slirp_opts o = {.hostfwd = {spec}, .nr_hostfwd = 1};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct net_backend *nb, *nb2;
	struct in_addr guest;
	uint8_t r[2048];
	size_t n;
	int port = free_port(), c;

	(void)state;
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d-:22", port);
	nb = net_slirp_open(NULL, &o, err, sizeof(err));
	assert_non_null(nb);
	/* the same port again: in use */
	nb2 = net_slirp_open(NULL, &o, err, sizeof(err));
	assert_null(nb2);
	assert_non_null(strstr(err, "hostfwd="));
	assert_non_null(strstr(err, "cannot listen"));
	assert_null(strchr(err, '\n'));
	a.sin_port = htons((uint16_t)port);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c >= 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	n = wait_frame(nb, r, sizeof(r));
	assert_true(n >= 42);
	assert_int_equal(r[12] << 8 | r[13], 0x0806); /* who has 10.0.2.15? */
	assert_int_equal(r[20] << 8 | r[21], 1);
	inet_pton(AF_INET, "10.0.2.15", &guest);
	assert_memory_equal(r + 38, &guest, 4);
	close(c);
	net_backend_close(nb);
}

/* Whether something listens on 127.0.0.1:port now. */
static bool listening(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int c = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	assert_true(c >= 0);
	ok = connect(c, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(c);
	return ok;
}

/* hostfwd_add / hostfwd_remove at run time (HMP's words): a listener comes
 * and goes; a rule in use, a malformed one and one not there are refused
 * with QEMU's texts. */
static void test_hostfwd_add_remove(void **state)
{
	struct net_slirp_opts o = {0};
	char add[64], rm[64], err[256];
	struct net_backend *nb;
	int port = free_port();

	(void)state;
	nb = net_slirp_open(NULL, &o, err, sizeof(err));
	assert_non_null(nb);
	assert_true(net_backend_is_slirp(nb));
	snprintf(add, sizeof(add), "tcp:127.0.0.1:%d-:22", port);
	snprintf(rm, sizeof(rm), "tcp:127.0.0.1:%d", port);
	assert_false(listening(port));
	assert_int_equal(net_slirp_hostfwd_add(nb, add, err, sizeof(err)), 0);
	assert_true(listening(port));
	assert_int_equal(net_slirp_hostfwd_add(nb, add, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot listen"));
	assert_int_equal(net_slirp_hostfwd_add(nb, "tcp:1.2.3:80-:22", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not [tcp|udp]"));
	assert_int_equal(net_slirp_hostfwd_remove(nb, rm, err, sizeof(err)), 0);
	assert_false(listening(port));
	assert_int_equal(net_slirp_hostfwd_remove(nb, rm, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not found"));
	assert_int_equal(net_slirp_hostfwd_remove(nb, "sctp:1", err, sizeof(err)), -1);
	assert_string_equal(err, "invalid format");
	assert_int_equal(net_slirp_hostfwd_remove(nb, "tcp::99999", err, sizeof(err)), -1);
	assert_string_equal(err, "invalid format");
	net_backend_close(nb);
}

static void test_bad_options(void **state)
{
	static const struct {
		struct net_slirp_opts o;
		const char *word;
	} bad[] = {
		{{.net = "10.0.2.0/33"}, "prefix"},
		{{.net = "10.0.2"}, "not an IPv4 network"},
		{{.dns = "10.0.3.3"}, "outside the network"},
		{{.dns = "x"}, "not an IPv4 address"},
		{{.hostfwd = {"tcp:1.2.3:80-:22"}, .nr_hostfwd = 1}, "hostfwd="},
		{{.hostfwd = {"sctp::80-:22"}, .nr_hostfwd = 1}, "hostfwd="},
		{{.hostfwd = {"tcp::80-:0"}, .nr_hostfwd = 1}, "hostfwd="},
		{{.hostfwd = {"tcp::70000-:22"}, .nr_hostfwd = 1}, "hostfwd="},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_null(net_slirp_open(NULL, &bad[i].o, err, sizeof(err)));
		if (!strstr(err, bad[i].word))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].word);
	}
	/* net= moves every address with it */
	{
		struct net_slirp_opts o = {.net = "192.168.76.0/24"};
		struct net_backend *nb = net_slirp_open(NULL, &o, err, sizeof(err));
		uint8_t f[64], r[2048];
		struct in_addr me, gw;

		assert_non_null(nb);
		arp_request(f, "192.168.76.2");
		inet_pton(AF_INET, "192.168.76.15", &me);
		memcpy(f + 28, &me, 4);
		assert_int_equal(send_frame(nb, f, 60), 60);
		assert_true(wait_frame(nb, r, sizeof(r)) >= 42);
		inet_pton(AF_INET, "192.168.76.2", &gw);
		assert_memory_equal(r + 28, &gw, 4);
		net_backend_close(nb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_gateway_and_dns),
		cmocka_unit_test(test_hostfwd),
		cmocka_unit_test(test_hostfwd_add_remove),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
