/*
 * The outbox sender: replies the store committed to the outbox table go
 * out from here, each through its channel's sender (SMS over the SMPP link,
 * a messenger over HTTPS), and their fate comes back here.
 *
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so several instances on one
 * database share the work; a claim leases a row (next_attempt_at moves
 * ahead) so that a crashed instance's rows are sent again by whoever comes
 * next. Claims happen when the store says it committed replies
 * (outbox_kick) and on a timer, so replies left over from a restart or a
 * link outage go out too. Results and delivery receipts are written back
 * in batches on the outbox's own connection. docs/outbox.md has the story.
 */
#ifndef METERLINE_OUTBOX_H
#define METERLINE_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "meterline/intake.h"

struct event_base;
struct evdns_base;
struct outbox;
struct smpp_mt;
struct smpp_mt_report;
struct smpp_receipt;

/* Hand one reply to the SMPP link; 0 when queued, -1 when refused. */
typedef int (*outbox_send_fn)(void *ctx, const struct smpp_mt *mt);

/* A reply of a channel other than SMS, handed to that channel's sender. */
struct outbox_reply {
	uint64_t cookie; /* the row; give it back to outbox_result */
	const char *channel; /* "telegram", "max" */
	const char *from; /* our address (the bot), as the message had it */
	const char *to; /* the customer (chat or user id) */
	const char *text; /* UTF-8 */
	size_t len;
	int attempts; /* including this one */
	/* the customer's dialog is open as the reply goes (a bot may offer
	   a cancel button) */
	bool dialog_open;
};

/*
 * Hand one reply to a channel's sender: 0 when taken (outbox_result
 * follows, later, exactly once), -1 when refused (written back due
 * again).
 */
typedef int (*outbox_channel_send_fn)(void *ctx, const struct outbox_reply *);

/* What became of a reply a channel took. */
enum outbox_verdict {
	OUTBOX_SENT, /* the platform took it: row sent */
	OUTBOX_REJECTED, /* refused for good (blocked bot, bad chat): failed */
	OUTBOX_RETRY, /* temporary (429, 5xx, timeout): pending, backoff */
	OUTBOX_UNSENT, /* never left (stopping): pending, due at once */
};

struct outbox_opts {
	const char *conninfo;
	/* resolves conninfo's host names (db_opts.dns); NULL: libpq does */
	struct evdns_base *dns;
	/* the SMS channel's sender; NULL: no SMS channel */
	outbox_send_fn send;
	void *send_ctx;
	int poll_ms; /* 0: 1000; claim due rows this often */
	/* 0: 10; a claimed or handed-over row's lease, renewed every
	   third of it while held */
	int lease_s;
	unsigned claim_max; /* 0: 500 rows per claim */
	unsigned inflight_max; /* 0: 5000 replies held in memory */
	unsigned max_attempts; /* 0: 10, then the row is failed */
	int backlog_every_s; /* 0: 2; count the pending rows this often */
	/*
	 * Called when the SMSC accepted every part of a reply (may be NULL):
	 * the time since its row was written, i.e. since the commit of the
	 * message it answers. serve turns it into a histogram.
	 */
	void (*on_sent)(void *arg, int64_t latency_us);
	void *on_sent_arg;
};

struct outbox_stats {
	uint64_t claimed, sent, failed, retried, receipts, receipts_unknown;
	/* of claimed: handed over by the store at commit (no claim) */
	uint64_t handed;
	/* sent, but the SMSC gave no usable message_id: receipts cannot
	   match (smsc_message_id = '') */
	uint64_t ids_lost;
	uint64_t inflight;
	/* SMS replies pending in the table (every instance's), as last
	   counted; -1 before the first count */
	int64_t backlog;
};

struct outbox *outbox_new(struct event_base *, const struct outbox_opts *);
void outbox_free(struct outbox *); /* NULL-safe */

/*
 * Add a channel whose rows (outbox.channel = name) go to send. At most
 * OUTBOX_CHANNELS channels with SMS; 0, or -1 when full or named twice.
 * A channel added here is enabled at once.
 */
#define OUTBOX_CHANNELS 8
int outbox_channel_add(
    struct outbox *, const char *name, outbox_channel_send_fn, void *ctx);

/*
 * The fate of a reply a channel took (cookie from struct outbox_reply).
 * ext_id: the platform's message id, stored in smsc_message_id (may be
 * NULL). retry_after_s > 0: not due again before that many seconds (a
 * platform's 429 retry_after), whatever the backoff says.
 */
void outbox_result(struct outbox *, uint64_t cookie, enum outbox_verdict,
    const char *ext_id, int retry_after_s);

/* A reply leased to this instance (the claim's, or the store's handoff). */
struct outbox_row {
	int64_t id;
	const char *created; /* created_at as PostgreSQL wrote it */
	int64_t created_us; /* the same, Unix microseconds */
	const char *channel, *sender, *recipient, *text;
	int attempts; /* including this one */
	bool dialog_open; /* a messenger's chat has a dialog open */
};

/*
 * Direct handoff (docs/outbox.md). For a reply about to be committed on
 * channel: how many seconds to insert it leased to outbox_owner(), or 0
 * to insert it due at once (no handoff for that channel, the link is
 * down, memory is short, replies of the channel may wait for a claim: a
 * claim takes it). After the COMMIT the rows come to outbox_handoff,
 * which sends the leased ones (attempts 1) without a claim and wakes a
 * claim for the others (attempts 0); until that claim has walked to the
 * end no reply of the channel is leased, so none overtakes an earlier one
 * of the same customer.
 */
int outbox_handoff_lease(struct outbox *, const char *channel);
void outbox_handoff(struct outbox *, const struct outbox_row *, size_t n);
const char *outbox_owner(const struct outbox *);

/* Whether to claim SMS at all: false while the SMPP link is down. */
void outbox_set_enabled(struct outbox *, bool);
/* Claim due rows soon (the store committed some); coalesced. */
void outbox_kick(struct outbox *);
/* The same for one channel's rows only; a no-op when every reply of the
   channel committed since was handed over (outbox_handoff_lease). */
void outbox_kick_channel(struct outbox *, const char *channel);
/* The link's report on one part of a reply (smpp_link_hooks.mt_report). */
void outbox_report(struct outbox *, const struct smpp_mt_report *);
/*
 * A delivery receipt (smpp_link_hooks.receipt): recorded, then done runs
 * after the commit (TEMPFAIL when the database is down).
 */
void outbox_receipt(struct outbox *, const struct smpp_receipt *,
    intake_done_cb done, void *arg);
/*
 * A messenger's status of a reply it sent (DELIVRD, READ, UNDELIV,
 * REJECTD): matched by the platform's message id exactly, as the send
 * stored it; done as for outbox_receipt.
 */
void outbox_status(struct outbox *, const char *id, const char *stat,
    intake_done_cb done, void *arg);
/* Write pending results now; done(arg) runs when nothing is left. */
void outbox_flush(struct outbox *, void (*done)(void *), void *arg);
bool outbox_idle(const struct outbox *);
void outbox_stats(const struct outbox *, struct outbox_stats *);

/* SMSC message ids as stored and matched: lower case, no leading zeros. */
void outbox_normalise_id(const char *in, char *out, size_t outlen);

#endif
