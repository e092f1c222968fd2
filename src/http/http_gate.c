/*
 * Connection cap, request deadline and accept back-off for one evhttp
 * listener (http_gate.h says how the gate hooks into evhttp).
 *
 * Lifetimes: a struct gate_conn lives from accept (gate_bev_cb) until
 * evhttp closes the connection (gate_closed_cb, called by evhttp before it
 * frees the connection and its bufferevent, or by evhttp_free). The gate
 * is freed after evhttp_free, so every record is gone by then, except one
 * not yet attached to its connection, which http_gate_free frees.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "meterline/http_gate.h"
#include "meterline/clock.h"
#include "meterline/hash.h"
#include "meterline/log.h"
#include "meterline/metrics.h"
#include "meterline/xmalloc.h"

struct gate_conn {
	struct http_gate *g;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until attached */
	struct evbuffer_cb_entry *in_cb;
	struct gate_conn *prev, *next;
	struct event attach; /* made active in bevcb */
	struct event deadline;
	bool reading; /* a request has begun and was not dispatched yet */
	bool busy; /* a request dispatched and not yet answered in full */
};

struct http_gate {
	struct http_gate_cfg cfg;
	struct http_gate *next_gate; /* in gates */
	struct evconnlistener *lev; /* NULL after http_gate_unbind */
	struct gate_conn *conns;
	struct htab by_evcon; /* hash of the connection's address -> conn */
	size_t open;
	struct timeval request_tv;
	struct event pause; /* accept error back-off */
	bool full; /* listener off at the cap */
	/* accept errors since the last log line, and when that was */
	unsigned long errors_quiet;
	int64_t log_us;
};

/*
 * Every live gate. libevent calls a listener's error callback with the
 * user data of its accept callback, which evhttp owns (its bound socket),
 * so the gate is found by its listener here. Touched only from the event
 * loop's thread; a process has one or two gates.
 */
static struct http_gate *gates;

static struct http_gate *
gate_of_listener(const struct evconnlistener *lev)
{
	for (struct http_gate *g = gates; g != NULL; g = g->next_gate)
		if (g->lev == lev)
			return g;
	return NULL;
}

static void
gate_metric_add(struct metric_series *m, double v)
{
	if (m != NULL)
		metrics_add(m, v);
}

static uint64_t
gate_key(const struct evhttp_connection *evcon)
{
	return hash_u64((uint64_t)(uintptr_t)evcon);
}

/* Accept again unless something still holds accepting off. */
static void
gate_maybe_enable(struct http_gate *g)
{
	if (g->lev == NULL || evtimer_pending(&g->pause, NULL))
		return;
	if (g->open >= g->cfg.max_conns) {
		g->full = true;
		evconnlistener_disable(g->lev);
		return;
	}
	g->full = false;
	evconnlistener_enable(g->lev);
}

/* End the connection the way evhttp ends one that timed out: no answer;
 * evhttp frees it, and gate_closed_cb frees c (do not touch c after). */
static void
gate_close(struct gate_conn *c)
{
	bufferevent_trigger_event(
	    c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

/* The request did not arrive complete in time. */
static void
gate_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gate_conn *c = arg;

	(void)fd;
	(void)what;
	gate_metric_add(c->g->cfg.m_deadline, 1);
	gate_close(c);
}

/*
 * At the cap, a new connection closes the oldest one that owes us a
 * request (half-sent, or idle keep-alive) rather than wait behind it: the
 * slow connections of a flood are the old ones, a real client's is new.
 * Connections waiting for our answer are never closed. Returns whether
 * one was closed.
 */
static bool
gate_evict(struct http_gate *g, const struct gate_conn *except)
{
	struct gate_conn *victim = NULL;

	for (struct gate_conn *c = g->conns; c != NULL; c = c->next)
		if (c != except && c->evcon != NULL && !c->busy)
			victim = c; /* the list runs newest to oldest */
	if (victim == NULL)
		return false;
	gate_metric_add(g->cfg.m_evicted, 1);
	gate_close(victim);
	return true;
}

/* Bytes arrived: the first one of a request starts its deadline. */
static void
gate_input_cb(
    struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct gate_conn *c = arg;

	(void)buf;
	if (info->n_added == 0 || c->reading)
		return;
	c->reading = true;
	evtimer_add(&c->deadline, &c->g->request_tv);
}

static void
gate_unlink(struct http_gate *g, struct gate_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	g->open--;
	gate_metric_add(g->cfg.m_open, -1);
}

/* evhttp is closing the connection (before freeing its bufferevent). */
static void
gate_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct gate_conn *c = arg;
	struct http_gate *g = c->g;

	htab_del(&g->by_evcon, gate_key(evcon), (uintptr_t)c);
	/* evhttp drains the buffer after this: no callback into freed c */
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	evtimer_del(&c->deadline);
	gate_unlink(g, c);
	free(c);
	if (g->full)
		gate_maybe_enable(g);
}

/*
 * Just after the accept callback: evhttp has made its connection around
 * our bufferevent and set itself as the bufferevent's callback argument.
 * Checked both ways before use.
 */
static void
gate_attach_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gate_conn *c = arg;
	void *cbarg = NULL;

	(void)fd;
	(void)what;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	if (cbarg == NULL ||
	    evhttp_connection_get_bufferevent(cbarg) != c->bev) {
		log_warn("http: %s listener: cannot track a connection",
		    c->g->cfg.name);
		gate_unlink(c->g, c); /* uncounted from now on */
		free(c);
		return;
	}
	c->evcon = cbarg;
	htab_put(&c->g->by_evcon, gate_key(c->evcon), (uintptr_t)c);
	evhttp_connection_set_closecb(c->evcon, gate_closed_cb, c);
	c->in_cb =
	    evbuffer_add_cb(bufferevent_get_input(c->bev), gate_input_cb, c);
	/* bytes that came with the connection were read already */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		c->reading = true;
		evtimer_add(&c->deadline, &c->g->request_tv);
	}
	if (c->g->open >= c->g->cfg.max_conns)
		gate_evict(c->g, c); /* its close enables the listener */
}

/* evhttp's bevcb: one accepted connection. */
static struct bufferevent *
gate_bev_cb(struct event_base *base, void *arg)
{
	struct http_gate *g = arg;
	struct gate_conn *c;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

	if (bev == NULL)
		return NULL; /* evhttp tries its own: uncounted */
	c = xcalloc(1, sizeof(*c));
	c->g = g;
	c->bev = bev;
	event_assign(&c->attach, base, -1, 0, gate_attach_cb, c);
	evtimer_assign(&c->deadline, base, gate_deadline_cb, c);
	event_active(&c->attach, 0, 0);
	c->next = g->conns;
	if (g->conns)
		g->conns->prev = c;
	g->conns = c;
	g->open++;
	gate_metric_add(g->cfg.m_open, 1);
	gate_metric_add(g->cfg.m_accepted, 1);
	if (g->open >= g->cfg.max_conns && !g->full) {
		/* Stop accepting: gate_attach_cb makes room by closing an old
		 * connection; when every one is busy, new clients wait in the
		 * kernel's backlog instead of taking descriptors. */
		gate_metric_add(g->cfg.m_full, 1);
		gate_maybe_enable(g);
	}
	return bev;
}

/* The answer to a dispatched request was written in full. */
static void
gate_done_cb(struct evhttp_request *req, void *arg)
{
	struct gate_conn *c = arg;

	(void)req;
	c->busy = false;
}

void
http_gate_dispatched(struct http_gate *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	size_t pos = HTAB_START;
	uintptr_t *v;

	if (g == NULL || evcon == NULL)
		return;
	while ((v = htab_next(&g->by_evcon, gate_key(evcon), &pos)) != NULL) {
		struct gate_conn *c = (struct gate_conn *)*v;

		if (c->evcon == evcon) {
			c->reading = false;
			c->busy = true;
			evtimer_del(&c->deadline);
			/* called before evhttp frees req, or never */
			evhttp_request_set_on_complete_cb(req, gate_done_cb, c);
			return;
		}
	}
}

/* One line per interval, with the count of errors it stands for. */
static void
gate_log_accept_error(struct http_gate *g, int err)
{
	int64_t now = clock_mono_us();

	g->errors_quiet++;
	if (g->log_us != 0 &&
	    now - g->log_us < (int64_t)g->cfg.log_interval * 1000000)
		return;
	log_warn("http: %s listener: accept: %s (%lu times since the last "
	         "line); accepting paused %d ms at a time, %zu connections "
	         "open",
	    g->cfg.name, strerror(err), g->errors_quiet, g->cfg.accept_pause_ms,
	    g->open);
	g->errors_quiet = 0;
	g->log_us = now;
}

/*
 * accept() failed with something other than EAGAIN/EINTR/ECONNABORTED,
 * mostly EMFILE/ENFILE at the descriptor limit. The pending connection
 * keeps the socket readable, so retrying at once would spin: pause.
 */
static void
gate_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct http_gate *g = gate_of_listener(lev);
	int err = errno;
	struct timeval tv;

	(void)arg; /* evhttp's, not ours */
	if (g == NULL) { /* cannot happen; never spin anyway */
		evconnlistener_disable(lev);
		return;
	}
	tv.tv_sec = g->cfg.accept_pause_ms / 1000;
	tv.tv_usec = (g->cfg.accept_pause_ms % 1000) * 1000;
	gate_metric_add(g->cfg.m_accept_err, 1);
	gate_log_accept_error(g, err);
	evconnlistener_disable(lev);
	evtimer_add(&g->pause, &tv);
}

static void
gate_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gate_maybe_enable(arg);
}

struct http_gate *
http_gate_new(struct event_base *base, struct evhttp *http,
    struct evhttp_bound_socket *sock, const struct http_gate_cfg *cfg)
{
	struct http_gate *g = xcalloc(1, sizeof(*g));

	g->cfg = *cfg;
	g->lev = evhttp_bound_socket_get_listener(sock);
	g->request_tv.tv_sec = cfg->request_timeout;
	evtimer_assign(&g->pause, base, gate_pause_cb, g);
	evconnlistener_set_error_cb(g->lev, gate_accept_error_cb);
	evhttp_set_bevcb(http, gate_bev_cb, g);
	g->next_gate = gates;
	gates = g;
	return g;
}

void
http_gate_unbind(struct http_gate *g)
{
	if (g == NULL)
		return;
	evtimer_del(&g->pause);
	g->lev = NULL;
}

size_t
http_gate_open(const struct http_gate *g)
{
	return g ? g->open : 0;
}

void
http_gate_free(struct http_gate *g)
{
	if (g == NULL)
		return;
	while (g->conns != NULL) { /* only records never attached */
		struct gate_conn *c = g->conns;

		g->conns = c->next;
		event_del(&c->attach);
		evtimer_del(&c->deadline);
		free(c);
	}
	for (struct http_gate **p = &gates; *p != NULL; p = &(*p)->next_gate)
		if (*p == g) {
			*p = g->next_gate;
			break;
		}
	evtimer_del(&g->pause);
	htab_free(&g->by_evcon);
	free(g);
}
