/*
 * TZif (RFC 8536) and POSIX TZ rules, read into a fixed-size struct tz.
 *
 * We do not use setenv("TZ") + localtime_r: that state is process-global,
 * not thread-safe, and would tie the pure core to the C library's idea of
 * the current zone. A zone here is data passed by pointer.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "meterline/octets.h"
#include "meterline/tz.h"

#define TZIF_HEADER 44
#define SECS_PER_DAY 86400

struct tzif_counts {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* A cursor over the file bytes that never reads past the end. */
struct tz_cursor {
	const uint8_t *p;
	size_t left;
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int32_t
tz_days_from_civil(int year, unsigned month, unsigned day)
{
	/* Howard Hinnant's days_from_civil, on a March-based year. */
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = floor_div(y, 400);
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy =
	    (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t)(era * 146097 + (int64_t)doe - 719468);
}

void
tz_civil_from_days(int32_t days, int *year, unsigned *month, unsigned *day)
{
	int64_t z = (int64_t)days + 719468;
	int64_t era = floor_div(z, 146097);
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*day = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(era * 400 + yoe + (*month <= 2));
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned
tz_month_days(int y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* ---- POSIX TZ strings ------------------------------------------------ */

/* A zone abbreviation: letters, or <...> with letters, digits, + and -. */
static const char *
rule_name(const char *s)
{
	const char *start = s;

	if (*s == '<') {
		while (*++s != '\0' && *s != '>')
			;
		return *s == '>' && s - start >= 4 ? s + 1 : NULL;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	return s - start >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]] with hh up to 167 (RFC 8536 extension), in seconds. */
static const char *
rule_hms(const char *s, int32_t *out)
{
	int32_t sign = 1, part[3] = { 0, 0, 0 };
	int n = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	do {
		if (n > 0)
			s++; /* the ':' */
		if (*s < '0' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9' && part[n] <= 167)
			part[n] = part[n] * 10 + (*s++ - '0');
	} while (++n < 3 && *s == ':');
	if (part[0] > 167 || part[1] > 59 || part[2] > 59)
		return NULL;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return s;
}

static const char *
rule_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9' && v <= max)
		v = v * 10 + (unsigned)(*s++ - '0');
	*out = v;
	return v <= max ? s : NULL;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00). */
static const char *
rule_date(const char *s, struct tz_date *d)
{
	unsigned a, b, c;

	memset(d, 0, sizeof(*d));
	if (*s == 'J') {
		if ((s = rule_uint(s + 1, 365, &a)) == NULL || a < 1)
			return NULL;
		d->kind = TZ_DATE_JULIAN1;
		d->day = (uint16_t)a;
	} else if (*s == 'M') {
		if ((s = rule_uint(s + 1, 12, &a)) == NULL || a < 1 ||
		    *s++ != '.' || (s = rule_uint(s, 5, &b)) == NULL || b < 1 ||
		    *s++ != '.' || (s = rule_uint(s, 6, &c)) == NULL)
			return NULL;
		d->kind = TZ_DATE_MWD;
		d->month = (uint8_t)a;
		d->week = (uint8_t)b;
		d->day = (uint16_t)c;
	} else {
		if ((s = rule_uint(s, 365, &a)) == NULL)
			return NULL;
		d->kind = TZ_DATE_JULIAN0;
		d->day = (uint16_t)a;
	}
	d->time = 2 * 3600;
	if (*s == '/')
		s = rule_hms(s + 1, &d->time);
	return s;
}

static int
rule_fail(char *err, size_t errlen, const char *s, const char *why)
{
	snprintf(err, errlen, "bad TZ rule \"%s\": %s", s, why);
	return -1;
}

int
tz_rule_parse(struct tz_rule *r, const char *s, char *err, size_t errlen)
{
	const char *p = s;
	int32_t off;

	memset(r, 0, sizeof(*r));
	if ((p = rule_name(p)) == NULL || (p = rule_hms(p, &off)) == NULL ||
	    off < -24 * 3600 || off > 24 * 3600)
		return rule_fail(
		    err, errlen, s, "standard time name or offset");
	r->std_off = -off; /* POSIX counts west of Greenwich */
	if (*p == '\0')
		return 0;
	if ((p = rule_name(p)) == NULL)
		return rule_fail(err, errlen, s, "daylight time name");
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = rule_hms(p, &off)) == NULL || off < -24 * 3600 ||
		    off > 24 * 3600)
			return rule_fail(err, errlen, s, "daylight offset");
		r->dst_off = -off;
	}
	if (*p == '\0') /* POSIX leaves the default to us: US rules */
		p = ",M3.2.0,M11.1.0";
	if (*p++ != ',' || (p = rule_date(p, &r->start)) == NULL ||
	    *p++ != ',' || (p = rule_date(p, &r->end)) == NULL || *p != '\0')
		return rule_fail(err, errlen, s, "start or end rule");
	return 0;
}

/* Day of the week of a day count, 0 = Sunday (1970-01-01 was a Thursday). */
static unsigned
weekday(int64_t days)
{
	return (unsigned)(days + 4 - floor_div(days + 4, 7) * 7);
}

/* Days since the epoch of a rule date in year y. */
static int32_t
rule_day(const struct tz_date *d, int y)
{
	int32_t jan1 = tz_days_from_civil(y, 1, 1), first;
	unsigned mday;

	switch (d->kind) {
	case TZ_DATE_JULIAN1: /* 1..365, February 29 never counted */
		return jan1 + d->day - 1 + (is_leap(y) && d->day >= 60);
	case TZ_DATE_JULIAN0: return jan1 + d->day;
	case TZ_DATE_MWD: break;
	}
	/* Weekday d of week w (5 = the last) of month m. */
	first = tz_days_from_civil(y, d->month, 1);
	mday = 1 + (d->day + 7 - weekday(first)) % 7 + 7 * (d->week - 1u);
	while (mday > tz_month_days(y, d->month))
		mday -= 7;
	return first + (int32_t)mday - 1;
}

/* Unix time of a rule transition in year y, given the offset before it. */
static int64_t
rule_when(const struct tz_date *d, int y, int32_t off_before)
{
	return (int64_t)rule_day(d, y) * SECS_PER_DAY + d->time - off_before;
}

static bool
rule_isdst(const struct tz_rule *r, int64_t t)
{
	int y;
	unsigned m, d;
	int64_t start, end;

	if (!r->has_dst)
		return false;
	tz_civil_from_days(
	    (int32_t)floor_div(t + r->std_off, SECS_PER_DAY), &y, &m, &d);
	start = rule_when(&r->start, y, r->std_off);
	end = rule_when(&r->end, y, r->dst_off);
	if (start <= end)
		return t >= start && t < end;
	return !(t >= end && t < start); /* southern hemisphere */
}

/* ---- TZif ------------------------------------------------------------ */

static int64_t
get64s(const uint8_t *p)
{
	return (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
}

static const uint8_t *
cursor_take(struct tz_cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static int
tzif_header(struct tz_cursor *c, uint8_t *version, struct tzif_counts *n)
{
	const uint8_t *h = cursor_take(c, TZIF_HEADER);

	if (h == NULL || memcmp(h, "TZif", 4) != 0)
		return -1;
	*version = h[4] == 0 ? 1 : (uint8_t)(h[4] - '0');
	n->isutcnt = get32(h + 20);
	n->isstdcnt = get32(h + 24);
	n->leapcnt = get32(h + 28);
	n->timecnt = get32(h + 32);
	n->typecnt = get32(h + 36);
	n->charcnt = get32(h + 40);
	return 0;
}

/* Bytes of one data block whose transition times take tsize bytes each. */
static size_t
tzif_block_size(const struct tzif_counts *n, size_t tsize)
{
	return (size_t)n->timecnt * (tsize + 1) + (size_t)n->typecnt * 6 +
	    n->charcnt + (size_t)n->leapcnt * (tsize + 4) + n->isstdcnt +
	    n->isutcnt;
}

static int
tz_fail(char *err, size_t errlen, const char *name, const char *why)
{
	snprintf(err, errlen, "time zone %s: %s", name, why);
	return -1;
}

/* Read one data block (tsize 4 for v1, 8 for v2+) into tz. */
static const char *
tzif_block(struct tz *tz, struct tz_cursor *c, const struct tzif_counts *n,
    size_t tsize)
{
	const uint8_t *b;

	if (n->typecnt < 1 || n->typecnt > TZ_MAX_TYPES || n->charcnt < 1)
		return "bad type count";
	if (n->timecnt > TZ_MAX_TIMES)
		return "too many transitions";
	if (n->leapcnt != 0)
		return "leap-second (right/) zones are not supported";
	if ((b = cursor_take(c, tzif_block_size(n, tsize))) == NULL)
		return "truncated";
	tz->ntimes = (uint16_t)n->timecnt;
	tz->ntypes = (uint16_t)n->typecnt;
	for (uint32_t i = 0; i < n->timecnt; i++) {
		const uint8_t *p = b + i * tsize;

		tz->times[i] = tsize == 8 ? get64s(p) : (int32_t)get32(p);
		if (i > 0 && tz->times[i] <= tz->times[i - 1])
			return "transitions out of order";
	}
	b += n->timecnt * tsize;
	for (uint32_t i = 0; i < n->timecnt; i++) {
		if (b[i] >= n->typecnt)
			return "bad type index";
		tz->time_type[i] = b[i];
	}
	b += n->timecnt;
	for (uint32_t i = 0; i < n->typecnt; i++, b += 6) {
		tz->type_off[i] = (int32_t)get32(b);
		tz->type_isdst[i] = b[4] != 0;
		if (tz->type_off[i] <= -25 * 3600 ||
		    tz->type_off[i] >= 26 * 3600)
			return "bad UT offset";
	}
	return NULL;
}

/* The footer of a v2+ file: "\n<POSIX TZ string>\n", possibly empty. */
static const char *
tzif_footer(struct tz *tz, struct tz_cursor *c)
{
	char rule[128], why[160];
	size_t len;

	if (c->left < 2 || c->p[0] != '\n')
		return "missing footer";
	for (len = 1; len < c->left && c->p[len] != '\n'; len++)
		;
	if (len == c->left || len - 1 >= sizeof(rule))
		return "bad footer";
	memcpy(rule, c->p + 1, len - 1);
	rule[len - 1] = '\0';
	if (rule[0] == '\0')
		return NULL; /* no rule: the last type holds forever */
	if (tz_rule_parse(&tz->rule, rule, why, sizeof(why)) != 0)
		return "bad footer rule";
	tz->has_rule = true;
	return NULL;
}

int
tz_parse(struct tz *tz, const char *name, const uint8_t *data, size_t len,
    char *err, size_t errlen)
{
	struct tz_cursor c = { data, len };
	struct tzif_counts n;
	uint8_t version;
	const char *why;

	memset(tz, 0, offsetof(struct tz, type_off));
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	if (tzif_header(&c, &version, &n) != 0)
		return tz_fail(err, errlen, name, "not a TZif file");
	if (version >= 2) {
		/* Skip the 32-bit block: the 64-bit one repeats it, wider. */
		if (cursor_take(&c, tzif_block_size(&n, 4)) == NULL ||
		    tzif_header(&c, &version, &n) != 0)
			return tz_fail(err, errlen, name, "truncated");
	}
	why = tzif_block(tz, &c, &n, version >= 2 ? 8 : 4);
	if (why == NULL && version >= 2)
		why = tzif_footer(tz, &c);
	return why != NULL ? tz_fail(err, errlen, name, why) : 0;
}

int
tz_from_rule(
    struct tz *tz, const char *name, const char *rule, char *err, size_t errlen)
{
	memset(tz, 0, offsetof(struct tz, type_off));
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	if (tz_rule_parse(&tz->rule, rule, err, errlen) != 0)
		return -1;
	tz->has_rule = true;
	tz->ntypes = 1;
	tz->type_off[0] = tz->rule.std_off;
	tz->type_isdst[0] = 0;
	return 0;
}

/* Index of the last transition at or before t, or -1 before the first. */
static int
tz_find(const struct tz *tz, int64_t t)
{
	int lo = 0, hi = tz->ntimes;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (tz->times[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* Offset and DST flag at t: table, then the footer rule past its end. */
static int32_t
tz_lookup(const struct tz *tz, int64_t t, bool *isdst)
{
	int i = tz_find(tz, t);

	if (tz->has_rule && (tz->ntimes == 0 || i == tz->ntimes - 1)) {
		*isdst = rule_isdst(&tz->rule, t);
		return *isdst ? tz->rule.dst_off : tz->rule.std_off;
	}
	/* Before the first transition: type 0 (RFC 8536 §3.2). */
	uint8_t type = i < 0 ? 0 : tz->time_type[i];

	*isdst = tz->type_isdst[type];
	return tz->type_off[type];
}

int32_t
tz_offset(const struct tz *tz, int64_t t)
{
	bool isdst;

	return tz_lookup(tz, t, &isdst);
}

void
tz_local(const struct tz *tz, int64_t t, struct tz_civil *out)
{
	int64_t lt, days, secs;

	out->offset = tz_lookup(tz, t, &out->isdst);
	lt = t + out->offset;
	days = floor_div(lt, SECS_PER_DAY);
	secs = lt - days * SECS_PER_DAY;
	out->date = (int32_t)days;
	tz_civil_from_days(out->date, &out->year, &out->month, &out->day);
	out->hour = (unsigned)(secs / 3600);
	out->min = (unsigned)(secs / 60 % 60);
	out->sec = (unsigned)(secs % 60);
	out->wday = weekday(days);
}
