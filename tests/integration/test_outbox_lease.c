/*
 * The outbox sender's leases against PostgreSQL (src/serve/outbox.c).
 *
 * 1. Held: replies the link holds for several leases (a throttled link)
 *    keep their lease, renewed, and are sent once.
 * 2. Settling: rows whose lease ran out while this instance held them are
 *    taken again by a claim in the same round in which their results are
 *    reported. They are not sent a second time: an entry stays in the
 *    index until its result's write-back has committed. (CI, 2026-12-07:
 *    bench_outbox_drain sent 80 of 20,000 replies twice on a loaded
 *    machine, a claim having re-taken rows whose results were queued.)
 * 3. Results reported while a write-back is in flight, a full batch and
 *    then a few: the few are written once that round is done, with no
 *    further result to wake them. (CI, ASan, the same day: the last
 *    results of a drain waited for ever and the stop timed out.)
 *
 * 4. One write-back of rows from two months' partitions (a reply
 *    committed before midnight at a month's end, reported after it):
 *    every row is written, though the write-back prunes the partitions
 *    outside its rows' created_at.
 * 5. Delivery receipts match replies of the last 30 days only: an SMSC
 *    reuses its ids, and a receipt must not mark a reply of two months
 *    ago that happened to get the same id (nor probe those months).
 *    A reply of 20 days ago still matches.
 *
 * The link is the test: send() counts each id and holds the reply; the
 * test reports the held replies as the SMSC's submit_sm_resp would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/migrate.h"
#include "meterline/outbox.h"
#include "meterline/smpp_link.h"

#define NROWS 200
#define FIRST_A 1000 /* phase 1's rows: ids 1000..1199 */
#define FIRST_B 2000 /* phase 2's rows: ids 2000..2199 */
#define FIRST_C 3000 /* phase 3's rows: ids 3000..3299 */
#define NROWS_C 346
#define FIRST_D 3500 /* phase 4's rows: ids 3500..3699 */
#define NROWS_D 200
#define HELD_MAX NROWS_C
#define TRIGGER 1 /* phase 2's trigger row: first in id order */

static PGconn *db;
static struct outbox *ob;
static int sends[4000]; /* by outbox id */
static int64_t held[HELD_MAX];
static int nheld;

static void
report_accepted(int64_t id)
{
	char mid[32];
	struct smpp_mt_report r = { .cookie = (uint64_t)id,
		.part = 1,
		.nparts = 1,
		.state = SMPP_MT_ACCEPTED,
		.message_id = mid,
		.last = true };

	snprintf(mid, sizeof(mid), "m%lld", (long long)id);
	outbox_report(ob, &r);
}

/* The held replies are answered, all at once. */
static void
report_held(void)
{
	for (int i = 0; i < nheld; i++)
		report_accepted(held[i]);
	nheld = 0;
}

/*
 * The link. The trigger row comes first in its claim (lowest id): its
 * send reports every held reply, so the rest of that claim's rows, taken
 * again because their lease was made to run out, are rows whose results
 * are queued and not yet written.
 */
static int
send_cb(void *ctx, const struct smpp_mt *mt)
{
	int64_t id = (int64_t)mt->cookie;

	(void)ctx;
	if (id < 0 || id >= (int64_t)(sizeof(sends) / sizeof(sends[0])))
		itest_fail("send of an unexpected id %lld", (long long)id);
	sends[id]++;
	if (id == TRIGGER) {
		report_held();
		report_accepted(id);
		return 0;
	}
	if (nheld == HELD_MAX)
		itest_fail("more than %d replies held", HELD_MAX);
	held[nheld++] = id;
	return 0;
}

static void
run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run the loop until sql counts want, for at most 20 s. */
static void
run_until(struct event_base *base, const char *sql, long want)
{
	for (int i = 0; i < 200; i++) {
		if (itest_long(db, sql) == want)
			return;
		run_for(base, 100);
	}
	itest_fail("timed out waiting for %ld: %s (%ld)", want, sql,
	    itest_long(db, sql));
}

static void
insert_rows(int64_t first, int n)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
	    "INSERT INTO outbox (id, channel, sender, recipient, text)"
	    " SELECT %lld + i, 'sms', '7377', (79000000000 + i)::text,"
	    " 'Показания приняты. Спасибо.' FROM generate_series(0, %d) i",
	    (long long)first, n - 1);
	itest_exec(db, sql);
}

/* Each of n ids from first sent exactly once. */
static void
check_sent_once(int64_t first, int n)
{
	for (int64_t id = first; id < first + n; id++)
		if (sends[id] != 1)
			itest_fail("outbox id %lld sent %d times",
			    (long long)id, sends[id]);
}

static struct outbox *
outbox_start(struct event_base *base, const char *conninfo, int lease_s)
{
	struct outbox_opts o = { .conninfo = conninfo,
		.send = send_cb,
		.poll_ms = 50,
		.lease_s = lease_s,
		.claim_max = 500,
		.inflight_max = 1000 };
	struct outbox *x = outbox_new(base, &o);

	outbox_set_enabled(x, true);
	return x;
}

/* Phase 1: held across three leases of 1 s, renewed, sent once. */
static void
phase_held(struct event_base *base, const char *conninfo)
{
	insert_rows(FIRST_A, NROWS);
	ob = outbox_start(base, conninfo, 1);
	for (int i = 0; i < 100 && nheld < NROWS; i++)
		run_for(base, 100);
	ITEST_EQ_LONG(nheld, NROWS);
	run_for(base, 3000);
	check_sent_once(FIRST_A, NROWS);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox WHERE state = 'pending'"
	                  " AND next_attempt_at <= now()"),
	    0);
	report_held();
	run_until(
	    base, "SELECT count(*) FROM outbox WHERE state = 'sent'", NROWS);
	check_sent_once(FIRST_A, NROWS);
	outbox_free(ob);
}

/*
 * Phase 2: a lease long enough that no renewal comes in between (30 s:
 * renewed after 10 s held); the rows' leases are made to run out and the
 * trigger row inserted in one transaction, so the next claim takes the
 * trigger and all of them.
 */
static void
phase_settling(struct event_base *base, const char *conninfo)
{
	insert_rows(FIRST_B, NROWS);
	ob = outbox_start(base, conninfo, 30);
	for (int i = 0; i < 100 && nheld < NROWS; i++)
		run_for(base, 100);
	ITEST_EQ_LONG(nheld, NROWS);
	itest_exec(db,
	    "BEGIN;"
	    " UPDATE outbox SET next_attempt_at = now() - interval '1 s'"
	    "  WHERE state = 'pending';"
	    " INSERT INTO outbox (id, channel, sender, recipient, text)"
	    "  VALUES (1, 'sms', '7377', '79000000001', 'Спасибо.');"
	    " COMMIT");
	run_until(base, "SELECT count(*) FROM outbox WHERE state = 'sent'",
	    2 * NROWS + 1);
	run_for(base, 300); /* a claim or a send after the write-back */
	ITEST_EQ_LONG(sends[TRIGGER], 1);
	check_sent_once(FIRST_B, NROWS);
	/* the claim did take them again: the case was exercised */
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox WHERE id >= 2000"
	                  " AND attempts = 2"),
	    NROWS);
	outbox_free(ob);
}

/*
 * Phase 3. The test's own connections hold row locks so that two
 * write-backs stay in flight as long as it wants: F0 (one result) blocks;
 * meanwhile 300 results are queued and the write-back timer fires (F1 is
 * due); F0 is let go and F1 (those 300) blocks; meanwhile the last 45
 * results are queued, a full batch being already queued ahead of them;
 * F1 is let go. Those 45 must be written with no further result.
 */
static void
report_range(int from, int to)
{
	for (int i = from; i < to; i++)
		report_accepted(FIRST_C + i);
}

static void
phase_in_flight(struct event_base *base, const char *conninfo)
{
	PGconn *lock0 = itest_connect(conninfo),
	       *lock1 = itest_connect(conninfo);

	insert_rows(FIRST_C, NROWS_C);
	ob = outbox_start(base, conninfo, 30);
	for (int i = 0; i < 100 && nheld < NROWS_C; i++)
		run_for(base, 100);
	ITEST_EQ_LONG(nheld, NROWS_C);
	itest_exec(
	    lock0, "BEGIN; SELECT 1 FROM outbox WHERE id = 3000 FOR UPDATE");
	itest_exec(
	    lock1, "BEGIN; SELECT 1 FROM outbox WHERE id = 3001 FOR UPDATE");
	report_range(0, 1); /* 3000: F0 */
	run_for(base, 200);
	report_range(1, 301); /* F1, with 3001 */
	run_for(base, 200);
	itest_exec(lock0, "COMMIT");
	run_for(base, 200);
	report_range(301, NROWS_C);
	nheld = 0;
	itest_exec(lock1, "COMMIT");
	run_until(base,
	    "SELECT count(*) FROM outbox WHERE id >= 3000 AND state = 'sent'",
	    NROWS_C);
	check_sent_once(FIRST_C, NROWS_C);
	ITEST_CHECK(outbox_idle(ob));
	outbox_free(ob);
	PQfinish(lock0);
	PQfinish(lock1);
}

/* A minute before this UTC month began: in last month's partition. */
#define LAST_MONTH_END \
	"date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'" \
	" - interval '1 minute'"

/* The outbox partition of the UTC month of the SQL time at, unless the
 * migration made it already (it makes this month's and those ahead). */
static void
month_partition(const char *at)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
	    "DO $$ DECLARE m timestamptz := date_trunc('month', (%s)"
	    "  AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';"
	    " p text := 'outbox_' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM');"
	    " BEGIN IF to_regclass(p) IS NULL THEN EXECUTE format("
	    "  'CREATE TABLE %%I PARTITION OF outbox FOR VALUES FROM (%%L)"
	    "  TO (%%L)', p, m, m + interval '1 month'); END IF; END $$",
	    at);
	itest_exec(db, sql);
}

/*
 * Phase 4: the first half of the rows in last month's partition (created
 * a minute before this UTC month began), the rest in this month's.
 */
static void
phase_two_months(struct event_base *base, const char *conninfo)
{
	char sql[1024];

	month_partition(LAST_MONTH_END);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO outbox (id, channel, sender, recipient, text,"
	    " created_at) SELECT %d + i, 'sms', '7377',"
	    " (79000000000 + i)::text, 'Спасибо.', CASE WHEN i < %d THEN"
	    " " LAST_MONTH_END " ELSE now() END"
	    " FROM generate_series(0, %d) i",
	    FIRST_D, NROWS_D / 2, NROWS_D - 1);
	itest_exec(db, sql);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(DISTINCT tableoid) FROM outbox"
	                  " WHERE id >= 3500"),
	    2);
	ob = outbox_start(base, conninfo, 30);
	for (int i = 0; i < 100 && nheld < NROWS_D; i++)
		run_for(base, 100);
	ITEST_EQ_LONG(nheld, NROWS_D);
	report_held(); /* fewer than a write-back's batch: one round */
	run_until(base,
	    "SELECT count(*) FROM outbox WHERE id >= 3500 AND state = 'sent'",
	    NROWS_D);
	check_sent_once(FIRST_D, NROWS_D);
	outbox_free(ob);
}

/*
 * Phase 5, after phase 4 (rows 3500.. sent with SMSC ids "m3500"...): a
 * reply of 45 days ago whose SMSC id is also "m3650" (reused by the
 * SMSC), and one of 20 days ago (last month's partition in the first
 * third of a month).
 */
static int receipts_done;

static void
receipt_done(const struct intake_result *r, void *arg)
{
	(void)arg;
	if (r->status != INTAKE_APPLIED)
		itest_fail("receipt not applied: status %d", (int)r->status);
	receipts_done++;
}

static void
receipt(const char *mid, const char *stat)
{
	struct smpp_receipt r = { .src = "79000000000",
		.dst = "7377",
		.message_id = mid,
		.stat = stat,
		.err = "" };

	outbox_receipt(ob, &r, receipt_done, NULL);
}

static void
phase_receipts(struct event_base *base, const char *conninfo)
{
	struct outbox_stats st;

	month_partition("now() - interval '45 days'");
	itest_exec(db,
	    "INSERT INTO outbox (id, channel, sender, recipient, text,"
	    " created_at, state, smsc_message_id)"
	    " VALUES (3900, 'sms', '7377', '79000000000', 'Спасибо.',"
	    " now() - interval '45 days', 'sent', 'm3650'),"
	    " (3901, 'sms', '7377', '79000000001', 'Спасибо.',"
	    " now() - interval '20 days', 'sent', 'm3901')");
	ob = outbox_start(base, conninfo, 30);
	receipt("m3650", "DELIVRD");
	receipt("m3901", "UNDELIV"); /* 20 days old */
	receipt("m9999", "DELIVRD"); /* no such reply */
	for (int i = 0; i < 100 && receipts_done < 3; i++)
		run_for(base, 50);
	ITEST_EQ_LONG(receipts_done, 3);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox WHERE id = 3650"
	                  " AND state = 'delivered' AND dlr_state = 'DELIVRD'"),
	    1);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox WHERE id = 3901"
	                  " AND state = 'undeliverable'"),
	    1);
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM outbox WHERE id = 3900"
	                  " AND state = 'sent' AND dlr_state IS NULL"),
	    1);
	outbox_stats(ob, &st);
	ITEST_EQ_LONG((long)st.receipts, 3);
	ITEST_EQ_LONG((long)st.receipts_unknown, 1);
	outbox_free(ob);
}

int
main(void)
{
	const char *conninfo = itest_db_create("itest_outbox_lease");
	struct event_base *base = event_base_new();
	struct migrate_report rep;
	char err[512];

	if (migrate_run(conninfo, &rep, err, sizeof(err)) != 0)
		itest_fail("migrate: %s", err);
	db = itest_connect(conninfo);
	phase_held(base, conninfo);
	phase_settling(base, conninfo);
	phase_in_flight(base, conninfo);
	phase_two_months(base, conninfo);
	phase_receipts(base, conninfo);
	PQfinish(db);
	event_base_free(base);
	printf("test_outbox_lease: ok\n");
	return 0;
}
