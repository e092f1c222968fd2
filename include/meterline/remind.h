/*
 * Reminders before the deadline (docs/reminders.md).
 *
 * The pure part (remind_plan.c) answers, from the configuration and a
 * time, whether reminders are due and for which date and windows. The
 * store part (remind_store.c) turns that into rows: one reminder per
 * contract, date and target (a bound phone or chat) for every contract
 * with no accepted submission in the current window, queued set-based
 * into `reminders` (migration 0009), then released into each channel's
 * outbox at the configured rate, claimed with SKIP LOCKED so several
 * instances and restarts never queue or send one twice. The timer part
 * (remind_timer.c) runs both on a libevent loop inside `serve`.
 */
#ifndef METERLINE_REMIND_H
#define METERLINE_REMIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/config.h"
#include "meterline/model.h"

/*
 * The sender (our address) of a messenger reminder's outbox row: serve
 * sends such a row on WhatsApp as the approved template.
 */
#define REMIND_SENDER "reminder"

/* ---- the pure part ------------------------------------------------------ */

/* The window occurrence of one resource a reminder date falls in. */
struct remind_window {
	enum model_resource res;
	int32_t since; /* its first day (days since 1970-01-01) */
	int32_t deadline; /* its last day */
};

struct remind_due {
	int32_t date; /* the reminder date (local), days since 1970-01-01 */
	size_t n; /* resources whose window is open on that date */
	struct remind_window win[MODEL__RES_MAX];
};

/*
 * Whether local date (days since 1970-01-01) is a reminder day ([reminders]
 * days; a day past the month's end means its last day) inside the window
 * of at least one resource; fills out for those resources.
 */
bool remind_due_on(const struct config *, int32_t date, struct remind_due *out);

/*
 * Whether reminders are due at Unix time now: today (local, [window]
 * timezone) is a reminder day (remind_due_on) and the local time is at or
 * past [reminders] time.
 */
bool remind_due_at(const struct config *, int64_t now, struct remind_due *out);

/* Whether Unix time now is inside [reminders] quiet_hours (local). */
bool remind_quiet(const struct config *, int64_t now);

/* The local date of Unix time now, days since 1970-01-01. */
int32_t remind_local_date(const struct config *, int64_t now);

/* "2026-12-20" for a date (days since 1970-01-01); buf of 11 bytes or more. */
void remind_date_str(int32_t date, char *buf, size_t len);

/* "2026-12-20" into days since 1970-01-01; 0, or -1 when not a date. */
int remind_date_parse(const char *s, int32_t *date);

/* ---- the store part (blocking; the CLI and tests) ---------------------- */

struct db_sync;

/*
 * Queue the reminders of d (one per contract, date and target; those
 * queued already are skipped), unless this date was queued before (by
 * any instance: reminder_runs). Returns the rows queued, 0 when the date
 * was done already, -1 with why in err.
 */
long remind_queue(struct db_sync *, const struct config *,
    const struct remind_due *d, char *err, size_t errlen);

/*
 * Move up to max queued reminders of channel into its outbox (those whose
 * contract submitted or whose sender opted out since, or whose window
 * closed, are skipped with a reason). today: the local date. Returns the
 * reminders it took (0: none left), of which *sent went into the outbox;
 * -1 with why in err.
 */
long
remind_release(struct db_sync *, const struct config *, const char *channel,
    int max, int32_t today, long *sent, char *err, size_t errlen);

/* One target a dry run found. Strings point into the row set. */
struct remind_target {
	const char *contract, *channel, *target, *why;
	bool queued; /* a row for it exists already */
};

typedef void (*remind_target_cb)(const struct remind_target *, void *arg);

/*
 * Who would get a reminder for d and why, without writing anything;
 * returns how many, -1 with why in err.
 */
long remind_dry_run(struct db_sync *, const struct config *,
    const struct remind_due *d, remind_target_cb, void *arg, char *err,
    size_t errlen);

/* ---- the timer inside serve -------------------------------------------- */

struct event_base;
struct evdns_base;
struct remind;

struct remind_opts {
	const struct config *cfg; /* borrowed; outlives the remind */
	/* the resolver of the database's host names (borrowed; NULL:
	   libpq's blocking lookup, docs/dns.md) */
	struct evdns_base *dns;
	/* reminders went into channel's outbox: wake its claim (may be NULL) */
	void (*queued)(void *arg, const char *channel);
	void *queued_arg;
	int tick_ms; /* 0: 1000; release this often, check the plan every 15 */
	/* tests: the clock, Unix seconds; NULL: the wall clock */
	int64_t (*now)(void *arg);
	void *now_arg;
};

struct remind *remind_new(struct event_base *, const struct remind_opts *);
void remind_free(struct remind *); /* NULL-safe */

struct remind_stats {
	uint64_t queued, released, runs;
};
void remind_stats(const struct remind *, struct remind_stats *);

#endif
