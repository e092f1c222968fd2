/*
 * The outbox sender (include/meterline/outbox.h, docs/outbox.md).
 *
 * One connection of its own, one round in flight at a time: either a claim
 * of one channel's due rows (-> the SMPP link, or a messenger's sender) or
 * a write-back (results of sent replies and
 * delivery receipts, as array statements, committed together). Replies the
 * link holds are kept in a hash by outbox id until their result is
 * committed, so a row whose lease ran out while its parts were still queued
 * (a throttled link), or while its result waited for the write-back, is
 * not sent twice by this instance; renewing the leases of what it holds
 * keeps other instances off.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "meterline/clock.h"
#include "meterline/db.h"
#include "meterline/hash.h"
#include "meterline/log.h"
#include "meterline/outbox.h"
#include "meterline/smpp_link.h"
#include "meterline/store.h"
#include "meterline/xmalloc.h"
#include "meterline/sql_array.h"

/*
 * How old a reply a delivery receipt or a messenger's status may still
 * match. SMSCs keep a message at most days (validity periods of 1-3
 * days are usual, 7 the longest seen); a messenger reports "read" when
 * the chat is opened, which may be later. Past it, a receipt is counted
 * as unknown.
 */
#define OB_RECEIPT_DAYS "30"
/* The created_at of a reply a receipt may match: the last OB_RECEIPT_DAYS,
 * never the future (DB_NOT_FUTURE). Both ends prune partitions. */
#define OB_RECEIPT_SPAN(col) \
	col " >= now() - interval '" OB_RECEIPT_DAYS " days' AND " col \
	    " <= " DB_NOT_FUTURE

enum ob_stmt { OB_CLAIM, OB_SETTLE, OB_RECEIPT, OB_BACKLOG, OB_RENEW };

/* The claimed rows' columns (DB_COLS_SQL in db.h). */
#define OB_CLAIM_COLS(COL1, COL) \
	COL1(OB_C_ID, "o.id") \
	COL(OB_C_CREATED, "o.created_at") \
	COL(OB_C_CREATED_US, "(extract(epoch FROM o.created_at) * 1e6)::int8") \
	COL(OB_C_SENDER, "o.sender") \
	COL(OB_C_RECIPIENT, "o.recipient") \
	COL(OB_C_TEXT, "o.text") \
	COL(OB_C_ATTEMPTS, "o.attempts") \
	COL(OB_C_DIALOG, STORE_SQL_DIALOG_OPEN("o"))
enum ob_claim_col { DB_COLS_ENUM(OB_CLAIM_COLS) OB_C__N };

/* SQL laid out by hand, as in store_sql.c. */
/* clang-format off */
static const struct db_stmt ob_stmts[] = {
	/* Lease due rows: next_attempt_at moves ahead, so nobody else takes
	 * them until the lease ends; the result settles them for good. */
	/* The due rows are picked by an InitPlan (ARRAY(...)), run once, and
	 * updated through the primary key (id = ANY: ids come from one
	 * sequence, unique across partitions). The outer WHERE has nothing
	 * else, so no partial index applies and the primary key is the only
	 * path whatever the statistics. The join this replaced (UPDATE ...
	 * FROM (SELECT ... FOR UPDATE SKIP LOCKED) d) got, once the table was
	 * analyzed with many rows, a generic plan hashing d against a full
	 * primary-key scan of the outbox: 100 ms per claim at 50k rows
	 * (measured), seconds in the messenger benchmark on a loaded machine;
	 * this form takes 2-15 ms there, before and after ANALYZE. */
	/* Keyset: the walk of outbox_pending (channel, id) goes on from the
	 * last id claimed ($4), so rows claimed before and the dead entries
	 * of rows sent since are not read again; ob_timer_cb starts a new
	 * walk once one has reached the end. None of the columns the claim
	 * sets is indexed: a HOT update. */
	[OB_CLAIM] = { "ob_claim",
	    "UPDATE outbox o SET attempts = o.attempts + 1,"
	    " next_attempt_at = now() + make_interval(secs => $2::int),"
	    " lease_owner = $5::text, updated_at = now()"
	    " WHERE o.id = ANY (ARRAY(SELECT id FROM outbox"
	    "  WHERE state = 'pending' AND channel = $3::text"
	    "  AND id > $4::int8 AND next_attempt_at <= now()"
	    "  ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED))"
	    " RETURNING " DB_COLS_SQL(OB_CLAIM_COLS),
	    5 },
	/* "o.id = ANY ($1)" restricts the outbox side to an index probe per
	 * id whatever the join: the generic plan made while the table was
	 * empty hashed the ids against every partition's whole primary key,
	 * reading the whole outbox at every write-back (5 ms each at 10k
	 * rows, a third of PostgreSQL's CPU at 1,000 MO/s; issue 20).
	 * $6 and $7, the rows' oldest and newest created_at, let the executor
	 * prune the partitions outside them at start-up (an array cannot):
	 * without them every write-back probed every month's partition, and
	 * its cost grew with the months kept (40 µs a reply with 4
	 * partitions, 60 with 16). */
	[OB_SETTLE] = { "ob_settle",
	    "UPDATE outbox o SET state = u.state,"
	    " smsc_message_id = coalesce(u.mid, o.smsc_message_id),"
	    " next_attempt_at = now() + make_interval(secs => u.delay),"
	    " updated_at = now()"
	    " FROM (SELECT unnest($1::bigint[]) AS id,"
	    "  unnest($2::timestamptz[]) AS created_at, unnest($3::text[]) AS state,"
	    "  unnest($4::text[]) AS mid, unnest($5::int[]) AS delay) AS u"
	    " WHERE o.id = ANY ($1::bigint[])"
	    " AND o.created_at BETWEEN $6::timestamptz AND $7::timestamptz"
	    " AND o.id = u.id AND o.created_at = u.created_at",
	    7 },
	/* A receipt may come before the submit_sm_resp's id is written
	 * (another instance, a slow write-back): it then matches nothing,
	 * is counted, and acknowledged anyway.
	 * Only replies of the last OB_RECEIPT_DAYS are matched. An SMSC
	 * reuses its ids, so an older reply sharing one is not the receipt's;
	 * and the bound prunes the older months (now() is known at executor
	 * start-up), whose outbox_smsc_id every receipt probed before, a cost
	 * that grew with the months kept (DB_NOT_FUTURE prunes the months
	 * ahead). Each id is one LATERAL probe by equality (store_sql.c,
	 * PROBE): "smsc_message_id = ANY" with the bound let the generic plan
	 * of a new database take the primary key, the bound being on its
	 * second column, a walk of every entry of the month per receipt. The
	 * rows found are then updated through the primary key (id,
	 * created_at) of the same months. */
	[OB_RECEIPT] = { "ob_receipt",
	    "WITH u AS (SELECT unnest($1::text[]) AS mid,"
	    "  unnest($2::text[]) AS stat),"
	    " f AS (SELECT x.id, x.created_at, u.stat FROM u"
	    "  CROSS JOIN LATERAL (SELECT y.id, y.created_at FROM outbox AS y"
	    "   WHERE y.smsc_message_id = u.mid"
	    "   AND " OB_RECEIPT_SPAN("y.created_at") " OFFSET 0) AS x),"
	    " upd AS (UPDATE outbox o SET dlr_state = f.stat, dlr_at = now(),"
	    "  updated_at = now(), state = CASE"
	    "   WHEN f.stat = 'DELIVRD' THEN 'delivered'"
	    "   WHEN f.stat IN ('UNDELIV', 'REJECTD', 'EXPIRED', 'DELETED')"
	    "    THEN 'undeliverable' ELSE o.state END"
	    "  FROM f WHERE o.id = ANY (ARRAY(SELECT id FROM f))"
	    "  AND " OB_RECEIPT_SPAN("o.created_at")
	    "  AND o.id = f.id AND o.created_at = f.created_at RETURNING 1)"
	    " SELECT count(*) FROM upd",
	    2 },
	/* The operator's "where are the replies": an index-only walk of
	   outbox_pending, every backlog_every_s. */
	[OB_BACKLOG] = { "ob_backlog",
	    "SELECT count(*) FROM outbox WHERE state = 'pending'"
	    " AND channel = 'sms'",
	    0 },
	/* Renew the short lease of rows held longer than a third of it (a
	 * throttled link): HOT, through the primary key. */
	[OB_RENEW] = { "ob_renew",
	    "UPDATE outbox SET next_attempt_at = now()"
	    " + make_interval(secs => $2::int)"
	    " WHERE id = ANY ($1::int8[]) AND state = 'pending'",
	    2 },
};
/* clang-format on */

/*
 * Arrays are unnested in the select list, not in FROM, for the reason
 * given in store_sql.c (a tuplestore per statement).
 *
 * Session settings of the outbox's connection.
 *
 * Its three statements are right only as index-driven nested loops: the
 * claim walks outbox_pending from its cursor, the settle and the
 * receipt match arrays of ids through the primary key and outbox_smsc_id.
 * Left to itself the planner strays two ways. A plan chosen while the
 * table was small seq-scans it ever after (a hash join over every
 * partition: 50 ms per write-back at 200k rows instead of 2 ms). A bitmap
 * scan of the pending index rereads, on every claim, the entries of versions
 * already claimed or sent, which a plain index scan marks dead as it
 * passes (25 ms per claim instead of 5 ms at 200k rows). So: no
 * sequential or bitmap scans (there is always an index path), and one
 * generic plan per statement and connection. Planning the claim afresh
 * each time costs about 0.5 ms, a core's 13% at 1,000 MO/s.
 *
 * Asynchronous commit: a claim or a result lost in a crash of PostgreSQL
 * itself (not of meterline) only means that a reply is sent again, which
 * the outbox allows anyway (a part in flight during a drop). It saves an
 * fsync per round, half of all WAL flushes under load. Rounds that carry
 * delivery receipts commit synchronously, since their deliver_sm_resp
 * follows the commit and the SMSC will not send them again.
 */
static const char ob_session_sql[] =
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', false),"
    " set_config('enable_seqscan', 'off', false),"
    " set_config('enable_bitmapscan', 'off', false),"

    " set_config('synchronous_commit', 'off', false)";
static const char ob_sync_commit_sql[] =
    "SELECT set_config('synchronous_commit', 'on', true)";

/*
 * Results are written back together: once OB_SETTLE_BATCH are waiting, or
 * OB_SETTLE_DELAY_MS after the first, or at once with a receipt or a
 * flush. One write-back per submit_sm_resp burst cost more in planning and
 * statement overhead than in rows (40 rows a round at 13k MO/s).
 */
#define OB_SETTLE_BATCH 256
#define OB_SETTLE_DELAY_MS 10

/* A reply the link (or a channel) holds, until its last part is reported. */
struct ob_entry {
	int64_t id;
	int chan; /* index in outbox.chans */
	int retry_after; /* seconds the channel asked to wait, 0: backoff */
	char created[40]; /* the row's created_at, for partition pruning */
	int64_t created_us; /* the same, Unix microseconds: reply latency */
	int64_t leased_us; /* clock_mono_us of its lease's last renewal */
	bool used; /* in the index */
	/* every part reported, the result queued but not yet committed: the
	   row is still pending in the table, and a claim may take it again
	   if its lease ran out (a loaded machine; issue 20's CI run) */
	bool settling;
	char mid[72]; /* SMSC id of the first accepted part */
	int attempts;
	int worst; /* the worst smpp_mt_state of its parts */
	/* the first part was accepted without a usable SMSC id */
	bool id_lost;
};

/* A result to write back. */
struct ob_settle {
	int64_t id;
	char created[40];
	int64_t created_us; /* orders created: the pruning bounds */
	char state[12];
	char mid[72]; /* "" = keep */
	/* sent without an id: stored as '' (not NULL), so it shows */
	bool id_lost;
	int delay; /* seconds until next_attempt_at */
};

struct ob_receipt {
	char mid[72];
	char stat[12];
	intake_done_cb done;
	void *arg;
};

/*
 * A channel's sender. Index 0 is SMS when the SMPP link is configured
 * (opts.send); the others are added by outbox_channel_add.
 */
struct ob_chan {
	char name[33];
	outbox_channel_send_fn send; /* NULL for SMS: opts.send */
	void *ctx;
	bool enabled, kicked;
	/* the claim's keyset cursor: the last id claimed, and whether the
	   walk reached the end (the timer then starts another) */
	int64_t cursor;
	bool walked;
	/*
	 * Replies of this channel may wait in the table for a claim (the link
	 * just came up, one was committed unleased): no handoff until a walk
	 * started after the last kick reached the end, so that a customer's
	 * later reply never overtakes an earlier one. kick_gen counts kicks.
	 */
	bool pending;
	uint64_t kick_gen;
	unsigned inflight; /* its entries in outbox.ent */
};

struct outbox {
	struct event_base *base;
	struct outbox_opts opts;
	char *conninfo;
	struct db *db;
	struct event *timer, *kick_ev, *settle_ev;
	bool busy, settle_due, backlog_due;
	struct ob_chan chans[OUTBOX_CHANNELS];
	int nchans;
	int claim_chan; /* the channel of the claim in flight */
	uint64_t claim_gen; /* its channel's kick_gen when it started */
	unsigned claim_limit; /* its LIMIT */
	int next_chan; /* where the next claim looks first (round robin) */
	int64_t backlog_next; /* clock_mono_us of the next count */
	int64_t claim_sent_us; /* clock_mono_us when the claim was sent */
	bool renew_due;
	char owner[96]; /* lease_owner: host:pid */
	/* in flight at the link: entries, and their slots by hash of id */
	struct ob_entry *ent;
	struct htab idx;
	uint32_t *free_slots;
	uint32_t nfree;
	/* write-back queues; the round in flight owns the *_sent prefixes */
	struct ob_settle *settle;
	size_t nsettle, settle_cap, settle_sent;
	struct ob_receipt *rcpt;
	size_t nrcpt, rcpt_cap, rcpt_sent;
	/* outbox_flush: write everything now, then flushed(arg) if set */
	bool flushing;
	void (*flushed)(void *);
	void *flushed_arg;
	struct outbox_stats stats;
};

static void ob_next(struct outbox *);
static void ob_queue_settle(
    struct outbox *, const struct ob_entry *, const char *state, int delay);

/* ---- in-flight index ------------------------------------------------------ */

static struct ob_entry *
ob_find(const struct outbox *ob, int64_t id)
{
	size_t pos = HTAB_START;
	uintptr_t *slot;
	uint64_t key = hash_u64((uint64_t)id);

	while ((slot = htab_next(&ob->idx, key, &pos)) != NULL)
		if (ob->ent[*slot].id == id)
			return &ob->ent[*slot];
	return NULL;
}

/* A new entry for id of channel chan, which has none; NULL when all are
   in use. */
static struct ob_entry *
ob_insert(struct outbox *ob, int chan, int64_t id, int64_t leased_us)
{
	uint32_t slot;

	if (ob->nfree == 0)
		return NULL;
	slot = ob->free_slots[--ob->nfree];
	htab_put(&ob->idx, hash_u64((uint64_t)id), slot);
	memset(&ob->ent[slot], 0, sizeof(ob->ent[slot]));
	ob->ent[slot].id = id;
	ob->ent[slot].used = true;
	ob->ent[slot].leased_us = leased_us;
	ob->ent[slot].chan = chan;
	ob->chans[chan].inflight++;
	ob->stats.inflight++;
	return &ob->ent[slot];
}

static void
ob_remove(struct outbox *ob, const struct ob_entry *e)
{
	uint32_t slot = (uint32_t)(e - ob->ent);

	if (!htab_del(&ob->idx, hash_u64((uint64_t)e->id), slot))
		return;
	ob->ent[slot].used = false;
	ob->free_slots[ob->nfree++] = slot;
	ob->chans[e->chan].inflight--;
	ob->stats.inflight--;
}

/* ---- helpers -------------------------------------------------------------- */

void
outbox_normalise_id(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	/* SMSCs write the same id as "0A1b" in one PDU and "a1b" in another. */
	while (*in == '0' && in[1] != '\0')
		in++;
	for (; *in != '\0' && o + 1 < outlen; in++)
		out[o++] = (*in >= 'A' && *in <= 'Z') ? (char)(*in + 32) : *in;
	if (outlen > 0)
		out[o] = '\0';
}

/* ---- claim ---------------------------------------------------------------- */

/* Hand a messenger's reply to its channel; 0 or -1 as its send. */
static int
ob_send_channel(struct outbox *ob, const struct ob_chan *c,
    const struct smpp_mt *mt, int attempts, bool dialog_open)
{
	struct outbox_reply rep = { .cookie = mt->cookie,
		.channel = c->name,
		.from = mt->from,
		.to = mt->to,
		.text = mt->text,
		.len = mt->len,
		.attempts = attempts,
		.dialog_open = dialog_open };

	(void)ob;
	return c->send(c->ctx, &rep);
}

/* Send one reply leased to us (claimed, or handed over by the store) on
   channel chan (not always the claim's: a handoff comes in between); a
   refusal goes back as due at once. leased_us: when its lease began, no
   later than the database's now() of the lease. */
static void
ob_send_one(struct outbox *ob, int chan, const struct outbox_row *row,
    bool dialog_open, int64_t leased_us)
{
	const struct ob_chan *c = &ob->chans[chan];
	int rc;
	int64_t id = row->id;
	struct ob_entry *e;
	struct smpp_mt mt;

	if (ob_find(ob, id) != NULL)
		return; /* lease ran out while we still hold it */
	if ((e = ob_insert(ob, chan, id, leased_us)) == NULL)
		return; /* full: the (short) lease brings it back */
	strlcpy_s(e->created, row->created, sizeof(e->created));
	e->attempts = row->attempts;
	e->created_us = row->created_us;
	e->worst = SMPP_MT_ACCEPTED;
	mt = (struct smpp_mt){ .from = row->sender,
		.to = row->recipient,
		.text = row->text,
		.len = strlen(row->text),
		.cookie = (uint64_t)id };
	ob->stats.claimed++;
	rc = c->send == NULL
	    ? ob->opts.send(ob->opts.send_ctx, &mt)
	    : ob_send_channel(ob, c, &mt, e->attempts, dialog_open);
	if (rc != 0) {
		struct smpp_mt_report rep = { .cookie = (uint64_t)id,
			.part = 1,
			.nparts = 1,
			.state = SMPP_MT_UNSENT,
			.message_id = "",
			.last = 1 };

		outbox_report(ob, &rep);
	}
}

static void
ob_send_row(struct outbox *ob, const struct db_rows *rows, int r)
{
	struct outbox_row row = {
		.id = strtoll(db_rows_get(rows, r, OB_C_ID), NULL, 10),
		.created = db_rows_get(rows, r, OB_C_CREATED),
		.created_us =
		    strtoll(db_rows_get(rows, r, OB_C_CREATED_US), NULL, 10),
		.sender = db_rows_get(rows, r, OB_C_SENDER),
		.recipient = db_rows_get(rows, r, OB_C_RECIPIENT),
		.text = db_rows_get(rows, r, OB_C_TEXT),
		.attempts = atoi(db_rows_get(rows, r, OB_C_ATTEMPTS)),
	};
	struct ob_chan *c = &ob->chans[ob->claim_chan];

	if (row.id > c->cursor)
		c->cursor = row.id;
	ob_send_one(ob, ob->claim_chan, &row,
	    db_rows_get(rows, r, OB_C_DIALOG)[0] == 't', ob->claim_sent_us);
}

static void
ob_claim_done(const struct db_round_result *res, void *arg)
{
	struct outbox *ob = arg;
	const struct db_rows *rows = res->nrows > 0 ? res->rows[0] : NULL;

	ob->busy = false;
	if (res->lost || res->failed >= 0 || rows == NULL) {
		if (!res->lost)
			log_warn("outbox: claim failed: %s", res->error);
	} else {
		for (int r = 0; r < db_rows_count(rows); r++)
			ob_send_row(ob, rows, r);
		/* A full claim means more may be due: go again at once.
		 * Otherwise the walk is over: the timer starts the next. */
		struct ob_chan *c = &ob->chans[ob->claim_chan];

		if ((unsigned)db_rows_count(rows) == ob->claim_limit) {
			c->kicked = true;
		} else {
			c->walked = true;
			if (ob->claim_gen == c->kick_gen)
				c->pending = false; /* caught up: hand over */
		}
	}
	ob_next(ob);
}

/*
 * How many rows channel chan may claim now. With several channels none
 * holds more than half the in-flight entries, so a messenger paused by
 * its platform's flood control cannot starve the others.
 */
static uint32_t
ob_room(const struct outbox *ob, int chan)
{
	uint32_t room = ob->nfree;
	uint32_t cap =
	    ob->nchans > 1 ? ob->opts.inflight_max / 2 : ob->opts.inflight_max;
	uint32_t held = ob->chans[chan].inflight;

	if (held >= cap)
		return 0;
	return room < cap - held ? room : cap - held;
}

/*
 * The next channel to claim for, round robin, and how many rows; -1 if
 * none is due. A channel whose share is full stays kicked for later.
 */
static int
ob_due_chan(struct outbox *ob, uint32_t *room)
{
	for (int k = 0; k < ob->nchans; k++) {
		int i = (ob->next_chan + k) % ob->nchans;
		struct ob_chan *c = &ob->chans[i];

		if (!c->kicked)
			continue;
		if (!c->enabled) {
			c->kicked = false;
			continue;
		}
		if ((*room = ob_room(ob, i)) < ob->opts.claim_max / 4 + 1)
			continue;
		c->kicked = false;
		ob->next_chan = (i + 1) % ob->nchans;
		return i;
	}
	return -1;
}

static bool
ob_claim(struct outbox *ob)
{
	char limit[16], lease[16], cursor[24];
	uint32_t room;
	const char *params[5] = { limit, lease, NULL, cursor, ob->owner };
	int chan;

	if ((chan = ob_due_chan(ob, &room)) < 0)
		return false;
	ob->claim_chan = chan;
	ob->claim_gen = ob->chans[chan].kick_gen;
	params[2] = ob->chans[chan].name;
	ob->claim_limit = room < ob->opts.claim_max ? room : ob->opts.claim_max;
	snprintf(limit, sizeof(limit), "%u", ob->claim_limit);
	snprintf(cursor, sizeof(cursor), "%" PRId64, ob->chans[chan].cursor);
	snprintf(lease, sizeof(lease), "%d", ob->opts.lease_s);
	ob->claim_sent_us = clock_mono_us();
	if (db_send(ob->db, OB_CLAIM, params) != 0 ||
	    db_round(ob->db, true, ob_claim_done, ob) != 0)
		return false;
	ob->busy = true;
	return true;
}

/* ---- write-back ----------------------------------------------------------- */

/*
 * The write-back's arrays, and in p[5] and p[6] the oldest and newest
 * created_at among its rows (as PostgreSQL wrote them: exact).
 */
static void
ob_settle_params(const struct outbox *ob, struct sql_arr b[5], const char *p[7])
{
	const struct ob_settle *lo = &ob->settle[0], *hi = &ob->settle[0];

	for (size_t i = 0; i < ob->settle_sent; i++) {
		const struct ob_settle *s = &ob->settle[i];

		sarr_i64(&b[0], s->id);
		sarr_text(&b[1], s->created);
		sarr_text(&b[2], s->state);
		sarr_text(&b[3], s->mid[0] ? s->mid : s->id_lost ? "" : NULL);
		sarr_i64(&b[4], s->delay);
		if (s->created_us < lo->created_us)
			lo = s;
		if (s->created_us > hi->created_us)
			hi = s;
	}
	p[5] = lo->created;
	p[6] = hi->created;
}

static void
ob_receipt_params(const struct outbox *ob, struct sql_arr b[2])
{
	for (size_t i = 0; i < ob->rcpt_sent; i++) {
		sarr_text(&b[0], ob->rcpt[i].mid);
		sarr_text(&b[1], ob->rcpt[i].stat);
	}
}

/* Drop the first n entries of a queue whose round has ended. */
static void
ob_shift(void *base, size_t *len, size_t n, size_t size)
{
	if (n == 0)
		return; /* base may be NULL: memmove must not see it */
	memmove(base, (char *)base + n * size, (*len - n) * size);
	*len -= n;
}

/* The results of the round just committed are in the table: their
   entries leave the index, and a claim may take those rows again (a
   retry, once due). */
static void
ob_release_settled(struct outbox *ob)
{
	for (size_t i = 0; i < ob->settle_sent; i++) {
		struct ob_entry *e = ob_find(ob, ob->settle[i].id);

		if (e != NULL && e->settling)
			ob_remove(ob, e);
	}
}

static void
ob_flush_done(const struct db_round_result *res, void *arg)
{
	struct outbox *ob = arg;
	bool ok = !res->lost && res->failed < 0;
	struct intake_result ir = { .status =
		                        ok ? INTAKE_APPLIED : INTAKE_TEMPFAIL,
		.outcome = "receipt" };

	size_t ri = ob->settle_sent > 0; /* the receipts' statement */

	ob->busy = false;
	if (!ok && !res->lost)
		log_warn("outbox: write-back failed: %s", res->error);
	if (ok && ob->rcpt_sent > 0 && res->nrows > ri &&
	    res->rows[ri] != NULL) {
		long matched = atol(db_rows_get(res->rows[ri], 0, 0));

		ob->stats.receipts_unknown += ob->rcpt_sent - (size_t)matched;
	}
	/* Results stay queued until written; receipts are answered either
	 * way (a TEMPFAIL makes the SMSC send the receipt again). */
	if (ok) {
		ob_release_settled(ob);
		ob_shift(ob->settle, &ob->nsettle, ob->settle_sent,
		    sizeof(*ob->settle));
	}
	for (size_t i = 0; i < ob->rcpt_sent; i++)
		ob->rcpt[i].done(&ir, ob->rcpt[i].arg);
	ob_shift(ob->rcpt, &ob->nrcpt, ob->rcpt_sent, sizeof(*ob->rcpt));
	ob->settle_sent = ob->rcpt_sent = 0;
	if (!ok)
		ob->settle_due = true; /* not written: retry at once */
	ob_next(ob);
}

/* Whether to write back now (see OB_SETTLE_BATCH). */
static bool
ob_flush_due(const struct outbox *ob)
{
	if (ob->nrcpt > 0)
		return true;
	return ob->nsettle > 0 &&
	    (ob->settle_due || ob->flushing || ob->nsettle >= OB_SETTLE_BATCH);
}

static bool
ob_flush(struct outbox *ob)
{
	struct sql_arr sb[5] = { 0 }, rb[2] = { 0 };
	const char *sp[7], *rp[2];
	bool sent = false;

	if (!ob_flush_due(ob))
		return false;
	ob->settle_due = false;
	ob->settle_sent = ob->nsettle;
	ob->rcpt_sent = ob->nrcpt;
	for (int i = 0; i < 5; i++)
		sarr_begin(&sb[i]);
	for (int i = 0; i < 2; i++)
		sarr_begin(&rb[i]);
	if (ob->settle_sent > 0)
		ob_settle_params(ob, sb, sp);
	ob_receipt_params(ob, rb);
	for (int i = 0; i < 5; i++)
		sp[i] = sarr_end(&sb[i]);
	for (int i = 0; i < 2; i++)
		rp[i] = sarr_end(&rb[i]);
	if ((ob->settle_sent == 0 || db_send(ob->db, OB_SETTLE, sp) == 0) &&
	    (ob->rcpt_sent == 0 ||
	        (db_send(ob->db, OB_RECEIPT, rp) == 0 &&
	            db_send_sql(ob->db, ob_sync_commit_sql) == 0)) &&
	    db_round(ob->db, true, ob_flush_done, ob) == 0) {
		ob->busy = true;
		sent = true;
	} else {
		ob->settle_sent = ob->rcpt_sent = 0;
		ob->settle_due = true;
	}
	for (int i = 0; i < 5; i++)
		sbuf_free(&sb[i].b);
	for (int i = 0; i < 2; i++)
		sbuf_free(&rb[i].b);
	return sent;
}

static void
ob_backlog_done(const struct db_round_result *res, void *arg)
{
	struct outbox *ob = arg;
	const struct db_rows *rows = res->nrows > 0 ? res->rows[0] : NULL;

	ob->busy = false;
	if (!res->lost && res->failed < 0 && rows != NULL &&
	    db_rows_count(rows) == 1)
		ob->stats.backlog = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	ob_next(ob);
}

/* Count the pending replies; runs while the link is down too. */
static bool
ob_count_backlog(struct outbox *ob)
{
	ob->backlog_due = false;
	ob->backlog_next =
	    clock_mono_us() + ob->opts.backlog_every_s * 1000000LL;
	if (db_send(ob->db, OB_BACKLOG, NULL) != 0 ||
	    db_round(ob->db, true, ob_backlog_done, ob) != 0)
		return false;
	ob->busy = true;
	return true;
}

static void
ob_renew_done(const struct db_round_result *res, void *arg)
{
	struct outbox *ob = arg;

	ob->busy = false;
	if (!res->lost && res->failed >= 0)
		log_warn("outbox: lease renewal failed: %s", res->error);
	ob_next(ob);
}

/*
 * Renew the lease of the replies held longer than a third of it (a
 * throttled link, a paused messenger), so that nobody else takes them
 * while we still may send them. Most replies are settled long before.
 * Looked at every poll_ms and before any write-back: a renewal that
 * waited behind a stream of write-backs let leases run out under load.
 * Results waiting for their write-back are not renewed: a retry's
 * next_attempt_at is the write-back's to set.
 */
static bool
ob_renew(struct outbox *ob)
{
	struct sql_arr ids = { 0 };
	char lease[16];
	const char *params[2] = { NULL, lease };
	int64_t now = clock_mono_us();
	int64_t old = now - ob->opts.lease_s * 1000000LL / 3;
	bool sent = false;

	ob->renew_due = false;
	sarr_begin(&ids);
	for (uint32_t i = 0; i < ob->opts.inflight_max; i++)
		if (ob->ent[i].used && !ob->ent[i].settling &&
		    ob->ent[i].leased_us <= old) {
			sarr_i64(&ids, ob->ent[i].id);
			ob->ent[i].leased_us = now;
		}
	params[0] = sarr_end(&ids);
	snprintf(lease, sizeof(lease), "%d", ob->opts.lease_s);
	if (ids.n > 0 && db_send(ob->db, OB_RENEW, params) == 0 &&
	    db_round(ob->db, true, ob_renew_done, ob) == 0) {
		ob->busy = true;
		sent = true;
	}
	sbuf_free(&ids.b);
	return sent;
}

/* Start the next round: lease renewals first, then write-backs, then a
   claim if one is due, then the backlog count. */
static void
ob_next(struct outbox *ob)
{
	if (ob->busy || !db_ready(ob->db))
		return;
	if (ob->renew_due && ob_renew(ob))
		return;
	if (ob_flush(ob))
		return;
	if (ob->flushing && ob->nsettle == 0 && ob->nrcpt == 0) {
		void (*cb)(void *) = ob->flushed;

		ob->flushing = false;
		ob->flushed = NULL;
		if (cb != NULL) {
			cb(ob->flushed_arg);
			return;
		}
	}
	if (ob_claim(ob))
		return;
	if (ob->backlog_due)
		ob_count_backlog(ob);
}

/* ---- events --------------------------------------------------------------- */

static void
ob_kick_all(struct outbox *ob)
{
	for (int i = 0; i < ob->nchans; i++) {
		ob->chans[i].kicked = true;
		ob->chans[i].kick_gen++;
	}
}

static void
ob_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;

	(void)fd;
	(void)what;
	/* leftovers: restarts, retries, leases; a walk that reached the end
	   starts again from the first pending row */
	for (int i = 0; i < ob->nchans; i++)
		if (ob->chans[i].walked) {
			ob->chans[i].walked = false;
			ob->chans[i].cursor = 0;
		}
	ob_kick_all(ob);
	if (clock_mono_us() >= ob->backlog_next)
		ob->backlog_due = true;
	ob->renew_due = true;
	ob_next(ob);
}

static void
ob_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ob_next(arg);
}

static void
ob_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;

	(void)fd;
	(void)what;
	ob->settle_due = true;
	ob_next(ob);
}

static void
ob_db_state(bool up, void *arg)
{
	struct outbox *ob = arg;

	if (up) {
		/* rows may have been committed unleased meanwhile */
		for (int i = 0; i < ob->nchans; i++)
			ob->chans[i].pending = true;
		ob_kick_all(ob);
		ob_next(ob);
	}
}

void
outbox_kick(struct outbox *ob)
{
	ob_kick_all(ob);
	event_active(ob->kick_ev, EV_TIMEOUT, 0);
}

static int
ob_chan_find(const struct outbox *ob, const char *name)
{
	for (int i = 0; i < ob->nchans; i++)
		if (strcmp(ob->chans[i].name, name) == 0)
			return i;
	return -1;
}

/* Whether the store hands channel i's replies over: SMS once its link
   has a sender, every messenger (the insert returns whether the chat has a
   dialog open, as the claim would). */
static bool
ob_handoff_chan(const struct outbox *ob, int i)
{
	return ob->chans[i].send != NULL || ob->opts.send != NULL;
}

void
outbox_kick_channel(struct outbox *ob, const char *channel)
{
	int i = ob_chan_find(ob, channel);

	if (i < 0)
		return;
	/* replies handed over need no claim; outbox_handoff wakes one for a
	   reply committed unleased */
	if (ob_handoff_chan(ob, i) && !ob->chans[i].pending)
		return;
	ob->chans[i].kicked = true;
	event_active(ob->kick_ev, EV_TIMEOUT, 0);
}

int
outbox_handoff_lease(struct outbox *ob, const char *channel)
{
	int i = ob_chan_find(ob, channel);

	if (i < 0 || !ob_handoff_chan(ob, i))
		return 0;
	if (!ob->chans[i].enabled || !db_ready(ob->db) ||
	    ob_room(ob, i) < ob->opts.claim_max)
		ob->chans[i].pending = true;
	return ob->chans[i].pending ? 0 : ob->opts.lease_s;
}

/*
 * A committed reply that a claim must take: committed unleased, or leased
 * while the link has gone down since (written back due at once, before the
 * next claim). A claim started from now on must have walked past it before
 * any reply of the channel is handed over again.
 */
static void
ob_handoff_claim(struct outbox *ob, int chan, const struct outbox_row *row)
{
	struct ob_chan *c = &ob->chans[chan];

	if (row->attempts > 0) {
		struct ob_entry e = { .id = row->id };

		strlcpy_s(e.created, row->created, sizeof(e.created));
		ob_queue_settle(ob, &e, "pending", 0);
	}
	c->pending = true;
	c->kick_gen++;
	c->kicked = true;
	event_active(ob->kick_ev, EV_TIMEOUT, 0);
}

void
outbox_handoff(struct outbox *ob, const struct outbox_row *rows, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		int i = ob_chan_find(ob, rows[k].channel);

		if (i < 0)
			continue;
		if (rows[k].attempts == 0 || !ob->chans[i].enabled) {
			ob_handoff_claim(ob, i, &rows[k]);
			continue;
		}
		ob->stats.handed++;
		ob_send_one(
		    ob, i, &rows[k], rows[k].dialog_open, clock_mono_us());
	}
}

const char *
outbox_owner(const struct outbox *ob)
{
	return ob->owner;
}

void
outbox_set_enabled(struct outbox *ob, bool on)
{
	int i = ob_chan_find(ob, "sms");

	if (i < 0)
		return;
	ob->chans[i].enabled = on;
	ob->chans[i].pending = true; /* the leftovers go first */
	if (on)
		outbox_kick_channel(ob, "sms");
}

int
outbox_channel_add(
    struct outbox *ob, const char *name, outbox_channel_send_fn send, void *ctx)
{
	struct ob_chan *c;

	if (ob->nchans == OUTBOX_CHANNELS || send == NULL ||
	    strlen(name) >= sizeof(c->name) || ob_chan_find(ob, name) >= 0)
		return -1;
	c = &ob->chans[ob->nchans++];
	strlcpy_s(c->name, name, sizeof(c->name));
	c->send = send;
	c->ctx = ctx;
	c->enabled = c->kicked = true;
	/* no handoff until a claim has walked past the replies left from
	   before (a restart): the chat's older replies go first */
	c->pending = true;
	event_active(ob->kick_ev, EV_TIMEOUT, 0);
	return 0;
}

static void
ob_queue_settle(
    struct outbox *ob, const struct ob_entry *e, const char *state, int delay)
{
	struct ob_settle *s;

	if (ob->nsettle == ob->settle_cap) {
		ob->settle_cap = ob->settle_cap ? ob->settle_cap * 2 : 256;
		ob->settle =
		    xrealloc(ob->settle, ob->settle_cap * sizeof(*ob->settle));
	}
	s = &ob->settle[ob->nsettle++];
	s->id = e->id;
	memcpy(s->created, e->created, sizeof(s->created));
	s->created_us = e->created_us;
	strlcpy_s(s->state, state, sizeof(s->state));
	memcpy(s->mid, e->mid, sizeof(s->mid));
	s->id_lost = e->id_lost && e->mid[0] == '\0';
	s->delay = delay;
	if (ob->nsettle >= OB_SETTLE_BATCH)
		event_active(ob->kick_ev, EV_TIMEOUT, 0);
	/*
	 * The timer too, even for a full batch: results queued while a
	 * write-back is in flight may be fewer than a batch once it is done,
	 * and with no timer they waited for a result that never came (CI,
	 * ASan: the last 100-odd of a drain stayed pending, and stop timed
	 * out).
	 */
	if (!evtimer_pending(ob->settle_ev, NULL)) {
		struct timeval tv = { 0, OB_SETTLE_DELAY_MS * 1000 };

		evtimer_add(ob->settle_ev, &tv);
	}
}

/* Where a reply goes once every part is reported. */
static void
ob_settle_entry(struct outbox *ob, struct ob_entry *e)
{
	int delay;

	switch (e->worst) {
	case SMPP_MT_ACCEPTED:
		ob->stats.sent++;
		if (ob->opts.on_sent != NULL)
			ob->opts.on_sent(ob->opts.on_sent_arg,
			    clock_real_us() - e->created_us);
		ob_queue_settle(ob, e, "sent", 0);
		break;
	case SMPP_MT_REJECTED:
		ob->stats.failed++;
		ob_queue_settle(ob, e, "failed", 0);
		break;
	default: /* gave up on temporary errors, or never sent */
		if ((unsigned)e->attempts >= ob->opts.max_attempts) {
			ob->stats.failed++;
			ob_queue_settle(ob, e, "failed", 0);
			break;
		}
		ob->stats.retried++;
		delay = e->worst == SMPP_MT_UNSENT
		    ? 0
		    : (e->attempts < 8 ? 1 << e->attempts : 300);
		if (delay > 300)
			delay = 300;
		if (e->retry_after > delay) /* the platform's word wins */
			delay = e->retry_after;
		ob_queue_settle(ob, e, "pending", delay);
	}
	e->settling = true; /* ob_release_settled takes it out */
}

void
outbox_report(struct outbox *ob, const struct smpp_mt_report *r)
{
	struct ob_entry *e = ob_find(ob, (int64_t)r->cookie);

	if (e == NULL || e->settling)
		return;
	if (r->state == SMPP_MT_ACCEPTED && e->mid[0] == '\0') {
		outbox_normalise_id(r->message_id, e->mid, sizeof(e->mid));
		if (r->id_lost && !e->id_lost) {
			e->id_lost = true;
			ob->stats.ids_lost++;
		}
	}
	if ((int)r->state > e->worst)
		e->worst = (int)r->state;
	if (r->last)
		ob_settle_entry(ob, e);
}

void
outbox_result(struct outbox *ob, uint64_t cookie, enum outbox_verdict v,
    const char *ext_id, int retry_after_s)
{
	static const int state[] = { [OUTBOX_SENT] = SMPP_MT_ACCEPTED,
		[OUTBOX_REJECTED] = SMPP_MT_REJECTED,
		[OUTBOX_RETRY] = SMPP_MT_GAVE_UP,
		[OUTBOX_UNSENT] = SMPP_MT_UNSENT };
	struct ob_entry *e = ob_find(ob, (int64_t)cookie);

	if (e == NULL || e->settling || (unsigned)v >= ARRAY_SIZE(state))
		return;
	e->worst = state[v];
	/* sent: the platform's id; rejected: a channel's reason, if any
	   (WhatsApp's closed 24-hour window) */
	if ((v == OUTBOX_SENT || v == OUTBOX_REJECTED) && ext_id != NULL)
		strlcpy_s(e->mid, ext_id, sizeof(e->mid));
	e->retry_after = retry_after_s > 0 ? retry_after_s : 0;
	ob_settle_entry(ob, e);
}

/* Queue one receipt for the next round; its id is final. */
static struct ob_receipt *
ob_receipt_add(
    struct outbox *ob, const char *stat, intake_done_cb done, void *arg)
{
	struct ob_receipt *x;

	if (ob->nrcpt == ob->rcpt_cap) {
		ob->rcpt_cap = ob->rcpt_cap ? ob->rcpt_cap * 2 : 256;
		ob->rcpt = xrealloc(ob->rcpt, ob->rcpt_cap * sizeof(*ob->rcpt));
	}
	x = &ob->rcpt[ob->nrcpt++];
	strlcpy_s(x->stat, stat, sizeof(x->stat));
	x->done = done;
	x->arg = arg;
	ob->stats.receipts++;
	event_active(ob->kick_ev, EV_TIMEOUT, 0);
	return x;
}

void
outbox_receipt(struct outbox *ob, const struct smpp_receipt *r,
    intake_done_cb done, void *arg)
{
	const char *stat = r->stat[0] != '\0' ? r->stat
	    : r->has_state && r->state == 2   ? "DELIVRD"
	                                      : "UNKNOWN";
	struct ob_receipt *x = ob_receipt_add(ob, stat, done, arg);

	outbox_normalise_id(r->message_id, x->mid, sizeof(x->mid));
}

void
outbox_status(struct outbox *ob, const char *id, const char *stat,
    intake_done_cb done, void *arg)
{
	struct ob_receipt *x = ob_receipt_add(ob, stat, done, arg);

	/* as the platform gave it: a messenger's ids are not SMSC hex
	   (WhatsApp's are case-sensitive base64), and its send stored them
	   so */
	strlcpy_s(x->mid, id, sizeof(x->mid));
}

void
outbox_flush(struct outbox *ob, void (*done)(void *), void *arg)
{
	ob->flushing = true;
	ob->flushed = done;
	ob->flushed_arg = arg;
	event_active(ob->kick_ev, EV_TIMEOUT, 0);
}

bool
outbox_idle(const struct outbox *ob)
{
	return ob->nsettle == 0 && ob->nrcpt == 0 && !ob->busy;
}

void
outbox_stats(const struct outbox *ob, struct outbox_stats *out)
{
	*out = ob->stats;
}

/* ---- life ----------------------------------------------------------------- */

static void
ob_opts_defaults(struct outbox_opts *o)
{
	if (o->poll_ms <= 0)
		o->poll_ms = 1000;
	if (o->lease_s <= 0)
		o->lease_s = 10;
	if (o->claim_max == 0)
		o->claim_max = 500;
	if (o->inflight_max == 0)
		o->inflight_max = 5000;
	if (o->max_attempts == 0)
		o->max_attempts = 10;
	if (o->backlog_every_s <= 0)
		o->backlog_every_s = 2;
}

/* lease_owner: which instance holds a row, for whoever looks. */
static void
ob_owner_name(struct outbox *ob)
{
	char host[64] = "";

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	snprintf(ob->owner, sizeof(ob->owner), "%s:%ld", host, (long)getpid());
}

struct outbox *
outbox_new(struct event_base *base, const struct outbox_opts *opts)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));
	struct db_opts dbo = { 0 };
	struct timeval tv;

	ob->base = base;
	ob->opts = *opts;
	ob_opts_defaults(&ob->opts);
	ob->conninfo = xstrdup(opts->conninfo);
	ob->stats.backlog = -1;
	ob_owner_name(ob);
	htab_clear(&ob->idx, ob->opts.inflight_max); /* never grows */
	ob->ent = xcalloc(ob->opts.inflight_max, sizeof(*ob->ent));
	ob->free_slots = xcalloc(ob->opts.inflight_max, sizeof(uint32_t));
	for (uint32_t i = 0; i < ob->opts.inflight_max; i++)
		ob->free_slots[ob->nfree++] = ob->opts.inflight_max - 1 - i;
	ob->kick_ev = event_new(base, -1, 0, ob_kick_cb, ob);
	ob->settle_ev = evtimer_new(base, ob_settle_cb, ob);
	ob->timer = event_new(base, -1, EV_PERSIST, ob_timer_cb, ob);
	tv.tv_sec = ob->opts.poll_ms / 1000;
	tv.tv_usec = (ob->opts.poll_ms % 1000) * 1000;
	event_add(ob->timer, &tv);
	if (opts->send != NULL) {
		strlcpy_s(ob->chans[0].name, "sms", sizeof(ob->chans[0].name));
		ob->nchans = 1; /* enabled once the link is bound */
		ob->chans[0].pending = true;
	}
	dbo.conninfo = ob->conninfo;
	dbo.dns = opts->dns;
	dbo.stmts = ob_stmts;
	dbo.nstmts = ARRAY_SIZE(ob_stmts);
	dbo.session_sql = ob_session_sql;
	ob->db = db_new(base, &dbo, ob_db_state, ob);
	return ob;
}

void
outbox_free(struct outbox *ob)
{
	struct intake_result ir = { .status = INTAKE_TEMPFAIL };

	if (ob == NULL)
		return;
	log_info("outbox: %" PRIu64 " replies taken (%" PRIu64
	         " handed over at commit, the rest claimed), %" PRIu64 " sent",
	    ob->stats.claimed, ob->stats.handed, ob->stats.sent);
	db_free(ob->db); /* a round in flight ends as lost, before us */
	for (size_t i = 0; i < ob->nrcpt; i++)
		ob->rcpt[i].done(&ir, ob->rcpt[i].arg);
	event_free(ob->timer);
	event_free(ob->kick_ev);
	event_free(ob->settle_ev);
	free(ob->settle);
	free(ob->rcpt);
	htab_free(&ob->idx);
	free(ob->ent);
	free(ob->free_slots);
	free(ob->conninfo);
	free(ob);
}
