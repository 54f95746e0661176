// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MC146818 RTC and CMOS RAM as a PC guest sees it at 0x70/0x71.
 *
 * The chip's divider chain is modelled as a running nanosecond count
 * ("chain time", vm_clock_ns() + chain_base): its whole seconds are the
 * update cycles and its 32.768 kHz taps the periodic interrupt.  The time
 * registers are never stored; they are computed from the chain plus a
 * whole-second offset the guest moves by writing them.  SET or a divider
 * that is not running freezes them into a struct tm that the guest edits
 * field by field, as the chip's registers are plain storage then; leaving
 * that state turns the fields back into an offset (normalising odd values
 * the way timegm() does).
 *
 * UF, AF and PF are derived lazily from the chain when register C is read,
 * so no timer runs for them while their interrupts are disabled; timers are
 * armed only for the interrupts the guest enabled.
 *
 * Facts checked against the Motorola MC146818A data sheet, QEMU's
 * hw/rtc/mc146818rtc.c and SeaBIOS's src/hw/rtc.c.  The daylight-saving bit
 * (DSE) is stored and ignored, and a local-time offset is taken once at
 * creation, as QEMU does.
 */
#include "devices/rtc_cmos.h"
#include "vmm/device.h"

#include <stdio.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/timer.h"

enum {
	REG_SEC = 0x00,
	REG_SEC_ALARM = 0x01,
	REG_MIN = 0x02,
	REG_MIN_ALARM = 0x03,
	REG_HOUR = 0x04,
	REG_HOUR_ALARM = 0x05,
	REG_WDAY = 0x06,
	REG_MDAY = 0x07,
	REG_MONTH = 0x08,
	REG_YEAR = 0x09,
	REG_A = 0x0a,
	REG_B = 0x0b,
	REG_C = 0x0c,
	REG_D = 0x0d,
	REG_NVRAM_FIRST = 0x0e,
	REG_SHUTDOWN = 0x0f,
	REG_CENTURY = 0x32,
};

#define A_UIP	    0x80
#define A_DIV_MASK  0x70
#define A_DIV_32KHZ 0x20 /* the only setting that runs the chain */
#define A_RATE_MASK 0x0f

#define B_SET	    0x80
#define B_PIE	    0x40
#define B_AIE	    0x20
#define B_UIE	    0x10
#define B_DM_BINARY 0x04
#define B_24H	    0x02

/* C's flag bits sit where B's enable bits do. */
#define C_IRQF	  0x80
#define C_PF	  0x40
#define C_AF	  0x20
#define C_UF	  0x10
#define C_SOURCES 0x70

#define D_VRT 0x80

#define ALARM_DONT_CARE 0xc0
#define HOUR_PM		0x80

#define A_RESET 0x26
#define B_RESET B_24H

#define NS_PER_SEC    1000000000LL
#define RTC_HZ	      32768
#define UIP_WINDOW_NS 244000LL
#define SECS_PER_DAY  86400
/* Coalesced ticks kept for re-injection, in seconds of ticks; beyond that a
 * guest was not taking interrupts at all and a flood would not help it. */
#define MAX_PENDING_SECONDS 10
/* Host clocks beyond 2106 are not believed (keeps ns arithmetic in range). */
#define MAX_HOST_SEC (1LL << 32)

struct rtc_cmos {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct vm_timer *periodic_timer;
	struct vm_timer *update_timer;

	/* Alarm bytes, A (without UIP), B, C and the RAM; the time
	 * registers' slots are unused. */
	uint8_t ram[RTC_CMOS_SIZE];
	uint8_t index;
	bool irq_level;

	int64_t chain_base; /* chain ns = vm_clock_ns() + chain_base */
	int64_t sec_offset; /* guest seconds = chain seconds + sec_offset */
	struct tm held;	    /* the time registers while stopped */

	int64_t last_eval_sec; /* guest second up to which UF/AF were derived */
	int64_t last_pf_tick;  /* chain tick up to which PF was derived (timer off) */

	/* Periodic interrupt, timer-driven while PIE is set. */
	bool periodic_on;
	unsigned period;   /* in 32.768 kHz cycles */
	int64_t next_tick; /* chain tick index of the next interrupt */
	uint64_t next_tick_ns;
	bool pf_unacked; /* a periodic interrupt was raised, C not read since */
	bool reinject_armed;
	bool reinjected; /* one extra per regular period at most */
	uint64_t reinject_ns;

	bool update_armed;
	uint64_t update_deadline;

	struct rtc_cmos_stats stats;
};

static int64_t div_floor(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t mod_floor(int64_t a, int64_t b)
{
	return a - div_floor(a, b) * b;
}

static bool rtc_halted(const struct rtc_cmos *rtc)
{
	return (rtc->ram[REG_A] & A_DIV_MASK) != A_DIV_32KHZ;
}

static bool rtc_stopped(const struct rtc_cmos *rtc)
{
	return (rtc->ram[REG_B] & B_SET) || rtc_halted(rtc);
}

static int64_t chain_ns(const struct rtc_cmos *rtc, uint64_t now)
{
	return (int64_t)now + rtc->chain_base;
}

static int64_t guest_sec(const struct rtc_cmos *rtc, uint64_t now)
{
	return div_floor(chain_ns(rtc, now), NS_PER_SEC) + rtc->sec_offset;
}

static uint64_t chain_to_vm(const struct rtc_cmos *rtc, int64_t cns)
{
	int64_t vm = cns - rtc->chain_base;

	return vm < 0 ? 0 : (uint64_t)vm;
}

/* Interrupt rates 1 and 2 repeat rates 8 and 9 (data sheet, 32.768 kHz
 * time base); 0 is off. */
static unsigned rate_period(const struct rtc_cmos *rtc)
{
	unsigned code = rtc->ram[REG_A] & A_RATE_MASK;

	if (!code)
		return 0;
	if (code <= 2)
		code += 7;
	return 1u << (code - 1);
}

static int64_t chain_tick(const struct rtc_cmos *rtc, uint64_t now, unsigned period)
{
	int64_t cns = chain_ns(rtc, now);
	int64_t cycles =
	    div_floor(cns, NS_PER_SEC) * RTC_HZ + mod_floor(cns, NS_PER_SEC) * RTC_HZ / NS_PER_SEC;

	return div_floor(cycles, period);
}

/* The first vm_clock_ns() at which chain_tick() reaches tick. */
static uint64_t tick_to_vm(const struct rtc_cmos *rtc, int64_t tick, unsigned period)
{
	int64_t cycles = tick * period;
	int64_t sec = div_floor(cycles, RTC_HZ);
	int64_t rest = mod_floor(cycles, RTC_HZ);

	return chain_to_vm(rtc, sec * NS_PER_SEC + (rest * NS_PER_SEC + RTC_HZ - 1) / RTC_HZ);
}

static uint64_t guest_sec_to_vm(const struct rtc_cmos *rtc, int64_t sec)
{
	return chain_to_vm(rtc, (sec - rtc->sec_offset) * NS_PER_SEC);
}

static uint8_t to_reg(const struct rtc_cmos *rtc, int v)
{
	if (v < 0)
		v = 0;
	if (rtc->ram[REG_B] & B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_reg(const struct rtc_cmos *rtc, uint8_t v)
{
	if (rtc->ram[REG_B] & B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct rtc_cmos *rtc, int hour)
{
	if (rtc->ram[REG_B] & B_24H)
		return to_reg(rtc, hour);
	return to_reg(rtc, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? HOUR_PM : 0);
}

static int hour_from_reg(const struct rtc_cmos *rtc, uint8_t v)
{
	if (rtc->ram[REG_B] & B_24H)
		return from_reg(rtc, v);
	return from_reg(rtc, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

static void running_tm(const struct rtc_cmos *rtc, uint64_t now, struct tm *tm)
{
	time_t t = (time_t)guest_sec(rtc, now);

	if (!gmtime_r(&t, tm))
		memset(tm, 0, sizeof(*tm));
}

static void current_tm(const struct rtc_cmos *rtc, uint64_t now, struct tm *tm)
{
	if (rtc_stopped(rtc))
		*tm = rtc->held;
	else
		running_tm(rtc, now, tm);
}

/* An alarm byte as a value to match, -1 for "any"; false if the time
 * registers can never hold it, so it never matches. */
static bool alarm_field(const struct rtc_cmos *rtc, uint8_t v, bool hour, int *out)
{
	int d;

	if ((v & ALARM_DONT_CARE) == ALARM_DONT_CARE) {
		*out = -1;
		return true;
	}
	if (hour) {
		d = hour_from_reg(rtc, v);
		if (d > 23 || hour_to_reg(rtc, d) != v)
			return false;
	} else {
		d = from_reg(rtc, v);
		if (d > 59 || to_reg(rtc, d) != v)
			return false;
	}
	*out = d;
	return true;
}

/* The first guest second after `after` whose time matches the alarm, or
 * INT64_MAX.  Any pattern that matches at all does so within a day. */
static int64_t alarm_next(const struct rtc_cmos *rtc, int64_t after)
{
	int64_t day = div_floor(after, SECS_PER_DAY) * SECS_PER_DAY;
	int ah, am, as;

	if (!alarm_field(rtc, rtc->ram[REG_HOUR_ALARM], true, &ah) ||
	    !alarm_field(rtc, rtc->ram[REG_MIN_ALARM], false, &am) ||
	    !alarm_field(rtc, rtc->ram[REG_SEC_ALARM], false, &as))
		return INT64_MAX;
	for (int d = 0; d < 2; d++) {
		for (int h = 0; h < 24; h++) {
			if (ah >= 0 && h != ah)
				continue;
			for (int m = 0; m < 60; m++) {
				int64_t minute = day + d * SECS_PER_DAY + h * 3600 + m * 60;

				if ((am >= 0 && m != am) || minute + 59 <= after)
					continue;
				if (as < 0)
					return minute > after ? minute : after + 1;
				if (minute + as > after)
					return minute + as;
			}
		}
	}
	return INT64_MAX;
}

static void update_irq(struct rtc_cmos *rtc)
{
	bool level;

	if (rtc->ram[REG_C] & rtc->ram[REG_B] & C_SOURCES)
		rtc->ram[REG_C] |= C_IRQF;
	level = rtc->ram[REG_C] & C_IRQF;
	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_line_set(&rtc->irq, level);
	}
}

/* Sets the flags of every event since the last call. */
static void catch_up(struct rtc_cmos *rtc, uint64_t now)
{
	unsigned period = rate_period(rtc);

	if (!rtc_stopped(rtc)) {
		int64_t cur = guest_sec(rtc, now);

		if (cur > rtc->last_eval_sec) {
			rtc->ram[REG_C] |= C_UF;
			if (alarm_next(rtc, rtc->last_eval_sec) <= cur)
				rtc->ram[REG_C] |= C_AF;
		}
		rtc->last_eval_sec = cur;
	}
	if (!rtc->periodic_on && period && !rtc_halted(rtc)) {
		int64_t tick = chain_tick(rtc, now, period);

		if (tick > rtc->last_pf_tick)
			rtc->ram[REG_C] |= C_PF;
		rtc->last_pf_tick = tick;
	}
	update_irq(rtc);
}

/* Arms the update timer for the next UF or AF the guest enabled and has not
 * yet been told about; none while the clock stands. */
static void update_timer_arm(struct rtc_cmos *rtc, uint64_t now)
{
	uint8_t want = rtc->ram[REG_B] & (B_UIE | B_AIE) & ~rtc->ram[REG_C];
	int64_t cur, target;

	rtc->update_armed = false;
	if (rtc_stopped(rtc) || !want)
		return;
	cur = guest_sec(rtc, now);
	target = (want & B_UIE) ? cur + 1 : alarm_next(rtc, cur);
	if (target == INT64_MAX)
		return;
	rtc->update_deadline = guest_sec_to_vm(rtc, target);
	rtc->update_armed = true;
	vm_timer_mod(rtc->update_timer, rtc->update_deadline);
}

static void periodic_arm(struct rtc_cmos *rtc)
{
	uint64_t deadline = rtc->next_tick_ns;

	if (rtc->reinject_armed && rtc->reinject_ns < deadline)
		deadline = rtc->reinject_ns;
	vm_timer_mod(rtc->periodic_timer, deadline);
}

static void pending_cap(struct rtc_cmos *rtc)
{
	uint64_t cap = (uint64_t)MAX_PENDING_SECONDS * RTC_HZ / rtc->period;

	if (rtc->stats.pending > cap) {
		rtc->stats.dropped += rtc->stats.pending - cap;
		rtc->stats.pending = cap;
	}
}

static void pending_add(struct rtc_cmos *rtc, uint64_t n)
{
	rtc->stats.coalesced += n;
	rtc->stats.pending += n;
	pending_cap(rtc);
}

static void periodic_raise(struct rtc_cmos *rtc)
{
	rtc->ram[REG_C] |= C_PF;
	rtc->pf_unacked = true;
	update_irq(rtc);
}

/* After A or B changed.  A new rate keeps the pending ticks' worth of time. */
static void periodic_reconfigure(struct rtc_cmos *rtc, uint64_t now, bool was_on,
				 unsigned old_period)
{
	unsigned period = rate_period(rtc);
	bool on = (rtc->ram[REG_B] & B_PIE) && period && !rtc_halted(rtc);

	if (!on) {
		if (was_on) {
			rtc->stats.dropped += rtc->stats.pending;
			rtc->stats.pending = 0;
		}
		rtc->periodic_on = false;
		rtc->reinject_armed = false;
		rtc->reinjected = false;
		rtc->pf_unacked = false;
		if (period && !rtc_halted(rtc))
			rtc->last_pf_tick = chain_tick(rtc, now, period);
		return;
	}
	if (was_on && period == old_period)
		return;
	rtc->period = period;
	if (was_on) {
		rtc->stats.pending = rtc->stats.pending * old_period / period;
		pending_cap(rtc);
	} else {
		rtc->pf_unacked = false;
	}
	rtc->periodic_on = true;
	rtc->next_tick = chain_tick(rtc, now, period) + 1;
	rtc->next_tick_ns = tick_to_vm(rtc, rtc->next_tick, period);
	periodic_arm(rtc);
}

/* The divider left reset: the first update comes half a second later. */
static void chain_restart(struct rtc_cmos *rtc, uint64_t now)
{
	rtc->chain_base += NS_PER_SEC / 2 - mod_floor(chain_ns(rtc, now), NS_PER_SEC);
}

static void stop_transition(struct rtc_cmos *rtc, uint64_t now, bool was_stopped)
{
	bool stopped = rtc_stopped(rtc);

	if (!was_stopped && stopped) {
		/* The chain is only moved when it restarts, so this is the
		 * time the guest saw up to now. */
		running_tm(rtc, now, &rtc->held);
	} else if (was_stopped && !stopped) {
		struct tm tm = rtc->held;
		int64_t sec;

		tm.tm_isdst = 0;
		sec = (int64_t)timegm(&tm);
		rtc->sec_offset = sec - div_floor(chain_ns(rtc, now), NS_PER_SEC);
		rtc->last_eval_sec = sec;
	}
}

static uint8_t time_reg_read(const struct rtc_cmos *rtc, unsigned reg, uint64_t now)
{
	struct tm tm;
	int year;

	current_tm(rtc, now, &tm);
	year = tm.tm_year + 1900;
	switch (reg) {
	case REG_SEC:
		return to_reg(rtc, tm.tm_sec);
	case REG_MIN:
		return to_reg(rtc, tm.tm_min);
	case REG_HOUR:
		return hour_to_reg(rtc, tm.tm_hour);
	case REG_WDAY:
		return to_reg(rtc, tm.tm_wday + 1);
	case REG_MDAY:
		return to_reg(rtc, tm.tm_mday);
	case REG_MONTH:
		return to_reg(rtc, tm.tm_mon + 1);
	case REG_YEAR:
		return to_reg(rtc, (int)mod_floor(year, 100));
	default: /* REG_CENTURY */
		return to_reg(rtc, (int)div_floor(year, 100));
	}
}

/* While running, a write moves the guest's clock by whole seconds and keeps
 * the chain's phase; the day of the week follows the date then. */
static void time_reg_write(struct rtc_cmos *rtc, unsigned reg, uint8_t val, uint64_t now)
{
	struct tm tm;
	int year;
	int64_t sec;

	catch_up(rtc, now);
	current_tm(rtc, now, &tm);
	year = tm.tm_year + 1900;
	switch (reg) {
	case REG_SEC:
		tm.tm_sec = from_reg(rtc, val);
		break;
	case REG_MIN:
		tm.tm_min = from_reg(rtc, val);
		break;
	case REG_HOUR:
		tm.tm_hour = hour_from_reg(rtc, val);
		break;
	case REG_WDAY:
		tm.tm_wday = from_reg(rtc, val) - 1;
		break;
	case REG_MDAY:
		tm.tm_mday = from_reg(rtc, val);
		break;
	case REG_MONTH:
		tm.tm_mon = from_reg(rtc, val) - 1;
		break;
	case REG_YEAR:
		year = (int)div_floor(year, 100) * 100 + from_reg(rtc, val);
		break;
	default: /* REG_CENTURY */
		year = from_reg(rtc, val) * 100 + (int)mod_floor(year, 100);
		break;
	}
	tm.tm_year = year - 1900;
	if (rtc_stopped(rtc)) {
		rtc->held = tm;
		return;
	}
	tm.tm_isdst = 0;
	sec = (int64_t)timegm(&tm);
	rtc->sec_offset += sec - guest_sec(rtc, now);
	rtc->last_eval_sec = sec;
	update_timer_arm(rtc, now);
}

static uint8_t reg_peek(const struct rtc_cmos *rtc, unsigned reg, uint64_t now)
{
	uint8_t a;

	switch (reg) {
	case REG_SEC:
	case REG_MIN:
	case REG_HOUR:
	case REG_WDAY:
	case REG_MDAY:
	case REG_MONTH:
	case REG_YEAR:
	case REG_CENTURY:
		return time_reg_read(rtc, reg, now);
	case REG_A:
		a = rtc->ram[REG_A];
		if (!rtc_stopped(rtc) &&
		    mod_floor(chain_ns(rtc, now), NS_PER_SEC) >= NS_PER_SEC - UIP_WINDOW_NS)
			a |= A_UIP;
		return a;
	case REG_D:
		return D_VRT;
	default:
		return rtc->ram[reg];
	}
}

static uint8_t reg_c_read(struct rtc_cmos *rtc, uint64_t now)
{
	uint8_t val;

	catch_up(rtc, now);
	val = rtc->ram[REG_C];
	rtc->ram[REG_C] = 0;
	update_irq(rtc);
	rtc->pf_unacked = false;
	/* Re-inject a missed tick halfway to the next regular one, so each
	 * acknowledged period can carry one extra. */
	if (rtc->periodic_on && rtc->stats.pending && !rtc->reinject_armed && !rtc->reinjected) {
		rtc->reinject_ns = now;
		if (rtc->next_tick_ns > now)
			rtc->reinject_ns += (rtc->next_tick_ns - now) / 2;
		rtc->reinject_armed = true;
		periodic_arm(rtc);
	}
	update_timer_arm(rtc, now);
	return val;
}

static void reg_a_b_write(struct rtc_cmos *rtc, unsigned reg, uint8_t val, uint64_t now)
{
	bool was_stopped = rtc_stopped(rtc);
	bool was_halted = rtc_halted(rtc);
	bool was_on = rtc->periodic_on;
	unsigned old_period = rtc->period;

	catch_up(rtc, now);
	if (reg == REG_A) {
		rtc->ram[REG_A] = val & ~A_UIP;
	} else {
		/* The data sheet: setting SET clears UIE. */
		if (val & B_SET)
			val &= (uint8_t)~B_UIE;
		rtc->ram[REG_B] = val;
	}
	if (was_halted && !rtc_halted(rtc))
		chain_restart(rtc, now);
	stop_transition(rtc, now, was_stopped);
	periodic_reconfigure(rtc, now, was_on, old_period);
	update_irq(rtc);
	update_timer_arm(rtc, now);
}

static uint8_t reg_read(struct rtc_cmos *rtc, unsigned reg, uint64_t now)
{
	if (reg == REG_C)
		return reg_c_read(rtc, now);
	return reg_peek(rtc, reg, now);
}

static void reg_write(struct rtc_cmos *rtc, unsigned reg, uint8_t val, uint64_t now)
{
	switch (reg) {
	case REG_SEC:
	case REG_MIN:
	case REG_HOUR:
	case REG_WDAY:
	case REG_MDAY:
	case REG_MONTH:
	case REG_YEAR:
	case REG_CENTURY:
		time_reg_write(rtc, reg, val, now);
		break;
	case REG_SEC_ALARM:
	case REG_MIN_ALARM:
	case REG_HOUR_ALARM:
		catch_up(rtc, now);
		rtc->ram[reg] = val;
		update_timer_arm(rtc, now);
		break;
	case REG_A:
	case REG_B:
		reg_a_b_write(rtc, reg, val, now);
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		rtc->ram[reg] = val;
		break;
	}
}

static void rtc_lock(struct rtc_cmos *rtc)
{
	pthread_mutex_lock(&rtc->lock);
}

static void rtc_unlock(struct rtc_cmos *rtc)
{
	pthread_mutex_unlock(&rtc->lock);
}

static bool port_index(uint64_t offset, unsigned i, unsigned *port)
{
	if (offset >= RTC_CMOS_NR_PORTS || i >= RTC_CMOS_NR_PORTS - offset)
		return false;
	*port = (unsigned)offset + i;
	return true;
}

/* Wider accesses are split into bytes at consecutive ports, low byte first.
 * The index port is write-only and reads as 0xff, as on a PC. */
static uint64_t rtc_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc_cmos *rtc = opaque;
	uint64_t val = 0;
	uint64_t now;
	unsigned port;

	if (size > 8)
		size = 8;
	rtc_lock(rtc);
	now = vm_clock_ns();
	for (unsigned i = 0; i < size; i++) {
		uint8_t byte = 0xff;

		if (port_index(offset, i, &port) && port == 1)
			byte = reg_read(rtc, rtc->index, now);
		val |= (uint64_t)byte << (8 * i);
	}
	rtc_unlock(rtc);
	return val;
}

static void rtc_bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct rtc_cmos *rtc = opaque;
	uint64_t now;
	unsigned port;

	if (size > 8)
		size = 8;
	rtc_lock(rtc);
	now = vm_clock_ns();
	for (unsigned i = 0; i < size; i++) {
		uint8_t byte = (uint8_t)(value >> (8 * i));

		if (!port_index(offset, i, &port))
			continue;
		if (port == 0)
			rtc->index = byte & 0x7f; /* bit 7 gates NMI on a PC */
		else
			reg_write(rtc, rtc->index, byte, now);
	}
	rtc_unlock(rtc);
}

const struct bus_ops rtc_cmos_bus_ops = {
    .read = rtc_bus_read,
    .write = rtc_bus_write,
};

/* I/O thread.  Timers are never deleted, only moved or forgotten, so an
 * expiry can be stale: each callback checks its own state. */
static void rtc_update_fire(void *opaque)
{
	struct rtc_cmos *rtc = opaque;
	uint64_t now;

	rtc_lock(rtc);
	now = vm_clock_ns();
	if (rtc->update_armed) {
		if (now < rtc->update_deadline) {
			vm_timer_mod(rtc->update_timer, rtc->update_deadline);
		} else {
			catch_up(rtc, now);
			update_timer_arm(rtc, now);
		}
	}
	rtc_unlock(rtc);
}

static void rtc_periodic_fire(void *opaque)
{
	struct rtc_cmos *rtc = opaque;
	uint64_t now;

	rtc_lock(rtc);
	if (!rtc->periodic_on) {
		rtc_unlock(rtc);
		return;
	}
	now = vm_clock_ns();
	if (now >= rtc->next_tick_ns) {
		int64_t cur = chain_tick(rtc, now, rtc->period);

		if (cur < rtc->next_tick)
			cur = rtc->next_tick;
		if (rtc->pf_unacked) {
			pending_add(rtc, 1);
		} else {
			rtc->stats.delivered++;
			periodic_raise(rtc);
		}
		/* Ticks this thread slept through are as lost as coalesced ones. */
		if (cur > rtc->next_tick)
			pending_add(rtc, (uint64_t)(cur - rtc->next_tick));
		rtc->next_tick = cur + 1;
		rtc->next_tick_ns = tick_to_vm(rtc, rtc->next_tick, rtc->period);
		rtc->reinjected = false;
	}
	/* A re-injection that finds an interrupt outstanding waits for the
	 * next read of C to be scheduled again. */
	if (rtc->reinject_armed && now >= rtc->reinject_ns) {
		rtc->reinject_armed = false;
		if (!rtc->pf_unacked && rtc->stats.pending) {
			rtc->stats.pending--;
			rtc->stats.reinjected++;
			rtc->reinjected = true;
			periodic_raise(rtc);
		}
	}
	periodic_arm(rtc);
	rtc_unlock(rtc);
}

void rtc_cmos_set_byte(struct rtc_cmos *rtc, uint8_t index, uint8_t value)
{
	if (index < REG_NVRAM_FIRST || index >= RTC_CMOS_SIZE || index == REG_CENTURY)
		return;
	rtc_lock(rtc);
	rtc->ram[index] = value;
	rtc_unlock(rtc);
}

uint8_t rtc_cmos_get_byte(struct rtc_cmos *rtc, uint8_t index)
{
	uint8_t val;

	rtc_lock(rtc);
	val = reg_peek(rtc, index & 0x7f, vm_clock_ns());
	rtc_unlock(rtc);
	return val;
}

void rtc_cmos_get_stats(struct rtc_cmos *rtc, struct rtc_cmos_stats *out)
{
	rtc_lock(rtc);
	*out = rtc->stats;
	rtc_unlock(rtc);
}

static void reset_locked(struct rtc_cmos *rtc, uint64_t now)
{
	bool was_stopped = rtc_stopped(rtc);
	bool was_halted = rtc_halted(rtc);
	bool was_on = rtc->periodic_on;
	unsigned old_period = rtc->period;

	rtc->ram[REG_A] = A_RESET;
	rtc->ram[REG_B] = B_RESET;
	rtc->ram[REG_C] = 0;
	rtc->ram[REG_SHUTDOWN] = 0;
	if (was_halted)
		chain_restart(rtc, now);
	stop_transition(rtc, now, was_stopped);
	periodic_reconfigure(rtc, now, was_on, old_period);
	rtc->update_armed = false;
	rtc->last_eval_sec = guest_sec(rtc, now);
	rtc->irq_level = false;
	irq_line_set(&rtc->irq, false);
}

void rtc_cmos_reset(struct rtc_cmos *rtc)
{
	rtc_lock(rtc);
	reset_locked(rtc, vm_clock_ns());
	rtc_unlock(rtc);
}

struct rtc_cmos *rtc_cmos_create_at(const struct irq_line *irq, struct event_loop *loop,
				    bool localtime, const struct timespec *utc_now)
{
	struct rtc_cmos *rtc = calloc(1, sizeof(*rtc));
	int64_t sec = utc_now ? (int64_t)utc_now->tv_sec : 0;
	int64_t nsec = utc_now ? (int64_t)utc_now->tv_nsec : 0;
	uint64_t now;

	if (!rtc)
		return NULL;
	if (irq)
		rtc->irq = *irq;
	rtc->periodic_timer = vm_timer_new(loop, rtc_periodic_fire, rtc);
	rtc->update_timer = vm_timer_new(loop, rtc_update_fire, rtc);
	if (!rtc->periodic_timer || !rtc->update_timer) {
		if (rtc->periodic_timer)
			vm_timer_free(rtc->periodic_timer);
		if (rtc->update_timer)
			vm_timer_free(rtc->update_timer);
		free(rtc);
		return NULL;
	}
	pthread_mutex_init(&rtc->lock, NULL);

	if (localtime) {
		time_t t = (time_t)sec;
		struct tm tm;

		if (localtime_r(&t, &tm))
			sec = (int64_t)timegm(&tm);
	}
	if (sec < 0)
		sec = 0;
	if (sec > MAX_HOST_SEC)
		sec = MAX_HOST_SEC;
	if (nsec < 0 || nsec >= NS_PER_SEC)
		nsec = 0;
	now = vm_clock_ns();
	rtc->chain_base = sec * NS_PER_SEC + nsec - (int64_t)now;
	rtc->ram[REG_A] = A_RESET;
	rtc->ram[REG_B] = B_RESET;
	rtc->last_eval_sec = guest_sec(rtc, now);
	periodic_reconfigure(rtc, now, false, 0);
	return rtc;
}

struct rtc_cmos *rtc_cmos_create(const struct irq_line *irq, struct event_loop *loop,
				 bool localtime)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		ts = (struct timespec){0};
	return rtc_cmos_create_at(irq, loop, localtime, &ts);
}

void rtc_cmos_destroy(struct rtc_cmos *rtc)
{
	if (!rtc)
		return;
	vm_timer_free(rtc->periodic_timer);
	vm_timer_free(rtc->update_timer);
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

/* ---- the board's view ---- */

static void *rtc_cmos_dev_create(const struct dev_ctx *ctx, const struct board_entry *e,
				 char *err, size_t errlen)
{
	const struct rtc_cmos_args *args = e->arg;
	struct irq_line irq;
	struct rtc_cmos *rtc;

	if (dev_isa_irq(ctx, (unsigned)e->irq, &irq, err, errlen) < 0)
		return NULL;
	rtc = rtc_cmos_create(&irq, ctx->loop, args && args->localtime);
	if (!rtc) {
		snprintf(err, errlen, "%s: out of memory or timers", e->id);
		return NULL;
	}
	if (dev_claim(ctx->pio, e->port, RTC_CMOS_NR_PORTS, &rtc_cmos_bus_ops, rtc, "rtc-cmos",
		      err, errlen) < 0) {
		rtc_cmos_destroy(rtc);
		return NULL;
	}
	return rtc;
}

static void rtc_cmos_dev_reset(void *state)
{
	rtc_cmos_reset(state);
}

static void rtc_cmos_dev_destroy(void *state)
{
	rtc_cmos_destroy(state);
}

const struct device_type rtc_cmos_type = {
	.name = "mc146818",
	.create = rtc_cmos_dev_create,
	.reset = rtc_cmos_dev_reset,
	.destroy = rtc_cmos_dev_destroy,
};
