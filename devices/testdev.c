// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fast-path test device: a doorbell, an interrupt, a coalesced window
 * and a RAM slot with dirty logging, each through vmm/fastpath.h, so that
 * one guest shows every path gives the same result as its slow path.
 */
#include "devices/testdev.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/fastpath.h"
#include "vmm/irq.h"

#define REG_DOORBELL 0x00
#define REG_RINGS    0x04
#define REG_IRQ	     0x08
#define REG_SLOT     0x0c
#define REG_DIRTY    0x10
#define REG_WRITES   0x14

struct testdev {
	struct fp_doorbell *bell;
	struct fp_irq *irq;
	struct fp_zone *zone;
	struct fp_slot *slot;
	atomic_uint rings;
	pthread_mutex_t lock; /* guards the fields below */
	uint32_t window[TESTDEV_WINDOW_DWORDS];
	uint32_t writes;
	uint32_t slot_base;
};

static void rung(void *opaque, uint64_t count)
{
	struct testdev *t = opaque;

	atomic_fetch_add(&t->rings, (unsigned)count);
}

static uint32_t dirty_pages(struct testdev *t)
{
	uint64_t bitmap[1];
	long n = fastpath_slot_dirty(t->slot, bitmap, 1);

	return n < 0 ? 0xffffffffu : (uint32_t)bitmap[0];
}

static uint64_t regs_read(void *opaque, uint64_t off, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t v = ~0ULL;

	if (size != 4)
		return v;
	pthread_mutex_lock(&t->lock);
	switch (off + 4) { /* the bus range starts after the doorbell */
	case REG_RINGS:
		v = atomic_load(&t->rings);
		break;
	case REG_SLOT:
		v = t->slot_base;
		break;
	case REG_DIRTY:
		v = dirty_pages(t);
		break;
	case REG_WRITES:
		v = t->writes;
		break;
	}
	pthread_mutex_unlock(&t->lock);
	return v;
}

static void regs_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct testdev *t = opaque;

	if (off + 4 == REG_IRQ) {
		fastpath_irq_pulse(t->irq);
		return;
	}
	if (off + 4 != REG_SLOT || size != 4)
		return;
	pthread_mutex_lock(&t->lock);
	/* A base the slot cannot take (unaligned, wrapping) unmaps it. */
	value &= 0xffffffffu;
	if (value % 4096 || value + TESTDEV_SLOT_SIZE > 0x100000000ULL)
		value = 0;
	if (fastpath_slot_map(t->slot, value) == 0)
		t->slot_base = (uint32_t)value;
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops regs_ops = {.read = regs_read, .write = regs_write};

static uint64_t window_read(void *opaque, uint64_t off, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t v = ~0ULL;

	if (size == 4 && off % 4 == 0 && off / 4 < TESTDEV_WINDOW_DWORDS) {
		pthread_mutex_lock(&t->lock);
		v = t->window[off / 4];
		pthread_mutex_unlock(&t->lock);
	}
	return v;
}

static void window_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct testdev *t = opaque;

	pthread_mutex_lock(&t->lock);
	t->writes++;
	if (size == 4 && off % 4 == 0 && off / 4 < TESTDEV_WINDOW_DWORDS)
		t->window[off / 4] = (uint32_t)value;
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops window_ops = {.read = window_read, .write = window_write};

static void testdev_destroy(void *state)
{
	struct testdev *t = state;

	if (!t)
		return;
	fastpath_doorbell_free(t->bell);
	fastpath_irq_free(t->irq);
	fastpath_zone_free(t->zone);
	fastpath_slot_free(t->slot);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void *testdev_create(const struct dev_ctx *ctx, const struct board_entry *e, char *err,
			    size_t errlen)
{
	struct fp_doorbell_spec bell = {
		.name = "testdev-doorbell",
		.pio = true,
		.addr = e->port + REG_DOORBELL,
		.len = 4,
		.datamatch = true,
		.value = TESTDEV_DOORBELL_VALUE,
		.claim = true,
	};
	struct testdev *t;
	struct irq_line line;

	if (!ctx->fastpath) {
		snprintf(err, errlen, "%s: the machine has no fast-path layer", e->id);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "%s: out of memory", e->id);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	if (dev_claim(ctx->pio, e->port + 4, TESTDEV_PORTS - 4, &regs_ops, t, e->id, err, errlen) <
		0 ||
	    dev_claim(ctx->mmio, TESTDEV_MMIO, TESTDEV_MMIO_SIZE, &window_ops, t, "testdev-window",
		      err, errlen) < 0 ||
	    dev_isa_irq(ctx, (unsigned)e->irq, &line, err, errlen) < 0)
		goto fail;
	t->bell = fastpath_doorbell_add(ctx->fastpath, &bell, rung, t, err, errlen);
	if (!t->bell)
		goto fail;
	t->irq = fastpath_irq_gsi(ctx->fastpath, &line, "testdev-irq", err, errlen);
	if (!t->irq)
		goto fail;
	t->zone = fastpath_zone_add(ctx->fastpath, false, TESTDEV_MMIO, TESTDEV_WINDOW_DWORDS * 4,
				    err, errlen);
	if (!t->zone)
		goto fail;
	t->slot = fastpath_slot_new(ctx->fastpath, TESTDEV_SLOT_SIZE, "testdev-slot", err, errlen);
	if (!t->slot)
		goto fail;
	return t;
fail:
	testdev_destroy(t);
	return NULL;
}

/* Power-on state: nothing counted, the window clear, the slot unmapped. */
static void testdev_reset(void *state)
{
	struct testdev *t = state;

	pthread_mutex_lock(&t->lock);
	atomic_store(&t->rings, 0);
	memset(t->window, 0, sizeof(t->window));
	t->writes = 0;
	if (fastpath_slot_map(t->slot, 0) == 0)
		t->slot_base = 0;
	memset(fastpath_slot_hva(t->slot), 0, TESTDEV_SLOT_SIZE);
	pthread_mutex_unlock(&t->lock);
}

const struct device_type testdev_type = {
    .name = "testdev",
    .create = testdev_create,
    .reset = testdev_reset,
    .destroy = testdev_destroy,
};
