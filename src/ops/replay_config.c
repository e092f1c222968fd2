/* Times given on the command line of a replay or export. */
#include <stdio.h>

#include "meterline/replay.h"
#include "meterline/tz.h"

int
replay_when_parse(const char *s, const struct tz *tz, int64_t *us)
{
	unsigned y, m, d;
	int n = 0;
	int64_t t0, t;
	int32_t off;

	if (replay_time_parse(s, us) == 0)
		return 0;
	if (sscanf(s, "%4u-%2u-%2u%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[10] != '\0' || m < 1 || m > 12 || d < 1 ||
	    d > tz_month_days((int)y, m))
		return -1;
	/* Local midnight: the offset in effect then (twice, across a change). */
	t0 = (int64_t)tz_days_from_civil((int)y, m, d) * 86400;
	off = tz_offset(tz, t0);
	t = t0 - off;
	if (tz_offset(tz, t) != off)
		t = t0 - tz_offset(tz, t);
	*us = t * 1000000;
	return 0;
}
