/* Which database a command-line tool talks to: --db, else the config's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/xmalloc.h"

int
db_conninfo_resolve(const char *config_path, const char *db_override, char *out,
    size_t outlen, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	const char *conninfo = db_override;
	int rc = 0;

	/* --db alone needs no config file; with --config too the file is
	   still read, so that a broken one is noticed. */
	if (db_override == NULL || config_path != NULL) {
		cfg = xmalloc(sizeof(*cfg));
		rc = config_load(cfg,
		    config_path ? config_path : CONF_DEFAULT_PATH, err, errlen);
		if (conninfo == NULL)
			conninfo = cfg->database.conninfo;
	}
	if (rc == 0 && strlen(conninfo) >= outlen) {
		snprintf(err, errlen, "connection string too long");
		rc = -1;
	}
	if (rc == 0)
		snprintf(out, outlen, "%s", conninfo);
	free(cfg);
	return rc;
}
