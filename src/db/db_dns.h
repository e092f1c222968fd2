/*
 * The host names of a libpq conninfo looked up with evdns, so that libpq
 * (whose PQconnectStart resolves with a blocking getaddrinfo) gets the
 * addresses as hostaddr= beside host= (which it still uses for TLS and
 * verify-full): nothing on the loop waits for DNS (docs/dns.md). Internal
 * to the db library.
 */
#ifndef METERLINE_DB_DNS_H
#define METERLINE_DB_DNS_H

struct event_base;
struct evdns_base;
struct db_lookup;

/*
 * The end of a lookup, from the loop: hostaddr (one entry per host of the
 * conninfo, in order; "" for a socket directory) or NULL with why (a name
 * that did not resolve: the connect fails and is tried again later).
 */
typedef void (*db_lookup_cb)(const char *hostaddr, const char *why, void *arg);

/*
 * Look up conninfo's host names. Returns a lookup whose callback runs
 * once, later, from the loop; or NULL when there is nothing to look up
 * (no host name, hostaddr already set, or a conninfo libpq will refuse
 * with its own message).
 */
struct db_lookup *db_lookup_start(struct event_base *, struct evdns_base *,
    const char *conninfo, db_lookup_cb, void *arg);

/* Cancel: the callback never runs. NULL-safe. */
void db_lookup_cancel(struct db_lookup *);

#endif
