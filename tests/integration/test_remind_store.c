/*
 * Reminders against PostgreSQL (issue 17): the clock moved across the
 * window (only reminder days inside it queue anything), one reminder per
 * contract, date and bound phone or chat, none for a contract that
 * submitted in the window, a closed one or an opted-out sender; a date
 * queued once whatever the number of runs; two connections queuing and
 * releasing at once put each reminder into the outbox exactly once; the
 * release skips contracts that submitted, senders who opted out since,
 * and windows that closed; the dry run lists the same targets.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"
#include "meterline/db.h"
#include "meterline/migrate.h"
#include "meterline/remind.h"

static PGconn *db;
static const char *conninfo;
static struct config cfg;

static int32_t
day(unsigned d)
{
	return model_date_from_ymd(2026, 12, d);
}

static struct db_sync *
open_db(void)
{
	char err[512];
	struct db_sync *s = db_sync_open(conninfo, err, sizeof(err));

	if (s == NULL)
		itest_fail("db_sync_open: %s", err);
	return s;
}

static long
queue(struct db_sync *s, int32_t date)
{
	struct remind_due d;
	char err[512];
	long n;

	if (!remind_due_on(&cfg, date, &d))
		return -2; /* not due */
	if ((n = remind_queue(s, &cfg, &d, err, sizeof(err))) < 0)
		itest_fail("remind_queue: %s", err);
	return n;
}

/* Release; returns how many went into the outbox, *taken how many
   were judged (sent or skipped). */
static long
release_n(
    struct db_sync *s, const char *channel, int max, int32_t today, long *taken)
{
	char err[512];
	long sent = 0;

	*taken = remind_release(
	    s, &cfg, channel, max, today, &sent, err, sizeof(err));
	if (*taken < 0)
		itest_fail("remind_release: %s", err);
	return sent;
}

static long
release(struct db_sync *s, const char *channel, int max, int32_t today)
{
	long taken;

	return release_n(s, channel, max, today, &taken);
}

static void
setup(void)
{
	char why[256];

	config_defaults(&cfg);
	config_set(&cfg, "window", "days", "18-25", why, sizeof(why));
	config_set(&cfg, "reminders", "days", "20,24", why, sizeof(why));
	config_set(
	    &cfg, "reminders", "channels", "sms,telegram", why, sizeof(why));
	config_set(&cfg, "reminders", "sms_from", "7377", why, sizeof(why));
	snprintf(cfg.database.conninfo, sizeof(cfg.database.conninfo), "%s",
	    conninfo);
	/* C1 two phones and a November reading (another window); C2 read
	   in this window; C3's phone opted out of SMS; C4 a phone and the
	   Telegram chat that shared it; C5 nobody bound; C6 closed; C7 cold
	   water */
	itest_exec(db,
	    "INSERT INTO contracts (contract, resource, status) VALUES"
	    " ('100001', 'electricity', 'active'),"
	    " ('100002', 'electricity', 'active'),"
	    " ('100003', 'electricity', 'active'),"
	    " ('100004', 'electricity', 'active'),"
	    " ('100005', 'electricity', 'active'),"
	    " ('100006', 'electricity', 'closed'),"
	    " ('100007', 'cold_water', 'active');"
	    "INSERT INTO bindings (phone, contract) VALUES"
	    " ('79000000011', '100001'), ('79000000012', '100001'),"
	    " ('79000000021', '100002'), ('79000000031', '100003'),"
	    " ('79000000041', '100004'), ('79000000061', '100006'),"
	    " ('79000000071', '100007');"
	    "INSERT INTO reminder_optout (channel, sender) VALUES"
	    " ('sms', '79000000031'), ('telegram', '79000000031');"
	    "INSERT INTO channel_phones (channel, sender, phone, message_id)"
	    " VALUES ('telegram', '5550041', '+79000000041', 1),"
	    " ('max', '5550042', '79000000041', 2);"
	    "INSERT INTO submissions (message_id, contract, resource,"
	    " channel, sender, submitted_at, started_at, local_date, status)"
	    " VALUES (1, '100001', 'electricity', 'sms', '79000000011',"
	    " now(), now(), '2026-11-20', 'accepted'),"
	    " (2, '100002', 'electricity', 'sms', '79000000021', now(),"
	    " now(), '2026-12-19', 'accepted')");
}

/* Move the clock from the 15th to the 31st: the 20th and 24th only. */
static void
test_across_window(struct db_sync *s)
{
	for (unsigned d = 15; d <= 31; d++) {
		long n;

		if (d == 20 || d == 24)
			continue;
		n = queue(s, day(d));
		ITEST_EQ_LONG(n, -2);
	}
	ITEST_EQ_LONG(queue(s, day(20)), 5);
	ITEST_EQ_LONG(queue(s, day(20)), 0); /* once per date */
	ITEST_EQ_LONG(itest_long(db, "SELECT count(*) FROM reminders"), 5);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM reminders WHERE"
	                  " (contract, channel, target) IN (('100001', 'sms',"
	                  " '79000000011'), ('100001', 'sms', '79000000012'),"
	                  " ('100004', 'sms', '79000000041'), ('100004',"
	                  " 'telegram', '5550041'), ('100007', 'sms',"
	                  " '79000000071')) AND since = '2026-12-18' AND"
	                  " deadline = '2026-12-25' AND state = 'queued'"),
	    5);
}

/* The dry run: the same five, marked queued; nothing written. */
static void
count_target(const struct remind_target *t, void *arg)
{
	long *n = arg;

	ITEST_CHECK(t->queued);
	ITEST_CHECK(
	    strstr(t->why, "no reading from 18.12 (deadline 25.12)") != NULL);
	(*n)++;
}

static void
test_dry_run(struct db_sync *s)
{
	struct remind_due d;
	char err[512];
	long seen = 0;

	ITEST_CHECK(remind_due_on(&cfg, day(20), &d));
	ITEST_EQ_LONG(
	    remind_dry_run(s, &cfg, &d, count_target, &seen, err, sizeof(err)),
	    5);
	ITEST_EQ_LONG(seen, 5);
	ITEST_EQ_LONG(itest_long(db, "SELECT count(*) FROM reminders"), 5);
}

/* The 20th released: text, sender, one outbox row each. */
static void
test_release(struct db_sync *s)
{
	char buf[512];

	ITEST_EQ_LONG(release(s, "sms", 2, day(20)), 2); /* the rate */
	ITEST_EQ_LONG(release(s, "sms", 100, day(20)), 2);
	ITEST_EQ_LONG(release(s, "sms", 100, day(20)), 0);
	ITEST_EQ_LONG(release(s, "telegram", 100, day(20)), 1);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox o JOIN reminders r"
	                  " ON r.outbox_id = o.id WHERE r.state = 'sent'"
	                  " AND o.recipient = r.target AND o.state ="
	                  " 'pending' AND o.message_id IS NULL"),
	    5);
	ITEST_EQ_STR(itest_text(db,
	                 "SELECT sender || '|' || text FROM outbox WHERE"
	                 " recipient = '79000000071'",
	                 buf, sizeof(buf)),
	    "7377|Передайте показания по договору 100007 до 25 числа: ПС "
	    "100007 <показания>. Не напоминать: НЕ НАПОМИНАТЬ");
	ITEST_EQ_STR(itest_text(db,
	                 "SELECT sender FROM outbox WHERE recipient ="
	                 " '5550041'",
	                 buf, sizeof(buf)),
	    "reminder");
}

struct worker {
	const char *what;
	long n;
};

/* One of two connections doing the same at once. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct db_sync *s = open_db();
	long taken;

	if (strcmp(w->what, "queue") == 0) {
		w->n = queue(s, day(24));
	} else {
		do
			w->n += release_n(s, w->what, 1, day(24), &taken);
		while (taken > 0);
	}
	db_sync_close(s);
	return NULL;
}

static void
run_two(const char *what, long *a, long *b)
{
	struct worker w[2] = { { what, 0 }, { what, 0 } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	*a = w[0].n;
	*b = w[1].n;
}

/*
 * The 24th by two connections at once: queued by one of them; then C4
 * submits and 79000000012 opts out, and both release one row at a time
 * in a race: every other reminder reaches the outbox exactly once.
 */
static void
test_two_at_once(void)
{
	long a, b;

	run_two("queue", &a, &b);
	ITEST_CHECK((a == 5 && b == 0) || (a == 0 && b == 5));
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM reminders WHERE remind_date ="
	                  " '2026-12-24'"),
	    5);
	itest_exec(db,
	    "INSERT INTO submissions (message_id, contract, resource,"
	    " channel, sender, submitted_at, started_at, local_date, status)"
	    " VALUES (3, '100004', 'electricity', 'sms', '79000000041', now(),"
	    " now(), '2026-12-22', 'review');"
	    "INSERT INTO reminder_optout (channel, sender) VALUES"
	    " ('sms', '79000000012')");
	run_two("sms", &a, &b);
	ITEST_EQ_LONG(a + b, 2); /* 100001/..011 and 100007 */
	run_two("telegram", &a, &b);
	ITEST_EQ_LONG(a + b, 0); /* 100004 submitted */
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox o JOIN reminders r"
	                  " ON r.outbox_id = o.id WHERE r.remind_date ="
	                  " '2026-12-24'"),
	    2);
	/* no outbox row without its reminder, none twice */
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox WHERE message_id IS"
	                  " NULL"),
	    7);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(DISTINCT outbox_id) FROM reminders"
	                  " WHERE state = 'sent'"),
	    7);
	ITEST_EQ_STR(itest_text(db,
	                 "SELECT string_agg(state || ':' || target, ',' ORDER"
	                 " BY target) FROM reminders WHERE remind_date ="
	                 " '2026-12-24'",
	                 (char[256]){ 0 }, 256),
	    "submitted:5550041,sent:79000000011,opted_out:79000000012,"
	    "submitted:79000000041,sent:79000000071");
}

/* A reminder still queued after its window closed is never sent. */
static void
test_expired(struct db_sync *s)
{
	itest_exec(db,
	    "INSERT INTO reminders (contract, remind_date, channel, target,"
	    " since, deadline) VALUES ('100005', '2026-12-24', 'sms',"
	    " '79000000051', '2026-12-18', '2026-12-25')");
	ITEST_EQ_LONG(release(s, "sms", 100, day(26)), 0);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM reminders WHERE state ="
	                  " 'expired' AND outbox_id IS NULL"),
	    1);
}

int
main(void)
{
	struct migrate_report rep;
	struct db_sync *s;
	char err[512];

	conninfo = itest_db_create("itest_remind_store");
	if (migrate_run(conninfo, &rep, err, sizeof(err)) != 0)
		itest_fail("migrate: %s", err);
	db = itest_connect(conninfo);
	setup();
	s = open_db();
	test_across_window(s);
	test_dry_run(s);
	test_release(s);
	test_two_at_once();
	test_expired(s);
	db_sync_close(s);
	PQfinish(db);
	printf("ok\n");
	return 0;
}
