/*
 * The store's SQL: every statement of the hot path, prepared once per
 * connection, each taking whole columns as array parameters so that a
 * batch costs the same number of statements whatever its size; the
 * batch's string buffer (array literals: sql_array.c); the keys the SQL
 * locks and stores.
 */
#include <string.h>

#include "store_int.h"

/* Unix microseconds (bigint) to timestamptz, exactly. */
#define TS(us) "timestamptz 'epoch' + " us " * interval '1 microsecond'"
/*
 * Column c of the array parameter $n. Arrays are unnested in the select
 * list, not in FROM: a function in FROM materialises its rows in a
 * tuplestore, whose allocation and release per statement (malloc, then
 * glibc trimming the heap: brk and TLB shootdowns) was 15% of the
 * backends' CPU under the HTTP benchmark's small batches. Several
 * unnest() in one select list advance in step, as unnest(a, b) does.
 */
#define U(n, type, c) "unnest($" #n "::" #type "[]) AS " #c
/*
 * Every statement runs a generic plan (store_session_sql), planned once
 * per connection, often while the tables are nearly empty (a new
 * database, the first batches after an import). A join of the batch's
 * arrays with a table may then be planned as a hash join against the
 * whole table, or a nested loop over the table, right for ten rows and
 * a full scan of the message log for ever after. So each table a
 * statement reads by the batch's keys is reached through an index probe
 * whatever the join order. A lookup reads it in a LATERAL subquery kept
 * apart by OFFSET 0 (PROBE), run once per key, by equality on the
 * leading columns of one index only (an empty table's plan cannot tell
 * two matching indexes apart). An UPDATE or DELETE, whose target cannot
 * be LATERAL, restricts the target's key by "= ANY" of the same array
 * parameters (ANY2; btree sorts and deduplicates the array). Plans made
 * on small tables are replaced as they grow: store.c re-plans (DISCARD
 * PLANS) at growing intervals.
 */
#define ANY2(t, c1, n1, c2, n2) \
	t "." c1 " = ANY ($" #n1 "::text[]) AND " t "." c2 " = ANY ($" #n2 \
	  "::text[])"
#define PROBE(table, alias, cond) \
	"CROSS JOIN LATERAL (SELECT * FROM " table " AS x WHERE " cond \
	" OFFSET 0) AS " alias
/* The unnest() list of a parameter list (ST_MSGS_PARAMS in store_int.h). */
#define U_LIST1(n, id, type, c) U(n, type, c)
#define U_LIST(n, id, type, c) ", " U(n, type, c)
#define U_LIST_SQL(list) list(U_LIST1, U_LIST)

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
    " set_config('enable_seqscan', 'off', false),"
    " set_config('plan_cache_mode', 'force_generic_plan', false)";

_Static_assert(MSG__NPARAMS <= STORE_MAX_PARAMS, "batch arrays too few");
_Static_assert(DLG__NPARAMS <= STORE_MAX_PARAMS, "batch arrays too few");
_Static_assert(SUB__NPARAMS <= STORE_MAX_PARAMS, "batch arrays too few");
_Static_assert(REG__NPARAMS <= STORE_MAX_PARAMS, "batch arrays too few");

/*
 * The phone a sender's bindings are under (issue 17, docs/store.md
 * "Bindings"): the one its messenger chat shared (channel_phones,
 * migration 0005; Telegram may write it with a +), else the sender
 * itself on channels whose senders are phone numbers (SMS, WhatsApp
 * Cloud API, the bridge), never a Telegram, MAX, Viber or VK chat id.
 */
#define SENDER_PHONE(q) \
	"coalesce((SELECT ltrim(cp.phone, '+') FROM channel_phones AS cp" \
	" WHERE cp.channel = " q ".channel AND cp.sender = " q ".sender)," \
	" CASE WHEN " q \
	".channel IN ('telegram', 'max', 'viber', 'vk') THEN NULL" \
	" ELSE " q ".sender END)"

/* SQL laid out by hand; result columns: ST_*_COLS in store_int.h. */
/* clang-format off */
const struct db_stmt store_stmts[ST__MAX] = {
	[ST_LOCK] = { "ml_lock",
	    "SELECT count(pg_advisory_xact_lock(k))"
	    " FROM (SELECT " U(1, bigint, k) " ORDER BY 1) AS s",
	    1 },
	[ST_IDS] = { "ml_ids",
	    "SELECT nextval('messages_id_seq')"
	    " FROM (SELECT generate_series(1, $1::integer)) AS g",
	    1 },
	[ST_EXT] = { "ml_ext",
	    "SELECT " DB_COLS_SQL(ST_EXT_COLS)
	    " FROM (SELECT " U(1, text, channel) ", " U(2, text, external_id) ") AS q"
	    " " PROBE("message_ids", "i",
		"x.channel = q.channel AND x.external_id = q.external_id")
	    /* the original, only for the ids found (migration 0014): a
	       probe of messages here started an index scan in every month
	       at every batch */
	    " CROSS JOIN LATERAL meterline_logged(i.message_id, i.logged_at)"
	    " AS m",
	    2 },
	/* One probe of messages_dedupe per key (PROBE's shape): the plain
	   "dedupe_key = ANY ($1)" got, as a generic plan made while the log
	   was small, an index scan of every message logged since $2 (the
	   other restriction an index covers) filtered by key: 3 ms a batch
	   at 10k messages, growing with the log (issue 20, item 5). */
	[ST_PRIOR] = { "ml_prior",
	    "SELECT " DB_COLS_SQL(ST_PRIOR_COLS)
	    " FROM (SELECT DISTINCT " U(1, bigint, k) ") AS q"
	    " CROSS JOIN LATERAL (SELECT * FROM messages AS x"
	    "  WHERE x.dedupe_key = q.k AND x.advanced"
	    "  AND x.channel = 'sms' AND x.received_at >= " TS("$2::bigint")
	    /* Logged after it was received (a day for clock skew): lets the
	       partitions of older months be skipped. */
	    "  AND x.logged_at >= " TS("$2::bigint") " - interval '1 day'"
	    /* and never in the future (db.h): three index scans less to
	       start per batch */
	    "  AND x.logged_at <= " DB_NOT_FUTURE
	    "  OFFSET 0) AS m"
	    " ORDER BY m.id",
	    2 },
	[ST_DIALOGS] = { "ml_dialogs",
	    "SELECT " DB_COLS_SQL(ST_DIALOGS_COLS)
	    " FROM (SELECT " U(1, text, channel) ", " U(2, text, sender) ") AS q"
	    " " PROBE("dialogs", "d", "x.channel = q.channel AND x.sender = q.sender"),
	    2 },
	/* k (referenced twice, so computed once) is the set; each table
	   is then read by "= ANY (ARRAY(...))", an index probe per contract,
	   and the rows are locked in (contract, position) order. */
	[ST_CONTRACTS] = { "ml_contracts",
	    "WITH k AS (SELECT unnest($1::text[]) AS contract"
	    "  UNION SELECT d.contract"
	    "   FROM (SELECT " U(2, text, channel) ", " U(3, text, sender) ") AS q"
	    "   " PROBE("dialogs", "d", "x.channel = q.channel AND x.sender = q.sender")
	    /* the senders' bound contracts: ПС or values alone take the one
	       left (issue 17), after an unbind earlier in the batch too */
	    "  UNION SELECT b.contract"
	    "   FROM (SELECT " U(2, text, channel) ", " U(3, text, sender) ") AS q"
	    "   " PROBE("bindings", "b", "x.phone = " SENDER_PHONE("q")) ")"
	    " SELECT " DB_COLS_SQL(ST_CONTRACTS_COLS)
	    " FROM contracts AS c JOIN registers AS r USING (contract)"
	    " WHERE c.contract = ANY (ARRAY(SELECT contract FROM k))"
	    " AND r.contract = ANY (ARRAY(SELECT contract FROM k))"
	    " ORDER BY c.contract, r.position FOR NO KEY UPDATE OF r",
	    3 },
	[ST_BINDINGS] = { "ml_bindings",
	    "SELECT " DB_COLS_SQL(ST_BINDINGS_COLS)
	    " FROM (SELECT " U(1, text, channel) ", " U(2, text, sender) ") AS q"
	    " LEFT JOIN LATERAL (SELECT x.contract FROM bindings AS x"
	    "  WHERE x.phone = " SENDER_PHONE("q") " OFFSET 0) AS b ON true"
	    " LEFT JOIN LATERAL (SELECT x.sender FROM reminder_optout AS x"
	    "  WHERE x.channel = q.channel AND x.sender = q.sender OFFSET 0)"
	    "  AS o ON true"
	    " WHERE b.contract IS NOT NULL OR o.sender IS NOT NULL"
	    " ORDER BY 1, 2, 3",
	    2 },
	/* $3: bind, unbind, remind_off or remind_on; one remind row per
	   sender, one bind or unbind per (sender, contract); a bind only
	   under a phone the table takes (the engine asked none without) */
	[ST_BIND_SET] = { "ml_bind_set",
	    "WITH u AS (SELECT " U(1, text, channel) ", " U(2, text, sender) ","
	    " " U(3, text, action) ", " U(4, text, contract) "),"
	    " d AS (DELETE FROM bindings AS b USING u WHERE u.action = 'unbind'"
	    "  AND b.phone = " SENDER_PHONE("u") " AND b.contract = u.contract"
	    "  AND b.contract = ANY ($4::text[])),"
	    " i AS (INSERT INTO bindings (phone, contract, source)"
	    "  SELECT p, contract, 'challenge' FROM (SELECT " SENDER_PHONE("u")
	    "  AS p, u.contract FROM u WHERE u.action = 'bind') AS n"
	    "  WHERE p ~ '^[0-9]{5,20}$' ON CONFLICT DO NOTHING),"
	    " o AS (INSERT INTO reminder_optout (channel, sender)"
	    "  SELECT channel, sender FROM u WHERE action = 'remind_off'"
	    "  ON CONFLICT DO NOTHING)"
	    " DELETE FROM reminder_optout AS r USING u WHERE u.action = 'remind_on'"
	    " AND r.channel = u.channel AND r.sender = u.sender"
	    " AND " ANY2("r", "channel", 1, "sender", 2),
	    4 },
	/* [verify] mode = challenge: the senders' rows, and the senders
	   with no phone a binding could be stored under */
	[ST_CHALLENGES] = { "ml_challenges",
	    "SELECT " DB_COLS_SQL(ST_CHALLENGES_COLS)
	    " FROM (SELECT p.channel, p.sender, coalesce(" SENDER_PHONE("p")
	    "  ~ '^[0-9]{5,20}$', false) AS phone"
	    "  FROM (SELECT " U(1, text, channel) ", " U(2, text, sender) ") AS p) AS q"
	    " LEFT JOIN LATERAL (SELECT * FROM challenges AS y"
	    "  WHERE y.channel = q.channel AND y.sender = q.sender OFFSET 0)"
	    "  AS x ON true"
	    " WHERE x.contract IS NOT NULL OR NOT q.phone"
	    " ORDER BY 1, 2, 3",
	    2 },
	/* one row per (channel, sender, contract): upserted, or deleted */
	[ST_CHAL_SET] = { "ml_chal_set",
	    "WITH u AS (SELECT " U(1, text, channel) ", " U(2, text, sender) ","
	    " " U(3, text, contract) ", " U(4, smallint, attempts) ","
	    " " U(5, bigint, locked) ", " U(6, bigint, asked) ","
	    " " U(7, text, held) ", " U(8, boolean, gone) "),"
	    " d AS (DELETE FROM challenges AS x USING u WHERE u.gone"
	    "  AND x.channel = u.channel AND x.sender = u.sender"
	    "  AND x.contract = u.contract"
	    "  AND " ANY2("x", "channel", 1, "sender", 2) ")"
	    " INSERT INTO challenges (channel, sender, contract, attempts,"
	    " locked_until_us, asked_us, held)"
	    " SELECT channel, sender, contract, attempts, locked, asked, held"
	    " FROM u WHERE NOT gone"
	    " ON CONFLICT (channel, sender, contract) DO UPDATE SET"
	    " attempts = EXCLUDED.attempts,"
	    " locked_until_us = EXCLUDED.locked_until_us,"
	    " asked_us = EXCLUDED.asked_us, held = EXCLUDED.held,"
	    " updated_at = now()",
	    8 },
	/* The log and the ids of the messages applied (msgid: the channel's
	   id or the stable one; NULL for the others) in one statement: one
	   statement less per batch, whose fixed cost is most of a small
	   batch's (issue 20). */
	[ST_MSGS] = { "ml_msgs",
	    "WITH u AS (SELECT " U_LIST_SQL(ST_MSGS_PARAMS) "),"
	    " m AS (INSERT INTO messages (id, received_at, channel, sender,"
	    " recipient, text, dcs, text_flags, external_id, contract, outcome,"
	    " reason, flags, reply, dedupe_key, advanced, duplicate_of, conn,"
	    " reply_queued)"
	    " SELECT id, " TS("us") ", channel, sender, recipient, text, dcs,"
	    " text_flags, external_id, contract, outcome, reason, flags, reply,"
	    " dedupe_key, advanced, duplicate_of, conn, reply_queued FROM u)"
	    " INSERT INTO message_ids (channel, external_id, message_id, logged_at)"
	    " SELECT channel, msgid, id, now() FROM u WHERE msgid IS NOT NULL",
	    MSG__NPARAMS },
	[ST_DLG_PUT] = { "ml_dlg_put",
	    "INSERT INTO dialogs (channel, sender, contract, nregisters, next, vals,"
	    " started_us, last_us, pending)"
	    " SELECT channel, sender, contract, nregisters, next, vals::integer[],"
	    " started_us, last_us, pending::integer[]"
	    " FROM (SELECT " U_LIST_SQL(ST_DLG_PUT_PARAMS) ") AS u"
	    " ON CONFLICT (channel, sender) DO UPDATE SET contract = EXCLUDED.contract,"
	    " nregisters = EXCLUDED.nregisters, next = EXCLUDED.next,"
	    " vals = EXCLUDED.vals, started_us = EXCLUDED.started_us,"
	    " last_us = EXCLUDED.last_us, pending = EXCLUDED.pending",
	    DLG__NPARAMS },
	/* The rows found by PROBE, deleted by their ctid (a TID scan): "=
	   ANY" of the two columns planned on an empty table walked every
	   dialog of the channel (the sender's SAOP left as a filter), and a
	   dry run, whose one transaction keeps every dialog it ended, took
	   minutes. A ctid read in the statement's snapshot is safe here: a
	   dialog is only written under its sender's advisory lock, held by
	   this transaction. */
	[ST_DLG_DEL] = { "ml_dlg_del",
	    "DELETE FROM dialogs WHERE ctid = ANY (ARRAY(SELECT d.ctid"
	    " FROM (SELECT " U(1, text, channel) ", " U(2, text, sender) ") AS q"
	    " CROSS JOIN LATERAL (SELECT x.ctid FROM dialogs AS x"
	    "  WHERE x.channel = q.channel AND x.sender = q.sender OFFSET 0) AS d))",
	    2 },
	[ST_SUBMIT] = { "ml_submit",
	    "WITH s AS (INSERT INTO submissions (message_id, contract, resource,"
	    " channel, sender, submitted_at, started_at, local_date, flags,"
	    " daily_milli, status)"
	    " SELECT message_id, contract, resource, channel, sender,"
	    " " TS("submitted_us") ", " TS("started_us") ","
	    " DATE '1970-01-01' + local_date, flags, daily_milli, status"
	    " FROM (SELECT " U_LIST_SQL(ST_SUBMIT_PARAMS) ") AS u"
	    " RETURNING id, created_at, message_id, contract, status)"
	    " INSERT INTO readings (submission_id, created_at, contract, position,"
	    " value, previous, consumption, flags, status)"
	    " SELECT s.id, s.created_at, s.contract, r.position, r.value, r.previous,"
	    " r.consumption, r.flags, s.status"
	    " FROM (SELECT " U_LIST_SQL(ST_READING_PARAMS) ") AS r"
	    " JOIN s USING (message_id)"
	    /* the ids in the arrays' order, whatever the join (a generic
	       plan may hash either side) */
	    " ORDER BY s.id, r.position",
	    SUB__NPARAMS },
	/* Sent before ST_SUBMIT: the batch's own submissions are not in the
	   table yet (the batch marks those itself). No bound on created_at
	   (the partition key): a submission's write time says nothing sure
	   about its date, and an index probe per partition is cheap. */
	[ST_SUPERSEDE] = { "ml_supersede",
	    "WITH x AS (UPDATE submissions AS s SET status = 'superseded'"
	    " FROM (SELECT " U(1, text, contract) ", " U(2, integer, since) ","
	    " " U(3, integer, until) ") AS u"
	    " WHERE s.contract = ANY ($1::text[])"
	    " AND s.contract = u.contract AND s.status <> 'superseded'"
	    " AND s.local_date BETWEEN DATE '1970-01-01' + u.since"
	    "  AND DATE '1970-01-01' + u.until"
	    " RETURNING s.id, s.created_at)"
	    " UPDATE readings AS r SET status = 'superseded' FROM x"
	    " WHERE r.submission_id = ANY (ARRAY(SELECT id FROM x))"
	    " AND r.submission_id = x.id AND r.created_at = x.created_at",
	    3 },
	[ST_REGS] = { "ml_regs",
	    "UPDATE registers AS g SET last_value = u.value,"
	    " last_date = DATE '1970-01-01' + u.day,"
	    " prev_value = u.prev, prev_date = DATE '1970-01-01' + u.prev_day"
	    " FROM (SELECT " U_LIST_SQL(ST_REGS_PARAMS) ") AS u"
	    " WHERE g.contract = ANY ($1::text[])"
	    " AND g.contract = u.contract AND g.position = u.position",
	    REG__NPARAMS },
	[ST_OUTBOX] = { "ml_outbox",
	    "INSERT INTO outbox (message_id, channel, sender, recipient, text,"
	    " lease_owner, next_attempt_at, attempts)"
	    " SELECT message_id, channel, sender, recipient, text,"
	    "  CASE WHEN lease > 0 THEN $7::text END,"
	    "  now() + make_interval(secs => lease), (lease > 0)::int"
	    " FROM (SELECT " U(1, bigint, message_id) ", " U(2, text, channel) ","
	    " " U(3, text, sender) ", " U(4, text, recipient) ", " U(5, text, text)
	    ", " U(6, int, lease) ") AS q"
	    " RETURNING " DB_COLS_SQL(ST_OUTBOX_COLS),
	    7 },
	/* Keyed by (sender, recipient, ref, total); channel is always sms. */
	[ST_PARTS] = { "ml_parts",
	    "SELECT " DB_COLS_SQL(ST_PARTS_COLS)
	    " FROM (SELECT DISTINCT " U(1, text, sender) ","
	    " " U(2, text, recipient) ", " U(3, integer, ref) ","
	    " " U(4, smallint, total) ") AS q"
	    " JOIN concat_parts AS p ON p.channel = 'sms'"
	    " AND p.sender = ANY ($1::text[])"
	    " AND p.sender = q.sender AND p.recipient = q.recipient"
	    " AND p.ref = q.ref AND p.total = q.total",
	    4 },
	/* A part over a joined part of the same key is a new message's. */
	[ST_PART_PUT] = { "ml_part_put",
	    "INSERT INTO concat_parts AS p (channel, sender, recipient, ref, total,"
	    " seq, dcs, data, dropped, received_us, conn)"
	    " SELECT 'sms', sender, recipient, ref, total, seq, dcs,"
	    " decode(data, 'hex'), dropped, us, conn"
	    " FROM (SELECT " U(1, text, sender) ", " U(2, text, recipient) ","
	    " " U(3, integer, ref) ", " U(4, smallint, total) ","
	    " " U(5, smallint, seq) ", " U(6, smallint, dcs) ","
	    " " U(7, text, data) ", " U(8, boolean, dropped) ","
	    " " U(9, bigint, us) ", " U(10, bigint, conn) ") AS u"
	    " ON CONFLICT (channel, sender, recipient, ref, total, seq)"
	    " DO UPDATE SET dcs = EXCLUDED.dcs, data = EXCLUDED.data,"
	    " dropped = EXCLUDED.dropped, received_us = EXCLUDED.received_us,"
	    " conn = EXCLUDED.conn, message_id = NULL, logged_at = now()"
	    " WHERE p.message_id IS NOT NULL",
	    10 },
	[ST_PART_DONE] = { "ml_part_done",
	    "UPDATE concat_parts AS p SET message_id = u.id, logged_at = now()"
	    " FROM (SELECT " U(1, text, sender) ", " U(2, text, recipient) ","
	    " " U(3, integer, ref) ", " U(4, smallint, total) ","
	    " " U(5, bigint, id) ") AS u"
	    " WHERE p.channel = 'sms' AND p.sender = ANY ($1::text[])"
	    " AND p.sender = u.sender"
	    " AND p.recipient = u.recipient AND p.ref = u.ref"
	    " AND p.total = u.total AND p.message_id IS NULL",
	    5 },
};
/* clang-format on */

/* ---- strings of a batch -------------------------------------------------- */

size_t
sbuf_str(struct sql_buf *b, const char *s)
{
	size_t off = b->len;

	if (s == NULL)
		return STORE_NONE;
	sbuf_add(b, s, strlen(s) + 1);
	return off;
}

/* ---- keys ---------------------------------------------------------------- */

uint64_t
store_sender_key(const char *channel, const char *sender)
{
	const char *k[2] = { channel, sender };

	return hash_strs(0, k, 2);
}

/*
 * 64-bit FNV-1a over the four strings, each followed by a NUL byte, with
 * no finaliser: the function every row of messages.dedupe_key was written
 * with. It is not hash_strs (which adds a finaliser and may change): a
 * different function would miss every redelivery of a message logged
 * before the change. test_store_units pins a value.
 */
uint64_t
store_dedupe_key(const char *channel, const char *sender, const char *recipient,
    const char *text)
{
	const char *k[4] = { channel, sender, recipient, text };
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < 4; i++) {
		const unsigned char *p = (const unsigned char *)k[i];

		do
			h = (h ^ *p) * 1099511628211ULL;
		while (*p++ != '\0');
	}
	return h;
}
