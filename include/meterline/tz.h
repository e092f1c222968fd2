/*
 * Time zones without the C library's global TZ state: a reader of TZif
 * files (RFC 8536, versions 1 to 4) and of POSIX TZ rule strings, and the
 * conversion of a UTC instant to local civil time.
 *
 * struct tz is fixed-size and pointer-free: it lives inside struct config,
 * is copied with it, and is read concurrently by any number of threads.
 * tz_parse() and friends are pure; tz_load() (src/conf/tz_load.c, conf.h) reads
 * $TZDIR/NAME or /usr/share/zoneinfo/NAME once, at config load.
 */
#ifndef METERLINE_TZ_H
#define METERLINE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 63
#define TZ_MAX_TIMES 2000 /* transitions kept (tzcode's own limit) */
#define TZ_MAX_TYPES 256 /* local time types, as RFC 8536 allows */

/* A date rule of a POSIX TZ string: Jn, n or Mm.w.d. */
enum tz_date_kind { TZ_DATE_JULIAN1, TZ_DATE_JULIAN0, TZ_DATE_MWD };

struct tz_date {
	enum tz_date_kind kind;
	uint16_t day; /* Jn: 1..365, n: 0..365, M: weekday 0..6 */
	uint8_t month; /* M: 1..12 */
	uint8_t week; /* M: 1..5, 5 = last */
	int32_t time; /* seconds after local midnight, may be
					   negative or past 24h (RFC 8536 §3.3.1) */
};

/* "EET-2EEST,M3.5.0/3,M10.5.0/4": offsets are seconds east of UTC. */
struct tz_rule {
	int32_t std_off;
	bool has_dst;
	int32_t dst_off;
	struct tz_date start, end; /* when DST starts and ends */
};

struct tz {
	char name[TZ_NAME_MAX + 1]; /* "Europe/Moscow" */
	uint16_t ntimes;
	uint16_t ntypes; /* >= 1 */
	bool has_rule; /* footer, for times past the table */
	struct tz_rule rule;
	int32_t type_off[TZ_MAX_TYPES]; /* UT offset of each type */
	uint8_t type_isdst[TZ_MAX_TYPES];
	uint8_t time_type[TZ_MAX_TIMES]; /* type from times[i] on */
	int64_t times[TZ_MAX_TIMES]; /* transitions, Unix seconds */
};

/* Local civil time of an instant. */
struct tz_civil {
	int year;
	unsigned month; /* 1..12 */
	unsigned day; /* 1..31 */
	unsigned hour, min, sec;
	unsigned wday; /* 0 = Sunday */
	int32_t offset; /* seconds east of UTC in effect */
	bool isdst;
	int32_t date; /* days since 1970-01-01 of year-month-day */
};

/*
 * Parse the bytes of a TZif file (len bytes, need not be NUL-terminated).
 * Keeps the 64-bit data of version 2+ files and their footer rule. Returns
 * 0, or -1 with why in err. name is copied into tz->name.
 */
int tz_parse(struct tz *, const char *name, const uint8_t *data, size_t len,
    char *err, size_t errlen);

/* Parse a POSIX TZ string such as "MSK-3" or "EET-2EEST,M3.5.0/3,M10.5.0/4". */
int tz_rule_parse(struct tz_rule *, const char *s, char *err, size_t errlen);

/* A zone that is only a POSIX rule (no transition table), e.g. "UTC0". */
int tz_from_rule(
    struct tz *, const char *name, const char *rule, char *err, size_t errlen);

/* Seconds east of UTC in effect at Unix time t. */
int32_t tz_offset(const struct tz *, int64_t t);

/* Local civil time at Unix time t. */
void tz_local(const struct tz *, int64_t t, struct tz_civil *out);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int32_t tz_days_from_civil(int year, unsigned month, unsigned day);
void
tz_civil_from_days(int32_t days, int *year, unsigned *month, unsigned *day);
/* Days in a month of the proleptic Gregorian calendar (28..31). */
unsigned tz_month_days(int year, unsigned month);

#endif
