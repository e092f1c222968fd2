/*
 * The HTTP intake over real TCP on 127.0.0.1 (port 0), on one libevent loop
 * with a fake intake that answers by script: the message text says what the
 * "store" does ("tempfail", "refuse", "never", "delay:<ms>"; anything else
 * is accepted after a tick). Like the real store, the fake remembers ids and
 * answers a repeated (channel, id) with DUPLICATE and the original result.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "meterline/http_intake.h"
#include "meterline/intake.h"
#include "meterline/log.h"
#include "meterline/metrics.h"

#define SECRET "test-secret"
#define REPLY_OK "Показания приняты. Спасибо."
#define FAKE_MAX 4096

/* ---- the fake intake ---- */

struct fake_seen {
	char channel[40], id[140];
};

struct fake_job {
	intake_done_cb done;
	void *arg;
	enum intake_status status;
	struct event *ev;
};

static struct {
	int submits, outstanding;
	struct fake_seen seen[FAKE_MAX];
	int nseen;
	struct inbound_msg last; /* strings copied below */
	char last_channel[40], last_sender[140], last_recipient[140];
	char last_text[8192], last_id[140];
	struct fake_job *never[16];
	int nnever;
} fake;

static struct event_base *base;
static struct metrics *reg;
static struct http_intake *srv;
static struct config_http cfg;
static struct http_tuning tune;
static bool health_ok = true;
static bool smpp_bound = true;

static void
fake_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_job *j = arg;
	struct intake_result r = { j->status, NULL, NULL, NULL, 0 };

	(void)fd;
	(void)what;
	if (j->status != INTAKE_TEMPFAIL) {
		r.outcome = "accepted";
		r.reply = REPLY_OK;
		r.message_id = 1;
	}
	fake.outstanding--;
	if (j->ev)
		event_free(j->ev);
	j->done(&r, j->arg);
	free(j);
}

/* Whether (channel, id) was stored before; remembers it if not. */
static bool
fake_dup(const struct inbound_msg *m)
{
	for (int i = 0; i < fake.nseen; i++)
		if (strcmp(fake.seen[i].channel, m->channel) == 0 &&
		    strcmp(fake.seen[i].id, m->external_id) == 0)
			return true;
	if (fake.nseen < FAKE_MAX) {
		snprintf(fake.seen[fake.nseen].channel, 40, "%s", m->channel);
		snprintf(fake.seen[fake.nseen].id, 140, "%s", m->external_id);
		fake.nseen++;
	}
	return false;
}

static void
fake_copy(const struct inbound_msg *m)
{
	fake.last = *m;
	snprintf(
	    fake.last_channel, sizeof(fake.last_channel), "%s", m->channel);
	snprintf(fake.last_sender, sizeof(fake.last_sender), "%s", m->sender);
	snprintf(fake.last_recipient, sizeof(fake.last_recipient), "%s",
	    m->recipient);
	snprintf(fake.last_text, sizeof(fake.last_text), "%.*s",
	    (int)m->text_len, m->text);
	snprintf(fake.last_id, sizeof(fake.last_id), "%s", m->external_id);
}

static int
fake_submit(
    void *ctx, const struct inbound_msg *m, intake_done_cb done, void *arg)
{
	struct fake_job *j;
	struct timeval tv = { 0, 0 };

	(void)ctx;
	fake.submits++;
	fake_copy(m);
	if (strcmp(fake.last_text, "refuse") == 0)
		return -1;
	j = calloc(1, sizeof(*j));
	j->done = done;
	j->arg = arg;
	fake.outstanding++;
	if (strcmp(fake.last_text, "never") == 0) {
		fake.never[fake.nnever++] = j;
		return 0;
	}
	if (strcmp(fake.last_text, "tempfail") == 0)
		j->status = INTAKE_TEMPFAIL;
	else
		j->status = fake_dup(m) ? INTAKE_DUPLICATE : INTAKE_APPLIED;
	if (strncmp(fake.last_text, "delay:", 6) == 0) {
		long ms = atol(fake.last_text + 6);

		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
	}
	j->ev = evtimer_new(base, fake_fire, j);
	evtimer_add(j->ev, &tv);
	return 0;
}

static const struct intake fake_intake = { fake_submit, NULL };

static size_t
health(struct http_health_item *items, size_t max, void *arg)
{
	(void)arg;
	assert_true(max >= 2);
	items[0] = (struct http_health_item){ "database",
		health_ok ? "up" : "down", health_ok, NULL };
	items[1] = (struct http_health_item){ "smpp",
		smpp_bound ? "bound" : "unbound", smpp_bound, "sms" };
	return 2;
}

/* ---- the loop ---- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until pred(arg) or ms elapse; returns pred(arg). */
static bool
run_until(bool (*pred)(void *), void *arg, int ms)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = { 0, 5000 };
	int64_t deadline = now_ms() + ms;

	event_add(tick, &tv);
	while (!pred(arg) && now_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	return pred(arg);
}

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

static void
run_for(int ms)
{
	run_until(never, NULL, ms);
}

static bool
fake_idle(void *arg)
{
	(void)arg;
	return fake.outstanding == fake.nnever;
}

/* ---- a small raw HTTP/1.1 client on bufferevents ---- */

struct resp {
	int status;
	char *head; /* status line and headers */
	char *body;
	size_t body_len;
};

struct tcl {
	struct bufferevent *bev;
	int nresp;
	struct resp last;
	bool eof;
	void (*on_resp)(struct tcl *);
	int left; /* requests still to send (parallel test) */
	int ok; /* 200s received */
	int index;
};

static void
resp_clear(struct resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* A header's value from a response head (case-insensitive), or NULL. */
static const char *
hdr(const struct resp *r, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p && p[2];
	     p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;

			while (*v == ' ')
				v++;
			snprintf(buf, len, "%.*s", (int)(end - v), v);
			return buf;
		}
	}
	return NULL;
}

static void
tcl_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcl *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_ptr p =
		    evbuffer_search(in, "\r\n\r\n", 4, NULL);
		struct resp r;
		char cl[32];
		size_t hlen;
		long clen;

		if (p.pos < 0)
			return;
		hlen = (size_t)p.pos + 4;
		memset(&r, 0, sizeof(r));
		r.head = malloc(hlen + 1);
		evbuffer_copyout(in, r.head, hlen);
		r.head[hlen] = '\0';
		clen = hdr(&r, "Content-Length", cl, sizeof(cl)) ? atol(cl) : 0;
		if (evbuffer_get_length(in) < hlen + (size_t)clen) {
			free(r.head);
			return;
		}
		evbuffer_drain(in, hlen);
		r.body = malloc((size_t)clen + 1);
		evbuffer_remove(in, r.body, (size_t)clen);
		r.body[clen] = '\0';
		r.body_len = (size_t)clen;
		r.status = atoi(r.head + 9);
		resp_clear(&c->last);
		c->last = r;
		c->nresp++;
		if (c->on_resp)
			c->on_resp(c);
	}
}

static void
tcl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcl *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		c->eof = true;
}

static struct tcl *
tcl_new(int port)
{
	struct tcl *c = calloc(1, sizeof(*c));
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, tcl_read_cb, NULL, tcl_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	assert_int_equal(bufferevent_socket_connect(
	                     c->bev, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	return c;
}

static void
tcl_free(struct tcl *c)
{
	if (c == NULL)
		return;
	if (c->bev)
		bufferevent_free(c->bev);
	resp_clear(&c->last);
	free(c);
}

static void
tcl_send(struct tcl *c, const char *raw, size_t len)
{
	bufferevent_write(c->bev, raw, len);
}

struct wait_arg {
	struct tcl *c;
	int n;
};

static bool
got_response(void *arg)
{
	struct wait_arg *w = arg;

	return w->c->nresp > w->n || w->c->eof;
}

/* Send raw and wait for the next response (or EOF); the response or NULL. */
static struct resp *
tcl_exchange(struct tcl *c, const char *raw, size_t len)
{
	struct wait_arg w = { c, c->nresp };

	tcl_send(c, raw, len);
	run_until(got_response, &w, 5000);
	return c->nresp > w.n ? &c->last : NULL;
}

/* ---- requests ---- */

static char *
mkbody(const char *id, const char *channel, const char *from, const char *text)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "channel",
	    channel, "from", from, "to", "7377", "text", text, "timestamp",
	    "2024-05-18T09:30:00+03:00");
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}

/*
 * A raw request. sig: NULL = no signature header, "" = the right one,
 * anything else is sent as is. ctype NULL = no Content-Type.
 */
static char *
mkreq(const char *method, const char *path, const char *ctype, const char *sig,
    const char *body, size_t blen, size_t *outlen)
{
	char hex[65], head[1024];
	size_t hl;
	char *out;
	int n;

	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: test\r\n",
	    method, path);
	if (ctype)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Type: %s\r\n", ctype);
	if (sig && *sig == '\0') {
		http_signature_hex(body, blen, (const unsigned char *)SECRET,
		    strlen(SECRET), hex);
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "X-Meterline-Signature: sha256=%s\r\n", hex);
	} else if (sig) {
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "X-Meterline-Signature: %s\r\n", sig);
	}
	n += snprintf(head + n, sizeof(head) - (size_t)n,
	    "Content-Length: %zu\r\n\r\n", blen);
	hl = (size_t)n;
	out = malloc(hl + blen + 1);
	memcpy(out, head, hl);
	memcpy(out + hl, body, blen);
	out[hl + blen] = '\0';
	*outlen = hl + blen;
	return out;
}

/* POST a signed message on c; the response. */
static struct resp *
post_msg(struct tcl *c, const char *id, const char *from, const char *text)
{
	char *body = mkbody(id, "viber", from, text);
	size_t len;
	char *raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);
	struct resp *r = tcl_exchange(c, raw, len);

	free(raw);
	free(body);
	return r;
}

static struct resp *
simple(struct tcl *c, const char *method, const char *path)
{
	size_t len;
	char *raw = mkreq(method, path, NULL, NULL, "", 0, &len);
	struct resp *r = tcl_exchange(c, raw, len);

	free(raw);
	return r;
}

/* The body's "error" member, checking the body is {"error","detail"}. */
static const char *
error_of(const struct resp *r)
{
	static char buf[64];
	json_t *o = json_loadb(r->body, r->body_len, 0, NULL);

	assert_non_null(o);
	assert_true(json_is_string(json_object_get(o, "error")));
	assert_non_null(json_object_get(o, "detail"));
	snprintf(buf, sizeof(buf), "%s",
	    json_string_value(json_object_get(o, "error")));
	json_decref(o);
	return buf;
}

static double
metric(const char *series)
{
	char *text = metrics_render(reg, NULL), *p, key[256];
	double v = 0;

	snprintf(key, sizeof(key), "\n%s ", series);
	if ((p = strstr(text, key)) != NULL)
		v = atof(p + strlen(key));
	free(text);
	return v;
}

/* ---- fixture ---- */

/* test_cfg without assertions (for a forked child) */
static void
test_cfg_plain(struct config_http *c, struct http_tuning *t)
{
	struct config *conf = malloc(sizeof(*conf));

	if (conf == NULL)
		abort();
	config_defaults(conf); /* the [http] defaults of the key table */
	*c = conf->http;
	free(conf);
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:0");
	snprintf(c->secret, sizeof(c->secret), "%s", SECRET);
	http_tuning_defaults(t);
	c->idle_timeout = 1;
}

static void
test_cfg(struct config_http *c, struct http_tuning *t)
{
	test_cfg_plain(c, t);
}

static void
server_start(void)
{
	struct http_intake_deps deps = { &fake_intake, reg, health, NULL };
	char err[256] = "";

	srv = http_intake_new(base, &cfg, &tune, &deps, err, sizeof(err));
	if (srv == NULL)
		fail_msg("http_intake_new: %s", err);
}

static void
server_restart(void)
{
	http_intake_free(srv);
	server_start();
}

static int
setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	health_ok = true;
	base = event_base_new();
	reg = metrics_new();
	test_cfg(&cfg, &tune);
	server_start();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	http_intake_free(srv);
	srv = NULL;
	run_until(fake_idle, NULL, 5000);
	/* the store calls done for every message, even after the server is
	 * gone: that must be harmless */
	for (int i = 0; i < fake.nnever; i++) {
		fake.never[i]->status = INTAKE_TEMPFAIL;
		fake_fire(-1, 0, fake.never[i]);
	}
	assert_int_equal(fake.outstanding, 0);
	metrics_free(reg);
	event_base_free(base);
	return 0;
}

/* ---- tests ---- */

static void
test_post_ok(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct resp *r;
	json_t *o;
	char buf[64];

	(void)state;
	r = post_msg(c, "m-1", "79120000001", "ПС 102057522 11638");
	assert_non_null(r);
	assert_int_equal(r->status, 200);
	assert_string_equal(
	    hdr(r, "Content-Type", buf, sizeof(buf)), "application/json");
	o = json_loadb(r->body, r->body_len, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "m-1");
	assert_string_equal(
	    json_string_value(json_object_get(o, "outcome")), "accepted");
	assert_true(json_is_null(json_object_get(o, "reason")));
	assert_string_equal(
	    json_string_value(json_object_get(o, "reply")), REPLY_OK);
	json_decref(o);
	assert_int_equal(fake.submits, 1);
	assert_string_equal(fake.last_channel, "viber");
	assert_string_equal(fake.last_sender, "79120000001");
	assert_string_equal(fake.last_recipient, "7377");
	assert_string_equal(fake.last_text, "ПС 102057522 11638");
	assert_string_equal(fake.last_id, "m-1");
	assert_true(fake.last.time_us == 1716013800LL * 1000000);
	assert_null(hdr(r, "X-Meterline-Duplicate", buf, sizeof(buf)));
	/* the same connection stays usable (keep-alive) */
	r = post_msg(c, "m-2", "79120000001", "ПС 1 2");
	assert_int_equal(r->status, 200);
	assert_false(c->eof);
	tcl_free(c);
}

static void
test_duplicate_sequential(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct resp *r;
	char *first, buf[8];

	(void)state;
	r = post_msg(c, "dup-1", "79120000001", "ПС 1 2");
	assert_int_equal(r->status, 200);
	first = strdup(r->body);
	r = post_msg(c, "dup-1", "79120000001", "ПС 1 2");
	assert_int_equal(r->status, 200);
	assert_string_equal(r->body, first);
	assert_string_equal(
	    hdr(r, "X-Meterline-Duplicate", buf, sizeof(buf)), "1");
	assert_int_equal(fake.submits, 2); /* the store saw the duplicate */
	free(first);
	tcl_free(c);
}

struct many {
	struct tcl **c;
	int n, want;
};

static bool
all_answered(void *arg)
{
	struct many *m = arg;

	for (int i = 0; i < m->n; i++)
		if (m->c[i]->nresp < m->want && !m->c[i]->eof)
			return false;
	return true;
}

static void
test_duplicate_concurrent(void **state)
{
	struct tcl *c[3];
	struct many m = { c, 3, 1 };
	char *body = mkbody("same-id", "viber", "79120000001", "delay:100");
	size_t len;
	char *raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);

	(void)state;
	for (int i = 0; i < 3; i++) {
		c[i] = tcl_new(http_intake_port(srv));
		tcl_send(c[i], raw, len);
	}
	assert_true(run_until(all_answered, &m, 5000));
	assert_int_equal(fake.submits, 1); /* coalesced in flight */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c[i]->last.status, 200);
		assert_string_equal(c[i]->last.body, c[0]->last.body);
	}
	for (int i = 0; i < 3; i++)
		tcl_free(c[i]);
	/* the same id on another channel is another message */
	free(body);
	free(raw);
	body = mkbody("same-id", "whatsapp", "79120000001", "x");
	raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);
	c[0] = tcl_new(http_intake_port(srv));
	assert_int_equal(tcl_exchange(c[0], raw, len)->status, 200);
	assert_int_equal(fake.submits, 2);
	assert_string_equal(fake.last_channel, "whatsapp");
	tcl_free(c[0]);
	free(body);
	free(raw);
}

static void
test_signatures(void **state)
{
	char *body = mkbody("s-1", "viber", "79120000001", "ПС 1 2");
	char *other = mkbody("s-2", "viber", "79120000001", "ПС 1 2");
	char hex[65], sig[128];
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct {
		const char *sig, *error;
	} cases[6];
	size_t n = 0, len;

	(void)state;
	http_signature_hex(
	    body, strlen(body), (const unsigned char *)"wrong", 5, hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	cases[n].sig = NULL, cases[n++].error = "missing_signature";
	cases[n].sig = strdup(sig), cases[n++].error = "bad_signature";
	http_signature_hex(body, strlen(body), (const unsigned char *)SECRET,
	    strlen(SECRET), hex);
	snprintf(sig, sizeof(sig), "sha256=%.40s", hex); /* truncated */
	cases[n].sig = strdup(sig), cases[n++].error = "bad_signature";
	snprintf(sig, sizeof(sig), "sha1=%s", hex);
	cases[n].sig = strdup(sig), cases[n++].error = "bad_signature";
	snprintf(sig, sizeof(sig), "%s", hex); /* no scheme */
	cases[n].sig = strdup(sig), cases[n++].error = "bad_signature";
	http_signature_hex(other, strlen(other), (const unsigned char *)SECRET,
	    strlen(SECRET), hex); /* right key, another body */
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	cases[n].sig = strdup(sig), cases[n++].error = "bad_signature";
	for (size_t i = 0; i < n; i++) {
		char *raw = mkreq("POST", "/v1/messages", "application/json",
		    cases[i].sig, body, strlen(body), &len);
		struct resp *r = tcl_exchange(c, raw, len);

		assert_non_null(r);
		assert_int_equal(r->status, 401);
		assert_string_equal(error_of(r), cases[i].error);
		free(raw);
		free((char *)cases[i].sig);
	}
	assert_int_equal(fake.submits, 0);
	assert_int_equal(
	    post_msg(c, "s-1", "79120000001", "ПС 1 2")->status, 200);
	assert_true(
	    metric("meterline_http_responses_total{code=\"401\"}") == 6);
	free(body);
	free(other);
	tcl_free(c);
}

/* POST a signed raw body with a content type; the response. */
static struct resp *
post_raw(struct tcl *c, const char *ctype, const char *body, size_t blen)
{
	size_t len;
	char *raw = mkreq("POST", "/v1/messages", ctype, "", body, blen, &len);
	struct resp *r = tcl_exchange(c, raw, len);

	free(raw);
	return r;
}

static void
test_bad_requests(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	char *text = malloc(4200), *body;
	struct resp *r;

	(void)state;
	r = post_raw(c, "application/json", "{\"id\":", 6);
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "malformed_json");
	r = post_raw(c, "application/json", "", 0);
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "malformed_json");
	r = post_raw(c, "application/json", "{\"id\":\"x\"}", 10);
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "missing_field");
	body = "{\"id\":7,\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
	       "\"text\":\"x\",\"timestamp\":\"2024-05-18T09:30:00Z\"}";
	r = post_raw(c, "application/json", body, strlen(body));
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "invalid_field");
	body = "{\"id\":\"7\",\"channel\":\"sms\",\"from\":\"1\",\"to\":\"2\","
	       "\"text\":\"x\",\"timestamp\":\"2024-05-18T09:30:00Z\"}";
	r = post_raw(c, "application/json", body, strlen(body));
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "invalid_field");
	body =
	    "{\"id\":\"7\",\"channel\":\"viber\",\"from\":\"1\",\"to\":\"2\","
	    "\"text\":\"x\",\"timestamp\":\"18.05.2024 09:30\"}";
	r = post_raw(c, "application/json", body, strlen(body));
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "bad_timestamp");
	memset(text, 'x', 4097);
	text[4097] = '\0';
	body = mkbody("long", "viber", "1", text);
	r = post_raw(c, "application/json", body, strlen(body));
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "text_too_long");
	free(body);
	assert_int_equal(fake.submits, 0);
	assert_false(c->eof); /* 400s keep the connection */
	free(text);
	tcl_free(c);
}

static void
test_too_large(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	size_t big = 20 * 1024, huge = 100 * 1024;
	char *body = malloc(huge);
	struct resp *r;

	(void)state;
	memset(body, ' ', huge);
	body[0] = '{';
	body[big - 1] = '}';
	r = post_raw(c, "application/json", body, big);
	assert_int_equal(r->status, 413);
	assert_string_equal(error_of(r), "body_too_large");
	assert_false(c->eof);
	/* beyond the hard limit evhttp refuses it before reading it all */
	tcl_free(c);
	c = tcl_new(http_intake_port(srv));
	r = post_raw(c, "application/json", body, huge);
	assert_non_null(r);
	assert_int_equal(r->status, 413);
	assert_int_equal(fake.submits, 0);
	free(body);
	tcl_free(c);
}

static void
test_content_type(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	char *body = mkbody("ct", "viber", "1", "x");
	struct resp *r;

	(void)state;
	r = post_raw(c, "text/plain", body, strlen(body));
	assert_int_equal(r->status, 415);
	assert_string_equal(error_of(r), "unsupported_media_type");
	r = post_raw(c, NULL, body, strlen(body));
	assert_int_equal(r->status, 415);
	r = post_raw(c, "application/json; charset=UTF-8", body, strlen(body));
	assert_int_equal(r->status, 200);
	free(body);
	tcl_free(c);
}

static void
test_paths_and_methods(void **state)
{
	static const char *const methods[] = { "GET", "PUT", "DELETE", "PATCH",
		"OPTIONS", "TRACE" };
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct resp *r;
	char buf[64];

	(void)state;
	r = simple(c, "GET", "/v1/nothing");
	assert_int_equal(r->status, 404);
	assert_string_equal(error_of(r), "not_found");
	r = simple(c, "POST", "/");
	assert_int_equal(r->status, 404);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		r = simple(c, methods[i], "/v1/messages");
		assert_non_null(r);
		assert_int_equal(r->status, 405);
		assert_string_equal(error_of(r), "method_not_allowed");
		assert_string_equal(hdr(r, "Allow", buf, sizeof(buf)), "POST");
	}
	r = simple(c, "POST", "/healthz");
	assert_int_equal(r->status, 405);
	assert_string_equal(hdr(r, "Allow", buf, sizeof(buf)), "GET, HEAD");
	r = simple(c, "GET", "/v1/messages?x=1");
	assert_int_equal(r->status, 405);
	tcl_free(c);
	/* a method evhttp does not know: its own answer, no crash */
	c = tcl_new(http_intake_port(srv));
	r = simple(c, "BREW", "/v1/messages");
	assert_true(r == NULL || r->status >= 400);
	tcl_free(c);
}

static void
test_rate_limit(void **state)
{
	struct tcl *c;
	struct resp *r;
	char id[32], buf[16];

	(void)state;
	cfg.rate_limit = 3;
	cfg.rate_burst = 3;
	server_restart();
	c = tcl_new(http_intake_port(srv));
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "rl-%d", i);
		assert_int_equal(
		    post_msg(c, id, "79120000001", "x")->status, 200);
	}
	r = post_msg(c, "rl-3", "79120000001", "x");
	assert_int_equal(r->status, 429);
	assert_string_equal(error_of(r), "rate_limited");
	assert_string_equal(hdr(r, "Retry-After", buf, sizeof(buf)), "20");
	assert_int_equal(fake.submits, 3);
	/* other senders and the same sender on another channel are not */
	assert_int_equal(post_msg(c, "rl-4", "79120000002", "x")->status, 200);
	{
		char *body = mkbody("rl-5", "whatsapp", "79120000001", "x");

		assert_int_equal(
		    post_raw(c, "application/json", body, strlen(body))->status,
		    200);
		free(body);
	}
	assert_true(
	    metric("meterline_http_rate_limited_total{channel=\"viber\"}") ==
	    1);
	assert_true(
	    metric("meterline_http_responses_total{code=\"429\"}") == 1);
	tcl_free(c);
}

static void
test_tempfail_and_refusal(void **state)
{
	struct tcl *c;
	struct resp *r;
	char buf[16];

	(void)state;
	cfg.rate_limit = 1; /* a 503 must give its token back */
	cfg.rate_burst = 1;
	server_restart();
	c = tcl_new(http_intake_port(srv));
	r = post_msg(c, "t-1", "79120000001", "tempfail");
	assert_int_equal(r->status, 503);
	assert_string_equal(error_of(r), "database_unavailable");
	assert_string_equal(hdr(r, "Retry-After", buf, sizeof(buf)), "5");
	r = post_msg(c, "t-2", "79120000001", "refuse");
	assert_int_equal(r->status, 503);
	assert_string_equal(error_of(r), "unavailable");
	assert_string_equal(hdr(r, "Retry-After", buf, sizeof(buf)), "5");
	/* the retry with the same id now succeeds */
	r = post_msg(c, "t-1", "79120000001", "ПС 1 2");
	assert_int_equal(r->status, 200);
	assert_int_equal(post_msg(c, "t-3", "79120000001", "x")->status, 429);
	assert_true(
	    metric("meterline_http_responses_total{code=\"503\"}") == 2);
	tcl_free(c);
}

static void
test_delayed_reply(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	int64_t t0 = now_ms();
	struct resp *r;

	(void)state;
	r = post_msg(c, "d-1", "79120000001", "delay:300");
	assert_non_null(r);
	assert_int_equal(r->status, 200);
	assert_true(now_ms() - t0 >= 290);
	assert_int_equal(http_intake_inflight(srv), 0);
	tcl_free(c);
}

static void
test_reply_timeout(void **state)
{
	struct tcl *c;
	struct resp *r;

	(void)state;
	tune.reply_timeout = 1;
	server_restart();
	c = tcl_new(http_intake_port(srv));
	r = post_msg(c, "n-1", "79120000001", "never");
	assert_non_null(r);
	assert_int_equal(r->status, 503);
	assert_string_equal(error_of(r), "timeout");
	/* the id is no longer in flight: a retry is submitted again */
	assert_int_equal(
	    post_msg(c, "n-1", "79120000001", "ПС 1 2")->status, 200);
	assert_int_equal(fake.submits, 2);
	tcl_free(c);
	/* teardown calls the late done: harmless */
}

static void
test_overload(void **state)
{
	struct tcl *c[3];
	struct many m = { c, 3, 1 };
	int ok = 0, busy = 0;

	(void)state;
	tune.max_inflight = 2;
	server_restart();
	for (int i = 0; i < 3; i++) {
		char id[16], *body;
		size_t len;
		char *raw;

		snprintf(id, sizeof(id), "o-%d", i);
		body = mkbody(id, "viber", "79120000001", "delay:200");
		raw = mkreq("POST", "/v1/messages", "application/json", "",
		    body, strlen(body), &len);
		c[i] = tcl_new(http_intake_port(srv));
		tcl_send(c[i], raw, len);
		free(raw);
		free(body);
	}
	assert_true(run_until(all_answered, &m, 5000));
	for (int i = 0; i < 3; i++) {
		ok += c[i]->last.status == 200;
		if (c[i]->last.status == 503) {
			busy++;
			assert_string_equal(
			    error_of(&c[i]->last), "overloaded");
		}
		tcl_free(c[i]);
	}
	assert_int_equal(ok, 2);
	assert_int_equal(busy, 1);
}

/* Parallel keep-alive clients: each sends its next request on a 200. */
static void
send_next(struct tcl *c)
{
	char id[32], from[32], *body, *raw;
	size_t len;

	if (c->last.status == 200)
		c->ok++;
	if (c->left == 0)
		return;
	c->left--;
	snprintf(id, sizeof(id), "p-%d-%d", c->index, c->left);
	snprintf(from, sizeof(from), "7912%07d", c->index);
	body = mkbody(id, "viber", from, "ПС 102057522 11638");
	raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);
	tcl_send(c, raw, len);
	free(raw);
	free(body);
}

static void
test_parallel_keepalive(void **state)
{
	enum { N = 100, PER = 10 };
	struct tcl *c[N];
	struct many m = { c, N, PER };
	double conns0 = metric("meterline_http_connections_total");

	(void)state;
	for (int i = 0; i < N; i++) {
		c[i] = tcl_new(http_intake_port(srv));
		c[i]->index = i;
		c[i]->left = PER;
		c[i]->on_resp = send_next;
		c[i]->last.status = 0;
		send_next(c[i]);
	}
	assert_true(run_until(all_answered, &m, 20000));
	for (int i = 0; i < N; i++) {
		assert_false(c[i]->eof);
		assert_int_equal(c[i]->ok, PER);
		tcl_free(c[i]);
	}
	assert_int_equal(fake.submits, N * PER);
	/* keep-alive: one connection per client */
	assert_true(metric("meterline_http_connections_total") - conns0 == N);
	assert_true(
	    metric("meterline_http_responses_total{code=\"200\"}") == N * PER);
	assert_true(metric("meterline_http_request_seconds_count") == N * PER);
}

static bool
is_eof(void *arg)
{
	return ((struct tcl *)arg)->eof;
}

static void
test_slow_clients(void **state)
{
	static const char half_head[] =
	    "POST /v1/messages HTTP/1.1\r\nHost: x\r\n";
	static const char half_body[] =
	    "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":";
	struct tcl *a = tcl_new(http_intake_port(srv));
	struct tcl *b = tcl_new(http_intake_port(srv));
	struct tcl *idle = tcl_new(http_intake_port(srv));
	int64_t t0 = now_ms();

	(void)state;
	tcl_send(a, half_head, strlen(half_head));
	tcl_send(b, half_body, strlen(half_body));
	/* tune.timeout is 1 s: all three are closed without an answer */
	assert_true(run_until(is_eof, a, 4000));
	assert_true(run_until(is_eof, b, 4000));
	assert_true(run_until(is_eof, idle, 4000));
	assert_true(now_ms() - t0 >= 900);
	assert_int_equal(a->nresp + b->nresp + idle->nresp, 0);
	assert_int_equal(fake.submits, 0);
	tcl_free(a);
	tcl_free(b);
	tcl_free(idle);
}

static void
test_client_gone_before_reply(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	char *body = mkbody("gone", "viber", "79120000001", "delay:200");
	size_t len;
	char *raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);

	(void)state;
	tcl_send(c, raw, len);
	run_for(50); /* the server has the request, the store is busy */
	assert_int_equal(fake.submits, 1);
	tcl_free(c); /* the client goes away */
	run_until(fake_idle, NULL, 2000);
	run_for(50);
	assert_int_equal(http_intake_inflight(srv), 0);
	/* the reply was still sent (into the void), exactly once */
	assert_true(
	    metric("meterline_http_responses_total{code=\"200\"}") == 1);
	c = tcl_new(http_intake_port(srv));
	assert_int_equal(post_msg(c, "after", "79120000001", "x")->status, 200);
	free(body);
	free(raw);
	tcl_free(c);
}

struct count_arg {
	struct tcl *c;
	int n;
};

static bool
has_n(void *arg)
{
	struct count_arg *a = arg;

	return a->c->nresp >= a->n || a->c->eof;
}

/* Two requests in one write: answered in order, the first one slow. */
static void
test_pipelined(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	char *b1 = mkbody("pipe-1", "viber", "79120000001", "delay:100");
	char *b2 = mkbody("pipe-2", "viber", "79120000001", "ПС 1 2");
	size_t l1, l2;
	char *r1 = mkreq("POST", "/v1/messages", "application/json", "", b1,
	    strlen(b1), &l1);
	char *r2 = mkreq("POST", "/v1/messages", "application/json", "", b2,
	    strlen(b2), &l2);
	char *both = malloc(l1 + l2);
	struct count_arg a = { c, 2 };

	(void)state;
	memcpy(both, r1, l1);
	memcpy(both + l1, r2, l2);
	tcl_send(c, both, l1 + l2);
	assert_true(run_until(has_n, &a, 5000));
	assert_int_equal(c->nresp, 2);
	assert_non_null(strstr(c->last.body, "\"pipe-2\""));
	assert_int_equal(fake.submits, 2);
	free(both);
	free(r1);
	free(r2);
	free(b1);
	free(b2);
	tcl_free(c);
}

/* A chunked body is signed and checked as its de-chunked bytes. */
static void
test_chunked(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	char *body = mkbody("chunk-1", "viber", "79120000001", "ПС 1 2");
	size_t blen = strlen(body), half = blen / 2;
	char hex[65], head[512], *raw;
	struct resp *r;
	int n;

	(void)state;
	http_signature_hex(
	    body, blen, (const unsigned char *)SECRET, strlen(SECRET), hex);
	snprintf(head, sizeof(head),
	    "POST /v1/messages HTTP/1.1\r\nHost: t\r\n"
	    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
	    "X-Meterline-Signature: sha256=%s\r\n\r\n",
	    hex);
	raw = malloc(strlen(head) + blen + 64);
	n = sprintf(raw, "%s%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n", head, half,
	    (int)half, body, blen - half, body + half);
	r = tcl_exchange(c, raw, (size_t)n);
	assert_non_null(r);
	assert_int_equal(r->status, 200);
	assert_string_equal(fake.last_id, "chunk-1");
	free(raw);
	free(body);
	tcl_free(c);
}

static void
test_health(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct resp *r;
	json_t *o;

	(void)state;
	r = simple(c, "GET", "/healthz");
	assert_int_equal(r->status, 200);
	o = json_loadb(r->body, r->body_len, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(o, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(o, "checks"), "database")),
	    "up");
	json_decref(o);
	health_ok = false;
	r = simple(c, "GET", "/healthz");
	assert_int_equal(r->status, 503);
	o = json_loadb(r->body, r->body_len, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(o, "status")), "fail");
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(o, "checks"), "database")),
	    "down");
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(o, "checks"), "smpp")),
	    "bound");
	json_decref(o);
	health_ok = true;
	tcl_free(c);
}

/*
 * An SMSC outage does not take the messenger webhooks down: /healthz (the
 * listener's readiness) stays 200 and shows the link unbound; only
 * /healthz/sms, the SMS channel's readiness, is 503.
 */
static void
test_health_per_channel(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct resp *r;
	json_t *o;

	(void)state;
	smpp_bound = false;
	r = simple(c, "GET", "/healthz");
	assert_int_equal(r->status, 200);
	o = json_loadb(r->body, r->body_len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(o, "checks"), "smpp")),
	    "unbound");
	json_decref(o);
	assert_int_equal(simple(c, "GET", "/healthz/sms")->status, 503);
	smpp_bound = true;
	assert_int_equal(simple(c, "GET", "/healthz/sms")->status, 200);
	health_ok = false;
	assert_int_equal(simple(c, "GET", "/healthz/sms")->status, 503);
	health_ok = true;
	tcl_free(c);
}

static void
test_metrics_endpoint(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct resp *r;
	char buf[64];

	(void)state;
	post_msg(c, "x-1", "79120000001", "x");
	post_msg(c, "x-2", "79120000001", "x");
	simple(c, "GET", "/nope");
	r = simple(c, "GET", "/metrics");
	assert_int_equal(r->status, 200);
	assert_string_equal(hdr(r, "Content-Type", buf, sizeof(buf)),
	    "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(
	    r->body, "meterline_http_responses_total{code=\"200\"} 2\n"));
	assert_non_null(strstr(
	    r->body, "meterline_http_responses_total{code=\"404\"} 1\n"));
	assert_non_null(
	    strstr(r->body, "# TYPE meterline_messages_total counter\n"));
	assert_non_null(
	    strstr(r->body, "meterline_http_request_seconds_count 2\n"));
	assert_non_null(strstr(r->body, "meterline_http_inflight 0\n"));
	r = simple(c, "GET", "/metrics");
	assert_non_null(strstr(
	    r->body, "meterline_http_responses_total{code=\"200\"} 3\n"));
	tcl_free(c);
}

static void
test_admin_listener(void **state)
{
	struct tcl *c;

	(void)state;
	snprintf(cfg.admin_listen, sizeof(cfg.admin_listen), "127.0.0.1:0");
	server_restart();
	assert_true(http_intake_admin_port(srv) > 0);
	assert_int_not_equal(
	    http_intake_admin_port(srv), http_intake_port(srv));
	c = tcl_new(http_intake_admin_port(srv));
	assert_int_equal(simple(c, "GET", "/healthz")->status, 200);
	assert_int_equal(simple(c, "GET", "/metrics")->status, 200);
	assert_int_equal(simple(c, "POST", "/v1/messages")->status, 404);
	tcl_free(c);
	c = tcl_new(http_intake_port(srv));
	assert_int_equal(simple(c, "GET", "/healthz")->status, 404);
	assert_int_equal(simple(c, "GET", "/metrics")->status, 404);
	assert_int_equal(post_msg(c, "a-1", "79120000001", "x")->status, 200);
	tcl_free(c);
}

static void
test_bad_config(void **state)
{
	struct http_intake_deps deps = { &fake_intake, reg, NULL, NULL };
	struct config_http bad;
	struct http_tuning t;
	char err[256];

	(void)state;
	test_cfg(&bad, &t);
	bad.secret[0] = '\0';
	assert_null(http_intake_new(base, &bad, &t, &deps, err, sizeof(err)));
	test_cfg(&bad, &t);
	snprintf(bad.listen, sizeof(bad.listen), "127.0.0.1");
	assert_null(http_intake_new(base, &bad, &t, &deps, err, sizeof(err)));
	snprintf(bad.listen, sizeof(bad.listen), "127.0.0.1:%d",
	    http_intake_port(srv)); /* busy */
	assert_null(http_intake_new(base, &bad, &t, &deps, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot listen"));
	test_cfg(&bad, &t);
	snprintf(bad.listen, sizeof(bad.listen), "[::1]:0");
	{
		struct http_intake *v6 =
		    http_intake_new(base, &bad, &t, &deps, err, sizeof(err));

		/* IPv6 may be off on this machine; both outcomes are fine */
		if (v6 != NULL)
			assert_true(http_intake_port(v6) > 0);
		http_intake_free(v6);
	}
	deps.intake = NULL;
	assert_null(
	    http_intake_new(base, &cfg, &tune, &deps, err, sizeof(err)));
}

static void
test_stop_and_free_with_pending(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	struct tcl *late;
	char *body = mkbody("f-1", "viber", "79120000001", "delay:300");
	size_t len;
	char *raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);
	int port = http_intake_port(srv);

	(void)state;
	tcl_send(c, raw, len);
	run_for(50);
	assert_int_equal(http_intake_inflight(srv), 1);
	http_intake_stop(srv);
	late = tcl_new(port); /* refused: nobody listens any more */
	assert_true(run_until(is_eof, late, 2000));
	tcl_free(late);
	/* freed with a message in flight: its request is answered 503 (or
	 * the connection just closes), and the later done is harmless */
	http_intake_free(srv);
	srv = NULL;
	run_until(is_eof, c, 1000);
	assert_true(c->eof || c->last.status == 503);
	run_until(fake_idle, NULL, 2000);
	assert_int_equal(fake.outstanding, 0);
	tcl_free(c);
	free(body);
	free(raw);
}

/* ---- replays, signed time, framing (issue 14) ---- */

/*
 * A signed POST with X-Meterline-Timestamp ts (NULL: none). sign_ts: the
 * MAC covers "<ts>.<body>" (true) or the body alone (false).
 */
static struct resp *
post_ts(struct tcl *c, const char *body, const char *ts, bool sign_ts)
{
	char hex[65], *raw;
	size_t blen = strlen(body), n;
	struct resp *r;

	http_signature_hex_ts(sign_ts ? ts : NULL, body, blen,
	    (const unsigned char *)SECRET, strlen(SECRET), hex);
	raw = malloc(512 + blen);
	n = (size_t)sprintf(raw,
	    "POST /v1/messages HTTP/1.1\r\nHost: t\r\n"
	    "Content-Type: application/json\r\n"
	    "X-Meterline-Signature: sha256=%s\r\n%s%s%s"
	    "Content-Length: %zu\r\n\r\n%s",
	    hex, ts ? "X-Meterline-Timestamp: " : "", ts ? ts : "",
	    ts ? "\r\n" : "", blen, body);
	r = tcl_exchange(c, raw, n);
	free(raw);
	return r;
}

static const char *
unix_time(int64_t offset, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)(time(NULL) + offset));
	return buf;
}

/*
 * The defect: every replay of a captured request took a token before the
 * store called it a duplicate, so 25 replays locked the sender out. Now a
 * replay of a stored id has its token given back and one of an id in
 * flight takes none: the sender's real next message still passes.
 */
static void
test_replay_not_rate_limited(void **state)
{
	struct tcl *c, *d[10];
	struct resp *r;
	char buf[8], *body;

	(void)state;
	cfg.rate_limit = 2;
	cfg.rate_burst = 2;
	server_restart();
	c = tcl_new(http_intake_port(srv));
	assert_int_equal(post_msg(c, "rp-1", "79120000001", "x")->status, 200);
	for (int i = 0; i < 25; i++) { /* replays of a stored id */
		r = post_msg(c, "rp-1", "79120000001", "x");
		assert_int_equal(r->status, 200);
		assert_non_null(hdr(r, "X-Meterline-Duplicate", buf, 8));
	}
	/* replays joining an id in flight */
	body = mkbody("rp-2", "viber", "79120000001", "delay:300");
	for (int i = 0; i < 10; i++) {
		size_t len;
		char *raw = mkreq("POST", "/v1/messages", "application/json",
		    "", body, strlen(body), &len);

		d[i] = tcl_new(http_intake_port(srv));
		tcl_send(d[i], raw, len);
		free(raw);
		run_for(i == 0 ? 50 : 5);
	}
	for (int i = 0; i < 10; i++) {
		struct wait_arg w = { d[i], 0 };

		assert_true(run_until(got_response, &w, 3000));
		assert_int_equal(d[i]->last.status, 200);
		tcl_free(d[i]);
	}
	free(body);
	assert_int_equal(fake.submits, 1 + 25 + 1);
	/* two tokens paid for rp-1 and rp-2: the bucket is empty now, and
	 * not overdrawn by the 35 replays */
	r = post_msg(c, "rp-3", "79120000001", "x");
	assert_int_equal(r->status, 429);
	assert_string_equal(hdr(r, "Retry-After", buf, sizeof(buf)), "30");
	assert_true(
	    metric("meterline_http_checks_total{event=\"replay_stored\"}") ==
	    25);
	assert_true(metric("meterline_http_checks_total{event=\"replay_in_"
	                   "flight\"}") == 9);
	tcl_free(c);
}

static void
test_signed_timestamp(void **state)
{
	struct tcl *c = tcl_new(http_intake_port(srv));
	char ts[32], *body;
	struct resp *r;
	int n = 0;

	(void)state;
#define TS_BODY(id) (free(body), body = mkbody(id, "viber", "7912", "x"))
	body = NULL;
	TS_BODY("ts-1"); /* fresh, signed with the time: accepted */
	assert_int_equal(
	    post_ts(c, body, unix_time(-60, ts, 32), true)->status, 200);
	n++;
	TS_BODY("ts-2"); /* no header: accepted (bridges of before) */
	assert_int_equal(post_ts(c, body, NULL, false)->status, 200);
	n++;
	TS_BODY("ts-3"); /* 6 minutes old: a replay of a captured request */
	r = post_ts(c, body, unix_time(-360, ts, 32), true);
	assert_int_equal(r->status, 401);
	assert_string_equal(error_of(r), "stale_timestamp");
	r = post_ts(c, body, unix_time(360, ts, 32), true); /* in the future */
	assert_int_equal(r->status, 401);
	assert_string_equal(error_of(r), "stale_timestamp");
	/* the header is not under the MAC: a replayer cannot refresh it */
	r = post_ts(c, body, unix_time(0, ts, 32), false);
	assert_int_equal(r->status, 401);
	assert_string_equal(error_of(r), "bad_signature");
	r = post_ts(c, body, "17e8", true);
	assert_int_equal(r->status, 401);
	assert_string_equal(error_of(r), "malformed_timestamp");
	assert_int_equal(fake.submits, n);
	assert_true(metric("meterline_http_checks_total{event=\"stale_"
	                   "timestamp\"}") == 2);
	tcl_free(c);
	/* require_timestamp: none is 401; max_skew 0: any time passes */
	cfg.require_timestamp = true;
	cfg.max_skew = 0;
	server_restart();
	c = tcl_new(http_intake_port(srv));
	r = post_ts(c, body, NULL, false);
	assert_int_equal(r->status, 401);
	assert_string_equal(error_of(r), "missing_timestamp");
	assert_int_equal(post_ts(c, body, "1000000000", true)->status, 200);
	free(body);
#undef TS_BODY
	tcl_free(c);
}

/* A POST signed over body, with extra header lines, sending wire as the
 * body's bytes on the wire (chunked, or the body itself). */
static struct resp *
post_signed_framed(
    struct tcl *c, const char *extra, const char *body, const char *wire)
{
	char hex[65], raw[1024];
	int n;

	http_signature_hex(body, strlen(body), (const unsigned char *)SECRET,
	    strlen(SECRET), hex);
	n = snprintf(raw, sizeof(raw),
	    "POST /v1/messages HTTP/1.1\r\nHost: t\r\n"
	    "Content-Type: application/json\r\n"
	    "X-Meterline-Signature: sha256=%s\r\n%s\r\n%s",
	    hex, extra, wire);
	return tcl_exchange(c, raw, (size_t)n);
}

static struct resp *
post_framed(struct tcl *c, const char *extra, const char *body)
{
	return post_signed_framed(c, extra, body, body);
}

static void
test_conflicting_content_length(void **state)
{
	char *body = mkbody("cl-1", "viber", "79120000001", "x");
	char extra[160], buf[16];
	size_t blen = strlen(body);
	struct tcl *c;
	struct resp *r;

	(void)state;
	/* evhttp frames by the first; a proxy may use the second */
	c = tcl_new(http_intake_port(srv));
	snprintf(extra, sizeof(extra),
	    "Content-Length: %zu\r\nContent-Length: %zu\r\n", blen, blen + 7);
	r = post_framed(c, extra, body);
	assert_non_null(r);
	assert_int_equal(r->status, 400);
	assert_string_equal(error_of(r), "bad_framing");
	assert_string_equal(hdr(r, "Connection", buf, sizeof(buf)), "close");
	assert_true(run_until(is_eof, c, 2000));
	tcl_free(c);
	/* chunked with a Content-Length: evhttp's own 400 */
	c = tcl_new(http_intake_port(srv));
	{
		char chunked[512];

		snprintf(extra, sizeof(extra),
		    "Content-Length: %zu\r\nTransfer-Encoding: chunked\r\n",
		    blen);
		snprintf(chunked, sizeof(chunked), "%zx\r\n%s\r\n0\r\n\r\n",
		    blen, body);
		r = post_signed_framed(c, extra, body, chunked);
	}
	assert_non_null(r);
	assert_int_equal(r->status, 400);
	tcl_free(c);
	/* on other paths too */
	c = tcl_new(http_intake_port(srv));
	{
		static const char g[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n"
		                        "Content-Length: 0\r\n"
		                        "Content-Length: 1\r\n\r\n";

		r = tcl_exchange(c, g, sizeof(g) - 1);
	}
	assert_int_equal(r->status, 400);
	tcl_free(c);
	assert_int_equal(fake.submits, 0);
	/* the same value twice is one length (RFC 9110 8.6) */
	c = tcl_new(http_intake_port(srv));
	snprintf(extra, sizeof(extra),
	    "Content-Length: %zu\r\nContent-Length: %zu\r\n", blen, blen);
	assert_int_equal(post_framed(c, extra, body)->status, 200);
	assert_true(metric("meterline_http_checks_total{event=\"conflicting_"
	                   "length\"}") == 2);
	tcl_free(c);
	free(body);
}

/*
 * A client sending a byte every 400 ms never trips the per-read timeout
 * (1 s here) but meets the request deadline; an idle keep-alive
 * connection is closed after idle_timeout.
 */
static void
test_request_deadline(void **state)
{
	static const char req[] = "POST /v1/messages HTTP/1.1\r\nHost: x\r\n";
	struct tcl *slow, *idle;
	int64_t t0;
	size_t i = 0;

	(void)state;
	cfg.request_timeout = 2;
	server_restart();
	slow = tcl_new(http_intake_port(srv));
	idle = tcl_new(http_intake_port(srv));
	assert_int_equal(
	    post_msg(idle, "dl-1", "79120000001", "x")->status, 200);
	t0 = now_ms();
	while (!slow->eof && i < sizeof(req) - 1 && now_ms() - t0 < 5000) {
		tcl_send(slow, req + i++, 1);
		run_until(is_eof, slow, 400);
	}
	assert_true(slow->eof);
	assert_true(now_ms() - t0 >= 1900 && now_ms() - t0 < 3500);
	assert_int_equal(slow->nresp, 0);
	assert_true(run_until(is_eof, idle, 3000)); /* idle_timeout 1 s */
	assert_true(metric("meterline_http_connection_events_total{listener="
	                   "\"main\",event=\"request_timeout\"}") == 1);
	tcl_free(slow);
	tcl_free(idle);
}

static bool
conns_are(void *arg)
{
	return http_intake_connections(srv) == *(size_t *)arg;
}

/*
 * At max_connections a new connection closes the oldest one that owes a
 * request (idle or half-sent); one waiting for its answer is never closed.
 */
static void
test_connection_cap(void **state)
{
	struct tcl *a, *b, *c, *d;
	struct wait_arg wb;
	char *body, *raw;
	size_t len, want = 0;

	(void)state;
	cfg.max_connections = 3;
	server_restart();
	assert_int_equal(http_intake_max_connections(srv), 3);
	a = tcl_new(http_intake_port(srv));
	run_for(50);
	b = tcl_new(http_intake_port(srv));
	body = mkbody("cap-1", "viber", "79120000001", "delay:600");
	raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);
	tcl_send(b, raw, len); /* in flight: busy */
	run_for(100);
	c = tcl_new(http_intake_port(srv)); /* the 3rd: a, the oldest, goes */
	assert_true(run_until(is_eof, a, 2000));
	assert_int_equal(a->nresp, 0);
	d = tcl_new(http_intake_port(srv)); /* b is busy: c goes */
	assert_true(run_until(is_eof, c, 2000));
	assert_int_equal(post_msg(d, "cap-2", "79120000002", "x")->status, 200);
	wb = (struct wait_arg){ b, 0 };
	assert_true(run_until(got_response, &wb, 2000));
	assert_int_equal(b->last.status, 200);
	assert_int_equal(http_intake_connections(srv), 2);
	assert_true(metric("meterline_http_connection_events_total{listener="
	                   "\"main\",event=\"evicted\"}") == 2);
	assert_true(metric("meterline_http_open_connections{listener="
	                   "\"main\"}") == 2);
	tcl_free(a);
	tcl_free(b);
	tcl_free(c);
	tcl_free(d);
	assert_true(run_until(conns_are, &want, 2000));
	free(body);
	free(raw);
}

static void
test_max_connections_default(void **state)
{
	struct rlimit rl;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cfg.max_connections = 0;
	tune.fd_reserve = 100;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 + 100)
		assert_int_equal(http_max_connections(&cfg, &tune), 65536);
	else
		assert_int_equal(
		    http_max_connections(&cfg, &tune), rl.rlim_cur - 100);
	snprintf(cfg.admin_listen, sizeof(cfg.admin_listen), "127.0.0.1:0");
	cfg.max_connections = 1000000; /* lowered to what fits */
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536)
		assert_int_equal(http_max_connections(&cfg, &tune),
		    rl.rlim_cur - 100 - tune.admin_max_connections);
	cfg.max_connections = 10;
	assert_int_equal(http_max_connections(&cfg, &tune), 10);
}

/* ---- the descriptor limit: a forked server under a low RLIMIT_NOFILE ---- */

#define FLOOD_NOFILE 64
#define FLOOD_CLIENTS 120
#define FLOOD_SECONDS 6

/*
 * The child: the intake (fake store) with an admin listener under
 * RLIMIT_NOFILE 64, logging to logfd, for FLOOD_SECONDS. Writes its two
 * ports to wfd.
 */
static void
flood_child(size_t fd_reserve, int wfd, int logfd)
{
	struct rlimit rl = { FLOOD_NOFILE, FLOOD_NOFILE };
	struct timeval life = { FLOOD_SECONDS, 0 };
	struct http_intake_deps deps = { &fake_intake, NULL, health, NULL };
	char err[256];
	int ports[2];

	dup2(logfd, 2);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != wfd)
			close(fd);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		_exit(3);
	log_set_level(LOG_INFO);
	base = event_base_new();
	reg = metrics_new();
	test_cfg_plain(&cfg, &tune);
	cfg.request_timeout = 1;
	cfg.idle_timeout = 5;
	snprintf(cfg.admin_listen, sizeof(cfg.admin_listen), "127.0.0.1:0");
	tune.fd_reserve = fd_reserve;
	tune.admin_max_connections = 4;
	/* no cmocka assertions here: a failure would unwind into the
	 * parent's test runner, in the child */
	srv = http_intake_new(base, &cfg, &tune, &deps, err, sizeof(err));
	if (srv == NULL) {
		fprintf(stderr, "http_intake_new: %s\n", err);
		_exit(5);
	}
	ports[0] = http_intake_port(srv);
	ports[1] = http_intake_admin_port(srv);
	if (write(wfd, ports, sizeof(ports)) != sizeof(ports))
		_exit(4);
	event_base_loopexit(base, &life);
	event_base_dispatch(base);
	_exit(0);
}

static int
connect_nb(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send req on a fresh connection; the status of the answer within ms, 0
 * for none. */
static int
blocking_exchange(int port, const char *req, size_t len, int ms)
{
	int fd = connect_nb(port), status = 0;
	char buf[512];
	size_t got = 0, sent = 0;
	int64_t end = now_ms() + ms;

	if (fd < 0)
		return 0;
	while (now_ms() < end && status == 0) {
		struct pollfd p = { fd, POLLIN | (sent < len ? POLLOUT : 0),
			0 };
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((p.revents & POLLOUT) &&
		    (n = send(fd, req + sent, len - sent, MSG_NOSIGNAL)) > 0)
			sent += (size_t)n;
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (got >= 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0)
				status = atoi(buf + 9);
		}
	}
	close(fd);
	return status;
}

/* Lines of the file at fd that contain what. */
static int
log_lines(int fd, const char *what)
{
	FILE *f = fdopen(dup(fd), "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

struct flood_result {
	double cpu_share; /* server CPU / wall time */
	long log_bytes;
	int accept_lines; /* log lines about accept() errors */
	int health, post; /* statuses, 0 = none */
};

/*
 * FLOOD_CLIENTS connections trickle a request a byte every 200 ms (more
 * than the child has descriptors); meanwhile /healthz on the admin
 * listener and a real POST on the main one.
 */
static void
flood_run(size_t fd_reserve, struct flood_result *res)
{
	static const char trickle[] =
	    "POST /v1/messages HTTP/1.1\r\nHost: x\r\n";
	static const char health_req[] =
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	char logpath[] = "/tmp/mline-http-flood-XXXXXX", *body, *raw;
	int pfd[2], ports[2], fds[FLOOD_CLIENTS], logfd, wst;
	struct rusage ru;
	struct stat st;
	int64_t t0;
	size_t len;
	pid_t pid;

	logfd = mkstemp(logpath);
	assert_true(logfd >= 0);
	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		flood_child(fd_reserve, pfd[1], logfd);
	close(pfd[1]);
	assert_int_equal(read(pfd[0], ports, sizeof(ports)), sizeof(ports));
	close(pfd[0]);
	t0 = now_ms();
	for (int i = 0; i < FLOOD_CLIENTS; i++)
		fds[i] = connect_nb(ports[0]);
	for (size_t b = 0; now_ms() - t0 < 1500; b++) {
		for (int i = 0; i < FLOOD_CLIENTS; i++)
			if (fds[i] >= 0)
				(void)send(fds[i],
				    trickle + b % (sizeof(trickle) - 1), 1,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
		usleep(200000);
	}
	/* the flood goes on (still connected, trickling is over: the
	 * deadline and idle timeout clear them) while real clients come */
	res->health = blocking_exchange(
	    ports[1], health_req, sizeof(health_req) - 1, 1500);
	body = mkbody("flood-1", "viber", "79120000001", "x");
	raw = mkreq("POST", "/v1/messages", "application/json", "", body,
	    strlen(body), &len);
	res->post = blocking_exchange(ports[0], raw, len, 3500);
	free(raw);
	free(body);
	for (int i = 0; i < FLOOD_CLIENTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	assert_int_equal(wait4(pid, &wst, 0, &ru), pid);
	if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
		char line[256];
		FILE *f = fdopen(dup(logfd), "r");

		rewind(f);
		while (fgets(line, sizeof(line), f))
			fputs(line, stderr);
		fclose(f);
		fail_msg("the server exited with %d", wst);
	}
	res->cpu_share =
	    ((double)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	        (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) /
	    FLOOD_SECONDS;
	assert_int_equal(fstat(logfd, &st), 0);
	res->log_bytes = (long)st.st_size;
	res->accept_lines = log_lines(logfd, "accept: ");
	close(logfd);
	unlink(logpath);
	fprintf(stderr,
	    "flood (fd_reserve %zu): server CPU %.1f%% of %d s, log %ld bytes "
	    "(%d about accept errors), /healthz %d, POST %d\n",
	    fd_reserve, res->cpu_share * 100, FLOOD_SECONDS, res->log_bytes,
	    res->accept_lines, res->health, res->post);
}

/*
 * The defect: at the descriptor limit accept() failed with EMFILE and
 * libevent retried at once, logging each failure (100% CPU, hundreds of
 * MB of log). With the default reserve the cap keeps descriptors free:
 * /healthz answers and a real request is served once the deadline clears
 * the slow connections. With no reserve at all accept() does hit EMFILE:
 * it must pause, not spin, and log a line per interval.
 */
static void
test_flood_at_descriptor_limit(void **state)
{
	struct flood_result capped, emfile;

	(void)state;
	flood_run(16, &capped);
	assert_true(capped.cpu_share < 0.25);
	assert_true(capped.log_bytes < 4096);
	assert_int_equal(capped.health, 200);
	assert_true(capped.post == 200 || capped.post == 503);
	flood_run(0, &emfile);
	assert_true(emfile.cpu_share < 0.25);
	assert_true(emfile.log_bytes < 4096);
	/* EMFILE was met, and logged once per listener per 10 s */
	assert_true(emfile.accept_lines >= 1 && emfile.accept_lines <= 2);
	assert_int_equal(capped.accept_lines, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_post_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_duplicate_sequential, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_duplicate_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_content_type, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_paths_and_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tempfail_and_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_delayed_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reply_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overload, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_parallel_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_slow_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_client_gone_before_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_health_per_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_metrics_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_admin_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stop_and_free_with_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_replay_not_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_signed_timestamp, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_conflicting_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_request_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_connection_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_max_connections_default, setup, teardown),
		cmocka_unit_test(test_flood_at_descriptor_limit),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
