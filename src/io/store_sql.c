/*
 * The store's SQL: every statement of the hot path, prepared once per
 * connection, each taking whole columns as array parameters so that a
 * batch costs the same number of statements whatever its size; and the
 * small containers the batch code builds them with.
 */
#include <stdlib.h>
#include <string.h>

#include "meterline/util.h"
#include "store_int.h"

/* Unix microseconds (bigint) to timestamptz, exactly. */
#define TS(us) "timestamptz 'epoch' + " us " * interval '1 microsecond'"

/*
 * Every statement below finds its rows by key. A sequential scan is only
 * ever chosen from missing statistics (a new database that autovacuum has
 * not analysed yet) and then reads the whole message log for every batch;
 * measured on the HTTP benchmark, that halved the rate for the first
 * minute. Turning it off leaves the index paths, which are right at any
 * size.
 */
const char store_session_sql[] =
    "SELECT set_config('lock_timeout', '5s', false),"
    " set_config('statement_timeout', '30s', false),"
    " set_config('enable_seqscan', 'off', false)";

const struct db_stmt store_stmts[ST__MAX] = {
	[ST_LOCK] = { "ml_lock",
	    "SELECT count(pg_advisory_xact_lock(k))"
	    " FROM (SELECT k FROM unnest($1::bigint[]) AS k ORDER BY k) AS s",
	    1 },
	[ST_IDS] = { "ml_ids",
	    "SELECT nextval('messages_id_seq') FROM generate_series(1, $1::integer)",
	    1 },
	[ST_EXT] = { "ml_ext",
	    "SELECT i.channel, i.external_id, m.id, m.outcome, m.reason, m.reply"
	    " FROM unnest($1::text[], $2::text[]) AS q(channel, external_id)"
	    " JOIN message_ids AS i USING (channel, external_id)"
	    " JOIN messages AS m ON m.id = i.message_id AND m.logged_at = i.logged_at",
	    2 },
	[ST_PRIOR] = { "ml_prior",
	    "SELECT m.dedupe_key, m.id, m.outcome, m.reason, m.reply, m.channel,"
	    " m.sender, m.recipient, m.text,"
	    " (extract(epoch FROM m.received_at) * 1000000)::bigint"
	    " FROM messages AS m"
	    " WHERE m.dedupe_key = ANY ($1::bigint[]) AND m.advanced"
	    " AND m.channel = 'sms' AND m.received_at >= " TS("$2::bigint")
	    /* Logged after it was received (a day for clock skew): lets the
	       partitions of older months be skipped. */
	    " AND m.logged_at >= " TS("$2::bigint") " - interval '1 day'"
	                                            " ORDER BY m.id",
	    2 },
	[ST_DIALOGS] = { "ml_dialogs",
	    "SELECT d.channel, d.sender, d.contract, d.nregisters, d.next, d.vals,"
	    " d.started_us, d.last_us"
	    " FROM unnest($1::text[], $2::text[]) AS q(channel, sender)"
	    " JOIN dialogs AS d USING (channel, sender)",
	    2 },
	[ST_CONTRACTS] = { "ml_contracts",
	    "SELECT c.contract, c.resource, c.status, r.position, r.name, r.digits,"
	    " r.last_value, r.last_date - DATE '1970-01-01'"
	    " FROM contracts AS c JOIN registers AS r USING (contract)"
	    " WHERE c.contract IN (SELECT unnest($1::text[])"
	    "  UNION SELECT d.contract FROM unnest($2::text[], $3::text[])"
	    "   AS q(channel, sender) JOIN dialogs AS d USING (channel, sender))"
	    " ORDER BY c.contract, r.position FOR NO KEY UPDATE OF r",
	    3 },
	[ST_MSGS] = { "ml_msgs",
	    "INSERT INTO messages (id, received_at, channel, sender, recipient,"
	    " text, dcs, text_flags, external_id, contract, outcome, reason, flags,"
	    " reply, dedupe_key, advanced, duplicate_of)"
	    " SELECT id, " TS(
	        "us") ", channel, sender, recipient, text, dcs,"
	              " text_flags, external_id, contract, outcome, reason, flags, reply,"
	              " dedupe_key, advanced, duplicate_of"
	              " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],"
	              " $5::text[], $6::text[], $7::smallint[], $8::integer[], $9::text[],"
	              " $10::text[], $11::text[], $12::text[], $13::integer[], $14::text[],"
	              " $15::bigint[], $16::boolean[], $17::bigint[])"
	              " AS u(id, us, channel, sender, recipient, text, dcs, text_flags,"
	              " external_id, contract, outcome, reason, flags, reply, dedupe_key,"
	              " advanced, duplicate_of)",
	    17 },
	[ST_MSGIDS] = { "ml_msgids",
	    "INSERT INTO message_ids (channel, external_id, message_id, logged_at)"
	    " SELECT channel, external_id, id, now()"
	    " FROM unnest($1::text[], $2::text[], $3::bigint[])"
	    " AS u(channel, external_id, id)",
	    3 },
	[ST_DLG_PUT] = { "ml_dlg_put",
	    "INSERT INTO dialogs (channel, sender, contract, nregisters, next, vals,"
	    " started_us, last_us)"
	    " SELECT channel, sender, contract, nregisters, next, vals::integer[],"
	    " started_us, last_us"
	    " FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[],"
	    " $5::smallint[], $6::text[], $7::bigint[], $8::bigint[])"
	    " AS u(channel, sender, contract, nregisters, next, vals, started_us,"
	    " last_us)"
	    " ON CONFLICT (channel, sender) DO UPDATE SET contract = EXCLUDED.contract,"
	    " nregisters = EXCLUDED.nregisters, next = EXCLUDED.next,"
	    " vals = EXCLUDED.vals, started_us = EXCLUDED.started_us,"
	    " last_us = EXCLUDED.last_us",
	    8 },
	[ST_DLG_DEL] = { "ml_dlg_del",
	    "DELETE FROM dialogs AS d USING unnest($1::text[], $2::text[])"
	    " AS u(channel, sender) WHERE d.channel = u.channel AND d.sender = u.sender",
	    2 },
	[ST_SUBMIT] = { "ml_submit",
	    "WITH s AS (INSERT INTO submissions (message_id, contract, resource,"
	    " channel, sender, submitted_at, started_at, local_date, flags,"
	    " daily_milli, status)"
	    " SELECT message_id, contract, resource, channel, sender,"
	    " " TS("submitted_us") ", " TS(
	        "started_us") ","
	                      " DATE '1970-01-01' + local_date, flags, daily_milli, status"
	                      " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
	                      " $5::text[], $6::bigint[], $7::bigint[], $8::integer[], $9::integer[],"
	                      " $10::bigint[], $11::text[])"
	                      " AS u(message_id, contract, resource, channel, sender, submitted_us,"
	                      " started_us, local_date, flags, daily_milli, status)"
	                      " RETURNING id, created_at, message_id, contract, status)"
	                      " INSERT INTO readings (submission_id, created_at, contract, position,"
	                      " value, previous, consumption, flags, status)"
	                      " SELECT s.id, s.created_at, s.contract, r.position, r.value, r.previous,"
	                      " r.consumption, r.flags, s.status"
	                      " FROM unnest($12::bigint[], $13::smallint[], $14::integer[],"
	                      " $15::integer[], $16::integer[], $17::integer[])"
	                      " AS r(message_id, position, value, previous, consumption, flags)"
	                      " JOIN s USING (message_id)",
	    17 },
	[ST_REGS] = { "ml_regs",
	    "UPDATE registers AS g SET last_value = u.value,"
	    " last_date = DATE '1970-01-01' + u.day"
	    " FROM unnest($1::text[], $2::smallint[], $3::integer[], $4::integer[])"
	    " AS u(contract, position, value, day)"
	    " WHERE g.contract = u.contract AND g.position = u.position",
	    4 },
	[ST_OUTBOX] = { "ml_outbox",
	    "INSERT INTO outbox (message_id, channel, sender, recipient, text)"
	    " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],"
	    " $5::text[])",
	    5 },
};

/* ---- buffers ----------------------------------------------------------- */

void
sbuf_reset(struct store_buf *b)
{
	b->len = 0;
}

void
sbuf_add(struct store_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

size_t
sbuf_str(struct store_buf *b, const char *s)
{
	size_t off = b->len;

	if (s == NULL)
		return STORE_NONE;
	sbuf_add(b, s, strlen(s) + 1);
	return off;
}

void
sbuf_free(struct store_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- array literals ---------------------------------------------------- */

void
sarr_begin(struct store_arr *a)
{
	sbuf_reset(&a->b);
	sbuf_add(&a->b, "{", 1);
	a->n = 0;
}

static void
sarr_sep(struct store_arr *a)
{
	if (a->n++ > 0)
		sbuf_add(&a->b, ",", 1);
}

void
sarr_text(struct store_arr *a, const char *s)
{
	const char *run;

	if (s == NULL) {
		sarr_null(a);
		return;
	}
	sarr_sep(a);
	sbuf_add(&a->b, "\"", 1);
	/* Copy runs without a quote or backslash in one go. */
	for (run = s;; run++) {
		size_t n = strcspn(run, "\"\\");

		sbuf_add(&a->b, run, n);
		run += n;
		if (*run == '\0')
			break;
		sbuf_add(&a->b, "\\", 1);
		sbuf_add(&a->b, run, 1);
	}
	sbuf_add(&a->b, "\"", 1);
}

/*
 * Digits by hand: snprintf was an eighth of serve's CPU under load, and a
 * batch writes a dozen integers per message.
 */
void
sarr_i64(struct store_arr *a, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	sarr_sep(a);
	sbuf_add(&a->b, p, (size_t)(num + sizeof(num) - p));
}

void
sarr_null(struct store_arr *a)
{
	sarr_sep(a);
	sbuf_add(&a->b, "NULL", 4);
}

void
sarr_bool(struct store_arr *a, bool v)
{
	sarr_sep(a);
	sbuf_add(&a->b, v ? "t" : "f", 1);
}

const char *
sarr_end(struct store_arr *a)
{
	sbuf_add(&a->b, "}", 1);
	return a->b.p;
}

/* ---- hash map ---------------------------------------------------------- */

void
smap_reset(struct store_map *m, size_t expected)
{
	size_t cap = 16;

	while (cap < expected * 2)
		cap *= 2;
	if (cap > m->cap) {
		free(m->keys);
		free(m->vals);
		m->keys = xmalloc(cap * sizeof(*m->keys));
		m->vals = xmalloc(cap * sizeof(*m->vals));
		m->cap = cap;
	}
	memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->n = 0;
}

static void
smap_insert(struct store_map *m, uint64_t key, int val)
{
	size_t i;

	for (i = key & (m->cap - 1); m->keys[i] != 0;
	     i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

/* Keep the load at most one half: double and re-insert. */
static void
smap_grow(struct store_map *m)
{
	struct store_map old = *m;

	m->cap = m->cap ? m->cap * 2 : 16;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xmalloc(m->cap * sizeof(*m->vals));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i] != 0)
			smap_insert(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

void
smap_put(struct store_map *m, uint64_t key, int val)
{
	if ((m->n + 1) * 2 > m->cap)
		smap_grow(m);
	smap_insert(m, key ? key : 1, val);
}

int
smap_next(const struct store_map *m, uint64_t key, size_t *pos)
{
	size_t i;

	key = key ? key : 1;
	i = *pos == SIZE_MAX ? key & (m->cap - 1) : (*pos + 1) & (m->cap - 1);
	for (; m->keys[i] != 0; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*pos = i;
			return m->vals[i];
		}
	}
	return -1;
}

void
smap_free(struct store_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

uint64_t
store_hash(const char *const *strs, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)strs[i];
		     *p; p++)
			h = (h ^ *p) * 1099511628211ull;
		h = (h ^ 0) * 1099511628211ull;
	}
	return h;
}

uint64_t
store_sender_key(const char *channel, const char *sender)
{
	const char *k[2] = { channel, sender };

	return store_hash(k, 2);
}
