/*
 * The messenger channel framework (include/meterline/channel.h): the
 * webhook's common checks and its way into the intake, and the sender
 * that takes the outbox's replies to the platform at its rate.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chan_media_int.h"
#include "meterline/channel.h"
#include "meterline/clock.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

#define CHAN_RATE_SLOTS 65536
#define CHAN_RETRY_AFTER 5 /* seconds in a 503's Retry-After */
#define CHAN_PAUSE_MAX 3600 /* at most this long paused by a retry_after */

/* A reply waiting for its turn, then for the platform's answer. */
struct chan_job {
	struct channel *ch;
	uint64_t cookie;
	char *to, *text;
	size_t len;
	bool dialog_open;
	bool as_template; /* chan_reply's */
	struct chan_job *next;
};

/* A webhook of several updates (parse_each): answered once all are done,
   200 only if every one was taken. */
struct chan_batch {
	struct channel *ch;
	struct http_exchange *x;
	int pending; /* updates not done yet, and 1 while parsing */
	int code, retry_after; /* 200, or the answer of a failure */
	const char *error;
};

/* A webhook waiting for the store (and then for its photo or phone). */
struct chan_wait {
	struct channel *ch;
	struct http_exchange *x; /* NULL when part of a batch */
	struct chan_batch *batch;
	int64_t time_us;
	char sender[64];
	char photo[512], phone[40];
	char *answer; /* the 200's body (owned), NULL: {"ok":true} */
	const char *answer_type;
};

struct channel {
	struct event_base *base;
	struct chan_opts o;
	struct intake intake;
	char *secret;
	struct http_ratelimit *rl;
	struct chan_media *media; /* NULL: photos and phones not kept */
	/* updates at the store: the platform's webhook concurrency shows */
	unsigned awaiting;
	struct intake_window window;
	/* sender */
	struct chan_job *head, *tail;
	size_t queued, inflight;
	double tokens;
	int64_t refill_us, pause_until_us;
	struct event *pump_ev;
	bool stopped;
	struct chan_stats st;
};

static void chan_pump(struct channel *);

bool
chan_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	/* every byte of b is looked at, whatever a holds */
	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return d == 0;
}

int64_t
chan_time_us(long long v, int64_t unit_us)
{
	/* a hostile body's huge value must not overflow (fuzz_messenger) */
	if (v > INT64_MAX / unit_us || v < INT64_MIN / unit_us)
		return 0;
	return (int64_t)v * unit_us;
}

void
chan_update_fill(struct chan_update *u, const char *channel, const char *text,
    int64_t time_us)
{
	size_t len;

	if (text == NULL)
		text = "?";
	len = strlen(text);
	if (len > CHAN_TEXT_MAX) {
		len = CHAN_TEXT_MAX;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--; /* not inside a character */
	}
	free(u->text);
	u->text = xmalloc(len + 1);
	memcpy(u->text, text, len);
	u->text[len] = '\0';
	u->kind = CHAN_IN_MESSAGE;
	u->msg = (struct inbound_msg){ .channel = channel,
		.sender = u->sender,
		.recipient = u->recipient,
		.text = u->text,
		.text_len = len,
		.time_us = time_us,
		.external_id = u->external_id };
}

/* ---- webhook ------------------------------------------------------------- */

static void
chan_reply_error(
    struct http_exchange *x, int code, const char *error, int retry_after)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"ok\":false,\"error\":\"%s\"}", error);
	http_exchange_reply(x, code, body, retry_after);
}

/* 200 with the adapter's body, or {"ok":true}. */
static void
chan_answer(struct http_exchange *x, const char *answer, const char *type)
{
	if (answer == NULL)
		http_exchange_reply(x, 200, NULL, 0);
	else
		http_exchange_reply_raw(x, 200,
		    type != NULL ? type : "application/json", answer,
		    strlen(answer));
}

/* One update of b is done: code 200, or its failure's answer. */
static void
chan_batch_done(
    struct chan_batch *b, int code, const char *error, int retry_after)
{
	/* a 503 wins: the platform must retry, the store dedupes the rest */
	if (code != 200 && (b->code == 200 || code == 503)) {
		b->code = code;
		b->error = error;
		b->retry_after = retry_after;
	}
	if (--b->pending > 0)
		return;
	if (b->code == 200)
		chan_answer(b->x, NULL, NULL);
	else
		chan_reply_error(b->x, b->code, b->error, b->retry_after);
	free(b);
}

/* An update failed: the exchange's answer, or its part of the batch. */
static void
chan_fail(struct http_exchange *x, struct chan_batch *b, int code,
    const char *error, int retry_after)
{
	if (b != NULL)
		chan_batch_done(b, code, error, retry_after);
	else
		chan_reply_error(x, code, error, retry_after);
}

static void
chan_recorded_cb(void *arg, bool ok)
{
	struct chan_wait *w = arg;

	if (!ok)
		chan_fail(w->x, w->batch, 503, "database_unavailable",
		    CHAN_RETRY_AFTER);
	else if (w->batch != NULL)
		chan_batch_done(w->batch, 200, NULL, 0);
	else
		chan_answer(w->x, w->answer, w->answer_type);
	free(w->answer);
	free(w);
}

/* The message is stored: record its photo or phone, then answer. */
static void
chan_stored_cb(const struct intake_result *r, void *arg)
{
	struct chan_wait *w = arg;
	struct channel *ch = w->ch;
	struct chan_media_rec rec = { r->message_id, w->sender, w->time_us,
		w->photo, w->phone };

	ch->awaiting--;
	if (r->status == INTAKE_TEMPFAIL) {
		chan_recorded_cb(w, false);
		return;
	}
	if (r->status == INTAKE_DUPLICATE)
		ch->st.duplicates++;
	else
		ch->st.stored++;
	if (ch->media == NULL || r->message_id <= 0 ||
	    (w->photo[0] == '\0' && w->phone[0] == '\0'))
		chan_recorded_cb(w, true);
	else if (chan_media_record(ch->media, &rec, chan_recorded_cb, w) != 0)
		chan_recorded_cb(w, false);
}

/* Per-sender rate of inbound updates; 0 or the seconds to wait. */
static int
chan_rate(struct channel *ch, const struct chan_update *u)
{
	char key[128];
	int n;

	if (ch->rl == NULL)
		return 0;
	n = snprintf(key, sizeof(key), "%s%c%s", ch->o.api->name, 0, u->sender);
	return http_ratelimit_take(ch->rl, key,
	    n > 0 && (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1,
	    clock_mono_us());
}

/* Hand a parsed update to the intake; the exchange (or batch b) is
   answered later. */
static void
chan_submit(struct channel *ch, struct http_exchange *x, struct chan_batch *b,
    struct chan_update *u)
{
	struct chan_wait *w = xmalloc(sizeof(*w));
	int wait;

	memset(w, 0, sizeof(*w));
	if ((wait = chan_rate(ch, u)) > 0) {
		free(w);
		chan_fail(x, b, 429, "rate_limited", wait);
		return;
	}
	w->ch = ch;
	w->x = x;
	w->batch = b;
	w->time_us = u->msg.time_us;
	strlcpy_s(w->sender, u->sender, sizeof(w->sender));
	strlcpy_s(w->photo, u->photo, sizeof(w->photo));
	strlcpy_s(w->phone, u->phone, sizeof(w->phone));
	w->answer = u->answer;
	w->answer_type = u->answer_type;
	u->answer = NULL; /* the wait's now */
	u->msg.flags |= INTAKE_F_OUTBOX;
	/* A platform sends updates on up to its webhook concurrency (Telegram:
	   max_connections, default 40), each waiting for our answer: below
	   the most seen at once, more may come, and the store may gather
	   this one with them (docs/store.md, "Gathering"). */
	ch->awaiting++;
	intake_window_note(&ch->window, ch->awaiting, clock_mono_us());
	if (intake_window_open(&ch->window, ch->awaiting))
		u->msg.flags |= INTAKE_F_MAY_WAIT;
	if (intake_submit(&ch->intake, &u->msg, chan_stored_cb, w) != 0) {
		ch->awaiting--;
		free(w->answer);
		free(w);
		chan_fail(x, b, 503, "unavailable", CHAN_RETRY_AFTER);
	}
}

/* A platform's report on a reply: into the outbox, then 200 (or 503). */
static void
chan_status(struct channel *ch, struct http_exchange *x, struct chan_batch *b,
    struct chan_update *u)
{
	struct chan_wait *w;

	ch->st.statuses++;
	if (ch->o.status == NULL) {
		if (b != NULL)
			chan_batch_done(b, 200, NULL, 0);
		else
			chan_answer(x, u->answer, u->answer_type);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->ch = ch;
	w->x = x;
	w->batch = b;
	w->answer = u->answer;
	w->answer_type = u->answer_type;
	u->answer = NULL;
	ch->o.status(ch->o.status_arg, ch->o.api->name, u->external_id,
	    u->status, chan_recorded_cb, w);
}

/* The platform's own: its secret header, or the adapter's check. */
static bool
chan_authentic(
    struct channel *ch, struct http_exchange *x, const char *body, size_t len)
{
	const char *sec;

	if (ch->o.api->auth != NULL)
		return ch->o.api->auth(ch->o.api_ctx, x, body, len);
	sec = http_exchange_header(x, ch->o.api->secret_header);
	return sec != NULL && ch->secret[0] != '\0' &&
	    chan_secret_equal(sec, ch->secret);
}

/* One update of a batch (parse_each); NULL u: refused, why says why. */
static void
chan_each_cb(void *arg, struct chan_update *u, const char *why)
{
	struct chan_batch *b = arg;
	struct channel *ch = b->ch;

	if (u == NULL) {
		/* a retry cannot mend it: the others are taken, this counted */
		ch->st.bad++;
		log_debug("%s: update refused: %s", ch->o.api->name, why);
		return;
	}
	if (u->kind == CHAN_IN_IGNORE) {
		ch->st.ignored++;
	} else {
		b->pending++;
		if (u->kind == CHAN_IN_STATUS)
			chan_status(ch, NULL, b, u);
		else
			chan_submit(ch, NULL, b, u);
	}
}

/* A body of several updates: each one taken, one answer for all. */
static void
chan_webhook_batch(
    struct channel *ch, struct http_exchange *x, const char *body, size_t len)
{
	struct chan_batch *b = xcalloc(1, sizeof(*b));
	char why[160];

	b->ch = ch;
	b->x = x;
	b->pending = 1;
	b->code = 200;
	if (ch->o.api->parse_each(ch->o.api_ctx, body, len, chan_each_cb, b,
	        why, sizeof(why)) != 0) {
		ch->st.bad++;
		log_debug("%s: update refused: %s", ch->o.api->name, why);
		chan_batch_done(b, 400, "bad_update", 0);
		return;
	}
	chan_batch_done(b, 200, NULL, 0);
}

static void
chan_webhook_cb(struct http_exchange *x, void *arg)
{
	struct channel *ch = arg;
	struct chan_update u;
	char why[160];
	const char *body;
	size_t len;

	if (http_exchange_is_get(x)) {
		if (ch->o.api->handshake != NULL)
			ch->o.api->handshake(ch->o.api_ctx, x);
		else
			chan_reply_error(x, 405, "method_not_allowed", 0);
		return;
	}
	ch->st.updates++;
	body = http_exchange_body(x, &len);
	if (!chan_authentic(ch, x, body, len)) {
		ch->st.unauthorized++;
		chan_reply_error(x, 401, "unauthorized", 0);
		return;
	}
	if (ch->o.api->parse_each != NULL) {
		chan_webhook_batch(ch, x, body, len);
		return;
	}
	memset(&u, 0, sizeof(u));
	if (ch->o.api->parse(ch->o.api_ctx, body, len, &u, why, sizeof(why)) !=
	    0) {
		ch->st.bad++;
		log_debug("%s: update refused: %s", ch->o.api->name, why);
		chan_reply_error(x, 400, "bad_update", 0);
	} else if (u.kind == CHAN_IN_IGNORE) {
		ch->st.ignored++;
		chan_answer(x, u.answer, u.answer_type);
	} else if (u.kind == CHAN_IN_STATUS) {
		chan_status(ch, x, NULL, &u);
	} else {
		chan_submit(ch, x, NULL, &u);
	}
	free(u.answer);
	free(u.text);
}

int
channel_route(struct channel *ch, struct http_intake *http, const char *path,
    char *err, size_t errlen)
{
	if (ch->o.api->handshake != NULL)
		return http_intake_route_get(
		    http, path, chan_webhook_cb, ch, err, errlen);
	return http_intake_route(http, path, chan_webhook_cb, ch, err, errlen);
}

/* ---- sender -------------------------------------------------------------- */

static void
chan_job_free(struct chan_job *j)
{
	free(j->to);
	free(j->text);
	free(j);
}

static void
chan_result(struct channel *ch, struct chan_job *j, enum chan_verdict v,
    const char *ext_id, int retry_after)
{
	switch (v) {
	case CHAN_SENT: ch->st.sent++; break;
	case CHAN_REJECTED: ch->st.rejected++; break;
	default: ch->st.retried++;
	}
	ch->o.result(ch->o.result_arg, j->cookie, v, ext_id, retry_after);
	chan_job_free(j);
}

static void
chan_sent_cb(const struct webc_resp *r, void *arg)
{
	struct chan_job *j = arg;
	struct channel *ch = j->ch;
	char ext_id[72] = "";
	int retry_after = 0;
	enum chan_verdict v;

	ch->inflight--;
	if (r->status == 0 && r->error != NULL &&
	    strcmp(r->error, "cancelled") == 0)
		v = CHAN_UNSENT;
	else
		v = ch->o.api->verdict(
		    ch->o.api_ctx, r, ext_id, sizeof(ext_id), &retry_after);
	if (r->status == 429) {
		/* flood control: the whole channel waits, not only this one */
		ch->st.throttled++;
		if (retry_after <= 0)
			retry_after = 1;
		if (retry_after > CHAN_PAUSE_MAX)
			retry_after = CHAN_PAUSE_MAX;
		ch->pause_until_us = clock_mono_us() + retry_after * 1000000LL;
		log_warn("%s: 429 from the platform: pausing %d s",
		    ch->o.api->name, retry_after);
	} else if (v == CHAN_RETRY && r->status == 0) {
		log_warn("%s: send failed: %s", ch->o.api->name, r->error);
	}
	chan_result(ch, j, v, ext_id[0] ? ext_id : NULL, retry_after);
	chan_pump(ch);
}

/* Send one job now; its result comes through chan_sent_cb (or here). */
static void
chan_fire(struct channel *ch, struct chan_job *j)
{
	struct chan_reply r = { j->cookie, j->to, j->text, j->len,
		j->dialog_open, j->as_template };
	struct chan_req q;
	struct webc_req wr;

	memset(&q, 0, sizeof(q));
	if (ch->o.api->build(ch->o.api_ctx, &r, &q) != 0) {
		free(q.body);
		chan_result(ch, j, CHAN_REJECTED, NULL, 0);
		return;
	}
	wr = (struct webc_req){ .method = "POST",
		.url = q.url,
		.headers = q.headers,
		.body = q.body,
		.len = q.len,
		.timeout_ms = ch->o.send_timeout_ms };
	if (webc_send(ch->o.webc, &wr, chan_sent_cb, j) != 0) {
		free(q.body);
		chan_result(ch, j, CHAN_RETRY, NULL, 0);
		return;
	}
	free(q.body);
	ch->inflight++;
}

/* Refill the token bucket (send_rate per second, a second's worth). */
static void
chan_refill(struct channel *ch, int64_t now)
{
	double burst = ch->o.send_rate;

	ch->tokens += (double)(now - ch->refill_us) * ch->o.send_rate / 1e6;
	if (ch->tokens > burst)
		ch->tokens = burst;
	ch->refill_us = now;
}

/* Send what the rate, the pause and the in-flight cap allow; else wait. */
static void
chan_pump(struct channel *ch)
{
	int64_t now = clock_mono_us(), wait_us = 0;

	chan_refill(ch, now);
	while (ch->head != NULL && !ch->stopped) {
		struct chan_job *j = ch->head;

		if (now < ch->pause_until_us) {
			wait_us = ch->pause_until_us - now;
			break;
		}
		if ((int)ch->inflight >= ch->o.max_inflight)
			return; /* a completion pumps again */
		if (ch->tokens < 1) {
			wait_us = (int64_t)((1 - ch->tokens) * 1e6 /
			              ch->o.send_rate) +
			    1;
			break;
		}
		ch->tokens -= 1;
		ch->head = j->next;
		if (ch->head == NULL)
			ch->tail = NULL;
		ch->queued--;
		chan_fire(ch, j);
	}
	if (wait_us > 0 && !evtimer_pending(ch->pump_ev, NULL)) {
		struct timeval tv = { wait_us / 1000000, wait_us % 1000000 };

		evtimer_add(ch->pump_ev, &tv);
	}
}

static void
chan_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chan_pump(arg);
}

int
channel_send(struct channel *ch, const struct chan_reply *r)
{
	struct chan_job *j;

	if (ch->stopped)
		return -1;
	j = xcalloc(1, sizeof(*j));
	j->ch = ch;
	j->cookie = r->cookie;
	j->to = xstrdup(r->to);
	j->text = xmalloc(r->len + 1);
	memcpy(j->text, r->text, r->len);
	j->text[r->len] = '\0';
	j->len = r->len;
	j->dialog_open = r->dialog_open;
	j->as_template = r->as_template;
	if (ch->tail != NULL)
		ch->tail->next = j;
	else
		ch->head = j;
	ch->tail = j;
	ch->queued++;
	/* from the loop: the outbox is in the middle of its claim */
	event_active(ch->pump_ev, EV_TIMEOUT, 0);
	return 0;
}

void
channel_stop(struct channel *ch)
{
	if (ch == NULL)
		return;
	ch->stopped = true;
	while (ch->head != NULL) {
		struct chan_job *j = ch->head;

		ch->head = j->next;
		ch->queued--;
		chan_result(ch, j, CHAN_UNSENT, NULL, 0);
	}
	ch->tail = NULL;
}

void
channel_stats(const struct channel *ch, struct chan_stats *out)
{
	*out = ch->st;
	out->queued = ch->queued;
	out->inflight = ch->inflight;
}

/* ---- life ---------------------------------------------------------------- */

struct channel *
channel_new(struct event_base *base, const struct chan_opts *o)
{
	struct channel *ch;

	if (o->api == NULL || o->webc == NULL || o->intake == NULL ||
	    o->result == NULL || o->send_rate <= 0)
		return NULL;
	ch = xcalloc(1, sizeof(*ch));
	ch->base = base;
	ch->o = *o;
	ch->intake = *o->intake;
	ch->secret = xstrdup(o->secret != NULL ? o->secret : "");
	if (ch->o.max_inflight <= 0)
		ch->o.max_inflight = 64;
	if (ch->o.send_timeout_ms <= 0)
		ch->o.send_timeout_ms = 10000;
	if (o->rate_limit > 0)
		ch->rl = http_ratelimit_new(CHAN_RATE_SLOTS, o->rate_limit,
		    o->rate_burst > 0 ? o->rate_burst : 1);
	ch->tokens = o->send_rate;
	ch->refill_us = clock_mono_us();
	ch->pump_ev = evtimer_new(base, chan_pump_cb, ch);
	if (o->conninfo != NULL)
		ch->media = chan_media_new(base, &ch->o, &ch->st);
	return ch;
}

void
channel_free(struct channel *ch)
{
	if (ch == NULL)
		return;
	channel_stop(ch);
	chan_media_free(ch->media);
	event_free(ch->pump_ev);
	http_ratelimit_free(ch->rl);
	free(ch->secret);
	free(ch);
}

int
chan_photo_url_direct(void *ctx, const char *ref, int step,
    const struct webc_resp *prev, char *url, size_t len)
{
	(void)ctx;
	(void)prev;
	if (step != 0 ||
	    (strncmp(ref, "https://", 8) != 0 &&
	        strncmp(ref, "http://", 7) != 0) ||
	    strlen(ref) >= len)
		return -1;
	snprintf(url, len, "%s", ref);
	return 0;
}
