/* Replay formats: RFC 3339 times in and out. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "meterline/replay.h"
#include "meterline/tz.h"

/* n decimal digits at s into *v; 0 or -1. */
static int
fmt_digits(const char *s, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/* The offset part: Z, or +HH:MM / -HH:MM. Returns 0 or -1. */
static int
fmt_offset(const char *s, int32_t *off)
{
	unsigned h, m;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || fmt_digits(s + 1, 2, &h) != 0 ||
	    s[3] != ':' || fmt_digits(s + 4, 2, &m) != 0 || s[6] != '\0' ||
	    h > 23 || m > 59)
		return -1;
	*off = (int32_t)(h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
	return 0;
}

int
replay_time_parse(const char *s, int64_t *us)
{
	unsigned y, mo, d, h, mi, sec, frac = 0;
	int32_t off;
	int fd = 0;

	if (strlen(s) < 20 || fmt_digits(s, 4, &y) || s[4] != '-' ||
	    fmt_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    fmt_digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    fmt_digits(s + 11, 2, &h) || s[13] != ':' ||
	    fmt_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    fmt_digits(s + 17, 2, &sec))
		return -1;
	s += 19;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++, fd++)
			if (fd < 6)
				frac = frac * 10 + (unsigned)(*s - '0');
		if (fd == 0)
			return -1;
		for (int i = fd; i < 6; i++)
			frac *= 10;
	}
	if (fmt_offset(s, &off) != 0 || mo < 1 || mo > 12 || d < 1 ||
	    d > tz_month_days((int)y, mo) || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second: the last one of the minute */
	*us = ((int64_t)tz_days_from_civil((int)y, mo, d) * 86400 + h * 3600 +
	          mi * 60 + sec - off) *
	        1000000 +
	    frac;
	return 0;
}

char *
replay_time_format(int64_t us, const struct tz *tz, char *buf, size_t len)
{
	int64_t sec = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	int64_t frac = us - sec * 1000000;
	int32_t off = tz ? tz_offset(tz, sec) : 0;
	int64_t local = sec + off,
	        days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	int64_t rem = local - days * 86400;
	unsigned mo, d, aoff = (unsigned)(off < 0 ? -off : off);
	int y;
	int n;

	tz_civil_from_days((int32_t)days, &y, &mo, &d);
	n = snprintf(buf, len, "%04d-%02u-%02uT%02u:%02u:%02u", y, mo, d,
	    (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
	    (unsigned)(rem % 60));
	if (frac != 0 && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ".%06" PRId64, frac);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%c%02u:%02u",
		    off < 0 ? '-' : '+', aoff / 3600, aoff / 60 % 60);
	return buf;
}

bool
replay_outcome_shown(
    const struct replay_outcome *out, const char **outcome, const char **reason)
{
	*outcome = out->outcome ? out->outcome : "?";
	*reason = out->reason;
	if (out->status == INTAKE_DUPLICATE) {
		*reason = *outcome; /* what the original did */
		*outcome = "duplicate";
	} else if (out->status == INTAKE_TEMPFAIL) {
		*outcome = "failed";
		*reason = "not_stored";
		return true;
	}
	return false;
}
