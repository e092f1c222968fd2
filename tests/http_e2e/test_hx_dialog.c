/*
 * Dialogs over HTTP against the real service and database.
 *
 * Proves: (1) a full day/night dialog on a two-tariff contract over
 * POST /v1/messages (ПС 123859 -> prompt "день" -> value -> prompt "ночь"
 * -> value -> accepted) leaves one submission with both readings, their
 * previous values and the registers' new last values in PostgreSQL, and no
 * open dialog; (2) dialogs are per (channel, sender): the same sender runs
 * two interleaved dialogs on viber and whatsapp, and a third channel sees
 * neither (test_hx_sms.c does SMS against the bridge); (3)
 * meterline_messages_total and meterline_http_responses_total move by
 * exactly the messages sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hx.h"

#define M_PROMPT \
	"meterline_messages_total{channel=\"bridge\",outcome=\"prompt\",reason=\"\"}"
#define M_ACCEPTED \
	"meterline_messages_total{channel=\"bridge\",outcome=\"accepted\",reason=\"\"}"
#define M_NODIALOG \
	"meterline_messages_total{channel=\"bridge\",outcome=\"rejected\",reason=\"no_dialog\"}"
#define M_200 "meterline_http_responses_total{code=\"200\"}"

static const char *db;

/* Send text as (channel, from) and check the outcome and that the reply
 * contains want_reply. */
static void
say(int port, const char *id, const char *channel, const char *from,
    const char *text, const char *want_outcome, const char *want_reply)
{
	char reply[1024];
	const char *outcome =
	    hx_say(port, id, channel, from, text, reply, sizeof(reply));

	if (strcmp(outcome, want_outcome) != 0 ||
	    strstr(reply, want_reply) == NULL)
		hx_fail("%s %s \"%s\": got %s \"%s\", expected %s \"…%s…\"",
		    channel, from, text, outcome, reply, want_outcome,
		    want_reply);
}

static void
day_night(int port)
{
	char *m0 = hx_scrape(port), *m1;

	say(port, "dn-1", "viber", "79120000101", "ПС 123859", "prompt",
	    "Договор 123859. Введите показания: день");
	HX_EQ_STR(hx_sql_text(db,
	              "SELECT contract || ' ' || next FROM dialogs"
	              " WHERE channel = 'viber' AND sender = '79120000101'"),
	    "123859 0"); /* next: 0-based */
	say(port, "dn-2", "viber", "79120000101", "45055", "prompt",
	    "Введите показания: ночь");
	say(port, "dn-3", "viber", "79120000101", "23186", "accepted",
	    "Показания приняты");
	hx_ok(
	    "ПС 123859 -> prompt день -> 45055 -> prompt ночь -> 23186 -> accepted");

	HX_EQ_STR(
	    hx_sql_text(db,
	        "SELECT string_agg(r.position || '=' ||"
	        " r.value || '/' || r.previous || '/' || r.consumption, ' ' ORDER BY"
	        " r.position) FROM readings r JOIN submissions s ON s.id ="
	        " r.submission_id WHERE s.contract = '123859' AND s.channel = 'viber'"
	        " AND s.sender = '79120000101'"),
	    "1=45055/44800/255 2=23186/23010/176");
	HX_EQ_STR(hx_sql_text(db,
	              "SELECT status FROM submissions WHERE"
	              " contract = '123859'"),
	    "accepted");
	HX_EQ_STR(
	    hx_sql_text(db,
	        "SELECT string_agg(last_value::text, ','"
	        " ORDER BY position) FROM registers WHERE contract = '123859'"),
	    "45055,23186");
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM dialogs WHERE sender ="
	              " '79120000101'"),
	    0);
	HX_EQ_STR(
	    hx_sql_text(db,
	        "SELECT string_agg(external_id || ':' ||"
	        " outcome, ' ' ORDER BY id) FROM messages WHERE channel = 'viber'"
	        " AND sender = '79120000101'"),
	    "dn-1:prompt dn-2:prompt dn-3:accepted");
	hx_ok(
	    "PostgreSQL: one accepted submission, readings 45055 (was 44800) "
	    "and 23186 (was 23010), registers updated, dialog closed, 3 messages");

	m1 = hx_scrape(port);
	HX_EQ_INT(hx_mval(m1, M_PROMPT) - hx_mval(m0, M_PROMPT), 2);
	HX_EQ_INT(hx_mval(m1, M_ACCEPTED) - hx_mval(m0, M_ACCEPTED), 1);
	/* the 3 messages and the first scrape */
	HX_EQ_INT(hx_mval(m1, M_200) - hx_mval(m0, M_200), 3 + 1);
	free(m0);
	free(m1);
	hx_ok("metrics: messages prompt +2, accepted +1; http 200 +3");
}

/* One sender, two channels, two dialogs at once; a third channel sees
 * neither. */
static void
per_channel(int port)
{
	const char *s = "79120000202";
	double nd0 = hx_metric(port, M_NODIALOG);

	say(port, "pc-1", "viber", s, "ПС 123859", "prompt", "день");
	say(port, "pc-2", "whatsapp", s, "ПС 345678", "prompt", "пик");
	say(port, "pc-3", "viber", s, "45100", "prompt", "ночь");
	say(port, "pc-4", "whatsapp", s, "10300", "prompt", "полупик");
	say(port, "pc-5", "telegram", s, "10301", "rejected", "");
	say(port, "pc-6", "whatsapp", s, "8200", "prompt", "ночь");
	/* 123859 was accepted above in this window: a correction */
	say(port, "pc-7", "viber", s, "23200", "accepted", "исправлены");
	say(port, "pc-8", "whatsapp", s, "5500", "accepted", "приняты");
	hx_ok("interleaved dialogs: viber 123859 and whatsapp 345678 from the "
	      "same sender both complete; telegram has no dialog");
	HX_EQ_STR(hx_sql_text(db,
	              "SELECT reason FROM messages WHERE"
	              " external_id = 'pc-5'"),
	    "no_dialog");
	HX_EQ_STR(
	    hx_sql_text(db,
	        "SELECT string_agg(s.channel || ':' ||"
	        " s.contract || ':' || (SELECT string_agg(value::text, ',' ORDER BY"
	        " position) FROM readings r WHERE r.submission_id = s.id), ' ' ORDER"
	        " BY s.id) FROM submissions s WHERE s.sender = '%s'",
	        s),
	    "viber:123859:45100,23200 whatsapp:345678:10300,8200,5500");
	HX_EQ_INT(hx_metric(port, M_NODIALOG) - nd0, 1);
	hx_ok("PostgreSQL: viber submission for 123859, whatsapp submission "
	      "for 345678; rejected no_dialog counted");
}

int
main(void)
{
	struct hx_svc svc;

	hx_init("test_hx_dialog",
	    "day/night dialog over HTTP, dialogs per "
	    "(channel, sender), message metrics");
	db = hx_db_create("hx_dialog");
	hx_svc_start(&svc, db, NULL);
	day_night(svc.port);
	per_channel(svc.port);
	hx_svc_stop(&svc);
	hx_ok("the bridge-only service ([database] + [http]) stopped cleanly");
	return 0;
}
