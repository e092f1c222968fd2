/*
 * export-log: the message log as JSON Lines, read through a server-side
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

/* The exported columns (DB_COLS_SQL in db.h). */
#define EXPORT_COLS(COL1, COL) \
	COL1(EX_RECEIVED_US, \
	    "(extract(epoch FROM received_at) * 1000000)::bigint") \
	COL(EX_CHANNEL, "channel") \
	COL(EX_SENDER, "sender") \
	COL(EX_RECIPIENT, "recipient") \
	COL(EX_TEXT, "text") \
	COL(EX_EXTERNAL_ID, "external_id") \
	COL(EX_OUTCOME, "outcome") \
	COL(EX_REASON, "reason") \
	COL(EX_REPLY, "reply") \
	COL(EX_DUP_US, \
	    EXPORT_DUP_COL( \
	        "(extract(epoch FROM o.received_at) * 1000000)::bigint")) \
	COL(EX_DUP_EXTERNAL_ID, EXPORT_DUP_COL("o.external_id"))
/* A column of a duplicate's original (NULL for other rows). */
#define EXPORT_DUP_COL(col) \
	"CASE WHEN messages.duplicate_of IS NULL THEN NULL ELSE (SELECT " col \
	" FROM messages AS o WHERE o.id = messages.duplicate_of LIMIT 1) END"
enum export_col { DB_COLS_ENUM(EXPORT_COLS) EX__N };

/* clang-format off */
static const char export_declare[] =
    "DECLARE ml_export NO SCROLL CURSOR FOR"
    " SELECT " DB_COLS_SQL(EXPORT_COLS)
    " FROM messages"
    " WHERE ($1::bigint IS NULL OR received_at >="
    "  timestamptz 'epoch' + $1::bigint * interval '1 microsecond')"
    " AND ($2::bigint IS NULL OR received_at <"
    "  timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
    " AND ($3::text IS NULL OR channel = $3)"
    " ORDER BY id";
/* clang-format on */

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
	const char *params[3] = {
		o->has_since ? since : NULL,
		o->has_until ? until : NULL,
		o->channel,
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
	    (rows = db_sync_query(
	         db, export_declare, 3, params, err, errlen)) != NULL) {
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
