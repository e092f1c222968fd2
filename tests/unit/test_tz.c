/*
 * Time zones: TZif files and POSIX rules, checked at known edges and
 * against the C library's own localtime_r on many random instants (the test
 * may use the global TZ; the core never does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "meterline/conf.h"
#include "meterline/tz.h"

static struct tz zone; /* 20 KiB: keep it off the stack */
static char err[256];

/* Unix time of a UTC civil time. */
static int64_t
utc(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s)
{
	return (int64_t)tz_days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + s;
}

static void
load(const char *name)
{
	if (tz_load(&zone, name, err, sizeof(err)) != 0)
		fail_msg("tz_load %s: %s", name, err);
}

static void
test_civil_days(void **state)
{
	int y;
	unsigned m, d;

	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
	for (int32_t n = -800000; n < 800000; n += 37) {
		tz_civil_from_days(n, &y, &m, &d);
		assert_int_equal(tz_days_from_civil(y, m, d), n);
	}
	tz_civil_from_days(tz_days_from_civil(2024, 2, 29), &y, &m, &d);
	assert_true(y == 2024 && m == 2 && d == 29);
}

static void
test_utc(void **state)
{
	struct tz_civil c;

	(void)state;
	load("UTC");
	assert_int_equal(tz_offset(&zone, 0), 0);
	assert_int_equal(tz_offset(&zone, utc(2030, 7, 1, 0, 0, 0)), 0);
	tz_local(&zone, utc(2024, 5, 25, 23, 59, 59), &c);
	assert_true(c.year == 2024 && c.month == 5 && c.day == 25);
	assert_true(c.hour == 23 && c.min == 59 && c.sec == 59 && !c.isdst);
	assert_int_equal(c.wday, 6); /* a Saturday */
}

static void
test_moscow_history(void **state)
{
	struct tz_civil c;

	(void)state;
	load("Europe/Moscow");
	/* 2010: still MSK+3 in winter, MSD+4 in summer. */
	assert_int_equal(
	    tz_offset(&zone, utc(2010, 1, 15, 12, 0, 0)), 3 * 3600);
	assert_int_equal(
	    tz_offset(&zone, utc(2010, 7, 15, 12, 0, 0)), 4 * 3600);
	/* 2011-03-27 02:00 MSK: clocks forward to +4 and stay there. */
	assert_int_equal(
	    tz_offset(&zone, utc(2011, 3, 26, 22, 59, 59)), 3 * 3600);
	assert_int_equal(
	    tz_offset(&zone, utc(2011, 3, 26, 23, 0, 0)), 4 * 3600);
	assert_int_equal(tz_offset(&zone, utc(2012, 1, 15, 0, 0, 0)), 4 * 3600);
	assert_int_equal(
	    tz_offset(&zone, utc(2013, 12, 31, 0, 0, 0)), 4 * 3600);
	/* 2014-10-26 02:00 MSK+4: back to +3 for good. */
	assert_int_equal(
	    tz_offset(&zone, utc(2014, 10, 25, 21, 59, 59)), 4 * 3600);
	assert_int_equal(
	    tz_offset(&zone, utc(2014, 10, 25, 22, 0, 0)), 3 * 3600);
	assert_int_equal(tz_offset(&zone, utc(2060, 6, 1, 0, 0, 0)), 3 * 3600);
	/* 21:30 UTC on the 25th is already the 26th in Moscow. */
	tz_local(&zone, utc(2024, 5, 25, 21, 30, 0), &c);
	assert_true(c.month == 5 && c.day == 26 && c.hour == 0 && c.min == 30);
}

static void
test_kyiv_dst_edges(void **state)
{
	struct tz_civil c;

	(void)state;
	load("Europe/Kyiv");
	/* 2024-03-31 03:00 EET -> 04:00 EEST (01:00 UTC). */
	assert_int_equal(
	    tz_offset(&zone, utc(2024, 3, 31, 0, 59, 59)), 2 * 3600);
	assert_int_equal(tz_offset(&zone, utc(2024, 3, 31, 1, 0, 0)), 3 * 3600);
	tz_local(&zone, utc(2024, 3, 31, 1, 0, 0), &c);
	assert_true(c.hour == 4 && c.min == 0 && c.isdst);
	/* 2024-10-27 04:00 EEST -> 03:00 EET (01:00 UTC). */
	assert_int_equal(
	    tz_offset(&zone, utc(2024, 10, 27, 0, 59, 59)), 3 * 3600);
	assert_int_equal(
	    tz_offset(&zone, utc(2024, 10, 27, 1, 0, 0)), 2 * 3600);
	/* Past the table (fat files end in 2037): the footer rule decides. */
	assert_int_equal(
	    tz_offset(&zone, utc(2050, 3, 27, 0, 59, 59)), 2 * 3600);
	assert_int_equal(tz_offset(&zone, utc(2050, 3, 27, 1, 0, 0)), 3 * 3600);
	assert_int_equal(
	    tz_offset(&zone, utc(2050, 10, 30, 0, 59, 59)), 3 * 3600);
	assert_int_equal(
	    tz_offset(&zone, utc(2050, 10, 30, 1, 0, 0)), 2 * 3600);
}

static void
test_rule_parse(void **state)
{
	struct tz_rule r;

	(void)state;
	assert_int_equal(
	    tz_rule_parse(&r, "EET-2EEST,M3.5.0/3,M10.5.0/4", err, sizeof(err)),
	    0);
	assert_int_equal(r.std_off, 7200);
	assert_int_equal(r.dst_off, 10800);
	assert_true(r.has_dst && r.start.kind == TZ_DATE_MWD);
	assert_true(
	    r.start.month == 3 && r.start.week == 5 && r.start.day == 0);
	assert_int_equal(r.start.time, 3 * 3600);
	assert_int_equal(r.end.time, 4 * 3600);

	assert_int_equal(tz_rule_parse(&r, "<+03>-3", err, sizeof(err)), 0);
	assert_true(r.std_off == 10800 && !r.has_dst);
	assert_int_equal(tz_rule_parse(&r, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	                     err, sizeof(err)),
	    0);
	assert_true(r.std_off == -10800 && r.start.time == -7200);
	assert_int_equal(
	    tz_rule_parse(&r, "IST-2IDT,M3.4.4/26,M10.5.0", err, sizeof(err)),
	    0);
	assert_int_equal(r.start.time, 26 * 3600);
	assert_int_equal(
	    tz_rule_parse(&r, "<+0545>-5:45", err, sizeof(err)), 0);
	assert_int_equal(r.std_off, 5 * 3600 + 45 * 60);
	/* DST without dates: POSIX leaves them to us; we take the US rules. */
	assert_int_equal(tz_rule_parse(&r, "XST5XDT", err, sizeof(err)), 0);
	assert_true(r.dst_off == -4 * 3600 && r.start.month == 3 &&
	    r.start.week == 2 && r.end.month == 11 && r.end.week == 1);

	static const char *const bad[] = { "", "M", "MSK", "MSK-", "MSK-3X",
		"EET-2EEST,M3.5.0", "EET-2EEST,M13.5.0,M10.5.0",
		"EET-2EEST,M3.6.0,M10.5.0", "EET-2EEST,J0,J365", "<+03-3",
		"EET-2EEST,M3.5.7,M10.5.0", "UTC-200", "UTC-25",
		"EET-2EEST-25" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tz_rule_parse(&r, bad[i], err, sizeof(err)) == 0)
			fail_msg("accepted bad rule \"%s\"", bad[i]);
	}
}

static void
test_bad_files(void **state)
{
	uint8_t buf[64];

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(
	    tz_parse(&zone, "x", buf, sizeof(buf), err, sizeof(err)), -1);
	memcpy(buf, "TZif2", 5);
	assert_int_equal(tz_parse(&zone, "x", buf, 20, err, sizeof(err)), -1);
	assert_int_equal(tz_load(&zone, "../etc/passwd", err, sizeof(err)), -1);
	assert_int_equal(
	    tz_load(&zone, "/etc/localtime", err, sizeof(err)), -1);
	assert_int_equal(
	    tz_load(&zone, "Nowhere/Atlantis", err, sizeof(err)), -1);
}

/* Every truncation and many corruptions of a real file: no crash, no read
 * past the end (ASan), and a successful parse still answers sanely. */
static void
test_damaged_files(void **state)
{
	static uint8_t data[8192], copy[8192];
	FILE *f = fopen("/usr/share/zoneinfo/Europe/Kyiv", "rb");
	size_t len;
	uint64_t seed = 7;

	(void)state;
	assert_non_null(f);
	len = fread(data, 1, sizeof(data), f);
	fclose(f);
	assert_int_equal(
	    tz_parse(&zone, "Kyiv", data, len, err, sizeof(err)), 0);
	for (size_t n = 0; n < len; n++) {
		memcpy(copy, data, n); /* a fresh buffer of exactly n bytes */
		if (tz_parse(&zone, "cut", copy, n, err, sizeof(err)) == 0)
			(void)tz_offset(&zone, 1700000000);
	}
	for (unsigned i = 0; i < 20000; i++) {
		memcpy(copy, data, len);
		for (unsigned k = 0; k < 4; k++) {
			seed = seed * 6364136223846793005ULL +
			    1442695040888963407ULL;
			copy[(seed >> 33) % len] ^=
			    (uint8_t)(1u << (seed >> 60) % 8);
		}
		if (tz_parse(&zone, "flip", copy, len, err, sizeof(err)) == 0) {
			int32_t off = tz_offset(&zone, (int64_t)(seed >> 40));

			assert_true(off > -26 * 3600 && off < 26 * 3600);
		}
	}
}

/*
 * Compare tz_local with localtime_r under TZ=tzenv at n instants from year
 * `from` to 2099.
 */
static void
compare_libc(const char *tzenv, int from, unsigned n, uint64_t seed)
{
	int64_t start = utc(from, 1, 1, 0, 0, 0);
	int64_t span = utc(2100, 1, 1, 0, 0, 0) - start;

	setenv("TZ", tzenv, 1);
	tzset();
	for (unsigned i = 0; i < n; i++) {
		struct tz_civil c;
		struct tm tm;
		time_t t;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		/* every tenth draw is near a DST edge of 2024 */
		t = (time_t)(start + (int64_t)((seed >> 17) % (uint64_t)span));
		if (i % 10 == 0)
			t = (time_t)(utc(2024, 3, 31, 0, 0, 0) + (i % 7200) -
			    3600);
		localtime_r(&t, &tm);
		tz_local(&zone, (int64_t)t, &c);
		if (c.offset != tm.tm_gmtoff ||
		    (int)c.year != tm.tm_year + 1900 ||
		    (int)c.month != tm.tm_mon + 1 || (int)c.day != tm.tm_mday ||
		    (int)c.hour != tm.tm_hour || (int)c.min != tm.tm_min ||
		    (int)c.wday != tm.tm_wday || c.isdst != (tm.tm_isdst > 0))
			fail_msg(
			    "%s at %lld: ours %+d %04d-%02u-%02u %02u:%02u dst=%d,"
			    " libc %+ld %04d-%02d-%02d %02d:%02d dst=%d",
			    tzenv, (long long)t, c.offset, c.year, c.month,
			    c.day, c.hour, c.min, c.isdst, tm.tm_gmtoff,
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_isdst);
	}
}

static void
test_against_libc_files(void **state)
{
	static const char *const zones[] = { "Europe/Moscow", "Europe/Kyiv",
		"Europe/Kaliningrad", "Asia/Yekaterinburg", "Asia/Vladivostok",
		"America/New_York", "Australia/Sydney", "Europe/Dublin",
		"Africa/Casablanca", "America/Nuuk", "Asia/Jerusalem",
		"Pacific/Chatham", "Antarctica/Troll", "Asia/Kolkata", "UTC" };
	char env[128];

	(void)state;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		load(zones[i]);
		snprintf(env, sizeof(env), ":%s", zones[i]);
		compare_libc(env, 1902, 20000, i + 1);
	}
}

static void
test_against_libc_rules(void **state)
{
	static const char *const rules[] = { "EET-2EEST,M3.5.0/3,M10.5.0/4",
		"MSK-3", "AEST-10AEDT,M10.1.0,M4.1.0/3",
		"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
		"IST-2IDT,M3.4.4/26,M10.5.0", "CET-1CEST,J60/2,J300/3",
		"XST5XDT,60,300" };

	/* glibc applies a bare rule to no year before 1970: compare after. */
	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (tz_from_rule(&zone, rules[i], rules[i], err, sizeof(err)) !=
		    0)
			fail_msg("%s", err);
		compare_libc(rules[i], 1970, 20000, 100 + i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil_days),
		cmocka_unit_test(test_utc),
		cmocka_unit_test(test_moscow_history),
		cmocka_unit_test(test_kyiv_dst_edges),
		cmocka_unit_test(test_rule_parse),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_damaged_files),
		cmocka_unit_test(test_against_libc_files),
		cmocka_unit_test(test_against_libc_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
