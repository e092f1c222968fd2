/*
 * One batch between the database rounds: what to lock and load (round 1),
 * then, with the loaded rows, the decision for every message in arrival
 * order and the writes (round 2). Nothing here waits: store.c drives the
 * rounds. Every statement carries whole columns, so a batch of any size
 * costs the same number of statements.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/log.h"
#include "meterline/xmalloc.h"
#include "store_int.h"

/* The key in a batch map of a hash made without the batch's seed. */
static uint64_t
batch_key(const struct store_batch *b, uint64_t h)
{
	return hash_u64(h ^ b->seed);
}

struct store_sender *
batch_sender_find(struct store_batch *b, const char *channel,
    const char *sender, uint64_t sender_key)
{
	uint64_t key = batch_key(b, sender_key);
	size_t pos = HTAB_START;
	uintptr_t *v;

	while ((v = htab_next(&b->sender_map, key, &pos)) != NULL) {
		struct store_sender *s = &b->senders[*v];
		const struct store_msg *o = &b->msgs[s->msg];

		if (strcmp(o->in.channel, channel) == 0 &&
		    strcmp(o->in.sender, sender) == 0)
			return s;
	}
	return NULL;
}

/* Index of message i's sender, added on first sight. */
static int
batch_sender(struct store_batch *b, size_t i)
{
	const struct store_msg *m = &b->msgs[i];
	struct store_sender *found =
	    batch_sender_find(b, m->in.channel, m->in.sender, m->sender_key);
	int s;

	if (found != NULL)
		return (int)(found - b->senders);
	if (b->nsenders == b->senders_cap) {
		b->senders_cap = b->senders_cap ? b->senders_cap * 2 : 64;
		b->senders =
		    xrealloc(b->senders, b->senders_cap * sizeof(*b->senders));
	}
	s = (int)b->nsenders++;
	memset(&b->senders[s], 0, sizeof(b->senders[s]));
	b->senders[s].msg = (int)i;
	htab_put(&b->sender_map, batch_key(b, m->sender_key), (uintptr_t)s);
	return s;
}

/* Columns channel and sender of every sender of the batch into arr[0..1]. */
static void
batch_sender_arrays(struct store_batch *b, int first)
{
	sarr_begin(&b->arr[first]);
	sarr_begin(&b->arr[first + 1]);
	for (size_t s = 0; s < b->nsenders; s++) {
		const struct store_msg *m = &b->msgs[b->senders[s].msg];

		sarr_text(&b->arr[first], m->in.channel);
		sarr_text(&b->arr[first + 1], m->in.sender);
	}
	b->params[first] = sarr_end(&b->arr[first]);
	b->params[first + 1] = sarr_end(&b->arr[first + 1]);
}

static void
batch_send(struct store_batch *b, struct db *db, enum store_stmt st)
{
	b->r1[st] = (int)b->r1_count++;
	db_send(db, st, b->params);
}

/*
 * Whether a message is checked for redelivery: SMS, which the SMSC sends
 * again when our answer was lost and which has no id of its own (its
 * stable id has its receive time, so a redelivery gets another one).
 * Messenger messages carry the bridge's id, which is all a retry keeps.
 */
static bool
batch_redeliverable(const struct store_msg *m)
{
	return strcmp(m->in.channel, "sms") == 0;
}

/*
 * Whether message m is checked against earlier copies: only when its
 * channel says which acknowledgements it may have lost (intake_acks);
 * without that a repeated text is a person writing again.
 */
static bool
batch_checks_redelivery(const struct store_msg *m)
{
	return batch_redeliverable(m) && m->acks.conn != 0;
}

/* Whether the message of (conn, time_us) is in the doubt ring. */
static bool
batch_in_doubt(const struct store_doubt *d, uint64_t conn, int64_t time_us)
{
	for (size_t i = 0; d != NULL && i < d->n; i++)
		if (d->v[i].conn == conn && d->v[i].time_us == time_us)
			return true;
	return false;
}

void
batch_doubt(const struct store_batch *b, struct store_doubt *d)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct store_msg *m = &b->msgs[i];

		if (!batch_checks_redelivery(m))
			continue;
		if (d->v == NULL)
			d->v = xcalloc(STORE_DOUBT_MAX, sizeof(*d->v));
		d->v[d->next] =
		    (struct store_doubt_msg){ m->acks.conn, m->in.time_us };
		d->next = (d->next + 1) % STORE_DOUBT_MAX;
		if (d->n < STORE_DOUBT_MAX)
			d->n++;
	}
}

void
doubt_free(struct store_doubt *d)
{
	free(d->v);
	*d = (struct store_doubt){ 0 };
}

/*
 * Whether, as far as m's channel knows, the acknowledgement of a message
 * received at time_us on connection conn (0: unknown) may not have
 * reached the peer: never written or written shortly before its
 * connection closed, or written by another process (a crash, a restart,
 * another instance: when its connection closed is unknown); or the
 * answer was a temporary failure while the commit was in doubt.
 */
static bool
batch_ack_at_risk(const struct store_batch *b, const struct store_msg *m,
    uint64_t conn, int64_t time_us)
{
	const struct intake_acks *a = &m->acks;

	if (conn == 0 || batch_in_doubt(b->doubt, conn, time_us) ||
	    INTAKE_CONN_INSTANCE(conn) != INTAKE_CONN_INSTANCE(a->conn) ||
	    INTAKE_CONN_NUMBER(conn) < a->known_from)
		return true;
	for (size_t i = 0; i < a->nclosed; i++)
		if (a->closed[i].conn == conn)
			return time_us >= a->closed[i].at_risk_from_us;
	return false; /* still open: answered on it */
}

/* Round 1 without the contracts: locks, ids, earlier copies, dialogs. */
static void
batch_send_lookups(struct store_batch *b, struct db *db, int64_t window_s)
{
	char num[24], from[24];
	int64_t first_us = INT64_MAX;

	if (!b->no_locks) {
		sarr_begin(&b->arr[0]);
		for (size_t s = 0; s < b->nsenders; s++)
			sarr_i64(&b->arr[0],
			    (int64_t)b->msgs[b->senders[s].msg].sender_key);
		parts_lock_keys(b, &b->arr[0]);
		b->params[0] = sarr_end(&b->arr[0]);
		batch_send(b, db, ST_LOCK);
	}

	snprintf(num, sizeof(num), "%zu", b->n);
	b->params[0] = num;
	batch_send(b, db, ST_IDS);

	/* Every message has an id: its channel's, or its stable one. */
	sarr_begin(&b->arr[0]);
	sarr_begin(&b->arr[1]);
	for (size_t i = 0; i < b->n; i++) {
		sarr_text(&b->arr[0], b->msgs[i].in.channel);
		sarr_text(&b->arr[1], b->msgs[i].in.external_id);
	}
	b->params[0] = sarr_end(&b->arr[0]);
	b->params[1] = sarr_end(&b->arr[1]);
	batch_send(b, db, ST_EXT);

	/* Redeliveries: SMS only, within the window before the earliest. */
	sarr_begin(&b->arr[0]);
	for (size_t i = 0; window_s > 0 && i < b->n; i++) {
		if (!batch_checks_redelivery(&b->msgs[i]))
			continue;
		sarr_i64(&b->arr[0], (int64_t)b->msgs[i].dedupe_key);
		if (b->msgs[i].in.time_us < first_us)
			first_us = b->msgs[i].in.time_us;
	}
	if (b->arr[0].n > 0) {
		b->params[0] = sarr_end(&b->arr[0]);
		snprintf(from, sizeof(from), "%" PRId64,
		    first_us - window_s * 1000000);
		b->params[1] = from;
		batch_send(b, db, ST_PRIOR);
	}

	batch_sender_arrays(b, 0);
	batch_send(b, db, ST_DIALOGS);
	batch_send(b, db, ST_BINDINGS); /* the same senders */
	chal_send_load(b, db); /* and again ([verify] mode = challenge) */
}

void
batch_send_loads(
    struct store_batch *b, struct db *db, struct parser *p, int64_t window_s)
{
	if (b->seed == 0)
		b->seed = hash_seed();
	htab_clear(&b->sender_map, b->n);
	b->nsenders = 0;
	b->r1_count = 0;
	for (int i = 0; i < ST__MAX; i++)
		b->r1[i] = -1;
	for (size_t i = 0; i < b->n; i++) {
		struct store_msg *m = &b->msgs[i];

		parser_parse(p, m->in.text, m->in.text_len, &m->cmd);
		m->sender = batch_sender(b, i);
		m->status = INTAKE_APPLIED;
		m->outcome = m->reason = m->reply = STORE_NONE;
		m->flags = 0;
		m->advanced = m->outbox = false;
		m->dup = STORE_DUP_NONE;
		m->original = 0;
		m->sub = -1;
		m->contract[0] = '\0';
		m->unbind = m->bind = false;
	}
	batch_send_lookups(b, db, window_s);

	/* Contracts named in the texts; the dialogs' own are added in SQL. */
	sarr_begin(&b->arr[0]);
	for (size_t i = 0; i < b->n; i++) {
		const struct parse_result *c = &b->msgs[i].cmd;

		if (c->contract[0] != '\0')
			sarr_text(&b->arr[0], c->contract);
	}
	b->params[0] = sarr_end(&b->arr[0]);
	batch_sender_arrays(b, 1);
	batch_send(b, db, ST_CONTRACTS);
	parts_send_load(b, db);
}

/* ---- reading round 1 ---------------------------------------------------- */

static const struct db_rows *
batch_rows(const struct store_batch *b, const struct db_round_result *r,
    enum store_stmt st)
{
	return b->r1[st] >= 0 ? r->rows[b->r1[st]] : NULL;
}

/* Whether the results read by column have their lists' columns. */
static bool
batch_shape_ok(const struct store_batch *b, const struct db_round_result *r)
{
	static const int ncols[ST__MAX] = {
		[ST_EXT] = EXT__NCOLS,
		[ST_PRIOR] = PRIOR__NCOLS,
		[ST_DIALOGS] = DLG__NCOLS,
		[ST_CONTRACTS] = CON__NCOLS,
		[ST_BINDINGS] = BIND__NCOLS,
		[ST_CHALLENGES] = CHAL__NCOLS,
	};

	for (int st = 0; st < ST__MAX; st++) {
		const struct db_rows *rows = batch_rows(b, r, st);

		if (ncols[st] > 0 && rows != NULL &&
		    db_rows_columns(rows) != ncols[st])
			return false;
	}
	return true;
}

static int
batch_load_ids(struct store_batch *b, const struct db_rows *rows)
{
	if (db_rows_count(rows) != (int)b->n)
		return -1;
	for (size_t i = 0; i < b->n; i++)
		b->msgs[i].id = strtoll(db_rows_get(rows, (int)i, 0), NULL, 10);
	return 0;
}

/* Parse "{1,2,3}" into at most max values; returns the count or -1. */
static int
batch_parse_vals(const char *s, uint32_t *v, int max)
{
	int n = 0;

	if (*s++ != '{')
		return -1;
	while (*s != '}' && *s != '\0') {
		char *end;
		unsigned long x = strtoul(s, &end, 10);

		if (end == s || n == max)
			return -1;
		v[n++] = (uint32_t)x;
		s = *end == ',' ? end + 1 : end;
	}
	return *s == '}' ? n : -1;
}

/*
 * The open question's values (dialogs.pending) into d: they would fill the
 * registers from next on, so at most the ones left. 0, or -1 with why.
 */
static int
batch_load_pending(
    struct dialog_state *d, const char *col, char *err, size_t errlen)
{
	int n = batch_parse_vals(col, d->pending, MODEL_MAX_REGISTERS);

	if (n < 0 || d->next + n > d->nregisters) {
		snprintf(err, errlen, "dialog %s: bad pending values %s",
		    d->contract, col);
		return -1;
	}
	d->npending = (uint8_t)n;
	return 0;
}

/* Put each dialog row on its sender; a bad row is dropped (and deleted). */
static void
batch_load_dialogs(struct store_batch *b, const struct db_rows *rows)
{
	for (int r = 0; r < db_rows_count(rows); r++) {
		const char *channel = db_rows_get(rows, r, DLG_CHANNEL);
		const char *sender = db_rows_get(rows, r, DLG_SENDER);
		struct store_sender *s = batch_sender_find(
		    b, channel, sender, store_sender_key(channel, sender));
		struct dialog_state d;
		char err[128];

		if (s == NULL)
			continue;
		memset(&d, 0, sizeof(d));
		strlcpy_s(d.contract, db_rows_get(rows, r, DLG_CONTRACT),
		    sizeof(d.contract));
		d.nregisters =
		    (uint8_t)atoi(db_rows_get(rows, r, DLG_NREGISTERS));
		d.next = (uint8_t)atoi(db_rows_get(rows, r, DLG_NEXT));
		d.started_us =
		    strtoll(db_rows_get(rows, r, DLG_STARTED_US), NULL, 10);
		d.last_us =
		    strtoll(db_rows_get(rows, r, DLG_LAST_US), NULL, 10);
		s->had = true;
		if (batch_parse_vals(db_rows_get(rows, r, DLG_VALS), d.values,
		        MODEL_MAX_REGISTERS) != d.next ||
		    batch_load_pending(&d, db_rows_get(rows, r, DLG_PENDING),
		        err, sizeof(err)) != 0 ||
		    dialog_state_check(&d, err, sizeof(err)) != 0) {
			log_error("store: dropping a bad dialog row: %s", err);
			s->dirty = true; /* delete it */
			continue;
		}
		s->has = true;
		s->cur = d;
	}
}

/* Register row r into contract c (rows come ordered by position). */
static void
batch_load_register(struct model_contract *c, const struct db_rows *rows, int r)
{
	struct model_register *g;
	const char *v;

	if (c->nregisters >= MODEL_MAX_REGISTERS)
		return; /* model_contract_check refuses it */
	g = &c->registers[c->nregisters++];
	memset(g, 0, sizeof(*g));
	g->position = (uint8_t)atoi(db_rows_get(rows, r, CON_POSITION));
	strlcpy_s(g->name, db_rows_get(rows, r, CON_NAME), sizeof(g->name));
	g->digits = (uint8_t)atoi(db_rows_get(rows, r, CON_DIGITS));
	if ((v = db_rows_get(rows, r, CON_LAST_VALUE)) != NULL) {
		g->has_last = true;
		g->last_value = (uint32_t)strtoul(v, NULL, 10);
	}
	v = db_rows_get(rows, r, CON_LAST_DATE);
	g->last_date = v ? (int32_t)atol(v) : MODEL_DATE_NONE;
	if ((v = db_rows_get(rows, r, CON_PREV_VALUE)) != NULL) {
		g->has_prev = true;
		g->prev_value = (uint32_t)strtoul(v, NULL, 10);
	}
	v = db_rows_get(rows, r, CON_PREV_DATE);
	g->prev_date = v ? (int32_t)atol(v) : MODEL_DATE_NONE;
	if ((v = db_rows_get(rows, r, CON_SERIAL)) != NULL)
		strlcpy_s(g->serial, v, sizeof(g->serial));
}

static uint64_t
batch_contract_key(const struct store_batch *b, const char *number)
{
	return hash_strs(b->seed, &number, 1);
}

static struct store_contract *
batch_contract_add(struct store_batch *b)
{
	if (b->ncontracts == b->contracts_cap) {
		b->contracts_cap = b->contracts_cap ? b->contracts_cap * 2 : 64;
		b->contracts = xrealloc(
		    b->contracts, b->contracts_cap * sizeof(*b->contracts));
	}
	return &b->contracts[b->ncontracts++];
}

/* Close the contract being read: keep it if it is sound. */
static void
batch_contract_done(struct store_batch *b)
{
	struct store_contract *sc = &b->contracts[b->ncontracts - 1];
	char err[128];

	if (model_contract_check(&sc->c, err, sizeof(err)) != 0) {
		log_error(
		    "store: contract %s is unusable: %s", sc->c.number, err);
		b->ncontracts--;
		return;
	}
	htab_put(&b->contract_map, batch_contract_key(b, sc->c.number),
	    b->ncontracts - 1);
}

static void
batch_load_contracts(struct store_batch *b, const struct db_rows *rows)
{
	struct store_contract *sc = NULL;

	b->ncontracts = 0;
	htab_clear(&b->contract_map, (size_t)db_rows_count(rows));
	for (int r = 0; r < db_rows_count(rows); r++) {
		const char *number = db_rows_get(rows, r, CON_CONTRACT);

		if (sc == NULL || strcmp(sc->c.number, number) != 0) {
			if (sc != NULL)
				batch_contract_done(b);
			sc = batch_contract_add(b);
			memset(sc, 0, sizeof(*sc));
			strlcpy_s(sc->c.number, number, sizeof(sc->c.number));
			if (model_resource_parse(
			        db_rows_get(rows, r, CON_RESOURCE),
			        &sc->c.resource) != 0 ||
			    model_status_parse(db_rows_get(rows, r, CON_STATUS),
			        &sc->c.status) != 0)
				sc->c.nregisters = MODEL_MAX_REGISTERS + 1;
		}
		batch_load_register(&sc->c, rows, r);
	}
	if (sc != NULL)
		batch_contract_done(b);
}

static struct store_contract *
batch_contract(struct store_batch *b, const char *number)
{
	uint64_t key = batch_contract_key(b, number);
	size_t pos = HTAB_START;
	uintptr_t *v;

	while ((v = htab_next(&b->contract_map, key, &pos)) != NULL)
		if (strcmp(b->contracts[*v].c.number, number) == 0)
			return &b->contracts[*v];
	return NULL;
}

/* ---- deciding ------------------------------------------------------------ */

/*
 * Values of ext_map and dedupe_map: row r of a round-1 result, or message
 * j of the batch, told apart by the low bit.
 */
#define BATCH_ROW(r) ((uintptr_t)(r) << 1)
#define BATCH_MSG(j) ((uintptr_t)(j) << 1 | 1)
#define BATCH_IS_MSG(v) (((v)&1) != 0)
#define BATCH_INDEX(v) ((size_t)((v) >> 1))

static uint64_t
batch_ext_key(const struct store_batch *b, const char *channel, const char *id)
{
	const char *k[2] = { channel, id };

	return hash_strs(b->seed, k, 2);
}

/* Whether column col of row r (not NULL) is s. */
static bool
batch_row_is(const struct db_rows *rows, int r, int col, const char *s)
{
	return strcmp(db_rows_get(rows, r, col), s) == 0;
}

/* The columns of a logged original in ST_EXT's and ST_PRIOR's rows. */
struct batch_orig_cols {
	int id, outcome, reason, reply;
};

static const struct batch_orig_cols ext_orig = {
	EXT_ID,
	EXT_OUTCOME,
	EXT_REASON,
	EXT_REPLY,
};
static const struct batch_orig_cols prior_orig = {
	PRIOR_ID,
	PRIOR_OUTCOME,
	PRIOR_REASON,
	PRIOR_REPLY,
};

static void
batch_duplicate_of_row(struct store_batch *b, struct store_msg *m,
    const struct db_rows *rows, int r, const struct batch_orig_cols *c,
    enum store_dup kind)
{
	m->status = INTAKE_DUPLICATE;
	m->dup = kind;
	m->original = strtoll(db_rows_get(rows, r, c->id), NULL, 10);
	m->outcome = sbuf_str(&b->text, db_rows_get(rows, r, c->outcome));
	m->reason = sbuf_str(&b->text, db_rows_get(rows, r, c->reason));
	m->reply = sbuf_str(&b->text, db_rows_get(rows, r, c->reply));
}

static void
batch_duplicate_of_msg(
    struct store_msg *m, const struct store_msg *o, enum store_dup kind)
{
	m->status = INTAKE_DUPLICATE;
	m->dup = kind;
	m->original = o->original ? o->original : o->id;
	m->outcome = o->outcome;
	m->reason = o->reason;
	m->reply = o->reply;
}

/* An external id already logged, or earlier in this batch: a duplicate. */
static bool
batch_ext_duplicate(struct store_batch *b, size_t i, const struct db_rows *ext)
{
	struct store_msg *m = &b->msgs[i];
	uint64_t key = batch_ext_key(b, m->in.channel, m->in.external_id);
	size_t pos = HTAB_START;
	uintptr_t *pv;

	while ((pv = htab_next(&b->ext_map, key, &pos)) != NULL) {
		int v = (int)BATCH_INDEX(*pv);

		if (BATCH_IS_MSG(*pv)) {
			const struct store_msg *o = &b->msgs[v];

			if (o->status != INTAKE_TEMPFAIL &&
			    strcmp(o->in.channel, m->in.channel) == 0 &&
			    strcmp(o->in.external_id, m->in.external_id) == 0) {
				batch_duplicate_of_msg(m, o, STORE_DUP_ID);
				return true;
			}
			continue;
		}
		if (batch_row_is(ext, v, EXT_CHANNEL, m->in.channel) &&
		    batch_row_is(ext, v, EXT_EXTERNAL_ID, m->in.external_id)) {
			batch_duplicate_of_row(
			    b, m, ext, v, &ext_orig, STORE_DUP_ID);
			return true;
		}
	}
	htab_put(&b->ext_map, key, BATCH_MSG(i));
	return false;
}

/* Whether message o of the batch is one m may be a redelivery of. */
static bool
batch_same_msg(const struct store_batch *b, const struct store_msg *o,
    const struct store_msg *m, int64_t from_us)
{
	return o->in.time_us >= from_us &&
	    strcmp(o->in.text, m->in.text) == 0 &&
	    strcmp(o->in.sender, m->in.sender) == 0 &&
	    strcmp(o->in.recipient, m->in.recipient) == 0 &&
	    strcmp(o->in.channel, m->in.channel) == 0 &&
	    batch_ack_at_risk(b, m, o->acks.conn, o->in.time_us);
}

/* Whether row r of ST_PRIOR is a message m may be a redelivery of. */
static bool
batch_same_row(const struct store_batch *b, const struct db_rows *prior, int r,
    const struct store_msg *m, int64_t from_us)
{
	int64_t us =
	    strtoll(db_rows_get(prior, r, PRIOR_RECEIVED_US), NULL, 10);
	const char *conn = db_rows_get(prior, r, PRIOR_CONN);

	return us >= from_us &&
	    batch_row_is(prior, r, PRIOR_TEXT, m->in.text) &&
	    batch_row_is(prior, r, PRIOR_SENDER, m->in.sender) &&
	    batch_row_is(prior, r, PRIOR_RECIPIENT, m->in.recipient) &&
	    batch_row_is(prior, r, PRIOR_CHANNEL, m->in.channel) &&
	    batch_ack_at_risk(
	        b, m, conn ? (uint64_t)strtoll(conn, NULL, 10) : 0, us);
}

/*
 * A redelivery's answer is the original reply, sent once: when the
 * original queued it, the outbox delivers that one (or has); only when it
 * queued none (replayed without sending) does the redelivery queue it.
 */
static void
batch_redelivery_reply(struct store_batch *b, struct store_msg *m, bool queued)
{
	const char *reply =
	    m->reply == STORE_NONE ? NULL : b->text.p + m->reply;

	m->outbox = !queued && reply != NULL && reply[0] != '\0' &&
	    !(m->in.flags & INTAKE_F_NO_OUTBOX);
}

/*
 * A redelivery: the same (channel, sender, recipient, text) as a message
 * that advanced something, whose own time is at most the window before
 * this one's and whose acknowledgement may have been lost (as m's channel
 * tells), in the log or earlier in this batch. The latest such message
 * is the original. Message times, not log times.
 */
static bool
batch_redelivery(struct store_batch *b, size_t i, const struct db_rows *prior,
    int64_t window_s)
{
	struct store_msg *m = &b->msgs[i];
	int64_t from_us = m->in.time_us - window_s * 1000000;
	uint64_t key = batch_key(b, m->dedupe_key);
	size_t pos = HTAB_START;
	uintptr_t *pv;
	int best_msg = -1, best_row = -1;

	while ((pv = htab_next(&b->dedupe_map, key, &pos)) != NULL) {
		int v = (int)BATCH_INDEX(*pv);

		if (BATCH_IS_MSG(*pv)) {
			if (v > best_msg &&
			    batch_same_msg(b, &b->msgs[v], m, from_us))
				best_msg = v;
		} else if (v > best_row &&
		    batch_same_row(b, prior, v, m, from_us)) {
			best_row = v;
		}
	}
	if (best_msg >= 0) {
		batch_duplicate_of_msg(
		    m, &b->msgs[best_msg], STORE_DUP_REDELIVERY);
		batch_redelivery_reply(b, m, b->msgs[best_msg].outbox);
	} else if (best_row >= 0) {
		const char *q =
		    db_rows_get(prior, best_row, PRIOR_REPLY_QUEUED);

		batch_duplicate_of_row(
		    b, m, prior, best_row, &prior_orig, STORE_DUP_REDELIVERY);
		batch_redelivery_reply(b, m, q == NULL || strcmp(q, "f") != 0);
	}
	return best_msg >= 0 || best_row >= 0;
}

/* Whether two dialog states differ (last_us counted only when asked). */
static bool
batch_dialog_differs(
    const struct dialog_state *a, const struct dialog_state *z, bool with_time)
{
	if ((a == NULL) != (z == NULL))
		return true;
	if (a == NULL)
		return false;
	return strcmp(a->contract, z->contract) != 0 ||
	    a->nregisters != z->nregisters || a->next != z->next ||
	    a->started_us != z->started_us ||
	    memcmp(a->values, z->values, a->next * sizeof(a->values[0])) != 0 ||
	    a->npending != z->npending ||
	    memcmp(a->pending, z->pending,
	        a->npending * sizeof(a->pending[0])) != 0 ||
	    (with_time && a->last_us != z->last_us);
}

/* Run the dialog engine for message m with its sender's current dialog. */
static int
batch_run_engine(struct store_batch *b, struct store_msg *m,
    const struct dialog_state *dlg, const struct config *cfg)
{
	const struct model_bindings *bind = &b->senders[m->sender].bind;
	const char *needed = dialog_contract_wanted(&m->cmd, dlg, bind);
	struct store_contract *c = needed ? batch_contract(b, needed) : NULL;
	struct dialog_input in = {
		.time_us = m->in.time_us,
		.channel = m->in.channel,
		.sender = m->in.sender,
		.cmd = &m->cmd,
		.text = m->in.text,
		.text_len = m->in.text_len,
		.dialog = dlg,
		.contract = c ? &c->c : NULL,
		.bindings = bind,
		.challenge = chal_find(b, m->sender, needed),
		.no_phone = b->senders[m->sender].no_phone,
		.staff = (m->in.flags & INTAKE_F_STAFF) != 0,
	};

	if (needed != NULL)
		strlcpy_s(m->contract, needed, sizeof(m->contract));
	return dialog_decide(&in, cfg, &b->dec);
}

/*
 * Move register g on to value v of date: last into prev, then v into last;
 * a correction replaces last and leaves prev as it was. An older reading
 * never moves the last one back in time (round 1 locked these rows, so
 * this view is the database's). Returns whether g changed.
 */
bool
batch_move_register(
    struct model_register *g, uint32_t v, int32_t date, bool correction)
{
	if (g->has_last && g->last_date != MODEL_DATE_NONE &&
	    date < g->last_date)
		return false;
	if (!correction) {
		g->has_prev = g->has_last;
		g->prev_value = g->last_value;
		g->prev_date = g->last_date;
	}
	g->has_last = true;
	g->last_value = v;
	g->last_date = date;
	return true;
}

/*
 * A correction replaces the contract's submissions of its period up to
 * its own date: those earlier in this batch are marked here (they are
 * written superseded); those already stored, by ST_SUPERSEDE.
 */
void
batch_supersede_in_batch(
    struct store_batch *b, const struct dialog_submission *s)
{
	for (size_t j = 0; j < b->nsubs; j++) {
		struct store_sub *o = &b->subs[j];

		if (strcmp(o->s.contract, s->contract) == 0 &&
		    o->s.date >= s->supersedes_since && o->s.date <= s->date)
			o->superseded = true;
	}
}

/* Record the submission and move the contract's registers on. */
static void
batch_apply_submission(struct store_batch *b, size_t i)
{
	const struct dialog_submission *s = &b->dec.submission;
	struct store_contract *c = batch_contract(b, s->contract);
	bool correction = (s->flags & DIALOG_F_CORRECTION) != 0;
	struct store_sub *sub;

	if (correction)
		batch_supersede_in_batch(b, s);
	if (b->nsubs == b->subs_cap) {
		b->subs_cap = b->subs_cap ? b->subs_cap * 2 : 64;
		b->subs = xrealloc(b->subs, b->subs_cap * sizeof(*b->subs));
	}
	sub = &b->subs[b->nsubs];
	b->msgs[i].sub = (int)b->nsubs++;
	memset(sub, 0, sizeof(*sub));
	sub->msg = (int)i;
	sub->s = *s;
	for (unsigned r = 0; r < s->nvalues; r++) {
		struct model_register *g = &c->c.registers[r];

		/* the value it replaces, for a correction too (whose
		   consumption the engine counts from prev): each reading's
		   previous is the one accepted before it */
		sub->has_prev[r] = g->has_last;
		sub->prev[r] = g->last_value;
		if (batch_move_register(g, s->values[r], s->date, correction))
			c->dirty |= 1u << r;
	}
}

/* Apply message i's decision: its sender's dialog, readings, reply. */
static void
batch_apply(struct store_batch *b, size_t i, const struct dialog_state *before)
{
	struct store_msg *m = &b->msgs[i];
	struct store_sender *s = &b->senders[m->sender];
	const struct dialog_decision *d = &b->dec;

	if (batch_dialog_differs(
	        before, d->has_dialog ? &d->dialog : NULL, true)) {
		s->has = d->has_dialog;
		s->cur = d->dialog;
		s->dirty = true;
	}
	if (d->has_submission)
		batch_apply_submission(b, i);
	bind_apply(b, i);
	m->outcome = sbuf_str(&b->text, dialog_outcome_name(d->outcome));
	m->reason = sbuf_str(&b->text, dialog_reason_name(d->reason));
	m->reply = sbuf_str(&b->text, d->reply);
	m->flags = d->flags;
	m->outbox = d->reply[0] != '\0' &&
	    (strcmp(m->in.channel, "sms") == 0 ||
	        (m->in.flags & INTAKE_F_OUTBOX)) &&
	    !(m->in.flags & INTAKE_F_NO_OUTBOX);
	if (m->advanced && batch_redeliverable(m))
		htab_put(
		    &b->dedupe_map, batch_key(b, m->dedupe_key), BATCH_MSG(i));
}

/*
 * Decide message i: a duplicate (its external id, or a redelivery: the
 * same text from the same sender to the same number after one that
 * changed something, within the window), else the dialog engine's
 * decision, applied to the batch's state.
 */
static void
batch_decide_one(struct store_batch *b, size_t i, const struct config *cfg,
    const struct db_rows *ext, const struct db_rows *prior)
{
	struct store_msg *m = &b->msgs[i];
	struct store_sender *s = &b->senders[m->sender];
	struct dialog_state before = s->cur;
	const struct dialog_state *dlg = s->has ? &before : NULL;
	const struct dialog_decision *d = &b->dec;

	if (batch_ext_duplicate(b, i, ext))
		return;
	if (cfg->store.duplicate_window > 0 && batch_checks_redelivery(m) &&
	    batch_redelivery(b, i, prior, cfg->store.duplicate_window))
		return;
	if (batch_run_engine(b, m, dlg, cfg) != 0) {
		log_error(
		    "store: message %lld: %s; deciding without its dialog",
		    (long long)m->id, d->reply);
		dlg = NULL;
		s->has = false;
		s->dirty = true;
		if (batch_run_engine(b, m, NULL, cfg) != 0) {
			log_error("store: message %lld: %s", (long long)m->id,
			    d->reply);
			m->status = INTAKE_TEMPFAIL;
			return;
		}
	}
	m->advanced = d->has_submission || d->challenge_op != DIALOG_CH_NONE ||
	    d->action == DIALOG_ACT_BIND ||
	    batch_dialog_differs(dlg, d->has_dialog ? &d->dialog : NULL, false);
	batch_apply(b, i, dlg);
}

/* ---- round 2: the writes --------------------------------------------------- */

static const char *const dup_reasons[] = {
	[STORE_DUP_NONE] = NULL,
	[STORE_DUP_ID] = "external_id",
	[STORE_DUP_REDELIVERY] = "redelivery",
};

static const char *
batch_text(const struct store_batch *b, size_t off)
{
	return off == STORE_NONE ? NULL : b->text.p + off;
}

static void
batch_begin_arrays(struct store_batch *b, int n)
{
	for (int i = 0; i < n; i++)
		sarr_begin(&b->arr[i]);
}

static void
batch_end_arrays(struct store_batch *b, int n)
{
	for (int i = 0; i < n; i++)
		b->params[i] = sarr_end(&b->arr[i]);
}

/*
 * The reply the log records for m: only one that went out. A duplicate's
 * reply reaches a messenger customer in the response (the bridge sends
 * it), an SMS customer only when it was queued again.
 */
static const char *
batch_logged_reply(const struct store_batch *b, const struct store_msg *m)
{
	if (m->dup != STORE_DUP_NONE && batch_redeliverable(m) && !m->outbox)
		return NULL;
	return batch_text(b, m->reply);
}

/* Message m's row of the message log into the ST_MSGS arrays. */
static void
batch_message_row(struct store_batch *b, const struct store_msg *m)
{
	struct sql_arr *a = b->arr;
	bool dup = m->dup != STORE_DUP_NONE;
	const char *outcome = dup ? "duplicate" : batch_text(b, m->outcome);
	const char *reason =
	    dup ? dup_reasons[m->dup] : batch_text(b, m->reason);

	sarr_i64(&a[MSG_P_ID], m->id);
	sarr_i64(&a[MSG_P_US], m->in.time_us);
	sarr_text(&a[MSG_P_CHANNEL], m->in.channel);
	sarr_text(&a[MSG_P_SENDER], m->in.sender);
	sarr_text(&a[MSG_P_RECIPIENT], m->in.recipient);
	sarr_text(&a[MSG_P_TEXT], m->in.text);
	sarr_i64(&a[MSG_P_DCS], m->in.dcs);
	sarr_i64(&a[MSG_P_TEXT_FLAGS], m->in.text_flags);
	sarr_text(
	    &a[MSG_P_EXTERNAL_ID], m->id_derived ? NULL : m->in.external_id);
	sarr_text(&a[MSG_P_CONTRACT], m->contract[0] ? m->contract : NULL);
	sarr_text(&a[MSG_P_OUTCOME], outcome);
	sarr_text(&a[MSG_P_REASON], reason);
	sarr_i64(&a[MSG_P_FLAGS], m->flags);
	sarr_text(&a[MSG_P_REPLY], batch_logged_reply(b, m));
	sarr_i64(&a[MSG_P_DEDUPE_KEY], (int64_t)m->dedupe_key);
	sarr_bool(&a[MSG_P_ADVANCED], m->advanced);
	if (dup)
		sarr_i64(&a[MSG_P_DUPLICATE_OF], m->original);
	else
		sarr_null(&a[MSG_P_DUPLICATE_OF]);
	if (m->acks.conn != 0)
		sarr_i64(&a[MSG_P_CONN], (int64_t)m->acks.conn);
	else
		sarr_null(&a[MSG_P_CONN]);
	sarr_bool(&a[MSG_P_REPLY_QUEUED], m->outbox);
	sarr_text(&a[MSG_P_MSGID],
	    m->status == INTAKE_APPLIED ? m->in.external_id : NULL);
}

/* The message log: every message but those that failed on their own. */
static void
batch_write_messages(struct store_batch *b, struct db *db)
{
	batch_begin_arrays(b, MSG__NPARAMS);
	for (size_t i = 0; i < b->n; i++) {
		const struct store_msg *m = &b->msgs[i];

		if (m->status == INTAKE_TEMPFAIL ||
		    (m->dup != STORE_DUP_NONE &&
		        (m->in.flags & INTAKE_F_NO_DUP_LOG)))
			continue;
		batch_message_row(b, m);
	}
	batch_end_arrays(b, MSG__NPARAMS);
	db_send(db, ST_MSGS, b->params);
}

#define BATCH_VALS_MAX (MODEL_MAX_REGISTERS * 11 + 3)

/* "{1,2,3}": n values as an array literal into buf (BATCH_VALS_MAX). */
static void
batch_vals_literal(char *buf, const uint32_t *v, unsigned n)
{
	size_t o = 0;

	buf[o++] = '{';
	for (unsigned k = 0; k < n && k < MODEL_MAX_REGISTERS; k++)
		o += (size_t)snprintf(buf + o, BATCH_VALS_MAX - o, "%s%" PRIu32,
		    k ? "," : "", v[k]);
	snprintf(buf + o, BATCH_VALS_MAX - o, "}");
}

/* Dialogs created, changed or ended by the batch. */
static void
batch_write_dialogs(struct store_batch *b, struct db *db)
{
	struct sql_arr *a = b->arr;
	char vals[BATCH_VALS_MAX], pending[BATCH_VALS_MAX];

	batch_begin_arrays(b, DLG__NPARAMS);
	for (size_t i = 0; i < b->nsenders; i++) {
		const struct store_sender *s = &b->senders[i];
		const struct store_msg *m = &b->msgs[s->msg];

		if (!s->dirty || !s->has)
			continue;
		batch_vals_literal(vals, s->cur.values, s->cur.next);
		batch_vals_literal(pending, s->cur.pending, s->cur.npending);
		sarr_text(&a[DLG_P_PENDING], pending);
		sarr_text(&a[DLG_P_CHANNEL], m->in.channel);
		sarr_text(&a[DLG_P_SENDER], m->in.sender);
		sarr_text(&a[DLG_P_CONTRACT], s->cur.contract);
		sarr_i64(&a[DLG_P_NREGISTERS], s->cur.nregisters);
		sarr_i64(&a[DLG_P_NEXT], s->cur.next);
		sarr_text(&a[DLG_P_VALS], vals);
		sarr_i64(&a[DLG_P_STARTED_US], s->cur.started_us);
		sarr_i64(&a[DLG_P_LAST_US], s->cur.last_us);
	}
	batch_end_arrays(b, DLG__NPARAMS);
	if (a[0].n > 0)
		db_send(db, ST_DLG_PUT, b->params);

	batch_begin_arrays(b, 2);
	for (size_t i = 0; i < b->nsenders; i++) {
		const struct store_sender *s = &b->senders[i];

		if (!s->dirty || s->has || !s->had)
			continue;
		sarr_text(&a[0], b->msgs[s->msg].in.channel);
		sarr_text(&a[1], b->msgs[s->msg].in.sender);
	}
	batch_end_arrays(b, 2);
	if (a[0].n > 0)
		db_send(db, ST_DLG_DEL, b->params);
}

/* Submission sub's row and its readings' rows into the ST_SUBMIT arrays. */
static void
batch_submission_rows(struct store_batch *b, const struct store_sub *sub)
{
	struct sql_arr *a = b->arr;
	const struct dialog_submission *s = &sub->s;
	const struct store_msg *m = &b->msgs[sub->msg];
	bool review = (s->flags & DIALOG_F_HIGH_CONSUMPTION) != 0;
	const char *status = sub->superseded ? "superseded"
	    : review                         ? "review"
	                                     : "accepted";

	sarr_i64(&a[SUB_P_MESSAGE_ID], m->id);
	sarr_text(&a[SUB_P_CONTRACT], s->contract);
	sarr_text(&a[SUB_P_RESOURCE], model_resource_name(s->resource));
	sarr_text(&a[SUB_P_CHANNEL], m->in.channel);
	sarr_text(&a[SUB_P_SENDER], m->in.sender);
	sarr_i64(&a[SUB_P_SUBMITTED_US], s->time_us);
	sarr_i64(&a[SUB_P_STARTED_US], s->started_us);
	sarr_i64(&a[SUB_P_LOCAL_DATE], s->date);
	sarr_i64(&a[SUB_P_FLAGS], s->flags);
	sarr_i64(&a[SUB_P_DAILY_MILLI], (int64_t)s->daily_milli);
	sarr_text(&a[SUB_P_STATUS], status);
	for (unsigned r = 0; r < s->nvalues; r++) {
		sarr_i64(&a[RDG_P_MESSAGE_ID], m->id);
		sarr_i64(&a[RDG_P_POSITION], r + 1);
		sarr_i64(&a[RDG_P_VALUE], s->values[r]);
		if (sub->has_prev[r])
			sarr_i64(&a[RDG_P_PREVIOUS], sub->prev[r]);
		else
			sarr_null(&a[RDG_P_PREVIOUS]);
		sarr_i64(&a[RDG_P_CONSUMPTION], s->consumption[r]);
		sarr_i64(&a[RDG_P_FLAGS], s->reg_flags[r]);
	}
}

/* Submissions and their readings, in one statement. */
static void
batch_write_submissions(struct store_batch *b, struct db *db)
{
	if (b->nsubs == 0)
		return;
	batch_begin_arrays(b, SUB__NPARAMS);
	for (size_t i = 0; i < b->nsubs; i++)
		batch_submission_rows(b, &b->subs[i]);
	batch_end_arrays(b, SUB__NPARAMS);
	db_send(db, ST_SUBMIT, b->params);
}

/*
 * Submissions already stored that the batch's corrections replace: each
 * correction's contract, its period's first date and its own date. Sent
 * before the batch's own submissions are inserted.
 */
static void
batch_write_supersede(struct store_batch *b, struct db *db)
{
	struct sql_arr *a = b->arr;

	batch_begin_arrays(b, 3);
	for (size_t i = 0; i < b->nsubs; i++) {
		const struct dialog_submission *s = &b->subs[i].s;

		if (!(s->flags & DIALOG_F_CORRECTION))
			continue;
		sarr_text(&a[0], s->contract);
		sarr_i64(&a[1], s->supersedes_since);
		sarr_i64(&a[2], s->date);
	}
	batch_end_arrays(b, 3);
	if (a[0].n > 0)
		db_send(db, ST_SUPERSEDE, b->params);
}

/* Registers whose values moved: the final values of the batch. */
static void
batch_write_registers(struct store_batch *b, struct db *db)
{
	struct sql_arr *a = b->arr;

	batch_begin_arrays(b, REG__NPARAMS);
	for (size_t i = 0; i < b->ncontracts; i++) {
		const struct store_contract *c = &b->contracts[i];

		for (unsigned r = 0; r < c->c.nregisters; r++) {
			const struct model_register *g = &c->c.registers[r];

			if (!(c->dirty & (1u << r)))
				continue;
			sarr_text(&a[REG_P_CONTRACT], c->c.number);
			sarr_i64(&a[REG_P_POSITION], g->position);
			sarr_i64(&a[REG_P_VALUE], g->last_value);
			sarr_i64(&a[REG_P_DAY], g->last_date);
			if (g->has_prev)
				sarr_i64(&a[REG_P_PREV], g->prev_value);
			else
				sarr_null(&a[REG_P_PREV]);
			if (g->has_prev && g->prev_date != MODEL_DATE_NONE)
				sarr_i64(&a[REG_P_PREV_DAY], g->prev_date);
			else
				sarr_null(&a[REG_P_PREV_DAY]);
		}
	}
	batch_end_arrays(b, REG__NPARAMS);
	if (a[0].n > 0)
		db_send(db, ST_REGS, b->params);
}

/* Seconds to lease m's outbox row to this instance (0: not leased). */
static int
batch_outbox_lease(const struct store_batch *b, const struct store_msg *m)
{
	if (b->outbox_lease == NULL || b->outbox_owner == NULL || b->no_locks)
		return 0; /* no handoff (replay, dry run) */
	return b->outbox_lease(b->outbox_arg, m->in.channel);
}

/*
 * The replies, inserted already leased to this instance's outbox where it
 * takes them (store.c hands them over after COMMIT). This is round 2's
 * last statement: batch_outbox_rows finds its result there.
 */
static void
batch_write_outbox(struct store_batch *b, struct db *db)
{
	struct sql_arr *a = b->arr;

	b->outbox_sent = false;
	batch_begin_arrays(b, 6);
	for (size_t i = 0; i < b->n; i++) {
		const struct store_msg *m = &b->msgs[i];

		if (!m->outbox || m->status == INTAKE_TEMPFAIL)
			continue;
		sarr_i64(&a[0], m->id);
		sarr_text(&a[1], m->in.channel);
		sarr_text(&a[2], m->in.recipient);
		sarr_text(&a[3], m->in.sender);
		sarr_text(&a[4], batch_text(b, m->reply));
		sarr_i64(&a[5], batch_outbox_lease(b, m));
	}
	batch_end_arrays(b, 6);
	b->params[6] = b->outbox_owner;
	if (a[0].n > 0 && db_send(db, ST_OUTBOX, b->params) == 0)
		b->outbox_sent = true;
}

const struct db_rows *
batch_outbox_rows(const struct store_batch *b, const struct db_round_result *r)
{
	const struct db_rows *rows;

	if (!b->outbox_sent || r->nrows == 0)
		return NULL;
	rows = r->rows[r->nrows - 1];
	return rows != NULL && db_rows_columns(rows) == OBX__NCOLS ? rows
	                                                           : NULL;
}

int
batch_decide(struct store_batch *b, const struct db_round_result *r,
    const struct config *cfg, struct db *db, char *err, size_t errlen)
{
	const struct db_rows *ext = batch_rows(b, r, ST_EXT);
	const struct db_rows *prior = batch_rows(b, r, ST_PRIOR);

	if (r->nrows != b->r1_count || !batch_shape_ok(b, r) ||
	    batch_load_ids(b, batch_rows(b, r, ST_IDS)) != 0) {
		snprintf(err, errlen, "unexpected results from the database");
		return -1;
	}
	sbuf_reset(&b->text);
	b->nsubs = 0;
	batch_load_dialogs(b, batch_rows(b, r, ST_DIALOGS));
	bind_load(b, batch_rows(b, r, ST_BINDINGS));
	chal_load(b, batch_rows(b, r, ST_CHALLENGES));
	batch_load_contracts(b, batch_rows(b, r, ST_CONTRACTS));
	htab_clear(&b->ext_map, b->n + (ext ? (size_t)db_rows_count(ext) : 0));
	for (int i = 0; ext != NULL && i < db_rows_count(ext); i++)
		htab_put(&b->ext_map,
		    batch_ext_key(b, db_rows_get(ext, i, EXT_CHANNEL),
		        db_rows_get(ext, i, EXT_EXTERNAL_ID)),
		    BATCH_ROW(i));
	htab_clear(
	    &b->dedupe_map, b->n + (prior ? (size_t)db_rows_count(prior) : 0));
	for (int i = 0; prior != NULL && i < db_rows_count(prior); i++)
		htab_put(&b->dedupe_map,
		    batch_key(b,
		        (uint64_t)strtoll(
		            db_rows_get(prior, i, PRIOR_DEDUPE_KEY), NULL, 10)),
		    BATCH_ROW(i));
	for (size_t i = 0; i < b->n; i++)
		batch_decide_one(b, i, cfg, ext, prior);
	if (parts_decide(b, r, db) != 0) { /* nothing sent if it fails */
		snprintf(err, errlen, "unexpected results from the database");
		return -1;
	}

	batch_write_messages(b, db);
	batch_write_dialogs(b, db);
	bind_write(b, db);
	chal_write(b, db);
	batch_write_supersede(b, db);
	batch_write_submissions(b, db);
	batch_write_registers(b, db);
	batch_write_outbox(b, db);
	return 0;
}

void
batch_free(struct store_batch *b)
{
	free(b->msgs);
	free(b->senders);
	free(b->contracts);
	free(b->subs);
	parts_free(b);
	chal_free(b);
	htab_free(&b->sender_map);
	htab_free(&b->contract_map);
	htab_free(&b->dedupe_map);
	htab_free(&b->ext_map);
	sbuf_free(&b->text);
	for (int i = 0; i < STORE_MAX_PARAMS; i++)
		sbuf_free(&b->arr[i].b);
	memset(b, 0, sizeof(*b));
}
