/*
 * Reminders, the pure part: the [reminders] keys, which dates are
 * reminder days inside which windows (month ends, wrapping windows,
 * per-resource windows), the time of day and quiet hours in local time
 * (time zones, DST), and the dates of --date.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "meterline/remind.h"

static struct config cfg; /* big (the zone): off the stack */
static char why[256];

static int64_t
utc(int y, unsigned mo, unsigned d, unsigned h, unsigned mi)
{
	return (int64_t)tz_days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60;
}

static int32_t
day(int y, unsigned mo, unsigned d)
{
	return model_date_from_ymd(y, mo, d);
}

static void
set(const char *section, const char *key, const char *value)
{
	if (config_set(&cfg, section, key, value, why, sizeof(why)) != 0)
		fail_msg("%s.%s = %s: %s", section, key, value, why);
}

static int
setup(void **state)
{
	(void)state;
	config_defaults(&cfg);
	set("window", "days", "18-25");
	set("reminders", "days", "20,24");
	return 0;
}

/* The keys: what parses, what is refused, and how it prints back. */
static void
test_keys(void **state)
{
	static const char *const bad_days[] = { "", "0", "32", "20,", ",20",
		"20,,24", "20;24", "a", "20,20", "1,2,3,4,5,6,7,8,9", "123" };
	static const char *const bad_clock[] = { "", "25:00", "10:60", "9:00",
		"10:00x", "10" };
	char dump[16384];

	(void)state;
	set("reminders", "days", "24,5,20");
	assert_int_equal(cfg.reminders.days.n, 3);
	assert_int_equal(cfg.reminders.days.day[0], 5);
	assert_int_equal(cfg.reminders.days.day[2], 24);
	for (size_t i = 0; i < sizeof(bad_days) / sizeof(bad_days[0]); i++)
		assert_int_not_equal(config_set(&cfg, "reminders", "days",
		                         bad_days[i], why, sizeof(why)),
		    0);
	assert_int_equal(cfg.reminders.days.n, 3); /* left as it was */
	set("reminders", "time", "09:30");
	assert_int_equal(cfg.reminders.time, 570);
	for (size_t i = 0; i < sizeof(bad_clock) / sizeof(bad_clock[0]); i++)
		assert_int_not_equal(config_set(&cfg, "reminders", "time",
		                         bad_clock[i], why, sizeof(why)),
		    0);
	set("reminders", "quiet_hours", "");
	assert_int_equal(cfg.reminders.quiet.from, cfg.reminders.quiet.to);
	assert_int_not_equal(config_set(&cfg, "reminders", "quiet_hours",
	                         "21-9", why, sizeof(why)),
	    0);
	set("reminders", "quiet_hours", "22:15-07:45");
	config_dump(&cfg, dump, sizeof(dump));
	assert_non_null(strstr(dump,
	    "[reminders]\ndays = 5,20,24\n"
	    "time = 09:30\nquiet_hours = 22:15-07:45\n"));
}

/* Cross-key checks: channels configured, sms_from, template, text. */
static void
test_check(void **state)
{
	(void)state;
	config_defaults(&cfg); /* no [reminders]: nothing to check */
	assert_int_equal(config_check(&cfg, NULL, NULL), 0);
	set("reminders", "channels", "sms");
	assert_int_equal(
	    config_check(&cfg, NULL, NULL), 2); /* no [smpp], from */
	set("smpp", "host", "127.0.0.1");
	set("smpp", "system_id", "x");
	set("smpp", "password", "y");
	set("reminders", "sms_from", "7377");
	assert_int_equal(config_check(&cfg, NULL, NULL), 0);
	set("reminders", "channels", "sms,whatsapp");
	assert_int_equal(config_check(&cfg, NULL, NULL), 2); /* off, template */
	set("reminders", "channels", "sms,fax");
	assert_int_equal(config_check(&cfg, NULL, NULL), 1);
	set("reminders", "channels", "sms");
	set("reminders", "text", "Договор {contract}: до {to}.{date} {value}");
	assert_int_equal(config_check(&cfg, NULL, NULL), 1);
}

static void
expect_due(int32_t date, size_t n, int32_t since, int32_t deadline)
{
	struct remind_due d;

	assert_true(remind_due_on(&cfg, date, &d));
	assert_int_equal(d.date, date);
	assert_int_equal(d.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(d.win[i].since, since);
		assert_int_equal(d.win[i].deadline, deadline);
	}
}

static void
expect_not_due(int32_t date)
{
	struct remind_due d;

	assert_false(remind_due_on(&cfg, date, &d));
	assert_int_equal(d.n, 0);
}

/* Days 20 and 24 inside 18-25; other days, and days outside, nothing. */
static void
test_days(void **state)
{
	(void)state;
	expect_due(day(2026, 12, 20), MODEL__RES_MAX, day(2026, 12, 18),
	    day(2026, 12, 25));
	expect_due(day(2026, 12, 24), MODEL__RES_MAX, day(2026, 12, 18),
	    day(2026, 12, 25));
	expect_not_due(day(2026, 12, 21));
	expect_not_due(day(2026, 12, 25));
	set("reminders", "days", "15,20");
	expect_not_due(day(2026, 12, 15)); /* before the window opens */
}

/* 31 means a month's last day; the window shrinks the same way. */
static void
test_month_ends(void **state)
{
	(void)state;
	set("window", "days", "25-31");
	set("reminders", "days", "29,31");
	expect_due(day(2027, 2, 28), MODEL__RES_MAX, day(2027, 2, 25),
	    day(2027, 2, 28));
	expect_not_due(day(2027, 3, 1));
	expect_due(day(2028, 2, 29), MODEL__RES_MAX, day(2028, 2, 25),
	    day(2028, 2, 29)); /* leap year: the 29th, once */
	expect_due(day(2027, 4, 30), MODEL__RES_MAX, day(2027, 4, 25),
	    day(2027, 4, 30));
	expect_due(day(2027, 1, 31), MODEL__RES_MAX, day(2027, 1, 25),
	    day(2027, 1, 31));
	expect_not_due(day(2027, 1, 30));
}

/* A window over the month's end: the occurrence opened last month. */
static void
test_wrapping_window(void **state)
{
	(void)state;
	set("window", "days", "28-3");
	set("reminders", "days", "1,30");
	expect_due(day(2027, 1, 1), MODEL__RES_MAX, day(2026, 12, 28),
	    day(2027, 1, 3));
	expect_due(day(2026, 12, 30), MODEL__RES_MAX, day(2026, 12, 28),
	    day(2027, 1, 3));
	/* February has no 30th: the 28th is its last day and a reminder
	   day, and the window opened that day, closing on March 3rd */
	expect_due(day(2027, 2, 28), MODEL__RES_MAX, day(2027, 2, 28),
	    day(2027, 3, 3));
	expect_due(
	    day(2027, 3, 1), MODEL__RES_MAX, day(2027, 2, 28), day(2027, 3, 3));
}

/* Per-resource windows: each resource on the days inside its own. */
static void
test_resource_windows(void **state)
{
	struct remind_due d;

	(void)state;
	set("window", "days.cold_water", "10-15");
	set("reminders", "days", "12,20");
	assert_true(remind_due_on(&cfg, day(2026, 12, 12), &d));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.win[0].res, MODEL_RES_COLD_WATER);
	assert_int_equal(d.win[0].since, day(2026, 12, 10));
	assert_int_equal(d.win[0].deadline, day(2026, 12, 15));
	assert_true(remind_due_on(&cfg, day(2026, 12, 20), &d));
	assert_int_equal(d.n, MODEL__RES_MAX - 1);
	for (size_t i = 0; i < d.n; i++)
		assert_int_not_equal(d.win[i].res, MODEL_RES_COLD_WATER);
}

static void
zone(const char *name, const char *rule)
{
	assert_int_equal(
	    tz_from_rule(&cfg.window.tz, name, rule, why, sizeof(why)), 0);
}

/* The time of day in the utility's zone, not UTC. */
static void
test_time_zones(void **state)
{
	struct remind_due d;

	(void)state;
	set("reminders", "time", "10:00"); /* Moscow, +3 */
	assert_false(remind_due_at(&cfg, utc(2026, 12, 20, 6, 59), &d));
	assert_true(remind_due_at(&cfg, utc(2026, 12, 20, 7, 0), &d));
	assert_int_equal(d.date, day(2026, 12, 20));
	/* still the 20th in Moscow at 20:59 UTC, the 21st at 21:00 */
	assert_true(remind_due_at(&cfg, utc(2026, 12, 20, 20, 59), &d));
	assert_false(remind_due_at(&cfg, utc(2026, 12, 20, 21, 0), &d));
	assert_int_equal(d.date, day(2026, 12, 21));
	/* Vladivostok, +10: the local 20th begins at 14:00 UTC on the 19th */
	zone("Asia/Vladivostok", "<+10>-10");
	set("reminders", "time", "00:00");
	assert_false(remind_due_at(&cfg, utc(2026, 12, 19, 13, 59), &d));
	assert_true(remind_due_at(&cfg, utc(2026, 12, 19, 14, 0), &d));
	assert_int_equal(d.date, day(2026, 12, 20));
	/* DST: Kyiv's clocks go to +3 on 2027-03-28 */
	zone("Europe/Kyiv", "EET-2EEST,M3.5.0/3,M10.5.0/4");
	set("window", "days", "25-31");
	set("reminders", "days", "28");
	set("reminders", "time", "10:00");
	assert_false(remind_due_at(&cfg, utc(2027, 3, 28, 6, 59), &d));
	assert_true(remind_due_at(&cfg, utc(2027, 3, 28, 7, 0), &d));
	set("reminders", "days", "31");
	set("window", "days", "20-31"); /* back to +2 on 2027-10-31 */
	assert_false(remind_due_at(&cfg, utc(2027, 10, 31, 7, 59), &d));
	assert_true(remind_due_at(&cfg, utc(2027, 10, 31, 8, 0), &d));
}

/* Quiet hours, local, over midnight or not, or none. */
static void
test_quiet(void **state)
{
	(void)state;
	set("reminders", "quiet_hours", "21:00-09:00"); /* Moscow */
	assert_false(remind_quiet(&cfg, utc(2026, 12, 20, 17, 59)));
	assert_true(remind_quiet(&cfg, utc(2026, 12, 20, 18, 0)));
	assert_true(remind_quiet(&cfg, utc(2026, 12, 20, 23, 0)));
	assert_true(remind_quiet(&cfg, utc(2026, 12, 21, 5, 59)));
	assert_false(remind_quiet(&cfg, utc(2026, 12, 21, 6, 0)));
	set("reminders", "quiet_hours", "13:00-14:00");
	assert_false(remind_quiet(&cfg, utc(2026, 12, 20, 9, 59)));
	assert_true(remind_quiet(&cfg, utc(2026, 12, 20, 10, 0)));
	assert_false(remind_quiet(&cfg, utc(2026, 12, 20, 11, 0)));
	set("reminders", "quiet_hours", "");
	for (unsigned h = 0; h < 24; h++)
		assert_false(remind_quiet(&cfg, utc(2026, 12, 20, h, 30)));
}

static void
test_dates(void **state)
{
	static const char *const bad[] = { "", "2026-02-29", "2026-13-01",
		"2026-12-00", "2026-12-1", "20261220", "2026-12-20x",
		"1969-12-31" };
	char buf[16];
	int32_t d = 0;

	(void)state;
	assert_int_equal(remind_date_parse("2028-02-29", &d), 0);
	assert_int_equal(d, day(2028, 2, 29));
	remind_date_str(d, buf, sizeof(buf));
	assert_string_equal(buf, "2028-02-29");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(remind_date_parse(bad[i], &d), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_keys, setup),
		cmocka_unit_test_setup(test_check, setup),
		cmocka_unit_test_setup(test_days, setup),
		cmocka_unit_test_setup(test_month_ends, setup),
		cmocka_unit_test_setup(test_wrapping_window, setup),
		cmocka_unit_test_setup(test_resource_windows, setup),
		cmocka_unit_test_setup(test_time_zones, setup),
		cmocka_unit_test_setup(test_quiet, setup),
		cmocka_unit_test_setup(test_dates, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
