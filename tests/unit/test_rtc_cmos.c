// SPDX-License-Identifier: GPL-2.0-or-later
/* MC146818 RTC/CMOS driven through its bus ops, with a recording interrupt
 * line and the fake clock.  Each RTC is created at a known UTC time at the
 * current fake clock, so its second boundaries fall on whole seconds after
 * creation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "devices/rtc_cmos.h"
#include "tests/unit/fake_timer.h"

#define RTC_IRQ 8
#define NS	1000000000ULL
#define MS	1000000ULL
#define US	1000ULL

#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BIN 0x04
#define B_24H 0x02

struct fixture {
	struct rtc_cmos *rtc;
	bool level;
	unsigned rises, falls;
	uint64_t created_ns;
};

static void record_irq(void *opaque, unsigned gsi, bool level)
{
	struct fixture *f = opaque;

	assert_int_equal(gsi, RTC_IRQ);
	if (level && !f->level)
		f->rises++;
	if (!level && f->level)
		f->falls++;
	f->level = level;
}

/* 2023-12-31 13:45:30 UTC, a Sunday. */
static struct timespec test_time(void)
{
	struct tm tm = {
	    .tm_year = 123, .tm_mon = 11, .tm_mday = 31, .tm_hour = 13, .tm_min = 45, .tm_sec = 30};

	return (struct timespec){.tv_sec = timegm(&tm), .tv_nsec = 0};
}

static struct fixture *fixture_new(bool localtime, struct timespec when)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line line = {.set_level = record_irq, .gsi = RTC_IRQ};

	assert_non_null(f);
	line.opaque = f;
	f->created_ns = vm_clock_ns();
	f->rtc = rtc_cmos_create_at(&line, NULL, localtime, &when);
	assert_non_null(f->rtc);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new(false, test_time());
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rtc_cmos_destroy(f->rtc);
	free(f);
	return 0;
}

static uint8_t cmos_read(struct fixture *f, uint8_t index)
{
	rtc_cmos_bus_ops.write(f->rtc, 0, index, 1);
	return (uint8_t)rtc_cmos_bus_ops.read(f->rtc, 1, 1);
}

static void cmos_write(struct fixture *f, uint8_t index, uint8_t val)
{
	rtc_cmos_bus_ops.write(f->rtc, 0, index, 1);
	rtc_cmos_bus_ops.write(f->rtc, 1, val, 1);
}

/* Nanoseconds into the RTC's current second (phase 0 at creation). */
static uint64_t phase(const struct fixture *f)
{
	return (vm_clock_ns() - f->created_ns) % NS;
}

static void advance_to_second(struct fixture *f)
{
	uint64_t p = phase(f);

	if (p)
		fake_clock_advance(NS - p);
}

/* A guest that acknowledges every interrupt within `step`. */
static void run_acking(struct fixture *f, uint64_t total, uint64_t step)
{
	for (uint64_t t = 0; t < total; t += step) {
		fake_clock_advance(step);
		if (f->level)
			assert_true(cmos_read(f, REG_C) & 0x80);
	}
}

static void assert_time(struct fixture *f, uint8_t h, uint8_t m, uint8_t s)
{
	assert_int_equal(cmos_read(f, 0x04), h);
	assert_int_equal(cmos_read(f, 0x02), m);
	assert_int_equal(cmos_read(f, 0x00), s);
}

static void assert_date(struct fixture *f, uint8_t century, uint8_t y, uint8_t mon, uint8_t d,
			uint8_t wday)
{
	assert_int_equal(cmos_read(f, 0x32), century);
	assert_int_equal(cmos_read(f, 0x09), y);
	assert_int_equal(cmos_read(f, 0x08), mon);
	assert_int_equal(cmos_read(f, 0x07), d);
	assert_int_equal(cmos_read(f, 0x06), wday);
}

static void test_bcd_time(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, REG_A), 0x26);
	assert_int_equal(cmos_read(f, REG_B), 0x02);
	assert_int_equal(cmos_read(f, REG_D), 0x80);
	assert_time(f, 0x13, 0x45, 0x30);
	assert_date(f, 0x20, 0x23, 0x12, 0x31, 0x01);
	fake_clock_advance(29 * NS + 999 * MS);
	assert_time(f, 0x13, 0x45, 0x59);
	fake_clock_advance(1 * MS);
	assert_time(f, 0x13, 0x46, 0x00);
	assert_int_equal(f->rises, 0);
}

static void test_binary_time(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, REG_B, B_24H | B_BIN);
	assert_time(f, 13, 45, 30);
	assert_date(f, 20, 23, 12, 31, 1);
	/* Back to BCD: the registers follow the format at once. */
	cmos_write(f, REG_B, B_24H);
	assert_time(f, 0x13, 0x45, 0x30);
}

static void test_12_hour(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, REG_B, 0); /* 12-hour BCD */
	assert_int_equal(cmos_read(f, 0x04), 0x81);
	cmos_write(f, REG_B, B_BIN);
	assert_int_equal(cmos_read(f, 0x04), 0x81);

	/* Midnight is 12 AM, noon 12 PM. */
	cmos_write(f, REG_B, B_SET);
	cmos_write(f, 0x04, 0x12);
	cmos_write(f, REG_B, 0);
	assert_int_equal(cmos_read(f, 0x04), 0x12);
	cmos_write(f, REG_B, B_24H);
	assert_int_equal(cmos_read(f, 0x04), 0x00);
	cmos_write(f, REG_B, 0);
	cmos_write(f, 0x04, 0x92);
	cmos_write(f, REG_B, B_24H);
	assert_int_equal(cmos_read(f, 0x04), 0x12);
	cmos_write(f, REG_B, 0);
	cmos_write(f, 0x04, 0x91); /* 11 PM */
	cmos_write(f, REG_B, B_24H);
	assert_int_equal(cmos_read(f, 0x04), 0x23);
	cmos_write(f, REG_B, B_BIN);
	assert_int_equal(cmos_read(f, 0x04), 0x8b);
}

static void test_century(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, REG_B, B_SET | B_24H);
	cmos_write(f, 0x32, 0x20);
	cmos_write(f, 0x09, 0x99);
	cmos_write(f, 0x08, 0x12);
	cmos_write(f, 0x07, 0x31);
	cmos_write(f, 0x04, 0x23);
	cmos_write(f, 0x02, 0x59);
	cmos_write(f, 0x00, 0x59);
	cmos_write(f, REG_B, B_24H);
	assert_date(f, 0x20, 0x99, 0x12, 0x31, 0x05); /* Thursday */
	fake_clock_advance(NS);
	assert_time(f, 0x00, 0x00, 0x00);
	assert_date(f, 0x21, 0x00, 0x01, 0x01, 0x06); /* Friday 2100-01-01 */
	cmos_write(f, REG_B, B_24H | B_BIN);
	assert_int_equal(cmos_read(f, 0x32), 21);
}

static void test_localtime(void **state)
{
	struct fixture *f;
	struct tm summer = {.tm_year = 123, .tm_mon = 6, .tm_mday = 1, .tm_hour = 12};
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", "<+0530>-5:30", 1);
	tzset();
	f = fixture_new(true, test_time());
	assert_time(f, 0x19, 0x15, 0x30);
	assert_date(f, 0x20, 0x23, 0x12, 0x31, 0x01);
	teardown((void **)&f);
	f = fixture_new(false, test_time());
	assert_time(f, 0x13, 0x45, 0x30);
	teardown((void **)&f);

	/* Daylight saving in force at creation counts. */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	f = fixture_new(true, (struct timespec){.tv_sec = timegm(&summer)});
	assert_time(f, 0x14, 0x00, 0x00);
	teardown((void **)&f);
	f = fixture_new(true, test_time());
	assert_time(f, 0x14, 0x45, 0x30);
	teardown((void **)&f);

	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

static void test_guest_sets_time(void **state)
{
	struct fixture *f = *state;

	fake_clock_advance(300 * MS);
	cmos_write(f, REG_B, B_SET | B_24H);
	assert_int_equal(cmos_read(f, REG_B), B_SET | B_24H);
	cmos_write(f, 0x00, 0x00);
	cmos_write(f, 0x02, 0x00);
	cmos_write(f, 0x04, 0x08);
	cmos_write(f, 0x07, 0x15);
	cmos_write(f, 0x08, 0x06);
	cmos_write(f, 0x09, 0x25);
	cmos_write(f, 0x32, 0x20);
	/* Stopped while SET. */
	fake_clock_advance(3 * NS);
	assert_time(f, 0x08, 0x00, 0x00);
	cmos_write(f, REG_B, B_24H);
	assert_date(f, 0x20, 0x25, 0x06, 0x15, 0x01); /* Sunday */
	/* The chain kept its phase: the next update is 0.7 s away. */
	fake_clock_advance(690 * MS);
	assert_time(f, 0x08, 0x00, 0x00);
	fake_clock_advance(20 * MS);
	assert_time(f, 0x08, 0x00, 0x01);
	fake_clock_advance(10 * NS);
	assert_time(f, 0x08, 0x00, 0x11);

	/* A write while running moves the clock and keeps it running. */
	cmos_write(f, 0x02, 0x30);
	assert_time(f, 0x08, 0x30, 0x11);
	fake_clock_advance(NS);
	assert_time(f, 0x08, 0x30, 0x12);

	/* While SET the fields are plain storage: Feb 31 is fine until the
	 * day is written too. */
	cmos_write(f, REG_B, B_SET | B_24H);
	cmos_write(f, 0x08, 0x02);
	assert_int_equal(cmos_read(f, 0x08), 0x02);
	assert_int_equal(cmos_read(f, 0x07), 0x15);
	cmos_write(f, 0x07, 0x28);
	cmos_write(f, REG_B, B_24H);
	assert_date(f, 0x20, 0x25, 0x02, 0x28, 0x06); /* Friday */
}

static void test_uip(void **state)
{
	struct fixture *f = *state;
	unsigned toggles = 0;
	bool uip = false;

	fake_clock_advance(999700 * US);
	assert_int_equal(cmos_read(f, REG_A), 0x26);
	fake_clock_advance(100 * US);
	assert_int_equal(cmos_read(f, REG_A), 0xa6);
	/* The registers still hold the old second during UIP. */
	assert_int_equal(cmos_read(f, 0x00), 0x30);
	fake_clock_advance(200 * US);
	assert_int_equal(cmos_read(f, REG_A), 0x26);
	assert_int_equal(cmos_read(f, 0x00), 0x31);

	/* A polling loop sees it rise once a second. */
	for (int i = 0; i < 40000; i++) {
		bool now = cmos_read(f, REG_A) & 0x80;

		if (now && !uip)
			toggles++;
		uip = now;
		fake_clock_advance(50 * US);
	}
	assert_int_equal(toggles, 2);

	/* Never while SET. */
	fake_clock_advance(999900 * US);
	cmos_write(f, REG_B, B_SET | B_24H);
	assert_int_equal(cmos_read(f, REG_A), 0x26);
}

static void test_divider_reset(void **state)
{
	struct fixture *f = *state;

	fake_clock_advance(300 * MS);
	cmos_write(f, REG_A, 0x70);
	fake_clock_advance(5 * NS);
	assert_time(f, 0x13, 0x45, 0x30);
	assert_int_equal(cmos_read(f, REG_A), 0x70);
	/* Leaving reset: the first update is half a second later. */
	cmos_write(f, REG_A, 0x26);
	fake_clock_advance(490 * MS);
	assert_time(f, 0x13, 0x45, 0x30);
	fake_clock_advance(20 * MS);
	assert_time(f, 0x13, 0x45, 0x31);
}

static unsigned count_periodic(struct fixture *f, uint8_t rate)
{
	unsigned before;

	advance_to_second(f);
	cmos_write(f, REG_A, (uint8_t)(0x20 | rate));
	cmos_write(f, REG_B, B_PIE | B_24H);
	before = f->rises;
	run_acking(f, NS, 100 * US);
	cmos_write(f, REG_B, B_24H);
	return f->rises - before;
}

static void test_periodic_rates(void **state)
{
	struct fixture *f = *state;
	struct rtc_cmos_stats st;

	assert_int_equal(count_periodic(f, 6), 1024);
	assert_int_equal(count_periodic(f, 15), 2);
	assert_int_equal(count_periodic(f, 3), 8192);
	/* Rates 1 and 2 repeat 8 and 9 (data sheet). */
	assert_int_equal(count_periodic(f, 1), 256);
	assert_int_equal(count_periodic(f, 2), 128);
	assert_int_equal(count_periodic(f, 0), 0);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_int_equal(st.delivered, 1024 + 2 + 8192 + 256 + 128);
	assert_int_equal(st.coalesced, 0);
	assert_int_equal(st.reinjected, 0);
}

static void test_reg_c_clears(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, REG_A, 0x2f);
	cmos_write(f, REG_B, B_PIE | B_24H);
	fake_clock_advance(500 * MS);
	assert_true(f->level);
	assert_int_equal(f->rises, 1);
	assert_int_equal(cmos_read(f, REG_C), 0xc0);
	assert_false(f->level);
	assert_int_equal(f->falls, 1);
	assert_int_equal(cmos_read(f, REG_C), 0x00);
	/* C is read-only. */
	cmos_write(f, REG_C, 0xff);
	assert_int_equal(cmos_read(f, REG_C), 0x00);
	assert_false(f->level);
}

/* Flags are set with the interrupt disabled; only IRQF needs the enable. */
static void test_flags_without_interrupts(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, REG_C), 0x00);
	fake_clock_advance(10 * MS);
	assert_int_equal(cmos_read(f, REG_C), 0x40); /* PF at 1024 Hz */
	assert_int_equal(cmos_read(f, REG_C), 0x00);
	fake_clock_advance(NS);
	assert_int_equal(cmos_read(f, REG_C), 0x50); /* PF and UF */
	cmos_write(f, REG_A, 0x20);		     /* no periodic rate */
	fake_clock_advance(10 * MS);
	assert_int_equal(cmos_read(f, REG_C), 0x00);
	assert_int_equal(f->rises, 0);

	/* Enabling an interrupt whose flag is already set raises IRQF. */
	fake_clock_advance(NS);
	cmos_write(f, REG_B, B_UIE | B_24H);
	assert_true(f->level);
	assert_int_equal(cmos_read(f, REG_C), 0x90);
	assert_false(f->level);
}

static void test_coalesced_reinjected(void **state)
{
	struct fixture *f = *state;
	struct rtc_cmos_stats st;

	cmos_write(f, REG_A, 0x2f); /* 2 Hz */
	cmos_write(f, REG_B, B_PIE | B_24H);
	fake_clock_advance(500 * MS);
	assert_int_equal(f->rises, 1);
	/* The guest does not read C for ten periods. */
	fake_clock_advance(5 * NS);
	assert_int_equal(f->rises, 1);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.coalesced, 10);
	assert_int_equal(st.pending, 10);
	assert_int_equal(st.reinjected, 0);

	/* Then it acknowledges promptly: at most one extra per period, and
	 * after ten periods the count matches the 31 ticks of 15.5 s. */
	run_acking(f, 2 * NS, 10 * MS);
	assert_int_equal(f->rises, 1 + 4 + 4);
	run_acking(f, 8 * NS, 10 * MS);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.reinjected, 10);
	assert_int_equal(st.delivered + st.reinjected, 31);
	assert_int_equal(f->rises, 31);
	assert_int_equal(st.dropped, 0);

	/* Turning PIE off gives up what is pending. */
	fake_clock_advance(3 * NS);
	cmos_write(f, REG_B, B_24H);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_int_equal(st.coalesced, 15);
	assert_int_equal(st.dropped, 5);
	assert_int_equal(st.pending, 0);
}

static void test_coalesced_fast_rate(void **state)
{
	struct fixture *f = *state;
	struct rtc_cmos_stats st;

	cmos_write(f, REG_A, 0x26); /* 1024 Hz */
	cmos_write(f, REG_B, B_PIE | B_24H);
	/* A guest that takes 10 ms to answer each interrupt for 1 s. */
	run_acking(f, NS, 10 * MS);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_int_equal(st.delivered + st.coalesced, 1024);
	assert_true(st.coalesced > 900);
	/* Then promptly: everything is delivered within a few seconds. */
	run_acking(f, 3 * NS, 100 * US);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.delivered + st.coalesced, 4 * 1024);
	assert_int_equal(st.delivered + st.reinjected, 4 * 1024);
	assert_int_equal(f->rises, 4 * 1024);
}

static void test_update_interrupt(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, REG_A, 0x20); /* no periodic flag in the way */
	fake_clock_advance(250 * MS);
	cmos_write(f, REG_B, B_UIE | B_24H);
	assert_false(f->level);
	fake_clock_advance(740 * MS);
	assert_false(f->level);
	fake_clock_advance(10 * MS);
	assert_true(f->level);
	assert_int_equal(cmos_read(f, REG_C), 0x90);
	run_acking(f, 3 * NS, 10 * MS);
	assert_int_equal(f->rises, 4);
	/* SET clears UIE and stops updates. */
	cmos_write(f, REG_B, B_SET | B_UIE | B_24H);
	assert_int_equal(cmos_read(f, REG_B), B_SET | B_24H);
	fake_clock_advance(3 * NS);
	assert_int_equal(f->rises, 4);
	assert_int_equal(cmos_read(f, REG_C), 0x00);
}

static void test_alarm(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, REG_A, 0x20);
	cmos_write(f, 0x01, 0x35);
	cmos_write(f, 0x03, 0x45);
	cmos_write(f, 0x05, 0x13);
	cmos_write(f, REG_B, B_AIE | B_24H);
	fake_clock_advance(4 * NS + 900 * MS);
	assert_false(f->level);
	fake_clock_advance(100 * MS);
	assert_true(f->level);
	assert_int_equal(cmos_read(f, REG_C), 0xb0); /* IRQF, AF and UF */
	fake_clock_advance(120 * NS);
	assert_int_equal(f->rises, 1);
	assert_int_equal(cmos_read(f, REG_C), 0x10); /* the alarm is a day away */

	/* Don't-care minutes and hours: every minute at :00. */
	cmos_write(f, 0x01, 0x00);
	cmos_write(f, 0x03, 0xc0);
	cmos_write(f, 0x05, 0xff);
	assert_time(f, 0x13, 0x47, 0x35);
	fake_clock_advance(24 * NS + 900 * MS);
	assert_int_equal(f->rises, 1);
	fake_clock_advance(100 * MS);
	assert_int_equal(f->rises, 2);
	run_acking(f, 120 * NS, 100 * MS);
	assert_int_equal(f->rises, 4);

	/* All don't-care: every second. */
	cmos_write(f, 0x01, 0xc0);
	run_acking(f, 5 * NS, 100 * MS);
	assert_int_equal(f->rises, 9);

	/* A value the clock never holds never matches. */
	cmos_write(f, 0x01, 0x5a);
	run_acking(f, 200 * NS, 500 * MS);
	assert_int_equal(f->rises, 9);

	/* 12-hour alarm byte with PM. */
	cmos_write(f, REG_B, B_AIE);
	assert_int_equal(cmos_read(f, 0x04), 0x81);
	cmos_write(f, 0x01, 0xc0);
	cmos_write(f, 0x03, 0xc0);
	cmos_write(f, 0x05, 0x82);
	assert_time(f, 0x81, 0x53, 0x25);
	fake_clock_advance((6 * 60 + 34) * NS + 900 * MS);
	assert_int_equal(f->rises, 9);
	fake_clock_advance(100 * MS);
	assert_int_equal(f->rises, 10);
	assert_time(f, 0x82, 0x00, 0x00);
}

static void test_alarm_flag_without_aie(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, 0x01, 0x32);
	cmos_write(f, 0x03, 0xc0);
	cmos_write(f, 0x05, 0xc0);
	cmos_write(f, REG_A, 0x20);
	assert_int_equal(cmos_read(f, REG_C), 0x00);
	fake_clock_advance(NS + 500 * MS);
	assert_int_equal(cmos_read(f, REG_C), 0x10);
	fake_clock_advance(NS);
	assert_int_equal(cmos_read(f, REG_C), 0x30);
	/* Matched long ago still counts (the flag is sticky). */
	fake_clock_advance(3 * 86400 * NS);
	assert_int_equal(cmos_read(f, REG_C), 0x30);
	assert_int_equal(f->rises, 0);
}

static void test_index_port(void **state)
{
	struct fixture *f = *state;

	/* NMI-disable bit ignored. */
	assert_int_equal(cmos_read(f, 0x8a), 0x26);
	cmos_write(f, 0x8b, B_24H | B_BIN);
	assert_int_equal(cmos_read(f, REG_B), B_24H | B_BIN);
	cmos_write(f, 0xff, 0x5a);
	assert_int_equal(cmos_read(f, 0x7f), 0x5a);
	cmos_write(f, 0xc0, 0xa5);
	assert_int_equal(cmos_read(f, 0x40), 0xa5);
	/* The index port reads as 0xff. */
	assert_int_equal(rtc_cmos_bus_ops.read(f->rtc, 0, 1), 0xff);
	/* A 16-bit access is index then data. */
	rtc_cmos_bus_ops.write(f->rtc, 0, 0x773e, 2);
	assert_int_equal(cmos_read(f, 0x3e), 0x77);
	rtc_cmos_bus_ops.write(f->rtc, 0, 0x3e, 1);
	assert_int_equal(rtc_cmos_bus_ops.read(f->rtc, 0, 2), 0x77ff);
	assert_int_equal(rtc_cmos_bus_ops.read(f->rtc, 1, 4), 0xffffff77);
	assert_int_equal(rtc_cmos_bus_ops.read(f->rtc, 2, 1), 0xff);
}

static void test_nvram(void **state)
{
	struct fixture *f = *state;
	static const uint8_t idx[] = {0x10, 0x30, 0x31, 0x34, 0x35, 0x38,
				      0x3d, 0x5b, 0x5c, 0x5d, 0x5f, 0x7f};

	for (size_t i = 0; i < sizeof(idx); i++)
		rtc_cmos_set_byte(f->rtc, idx[i], (uint8_t)(0x11 * (i + 1)));
	for (size_t i = 0; i < sizeof(idx); i++) {
		assert_int_equal(cmos_read(f, idx[i]), (uint8_t)(0x11 * (i + 1)));
		assert_int_equal(rtc_cmos_get_byte(f->rtc, idx[i]), (uint8_t)(0x11 * (i + 1)));
	}
	/* Clock registers and the century are not RAM. */
	rtc_cmos_set_byte(f->rtc, 0x00, 0x77);
	rtc_cmos_set_byte(f->rtc, REG_B, 0xff);
	rtc_cmos_set_byte(f->rtc, REG_C, 0xff);
	rtc_cmos_set_byte(f->rtc, 0x32, 0x99);
	rtc_cmos_set_byte(f->rtc, 0x80, 0x99);
	rtc_cmos_set_byte(f->rtc, 0xff, 0x99);
	assert_int_equal(cmos_read(f, 0x00), 0x30);
	assert_int_equal(cmos_read(f, REG_B), 0x02);
	assert_int_equal(cmos_read(f, REG_C), 0x00);
	assert_int_equal(cmos_read(f, 0x32), 0x20);
	assert_int_equal(cmos_read(f, 0x0f), 0x00);
	assert_int_equal(f->rises, 0);
	/* get_byte does not clear C. */
	cmos_write(f, REG_A, 0x20);
	fake_clock_advance(NS);
	assert_int_equal(rtc_cmos_get_byte(f->rtc, REG_C), 0x00);
	cmos_write(f, REG_B, B_UIE | B_24H);
	assert_int_equal(rtc_cmos_get_byte(f->rtc, REG_C), 0x90);
	assert_int_equal(rtc_cmos_get_byte(f->rtc, REG_C), 0x90);
	assert_int_equal(cmos_read(f, REG_C), 0x90);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	struct rtc_cmos_stats st;
	unsigned rises;

	rtc_cmos_set_byte(f->rtc, 0x10, 0x44);
	cmos_write(f, 0x0f, 0x0a);
	cmos_write(f, 0x01, 0x31);
	cmos_write(f, REG_A, 0x2f);
	cmos_write(f, REG_B, B_PIE | B_UIE | B_BIN | B_24H);
	fake_clock_advance(3 * NS);
	assert_true(f->level);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_true(st.pending > 0);

	rtc_cmos_reset(f->rtc);
	assert_false(f->level);
	assert_int_equal(cmos_read(f, REG_A), 0x26);
	assert_int_equal(cmos_read(f, REG_B), 0x02);
	assert_int_equal(cmos_read(f, REG_C), 0x00);
	assert_int_equal(cmos_read(f, 0x0f), 0x00);
	assert_int_equal(cmos_read(f, 0x10), 0x44);
	assert_int_equal(cmos_read(f, 0x01), 0x31);
	assert_time(f, 0x13, 0x45, 0x33);
	rtc_cmos_get_stats(f->rtc, &st);
	assert_int_equal(st.pending, 0);
	rises = f->rises;
	fake_clock_advance(2 * NS);
	assert_int_equal(f->rises, rises);
	assert_time(f, 0x13, 0x45, 0x35);

	/* A clock stopped by SET or the divider runs again after reset. */
	cmos_write(f, REG_B, B_SET | B_24H);
	cmos_write(f, REG_A, 0x76);
	fake_clock_advance(2 * NS);
	rtc_cmos_reset(f->rtc);
	assert_time(f, 0x13, 0x45, 0x35);
	fake_clock_advance(NS);
	assert_time(f, 0x13, 0x45, 0x36);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_hostile(void **state)
{
	struct fixture *f = *state;
	static const uint64_t offsets[] = {0, 1, 2, 3, 7, 0x70, UINT64_MAX, UINT64_MAX - 1};
	uint32_t seed = 1;

	for (unsigned idx = 0; idx < 256; idx++) {
		for (unsigned v = 0; v < 256; v += 17) {
			cmos_write(f, (uint8_t)idx, (uint8_t)v);
			(void)cmos_read(f, (uint8_t)idx);
		}
		fake_clock_advance(lcg(&seed) % (3 * MS));
	}
	for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++) {
		for (unsigned size = 0; size <= 16; size++) {
			rtc_cmos_bus_ops.write(f->rtc, offsets[o], 0x0123456789abcdefULL, size);
			(void)rtc_cmos_bus_ops.read(f->rtc, offsets[o], size);
		}
	}
	/* Random register traffic with A, B, time and alarm writes mixed in,
	 * the clock moving by random amounts, sometimes by days. */
	for (int i = 0; i < 100000; i++) {
		uint32_t r = lcg(&seed);
		uint8_t idx = (uint8_t)(r & 0x0f);

		if (r & 0x100)
			idx = (uint8_t)(r >> 9);
		if (r & 0x10000)
			cmos_write(f, idx, (uint8_t)lcg(&seed));
		else
			(void)cmos_read(f, idx);
		if ((r & 0x3f) == 0)
			fake_clock_advance(lcg(&seed) % (50 * MS));
		if ((r & 0xffff) == 0x1234)
			fake_clock_advance((uint64_t)(lcg(&seed) % 10) * 86400 * NS);
		if ((r & 0xfff) == 0x42)
			rtc_cmos_reset(f->rtc);
	}
	/* Still a working clock afterwards. */
	rtc_cmos_reset(f->rtc);
	fake_clock_advance(NS);
	(void)cmos_read(f, REG_C);
	assert_false(f->level);
	for (int i = 0; i < 10; i++) {
		uint8_t s = cmos_read(f, 0x00);

		assert_true((s & 0x0f) <= 9 && s <= 0x59);
		fake_clock_advance(NS);
		assert_int_not_equal(cmos_read(f, 0x00), s);
	}
}

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* The default constructor reads the host clock. */
static void test_host_clock(void **state)
{
	time_t t1 = time(NULL);
	struct rtc_cmos *rtc = rtc_cmos_create(NULL, NULL, false);
	time_t t2 = time(NULL);
	struct tm tm1, tm2;
	uint8_t year;

	assert_non_null(rtc);
	gmtime_r(&t1, &tm1);
	gmtime_r(&t2, &tm2);
	year = rtc_cmos_get_byte(rtc, 0x09);
	/* Either side of a New Year during the test. */
	assert_true(year == bcd(tm1.tm_year % 100) || year == bcd(tm2.tm_year % 100));
	rtc_cmos_destroy(rtc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bcd_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_12_hour, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_century, setup, teardown),
	    cmocka_unit_test(test_localtime),
	    cmocka_unit_test_setup_teardown(test_guest_sets_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_divider_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_periodic_rates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reg_c_clears, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flags_without_interrupts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_coalesced_reinjected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_coalesced_fast_rate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alarm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alarm_flag_without_aie, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nvram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	    cmocka_unit_test(test_host_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
