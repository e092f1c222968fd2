/*
 * Reading configuration from files: the INI file (libinih), the *_file
 * secrets, the zoneinfo of [window] timezone, and which config and
 * database a command-line tool uses. The config model itself (keys,
 * defaults, checks) is pure and lives in config.h (src/core).
 */
#ifndef METERLINE_CONF_H
#define METERLINE_CONF_H

#include <stddef.h>

#include "meterline/config.h"
#include "meterline/tz.h"

/* The config file of every command when --config is not given. */
#define CONF_DEFAULT_PATH "/etc/meterline/meterline.conf"

/*
 * The config and database of every command, by one rule:
 *
 *  - --config FILE (config_path): FILE is read and must load;
 *  - else CONF_DEFAULT_PATH is read when it exists, and also when it does
 *    not but there is no --db (then its absence is the error);
 *  - else (--db and no file) the built-in defaults, config_defaults().
 *
 * --db (db, when non-NULL) then replaces [database] conninfo. *source
 * (may be NULL) is set to the file read, or NULL for the built-in
 * defaults. Returns 0, or -1 with why in err.
 */
int conf_resolve(struct config *, const char *config_path, const char *db,
    const char **source, char *err, size_t errlen);

/*
 * Load path: defaults, then the file, then password_file/secret_file and
 * the time zone, then config_check. Errors, one per line, as
 * "file:line: section.key: why" in err. Returns 0 or -1.
 */
int config_load(struct config *, const char *path, char *err, size_t errlen);

/* Same, from a string (name is used in messages); for tests and `check`. */
int config_load_string(struct config *, const char *name, const char *text,
    char *err, size_t errlen);

/*
 * Load NAME from $TZDIR (when set) or /usr/share/zoneinfo. NAME must be an
 * IANA name: no leading '/', no "..".
 */
int tz_load(struct tz *, const char *name, char *err, size_t errlen);

#endif
