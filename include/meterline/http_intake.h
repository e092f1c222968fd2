/*
 * The messenger bridge: an evhttp server on the service's libevent loop.
 *
 *   POST /v1/messages   signed JSON message -> intake -> 200 after COMMIT
 *   GET  /healthz       200/503 from the service's health callback
 *   GET  /healthz/sms   the same, counting the SMS channel's checks too
 *   GET  /metrics       Prometheus text from the metrics registry
 *
 * Health and metrics are served on the main listener, or only on a
 * separate admin listener when one is configured. docs/http.md is the
 * API for bridge developers.
 */
#ifndef METERLINE_HTTP_INTAKE_H
#define METERLINE_HTTP_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/config.h"
#include "meterline/intake.h"

struct event_base;
struct metrics;

/*
 * The intake runs on struct config_http (config.h) as loaded: the [http]
 * keys, their defaults and bounds have one home, the key table of
 * src/core/config.c. What follows are the settings that are not config
 * keys: limits and timers with built-in values that tests shorten.
 * http_tuning_defaults() is the only home of those values.
 */
struct http_tuning {
	/* senders the rate limiter remembers (a fixed table), 65536 */
	size_t rate_slots;
	/*
	 * Bodies above this get evhttp's own 413 without being read, 64 KiB;
	 * raised to 4 x the config's max_body if below.
	 */
	size_t hard_max_body;
	/* bytes of request line + headers, 8 KiB */
	size_t max_headers;
	/* bytes of "text", 4 KiB */
	size_t max_text;
	/*
	 * Descriptors kept free for everything but HTTP connections (the
	 * store's PostgreSQL connections, the SMSC link, listeners, logs) when
	 * max_connections is derived from RLIMIT_NOFILE, 128.
	 */
	size_t fd_reserve;
	/* open connections on the admin listener, 32 */
	size_t admin_max_connections;
	/* milliseconds accepting pauses after an accept() error, 250 */
	int accept_pause_ms;
	/* seconds between log lines about accept() errors, 10 */
	int accept_log_interval;
	/* seconds the intake may take before a 503, 30 */
	int reply_timeout;
	/* seconds in the Retry-After of a 503, 5 */
	int retry_after;
	/* messages submitted and not yet answered; beyond -> 503, 4096 */
	size_t max_inflight;
};

void http_tuning_defaults(struct http_tuning *);

/* One line of the health status: {"database":"up"}. */
struct http_health_item {
	const char *name; /* "database", "smpp" */
	const char *state; /* "up", "down", "bound", "unbound"... */
	bool ok;
	/*
	 * NULL: every channel needs it (the database). Else the one channel
	 * that does ("sms" for the SMPP link): /healthz shows it but answers
	 * 200 without it, so a load balancer in front of the messenger
	 * webhooks keeps them flowing during an SMSC outage.
	 */
	const char *channel;
};

/*
 * Fill at most max items describing the service's health and return how
 * many. /healthz answers 200 when every item with no channel is ok, else
 * 503; /healthz/sms also requires the items of channel "sms".
 */
typedef size_t (*http_health_cb)(
    struct http_health_item *items, size_t max, void *arg);

struct http_intake_deps {
	/* where messages go (borrowed, required) */
	const struct intake *intake;
	/* registry for /metrics (borrowed, may be NULL) */
	struct metrics *metrics;
	/* NULL: always healthy */
	http_health_cb health;
	void *health_arg;
};

struct http_intake;

/*
 * Bind the listener(s) and serve on base. cfg, tuning and deps are copied
 * (the intake struct too; its ctx is borrowed); tuning NULL means
 * http_tuning_defaults(). cfg is trusted as config_load left it. Returns
 * NULL with the reason in err when an address cannot be parsed or bound,
 * the secret is empty, or tuning is out of range. Registers its metric
 * families in deps->metrics.
 */
struct http_intake *http_intake_new(struct event_base *,
    const struct config_http *cfg, const struct http_tuning *tuning,
    const struct http_intake_deps *, char *err, size_t errlen);

/* The bound ports (useful with port 0); admin is 0 without an admin listener. */
int http_intake_port(const struct http_intake *);
int http_intake_admin_port(const struct http_intake *);

/* Messages submitted and not yet answered. */
size_t http_intake_inflight(const struct http_intake *);

/* Open connections on the main listener, and its cap after clamping
 * (max_connections, or derived from RLIMIT_NOFILE). */
size_t http_intake_connections(const struct http_intake *);
size_t http_intake_max_connections(const struct http_intake *);

/*
 * The connection cap for cfg and tuning: cfg->max_connections, at most the
 * soft RLIMIT_NOFILE minus tuning->fd_reserve and the admin listener's
 * cap (0 = exactly that), at least 1.
 */
size_t http_max_connections(
    const struct config_http *cfg, const struct http_tuning *tuning);

/*
 * Graceful stop, first step: close the listeners, so no new connection is
 * accepted. Requests in flight still get their answers; wait for
 * http_intake_inflight() to reach 0 (with a deadline), then free.
 */
void http_intake_stop(struct http_intake *);

/*
 * Free the server. Requests still waiting for the intake are answered 503
 * at once; their done callbacks, when they come later, are harmless (the
 * intake must still call them). NULL-safe.
 */
void http_intake_free(struct http_intake *);

/* ---- routes: more POST paths on the main listener (channel webhooks) ---- */

/*
 * One request to a route, from its callback until http_exchange_reply.
 * Before the callback the intake has checked framing, method (POST, else
 * 405), Content-Type (application/json, else 415) and size (max_body,
 * else 413); the callback checks the rest and answers once, now or later.
 */
struct http_exchange;
typedef void (*http_route_cb)(struct http_exchange *, void *arg);

/*
 * Serve path on the main listener with cb. 0, or -1 with why in err (the
 * path is taken or not "/..."). Routes stay until http_intake_free.
 */
int http_intake_route(struct http_intake *, const char *path, http_route_cb cb,
    void *arg, char *err, size_t errlen);

/* A request header (NULL if absent) and the body; valid in the callback
 * only. */
const char *http_exchange_header(const struct http_exchange *, const char *);
const char *http_exchange_body(const struct http_exchange *, size_t *len);

/*
 * Answer with code and a JSON body (NULL: {"ok":true} for 2xx), and a
 * Retry-After when retry_after > 0. Frees x. After http_intake_free the
 * request was answered 503 already: this only frees x.
 */
void http_exchange_reply(
    struct http_exchange *, int code, const char *json, int retry_after);

/* ---- building blocks, exposed for tests (src/http/http_check.c) ---- */

/* Parse RFC 3339 "2024-05-18T09:30:00.250+03:00" (offset or Z required)
 * into Unix microseconds. Returns 0 or -1. */
int http_parse_rfc3339(const char *s, int64_t *us);

/* Whether a Content-Type value is application/json (any case, optional
 * parameters; a charset other than utf-8 is refused). */
bool http_content_type_json(const char *value);

enum http_sig {
	HTTP_SIG_OK,
	HTTP_SIG_MISSING, /* no header */
	HTTP_SIG_MALFORMED, /* not sha256=<64 hex>: truncated, other scheme */
	HTTP_SIG_MISMATCH, /* well formed, wrong */
};

/* Check "sha256=<hex HMAC-SHA256(secret, body)>" in constant time. */
enum http_sig http_signature_check(const char *header, const void *body,
    size_t len, const unsigned char *secret, size_t secret_len);

/*
 * The same for a request with X-Meterline-Timestamp: the MAC is over
 * "<timestamp>.<body>" (ts NULL: over the body alone, as above).
 */
enum http_sig
http_signature_check_ts(const char *header, const char *ts, const void *body,
    size_t len, const unsigned char *secret, size_t secret_len);
void http_signature_hex_ts(const char *ts, const void *body, size_t len,
    const unsigned char *secret, size_t secret_len, char hex[65]);

/* X-Meterline-Timestamp: 1..12 decimal digits, Unix seconds. 0 or -1. */
int http_parse_unix_time(const char *s, int64_t *secs);

/* Lowercase hex HMAC-SHA256 of body into hex[65]. */
void http_signature_hex(const void *body, size_t len,
    const unsigned char *secret, size_t secret_len, char hex[65]);

/*
 * The same with the key prepared once (about 3x faster than the one-shot
 * functions above, which look the algorithm up on every call). One signer
 * per thread.
 */
struct http_signer;

struct http_signer *http_signer_new(const unsigned char *secret, size_t len);
void http_signer_free(struct http_signer *); /* NULL-safe */
enum http_sig http_signer_check(
    struct http_signer *, const char *header, const void *body, size_t len);
void http_signer_hex(
    struct http_signer *, const void *body, size_t len, char hex[65]);
enum http_sig http_signer_check_ts(struct http_signer *, const char *header,
    const char *ts, const void *body, size_t len);
void http_signer_hex_ts(struct http_signer *, const char *ts, const void *body,
    size_t len, char hex[65]);

/* Whether a channel name is acceptable from the bridge: [a-z0-9_-]{1,32},
 * and not one of the internal channels "sms" and "replay". */
bool http_channel_ok(const char *channel);

/* A request body, parsed and validated; the strings belong to the parser. */
struct http_msg {
	const char *id, *channel, *from, *to, *text, *timestamp;
	size_t text_len;
	int64_t time_us; /* timestamp in Unix microseconds */
	void *json_; /* private: owns the strings */
};

/*
 * Parse a request body with jansson and check every field: strings, ids
 * and addresses 1..128 bytes without control characters, a valid channel,
 * text at most max_text bytes of UTF-8 (jansson rejects invalid UTF-8 and
 * NUL), an RFC 3339 timestamp. Unknown fields are ignored. Returns 0, or
 * -1 with a static error code ("malformed_json", "missing_field",
 * "invalid_field", "text_too_long", "bad_timestamp") and a detail; the
 * message is cleared on error.
 */
int http_msg_parse(struct http_msg *, const char *body, size_t len,
    size_t max_text, const char **error, char *detail, size_t detaillen);
void http_msg_clear(struct http_msg *); /* NULL-safe, idempotent */

/*
 * Per-sender rate limiting: a token bucket per key, in a fixed-size table
 * (open addressing, short probe). A key whose bucket has refilled is
 * forgotten; when the probe window is full the least recently seen key is
 * evicted, so memory never grows.
 */
struct http_ratelimit;

struct http_ratelimit *
http_ratelimit_new(size_t slots, int per_minute, int burst);
void http_ratelimit_free(struct http_ratelimit *);

/* Take one token for key at now_us. Returns 0, or the seconds (>= 1) until
 * a token is available. */
int http_ratelimit_take(
    struct http_ratelimit *, const void *key, size_t len, int64_t now_us);

/* Give back a token taken for key (the message was not accepted). */
void http_ratelimit_refund(
    struct http_ratelimit *, const void *key, size_t len, int64_t now_us);

/* Keys currently remembered. */
size_t http_ratelimit_used(const struct http_ratelimit *);

#endif
