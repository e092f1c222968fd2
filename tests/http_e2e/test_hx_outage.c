/*
 * The database goes away under load and comes back, against the running
 * service. Uses a cluster of its own (fixture hx_pg_outage), stopped and
 * started again with pg_cluster.sh halt/resume.
 *
 * Proves: while 8 clients stream messages, stopping PostgreSQL turns the
 * answers into 503 database_unavailable with Retry-After (never a hang,
 * never a 200 for something not stored); while it is down every message
 * gets that 503, /healthz is 503 {"database":"down"} with Retry-After and
 * meterline_db_up is 0; once PostgreSQL is back the service reconnects by
 * itself (/healthz 200, db_up 1, db_reconnects_total moved) with no
 * restart; every message that got a 503 or no answer, sent again with the
 * same id, is then applied, and sent once more is a duplicate: in the end
 * each id was applied exactly once (one message_ids row, one applied
 * message, one reading), including those whose COMMIT may have raced the
 * shutdown.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hx.h"

#define STREAMS 8
#define PER_STREAM 500
#define MAX_MSGS (STREAMS * PER_STREAM)
#define CONTRACT0 810000

enum { SENT_NONE, SENT_OK, SENT_503, SENT_LOST };

static const char *db;
static int port;
static atomic_bool stop_stream;
static int nsent; /* after the streams: messages sent */
static unsigned char result[MAX_MSGS]; /* by message number */

static char *
msg_body(int i)
{
	char id[32], from[32], text[64];

	snprintf(id, sizeof(id), "ou-%d", i);
	snprintf(from, sizeof(from), "7915%07d", i);
	snprintf(text, sizeof(text), "ПС %d %d", CONTRACT0 + i, 1001);
	return hx_msg(id, "viber", from, text);
}

static void
check_503(const struct hx_resp *r)
{
	char ra[16];

	HX_EQ_STR(hx_jfield(r, "error"), "database_unavailable");
	HX_CHECK(hx_header(r, "Retry-After", ra, sizeof(ra)) != NULL &&
	        atoi(ra) >= 1,
	    "503 without Retry-After");
}

/* One of STREAMS clients sending messages one after the other on a
 * keep-alive connection, each answer noted. */
static void *
stream_main(void *arg)
{
	int first = (int)(intptr_t)arg * PER_STREAM;
	struct hx_resp r = { 0 };
	int fd = hx_connect(port);

	for (int i = first;
	     i < first + PER_STREAM && !atomic_load(&stop_stream); i++) {
		char *body = msg_body(i);

		if (hx_post_on(fd, body, &r) < 0) {
			result[i] = SENT_LOST;
			close(fd);
			fd = hx_connect(port);
		} else if (r.status == 200) {
			result[i] = SENT_OK;
		} else if (r.status == 503) {
			check_503(&r);
			result[i] = SENT_503;
			hx_sleep_ms(100); /* a bridge would wait Retry-After */
		} else {
			hx_fail("ou-%d: HTTP %d %s", i, r.status, r.body);
		}
		hx_resp_clear(&r);
		free(body);
	}
	close(fd);
	return NULL;
}

static void
import_contracts(void)
{
	char csv[600];
	FILE *f;

	snprintf(csv, sizeof(csv), "%s/contracts.csv", hx_workdir());
	f = fopen(csv, "w");
	fprintf(f,
	    "contract,resource,position,register,digits,last_value,"
	    "last_date,status\n");
	for (int i = 0; i < MAX_MSGS; i++)
		fprintf(f,
		    "%d,electricity,1,показания,6,1000,2024-01-01,active\n",
		    CONTRACT0 + i);
	fclose(f);
	hx_import(db, csv);
}

/* While the database is down. */
static void
check_down(void)
{
	struct hx_resp r = { 0 };
	char *body =
	    hx_msg("ou-down", "viber", "79150009999", "ПС 102057522 11600");
	char ra[16];

	hx_post(port, body, &r);
	HX_EQ_INT(r.status, 503);
	check_503(&r);
	hx_resp_clear(&r);
	hx_get(port, "/healthz", &r);
	HX_EQ_INT(r.status, 503);
	HX_CHECK(strstr(r.body, "\"database\":\"down\"") != NULL &&
	        strstr(r.body, "\"status\":\"fail\"") != NULL,
	    "%s", r.body);
	HX_CHECK(hx_header(&r, "Retry-After", ra, sizeof(ra)) != NULL,
	    "/healthz 503 without Retry-After");
	hx_resp_clear(&r);
	HX_EQ_INT(hx_metric(port, "meterline_db_up"), 0);
	hx_ok("database down: POST 503 database_unavailable with Retry-After, "
	      "/healthz 503 {\"database\":\"down\"}, meterline_db_up 0");
	free(body);
}

/* Send each message of stream arg that got no 200 again, same id, on one
 * keep-alive connection: it must be 200 accepted now. */
static void *
retry_main(void *arg)
{
	int first = (int)(intptr_t)arg * PER_STREAM;
	struct hx_resp r = { 0 };
	int fd = hx_connect(port);

	for (int i = first; i < first + PER_STREAM; i++) {
		char *body;

		if (result[i] == SENT_OK || result[i] == SENT_NONE)
			continue;
		body = msg_body(i);
		if (hx_post_on(fd, body, &r) < 0)
			hx_fail("ou-%d retried: no answer", i);
		if (r.status != 200)
			hx_fail(
			    "ou-%d retried: HTTP %d %s", i, r.status, r.body);
		HX_EQ_STR(hx_jfield(&r, "outcome"), "accepted");
		hx_resp_clear(&r);
		free(body);
		result[i] = SENT_OK;
	}
	close(fd);
	return NULL;
}

/* retry_main for every stream at once; how many were sent again. */
static int
retry_all(void)
{
	pthread_t th[STREAMS];
	int n = 0;

	for (int i = 0; i < MAX_MSGS; i++)
		n += result[i] != SENT_OK && result[i] != SENT_NONE;
	for (int i = 0; i < STREAMS; i++)
		pthread_create(&th[i], NULL, retry_main, (void *)(intptr_t)i);
	for (int i = 0; i < STREAMS; i++)
		pthread_join(th[i], NULL);
	return n;
}

int
main(void)
{
	const char *dir = getenv("MLINE_HX_OUTAGE_DIR");
	struct hx_svc svc;
	struct hx_resp r = { 0 };
	pthread_t th[STREAMS];
	int ok = 0, n503 = 0, lost = 0, retried;
	double reconn0;
	char *body;
	long long t0;

	hx_init("test_hx_outage",
	    "database stopped -> 503 and /healthz 503; "
	    "restarted -> the service resumes, retries apply once");
	db = hx_db_create_on(dir, getenv("MLINE_HX_OUTAGE_PORT"), "hx_outage");
	import_contracts();
	hx_svc_start(&svc, db, "rate_limit = 0\n");
	port = svc.port;
	reconn0 = hx_metric(port, "meterline_db_reconnects_total");
	HX_EQ_INT(hx_metric(port, "meterline_db_up"), 1);

	for (int i = 0; i < STREAMS; i++)
		pthread_create(&th[i], NULL, stream_main, (void *)(intptr_t)i);
	hx_sleep_ms(500);
	hx_cluster("halt", dir);
	check_down();
	hx_cluster("resume", dir);
	t0 = hx_now_ms();
	if (!hx_wait_health(port, 200, 60000))
		hx_fail(
		    "/healthz still not 200 60 s after PostgreSQL came back");
	hx_ok("PostgreSQL back: /healthz 200 after %lld ms, no restart",
	    hx_now_ms() - t0);
	hx_sleep_ms(300);
	atomic_store(&stop_stream, true);
	for (int i = 0; i < STREAMS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < MAX_MSGS; i++) {
		nsent += result[i] != SENT_NONE;
		ok += result[i] == SENT_OK;
		n503 += result[i] == SENT_503;
		lost += result[i] == SENT_LOST;
	}
	HX_CHECK(n503 + lost > 0 && ok > 0,
	    "the outage was not seen by the "
	    "stream: %d ok, %d 503, %d lost",
	    ok, n503, lost);
	hx_ok("%d streams, %d messages: %d answered 200, %d answered 503, "
	      "%d without an answer",
	    STREAMS, nsent, ok, n503, lost);
	HX_EQ_INT(hx_metric(port, "meterline_db_up"), 1);
	HX_CHECK(hx_metric(port, "meterline_db_reconnects_total") > reconn0,
	    "meterline_db_reconnects_total did not move");
	HX_CHECK(
	    hx_metric(port, "meterline_http_responses_total{code=\"503\"}") >=
	        n503 + 1,
	    "fewer 503s counted than seen");
	hx_ok("metrics: db_up 1, db_reconnects_total moved, 503s counted");

	retried = retry_all();
	body = hx_msg("ou-down", "viber", "79150009999", "ПС 102057522 11600");
	hx_post(port, body, &r);
	HX_EQ_INT(r.status, 200);
	HX_EQ_STR(hx_jfield(&r, "outcome"), "accepted");
	hx_resp_clear(&r);
	hx_ok("%d messages without a 200 sent again with their ids: all 200 "
	      "accepted; ou-down (503 while down) too",
	    retried);
	for (int i = 0; i < MAX_MSGS; i++) /* everything once more */
		if (result[i] != SENT_NONE)
			result[i] = SENT_503;
	HX_EQ_INT(retry_all(), nsent);
	hx_post(port, body, &r);
	HX_EQ_INT(r.status, 200);
	HX_CHECK(
	    hx_header(&r, "X-Meterline-Duplicate", (char[8]){ 0 }, 8) != NULL,
	    "ou-down again is not a duplicate");
	hx_resp_clear(&r);
	free(body);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM message_ids WHERE"
	              " external_id LIKE 'ou-%%'"),
	    nsent + 1);
	HX_EQ_INT(
	    hx_sql_long(db,
	        "SELECT count(*) FROM (SELECT external_id"
	        " FROM messages WHERE external_id LIKE 'ou-%%' AND outcome <>"
	        " 'duplicate' GROUP BY external_id HAVING count(*) = 1) AS x"),
	    nsent + 1);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM messages WHERE"
	              " external_id LIKE 'ou-%%' AND outcome <> 'duplicate'"),
	    nsent + 1);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM readings WHERE"
	              " contract::integer BETWEEN %d AND %d",
	              CONTRACT0, CONTRACT0 + MAX_MSGS - 1),
	    nsent);
	hx_ok("PostgreSQL: each of the %d ids applied exactly once (one "
	      "message_ids row, one applied message, one reading each)",
	    nsent + 1);
	hx_svc_stop(&svc);
	hx_ok("the service stopped cleanly");
	return 0;
}
