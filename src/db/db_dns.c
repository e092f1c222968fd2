/*
 * A conninfo's host names looked up with evdns (db_dns.h): libpq gets the
 * first address of each as hostaddr=, in the order of host=, so
 * PQconnectStart never calls getaddrinfo on the loop.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <libpq-fe.h>

#include "db_dns.h"
#include "meterline/xmalloc.h"

/* libpq's multi-host lists are short; a longer one is left to libpq */
#define DB_LOOKUP_HOSTS 16
#define DB_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

struct db_lookup_host {
	struct db_lookup *l;
	char name[256]; /* to look up; "" for an address or a socket */
	struct evdns_getaddrinfo_request *req; /* in flight, or NULL */
	char addr[DB_ADDR_MAX]; /* the answer; "" for a socket directory */
};

struct db_lookup {
	struct event *done_ev; /* runs the callback from the loop */
	db_lookup_cb cb;
	void *arg;
	bool cancelled;
	int pending; /* requests not answered yet (plus one while starting) */
	size_t nhosts;
	struct db_lookup_host hosts[DB_LOOKUP_HOSTS];
	char why[192];
};

static void
lookup_free(struct db_lookup *l)
{
	event_free(l->done_ev);
	free(l);
}

/* One answer less to wait for; the last one ends the lookup. */
static void
lookup_settle(struct db_lookup *l)
{
	if (--l->pending > 0)
		return;
	if (l->cancelled)
		lookup_free(l);
	else
		event_active(l->done_ev, 0, 0);
}

static void
lookup_host_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct db_lookup_host *h = arg;
	struct db_lookup *l = h->l;
	const struct sockaddr *sa = res != NULL ? res->ai_addr : NULL;
	const void *in = NULL;

	h->req = NULL;
	if (result == 0 && sa != NULL)
		in = sa->sa_family == AF_INET6
		    ? (const void *)&((const struct sockaddr_in6 *)sa)
		          ->sin6_addr
		    : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (in == NULL ||
	    evutil_inet_ntop(sa->sa_family, in, h->addr, sizeof(h->addr)) ==
	        NULL) {
		if (result != EVUTIL_EAI_CANCEL && l->why[0] == '\0')
			snprintf(l->why, sizeof(l->why),
			    "cannot resolve %.64s: %s", h->name,
			    evutil_gai_strerror(
			        result ? result : EVUTIL_EAI_FAIL));
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	lookup_settle(l);
}

static void
lookup_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_lookup *l = arg;
	char hostaddr[DB_LOOKUP_HOSTS * (DB_ADDR_MAX + 1)] = "";
	size_t used = 0;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < l->nhosts; i++)
		used +=
		    (size_t)snprintf(hostaddr + used, sizeof(hostaddr) - used,
		        "%s%s", i ? "," : "", l->hosts[i].addr);
	l->cb(l->why[0] ? NULL : hostaddr, l->why, l->arg);
	lookup_free(l);
}

/*
 * host= of conninfo split into l->hosts: a numeric address is its own
 * hostaddr, a socket directory (or "") has none. The number of names to
 * look up, or -1 when there is nothing to do.
 */
static int
lookup_plan(struct db_lookup *l, const char *conninfo, char *names)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *host = NULL, *hostaddr = NULL;
	int n = 0;

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
	}
	if (host == NULL || host[0] == '\0' ||
	    (hostaddr != NULL && hostaddr[0] != '\0') || strlen(host) >= 1024) {
		PQconninfoFree(opts);
		return -1;
	}
	strcpy(names, host);
	PQconninfoFree(opts);
	for (char *p = names, *end; p != NULL; p = end) {
		unsigned char buf[16];
		struct db_lookup_host *h = &l->hosts[l->nhosts];

		if ((end = strchr(p, ',')) != NULL)
			*end++ = '\0';
		if (l->nhosts == DB_LOOKUP_HOSTS)
			return -1;
		l->nhosts++;
		h->l = l;
		if (p[0] == '\0' || p[0] == '/' || p[0] == '@')
			continue; /* a socket: no address */
		if (evutil_inet_pton(AF_INET, p, buf) == 1 ||
		    evutil_inet_pton(AF_INET6, p, buf) == 1) {
			snprintf(h->addr, sizeof(h->addr), "%s", p);
			continue;
		}
		if (strlen(p) >= sizeof(h->name))
			return -1; /* no such name: libpq will say so */
		snprintf(h->name, sizeof(h->name), "%s", p);
		n++;
	}
	return n > 0 ? n : -1;
}

struct db_lookup *
db_lookup_start(struct event_base *base, struct evdns_base *dns,
    const char *conninfo, db_lookup_cb cb, void *arg)
{
	struct db_lookup *l = xcalloc(1, sizeof(*l));
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM };
	char names[1024];

	if (lookup_plan(l, conninfo, names) < 0) {
		free(l);
		return NULL;
	}
	l->cb = cb;
	l->arg = arg;
	l->done_ev = event_new(base, -1, 0, lookup_done_cb, l);
	l->pending = 1; /* held while starting: an answer may come at once */
	for (size_t i = 0; i < l->nhosts; i++) {
		struct db_lookup_host *h = &l->hosts[i];

		if (h->name[0] == '\0')
			continue;
		l->pending++;
		h->req = evdns_getaddrinfo(
		    dns, h->name, NULL, &hints, lookup_host_cb, h);
	}
	lookup_settle(l);
	return l;
}

void
db_lookup_cancel(struct db_lookup *l)
{
	if (l == NULL)
		return;
	if (l->pending == 0) { /* answered; the callback not run yet */
		lookup_free(l);
		return;
	}
	l->cancelled = true;
	l->pending++; /* held: a cancelled request may answer at once */
	for (size_t i = 0; i < l->nhosts; i++)
		if (l->hosts[i].req != NULL)
			evdns_getaddrinfo_cancel(l->hosts[i].req);
	lookup_settle(l);
}
