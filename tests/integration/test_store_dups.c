/*
 * Duplicates: an external id seen before (in the log, or earlier in the
 * same batch) and an SMS redelivery (same text from the same sender to the
 * same number within the window, when it would advance a dialog). Neither
 * is applied again; the caller hears the original outcome and reply. An
 * SMS's stable id is recorded; messenger messages are told apart by id.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/msg_id.h"
#include "tstore.h"

static PGconn *db;

static long
n(const char *sql)
{
	return itest_long(db, sql);
}

static void
test_external_id(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres a, b, c, d;

	tstore_submit(t, "viber", "v:alice", "ПС 102057522 11700",
	    tstore_time(0), "msg-1", &a);
	tstore_wait(one, 1);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	ITEST_EQ_STR(a.outcome, "accepted");

	/* Later, and with another text even: the id decides. */
	tstore_submit(t, "viber", "v:alice", "ПС 102057522 11800",
	    tstore_time(1), "msg-1", &b);
	tstore_wait(one, 1);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	ITEST_EQ_STR(b.outcome, "accepted");
	ITEST_EQ_STR(b.reply, a.reply);
	ITEST_EQ_LONG(b.id, a.id);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE contract = '102057522'"),
	    1);
	ITEST_EQ_LONG(
	    n("SELECT last_value FROM registers WHERE contract = '102057522'"),
	    11700);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE outcome = 'duplicate'"
	      " AND reason = 'external_id' AND duplicate_of IS NOT NULL"),
	    1);

	/* The same id on another channel is another message. */
	tstore_submit(
	    t, "whatsapp", "w:alice", "?", tstore_time(2), "msg-1", &c);
	/* Twice in one batch: the second is the duplicate. */
	tstore_submit(
	    t, "viber", "v:bob", "ПС 123859", tstore_time(2), "msg-2", &a);
	tstore_submit(
	    t, "viber", "v:bob", "ПС 123859", tstore_time(2), "msg-2", &d);
	tstore_wait(one, 1);
	ITEST_EQ_LONG(c.status, INTAKE_APPLIED);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	ITEST_EQ_LONG(d.status, INTAKE_DUPLICATE);
	ITEST_EQ_STR(d.outcome, "prompt");
	ITEST_EQ_STR(d.reply, a.reply);
	ITEST_EQ_LONG(d.id, a.id);
	/* Messenger replies travel in the result, not through the outbox. */
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM outbox WHERE channel <> 'sms'"), 0);
}

static void
test_redelivery(struct tstore *t)
{
	struct tres a, b, c, d;

	tstore_say(t, "79000000011", "ПС 123859", tstore_time(10), &a);
	ITEST_EQ_STR(a.outcome, "prompt");
	tstore_say(t, "79000000011", "45300", tstore_time(11), &a);
	ITEST_EQ_STR(a.outcome, "prompt");
	/* The SMSC did not get our answer and delivers "45300" again. */
	tstore_say(t, "79000000011", "45300", tstore_time(12), &b);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	ITEST_EQ_STR(b.outcome, "prompt");
	ITEST_EQ_STR(b.reply, a.reply);
	ITEST_EQ_LONG(b.id, a.id);
	/* The dialog did not take 45300 as the night value. */
	ITEST_EQ_LONG(
	    n("SELECT next FROM dialogs WHERE sender = '79000000011'"), 1);
	tstore_say(t, "79000000011", "23400", tstore_time(13), &c);
	ITEST_EQ_STR(c.outcome, "accepted");
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM readings r JOIN submissions s"
	      " ON s.id = r.submission_id WHERE s.sender = '79000000011'"
	      " AND r.value IN (45300, 23400)"),
	    2);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE sender = '79000000011'"
	      " AND outcome = 'duplicate' AND reason = 'redelivery'"),
	    1);
	/* One reply queued per original, none for the duplicate. */
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM outbox WHERE recipient = '79000000011'"),
	    4 - 1);

	/* Redelivered after the dialog ended: still the original answer,
	   no new reply queued, nothing applied. */
	tstore_say(t, "79000000011", "45300", tstore_time(14), &d);
	ITEST_EQ_LONG(d.status, INTAKE_DUPLICATE);
	ITEST_EQ_STR(d.reply, a.reply);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM dialogs WHERE sender = '79000000011'"), 0);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM outbox WHERE recipient = '79000000011'"),
	    3);

	/* A message that changes nothing is answered afresh each time. */
	tstore_say(t, "79000000011", "?", tstore_time(15), &a);
	tstore_say(t, "79000000011", "?", tstore_time(16), &b);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	ITEST_EQ_LONG(b.status, INTAKE_APPLIED);

	/* Another sender, or another recipient, with the same text is not one. */
	tstore_say(t, "79000000012", "ПС 123859", tstore_time(17), &a);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
}

/* The same text twice in one batch from one sender: the second is one. */
static void
test_redelivery_in_batch(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres a, b;

	tstore_submit(t, "sms", "79000000013", "ПС 102057522 11900",
	    tstore_time(20), NULL, &a);
	tstore_submit(t, "sms", "79000000013", "ПС 102057522 11900",
	    tstore_time(20), NULL, &b);
	tstore_wait(one, 1);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	ITEST_EQ_LONG(b.id, a.id);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE sender = '79000000013'"),
	    1);
}

/*
 * The window is in message time: the same text more than the window after
 * the original is a new message, even when both are logged within seconds
 * of each other (a replay of an old log).
 */
static void
test_window(struct tstore *t)
{
	struct tres a, b, c;

	tstore_say(t, "79000000014", "ПС 555001 900", tstore_time(30), &a);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	tstore_say(t, "79000000014", "ПС 555001 900", tstore_time(41), &b);
	ITEST_EQ_LONG(b.status, INTAKE_APPLIED);
	tstore_say(t, "79000000014", "ПС 555001 900", tstore_time(50), &c);
	ITEST_EQ_LONG(c.status, INTAKE_DUPLICATE);
	ITEST_EQ_LONG(c.id, b.id);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE sender = '79000000014'"),
	    2);
}

/*
 * An SMS has no id; the store records its stable id (and the log keeps
 * the id NULL), so the same message replayed from an export, which carries
 * that id, is a duplicate by id: the reason says the id check caught it,
 * not the redelivery check.
 */
static void
test_stable_id(struct tstore *t)
{
	struct tstore *one[1] = { t };
	char id[MSG_ID_STABLE_LEN + 1], sql[256];
	struct tres a, b;
	int64_t when = tstore_time(60);

	tstore_say(t, "79000000015", "ПС 555001 950", when, &a);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	msg_id_stable(when, "sms", "79000000015", "7377", "ПС 555001 950",
	    strlen("ПС 555001 950"), id);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM message_ids WHERE channel = 'sms'"
	    " AND external_id = '%s' AND message_id = %lld",
	    id, (long long)a.id);
	ITEST_EQ_LONG(n(sql), 1);
	/* The log keeps what the channel gave: no id. */
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM messages WHERE id = %lld"
	    " AND external_id IS NULL",
	    (long long)a.id);
	ITEST_EQ_LONG(n(sql), 1);
	/* Its copy with that id (a replayed export): a duplicate by id (the
	   reason says which check caught it). */
	tstore_submit(t, "sms", "79000000015", "ПС 555001 950", when, id, &b);
	tstore_wait(one, 1);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	ITEST_EQ_LONG(b.id, a.id);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE sender = '79000000015'"
	      " AND outcome = 'duplicate' AND reason = 'external_id'"),
	    1);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE sender = '79000000015'"),
	    1);
}

/*
 * Messenger messages are told apart by the bridge's id only: the same text
 * again under a new id is a new message (a customer starting the same
 * dialog again), not a redelivery.
 */
static void
test_bridge_same_text(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres a, b;

	tstore_submit(t, "viber", "v:carol", "ПС 555001 970", tstore_time(70),
	    "vb-1", &a);
	tstore_wait(one, 1);
	tstore_submit(t, "viber", "v:carol", "ПС 555001 970", tstore_time(71),
	    "vb-2", &b);
	tstore_wait(one, 1);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	ITEST_EQ_LONG(b.status, INTAKE_APPLIED);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE sender = 'v:carol'"), 2);
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_dups");
	struct event_base *base = event_base_new();
	struct tstore t;

	db = itest_connect(conninfo);
	tstore_open(&t, base, conninfo, 256);
	test_external_id(&t);
	test_redelivery(&t);
	test_redelivery_in_batch(&t);
	test_window(&t);
	test_stable_id(&t);
	test_bridge_same_text(&t);
	tstore_close(&t);
	PQfinish(db);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
