/*
 * webc against a local evhttp server on 127.0.0.1 (port 0), one loop for
 * both: a GET, a POST whose body and header come back, Retry-After of a
 * 429, the size cap, a timeout, a refused connection, cancellation by
 * webc_free, many requests at once over few connections, and the escape.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "meterline/webc.h"

static struct {
	struct event_base *base;
	struct evhttp *http;
	int port;
	struct evhttp_request *held; /* /hang: never answered */
} S;

struct got {
	int calls, status, retry_after;
	char body[256], error[64];
	size_t len;
};

static void
srv_cb(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out = evbuffer_new();

	(void)arg;
	if (strcmp(uri, "/hang") == 0) {
		S.held = req;
		evbuffer_free(out);
		return;
	}
	if (strcmp(uri, "/echo") == 0) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		const char *h = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "X-Test");

		evbuffer_add_printf(out, "%s|", h ? h : "-");
		evbuffer_add_buffer(out, in);
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/429") == 0) {
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Retry-After", "7");
		evbuffer_add_printf(out, "{\"ok\":false}");
		evhttp_send_reply(req, 429, "Too Many", out);
	} else if (strcmp(uri, "/big") == 0) {
		for (int i = 0; i < 5000; i++)
			evbuffer_add_printf(out, "0123456789");
		evhttp_send_reply(req, 200, "OK", out);
	} else {
		evbuffer_add_printf(out, "hello");
		evhttp_send_reply(req, 200, "OK", out);
	}
	evbuffer_free(out);
}

static int
setup(void **state)
{
	struct evhttp_bound_socket *s;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	(void)state;
	memset(&S, 0, sizeof(S));
	S.base = event_base_new();
	S.http = evhttp_new(S.base);
	evhttp_set_gencb(S.http, srv_cb, NULL);
	s = evhttp_bind_socket_with_handle(S.http, "127.0.0.1", 0);
	assert_non_null(s);
	getsockname(
	    evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin, &len);
	S.port = ntohs(sin.sin_port);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	evhttp_free(S.http);
	event_base_free(S.base);
	return 0;
}

static void
done_cb(const struct webc_resp *r, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->status = r->status;
	g->retry_after = r->retry_after;
	g->len = r->len;
	snprintf(g->body, sizeof(g->body), "%.*s", (int)r->len, r->body);
	snprintf(g->error, sizeof(g->error), "%s", r->error ? r->error : "");
}

/* Run the loop until g has its answer (or 10 s). */
static void
run_until(struct got *g)
{
	for (int i = 0; i < 1000 && g->calls == 0; i++)
		event_base_loop(S.base, EVLOOP_ONCE);
}

static void
url(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "http://127.0.0.1:%d%s", S.port, path);
}

static void
test_get_and_post(void **state)
{
	struct webc *wc = webc_new(S.base, NULL);
	const char *hdrs[] = { "X-Test: yes", NULL };
	struct got g1 = { 0 }, g2 = { 0 };
	char u1[64], u2[64];

	(void)state;
	url(u1, sizeof(u1), "/");
	url(u2, sizeof(u2), "/echo");
	assert_int_equal(
	    webc_send(wc, &(struct webc_req){ "GET", u1 }, done_cb, &g1), 0);
	assert_int_equal(g1.calls, 0); /* never from inside webc_send */
	assert_int_equal(webc_send(wc,
	                     &(struct webc_req){ .method = "POST",
	                         .url = u2,
	                         .headers = hdrs,
	                         .body = "{\"a\":1}",
	                         .len = 7 },
	                     done_cb, &g2),
	    0);
	assert_int_equal(webc_inflight(wc), 2);
	run_until(&g1);
	run_until(&g2);
	assert_int_equal(g1.status, 200);
	assert_string_equal(g1.body, "hello");
	assert_int_equal(g1.retry_after, -1);
	assert_int_equal(g2.status, 200);
	assert_string_equal(g2.body, "yes|{\"a\":1}");
	assert_int_equal(webc_inflight(wc), 0);
	webc_free(wc);
}

static void
test_retry_after_and_cap(void **state)
{
	struct webc *wc = webc_new(S.base, NULL);
	struct got g1 = { 0 }, g2 = { 0 };
	char u1[64], u2[64];

	(void)state;
	url(u1, sizeof(u1), "/429");
	url(u2, sizeof(u2), "/big");
	webc_send(wc, &(struct webc_req){ "GET", u1 }, done_cb, &g1);
	webc_send(wc,
	    &(struct webc_req){ .method = "GET", .url = u2, .max_body = 1000 },
	    done_cb, &g2);
	run_until(&g1);
	run_until(&g2);
	assert_int_equal(g1.status, 429);
	assert_int_equal(g1.retry_after, 7);
	assert_int_equal(g2.status, 0);
	assert_string_equal(g2.error, "too_large");
	webc_free(wc);
}

static void
test_timeout_refused_cancel(void **state)
{
	struct webc *wc = webc_new(S.base, NULL);
	struct got g1 = { 0 }, g2 = { 0 }, g3 = { 0 };
	char u1[64], u3[64];

	(void)state;
	url(u1, sizeof(u1), "/hang");
	webc_send(wc,
	    &(struct webc_req){ .method = "GET", .url = u1, .timeout_ms = 300 },
	    done_cb, &g1);
	/* port 9 (discard) is closed on the test machine */
	webc_send(wc, &(struct webc_req){ "GET", "http://127.0.0.1:9/" },
	    done_cb, &g2);
	run_until(&g1);
	run_until(&g2);
	assert_int_equal(g1.status, 0);
	assert_string_equal(g1.error, "timeout");
	assert_int_equal(g2.status, 0);
	assert_string_equal(g2.error, "refused");
	url(u3, sizeof(u3), "/hang");
	webc_send(wc, &(struct webc_req){ "GET", u3 }, done_cb, &g3);
	for (int i = 0; i < 20; i++)
		event_base_loop(S.base, EVLOOP_NONBLOCK);
	webc_free(wc);
	assert_int_equal(g3.calls, 1);
	assert_string_equal(g3.error, "cancelled");
}

static void
test_many(void **state)
{
	struct webc_opts o = { .max_host_conns = 4 };
	struct webc *wc = webc_new(S.base, &o);
	static struct got g[300];
	char u[64];
	int done = 0;

	(void)state;
	memset(g, 0, sizeof(g));
	url(u, sizeof(u), "/");
	for (int i = 0; i < 300; i++)
		assert_int_equal(webc_send(wc, &(struct webc_req){ "GET", u },
		                     done_cb, &g[i]),
		    0);
	for (int k = 0; k < 20000 && done < 300; k++) {
		event_base_loop(S.base, EVLOOP_ONCE);
		done = 0;
		for (int i = 0; i < 300; i++)
			done += g[i].calls == 1 && g[i].status == 200;
	}
	assert_int_equal(done, 300);
	webc_free(wc);
}

static void
test_escape(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(webc_escape("AgAD-x_1.~", out, sizeof(out)), 10);
	assert_string_equal(out, "AgAD-x_1.~");
	assert_int_equal(webc_escape("a b/c?&=", out, sizeof(out)), 18);
	assert_string_equal(out, "a%20b%2Fc%3F%26%3D");
	assert_int_equal(webc_escape("abcdef", out, 4), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_get_and_post, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_retry_after_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_timeout_refused_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
