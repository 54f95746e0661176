// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio PCI transport: legacy register file, modern capabilities,
 * feature negotiation, status machine, queues, doorbells and interrupts.
 * See virtio_pci.h for the layout, the tolerances and the lock.
 */
#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "vmm/device.h"
#include "vmm/fastpath.h"

struct vp_queue {
	struct virtio_pci *vp;
	unsigned idx;
	struct virtq vq;
	uint16_t size;	 /* modern: the size the driver chose */
	uint16_t vector; /* MSI-X vector or VIRTIO_MSI_NO_VECTOR */
	uint32_t pfn;	 /* legacy: what the driver wrote, 0 when not set up */
	bool enabled;	 /* modern queue_enable */
	bool error_reported;
	uint64_t desc, avail, used;
	struct fp_doorbell *db_legacy, *db_modern;
	struct virtio_pci_path_stats path;
	uint64_t doorbell_rings; /* what the doorbell's eventfd counted: KVM's and ours */
	uint64_t doorbell_by_exit; /* of those, written by the exit path */
};

struct virtio_pci {
	const struct virtio_dev_ops *ops;
	void *opaque;
	struct pci_dev *dev;
	struct fastpath *fp;
	struct fp_intx *intx;
	struct fp_msi *msi;
	enum virtio_transport transport;
	pthread_mutex_t lock;

	uint8_t status;
	uint8_t isr;
	bool isr_queue; /* a completion was signalled since ISR was last read */
	uint8_t cfg_gen;
	uint64_t guest_features;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel;
	uint16_t config_vector;
	unsigned nvectors;

	bool resetting; /* a guest reset is waiting for the device: kicks dropped */
	bool stopped;	/* machine quiesce until resume: kicks dropped */
	bool paused;	/* kicks held in held_kicks */
	uint64_t held_kicks;

	unsigned legacy_size;
	int pcicfg_cap; /* offset of the PCI config access capability, or -1 */
	struct virtio_pci_stats st;
	struct virtio_pci_path_stats config_path; /* configuration interrupts */
	struct vp_queue q[VIRTIO_PCI_MAX_QUEUES];
	char name[32];
};

static const char *const transport_names[] = {
    [VIRTIO_TRANSPORT_TRANSITIONAL] = "transitional",
    [VIRTIO_TRANSPORT_LEGACY] = "legacy",
    [VIRTIO_TRANSPORT_MODERN] = "modern",
};

int virtio_transport_parse(const char *s, enum virtio_transport *t)
{
	for (unsigned i = 0; i < sizeof(transport_names) / sizeof(transport_names[0]); i++) {
		if (strcmp(s, transport_names[i]) == 0) {
			*t = (enum virtio_transport)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *virtio_transport_name(enum virtio_transport t)
{
	return (unsigned)t < sizeof(transport_names) / sizeof(transport_names[0])
		   ? transport_names[t]
		   : "?";
}

static bool has_legacy(const struct virtio_pci *vp)
{
	return vp->transport != VIRTIO_TRANSPORT_MODERN;
}

static bool has_modern(const struct virtio_pci *vp)
{
	return vp->transport != VIRTIO_TRANSPORT_LEGACY;
}

/* What each interface offers: the legacy one sees the low 32 bits. */
static uint64_t offered_modern(const struct virtio_pci *vp)
{
	return vp->ops->features | (1ULL << VIRTIO_F_VERSION_1);
}

static uint32_t offered_legacy(const struct virtio_pci *vp)
{
	return (uint32_t)vp->ops->features;
}

static bool msix_on(struct virtio_pci *vp)
{
	return pci_msix_enabled(vp->dev);
}

/* ---- interrupts ---- */

static void send_vector(struct virtio_pci *vp, uint16_t vector, struct virtio_pci_path_stats *ps)
{
	if (vector == VIRTIO_MSI_NO_VECTOR || vector >= vp->nvectors) {
		vp->st.irq_suppressed++;
		ps->irq_suppressed++;
		return;
	}
	vp->st.irq_msix++;
	if (vp->msi && fastpath_msi_notify(vp->msi, true, vector) == 1)
		ps->irq_irqfd++;
	else {
		if (!vp->msi)
			pci_msix_notify(vp->dev, vector);
		ps->irq_msi++;
	}
}

/* ps: whose interrupt it is (a queue's or the configuration's), for the
 * path counters. */
static void raise(struct virtio_pci *vp, uint8_t bits, uint16_t vector,
		  struct virtio_pci_path_stats *ps)
{
	vp->isr |= bits;
	if (msix_on(vp)) {
		send_vector(vp, vector, ps);
		return;
	}
	vp->st.irq_intx++;
	if (vp->intx && fastpath_intx_fast(vp->intx))
		ps->irq_irqfd++;
	else
		ps->irq_ioctl++;
	pci_set_irq(vp->dev, true);
}

static uint8_t isr_read(struct virtio_pci *vp)
{
	uint8_t v = vp->isr;

	/* viostor drains its queue only on ISR == 1: a completion that came
	 * with (or behind) a config interrupt is raised again. */
	if ((v & VIRTIO_ISR_CONFIG) && vp->isr_queue) {
		vp->isr = VIRTIO_ISR_QUEUE;
		if (!msix_on(vp))
			pci_set_irq(vp->dev, true);
	} else {
		vp->isr = 0;
		pci_set_irq(vp->dev, false);
	}
	vp->isr_queue = false;
	return v;
}

static void config_irq(struct virtio_pci *vp)
{
	vp->cfg_gen++;
	if (!(vp->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	vp->st.config_irqs++;
	if (vp->isr & VIRTIO_ISR_QUEUE)
		vp->isr_queue = true;
	raise(vp, VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG, vp->config_vector, &vp->config_path);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	config_irq(vp);
}

bool virtio_pci_queue_check(struct virtio_pci *vp, unsigned q)
{
	struct vp_queue *vq;

	if (q >= vp->ops->num_queues)
		return false;
	vq = &vp->q[q];
	if (virtq_error(&vq->vq) == VIRTQ_OK)
		return false;
	if (vq->error_reported)
		return true;
	vq->error_reported = true;
	vp->st.queue_errors++;
	dev_log(vp->name, "queue %u stopped: %s", q, virtq_err_str(virtq_error(&vq->vq)));
	if (virtio_pci_modern(vp)) {
		vp->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
		config_irq(vp);
	}
	return true;
}

void virtio_pci_queue_done(struct virtio_pci *vp, unsigned q)
{
	struct vp_queue *vq;

	if (q >= vp->ops->num_queues)
		return;
	vq = &vp->q[q];
	if (virtio_pci_queue_check(vp, q))
		return;
	if (!virtq_need_interrupt(&vq->vq)) {
		vp->st.irq_suppressed++;
		vq->path.irq_suppressed++;
		return;
	}
	vp->isr_queue = true;
	raise(vp, VIRTIO_ISR_QUEUE, vq->vector, &vq->path);
}

/* ---- queues ---- */

static void kick(struct virtio_pci *vp, unsigned q)
{
	struct vp_queue *vq;

	if (q >= vp->ops->num_queues) {
		vp->st.kicks_ignored++;
		return;
	}
	vq = &vp->q[q];
	if (vp->resetting || vp->stopped) {
		vp->st.kicks_ignored++;
		return;
	}
	if (vp->paused) {
		vp->held_kicks |= 1ULL << q;
		vp->st.kicks_held++;
		return;
	}
	if (!virtq_ready(&vq->vq)) {
		vp->st.kicks_ignored++;
		virtio_pci_queue_check(vp, q);
		return;
	}
	vp->st.kicks++;
	vp->ops->queue_notify(vp->opaque, q, &vq->vq);
	virtio_pci_queue_check(vp, q);
}

static void doorbell_rung(void *opaque, uint64_t count)
{
	struct vp_queue *vq = opaque;
	struct virtio_pci *vp = vq->vp;

	pthread_mutex_lock(&vp->lock);
	vq->doorbell_rings += count;
	kick(vp, vq->idx);
	pthread_mutex_unlock(&vp->lock);
}

/* What the driver wrote is kept as written (the modern register reads it
 * back; FEATURES_OK is refused for bits never offered); the queues and the
 * device see only the offered part. */
static void set_features(struct virtio_pci *vp, uint64_t features)
{
	uint64_t neg = features & offered_modern(vp);

	vp->guest_features = features;
	for (unsigned i = 0; i < vp->ops->num_queues; i++)
		virtq_set_features(&vp->q[i].vq, neg);
	if (vp->ops->set_features)
		vp->ops->set_features(vp->opaque, neg);
}

static void queue_reset(struct vp_queue *vq)
{
	struct virtio_pci *vp = vq->vp;

	virtq_reset(&vq->vq);
	vq->size = vp->ops->queue_max[vq->idx];
	vq->vector = VIRTIO_MSI_NO_VECTOR;
	vq->pfn = 0;
	vq->enabled = false;
	vq->error_reported = false;
	vq->desc = vq->avail = vq->used = 0;
}

/* Registers, queues and the device back to power-on state (locked). */
static void state_reset(struct virtio_pci *vp)
{
	vp->status = 0;
	vp->isr = 0;
	vp->isr_queue = false;
	vp->guest_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->held_kicks = 0;
	pci_set_irq(vp->dev, false);
	for (unsigned i = 0; i < vp->ops->num_queues; i++) {
		queue_reset(&vp->q[i]);
		virtq_set_features(&vp->q[i].vq, 0);
	}
	if (vp->ops->reset)
		vp->ops->reset(vp->opaque);
	vp->st.resets++;
}

/* The guest wrote 0 to status: wait for the device's work, then reset.
 * Entered and left locked; the lock is dropped while the device quiesces
 * (kicks that come meanwhile are dropped). */
static void guest_reset(struct virtio_pci *vp)
{
	vp->status = 0;
	if (vp->resetting)
		return; /* another vCPU is resetting right now */
	vp->resetting = true;
	if (vp->ops->quiesce) {
		pthread_mutex_unlock(&vp->lock);
		vp->ops->quiesce(vp->opaque);
		pthread_mutex_lock(&vp->lock);
	}
	state_reset(vp);
	vp->resetting = false;
}

static void status_write(struct virtio_pci *vp, uint8_t val)
{
	uint8_t old = vp->status;

	if (val == 0) {
		guest_reset(vp);
		return;
	}
	/* FEATURES_OK only for features that were offered (§2.2), VERSION_1
	 * among them (§6.1; legacy drivers never set this bit). */
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vp->guest_features & ~offered_modern(vp)) ||
	     !(vp->guest_features & (1ULL << VIRTIO_F_VERSION_1))))
		val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	vp->status = val | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Kicks may have come before DRIVER_OK (NetKVM fills its RX queue
	 * first): the device gets a look at every queue with chains waiting. */
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		for (unsigned i = 0; i < vp->ops->num_queues; i++)
			if (virtq_ready(&vp->q[i].vq) && virtq_pending(&vp->q[i].vq) != 0)
				kick(vp, i);
	}
}

static struct vp_queue *selected(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->ops->num_queues ? &vp->q[vp->queue_sel] : NULL;
}

static void legacy_pfn_write(struct virtio_pci *vp, uint32_t pfn)
{
	struct vp_queue *vq = selected(vp);
	int ret;

	if (!vq)
		return;
	virtq_reset(&vq->vq);
	vq->pfn = 0;
	vq->error_reported = false;
	if (pfn == 0)
		return; /* delete the queue */
	ret =
	    virtq_setup_legacy(&vq->vq, vp->ops->queue_max[vq->idx], pfn, virtio_pci_features(vp));
	if (ret < 0) {
		vp->st.bad_accesses++;
		dev_log(vp->name, "queue %u: ring at PFN 0x%x refused: %s", vq->idx, pfn,
			strerror(-ret));
		return;
	}
	vq->pfn = pfn;
}

static void modern_enable(struct virtio_pci *vp, struct vp_queue *vq, uint16_t val)
{
	int ret;

	if (val != 1) {
		vp->st.bad_accesses++;
		dev_log(vp->name, "queue %u: queue_enable %u ignored", vq->idx, val);
		return;
	}
	if (vq->enabled)
		return;
	ret =
	    virtq_setup(&vq->vq, vq->size, vq->desc, vq->avail, vq->used, virtio_pci_features(vp));
	if (ret < 0) {
		vp->st.bad_accesses++;
		dev_log(vp->name, "queue %u: rings (size %u) refused: %s", vq->idx, vq->size,
			strerror(-ret));
		return;
	}
	vq->enabled = true;
	vq->error_reported = false;
}

static uint16_t vector_value(const struct virtio_pci *vp, uint64_t val)
{
	return val < vp->nvectors ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

/* ---- device config ---- */

static uint64_t config_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	uint8_t buf[8] = {0};
	uint64_t v = 0;

	if (size > 8 || off >= vp->ops->config_size || size > vp->ops->config_size - off ||
	    !vp->ops->config_read)
		return ~0ULL;
	vp->ops->config_read(vp->opaque, (unsigned)off, buf, size);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	return v;
}

static void config_write(struct virtio_pci *vp, uint64_t off, uint64_t value, unsigned size)
{
	uint8_t buf[8];

	if (size > 8 || off >= vp->ops->config_size || size > vp->ops->config_size - off ||
	    !vp->ops->config_write) {
		vp->st.bad_accesses++;
		return;
	}
	for (unsigned i = 0; i < size; i++)
		buf[i] = (uint8_t)(value >> (8 * i));
	vp->ops->config_write(vp->opaque, (unsigned)off, buf, size);
}

/* ---- legacy BAR0 ---- */

static uint64_t legacy_read_locked(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	bool msix = msix_on(vp);
	unsigned cfg = VIRTIO_PCI_CONFIG_OFF(msix);
	struct vp_queue *vq = selected(vp);

	if (off >= cfg)
		return config_read(vp, off - cfg, size);
	/* As QEMU: registers by their first byte, any width; other offsets
	 * read all ones. */
	switch (off) {
	case VIRTIO_PCI_HOST_FEATURES:
		return offered_legacy(vp);
	case VIRTIO_PCI_GUEST_FEATURES:
		return (uint32_t)vp->guest_features;
	case VIRTIO_PCI_QUEUE_PFN:
		return vq ? vq->pfn : 0;
	case VIRTIO_PCI_QUEUE_NUM:
		return vq ? vp->ops->queue_max[vq->idx] : 0;
	case VIRTIO_PCI_QUEUE_SEL:
		return vp->queue_sel;
	case VIRTIO_PCI_QUEUE_NOTIFY:
		return 0;
	case VIRTIO_PCI_STATUS:
		return vp->status;
	case VIRTIO_PCI_ISR:
		return isr_read(vp);
	case VIRTIO_MSI_CONFIG_VECTOR:
		return vp->config_vector;
	case VIRTIO_MSI_QUEUE_VECTOR:
		return vq ? vq->vector : VIRTIO_MSI_NO_VECTOR;
	default:
		return ~0ULL;
	}
}

static uint64_t legacy_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint64_t v;

	pthread_mutex_lock(&vp->lock);
	v = legacy_read_locked(vp, off, size);
	pthread_mutex_unlock(&vp->lock);
	return v;
}

static void legacy_notify(struct virtio_pci *vp, uint64_t value, unsigned size)
{
	uint64_t addr = pci_dev_bar_addr(vp->dev, VIRTIO_PCI_LEGACY_BAR);
	uint64_t q = value & (size >= 2 ? 0xffff : 0xff);

	if (q < vp->ops->num_queues)
		vp->q[q].path.notify_exit++;
	if (q < vp->ops->num_queues && vp->q[q].db_legacy && addr &&
	    fastpath_doorbell_write(vp->q[q].db_legacy, addr + VIRTIO_PCI_QUEUE_NOTIFY, value,
				    size)) {
		vp->q[q].doorbell_by_exit++;
		return; /* the I/O thread takes it */
	}
	kick(vp, (unsigned)q);
}

static void legacy_write_locked(struct virtio_pci *vp, uint64_t off, uint64_t value, unsigned size)
{
	bool msix = msix_on(vp);
	unsigned cfg = VIRTIO_PCI_CONFIG_OFF(msix);
	struct vp_queue *vq = selected(vp);

	if (off >= cfg) {
		config_write(vp, off - cfg, value, size);
		return;
	}
	switch (off) {
	case VIRTIO_PCI_GUEST_FEATURES:
		/* Any time, DRIVER_OK included (the 2013 balloon); read back
		 * as written, within what was offered. */
		if (!(vp->status & VIRTIO_STATUS_FEATURES_OK))
			set_features(vp, (uint32_t)value & offered_legacy(vp));
		break;
	case VIRTIO_PCI_QUEUE_PFN:
		legacy_pfn_write(vp, (uint32_t)value);
		break;
	case VIRTIO_PCI_QUEUE_SEL:
		vp->queue_sel = (uint16_t)value;
		break;
	case VIRTIO_PCI_QUEUE_NOTIFY:
		legacy_notify(vp, value, size);
		break;
	case VIRTIO_PCI_STATUS:
		status_write(vp, (uint8_t)value);
		break;
	case VIRTIO_MSI_CONFIG_VECTOR:
		vp->config_vector = vector_value(vp, value & 0xffff);
		break;
	case VIRTIO_MSI_QUEUE_VECTOR:
		if (vq)
			vq->vector = vector_value(vp, value & 0xffff);
		break;
	default:
		vp->st.bad_accesses++;
		break;
	}
}

static void legacy_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->lock);
	legacy_write_locked(vp, off, value, size);
	pthread_mutex_unlock(&vp->lock);
}

static const struct bus_ops legacy_ops = {.read = legacy_read, .write = legacy_write};

/* ---- modern BAR4 ---- */

static uint64_t common_read(struct virtio_pci *vp, uint64_t off)
{
	struct vp_queue *vq = selected(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return vp->dfselect < 2 ? (uint32_t)(offered_modern(vp) >> (32 * vp->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vp->gfselect < 2 ? (uint32_t)(vp->guest_features >> (32 * vp->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return vp->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ:
		return vp->ops->num_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return vp->status;
	case VIRTIO_PCI_COMMON_CFGGEN:
		return vp->cfg_gen;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_sel;
	}
	if (!vq)
		return 0; /* a queue that does not exist: size 0 */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return vq->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return vq->vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return vq->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return vq->idx;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return (uint32_t)vq->desc;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return (uint32_t)(vq->desc >> 32);
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return (uint32_t)vq->avail;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return (uint32_t)(vq->avail >> 32);
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return (uint32_t)vq->used;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return (uint32_t)(vq->used >> 32);
	default:
		return 0;
	}
}

static void set_half(uint64_t *reg, bool hi, uint32_t v)
{
	if (hi)
		*reg = (*reg & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*reg = (*reg & ~0xffffffffULL) | v;
}

static void common_write(struct virtio_pci *vp, uint64_t off, uint64_t value)
{
	struct vp_queue *vq = selected(vp);
	uint32_t v = (uint32_t)value;
	uint64_t f;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = v;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = v;
		return;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->gfselect >= 2 || (vp->status & VIRTIO_STATUS_FEATURES_OK)) {
			vp->st.bad_accesses++;
			return;
		}
		f = vp->guest_features;
		set_half(&f, vp->gfselect == 1, v);
		set_features(vp, f);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->config_vector = vector_value(vp, v & 0xffff);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		status_write(vp, (uint8_t)v);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_sel = (uint16_t)v;
		return;
	}
	if (!vq) {
		vp->st.bad_accesses++;
		return;
	}
	if (vq->enabled && off >= VIRTIO_PCI_COMMON_Q_SIZE && off != VIRTIO_PCI_COMMON_Q_MSIX) {
		vp->st.bad_accesses++; /* the rings of an enabled queue stay put */
		return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* A power of 2 up to the maximum; anything else is refused at
		 * enable (virtq_setup), so the queue stays disabled. */
		vq->size = v > vp->ops->queue_max[vq->idx] ? 0 : (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		vq->vector = vector_value(vp, v & 0xffff);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		modern_enable(vp, vq, (uint16_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_half(&vq->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_half(&vq->avail, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_half(&vq->used, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
		break;
	default:
		vp->st.bad_accesses++;
		break;
	}
}

static uint64_t modern_read_locked(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	uint64_t in = off & (VIRTIO_PCI_REGION_SIZE - 1);

	switch (off / VIRTIO_PCI_REGION_SIZE) {
	case VIRTIO_PCI_COMMON_OFF / VIRTIO_PCI_REGION_SIZE:
		return common_read(vp, in);
	case VIRTIO_PCI_ISR_OFF / VIRTIO_PCI_REGION_SIZE:
		return in == 0 ? isr_read(vp) : 0;
	case VIRTIO_PCI_DEVICE_OFF / VIRTIO_PCI_REGION_SIZE:
		return config_read(vp, in, size);
	default:
		return 0; /* notify reads 0 */
	}
}

static void modern_notify(struct virtio_pci *vp, uint64_t in, uint64_t value, unsigned size,
			  bool from_bar)
{
	uint64_t q = in / VIRTIO_PCI_NOTIFY_MULT;
	uint64_t addr = pci_dev_bar_addr(vp->dev, VIRTIO_PCI_MODERN_BAR);

	if (in % VIRTIO_PCI_NOTIFY_MULT || q >= vp->ops->num_queues) {
		vp->st.kicks_ignored++;
		return;
	}
	vp->q[q].path.notify_exit++;
	if (from_bar && vp->q[q].db_modern && addr &&
	    fastpath_doorbell_write(vp->q[q].db_modern, addr + VIRTIO_PCI_NOTIFY_OFF + in, value,
				    size)) {
		vp->q[q].doorbell_by_exit++;
		return;
	}
	kick(vp, (unsigned)q);
}

static void modern_write_locked(struct virtio_pci *vp, uint64_t off, uint64_t value, unsigned size,
				bool from_bar)
{
	uint64_t in = off & (VIRTIO_PCI_REGION_SIZE - 1);

	switch (off / VIRTIO_PCI_REGION_SIZE) {
	case VIRTIO_PCI_COMMON_OFF / VIRTIO_PCI_REGION_SIZE:
		common_write(vp, in, value);
		break;
	case VIRTIO_PCI_DEVICE_OFF / VIRTIO_PCI_REGION_SIZE:
		config_write(vp, in, value, size);
		break;
	case VIRTIO_PCI_NOTIFY_OFF / VIRTIO_PCI_REGION_SIZE:
		modern_notify(vp, in, value, size, from_bar);
		break;
	default:
		vp->st.bad_accesses++; /* ISR is read-only */
		break;
	}
}

static uint64_t modern_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint64_t v;

	pthread_mutex_lock(&vp->lock);
	v = modern_read_locked(vp, off, size);
	pthread_mutex_unlock(&vp->lock);
	return v;
}

static void modern_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->lock);
	modern_write_locked(vp, off, value, size, true);
	pthread_mutex_unlock(&vp->lock);
}

static const struct bus_ops modern_ops = {.read = modern_read, .write = modern_write};

/* ---- PCI configuration: the config access capability ---- */

#define PCICFG_BAR    4
#define PCICFG_OFFSET 8
#define PCICFG_LENGTH 12
#define PCICFG_DATA   16
#define PCICFG_LEN    20

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The window the capability names, if it is one we serve: the modern BAR,
 * a length of 1, 2 or 4, aligned, inside the BAR. */
static bool pcicfg_window(struct virtio_pci *vp, uint32_t *off, uint32_t *len)
{
	uint8_t *c = pci_dev_config(vp->dev) + vp->pcicfg_cap;

	*off = get_le32(c + PCICFG_OFFSET);
	*len = get_le32(c + PCICFG_LENGTH);
	if (c[PCICFG_BAR] != VIRTIO_PCI_MODERN_BAR || (*len != 1 && *len != 2 && *len != 4) ||
	    *off % *len || *off >= VIRTIO_PCI_MODERN_SIZE) {
		vp->st.bad_accesses++;
		return false;
	}
	return true;
}

static bool touches(unsigned off, unsigned size, unsigned start, unsigned len)
{
	return off < start + len && start < off + size;
}

static void pci_cfg_read_hook(void *opaque, struct pci_dev *dev, unsigned off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint32_t woff, wlen;
	uint64_t v;

	if (vp->pcicfg_cap < 0 || !touches(off, size, (unsigned)vp->pcicfg_cap + PCICFG_DATA, 4))
		return;
	pthread_mutex_lock(&vp->lock);
	if (pcicfg_window(vp, &woff, &wlen)) {
		v = modern_read_locked(vp, woff, wlen);
		put_le32(pci_dev_config(dev) + vp->pcicfg_cap + PCICFG_DATA, (uint32_t)v);
	}
	pthread_mutex_unlock(&vp->lock);
}

static void pci_cfg_write_hook(void *opaque, struct pci_dev *dev, unsigned off, unsigned size,
			       uint32_t old)
{
	struct virtio_pci *vp = opaque;
	uint32_t woff, wlen, v;

	if (vp->pcicfg_cap < 0 || !touches(off, size, (unsigned)vp->pcicfg_cap + PCICFG_DATA, 4))
		return;
	pthread_mutex_lock(&vp->lock);
	if (pcicfg_window(vp, &woff, &wlen)) {
		v = get_le32(pci_dev_config(dev) + vp->pcicfg_cap + PCICFG_DATA);
		if (wlen < 4)
			v &= (1u << (8 * wlen)) - 1;
		modern_write_locked(vp, woff, v, wlen, false);
	}
	pthread_mutex_unlock(&vp->lock);
}

static const struct pci_dev_ops pci_ops = {
    .config_write = pci_cfg_write_hook,
    .config_read = pci_cfg_read_hook,
};

static int add_vendor_cap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len,
			  unsigned cap_len)
{
	int at = pci_dev_add_cap(vp->dev, PCI_CAP_ID_VNDR, cap_len);
	uint8_t *c;

	if (at < 0)
		return at;
	c = pci_dev_config(vp->dev) + at;
	c[2] = (uint8_t)cap_len;
	c[3] = type;
	c[4] = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_MODERN_BAR;
	put_le32(c + 8, off);
	put_le32(c + 12, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		put_le32(c + 16, VIRTIO_PCI_NOTIFY_MULT);
	return at;
}

static int add_modern_caps(struct virtio_pci *vp)
{
	unsigned nq = vp->ops->num_queues;
	uint8_t *wm;
	int at;

	if (add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
			   VIRTIO_PCI_REGION_SIZE, 16) < 0 ||
	    add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, VIRTIO_PCI_REGION_SIZE,
			   16) < 0 ||
	    add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
			   VIRTIO_PCI_REGION_SIZE, 16) < 0 ||
	    add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
			   nq * VIRTIO_PCI_NOTIFY_MULT, 20) < 0)
		return -ENOSPC;
	at = add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, PCICFG_LEN);
	if (at < 0)
		return at;
	wm = pci_dev_wmask(vp->dev) + at;
	wm[PCICFG_BAR] = 0xff;
	memset(wm + PCICFG_OFFSET, 0xff, 12); /* offset, length, data */
	vp->pcicfg_cap = at;
	return 0;
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int add_doorbells(struct virtio_pci *vp, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vp->ops->num_queues; i++) {
		struct vp_queue *vq = &vp->q[i];
		struct fp_doorbell_spec s = {.name = vp->name};

		if (vp->ops->exit_queues & (1ULL << i))
			continue; /* kicked in the exit (legacy_notify, modern_notify) */
		if (has_legacy(vp)) {
			s.pio = true;
			s.len = 2;
			s.datamatch = true;
			s.value = i;
			vq->db_legacy =
			    fastpath_doorbell_add(vp->fp, &s, doorbell_rung, vq, err, errlen);
			if (!vq->db_legacy || fastpath_doorbell_follow_bar(
						  vq->db_legacy, vp->dev, VIRTIO_PCI_LEGACY_BAR,
						  VIRTIO_PCI_QUEUE_NOTIFY) < 0)
				goto fail;
		}
		if (has_modern(vp)) {
			s = (struct fp_doorbell_spec){.name = vp->name, .len = 0};
			vq->db_modern =
			    fastpath_doorbell_add(vp->fp, &s, doorbell_rung, vq, err, errlen);
			if (!vq->db_modern ||
			    fastpath_doorbell_follow_bar(
				vq->db_modern, vp->dev, VIRTIO_PCI_MODERN_BAR,
				VIRTIO_PCI_NOTIFY_OFF + i * VIRTIO_PCI_NOTIFY_MULT) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	if (!err[0])
		snprintf(err, errlen, "%s: cannot place its doorbells", vp->name);
	return -1;
}

/* The transitional device IDs (virtio 1.x §4.1.2.1): not type - 1 for all. */
static uint16_t transitional_id(uint16_t type)
{
	static const uint16_t ids[] = {
	    [1] = 0x1000, /* net */
	    [2] = 0x1001, /* block */
	    [3] = 0x1003, /* console */
	    [4] = 0x1005, /* entropy */
	    [5] = 0x1002, /* traditional memory balloon */
	    [8] = 0x1004, /* SCSI host */
	    [9] = 0x1009, /* 9P transport */
	};

	return type < sizeof(ids) / sizeof(ids[0]) ? ids[type] : 0;
}

static bool ops_valid(const struct virtio_dev_ops *ops, char *err, size_t errlen)
{
	if (!ops->device_type || !ops->num_queues || ops->num_queues > VIRTIO_PCI_MAX_QUEUES ||
	    ops->config_size > VIRTIO_PCI_CONFIG_MAX || !ops->queue_notify) {
		snprintf(err, errlen, "%s: bad virtio device description", ops->name);
		return false;
	}
	for (unsigned i = 0; i < ops->num_queues; i++) {
		uint16_t m = ops->queue_max[i];

		if (!m || (m & (m - 1)) || m > VIRTQ_MAX_SIZE) {
			snprintf(err, errlen, "%s: queue %u: bad maximum size %u", ops->name, i, m);
			return false;
		}
	}
	return true;
}

struct virtio_pci *virtio_pci_create(const struct dev_ctx *ctx, const struct virtio_pci_config *cfg,
				     const struct virtio_dev_ops *ops, void *opaque, char *err,
				     size_t errlen)
{
	struct virtio_pci *vp;
	struct pci_dev_info info = {0};
	int devfn = cfg->devfn;
	bool modern_only = cfg->transport == VIRTIO_TRANSPORT_MODERN;

	if (err && errlen)
		err[0] = 0;
	if (!ops_valid(ops, err, errlen))
		return NULL;
	if ((unsigned)cfg->transport > VIRTIO_TRANSPORT_MODERN) {
		snprintf(err, errlen, "%s: bad transport", ops->name);
		return NULL;
	}
	if (cfg->transport != VIRTIO_TRANSPORT_MODERN && !transitional_id(ops->device_type)) {
		snprintf(err, errlen, "%s: has no legacy interface (transport=modern only)",
			 ops->name);
		return NULL;
	}
	vp = calloc(1, sizeof(*vp));
	if (!vp) {
		snprintf(err, errlen, "%s: out of memory", ops->name);
		return NULL;
	}
	vp->ops = ops;
	vp->opaque = opaque;
	vp->transport = cfg->transport;
	vp->fp = ctx->fastpath;
	vp->pcicfg_cap = -1;
	vp->nvectors = ops->num_queues + 1;
	snprintf(vp->name, sizeof(vp->name), "%s", cfg->id ? cfg->id : ops->name);
	pthread_mutex_init(&vp->lock, NULL);
	for (unsigned i = 0; i < ops->num_queues; i++) {
		vp->q[i].vp = vp;
		vp->q[i].idx = i;
		virtq_init(&vp->q[i].vq, ctx->mem);
		queue_reset(&vp->q[i]);
	}
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;

	if (devfn < 0) {
		int slot = pci_bus_alloc_slot(ctx->pci, PCI_SLOT_FIRST_OPTION);

		if (slot < 0) {
			snprintf(err, errlen, "%s: no free PCI slot", vp->name);
			goto fail;
		}
		devfn = (int)PCI_DEVFN(slot, 0);
	}
	info.vendor = 0x1af4;
	info.device =
	    modern_only ? (uint16_t)(0x1040 + ops->device_type) : transitional_id(ops->device_type);
	info.class_code = ops->class_code;
	info.revision = modern_only ? 1 : 0;
	info.irq_pin = 1;
	info.subsys_vendor = 0x1af4;
	info.subsys_id = ops->device_type;
	info.name = vp->name;
	vp->dev = pci_dev_add(ctx->pci, (unsigned)devfn, &info, &pci_ops, vp);
	if (!vp->dev) {
		snprintf(err, errlen, "%s: PCI %02x.%x is taken", vp->name, PCI_SLOT(devfn),
			 PCI_FUNC(devfn));
		goto fail;
	}
	vp->legacy_size = (unsigned)pow2_at_least(VIRTIO_PCI_CONFIG_OFF(true) + ops->config_size);
	if (vp->legacy_size < 0x40)
		vp->legacy_size = 0x40;
	if ((has_legacy(vp) && pci_dev_set_bar(vp->dev, VIRTIO_PCI_LEGACY_BAR, PCI_BAR_IO, false,
					       vp->legacy_size, &legacy_ops, vp) < 0) ||
	    pci_dev_set_bar(vp->dev, VIRTIO_PCI_MSIX_BAR, PCI_BAR_MEM32, false, 0x1000, NULL,
			    NULL) < 0 ||
	    (has_modern(vp) && pci_dev_set_bar(vp->dev, VIRTIO_PCI_MODERN_BAR, PCI_BAR_MEM64, true,
					       VIRTIO_PCI_MODERN_SIZE, &modern_ops, vp) < 0) ||
	    pci_dev_add_msix(vp->dev, vp->nvectors, VIRTIO_PCI_MSIX_BAR, 0, VIRTIO_PCI_MSIX_BAR,
			     VIRTIO_PCI_MSIX_PBA_OFF) < 0 ||
	    (has_modern(vp) && add_modern_caps(vp) < 0)) {
		snprintf(err, errlen, "%s: cannot lay out its PCI function", vp->name);
		goto fail;
	}
	if (vp->fp) {
		vp->intx = fastpath_intx_attach(vp->fp, vp->dev, err, errlen);
		if (!vp->intx)
			goto fail;
		vp->msi = fastpath_msi_attach(vp->fp, vp->dev, err, errlen);
		if (!vp->msi || add_doorbells(vp, err, errlen) < 0)
			goto fail;
	}
	return vp;
fail:
	virtio_pci_destroy(vp);
	return NULL;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp)
		return;
	for (unsigned i = 0; i < vp->ops->num_queues; i++) {
		fastpath_doorbell_free(vp->q[i].db_legacy);
		fastpath_doorbell_free(vp->q[i].db_modern);
	}
	if (vp->msi)
		fastpath_msi_detach(vp->msi);
	if (vp->intx)
		fastpath_intx_detach(vp->intx);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

struct pci_dev *virtio_pci_dev(struct virtio_pci *vp)
{
	return vp->dev;
}

struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned q)
{
	return q < vp->ops->num_queues ? &vp->q[q].vq : NULL;
}

void virtio_pci_lock(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->lock);
}

void virtio_pci_unlock(struct virtio_pci *vp)
{
	pthread_mutex_unlock(&vp->lock);
}

uint64_t virtio_pci_features(const struct virtio_pci *vp)
{
	return vp->guest_features & offered_modern(vp);
}

bool virtio_pci_modern(const struct virtio_pci *vp)
{
	return virtio_pci_features(vp) & (1ULL << VIRTIO_F_VERSION_1);
}

uint8_t virtio_pci_status(const struct virtio_pci *vp)
{
	return vp->status;
}

void virtio_pci_quiesce(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->lock);
	vp->stopped = true;
	pthread_mutex_unlock(&vp->lock);
	if (vp->ops->quiesce)
		vp->ops->quiesce(vp->opaque);
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->lock);
	state_reset(vp);
	pthread_mutex_unlock(&vp->lock);
}

void virtio_pci_pause(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->lock);
	vp->paused = true;
	if (vp->ops->pause)
		vp->ops->pause(vp->opaque);
	pthread_mutex_unlock(&vp->lock);
}

void virtio_pci_resume(struct virtio_pci *vp)
{
	uint64_t held;

	pthread_mutex_lock(&vp->lock);
	vp->paused = false;
	vp->stopped = false;
	held = vp->held_kicks;
	vp->held_kicks = 0;
	if (vp->ops->resume)
		vp->ops->resume(vp->opaque);
	for (unsigned i = 0; i < vp->ops->num_queues; i++)
		if (held & (1ULL << i))
			kick(vp, i);
	pthread_mutex_unlock(&vp->lock);
}

void virtio_pci_get_stats(struct virtio_pci *vp, struct virtio_pci_stats *st)
{
	pthread_mutex_lock(&vp->lock);
	*st = vp->st;
	pthread_mutex_unlock(&vp->lock);
}

static void path_take(struct virtio_pci_path_stats *dst, struct virtio_pci_path_stats *src,
		      bool reset)
{
	*dst = *src;
	if (reset)
		memset(src, 0, sizeof(*src));
}

/* Locked. */
static int path_stats_locked(struct virtio_pci *vp, int q, struct virtio_pci_path_stats *st,
			     bool reset)
{
	struct vp_queue *vq;

	if (q == -1) {
		path_take(st, &vp->config_path, reset);
		return 0;
	}
	if (q < 0 || (unsigned)q >= vp->ops->num_queues)
		return -EINVAL;
	vq = &vp->q[q];
	path_take(st, &vq->path, reset);
	/* What the doorbell counted and the exit path did not write came
	 * from KVM's ioeventfd.  An exit's ring may be read in the next batch:
	 * never below 0. */
	st->notify_ioeventfd =
	    vq->doorbell_rings > vq->doorbell_by_exit ? vq->doorbell_rings - vq->doorbell_by_exit : 0;
	if (reset)
		vq->doorbell_rings = vq->doorbell_by_exit = 0;
	return 0;
}

int virtio_pci_path_stats(struct virtio_pci *vp, int q, struct virtio_pci_path_stats *st,
			  bool reset)
{
	int ret;

	pthread_mutex_lock(&vp->lock);
	ret = path_stats_locked(vp, q, st, reset);
	pthread_mutex_unlock(&vp->lock);
	return ret;
}

static json_t *path_json(const struct virtio_pci_path_stats *p, bool with_notify)
{
	json_t *o = json_pack("{s:{s:I,s:I,s:I,s:I}}", "interrupts", "irqfd", (json_int_t)p->irq_irqfd,
			      "msi", (json_int_t)p->irq_msi, "ioctl", (json_int_t)p->irq_ioctl,
			      "suppressed", (json_int_t)p->irq_suppressed);

	if (o && with_notify)
		json_object_set_new(o, "notify",
				    json_pack("{s:I,s:I}", "ioeventfd", (json_int_t)p->notify_ioeventfd,
					      "exit", (json_int_t)p->notify_exit));
	return o;
}

/* Where the ring stands now (see virtq_ring_state). */
static json_t *ring_json(const struct virtq *vq)
{
	struct virtq_ring_state r;

	virtq_ring_state(vq, &r);
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:b, s:b}", "last_avail",
			 r.last_avail, "avail_idx", r.avail_idx, "used_idx", r.used_idx,
			 "avail_flags", r.avail_flags, "used_event", r.used_event, "used_flags",
			 r.used_flags, "avail_event", r.avail_event, "inflight",
			 (json_int_t)r.inflight, "notify_enabled", r.notify_enabled, "event_idx",
			 r.event_idx);
}

json_t *virtio_pci_stats_json(struct virtio_pci *vp, bool reset)
{
	json_t *root = json_object(), *queues = json_array(), *cfg;
	struct virtio_pci_path_stats ps;

	if (!root || !queues) {
		json_decref(root);
		json_decref(queues);
		return NULL;
	}
	pthread_mutex_lock(&vp->lock);
	for (unsigned i = 0; i < vp->ops->num_queues; i++) {
		const struct virtq_stats *qs = &vp->q[i].vq.stats;
		json_t *q;

		path_stats_locked(vp, (int)i, &ps, reset);
		q = path_json(&ps, true);
		if (!q)
			continue;
		json_object_set_new(q, "queue", json_integer(i));
		json_object_set_new(q, "size", json_integer(vp->q[i].vq.size));
		json_object_set_new(q, "chains", json_integer((json_int_t)qs->pops));
		json_object_set_new(q, "bad_chains", json_integer((json_int_t)qs->bad_chains));
		json_object_set_new(q, "indirect_chains",
				    json_integer((json_int_t)qs->indirect_chains));
		json_object_set_new(q, "ring", ring_json(&vp->q[i].vq));
		json_array_append_new(queues, q);
	}
	path_stats_locked(vp, -1, &ps, reset);
	cfg = path_json(&ps, false);
	json_object_set_new(root, "transport", json_string(virtio_transport_name(vp->transport)));
	json_object_set_new(root, "driver",
			    json_string(!(vp->status & VIRTIO_STATUS_DRIVER) ? "none"
					: virtio_pci_modern(vp)			 ? "modern"
										 : "legacy"));
	json_object_set_new(root, "queues", queues);
	if (cfg)
		json_object_set(root, "config_interrupts", json_object_get(cfg, "interrupts"));
	json_decref(cfg);
	json_object_set_new(root, "isr", json_integer(vp->isr));
	if (vp->intx && fastpath_intx_fast(vp->intx)) {
		bool level, raised;

		fastpath_intx_state(vp->intx, &level, &raised);
		json_object_set_new(root, "intx_irqfd",
				    json_pack("{s:b, s:b}", "level", level, "raised", raised));
	}
	json_object_set_new(root, "resets", json_integer((json_int_t)vp->st.resets));
	json_object_set_new(root, "queue_errors", json_integer((json_int_t)vp->st.queue_errors));
	json_object_set_new(root, "bad_accesses", json_integer((json_int_t)vp->st.bad_accesses));
	pthread_mutex_unlock(&vp->lock);
	return root;
}
