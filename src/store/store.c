/*
 * The store: a queue of submitted messages, one transaction in flight at a
 * time, and what to do when it fails.
 *
 * A batch is two rounds on one pipelined connection, both inside one
 * implicit transaction that the sync at the end of round 2 commits:
 *
 *   round 1: advisory locks (sorted), message ids, earlier copies, dialogs,
 *            contracts (registers locked in sorted order)   -> decide in C
 *   round 2: message log, external ids, dialogs, submissions + readings,
 *            registers, outbox; sync = COMMIT              -> done callbacks
 *
 * Whatever arrives meanwhile waits in the queue and makes the next batch
 * (group commit). With several connections (default 2) batches overlap:
 * the next batch starts on a free connection as soon as the previous one
 * holds its locks (its round 1 is back), so one backend writes and commits
 * while another locks and loads. A sender's messages still apply in
 * order: a later batch waits for the earlier one's sender locks.
 * Failures: connection lost -> every message of the batch
 * gets INTAKE_TEMPFAIL; serialization failure, deadlock or lock timeout ->
 * the batch is retried (3 times); an error that one message can cause
 * (SQLSTATE classes 22 and 23) -> the batch is split in halves until the
 * message is alone, and only it fails; anything else -> TEMPFAIL.
 *
 * Dry run (replay): one connection, and round 2 ends with a flush instead
 * of a sync, so every batch writes into one transaction that is never
 * committed: later batches see what earlier ones did, the database keeps
 * nothing (store_free drops the connection, the server rolls back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <event2/event.h>

#include "meterline/clock.h"
#include "meterline/log.h"
#include "meterline/migrate.h"
#include "meterline/msg_id.h"
#include "meterline/store.h"
#include "meterline/xmalloc.h"
#include "store_int.h"

#define STORE_RETRIES 3
#define STORE_CHECK_S 30 /* retry a failed schema check after this */

/* The size of a batch to retry or of one half of a split one. */
struct store_forced {
	size_t n;
	int attempts; /* retries already made */
};

enum store_busy {
	STORE_IDLE,
	STORE_CHECKING, /* schema version + partitions after connect */
	STORE_PARTITIONS, /* the periodic partition round */
	STORE_SWEEP, /* kept parts no channel completes (store_parts.c) */
	STORE_REPLAN, /* DISCARD PLANS: the generic plans made again */
	STORE_BATCH, /* a batch in flight */
};

/* One connection and the batch (or other round) it carries. */
struct store_conn {
	struct store *st;
	struct db *db;
	char name[24];
	bool up; /* connected and schema checked */
	bool ever_up;
	enum store_busy busy;
	struct store_batch batch;
	struct event *check_timer;
	int64_t t_mark; /* when the current phase began (clock_mono_us) */
	int64_t t_start; /* when the batch's first statement went out */
	uint64_t batches; /* since the connection came up */
	uint64_t replan_at; /* the batch count of the next DISCARD PLANS */
	char saved_state[6]; /* a round-1 failure, until its sync */
	char saved_error[256];
};

struct store {
	struct event_base *base;
	struct store_opts opts;
	const struct config *cfg;
	struct store_conn *conns;
	int nconns;
	struct parser *parser;
	bool locking; /* a batch waits for its round 1 */
	bool freeing;
	bool partitions_due;
	bool sweep_due;
	/* the queue: a ring of messages not yet in a batch */
	struct store_msg *q;
	size_t qhead, qlen, qcap;
	/* batches imposed by retries and splits; the next is the last */
	struct store_forced *forced;
	size_t nforced, forced_cap;
	struct event *kick; /* start the next batch from the loop */
	struct event *gather_timer; /* the wait for more ends (gathering) */
	size_t nurgent; /* queued messages without INTAKE_F_MAY_WAIT */
	struct event *partitions_timer;
	struct event *sweep_timer; /* NULL: no sweep */
	char last_error[256]; /* log damping of batch failures */
	time_t last_error_at;
	unsigned error_repeats;
	struct store_stats stats;
	struct store_doubt
	    doubt; /* SMS answered while their commit was in doubt */
};

static void store_kick(struct store *);

/* Add the time since the last mark to *acc and mark again. */
static void
store_phase(struct store_conn *c, uint64_t *acc)
{
	int64_t now = clock_mono_us();

	*acc += (uint64_t)(now - c->t_mark);
	c->t_mark = now;
}

/* Whether any connection can take a batch. */
static bool
store_up(const struct store *st)
{
	for (int i = 0; i < st->nconns; i++)
		if (st->conns[i].up)
			return true;
	return false;
}

/* ---- queue ---------------------------------------------------------------- */

static void
store_queue_grow(struct store *st)
{
	size_t cap = st->qcap ? st->qcap * 2 : 256;
	struct store_msg *q = xmalloc(cap * sizeof(*q));

	for (size_t i = 0; i < st->qlen; i++)
		q[i] = st->q[(st->qhead + i) % st->qcap];
	free(st->q);
	st->q = q;
	st->qcap = cap;
	st->qhead = 0;
}

/* Whether no batch should wait for more on m's account (gathering). */
static bool
store_urgent(const struct store_msg *m)
{
	return !(m->in.flags & INTAKE_F_MAY_WAIT);
}

static void
store_push_back(struct store *st, const struct store_msg *m)
{
	if (st->qlen == st->qcap)
		store_queue_grow(st);
	st->q[(st->qhead + st->qlen++) % st->qcap] = *m;
	st->nurgent += store_urgent(m);
}

static void
store_push_front(struct store *st, const struct store_msg *m)
{
	if (st->qlen == st->qcap)
		store_queue_grow(st);
	st->qhead = (st->qhead + st->qcap - 1) % st->qcap;
	st->q[st->qhead] = *m;
	st->qlen++;
	st->nurgent += store_urgent(m);
}

static struct store_msg
store_pop_front(struct store *st)
{
	struct store_msg m = st->q[st->qhead];

	st->qhead = (st->qhead + 1) % st->qcap;
	st->qlen--;
	st->nurgent -= store_urgent(&m);
	return m;
}

/* ---- copying a message in ------------------------------------------------ */

/* Octets the copy of a channel's acknowledgement facts takes. */
static size_t
store_acks_size(const struct intake_acks *a)
{
	return a == NULL ? 0 : a->nclosed * sizeof(*a->closed);
}

/*
 * Copy the acknowledgement facts (read during submit only) into m->acks,
 * their closed connections at the front of the message's allocation p
 * (malloc aligned it for them); returns where the strings go. in.acks is
 * cleared: the store_msg moves by value through the queue, so the facts
 * are m->acks (conn 0: none).
 */
static char *
store_copy_acks(struct store_msg *m, const struct intake_acks *a, char *p)
{
	m->in.acks = NULL;
	memset(&m->acks, 0, sizeof(m->acks));
	if (a == NULL || a->conn == 0)
		return p;
	m->acks = *a;
	m->acks.closed = (const struct intake_conn_closed *)(void *)p;
	if (a->nclosed > 0)
		memcpy(p, a->closed, store_acks_size(a));
	return p + store_acks_size(a);
}

/* The same for a part's octets (in.part is cleared, as in.acks). */
static char *
store_copy_part(struct store_msg *m, const struct intake_part *part, char *p)
{
	m->in.part = NULL;
	memset(&m->part, 0, sizeof(m->part));
	if (part == NULL) {
		m->in.flags &= ~(unsigned)(INTAKE_F_PART | INTAKE_F_WHOLE);
		return p;
	}
	m->part = *part;
	m->part.data = (const uint8_t *)p;
	if (part->len > 0)
		memcpy(p, part->data, part->len);
	return p + part->len;
}

/* One allocation for all the strings of msg; in.* point into it. */
static void
store_copy_in(struct store_msg *m, const struct inbound_msg *msg)
{
	const char *src[5] = { msg->channel, msg->sender, msg->recipient,
		msg->external_id, msg->text };
	size_t lens[5], total = 0;
	const char **dst[5] = { &m->in.channel, &m->in.sender, &m->in.recipient,
		&m->in.external_id, &m->in.text };
	char *p;

	for (int i = 0; i < 5; i++) {
		lens[i] = src[i] == NULL ? 0
		    : i == 4             ? msg->text_len
		                         : strlen(src[i]);
		total += lens[i] * 3 + 1;
	}
	total += MSG_ID_STABLE_LEN + 1;
	if (msg->part != NULL)
		total += msg->part->len;
	m->in = *msg;
	p = m->copy = xmalloc(total + store_acks_size(msg->acks));
	p = store_copy_acks(m, msg->acks, p);
	p = store_copy_part(m, msg->part, p);
	for (int i = 0; i < 5; i++) {
		size_t n;

		if (src[i] == NULL && i != 4) {
			*dst[i] = i == 3 ? NULL : "";
			continue;
		}
		/* PostgreSQL takes nothing else, and one bad message must not
		   fail its batch. */
		n = db_text_clean(p, src[i] ? src[i] : "", lens[i]);
		*dst[i] = p;
		if (i == 4)
			m->in.text_len = n;
		p += n + 1;
	}
	/* No id from the channel: its stable id, made as replay and
	   export-log make it, so that a replayed copy is recognised. */
	if (m->in.external_id == NULL) {
		msg_id_stable(m->in.time_us, m->in.channel, m->in.sender,
		    m->in.recipient, m->in.text, m->in.text_len, p);
		m->in.external_id = p;
		m->id_derived = true;
	}
}

int
store_submit(struct store *st, const struct inbound_msg *msg,
    intake_done_cb done, void *arg)
{
	struct store_msg m;

	if (st->freeing || st->qlen >= st->opts.queue_max || !store_up(st)) {
		st->stats.refused++;
		return -1;
	}
	memset(&m, 0, sizeof(m));
	store_copy_in(&m, msg);
	m.done = done;
	m.done_arg = arg;
	m.sender_key = store_sender_key(m.in.channel, m.in.sender);
	m.dedupe_key = store_dedupe_key(
	    m.in.channel, m.in.sender, m.in.recipient, m.in.text);
	m.queued_us = clock_mono_us();
	store_push_back(st, &m);
	store_kick(st);
	return 0;
}

/* ---- answering ------------------------------------------------------------ */

static void
store_answer(struct store_msg *m, const struct intake_result *r)
{
	m->done(r, m->done_arg);
	free(m->copy);
	m->copy = NULL;
}

static void
store_tempfail(struct store *st, struct store_msg *m)
{
	struct intake_result r = { .status = INTAKE_TEMPFAIL };

	st->stats.tempfails++;
	store_answer(m, &r);
}

/* The batch is over without a commit: every message fails for now. */
static void
store_batch_tempfail(struct store *st, struct store_batch *b)
{
	st->stats.failed_batches++;
	for (size_t i = 0; i < b->n; i++)
		store_tempfail(st, &b->msgs[i]);
	for (size_t i = 0; i < b->nparts; i++)
		store_tempfail(st, &b->parts[i]);
	b->n = 0;
	b->nparts = 0;
}

/* Committed parts hear that they are kept (store_parts.c). */
static void
store_parts_committed(struct store_batch *b)
{
	struct intake_part buf[255];

	for (size_t i = 0; i < b->nparts; i++) {
		struct intake_result r;

		parts_result(b, &b->parts[i], buf, &r);
		store_answer(&b->parts[i], &r);
	}
	b->nparts = 0;
}

static const char *
store_text(const struct store_batch *b, size_t off)
{
	return off == STORE_NONE ? NULL : b->text.p + off;
}

/* Committed: now, and only now, every message hears its result. */
static void
store_batch_committed(struct store *st, struct store_batch *b)
{
	unsigned bucket = 0;

	while (bucket + 1 < STORE_HIST && (b->n >> (bucket + 1)) != 0)
		bucket++;
	st->stats.batch_hist[bucket]++;
	st->stats.batches++;
	for (size_t i = 0; i < b->n; i++) {
		struct store_msg *m = &b->msgs[i];
		struct intake_result r = {
			.status = m->status,
			.outcome = store_text(b, m->outcome),
			.reason = store_text(b, m->reason),
			.reply = store_text(b, m->reply),
			.message_id = m->original ? m->original : m->id,
			.flags = m->flags,
		};

		if (m->status == INTAKE_TEMPFAIL) {
			store_tempfail(st, m);
			continue;
		}
		if (m->status == INTAKE_DUPLICATE)
			st->stats.duplicates++;
		else
			st->stats.applied++;
		store_answer(m, &r);
	}
	b->n = 0;
	store_parts_committed(b);
}

/* ---- failures --------------------------------------------------------------- */

/*
 * Put the batch's messages back at the head of the queue, in order, to be
 * taken again as one batch (retry) or as two (split: second_size > 0).
 */
static void
store_requeue(struct store *st, struct store_batch *b, size_t first_size,
    size_t second_size, int attempts)
{
	/* Parts first: a part is kept before a whole message made of it. */
	for (size_t i = b->n; i-- > 0;)
		store_push_front(st, &b->msgs[i]);
	for (size_t i = b->nparts; i-- > 0;)
		store_push_front(st, &b->parts[i]);
	if (st->nforced + 2 > st->forced_cap) {
		st->forced_cap = st->forced_cap ? st->forced_cap * 2 : 16;
		st->forced =
		    xrealloc(st->forced, st->forced_cap * sizeof(*st->forced));
	}
	if (second_size > 0)
		st->forced[st->nforced++] =
		    (struct store_forced){ second_size, 0 };
	st->forced[st->nforced++] =
	    (struct store_forced){ first_size, attempts };
	b->n = 0;
	b->nparts = 0;
}

static bool
store_transient(const char *sqlstate)
{
	return strncmp(sqlstate, "40", 2) == 0 || /* serialization, deadlock */
	    strcmp(sqlstate, "55P03") == 0 || /* lock_not_available */
	    strcmp(sqlstate, "57014") == 0; /* statement timeout */
}

/*
 * A batch failed for good: log it, but the same error again at most once
 * a minute (with how often it happened), so a persistent server problem
 * under traffic does not flood the log.
 */
static void
store_log_failure(struct store *st, const char *sqlstate, const char *error)
{
	time_t now = time(NULL);
	bool same = strcmp(st->last_error, error) == 0;

	if (same && now - st->last_error_at < 60) {
		st->error_repeats++;
		return;
	}
	if (same && st->error_repeats > 0)
		log_error(
		    "store: batch not applied: %s [%s] (%u more times since the last line)",
		    error, sqlstate, st->error_repeats + 1);
	else
		log_error(
		    "store: batch not applied: %s [%s]; temporary failure for its messages",
		    error, sqlstate);
	snprintf(st->last_error, sizeof(st->last_error), "%s", error);
	st->last_error_at = now;
	st->error_repeats = 0;
}

/* Classes of errors one message's data can cause. */
static bool
store_data_error(const char *sqlstate)
{
	return strncmp(sqlstate, "22", 2) == 0 ||
	    strncmp(sqlstate, "23", 2) == 0;
}

/*
 * The transaction failed with a server error (the connection is fine).
 * Retry, split, or give up on the batch.
 */
static void
store_batch_failed(struct store *st, struct store_batch *b,
    const char *sqlstate, const char *error)
{
	size_t n = b->n + b->nparts;

	if (strstr(error, "no partition of relation") != NULL &&
	    !st->opts.dry_run)
		st->partitions_due = true; /* create it, then retry */
	if ((store_transient(sqlstate) || st->partitions_due) &&
	    b->attempts < STORE_RETRIES) {
		log_info("store: batch of %zu not applied (%s [%s]); retrying",
		    n, error, sqlstate);
		st->stats.retries++;
		st->stats.failed_batches++;
		store_requeue(st, b, n, 0, b->attempts + 1);
		return;
	}
	if (store_data_error(sqlstate) && n > 1) {
		log_warn(
		    "store: batch of %zu not applied (%s [%s]); splitting it to find the message",
		    n, error, sqlstate);
		st->stats.splits++;
		st->stats.failed_batches++;
		store_requeue(st, b, n / 2, n - n / 2, 0);
		return;
	}
	if (store_data_error(sqlstate) && n == 1 && b->n == 1)
		log_error(
		    "store: message %lld from channel %s cannot be stored: %s [%s]; answered as a temporary failure",
		    (long long)b->msgs[0].id, b->msgs[0].in.channel, error,
		    sqlstate);
	else if (store_data_error(sqlstate) && n == 1)
		log_error(
		    "store: a part of a concatenated message cannot be stored: %s [%s]; answered as a temporary failure",
		    error, sqlstate);
	else
		store_log_failure(st, sqlstate, error);
	store_batch_tempfail(st, b);
}

/* ---- the batch rounds ------------------------------------------------------- */

static void
store_round_done(struct store_conn *c)
{
	c->busy = STORE_IDLE;
	if (!c->st->freeing)
		store_kick(c->st);
}

static void store_abort_cb(const struct db_round_result *, void *);

/* The committed replies, to this instance's outbox (attempts 0: not
   leased, a claim takes it). */
static void
store_handoff(struct store *st, const struct db_rows *rows)
{
	struct store_reply *v;
	size_t n = 0;

	if (rows == NULL || st->opts.on_replies == NULL)
		return;
	v = xcalloc((size_t)db_rows_count(rows) + 1, sizeof(*v));
	for (int i = 0; i < db_rows_count(rows); i++) {
		int attempts = atoi(db_rows_get(rows, i, OBX_ATTEMPTS));

		v[n++] = (struct store_reply){
			.id = strtoll(db_rows_get(rows, i, OBX_ID), NULL, 10),
			.created = db_rows_get(rows, i, OBX_CREATED),
			.created_us = strtoll(
			    db_rows_get(rows, i, OBX_CREATED_US), NULL, 10),
			.channel = db_rows_get(rows, i, OBX_CHANNEL),
			.sender = db_rows_get(rows, i, OBX_SENDER),
			.recipient = db_rows_get(rows, i, OBX_RECIPIENT),
			.text = db_rows_get(rows, i, OBX_TEXT),
			.attempts = attempts,
			.dialog_open =
			    db_rows_get(rows, i, OBX_DIALOG)[0] == 't',
		};
	}
	if (n > 0)
		st->opts.on_replies(st->opts.outbox_arg, v, n);
	free(v);
}

/*
 * Round 2 is back: committed (or, in a dry run, written inside the one
 * transaction that is never committed).
 */
static void
store_round2_cb(const struct db_round_result *r, void *arg)
{
	struct store_conn *c = arg;
	struct store *st = c->st;

	if (r->lost) {
		log_warn(
		    "store: connection %s lost with a batch of %zu in flight: temporary failure for each",
		    c->name, c->batch.n);
		batch_doubt(&c->batch, &st->doubt); /* committed or not? */
		store_batch_tempfail(st, &c->batch);
	} else if (r->failed >= 0 && st->opts.dry_run) {
		/* no sync went with round 2: end the aborted transaction first */
		memcpy(c->saved_state, r->sqlstate, sizeof(c->saved_state));
		memcpy(c->saved_error, r->error, sizeof(c->saved_error));
		db_round(c->db, true, store_abort_cb, c);
		return;
	} else if (r->failed >= 0) {
		store_batch_failed(st, &c->batch, r->sqlstate, r->error);
	} else {
		store_phase(c, &st->stats.write_us);
		store_handoff(st, batch_outbox_rows(&c->batch, r));
		if (st->opts.on_commit != NULL)
			st->opts.on_commit(st->opts.on_commit_arg, c->batch.n,
			    c->t_mark - c->t_start);
		store_batch_committed(st, &c->batch);
	}
	store_round_done(c);
}

/* The sync that ends a transaction round 1 could not finish. */
static void
store_abort_cb(const struct db_round_result *r, void *arg)
{
	struct store_conn *c = arg;

	if (r->lost)
		store_batch_tempfail(c->st, &c->batch);
	else
		store_batch_failed(
		    c->st, &c->batch, c->saved_state, c->saved_error);
	store_round_done(c);
}

static void
store_round1_cb(const struct db_round_result *r, void *arg)
{
	struct store_conn *c = arg;
	struct store *st = c->st;
	char err[128];

	st->locking = false; /* its locks are held: the next batch may start */
	if (r->lost) {
		store_batch_tempfail(st, &c->batch);
		store_round_done(c);
		return;
	}
	store_phase(c, &st->stats.load_us);
	if (r->failed >= 0) {
		memcpy(c->saved_state, r->sqlstate, sizeof(c->saved_state));
		memcpy(c->saved_error, r->error, sizeof(c->saved_error));
	} else if (batch_decide(
	               &c->batch, r, st->cfg, c->db, err, sizeof(err)) != 0) {
		/* nothing written yet: the sync only releases the locks */
		snprintf(c->saved_state, sizeof(c->saved_state), "XX000");
		snprintf(c->saved_error, sizeof(c->saved_error), "%s", err);
	} else {
		db_round(c->db, !st->opts.dry_run, store_round2_cb, c);
		store_phase(c, &st->stats.decide_us);
		if (!st->freeing)
			store_kick(st);
		return;
	}
	db_round(c->db, true, store_abort_cb, c);
}

/* Add m to the batch: a message, or a part of one (kept apart). */
static void
store_batch_take(struct store_batch *b, struct store_msg m)
{
	if (!(m.in.flags & INTAKE_F_PART)) {
		b->msgs[b->n++] = m;
		return;
	}
	if (b->nparts == b->parts_cap) {
		b->parts_cap = b->parts_cap ? 2 * b->parts_cap : 64;
		b->parts = xrealloc(b->parts, b->parts_cap * sizeof(*b->parts));
	}
	b->parts[b->nparts++] = m;
}

/* Take the next batch from the queue and send its first round on c. */
static void
store_batch_start(struct store *st, struct store_conn *c)
{
	struct store_batch *b = &c->batch;
	size_t n = (size_t)st->cfg->store.batch_max;

	b->attempts = 0;
	b->outbox_lease = st->opts.outbox_lease;
	b->outbox_arg = st->opts.outbox_arg;
	b->outbox_owner = st->opts.outbox_owner;
	b->doubt = &st->doubt;
	/* A dry run's one transaction would keep every sender's advisory lock
	   to the end and exhaust the server's lock table (max_locks_per_
	   transaction) after a few thousand senders: it takes none. */
	b->no_locks = st->opts.dry_run;
	if (st->nforced > 0) {
		n = st->forced[--st->nforced].n;
		b->attempts = st->forced[st->nforced].attempts;
	}
	if (n > st->qlen)
		n = st->qlen;
	/* a group (INTAKE_F_GROUP) is not cut by the batch's end */
	while (n > 0 && n < st->qlen &&
	    (st->q[(st->qhead + n - 1) % st->qcap].in.flags & INTAKE_F_GROUP))
		n++;
	if (n > b->cap) {
		b->cap = n;
		b->msgs = xrealloc(b->msgs, n * sizeof(*b->msgs));
	}
	b->n = b->nparts = 0;
	while (n-- > 0)
		store_batch_take(b, store_pop_front(st));
	c->batches++;
	c->t_start = c->t_mark = clock_mono_us();
	b->challenge = st->cfg->verify.mode == CONFIG_VERIFY_CHALLENGE;
	batch_send_loads(b, c->db, st->parser, st->cfg->store.duplicate_window);
	c->busy = STORE_BATCH;
	st->locking = true;
	if (db_round(c->db, false, store_round1_cb, c) != 0) {
		st->locking = false;
		store_batch_tempfail(st, b);
		c->busy = STORE_IDLE;
	}
}

/* ---- schema check and partitions ---------------------------------------- */

static void
store_partitions_cb(const struct db_round_result *r, void *arg)
{
	struct store_conn *c = arg;

	if (!r->lost && r->failed >= 0)
		log_error("store: creating partitions: %s [%s]", r->error,
		    r->sqlstate);
	/* Done even on failure: the timer tries again. */
	if (!r->lost)
		c->st->partitions_due = false;
	store_round_done(c);
}

/*
 * Joined parts are kept for the redelivery window (a redelivered part is
 * then recognised), parts whose message never completed for a day (the
 * sweep processes them long before; this only clears what a process
 * without the sweep, HTTP only, left behind).
 */
static void
store_parts_prune_send(struct store_conn *c)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "DELETE FROM concat_parts WHERE logged_at < now() - CASE"
	    " WHEN message_id IS NULL THEN interval '1 day'"
	    " ELSE %lld * interval '1 second' END",
	    (long long)c->st->cfg->store.duplicate_window);
	db_send_sql(c->db, sql);
}

static void
store_partitions_send(struct store_conn *c)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SELECT meterline_ensure_partitions(%d)",
	    MIGRATE_PARTITIONS_AHEAD);
	db_send_sql(c->db, sql);
}

static void
store_check_cb(const struct db_round_result *r, void *arg)
{
	struct store_conn *c = arg;
	struct store *st = c->st;
	struct timeval tv = { STORE_CHECK_S, 0 };
	int version;

	c->busy = STORE_IDLE;
	if (r->lost)
		return;
	version = r->failed == 0 ? -1 : atoi(db_rows_get(r->rows[0], 0, 0));
	if (r->failed >= 0 || version != migrate_latest()) {
		if (r->failed > 0)
			log_error("store: %s [%s]", r->error, r->sqlstate);
		else
			log_error(
			    "store: the database schema is at version %d, this binary needs %d: run 'meterline migrate'",
			    version < 0 ? 0 : version, migrate_latest());
		evtimer_add(c->check_timer, &tv);
		return;
	}
	if (c->ever_up)
		st->stats.reconnects++;
	if (!store_up(st))
		log_info("store: ready (schema version %d)", version);
	c->ever_up = true;
	c->up = true;
	store_kick(st);
}

/* After connect: the schema must be ours; make sure of the partitions. */
static void
store_check_send(struct store_conn *c)
{
	if (!db_ready(c->db) || c->busy != STORE_IDLE)
		return;
	db_send_sql(
	    c->db, "SELECT coalesce(max(version), 0) FROM meterline_schema");
	store_partitions_send(c);
	if (db_round(c->db, true, store_check_cb, c) == 0)
		c->busy = STORE_CHECKING;
}

static void
store_check_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	store_check_send(arg);
}

static void
store_partitions_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	(void)fd;
	(void)what;
	st->partitions_due = !st->opts.dry_run; /* its sync would commit */
	store_kick(st);
}

static void
store_sweep_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	(void)fd;
	(void)what;
	st->sweep_due = true;
	store_kick(st);
}

static void
store_sweep_cb(const struct db_round_result *r, void *arg)
{
	struct store_conn *c = arg;
	struct store *st = c->st;

	if (!r->lost && r->failed >= 0)
		log_error("store: the sweep of kept parts: %s [%s]", r->error,
		    r->sqlstate);
	else if (!r->lost &&
	    parts_sweep_rows(st, st->cfg, r->rows[r->nrows - 1]) < 0)
		log_error("store: the sweep of kept parts: unexpected columns");
	/* On failure the timer tries again. */
	store_round_done(c);
}

/*
 * The store's statements run generic plans (store_sql.c), made at their
 * first use on a connection, so with the sizes the tables had then: on a
 * new database, a message log of ten rows. Their shapes keep such plans
 * index-driven, but the sizes still decide between indexes and join
 * orders; DISCARD PLANS makes them again, with the sizes of now, after
 * 16, 64, 256, 1024, 4096 and 16384 batches, then every 16384 (a few
 * milliseconds each time). Not in a dry run (its sync would commit the
 * one transaction) nor behind a transaction pooler (nothing is prepared).
 */
#define STORE_REPLAN_FIRST 16
#define STORE_REPLAN_MAX 16384

static bool
store_replan_due(const struct store *st, const struct store_conn *c)
{
	return c->batches >= c->replan_at && !st->opts.dry_run &&
	    db_pooler_get() == DB_POOLER_NONE;
}

static void
store_replan_cb(const struct db_round_result *r, void *arg)
{
	struct store_conn *c = arg;

	if (!r->lost && r->failed >= 0)
		log_error(
		    "store: DISCARD PLANS: %s [%s]", r->error, r->sqlstate);
	store_round_done(c);
}

static void
store_replan_send(struct store_conn *c)
{
	c->replan_at = c->replan_at < STORE_REPLAN_MAX
	    ? 4 * c->replan_at
	    : c->replan_at + STORE_REPLAN_MAX;
	db_send_sql(c->db, "DISCARD PLANS");
	if (db_round(c->db, true, store_replan_cb, c) == 0)
		c->busy = STORE_REPLAN;
}

static void
store_db_state_cb(bool up, void *arg)
{
	struct store_conn *c = arg;

	if (up) {
		c->batches = 0; /* a new session plans afresh */
		c->replan_at = STORE_REPLAN_FIRST;
		store_check_send(c);
		return;
	}
	c->up = false;
	c->busy = STORE_IDLE; /* the db failed every round in flight */
	evtimer_del(c->check_timer);
	if (!store_up(c->st))
		log_warn("store: no database connection: refusing messages");
	store_kick(c->st); /* fails the queue from the loop if all are down */
}

/* ---- the loop ------------------------------------------------------------- */

static struct store_conn *
store_idle_conn(struct store *st)
{
	for (int i = 0; i < st->nconns; i++)
		if (st->conns[i].up && st->conns[i].busy == STORE_IDLE &&
		    db_ready(st->conns[i].db))
			return &st->conns[i];
	return NULL;
}

/*
 * A batch on a second connection while one is in flight keeps a flood
 * moving (one backend commits while the other locks and loads), but at
 * low rates it only halves every batch: at 1,000 MO/s batches of 7
 * instead of 11, and each batch costs PostgreSQL about the same whatever
 * its size (issue 20). So the next batch overlaps one in flight only
 * when it is at least as big as that one and holds 8 messages, or 64
 * whatever: otherwise it starts when that one ends. A window of 10 whose
 * straggler went alone still overlaps its other nine. Only gathering
 * (below) waits on a timer, and stops at 64 too. At 32, a messenger
 * platform posting on 64 connections got two overlapping batches of 32,
 * and PostgreSQL spent a fifth more CPU an update than on one batch of
 * 64 (bench_messengers, docs/store.md); a flood's queue is past 64 at
 * once, and windows of 10 or 1,000 MO/s never reach 32.
 */
#define STORE_OVERLAP_MIN 64
#define STORE_OVERLAP_FLOOR 8

/* The size of the batch in flight, 0 if none. */
static size_t
store_batch_in_flight(const struct store *st)
{
	size_t n = 0;

	for (int i = 0; i < st->nconns; i++)
		if (st->conns[i].busy == STORE_BATCH &&
		    st->conns[i].batch.n + st->conns[i].batch.nparts > n)
			n = st->conns[i].batch.n + st->conns[i].batch.nparts;
	return n;
}

/*
 * Gathering (docs/store.md): at 1,000 MO/s a batch held one or two
 * messages, and PostgreSQL's cost of a transaction hardly depends on its
 * size (about 1 ms of backend CPU for the statements' executor start-up,
 * the commit and the protocol), so it cost ~770 µs of CPU a message
 * against ~150 in a flood (issue 20, item 5). While every queued message
 * says its source may send more before it waits for this answer
 * (INTAKE_F_MAY_WAIT: an SMPP link below its peer's window, a messenger
 * channel below its platform's webhook concurrency), a small batch waits
 * for them, up to [store] gather after the oldest was queued. One
 * message without the flag (a peer at its window, the bridge, replay)
 * starts the batch at once, so no source ever waits on a timer for an
 * answer it is blocked on.
 */
static bool
store_gathering(struct store *st)
{
	int64_t wait_us, left_us;
	struct timeval tv;

	wait_us = (int64_t)st->cfg->store.gather_ms * 1000;
	if (wait_us <= 0 || st->nurgent > 0 || st->qlen >= STORE_OVERLAP_MIN ||
	    st->freeing)
		return false;
	left_us = st->q[st->qhead].queued_us + wait_us - clock_mono_us();
	if (left_us <= 0)
		return false;
	if (!evtimer_pending(st->gather_timer, NULL)) {
		tv.tv_sec = (time_t)(left_us / 1000000);
		tv.tv_usec = (suseconds_t)(left_us % 1000000);
		evtimer_add(st->gather_timer, &tv);
	}
	return true;
}

static bool
store_batch_may_start(struct store *st)
{
	size_t in_flight;

	if (st->qlen == 0)
		return false;
	if (st->nforced > 0)
		return true;
	if (store_gathering(st))
		return false;
	if (st->qlen >= STORE_OVERLAP_MIN)
		return true;
	in_flight = store_batch_in_flight(st);
	return in_flight == 0 ||
	    (st->qlen >= in_flight && st->qlen >= STORE_OVERLAP_FLOOR);
}

static void
store_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	struct store_conn *c;

	(void)fd;
	(void)what;
	if (st->freeing)
		return;
	if (!store_up(st)) {
		st->nforced = 0;
		while (st->qlen > 0) {
			struct store_msg m = store_pop_front(st);

			store_tempfail(st, &m);
		}
		return;
	}
	if (st->locking || (c = store_idle_conn(st)) == NULL)
		return;
	if (st->partitions_due) {
		store_partitions_send(c);
		store_parts_prune_send(c);
		if (db_round(c->db, true, store_partitions_cb, c) == 0)
			c->busy = STORE_PARTITIONS;
		return;
	}
	if (st->sweep_due) {
		/* One sweep at a time (a lost one waits for the timer); the
		   other connections go on with batches. */
		st->sweep_due = false;
		parts_sweep_send(
		    c->db, parts_sweep_after_ms(st->opts.parts_timeout_ms));
		if (db_round(c->db, true, store_sweep_cb, c) == 0)
			c->busy = STORE_SWEEP;
		store_kick(st);
		return;
	}
	if (store_replan_due(st, c)) {
		store_replan_send(c);
		store_kick(st); /* the other connections go on */
		return;
	}
	if (store_batch_may_start(st))
		store_batch_start(st, c);
}

/* Run the next step from the loop, never from inside a caller. */
static void
store_kick(struct store *st)
{
	event_active(st->kick, 0, 0);
}

/* ---- life ------------------------------------------------------------------- */

static void
store_conn_open(struct store *st, struct store_conn *c, int i)
{
	struct db_opts dbo = {
		.name = c->name,
		.conninfo = st->opts.conninfo,
		.dns = st->opts.dns,
		.stmts = store_stmts,
		.nstmts = ST__MAX,
		.session_sql = store_session_sql,
		.backoff_max_ms = st->opts.backoff_max_ms,
	};

	c->st = st;
	snprintf(c->name, sizeof(c->name), "store#%d", i);
	c->check_timer = evtimer_new(st->base, store_check_timer_cb, c);
	c->db = db_new(st->base, &dbo, store_db_state_cb, c);
}

struct store *
store_new(struct event_base *base, const struct store_opts *opts, char *err,
    size_t errlen)
{
	struct store *st;
	struct timeval every;

	if (opts->cfg == NULL || opts->conninfo == NULL) {
		snprintf(
		    err, errlen, "store: config and conninfo are required");
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	if ((st->parser = parser_new(err, errlen)) == NULL) {
		free(st);
		return NULL;
	}
	st->base = base;
	st->opts = *opts;
	st->cfg = opts->cfg;
	if (st->opts.queue_max == 0)
		st->opts.queue_max = 16 * (size_t)st->cfg->store.batch_max;
	if (st->opts.partitions_every_s <= 0)
		st->opts.partitions_every_s = 3600;
	st->nconns = st->opts.connections > 0 ? st->opts.connections : 2;
	/* A dry run: the one transaction that is never committed. */
	if (st->opts.dry_run)
		st->nconns = 1;
	st->kick = event_new(base, -1, 0, store_kick_cb, st);
	st->gather_timer = evtimer_new(base, store_kick_cb, st);
	st->partitions_timer =
	    event_new(base, -1, EV_PERSIST, store_partitions_timer_cb, st);
	every.tv_sec = st->opts.partitions_every_s;
	every.tv_usec = 0;
	event_add(st->partitions_timer, &every);
	if (st->opts.parts_timeout_ms > 0 && !st->opts.dry_run) {
		/* every half timeout, at most once a second */
		int ms = st->opts.parts_timeout_ms / 2;

		ms = ms < 1000 ? 1000 : ms;
		every.tv_sec = ms / 1000;
		every.tv_usec = ms % 1000 * 1000;
		st->sweep_timer =
		    event_new(base, -1, EV_PERSIST, store_sweep_timer_cb, st);
		event_add(st->sweep_timer, &every);
	}
	st->conns = xcalloc((size_t)st->nconns, sizeof(*st->conns));
	for (int i = 0; i < st->nconns; i++)
		store_conn_open(st, &st->conns[i], i);
	return st;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	st->freeing = true;
	for (int i = 0; i < st->nconns; i++) {
		struct store_conn *c = &st->conns[i];

		/* A batch in flight fails through its callback. */
		db_free(c->db);
		if (c->batch.n + c->batch.nparts > 0)
			store_batch_tempfail(st, &c->batch);
		event_free(c->check_timer);
		batch_free(&c->batch);
	}
	while (st->qlen > 0) {
		struct store_msg m = store_pop_front(st);

		store_tempfail(st, &m);
	}
	event_free(st->kick);
	event_free(st->gather_timer);
	event_free(st->partitions_timer);
	if (st->sweep_timer != NULL)
		event_free(st->sweep_timer);
	parser_free(st->parser);
	free(st->conns);
	free(st->q);
	free(st->forced);
	doubt_free(&st->doubt);
	free(st);
}

bool
store_ready(const struct store *st)
{
	return store_up(st);
}

size_t
store_pending(const struct store *st)
{
	size_t n = st->qlen;

	for (int i = 0; i < st->nconns; i++)
		n += st->conns[i].batch.n + st->conns[i].batch.nparts;
	return n;
}

void
store_stats(const struct store *st, struct store_stats *out)
{
	*out = st->stats;
	for (int i = 0; i < st->nconns; i++) {
		struct db_stats d;

		db_stats(st->conns[i].db, &d);
		out->db_failures += d.failures;
		out->conns_up += st->conns[i].up;
	}
}

int
store_backend_pid(const struct store *st)
{
	for (int i = 0; i < st->nconns; i++)
		if (st->conns[i].busy == STORE_BATCH)
			return db_backend_pid(st->conns[i].db);
	return db_backend_pid(st->conns[0].db);
}
