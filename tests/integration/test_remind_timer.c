/*
 * Reminders inside serve: the timer (remind_timer.c) on a libevent loop
 * with its clock moved across the window, against PostgreSQL. Before the
 * time of day nothing is queued; at it, the date's reminders are queued
 * and released at the rate, each channel's outbox woken; a reminder day
 * in the quiet hours queues but releases nothing until they end; days
 * that are not reminder days queue nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/migrate.h"
#include "meterline/remind.h"

static PGconn *db;
static struct config cfg;
static int64_t clock_now; /* Unix seconds, moved by the test */
static int kicks; /* the timer's "queued" callbacks for sms */

static int64_t
fake_now(void *arg)
{
	(void)arg;
	return clock_now;
}

static void
queued(void *arg, const char *channel)
{
	(void)arg;
	if (strcmp(channel, "sms") == 0)
		kicks++;
}

/* Moscow local time (+3) of 2026-12-d h:m, as Unix seconds. */
static int64_t
msk(unsigned d, unsigned h, unsigned m)
{
	return (int64_t)tz_days_from_civil(2026, 12, d) * 86400 +
	    (int64_t)h * 3600 + m * 60 - 3 * 3600;
}

/* Run the loop for ms milliseconds. */
static void
run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static long
count(const char *sql)
{
	return itest_long(db, sql);
}

/* Run the loop until sql counts want (at most 20 s: a loaded machine). */
static void
run_until(struct event_base *base, const char *sql, long want)
{
	for (int i = 0; i < 200 && count(sql) != want; i++)
		run_for(base, 100);
	ITEST_EQ_LONG(count(sql), want);
}

/*
 * Run the loop until the timer has taken the results of its releases
 * (at most 5 s): a release's commit is visible to count() before the
 * loop has read the round's answer, so its callback may still be due.
 */
static void
settle(struct event_base *base, struct remind *rm, uint64_t released)
{
	struct remind_stats st;

	for (int i = 0; i < 50; i++) {
		remind_stats(rm, &st);
		if (st.released >= released)
			return;
		run_for(base, 100);
	}
}

static void
setup(const char *conninfo)
{
	char why[256];

	config_defaults(&cfg);
	config_set(&cfg, "window", "days", "18-25", why, sizeof(why));
	config_set(&cfg, "reminders", "days", "20,24", why, sizeof(why));
	config_set(&cfg, "reminders", "time", "10:00", why, sizeof(why));
	config_set(
	    &cfg, "reminders", "quiet_hours", "21:00-09:00", why, sizeof(why));
	config_set(&cfg, "reminders", "channels", "sms", why, sizeof(why));
	config_set(&cfg, "reminders", "sms_from", "7377", why, sizeof(why));
	config_set(&cfg, "reminders", "rate", "2", why, sizeof(why));
	snprintf(cfg.database.conninfo, sizeof(cfg.database.conninfo), "%s",
	    conninfo);
	itest_exec(db,
	    "INSERT INTO contracts (contract, resource)"
	    " SELECT (300000 + i)::text, 'electricity'"
	    " FROM generate_series(1, 6) i;"
	    "INSERT INTO bindings (phone, contract)"
	    " SELECT (79200000000 + i)::text, (300000 + i)::text"
	    " FROM generate_series(1, 6) i");
}

int
main(void)
{
	const char *conninfo = itest_db_create("itest_remind_timer");
	struct event_base *base = event_base_new();
	struct remind_opts o = {
		.cfg = &cfg, .queued = queued, .tick_ms = 20, .now = fake_now
	};
	struct migrate_report rep;
	struct remind_stats st;
	struct remind *rm;
	char err[512];

	if (migrate_run(conninfo, &rep, err, sizeof(err)) != 0)
		itest_fail("migrate: %s", err);
	db = itest_connect(conninfo);
	setup(conninfo);
	clock_now = msk(20, 9, 59); /* a reminder day, before 10:00 */
	rm = remind_new(base, &o);
	run_for(base, 1500);
	ITEST_EQ_LONG(count("SELECT count(*) FROM reminder_runs"), 0);
	clock_now = msk(20, 10, 0); /* at 10:00: queued, then 2 a tick */
	run_until(base,
	    "SELECT count(*) FROM reminders WHERE remind_date"
	    " = '2026-12-20' AND state = 'sent'",
	    6);
	ITEST_EQ_LONG(count("SELECT count(*) FROM outbox"), 6);
	settle(base, rm, 6);
	ITEST_CHECK(kicks >= 3); /* at most 2 per release */
	remind_stats(rm, &st);
	ITEST_EQ_LONG((long)st.queued, 6);
	ITEST_EQ_LONG((long)st.released, 6);
	clock_now = msk(21, 12, 0); /* not a reminder day */
	run_for(base, 1500);
	ITEST_EQ_LONG(count("SELECT count(*) FROM reminder_runs"), 1);
	/* the 24th at 21:30: queued (not before 10:00 is all that counts),
	   but quiet: nothing released */
	itest_exec(db,
	    "INSERT INTO submissions (message_id, contract, resource,"
	    " channel, sender, submitted_at, started_at, local_date, status)"
	    " VALUES (1, '300001', 'electricity', 'sms', '79200000001',"
	    " now(), now(), '2026-12-22', 'accepted')");
	clock_now = msk(24, 21, 30);
	run_until(base,
	    "SELECT count(*) FROM reminders WHERE remind_date"
	    " = '2026-12-24' AND state = 'queued'",
	    5);
	run_for(base, 600);
	ITEST_EQ_LONG(count("SELECT count(*) FROM outbox"), 6);
	clock_now = msk(25, 8, 59); /* still quiet the next morning */
	run_for(base, 600);
	ITEST_EQ_LONG(count("SELECT count(*) FROM outbox"), 6);
	clock_now = msk(25, 9, 0); /* quiet over, window still open */
	run_until(base,
	    "SELECT count(*) FROM reminders WHERE remind_date"
	    " = '2026-12-24' AND state = 'sent'",
	    5);
	ITEST_EQ_LONG(count("SELECT count(*) FROM outbox"), 11);
	ITEST_EQ_LONG(count("SELECT count(*) FROM reminder_runs"), 2);
	remind_free(rm);
	event_base_free(base);
	PQfinish(db);
	printf("ok\n");
	return 0;
}
