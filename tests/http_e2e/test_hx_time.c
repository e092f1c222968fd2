/*
 * The message's own time against the server's clock ([intake]).
 *
 * Proves: a bridge message dated an hour ahead (beyond max_future_skew)
 * or three days back (beyond max_age) gets 400 time_in_future /
 * time_too_old with a sentence saying by how much, stores nothing and
 * moves no register; one a minute ahead and one a day back are applied;
 * meterline_http_checks_total counts the refusals by event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hx.h"

static const char *db;

/* A signed body dated now + offset_s. */
static char *
msg_at(const char *id, const char *text, long offset_s)
{
	char *b = malloc(512), ts[32];
	time_t t = time(NULL) + offset_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(b, 512,
	    "{\"id\":\"%s\",\"channel\":\"viber\",\"from\":\"79120000701\","
	    "\"to\":\"7377\",\"text\":\"%s\",\"timestamp\":\"%s\"}",
	    id, text, ts);
	return b;
}

static void
refused(int port, const char *id, long offset_s, const char *error,
    const char *detail_part)
{
	char *b = msg_at(id, "ПС 102057522 11900", offset_s);
	struct hx_resp r = { 0 };

	hx_post(port, b, &r);
	HX_EQ_INT(r.status, 400);
	HX_EQ_STR(hx_jfield(&r, "error"), error);
	HX_CHECK(strstr(hx_jfield(&r, "detail"), detail_part) != NULL,
	    "detail '%s' lacks '%s'", hx_jfield(&r, "detail"), detail_part);
	hx_ok(
	    "%+ld s: 400 %s \"%s\"", offset_s, error, hx_jfield(&r, "detail"));
	hx_resp_clear(&r);
	free(b);
}

static void
applied(int port, const char *id, const char *text, long offset_s)
{
	char *b = msg_at(id, text, offset_s);
	struct hx_resp r = { 0 };

	hx_post(port, b, &r);
	HX_EQ_INT(r.status, 200);
	HX_EQ_STR(hx_jfield(&r, "outcome"), "accepted");
	hx_ok("%+ld s: 200 accepted", offset_s);
	hx_resp_clear(&r);
	free(b);
}

int
main(void)
{
	struct hx_svc svc;

	hx_init("test_hx_time",
	    "message times beyond [intake] bounds are refused with 400");
	db = hx_db_create("hx_time");
	hx_svc_start(&svc, db,

	    "[intake]\nmax_future_skew = 5m\nmax_age = 2d\n");
	refused(svc.port, "t-1", 3600, "time_in_future",
	    "1 hour ahead of the server's clock (at most 5 minutes allowed)");
	refused(svc.port, "t-2", -3 * 86400, "time_too_old",
	    "3 days behind the server's clock (at most 2 days allowed)");
	HX_EQ_INT(hx_sql_long(db, "SELECT count(*) FROM messages"), 0);
	HX_EQ_STR(hx_sql_text(db,
	              "SELECT last_value || ' ' || last_date FROM registers"
	              " WHERE contract = '102057522'"),
	    "11500 2026-10-20");
	hx_ok("nothing logged, the register unchanged");
	applied(svc.port, "t-3", "ПС 102057522 11700", -86400);
	applied(svc.port, "t-4", "ПС 102057522 11800", 60);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT last_value FROM registers"
	              " WHERE contract = '102057522'"),
	    11800);
	HX_EQ_INT((long)hx_metric(svc.port,
	              "meterline_http_checks_total{event=\"time_in_future\"}"),
	    1);
	HX_EQ_INT((long)hx_metric(svc.port,
	              "meterline_http_checks_total{event=\"time_too_old\"}"),
	    1);
	hx_ok("meterline_http_checks_total counts each refusal");
	hx_svc_stop(&svc);
	hx_ok("the service stopped cleanly");
	return 0;
}
