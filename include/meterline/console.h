/*
 * The support console and the billing API (docs/console.md): server-
 * rendered pages for support staff and GET /api/v1/readings for billing
 * systems, on their own evhttp listener ([console] listen) on the
 * service's libevent loop. Database work goes through an asynchronous
 * connection of its own (db.h) and password hashing through a worker
 * thread, so nothing here blocks the loop.
 */
#ifndef METERLINE_CONSOLE_H
#define METERLINE_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "meterline/config.h"

struct event_base;
struct evdns_base;
struct console;

struct console_stats {
	uint64_t requests; /* dispatched */
	uint64_t logins_ok, logins_failed, logins_limited;
	uint64_t csrf_refused, role_refused;
	uint64_t api_rows; /* readings streamed by the API */
};

/*
 * Bind [console] listen and serve on base, reading and writing the
 * database at conninfo (its host names looked up with dns; NULL: libpq's
 * blocking lookup); times are shown in the time zone named zone (IANA).
 * cfg is copied, the strings are copied. NULL with why in err.
 */
struct console *console_new(struct event_base *, struct evdns_base *dns,
    const struct config_console *cfg, const char *conninfo, const char *zone,
    char *err, size_t errlen);

/*
 * Where the house manager's page sends readings (issue 18): the service's
 * intake, as every channel's (channel "web", the manager as sender).
 * Without it the page answers 503. in is copied.
 */
struct intake;
void console_set_intake(struct console *, const struct intake *in);

/*
 * Enable replay from the console (docs/console.md, "Replay"): the lines
 * run through the replay engine of src/ops with cfg's window, templates,
 * intake bounds and database, on a worker thread. Without it the replay
 * pages answer 503. cfg is copied.
 */
void console_set_replay(struct console *, const struct config *cfg);

/* The bound port (useful with port 0). */
int console_port(const struct console *);

/* Requests in flight (pages waiting for the database, API streams). */
size_t console_inflight(const struct console *);

const struct console_stats *console_stats(const struct console *);

/* Stop accepting connections; requests in flight still get answers. */
void console_stop(struct console *);

/* Answer what is in flight with 503 and free. NULL-safe. */
void console_free(struct console *);

#endif
