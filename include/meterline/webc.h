/*
 * Outbound HTTP(S) on the service's libevent loop: libcurl's multi
 * interface driven by libevent (its sockets and its timer become events).
 *
 * Why libcurl: TLS with the system's trust store (the platforms' and
 * Минцифры's CAs), HTTP/1.1 keep-alive and connection reuse per host,
 * proxies, timeouts and size limits are all well-kept there (Debian
 * libcurl4-openssl-dev, the same OpenSSL as the rest); its multi socket
 * API needs no thread of its own. docs/channels.md.
 *
 * One request in, one callback out: webc_send() queues the request and
 * returns; done runs exactly once, later, from the loop (never from inside
 * webc_send), with the status and body, or status 0 and a reason when no
 * HTTP answer came (refused, timed out, too large, cancelled).
 */
#ifndef METERLINE_WEBC_H
#define METERLINE_WEBC_H

#include <stddef.h>

struct event_base;
struct webc;

struct webc_opts {
	int max_host_conns; /* 0: 16 connections per host */
	int connect_timeout_ms; /* 0: 5,000 */
	int timeout_ms; /* 0: 30,000 per request, unless the request's own */
	size_t max_body; /* 0: 1 MiB of response body, unless the request's */
	/* trust anchors (PEM); NULL: the system's. Tests use their own. */
	const char *ca_file;
};

struct webc_req {
	const char *method; /* "GET", "POST" */
	const char *url;
	/* "Name: value" lines, NULL-terminated; may be NULL */
	const char *const *headers;
	const void *body; /* copied; NULL with len 0: none */
	size_t len;
	int timeout_ms; /* 0: the client's */
	size_t max_body; /* 0: the client's; a larger answer fails */
};

struct webc_resp {
	int status; /* HTTP status; 0 when there was no answer */
	const char *body; /* NUL-terminated, len bytes (may be "") */
	size_t len;
	/* the Retry-After header in seconds, or -1 */
	int retry_after;
	/* why status is 0 ("timeout", "refused", "too_large", "cancelled",
	   curl's text otherwise); NULL with an answer */
	const char *error;
};

/* The response is borrowed for the callback's duration. */
typedef void (*webc_done_cb)(const struct webc_resp *, void *arg);

/* NULL when libcurl cannot be set up (logged). */
struct webc *webc_new(struct event_base *, const struct webc_opts *);

/*
 * Free the client: requests in flight get done with status 0, "cancelled"
 * (from inside webc_free), so their owners must still be alive. NULL-safe.
 */
void webc_free(struct webc *);

/* Queue a request. 0, or -1 (bad request: done never runs). */
int webc_send(struct webc *, const struct webc_req *, webc_done_cb, void *arg);

/* Requests queued or in flight. */
size_t webc_inflight(const struct webc *);

/*
 * Escape s for a URL path segment or query value (RFC 3986 unreserved
 * kept) into out; returns the length, or -1 if it does not fit.
 */
int webc_escape(const char *s, char *out, size_t outlen);

#endif
