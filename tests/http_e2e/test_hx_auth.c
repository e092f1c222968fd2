/*
 * Signatures against the running service.
 *
 * Proves: a request signed with the shared secret (lowercase or uppercase
 * hex) is stored; a missing, empty, wrong-key, wrong-body, truncated,
 * over-long, non-hex, other-scheme or scheme-less signature gets 401 with
 * error missing_signature or bad_signature and stores nothing; the
 * signature covers the exact body bytes (a trailing newline, one changed
 * byte or a cut body fails); a bad signature is checked before the JSON,
 * so it reveals nothing about the fields, while the content type is
 * checked before the signature; the keep-alive connection stays usable
 * after a 401; meterline_http_responses_total{code="401"} counts each one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hx.h"

#define M_401 "meterline_http_responses_total{code=\"401\"}"

struct sig_case {
	const char *what;
	char header[200]; /* "" = no header at all */
	bool absent;
	const char *error;
};

static const char *db;

/* POST body with header sig (NULL: none) and ctype on fd; the response. */
static void
post_raw(int fd, const char *ctype, const char *sig, const char *body,
    size_t body_len, struct hx_resp *r)
{
	size_t len;
	char *req = hx_request(
	    "POST", "/v1/messages", ctype, sig, body, body_len, &len);

	if (hx_send(fd, req, len) < 0 || hx_recv(fd, r, NULL) < 0)
		hx_fail("no response to %s", req);
	free(req);
}

static void
expect_error(
    const struct hx_resp *r, int status, const char *error, const char *what)
{
	char ct[128];

	if (r->status != status)
		hx_fail("%s: HTTP %d %s, expected %d %s", what, r->status,
		    r->body, status, error);
	HX_EQ_STR(hx_jfield(r, "error"), error);
	HX_CHECK(strcmp(hx_jfield(r, "detail"), "(absent)") != 0,
	    "%s: no "
	    "detail",
	    what);
	HX_EQ_STR(
	    hx_header(r, "Content-Type", ct, sizeof(ct)), "application/json");
}

static int
fill_cases(struct sig_case *c, const char *body)
{
	char good[65], wrong[65], nl[65], other[65];
	char *b2 = strdup(body), *bn;
	int n = 0;

	hx_sign(HX_SECRET, body, strlen(body), good);
	hx_sign("not-the-secret", body, strlen(body), wrong);
	bn = malloc(strlen(body) + 2);
	sprintf(bn, "%s\n", body);
	hx_sign(HX_SECRET, bn, strlen(bn), nl);
	b2[strlen(b2) - 3] ^= 1; /* one byte of the body changed */
	hx_sign(HX_SECRET, b2, strlen(b2), other);
	c[n++] =
	    (struct sig_case){ "no header", "", true, "missing_signature" };
	c[n++] =
	    (struct sig_case){ "empty header", "", false, "bad_signature" };
	c[n] = (struct sig_case){ "wrong secret", "", false, "bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "sha256=%s", wrong);
	c[n] = (struct sig_case){ "signed another body", "", false,
		"bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "sha256=%s", other);
	c[n] = (struct sig_case){ "signed with a trailing newline (echo)", "",
		false, "bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "sha256=%s", nl);
	c[n] = (struct sig_case){ "truncated to 63 hex", "", false,
		"bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "sha256=%.63s", good);
	c[n] = (struct sig_case){ "truncated to 32 hex", "", false,
		"bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "sha256=%.32s", good);
	c[n++] = (struct sig_case){ "scheme only", "sha256=", false,
		"bad_signature" };
	c[n] = (struct sig_case){ "65 hex digits", "", false, "bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "sha256=%s0", good);
	c[n] = (struct sig_case){ "non-hex digit", "", false, "bad_signature" };
	snprintf(c[n].header, sizeof(c->header), "sha256=%s", good);
	c[n++].header[7 + 10] = 'g';
	c[n] = (struct sig_case){ "sha1= scheme", "", false, "bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "sha1=%s", good);
	c[n] = (struct sig_case){ "no scheme", "", false, "bad_signature" };
	snprintf(c[n++].header, sizeof(c->header), "%s", good);
	free(b2);
	free(bn);
	return n;
}

/* Every bad signature on one keep-alive connection, then a good one. */
static void
bad_signatures(int port)
{
	struct sig_case cases[16];
	char *body =
	    hx_msg("au-bad", "viber", "79120000401", "ПС 102057522 11700");
	int fd = hx_connect(port), n = fill_cases(cases, body);
	double before = hx_metric(port, M_401);
	struct hx_resp r = { 0 };

	for (int i = 0; i < n; i++) {
		post_raw(fd, "application/json",
		    cases[i].absent ? NULL : cases[i].header, body,
		    strlen(body), &r);
		expect_error(&r, 401, cases[i].error, cases[i].what);
		hx_resp_clear(&r);
	}
	HX_EQ_INT(hx_sql_long(db, "SELECT count(*) FROM messages"), 0);
	HX_EQ_INT(hx_metric(port, M_401) - before, n);
	hx_ok("%d bad signatures: 401 missing_signature/bad_signature, nothing "
	      "stored, 401 counted %d times",
	    n, n);
	/* the same connection still works */
	HX_EQ_INT(hx_post_on(fd, body, &r), 0);
	HX_EQ_INT(r.status, 200);
	HX_EQ_STR(hx_jfield(&r, "outcome"), "accepted");
	hx_resp_clear(&r);
	close(fd);
	free(body);
	hx_ok(
	    "after the 401s the keep-alive connection carries a good request: "
	    "200 accepted");
}

static void
good_signatures(int port)
{
	char *body =
	    hx_msg("au-upper", "viber", "79120000402", "ПС 102057522 11701");
	char hex[65], sig[80];
	struct hx_resp r = { 0 };
	int fd = hx_connect(port);

	hx_sign(HX_SECRET, body, strlen(body), hex);
	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	post_raw(fd, "application/json", sig, body, strlen(body), &r);
	HX_EQ_INT(r.status, 200);
	HX_EQ_STR(hx_jfield(&r, "outcome"), "accepted");
	hx_resp_clear(&r);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM messages WHERE"
	              " external_id IN ('au-bad', 'au-upper')"),
	    2);
	hx_ok("uppercase hex is accepted too; both good requests stored");

	/* A body cut short after signing: Content-Length matches the cut. */
	free(body);
	body = hx_msg("au-cut", "viber", "79120000402", "ПС 102057522 11702");
	hx_sign(HX_SECRET, body, strlen(body), hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	post_raw(fd, "application/json", sig, body, strlen(body) - 10, &r);
	expect_error(&r, 401, "bad_signature", "body cut after signing");
	hx_resp_clear(&r);
	close(fd);
	free(body);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM messages WHERE"
	              " external_id = 'au-cut'"),
	    0);
	hx_ok("a body cut after signing: 401 bad_signature, not stored");
}

/* The order of the checks: content type, then signature, then JSON. */
static void
check_order(int port)
{
	static const char junk[] = "{\"id\": not json";
	struct hx_resp r = { 0 };
	int fd = hx_connect(port);

	post_raw(fd, "text/plain", NULL, junk, strlen(junk), &r);
	expect_error(
	    &r, 415, "unsupported_media_type", "unsigned, wrong content type");
	hx_resp_clear(&r);
	post_raw(fd, "application/json", "sha256=00", junk, strlen(junk), &r);
	expect_error(&r, 401, "bad_signature", "bad signature, malformed JSON");
	HX_CHECK(
	    strstr(r.body, "json") == NULL && strstr(r.body, "JSON") == NULL,
	    "the 401 says something about the body: %s", r.body);
	hx_resp_clear(&r);
	close(fd);
	hx_ok("content type is checked before the signature, the signature "
	      "before the JSON (a 401 says nothing about the body)");
}

int
main(void)
{
	struct hx_svc svc;

	hx_init("test_hx_auth", "good, bad, missing and truncated signatures");
	db = hx_db_create("hx_auth");
	hx_svc_start(&svc, db, NULL);
	bad_signatures(svc.port);
	good_signatures(svc.port);
	check_order(svc.port);
	hx_svc_stop(&svc);
	hx_ok("the service stopped cleanly");
	return 0;
}
