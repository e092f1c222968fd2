/*
 * Checks on single values: digit capacity, lower than last (with the
 * wrap-around of a meter's scale), the submission window, and the daily
 * consumption behind the high-consumption flag.
 */
#include "meterline/dialog.h"

/*
 * A meter whose scale rolls over goes from 99 8xx to 00 1xx: the last value
 * is in the top tenth of the scale and the new one in the bottom tenth.
 * Anything else lower than the last value is a typo or a misread digit.
 */
static bool
validate_wraps(uint32_t limit, uint32_t last, uint64_t value)
{
	return (uint64_t)last * 10 >= (uint64_t)limit * 9 && value * 10 < limit;
}

enum dialog_reason
validate_value(const struct model_register *r, uint64_t value,
    uint32_t *consumption, uint8_t *reg_flags)
{
	uint32_t limit = model_capacity_limit(r->digits);

	*consumption = 0;
	*reg_flags = 0;
	/* value < 10^digits is "no more digits than the capacity". */
	if (value >= limit)
		return DIALOG_R_TOO_MANY_DIGITS;
	if (!r->has_last) {
		*reg_flags = DIALOG_F_NO_LAST;
		return DIALOG_R_NONE;
	}
	if (value >= r->last_value) {
		*consumption = (uint32_t)value - r->last_value;
		return DIALOG_R_NONE;
	}
	if (!validate_wraps(limit, r->last_value, value))
		return DIALOG_R_LOWER_THAN_LAST;
	*consumption = limit - r->last_value + (uint32_t)value;
	*reg_flags = DIALOG_F_WRAPAROUND;
	return DIALOG_R_NONE;
}

bool
validate_in_window(
    const struct config_window *w, int year, unsigned month, unsigned day)
{
	unsigned last = tz_month_days(year, month);
	/* "25-31" in February means 25-28; "30-3" opens on the 28th. */
	unsigned from = w->from < last ? w->from : last;
	unsigned to = w->to < last ? w->to : last;

	if (w->from <= w->to)
		return day >= from && day <= to;
	return day >= from || day <= to; /* wraps over the month end */
}

/* Day d of a month, or its last day when the month is shorter. */
static int32_t
validate_day_of(int year, unsigned month, unsigned d)
{
	unsigned last = tz_month_days(year, month);

	return model_date_from_ymd(year, month, d < last ? d : last);
}

static void
validate_month_add(int *year, unsigned *month, int delta)
{
	int m = (int)*month - 1 + delta;

	*year += m < 0 ? -1 : m / 12;
	*month = (unsigned)((m % 12 + 12) % 12) + 1;
}

int32_t
validate_period_start(
    const struct config_window *w, int year, unsigned month, unsigned day)
{
	int32_t today = model_date_from_ymd(year, month, day);
	int32_t open = validate_day_of(year, month, w->from);

	if (!validate_in_window(w, year, month, day))
		return MODEL_DATE_NONE;
	if (w->from > w->to && today < open) {
		/* "30-3" on the 2nd: the occurrence opened last month */
		validate_month_add(&year, &month, -1);
		open = validate_day_of(year, month, w->from);
	}
	return open;
}

int32_t
validate_next_open(
    const struct config_window *w, int year, unsigned month, unsigned day)
{
	int32_t today = model_date_from_ymd(year, month, day);
	int32_t open = validate_day_of(year, month, w->from);

	if (open > today)
		return open;
	validate_month_add(&year, &month, 1);
	return validate_day_of(year, month, w->from);
}

uint64_t
validate_daily_milli(
    const struct model_contract *c, const struct dialog_submission *s)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < c->nregisters && i < s->nvalues; i++) {
		const struct model_register *r = &c->registers[i];
		int64_t days;

		if (!r->has_last || r->last_date == MODEL_DATE_NONE)
			continue; /* a new meter: no consumption to judge */
		days = (int64_t)s->date - r->last_date;
		if (days < 1)
			days = 1; /* a second reading the same day */
		sum += (uint64_t)s->consumption[i] * 1000 / (uint64_t)days;
	}
	return sum;
}

bool
validate_high(
    const struct config *cfg, enum model_resource res, uint64_t daily_milli)
{
	uint32_t limit = cfg->limits.daily_milli[res];

	return limit > 0 && daily_milli > limit;
}
