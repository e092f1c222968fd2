/*
 * Full dialogs through the store and PostgreSQL: single register,
 * day/night step by step and at once, three zones, water with two meters,
 * closed and unknown contracts, several messages of one sender in one
 * batch. Checks what the caller hears and what the database holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "tstore.h"

static PGconn *db;

/* The one value of a query as text. */
static const char *
q(const char *sql)
{
	static char buf[1024];

	return itest_text(db, sql, buf, sizeof(buf));
}

static void
expect(const struct tres *r, const char *outcome, const char *reason,
    const char *reply_part)
{
	ITEST_CHECK(r->done);
	ITEST_EQ_LONG(r->status, INTAKE_APPLIED);
	ITEST_EQ_STR(r->outcome, outcome);
	ITEST_EQ_STR(r->reason, reason);
	if (strstr(r->reply, reply_part) == NULL)
		itest_fail("reply '%s' lacks '%s'", r->reply, reply_part);
	ITEST_CHECK(r->id > 0);
}

static void
test_single(struct tstore *t)
{
	struct tres r;
	char sql[256];

	tstore_say(t, "79000000001", "ПС 102057522 11638", tstore_time(0), &r);
	expect(&r, "accepted", "", "Показания приняты. Спасибо.");
	ITEST_EQ_STR(
	    q("SELECT value || '/' || previous || '/' || consumption || '/' || status"
	      " FROM readings WHERE contract = '102057522'"),
	    "11638/11500/138/accepted");
	ITEST_EQ_STR(q("SELECT last_value || ' ' || last_date FROM registers"
	               " WHERE contract = '102057522'"),
	    "11638 2026-11-20");
	snprintf(sql, sizeof(sql),
	    "SELECT outcome || ' ' || contract || ' ' || advanced"
	    " FROM messages WHERE id = %lld",
	    (long long)r.id);
	ITEST_EQ_STR(q(sql), "accepted 102057522 true");
	snprintf(sql, sizeof(sql),
	    "SELECT sender || ' ' || recipient || ' ' || state"
	    " || ' ' || text FROM outbox WHERE message_id = %lld",
	    (long long)r.id);
	ITEST_EQ_STR(
	    q(sql), "7377 79000000001 pending Показания приняты. Спасибо.");
	ITEST_EQ_LONG(itest_long(db, "SELECT count(*) FROM dialogs"), 0);
}

static void
test_day_night(struct tstore *t)
{
	struct tres r;

	/* A lower value is refused and changes nothing. */
	tstore_say(
	    t, "79000000002", "ПС 123859 45100 23000", tstore_time(1), &r);
	expect(&r, "rejected", "lower_than_last", "23010");
	tstore_say(t, "79000000002", "ПС 123859", tstore_time(1), &r);
	expect(&r, "prompt", "", "день");
	ITEST_EQ_STR(
	    q("SELECT contract || ' ' || next || ' ' || vals::text FROM dialogs"
	      " WHERE sender = '79000000002'"),
	    "123859 0 {}");
	tstore_say(t, "79000000002", "45055", tstore_time(2), &r);
	expect(&r, "prompt", "", "ночь");
	ITEST_EQ_STR(q("SELECT next || ' ' || vals::text FROM dialogs"
	               " WHERE sender = '79000000002'"),
	    "1 {45055}");
	tstore_say(t, "79000000002", "23186", tstore_time(3), &r);
	expect(&r, "accepted", "", "Показания приняты");
	ITEST_EQ_LONG(itest_long(db, "SELECT count(*) FROM dialogs"), 0);
	ITEST_EQ_STR(
	    q("SELECT string_agg(value || ':' || previous, ' ' ORDER BY position)"
	      " FROM readings WHERE contract = '123859'"),
	    "45055:44800 23186:23010");
	ITEST_EQ_STR(
	    q("SELECT string_agg(last_value::text, ' ' ORDER BY position)"
	      " FROM registers WHERE contract = '123859'"),
	    "45055 23186");

	/* Both at once, in the same window: a correction (docs/dialog.md). */
	tstore_say(
	    t, "79000000002", "ПС 123859 45100 23200", tstore_time(5), &r);
	expect(&r, "accepted", "", "Показания исправлены");
	ITEST_EQ_LONG(
	    itest_long(db,
	        "SELECT count(*) FROM submissions WHERE contract = '123859'"),
	    2);
}

static void
test_three_zones(struct tstore *t)
{
	struct tres r;

	tstore_say(t, "79000000003", "ПС 345678", tstore_time(6), &r);
	expect(&r, "prompt", "", "пик");
	tstore_say(t, "79000000003", "10300 8200", tstore_time(7), &r);
	expect(&r, "prompt", "", "ночь");
	tstore_say(t, "79000000003", "5500", tstore_time(8), &r);
	expect(&r, "accepted", "", "Показания приняты");
	ITEST_EQ_STR(
	    q("SELECT string_agg(r.value || ':' || r.consumption, ' ' ORDER BY position)"
	      " FROM readings r JOIN submissions s ON s.id = r.submission_id"
	      " WHERE s.contract = '345678'"),
	    "10300:100 8200:100 5500:100");
}

static void
test_water(struct tstore *t)
{
	struct tres r;

	tstore_say(t, "79000000004", "пс 176354 40 36", tstore_time(9), &r);
	expect(&r, "accepted", "", "Показания приняты");
	ITEST_EQ_STR(
	    q("SELECT resource || ' ' || count(*) FROM submissions s JOIN readings r"
	      " ON r.submission_id = s.id WHERE s.contract = '176354' GROUP BY resource"),
	    "cold_water 2");
	tstore_say(t, "79000000004", "ПС 176355 20", tstore_time(10), &r);
	expect(&r, "prompt", "", "ванная");
	tstore_say(t, "79000000004", "16", tstore_time(11), &r);
	expect(&r, "accepted", "", "Показания приняты");
	ITEST_EQ_STR(
	    q("SELECT string_agg(last_value::text, ' ' ORDER BY position)"
	      " FROM registers WHERE contract = '176355'"),
	    "20 16");
}

static void
test_rejections(struct tstore *t)
{
	struct tres r;

	tstore_say(t, "79000000005", "ПС 900100 78000", tstore_time(12), &r);
	expect(&r, "rejected", "closed_contract", "900100");
	tstore_say(t, "79000000005", "ПС 999999 1", tstore_time(13), &r);
	expect(&r, "rejected", "unknown_contract", "999999");
	tstore_say(t, "79000000005", "привет", tstore_time(14), &r);
	expect(&r, "rejected", "bad_format", "ПС");
	tstore_say(t, "79000000005", "?", tstore_time(15), &r);
	expect(&r, "help", "", "ПС");
	ITEST_EQ_LONG(
	    itest_long(db,
	        "SELECT count(*) FROM submissions WHERE contract IN ('900100', '999999')"),
	    0);
	ITEST_EQ_LONG(
	    itest_long(db,
	        "SELECT count(*) FROM messages WHERE sender = '79000000005'"),
	    4);
}

/* A whole dialog submitted at once: one batch, applied in arrival order. */
static void
test_one_batch(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r[4];

	tstore_submit(
	    t, "sms", "79000000006", "ПС 555001", tstore_time(20), NULL, &r[0]);
	tstore_submit(
	    t, "sms", "79000000006", "777", tstore_time(20), NULL, &r[1]);
	tstore_submit(t, "sms", "79000000007", "ПС 123859 45200",
	    tstore_time(20), NULL, &r[2]);
	tstore_submit(
	    t, "sms", "79000000007", "23300", tstore_time(20), NULL, &r[3]);
	tstore_wait(one, 1);
	expect(&r[0], "prompt", "", "показание счётчика");
	expect(&r[1], "accepted", "", "Показания приняты");
	expect(&r[2], "prompt", "", "ночь");
	/* 123859 has this window's readings already: a correction */
	expect(&r[3], "accepted", "", "Показания исправлены");
	ITEST_EQ_STR(
	    q("SELECT coalesce(previous::text, 'none') || ' ' || value || ' ' || flags"
	      " FROM readings WHERE contract = '555001'"),
	    "none 777 128");
	ITEST_EQ_STR(
	    q("SELECT string_agg(last_value::text, ' ' ORDER BY position)"
	      " FROM registers WHERE contract = '123859'"),
	    "45200 23300");
	ITEST_CHECK(r[0].id < r[1].id && r[2].id < r[3].id);
}

/*
 * Texts that need quoting in an array literal, and bytes PostgreSQL would
 * refuse, survive the trip into the log (the latter as U+FFFD).
 */
static void
test_awkward_text(struct tstore *t)
{
	static const char *const texts[] = {
		"\"quoted\" {braces}, commas\\back",
		"NULL",
		"",
		"ПС\t123859\n",
	};
	struct tres r;
	char sql[256], want[64];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		tstore_say(
		    t, "79000000009", texts[i], tstore_time(40 + (int)i), &r);
		snprintf(sql, sizeof(sql),
		    "SELECT '[' || text || ']' FROM messages"
		    " WHERE id = %lld",
		    (long long)r.id);
		snprintf(want, sizeof(want), "[%s]", texts[i]);
		ITEST_EQ_STR(q(sql), want);
	}
	tstore_say(t, "79000000009",
	    "a\xff\xfe"
	    "b",
	    tstore_time(50), &r);
	snprintf(sql, sizeof(sql), "SELECT text FROM messages WHERE id = %lld",
	    (long long)r.id);
	ITEST_EQ_STR(q(sql),
	    "a\xef\xbf\xbd\xef\xbf\xbd"
	    "b");
	ITEST_EQ_STR(r.outcome, "rejected");
}

/*
 * Dry run: a dialog over three batches (batch_max 1) decides as it would,
 * each step seeing the one before, and the database keeps nothing.
 */
static void
test_dry_run(const char *conninfo, struct event_base *base)
{
	struct tstore t;
	struct tres r;
	char before[64], after[64];

	itest_text(db,
	    "SELECT string_agg(last_value::text, ' ' ORDER BY position)"
	    " FROM registers WHERE contract = '123859'",
	    before, sizeof(before));
	tstore_open_dry(&t, base, conninfo, 1);
	tstore_say(&t, "79000000010", "ПС 123859", tstore_time(60), &r);
	expect(&r, "prompt", "", "день");
	tstore_say(&t, "79000000010", "45300", tstore_time(61), &r);
	expect(&r, "prompt", "", "ночь");
	tstore_say(&t, "79000000010", "23400", tstore_time(62), &r);
	expect(&r, "accepted", "", "Показания исправлены"); /* this window's */
	tstore_say(
	    &t, "79000000010", "ПС 123859 45200 23300", tstore_time(63), &r);
	/* a correction: it sees the submission of the batch before */
	expect(&r, "accepted", "", "Показания исправлены");
	tstore_close(&t);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM messages"
	                  " WHERE sender = '79000000010'"),
	    0);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM dialogs"
	                  " WHERE sender = '79000000010'"),
	    0);
	itest_text(db,
	    "SELECT string_agg(last_value::text, ' ' ORDER BY position)"
	    " FROM registers WHERE contract = '123859'",
	    after, sizeof(after));
	ITEST_EQ_STR(after, before);
}

/* A multi-host conninfo: the first host is down, the second is used. */
static void
test_multihost(const char *conninfo, struct event_base *base)
{
	char multi[700];
	struct tstore t;
	struct tres r;
	const char *host = getenv("MLINE_TEST_PGHOST");

	snprintf(multi, sizeof(multi),
	    "%s host=/nonexistent,%s port=1,%s"
	    " target_session_attrs=read-write",
	    conninfo, host, getenv("MLINE_TEST_PGPORT"));
	tstore_open(&t, base, multi, 64);
	tstore_say(&t, "79000000008", "?", tstore_time(30), &r);
	expect(&r, "help", "", "ПС");
	tstore_close(&t);
}

/*
 * A reading dated before the register's last one (a bridge message with an
 * old timestamp, a replay) is stored, but never moves last_value and
 * last_date backwards: later readings are judged against the newest.
 */
static void
test_never_backwards(const char *conninfo, struct event_base *base)
{
	struct tstore t;
	struct tres r;
	const char *last =
	    "SELECT last_value || ' ' || last_date FROM registers"
	    " WHERE contract = '102057522'";
	char before[64];

	tstore_open(&t, base, conninfo, 1);
	itest_text(db, last, before, sizeof(before));
	ITEST_EQ_STR(before, "11638 2026-11-20");
	/* two days before the last reading */
	tstore_say(&t, "79000000020", "ПС 102057522 11640",
	    tstore_time(-2 * 24 * 60), &r);
	expect(&r, "accepted", "", "Показания приняты");
	ITEST_EQ_STR(q(last), before);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM readings WHERE contract ="
	                  " '102057522' AND value = 11640"),
	    1);
	/* a newer one moves them on as usual (a correction: same window) */
	tstore_say(
	    &t, "79000000020", "ПС 102057522 11700", tstore_time(24 * 60), &r);
	expect(&r, "accepted", "", "Показания исправлены");
	ITEST_EQ_STR(q(last), "11700 2026-11-21");
	tstore_close(&t);
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_dialogs");
	struct event_base *base = event_base_new();
	struct tstore t;

	db = itest_connect(conninfo);
	tstore_open(&t, base, conninfo, 256);
	test_single(&t);
	test_day_night(&t);
	test_three_zones(&t);
	test_water(&t);
	test_rejections(&t);
	test_one_batch(&t);
	test_awkward_text(&t);
	tstore_close(&t);
	test_dry_run(conninfo, base);
	test_multihost(conninfo, base);
	test_never_backwards(conninfo, base);
	PQfinish(db);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
