/* Apply the embedded schema migrations; record them in meterline_schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/migrate.h"

/* Serialises concurrent `meterline migrate` runs ('meterlim'). */
#define MIGRATE_LOCK "7236966975360811629"

static const char migrate_bootstrap[] =
    "CREATE TABLE IF NOT EXISTS meterline_schema ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

int
migrate_latest(void)
{
	return migrations_count ? migrations[migrations_count - 1].version : 0;
}

/* Newest applied version, 0 for an empty database; -1 on error. */
static int
migrate_current(struct db_sync *db, char *err, size_t errlen)
{
	struct db_rows *r;
	const char *v;
	int version;

	r = db_sync_query(db, "SELECT max(version) FROM meterline_schema", 0,
	    NULL, err, errlen);
	if (r == NULL)
		return -1;
	v = db_rows_get(r, 0, 0);
	version = v ? atoi(v) : 0;
	db_rows_free(r);
	return version;
}

/* One migration and its version row, in one transaction. */
static int
migrate_apply(
    struct db_sync *db, const struct migration *m, char *err, size_t errlen)
{
	char ver[16], why[512], ignored[64];
	const char *params[2] = { ver, m->name };
	struct db_rows *r = NULL;

	snprintf(ver, sizeof(ver), "%d", m->version);
	if (db_sync_exec(db, "BEGIN", why, sizeof(why)) < 0 ||
	    db_sync_exec(db, m->sql, why, sizeof(why)) < 0 ||
	    (r = db_sync_query(db,
	         "INSERT INTO meterline_schema (version, name) "
	         "VALUES ($1, $2)",
	         2, params, why, sizeof(why))) == NULL ||
	    db_sync_exec(db, "COMMIT", why, sizeof(why)) < 0) {
		db_rows_free(r);
		db_sync_exec(db, "ROLLBACK", ignored, sizeof(ignored));
		snprintf(err, errlen, "%s: %s", m->name, why);
		return -1;
	}
	db_rows_free(r);
	log_info("migrate: applied %s", m->name);
	return 0;
}

static int
migrate_partitions(struct db_sync *db, int *created, char *err, size_t errlen)
{
	char ahead[16];
	const char *params[1] = { ahead };
	struct db_rows *r;

	snprintf(ahead, sizeof(ahead), "%d", MIGRATE_PARTITIONS_AHEAD);
	r = db_sync_query(db, "SELECT meterline_ensure_partitions($1)", 1,
	    params, err, errlen);
	if (r == NULL)
		return -1;
	*created = atoi(db_rows_get(r, 0, 0));
	db_rows_free(r);
	return 0;
}

/* With the migrate lock held: check the version, apply what is missing. */
static int
migrate_locked(
    struct db_sync *db, struct migrate_report *rep, char *err, size_t errlen)
{
	int latest = migrate_latest();

	if (db_sync_exec(db, migrate_bootstrap, err, errlen) < 0)
		return -1;
	if ((rep->from = migrate_current(db, err, errlen)) < 0)
		return -1;
	if (rep->from > latest) {
		snprintf(err, errlen,
		    "database schema is at version %d, newer than this binary's %d: upgrade meterline",
		    rep->from, latest);
		return -1;
	}
	rep->to = rep->from;
	for (size_t i = 0; i < migrations_count; i++) {
		if (migrations[i].version <= rep->from)
			continue;
		if (migrate_apply(db, &migrations[i], err, errlen) < 0)
			return -1;
		rep->to = migrations[i].version;
		rep->applied++;
	}
	if (migrate_partitions(db, &rep->partitions, err, errlen) < 0)
		return -1;
	/* New tables, indexes and partitions have no statistics, and
	 * autovacuum never analyses a partitioned parent: the planner would
	 * guess until it did (docs/retention.md). */
	if (rep->applied > 0 || rep->partitions > 0)
		return db_sync_exec(db, "ANALYZE", err, errlen);
	return 0;
}

int
migrate_run(
    const char *conninfo, struct migrate_report *rep, char *err, size_t errlen)
{
	struct db_sync *db;
	char ignored[64];
	int rc;

	memset(rep, 0, sizeof(*rep));
	if ((db = db_sync_open(conninfo, err, errlen)) == NULL)
		return -1;
	if (db_sync_exec(db,
	        "SET client_min_messages = warning; "
	        "SELECT pg_advisory_lock(" MIGRATE_LOCK ")",
	        err, errlen) < 0) {
		db_sync_close(db);
		return -1;
	}
	rc = migrate_locked(db, rep, err, errlen);
	db_sync_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", ignored,
	    sizeof(ignored));
	db_sync_close(db);
	return rc;
}
