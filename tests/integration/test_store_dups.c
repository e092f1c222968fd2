/*
 * Duplicates: an external id seen before (in the log, or earlier in the
 * same batch) and an SMS redelivery (same text from the same sender to the
 * same number within the window, after one that advanced a dialog and
 * whose acknowledgement may have been lost: intake_acks). Neither
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

/* Acknowledgement facts as a link gives them: instance 7, connections. */
#define CONN(i, n) ((uint64_t)(i) << 32 | (n))

static void
acks_open(struct intake_acks *a, uint64_t conn)
{
	memset(a, 0, sizeof(*a));
	a->conn = conn;
}

/*
 * The same text again on a connection that is still open is a person
 * writing again: the SMSC got our answer. Two meters with equal readings
 * go through, and the same "ПС <contract>" opens the dialog again.
 */
static void
test_repeat_is_new(struct tstore *t)
{
	struct intake_acks a;
	struct tres r1, r2, r3, r4;

	acks_open(&a, CONN(7, 1));
	t->acks = &a;
	tstore_say(t, "79000000011", "ПС 176355", tstore_time(10), &r1);
	ITEST_EQ_STR(r1.outcome, "prompt");
	tstore_say(t, "79000000011", "25", tstore_time(11), &r2);
	ITEST_EQ_STR(r2.outcome, "prompt");
	tstore_say(t, "79000000011", "25", tstore_time(12), &r3);
	ITEST_EQ_LONG(r3.status, INTAKE_APPLIED);
	ITEST_EQ_STR(r3.outcome, "accepted");
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM readings WHERE contract = '176355'"
	      " AND value = 25"),
	    2);
	/* "ПС 345683" again because the prompt did not arrive: answered. */
	tstore_say(t, "79000000011", "ПС 176355", tstore_time(13), &r1);
	tstore_say(t, "79000000011", "ПС 176355", tstore_time(14), &r4);
	ITEST_EQ_LONG(r4.status, INTAKE_APPLIED);
	ITEST_EQ_STR(r4.outcome, "prompt");
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM outbox WHERE recipient = '79000000011'"),
	    5);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE sender = '79000000011'"
	      " AND outcome = 'duplicate'"),
	    0);
	/* No facts at all (replay, a messenger): never a redelivery either. */
	t->acks = NULL;
	tstore_say(t, "79000000011", "ОТМЕНА", tstore_time(15), &r1);
	tstore_say(t, "79000000011", "ПС 176355", tstore_time(16), &r1);
	tstore_say(t, "79000000011", "ПС 176355", tstore_time(17), &r2);
	ITEST_EQ_LONG(r2.status, INTAKE_APPLIED);
}

/*
 * The connection that carried "45300" dropped right after our answer
 * (its facts: at risk from that message on): the SMSC delivers it again
 * on the next connection. Not applied, answered with the original
 * outcome; the original reply was queued, so nothing is queued again and
 * the duplicate's log row records no reply.
 */
static void
test_redelivery(struct tstore *t)
{
	struct intake_acks a;
	struct intake_conn_closed closed[1];
	struct tres r, b, c, d;

	acks_open(&a, CONN(7, 2));
	t->acks = &a;
	tstore_say(t, "79000000021", "ПС 123859", tstore_time(20), &r);
	ITEST_EQ_STR(r.outcome, "prompt");
	tstore_say(t, "79000000021", "45300", tstore_time(21), &r);
	ITEST_EQ_STR(r.outcome, "prompt");

	closed[0].conn = CONN(7, 2);
	closed[0].at_risk_from_us = tstore_time(21);
	acks_open(&a, CONN(7, 3));
	a.closed = closed;
	a.nclosed = 1;
	tstore_say(t, "79000000021", "45300", tstore_time(22), &b);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	ITEST_EQ_STR(b.outcome, "prompt");
	ITEST_EQ_STR(b.reply, r.reply);
	ITEST_EQ_LONG(b.id, r.id);
	ITEST_EQ_LONG(
	    n("SELECT next FROM dialogs WHERE sender = '79000000021'"), 1);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages WHERE sender = '79000000021'"
	      " AND outcome = 'duplicate' AND reason = 'redelivery'"
	      " AND reply IS NULL AND NOT reply_queued"),
	    1);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM outbox WHERE recipient = '79000000021'"),
	    2);
	tstore_say(t, "79000000021", "23400", tstore_time(23), &c);
	ITEST_EQ_STR(c.outcome, "accepted");

	/* Answered long before the drop (nothing at risk): a new message. */
	closed[0].at_risk_from_us = INT64_MAX;
	tstore_say(t, "79000000021", "ПС 123859", tstore_time(24), &d);
	ITEST_EQ_LONG(d.status, INTAKE_APPLIED);
	ITEST_EQ_STR(d.outcome, "prompt");

	/* A restart: the earlier copy came through another process, whose
	   drop time is unknown: a redelivery within the window. */
	acks_open(&a, CONN(8, 1));
	tstore_say(t, "79000000021", "ПС 123859", tstore_time(25), &b);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	ITEST_EQ_LONG(b.id, d.id);
	ITEST_EQ_LONG(
	    n("SELECT conn FROM messages WHERE id = (SELECT max(id) FROM"
	      " messages WHERE sender = '79000000021')"),
	    (long)CONN(8, 1));

	/* Facts of the connection forgotten (known_from past it): at risk. */
	acks_open(&a, CONN(8, 70));
	tstore_say(t, "79000000021", "ОТМЕНА", tstore_time(26), &r);
	acks_open(&a, CONN(8, 71));
	a.known_from = 71;
	tstore_say(t, "79000000021", "ОТМЕНА", tstore_time(27), &b);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	t->acks = NULL;
}

/*
 * A redelivery whose original queued no reply (replayed without sending):
 * the original reply is queued for it, and its log row records it.
 */
static void
test_redelivery_unsent_reply(struct tstore *t)
{
	struct intake_acks a;
	struct intake_conn_closed closed[1] = { { CONN(7, 4), 0 } };
	struct tres r, b;

	acks_open(&a, CONN(7, 4));
	t->acks = &a;
	t->flags = INTAKE_F_NO_OUTBOX;
	tstore_say(t, "79000000022", "ПС 102057522 11950", tstore_time(30), &r);
	ITEST_EQ_STR(r.outcome, "accepted");
	t->flags = 0;
	acks_open(&a, CONN(7, 5));
	a.closed = closed;
	a.nclosed = 1;
	tstore_say(t, "79000000022", "ПС 102057522 11950", tstore_time(31), &b);
	ITEST_EQ_LONG(b.status, INTAKE_DUPLICATE);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM outbox o JOIN messages m"
	      " ON m.id = o.message_id WHERE o.recipient = '79000000022'"
	      " AND m.outcome = 'duplicate' AND m.reply = o.text"
	      " AND m.reply_queued"),
	    1);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE sender = '79000000022'"),
	    1);
	t->acks = NULL;
}

/*
 * The same text twice in one batch: on an open connection both apply (two
 * meters, equal readings in one go); when the connection closed before
 * the first was answered, the second is its redelivery.
 */
static void
test_redelivery_in_batch(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct intake_acks a1, a2;
	struct intake_conn_closed closed[1] = { { CONN(7, 6), 0 } };
	struct tres a, b, c, d;

	acks_open(&a1, CONN(7, 6));
	t->acks = &a1;
	tstore_say(t, "79000000013", "ПС 176355", tstore_time(40), &a);
	tstore_submit(t, "sms", "79000000013", "30", tstore_time(41), NULL, &a);
	/* (a microsecond apart: the same time would be the same stable id) */
	tstore_submit(
	    t, "sms", "79000000013", "30", tstore_time(41) + 1, NULL, &b);
	tstore_wait(one, 1);
	ITEST_EQ_STR(a.outcome, "prompt");
	ITEST_EQ_LONG(b.status, INTAKE_APPLIED);
	ITEST_EQ_STR(b.outcome, "accepted");

	tstore_submit(t, "sms", "79000000013", "ПС 102057522 12100",
	    tstore_time(42), NULL, &c);
	acks_open(&a2, CONN(7, 7));
	a2.closed = closed;
	a2.nclosed = 1;
	t->acks = &a2;
	tstore_submit(t, "sms", "79000000013", "ПС 102057522 12100",
	    tstore_time(42) + 1, NULL, &d);
	tstore_wait(one, 1);
	ITEST_EQ_LONG(c.status, INTAKE_APPLIED);
	ITEST_EQ_LONG(d.status, INTAKE_DUPLICATE);
	ITEST_EQ_LONG(d.id, c.id);
	ITEST_EQ_LONG(n("SELECT count(*) FROM submissions WHERE sender ="
	                " '79000000013' AND contract = '102057522'"),
	    1);
	t->acks = NULL;
}

/*
 * The window is in message time: the same text more than the window after
 * the original is a new message, even when both are logged within seconds
 * of each other (a replay of an old log).
 */
static void
test_window(struct tstore *t)
{
	struct intake_acks acks = { .conn = CONN(9, 1) };
	struct tres a, b, c;

	/* Each copy through another process: at risk, within the window. */
	tstore_say(t, "79000000014", "ПС 555001 900", tstore_time(30), &a);
	ITEST_EQ_LONG(a.status, INTAKE_APPLIED);
	t->acks = &acks;
	tstore_say(t, "79000000014", "ПС 555001 900", tstore_time(41), &b);
	ITEST_EQ_LONG(b.status, INTAKE_APPLIED);
	acks.conn = CONN(10, 1);
	tstore_say(t, "79000000014", "ПС 555001 900", tstore_time(50), &c);
	t->acks = NULL;
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
	test_repeat_is_new(&t);
	test_redelivery(&t);
	test_redelivery_unsent_reply(&t);
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
