/*
 * The gate in front of one evhttp listener (the bridge's, and the
 * console's in src/console): a cap on open connections (at the cap a new
 * connection closes the oldest one not waiting for an answer), a deadline
 * for each request (first byte to last), and accept errors that pause
 * accepting instead of spinning.
 *
 * evhttp has no hook at accept time that exposes the connection: its
 * bevcb only creates the bufferevent. So the gate creates it, remembers
 * it, and right after the accept callback (an event made active in bevcb,
 * run in the same loop iteration) finds the evhttp connection that owns it
 * and sets that connection's close callback. A callback on the socket's
 * input buffer sees the first byte of each request.
 *
 * (A filter bufferevent would give both hooks without the deferral, but
 * libevent 2.1's filter tells evhttp "written" when a response reaches the
 * socket bufferevent, not the socket, and loses responses on close.)
 */
#ifndef METERLINE_HTTP_GATE_H
#define METERLINE_HTTP_GATE_H

#include <stddef.h>

struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;
struct metric_series;

struct http_gate_cfg {
	const char *name; /* "main", "admin": for the log */
	size_t max_conns; /* > 0 */
	int request_timeout; /* seconds, > 0 */
	int accept_pause_ms; /* after an accept error, > 0 */
	int log_interval; /* seconds between accept-error lines, > 0 */
	/* metrics, each may be NULL */
	struct metric_series *m_open; /* gauge: open connections */
	struct metric_series *m_accepted; /* counter: accepted */
	struct metric_series *m_deadline; /* counter: closed at the deadline */
	struct metric_series *m_full; /* counter: listener paused at the cap */
	struct metric_series *m_evicted; /* counter: closed to make room */
	struct metric_series *m_accept_err; /* counter: accept() failures */
};

struct http_gate;

/* Take over connection setup of http and the errors of sock's listener. */
struct http_gate *http_gate_new(struct event_base *, struct evhttp *,
    struct evhttp_bound_socket *, const struct http_gate_cfg *);

/* req is complete and handed to us: its connection's deadline is off. */
void http_gate_dispatched(struct http_gate *, struct evhttp_request *);

/* The listener is gone (http_intake_stop): never enable it again. */
void http_gate_unbind(struct http_gate *);

/* Connections open now. */
size_t http_gate_open(const struct http_gate *);

/* Before evhttp_free: connections closed later only free their record. */
void http_gate_free(struct http_gate *); /* NULL-safe */

#endif
