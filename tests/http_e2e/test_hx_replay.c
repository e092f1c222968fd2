/*
 * Replayed signed requests against the running service and database
 * (issue 14).
 *
 * Proves: with a rate limit of 3 per minute, a stored message replayed 25
 * times (the store answers each as a duplicate) and 10 copies of one still
 * in flight do not use up the sender's limit: its next two real messages
 * are stored, the one after gets 429; with X-Meterline-Timestamp signed
 * in, a fresh request is stored and a 6-minute-old one is refused 401
 * stale_timestamp with nothing stored; two different Content-Length
 * headers get 400 bad_framing and nothing is stored.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hx.h"

#define FROM "79120000701"
#define COPIES 10

static const char *db;
static int port;

static long
stored(const char *id)
{
	return hx_sql_long(db,
	    "SELECT count(*) FROM message_ids WHERE external_id = '%s'", id);
}

static void
post_status(const char *body, int want, struct hx_resp *r)
{
	hx_post(port, body, r);
	if (r->status != want)
		hx_fail("%s: HTTP %d %s, expected %d", body, r->status, r->body,
		    want);
}

static void *
copy_main(void *arg)
{
	struct hx_resp r = { 0 };

	post_status(arg, 200, &r);
	hx_resp_clear(&r);
	return NULL;
}

static void
replays(void)
{
	char *m1 = hx_msg("rp-1", "viber", FROM, "ПС 102057522 12000");
	char *m2 = hx_msg("rp-2", "viber", FROM, "ПС 102057522 12001");
	char *m3 = hx_msg("rp-3", "viber", FROM, "ПС 102057522 12002");
	char *m4 = hx_msg("rp-4", "viber", FROM, "ПС 102057522 12003");
	struct hx_resp r = { 0 };
	pthread_t t[COPIES];

	post_status(m1, 200, &r);
	hx_resp_clear(&r);
	for (int i = 0; i < 25; i++) {
		post_status(m1, 200, &r);
		hx_resp_clear(&r);
	}
	hx_ok("rp-1 stored, then replayed 25 times: 200 each");
	for (int i = 0; i < COPIES; i++)
		HX_CHECK(pthread_create(&t[i], NULL, copy_main, m2) == 0,
		    "pthread_create");
	for (int i = 0; i < COPIES; i++)
		pthread_join(t[i], NULL);
	hx_ok("rp-2 sent %d times at once: 200 each", COPIES);
	post_status(m3, 200, &r);
	hx_resp_clear(&r);
	post_status(m4, 429, &r);
	hx_resp_clear(&r);
	HX_EQ_INT(stored("rp-1") + stored("rp-2") + stored("rp-3"), 3);
	HX_EQ_INT(stored("rp-4"), 0);
	hx_ok("the sender's next message rp-3 stored, rp-4 rate limited: "
	      "the replays cost no tokens");
	free(m1);
	free(m2);
	free(m3);
	free(m4);
}

/* POST body with X-Meterline-Timestamp: now + offset, signed with it. */
static void
post_signed_time(const char *body, long offset, struct hx_resp *r)
{
	char ts[32], hex[65], *signed_text, *req;
	size_t blen = strlen(body), tl, n;
	int fd = hx_connect(port);

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) + offset);
	tl = strlen(ts);
	signed_text = malloc(tl + 1 + blen + 1);
	memcpy(signed_text, ts, tl);
	signed_text[tl] = '.';
	memcpy(signed_text + tl + 1, body, blen + 1);
	hx_sign(HX_SECRET, signed_text, tl + 1 + blen, hex);
	req = malloc(blen + 512);
	n = (size_t)sprintf(req,
	    "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\n"
	    "X-Meterline-Timestamp: %s\r\n"
	    "X-Meterline-Signature: sha256=%s\r\n"
	    "Content-Length: %zu\r\n\r\n%s",
	    ts, hex, blen, body);
	if (hx_send(fd, req, n) < 0 || hx_recv(fd, r, NULL) < 0)
		hx_fail("POST %s: no response", body);
	close(fd);
	free(req);
	free(signed_text);
}

static void
signed_time(void)
{
	char *fresh = hx_msg("ts-1", "viber", "79120000702", "ПС 102057522");
	char *old = hx_msg("ts-2", "viber", "79120000702", "ПС 102057522");
	struct hx_resp r = { 0 };

	post_signed_time(fresh, -30, &r);
	HX_EQ_INT(r.status, 200);
	hx_resp_clear(&r);
	post_signed_time(old, -360, &r);
	HX_EQ_INT(r.status, 401);
	HX_EQ_STR(hx_jfield(&r, "error"), "stale_timestamp");
	hx_resp_clear(&r);
	HX_EQ_INT(stored("ts-1"), 1);
	HX_EQ_INT(stored("ts-2"), 0);
	hx_ok("signed time 30 s old: stored; 6 minutes old: 401 "
	      "stale_timestamp, not stored");
	free(fresh);
	free(old);
}

static void
conflicting_length(void)
{
	char *body = hx_msg("cl-1", "viber", "79120000703", "ПС 102057522");
	char hex[65], *req;
	size_t blen = strlen(body), n;
	struct hx_resp r = { 0 };
	int fd = hx_connect(port);

	hx_sign(HX_SECRET, body, blen, hex);
	req = malloc(blen + 512);
	n = (size_t)sprintf(req,
	    "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\n"
	    "X-Meterline-Signature: sha256=%s\r\n"
	    "Content-Length: %zu\r\nContent-Length: %zu\r\n\r\n%s",
	    hex, blen, blen + 10, body);
	if (hx_send(fd, req, n) < 0 || hx_recv(fd, &r, NULL) < 0)
		hx_fail("no response to two Content-Lengths");
	HX_EQ_INT(r.status, 400);
	HX_EQ_STR(hx_jfield(&r, "error"), "bad_framing");
	HX_EQ_INT(stored("cl-1"), 0);
	hx_ok("two different Content-Length headers: 400 bad_framing, "
	      "not stored");
	hx_resp_clear(&r);
	close(fd);
	free(req);
	free(body);
}

int
main(void)
{
	struct hx_svc svc;

	hx_init("test_hx_replay",
	    "replays not charged to the rate limit, signed time, "
	    "conflicting Content-Length");
	db = hx_db_create("hx_replay");
	hx_svc_start(&svc, db, "rate_limit = 3\nrate_burst = 3\n");
	port = svc.port;
	replays();
	signed_time();
	conflicting_length();
	hx_svc_stop(&svc);
	return 0;
}
