/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MC146818 real-time clock and 128 bytes of CMOS RAM, the PC's RTC at
 * ports 0x70 (index, bit 7 = NMI disable, ignored) and 0x71 (data), IRQ 8.
 * Bus offset 0 is the index port (reads 0xff), offset 1 the data port; wider
 * accesses are split into bytes at consecutive offsets, as on the ISA bus.
 *
 * The guest's clock is the host's wall clock captured at creation (UTC, or
 * local time for guests such as Windows that expect it) advanced by
 * vm_clock_ns(), plus whatever the guest set; it is never stopped to keep
 * it, so no timer runs unless an interrupt is enabled.
 *
 * Periodic interrupts keep count of ticks the guest missed (it had not read
 * register C since the previous one) and deliver them later, one extra per
 * period once the guest acknowledges, so a guest that counts interrupts
 * (Windows' HAL) sees as many as time elapsed (QEMU's driftfix=slew).
 *
 * Threads and locks: the RTC has its own mutex.  Register accesses come from
 * vCPU threads, the timers fire on the I/O thread.  With that mutex held the
 * RTC calls irq_line_set() on its line and vm_timer_mod() on its two timers
 * (never vm_timer_del(): a stale expiry is recognised and ignored), so
 * neither may call back into the RTC.
 */
#ifndef MINIVMM_RTC_CMOS_H
#define MINIVMM_RTC_CMOS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/irq.h"

struct event_loop;

#define RTC_CMOS_NR_PORTS 2
#define RTC_CMOS_SIZE	  128

/* The board's configuration of the device (rtc_cmos_type). */
struct rtc_cmos_args {
	bool localtime; /* --rtc localtime: Windows keeps the RTC in local time */
};

/* irq is copied and may be NULL.  NULL if memory or timers cannot be had. */
struct rtc_cmos *rtc_cmos_create(const struct irq_line *irq, struct event_loop *loop,
				 bool localtime);
/* The same with the host's UTC wall-clock time given instead of read, so that
 * tests know what the guest will see; localtime still converts it with the
 * process's time zone (TZ). */
struct rtc_cmos *rtc_cmos_create_at(const struct irq_line *irq, struct event_loop *loop,
				    bool localtime, const struct timespec *utc_now);
/* Only once no other thread can touch the RTC or fire its timers. */
void rtc_cmos_destroy(struct rtc_cmos *rtc);

/* opaque = the struct rtc_cmos *; RTC_CMOS_NR_PORTS ports. */
extern const struct bus_ops rtc_cmos_bus_ops;

/* Presets a byte of CMOS RAM (0x0e-0x7f, for the firmware's configuration
 * fields); the clock registers 0x00-0x0d, the century byte 0x32 and indexes
 * beyond 0x7f are ignored. */
void rtc_cmos_set_byte(struct rtc_cmos *rtc, uint8_t index, uint8_t value);
/* What the guest would read at index & 0x7f, without side effects (register
 * C is not cleared). */
uint8_t rtc_cmos_get_byte(struct rtc_cmos *rtc, uint8_t index);

/* Machine reset: register A = 0x26, B = 0x02 (24-hour BCD, no interrupts),
 * C = 0 with the line low, shutdown status 0x0f = 0; the clock, the alarm
 * and the rest of the RAM are kept, as a battery would. */
void rtc_cmos_reset(struct rtc_cmos *rtc);

struct rtc_cmos_stats {
	uint64_t delivered;  /* periodic interrupts raised on time */
	uint64_t coalesced;  /* periodic ticks that found the previous one unacknowledged */
	uint64_t reinjected; /* coalesced ticks raised later */
	uint64_t dropped;    /* coalesced ticks given up (PIE off, or over the cap) */
	uint64_t pending;    /* coalesced ticks still to be re-injected */
};

void rtc_cmos_get_stats(struct rtc_cmos *rtc, struct rtc_cmos_stats *out);

/* Board row: .port, .irq; .arg a const struct rtc_cmos_args * (or NULL: UTC). */
extern const struct device_type rtc_cmos_type;

#endif
