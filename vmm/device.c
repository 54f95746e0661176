// SPDX-License-Identifier: GPL-2.0-or-later
#include "vmm/device.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/bus.h"
#include "vmm/irq_mux.h"

int dev_claim(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
	      void *opaque, const char *name, char *err, size_t errlen)
{
	int ret = bus_register(bus, base, len, ops, opaque, name);

	if (ret < 0) {
		snprintf(err, errlen, "cannot place %s at %s 0x%llx (%llu bytes): %s", name,
			 bus_name(bus), (unsigned long long)base, (unsigned long long)len,
			 ret == -EEXIST ? "it overlaps another device" : strerror(-ret));
		return -1;
	}
	return 0;
}

int dev_isa_irq(const struct dev_ctx *ctx, unsigned irq, struct irq_line *line, char *err,
		size_t errlen)
{
	int ret = irq < 16 ? irq_mux_line(ctx->isa_irqs, irq, line) : -EINVAL;

	if (ret < 0) {
		snprintf(err, errlen, "cannot wire ISA IRQ %u: %s", irq,
			 ret == -ENOSPC ? "no interrupt source left" : strerror(-ret));
		return -1;
	}
	return 0;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A token bucket per call site: DEV_LOG_BURST tokens, one back a second. */
void dev_log_limited(struct dev_log_limit *lim, const char *dev, const char *fmt, ...)
{
	uint64_t now = now_ns();
	unsigned long dropped = 0;
	bool print = false;
	va_list ap;

	pthread_mutex_lock(&log_lock);
	if (!lim->last_refill_ns) {
		lim->tokens = DEV_LOG_BURST;
		lim->last_refill_ns = now;
	} else if (now - lim->last_refill_ns >= 1000000000ULL) {
		uint64_t secs = (now - lim->last_refill_ns) / 1000000000ULL;

		lim->tokens = secs >= DEV_LOG_BURST ? DEV_LOG_BURST
						    : (unsigned)(lim->tokens + secs) > DEV_LOG_BURST
							      ? DEV_LOG_BURST
							      : lim->tokens + (unsigned)secs;
		lim->last_refill_ns += secs * 1000000000ULL;
	}
	if (lim->tokens) {
		lim->tokens--;
		print = true;
		dropped = lim->dropped;
		lim->dropped = 0;
	} else {
		lim->dropped++;
	}
	if (print) {
		if (dropped)
			fprintf(stderr, "minivmm: %s: (%lu similar messages suppressed)\n", dev,
				dropped);
		fprintf(stderr, "minivmm: %s: ", dev);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&log_lock);
}
