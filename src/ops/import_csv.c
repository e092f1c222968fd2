/*
 * Contract import: CSV from billing -> COPY into a temporary table -> checks
 * across rows in SQL -> upsert of contracts and registers, in one
 * transaction. Per-line checks happen here in C, while the line is at hand;
 * checks that need other lines (duplicates, gaps, disagreeing rows of one
 * contract) are one SQL query over the temporary table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meterline/clock.h"
#include "meterline/db.h"
#include "meterline/import.h"
#include "meterline/log.h"
#include "meterline/model.h"
#include "meterline/xmalloc.h"

#define IMPORT_MAX_LINE 4096 /* longer lines are bad lines */
#define IMPORT_WHY_MAX 96
#define IMPORT_FLUSH (1u << 20) /* COPY chunk size */
#define IMPORT_NREQ 7 /* the columns every header starts with */
#define IMPORT_NCOLS 9 /* and then status and serial, in any order */

static const char *const import_cols[IMPORT_NREQ] = {
	"contract",
	"resource",
	"position",
	"register",
	"digits",
	"last_value",
	"last_date",
};
#define IMPORT_HEADER \
	"header must be contract,resource,position,register,digits," \
	"last_value,last_date[,status][,serial]"

struct import_bad {
	long line;
	char *why;
};

/* One checked line, ready for COPY. */
struct import_row {
	const char *contract, *resource, *name, *status;
	const char *serial; /* "": none (NULL in the table) */
	int position, digits;
	long last_value; /* -1: none */
	char last_date[11]; /* "" or YYYY-MM-DD */
};

struct import {
	struct db_sync *db;
	const char *name;
	import_bad_cb bad;
	void *arg;
	struct import_report *rep;
	int ncols; /* 7 to 9, from the header */
	int col_status, col_serial; /* their field, or -1: not in the header */
	char *copy; /* COPY text not yet sent */
	size_t copy_len, copy_cap;
	char *skip; /* {c1,c2,...}: contracts with a bad line */
	size_t skip_len, skip_cap;
	struct import_bad *bads; /* reported in line order at the end */
	size_t nbads, bads_cap;
};

static void
import_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Whether a name (at most MODEL_NAME_MAX bytes) is text PostgreSQL takes. */
static bool
import_name_ok(const char *f)
{
	char clean[3 * MODEL_NAME_MAX + 1];
	size_t n = strlen(f);

	return db_text_clean(clean, f, n) == n && memcmp(clean, f, n) == 0;
}

/*
 * Split one CSV line in place into at most max fields (RFC 4180 quoting,
 * "" inside quotes; spaces around unquoted fields trimmed). Returns the
 * number of fields, or -1 with why.
 */
static int
import_split(char *line, char **f, int max, const char **why)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (n == max) {
			*why = "too many fields";
			return -1;
		}
		f[n++] = w = r;
		if (*r == '"') {
			for (r++;; r++) {
				if (*r == '\0') {
					*why = "unterminated quote";
					return -1;
				}
				if (*r == '"' && r[1] != '"')
					break;
				if (*r == '"')
					r++;
				*w++ = *r;
			}
			r++;
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r != ',' && *r != '\0') {
				*why = "text after a closing quote";
				return -1;
			}
		} else {
			while (*r != ',' && *r != '\0')
				*w++ = *r++;
			while (w > f[n - 1] && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
		}
		if (*r == '\0') {
			*w = '\0';
			return n;
		}
		r++;
		*w = '\0';
	}
}

/* Parse a decimal of at most maxdig digits into *v; false if not one. */
static bool
import_uint(const char *s, unsigned maxdig, long *v)
{
	size_t n = strlen(s);

	if (n == 0 || n > maxdig)
		return false;
	*v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		*v = *v * 10 + (*s - '0');
	}
	return true;
}

static bool
import_date(const char *s, char out[11])
{
	int y, m, d;
	char tail;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (strlen(s) != 10 ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return false;
	if (s[4] != '-' || s[7] != '-' || y < 1900 || y > 2999 || m < 1 ||
	    m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	memcpy(out, s, 11);
	return true;
}

/*
 * Check the fields of one line; fills *row or returns why not (a constant
 * or whybuf, IMPORT_WHY_MAX bytes).
 */
/* The optional field col of a line (-1: no such column), or "". */
static const char *
import_opt(char **f, int n, int col)
{
	return col >= 0 && col < n ? f[col] : "";
}

/*
 * Text shown to staff or compared with what customers send (a register's
 * name, a serial): valid UTF-8, nothing that could hide, reorder or break
 * the text around it. Returns why not, or NULL.
 */
static const char *
import_text_check(const char *f, const char *what, char *whybuf)
{
	int32_t cp;

	if (!import_name_ok(f)) {
		snprintf(whybuf, IMPORT_WHY_MAX, "%s is not valid UTF-8", what);
		return whybuf;
	}
	if (log_text_unsafe(f, strlen(f), &cp) >= 0) {
		snprintf(whybuf, IMPORT_WHY_MAX,
		    cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)
		        ? "control character U+%04X in %s"
		        : "bidi or line separator character U+%04X in %s",
		    (unsigned)cp, what);
		return whybuf;
	}
	return NULL;
}

static const char *
import_check(const struct import *im, char **f, int n, struct import_row *row,
    char *whybuf)
{
	const char *why;
	long v;

	if (!import_uint(f[0], MODEL_CONTRACT_MAX, &v) || strlen(f[0]) < 4)
		return "contract must be 4-12 digits";
	row->contract = f[0];
	if (strcmp(f[1], "electricity") && strcmp(f[1], "hot_water") &&
	    strcmp(f[1], "cold_water"))
		return "resource must be electricity, hot_water or cold_water";
	row->resource = f[1];
	if (!import_uint(f[2], 1, &v) || v < 1 || v > MODEL_MAX_REGISTERS)
		return "position must be 1-6";
	row->position = (int)v;
	if (f[3][0] == '\0')
		return "register name is empty";
	if (strlen(f[3]) > MODEL_NAME_MAX)
		return "register name longer than 47 bytes";
	if ((why = import_text_check(f[3], "register name", whybuf)) != NULL)
		return why;
	row->name = f[3];
	if (!import_uint(f[4], 1, &v) || v < MODEL_DIGITS_MIN ||
	    v > MODEL_DIGITS_MAX)
		return "digits must be 4-9";
	row->digits = (int)v;
	row->last_value = -1;
	if (f[5][0] != '\0') {
		if (!import_uint(f[5], (unsigned)row->digits, &row->last_value))
			return "last_value must be a whole number within the digits";
	}
	row->last_date[0] = '\0';
	if (f[6][0] != '\0') {
		if (!import_date(f[6], row->last_date))
			return "last_date must be a date YYYY-MM-DD";
		if (row->last_value < 0)
			return "last_date without last_value";
	}
	row->status = import_opt(f, n, im->col_status);
	if (row->status[0] == '\0')
		row->status = "active";
	if (strcmp(row->status, "active") && strcmp(row->status, "closed"))
		return "status must be active or closed";
	row->serial = import_opt(f, n, im->col_serial);
	if (strlen(row->serial) > MODEL_SERIAL_MAX)
		return "serial longer than 32 bytes";
	return import_text_check(row->serial, "serial", whybuf);
}

/* Text into the COPY stream: only the backslash needs escaping (the
   checks let no control character through). */
static void
import_copy_text(struct import *im, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			import_append(
			    &im->copy, &im->copy_len, &im->copy_cap, "\\", 1);
		import_append(&im->copy, &im->copy_len, &im->copy_cap, p, 1);
	}
}

/* One COPY text-format line: tab-separated, \N for NULL. */
static void
import_copy_row(struct import *im, long line, const struct import_row *r)
{
	char head[64], tail[96];
	int n;

	n = snprintf(head, sizeof(head), "%ld\t", line);
	import_append(&im->copy, &im->copy_len, &im->copy_cap, head, (size_t)n);
	import_append(&im->copy, &im->copy_len, &im->copy_cap, r->contract,
	    strlen(r->contract));
	n = snprintf(
	    head, sizeof(head), "\t%s\t%d\t", r->resource, r->position);
	import_append(&im->copy, &im->copy_len, &im->copy_cap, head, (size_t)n);
	import_copy_text(im, r->name);
	if (r->last_value >= 0)
		n = snprintf(tail, sizeof(tail), "\t%d\t%ld\t%s\t%s\t",
		    r->digits, r->last_value,
		    r->last_date[0] ? r->last_date : "\\N", r->status);
	else
		n = snprintf(tail, sizeof(tail), "\t%d\t\\N\t\\N\t%s\t",
		    r->digits, r->status);
	import_append(&im->copy, &im->copy_len, &im->copy_cap, tail, (size_t)n);
	if (r->serial[0] != '\0')
		import_copy_text(im, r->serial);
	else
		import_append(
		    &im->copy, &im->copy_len, &im->copy_cap, "\\N", 2);
	import_append(&im->copy, &im->copy_len, &im->copy_cap, "\n", 1);
}

/* Note a bad line; import_report_bads() reports them in line order. */
static void
import_bad(struct import *im, long line, const char *why)
{
	im->rep->bad_lines++;
	if (im->nbads == im->bads_cap) {
		im->bads_cap = im->bads_cap ? im->bads_cap * 2 : 64;
		im->bads = xrealloc(im->bads, im->bads_cap * sizeof(*im->bads));
	}
	im->bads[im->nbads].line = line;
	im->bads[im->nbads++].why = xstrdup(why);
}

static int
import_bad_cmp(const void *a, const void *b)
{
	long la = ((const struct import_bad *)a)->line;
	long lb = ((const struct import_bad *)b)->line;

	return (la > lb) - (la < lb);
}

static void
import_report_bads(struct import *im)
{
	if (im->nbads > 1)
		qsort(im->bads, im->nbads, sizeof(*im->bads), import_bad_cmp);
	for (size_t i = 0; i < im->nbads; i++) {
		if (im->bad)
			im->bad(im->name, im->bads[i].line, im->bads[i].why,
			    im->arg);
		free(im->bads[i].why);
	}
	free(im->bads);
}

/* Check the header line; sets im->ncols. Returns why not, or NULL. */
static const char *
import_header(struct import *im, char *line)
{
	char *f[IMPORT_NCOLS + 1];
	const char *why = NULL;
	int n;

	if ((unsigned char)line[0] == 0xef && (unsigned char)line[1] == 0xbb &&
	    (unsigned char)line[2] == 0xbf)
		line += 3; /* UTF-8 byte order mark, as spreadsheets write it */
	n = import_split(line, f, IMPORT_NCOLS + 1, &why);
	if (n < IMPORT_NREQ || n > IMPORT_NCOLS)
		return IMPORT_HEADER;
	for (int i = 0; i < IMPORT_NREQ; i++)
		if (strcasecmp(f[i], import_cols[i]) != 0)
			return IMPORT_HEADER;
	im->col_status = im->col_serial = -1;
	for (int i = IMPORT_NREQ; i < n; i++) {
		int *col = strcasecmp(f[i], "status") == 0 ? &im->col_status
		    : strcasecmp(f[i], "serial") == 0      ? &im->col_serial
		                                           : NULL;

		if (col == NULL || *col >= 0)
			return IMPORT_HEADER;
		*col = i;
	}
	im->ncols = n;
	return NULL;
}

/*
 * Remember the contract of a bad line (its first field, if that is a
 * contract number): none of that contract's lines is loaded.
 */
static void
import_skip_contract(struct import *im, const char *line)
{
	char contract[MODEL_CONTRACT_MAX + 1];
	size_t n = 0;

	while (*line == ' ' || *line == '\t' || *line == '"')
		line++;
	while (line[n] >= '0' && line[n] <= '9' && n < MODEL_CONTRACT_MAX) {
		contract[n] = line[n];
		n++;
	}
	contract[n] = '\0';
	if (n < 4 || (line[n] != ',' && line[n] != '"' && line[n] != ' '))
		return; /* not a contract number: nothing to skip */
	if (im->skip_len > 1)
		import_append(&im->skip, &im->skip_len, &im->skip_cap, ",", 1);
	import_append(&im->skip, &im->skip_len, &im->skip_cap, contract, n);
}

/* A line with a wrong number of fields. */
static const char *
import_fields_why(const struct import *im, char *whybuf)
{
	if (im->ncols == IMPORT_NREQ)
		return "expected 7 fields";
	snprintf(whybuf, IMPORT_WHY_MAX, "expected 7 %s %d fields",
	    im->ncols == IMPORT_NREQ + 1 ? "or" : "to", im->ncols);
	return whybuf;
}

/* One data line: check it, append it to the COPY buffer or report it. */
static void
import_line(struct import *im, char *line, size_t len, long lineno)
{
	char *f[IMPORT_NCOLS + 1], raw[MODEL_CONTRACT_MAX + 4];
	char whybuf[IMPORT_WHY_MAX];
	struct import_row row;
	const char *why = NULL;
	int n;

	im->rep->lines++;
	snprintf(raw, sizeof(raw), "%s", line); /* split works in place */
	if (len > IMPORT_MAX_LINE) {
		why = "line longer than 4096 bytes";
	} else {
		n = import_split(line, f, IMPORT_NCOLS + 1, &why);
		/* the optional columns may be left off at the end */
		if (n >= 0 && (n < IMPORT_NREQ || n > im->ncols))
			why = import_fields_why(im, whybuf);
		if (why == NULL)
			why = import_check(im, f, n, &row, whybuf);
	}
	if (why != NULL) {
		import_bad(im, lineno, why);
		import_skip_contract(im, raw);
		return;
	}
	import_copy_row(im, lineno, &row);
}

static int
import_flush(struct import *im, char *err, size_t errlen)
{
	if (im->db == NULL) { /* import_check_csv: nothing to load into */
		im->copy_len = 0;
		return 0;
	}
	if (db_sync_copy_put(im->db, im->copy, im->copy_len, err, errlen) < 0)
		return -1;
	im->copy_len = 0;
	return 0;
}

/* Read every line of `in` into the COPY stream. */
static int
import_read(struct import *im, FILE *in, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;

	while ((len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		while (
		    len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (lineno == 1) {
			const char *why = import_header(im, line);

			if (why != NULL) {
				snprintf(
				    err, errlen, "%s:1: %s", im->name, why);
				rc = -1;
				break;
			}
			continue;
		}
		if (len == 0)
			continue; /* blank lines, e.g. at the end */
		if (strlen(line) != (size_t)len) {
			im->rep->lines++;
			import_bad(im, lineno, "NUL byte in line");
			continue;
		}
		import_line(im, line, (size_t)len, lineno);
		if (im->copy_len >= IMPORT_FLUSH &&
		    (rc = import_flush(im, err, errlen)) < 0)
			break;
	}
	if (rc == 0 && ferror(in)) {
		snprintf(err, errlen, "%s: read error: %s", im->name,
		    strerror(errno));
		rc = -1;
	} else if (rc == 0 && lineno == 0) {
		snprintf(err, errlen, "%s: empty file (no header)", im->name);
		rc = -1;
	}
	free(line);
	return rc;
}

/*
 * Checks that need several lines. Every line of a contract that fails one
 * is reported; its contract joins import_skip.
 */
static const char import_cross_sql[] =
    "WITH r AS ("
    " SELECT line, contract, position, resource, status,"
    "  min(line) OVER (PARTITION BY contract, position) AS first_pos,"
    "  first_value(line) OVER c AS first_line,"
    "  first_value(resource) OVER c AS first_resource,"
    "  first_value(status) OVER c AS first_status"
    " FROM import_rows WINDOW c AS (PARTITION BY contract ORDER BY line)),"
    " bad AS ("
    " SELECT line, contract, CASE"
    "  WHEN line <> first_pos THEN format('contract %s: register position %s "
    "again (first on line %s)', contract, position, first_pos)"
    "  WHEN resource <> first_resource THEN format('contract %s: resource %s "
    "differs from %s on line %s', contract, resource, first_resource, first_line)"
    "  ELSE format('contract %s: status %s differs from %s on line %s',"
    "   contract, status, first_status, first_line) END AS why"
    " FROM r WHERE line <> first_pos OR resource <> first_resource"
    "  OR status <> first_status"
    " UNION ALL"
    " SELECT min(line), contract, format('contract %s: register positions "
    "must be 1..%s without gaps', contract, count(DISTINCT position))"
    " FROM import_rows GROUP BY contract"
    " HAVING max(position) <> count(DISTINCT position)),"
    " skip AS (INSERT INTO import_skip SELECT DISTINCT contract FROM bad)"
    " SELECT line, why FROM bad ORDER BY line";

static int
import_cross_check(struct import *im, char *err, size_t errlen)
{
	struct db_rows *r;

	r = db_sync_query(im->db, import_cross_sql, 0, NULL, err, errlen);
	if (r == NULL)
		return -1;
	for (int i = 0; i < db_rows_count(r); i++)
		import_bad(
		    im, atol(db_rows_get(r, i, 0)), db_rows_get(r, i, 1));
	db_rows_free(r);
	return 0;
}

/* A query whose one row of counts lands in *a, *b, *c (NULL: not wanted). */
static int
import_count(struct import *im, const char *sql, long *a, long *b, long *c,
    char *err, size_t errlen)
{
	struct db_rows *r = db_sync_query(im->db, sql, 0, NULL, err, errlen);
	long *out[3] = { a, b, c };

	if (r == NULL)
		return -1;
	for (int i = 0; i < 3 && out[i] != NULL; i++)
		*out[i] = atol(db_rows_get(r, 0, i));
	db_rows_free(r);
	return 0;
}

/*
 * The upsert. A register's last value and date from billing replace ours
 * unless ours is newer (a reading accepted after billing's export) and the
 * meter is the same (same digit capacity).
 *
 * Rows that would not change are filtered out before the INSERT: ON
 * CONFLICT locks every row it meets, even when its WHERE skips the update,
 * and the store locks registers while it applies readings. Rows are
 * written in (contract, position) order, the order the store locks them
 * in, so the two never deadlock.
 */
static const char import_contracts_sql[] =
    "WITH f AS (SELECT DISTINCT ON (contract) contract, resource, status"
    "  FROM import_rows ORDER BY contract, line),"
    " u AS (INSERT INTO contracts AS c (contract, resource, status)"
    "  SELECT f.contract, f.resource, f.status FROM f"
    "  WHERE NOT EXISTS (SELECT 1 FROM contracts x WHERE x.contract = f.contract"
    "   AND x.resource = f.resource AND x.status = f.status)"
    "  ORDER BY f.contract"
    "  ON CONFLICT (contract) DO UPDATE SET resource = EXCLUDED.resource,"
    "   status = EXCLUDED.status, imported_at = EXCLUDED.imported_at"
    "  RETURNING (xmax = 0) AS new)"
    " SELECT (SELECT count(*) FROM f),"
    "  count(*) FILTER (WHERE new), count(*) FILTER (WHERE NOT new) FROM u";
static const char import_removed_sql[] =
    "WITH d AS (DELETE FROM registers g"
    " WHERE g.contract IN (SELECT contract FROM import_rows)"
    " AND NOT EXISTS (SELECT 1 FROM import_rows i"
    "  WHERE i.contract = g.contract AND i.position = g.position)"
    " RETURNING 1) SELECT count(*) FROM d";
/* Whether register `o` (ours) keeps its last value over `t` (billing's). */
/* clang-format off */
#define IMPORT_KEEP_OURS(o, t) \
	o ".digits = " t ".digits AND " o ".last_date IS NOT NULL" \
	" AND (" t ".last_date IS NULL OR " t ".last_date < " o ".last_date)"
/*
 * The meter's serial: billing's when the file has the column (an empty
 * cell clears it), else ours stays. SERIAL(x) is what register x's serial
 * becomes, for the "would not change" filter and the update.
 */
#define IMPORT_REGISTERS_SQL(SERIAL_NEW, SERIAL_SAME) \
    "WITH u AS (INSERT INTO registers AS g" \
    " (contract, position, name, digits, last_value, last_date, serial)" \
    " SELECT i.contract, i.position, i.name, i.digits, i.last_value," \
    " i.last_date, i.serial" \
    " FROM import_rows i" \
    " WHERE NOT EXISTS (SELECT 1 FROM registers x WHERE x.contract = i.contract" \
    "  AND x.position = i.position AND x.name = i.name AND x.digits = i.digits" \
    "  AND " SERIAL_SAME \
    "  AND ((" IMPORT_KEEP_OURS("x", "i") ")" \
    "   OR (x.last_value IS NOT DISTINCT FROM i.last_value" \
    "    AND x.last_date IS NOT DISTINCT FROM i.last_date)))" \
    " ORDER BY i.contract, i.position" \
    " ON CONFLICT (contract, position) DO UPDATE SET" \
    "  name = EXCLUDED.name, digits = EXCLUDED.digits, serial = " SERIAL_NEW "," \
    IMPORT_REGISTERS_SET
#define IMPORT_REGISTERS_SET \
    "  last_value = CASE WHEN " IMPORT_KEEP_OURS("g", "EXCLUDED") \
    "   THEN g.last_value ELSE EXCLUDED.last_value END," \
    "  last_date = CASE WHEN " IMPORT_KEEP_OURS("g", "EXCLUDED") \
    "   THEN g.last_date ELSE EXCLUDED.last_date END," \
    /* billing's value has no "before" we know of (a correction's base) */ \
    "  prev_value = CASE WHEN " IMPORT_KEEP_OURS("g", "EXCLUDED") \
    "   THEN g.prev_value END," \
    "  prev_date = CASE WHEN " IMPORT_KEEP_OURS("g", "EXCLUDED") \
    "   THEN g.prev_date END" \
    " RETURNING 1)" \
    " SELECT (SELECT count(*) FROM import_rows), (SELECT count(*) FROM u)"
static const char import_registers_sql[] =
    IMPORT_REGISTERS_SQL("g.serial", "true");
static const char import_registers_serial_sql[] = IMPORT_REGISTERS_SQL(
    "EXCLUDED.serial", "x.serial IS NOT DISTINCT FROM i.serial");
/* clang-format on */

/* Drop the lines of skipped contracts; count the skipped contracts. */
static const char import_drop_sql[] =
    "WITH d AS (DELETE FROM import_rows WHERE contract IN"
    " (SELECT contract FROM import_skip) RETURNING 1)"
    " SELECT count(DISTINCT contract) FROM import_skip";

static int
import_apply(struct import *im, char *err, size_t errlen)
{
	const char *params[1] = { im->skip };
	struct import_report *rep = im->rep;
	struct db_rows *r;

	r = db_sync_query(im->db,
	    "INSERT INTO import_skip "
	    "SELECT unnest($1::text[])",
	    1, params, err, errlen);
	if (r == NULL)
		return -1;
	db_rows_free(r);
	if (import_count(im, import_drop_sql, &rep->contracts_skipped, NULL,
	        NULL, err, errlen) < 0 ||
	    db_sync_exec(im->db, "ANALYZE import_rows", err, errlen) < 0 ||
	    import_cross_check(im, err, errlen) < 0 ||
	    import_count(im, import_drop_sql, &rep->contracts_skipped, NULL,
	        NULL, err, errlen) < 0 ||
	    import_count(im, import_contracts_sql, &rep->contracts,
	        &rep->contracts_new, &rep->contracts_changed, err,
	        errlen) < 0 ||
	    import_count(im, import_removed_sql, &rep->registers_removed, NULL,
	        NULL, err, errlen) < 0 ||
	    import_count(im,
	        im->col_serial >= 0 ? import_registers_serial_sql
	                            : import_registers_sql,
	        &rep->registers, &rep->registers_changed, NULL, err,
	        errlen) < 0)
		return -1;
	return 0;
}

static const char import_setup_sql[] =
    "SET client_min_messages = warning;"
    "BEGIN;"
    "CREATE TEMP TABLE import_rows (line integer NOT NULL, contract text NOT NULL,"
    " resource text NOT NULL, position smallint NOT NULL, name text NOT NULL,"
    " digits smallint NOT NULL, last_value integer, last_date date,"
    " status text NOT NULL, serial text) ON COMMIT DROP;"
    "CREATE TEMP TABLE import_skip (contract text) ON COMMIT DROP;";

/* The whole import inside one transaction on im->db. */
static int
import_run(struct import *im, FILE *in, char *err, size_t errlen)
{
	if (db_sync_exec(im->db, import_setup_sql, err, errlen) < 0 ||
	    db_sync_copy_begin(
	        im->db, "COPY import_rows FROM STDIN", err, errlen) < 0)
		return -1;
	if (import_read(im, in, err, errlen) < 0) {
		char ignored[256];

		db_sync_copy_end(im->db, ignored, sizeof(ignored));
		return -1;
	}
	import_append(&im->skip, &im->skip_len, &im->skip_cap, "}", 1);
	if (import_flush(im, err, errlen) < 0 ||
	    db_sync_copy_end(im->db, err, errlen) < 0 ||
	    import_apply(im, err, errlen) < 0 ||
	    db_sync_exec(im->db, "COMMIT", err, errlen) < 0 ||
	    /* fresh statistics for the store's plans (docs/retention.md) */
	    db_sync_exec(im->db, "ANALYZE contracts, registers", err, errlen) <
	        0)
		return -1;
	return 0;
}

int
import_contracts(const char *conninfo, FILE *in, const char *name,
    import_bad_cb bad, void *arg, struct import_report *rep, char *err,
    size_t errlen)
{
	struct import im = { .name = name, .bad = bad, .arg = arg, .rep = rep };
	int64_t t0 = clock_mono_us();
	int rc;

	memset(rep, 0, sizeof(*rep));
	if ((im.db = db_sync_open(conninfo, err, errlen)) == NULL)
		return -1;
	import_append(&im.skip, &im.skip_len, &im.skip_cap, "{", 1);
	rc = import_run(&im, in, err, errlen);
	db_sync_close(im.db); /* an open transaction is rolled back */
	import_report_bads(&im);
	free(im.copy);
	free(im.skip);
	rep->seconds = (double)(clock_mono_us() - t0) / 1e6;
	return rc;
}

int
import_check_csv(FILE *in, const char *name, import_bad_cb bad, void *arg,
    struct import_report *rep, char *err, size_t errlen)
{
	struct import im = { .name = name, .bad = bad, .arg = arg, .rep = rep };
	int rc;

	memset(rep, 0, sizeof(*rep));
	import_append(&im.skip, &im.skip_len, &im.skip_cap, "{", 1);
	rc = import_read(&im, in, err, errlen);
	import_report_bads(&im);
	free(im.copy);
	free(im.skip);
	return rc;
}
