/*
 * Running a replay: every record goes to the store (store_submit), the one
 * path live traffic takes, on a private event loop.
 *
 * Order: the records are sorted by time; a record is submitted only after
 * the sender's (channel, from) previous record and the previous record
 * concerning the same contract are done (committed, or written in a dry
 * run), so both a customer's dialog and a contract's readings apply in
 * time order, as they did live, even when a batch is retried: A's
 * "ПС 102057522" at 10:00:00 and "11600" at 10:00:30 go before B's
 * "ПС 102057522 11700" at 10:05. Other records are submitted up to
 * max_inflight at once, so group commit makes large batches. Results are
 * handed back in the set's order, whatever order they finish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "meterline/config.h"
#include "meterline/hash.h"
#include "meterline/parse.h"
#include "meterline/replay.h"
#include "meterline/store.h"
#include "meterline/xmalloc.h"

#define RUN_INFLIGHT 4000
#define RUN_ATTEMPTS 8 /* submissions of one message before giving up */
#define RUN_NONE SIZE_MAX
/* contracts a record may concern: its sender's dialog's, and the first
   number of a keyword-less "<contract> <values>" */
#define RUN_KEYS 2

enum run_state {
	RUN_WAITING,
	RUN_DEFERRED,
	RUN_INFLIGHT_ST,
	RUN_RETRY,
	RUN_DONE
};

struct run;

/* One record's progress and result. */
struct run_slot {
	struct run *run;
	size_t next_sender; /* the sender's next record, or RUN_NONE */
	/* each of its contracts' next record, or RUN_NONE */
	size_t next_contract[RUN_KEYS];
	uint8_t waits; /* predecessors not done yet (0..1 + RUN_KEYS) */
	uint8_t state; /* enum run_state */
	uint8_t attempts;
	uint8_t status; /* enum intake_status */
	const char *outcome, *reason; /* interned */
	char *reply; /* owned until reported */
	int64_t message_id;
};

struct run {
	const struct replay_set *set;
	const struct replay_opts *o;
	struct event_base *base;
	struct store *st;
	struct run_slot *slots;
	size_t n, cursor, inflight, done, reported;
	size_t max_inflight;
	replay_result_cb cb;
	void *arg;
	size_t *retry; /* records to submit again */
	size_t nretry, retry_cap;
	struct event *retry_timer, *progress_timer;
	const char **names; /* interned outcomes and reasons */
	size_t nnames;
	/* while chaining: the contracts each record concerns, "" none */
	char (*contract_of)[RUN_KEYS][PARSE_CONTRACT_MAX + 1];
};

static void run_fill(struct run *);

/* The one copy of an outcome or reason name (a handful of them). */
static const char *
run_intern(struct run *r, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return NULL;
	for (size_t i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], s) == 0)
			return r->names[i];
	r->names = xrealloc(r->names, (r->nnames + 1) * sizeof(*r->names));
	return r->names[r->nnames++] = xstrdup(s);
}

static bool
run_same_sender(const struct run *r, size_t a, size_t b)
{
	const struct replay_rec *x = &r->set->recs[a], *y = &r->set->recs[b];

	return strcmp(x->from, y->from) == 0 &&
	    strcmp(x->channel, y->channel) == 0;
}

/* Link record i after its sender's previous one; that one, or RUN_NONE. */
static size_t
run_link_sender(struct run *r, struct htab *last, uint64_t seed, size_t i)
{
	const char *k[2] = { r->set->recs[i].channel, r->set->recs[i].from };
	uint64_t key = hash_strs(seed, k, 2);
	size_t pos = HTAB_START, prev;
	uintptr_t *v;

	while ((v = htab_next(last, key, &pos)) != NULL)
		if (run_same_sender(r, *v, i))
			break;
	if (v == NULL) {
		htab_put(last, key, i);
		return RUN_NONE;
	}
	prev = *v;
	*v = i;
	r->slots[prev].next_sender = i;
	r->slots[i].waits++;
	return prev;
}

/*
 * Link record i's contract j after the latest earlier record concerning
 * it (the map's values are record x RUN_KEYS + key).
 */
static void
run_link_contract(
    struct run *r, struct htab *last, uint64_t seed, size_t i, unsigned j)
{
	const char *c = r->contract_of[i][j];
	uint64_t key = hash_strs(seed, &c, 1);
	size_t pos = HTAB_START;
	uintptr_t *v;

	while ((v = htab_next(last, key, &pos)) != NULL)
		if (strcmp(r->contract_of[*v / RUN_KEYS][*v % RUN_KEYS], c) ==
		    0)
			break;
	if (v == NULL) {
		htab_put(last, key, i * RUN_KEYS + j);
		return;
	}
	r->slots[*v / RUN_KEYS].next_contract[*v % RUN_KEYS] = i;
	r->slots[i].waits++;
	*v = i * RUN_KEYS + j;
}

/*
 * The contracts record i concerns, as far as its text tells: the one a
 * ПС names; else its sender's dialog's, the one the sender named last (a
 * bare value continues that dialog; unknown when the dialog was opened
 * before the file began), and for a keyword-less "<contract> <values>"
 * its first number too (the dialog decides which it is).
 */
static void
run_contracts(
    struct run *r, size_t i, size_t prev, const struct parse_result *cmd)
{
	char(*k)[PARSE_CONTRACT_MAX + 1] = r->contract_of[i];

	if (cmd->contract[0] != '\0' && !cmd->bare_contract) {
		memcpy(k[0], cmd->contract, sizeof(k[0]));
		return;
	}
	if (prev != RUN_NONE)
		memcpy(k[0], r->contract_of[prev][0], sizeof(k[0]));
	if (cmd->bare_contract && strcmp(cmd->contract, k[0]) != 0)
		memcpy(k[1], cmd->contract, sizeof(k[1]));
}

/*
 * Link every record after its sender's previous one and after the
 * previous one concerning each of its contracts (records are in time
 * order).
 */
static void
run_chain(struct run *r, struct parser *parser)
{
	const struct replay_rec *recs = r->set->recs;
	struct htab senders = { 0 }, contracts = { 0 };
	uint64_t seed = hash_seed();
	struct parse_result cmd;

	r->contract_of = xcalloc(r->n ? r->n : 1, sizeof(*r->contract_of));
	htab_clear(&senders, r->n);
	htab_clear(&contracts, r->n * RUN_KEYS);
	for (size_t i = 0; i < r->n; i++) {
		struct run_slot *s = &r->slots[i];

		s->run = r;
		s->next_sender = RUN_NONE;
		for (unsigned j = 0; j < RUN_KEYS; j++)
			s->next_contract[j] = RUN_NONE;
		parser_parse(parser, recs[i].text, recs[i].text_len, &cmd);
		run_contracts(
		    r, i, run_link_sender(r, &senders, seed, i), &cmd);
		for (unsigned j = 0; j < RUN_KEYS; j++)
			if (r->contract_of[i][j][0] != '\0')
				run_link_contract(r, &contracts, seed, i, j);
	}
	free(r->contract_of);
	r->contract_of = NULL;
	htab_free(&senders);
	htab_free(&contracts);
}

/* Report the finished records at the head, in order. */
static void
run_report(struct run *r)
{
	while (r->reported < r->n && r->slots[r->reported].state == RUN_DONE) {
		struct run_slot *s = &r->slots[r->reported];
		struct replay_outcome out = {
			.status = (enum intake_status)s->status,
			.outcome = s->outcome,
			.reason = s->reason,
			.reply = s->reply,
			.message_id = s->message_id,
		};

		r->cb(&r->set->recs[r->reported], r->reported, &out, r->arg);
		free(s->reply);
		s->reply = NULL;
		r->reported++;
	}
	if (r->reported == r->n)
		event_base_loopbreak(r->base);
}

static void run_done_cb(const struct intake_result *, void *);

/*
 * Submit record i again later: after 0.1, 0.2, 0.4 ... 6.4 s (about 13 s
 * in all, enough for a reconnect); once its attempts are used up, the
 * retry timer finishes it as failed. Never finishes it from here.
 */
static void
run_retry_later(struct run *r, size_t i)
{
	struct run_slot *s = &r->slots[i];
	struct timeval tv = { 0, 0 };

	if (++s->attempts < RUN_ATTEMPTS) {
		tv.tv_usec = 100000L << (s->attempts - 1);
		tv.tv_sec = tv.tv_usec / 1000000;
		tv.tv_usec %= 1000000;
	}
	s->state = RUN_RETRY;
	if (r->nretry == r->retry_cap) {
		r->retry_cap = r->retry_cap ? r->retry_cap * 2 : 256;
		r->retry = xrealloc(r->retry, r->retry_cap * sizeof(*r->retry));
	}
	r->retry[r->nretry++] = i;
	if (!evtimer_pending(r->retry_timer, NULL))
		evtimer_add(r->retry_timer, &tv);
}

/* Hand record i to the store; a refusal (queue full, down) retries later. */
static void
run_submit(struct run *r, size_t i)
{
	const struct replay_rec *rec = &r->set->recs[i];
	struct run_slot *s = &r->slots[i];
	struct inbound_msg m = {
		.channel = rec->channel,
		.sender = rec->from,
		.recipient = rec->to,
		.text = rec->text,
		.text_len = rec->text_len,
		.time_us = rec->time_us,
		.external_id = rec->id,
		.flags = INTAKE_F_NO_DUP_LOG |
		    (r->o->send_replies ? 0 : INTAKE_F_NO_OUTBOX),
	};

	if (s->state != RUN_INFLIGHT_ST && s->state != RUN_RETRY)
		r->inflight++;
	s->state = RUN_INFLIGHT_ST;
	if (store_submit(r->st, &m, run_done_cb, s) != 0)
		run_retry_later(r, i); /* refused: down, or the queue is full */
}

/* A predecessor of record i is done: submit i once all are. */
static void
run_release(struct run *r, size_t i)
{
	if (i == RUN_NONE || --r->slots[i].waits > 0)
		return;
	if (r->slots[i].state == RUN_DEFERRED)
		run_submit(r, i);
}

/* Record i is finished: free its place, release its successors. */
static void
run_finish(struct run *r, size_t i)
{
	struct run_slot *s = &r->slots[i];

	s->state = RUN_DONE;
	r->inflight--;
	r->done++;
	run_release(r, s->next_sender);
	for (unsigned j = 0; j < RUN_KEYS; j++)
		run_release(r, s->next_contract[j]);
	run_fill(r);
	run_report(r);
}

static void
run_done_cb(const struct intake_result *res, void *arg)
{
	struct run_slot *s = arg;
	struct run *r = s->run;
	size_t i = (size_t)(s - r->slots);

	/* A failed batch of a dry run took everything before it along: a
	   retry would be decided without those messages. No retry then. */
	if (res->status == INTAKE_TEMPFAIL && !r->o->dry_run) {
		run_retry_later(r, i);
		return;
	}
	s->status = (uint8_t)res->status;
	s->outcome = run_intern(r, res->outcome);
	s->reason = run_intern(r, res->reason);
	s->reply = res->reply && res->reply[0] ? xstrdup(res->reply) : NULL;
	s->message_id = res->message_id;
	run_finish(r, i);
}

static void
run_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	size_t *list = r->retry, n = r->nretry;

	(void)fd;
	(void)what;
	/* run_submit may queue some again: start a fresh list. */
	r->retry = NULL;
	r->nretry = r->retry_cap = 0;
	for (size_t k = 0; k < n; k++) {
		struct run_slot *s = &r->slots[list[k]];

		if (s->attempts < RUN_ATTEMPTS) {
			run_submit(r, list[k]);
			continue;
		}
		s->status = INTAKE_TEMPFAIL; /* given up: not stored */
		run_finish(r, list[k]);
	}
	free(list);
}

/* Submit records in time order while there is room. */
static void
run_fill(struct run *r)
{
	while (r->inflight < r->max_inflight && r->cursor < r->n) {
		size_t i = r->cursor++;

		if (r->slots[i].waits == 0)
			run_submit(r, i);
		else
			r->slots[i].state = RUN_DEFERRED;
	}
}

static void
run_progress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd;
	(void)what;
	r->o->progress(r->done, r->n, r->o->progress_arg);
}

/* Run the loop until the store is ready or the timeout passes. */
static bool
run_wait_ready(struct run *r)
{
	int waited = 0,
	    limit =
	        (r->o->ready_timeout_s > 0 ? r->o->ready_timeout_s : 30) * 1000;
	struct timeval tv = { 0, 20000 };

	while (!store_ready(r->st) && waited < limit) {
		event_base_loopexit(r->base, &tv);
		event_base_dispatch(r->base);
		waited += 20;
	}
	return store_ready(r->st);
}

static struct store *
run_store_new(struct run *r, char *err, size_t errlen)
{
	struct store_opts so = {
		.conninfo = r->o->conninfo,
		.cfg = r->o->cfg,
		.queue_max = r->max_inflight + 16,
		.connections = r->o->connections,
		.dry_run = r->o->dry_run,
	};

	return store_new(r->base, &so, err, errlen);
}

static void
run_free(struct run *r)
{
	store_free(r->st);
	if (r->retry_timer)
		event_free(r->retry_timer);
	if (r->progress_timer)
		event_free(r->progress_timer);
	if (r->base)
		event_base_free(r->base);
	for (size_t i = 0; i < r->n; i++)
		free(r->slots[i].reply);
	for (size_t i = 0; i < r->nnames; i++)
		free((char *)r->names[i]);
	free(r->names);
	free(r->slots);
	free(r->retry);
}

int
replay_run(const struct replay_set *set, const struct replay_opts *o,
    replay_result_cb cb, void *arg, char *err, size_t errlen)
{
	struct run r = {
		.set = set, .o = o, .n = set->n, .cb = cb, .arg = arg
	};
	struct parser *parser;
	int rc = -1;

	r.max_inflight =
	    o->max_inflight > 0 ? (size_t)o->max_inflight : RUN_INFLIGHT;
	r.slots = xcalloc(r.n ? r.n : 1, sizeof(*r.slots));
	if ((parser = parser_new(err, errlen)) == NULL)
		goto out;
	run_chain(&r, parser);
	parser_free(parser);
	r.base = event_base_new();
	if (r.base == NULL || (r.st = run_store_new(&r, err, errlen)) == NULL)
		goto out;
	if (!run_wait_ready(&r)) {
		snprintf(err, errlen,
		    "the database is not usable (see the log lines above)");
		goto out;
	}
	r.retry_timer = evtimer_new(r.base, run_retry_cb, &r);
	if (o->progress != NULL && o->progress_ms > 0) {
		struct timeval tv = { o->progress_ms / 1000,
			(o->progress_ms % 1000) * 1000 };

		r.progress_timer =
		    event_new(r.base, -1, EV_PERSIST, run_progress_cb, &r);
		event_add(r.progress_timer, &tv);
	}
	run_fill(&r);
	if (r.n > 0)
		event_base_dispatch(r.base);
	if (o->stats != NULL)
		store_stats(r.st, o->stats);
	rc = 0;
out:
	run_free(&r);
	return rc;
}
