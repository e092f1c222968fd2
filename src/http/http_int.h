/*
 * What http_intake.c shares with the other files of src/http (the route
 * hook, http_route.c). Private to src/http.
 */
#ifndef METERLINE_HTTP_INT_H
#define METERLINE_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evhttp;
struct evhttp_request;
struct http_intake;
struct http_routes;

/* The start of every dispatch callback (gate, framing); false: answered. */
bool
http_request_begin(struct http_intake *, struct evhttp_request *, int64_t t0);
/* One reply per request (req is gone afterwards), counted in metrics. */
void http_send(struct http_intake *, struct evhttp_request *, int code,
    const char *ctype, const char *body, size_t len, int retry_after,
    int64_t t0_us);
/* {"error":error,"detail":detail} */
void http_error(struct http_intake *, struct evhttp_request *, int code,
    const char *error, const char *detail, int retry_after, int64_t t0_us);

struct evhttp *http_intake_main(struct http_intake *);
size_t http_intake_max_body(const struct http_intake *);
/* The intake's route set, created by the first http_intake_route. */
struct http_routes **http_intake_routes(struct http_intake *);

/* Requests held by routes, not yet answered (NULL-safe). */
size_t http_routes_waiting(const struct http_routes *);
/* Answer what is held with 503 and free the set (NULL-safe). */
void http_routes_free(struct http_routes *);

#endif
