/*
 * Bound senders through the store and PostgreSQL (issue 17): the
 * bindings loaded with the dialog, ПС and values alone for the one bound
 * contract, which-contract for several, [verify] mode = bound refusing
 * others, ИНФО, ОТВЯЗАТЬ deleting the binding (seen by a later message of
 * the same batch), НЕ НАПОМИНАТЬ / НАПОМИНАТЬ stored once per sender, a
 * Telegram chat bound through the phone it shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "tstore.h"

static PGconn *db;

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
}

/* Verify off: the shortcuts of a bound phone, ИНФО to anyone. */
static void
test_off(struct tstore *t)
{
	struct tres r;

	tstore_say(t, "79000000101", "ПС", tstore_time(0), &r);
	expect(&r, "prompt", "", "Договор 102057522");
	tstore_say(t, "79000000101", "11700", tstore_time(1), &r);
	expect(&r, "accepted", "", "Показания приняты");
	ITEST_EQ_STR(q("SELECT sender || ' ' || value FROM readings"
	               " JOIN submissions AS s ON s.id = submission_id"
	               " WHERE readings.contract = '102057522'"),
	    "79000000101 11700");
	tstore_say(t, "79000000101", "ИНФО", tstore_time(2), &r);
	expect(
	    &r, "info", "", "показания 11700 (20.11). За этот месяц приняты");
	/* a stranger may ask with verify off */
	tstore_say(t, "79000000199", "ИНФО 123859", tstore_time(3), &r);
	expect(&r, "info", "", "день 44800 (20.10), ночь 23010 (20.10)");
	tstore_say(t, "79000000102", "ПС", tstore_time(4), &r);
	expect(&r, "rejected", "which_contract", "***522, ***859");
}

/* Verify bound: strangers refused, bound phones served. */
static void
test_bound(struct tstore *t)
{
	struct tres r;

	t->cfg->verify.mode = CONFIG_VERIFY_BOUND;
	tstore_say(t, "79000000199", "ПС 102057522 11800", tstore_time(10), &r);
	expect(&r, "rejected", "not_bound", "Номер не привязан к договору");
	tstore_say(t, "79000000199", "ИНФО 123859", tstore_time(11), &r);
	expect(&r, "rejected", "not_bound", "абонентском отделе");
	tstore_say(
	    t, "79000000102", "ПС 123859 44900 23100", tstore_time(12), &r);
	expect(&r, "accepted", "", "Показания приняты");
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM submissions WHERE sender ="
	                  " '79000000199'"),
	    0);
	t->cfg->verify.mode = CONFIG_VERIFY_OFF;
}

/* Unbind, then ПС alone in the same batch: the one contract left. */
static void
test_unbind_in_batch(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r1, r2, r3;

	t->cfg->verify.mode = CONFIG_VERIFY_BOUND;
	tstore_submit(t, "sms", "79000000102", "ОТВЯЗАТЬ 123859",
	    tstore_time(20), NULL, &r1);
	tstore_submit(
	    t, "sms", "79000000102", "ПС", tstore_time(21), NULL, &r2);
	tstore_submit(
	    t, "sms", "79000000102", "ИНФО 123859", tstore_time(22), NULL, &r3);
	tstore_wait(one, 1);
	expect(&r1, "setting", "", "Номер отвязан от договора 123859.");
	expect(&r2, "prompt", "", "Договор 102057522");
	expect(&r3, "rejected", "not_bound", "Номер не привязан");
	ITEST_EQ_STR(q("SELECT string_agg(contract, ',' ORDER BY contract)"
	               " FROM bindings WHERE phone = '79000000102'"),
	    "102057522");
	ITEST_EQ_STR(q("SELECT contract FROM messages WHERE text ="
	               " 'ОТВЯЗАТЬ 123859'"),
	    "123859");
	t->cfg->verify.mode = CONFIG_VERIFY_OFF;
}

/* Reminder switches: the last one of a batch is what is stored. */
static void
test_reminders(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r1, r2, r3;

	tstore_say(t, "79000000101", "НЕ НАПОМИНАТЬ", tstore_time(30), &r1);
	expect(&r1, "setting", "", "Напоминания отключены");
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM reminder_optout WHERE sender ="
	                  " '79000000101' AND channel = 'sms'"),
	    1);
	tstore_submit(
	    t, "sms", "79000000101", "НАПОМИНАТЬ", tstore_time(31), NULL, &r1);
	tstore_submit(t, "sms", "79000000101", "НЕ НАПОМИНАТЬ", tstore_time(32),
	    NULL, &r2);
	tstore_submit(
	    t, "sms", "79000000101", "Напоминайте", tstore_time(33), NULL, &r3);
	tstore_wait(one, 1);
	expect(&r3, "setting", "", "Напоминания включены");
	ITEST_EQ_LONG(
	    itest_long(db, "SELECT count(*) FROM reminder_optout"), 0);
	/* an opt-out alone (no binding) is loaded and kept */
	tstore_say(t, "79000000177", "не напоминать", tstore_time(34), &r1);
	tstore_say(t, "79000000177", "не напоминать", tstore_time(35), &r2);
	expect(&r2, "setting", "", "Напоминания отключены");
	ITEST_EQ_LONG(
	    itest_long(db, "SELECT count(*) FROM reminder_optout"), 1);
}

/* A Telegram chat binds through the phone it shared (channel_phones). */
static void
test_messenger(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r;

	t->cfg->verify.mode = CONFIG_VERIFY_BOUND;
	tstore_submit(t, "telegram", "79000000101", "ИНФО 102057522",
	    tstore_time(40), "tg-1", &r);
	tstore_wait(one, 1);
	/* a chat id that looks like a bound phone is no phone */
	expect(&r, "rejected", "not_bound", "Номер не привязан");
	itest_exec(db,
	    "INSERT INTO channel_phones (channel, sender, phone, message_id)"
	    " VALUES ('telegram', '5550001', '+79000000101', 1)");
	tstore_submit(
	    t, "telegram", "5550001", "ИНФО", tstore_time(41), "tg-2", &r);
	tstore_wait(one, 1);
	expect(&r, "info", "", "Договор 102057522: показания 11700");
	t->cfg->verify.mode = CONFIG_VERIFY_OFF;
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_bindings");
	struct event_base *base = event_base_new();
	struct tstore t;

	db = itest_connect(conninfo);
	itest_exec(db,
	    "INSERT INTO bindings (phone, contract) VALUES"
	    " ('79000000101', '102057522'), ('79000000102', '102057522'),"
	    " ('79000000102', '123859')");
	tstore_open(&t, base, conninfo, 64);
	test_off(&t);
	test_bound(&t);
	test_unbind_in_batch(&t);
	test_reminders(&t);
	test_messenger(&t);
	tstore_close(&t);
	PQfinish(db);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
