/*
 * The route hook (include/meterline/http_intake.h): more POST paths on the
 * main listener, for channels whose platform calls us (Telegram, MAX).
 *
 * The intake keeps what every request needs (gate, framing, method, type,
 * size, metrics, the stop); the channel's callback gets the rest. Each
 * request held for a later answer is an exchange in a list, so a stop
 * waits for it and a free answers it 503.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http_int.h"
#include "meterline/clock.h"
#include "meterline/http_intake.h"
#include "meterline/xmalloc.h"

struct http_route {
	struct http_routes *set;
	http_route_cb cb;
	void *arg;
};

struct http_exchange {
	struct http_routes *set; /* NULL once the set is freed */
	struct evhttp_request *req;
	int64_t t0;
	struct http_exchange *prev, *next;
};

struct http_routes {
	struct http_intake *srv;
	struct http_route **routes;
	size_t nroutes;
	struct http_exchange *held;
	size_t nheld;
};

static void
http_route_dispatch(struct evhttp_request *req, void *arg)
{
	struct http_route *r = arg;
	struct http_intake *srv = r->set->srv;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *ctype = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	int64_t t0 = clock_mono_us();
	struct http_exchange *x;

	if (!http_request_begin(srv, req, t0))
		return;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Allow", "POST");
		http_error(
		    srv, req, 405, "method_not_allowed", "use POST", 0, t0);
		return;
	}
	if (ctype == NULL || !http_content_type_json(ctype)) {
		http_error(srv, req, 415, "unsupported_media_type",
		    "Content-Type must be application/json", 0, t0);
		return;
	}
	if (evbuffer_get_length(in) > http_intake_max_body(srv)) {
		http_error(srv, req, 413, "body_too_large", NULL, 0, t0);
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->set = r->set;
	x->req = req;
	x->t0 = t0;
	x->next = r->set->held;
	if (x->next != NULL)
		x->next->prev = x;
	r->set->held = x;
	r->set->nheld++;
	r->cb(x, r->arg);
}

int
http_intake_route(struct http_intake *srv, const char *path, http_route_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct http_routes **setp = http_intake_routes(srv);
	struct http_route *r;

	if (path == NULL || path[0] != '/' || cb == NULL) {
		snprintf(err, errlen, "http: route path must start with /");
		return -1;
	}
	if (*setp == NULL) {
		*setp = xcalloc(1, sizeof(**setp));
		(*setp)->srv = srv;
	}
	r = xcalloc(1, sizeof(*r));
	r->set = *setp;
	r->cb = cb;
	r->arg = arg;
	if (evhttp_set_cb(
	        http_intake_main(srv), path, http_route_dispatch, r) != 0) {
		snprintf(err, errlen, "http: path %s is taken", path);
		free(r);
		return -1;
	}
	(*setp)->routes = xrealloc(
	    (*setp)->routes, ((*setp)->nroutes + 1) * sizeof(*(*setp)->routes));
	(*setp)->routes[(*setp)->nroutes++] = r;
	return 0;
}

const char *
http_exchange_header(const struct http_exchange *x, const char *name)
{
	if (x->req == NULL)
		return NULL;
	return evhttp_find_header(
	    evhttp_request_get_input_headers(x->req), name);
}

const char *
http_exchange_body(const struct http_exchange *x, size_t *len)
{
	struct evbuffer *in;

	*len = 0;
	if (x->req == NULL)
		return "";
	in = evhttp_request_get_input_buffer(x->req);
	*len = evbuffer_get_length(in);
	return *len ? (const char *)evbuffer_pullup(in, -1) : "";
}

/* Take x out of its set's list (it stays allocated). */
static void
http_exchange_unlink(struct http_exchange *x)
{
	struct http_routes *set = x->set;

	if (set == NULL)
		return;
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		set->held = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	set->nheld--;
	x->set = NULL;
	x->prev = x->next = NULL;
}

void
http_exchange_reply(
    struct http_exchange *x, int code, const char *json, int retry_after)
{
	struct http_routes *set = x->set;

	if (set != NULL && x->req != NULL) {
		if (json == NULL)
			json = code < 300 ? "{\"ok\":true}" : "{}";
		http_send(set->srv, x->req, code, "application/json", json,
		    strlen(json), retry_after, x->t0);
	}
	http_exchange_unlink(x);
	free(x);
}

size_t
http_routes_waiting(const struct http_routes *set)
{
	return set != NULL ? set->nheld : 0;
}

void
http_routes_free(struct http_routes *set)
{
	static const char body[] =
	    "{\"error\":\"shutting_down\",\"detail\":\"retry\"}";

	if (set == NULL)
		return;
	/* The channels still call http_exchange_reply for each: it then
	 * only frees the orphan. */
	while (set->held != NULL) {
		struct http_exchange *x = set->held;

		http_send(set->srv, x->req, 503, "application/json", body,
		    sizeof(body) - 1, 5, x->t0);
		x->req = NULL;
		http_exchange_unlink(x);
	}
	for (size_t i = 0; i < set->nroutes; i++)
		free(set->routes[i]);
	free(set->routes);
	free(set);
}
