/*
 * db.c behind a transaction pooler (db_pooler_set, docs/store.md
 * "PgBouncer"), against PostgreSQL directly:
 *  - nothing is prepared by name (pg_prepared_statements stays empty),
 *    while the same connection without the mode prepares its statement;
 *  - the session settings hold in every transaction, as SET LOCAL: after
 *    a COMMIT inside the round the next statement sees the default again,
 *    so nothing would stay on a server connection a pooler shares;
 *  - their statement is hidden: the round's owner gets exactly its own
 *    results, in every transaction (after a sync they are sent again);
 *  - settings that fail make the round fail at its first statement, with
 *    the reason, and the connection goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/db.h"

static const struct db_stmt stmts[] = {
	{ "t_echo", "SELECT current_setting('lock_timeout') || ' ' || $1::text",
	    1 },
};

struct t {
	struct event_base *base;
	struct db *db;
	int step;
	char got[8][64];
	size_t nrows;
	int failed;
	char error[256];
};

static void
t_keep(struct t *t, const struct db_round_result *r)
{
	t->nrows = r->nrows;
	t->failed = r->failed;
	snprintf(t->error, sizeof(t->error), "%s", r->error);
	for (size_t i = 0; i < r->nrows && i < 8; i++) {
		const char *v = r->failed < 0 && r->rows[i] != NULL
		    ? db_rows_get(r->rows[i], 0, 0)
		    : NULL;

		snprintf(t->got[i], sizeof(t->got[i]), "%s", v ? v : "-");
	}
	event_base_loopbreak(t->base);
}

static void
t_round_cb(const struct db_round_result *r, void *arg)
{
	t_keep(arg, r);
}

static void
t_state_cb(bool up, void *arg)
{
	struct t *t = arg;

	if (up)
		event_base_loopbreak(t->base);
}

/* Run the loop until the callback breaks it (at most 10 s). */
static void
t_wait(struct t *t)
{
	struct timeval tv = { 10, 0 };

	t->nrows = 99;
	event_base_loopexit(t->base, &tv);
	event_base_dispatch(t->base);
	ITEST_CHECK(t->nrows != 99);
}

static void
t_open(struct t *t, const char *conninfo, const char *session_sql)
{
	struct db_opts o = { .name = "t",
		.conninfo = conninfo,
		.stmts = stmts,
		.nstmts = 1,
		.session_sql = session_sql };

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	t->db = db_new(t->base, &o, t_state_cb, t);
	t->nrows = 0;
	{
		struct timeval tv = { 10, 0 };

		event_base_loopexit(t->base, &tv);
		event_base_dispatch(t->base);
	}
	ITEST_CHECK(db_ready(t->db));
}

static void
t_close(struct t *t)
{
	db_free(t->db);
	event_base_free(t->base);
}

static const char settings[] = "SELECT set_config('lock_timeout', '4s', false),"
                               " set_config('statement_timeout', '7s', false)";

/* Pooled: no names, local settings in every transaction, hidden. */
static void
test_pooled(const char *conninfo)
{
	struct t t;
	const char *a[] = { "a" };

	db_pooler_set(DB_POOLER_TRANSACTION);
	t_open(&t, conninfo, settings);
	ITEST_CHECK(db_send(t.db, 0, a) == 0);
	ITEST_CHECK(db_send_sql(t.db,
	                "SELECT count(*) FROM pg_prepared_statements") == 0);
	ITEST_CHECK(db_send_sql(t.db, "COMMIT") == 0);
	ITEST_CHECK(
	    db_send_sql(t.db, "SELECT current_setting('lock_timeout')") == 0);
	ITEST_CHECK(db_round(t.db, true, t_round_cb, &t) == 0);
	t_wait(&t);
	ITEST_EQ_LONG(t.failed, -1);
	ITEST_EQ_LONG((long)t.nrows, 4);
	ITEST_EQ_STR(t.got[0], "4s a");
	ITEST_EQ_STR(t.got[1], "0");
	ITEST_EQ_STR(t.got[3], "0"); /* after the COMMIT: the default */

	/* the next transaction has them again, in a round without sync */
	ITEST_CHECK(db_send_sql(t.db,
	                "SELECT current_setting('statement_timeout')") == 0);
	ITEST_CHECK(db_round(t.db, false, t_round_cb, &t) == 0);
	t_wait(&t);
	ITEST_EQ_LONG((long)t.nrows, 1);
	ITEST_EQ_STR(t.got[0], "7s");
	ITEST_CHECK(db_send(t.db, 0, a) == 0); /* same transaction */
	ITEST_CHECK(db_round(t.db, true, t_round_cb, &t) == 0);
	t_wait(&t);
	ITEST_EQ_LONG((long)t.nrows, 1);
	ITEST_EQ_STR(t.got[0], "4s a");
	t_close(&t);
}

/* Settings that fail: the round fails at its first statement. */
static void
test_pooled_bad_settings(const char *conninfo)
{
	struct t t;

	db_pooler_set(DB_POOLER_TRANSACTION);
	t_open(
	    &t, conninfo, "SELECT set_config('lock_timeout', 'soon', false)");
	for (int i = 0; i < 2; i++) {
		ITEST_CHECK(db_send_sql(t.db, "SELECT 1") == 0);
		ITEST_CHECK(db_round(t.db, true, t_round_cb, &t) == 0);
		t_wait(&t);
		ITEST_EQ_LONG((long)t.nrows, 1);
		ITEST_EQ_LONG(t.failed, 0);
		ITEST_CHECK(strstr(t.error, "session settings") != NULL);
		ITEST_CHECK(db_ready(t.db));
	}
	t_close(&t);
}

/* Without the mode the statement is prepared by name, settings once. */
static void
test_direct(const char *conninfo)
{
	struct t t;

	db_pooler_set(DB_POOLER_NONE);
	t_open(&t, conninfo, settings);
	ITEST_CHECK(db_send_sql(t.db,
	                "SELECT count(*) FROM pg_prepared_statements") == 0);
	ITEST_CHECK(db_send_sql(t.db, "COMMIT") == 0);
	ITEST_CHECK(
	    db_send_sql(t.db, "SELECT current_setting('lock_timeout')") == 0);
	ITEST_CHECK(db_round(t.db, true, t_round_cb, &t) == 0);
	t_wait(&t);
	ITEST_EQ_LONG(t.failed, -1);
	ITEST_EQ_STR(t.got[0], "1");
	ITEST_EQ_STR(t.got[2], "4s"); /* the session's */
	t_close(&t);
}

int
main(void)
{
	const char *conninfo = itest_db_create("itest_db_pooled");

	test_pooled(conninfo);
	test_pooled_bad_settings(conninfo);
	test_direct(conninfo);
	printf("test_db_pooled: ok\n");
	return 0;
}
