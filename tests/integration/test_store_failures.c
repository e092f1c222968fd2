/*
 * Failures: the store's backend killed in the middle of a batch (nothing
 * half-applied, every message a temporary failure, reconnect, and the same
 * messages then apply); one message whose row the database refuses (only
 * it fails); a missing partition (created, batch retried); a lock held
 * past lock_timeout (batch retried).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "itest.h"
#include "tstore.h"

#define NB 21

static PGconn *db;

static long
n(const char *sql)
{
	return itest_long(db, sql);
}

/* Spin the loop until the store's backend waits for a lock. */
static void
wait_for_lock_wait(struct tstore *t)
{
	char sql[200];

	for (int i = 0; i < 400; i++) {
		tstore_spin(t->base, 10);
		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM pg_stat_activity"
		    " WHERE pid = %d AND wait_event_type = 'Lock'",
		    store_backend_pid(t->st));
		if (n(sql) == 1)
			return;
	}
	itest_fail("the batch never waited for the lock");
}

static void
submit_batch(struct tstore *t, struct tres *r, int minute)
{
	char sender[32], text[64];

	for (int k = 0; k < NB - 1; k++) {
		snprintf(sender, sizeof(sender), "7933100%04d", k);
		snprintf(
		    text, sizeof(text), "ПС 555001 %d", 1000 + 10 * minute + k);
		tstore_submit(
		    t, "sms", sender, text, tstore_time(minute), NULL, &r[k]);
	}
	tstore_submit(t, "sms", "79330009999", "45055", tstore_time(minute),
	    NULL, &r[NB - 1]);
}

static void
test_backend_killed(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r[NB], start;
	struct store_stats before, after;
	char sql[128];

	/* A dialog whose row round 2 must update; we hold that row. */
	tstore_say(t, "79330009999", "ПС 123859", tstore_time(0), &start);
	ITEST_EQ_STR(start.outcome, "prompt");
	store_stats(t->st, &before);
	itest_exec(db, "BEGIN");
	itest_exec(db,
	    "SELECT * FROM dialogs WHERE sender = '79330009999' FOR UPDATE");
	submit_batch(t, r, 1);
	wait_for_lock_wait(t);
	/* Round 2 has written message rows and waits: kill the backend now. */
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)",
	    store_backend_pid(t->st));
	ITEST_EQ_STR(itest_text(db, sql, (char[8]){ 0 }, 8), "t");
	tstore_wait(one, 1);
	itest_exec(db, "ROLLBACK");
	for (int k = 0; k < NB; k++)
		ITEST_EQ_LONG(r[k].status, INTAKE_TEMPFAIL);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE sender LIKE '7933100%'"), 0);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE sender = '79330009999'"), 1);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE contract = '555001'"), 0);
	ITEST_EQ_LONG(
	    n("SELECT next FROM dialogs WHERE sender = '79330009999'"), 0);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM registers WHERE contract = '555001'"
	      " AND last_value IS NULL"),
	    1);

	/* The store reconnects by itself; the channel's retry then applies. */
	store_stats(t->st, &after);
	for (int i = 0; i < 400 && after.reconnects == before.reconnects; i++) {
		tstore_spin(t->base, 25);
		store_stats(t->st, &after);
	}
	submit_batch(t, r, 1);
	tstore_wait(one, 1);
	for (int k = 0; k < NB; k++)
		ITEST_EQ_LONG(r[k].status, INTAKE_APPLIED);
	ITEST_EQ_STR(r[NB - 1].outcome, "prompt");
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE contract = '555001'"),
	    NB - 1);
	store_stats(t->st, &after);
	ITEST_EQ_LONG((long)(after.reconnects - before.reconnects), 1);
	ITEST_EQ_LONG((long)(after.tempfails - before.tempfails), NB);
}

/* One message the database refuses: only it fails, the rest apply. */
static void
test_poison(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r[10];
	struct store_stats st;
	char sender[32];

	itest_exec(db,
	    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$"
	    " BEGIN IF NEW.text = 'POISON' THEN RAISE EXCEPTION 'poisoned'"
	    " USING ERRCODE = '22023'; END IF; RETURN NEW; END $$;"
	    "CREATE TRIGGER poison BEFORE INSERT ON messages"
	    " FOR EACH ROW EXECUTE FUNCTION poison()");
	for (int k = 0; k < 10; k++) {
		snprintf(sender, sizeof(sender), "7944000%04d", k);
		tstore_submit(t, "sms", sender, k == 6 ? "POISON" : "?",
		    tstore_time(5), NULL, &r[k]);
	}
	tstore_wait(one, 1);
	for (int k = 0; k < 10; k++)
		ITEST_EQ_LONG(
		    r[k].status, k == 6 ? INTAKE_TEMPFAIL : INTAKE_APPLIED);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE sender LIKE '7944000%'"), 9);
	store_stats(t->st, &st);
	ITEST_CHECK(st.splits >= 3);
	itest_exec(
	    db, "DROP TRIGGER poison ON messages; DROP FUNCTION poison()");
}

/* The current month's partition is gone: created, then the batch applies. */
static void
test_missing_partition(struct tstore *t)
{
	struct tres r;
	char table[64], sql[128];

	itest_text(db,
	    "SELECT 'outbox_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')",
	    table, sizeof(table));
	snprintf(sql, sizeof(sql), "DROP TABLE %s", table);
	itest_exec(db, sql);
	tstore_say(t, "79550000001", "?", tstore_time(6), &r);
	ITEST_EQ_LONG(r.status, INTAKE_APPLIED);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	ITEST_EQ_LONG(n(sql), 1);
}

/* A register locked longer than lock_timeout: the batch is retried. */
static void
test_lock_timeout(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct store_stats before, after;
	struct tres r;

	store_stats(t->st, &before);
	itest_exec(db, "BEGIN");
	itest_exec(db,
	    "SELECT * FROM registers WHERE contract = '102057522' FOR UPDATE");
	tstore_submit(t, "sms", "79550000002", "ПС 102057522 11700",
	    tstore_time(7), NULL, &r);
	tstore_spin(t->base, 6000); /* past the 5 s lock_timeout */
	itest_exec(db, "ROLLBACK");
	tstore_wait(one, 1);
	store_stats(t->st, &after);
	ITEST_EQ_LONG(r.status, INTAKE_APPLIED);
	ITEST_EQ_STR(r.outcome, "accepted");
	ITEST_CHECK(after.retries > before.retries);
}

/*
 * A server error no message causes, on every batch: each message a
 * temporary failure, and one log line, not one per batch.
 */
static void
test_persistent_error(struct tstore *t)
{
	char path[] = "/tmp/mline-store-log.XXXXXX", line[512];
	int fd = mkstemp(path), saved = dup(2), lines = 0;
	struct tres r;
	FILE *f;

	unlink(path); /* read back through /proc, gone whatever happens */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	itest_exec(db,
	    "CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS $$"
	    " BEGIN RAISE EXCEPTION 'broken on purpose'; END $$;"
	    "CREATE TRIGGER broken BEFORE INSERT ON outbox"
	    " FOR EACH ROW EXECUTE FUNCTION broken()");
	fflush(stderr);
	dup2(fd, 2);
	for (int k = 0; k < 20; k++) {
		tstore_say(t, "79550000003", "?", tstore_time(8 + k), &r);
		ITEST_EQ_LONG(r.status, INTAKE_TEMPFAIL);
	}
	fflush(stderr);
	dup2(saved, 2);
	itest_exec(db, "DROP TRIGGER broken ON outbox; DROP FUNCTION broken()");
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		fputs(line, stderr);
		lines += strstr(line, "broken on purpose") != NULL;
	}
	if (f != NULL)
		fclose(f);
	ITEST_EQ_LONG(lines, 1);
	tstore_say(t, "79550000003", "?", tstore_time(30), &r);
	ITEST_EQ_LONG(r.status, INTAKE_APPLIED);
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_failures");
	struct event_base *base = event_base_new();
	struct tstore t;

	db = itest_connect(conninfo);
	tstore_open(&t, base, conninfo, 256);
	test_backend_killed(&t);
	test_poison(&t);
	test_missing_partition(&t);
	test_lock_timeout(&t);
	test_persistent_error(&t);
	tstore_close(&t);
	PQfinish(db);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
