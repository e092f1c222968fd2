/*
 * The messenger bridge: an evhttp server on the service's libevent loop.
 *
 *   POST /v1/messages   signed JSON message -> intake -> 200 after COMMIT
 *   GET  /healthz       200/503 from the service's health callback
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

#include "meterline/intake.h"

struct event_base;
struct metrics;

#define HTTP_LISTEN_MAX 255
#define HTTP_SECRET_MAX 255

/* Everything the server needs; http_cfg_defaults() then fill from config. */
struct http_cfg {
	char listen[HTTP_LISTEN_MAX +
	    1]; /* "127.0.0.1:8080", "[::1]:8080", port 0 = any */
	char admin_listen[HTTP_LISTEN_MAX +
	    1]; /* "" = /healthz, /metrics on listen */
	unsigned char
	    secret[HTTP_SECRET_MAX + 1]; /* HMAC-SHA256 key (raw bytes) */
	size_t secret_len; /* must be > 0 */
	int rate_per_minute; /* per (channel, from); 0 = no limit */
	int rate_burst; /* bucket size; 0 = rate_per_minute */
	size_t rate_slots; /* senders remembered (fixed table) */
	size_t max_body; /* larger -> 413 (JSON) */
	size_t hard_max_body; /* larger -> evhttp's own 413, body not read;
					   raised to 4 x max_body if below */
	size_t max_headers; /* bytes of request line + headers */
	size_t max_text; /* bytes of "text" */
	int timeout; /* seconds: idle, slow request, slow write */
	int reply_timeout; /* seconds the intake may take before 503 */
	int retry_after; /* seconds in Retry-After of a 503 */
	size_t max_inflight; /* submitted, not yet answered; beyond -> 503 */
};

/*
 * Defaults: listen 127.0.0.1:8080, no admin listener, 20 messages per
 * minute per sender (burst 20) over 65536 slots, body 16 KiB (hard 64 KiB),
 * headers 8 KiB, text 4 KiB, timeout 10 s, reply timeout 30 s,
 * Retry-After 5 s, 4096 in flight. The secret is left empty.
 */
void http_cfg_defaults(struct http_cfg *);

/* One line of the health status: {"database":"up"}. */
struct http_health_item {
	const char *name; /* "database", "smpp" */
	const char *state; /* "up", "down", "bound", "unbound"... */
	bool ok;
};

/*
 * Fill at most max items describing the service's health and return how
 * many. /healthz answers 200 when every item is ok, else 503.
 */
typedef size_t (*http_health_cb)(
    struct http_health_item *items, size_t max, void *arg);

struct http_intake_deps {
	const struct intake
	    *intake; /* where messages go (borrowed, required) */
	struct metrics
	    *metrics; /* registry for /metrics (borrowed, may be NULL) */
	http_health_cb health; /* NULL: always healthy */
	void *health_arg;
};

struct http_intake;

/*
 * Bind the listener(s) and serve on base. cfg and deps are copied (the
 * intake struct too; its ctx is borrowed). Returns NULL with the reason in
 * err when an address cannot be parsed or bound, or cfg is invalid.
 * Registers its metric families in deps->metrics.
 */
struct http_intake *
http_intake_new(struct event_base *, const struct http_cfg *,
    const struct http_intake_deps *, char *err, size_t errlen);

/* The bound ports (useful with port 0); admin is 0 without an admin listener. */
int http_intake_port(const struct http_intake *);
int http_intake_admin_port(const struct http_intake *);

/* Messages submitted and not yet answered. */
size_t http_intake_inflight(const struct http_intake *);

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

/* ---- building blocks, exposed for tests (src/io/http_check.c) ---- */

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
