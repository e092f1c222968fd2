/*
 * House import (issue 18, docs/house-entry.md): billing's CSV
 *
 *   contract,city,street,number,apartment,serials
 *   102057522,Новосибирск,Авиастроителей ул.,5,12,123456789
 *
 * serials: the registers' serial numbers in position order, separated by
 * spaces or ';' (may be empty). Each line checked in C -> COPY into a
 * temporary table -> lines of contracts we do not have reported -> houses
 * inserted (new ones get an id), contracts given house and apartment,
 * registers their serial, in one transaction. Fields hold no comma, quote,
 * tab or backslash (billing's addresses do not need them).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meterline/clock.h"
#include "meterline/db.h"
#include "meterline/import.h"
#include "meterline/log.h"
#include "meterline/model.h"

#include "import_int.h"

#define HOUSES_FLUSH (1u << 20) /* COPY chunk size */
#define HOUSES_FIELDS 6
#define HOUSES_FIELD_MAX 200 /* bytes of a city, street, number, apartment */
#define HOUSES_SERIAL_MAX 32

struct houses {
	struct db_sync *db;
	const char *name;
	import_bad_cb bad;
	void *arg;
	struct import_houses_report *rep;
	char copy[HOUSES_FLUSH + 4096];
	size_t copy_len;
};

static void
houses_bad(struct houses *im, long line, const char *why)
{
	im->rep->bad_lines++;
	if (im->bad != NULL)
		im->bad(im->name, line, why, im->arg);
}

/* Whether s is 4..12 ASCII digits (a contract number). */
static bool
houses_contract_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return s[n] == '\0' && n >= 4 && n <= MODEL_CONTRACT_MAX;
}

/* Trim spaces at both ends in place. */
static char *
houses_trim(char *s)
{
	size_t n;

	s += strspn(s, " ");
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

/* Split line at commas into exactly HOUSES_FIELDS trimmed fields. */
static bool
houses_split(char *line, char *f[HOUSES_FIELDS])
{
	int n = 0;

	for (char *p = line;; p++) {
		char *comma = strchr(p, ',');

		if (n == HOUSES_FIELDS)
			return false;
		f[n++] = p;
		if (comma == NULL)
			break;
		*comma = '\0';
		p = comma;
	}
	for (int i = 0; i < n; i++)
		f[i] = houses_trim(f[i]);
	return n == HOUSES_FIELDS;
}

/* The serials as a PostgreSQL array literal {a,b}: digits, letters, '-'. */
static const char *
houses_serials(char *s, char *out, size_t outlen)
{
	size_t len = 1;
	int n = 0;

	out[0] = '{';
	for (char *tok = strtok(s, " ;"); tok != NULL;
	     tok = strtok(NULL, " ;")) {
		size_t tl = strlen(tok);

		if (tl > HOUSES_SERIAL_MAX ||
		    strspn(tok,
		        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		        "abcdefghijklmnopqrstuvwxyz-/") != tl)
			return "a serial is 1..32 of 0-9 A-Z a-z - /";
		if (++n > MODEL_MAX_REGISTERS || len + tl + 3 > outlen)
			return "more serials than a contract has registers";
		len += (size_t)snprintf(
		    out + len, outlen - len, "%s%s", n > 1 ? "," : "", tok);
	}
	snprintf(out + len, outlen - len, "}");
	return NULL;
}

/* Why a text field cannot be loaded, or NULL. */
static const char *
houses_text_why(const char *s, bool required)
{
	char clean[3 * HOUSES_FIELD_MAX + 1];
	size_t n = strlen(s);
	int32_t cp;

	if (required && n == 0)
		return "city, street and number must not be empty";
	if (n > HOUSES_FIELD_MAX)
		return "a field is over 200 bytes";
	if (strpbrk(s, "\"\t\\") != NULL)
		return "quotes, tabs and backslashes are not allowed";
	/* PostgreSQL would refuse the whole COPY for one such line */
	if (db_text_clean(clean, s, n) != n || memcmp(clean, s, n) != 0)
		return "a field is not valid UTF-8";
	if (log_text_unsafe(s, n, &cp) >= 0)
		return "a field has a control, bidi or line separator character";
	return NULL;
}

/* The COPY rows so far to the server (none without one: a check). */
static int
houses_flush(struct houses *im, char *err, size_t errlen)
{
	if (im->copy_len > 0 && im->db != NULL &&
	    db_sync_copy_put(im->db, im->copy, im->copy_len, err, errlen) < 0)
		return -1;
	im->copy_len = 0;
	return 0;
}

/* One data line: checked, then a COPY row of the temporary table. */
static int
houses_line(void *ctx, char *line, long lineno, char *err, size_t errlen)
{
	struct houses *im = ctx;
	char *f[HOUSES_FIELDS], serials[HOUSES_FIELD_MAX * 2];
	const char *why = NULL;

	im->rep->lines++;
	if (!houses_split(line, f))
		why = "want 6 fields: contract,city,street,number,apartment,"
		      "serials";
	else if (!houses_contract_ok(f[0]))
		why = "contract is not 4..12 digits";
	for (int i = 1; why == NULL && i < 5; i++)
		why = houses_text_why(f[i], i < 4);
	if (why == NULL)
		why = houses_serials(f[5], serials, sizeof(serials));
	if (why != NULL) {
		houses_bad(im, lineno, why);
		return 0;
	}
	im->copy_len += (size_t)snprintf(im->copy + im->copy_len,
	    sizeof(im->copy) - im->copy_len, "%ld\t%s\t%s\t%s\t%s\t%s\t%s\n",
	    lineno, f[0], f[1], f[2], f[3], f[4][0] ? f[4] : "\\N", serials);
	return im->copy_len >= HOUSES_FLUSH ? houses_flush(im, err, errlen) : 0;
}

/* The header, names in any case with spaces around them. */
static bool
houses_header(char *line)
{
	static const char *const names[HOUSES_FIELDS] = { "contract", "city",
		"street", "number", "apartment", "serials" };
	char *f[HOUSES_FIELDS];

	if (!houses_split(line, f))
		return false;
	for (int i = 0; i < HOUSES_FIELDS; i++)
		if (strcasecmp(f[i], names[i]) != 0)
			return false;
	return true;
}

/* A data line with a NUL byte: counted and reported. */
static void
houses_unreadable(void *ctx, long lineno, const char *why)
{
	struct houses *im = ctx;

	im->rep->lines++;
	houses_bad(im, lineno, why);
}

static int
houses_read(struct houses *im, FILE *in, char *err, size_t errlen)
{
	struct import_lines il = { .name = im->name,
		.header = "contract,city,street,number,apartment,serials",
		.header_ok = houses_header,
		.line = houses_line,
		.bad = houses_unreadable,
		.ctx = im };

	return import_read_lines(&il, in, err, errlen);
}

static const char houses_setup_sql[] =
    "SET client_min_messages = warning;"
    "BEGIN;"
    "CREATE TEMP TABLE import_houses (line integer NOT NULL,"
    " contract text NOT NULL, city text NOT NULL, street text NOT NULL,"
    " number text NOT NULL, apartment text, serials text[] NOT NULL)"
    " ON COMMIT DROP;";

/* Lines naming a contract we do not have, or one named twice. */
static const char houses_unknown_sql[] =
    "WITH d AS (DELETE FROM import_houses AS h WHERE NOT EXISTS"
    " (SELECT 1 FROM contracts AS c WHERE c.contract = h.contract)"
    " OR EXISTS (SELECT 1 FROM import_houses AS o"
    "  WHERE o.contract = h.contract AND o.line < h.line)"
    " RETURNING line, contract, EXISTS (SELECT 1 FROM contracts AS c"
    "  WHERE c.contract = h.contract) AS known)"
    " SELECT line, CASE WHEN known"
    "  THEN format('contract %s is on an earlier line', contract)"
    "  ELSE format('contract %s is not imported', contract) END"
    " FROM d ORDER BY line";

/* Houses first: a CTE does not see the rows another CTE of the same
 * statement inserts. */
static const char houses_insert_sql[] =
    "WITH n AS (INSERT INTO houses (city, street, number)"
    "  SELECT DISTINCT city, street, number FROM import_houses"
    "  ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM n),"
    " (SELECT count(DISTINCT (city, street, number)) FROM import_houses)";

/* Then each contract its house and apartment, each register its serial. */
static const char houses_place_sql[] =
    "WITH c AS (UPDATE contracts AS c SET house_id = h.id,"
    "  apartment = i.apartment"
    "  FROM import_houses AS i JOIN houses AS h"
    "  ON (h.city, h.street, h.number) = (i.city, i.street, i.number)"
    "  WHERE c.contract = i.contract RETURNING 1),"
    " g AS (UPDATE registers AS g SET serial = s.serial"
    "  FROM import_houses AS i,"
    "  unnest(i.serials) WITH ORDINALITY AS s (serial, position)"
    "  WHERE g.contract = i.contract AND g.position = s.position"
    "  RETURNING 1)"
    " SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM g)";

static int
houses_apply(struct houses *im, char *err, size_t errlen)
{
	struct db_rows *r;

	r = db_sync_query(im->db, houses_unknown_sql, 0, NULL, err, errlen);
	if (r == NULL)
		return -1;
	for (int i = 0; i < db_rows_count(r); i++)
		houses_bad(
		    im, atol(db_rows_get(r, i, 0)), db_rows_get(r, i, 1));
	db_rows_free(r);
	r = db_sync_query(im->db, houses_insert_sql, 0, NULL, err, errlen);
	if (r == NULL)
		return -1;
	im->rep->houses_new = atol(db_rows_get(r, 0, 0));
	im->rep->houses = atol(db_rows_get(r, 0, 1));
	db_rows_free(r);
	r = db_sync_query(im->db, houses_place_sql, 0, NULL, err, errlen);
	if (r == NULL)
		return -1;
	im->rep->contracts = atol(db_rows_get(r, 0, 0));
	im->rep->serials = atol(db_rows_get(r, 0, 1));
	db_rows_free(r);
	if (db_sync_exec(im->db, "COMMIT", err, errlen) < 0)
		return -1;
	/* fresh statistics for the store's plans, as the other imports
	   (docs/retention.md) */
	return db_sync_exec(
	    im->db, "ANALYZE houses, contracts, registers", err, errlen);
}

static int
houses_run(struct houses *im, FILE *in, char *err, size_t errlen)
{
	char ignored[256];

	if (db_sync_exec(im->db, houses_setup_sql, err, errlen) < 0 ||
	    db_sync_copy_begin(
	        im->db, "COPY import_houses FROM STDIN", err, errlen) < 0)
		return -1;
	if (houses_read(im, in, err, errlen) < 0 ||
	    houses_flush(im, err, errlen) < 0) {
		db_sync_copy_end(im->db, ignored, sizeof(ignored));
		return -1;
	}
	if (db_sync_copy_end(im->db, err, errlen) < 0)
		return -1;
	return houses_apply(im, err, errlen);
}

/* A fresh import with an empty report; NULL with why in err. */
static struct houses *
houses_new(const char *name, import_bad_cb bad, void *arg,
    struct import_houses_report *rep, char *err, size_t errlen)
{
	struct houses *im = calloc(1, sizeof(*im));

	memset(rep, 0, sizeof(*rep));
	if (im == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	im->name = name;
	im->bad = bad;
	im->arg = arg;
	im->rep = rep;
	return im;
}

int
import_houses(const char *conninfo, FILE *in, const char *name,
    import_bad_cb bad, void *arg, struct import_houses_report *rep, char *err,
    size_t errlen)
{
	struct houses *im = houses_new(name, bad, arg, rep, err, errlen);
	int64_t t0 = clock_mono_us();
	int rc = -1;

	if (im == NULL)
		return -1;
	if ((im->db = db_sync_open(conninfo, err, errlen)) != NULL) {
		rc = houses_run(im, in, err, errlen);
		db_sync_close(im->db); /* an open transaction is rolled back */
	}
	free(im);
	rep->seconds = (double)(clock_mono_us() - t0) / 1e6;
	return rc;
}

int
import_check_houses(FILE *in, const char *name, import_bad_cb bad, void *arg,
    struct import_houses_report *rep, char *err, size_t errlen)
{
	struct houses *im = houses_new(name, bad, arg, rep, err, errlen);
	int rc;

	if (im == NULL)
		return -1;
	rc = houses_read(im, in, err, errlen);
	free(im);
	return rc;
}
