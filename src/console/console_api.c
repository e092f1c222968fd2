/*
 * GET /api/v1/readings?since=CURSOR&limit=N for billing systems
 * (docs/console.md, "Billing API").
 *
 * Authorization: Bearer <token> (meterline token add); the token's SHA-256
 * is looked up. The answer is streamed with chunked encoding: one JSON
 * object whose "readings" array is written page by page (PAGE rows per
 * database round) while the client reads, then "next", the cursor to pass
 * as since, and "more". A cursor is "<feed_xid>.<id>" of the last row
 * sent; "0.0" (or none) starts at the beginning.
 *
 * Back-pressure: the next page is fetched only once the connection's
 * output holds less than API_HIGH_WATER bytes (checked on a short timer),
 * so a slow client costs at most that much memory. A client that goes
 * away mid-stream (evhttp detaches the request: no connection) ends the
 * stream at the next page.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "console_int.h"
#include "meterline/dialog.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

#define API_PAGE 5000
#define API_LIMIT_DEFAULT 1000
#define API_LIMIT_MAX 100000
#define API_HIGH_WATER (1024 * 1024)
#define API_CURSOR_MAX 48

/* One stream: from the token check to the last chunk. */
struct api_stream {
	struct creq *r;
	struct event *wait; /* output above the high water mark */
	long remaining;
	long asked; /* rows the page in flight asked for */
	bool inflight; /* a page's round is out */
	long sent;
	bool started, first;
	char xid[24], id[24]; /* the cursor */
	struct api_stream *next; /* in api_streams */
};

/* Streams of every console in this process: ended by console_free. */
static struct api_stream *api_streams;

static int api_fetch(struct api_stream *);

/* "123.45" -> xid, id; "" or NULL -> 0, 0. */
static int
api_cursor_parse(const char *s, char *xid, char *id)
{
	const char *dot;
	size_t a, b;

	strlcpy_s(xid, "0", 24);
	strlcpy_s(id, "0", 24);
	if (s == NULL)
		return 0;
	dot = strchr(s, '.');
	if (dot == NULL || strlen(s) > API_CURSOR_MAX)
		return -1;
	a = (size_t)(dot - s);
	b = strlen(dot + 1);
	if (a == 0 || a > 19 || b == 0 || b > 19 ||
	    strspn(s, "0123456789") != a || strspn(dot + 1, "0123456789") != b)
		return -1;
	memcpy(xid, s, a);
	xid[a] = '\0';
	memcpy(id, dot + 1, b + 1);
	return 0;
}

/* ---- one row ------------------------------------------------------------- */

/*
 * The row is written straight into the output as JSON: a million rows
 * through jansson objects cost twice the time of the query. Numbers come
 * from PostgreSQL's text of integer columns (digits and a sign); strings
 * are escaped (quotes, backslashes, control characters).
 */
void
api_json_str(struct evbuffer *b, const char *s)
{
	const char *run;

	if (s == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (run = s; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		evbuffer_add(b, run, (size_t)(s - run));
		if (c == '"' || c == '\\')
			evbuffer_add_printf(b, "\\%c", c);
		else
			evbuffer_add_printf(b, "\\u%04x", c);
		run = s + 1;
	}
	evbuffer_add(b, run, (size_t)(s - run));
	evbuffer_add(b, "\"", 1);
}

/* An integer column's text as a JSON number (null for SQL NULL). */
static void
api_json_int(struct evbuffer *b, const char *s)
{
	if (s == NULL || s[0] == '\0' ||
	    strspn(s + (s[0] == '-'), "0123456789") !=
	        strlen(s + (s[0] == '-')))
		evbuffer_add(b, "null", 4);
	else
		evbuffer_add(b, s, strlen(s));
}

/* "name": then the value's writer. */
static void
api_key(struct evbuffer *b, const char *key)
{
	evbuffer_add_printf(b, ",\"%s\":", key);
}

/* The DIALOG_F_* names as an array. */
static void
api_json_flags(struct evbuffer *b, const char *s)
{
	unsigned flags = s ? (unsigned)atoi(s) : 0;
	bool first = true;

	evbuffer_add(b, "[", 1);
	for (unsigned i = 0; i < DIALOG__F_COUNT; i++) {
		const char *n = dialog_flag_name(1u << i);

		if ((flags & (1u << i)) && n != NULL) {
			evbuffer_add_printf(b, "%s\"%s\"", first ? "" : ",", n);
			first = false;
		}
	}
	evbuffer_add(b, "]", 1);
}

void
console_reading_json(
    struct evbuffer *b, const struct db_rows *rows, int i, bool with_cursor)
{
	const char *tariff = console_tariff(db_rows_get(rows, i, RC_RESOURCE),
	    db_rows_get(rows, i, RC_REGISTER),
	    atoi(db_rows_get(rows, i, RC_POSITION)));
	char key[24];

	evbuffer_add(b, "{", 1);
	if (with_cursor)
		evbuffer_add_printf(b, "\"cursor\":\"%s.%s\",",
		    db_rows_get(rows, i, RC_XID), db_rows_get(rows, i, RC_ID));
	evbuffer_add(b, "\"id\":", 5);
	api_json_int(b, db_rows_get(rows, i, RC_ID));
	api_key(b, "contract");
	api_json_str(b, db_rows_get(rows, i, RC_CONTRACT));
	api_key(b, "resource");
	api_json_str(b, db_rows_get(rows, i, RC_RESOURCE));
	api_key(b, "position");
	api_json_int(b, db_rows_get(rows, i, RC_POSITION));
	api_key(b, "register");
	api_json_str(b, db_rows_get(rows, i, RC_REGISTER));
	api_key(b, "tariff");
	api_json_str(b, tariff);
	api_key(b, "value");
	api_json_int(b, db_rows_get(rows, i, RC_VALUE));
	api_key(b, "previous");
	api_json_int(b, db_rows_get(rows, i, RC_PREVIOUS));
	api_key(b, "consumption");
	api_json_int(b, db_rows_get(rows, i, RC_CONSUMPTION));
	api_key(b, "status");
	api_json_str(b, db_rows_get(rows, i, RC_STATUS));
	api_key(b, "flags");
	api_json_flags(b, db_rows_get(rows, i, RC_FLAGS));
	api_key(b, "date");
	api_json_str(b, db_rows_get(rows, i, RC_DATE));
	api_key(b, "time");
	api_json_str(b, db_rows_get(rows, i, RC_TIME));
	api_key(b, "channel");
	api_json_str(b, db_rows_get(rows, i, RC_CHANNEL));
	api_key(b, "submission");
	api_json_int(b, db_rows_get(rows, i, RC_SUBMISSION));
	api_key(b, "message");
	api_json_int(b, db_rows_get(rows, i, RC_MESSAGE));
	/* GIS ZhKKh: MeteringValueT1..T3 as decimal strings */
	snprintf(key, sizeof(key), "MeteringValue%s", tariff);
	api_key(b, key);
	api_json_str(b, db_rows_get(rows, i, RC_VALUE));
	evbuffer_add(b, "}", 1);
}

/* ---- the stream ---------------------------------------------------------- */

static void
api_unlink(struct api_stream *s)
{
	for (struct api_stream **p = &api_streams; *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
}

static void
api_stream_free(void *p)
{
	struct api_stream *s = p;

	api_unlink(s);
	if (s->wait != NULL)
		event_free(s->wait);
	free(s);
}

/* The end: "next" and "more", then the last chunk. */
static void
api_end(struct api_stream *s, bool more)
{
	struct evbuffer *b = evbuffer_new();
	struct creq *r = s->r;

	evbuffer_add_printf(b, "%s],\"next\":\"%s.%s\",\"more\":%s}\n",
	    s->first ? "" : "\n", s->xid, s->id, more ? "true" : "false");
	evhttp_send_reply_chunk(r->req, b);
	evbuffer_free(b);
	evhttp_send_reply_end(r->req);
	r->con->stats.api_rows += (uint64_t)s->sent;
	creq_finish(r);
}

/* Cut short (database lost, console freed): the JSON stays unterminated,
 * so a client cannot take a partial answer for a whole one. */
static void
api_abort(struct api_stream *s)
{
	struct creq *r = s->r;

	evhttp_send_reply_end(r->req);
	creq_finish(r);
}

static void
api_page_cb(struct creq *r, const struct db_round_result *res)
{
	struct api_stream *s = r->state;
	const struct db_rows *rows = res->rows ? res->rows[0] : NULL;
	struct evbuffer *b;
	bool done, gone, more;
	int n;

	s->inflight = false;
	if (res->lost || res->failed >= 0) {
		if (!res->lost)
			log_warn("console: api page: SQL %s: %s", res->sqlstate,
			    res->error);
		api_abort(s);
		return;
	}
	n = db_rows_count(rows);
	if (n > 0) {
		strlcpy_s(
		    s->xid, db_rows_get(rows, n - 1, RC_XID), sizeof(s->xid));
		strlcpy_s(
		    s->id, db_rows_get(rows, n - 1, RC_ID), sizeof(s->id));
	}
	s->sent += n;
	s->remaining -= n;
	/* fewer rows than asked: caught up; the limit reached: maybe more */
	more = n == s->asked;
	done = n < s->asked || s->remaining <= 0;
	gone = evhttp_request_get_connection(r->req) == NULL;
	/* the next page's query runs while this one is written */
	if (!done && !gone && api_fetch(s) != 0)
		gone = true;
	b = evbuffer_new();
	for (int i = 0; i < n; i++) {
		evbuffer_add(b, s->first ? "\n" : ",\n", s->first ? 1 : 2);
		console_reading_json(b, rows, i, true);
		s->first = false;
	}
	evhttp_send_reply_chunk(r->req, b);
	evbuffer_free(b);
	if (gone && !s->inflight)
		api_abort(s); /* the client went away */
	else if (done)
		api_end(s, more);
}

/* Bytes the connection has not written yet. */
static size_t
api_backlog(const struct api_stream *s)
{
	struct evhttp_connection *c = evhttp_request_get_connection(s->r->req);

	if (c == NULL)
		return 0;
	return evbuffer_get_length(
	    bufferevent_get_output(evhttp_connection_get_bufferevent(c)));
}

static void
api_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (api_fetch(arg) != 0)
		api_abort(arg);
}

/* The next page, once the client has taken most of the last one. */
static int
api_fetch(struct api_stream *s)
{
	struct creq *r = s->r;
	char lim[24];
	const char *p[3] = { s->xid, s->id, lim };

	if (api_backlog(s) > API_HIGH_WATER) {
		struct timeval tv = { 0, 5000 };

		evtimer_add(s->wait, &tv);
		return 0;
	}
	s->asked = s->remaining < API_PAGE ? s->remaining : API_PAGE;
	snprintf(lim, sizeof(lim), "%ld", s->asked);
	if (r->con->closing || db_send(r->con->db, CS_API_PAGE, p) != 0 ||
	    creq_round_raw(r, api_page_cb) != 0)
		return -1;
	s->inflight = true;
	return 0;
}

static void
api_token_cb(struct creq *r, const struct db_round_result *res)
{
	struct api_stream *s = r->state;

	if (creq_round_failed(r, res))
		return;
	if (db_rows_count(res->rows[0]) != 1) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "WWW-Authenticate", "Bearer");
		creq_error(r, 401, "unknown or revoked token");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Cache-Control", "no-store");
	evhttp_send_reply_start(r->req, 200, "OK");
	s->started = true;
	{
		struct evbuffer *b = evbuffer_new();

		evbuffer_add_printf(b, "{\"readings\":[");
		evhttp_send_reply_chunk(r->req, b);
		evbuffer_free(b);
	}
	if (api_fetch(s) != 0)
		api_abort(s);
}

void
console_api_readings(struct creq *r)
{
	const char *auth = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Authorization");
	const char *lim = creq_param(r, "limit");
	struct api_stream *s;
	char th[65];
	const char *p[1] = { th };

	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 ||
	    strlen(auth + 7) != 64 ||
	    strspn(auth + 7, "0123456789abcdef") != 64) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "WWW-Authenticate", "Bearer");
		creq_error(r, 401, "bearer token required");
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->r = r;
	s->first = true;
	s->remaining = lim ? atol(lim) : API_LIMIT_DEFAULT;
	r->state = s;
	r->free_fn = api_stream_free;
	s->next = api_streams;
	api_streams = s;
	s->wait = evtimer_new(r->con->base, api_wait_cb, s);
	if ((lim &&
	        (strspn(lim, "0123456789") != strlen(lim) ||
	            strlen(lim) > 6)) ||
	    s->remaining < 1 || s->remaining > API_LIMIT_MAX ||
	    api_cursor_parse(creq_param(r, "since"), s->xid, s->id) != 0) {
		creq_error(r, 400, "since must be a cursor, limit 1..100000");
		return;
	}
	console_sha256_hex(auth + 7, 64, th);
	if (db_send(r->con->db, CS_API_TOKEN, p) != 0) {
		creq_error(r, 503, "database unavailable");
		return;
	}
	creq_round(r, api_token_cb);
}

void
console_api_free_all(struct console *con)
{
	struct api_stream **p = &api_streams;

	while (*p != NULL) {
		struct api_stream *s = *p;

		if (s->r->con != con) {
			p = &s->next;
			continue;
		}
		if (s->started)
			api_abort(s); /* unlinks s */
		else
			creq_error(s->r, 503, "stopping");
	}
}
