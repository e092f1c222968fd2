/*
 * The messenger bridge's HTTP server (evhttp) on the service's event loop.
 *
 * POST /v1/messages runs, in order: method, Content-Type, body size,
 * signature over the raw body, JSON fields, per-sender rate; then the
 * message goes to the intake and the reply is deferred until the intake's
 * done callback (after COMMIT). Requests for a (channel, id) already in
 * flight wait for the same result instead of being submitted again.
 *
 * Lifetimes: evhttp owns each evhttp_request. We hold a request from its
 * callback until we reply, and reply exactly once; a client that went away
 * meanwhile leaves a detached request that evhttp_send_reply just frees.
 * A struct http_pending lives from submit until the intake's done callback,
 * even when its requests were answered earlier (reply timeout, server
 * freed), so done never touches freed memory.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "http_gate.h"
#include "http_int.h"
#include "meterline/clock.h"
#include "meterline/hash.h"
#include "meterline/http_intake.h"
#include "meterline/log.h"
#include "meterline/metrics.h"
#include "meterline/xmalloc.h"

#define HTTP_PATH_MESSAGES "/v1/messages"
#define HTTP_PATH_HEALTH "/healthz"
#define HTTP_PATH_HEALTH_SMS "/healthz/sms"
#define HTTP_PATH_METRICS "/metrics"
#define HTTP_SIG_HEADER "X-Meterline-Signature"
#define HTTP_TS_HEADER "X-Meterline-Timestamp"
#define HTTP_HEALTH_MAX 16
#define HTTP_CODES 600
#define HTTP_RKEY_MAX (32 + 1 + 128) /* channel \0 from */

/* Every method evhttp knows reaches us, so the wrong ones get our 405
 * (evhttp itself answers 501 for methods outside this set). */
#define HTTP_ALL_METHODS \
	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | \
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | \
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)

/* One request waiting for a pending message's result. */
struct http_waiter {
	struct evhttp_request *req;
	int64_t t0_us;
	struct http_waiter *next;
	bool joined; /* came while its id was in flight */
	/* rate-limit key, for a refund; 0 when no token was taken */
	size_t rkey_len;
	char rkey[];
};

/* One (channel, id) submitted to the intake, until its done callback. */
struct http_pending {
	struct http_intake *srv; /* NULL once the server is freed */
	uint64_t key; /* http_key(): its entry in the in-flight table */
	struct http_pending *prev, *next; /* all pendings */
	struct http_waiter *waiters;
	struct event timer; /* reply timeout */
	bool in_table, answered, submitting, done_early;
	char *channel, *id; /* one allocation after the struct */
};

struct http_intake {
	struct event_base *base;
	struct config_http cfg;
	struct http_tuning tune;
	struct intake intake;
	struct metrics *metrics;
	http_health_cb health;
	void *health_arg;
	struct evhttp *http, *admin;
	struct evhttp_bound_socket *sock, *admin_sock;
	struct http_gate *gate, *admin_gate;
	size_t max_conns; /* the main listener's cap */
	int port, admin_port;
	struct http_ratelimit *rl;
	struct http_signer *signer;
	int64_t log_us; /* last client-error log line */
	unsigned log_quiet; /* lines suppressed since */
	/* In flight by (channel, id): http_key() -> struct http_pending *. */
	struct htab table;
	uint64_t seed; /* clients choose ids: keep collisions unplanned */
	struct http_pending *pendings; /* every live pending */
	size_t waiting; /* requests held (all waiters) */
	size_t inflight; /* pendings in the table */
	const struct timeval *reply_tv; /* common timeout */
	struct metric *m_responses;
	struct metric_series *m_code[HTTP_CODES];
	struct metric_series *m_seconds, *m_conns, *m_inflight;
	struct metric *m_limited;
	struct metric *m_open, *m_gate; /* {listener}, {listener,event} */
	struct metric *m_events; /* {event}: replays, stale, framing */
	struct http_routes *routes; /* webhooks of channels (http_route.c) */
};

void
http_tuning_defaults(struct http_tuning *t)
{
	memset(t, 0, sizeof(*t));
	t->rate_slots = 65536;
	t->hard_max_body = 64 * 1024;
	t->max_headers = 8 * 1024;
	t->max_text = 4 * 1024;
	t->reply_timeout = 30;
	t->retry_after = 5;
	t->max_inflight = 4096;
	t->fd_reserve = 128;
	t->admin_max_connections = 32;
	t->accept_pause_ms = 250;
	t->accept_log_interval = 10;
}

static const char *
http_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* ---- replies: every response of ours goes through http_send ---- */

static void
http_count(struct http_intake *srv, int code)
{
	char buf[8];

	if (srv->m_responses == NULL || code < 100 || code >= HTTP_CODES)
		return;
	if (srv->m_code[code] == NULL) {
		snprintf(buf, sizeof(buf), "%d", code);
		srv->m_code[code] = metrics_series(srv->m_responses, buf);
	}
	metrics_add(srv->m_code[code], 1);
}

/*
 * Send code with body (len bytes) of content type ctype and, when
 * retry_after > 0, a Retry-After header. t0_us > 0 records the latency.
 * Takes care of the one reply per request: req is gone afterwards.
 */
void
http_send(struct http_intake *srv, struct evhttp_request *req, int code,
    const char *ctype, const char *body, size_t len, int retry_after,
    int64_t t0_us)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char num[16];

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (retry_after > 0) {
		snprintf(num, sizeof(num), "%d", retry_after);
		evhttp_add_header(h, "Retry-After", num);
	}
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, http_phrase(code), NULL);
	if (srv != NULL) {
		http_count(srv, code);
		if (t0_us > 0)
			metrics_observe(srv->m_seconds,
			    (double)(clock_mono_us() - t0_us) / 1e6);
	}
}

/* Send a jansson object (consumed) as the JSON body. */
static void
http_send_json(struct http_intake *srv, struct evhttp_request *req, int code,
    json_t *obj, int retry_after, int64_t t0_us)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	if (s == NULL) { /* out of memory in jansson: still reply */
		static const char oom[] =
		    "{\"error\":\"internal\",\"detail\":null}";

		http_send(srv, req, code, "application/json", oom,
		    sizeof(oom) - 1, retry_after, t0_us);
	} else {
		http_send(srv, req, code, "application/json", s, strlen(s),
		    retry_after, t0_us);
	}
	free(s);
	json_decref(obj);
}

/* {"error":error,"detail":detail} */
void
http_error(struct http_intake *srv, struct evhttp_request *req, int code,
    const char *error, const char *detail, int retry_after, int64_t t0_us)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(error));
	json_object_set_new(
	    o, "detail", detail ? json_string(detail) : json_null());
	http_send_json(srv, req, code, o, retry_after, t0_us);
}

static void
http_not_allowed(struct http_intake *srv, struct evhttp_request *req,
    const char *allow, int64_t t0_us)
{
	char detail[64];

	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Allow", allow);
	snprintf(detail, sizeof(detail), "use %s", allow);
	http_error(srv, req, 405, "method_not_allowed", detail, 0, t0_us);
}

/* ---- every request ---- */

/*
 * Whether two Content-Length headers disagree. evhttp
 * frames the body by the first; a proxy in front may use another, so two
 * different values are a request smuggled past one of them.
 */
static bool
http_length_conflict(const struct evkeyvalq *h)
{
	const char *first = NULL;
	const struct evkeyval *kv;

	TAILQ_FOREACH(kv, h, next)
	{
		if (strcasecmp(kv->key, "Content-Length") != 0)
			continue;
		if (first == NULL)
			first = kv->value;
		else if (strcmp(first, kv->value) != 0)
			return true;
	}
	return false;
}

/*
 * The start of every dispatch callback: the request is complete, so its
 * connection's deadline is off; framing that evhttp lets through is
 * refused with 400 and the connection closed (what follows on it cannot
 * be trusted). Returns false when answered.
 */
bool
http_request_begin(
    struct http_intake *srv, struct evhttp_request *req, int64_t t0)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);

	http_gate_dispatched(srv->gate, req);
	http_gate_dispatched(srv->admin_gate, req);
	/* (Transfer-Encoding with Content-Length, or other than chunked,
	 * evhttp refuses itself with 400.) */
	if (!http_length_conflict(in))
		return true;
	metrics_inc(srv->m_events, "conflicting_length");
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Connection", "close");
	http_error(srv, req, 400, "bad_framing",
	    "conflicting Content-Length headers", 0, t0);
	return false;
}

/* ---- the in-flight table and pendings ---- */

static uint64_t
http_key(const struct http_intake *srv, const char *channel, const char *id)
{
	const char *k[] = { channel, id };

	return hash_strs(srv->seed, k, 2);
}

static struct http_pending *
http_table_find(struct http_intake *srv, const char *channel, const char *id)
{
	uint64_t key = http_key(srv, channel, id);
	size_t pos = HTAB_START;
	uintptr_t *v;

	while ((v = htab_next(&srv->table, key, &pos)) != NULL) {
		struct http_pending *p = (struct http_pending *)*v;

		if (strcmp(p->id, id) == 0 && strcmp(p->channel, channel) == 0)
			return p;
	}
	return NULL;
}

static void
http_table_remove(struct http_intake *srv, struct http_pending *p)
{
	if (!p->in_table)
		return;
	htab_del(&srv->table, p->key, (uintptr_t)p);
	p->in_table = false;
	srv->inflight--;
	metrics_set(srv->m_inflight, (double)srv->inflight);
}

static void http_reply_timeout_cb(evutil_socket_t, short, void *);

static struct http_pending *
http_pending_new(struct http_intake *srv, const char *channel, const char *id)
{
	size_t cl = strlen(channel) + 1, il = strlen(id) + 1;
	struct http_pending *p = xcalloc(1, sizeof(*p) + cl + il);

	p->srv = srv;
	p->channel = (char *)(p + 1);
	p->id = p->channel + cl;
	memcpy(p->channel, channel, cl);
	memcpy(p->id, id, il);
	p->key = http_key(srv, channel, id);
	htab_put(&srv->table, p->key, (uintptr_t)p);
	p->in_table = true;
	srv->inflight++;
	metrics_set(srv->m_inflight, (double)srv->inflight);
	p->next = srv->pendings;
	if (srv->pendings)
		srv->pendings->prev = p;
	srv->pendings = p;
	evtimer_assign(&p->timer, srv->base, http_reply_timeout_cb, p);
	evtimer_add(&p->timer, srv->reply_tv);
	return p;
}

/* Forget a pending: out of the table and the list, timer off, freed. */
static void
http_pending_free(struct http_pending *p)
{
	struct http_intake *srv = p->srv;

	if (srv != NULL) {
		http_table_remove(srv, p);
		if (p->prev)
			p->prev->next = p->next;
		else
			srv->pendings = p->next;
		if (p->next)
			p->next->prev = p->prev;
		evtimer_del(&p->timer);
	}
	while (p->waiters != NULL) { /* only when never answered */
		struct http_waiter *w = p->waiters;

		p->waiters = w->next;
		free(w);
	}
	free(p);
}

static struct http_waiter *
http_waiter_add(struct http_intake *srv, struct http_pending *p,
    struct evhttp_request *req, int64_t t0_us, const char *rkey,
    size_t rkey_len)
{
	struct http_waiter *w = xmalloc(sizeof(*w) + rkey_len);

	w->req = req;
	w->t0_us = t0_us;
	w->joined = false;
	w->rkey_len = rkey_len;
	if (rkey_len > 0) /* a joined waiter took no token: rkey NULL */
		memcpy(w->rkey, rkey, rkey_len);
	w->next = p->waiters;
	p->waiters = w;
	srv->waiting++;
	return w;
}

/* 200 {"id","outcome","reason","reply"}: the same for an original and its
 * duplicates (which also get X-Meterline-Duplicate, whether the store found
 * them or they joined the original in flight). */
static char *
http_result_body(const struct http_pending *p, const struct intake_result *r)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "id", json_string(p->id));
	json_object_set_new(
	    o, "outcome", r->outcome ? json_string(r->outcome) : json_null());
	json_object_set_new(
	    o, "reason", r->reason ? json_string(r->reason) : json_null());
	json_object_set_new(
	    o, "reply", r->reply ? json_string(r->reply) : json_null());
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/*
 * Answer every request waiting on p: 200 with the result, or 503 (r NULL
 * or TEMPFAIL: nothing was stored, so their rate tokens are given back).
 */
static void
http_pending_answer(struct http_pending *p, const struct intake_result *r,
    const char *error, const char *detail)
{
	struct http_intake *srv = p->srv;
	bool ok = r != NULL && r->status != INTAKE_TEMPFAIL;
	char *body = ok ? http_result_body(p, r) : NULL;
	int64_t now = clock_mono_us();

	while (p->waiters != NULL) {
		struct http_waiter *w = p->waiters;

		p->waiters = w->next;
		/* A token pays for storing a message: nothing new stored
		 * (refused, or a replay the store recognised) costs none. */
		if ((!ok || r->status == INTAKE_DUPLICATE) && w->rkey_len > 0) {
			http_ratelimit_refund(
			    srv->rl, w->rkey, w->rkey_len, now);
			if (ok)
				metrics_inc(srv->m_events, "replay_stored");
		}
		if (ok && body != NULL) {
			if (r->status == INTAKE_DUPLICATE || w->joined)
				evhttp_add_header(
				    evhttp_request_get_output_headers(w->req),
				    "X-Meterline-Duplicate", "1");
			http_send(srv, w->req, 200, "application/json", body,
			    strlen(body), 0, w->t0_us);
		} else {
			http_error(srv, w->req, 503, ok ? "internal" : error,
			    detail, srv->tune.retry_after, w->t0_us);
		}
		srv->waiting--;
		free(w);
	}
	free(body);
	p->answered = true;
	http_table_remove(srv, p);
}

/* The intake's verdict, after COMMIT (or TEMPFAIL). */
static void
http_done_cb(const struct intake_result *r, void *arg)
{
	struct http_pending *p = arg;

	if (p->srv != NULL && !p->answered)
		http_pending_answer(p, r, "database_unavailable",
		    "the message was not stored; retry with the same id");
	if (p->submitting) { /* a broken intake called back from submit */
		p->done_early = true;
		return;
	}
	http_pending_free(p);
}

/* The intake is too slow: answer 503, keep p until done comes. */
static void
http_reply_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_pending *p = arg;

	(void)fd;
	(void)what;
	if (p->srv == NULL || p->answered)
		return;
	log_warn("http: no result for %s message after %d s, answering 503",
	    p->channel, p->srv->tune.reply_timeout);
	http_pending_answer(p, NULL, "timeout",
	    "the message may or may not be stored; retry with the same id");
}

/* ---- POST /v1/messages ---- */

/*
 * Whether to log a client error now: at most one line per second, since a
 * flood of bad requests must not flood the log. *quiet gets the number of
 * lines suppressed since the last one.
 */
static bool
http_log_ok(struct http_intake *srv, int64_t now_us, unsigned *quiet)
{
	if (now_us - srv->log_us < 1000000 && srv->log_us != 0) {
		srv->log_quiet++;
		return false;
	}
	*quiet = srv->log_quiet;
	srv->log_quiet = 0;
	srv->log_us = now_us;
	return true;
}

/* The client's address, for the log. */
static const char *
http_peer(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port;

	if (c == NULL)
		return "?";
	evhttp_connection_get_peer(c, &addr, &port);
	return addr ? addr : "?";
}

/* Whether Unix time secs is more than max_skew (> 0) off the clock. */
static bool
http_too_far(int64_t secs, int64_t max_skew)
{
	int64_t d = clock_real_us() / 1000000 - secs;

	return max_skew > 0 && (d > max_skew || -d > max_skew);
}

/*
 * The signed time of a request, after its signature matched: within
 * max_skew of our clock, so a captured request cannot be replayed later
 * (and required when require_timestamp is on). The body's "timestamp" is
 * the customer's time and may be hours old for a message a messenger
 * delivered late, so it is not the one checked. -1 when answered.
 */
static int
http_fresh(struct http_intake *srv, struct evhttp_request *req, int64_t t0)
{
	const char *ts = evhttp_find_header(
	    evhttp_request_get_input_headers(req), HTTP_TS_HEADER);
	const char *error = NULL, *detail = NULL;
	int64_t secs;

	if (ts == NULL) {
		if (!srv->cfg.require_timestamp)
			return 0;
		error = "missing_timestamp";
		detail = "X-Meterline-Timestamp is required";
	} else if (http_parse_unix_time(ts, &secs) < 0) {
		error = "malformed_timestamp";
		detail = "X-Meterline-Timestamp must be Unix seconds";
	} else if (http_too_far(secs, srv->cfg.max_skew)) {
		error = "stale_timestamp";
		detail = "X-Meterline-Timestamp is too far from the server's "
		         "clock";
	}
	if (error == NULL)
		return 0;
	metrics_inc(srv->m_events, error);
	http_error(srv, req, 401, error, detail, 0, t0);
	return -1;
}

/* Method, content type, size, signature and signed time; -1 when already
 * answered. */
static int
http_messages_precheck(struct http_intake *srv, struct evhttp_request *req,
    const char *body, size_t len, int64_t t0)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	enum http_sig sig;
	unsigned quiet;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		http_not_allowed(srv, req, "POST", t0);
		return -1;
	}
	if (!http_content_type_json(evhttp_find_header(in, "Content-Type"))) {
		http_error(srv, req, 415, "unsupported_media_type",
		    "Content-Type must be application/json", 0, t0);
		return -1;
	}
	if (len > srv->cfg.max_body) {
		char detail[64];

		snprintf(detail, sizeof(detail),
		    "the body must be at most %zu "
		    "bytes",
		    srv->cfg.max_body);
		http_error(srv, req, 413, "body_too_large", detail, 0, t0);
		return -1;
	}
	sig = http_signer_check_ts(srv->signer,
	    evhttp_find_header(in, HTTP_SIG_HEADER),
	    evhttp_find_header(in, HTTP_TS_HEADER), body, len);
	if (sig == HTTP_SIG_OK)
		return http_fresh(srv, req, t0);
	if (http_log_ok(srv, t0, &quiet))
		log_info("http: %s signature from %s (%u similar lines "
		         "suppressed)",
		    sig == HTTP_SIG_MISSING         ? "missing"
		        : sig == HTTP_SIG_MALFORMED ? "malformed"
		                                    : "wrong",
		    http_peer(req), quiet);
	http_error(srv, req, 401,
	    sig == HTTP_SIG_MISSING ? "missing_signature" : "bad_signature",
	    sig == HTTP_SIG_MISSING ? "X-Meterline-Signature is required"
	        : sig == HTTP_SIG_MALFORMED
	        ? "expected sha256=<64 hex digits>"
	        : "the signature does not match the body",
	    0, t0);
	return -1;
}

/* channel \0 from: the rate-limit key. Returns its length. */
static size_t
http_rate_key(const struct http_msg *m, char *buf)
{
	size_t cl = strlen(m->channel), fl = strlen(m->from);

	memcpy(buf, m->channel, cl + 1);
	memcpy(buf + cl + 1, m->from, fl);
	return cl + 1 + fl;
}

/*
 * Whether the health callback reports the database down: the intake's
 * refusal then is answered database_unavailable (the intake contract only
 * says "not now"; the health check says why).
 */
static bool
http_db_down(struct http_intake *srv)
{
	struct http_health_item items[HTTP_HEALTH_MAX];
	size_t n;

	if (srv->health == NULL)
		return false;
	n = srv->health(items, HTTP_HEALTH_MAX, srv->health_arg);
	for (size_t i = 0; i < n && i < HTTP_HEALTH_MAX; i++)
		if (items[i].name != NULL &&
		    strcmp(items[i].name, "database") == 0)
			return !items[i].ok;
	return false;
}

/*
 * A request for a (channel, id) already in flight waits for that result
 * and takes no rate-limit token: it stores nothing, and a replayed request
 * must not use up its sender's limit. Returns whether it joined.
 */
static bool
http_messages_join(struct http_intake *srv, struct evhttp_request *req,
    const struct http_msg *m, int64_t t0)
{
	struct http_pending *p = http_table_find(srv, m->channel, m->id);

	if (p == NULL)
		return false;
	if (srv->waiting >= srv->tune.max_inflight)
		http_error(srv, req, 503, "overloaded",
		    "too many messages in flight", srv->tune.retry_after, t0);
	else
		http_waiter_add(srv, p, req, t0, NULL, 0)->joined = true;
	metrics_inc(srv->m_events, "replay_in_flight");
	return true;
}

/* Queue the message with the intake; its rate-limit token is taken. */
static void
http_messages_submit(struct http_intake *srv, struct evhttp_request *req,
    const struct http_msg *m, const char *rkey, size_t rkey_len, int64_t t0)
{
	struct http_pending *p;
	struct inbound_msg msg;
	int rc;

	if (srv->waiting >= srv->tune.max_inflight) {
		http_ratelimit_refund(srv->rl, rkey, rkey_len, clock_mono_us());
		http_error(srv, req, 503, "overloaded",
		    "too many messages in flight", srv->tune.retry_after, t0);
		return;
	}
	p = http_pending_new(srv, m->channel, m->id);
	http_waiter_add(srv, p, req, t0, rkey, rkey_len);
	memset(&msg, 0, sizeof(msg));
	msg.channel = m->channel;
	msg.sender = m->from;
	msg.recipient = m->to;
	msg.text = m->text;
	msg.text_len = m->text_len;
	msg.time_us = m->time_us;
	msg.external_id = m->id;
	p->submitting = true;
	rc = intake_submit(&srv->intake, &msg, http_done_cb, p);
	p->submitting = false;
	if (p->done_early) {
		http_pending_free(p);
	} else if (rc != 0) {
		if (http_db_down(srv))
			http_pending_answer(p, NULL, "database_unavailable",
			    "the database is unavailable; nothing was stored, "
			    "retry with the same id");
		else
			http_pending_answer(p, NULL, "unavailable",
			    "the service cannot take messages now; retry later");
		http_pending_free(p);
	}
}

/* Take a token for m's sender; when none is left answer 429, -1. */
static int
http_messages_rate(struct http_intake *srv, struct evhttp_request *req,
    const struct http_msg *m, const char *rkey, size_t rkey_len, int64_t t0)
{
	int wait = http_ratelimit_take(srv->rl, rkey, rkey_len, t0);
	char masked[48];
	unsigned quiet;

	if (wait <= 0)
		return 0;
	if (http_log_ok(srv, t0, &quiet))
		log_info("http: rate limit for %s sender %s (%u similar "
		         "lines suppressed)",
		    m->channel, log_mask_phone(m->from, masked, sizeof(masked)),
		    quiet);
	metrics_inc(srv->m_limited, m->channel);
	http_error(srv, req, 429, "rate_limited",
	    "too many messages from this sender", wait, t0);
	return -1;
}

static void
http_messages_cb(struct evhttp_request *req, void *arg)
{
	struct http_intake *srv = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	int64_t t0 = clock_mono_us();
	char detail[256], rkey[HTTP_RKEY_MAX];
	const char *error;
	struct http_msg m;
	size_t rkey_len;

	if (!http_request_begin(srv, req, t0) ||
	    http_messages_precheck(srv, req, body, len, t0) < 0)
		return;
	if (http_msg_parse(&m, body, len, srv->tune.max_text, &error, detail,
	        sizeof(detail)) < 0) {
		http_error(srv, req, 400, error, detail, 0, t0);
		return;
	}
	if (!http_messages_join(srv, req, &m, t0)) {
		rkey_len = http_rate_key(&m, rkey);
		if (http_messages_rate(srv, req, &m, rkey, rkey_len, t0) == 0)
			http_messages_submit(srv, req, &m, rkey, rkey_len, t0);
	}
	http_msg_clear(&m);
}

/* ---- /healthz, /metrics, everything else ---- */

static bool
http_is_get(struct evhttp_request *req)
{
	enum evhttp_cmd_type c = evhttp_request_get_command(req);

	return c == EVHTTP_REQ_GET || c == EVHTTP_REQ_HEAD;
}

/* Whether item counts for the readiness of channel (NULL: the listener). */
static bool
http_health_counts(const struct http_health_item *item, const char *channel)
{
	return item->channel == NULL ||
	    (channel != NULL && strcmp(item->channel, channel) == 0);
}

static void
http_healthz(
    struct evhttp_request *req, struct http_intake *srv, const char *channel)
{
	struct http_health_item items[HTTP_HEALTH_MAX];
	json_t *o, *checks;
	size_t n = 0;
	bool ok = true;

	if (!http_request_begin(srv, req, 0))
		return;
	if (!http_is_get(req)) {
		http_not_allowed(srv, req, "GET, HEAD", 0);
		return;
	}
	if (srv->health != NULL)
		n = srv->health(items, HTTP_HEALTH_MAX, srv->health_arg);
	if (n > HTTP_HEALTH_MAX)
		n = HTTP_HEALTH_MAX;
	checks = json_object();
	for (size_t i = 0; i < n; i++) {
		if (http_health_counts(&items[i], channel))
			ok = ok && items[i].ok;
		if (items[i].name != NULL)
			json_object_set_new(checks, items[i].name,
			    json_string(items[i].state ? items[i].state : ""));
	}
	o = json_object();
	json_object_set_new(o, "status", json_string(ok ? "ok" : "fail"));
	json_object_set_new(o, "checks", checks);
	json_object_set_new(
	    o, "inflight", json_integer((json_int_t)srv->inflight));
	http_send_json(
	    srv, req, ok ? 200 : 503, o, ok ? 0 : srv->tune.retry_after, 0);
}

static void
http_healthz_cb(struct evhttp_request *req, void *arg)
{
	http_healthz(req, arg, NULL);
}

static void
http_healthz_sms_cb(struct evhttp_request *req, void *arg)
{
	http_healthz(req, arg, "sms");
}

static void
http_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct http_intake *srv = arg;
	size_t len;
	char *text;

	if (!http_request_begin(srv, req, 0))
		return;
	if (!http_is_get(req)) {
		http_not_allowed(srv, req, "GET, HEAD", 0);
		return;
	}
	text = metrics_render(srv->metrics, &len);
	http_send(srv, req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    text, len, 0, 0);
	free(text);
}

static void
http_notfound_cb(struct evhttp_request *req, void *arg)
{
	if (http_request_begin(arg, req, 0))
		http_error(arg, req, 404, "not_found", "no such path", 0, 0);
}

/* ---- setup ---- */

/* "host:port" or "[v6]:port" into host and port. */
static int
http_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(addr, ':');
	size_t n;
	char *end;
	long p;

	if (colon == NULL || colon == addr)
		return -1;
	n = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (n < 3 || addr[n - 1] != ']')
			return -1;
		addr++;
		n -= 2;
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, addr, n);
	host[n] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int
http_socket_port(struct evhttp_bound_socket *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(
	        evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A configured evhttp bound to addr; NULL with err. */
static struct evhttp *
http_listen(struct http_intake *srv, const char *addr,
    struct evhttp_bound_socket **sock, int *port, char *err, size_t errlen)
{
	const struct http_tuning *c = &srv->tune;
	char host[CONFIG_HOST_MAX + 1];
	struct evhttp *h;
	int p;

	if (http_split_addr(addr, host, sizeof(host), &p) < 0) {
		snprintf(err, errlen,
		    "listen address \"%s\": expected host:port "
		    "or [v6]:port",
		    addr);
		return NULL;
	}
	if ((h = evhttp_new(srv->base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return NULL;
	}
	/* per read, so also how long a keep-alive connection may idle */
	evhttp_set_timeout(h, (int)srv->cfg.idle_timeout);
	evhttp_set_max_headers_size(h, (ev_ssize_t)c->max_headers);
	evhttp_set_max_body_size(h, (ev_ssize_t)c->hard_max_body);
	evhttp_set_allowed_methods(h, HTTP_ALL_METHODS);
	evhttp_set_flags(h, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(h, http_notfound_cb, srv);
	if ((*sock = evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)p)) ==
	    NULL) {
		snprintf(err, errlen, "cannot listen on %s", addr);
		evhttp_free(h);
		return NULL;
	}
	*port = http_socket_port(*sock);
	return h;
}

/*
 * The tuning, and the secret: the config keys were checked when the config
 * was loaded, but an empty HMAC key would accept anyone's signature, so it
 * is refused here too, whoever built the struct.
 */
static int
http_tuning_check(const struct config_http *cfg, const struct http_tuning *c,
    char *err, size_t errlen)
{
	const char *why = NULL;

	if (cfg->secret[0] == '\0')
		why = "the shared secret is empty";
	else if (c->max_text == 0 || c->max_headers < 256)
		why = "max_text must be > 0 and max_headers >= 256";
	else if (c->reply_timeout <= 0 || c->retry_after <= 0 ||
	    c->max_inflight == 0 || c->admin_max_connections == 0 ||
	    c->accept_pause_ms <= 0 || c->accept_log_interval <= 0)
		why = "reply_timeout, retry_after, max_inflight, "
		      "admin_max_connections and the accept back-off must be "
		      "> 0";
	else if (cfg->request_timeout <= 0 || cfg->idle_timeout <= 0)
		why = "request_timeout and idle_timeout must be > 0";
	if (why == NULL)
		return 0;
	snprintf(err, errlen, "http: %s", why);
	return -1;
}

static void
http_register_metrics(struct http_intake *srv)
{
	struct metrics_std std;

	if (srv->metrics == NULL)
		return;
	if (metrics_register_std(srv->metrics, &std) < 0)
		log_warn("http: some metric families could not be registered");
	srv->m_responses = std.http_responses;
	srv->m_seconds = metrics_series(std.http_seconds);
	srv->m_conns = metrics_series(std.http_connections);
	srv->m_inflight = metrics_series(std.http_inflight);
	srv->m_limited = std.http_ratelimited;
	srv->m_open =
	    metrics_gauge(srv->metrics, "meterline_http_open_connections",
	        "HTTP connections open now", "listener", 0);
	srv->m_gate = metrics_counter(srv->metrics,
	    "meterline_http_connection_events_total",
	    "HTTP connections closed at the request deadline or to make "
	    "room at the cap, cap reached, accept() errors",
	    "listener,event", 0);
	srv->m_events =
	    metrics_counter(srv->metrics, "meterline_http_checks_total",
	        "HTTP requests caught by a replay, freshness or framing check",
	        "event", 0);
}

/* A series of a family that may be missing (no registry). */
static struct metric_series *
http_series(struct metric *m, const char *a, const char *b)
{
	if (m == NULL)
		return NULL;
	return b ? metrics_series(m, a, b) : metrics_series(m, a);
}

/* The gate of one listener: its cap, deadline, back-off and metrics. */
static struct http_gate *
http_gate_for(struct http_intake *srv, struct evhttp *h,
    struct evhttp_bound_socket *sock, const char *name, size_t max_conns)
{
	struct http_gate_cfg g = {
		.name = name,
		.max_conns = max_conns,
		.request_timeout = (int)srv->cfg.request_timeout,
		.accept_pause_ms = srv->tune.accept_pause_ms,
		.log_interval = srv->tune.accept_log_interval,
		.m_open = http_series(srv->m_open, name, NULL),
		.m_accepted = strcmp(name, "main") == 0 ? srv->m_conns : NULL,
		.m_deadline = http_series(srv->m_gate, name, "request_timeout"),
		.m_full = http_series(srv->m_gate, name, "connection_cap"),
		.m_evicted = http_series(srv->m_gate, name, "evicted"),
		.m_accept_err = http_series(srv->m_gate, name, "accept_error"),
	};

	return http_gate_new(srv->base, h, sock, &g);
}

size_t
http_max_connections(
    const struct config_http *cfg, const struct http_tuning *tuning)
{
	struct rlimit rl;
	size_t safe = SIZE_MAX, reserve = tuning->fd_reserve;

	if (cfg->admin_listen[0] != '\0')
		reserve += tuning->admin_max_connections;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		safe =
		    rl.rlim_cur > reserve ? (size_t)rl.rlim_cur - reserve : 1;
	if (cfg->max_connections > 0 && (size_t)cfg->max_connections < safe)
		return (size_t)cfg->max_connections;
	return safe < 65536 ? safe : 65536;
}

static int
http_intake_bind(struct http_intake *srv, char *err, size_t errlen)
{
	struct evhttp *stats;

	srv->http = http_listen(
	    srv, srv->cfg.listen, &srv->sock, &srv->port, err, errlen);
	if (srv->http == NULL)
		return -1;
	evhttp_set_cb(srv->http, HTTP_PATH_MESSAGES, http_messages_cb, srv);
	srv->max_conns = http_max_connections(&srv->cfg, &srv->tune);
	if (srv->cfg.max_connections > 0 &&
	    srv->max_conns < (size_t)srv->cfg.max_connections)
		log_warn("http: max_connections %d leaves too few descriptors "
		         "(RLIMIT_NOFILE); using %zu",
		    srv->cfg.max_connections, srv->max_conns);
	srv->gate =
	    http_gate_for(srv, srv->http, srv->sock, "main", srv->max_conns);
	stats = srv->http;
	if (srv->cfg.admin_listen[0] != '\0') {
		srv->admin = http_listen(srv, srv->cfg.admin_listen,
		    &srv->admin_sock, &srv->admin_port, err, errlen);
		if (srv->admin == NULL)
			return -1;
		srv->admin_gate = http_gate_for(srv, srv->admin,
		    srv->admin_sock, "admin", srv->tune.admin_max_connections);
		stats = srv->admin;
	}
	evhttp_set_cb(stats, HTTP_PATH_HEALTH, http_healthz_cb, srv);
	evhttp_set_cb(stats, HTTP_PATH_HEALTH_SMS, http_healthz_sms_cb, srv);
	evhttp_set_cb(stats, HTTP_PATH_METRICS, http_metrics_cb, srv);
	return 0;
}

struct http_intake *
http_intake_new(struct event_base *base, const struct config_http *cfg,
    const struct http_tuning *tuning, const struct http_intake_deps *deps,
    char *err, size_t errlen)
{
	struct http_tuning defaults;
	struct http_intake *srv;
	struct timeval tv;

	if (deps == NULL || deps->intake == NULL ||
	    deps->intake->submit == NULL) {
		snprintf(err, errlen, "http: no intake");
		return NULL;
	}
	if (tuning == NULL) {
		http_tuning_defaults(&defaults);
		tuning = &defaults;
	}
	if (http_tuning_check(cfg, tuning, err, errlen) < 0)
		return NULL;
	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	srv->cfg = *cfg;
	srv->tune = *tuning;
	/* Bodies between max_body and the hard limit get our JSON 413; above
	 * it evhttp refuses them without reading them. */
	if (srv->tune.hard_max_body < 4 * cfg->max_body)
		srv->tune.hard_max_body = 4 * cfg->max_body;
	srv->intake = *deps->intake;
	srv->metrics = deps->metrics;
	srv->health = deps->health;
	srv->health_arg = deps->health_arg;
	srv->seed = hash_seed();
	srv->rl = http_ratelimit_new(
	    tuning->rate_slots, cfg->rate_limit, cfg->rate_burst);
	tv.tv_sec = tuning->reply_timeout;
	tv.tv_usec = 0;
	/* One common timeout: every pending has the same duration, so libevent
	 * keeps them in a queue instead of its heap. */
	srv->reply_tv = event_base_init_common_timeout(base, &tv);
	http_register_metrics(srv);
	srv->signer = http_signer_new(
	    (const unsigned char *)cfg->secret, strlen(cfg->secret));
	if (srv->signer == NULL) {
		snprintf(err, errlen, "http: cannot set up HMAC-SHA256");
		http_intake_free(srv);
		return NULL;
	}
	if (http_intake_bind(srv, err, errlen) < 0) {
		http_intake_free(srv);
		return NULL;
	}
	log_info("http: listening on %s (port %d, at most %zu connections)%s%s",
	    cfg->listen, srv->port, srv->max_conns,
	    srv->admin ? ", admin on " : "",
	    srv->admin ? cfg->admin_listen : "");
	return srv;
}

int
http_intake_port(const struct http_intake *srv)
{
	return srv->port;
}

int
http_intake_admin_port(const struct http_intake *srv)
{
	return srv->admin ? srv->admin_port : 0;
}

size_t
http_intake_inflight(const struct http_intake *srv)
{
	return srv->waiting + http_routes_waiting(srv->routes);
}

struct evhttp *
http_intake_main(struct http_intake *srv)
{
	return srv->http;
}

size_t
http_intake_max_body(const struct http_intake *srv)
{
	return srv->cfg.max_body;
}

struct http_routes **
http_intake_routes(struct http_intake *srv)
{
	return &srv->routes;
}

size_t
http_intake_connections(const struct http_intake *srv)
{
	return http_gate_open(srv->gate);
}

size_t
http_intake_max_connections(const struct http_intake *srv)
{
	return srv->max_conns;
}

void
http_intake_stop(struct http_intake *srv)
{
	if (srv == NULL)
		return;
	http_gate_unbind(srv->gate);
	http_gate_unbind(srv->admin_gate);
	if (srv->sock != NULL) {
		evhttp_del_accept_socket(srv->http, srv->sock);
		srv->sock = NULL;
	}
	if (srv->admin_sock != NULL) {
		evhttp_del_accept_socket(srv->admin, srv->admin_sock);
		srv->admin_sock = NULL;
	}
}

void
http_intake_free(struct http_intake *srv)
{
	if (srv == NULL)
		return;
	/* Answer what is still waiting, then orphan the pendings: the intake
	 * will still call done for each, which then only frees it. */
	while (srv->pendings != NULL) {
		struct http_pending *p = srv->pendings;

		if (!p->answered)
			http_pending_answer(p, NULL, "shutting_down",
			    "the service is stopping; retry with the same id");
		srv->pendings = p->next;
		evtimer_del(&p->timer);
		p->srv = NULL;
		p->prev = p->next = NULL;
	}
	http_routes_free(srv->routes);
	/* evhttp_free frees the listeners before it closes connections */
	http_gate_unbind(srv->gate);
	http_gate_unbind(srv->admin_gate);
	if (srv->http != NULL)
		evhttp_free(srv->http);
	if (srv->admin != NULL)
		evhttp_free(srv->admin);
	http_gate_free(srv->gate);
	http_gate_free(srv->admin_gate);
	http_ratelimit_free(srv->rl);
	http_signer_free(srv->signer);
	htab_free(&srv->table);
	free(srv);
}
