/*
 * The db library's lookup of a conninfo's host names (src/db/db_dns.c,
 * docs/dns.md) against a DNS server on the same loop (libevent's evdns
 * server on 127.0.0.1, answering 50 ms late): what is looked up and what
 * is not, hostaddr in the order of host= with sockets and addresses kept
 * in place, a name that does not exist, a name from the hosts file
 * (answered at once, reported from the loop), and lookups cancelled in
 * flight or answered (their callback never runs; ASan sees no leak or use
 * after free).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/util.h>

#include "db_dns.h"

static struct {
	struct event_base *base;
	struct evdns_base *dns;
	struct evdns_server_port *port;
	int fd;
	int asked_hosts_name; /* questions about the hosts file's name */
} S;

struct got {
	int calls;
	char hostaddr[256], why[256];
};

/* The server's answer, 50 ms after the question. */
static void
srv_answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evdns_server_request *req = arg;
	int err = 0;

	(void)fd;
	(void)what;
	for (int i = 0; i < req->nquestions; i++) {
		const struct evdns_server_question *q = req->questions[i];
		uint32_t a;

		if (evutil_ascii_strcasecmp(q->name, "nx.test") == 0) {
			err = DNS_ERR_NOTEXIST;
			continue;
		}
		if (q->type != EVDNS_TYPE_A)
			continue; /* AAAA: no record */
		a = htonl(evutil_ascii_strcasecmp(q->name, "db1.test") == 0
		        ? 0x0A000001
		        : 0x0A000002);
		evdns_server_request_add_a_reply(req, q->name, 1, &a, 60);
	}
	evdns_server_request_respond(req, err);
}

static void
srv_cb(struct evdns_server_request *req, void *arg)
{
	(void)arg;
	for (int i = 0; i < req->nquestions; i++)
		if (evutil_ascii_strcasecmp(
		        req->questions[i]->name, "pg.hosts.test") == 0)
			S.asked_hosts_name++;
	event_base_once(S.base, -1, EV_TIMEOUT, srv_answer_cb, req,
	    &(struct timeval){ 0, 50000 });
}

static int
setup(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char ns[64];

	(void)state;
	S.base = event_base_new();
	S.fd = socket(AF_INET, SOCK_DGRAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(S.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(S.fd, (struct sockaddr *)&sin, &len);
	evutil_make_socket_nonblocking(S.fd);
	S.port = evdns_add_server_port_with_base(S.base, S.fd, 0, srv_cb, NULL);
	S.dns = evdns_base_new(S.base, 0);
	snprintf(ns, sizeof(ns), "127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(evdns_base_nameserver_ip_add(S.dns, ns), 0);
	S.asked_hosts_name = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	evdns_base_free(S.dns, 0);
	evdns_close_server_port(S.port);
	close(S.fd);
	event_base_free(S.base);
	return 0;
}

static void
got_cb(const char *hostaddr, const char *why, void *arg)
{
	struct got *g = arg;

	g->calls++;
	snprintf(g->hostaddr, sizeof(g->hostaddr), "%s",
	    hostaddr ? hostaddr : "(null)");
	snprintf(g->why, sizeof(g->why), "%s", why ? why : "");
	event_base_loopexit(S.base, NULL);
}

/* Run the loop until the callback (or 2 s). */
static void
run(struct got *g, const char *conninfo)
{
	struct db_lookup *l =
	    db_lookup_start(S.base, S.dns, conninfo, got_cb, g);

	assert_non_null(l);
	event_base_loopexit(S.base, &(struct timeval){ 2, 0 });
	event_base_dispatch(S.base);
	assert_int_equal(g->calls, 1);
}

static void
test_nothing_to_look_up(void **state)
{
	static const char *const none[] = { "dbname=x", "host=/var/run/pg",
		"host=10.0.0.7 dbname=x", "host=::1,10.0.0.7",
		"host=db1.test hostaddr=10.0.0.9", "host='unterminated",
		"postgresql:///x?host=/tmp", "" };
	struct got g = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (db_lookup_start(S.base, S.dns, none[i], got_cb, &g) != NULL)
			fail_msg("\"%s\" looked up", none[i]);
	assert_int_equal(g.calls, 0);
}

static void
test_hostaddr_in_order(void **state)
{
	struct got g = { 0 };

	(void)state;
	run(&g, "host=db1.test,/tmp,10.9.9.9,DB2.test port=5432 dbname=x");
	assert_string_equal(g.hostaddr, "10.0.0.1,,10.9.9.9,10.0.0.2");
	assert_string_equal(g.why, "");
	/* the URI form */
	memset(&g, 0, sizeof(g));
	run(&g, "postgresql://u@db2.test:5433/x?sslmode=verify-full");
	assert_string_equal(g.hostaddr, "10.0.0.2");
}

static void
test_unknown_name(void **state)
{
	struct got g = { 0 };

	(void)state;
	run(&g, "host=db1.test,nx.test dbname=x");
	assert_string_equal(g.hostaddr, "(null)");
	if (strstr(g.why, "cannot resolve nx.test") == NULL)
		fail_msg("why: %s", g.why);
}

static void
test_cancel_in_flight(void **state)
{
	struct got g = { 0 };
	struct db_lookup *l;

	(void)state;
	l = db_lookup_start(
	    S.base, S.dns, "host=db1.test,db2.test", got_cb, &g);
	assert_non_null(l);
	db_lookup_cancel(l);
	/* let the server answer what was asked: nobody is called */
	event_base_loopexit(S.base, &(struct timeval){ 0, 300000 });
	event_base_dispatch(S.base);
	assert_int_equal(g.calls, 0);
	db_lookup_cancel(NULL);
}

/* A name in the hosts file is answered at once, inside db_lookup_start:
   the callback still runs from the loop, and a cancel before it runs
   frees the lookup without calling it. */
static void
test_hosts_file(void **state)
{
	char path[] = "/tmp/test_db_dns_hosts_XXXXXX";
	int fd = mkstemp(path);
	struct got g = { 0 };
	struct db_lookup *l;

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, "10.0.0.5 pg.hosts.test\n", 23) == 23);
	close(fd);
	assert_int_equal(evdns_base_load_hosts(S.dns, path), 0);
	unlink(path);
	l = db_lookup_start(S.base, S.dns, "host=pg.hosts.test", got_cb, &g);
	assert_non_null(l);
	assert_int_equal(g.calls, 0); /* not from inside the start */
	db_lookup_cancel(l);
	event_base_loopexit(S.base, &(struct timeval){ 0, 100000 });
	event_base_dispatch(S.base);
	assert_int_equal(g.calls, 0);
	run(&g, "host=pg.hosts.test,db1.test");
	assert_string_equal(g.hostaddr, "10.0.0.5,10.0.0.1");
	assert_int_equal(S.asked_hosts_name, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_nothing_to_look_up, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hostaddr_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unknown_name, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cancel_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hosts_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
