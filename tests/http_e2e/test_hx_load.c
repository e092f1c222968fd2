/*
 * Many clients and slow clients against the running service and database.
 *
 * Proves: 100 clients at once, each sending 10 readings of its own
 * contract one after the other on one keep-alive connection, all get 200
 * accepted (none taken for a duplicate), the server
 * keeps every connection open (exactly 100 connections counted in
 * meterline_http_connections_total for 1000 requests) and PostgreSQL holds
 * the 1000 messages; a client that sends its request in 20 pieces over
 * 2 s is answered normally, and while it dribbles other clients are
 * answered at once (nothing blocks the loop); a request that stops
 * half-way, a keep-alive connection left idle and 200 connections that
 * sent only part of their headers are all closed by the server after its
 * 10 s timeout without an answer and without storing anything, and the
 * service answers normally all along.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hx.h"

#define CLIENTS 100
#define PER_CLIENT 10
#define STALLED 200
#define TIMEOUT_S 10 /* evhttp's timeout in http_intake.c */
#define CONTRACT0 800000 /* client n sends readings for CONTRACT0 + n */

static const char *db;
static int port;

/* ---- 100 keep-alive clients ---- */

struct client {
	pthread_t th;
	int n, ok;
	bool still_open;
	long long worst_ms;
	char error[256];
};

static void *
client_main(void *arg)
{
	struct client *c = arg;
	struct hx_resp r = { 0 };
	char id[32], from[32], dup[8], dummy;
	int fd = hx_connect(port);

	snprintf(from, sizeof(from), "7913%07d", c->n);
	for (int i = 0; i < PER_CLIENT; i++) {
		char *body, text[64];
		long long t0 = hx_now_ms();

		snprintf(id, sizeof(id), "ka-%d-%d", c->n, i);
		snprintf(
		    text, sizeof(text), "ПС %d %d", CONTRACT0 + c->n, 1001 + i);
		body = hx_msg(id, "viber", from, text);
		if (hx_post_on(fd, body, &r) < 0) {
			snprintf(c->error, sizeof(c->error),
			    "%s: no response "
			    "(connection closed?)",
			    id);
			free(body);
			break;
		}
		free(body);
		if (hx_now_ms() - t0 > c->worst_ms)
			c->worst_ms = hx_now_ms() - t0;
		if (r.status == 200 &&
		    strcmp(hx_jfield(&r, "outcome"), "accepted") == 0 &&
		    hx_header(&r, "X-Meterline-Duplicate", dup, sizeof(dup)) ==
		        NULL)
			c->ok++;
		else
			snprintf(c->error, sizeof(c->error), "%s: %d %s", id,
			    r.status, r.body);
		hx_resp_clear(&r);
	}
	/* Still open: no EOF waiting to be read. */
	c->still_open = recv(fd, &dummy, 1, MSG_DONTWAIT) < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK);
	close(fd);
	return NULL;
}

static void
many_clients(void)
{
	static struct client c[CLIENTS];
	char *m0 = hx_scrape(port), *m1;
	const char *conns = "meterline_http_connections_total";
	long long worst = 0, t0 = hx_now_ms();
	int ok = 0, open = 0;

	for (int i = 0; i < CLIENTS; i++) {
		c[i].n = i;
		pthread_create(&c[i].th, NULL, client_main, &c[i]);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(c[i].th, NULL);
		if (c[i].error[0] != '\0')
			hx_fail("client %d: %s", i, c[i].error);
		ok += c[i].ok;
		open += c[i].still_open;
		if (c[i].worst_ms > worst)
			worst = c[i].worst_ms;
	}
	m1 = hx_scrape(port);
	HX_EQ_INT(ok, CLIENTS * PER_CLIENT);
	HX_EQ_INT(open, CLIENTS);
	/* the clients' connections and the second scrape's */
	HX_EQ_INT(hx_mval(m1, conns) - hx_mval(m0, conns), CLIENTS + 1);
	free(m0);
	free(m1);
	hx_ok("%d clients x %d messages on keep-alive connections: all 200 "
	      "accepted in %lld ms (slowest answer %lld ms), %d connections",
	    CLIENTS, PER_CLIENT, hx_now_ms() - t0, worst, CLIENTS);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM messages WHERE"
	              " external_id LIKE 'ka-%%' AND outcome = 'accepted'"),
	    CLIENTS * PER_CLIENT);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM readings WHERE"
	              " contract::integer BETWEEN %d AND %d",
	              CONTRACT0, CONTRACT0 + CLIENTS - 1),
	    CLIENTS * PER_CLIENT);
	HX_EQ_INT(
	    hx_sql_long(db,
	        "SELECT count(*) FROM registers WHERE"
	        " contract::integer BETWEEN %d AND %d AND last_value = %d",
	        CONTRACT0, CONTRACT0 + CLIENTS - 1, 1000 + PER_CLIENT),
	    CLIENTS);
	hx_ok("PostgreSQL: %d accepted messages and readings, each of the %d "
	      "contracts at its last value",
	    CLIENTS * PER_CLIENT, CLIENTS);
}

/* ---- slow clients ---- */

/* A reading of contract CONTRACT0 + n, higher than any before. */
static const char *
reading(int n, int value)
{
	static _Thread_local char text[64];

	snprintf(text, sizeof(text), "ПС %d %d", CONTRACT0 + n, value);
	return text;
}

static char *
signed_request(const char *id, int n, size_t *len)
{
	char *body = hx_msg(id, "viber", "79140000001", reading(n, 2000));
	char hex[65], sig[80], *req;

	hx_sign(HX_SECRET, body, strlen(body), hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	req = hx_request("POST", "/v1/messages", "application/json", sig, body,
	    strlen(body), len);
	free(body);
	return req;
}

struct dribbler {
	pthread_t th;
	struct hx_resp r;
	int rc;
	long long ms;
};

/* A whole request in 20 pieces, 100 ms apart. */
static void *
dribble_main(void *arg)
{
	struct dribbler *d = arg;
	size_t len, piece;
	char *req = signed_request("slow-dribble", 1, &len);
	int fd = hx_connect(port);
	long long t0 = hx_now_ms();

	piece = (len + 19) / 20;
	for (size_t off = 0; off < len; off += piece) {
		hx_send(fd, req + off, off + piece > len ? len - off : piece);
		hx_sleep_ms(100);
	}
	d->rc = hx_recv(fd, &d->r, NULL);
	d->ms = hx_now_ms() - t0;
	close(fd);
	free(req);
	return NULL;
}

struct staller {
	pthread_t th;
	int fd;
	size_t send; /* bytes of the request to send, then stall */
	bool idle_after_one; /* one whole request first */
	bool got_bytes;
	int rc;
	long long ms;
};

/* Send part of a request (or a whole one, then nothing) and wait for the
 * server to close. */
static void *
stall_main(void *arg)
{
	struct staller *s = arg;
	struct hx_resp r = { 0 };
	long long t0;
	size_t len;
	char *req = signed_request("slow-stall", 4, &len);

	if (s->idle_after_one) {
		char *body = hx_msg(
		    "slow-idle", "viber", "79140000002", reading(2, 2000));

		if (hx_post_on(s->fd, body, &r) < 0 || r.status != 200)
			s->rc = -2;
		hx_resp_clear(&r);
		free(body);
	} else {
		hx_send(s->fd, req, s->send < len ? s->send : len);
	}
	t0 = hx_now_ms();
	if (s->rc != -2)
		s->rc = hx_recv(s->fd, &r, &s->got_bytes);
	s->ms = hx_now_ms() - t0;
	hx_resp_clear(&r);
	close(s->fd);
	free(req);
	return NULL;
}

static void
slow_clients(void)
{
	static struct staller st[STALLED + 2];
	struct dribbler d = { 0 };
	long long worst = 0;
	size_t len;
	char *req = signed_request("x", 4, &len);

	/* [0] stops half-way through the body, [1] idles after a request,
	 * the rest stop inside their headers */
	for (int i = 0; i < STALLED + 2; i++) {
		st[i].fd = hx_connect(port);
		st[i].send = i == 0 ? len - 40 : (size_t)(20 + i % 60);
		st[i].idle_after_one = i == 1;
		pthread_create(&st[i].th, NULL, stall_main, &st[i]);
	}
	free(req);
	pthread_create(&d.th, NULL, dribble_main, &d);
	/* Meanwhile, others are answered at once. */
	for (int i = 0; i < 20; i++) {
		char id[32];
		long long t0 = hx_now_ms();

		snprintf(id, sizeof(id), "slow-fast-%d", i);
		if (strcmp(hx_say(port, id, "whatsapp", "79140000003",
		               reading(0, 2000 + i), NULL, 0),
		        "accepted") != 0)
			hx_fail("%s not accepted", id);
		if (hx_now_ms() - t0 > worst)
			worst = hx_now_ms() - t0;
		hx_sleep_ms(100);
	}
	pthread_join(d.th, NULL);
	HX_EQ_INT(d.rc, 0);
	HX_EQ_INT(d.r.status, 200);
	HX_EQ_STR(hx_jfield(&d.r, "outcome"), "accepted");
	hx_resp_clear(&d.r);
	HX_CHECK(worst < 1000, "a request took %lld ms while a client dribbled",
	    worst);
	hx_ok(
	    "a request sent in 20 pieces over %lld ms: 200 accepted; 20 other "
	    "requests meanwhile, slowest %lld ms, with %d stalled connections "
	    "open",
	    d.ms, worst, STALLED + 2);
	for (int i = 0; i < STALLED + 2; i++) {
		pthread_join(st[i].th, NULL);
		if (st[i].rc != -1 || st[i].got_bytes)
			hx_fail("stalled connection %d: %s", i,
			    st[i].rc == -2 ? "its first request failed"
			                   : "got an answer");
		if (st[i].ms < (TIMEOUT_S - 1) * 1000 ||
		    st[i].ms > (TIMEOUT_S + 8) * 1000)
			hx_fail("stalled connection %d closed after %lld ms, "
			        "expected about %d s",
			    i, st[i].ms, TIMEOUT_S);
	}
	hx_ok(
	    "a request stopped half-way, an idle keep-alive connection and "
	    "%d half-sent headers: closed by the server after ~%d s (%lld ms), "
	    "no answer",
	    STALLED, TIMEOUT_S, st[0].ms);
	HX_EQ_INT(hx_sql_long(db,
	              "SELECT count(*) FROM messages WHERE"
	              " external_id = 'slow-stall'"),
	    0);
	HX_EQ_STR(hx_say(port, "slow-after", "viber", "79140000004",
	              reading(3, 2000), NULL, 0),
	    "accepted");
	hx_ok("nothing of the stalled requests stored; the service answers "
	      "normally afterwards");
}

/* One single-register contract per client, last value 1000. */
static void
import_contracts(void)
{
	char csv[600];
	FILE *f;

	snprintf(csv, sizeof(csv), "%s/contracts.csv", hx_workdir());
	f = fopen(csv, "w");
	fprintf(f,
	    "contract,resource,position,register,digits,last_value,"
	    "last_date,status\n");
	for (int i = 0; i < CLIENTS; i++)
		fprintf(f,
		    "%d,electricity,1,показания,6,1000,2024-01-01,active\n",
		    CONTRACT0 + i);
	fclose(f);
	hx_import(db, csv);
}

int
main(void)
{
	struct hx_svc svc;

	hx_init("test_hx_load",
	    "100 parallel keep-alive clients, slow and "
	    "stalled clients");
	db = hx_db_create("hx_load");
	import_contracts();
	hx_svc_start(&svc, db, NULL);
	port = svc.port;
	many_clients();
	slow_clients();
	hx_svc_stop(&svc);
	hx_ok("the service stopped cleanly");
	return 0;
}
