/*
 * Duplicate ids against the running service and database.
 *
 * Proves: the same (channel, id) sent again later gets the same 200 body
 * with X-Meterline-Duplicate: 1 and changes nothing (no second reading, a
 * dialog step is not taken twice, a different text under a used id still
 * gets the first answer); the same id on another channel is another
 * message; 20 identical requests sent at the same moment on 20
 * connections, five times over (also staggered, so that some repeats come
 * after the original's COMMIT), all get 200 with byte-identical bodies,
 * and each id is applied exactly once (one message_ids row, one applied
 * message, one reading), the 19 repeats each marked as duplicates.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hx.h"

#define PAR 20
#define ROUNDS 5

static const char *db;

static void
post_expect(int port, const char *body, struct hx_resp *r, bool dup)
{
	char v[8];

	hx_post(port, body, r);
	if (r->status != 200)
		hx_fail("%s: HTTP %d %s", body, r->status, r->body);
	HX_CHECK((hx_header(r, "X-Meterline-Duplicate", v, sizeof(v)) !=
	             NULL) == dup,
	    "%s: X-Meterline-Duplicate %s", body,
	    dup ? "missing" : "on an original");
}

static void
sequential(int port)
{
	char *b1 = hx_msg("dp-1", "viber", "79120000601", "ПС 102057522 11800");
	char *b2 = hx_msg("dp-1", "viber", "79120000601", "ПС 102057522 11900");
	char *b3 =
	    hx_msg("dp-1", "whatsapp", "79120000601", "ПС 102057522 11900");
	struct hx_resp r1 = { 0 }, r2 = { 0 };
	double d0 =
	    hx_metric(port, "meterline_duplicates_total{channel=\"bridge\"}");

	post_expect(port, b1, &r1, false);
	HX_EQ_STR(hx_jfield(&r1, "outcome"), "accepted");
	post_expect(port, b1, &r2, true);
	HX_EQ_STR(r2.body, r1.body);
	hx_resp_clear(&r2);
	post_expect(port, b2, &r2, true);
	HX_EQ_STR(r2.body, r1.body);
	hx_resp_clear(&r2);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM readings WHERE"
	              " contract = '102057522'"),
	    1);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT last_value FROM registers WHERE"
	              " contract = '102057522'"),
	    11800);
	hx_ok("dp-1 again (same body, then another text): the first 200 body, "
	      "X-Meterline-Duplicate: 1, one reading 11800");
	HX_EQ_INT((long)(hx_metric(port,
	                     "meterline_duplicates_total{channel=\"bridge\"}") -
	              d0),
	    2);
	hx_ok("meterline_duplicates_total{channel=\"bridge\"} +2");
	post_expect(port, b3, &r2, false);
	HX_EQ_STR(hx_jfield(&r2, "outcome"), "accepted");
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT last_value FROM registers WHERE"
	              " contract = '102057522'"),
	    11900);
	hx_ok("dp-1 on whatsapp is another message: applied (11900)");
	hx_resp_clear(&r1);
	hx_resp_clear(&r2);
	free(b1);
	free(b2);
	free(b3);
}

/* A repeated dialog step is answered, not taken again. */
static void
dialog_step(int port)
{
	char *b1 = hx_msg("dp-d1", "viber", "79120000602", "ПС 123859");
	char *b2 = hx_msg("dp-d2", "viber", "79120000602", "45060");
	struct hx_resp r1 = { 0 }, r2 = { 0 };

	post_expect(port, b1, &r1, false);
	post_expect(port, b2, &r2, false);
	HX_CHECK(
	    strstr(hx_jfield(&r2, "reply"), "ночь") != NULL, "%s", r2.body);
	hx_resp_clear(&r2);
	post_expect(port, b2, &r2, true); /* the value again */
	HX_CHECK(
	    strstr(hx_jfield(&r2, "reply"), "ночь") != NULL, "%s", r2.body);
	HX_EQ_STR(hx_sql_text(db,
	              "SELECT next FROM dialogs WHERE sender ="
	              " '79120000602'"),
	    "1");
	hx_resp_clear(&r2);
	post_expect(port, b1, &r2, true); /* the start again */
	HX_EQ_STR(r2.body, r1.body);
	HX_EQ_STR(hx_sql_text(db,
	              "SELECT next || ' ' || array_to_string(vals,"
	              " ',') FROM dialogs WHERE sender = '79120000602'"),
	    "1 45060");
	hx_ok(
	    "a repeated dialog step (value, then ПС) returns its first answer "
	    "and leaves the dialog where it was");
	hx_resp_clear(&r1);
	hx_resp_clear(&r2);
	free(b1);
	free(b2);
}

struct racer {
	pthread_t th;
	pthread_barrier_t *go;
	long delay_us; /* after the barrier */
	int fd;
	const char *body;
	struct hx_resp r;
	bool dup, ok;
};

static void *
racer_main(void *arg)
{
	struct racer *x = arg;
	char v[8];

	pthread_barrier_wait(x->go);
	if (x->delay_us > 0)
		nanosleep(&(struct timespec){ 0, x->delay_us * 1000 }, NULL);
	x->ok = hx_post_on(x->fd, x->body, &x->r) == 0;
	x->dup =
	    hx_header(&x->r, "X-Meterline-Duplicate", v, sizeof(v)) != NULL;
	return NULL;
}

/* PAR connections send the same request at once (round 0), or staggered
 * by round * 250 us each, so that later rounds also have repeats arriving
 * after the original's COMMIT, answered by the store. */
static void
race(int port, int round)
{
	struct racer x[PAR];
	pthread_barrier_t go;
	char id[32], from[32];
	char *body;
	int dups = 0;

	snprintf(id, sizeof(id), "dp-race-%d", round);
	snprintf(from, sizeof(from), "7912000070%d", round);
	body = hx_msg(id, "viber", from, "ПС 102057522 12000");
	pthread_barrier_init(&go, NULL, PAR);
	for (int i = 0; i < PAR; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].go = &go;
		x[i].delay_us = 250L * round * i;
		x[i].fd = hx_connect(port);
		x[i].body = body;
		pthread_create(&x[i].th, NULL, racer_main, &x[i]);
	}
	for (int i = 0; i < PAR; i++) {
		pthread_join(x[i].th, NULL);
		close(x[i].fd);
	}
	for (int i = 0; i < PAR; i++) {
		HX_CHECK(x[i].ok && x[i].r.status == 200, "racer %d: %d %s", i,
		    x[i].r.status, x[i].r.body ? x[i].r.body : "");
		HX_EQ_STR(x[i].r.body, x[0].r.body);
		dups += x[i].dup;
	}
	HX_EQ_STR(hx_jfield(&x[0].r, "outcome"), "accepted");
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM message_ids WHERE"
	              " channel = 'viber' AND external_id = '%s'",
	              id),
	    1);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM messages WHERE"
	              " external_id = '%s' AND outcome <> 'duplicate'",
	              id),
	    1);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM submissions WHERE"
	              " sender = '%s'",
	              from),
	    1);
	HX_EQ_INT(dups, PAR - 1);
	printf("# round %d: %ld of %d repeats answered by the store, the rest "
	       "joined the request in flight\n",
	    round,
	    hx_sql_long(db,
	        "SELECT"
	        " count(*) FROM messages WHERE external_id = '%s' AND outcome ="
	        " 'duplicate'",
	        id),
	    PAR - 1);
	for (int i = 0; i < PAR; i++)
		hx_resp_clear(&x[i].r);
	pthread_barrier_destroy(&go);
	free(body);
}

int
main(void)
{
	struct hx_svc svc;

	hx_init("test_hx_dups",
	    "duplicate ids, sequential and concurrent, are "
	    "applied once and answered alike");
	db = hx_db_create("hx_dups");
	hx_svc_start(&svc, db, NULL);
	sequential(svc.port);
	dialog_step(svc.port);
	for (int round = 0; round < ROUNDS; round++)
		race(svc.port, round);
	hx_ok(
	    "%d rounds of %d identical requests (at once, staggered): all 200 with one "
	    "body, applied once, %d marked duplicate",
	    ROUNDS, PAR, PAR - 1);
	hx_svc_stop(&svc);
	hx_ok("the service stopped cleanly");
	return 0;
}
