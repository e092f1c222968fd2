/*
 * The HTTP(S) client (include/meterline/webc.h): libcurl's multi socket
 * interface on libevent.
 *
 * curl tells us which sockets to watch (webc_sock_cb) and when to wake it
 * (webc_timer_cb); each socket becomes one libevent event, the timer one
 * more, and both call curl_multi_socket_action. Finished transfers are
 * collected after every action (webc_check_done) and their callbacks run
 * from there, so a callback never runs inside webc_send.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "meterline/log.h"
#include "meterline/webc.h"
#include "meterline/xmalloc.h"

/* One transfer. */
struct webc_xfer {
	struct webc *wc;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body; /* request body, owned */
	char *resp; /* response body */
	size_t resp_len, resp_cap, max_body;
	int retry_after;
	bool too_large;
	webc_done_cb done;
	void *arg;
	struct webc_xfer *prev, *next;
};

/*
 * The event of one socket curl asked us to watch. Kept in place while
 * curl moves the socket between reading and writing (every transfer
 * does): reassigned, not freed and made again.
 */
struct webc_sock {
	struct event ev;
};

/*
 * Easy handles kept for the next request (curl_easy_reset between uses):
 * making one per request was most of the client's CPU (the messenger
 * benchmark, perf: libcurl and malloc 40% of serve).
 */
#define WEBC_POOL 64

struct webc {
	struct event_base *base;
	struct webc_opts opts;
	CURLM *multi;
	struct event *timer;
	struct webc_xfer *xfers; /* every transfer in flight */
	size_t n;
	CURL *pool[WEBC_POOL];
	size_t npool;
};

static void webc_check_done(struct webc *);

/* ---- curl's callbacks ------------------------------------------------------ */

static size_t
webc_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct webc_xfer *x = arg;
	size_t n = size * nmemb;

	if (x->resp_len + n > x->max_body) {
		x->too_large = true;
		return 0; /* curl fails the transfer (CURLE_WRITE_ERROR) */
	}
	if (x->resp_len + n + 1 > x->resp_cap) {
		size_t cap = x->resp_cap ? x->resp_cap : 1024;

		while (cap < x->resp_len + n + 1)
			cap *= 2;
		x->resp = xrealloc(x->resp, cap);
		x->resp_cap = cap;
	}
	memcpy(x->resp + x->resp_len, p, n);
	x->resp_len += n;
	return n;
}

/* Only Retry-After matters (a 429 or 503 may carry it). */
static size_t
webc_header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct webc_xfer *x = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	long v;

	if (n > sizeof(name) - 1 &&
	    strncasecmp(p, name, sizeof(name) - 1) == 0) {
		char buf[24];
		size_t k = n - (sizeof(name) - 1);

		if (k >= sizeof(buf))
			k = sizeof(buf) - 1;
		memcpy(buf, p + sizeof(name) - 1, k);
		buf[k] = '\0';
		v = strtol(buf, NULL, 10);
		x->retry_after = v >= 0 && v < 86400 ? (int)v : -1;
	}
	return n;
}

static void
webc_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct webc *wc = arg;
	int running = 0;
	int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(wc->multi, fd, action, &running);
	webc_check_done(wc);
}

static int
webc_sock_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct webc *wc = arg;
	struct webc_sock *ws = sockp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ws != NULL) {
			event_del(&ws->ev);
			free(ws);
			curl_multi_assign(wc->multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ws == NULL) {
		ws = xcalloc(1, sizeof(*ws));
		curl_multi_assign(wc->multi, s, ws);
	} else {
		event_del(&ws->ev);
	}
	event_assign(&ws->ev, wc->base, s, kind, webc_event_cb, wc);
	event_add(&ws->ev, NULL);
	return 0;
}

static void
webc_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct webc *wc = arg;
	int running = 0;

	(void)fd;
	(void)what;
	curl_multi_socket_action(wc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	webc_check_done(wc);
}

static int
webc_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct webc *wc = arg;
	struct timeval tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(wc->timer);
		return 0;
	}
	/* ms == 0: act soon, but from the loop, not from inside curl */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(wc->timer, &tv);
	return 0;
}

/* ---- transfers ------------------------------------------------------------ */

static void
webc_xfer_free(struct webc_xfer *x)
{
	struct webc *wc = x->wc;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		wc->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	wc->n--;
	curl_multi_remove_handle(wc->multi, x->easy);
	if (wc->npool < WEBC_POOL) {
		curl_easy_reset(x->easy);
		wc->pool[wc->npool++] = x->easy;
	} else {
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->hdrs);
	free(x->body);
	free(x->resp);
	free(x);
}

/* Why a transfer ended without an answer, in a word callers can test. */
static const char *
webc_reason(const struct webc_xfer *x, CURLcode rc)
{
	if (x->too_large)
		return "too_large";
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT: return "timeout";
	case CURLE_COULDNT_CONNECT: return "refused";
	case CURLE_COULDNT_RESOLVE_HOST: return "unresolved";
	default: return curl_easy_strerror(rc);
	}
}

/* Run the callback of a finished (or cancelled) transfer, then free it. */
static void
webc_finish(struct webc_xfer *x, CURLcode rc, const char *why)
{
	struct webc_resp r = { .retry_after = x->retry_after };
	long code = 0;

	if (why == NULL && rc == CURLE_OK)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	r.status = (int)code;
	r.body = x->resp != NULL ? x->resp : "";
	r.len = x->resp_len;
	if (x->resp != NULL)
		x->resp[x->resp_len] = '\0';
	if (r.status == 0)
		r.error = why != NULL ? why : webc_reason(x, rc);
	x->done(&r, x->arg);
	webc_xfer_free(x);
}

static void
webc_check_done(struct webc *wc)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(wc->multi, &left)) != NULL) {
		struct webc_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(
		    m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			webc_finish(x, m->data.result, NULL);
	}
}

static void
webc_setup_easy(struct webc *wc, struct webc_xfer *x, const struct webc_req *q)
{
	CURL *e = x->easy;
	int timeout = q->timeout_ms > 0 ? q->timeout_ms : wc->opts.timeout_ms;

	curl_easy_setopt(e, CURLOPT_URL, q->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, webc_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, webc_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(
	    e, CURLOPT_CONNECTTIMEOUT_MS, (long)wc->opts.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (wc->opts.ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, wc->opts.ca_file);
	if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)q->len);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
	}
	/* no "Expect: 100-continue" round trip for a small JSON body */
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	for (size_t i = 0; q->headers != NULL && q->headers[i] != NULL; i++)
		x->hdrs = curl_slist_append(x->hdrs, q->headers[i]);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
}

int
webc_send(
    struct webc *wc, const struct webc_req *q, webc_done_cb done, void *arg)
{
	struct webc_xfer *x;

	if (q->url == NULL || q->method == NULL || done == NULL)
		return -1;
	x = xcalloc(1, sizeof(*x));
	if (wc->npool > 0)
		x->easy = wc->pool[--wc->npool];
	else
		x->easy = curl_easy_init();
	if (x->easy == NULL) {
		free(x);
		return -1;
	}
	x->wc = wc;
	x->done = done;
	x->arg = arg;
	x->retry_after = -1;
	x->max_body = q->max_body > 0 ? q->max_body : wc->opts.max_body;
	if (q->len > 0) {
		x->body = xmalloc(q->len + 1);
		memcpy(x->body, q->body, q->len);
		x->body[q->len] = '\0';
	}
	webc_setup_easy(wc, x, q);
	x->next = wc->xfers;
	if (wc->xfers != NULL)
		wc->xfers->prev = x;
	wc->xfers = x;
	wc->n++;
	if (curl_multi_add_handle(wc->multi, x->easy) != CURLM_OK) {
		x->done = NULL;
		webc_xfer_free(x);
		return -1;
	}
	return 0;
}

size_t
webc_inflight(const struct webc *wc)
{
	return wc->n;
}

int
webc_escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~';

		if (o + (keep ? 1 : 3) >= outlen)
			return -1;
		if (keep) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/* ---- life ----------------------------------------------------------------- */

struct webc *
webc_new(struct event_base *base, const struct webc_opts *opts)
{
	struct webc *wc;

	/* refcounted by libcurl; we are single-threaded */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("webc: curl_global_init failed");
		return NULL;
	}
	wc = xcalloc(1, sizeof(*wc));
	wc->base = base;
	if (opts != NULL)
		wc->opts = *opts;
	if (wc->opts.max_host_conns <= 0)
		wc->opts.max_host_conns = 16;
	if (wc->opts.connect_timeout_ms <= 0)
		wc->opts.connect_timeout_ms = 5000;
	if (wc->opts.timeout_ms <= 0)
		wc->opts.timeout_ms = 30000;
	if (wc->opts.max_body == 0)
		wc->opts.max_body = 1 << 20;
	wc->multi = curl_multi_init();
	wc->timer = evtimer_new(base, webc_timeout_cb, wc);
	curl_multi_setopt(wc->multi, CURLMOPT_SOCKETFUNCTION, webc_sock_cb);
	curl_multi_setopt(wc->multi, CURLMOPT_SOCKETDATA, wc);
	curl_multi_setopt(wc->multi, CURLMOPT_TIMERFUNCTION, webc_timer_cb);
	curl_multi_setopt(wc->multi, CURLMOPT_TIMERDATA, wc);
	curl_multi_setopt(wc->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)wc->opts.max_host_conns);
	/* queue beyond the cap rather than open more sockets */
	curl_multi_setopt(wc->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)wc->opts.max_host_conns * 4);
	return wc;
}

void
webc_free(struct webc *wc)
{
	if (wc == NULL)
		return;
	while (wc->xfers != NULL)
		webc_finish(wc->xfers, CURLE_OK, "cancelled");
	while (wc->npool > 0)
		curl_easy_cleanup(wc->pool[--wc->npool]);
	curl_multi_cleanup(wc->multi);
	event_free(wc->timer);
	free(wc);
	curl_global_cleanup();
}
