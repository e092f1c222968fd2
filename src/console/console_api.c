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

#define API_PAGE 10000
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
 * are escaped (quotes, backslashes, control characters). A row is built
 * in memory and added to the output in one call, with no printf: an
 * evbuffer call per value cost more than the value (docs/console.md,
 * "Speed"). The buffer starts on the stack and moves to the heap only
 * for a row longer than it (a long register name, heavy escaping).
 */
struct jrow {
	char *p;
	size_t len, cap;
	bool heap;
};

static void
jr_grow(struct jrow *j, size_t n)
{
	size_t cap = j->cap * 2 > j->len + n ? j->cap * 2 : j->len + n;

	if (j->heap) {
		j->p = xrealloc(j->p, cap);
	} else {
		char *p = xmalloc(cap);

		memcpy(p, j->p, j->len);
		j->p = p;
		j->heap = true;
	}
	j->cap = cap;
}

static inline void
jr_add(struct jrow *j, const char *s, size_t n)
{
	if (j->len + n > j->cap)
		jr_grow(j, n);
	memcpy(j->p + j->len, s, n);
	j->len += n;
}

#define JR_LIT(j, lit) jr_add((j), (lit), sizeof(lit) - 1)

/* s as a JSON string (null for NULL). */
static void
jr_str(struct jrow *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;

	if (s == NULL) {
		JR_LIT(j, "null");
		return;
	}
	JR_LIT(j, "\"");
	for (run = s; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jr_add(j, run, (size_t)(s - run));
		if (c == '"' || c == '\\') {
			e[1] = (char)c;
			jr_add(j, e, 2);
		} else {
			jr_add(j, e, 6);
		}
		run = s + 1;
	}
	jr_add(j, run, (size_t)(s - run));
	JR_LIT(j, "\"");
}

/* An integer column's text as a JSON number (null for SQL NULL). */
static void
jr_int(struct jrow *j, const char *s)
{
	size_t n = s ? strlen(s) : 0, sign = n > 0 && s[0] == '-';

	if (n == sign || strspn(s + sign, "0123456789") != n - sign)
		JR_LIT(j, "null");
	else
		jr_add(j, s, n);
}

/* The DIALOG_F_* names as an array. */
static void
jr_flags(struct jrow *j, const char *s)
{
	unsigned flags = s ? (unsigned)atoi(s) : 0;
	bool first = true;

	JR_LIT(j, "[");
	for (unsigned i = 0; flags != 0 && i < DIALOG__F_COUNT; i++) {
		const char *n = dialog_flag_name(1u << i);

		if ((flags & (1u << i)) && n != NULL) {
			if (!first)
				JR_LIT(j, ",");
			jr_str(j, n);
			first = false;
		}
	}
	JR_LIT(j, "]");
}

void
api_json_str(struct evbuffer *b, const char *s)
{
	char buf[256];
	struct jrow j = { buf, 0, sizeof(buf), false };

	jr_str(&j, s);
	evbuffer_add(b, j.p, j.len);
	if (j.heap)
		free(j.p);
}

void
console_reading_json(
    struct evbuffer *b, const struct db_rows *rows, int i, bool with_cursor)
{
#define V(col) db_rows_get(rows, i, col)
	const char *tariff = console_tariff(
	    V(RC_RESOURCE), V(RC_REGISTER), atoi(V(RC_POSITION)));
	char buf[1024];
	struct jrow j = { buf, 0, sizeof(buf), false };

	JR_LIT(&j, "{");
	if (with_cursor) {
		JR_LIT(&j, "\"cursor\":\"");
		jr_add(&j, V(RC_XID), strlen(V(RC_XID)));
		JR_LIT(&j, ".");
		jr_add(&j, V(RC_ID), strlen(V(RC_ID)));
		JR_LIT(&j, "\",");
	}
	JR_LIT(&j, "\"id\":");
	jr_int(&j, V(RC_ID));
	JR_LIT(&j, ",\"contract\":");
	jr_str(&j, V(RC_CONTRACT));
	JR_LIT(&j, ",\"resource\":");
	jr_str(&j, V(RC_RESOURCE));
	JR_LIT(&j, ",\"position\":");
	jr_int(&j, V(RC_POSITION));
	JR_LIT(&j, ",\"register\":");
	jr_str(&j, V(RC_REGISTER));
	JR_LIT(&j, ",\"tariff\":");
	jr_str(&j, tariff);
	JR_LIT(&j, ",\"value\":");
	jr_int(&j, V(RC_VALUE));
	JR_LIT(&j, ",\"previous\":");
	jr_int(&j, V(RC_PREVIOUS));
	JR_LIT(&j, ",\"consumption\":");
	jr_int(&j, V(RC_CONSUMPTION));
	JR_LIT(&j, ",\"status\":");
	jr_str(&j, V(RC_STATUS));
	JR_LIT(&j, ",\"flags\":");
	jr_flags(&j, V(RC_FLAGS));
	JR_LIT(&j, ",\"date\":");
	jr_str(&j, V(RC_DATE));
	JR_LIT(&j, ",\"time\":");
	jr_str(&j, V(RC_TIME));
	JR_LIT(&j, ",\"channel\":");
	jr_str(&j, V(RC_CHANNEL));
	JR_LIT(&j, ",\"submission\":");
	jr_int(&j, V(RC_SUBMISSION));
	JR_LIT(&j, ",\"message\":");
	jr_int(&j, V(RC_MESSAGE));
	/* GIS ZhKKh: MeteringValueT1..T3 as decimal strings */
	JR_LIT(&j, ",\"MeteringValue");
	jr_add(&j, tariff, strlen(tariff));
	JR_LIT(&j, "\":");
	jr_str(&j, V(RC_VALUE));
	JR_LIT(&j, "}");
#undef V
	evbuffer_add(b, j.p, j.len);
	if (j.heap)
		free(j.p);
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
	if (r->con->closing || db_send(r->con->api_db, CS_API_PAGE, p) != 0 ||
	    creq_round_api(r, api_page_cb) != 0)
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
	if (db_send(r->con->api_db, CS_API_TOKEN, p) != 0 ||
	    creq_round_api(r, api_token_cb) != 0)
		creq_error(r, 503, "database unavailable");
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
