/*
 * Every error code of POST /v1/messages against the running service (503
 * is in test_hx_outage.c).
 *
 * Proves: 404 for other paths, 405 with Allow for other methods (also on
 * /healthz and /metrics), 415 for a missing or wrong Content-Type or
 * charset, 413 with our JSON for a body over max_body (and evhttp's own
 * 413 above the hard limit), 400 malformed_json / missing_field /
 * invalid_field / text_too_long / bad_timestamp for each kind of bad body,
 * and 429 rate_limited with Retry-After once one (channel, sender) is over
 * the rate, while other senders and the same sender on another channel go
 * on; each error has a JSON body {"error","detail"}; nothing of it is
 * stored; the limits are exact (a 16384-byte body and a 4096-byte text
 * pass); the keep-alive connection survives every JSON error; and
 * meterline_http_responses_total counts each code exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hx.h"

#define RATE 3 /* [http] rate_limit and rate_burst of this service */

static const char *db;
static int counts[600]; /* responses we expect per code */

/* Request on fd; check status (and error when not NULL). */
static void
expect(int fd, const char *method, const char *path, const char *ctype,
    bool sign, const char *body, size_t body_len, int status, const char *error,
    const char *what)
{
	char hex[65], sig[80], ct[64];
	struct hx_resp r = { 0 };
	size_t len;
	char *req;

	hx_sign(HX_SECRET, body, body_len, hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	req = hx_request(
	    method, path, ctype, sign ? sig : NULL, body, body_len, &len);
	if (hx_send(fd, req, len) < 0 || hx_recv(fd, &r, NULL) < 0)
		hx_fail("%s: no response", what);
	free(req);
	if (r.status != status)
		hx_fail("%s: HTTP %d %s, expected %d", what, r.status, r.body,
		    status);
	if (error != NULL) {
		HX_EQ_STR(hx_jfield(&r, "error"), error);
		HX_CHECK(strcmp(hx_jfield(&r, "detail"), "(absent)") != 0,
		    "%s: no detail", what);
		HX_EQ_STR(hx_header(&r, "Content-Type", ct, sizeof(ct)),
		    "application/json");
	}
	counts[status]++;
	hx_resp_clear(&r);
}

/* POST a signed JSON body on fd. */
static void
expect_body(
    int fd, const char *body, int status, const char *error, const char *what)
{
	expect(fd, "POST", "/v1/messages", "application/json", true, body,
	    strlen(body), status, error, what);
}

static void
paths_and_methods(int fd)
{
	static const char *const methods[] = { "GET", "PUT", "DELETE", "PATCH",
		"OPTIONS" };
	char *body =
	    hx_msg("er-path", "viber", "79120000501", "ПС 102057522 1");
	struct hx_resp r = { 0 };
	char allow[64];
	size_t len;
	char *req;

	expect(fd, "POST", "/v1/message", "application/json", true, body,
	    strlen(body), 404, "not_found", "POST /v1/message");
	expect(fd, "GET", "/", NULL, false, "", 0, 404, "not_found", "GET /");
	expect(fd, "POST", "/v2/messages", "application/json", true, body,
	    strlen(body), 404, "not_found", "POST /v2/messages");
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		expect(fd, methods[i], "/v1/messages", "application/json", true,
		    body, strlen(body), 405, "method_not_allowed", methods[i]);
	expect(fd, "POST", "/healthz", NULL, false, "", 0, 405,
	    "method_not_allowed", "POST /healthz");
	expect(fd, "DELETE", "/metrics", NULL, false, "", 0, 405,
	    "method_not_allowed", "DELETE /metrics");
	req = hx_request("GET", "/v1/messages", NULL, NULL, "", 0, &len);
	HX_EQ_INT(hx_send(fd, req, len), 0);
	HX_EQ_INT(hx_recv(fd, &r, NULL), 0);
	HX_EQ_STR(hx_header(&r, "Allow", allow, sizeof(allow)), "POST");
	counts[405]++;
	hx_resp_clear(&r);
	free(req);
	req = hx_request("PUT", "/healthz", NULL, NULL, "", 0, &len);
	HX_EQ_INT(hx_send(fd, req, len), 0);
	HX_EQ_INT(hx_recv(fd, &r, NULL), 0);
	HX_EQ_STR(hx_header(&r, "Allow", allow, sizeof(allow)), "GET, HEAD");
	counts[405]++;
	hx_resp_clear(&r);
	free(req);
	free(body);
	hx_ok(
	    "404 not_found for 3 other paths; 405 method_not_allowed with "
	    "Allow: POST (or GET, HEAD) for 5 methods and on /healthz, /metrics");
}

static void
content_types(int fd)
{
	static const char *const bad[] = { NULL, "text/plain",
		"application/xml", "application/jsonx",
		"application/json; charset=latin1", "multipart/form-data", "" };
	static const char *const good[] = { "application/json; charset=utf-8",
		"application/json;charset=UTF-8", "application/json" };
	char id[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body =
		    hx_msg("er-ct", "viber", "79120000502", "ПС 102057522 1");

		expect(fd, "POST", "/v1/messages", bad[i], true, body,
		    strlen(body), 415, "unsupported_media_type",
		    bad[i] ? bad[i] : "no Content-Type");
		free(body);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *body;

		snprintf(id, sizeof(id), "er-ct-ok-%zu", i);
		body = hx_msg(id, "viber", "79120000502", "ПС 102057522 11700");
		expect(fd, "POST", "/v1/messages", good[i], true, body,
		    strlen(body), 200, NULL, good[i]);
		free(body);
	}
	hx_ok("415 unsupported_media_type for 7 wrong or missing types; "
	      "application/json with charset utf-8/UTF-8 passes");
}

/* Text of n bytes made of unit (1 or 2 bytes in UTF-8). */
static char *
text_of(size_t n, const char *unit)
{
	size_t ul = strlen(unit);
	char *t = malloc(n + 1);

	for (size_t i = 0; i + ul <= n; i += ul)
		memcpy(t + i, unit, ul);
	t[n] = '\0';
	return t;
}

/* A message padded with an extra member to exactly len bytes. */
static char *
padded(const char *id, size_t len)
{
	char *m = hx_msg(id, "viber", "79120000503", "ПС 102057522 11701");
	size_t ml = strlen(m), pad = len - ml - strlen(",\"pad\":\"\"");
	char *b = malloc(len + 1);

	memcpy(b, m, ml - 1);
	memcpy(b + ml - 1, ",\"pad\":\"", 8);
	memset(b + ml + 7, 'x', pad);
	memcpy(b + ml + 7 + pad, "\"}", 3);
	free(m);
	HX_EQ_INT(strlen(b), len);
	return b;
}

static void
sizes(int port, int fd)
{
	char *b = padded("er-size-ok", 16384);
	char head[256];
	struct hx_resp r = { 0 };
	int fd2;

	expect_body(fd, b, 200, NULL, "a body of exactly max_body (16384)");
	free(b);
	b = padded("er-size-big", 16385);
	expect_body(fd, b, 413, "body_too_large", "a body of 16385 bytes");
	free(b);
	hx_ok("a 16384-byte body is taken, 16385 bytes get 413 body_too_large");

	/* Over the hard limit (64 KiB) evhttp answers by itself: it reads
	 * and discards the whole body (lingering close), then sends 413 and
	 * closes the connection. */
	fd2 = hx_connect(port);
	snprintf(head, sizeof(head),
	    "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n");
	HX_EQ_INT(hx_send(fd2, head, strlen(head)), 0);
	b = text_of(70000, "{");
	HX_EQ_INT(hx_send(fd2, b, 70000), 0);
	free(b);
	HX_EQ_INT(hx_recv(fd2, &r, NULL), 0);
	HX_EQ_INT(r.status, 413);
	hx_resp_clear(&r);
	HX_EQ_INT(hx_recv(fd2, &r, NULL), -1); /* closed */
	close(fd2);
	hx_ok(
	    "a body of 70000 bytes (over the 64 KiB hard limit): evhttp's own "
	    "413, connection closed");
}

static void
bodies(int fd)
{
	static const struct {
		const char *body, *error, *what;
	} cases[] = {
		{ "{", "malformed_json", "truncated JSON" },
		{ "", "malformed_json", "empty body" },
		{ "[1,2]", "malformed_json", "an array" },
		{ "\"text\"", "malformed_json", "a string" },
		{ "{\"id\":\"x\xff\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "malformed_json", "invalid UTF-8" },
		{ "{\"id\":\"a\",\"id\":\"b\",\"channel\":\"viber\",\"from\":\"1\","
		  "\"to\":\"2\",\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "malformed_json", "duplicate key" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\\u0000\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "malformed_json", "\\u0000 in text" },
		{ "{\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\",\"text\":\"t\","
		  "\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "missing_field", "no id" },
		{ "{\"id\":\"a\",\"from\":\"1\",\"to\":\"2\",\"text\":\"t\","
		  "\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "missing_field", "no channel" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"to\":\"2\",\"text\":\"t\","
		  "\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "missing_field", "no from" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"t\","
		  "\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "missing_field", "no to" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "missing_field", "no text" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\"}",
		    "missing_field", "no timestamp" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":null,\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "missing_field", "text null" },
		{ "{\"id\":7,\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "invalid_field", "id a number" },
		{ "{\"id\":\"\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "invalid_field", "empty id" },
		{ "{\"id\":\"a\",\"channel\":\"sms\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "invalid_field", "channel sms" },
		{ "{\"id\":\"a\",\"channel\":\"replay\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "invalid_field", "channel replay" },
		{ "{\"id\":\"a\",\"channel\":\"Viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "invalid_field", "channel in capitals" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\\u0001\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "invalid_field", "control character in from" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":[1],\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00Z\"}",
		    "invalid_field", "from an array" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-05-18T09:30:00\"}",
		    "bad_timestamp", "no offset" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"yesterday\"}",
		    "bad_timestamp", "not a time" },
		{ "{\"id\":\"a\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
		  "\"text\":\"t\",\"timestamp\":\"2024-13-01T00:00:00Z\"}",
		    "bad_timestamp", "month 13" },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++)
		expect_body(
		    fd, cases[i].body, 400, cases[i].error, cases[i].what);
	hx_ok(
	    "%zu bad bodies: 400 malformed_json, missing_field, invalid_field, "
	    "bad_timestamp, each on the same keep-alive connection",
	    n);
}

static void
text_limits(int fd)
{
	char id[140], *t, *b;

	memset(id, 'i', 129);
	id[129] = '\0';
	b = hx_msg(id, "viber", "79120000504", "t");
	expect_body(fd, b, 400, "invalid_field", "id of 129 bytes");
	free(b);
	t = text_of(4097, "a");
	b = hx_msg("er-long", "viber", "79120000504", t);
	expect_body(fd, b, 400, "text_too_long", "text of 4097 bytes");
	free(b);
	free(t);
	t = text_of(4098, "ж"); /* 2049 characters, 4098 bytes */
	b = hx_msg("er-long2", "viber", "79120000504", t);
	expect_body(
	    fd, b, 400, "text_too_long", "text of 4098 bytes of Cyrillic");
	free(b);
	free(t);
	t = text_of(4096, "a");
	b = hx_msg("er-4096", "viber", "79120000504", t);
	expect_body(fd, b, 200, NULL, "text of 4096 bytes");
	free(b);
	free(t);
	HX_EQ_STR(hx_sql_text(db,
	              "SELECT outcome || ' ' || length(text) FROM"
	              " messages WHERE external_id = 'er-4096'"),
	    "rejected 4096");
	hx_ok(
	    "400 text_too_long over 4096 bytes (counted in bytes, not "
	    "characters), invalid_field for a 129-byte id; 4096 bytes are stored");
}

static void
rate_limit(int fd)
{
	char id[32], ra[16];
	struct hx_resp r = { 0 };
	char *b;

	for (int i = 0; i < RATE; i++) {
		snprintf(id, sizeof(id), "er-rate-%d", i);
		b = hx_msg(id, "viber", "79120000505", "ПС 102057522 11710");
		expect_body(fd, b, 200, NULL, "within the rate");
		free(b);
	}
	b = hx_msg("er-rate-x", "viber", "79120000505", "ПС 102057522 11710");
	HX_EQ_INT(hx_post_on(fd, b, &r), 0);
	free(b);
	if (r.status != 429)
		hx_fail("request %d of one sender: HTTP %d, expected 429",
		    RATE + 1, r.status);
	HX_EQ_STR(hx_jfield(&r, "error"), "rate_limited");
	HX_CHECK(hx_header(&r, "Retry-After", ra, sizeof(ra)) != NULL,
	    "429 "
	    "without Retry-After");
	HX_CHECK(atoi(ra) >= 1 && atoi(ra) <= 60 / RATE,
	    "Retry-After: %s, "
	    "expected 1..%d",
	    ra, 60 / RATE);
	counts[429]++;
	hx_resp_clear(&r);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM messages WHERE"
	              " external_id = 'er-rate-x'"),
	    0);
	hx_ok(
	    "sender over %d/min: 429 rate_limited, Retry-After: %s, not stored",
	    RATE, ra);
	b = hx_msg(
	    "er-rate-wa", "whatsapp", "79120000505", "ПС 102057522 11711");
	expect_body(fd, b, 200, NULL, "the same number on whatsapp");
	free(b);
	b = hx_msg(
	    "er-rate-other", "viber", "79120000506", "ПС 102057522 11712");
	expect_body(fd, b, 200, NULL, "another sender");
	free(b);
	hx_ok(
	    "the same number on whatsapp and another viber sender still pass");
}

static void
check_counters(const char *m0, const char *m1)
{
	static const int codes[] = { 200, 400, 404, 405, 413, 415, 429 };
	char series[80];

	counts[200]++; /* the first scrape, counted after it was sent */
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(series, sizeof(series),
		    "meterline_http_responses_total{code=\"%d\"}", codes[i]);
		if (hx_mval(m1, series) - hx_mval(m0, series) !=
		    counts[codes[i]])
			hx_fail("%s moved by %.0f, expected %d", series,
			    hx_mval(m1, series) - hx_mval(m0, series),
			    counts[codes[i]]);
	}
	HX_EQ_INT(hx_mval(m1,
	              "meterline_http_rate_limited_total{channel=\"viber\"}") -
	        hx_mval(
	            m0, "meterline_http_rate_limited_total{channel=\"viber\"}"),
	    1);
	hx_ok("meterline_http_responses_total: 200 +%d, 400 +%d, 404 +%d, "
	      "405 +%d, 413 +%d (evhttp's own not counted), 415 +%d, 429 +%d; "
	      "rate_limited_total{viber} +1",
	    counts[200], counts[400], counts[404], counts[405], counts[413],
	    counts[415], counts[429]);
}

int
main(void)
{
	struct hx_svc svc;
	char extra[64], *m0, *m1;
	int fd;

	hx_init("test_hx_errors",
	    "every error code with its JSON body, exact "
	    "limits, counters");
	db = hx_db_create("hx_errors");
	snprintf(extra, sizeof(extra), "rate_limit = %d\nrate_burst = %d\n",
	    RATE, RATE);
	hx_svc_start(&svc, db, extra);
	m0 = hx_scrape(svc.port);
	fd = hx_connect(svc.port);
	paths_and_methods(fd);
	content_types(fd);
	sizes(svc.port, fd);
	bodies(fd);
	text_limits(fd);
	rate_limit(fd);
	close(fd);
	HX_EQ_INT(
	    hx_sql_long(db, "SELECT count(*) FROM messages"), counts[200]);
	hx_ok("PostgreSQL holds exactly the %d messages answered 200",
	    counts[200]);
	m1 = hx_scrape(svc.port);
	check_counters(m0, m1);
	free(m0);
	free(m1);
	hx_svc_stop(&svc);
	hx_ok("the service stopped cleanly");
	return 0;
}
