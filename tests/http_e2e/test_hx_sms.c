/*
 * SMS and the messenger bridge never mix, against the real service (SMPP
 * link and HTTP on one loop) and database, with `meterline-smsc-sim` as the
 * SMSC.
 *
 * Proves: a dialog started by SMS is invisible to the same number on viber
 * (a bare value there is rejected no_dialog); while that SMS dialog waits,
 * the number starts another dialog on viber; both complete, each on its
 * own channel, with a submission per channel in PostgreSQL, and
 * meterline_messages_total counts them under channel "sms" and "bridge"
 * (the label has those two values, not the messenger). The simulator
 * exits after each scenario (unbind) and the service binds again to the
 * next one by itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hx.h"

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

/* How much meterline_messages_total{channel,outcome,reason} moved. */
static long
delta(const char *m0, const char *m1, const char *channel, const char *outcome,
    const char *reason)
{
	char series[160];

	snprintf(series, sizeof(series),
	    "meterline_messages_total{channel="
	    "\"%s\",outcome=\"%s\",reason=\"%s\"}",
	    channel, outcome, reason);
	return (long)(hx_mval(m1, series) - hx_mval(m0, series));
}

/* Play one scenario line set through the SMSC simulator (the service
 * binds to it); return its transcript. */
static const char *
sim_play(int smpp_port, const char *name, const char *lines)
{
	static char out[8192];
	char scen[600], log[600], tr[600], portbuf[16];
	char *argv[] = { (char *)hx_sim_bin(), "--port", portbuf, "--scenario",
		scen, "--timeout", "30", "--reply-timeout", "10", "--log-level",
		"warn", NULL };
	FILE *f;
	size_t n;
	int rc;

	snprintf(portbuf, sizeof(portbuf), "%d", smpp_port);
	snprintf(scen, sizeof(scen), "%s/%s.tsv", hx_workdir(), name);
	snprintf(tr, sizeof(tr), "%s/%s.out", hx_workdir(), name);
	snprintf(log, sizeof(log), "%s", tr);
	f = fopen(scen, "w");
	fputs(lines, f);
	fclose(f);
	unlink(tr);
	rc = hx_wait(hx_spawn(argv, log), 60000);
	f = fopen(tr, "r");
	n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
	if (rc != 0)
		hx_fail("smsc-sim %s exited %d:\n%s", name, rc, out);
	return out;
}

static void
expect_in(const char *what, const char *text, const char *needle)
{
	if (strstr(text, needle) == NULL)
		hx_fail("%s: \"%s\" not in:\n%s", what, needle, text);
}

/*
 * The metrics that tell an operator where replies are: every committed
 * batch in the store's histograms, every SMS reply the simulator accepted
 * in meterline_reply_seconds, and the backlog counted back to 0.
 */
static void
store_and_reply_metrics(
    const struct hx_svc *svc, const char *m0, const char *m1)
{
	double batches = hx_mval(m1, "meterline_store_batch_size_count") -
	    hx_mval(m0, "meterline_store_batch_size_count");
	double msgs = hx_mval(m1, "meterline_store_batch_size_sum") -
	    hx_mval(m0, "meterline_store_batch_size_sum");
	char *m;
	int tries;

	/* 3 SMS and 4 bridge messages, in at least one batch */
	if (batches < 1 || msgs != 7)
		hx_fail("store_batch_size: %g batches of %g messages, expected "
		        "7 messages",
		    batches, msgs);
	HX_EQ_INT((long)(hx_mval(m1, "meterline_store_commit_seconds_count") -
	              hx_mval(m0, "meterline_store_commit_seconds_count")),
	    (long)batches);
	HX_EQ_INT((long)(hx_mval(m1, "meterline_reply_seconds_count") -
	              hx_mval(m0, "meterline_reply_seconds_count")),
	    3);
	if (hx_mval(m1, "meterline_reply_seconds_sum") <= 0)
		hx_fail("meterline_reply_seconds_sum is not positive");
	/* counted every 2 s, while the link is down too */
	for (tries = 0; tries < 50; tries++) {
		m = hx_scrape(svc->port);
		if (strstr(m, "\nmeterline_outbox_backlog ") != NULL &&
		    hx_mval(m, "meterline_outbox_backlog") == 0) {
			free(m);
			break;
		}
		free(m);
		usleep(100000);
	}
	if (tries == 50)
		hx_fail("meterline_outbox_backlog never read 0");
	hx_ok(
	    "store_batch_size and store_commit_seconds count every batch "
	    "(7 messages), reply_seconds the 3 SMS replies, outbox_backlog 0");
}

/* SMS (over the simulator) and viber from the same number: two dialogs. */
static void
sms_and_bridge(const char *conninfo)
{
	const char *s = "79120000303";
	char extra[256], line[256];
	struct hx_svc svc;
	int smpp_port = hx_free_port();
	const char *tr;
	char *m0, *m1;

	snprintf(extra, sizeof(extra),
	    "[smpp]\nhost = 127.0.0.1\nport = %d\n"
	    "system_id = meterline\npassword = e2e\n",
	    smpp_port);
	hx_svc_start_nowait(&svc, conninfo, extra);
	m0 = hx_scrape(svc.port);
	snprintf(line, sizeof(line), "%s\t7377\tПС 176354\n", s);
	tr = sim_play(smpp_port, "sms-1", line);
	expect_in(
	    "SMS ПС 176354", tr, "Договор 176354. Введите показания: кухня");

	/* The number's SMS dialog waits for "кухня"; on viber it has none. */
	say(svc.port, "sb-1", "viber", s, "45", "rejected", "");
	say(svc.port, "sb-2", "viber", s, "ПС 176355", "prompt", "кухня");
	hx_ok(
	    "a dialog started by SMS is invisible to the same number on viber");

	snprintf(line, sizeof(line), "%s\t7377\t45\n%s\t7377\t41\n", s, s);
	tr = sim_play(smpp_port, "sms-2", line);
	expect_in("SMS 45", tr, "Договор 176354. Введите показания: ванная");
	expect_in("SMS 41", tr, "Показания приняты");
	say(svc.port, "sb-3", "viber", s, "20", "prompt", "ванная");
	say(svc.port, "sb-4", "viber", s, "17", "accepted", "приняты");
	hx_ok("the SMS dialog (176354) and the viber dialog (176355) of one "
	      "number complete separately");
	HX_EQ_STR(
	    hx_sql_text(conninfo,
	        "SELECT string_agg(channel || ':' ||"
	        " contract, ' ' ORDER BY id) FROM submissions WHERE sender = '%s'",
	        s),
	    "sms:176354 viber:176355");
	HX_EQ_INT(hx_sql_long(conninfo,
	              "SELECT count(*) FROM messages WHERE"
	              " sender = '%s' AND channel = 'sms'",
	              s),
	    3);
	hx_ok("PostgreSQL: sms submission for 176354, viber submission for "
	      "176355, 3 SMS messages");
	m1 = hx_scrape(svc.port);
	HX_EQ_INT(delta(m0, m1, "sms", "prompt", ""), 2);
	HX_EQ_INT(delta(m0, m1, "sms", "accepted", ""), 1);
	HX_EQ_INT(delta(m0, m1, "bridge", "prompt", ""), 2);
	HX_EQ_INT(delta(m0, m1, "bridge", "accepted", ""), 1);
	HX_EQ_INT(delta(m0, m1, "bridge", "rejected", "no_dialog"), 1);
	hx_ok("meterline_messages_total by channel: sms prompt +2 accepted +1, "
	      "bridge prompt +2 accepted +1 rejected/no_dialog +1");
	store_and_reply_metrics(&svc, m0, m1);
	free(m0);
	free(m1);
	hx_svc_stop(&svc);
}

int
main(void)
{
	hx_init(
	    "test_hx_sms", "SMS and bridge dialogs of one number never mix");
	sms_and_bridge(hx_db_create("hx_sms"));
	hx_ok("the service with SMPP and HTTP stopped cleanly");
	return 0;
}
