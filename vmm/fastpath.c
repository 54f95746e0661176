// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The KVM fast paths as devices use them, and their slow paths
 * (vmm/fastpath.h says what each offers).  No KVM here: the host is a
 * table of functions (vmm/kvm.c's, or a test's fake).
 */
#include "vmm/fastpath.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/pci.h"
#include "vmm/device.h"
#include "vmm/loop.h"

#define PAGE_SIZE_4K 4096ULL

struct fp_follow;

struct fastpath {
	const struct fastpath_host *host;
	void *ho;
	struct fastpath_caps caps;
	enum fastpath_state state[FP_NR_PATHS];
	struct event_loop *loop;
	struct bus *pio, *mmio;
	struct fastpath_counters n;
	pthread_mutex_t drain_lock; /* one vCPU drains the shared ring at a time */
	pthread_mutex_t lock;	    /* guards the BAR-follow list */
	struct fp_follow *follow;
};

static const char *const path_names[FP_NR_PATHS] = {
    [FP_IOEVENTFD] = "ioeventfd",
    [FP_IRQFD] = "irqfd",
    [FP_COALESCED_MMIO] = "coalesced-mmio",
    [FP_DIRTY_LOG] = "dirty-log",
};

static enum fastpath_state decide(bool wanted, bool have)
{
	return !wanted ? FP_OFF_BY_OPTION : have ? FP_ON : FP_OFF_NO_HOST;
}

struct fastpath *fastpath_new(const struct fastpath_host *host, void *host_opaque,
			      const struct vm_accel *accel, struct event_loop *loop,
			      struct bus *pio, struct bus *mmio)
{
	struct fastpath *fp = calloc(1, sizeof(*fp));

	if (!fp)
		return NULL;
	fp->host = host;
	fp->ho = host_opaque;
	if (host && host->caps)
		host->caps(host_opaque, &fp->caps);
	fp->loop = loop;
	fp->pio = pio;
	fp->mmio = mmio;
	fp->state[FP_IOEVENTFD] = decide(accel->ioeventfd, fp->caps.ioeventfd);
	fp->state[FP_IRQFD] = decide(accel->irqfd, fp->caps.irqfd);
	fp->state[FP_COALESCED_MMIO] = decide(accel->coalesced_mmio, fp->caps.coalesced_mmio);
	fp->state[FP_DIRTY_LOG] = decide(accel->dirty_log, fp->caps.dirty_log);
	pthread_mutex_init(&fp->drain_lock, NULL);
	pthread_mutex_init(&fp->lock, NULL);
	return fp;
}

void fastpath_free(struct fastpath *fp)
{
	if (!fp)
		return;
	while (fp->follow) {
		struct fp_follow *f = fp->follow;

		fp->follow = *(struct fp_follow **)f; /* next is the first member */
		free(f);
	}
	pthread_mutex_destroy(&fp->drain_lock);
	pthread_mutex_destroy(&fp->lock);
	free(fp);
}

enum fastpath_state fastpath_state(const struct fastpath *fp, enum fastpath_path path)
{
	return path < FP_NR_PATHS ? fp->state[path] : FP_OFF_NO_HOST;
}

const char *fastpath_path_name(enum fastpath_path path)
{
	return path < FP_NR_PATHS ? path_names[path] : "?";
}

const struct fastpath_counters *fastpath_counters(const struct fastpath *fp)
{
	return &fp->n;
}

static const char *state_name(enum fastpath_state s)
{
	return s == FP_ON ? "on" : s == FP_OFF_BY_OPTION ? "off-by-option" : "off-no-host";
}

static bool path_on(const struct fastpath *fp, enum fastpath_path p)
{
	return fp->state[p] == FP_ON;
}

/* What the host offers, as --stats names it. */
static const struct {
	const char *name;
	size_t off;
} cap_names[] = {
    {"ioeventfd", offsetof(struct fastpath_caps, ioeventfd)},
    {"ioeventfd_any_length", offsetof(struct fastpath_caps, ioeventfd_any_len)},
    {"irqfd", offsetof(struct fastpath_caps, irqfd)},
    {"irqfd_resample", offsetof(struct fastpath_caps, irqfd_resample)},
    {"gsi_routing", offsetof(struct fastpath_caps, irq_routing)},
    {"signal_msi", offsetof(struct fastpath_caps, signal_msi)},
    {"coalesced_mmio", offsetof(struct fastpath_caps, coalesced_mmio)},
    {"coalesced_pio", offsetof(struct fastpath_caps, coalesced_pio)},
    {"dirty_log", offsetof(struct fastpath_caps, dirty_log)},
};

static bool cap_have(const struct fastpath *fp, unsigned i)
{
	return *(const bool *)((const uint8_t *)&fp->caps + cap_names[i].off);
}

#define N(x) ((unsigned long long)atomic_load(&fp->n.x))

void fastpath_print(const struct fastpath *fp, FILE *f)
{
	fprintf(f, "\nminivmm: fast paths (off-by-option: a --no-* switch; off-no-host: this "
		   "host's KVM lacks it)\n");
	for (unsigned p = 0; p < FP_NR_PATHS; p++)
		fprintf(f, "  %-16s %s\n", path_names[p], state_name(fp->state[p]));
	fprintf(f, "  doorbell writes: %llu by ioeventfd, %llu by exit\n", N(doorbell_ioeventfd),
		N(doorbell_exit));
	fprintf(f,
		"  interrupts: %llu by irqfd, %llu by KVM_IRQ_LINE, %llu by KVM_SIGNAL_MSI, "
		"%llu INTx resamples\n",
		N(irq_irqfd), N(irq_line), N(msi_signal), N(intx_resample));
	fprintf(f, "  coalesced writes drained: %llu; dirty-page queries: %llu\n", N(coalesced),
		N(dirty_reads));
	fprintf(f, "  host:");
	for (unsigned i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		fprintf(f, " %s %s", cap_names[i].name, cap_have(fp, i) ? "yes" : "no");
	fputc('\n', f);
}

json_t *fastpath_json(const struct fastpath *fp)
{
	json_t *o = json_object(), *paths = json_object(), *host = json_object();

	for (unsigned p = 0; p < FP_NR_PATHS; p++)
		json_object_set_new(paths, path_names[p], json_string(state_name(fp->state[p])));
	json_object_set_new(o, "paths", paths);
	for (unsigned i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		json_object_set_new(host, cap_names[i].name, json_boolean(cap_have(fp, i)));
	json_object_set_new(o, "host", host);
	json_object_set_new(
	    o, "events",
	    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "doorbell_ioeventfd",
		      (json_int_t)N(doorbell_ioeventfd), "doorbell_exit",
		      (json_int_t)N(doorbell_exit), "irq_irqfd", (json_int_t)N(irq_irqfd),
		      "irq_line", (json_int_t)N(irq_line), "msi_signal", (json_int_t)N(msi_signal),
		      "intx_resample", (json_int_t)N(intx_resample), "coalesced",
		      (json_int_t)N(coalesced), "dirty_reads", (json_int_t)N(dirty_reads)));
	return o;
}

#undef N

static void count(atomic_ullong *c, uint64_t n)
{
	atomic_fetch_add(c, n);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		dev_log("fastpath", "eventfd write: %s", strerror(errno));
}

/* ---- BAR following ---- */

struct fp_doorbell;
struct fp_slot;

struct fp_follow {
	struct fp_follow *next; /* first: fastpath_free() relies on it */
	struct pci_dev *dev;
	unsigned bar;
	uint64_t offset;
	struct fp_doorbell *d;
	struct fp_slot *s;
};

static void follow_forget(struct fastpath *fp, const void *d, const void *s);

/* ---- doorbells ---- */

struct fp_doorbell {
	struct fastpath *fp;
	struct fp_doorbell_spec s;
	char name[32];
	fp_doorbell_fn *fn;
	void *opaque;
	int efd;
	bool watched;
	pthread_mutex_t lock; /* guards addr, fast, on_bus */
	uint64_t addr;
	atomic_bool fast;	    /* an ioeventfd at addr (read by the loop thread too) */
	bool on_bus;		    /* claimed [addr, addr + span) */
	atomic_ullong slow_pending; /* rings by exit not yet seen by the loop */
};

static uint64_t span(const struct fp_doorbell_spec *s)
{
	return s->len ? s->len : 8;
}

static bool doorbell_matches(const struct fp_doorbell *d, uint64_t value, unsigned size)
{
	uint64_t mask = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;

	if (d->s.len && size != d->s.len)
		return false;
	return !d->s.datamatch || (value & mask) == (d->s.value & mask);
}

static void ring_slow(struct fp_doorbell *d)
{
	atomic_fetch_add(&d->slow_pending, 1);
	count(&d->fp->n.doorbell_exit, 1);
	signal_fd(d->efd);
}

static uint64_t doorbell_bus_read(void *opaque, uint64_t off, unsigned size)
{
	struct fp_doorbell *d = opaque;

	if (d->s.other && d->s.other->read)
		return d->s.other->read(d->s.other_opaque, off, size);
	return ~0ULL;
}

static void doorbell_bus_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct fp_doorbell *d = opaque;

	if (off == 0 && doorbell_matches(d, value, size))
		ring_slow(d);
	else if (d->s.other && d->s.other->write)
		d->s.other->write(d->s.other_opaque, off, value, size);
}

static const struct bus_ops doorbell_bus_ops = {
    .read = doorbell_bus_read,
    .write = doorbell_bus_write,
};

static void doorbell_ready(void *opaque, uint32_t events)
{
	struct fp_doorbell *d = opaque;
	uint64_t n, slow;

	if (read(d->efd, &n, sizeof(n)) != sizeof(n) || !n)
		return;
	/* Rings by exit were counted as they came; the rest were KVM's.  A
	 * ring by exit may land in the next read: only an ioeventfd ever
	 * counts as one. */
	slow = atomic_exchange(&d->slow_pending, 0);
	if (d->fast && n > slow)
		count(&d->fp->n.doorbell_ioeventfd, n - slow);
	d->fn(d->opaque, n);
}

static struct bus *doorbell_bus(const struct fp_doorbell *d)
{
	return d->s.pio ? d->fp->pio : d->fp->mmio;
}

/* With d->lock held: takes the doorbell off its place. */
static void doorbell_unplace(struct fp_doorbell *d)
{
	const struct fastpath_host *h = d->fp->host;

	if (d->fast)
		h->ioeventfd(d->fp->ho, d->efd, d->s.pio, d->addr, d->s.len, d->s.datamatch,
			     d->s.value, false);
	if (d->on_bus)
		bus_unregister(doorbell_bus(d), d->addr);
	d->on_bus = false;
	atomic_store(&d->fast, false);
	d->addr = 0;
}

/* With d->lock held: puts it at addr (nowhere placed now). */
static int doorbell_place(struct fp_doorbell *d, uint64_t addr)
{
	struct fastpath *fp = d->fp;
	int ret;

	if (!addr)
		return 0;
	if (addr + span(&d->s) < addr || (d->s.pio && addr + span(&d->s) > 0x10000))
		return -EINVAL;
	if (d->s.claim) {
		ret =
		    bus_register(doorbell_bus(d), addr, span(&d->s), &doorbell_bus_ops, d, d->name);
		if (ret < 0)
			return ret;
		d->on_bus = true;
	}
	d->addr = addr;
	if (path_on(fp, FP_IOEVENTFD) && (d->s.len || fp->caps.ioeventfd_any_len)) {
		ret = fp->host->ioeventfd(fp->ho, d->efd, d->s.pio, addr, d->s.len, d->s.datamatch,
					  d->s.value, true);
		if (ret == 0)
			d->fast = true;
		else
			dev_log(d->name, "no ioeventfd at 0x%llx (%s): its writes exit",
				(unsigned long long)addr, strerror(-ret));
	}
	return 0;
}

struct fp_doorbell *fastpath_doorbell_add(struct fastpath *fp, const struct fp_doorbell_spec *s,
					  fp_doorbell_fn *fn, void *opaque, char *err,
					  size_t errlen)
{
	struct fp_doorbell *d;
	int ret;

	if (!fn || (s->len != 0 && s->len != 1 && s->len != 2 && s->len != 4 && s->len != 8) ||
	    (!s->len && (s->datamatch || s->pio))) {
		snprintf(err, errlen,
			 "%s: a doorbell is 1, 2, 4 or 8 bytes wide (any width only "
			 "for MMIO without a value)",
			 s->name);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "%s: out of memory", s->name);
		return NULL;
	}
	d->fp = fp;
	d->s = *s;
	snprintf(d->name, sizeof(d->name), "%s", s->name ? s->name : "doorbell");
	d->s.name = d->name;
	d->fn = fn;
	d->opaque = opaque;
	pthread_mutex_init(&d->lock, NULL);
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", d->name, strerror(errno));
		goto fail;
	}
	ret = event_loop_add_fd(fp->loop, d->efd, EPOLLIN, doorbell_ready, d);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot watch its eventfd: %s", d->name, strerror(-ret));
		goto fail;
	}
	d->watched = true;
	ret = doorbell_place(d, s->addr);
	if (ret < 0) {
		snprintf(err, errlen, "cannot place %s at %s 0x%llx: %s", d->name,
			 s->pio ? "port" : "MMIO", (unsigned long long)s->addr,
			 ret == -EEXIST ? "it overlaps another device" : strerror(-ret));
		goto fail;
	}
	return d;
fail:
	fastpath_doorbell_free(d);
	return NULL;
}

int fastpath_doorbell_move(struct fp_doorbell *d, uint64_t addr)
{
	uint64_t old;
	int ret;

	pthread_mutex_lock(&d->lock);
	old = d->addr;
	if (old == addr) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	doorbell_unplace(d);
	ret = doorbell_place(d, addr);
	if (ret < 0)
		doorbell_place(d, old);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

bool fastpath_doorbell_write(struct fp_doorbell *d, uint64_t addr, uint64_t value, unsigned size)
{
	bool hit;

	pthread_mutex_lock(&d->lock);
	hit = d->addr && addr == d->addr && doorbell_matches(d, value, size);
	pthread_mutex_unlock(&d->lock);
	if (hit)
		ring_slow(d);
	return hit;
}

bool fastpath_doorbell_fast(const struct fp_doorbell *d)
{
	return d->fast;
}

void fastpath_doorbell_free(struct fp_doorbell *d)
{
	if (!d)
		return;
	follow_forget(d->fp, d, NULL);
	pthread_mutex_lock(&d->lock);
	doorbell_unplace(d);
	pthread_mutex_unlock(&d->lock);
	if (d->watched)
		event_loop_del_fd(d->fp->loop, d->efd);
	if (d->efd >= 0)
		close(d->efd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ---- interrupt sources ---- */

struct fp_irq {
	struct fastpath *fp;
	char name[32];
	bool msi;
	struct irq_line line; /* edge GSI: the slow path */
	int efd;	      /* irqfd, -1 on the slow path */
	pthread_mutex_t lock; /* guards the MSI fields */
	int gsi;	      /* the irqfd's GSI (MSI: the route), -1 none */
	uint64_t addr;
	uint32_t data;
	bool masked;
};

static struct fp_irq *irq_new(struct fastpath *fp, const char *name, char *err, size_t errlen)
{
	struct fp_irq *irq = calloc(1, sizeof(*irq));

	if (!irq) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	irq->fp = fp;
	irq->efd = -1;
	irq->gsi = -1;
	irq->masked = true;
	snprintf(irq->name, sizeof(irq->name), "%s", name);
	pthread_mutex_init(&irq->lock, NULL);
	return irq;
}

struct fp_irq *fastpath_irq_gsi(struct fastpath *fp, const struct irq_line *line, const char *name,
				char *err, size_t errlen)
{
	struct fp_irq *irq = irq_new(fp, name, err, errlen);

	if (!irq)
		return NULL;
	irq->line = *line;
	if (!path_on(fp, FP_IRQFD))
		return irq;
	irq->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irq->efd >= 0 && fp->host->irqfd(fp->ho, irq->efd, line->gsi, -1, true) == 0) {
		irq->gsi = (int)line->gsi;
		return irq;
	}
	dev_log(irq->name, "no irqfd on GSI %u: interrupts go through KVM_IRQ_LINE", line->gsi);
	if (irq->efd >= 0)
		close(irq->efd);
	irq->efd = -1;
	return irq;
}

struct fp_irq *fastpath_irq_msi(struct fastpath *fp, const char *name, char *err, size_t errlen)
{
	struct fp_irq *irq = irq_new(fp, name, err, errlen);

	if (!irq)
		return NULL;
	irq->msi = true;
	if (path_on(fp, FP_IRQFD) && fp->caps.irq_routing) {
		irq->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (irq->efd < 0)
			dev_log(irq->name, "eventfd: %s: MSIs go through KVM_SIGNAL_MSI",
				strerror(errno));
	}
	return irq;
}

int fastpath_irq_set_msi(struct fp_irq *irq, uint64_t addr, uint32_t data, bool masked)
{
	struct fastpath *fp = irq->fp;
	int ret = 0;

	if (!irq->msi)
		return -EINVAL;
	pthread_mutex_lock(&irq->lock);
	irq->addr = addr;
	irq->data = data;
	irq->masked = masked;
	if (irq->efd >= 0 && !masked) {
		if (irq->gsi < 0) {
			ret = fp->host->msi_route_add(fp->ho, addr, data);
			if (ret >= 0) {
				irq->gsi = ret;
				ret =
				    fp->host->irqfd(fp->ho, irq->efd, (unsigned)irq->gsi, -1, true);
				if (ret < 0) {
					fp->host->msi_route_del(fp->ho, (unsigned)irq->gsi);
					irq->gsi = -1;
				}
			}
		} else {
			ret = fp->host->msi_route_set(fp->ho, (unsigned)irq->gsi, addr, data);
		}
		if (ret < 0) {
			/* Keep working through KVM_SIGNAL_MSI. */
			dev_log(irq->name, "no MSI route (%s): MSIs go through KVM_SIGNAL_MSI",
				strerror(-ret));
			if (irq->gsi >= 0) {
				fp->host->irqfd(fp->ho, irq->efd, (unsigned)irq->gsi, -1, false);
				fp->host->msi_route_del(fp->ho, (unsigned)irq->gsi);
				irq->gsi = -1;
			}
			close(irq->efd);
			irq->efd = -1;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

void fastpath_irq_pulse(struct fp_irq *irq)
{
	struct fastpath *fp = irq->fp;
	uint64_t addr;
	uint32_t data;

	if (!irq->msi) {
		if (irq->gsi >= 0) {
			signal_fd(irq->efd);
			count(&fp->n.irq_irqfd, 1);
		} else {
			irq_line_set(&irq->line, true);
			irq_line_set(&irq->line, false);
			count(&fp->n.irq_line, 1);
		}
		return;
	}
	pthread_mutex_lock(&irq->lock);
	if (irq->masked) {
		pthread_mutex_unlock(&irq->lock);
		return;
	}
	if (irq->gsi >= 0) {
		signal_fd(irq->efd);
		pthread_mutex_unlock(&irq->lock);
		count(&fp->n.irq_irqfd, 1);
		return;
	}
	addr = irq->addr;
	data = irq->data;
	pthread_mutex_unlock(&irq->lock);
	fastpath_msi_sink(fp, addr, data);
}

bool fastpath_irq_fast(const struct fp_irq *irq)
{
	return irq->msi ? irq->efd >= 0 : irq->gsi >= 0;
}

void fastpath_irq_free(struct fp_irq *irq)
{
	struct fastpath *fp;

	if (!irq)
		return;
	fp = irq->fp;
	if (irq->gsi >= 0) {
		fp->host->irqfd(fp->ho, irq->efd, (unsigned)irq->gsi, -1, false);
		if (irq->msi)
			fp->host->msi_route_del(fp->ho, (unsigned)irq->gsi);
	}
	if (irq->efd >= 0)
		close(irq->efd);
	pthread_mutex_destroy(&irq->lock);
	free(irq);
}

void fastpath_msi_sink(void *opaque, uint64_t addr, uint32_t data)
{
	struct fastpath *fp = opaque;
	int ret =
	    fp->host && fp->host->signal_msi ? fp->host->signal_msi(fp->ho, addr, data) : -ENOSYS;

	if (ret < 0)
		dev_log("fastpath", "MSI 0x%llx/0x%x not delivered: %s", (unsigned long long)addr,
			data, strerror(-ret));
	else
		count(&fp->n.msi_signal, 1);
}

/* ---- PCI MSI and MSI-X through irqfds ---- */

#define FP_MSI_SLOTS (PCI_MSIX_MAX_VECTORS + PCI_MSI_MAX_VECTORS)

struct fp_msi {
	struct fastpath *fp;
	struct pci_dev *dev;
	bool fast;
	/* Written by the notifier (under the PCI interrupt lock), read by
	 * fastpath_msi_notify() on any thread: atomic pointers. */
	struct fp_irq *vec[FP_MSI_SLOTS]; /* MSI-X vectors, then MSI vectors */
};

static int msi_slot(bool msix, unsigned vector)
{
	if (msix)
		return vector < PCI_MSIX_MAX_VECTORS ? (int)vector : -1;
	return vector < PCI_MSI_MAX_VECTORS ? (int)(PCI_MSIX_MAX_VECTORS + vector) : -1;
}

/* A vector's message or mask changed (PCI interrupt lock held). */
static void msi_noted(void *opaque, struct pci_dev *dev, bool msix, unsigned vector,
		      const struct pci_msi_msg *msg)
{
	struct fp_msi *m = opaque;
	int i = msi_slot(msix, vector);
	struct fp_irq *irq;
	char err[128];

	if (i < 0)
		return;
	irq = __atomic_load_n(&m->vec[i], __ATOMIC_ACQUIRE);
	if (!irq) {
		if (msg->masked)
			return; /* no route until the guest unmasks it */
		irq = fastpath_irq_msi(m->fp, "msi", err, sizeof(err));
		if (!irq)
			return; /* the core's path still works */
		__atomic_store_n(&m->vec[i], irq, __ATOMIC_RELEASE);
	}
	fastpath_irq_set_msi(irq, msg->addr, msg->data, msg->masked);
}

struct fp_msi *fastpath_msi_attach(struct fastpath *fp, struct pci_dev *dev, char *err,
				   size_t errlen)
{
	struct fp_msi *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->fp = fp;
	m->dev = dev;
	m->fast = path_on(fp, FP_IRQFD) && fp->caps.irq_routing;
	if (m->fast)
		pci_dev_set_msi_notifier(dev, msi_noted, m);
	return m;
}

/* The irqfd of an unmasked vector with a route; false: not sent. */
static bool irq_send_fast(struct fp_irq *irq)
{
	bool sent = false;

	pthread_mutex_lock(&irq->lock);
	if (!irq->masked && irq->gsi >= 0) {
		signal_fd(irq->efd);
		sent = true;
	}
	pthread_mutex_unlock(&irq->lock);
	if (sent)
		count(&irq->fp->n.irq_irqfd, 1);
	return sent;
}

int fastpath_msi_notify(struct fp_msi *m, bool msix, unsigned vector)
{
	int i = msi_slot(msix, vector);
	struct fp_irq *irq = i < 0 ? NULL : __atomic_load_n(&m->vec[i], __ATOMIC_ACQUIRE);

	/* Bus mastering off drops the message, as the core does. */
	if (irq && (pci_dev_config(m->dev)[PCI_COMMAND] & PCI_COMMAND_MASTER) &&
	    (msix ? pci_msix_enabled(m->dev) : pci_msi_enabled(m->dev)) && irq_send_fast(irq))
		return 1;
	return msix ? pci_msix_notify(m->dev, vector) : pci_msi_notify(m->dev, vector);
}

void fastpath_msi_detach(struct fp_msi *m)
{
	if (!m)
		return;
	if (m->fast)
		pci_dev_set_msi_notifier(m->dev, NULL, NULL);
	for (unsigned i = 0; i < FP_MSI_SLOTS; i++)
		fastpath_irq_free(m->vec[i]);
	free(m);
}

/* ---- PCI INTx with a resample irqfd ---- */

struct fp_intx {
	struct fastpath *fp;
	struct pci_dev *dev;
	int efd, rfd;
	bool watched;
	pthread_mutex_t lock; /* guards the fields below */
	int gsi;	      /* where the irqfd is assigned now, -1 nowhere */
	bool level;	      /* the pin as the PCI core reports it */
	bool raised;	      /* the irqfd raised the line and no EOI came yet */
};

/* With x->lock held. */
static void intx_raise(struct fp_intx *x)
{
	if (x->level && !x->raised && x->gsi >= 0) {
		signal_fd(x->efd);
		x->raised = true;
		count(&x->fp->n.irq_irqfd, 1);
	}
}

/* With the PCI core's interrupt lock held. */
static void intx_sink(void *opaque, struct pci_dev *dev, bool level)
{
	struct fp_intx *x = opaque;

	pthread_mutex_lock(&x->lock);
	x->level = level;
	intx_raise(x);
	pthread_mutex_unlock(&x->lock);
}

/* The guest's EOI lowered the line: raise it again if the pin is still up. */
static void intx_resample(void *opaque, uint32_t events)
{
	struct fp_intx *x = opaque;
	uint64_t n;

	if (read(x->rfd, &n, sizeof(n)) != sizeof(n))
		return;
	count(&x->fp->n.intx_resample, 1);
	pthread_mutex_lock(&x->lock);
	x->raised = false;
	intx_raise(x);
	pthread_mutex_unlock(&x->lock);
}

/* With x->lock held: the irqfd on gsi (-1: nowhere). */
static void intx_move(struct fp_intx *x, int gsi)
{
	struct fastpath *fp = x->fp;

	if (x->gsi >= 0)
		fp->host->irqfd(fp->ho, x->efd, (unsigned)x->gsi, x->rfd, false);
	x->gsi = -1;
	x->raised = false;
	if (gsi >= 0) {
		int ret = fp->host->irqfd(fp->ho, x->efd, (unsigned)gsi, x->rfd, true);

		if (ret == 0)
			x->gsi = gsi;
		else
			dev_log("fastpath", "no INTx irqfd on GSI %d: %s", gsi, strerror(-ret));
	}
	intx_raise(x);
}

/* The router moved the pin to another GSI (with the config lock held). */
static void intx_route(void *opaque, struct pci_dev *dev, int gsi)
{
	struct fp_intx *x = opaque;

	pthread_mutex_lock(&x->lock);
	intx_move(x, gsi);
	pthread_mutex_unlock(&x->lock);
}

struct fp_intx *fastpath_intx_attach(struct fastpath *fp, struct pci_dev *dev, char *err,
				     size_t errlen)
{
	struct fp_intx *x = calloc(1, sizeof(*x));
	int ret;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->fp = fp;
	x->dev = dev;
	x->efd = x->rfd = x->gsi = -1;
	pthread_mutex_init(&x->lock, NULL);
	if (!path_on(fp, FP_IRQFD) || !fp->caps.irqfd_resample)
		return x;
	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->efd < 0 || x->rfd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ret = event_loop_add_fd(fp->loop, x->rfd, EPOLLIN, intx_resample, x);
	if (ret < 0) {
		snprintf(err, errlen, "cannot watch the INTx resample fd: %s", strerror(-ret));
		goto fail;
	}
	x->watched = true;
	pthread_mutex_lock(&x->lock);
	intx_move(x, pci_dev_intx_gsi(dev));
	pthread_mutex_unlock(&x->lock);
	pci_dev_set_intx_notifier(dev, intx_route, x);
	pci_dev_set_intx_sink(dev, intx_sink, x);
	return x;
fail:
	fastpath_intx_detach(x);
	return NULL;
}

bool fastpath_intx_fast(const struct fp_intx *x)
{
	return x->efd >= 0;
}

void fastpath_intx_state(struct fp_intx *x, bool *level, bool *raised)
{
	pthread_mutex_lock(&x->lock);
	*level = x->level;
	*raised = x->raised;
	pthread_mutex_unlock(&x->lock);
}

void fastpath_intx_detach(struct fp_intx *x)
{
	if (!x)
		return;
	if (x->watched) {
		pci_dev_set_intx_sink(x->dev, NULL, NULL);
		pci_dev_set_intx_notifier(x->dev, NULL, NULL);
		event_loop_del_fd(x->fp->loop, x->rfd);
	}
	pthread_mutex_lock(&x->lock);
	intx_move(x, -1);
	pthread_mutex_unlock(&x->lock);
	if (x->efd >= 0)
		close(x->efd);
	if (x->rfd >= 0)
		close(x->rfd);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

/* ---- coalesced zones ---- */

struct fp_zone {
	struct fastpath *fp;
	bool pio, fast;
	uint64_t addr, size;
};

struct fp_zone *fastpath_zone_add(struct fastpath *fp, bool pio, uint64_t addr, uint64_t size,
				  char *err, size_t errlen)
{
	struct fp_zone *z;

	if (!size || addr + size < addr || size > UINT32_MAX) {
		snprintf(err, errlen, "a coalesced zone of %llu bytes at 0x%llx",
			 (unsigned long long)size, (unsigned long long)addr);
		return NULL;
	}
	z = calloc(1, sizeof(*z));
	if (!z) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*z = (struct fp_zone){fp, pio, false, addr, size};
	if (path_on(fp, FP_COALESCED_MMIO) && (!pio || fp->caps.coalesced_pio)) {
		int ret = fp->host->coalesced_zone(fp->ho, pio, addr, size, true);

		if (ret == 0)
			z->fast = true;
		else
			dev_log("fastpath", "no coalesced zone at 0x%llx: %s",
				(unsigned long long)addr, strerror(-ret));
	}
	return z;
}

bool fastpath_zone_fast(const struct fp_zone *z)
{
	return z->fast;
}

void fastpath_zone_free(struct fp_zone *z)
{
	if (!z)
		return;
	if (z->fast)
		z->fp->host->coalesced_zone(z->fp->ho, z->pio, z->addr, z->size, false);
	free(z);
}

unsigned fastpath_coalesced_drain(struct fastpath *fp, struct kvm_coalesced_mmio_ring *ring,
				  unsigned max)
{
	unsigned n = 0;

	if (!ring || !max)
		return 0;
	/* The common case on every exit: nothing queued, no lock taken. */
	if (__atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
	    __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&fp->drain_lock);
	/* At most one ring's worth per call: KVM may refill it meanwhile. */
	while (n < max) {
		uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
		uint32_t last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
		struct kvm_coalesced_mmio e;
		uint64_t val = 0;

		if (first == last)
			break;
		if (first >= max || last >= max) {
			/* Not a ring KVM wrote: drop it rather than read past it. */
			dev_log("fastpath", "coalesced ring indices %u/%u beyond %u: reset", first,
				last, max);
			__atomic_store_n(&ring->first, last < max ? last : 0, __ATOMIC_RELEASE);
			break;
		}
		memcpy(&e, &ring->coalesced_mmio[first], sizeof(e));
		if (e.len == 1 || e.len == 2 || e.len == 4 || e.len == 8) {
			memcpy(&val, e.data, e.len);
			bus_write(e.pio ? fp->pio : fp->mmio, e.phys_addr, val, e.len);
		}
		__atomic_store_n(&ring->first, (first + 1) % max, __ATOMIC_RELEASE);
		n++;
	}
	pthread_mutex_unlock(&fp->drain_lock);
	if (n)
		count(&fp->n.coalesced, n);
	return n;
}

/* ---- slots ---- */

struct fp_slot {
	struct fastpath *fp;
	char name[32];
	void *hva;
	uint64_t size;
	pthread_mutex_t lock; /* guards the fields below */
	uint64_t gpa;	      /* 0: not mapped */
	int id;		      /* the host's slot, -1 none */
	bool log;	      /* the device wants logging */
	bool logging;	      /* the host's slot logs */
	bool all_dirty;	      /* the next query reports every page */
};

struct fp_slot *fastpath_slot_new(struct fastpath *fp, uint64_t size, const char *name, char *err,
				  size_t errlen)
{
	struct fp_slot *s;

	if (!size || size % PAGE_SIZE_4K || size > (1ULL << 40)) {
		snprintf(err, errlen, "%s: a slot is a multiple of 4 KiB, not %llu bytes", name,
			 (unsigned long long)size);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	s->hva = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->hva == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot allocate %llu KiB: %s", name,
			 (unsigned long long)(size >> 10), strerror(errno));
		free(s);
		return NULL;
	}
	s->fp = fp;
	s->size = size;
	s->id = -1;
	s->log = true;
	s->all_dirty = true;
	snprintf(s->name, sizeof(s->name), "%s", name);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void *fastpath_slot_hva(const struct fp_slot *s)
{
	return s->hva;
}

uint64_t fastpath_slot_size(const struct fp_slot *s)
{
	return s->size;
}

uint64_t fastpath_slot_gpa(const struct fp_slot *s)
{
	return s->gpa;
}

static bool want_logging(const struct fp_slot *s)
{
	return s->log && path_on(s->fp, FP_DIRTY_LOG);
}

int fastpath_slot_map(struct fp_slot *s, uint64_t gpa)
{
	const struct fastpath_host *h = s->fp->host;
	void *ho = s->fp->ho;
	int ret = 0;

	if (gpa % PAGE_SIZE_4K || gpa + s->size < gpa)
		return -EINVAL;
	if (!h || !h->slot_add)
		return gpa ? -ENOSYS : 0;
	pthread_mutex_lock(&s->lock);
	if (gpa == s->gpa) {
		/* nothing to do */
	} else if (!gpa) {
		ret = h->slot_remove(ho, s->id);
		if (ret == 0) {
			s->id = -1;
			s->gpa = 0;
			s->logging = false;
		}
	} else if (s->id >= 0) {
		ret = h->slot_move(ho, s->id, gpa);
		if (ret == 0)
			s->gpa = gpa;
	} else {
		bool log = want_logging(s);

		ret = h->slot_add(ho, gpa, s->size, s->hva, log ? KVM_MEM_LOG_DIRTY_PAGES : 0);
		if (ret >= 0) {
			s->id = ret;
			s->gpa = gpa;
			s->logging = log;
			ret = 0;
		}
	}
	/* A guest write between the last query and the move may be in
	 * either place's log: report everything once. */
	if (ret == 0)
		s->all_dirty = true;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int fastpath_slot_log(struct fp_slot *s, bool on)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	s->log = on;
	if (s->id >= 0 && want_logging(s) != s->logging) {
		ret = s->fp->host->slot_log_dirty(s->fp->ho, s->id, want_logging(s));
		if (ret == 0)
			s->logging = want_logging(s);
	}
	s->all_dirty = true;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

long fastpath_slot_dirty(struct fp_slot *s, uint64_t *bitmap, size_t words)
{
	uint64_t pages = s->size / PAGE_SIZE_4K;
	size_t need = (size_t)((pages + 63) / 64);
	long dirty = 0;
	int ret = 0;

	if (words < need)
		return -ENOBUFS;
	memset(bitmap, 0, words * sizeof(*bitmap));
	pthread_mutex_lock(&s->lock);
	if (s->id >= 0 && s->logging)
		ret = s->fp->host->slot_get_dirty(s->fp->ho, s->id, bitmap, words);
	if (ret == 0 && (s->all_dirty || !(s->id >= 0 && s->logging))) {
		for (uint64_t p = 0; p < pages; p++)
			bitmap[p / 64] |= 1ULL << (p % 64);
		s->all_dirty = false;
	}
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	count(&s->fp->n.dirty_reads, 1);
	for (size_t i = 0; i < need; i++) {
		if (i == need - 1 && pages % 64)
			bitmap[i] &= (1ULL << (pages % 64)) - 1;
		dirty += __builtin_popcountll(bitmap[i]);
	}
	return dirty;
}

bool fastpath_slot_fast(const struct fp_slot *s)
{
	return s->logging;
}

void fastpath_slot_free(struct fp_slot *s)
{
	if (!s)
		return;
	follow_forget(s->fp, NULL, s);
	fastpath_slot_map(s, 0);
	munmap(s->hva, (size_t)s->size);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- following BARs ---- */

/* The BAR notifier of a followed function (with the PCI config lock held). */
static void follow_bar_moved(void *opaque, struct pci_dev *dev, unsigned idx, uint64_t old_addr,
			     uint64_t new_addr)
{
	struct fastpath *fp = opaque;

	pthread_mutex_lock(&fp->lock);
	for (struct fp_follow *f = fp->follow; f; f = f->next) {
		uint64_t at = new_addr ? new_addr + f->offset : 0;
		int ret = 0;

		if (f->dev != dev || f->bar != idx)
			continue;
		if (f->d)
			ret = fastpath_doorbell_move(f->d, at);
		else if (f->s)
			ret = fastpath_slot_map(f->s, at);
		if (ret < 0)
			dev_log("fastpath", "cannot follow BAR %u to 0x%llx: %s", idx,
				(unsigned long long)at, strerror(-ret));
	}
	pthread_mutex_unlock(&fp->lock);
}

static int follow(struct fastpath *fp, struct fp_doorbell *d, struct fp_slot *s,
		  struct pci_dev *dev, unsigned bar, uint64_t offset)
{
	struct fp_follow *f;
	uint64_t base;

	if (bar >= PCI_NUM_BARS)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (struct fp_follow){.dev = dev, .bar = bar, .offset = offset, .d = d, .s = s};
	pci_dev_set_bar_notifier(dev, follow_bar_moved, fp);
	base = pci_dev_bar_addr(dev, bar);
	pthread_mutex_lock(&fp->lock);
	f->next = fp->follow;
	fp->follow = f;
	pthread_mutex_unlock(&fp->lock);
	if (d)
		return fastpath_doorbell_move(d, base ? base + offset : 0);
	return fastpath_slot_map(s, base ? base + offset : 0);
}

int fastpath_doorbell_follow_bar(struct fp_doorbell *d, struct pci_dev *dev, unsigned bar,
				 uint64_t offset)
{
	if (d->s.claim)
		return -EINVAL; /* the BAR's region is the device's: no range of its own */
	return follow(d->fp, d, NULL, dev, bar, offset);
}

int fastpath_slot_follow_bar(struct fp_slot *s, struct pci_dev *dev, unsigned bar, uint64_t offset)
{
	return follow(s->fp, NULL, s, dev, bar, offset);
}

static void follow_forget(struct fastpath *fp, const void *d, const void *s)
{
	pthread_mutex_lock(&fp->lock);
	for (struct fp_follow **p = &fp->follow; *p;) {
		struct fp_follow *f = *p;

		if ((d && f->d == d) || (s && f->s == s)) {
			*p = f->next;
			free(f);
		} else {
			p = &f->next;
		}
	}
	pthread_mutex_unlock(&fp->lock);
}
