/*
 * The PostgreSQL adapter: the only module that includes libpq-fe.h.
 *
 * Two faces:
 *  - struct db_sync, blocking, for command-line tools (migrate, import) and
 *    tests, never inside the event loop;
 *  - struct db (db_async.h section below), asynchronous on a libevent base,
 *    used by the store.
 */
#ifndef METERLINE_DB_H
#define METERLINE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Config file of the DB subcommands when --config is not given. */
#define DB_CONFIG_DEFAULT "/etc/meterline/meterline.conf"

/*
 * The conninfo a subcommand uses: db_override (--db) when non-NULL, else
 * [database] conninfo of the config file at config_path (--config, or
 * DB_CONFIG_DEFAULT when NULL). Returns 0, or -1 with why in err.
 */
int db_conninfo_resolve(const char *config_path, const char *db_override,
                        char *out, size_t outlen, char *err, size_t errlen);

/* ---- blocking ---------------------------------------------------------- */

struct db_sync;
struct db_rows;		/* rows of one query result */

/* Connect; NULL with why in err. Server notices are dropped. */
struct db_sync *db_sync_open(const char *conninfo, char *err, size_t errlen);
void            db_sync_close(struct db_sync *);	/* NULL-safe */

/* Run one or more statements that return no rows of interest. 0 or -1. */
int db_sync_exec(struct db_sync *, const char *sql, char *err, size_t errlen);

/*
 * Run one statement with text parameters ($1..); NULL entries are SQL
 * NULL. Returns the rows (possibly none) or NULL with why in err.
 */
struct db_rows *db_sync_query(struct db_sync *, const char *sql, int nparams,
                              const char *const *params, char *err,
                              size_t errlen);
int         db_rows_count(const struct db_rows *);
/* Value of (row, col) as text, NULL for SQL NULL. Valid until free. */
const char *db_rows_get(const struct db_rows *, int row, int col);
void        db_rows_free(struct db_rows *);			/* NULL-safe */

/* COPY ... FROM STDIN: begin, put any number of chunks, end. 0 or -1. */
int db_sync_copy_begin(struct db_sync *, const char *sql, char *err,
                       size_t errlen);
int db_sync_copy_put(struct db_sync *, const char *buf, size_t len, char *err,
                     size_t errlen);
int db_sync_copy_end(struct db_sync *, char *err, size_t errlen);

#endif
