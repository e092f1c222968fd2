/*
 * [verify] mode = challenge through the store and PostgreSQL (issue 17):
 * the question asked and its row stored with the dialog holding the
 * reading; a wrong answer counted in the row; the right answer binding
 * the phone (bindings.source = 'challenge'), deleting the row and storing
 * the held reading; three wrong answers in one batch locking the sender
 * out (stored), refused until the lockout ends, then asked afresh; no
 * serial; a Telegram chat without a phone, then with the one it shared.
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
	/* (no_dialog quotes the customer's own number back) */
	if (strstr(r->reply, "4567") != NULL && strcmp(reason, "no_dialog"))
		itest_fail("reply '%s' reveals the serial", r->reply);
}

/* Asked, wrong once, right: bound, the held reading stored. */
static void
test_right_answer(struct tstore *t)
{
	struct tres r;

	tstore_say(
	    t, "79000000301", "ПС 123859 44900 23100", tstore_time(0), &r);
	expect(&r, "prompt", "challenge",
	    "Договор 123859: пришлите 4 последние цифры номера счётчика");
	ITEST_EQ_STR(q("SELECT x.contract || ' ' || attempts || ' ' || held"
	               " || ' ' || (asked_us = d.started_us)"
	               " FROM challenges AS x JOIN dialogs AS d USING (channel,"
	               " sender) WHERE sender = '79000000301'"),
	    "123859 0 reading true");
	ITEST_EQ_STR(q("SELECT pending::text FROM dialogs"
	               " WHERE sender = '79000000301'"),
	    "{44900,23100}");
	tstore_say(t, "79000000301", "1111", tstore_time(1), &r);
	expect(&r, "rejected", "wrong_answer", "Осталось попыток: 2");
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT attempts FROM challenges"
	                  " WHERE sender = '79000000301'"),
	    1);
	tstore_say(t, "79000000301", "4567", tstore_time(2), &r);
	expect(&r, "accepted", "",
	    "Номер привязан к договору 123859. Показания приняты");
	ITEST_EQ_STR(q("SELECT contract || ' ' || source FROM bindings"
	               " WHERE phone = '79000000301'"),
	    "123859 challenge");
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM challenges"
	                  " WHERE sender = '79000000301'"),
	    0);
	ITEST_EQ_STR(q("SELECT string_agg(value::text, ' ' ORDER BY position)"
	               " FROM readings JOIN submissions AS s"
	               " ON s.id = submission_id WHERE s.sender ="
	               " '79000000301'"),
	    "44900 23100");
	ITEST_EQ_STR(q("SELECT contract || ' ' || flags FROM messages"
	               " WHERE text = '4567' AND sender = '79000000301'"),
	    "123859 512"); /* DIALOG_F_VERIFIED */
	/* bound now: the phone's next reading needs no answer */
	tstore_say(
	    t, "79000000301", "ПС 123859 44950 23150", tstore_time(3), &r);
	expect(&r, "accepted", "", "Показания исправлены");
}

/* Question and three wrong answers in one batch: locked out. */
static void
test_lockout(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r[5];

	tstore_submit(t, "sms", "79000000302", "ИНФО 123859", tstore_time(10),
	    NULL, &r[0]);
	tstore_submit(
	    t, "sms", "79000000302", "1111", tstore_time(11), NULL, &r[1]);
	tstore_submit(
	    t, "sms", "79000000302", "2222", tstore_time(12), NULL, &r[2]);
	tstore_submit(
	    t, "sms", "79000000302", "3333", tstore_time(14), NULL, &r[3]);
	tstore_submit(
	    t, "sms", "79000000302", "4567", tstore_time(15), NULL, &r[4]);
	tstore_wait(one, 1);
	expect(&r[0], "prompt", "challenge", "Договор 123859");
	expect(&r[1], "rejected", "wrong_answer", "Осталось попыток: 2");
	expect(&r[2], "rejected", "wrong_answer", "Осталось попыток: 1");
	expect(&r[3], "rejected", "locked_out",
	    "Слишком много неверных ответов. Повторите после 13:14 20.11");
	expect(&r[4], "rejected", "no_dialog", "");
	ITEST_EQ_STR(q("SELECT attempts || ' ' || (locked_until_us - "
	               "extract(epoch FROM timestamptz '2026-11-20 "
	               "09:14:00Z')::bigint * 1000000) || ' ' ||"
	               " coalesce(asked_us::text, '-') FROM challenges"
	               " WHERE sender = '79000000302'"),
	    "3 3600000000 -");
	ITEST_EQ_LONG(itest_long(db,
	                  "SELECT count(*) FROM bindings"
	                  " WHERE phone = '79000000302'"),
	    0);
	tstore_say(
	    t, "79000000302", "ПС 123859 44900 23100", tstore_time(60), &r[0]);
	expect(&r[0], "rejected", "locked_out", "13:14 20.11");
	/* the lockout is over: asked afresh, attempts back to 0 */
	tstore_say(
	    t, "79000000302", "ПС 123859 44900 23100", tstore_time(74), &r[0]);
	expect(&r[0], "prompt", "challenge", "Договор 123859");
	ITEST_EQ_STR(q("SELECT attempts || ' ' || (locked_until_us IS NULL)"
	               " FROM challenges WHERE sender = '79000000302'"),
	    "0 true");
	tstore_say(t, "79000000302", "4567", tstore_time(75), &r[0]);
	expect(&r[0], "accepted", "", "Номер привязан к договору 123859.");
}

/* No serial in billing: the question cannot be asked. */
static void
test_no_serial(struct tstore *t)
{
	struct tres r;

	tstore_say(t, "79000000303", "ПС 102057522 11800", tstore_time(20), &r);
	expect(&r, "rejected", "cannot_verify",
	    "Подтвердить договор 102057522 здесь нельзя");
	ITEST_EQ_LONG(
	    itest_long(db,
	        "SELECT count(*) FROM challenges WHERE sender = '79000000303'"),
	    0);
}

/* A Telegram chat: no phone to bind, then the one it shared. */
static void
test_chat(struct tstore *t)
{
	struct tstore *one[1] = { t };
	struct tres r;

	tstore_submit(t, "telegram", "5550009", "ПС 123859 44900 23100",
	    tstore_time(30), "tg-1", &r);
	tstore_wait(one, 1);
	expect(&r, "rejected", "cannot_verify", "Поделитесь контактом");
	itest_exec(db,
	    "INSERT INTO channel_phones (channel, sender, phone, message_id)"
	    " VALUES ('telegram', '5550009', '+79000000309', 1)");
	tstore_submit(t, "telegram", "5550009", "ПС 123859 44900 23100",
	    tstore_time(31), "tg-2", &r);
	tstore_wait(one, 1);
	expect(&r, "prompt", "challenge", "Договор 123859");
	tstore_submit(
	    t, "telegram", "5550009", "4567", tstore_time(32), "tg-3", &r);
	tstore_wait(one, 1);
	expect(&r, "accepted", "", "Номер привязан к договору 123859.");
	ITEST_EQ_STR(q("SELECT contract || ' ' || source FROM bindings"
	               " WHERE phone = '79000000309'"),
	    "123859 challenge");
}

/* Mode off loads no challenge rows and asks nothing. */
static void
test_off(struct tstore *t)
{
	struct tres r;

	t->cfg->verify.mode = CONFIG_VERIFY_OFF;
	tstore_say(
	    t, "79000000304", "ПС 123859 44900 23100", tstore_time(40), &r);
	expect(&r, "accepted", "", "Показания");
	t->cfg->verify.mode = CONFIG_VERIFY_CHALLENGE;
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_challenge");
	struct event_base *base = event_base_new();
	struct tstore t;

	db = itest_connect(conninfo);
	itest_exec(db,
	    "UPDATE registers SET serial = 'CE6803 №01234567'"
	    " WHERE contract = '123859'");
	tstore_open(&t, base, conninfo, 64);
	t.cfg->verify.mode = CONFIG_VERIFY_CHALLENGE;
	test_right_answer(&t);
	test_lockout(&t);
	test_no_serial(&t);
	test_chat(&t);
	test_off(&t);
	tstore_close(&t);
	PQfinish(db);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
