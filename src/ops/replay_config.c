/* The config of a replay or export, and times given on the command line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/db.h"
#include "meterline/replay.h"
#include "meterline/tz.h"
#include "meterline/xmalloc.h"

int
replay_config(struct config *cfg, const char *config_path, const char *db,
    bool *defaults, char *conninfo, size_t conninfo_len, char *err,
    size_t errlen)
{
	const char *path = config_path;

	*defaults = false;
	if (path == NULL &&
	    (db == NULL || access(CONF_DEFAULT_PATH, R_OK) == 0))
		path = CONF_DEFAULT_PATH;
	if (path != NULL) {
		if (config_load(cfg, path, err, errlen) != 0)
			return -1;
	} else {
		config_defaults(cfg);
		*defaults = true;
	}
	if (db != NULL)
		strlcpy_s(
		    cfg->database.conninfo, db, sizeof(cfg->database.conninfo));
	if (cfg->database.conninfo[0] == '\0') {
		snprintf(err, errlen,
		    "%s: no [database] conninfo (or give --db)", path);
		return -1;
	}
	if (strlen(cfg->database.conninfo) >= conninfo_len) {
		snprintf(err, errlen, "connection string too long");
		return -1;
	}
	snprintf(conninfo, conninfo_len, "%s", cfg->database.conninfo);
	return 0;
}

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
