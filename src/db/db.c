/*
 * Asynchronous libpq on a libevent loop (see db.h and api-notes.md §c).
 *
 * States: IDLE (waiting out the backoff) -> CONNECTING (PQconnectPoll) ->
 * PREPARING (statements being prepared, one internal round) -> READY.
 * Any failure goes back to IDLE through db_fail(): rounds in flight are
 * completed with lost=true, the state callback hears "down" once, and a
 * reconnect is scheduled with exponential backoff and jitter.
 *
 * Callbacks never run from inside db_send()/db_round(): a libpq error
 * there only marks the connection broken, and the failure is handled from
 * the loop a moment later.
 *
 * Behind a transaction pooler (db_pooler_set) nothing may live in the
 * session: statements go as unnamed ones with their text, and the session
 * settings are sent, local, as a hidden first statement of every
 * transaction, whose result the round's owner never sees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "db_dns.h"
#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

enum db_state { DB_IDLE, DB_CONNECTING, DB_PREPARING, DB_READY };

/* One round in flight: its statements' results, then maybe a sync. */
struct db_round_q {
	size_t nstmts, got;
	size_t hidden; /* leading results that are ours (pooled settings) */
	bool sync;
	PGresult **res;
	int failed;
	char sqlstate[6];
	char error[256];
	db_round_cb cb;
	void *arg;
	struct db_round_q *next;
};

struct db {
	struct event_base *base;
	struct db_opts opts;
	db_state_cb state_cb;
	void *state_arg;
	PGconn *conn;
	enum db_state state;
	struct event *io; /* re-created at every arm: the fd may change */
	struct event *timer; /* connect timeout, backoff or round timeout */
	struct event *fail_ev; /* deferred failure from db_send/db_round */
	char fail_why[128];
	bool want_write;
	int backoff_ms;
	size_t unsent; /* statements sent, round not yet closed */
	size_t hidden; /* of which ours: the pooled settings */
	bool pooled; /* behind a transaction pooler */
	bool in_txn; /* pooled: the settings went in this transaction */
	char *local_sql; /* pooled: session_sql with is_local true */
	struct db_round_q *head, *tail;
	struct db_lookup *lookup; /* host names being resolved (evdns) */
	unsigned gen; /* bumped by every failure */
	uint32_t rng;
	/* log damping: one line per state change, repeats once a minute */
	char last_err[384];
	time_t last_err_at;
	unsigned repeats;
	struct db_stats stats;
};

/* Process-wide: one database per process, one way to reach it (db.h). */
static enum db_pooler db_pooler_mode = DB_POOLER_NONE;

void
db_pooler_set(enum db_pooler mode)
{
	db_pooler_mode = mode;
}

enum db_pooler
db_pooler_get(void)
{
	return db_pooler_mode;
}

/*
 * session_sql made transaction-local: every set_config(..., false) of the
 * one SELECT db.h allows becomes set_config(..., true). NULL for NULL.
 */
static char *
db_local_settings(const char *sql)
{
	static const char from[] = "false)", to[] = "true)";
	char *out, *w;

	if (sql == NULL)
		return NULL;
	w = out = xmalloc(strlen(sql) + 1); /* "true)" is shorter */
	while (*sql != '\0') {
		if (strncmp(sql, from, sizeof(from) - 1) == 0) {
			memcpy(w, to, sizeof(to) - 1);
			w += sizeof(to) - 1;
			sql += sizeof(from) - 1;
		} else {
			*w++ = *sql++;
		}
	}
	*w = '\0';
	return out;
}

static void db_connect(struct db *);
static void db_io_cb(evutil_socket_t, short, void *);

static void
db_notice(void *arg, const char *msg)
{
	log_debug(
	    "db %s: server notice: %s", ((struct db *)arg)->opts.name, msg);
}

static void
db_timer_set(struct db *db, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(db->timer, &tv);
}

/* Watch the connection's current socket for read and, if asked, write. */
static void
db_arm(struct db *db, short what)
{
	if (db->io != NULL)
		event_free(db->io);
	db->io = event_new(db->base, PQsocket(db->conn), what, db_io_cb, db);
	event_add(db->io, NULL);
}

/*
 * Log a failure without flooding: a new message is logged at once, the
 * same one again at most once a minute with how often it happened.
 */
static void
db_log_failure(struct db *db, const char *why)
{
	time_t now = time(NULL);

	if (strcmp(why, db->last_err) != 0) {
		log_warn("db %s: %s", db->opts.name, why);
		snprintf(db->last_err, sizeof(db->last_err), "%s", why);
		db->last_err_at = now;
		db->repeats = 0;
	} else if (now - db->last_err_at >= 60) {
		log_warn("db %s: %s (%u more times)", db->opts.name, why,
		    db->repeats + 1);
		db->last_err_at = now;
		db->repeats = 0;
	} else {
		db->repeats++;
	}
}

/* Complete the head round and hand its results to the owner. */
static void
db_round_finish(struct db *db, bool lost)
{
	struct db_round_q *q = db->head;
	struct db_round_result r = {
		.nrows = q->nstmts,
		.rows = (struct db_rows *const *)q->res,
		.lost = lost,
		.failed = q->failed,
	};

	db->head = q->next;
	if (db->head == NULL)
		db->tail = NULL;
	memcpy(r.sqlstate, q->sqlstate, sizeof(r.sqlstate));
	memcpy(r.error, q->error, sizeof(r.error));
	if (lost) {
		for (size_t i = 0; i < q->nstmts; i++) {
			PQclear(q->res[i]);
			q->res[i] = NULL;
		}
	}
	db->stats.rounds++;
	if (!lost && db->head != NULL) /* the next round's timeout */
		db_timer_set(db, db->opts.round_timeout_ms);
	else if (!lost)
		evtimer_del(db->timer);
	q->cb(&r, q->arg);
	for (size_t i = 0; i < q->nstmts; i++)
		PQclear(q->res[i]);
	free(q->res);
	free(q);
}

/* A random delay around the backoff, then the backoff doubles. */
static int
db_backoff_next(struct db *db)
{
	int ms = db->backoff_ms;

	db->rng ^= db->rng << 13;
	db->rng ^= db->rng >> 17;
	db->rng ^= db->rng << 5;
	ms = ms * 3 / 4 + (int)(db->rng % (uint32_t)(ms / 2 + 1));
	if (db->backoff_ms < db->opts.backoff_max_ms)
		db->backoff_ms = db->backoff_ms * 2 > db->opts.backoff_max_ms
		    ? db->opts.backoff_max_ms
		    : db->backoff_ms * 2;
	return ms;
}

/*
 * Drop the connection: fail the rounds in flight, say "down" once, and
 * schedule the next attempt.
 */
static void
db_fail(struct db *db, const char *what)
{
	char why[384];
	bool was_ready = db->state == DB_READY;
	int delay;

	snprintf(why, sizeof(why), "%s: %s", what,
	    db->conn ? PQerrorMessage(db->conn) : "no connection");
	for (char *p = why, *w = why;; p++) { /* one line, single spaces */
		char c = *p == '\n' || *p == '\t' ? ' ' : *p;

		if (c == ' ' && (w == why || w[-1] == ' '))
			continue;
		if ((*w++ = c) == '\0')
			break;
	}
	for (size_t n = strlen(why); n > 0 && why[n - 1] == ' ';)
		why[--n] = '\0';
	if (db->io != NULL) {
		event_free(db->io); /* before PQfinish closes the fd */
		db->io = NULL;
	}
	db_lookup_cancel(db->lookup);
	db->lookup = NULL;
	PQfinish(db->conn);
	db->conn = NULL;
	db->state = DB_IDLE;
	db->gen++;
	db->unsent = 0;
	db->hidden = 0;
	db->in_txn = false;
	db->stats.failures++;
	evtimer_del(db->timer);
	delay = db_backoff_next(db);
	db_log_failure(db, why);
	while (db->head != NULL)
		db_round_finish(db, true);
	if (was_ready && db->state_cb)
		db->state_cb(false, db->state_arg);
	if (db->state == DB_IDLE && !evtimer_pending(db->timer, NULL))
		db_timer_set(db, delay);
}

/* Failures found inside db_send/db_round are handled from the loop. */
static void
db_fail_later(struct db *db, const char *why)
{
	if (db->fail_why[0] == '\0')
		snprintf(db->fail_why, sizeof(db->fail_why), "%s", why);
	event_active(db->fail_ev, 0, 0);
}

static void
db_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	char why[sizeof(db->fail_why)];

	(void)fd;
	(void)what;
	memcpy(why, db->fail_why, sizeof(why));
	db->fail_why[0] = '\0';
	if (db->state != DB_IDLE)
		db_fail(db, why);
}

static void
db_prepared_cb(const struct db_round_result *r, void *arg)
{
	struct db *db = arg;

	if (r->lost)
		return; /* db_fail already ran */
	if (r->failed >= 0) {
		snprintf(db->fail_why, sizeof(db->fail_why),
		    "preparing statements: %.100s", r->error);
		event_active(db->fail_ev, 0, 0);
		return;
	}
	db->state = DB_READY;
	db->backoff_ms = db->opts.backoff_min_ms;
	db->stats.connects++;
	db->last_err[0] = '\0';
	log_info("db %s: connected (backend %d)", db->opts.name,
	    PQbackendPID(db->conn));
	if (db->state_cb)
		db->state_cb(true, db->state_arg);
}

static void db_round_push(struct db *, bool sync, db_round_cb, void *);

/* Connected: pipeline mode, session settings, prepared statements. */
static void
db_on_connected(struct db *db)
{
	evtimer_del(db->timer);
	PQsetNoticeProcessor(db->conn, db_notice, db);
	if (PQsetnonblocking(db->conn, 1) != 0 ||
	    PQenterPipelineMode(db->conn) != 1) {
		db_fail(db, "entering pipeline mode");
		return;
	}
	db->state = DB_PREPARING;
	if (db->pooled) { /* settings per transaction, nothing prepared */
		db_round_push(db, true, db_prepared_cb, db);
		if (db->state != DB_IDLE)
			db_arm(db, EV_READ | (db->want_write ? EV_WRITE : 0));
		return;
	}
	if (db->opts.session_sql != NULL) {
		if (PQsendQueryParams(db->conn, db->opts.session_sql, 0, NULL,
		        NULL, NULL, NULL, 0) != 1) {
			db_fail(db, "sending the session settings");
			return;
		}
		db->unsent++;
	}
	for (size_t i = 0; i < db->opts.nstmts; i++) {
		const struct db_stmt *s = &db->opts.stmts[i];

		if (PQsendPrepare(
		        db->conn, s->name, s->sql, s->nparams, NULL) != 1) {
			db_fail(db, "sending PREPARE");
			return;
		}
		db->unsent++;
	}
	db_round_push(db, true, db_prepared_cb, db);
	if (db->state != DB_IDLE)
		db_arm(db, EV_READ | (db->want_write ? EV_WRITE : 0));
}

/* Step the nonblocking connect; the socket may change at every step. */
static void
db_connect_poll(struct db *db)
{
	switch (PQconnectPoll(db->conn)) {
	case PGRES_POLLING_READING: db_arm(db, EV_READ); break;
	case PGRES_POLLING_WRITING: db_arm(db, EV_WRITE); break;
	case PGRES_POLLING_OK: db_on_connected(db); break;
	default: db_fail(db, "connect"); break;
	}
}

/*
 * The result of a statement of ours (the pooled settings): a failure is
 * the round's first statement's, as everything after it is aborted.
 */
static void
db_hidden_result(struct db_round_q *q, PGresult *res)
{
	if (PQresultStatus(res) == PGRES_FATAL_ERROR && q->failed < 0) {
		const char *ss = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		q->failed = 0;
		snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", ss ? ss : "");
		snprintf(q->error, sizeof(q->error), "session settings: %s",
		    PQresultErrorMessage(res));
	}
	q->hidden--;
	PQclear(res);
}

/* Hand every complete result to its round; stop when libpq needs input. */
static void
db_drain(struct db *db)
{
	unsigned gen = db->gen;
	int nulls = 0;

	while (db->gen == gen && db->head != NULL && !PQisBusy(db->conn)) {
		struct db_round_q *q = db->head;
		PGresult *res = PQgetResult(db->conn);
		ExecStatusType st;

		if (res == NULL) {
			if (++nulls > 1)
				break; /* nothing more queued in libpq */
			continue;
		}
		nulls = 0;
		st = PQresultStatus(res);
		if (q->hidden > 0 && st != PGRES_PIPELINE_SYNC) {
			db_hidden_result(q, res);
			continue;
		}
		if ((st == PGRES_PIPELINE_SYNC) != (q->got == q->nstmts)) {
			PQclear(res); /* cannot happen: libpq and we disagree */
			db_fail(db, "unexpected result");
			return;
		}
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			db_round_finish(db, false);
			continue;
		}
		if (st == PGRES_FATAL_ERROR && q->failed < 0) {
			const char *ss =
			    PQresultErrorField(res, PG_DIAG_SQLSTATE);

			q->failed = (int)q->got;
			snprintf(q->sqlstate, sizeof(q->sqlstate), "%s",
			    ss ? ss : "");
			snprintf(q->error, sizeof(q->error), "%s",
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			        ? PQresultErrorField(
			              res, PG_DIAG_MESSAGE_PRIMARY)
			        : PQresultErrorMessage(res));
		}
		q->res[q->got++] = res;
		if (q->got == q->nstmts && !q->sync)
			db_round_finish(db, false);
	}
}

static void
db_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	unsigned gen = db->gen;

	(void)fd;
	if (db->state == DB_CONNECTING) {
		db_connect_poll(db);
		return;
	}
	if (what & EV_WRITE) {
		int r = PQflush(db->conn);

		if (r < 0) {
			db_fail(db, "sending");
			return;
		}
		db->want_write = r == 1;
	}
	if (what & EV_READ) {
		if (!PQconsumeInput(db->conn)) {
			db_fail(db, "connection lost");
			return;
		}
		db_drain(db);
		if (db->gen != gen)
			return;
		if (PQstatus(db->conn) == CONNECTION_BAD) {
			db_fail(db, "connection lost");
			return;
		}
	}
	if (db->gen == gen && db->state != DB_IDLE)
		db_arm(db, EV_READ | (db->want_write ? EV_WRITE : 0));
}

/* Connect timeout, round timeout, or the end of a backoff. */
static void
db_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;

	(void)fd;
	(void)what;
	switch (db->state) {
	case DB_IDLE: db_connect(db); break;
	case DB_CONNECTING: db_fail(db, "connect timed out"); break;
	default:
		if (db->head != NULL)
			db_fail(db, "no answer from the server in time");
		break;
	}
}

/* PQconnectStart, with hostaddr (NULL: none) from the lookup. */
static void
db_connect_to(struct db *db, const char *hostaddr)
{
	const char *keys[] = { "dbname", "fallback_application_name",
		hostaddr ? "hostaddr" : NULL, NULL };
	const char *vals[] = { db->opts.conninfo, "meterline", hostaddr, NULL };

	db->conn = PQconnectStartParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) == CONNECTION_BAD ||
	    PQsocket(db->conn) < 0) {
		db_fail(db, "connect");
		return;
	}
	db->state = DB_CONNECTING;
	db->want_write = false;
	db_arm(db, EV_WRITE); /* as if PGRES_POLLING_WRITING */
	db_timer_set(db, db->opts.connect_timeout_ms);
}

static void
db_looked_up(const char *hostaddr, const char *why, void *arg)
{
	struct db *db = arg;

	db->lookup = NULL;
	if (hostaddr == NULL)
		db_fail(db, why);
	else
		db_connect_to(db, hostaddr);
}

/*
 * Connect; with a resolver, first look the host names up (libpq's own
 * lookup is a blocking getaddrinfo), bounded by the connect timeout.
 */
static void
db_connect(struct db *db)
{
	if (db->opts.dns != NULL &&
	    (db->lookup = db_lookup_start(db->base, db->opts.dns,
	         db->opts.conninfo, db_looked_up, db)) != NULL) {
		db->state = DB_CONNECTING;
		db_timer_set(db, db->opts.connect_timeout_ms);
		return;
	}
	db_connect_to(db, NULL);
}

struct db *
db_new(struct event_base *base, const struct db_opts *opts, db_state_cb cb,
    void *arg)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->base = base;
	db->opts = *opts;
	if (db->opts.name == NULL)
		db->opts.name = "main";
	if (db->opts.connect_timeout_ms <= 0)
		db->opts.connect_timeout_ms = 10000;
	if (db->opts.round_timeout_ms <= 0)
		db->opts.round_timeout_ms = 60000;
	if (db->opts.backoff_min_ms <= 0)
		db->opts.backoff_min_ms = 100;
	/* A short cap: after a failover (docs/ha.md) the next attempt is
	 * what finds the promoted standby, so the cap is what the outage
	 * gains over the promotion (30 s once: 6 s after 20 s of failures,
	 * measured). An attempt at a server that is down is refused at
	 * once, one at a standby costs it a short backend: cheap at 2 s. */
	if (db->opts.backoff_max_ms < db->opts.backoff_min_ms)
		db->opts.backoff_max_ms = 2000;
	db->backoff_ms = db->opts.backoff_min_ms;
	db->state_cb = cb;
	db->state_arg = arg;
	db->pooled = db_pooler_mode == DB_POOLER_TRANSACTION;
	if (db->pooled)
		db->local_sql = db_local_settings(opts->session_sql);
	db->rng =
	    (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^ 0x9e3779b9u;
	db->timer = evtimer_new(base, db_timer_cb, db);
	db->fail_ev = event_new(base, -1, 0, db_fail_cb, db);
	db_connect(db);
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	if (db->io != NULL)
		event_free(db->io);
	db->io = NULL;
	db_lookup_cancel(db->lookup);
	PQfinish(db->conn);
	db->conn = NULL;
	db->state = DB_IDLE;
	db->gen++;
	while (db->head != NULL)
		db_round_finish(db, true);
	event_free(db->timer);
	event_free(db->fail_ev);
	free(db->local_sql);
	free(db);
}

bool
db_ready(const struct db *db)
{
	return db->state == DB_READY;
}

/* Pooled: the first statement of a transaction brings its settings. */
static void
db_txn_begin(struct db *db)
{
	if (!db->pooled || db->in_txn)
		return;
	db->in_txn = true;
	if (db->local_sql == NULL)
		return;
	if (PQsendQueryParams(
	        db->conn, db->local_sql, 0, NULL, NULL, NULL, NULL, 0) != 1)
		db_fail_later(db, "sending the session settings");
	db->hidden++;
}

int
db_send(struct db *db, int stmt, const char *const *params)
{
	const struct db_stmt *s = &db->opts.stmts[stmt];
	int ok;

	if (db->state != DB_READY)
		return -1;
	db_txn_begin(db);
	if (db->pooled) /* unnamed: parsed and planned every time */
		ok = PQsendQueryParams(
		    db->conn, s->sql, s->nparams, NULL, params, NULL, NULL, 0);
	else
		ok = PQsendQueryPrepared(
		    db->conn, s->name, s->nparams, params, NULL, NULL, 0);
	if (ok != 1)
		db_fail_later(db, "sending a statement");
	db->unsent++;
	return 0;
}

int
db_send_sql(struct db *db, const char *sql)
{
	if (db->state != DB_READY)
		return -1;
	db_txn_begin(db);
	if (PQsendQueryParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1)
		db_fail_later(db, "sending a statement");
	db->unsent++;
	return 0;
}

/* Close the round: sync or flush request, queue it, flush. */
static void
db_round_push(struct db *db, bool sync, db_round_cb cb, void *arg)
{
	struct db_round_q *q = xcalloc(1, sizeof(*q));
	int r;

	q->nstmts = db->unsent;
	q->hidden = db->hidden;
	q->res = xcalloc(q->nstmts ? q->nstmts : 1, sizeof(*q->res));
	q->sync = sync;
	q->failed = -1;
	q->cb = cb;
	q->arg = arg;
	db->unsent = 0;
	db->hidden = 0;
	if (sync) /* the transaction ends; the next one needs its settings */
		db->in_txn = false;
	if (db->tail != NULL)
		db->tail->next = q;
	else
		db->head = q;
	db->tail = q;
	if ((sync ? PQpipelineSync(db->conn) : PQsendFlushRequest(db->conn)) !=
	    1) {
		db_fail_later(db, "closing a round");
		return;
	}
	if ((r = PQflush(db->conn)) < 0) {
		db_fail_later(db, "sending");
		return;
	}
	db->want_write = r == 1;
	if (db->head == q)
		db_timer_set(db, db->opts.round_timeout_ms);
}

int
db_round(struct db *db, bool sync, db_round_cb cb, void *arg)
{
	if (db->state != DB_READY)
		return -1;
	db_round_push(db, sync, cb, arg);
	if (db->state != DB_IDLE)
		db_arm(db, EV_READ | (db->want_write ? EV_WRITE : 0));
	return 0;
}

void
db_stats(const struct db *db, struct db_stats *out)
{
	*out = db->stats;
}

int
db_backend_pid(const struct db *db)
{
	return db->conn != NULL && db->state >= DB_PREPARING
	    ? PQbackendPID(db->conn)
	    : 0;
}
