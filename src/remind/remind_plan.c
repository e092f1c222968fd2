/*
 * The pure part of reminders: given the configuration and a time, is a
 * reminder due, and for which date and window occurrences. No I/O, no
 * clock: the caller passes the time (serve's timer, the CLI's --date, the
 * tests moving the clock across the window).
 */
#include <stdio.h>

#include "meterline/dialog.h"
#include "meterline/remind.h"

/* The last day of the window occurrence that opened on since. */
static int32_t
remind_window_end(const struct config_window *w, int32_t since)
{
	int year;
	unsigned month, day, last;

	tz_civil_from_days(since, &year, &month, &day);
	if (w->from > w->to) { /* "30-3": it closes next month */
		month = month == 12 ? 1 : month + 1;
		year += month == 1;
	}
	last = tz_month_days(year, month);
	return model_date_from_ymd(year, month, w->to < last ? w->to : last);
}

/* Whether day of month `day` is a reminder day (31 means a month's last). */
static bool
remind_is_day(
    const struct config_daylist *days, int year, unsigned month, unsigned day)
{
	unsigned last = tz_month_days(year, month);

	for (unsigned i = 0; i < days->n; i++) {
		unsigned d = days->day[i] < last ? days->day[i] : last;

		if (d == day)
			return true;
	}
	return false;
}

bool
remind_due_on(const struct config *cfg, int32_t date, struct remind_due *out)
{
	int year;
	unsigned month, day;

	out->date = date;
	out->n = 0;
	tz_civil_from_days(date, &year, &month, &day);
	if (!remind_is_day(&cfg->reminders.days, year, month, day))
		return false;
	for (int r = 0; r < MODEL__RES_MAX; r++) {
		struct config_window w = config_window_for(cfg, r);
		int32_t since = validate_period_start(&w, year, month, day);

		if (since == MODEL_DATE_NONE)
			continue;
		out->win[out->n++] =
		    (struct remind_window){ (enum model_resource)r, since,
			    remind_window_end(&w, since) };
	}
	return out->n > 0;
}

/* Minutes after local midnight at now. */
static int
remind_local_minute(const struct config *cfg, int64_t now)
{
	struct tz_civil c;

	tz_local(&cfg->window.tz, now, &c);
	return (int)(c.hour * 60 + c.min);
}

int32_t
remind_local_date(const struct config *cfg, int64_t now)
{
	struct tz_civil c;

	tz_local(&cfg->window.tz, now, &c);
	return c.date;
}

bool
remind_due_at(const struct config *cfg, int64_t now, struct remind_due *out)
{
	out->n = 0;
	out->date = remind_local_date(cfg, now);
	if (remind_local_minute(cfg, now) < cfg->reminders.time)
		return false;
	return remind_due_on(cfg, out->date, out);
}

bool
remind_quiet(const struct config *cfg, int64_t now)
{
	const struct config_clock_range *q = &cfg->reminders.quiet;
	int m = remind_local_minute(cfg, now);

	if (q->from == q->to)
		return false;
	if (q->from < q->to)
		return m >= q->from && m < q->to;
	return m >= q->from || m < q->to; /* over midnight */
}

void
remind_date_str(int32_t date, char *buf, size_t len)
{
	int year;
	unsigned month, day;

	tz_civil_from_days(date, &year, &month, &day);
	snprintf(buf, len, "%04d-%02u-%02u", year, month, day);
}

int
remind_date_parse(const char *s, int32_t *date)
{
	unsigned year, month, day;
	int used = 0;

	if (sscanf(s, "%4u-%2u-%2u%n", &year, &month, &day, &used) != 3 ||
	    used != 10 || s[used] != '\0' || year < 1970 || month < 1 ||
	    month > 12 || day < 1 || day > tz_month_days((int)year, month))
		return -1;
	*date = model_date_from_ymd((int)year, month, day);
	return 0;
}
