/* Which database a command-line tool talks to: --db, else the config's. */
#include <stdio.h>
#include <string.h>

#include "meterline/db.h"

int
db_conninfo_resolve(const char *config_path, const char *db_override,
    char *out, size_t outlen, char *err, size_t errlen)
{
	if (db_override != NULL) {
		if (strlen(db_override) >= outlen) {
			snprintf(err, errlen, "--db: connection string too long");
			return -1;
		}
		snprintf(out, outlen, "%s", db_override);
		return 0;
	}
	/* FIXME: read [database] conninfo once src/io/config_load.c exists. */
	snprintf(err, errlen, "%s: config files are not read yet; use --db",
	    config_path ? config_path : DB_CONFIG_DEFAULT);
	return -1;
}
