/*
 * Which config and database a command uses: one rule for every command
 * (serve, migrate, import, replay, export-log), documented in
 * docs/configuration.md and in conf.h.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/xmalloc.h"

/* The file to read, or NULL for the built-in defaults. */
static const char *
conf_pick_path(const char *config_path, const char *db)
{
	if (config_path != NULL)
		return config_path;
	/* Without --db the file is all there is: read it, missing or not, so
	   that its absence is reported. With --db, a file that cannot be read
	   means the built-in defaults, as replay has always done. */
	if (db == NULL || access(CONF_DEFAULT_PATH, R_OK) == 0)
		return CONF_DEFAULT_PATH;
	return NULL;
}

int
conf_resolve(struct config *cfg, const char *config_path, const char *db,
    const char **source, char *err, size_t errlen)
{
	const char *path = conf_pick_path(config_path, db);

	if (source != NULL)
		*source = path;
	if (path == NULL)
		config_defaults(cfg);
	else if (config_load(cfg, path, err, errlen) != 0)
		return -1;
	if (db != NULL && strlen(db) >= sizeof(cfg->database.conninfo)) {
		snprintf(err, errlen, "connection string too long");
		return -1;
	}
	if (db != NULL)
		strlcpy_s(
		    cfg->database.conninfo, db, sizeof(cfg->database.conninfo));
	if (cfg->database.conninfo[0] == '\0') {
		snprintf(err, errlen,
		    "%s: no [database] conninfo (or give --db)",
		    path != NULL ? path : "--db");
		return -1;
	}
	return 0;
}
