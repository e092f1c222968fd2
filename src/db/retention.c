/*
 * Retention (retention.h, docs/retention.md): drop whole old partitions,
 * delete old ids and photos in batches. Every step is a statement of its
 * own in autocommit, with no session state, so that it also runs through
 * a transaction pooler and never holds a lock for long: a DELETE of one
 * batch, a DETACH ... CONCURRENTLY (which waits for the transactions
 * using the parent table without blocking new ones), a DROP of a table
 * nobody reads any more.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/retention.h"

#define US_PER_S INT64_C(1000000)
/* Unix microseconds (bigint parameter) to timestamptz, exactly. */
#define TS(p) "(timestamptz 'epoch' + " p "::bigint * interval '1 microsecond')"
/* The upper bound of a range partition (FOR VALUES FROM (..) TO ('..')). */
#define PART_UPPER \
	"substring(pg_get_expr(c.relpartbound, c.oid)" \
	" FROM 'TO \\(''([^'']+)''\\)')::timestamptz"

/* The partitions of parent lying wholly before cutoff, oldest first. */
static const char retention_parts_sql[] =
    "SELECT c.oid::regclass::text, i.inhdetachpending,"
    " (extract(epoch FROM " PART_UPPER ") * 1000000)::bigint"
    " FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = $1::regclass"
    " AND " PART_UPPER " <= " TS("$2") " ORDER BY 3";

/* One batch of a table's rows written before $1; how many went. */
static const char *const retention_delete_sql[] = {
	"WITH d AS (DELETE FROM message_ids WHERE ctid = ANY (ARRAY("
	"SELECT ctid FROM message_ids WHERE logged_at < " TS(
	    "$1") " LIMIT $2::integer)) RETURNING 1) SELECT count(*) FROM d",
	"WITH d AS (DELETE FROM message_photos WHERE ctid = ANY (ARRAY("
	"SELECT ctid FROM message_photos WHERE created_at < " TS(
	    "$1") " LIMIT $2::integer)) RETURNING 1) SELECT count(*) FROM d",
};
enum retention_table { RT_IDS, RT_PHOTOS };

/* now - period in microseconds; period 0 never gets here. */
static int64_t
retention_cutoff(const struct retention_opts *o, int64_t period)
{
	return o->now_us - period * US_PER_S;
}

/* Delete table's rows written before before_us, batch by batch. */
static int
retention_delete(struct db_sync *db, enum retention_table t, int64_t before_us,
    int64_t *deleted, char *err, size_t errlen)
{
	char before[24], limit[16];
	const char *params[2] = { before, limit };
	int64_t n;

	snprintf(before, sizeof(before), "%" PRId64, before_us);
	snprintf(limit, sizeof(limit), "%d", RETENTION_BATCH);
	do {
		struct db_rows *r = db_sync_query(
		    db, retention_delete_sql[t], 2, params, err, errlen);

		if (r == NULL)
			return -1;
		n = strtoll(db_rows_get(r, 0, 0), NULL, 10);
		db_rows_free(r);
		*deleted += n;
	} while (n == RETENTION_BATCH);
	return 0;
}

/*
 * Detach (or finish detaching: a run that died between the two
 * transactions of CONCURRENTLY leaves it pending) and drop one partition.
 */
static int
retention_drop(struct db_sync *db, const char *parent, const char *part,
    bool pending, char *err, size_t errlen)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "ALTER TABLE %s DETACH PARTITION %s %s",
	    parent, part, pending ? "FINALIZE" : "CONCURRENTLY");
	if (db_sync_exec(db, sql, err, errlen) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "DROP TABLE %s", part);
	if (db_sync_exec(db, sql, err, errlen) < 0)
		return -1;
	log_info("retention: dropped %s", part);
	return 0;
}

/*
 * Drop parent's partitions that end at or before cutoff_us. The log's
 * ids and photos written before a partition's end go first: an id whose
 * log row is gone would not be found by the store's join, and the
 * message would be applied again.
 */
static int
retention_partitions(struct db_sync *db, const char *parent, int64_t cutoff_us,
    struct retention_report *rep, char *err, size_t errlen)
{
	char cutoff[24];
	const char *params[2] = { parent, cutoff };
	bool log = strcmp(parent, "messages") == 0;
	struct db_rows *r;
	int rc = 0;

	snprintf(cutoff, sizeof(cutoff), "%" PRId64, cutoff_us);
	r = db_sync_query(db, retention_parts_sql, 2, params, err, errlen);
	if (r == NULL)
		return -1;
	for (int i = 0; i < db_rows_count(r) && rc == 0; i++) {
		const char *part = db_rows_get(r, i, 0);
		bool pending = strcmp(db_rows_get(r, i, 1), "t") == 0;
		int64_t upper = strtoll(db_rows_get(r, i, 2), NULL, 10);

		if (log &&
		    (retention_delete(
		         db, RT_IDS, upper, &rep->ids, err, errlen) < 0 ||
		        retention_delete(db, RT_PHOTOS, upper, &rep->photos,
		            err, errlen) < 0))
			rc = -1;
		else if (retention_drop(
		             db, parent, part, pending, err, errlen) < 0)
			rc = -1;
		else
			rep->partitions++;
	}
	db_rows_free(r);
	return rc;
}

/* The steps, in an order that never leaves an id without its log row. */
static int
retention_steps(struct db_sync *db, const struct retention_opts *o,
    struct retention_report *rep, char *err, size_t errlen)
{
	if (o->message_ids != 0 &&
	    retention_delete(db, RT_IDS, retention_cutoff(o, o->message_ids),
	        &rep->ids, err, errlen) < 0)
		return -1;
	if (o->photos != 0 &&
	    retention_delete(db, RT_PHOTOS, retention_cutoff(o, o->photos),
	        &rep->photos, err, errlen) < 0)
		return -1;
	if (o->messages != 0 &&
	    retention_partitions(db, "messages",
	        retention_cutoff(o, o->messages), rep, err, errlen) < 0)
		return -1;
	if (o->outbox != 0 &&
	    retention_partitions(db, "outbox", retention_cutoff(o, o->outbox),
	        rep, err, errlen) < 0)
		return -1;
	return 0;
}

int
retention_run(const char *conninfo, const struct retention_opts *o,
    struct retention_report *rep, char *err, size_t errlen)
{
	struct db_sync *db;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if ((db = db_sync_open(conninfo, err, errlen)) == NULL)
		return -1;
	rc = retention_steps(db, o, rep, err, errlen);
	db_sync_close(db);
	return rc;
}
