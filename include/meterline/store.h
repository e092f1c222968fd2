/*
 * The store: applies inbound messages to PostgreSQL, in batches.
 *
 * Group commit: messages submitted while a transaction is in flight wait
 * and go together into the next one, up to [store] batch_max. One
 * transaction per batch: advisory locks on every (channel, sender) of the
 * batch, in sorted order; the senders' dialogs, the contracts concerned and
 * earlier copies of the messages loaded in one round trip; the dialog
 * engine run in C, in arrival order; the message log, dialogs,
 * submissions, readings, registers' last values and outbox written with
 * one array statement each; COMMIT. Only then does each message's done
 * callback run. Batches overlap on several connections (default 2). docs/store.md has the whole story (duplicates, failures).
 */
#ifndef METERLINE_STORE_H
#define METERLINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/intake.h"

struct event_base;
struct evdns_base;
struct config;
struct store;

/* A reply committed to the outbox: leased to this instance, or not. */
struct store_reply {
	int64_t id;
	const char *created; /* created_at as PostgreSQL wrote it */
	int64_t created_us; /* the same, Unix microseconds */
	const char *channel, *sender, *recipient, *text;
	int attempts; /* 1: leased to this instance; 0: not */
	bool dialog_open; /* its chat has a dialog open (leased only) */
};

/*
 * SQL: whether the chat of outbox row o (its alias) has a dialog open, for
 * a messenger's cancel button; false for SMS. One expression for the
 * store's outbox insert (handoff) and the outbox's claim.
 */
#define STORE_SQL_DIALOG_OPEN(o) \
	"(" o ".channel <> 'sms' AND EXISTS (SELECT 1 FROM dialogs d" \
	" WHERE d.channel = " o ".channel" \
	" AND d.sender = " o ".recipient COLLATE \"C\"))"

struct store_opts {
	const char *conninfo; /* libpq (multi-host is fine) */
	/* resolves conninfo's host names (db_opts.dns); NULL: libpq does */
	struct evdns_base *dns;
	const struct config *cfg; /* borrowed, for the store's life */
	size_t queue_max; /* 0: 16 x batch_max; beyond, submit refuses */
	int connections; /* 0: 2; batches overlap on them */
	/*
	 * Dry run (replay --dry-run): decide and write as usual but never
	 * commit. One connection, one transaction for the store's whole life,
	 * rolled back by store_free; done callbacks run when a batch's writes
	 * are in (INTAKE_APPLIED means "would apply"). The transaction holds
	 * the replayed senders' and contracts' locks until store_free: live
	 * messages for them wait (and fail after lock_timeout). A failed
	 * batch rolls back everything before it.
	 */
	bool dry_run;
	int partitions_every_s; /* 0: 3600 */
	/*
	 * Called after each committed batch, before its done callbacks (may
	 * be NULL): its size and the time from its first statement to its
	 * COMMIT. The store knows nothing of metrics; serve turns these into
	 * histograms.
	 */
	void (*on_commit)(void *arg, size_t nmsgs, int64_t commit_us);
	void *on_commit_arg;
	int backoff_max_ms; /* 0: 2 s (reconnect backoff cap) */
	/*
	 * The channel's concat_timeout ([smpp] concat_timeout): kept parts
	 * of a concatenated SMS that no channel completes within it (the
	 * rest never came after a restart) are processed as they are by a
	 * periodic sweep (docs/store.md). 0: no sweep (replay, HTTP only).
	 */
	int parts_timeout_ms;
	/*
	 * Direct handoff to the outbox (docs/outbox.md; may be NULL). For
	 * each reply, outbox_lease(arg, channel) says for how many seconds
	 * to insert its row already leased to outbox_owner (0: due at once,
	 * for whoever claims it); after COMMIT, on_replies gets the rows,
	 * so the leased ones (attempts 1) go out without a claim, and the
	 * others (attempts 0) wake one.
	 */
	int (*outbox_lease)(void *arg, const char *channel);
	void (*on_replies)(void *arg, const struct store_reply *, size_t n);
	void *outbox_arg;
	const char *outbox_owner; /* borrowed */
};

/*
 * Create the store and start connecting (asynchronously). Returns NULL
 * with why in err only for bad options. The database schema must be at
 * this binary's version (`meterline migrate`); until it is, the store
 * stays down and says so in the log.
 */
struct store *store_new(
    struct event_base *, const struct store_opts *, char *err, size_t errlen);

/*
 * Free at once. Messages still queued or in flight get INTAKE_TEMPFAIL
 * (an in-flight COMMIT may still land: its messages are then found as
 * duplicates when the channel retries). NULL-safe. Drain first for a
 * clean stop: stop submitting, wait for store_pending() == 0.
 */
void store_free(struct store *);

/*
 * Submit one message: the intake contract (intake.h). Copies msg. Returns
 * 0 and calls done exactly once later from the loop, or -1 at once when
 * the database is down or the queue is full (done never runs).
 */
int store_submit(
    struct store *, const struct inbound_msg *, intake_done_cb, void *arg);

/* Connected, schema checked, accepting messages. */
bool store_ready(const struct store *);

/* Messages queued or in flight. */
size_t store_pending(const struct store *);

#define STORE_HIST 15 /* batch sizes: [1], [2,3], [4,7], ... [8192, 16383] */

struct store_stats {
	uint64_t batches; /* committed */
	uint64_t applied; /* messages committed as applied */
	uint64_t duplicates; /* messages committed as duplicates */
	uint64_t tempfails; /* messages answered INTAKE_TEMPFAIL */
	uint64_t refused; /* submits refused (down, queue full) */
	uint64_t failed_batches; /* transactions not committed */
	uint64_t retries; /* batches retried (serialization, lock timeout) */
	uint64_t splits; /* batches split to isolate a failing message */
	uint64_t reconnects; /* connections made after the first */
	uint64_t db_failures; /* failed connects and lost connections */
	uint64_t conns_up; /* connections up now (a gauge, not a count) */
	uint64_t batch_hist[STORE_HIST]; /* committed batches by size */
	/* where a batch's time goes, summed over batches (microseconds) */
	uint64_t load_us; /* round 1 sent -> results: locks and loads */
	uint64_t decide_us; /* parse, engine, building the writes (C) */
	uint64_t write_us; /* round 2 sent -> committed */
};
void store_stats(const struct store *, struct store_stats *);

/* The backend pid of the connection carrying a batch, else of the first
 * connection (tests), 0 if none. */
int store_backend_pid(const struct store *);

#endif
