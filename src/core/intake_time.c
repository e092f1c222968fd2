/*
 * Bounds on a message's own time (intake.h): the bridge's "timestamp" and
 * a replayed line's time are what the customer's device or a file says,
 * and a wrong one would judge the reading window, the period and the
 * register's last date by a time that never was.
 */
#include <stdio.h>

#include "meterline/config.h"
#include "meterline/intake.h"
#include "meterline/xmalloc.h"

enum intake_time
intake_time_check(
    const struct config_intake *b, int64_t now_us, int64_t time_us)
{
	if (b->max_future_skew > 0 &&
	    time_us - now_us > b->max_future_skew * 1000000)
		return INTAKE_TIME_FUTURE;
	if (b->max_age > 0 && now_us - time_us > b->max_age * 1000000)
		return INTAKE_TIME_OLD;
	return INTAKE_TIME_OK;
}

const char *
intake_time_name(enum intake_time t)
{
	switch (t) {
	case INTAKE_TIME_FUTURE: return "time_in_future";
	case INTAKE_TIME_OLD: return "time_too_old";
	default: return NULL;
	}
}

/* "5 minutes", "2 hours", "7 days": a span of seconds, to the nearest. */
static void
intake_span(int64_t s, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		const char *one, *many;
	} units[] = {
		{ 86400, "day", "days" },
		{ 3600, "hour", "hours" },
		{ 60, "minute", "minutes" },
		{ 1, "second", "seconds" },
	};
	size_t i = 0;

	while (i + 1 < ARRAY_SIZE(units) &&
	    (s + units[i].secs / 2) / units[i].secs == 0)
		i++;
	s = (s + units[i].secs / 2) / units[i].secs;
	snprintf(buf, len, "%lld %s", (long long)s,
	    s == 1 ? units[i].one : units[i].many);
}

const char *
intake_time_why(const struct config_intake *b, int64_t now_us, int64_t time_us,
    char *buf, size_t len)
{
	enum intake_time t = intake_time_check(b, now_us, time_us);
	int64_t off =
	    t == INTAKE_TIME_FUTURE ? time_us - now_us : now_us - time_us;
	char by[32], limit[32];

	if (t == INTAKE_TIME_OK) {
		snprintf(buf, len, "the message time is within bounds");
		return buf;
	}
	intake_span(off / 1000000, by, sizeof(by));
	intake_span(t == INTAKE_TIME_FUTURE ? b->max_future_skew : b->max_age,
	    limit, sizeof(limit));
	snprintf(buf, len,
	    "the message time is %s %s the server's clock (at most %s "
	    "allowed)",
	    by, t == INTAKE_TIME_FUTURE ? "ahead of" : "behind", limit);
	return buf;
}
