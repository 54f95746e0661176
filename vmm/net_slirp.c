// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The user-mode backend (net_slirp.h) over libslirp 4.7.
 *
 * Every libslirp call runs on the I/O thread: the event loop's pre-poll
 * hook hands slirp the revents of the fds it asked for last time
 * (slirp_pollfds_poll after a poll() that does not wait) and then asks for
 * the next set (slirp_pollfds_fill), which is mirrored into the loop's
 * epoll with a callback that does nothing (the wakeup is all it is for);
 * libslirp's timers are vm_timers.  The NIC talks to it from any thread
 * through two queues under one mutex: frames from the guest wait in the
 * transmit queue until the loop thread (woken by an eventfd) feeds them to
 * slirp_input; frames from slirp wait in the receive queue, and the
 * backend's fd (another eventfd) is readable while it holds any.
 */
#include "vmm/net_slirp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <slirp/libslirp.h>

#include "vmm/loop.h"
#include "vmm/net_backend.h"
#include "vmm/timer.h"

#define QUEUE_MAX 256 /* frames each way; beyond that they are dropped (TCP retries) */
#define MAX_POLL  1024

struct frame {
	struct frame *next;
	size_t len;
	uint8_t data[];
};

struct fqueue {
	struct frame *head, *tail;
	unsigned n;
};

struct net_slirp {
	struct net_backend nb; /* first: the NIC's view */
	struct event_loop *loop;
	struct in_addr guest_default; /* a hostfwd without GUESTADDR: the first DHCP address */
	Slirp *slirp;
	pthread_mutex_t lock; /* the two queues */
	struct fqueue rx, tx;
	int tx_kick;		       /* eventfd: frames wait in tx */
	struct pollfd pfd[MAX_POLL];   /* what slirp asked for last */
	unsigned npfd;
	int watched[MAX_POLL];	       /* fds in the loop for slirp */
	unsigned nwatched;
	struct net_slirp_stats st;
};

struct slirp_timer {
	struct net_slirp *ns;
	struct vm_timer *t;
	SlirpTimerCb cb;
	void *cb_opaque;
};

static bool q_push(struct fqueue *q, const void *p, size_t len)
{
	struct frame *f;

	if (q->n >= QUEUE_MAX || !(f = malloc(sizeof(*f) + len)))
		return false;
	f->next = NULL;
	f->len = len;
	memcpy(f->data, p, len);
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->n++;
	return true;
}

static struct frame *q_pop(struct fqueue *q)
{
	struct frame *f = q->head;

	if (f) {
		q->head = f->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
	}
	return f;
}

static void q_free(struct fqueue *q)
{
	struct frame *f;

	while ((f = q_pop(q)))
		free(f);
}

static void kick(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("minivmm: net user: eventfd");
}

static void drain_eventfd(int efd)
{
	uint64_t n;

	if (read(efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		perror("minivmm: net user: eventfd");
}

/* ---- the NIC's side (any thread) ---- */

static ssize_t ns_send(struct net_backend *nb, const struct iovec *iov, unsigned n)
{
	struct net_slirp *ns = (struct net_slirp *)nb;
	uint8_t buf[65536 + 64];
	size_t len = 0;
	bool ok;

	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len > sizeof(buf) - len)
			return -EMSGSIZE;
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	pthread_mutex_lock(&ns->lock);
	ok = q_push(&ns->tx, buf, len);
	if (ok && ns->tx.n == 1)
		kick(ns->tx_kick);
	if (!ok)
		ns->st.tx_dropped++;
	pthread_mutex_unlock(&ns->lock);
	return ok ? (ssize_t)len : -ENOBUFS;
}

static ssize_t ns_recv(struct net_backend *nb, void *buf, size_t len)
{
	struct net_slirp *ns = (struct net_slirp *)nb;
	struct frame *f;
	ssize_t r;

	pthread_mutex_lock(&ns->lock);
	f = q_pop(&ns->rx);
	if (!ns->rx.n)
		drain_eventfd(ns->nb.fd); /* not readable while empty */
	pthread_mutex_unlock(&ns->lock);
	if (!f)
		return -EAGAIN;
	r = (ssize_t)(f->len < len ? f->len : len);
	memcpy(buf, f->data, (size_t)r);
	free(f);
	return r;
}

/* ---- libslirp's callbacks (the loop thread) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *ns = opaque;
	bool ok;

	pthread_mutex_lock(&ns->lock);
	ok = q_push(&ns->rx, buf, len);
	if (ok && ns->rx.n == 1)
		kick(ns->nb.fd);
	if (ok)
		ns->st.rx_frames++;
	else
		ns->st.rx_dropped++;
	pthread_mutex_unlock(&ns->lock);
	return (ssize_t)len; /* a drop is not an error (TCP retries) */
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct net_slirp *ns = opaque;

	ns->st.guest_errors++;
	(void)msg; /* guest-triggered: counted, not logged */
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return (int64_t)vm_clock_ns();
}

static void timer_fired(void *opaque)
{
	struct slirp_timer *t = opaque;

	t->cb(t->cb_opaque);
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	*t = (struct slirp_timer){opaque, NULL, cb, cb_opaque};
	t->t = vm_timer_new(((struct net_slirp *)opaque)->loop, timer_fired, t);
	if (!t->t) {
		free(t);
		return NULL;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_timer *t = timer;

	(void)opaque;
	if (t) {
		vm_timer_free(t->t);
		free(t);
	}
}

/* expire_time: milliseconds on the clock above */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	struct slirp_timer *t = timer;

	(void)opaque;
	vm_timer_mod(t->t, expire_time < 0 ? 0 : (uint64_t)expire_time * 1000000ULL);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	(void)opaque; /* the pre-poll hook runs before every wait anyway */
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_register_poll_fd,
	.notify = cb_notify,
};

/* ---- the loop ---- */

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *ns = opaque;
	short ev = 0;

	if (ns->npfd == MAX_POLL)
		return -1;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	ns->pfd[ns->npfd] = (struct pollfd){.fd = fd, .events = ev};
	return (int)ns->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *ns = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (unsigned)idx >= ns->npfd)
		return 0;
	r = ns->pfd[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void nothing(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
}

static uint32_t to_epoll(short ev)
{
	return (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0) |
	       (ev & POLLPRI ? EPOLLPRI : 0);
}

/* The loop watches exactly the fds slirp asked for (a no-op callback: the
 * next pre-poll hands them to slirp). */
static void mirror(struct net_slirp *ns)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < ns->nwatched; i++) {
		bool still = false;

		for (unsigned j = 0; j < ns->npfd && !still; j++)
			still = ns->pfd[j].fd == ns->watched[i];
		if (still)
			ns->watched[kept++] = ns->watched[i];
		else
			event_loop_del_fd(ns->loop, ns->watched[i]);
	}
	ns->nwatched = kept;
	for (unsigned j = 0; j < ns->npfd; j++) {
		bool have = false;

		for (unsigned i = 0; i < ns->nwatched && !have; i++)
			have = ns->watched[i] == ns->pfd[j].fd;
		if (have) {
			event_loop_mod_fd(ns->loop, ns->pfd[j].fd, to_epoll(ns->pfd[j].events));
		} else if (ns->nwatched < MAX_POLL &&
			   event_loop_add_fd(ns->loop, ns->pfd[j].fd, to_epoll(ns->pfd[j].events),
					     nothing, ns) == 0) {
			ns->watched[ns->nwatched++] = ns->pfd[j].fd;
		}
	}
}

static void feed_tx(struct net_slirp *ns)
{
	struct frame *f;

	for (;;) {
		pthread_mutex_lock(&ns->lock);
		f = q_pop(&ns->tx);
		if (!ns->tx.n)
			drain_eventfd(ns->tx_kick);
		pthread_mutex_unlock(&ns->lock);
		if (!f)
			return;
		ns->st.tx_frames++;
		slirp_input(ns->slirp, f->data, (int)f->len);
		free(f);
	}
}

static void tx_ready(void *opaque, uint32_t events)
{
	(void)events;
	feed_tx(opaque);
}

static int prepoll(void *opaque)
{
	struct net_slirp *ns = opaque;
	uint32_t timeout = UINT32_MAX;
	int r = ns->npfd ? poll(ns->pfd, ns->npfd, 0) : 0;

	feed_tx(ns);
	slirp_pollfds_poll(ns->slirp, r < 0, get_revents, ns);
	ns->npfd = 0;
	slirp_pollfds_fill(ns->slirp, &timeout, add_poll, ns);
	if (ns->loop)
		mirror(ns);
	return timeout > INT32_MAX ? -1 : (int)timeout;
}

int net_slirp_poll(struct net_backend *nb)
{
	return prepoll(nb);
}

/* ---- options ---- */

static int parse_addr(const char *s, struct in_addr *a)
{
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

/* [tcp:|udp:][HOSTADDR]:HOSTPORT into *udp, *ha, *hport (HOSTPORT 0..65535);
 * buf is cut.  -1 if malformed. */
static int parse_host_side(char *buf, int *udp, struct in_addr *ha, long *hport)
{
	char *host, *hp, *end;

	if (!strncmp(buf, "tcp:", 4))
		*udp = 0, host = buf + 4;
	else if (!strncmp(buf, "udp:", 4))
		*udp = 1, host = buf + 4;
	else if (buf[0] == ':')
		*udp = 0, host = buf + 1;
	else
		return -1;
	hp = strrchr(host, ':');
	if (!hp)
		return -1;
	*hp++ = '\0';
	ha->s_addr = INADDR_ANY;
	if (*host && parse_addr(host, ha) < 0)
		return -1;
	*hport = strtol(hp, &end, 10);
	return !*hp || *end || *hport < 0 || *hport > 65535 ? -1 : 0;
}

/* tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (or udp:); err without the
 * option's name ("hostfwd=...: ..."). */
static int add_hostfwd(struct net_slirp *ns, const char *spec, char *err, size_t errlen)
{
	char buf[128], *guest, *gp, *end;
	struct in_addr ha, ga = ns->guest_default;
	long hport, gport;
	int udp;

	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	guest = strchr(buf, '-');
	if (!guest)
		goto bad;
	*guest++ = '\0';
	if (parse_host_side(buf, &udp, &ha, &hport) < 0)
		goto bad;
	gp = strrchr(guest, ':');
	if (!gp)
		goto bad;
	*gp++ = '\0';
	if (*guest && parse_addr(guest, &ga) < 0)
		goto bad;
	gport = strtol(gp, &end, 10);
	if (!*gp || *end || gport < 1 || gport > 65535)
		goto bad;
	errno = 0;
	if (slirp_add_hostfwd(ns->slirp, udp, ha, (int)hport, ga, (int)gport) < 0) {
		snprintf(err, errlen, "hostfwd=%s: cannot listen on %s:%ld (%s)", spec,
			 inet_ntoa(ha), hport, errno ? strerror(errno) : "in use");
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "hostfwd=%s: not [tcp|udp]:[HOSTADDR]:PORT-[GUESTADDR]:PORT", spec);
	return -1;
}

bool net_backend_is_slirp(const struct net_backend *nb)
{
	return nb && nb->ops == &net_slirp_ops;
}

int net_slirp_hostfwd_add(struct net_backend *nb, const char *spec, char *err, size_t errlen)
{
	return add_hostfwd((struct net_slirp *)nb, spec, err, errlen);
}

int net_slirp_hostfwd_remove(struct net_backend *nb, const char *spec, char *err, size_t errlen)
{
	struct net_slirp *ns = (struct net_slirp *)nb;
	struct in_addr ha;
	char buf[128];
	long hport;
	int udp;

	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	if (parse_host_side(buf, &udp, &ha, &hport) < 0)
		goto bad;
	if (slirp_remove_hostfwd(ns->slirp, udp, ha, (int)hport) < 0) {
		snprintf(err, errlen, "host forwarding rule for %s not found", spec);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "invalid format");
	return -1;
}

struct net_backend *net_slirp_open(struct event_loop *loop, const struct net_slirp_opts *o,
				   char *err, size_t errlen)
{
	struct net_slirp *ns = calloc(1, sizeof(*ns));
	SlirpConfig cfg = {.version = 4, .in_enabled = true, .in6_enabled = true,
			   .vprefix_len = 64};
	struct in_addr net, mask, host, dns, dhcp;
	unsigned prefix = 24;
	char netbuf[64], why[256];
	uint32_t m, n;

	if (!ns) {
		snprintf(err, errlen, "--net user: out of memory");
		return NULL;
	}
	ns->nb.fd = ns->tx_kick = -1;
	pthread_mutex_init(&ns->lock, NULL);
	ns->loop = loop;
	/* net=ADDR[/PREFIX], QEMU's 10.0.2.0/24 by default */
	snprintf(netbuf, sizeof(netbuf), "%s", o->net ? o->net : "10.0.2.0/24");
	{
		char *slash = strchr(netbuf, '/');

		if (slash) {
			char *end;
			long p;

			*slash++ = '\0';
			p = strtol(slash, &end, 10);
			if (!*slash || *end || p < 8 || p > 30) {
				snprintf(err, errlen, "--net user: net=%s: the prefix must be 8..30",
					 o->net);
				goto fail;
			}
			prefix = (unsigned)p;
		}
	}
	if (parse_addr(netbuf, &net) < 0) {
		snprintf(err, errlen, "--net user: net=%s: not an IPv4 network", o->net);
		goto fail;
	}
	m = prefix ? ~0u << (32 - prefix) : 0;
	n = ntohl(net.s_addr) & m;
	net.s_addr = htonl(n);
	mask.s_addr = htonl(m);
	host.s_addr = htonl(n | 2);
	dns.s_addr = htonl(n | 3);
	dhcp.s_addr = htonl(n | 15);
	if (o->dns && parse_addr(o->dns, &dns) < 0) {
		snprintf(err, errlen, "--net user: dns=%s: not an IPv4 address", o->dns);
		goto fail;
	}
	if ((ntohl(dns.s_addr) & m) != n) {
		snprintf(err, errlen, "--net user: dns=%s is outside the network", o->dns);
		goto fail;
	}
	cfg.restricted = o->restrict_on;
	cfg.vnetwork = net;
	cfg.vnetmask = mask;
	cfg.vhost = host;
	cfg.vdhcp_start = dhcp;
	cfg.vnameserver = dns;
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
	cfg.tftp_path = o->tftp;
	cfg.bootfile = o->bootfile;
	cfg.vhostname = NULL;
	ns->slirp = slirp_new(&cfg, &callbacks, ns);
	if (!ns->slirp) {
		snprintf(err, errlen, "--net user: libslirp refused the configuration");
		goto fail;
	}
	ns->guest_default = dhcp;
	for (unsigned i = 0; i < o->nr_hostfwd; i++)
		if (add_hostfwd(ns, o->hostfwd[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "--net user: %s", why);
			goto fail;
		}
	ns->nb.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ns->tx_kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ns->nb.fd < 0 || ns->tx_kick < 0) {
		snprintf(err, errlen, "--net user: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (loop && (event_loop_add_fd(loop, ns->tx_kick, EPOLLIN, tx_ready, ns) < 0 ||
		     event_loop_add_prepoll(loop, prepoll, ns) < 0)) {
		snprintf(err, errlen, "--net user: cannot join the event loop");
		goto fail;
	}
	ns->nb.ops = &net_slirp_ops;
	snprintf(ns->nb.name, sizeof(ns->nb.name), "user");
	return &ns->nb;
fail:
	ns->nb.ops = &net_slirp_ops;
	net_backend_close(&ns->nb);
	return NULL;
}

static void ns_close(struct net_backend *nb)
{
	struct net_slirp *ns = (struct net_slirp *)nb;

	if (ns->loop) {
		event_loop_del_prepoll(ns->loop, prepoll, ns);
		if (ns->tx_kick >= 0)
			event_loop_del_fd(ns->loop, ns->tx_kick);
		for (unsigned i = 0; i < ns->nwatched; i++)
			event_loop_del_fd(ns->loop, ns->watched[i]);
	}
	if (ns->slirp)
		slirp_cleanup(ns->slirp);
	q_free(&ns->rx);
	q_free(&ns->tx);
	if (ns->nb.fd >= 0)
		close(ns->nb.fd);
	if (ns->tx_kick >= 0)
		close(ns->tx_kick);
	pthread_mutex_destroy(&ns->lock);
	free(ns);
}

const struct net_backend_ops net_slirp_ops = {
	.send = ns_send,
	.recv = ns_recv,
	.close = ns_close,
};

void net_slirp_get_stats(struct net_backend *nb, struct net_slirp_stats *st)
{
	struct net_slirp *ns = (struct net_slirp *)nb;

	pthread_mutex_lock(&ns->lock);
	*st = ns->st;
	pthread_mutex_unlock(&ns->lock);
}
