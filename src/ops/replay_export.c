/*
 * export-log: the message log as JSON Lines in time order, with what each
 * message stored and its reply's delivery, read through a server-side
 * cursor (FETCH of a few thousand rows at a time) so that a log of any
 * size streams in constant memory.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/msg_id.h"
#include "meterline/replay.h"

#define EXPORT_FETCH 5000

/*
 * The exported columns (DB_COLS_SQL in db.h): the message, what happened,
 * the readings it stored (values in register order, the submission's
 * status) and its SMS reply's delivery (outbox state, receipt).
 */
#define EXPORT_COLS(COL1, COL) \
	COL1(EX_RECEIVED_US, \
	    "(extract(epoch FROM m.received_at) * 1000000)::bigint") \
	COL(EX_CHANNEL, "m.channel") \
	COL(EX_SENDER, "m.sender") \
	COL(EX_RECIPIENT, "m.recipient") \
	COL(EX_TEXT, "m.text") \
	COL(EX_EXTERNAL_ID, "m.external_id") \
	COL(EX_OUTCOME, "m.outcome") \
	COL(EX_REASON, "m.reason") \
	COL(EX_REPLY, "m.reply") \
	COL(EX_CONTRACT, "m.contract") \
	COL(EX_VALUES, "v.vals") \
	COL(EX_STATUS, "v.status") \
	COL(EX_DELIVERY, "o.state") \
	COL(EX_RECEIPT, "o.dlr_state") \
	COL(EX_DUP_US, \
	    EXPORT_DUP_COL( \
	        "(extract(epoch FROM orig.received_at) * 1000000)::bigint")) \
	COL(EX_DUP_EXTERNAL_ID, EXPORT_DUP_COL("orig.external_id"))
/* A column of a duplicate's original (NULL for other rows). */
#define EXPORT_DUP_COL(col) \
	"CASE WHEN m.duplicate_of IS NULL THEN NULL ELSE (SELECT " col \
	" FROM messages AS orig WHERE orig.id = m.duplicate_of LIMIT 1) END"
enum export_col { DB_COLS_ENUM(EXPORT_COLS) EX__N };

/* A bound on the time a row was written, from $1 (the message time):
   written at most a day before its own time (clock skew; [intake]
   max_future_skew is at most a day), so older partitions are skipped. */
#define EXPORT_WRITTEN(col) \
	" ($1::bigint IS NULL OR " col " >= timestamptz 'epoch'" \
	" + $1::bigint * interval '1 microsecond' - interval '1 day')"

/*
 * Submissions and outbox rows are written in the message's transaction,
 * so their created_at is the message's logged_at: the joins use it, and
 * hash joins over the period's partitions (neither table has an index on
 * message_id: the hot path does not need one).
 */
/* clang-format off */
static const char export_declare[] =
    "DECLARE ml_export NO SCROLL CURSOR FOR"
    " SELECT " DB_COLS_SQL(EXPORT_COLS)
    " FROM messages AS m"
    " LEFT JOIN (SELECT s.message_id, s.created_at, s.status,"
    "   string_agg(r.value::text, ',' ORDER BY r.position) AS vals"
    "  FROM submissions AS s JOIN readings AS r"
    "   ON r.submission_id = s.id AND r.created_at = s.created_at"
    "  WHERE" EXPORT_WRITTEN("s.created_at")
    "  GROUP BY s.message_id, s.created_at, s.status) AS v"
    "  ON v.message_id = m.id AND v.created_at = m.logged_at"
    " LEFT JOIN outbox AS o ON o.message_id = m.id"
    "  AND o.created_at = m.logged_at AND" EXPORT_WRITTEN("o.created_at")
    " WHERE ($1::bigint IS NULL OR m.received_at >="
    "  timestamptz 'epoch' + $1::bigint * interval '1 microsecond')"
    " AND" EXPORT_WRITTEN("m.logged_at")
    " AND ($2::bigint IS NULL OR m.received_at <"
    "  timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
    " AND ($3::text IS NULL OR m.channel = $3)"
    " AND ($4::text IS NULL OR m.contract = $4)"
    " AND ($5::text IS NULL OR m.sender = $5)"
    " AND ($6::text IS NULL OR m.outcome = $6)"
    " ORDER BY m.received_at, m.id";
/* clang-format on */
#define EXPORT_NPARAMS 6

/* Column col as a JSON string, or null for SQL NULL (and, if asked, ""). */
static json_t *
export_col(const struct db_rows *rows, int r, int col, bool empty_is_null)
{
	const char *s = db_rows_get(rows, r, col);

	if (s == NULL || (empty_is_null && s[0] == '\0'))
		return json_null();
	return json_string(s);
}

/*
 * Write a JSON line with every character that could hide, reorder or break
 * the text on a staff member's screen (C1 and other controls, bidi
 * controls, U+2028/9) as a \uXXXX escape: the same JSON to a parser, but
 * inert in a terminal or an editor. Returns 0 or -1 (write error).
 */
static int
export_put_json(const char *line, FILE *out)
{
	size_t len = strlen(line), run = 0;
	int32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = log_utf8_next(line + i, len - i, &cp);

		if (cp >= 0 && log_char_safe(cp)) {
			i += n;
			continue;
		}
		if (fwrite(line + run, 1, i - run, out) != i - run ||
		    fprintf(out, "\\u%04x", cp >= 0 ? (unsigned)cp : 0xfffdu) <
		        0)
			return -1;
		i += n;
		run = i;
	}
	if (fwrite(line + run, 1, len - run, out) != len - run ||
	    putc('\n', out) == EOF)
		return -1;
	return 0;
}

/*
 * A duplicate names its original by the original's id (duplicate_of), so
 * that replay takes it for a duplicate of that line, as it was live: a
 * suppressed SMS redelivery has its own time, hence another stable id,
 * and replay never compares texts (docs/replay.md).
 */
static void
export_dup_of(const struct db_rows *rows, int r, json_t *o)
{
	const char *us = db_rows_get(rows, r, EX_DUP_US);
	const char *ext = db_rows_get(rows, r, EX_DUP_EXTERNAL_ID);
	const char *text = db_rows_get(rows, r, EX_TEXT);
	char id[MSG_ID_STABLE_LEN + 1];

	if (us == NULL)
		return;
	/* Same channel, sender, recipient and text as the original: a
	   redelivery by definition; a duplicate by id has the id. */
	if (ext == NULL) {
		msg_id_stable(strtoll(us, NULL, 10),
		    db_rows_get(rows, r, EX_CHANNEL),
		    db_rows_get(rows, r, EX_SENDER),
		    db_rows_get(rows, r, EX_RECIPIENT), text, strlen(text), id);
		ext = id;
	}
	json_object_set_new(o, "duplicate_of", json_string(ext));
}

/* "11638,5100" as a JSON array of numbers; null for SQL NULL. */
static json_t *
export_values(const char *s)
{
	json_t *a;

	if (s == NULL)
		return json_null();
	a = json_array();
	while (*s != '\0') {
		char *end;
		long long v = strtoll(s, &end, 10);

		if (end == s)
			break; /* the SQL writes numbers only */
		json_array_append_new(a, json_integer((json_int_t)v));
		s = *end == ',' ? end + 1 : end;
	}
	return a;
}

/* What the message stored and where its reply went. */
static void
export_stored(const struct db_rows *rows, int r, json_t *o)
{
	json_object_set_new(
	    o, "contract", export_col(rows, r, EX_CONTRACT, true));
	json_object_set_new(
	    o, "values", export_values(db_rows_get(rows, r, EX_VALUES)));
	json_object_set_new(o, "status", export_col(rows, r, EX_STATUS, true));
	json_object_set_new(
	    o, "delivery", export_col(rows, r, EX_DELIVERY, true));
	json_object_set_new(
	    o, "receipt", export_col(rows, r, EX_RECEIPT, true));
}

/* One row as one line. Returns 0 or -1 (write error). */
static int
export_row(const struct db_rows *rows, int r, const struct tz *tz, FILE *out)
{
	int64_t us = strtoll(db_rows_get(rows, r, EX_RECEIVED_US), NULL, 10);
	const char *ch = db_rows_get(rows, r, EX_CHANNEL);
	const char *from = db_rows_get(rows, r, EX_SENDER);
	const char *to = db_rows_get(rows, r, EX_RECIPIENT);
	const char *text = db_rows_get(rows, r, EX_TEXT);
	const char *ext = db_rows_get(rows, r, EX_EXTERNAL_ID);
	char id[MSG_ID_STABLE_LEN + 1], t[48];
	json_t *o = json_object();
	char *line;
	int rc;

	if (ext == NULL) {
		msg_id_stable(us, ch, from, to, text, strlen(text), id);
		ext = id;
	}
	json_object_set_new(o, "id", json_string(ext));
	json_object_set_new(
	    o, "time", json_string(replay_time_format(us, tz, t, sizeof(t))));
	json_object_set_new(o, "channel", json_string(ch));
	json_object_set_new(o, "from", json_string(from));
	json_object_set_new(o, "to", json_string(to));
	json_object_set_new(o, "text", json_string(text));
	json_object_set_new(
	    o, "outcome", export_col(rows, r, EX_OUTCOME, false));
	json_object_set_new(o, "reason", export_col(rows, r, EX_REASON, true));
	json_object_set_new(o, "reply", export_col(rows, r, EX_REPLY, true));
	export_dup_of(rows, r, o);
	export_stored(rows, r, o);
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (line == NULL)
		return -1;
	rc = export_put_json(line, out);
	free(line);
	return rc;
}

/* FETCH until the cursor is empty. */
static int
export_fetch_all(struct db_sync *db, const struct tz *tz, FILE *out,
    long *count, char *err, size_t errlen)
{
	char sql[64];

	snprintf(
	    sql, sizeof(sql), "FETCH FORWARD %d FROM ml_export", EXPORT_FETCH);
	for (;;) {
		struct db_rows *rows =
		    db_sync_query(db, sql, 0, NULL, err, errlen);
		int n;

		if (rows == NULL)
			return -1;
		n = db_rows_count(rows);
		for (int r = 0; r < n; r++) {
			if (export_row(rows, r, tz, out) != 0) {
				db_rows_free(rows);
				snprintf(err, errlen, "write error");
				return -1;
			}
		}
		*count += n;
		db_rows_free(rows);
		if (n < EXPORT_FETCH)
			return 0;
	}
}

int
replay_export(const struct replay_export_opts *o, FILE *out, long *count,
    char *err, size_t errlen)
{
	char since[24], until[24];
	const char *params[EXPORT_NPARAMS] = {
		o->has_since ? since : NULL,
		o->has_until ? until : NULL,
		o->channel,
		o->contract,
		o->sender,
		o->outcome,
	};
	struct db_sync *db;
	struct db_rows *rows;
	int rc = -1;

	*count = 0;
	snprintf(since, sizeof(since), "%" PRId64, o->since_us);
	snprintf(until, sizeof(until), "%" PRId64, o->until_us);
	if ((db = db_sync_open(o->conninfo, err, errlen)) == NULL)
		return -1;
	/* One snapshot for the whole export; read only. */
	if (db_sync_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	        err, errlen) == 0 &&
	    (rows = db_sync_query(db, export_declare, EXPORT_NPARAMS, params,
	         err, errlen)) != NULL) {
		db_rows_free(rows);
		rc = export_fetch_all(db, o->tz, out, count, err, errlen);
	}
	db_sync_close(db); /* ends the transaction */
	if (rc == 0 && fflush(out) != 0) {
		snprintf(err, errlen, "write error");
		rc = -1;
	}
	return rc;
}
