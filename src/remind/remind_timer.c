/*
 * Reminders inside serve: a libevent timer, no cron. Every tick (1 s)
 * outside the quiet hours it releases up to [reminders] rate reminders per
 * channel into their outboxes; every 15th tick it checks whether today's
 * reminders are due and not queued yet by this process, and queues them
 * (the statement itself makes sure only one instance ever does: the
 * reminder_runs key). Both run on a connection of their own, one round
 * at a time, so a long queue (a million contracts: tens of seconds)
 * never blocks the loop and releases simply wait for it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"
#include "remind_sql.h"

#define REMIND_PLAN_EVERY 15 /* ticks between checks of the plan */
/* ticks to wait after a failed round (schema not migrated, database
   trouble): one warning per this many, not one a second */
#define REMIND_BACKOFF 30
#define REMIND_CHANNELS 6

enum { REMIND_ST_QUEUE, REMIND_ST_RELEASE };

static const struct db_stmt remind_stmts[] = {
	[REMIND_ST_QUEUE] = { "remind_queue", REMIND_SQL_QUEUE, 5 },
	[REMIND_ST_RELEASE] = { "remind_release", REMIND_SQL_RELEASE, 5 },
};

struct remind {
	struct remind_opts o;
	struct db *db;
	struct event *timer;
	bool busy; /* a round in flight */
	bool freeing; /* remind_free: a round ending lost is no news */
	unsigned ticks;
	unsigned idle; /* ticks left to wait after a failure */
	int32_t queued_date; /* the last date this process saw queued */
	int32_t queuing_date; /* the date of the queue round in flight */
	char channels[REMIND_CHANNELS][16];
	size_t nchannels;
	struct remind_stats st;
};

static int64_t
remind_now(const struct remind *rm)
{
	return rm->o.now != NULL ? rm->o.now(rm->o.now_arg)
	                         : (int64_t)time(NULL);
}

static void
remind_queue_done(const struct db_round_result *r, void *arg)
{
	struct remind *rm = arg;
	char day[16];
	long n;

	rm->busy = false;
	if (rm->freeing)
		return;
	if (r->lost || r->failed >= 0 || db_rows_count(r->rows[0]) != 1) {
		rm->idle = REMIND_BACKOFF;
		log_warn("reminders: queueing failed (retried): %s",
		    r->lost ? "connection lost" : r->error);
		return;
	}
	n = strtol(db_rows_get(r->rows[0], 0, 0), NULL, 10);
	rm->queued_date = rm->queuing_date;
	rm->st.runs++;
	rm->st.queued += (uint64_t)n;
	remind_date_str(rm->queued_date, day, sizeof(day));
	log_info("reminders for %s: %ld queued%s", day, n,
	    n == 0 ? " (none due, or queued before)" : "");
}

/* Queue today's reminders when due and not queued yet by this process. */
static bool
remind_plan(struct remind *rm, int64_t now)
{
	struct remind_due d;
	struct remind_params q;
	int rc;

	if (!remind_due_at(rm->o.cfg, now, &d) || d.date == rm->queued_date)
		return false;
	remind_params_fill(&q, rm->o.cfg, &d);
	rc = db_send(rm->db, REMIND_ST_QUEUE, q.p);
	remind_params_free(&q);
	if (rc != 0 || db_round(rm->db, true, remind_queue_done, rm) != 0)
		return false;
	rm->queuing_date = d.date;
	rm->busy = true;
	return true;
}

static void
remind_release_done(const struct db_round_result *r, void *arg)
{
	struct remind *rm = arg;

	rm->busy = false;
	if (rm->freeing)
		return;
	if (r->lost || r->failed >= 0) {
		rm->idle = REMIND_BACKOFF;
		log_warn("reminders: release failed (retried): %s",
		    r->lost ? "connection lost" : r->error);
		return;
	}
	for (size_t i = 0; i < r->nrows && i < rm->nchannels; i++) {
		long sent = 0;

		if (remind_release_counts(r->rows[i], &sent) < 0)
			continue;
		rm->st.released += (uint64_t)sent;
		if (sent > 0 && rm->o.queued != NULL)
			rm->o.queued(rm->o.queued_arg, rm->channels[i]);
	}
}

/* Release up to rate reminders of every channel, in one transaction. */
static void
remind_release_round(struct remind *rm, int64_t now)
{
	int32_t today = remind_local_date(rm->o.cfg, now);

	for (size_t i = 0; i < rm->nchannels; i++) {
		struct remind_release_params q;

		remind_release_fill(&q, rm->o.cfg, rm->channels[i],
		    rm->o.cfg->reminders.rate, today);
		if (db_send(rm->db, REMIND_ST_RELEASE, q.p) != 0)
			return;
	}
	if (db_round(rm->db, true, remind_release_done, rm) == 0)
		rm->busy = true;
}

static void
remind_tick(evutil_socket_t fd, short what, void *arg)
{
	struct remind *rm = arg;
	int64_t now = remind_now(rm);

	(void)fd;
	(void)what;
	if (rm->busy || !db_ready(rm->db))
		return;
	if (rm->idle > 0) {
		rm->idle--;
		return;
	}
	if (rm->ticks++ % REMIND_PLAN_EVERY == 0 && remind_plan(rm, now))
		return;
	if (!remind_quiet(rm->o.cfg, now))
		remind_release_round(rm, now);
}

/* The configured channels, split once ("sms,telegram"). */
static void
remind_split_channels(struct remind *rm)
{
	const char *s = rm->o.cfg->reminders.channels;

	while (*s != '\0' && rm->nchannels < REMIND_CHANNELS) {
		size_t len = strcspn(s, ",");

		if (len < sizeof(rm->channels[0])) {
			memcpy(rm->channels[rm->nchannels], s, len);
			rm->channels[rm->nchannels++][len] = '\0';
		}
		s += len + (s[len] == ',');
	}
}

struct remind *
remind_new(struct event_base *base, const struct remind_opts *o)
{
	struct remind *rm = xcalloc(1, sizeof(*rm));
	int tick_ms = o->tick_ms > 0 ? o->tick_ms : 1000;
	struct timeval tv = { tick_ms / 1000, (tick_ms % 1000) * 1000 };
	struct db_opts dbo = { .name = "reminders",
		.conninfo = o->cfg->database.conninfo,
		.stmts = remind_stmts,
		.nstmts = sizeof(remind_stmts) / sizeof(remind_stmts[0]),
		.session_sql = REMIND_SQL_SESSION,
		.dns = o->dns,
		/* a million contracts take tens of seconds to queue */
		.round_timeout_ms = 600000 };

	rm->o = *o;
	rm->queued_date = rm->queuing_date = MODEL_DATE_NONE;
	remind_split_channels(rm);
	rm->db = db_new(base, &dbo, NULL, NULL);
	rm->timer = event_new(base, -1, EV_PERSIST, remind_tick, rm);
	event_add(rm->timer, &tv);
	return rm;
}

void
remind_free(struct remind *rm)
{
	if (rm == NULL)
		return;
	event_free(rm->timer);
	rm->freeing = true;
	db_free(rm->db); /* a round in flight ends as lost: its callback runs */
	free(rm);
}

void
remind_stats(const struct remind *rm, struct remind_stats *out)
{
	*out = rm->st;
}
