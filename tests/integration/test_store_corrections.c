/*
 * Corrections and the dialog's open question on the store's side
 * (migration 0004): each accepted submission moves a register's last value
 * into prev_value/prev_date, also when several submissions of one contract
 * share a batch; a correction leaves prev as it was and marks the
 * submissions it replaces superseded, in the batch and in the database
 * (ST_SUPERSEDE); dialogs.pending is loaded and checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "store_int.h"
#include "tstore.h"

#define DAY (24 * 60) /* tstore_time() takes minutes */

static PGconn *db;

static const char *
q(const char *sql)
{
	static char buf[1024];

	return itest_text(db, sql, buf, sizeof(buf));
}

static void
expect_outcome(const struct tres *r, const char *outcome)
{
	ITEST_CHECK(r->done);
	ITEST_EQ_LONG(r->status, INTAKE_APPLIED);
	ITEST_EQ_STR(r->outcome, outcome);
}

/* ---- the register rules, in memory ----------------------------------- */

static struct model_register
reg(bool has_last, uint32_t last, int32_t last_date)
{
	struct model_register g;

	memset(&g, 0, sizeof(g));
	g.position = 1;
	g.digits = 6;
	g.has_last = has_last;
	g.last_value = last;
	g.last_date = has_last ? last_date : MODEL_DATE_NONE;
	g.prev_date = MODEL_DATE_NONE;
	return g;
}

static void
test_move_register(void)
{
	struct model_register g = reg(true, 11500, 100);

	/* a submission: last into prev */
	ITEST_CHECK(batch_move_register(&g, 36000, 110, false));
	ITEST_CHECK(g.has_prev);
	ITEST_EQ_LONG(g.prev_value, 11500);
	ITEST_EQ_LONG(g.prev_date, 100);
	ITEST_EQ_LONG(g.last_value, 36000);
	ITEST_EQ_LONG(g.last_date, 110);
	/* its correction: last replaced, prev kept */
	ITEST_CHECK(batch_move_register(&g, 11700, 111, true));
	ITEST_EQ_LONG(g.prev_value, 11500);
	ITEST_EQ_LONG(g.prev_date, 100);
	ITEST_EQ_LONG(g.last_value, 11700);
	ITEST_EQ_LONG(g.last_date, 111);
	/* an older reading moves nothing */
	ITEST_CHECK(!batch_move_register(&g, 11600, 105, false));
	ITEST_EQ_LONG(g.prev_value, 11500);
	ITEST_EQ_LONG(g.last_value, 11700);
	/* a new meter: no prev after its first reading */
	g = reg(false, 0, 0);
	ITEST_CHECK(batch_move_register(&g, 777, 110, false));
	ITEST_CHECK(!g.has_prev);
	ITEST_CHECK(g.has_last);
}

static void
sub_of(struct store_sub *o, const char *contract, int32_t date)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->s.contract, contract);
	o->s.date = date;
}

static void
test_supersede_in_batch(void)
{
	struct store_batch b;
	struct store_sub subs[4];
	struct dialog_submission c;

	memset(&b, 0, sizeof(b));
	sub_of(&subs[0], "102057522", 109); /* before the period */
	sub_of(&subs[1], "102057522", 110); /* the typo */
	sub_of(&subs[2], "123859", 110); /* another contract */
	sub_of(&subs[3], "102057522", 112); /* later than the correction */
	b.subs = subs;
	b.nsubs = 4;
	memset(&c, 0, sizeof(c));
	strcpy(c.contract, "102057522");
	c.flags = DIALOG_F_CORRECTION;
	c.supersedes_since = 110;
	c.date = 111;
	batch_supersede_in_batch(&b, &c);
	ITEST_CHECK(!subs[0].superseded);
	ITEST_CHECK(subs[1].superseded);
	ITEST_CHECK(!subs[2].superseded);
	ITEST_CHECK(!subs[3].superseded);
}

/* ---- through the store and PostgreSQL -------------------------------- */

/*
 * Each accepted submission moves last into prev, also two of one contract
 * in one batch. Each in a window of its own (November, December), so
 * that none is a correction whatever the engine makes of a second one.
 */
static void
test_prev_values(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r[3];

	tstore_say(
	    t, "79000000101", "ПС 102057522 11638", tstore_time(0), &r[0]);
	expect_outcome(&r[0], "accepted");
	ITEST_EQ_STR(
	    q("SELECT concat_ws(' ', last_value, last_date, prev_value,"
	      " prev_date) FROM registers WHERE contract = '102057522'"),
	    "11638 2026-11-20 11500 2026-10-20");
	/* one batch, two senders: the 21st of November, the 20th of December */
	tstore_submit(t, "sms", "79000000102", "ПС 123859 45000 23100",
	    tstore_time(DAY), NULL, &r[1]);
	tstore_submit(t, "sms", "79000000103", "ПС 123859 45100 23200",
	    tstore_time(30 * DAY), NULL, &r[2]);
	tstore_wait(one, 1);
	expect_outcome(&r[1], "accepted");
	expect_outcome(&r[2], "accepted");
	ITEST_EQ_STR(
	    q("SELECT string_agg(concat_ws(' ', last_value, last_date, prev_value,"
	      " prev_date), ', ' ORDER BY position) FROM registers"
	      " WHERE contract = '123859'"),
	    "45100 2026-12-20 45000 2026-11-21, 23200 2026-12-20 23100 2026-11-21");
	ITEST_EQ_STR(
	    q("SELECT string_agg(value || ':' || previous || ':' || status, ' '"
	      " ORDER BY value) FROM readings WHERE contract = '123859'"),
	    "23100:23010:accepted 23200:23100:accepted "
	    "45000:44800:accepted 45100:45000:accepted");
	/* a new meter's first reading: no prev */
	tstore_say(t, "79000000104", "ПС 555001 777", tstore_time(2), &r[0]);
	expect_outcome(&r[0], "accepted");
	ITEST_EQ_STR(
	    q("SELECT concat_ws(' ', last_value, coalesce(prev_value::text,"
	      " 'null')) FROM registers WHERE contract = '555001'"),
	    "777 null");
}

/*
 * ST_SUPERSEDE as the batch sends it: the stored submissions of the
 * contract dated inside [since, until] become superseded with their
 * readings; others, other contracts and rows already superseded stay.
 */
static void
test_supersede_sql(struct tstore *t)
{
	struct tres r;
	char since[16], until[16];
	const char *params[3] = { "{345678}", since, until };
	PGresult *res;
	int32_t d20 = model_date_from_ymd(2026, 12, 20);

	tstore_say(
	    t, "79000000105", "ПС 345678 10300 8200 5500", tstore_time(0), &r);
	expect_outcome(&r, "accepted");
	tstore_say(t, "79000000105", "ПС 345678 10310 8210 5510",
	    tstore_time(30 * DAY), &r);
	expect_outcome(&r, "accepted");
	tstore_say(t, "79000000105", "ПС 345678 10320 8220 5520",
	    tstore_time(61 * DAY), &r);
	expect_outcome(&r, "accepted");
	snprintf(since, sizeof(since), "{%d}", d20);
	snprintf(until, sizeof(until), "{%d}", d20);
	res = PQexecParams(
	    db, store_stmts[ST_SUPERSEDE].sql, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		itest_fail("ST_SUPERSEDE: %s", PQerrorMessage(db));
	ITEST_EQ_STR(PQcmdTuples(res), "3"); /* the readings of one */
	PQclear(res);
	ITEST_EQ_STR(
	    q("SELECT string_agg(local_date || ' ' || status, ', '"
	      " ORDER BY local_date) FROM submissions WHERE contract = '345678'"),
	    "2026-11-20 accepted, 2026-12-20 superseded, 2027-01-20 accepted");
	ITEST_EQ_STR(
	    q("SELECT string_agg(r.value || ' ' || r.status, ', '"
	      " ORDER BY r.value) FROM readings r"
	      " JOIN submissions s ON s.id = r.submission_id"
	      " WHERE s.contract = '345678' AND s.local_date = '2026-12-20'"),
	    "5510 superseded, 8210 superseded, 10310 superseded");
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM readings WHERE status ="
	                  " 'superseded'"),
	    3);
}

/* dialogs.pending: a sound question is kept, a bad one dropped. */
static void
test_pending_rows(struct tstore *t)
{
	struct tres r;

	itest_exec(db,
	    "INSERT INTO dialogs (channel, sender, contract, nregisters, next,"
	    " vals, started_us, last_us, pending) VALUES"
	    " ('sms', '79000000106', '123859', 2, 1, '{45200}',"
	    "  1795165200000000, 1795165200000000, '{23300}'),"
	    " ('sms', '79000000107', '123859', 2, 1, '{45200}',"
	    "  1795165200000000, 1795165200000000, '{1,2,3}')");
	/* help keeps the dialog open: the sound row was loaded, not dropped
	   (whether help keeps the question is the engine's call) */
	tstore_say(t, "79000000106", "?", tstore_time(3), &r);
	expect_outcome(&r, "help");
	ITEST_EQ_STR(q("SELECT next || ' ' || vals::text FROM dialogs"
	               " WHERE sender = '79000000106'"),
	    "1 {45200}");
	/* more pending values than registers left: the row is dropped */
	tstore_say(t, "79000000107", "?", tstore_time(3), &r);
	expect_outcome(&r, "help");
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM dialogs"
	                  " WHERE sender = '79000000107'"),
	    0);
}

int
main(void)
{
	const char *conninfo;
	struct event_base *base;
	struct tstore t;

	test_move_register();
	test_supersede_in_batch();
	conninfo = tstore_db("itest_corrections");
	db = itest_connect(conninfo);
	base = event_base_new();
	tstore_open(&t, base, conninfo, 100);
	test_prev_values(&t);
	test_supersede_sql(&t);
	test_pending_rows(&t);
	tstore_close(&t);
	event_base_free(base);
	PQfinish(db);
	printf("test_store_corrections: ok\n");
	return 0;
}
