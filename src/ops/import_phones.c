/*
 * Phone import (issue 17, docs/store.md "Bindings"): billing's CSV
 *
 *   contract,phone
 *   102057522,+7 912 345-67-89
 *
 * -> each line checked and the phone normalised in C -> COPY into a
 * temporary table -> lines of contracts we do not have reported -> the
 * rest added to bindings (ON CONFLICT DO NOTHING), in one transaction.
 * Bindings not in the file stay: a customer's ОТВЯЗАТЬ removes one.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meterline/clock.h"
#include "meterline/db.h"
#include "meterline/import.h"
#include "meterline/model.h"

#include "import_int.h"

#define PHONES_FLUSH (1u << 20) /* COPY chunk size */
#define PHONE_MIN 10 /* digits of an international number */
#define PHONE_MAX 15 /* E.164 */

struct phones {
	struct db_sync *db;
	const char *name;
	import_bad_cb bad;
	void *arg;
	struct import_phones_report *rep;
	char copy[PHONES_FLUSH + 128];
	size_t copy_len;
};

static void
phones_bad(struct phones *im, long line, const char *why)
{
	im->rep->bad_lines++;
	if (im->bad != NULL)
		im->bad(im->name, line, why, im->arg);
}

/* Whether s is 4..12 ASCII digits (a contract number). */
static bool
phones_contract_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return s[n] == '\0' && n >= 4 && n <= MODEL_CONTRACT_MAX;
}

/*
 * The phone as an SMS sender arrives: digits of the international form.
 * Spaces, - ( ) and a leading + are dropped; 8XXXXXXXXXX (the Russian
 * trunk prefix) becomes 7XXXXXXXXXX. Returns false when it is no phone.
 */
static bool
phones_normalise(const char *s, char out[PHONE_MAX + 1])
{
	size_t n = 0;

	if (*s == '+')
		s++;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '-' || *s == '(' || *s == ')')
			continue;
		if (*s < '0' || *s > '9' || n == PHONE_MAX)
			return false;
		out[n++] = *s;
	}
	out[n] = '\0';
	if (n == 11 && out[0] == '8')
		out[0] = '7';
	return n >= PHONE_MIN;
}

/* The COPY rows so far to the server (none without one: a check). */
static int
phones_flush(struct phones *im, char *err, size_t errlen)
{
	if (im->copy_len > 0 && im->db != NULL &&
	    db_sync_copy_put(im->db, im->copy, im->copy_len, err, errlen) < 0)
		return -1;
	im->copy_len = 0;
	return 0;
}

/* One data line: checked, then a COPY row "line \t phone \t contract". */
static int
phones_line(void *ctx, char *line, long lineno, char *err, size_t errlen)
{
	struct phones *im = ctx;
	char *comma = strchr(line, ',');
	char phone[PHONE_MAX + 1];

	im->rep->lines++;
	if (comma == NULL || strchr(comma + 1, ',') != NULL) {
		phones_bad(im, lineno, "want 2 fields: contract,phone");
		return 0;
	}
	*comma = '\0';
	if (!phones_contract_ok(line)) {
		phones_bad(im, lineno, "contract is not 4..12 digits");
		return 0;
	}
	if (!phones_normalise(comma + 1, phone)) {
		phones_bad(im, lineno,
		    "phone is not 10..15 digits (spaces, - ( ) and a leading +"
		    " allowed)");
		return 0;
	}
	im->copy_len += (size_t)snprintf(im->copy + im->copy_len,
	    sizeof(im->copy) - im->copy_len, "%ld\t%s\t%s\n", lineno, phone,
	    line);
	return im->copy_len >= PHONES_FLUSH ? phones_flush(im, err, errlen) : 0;
}

/* The header: contract,phone (any case, spaces around the names). */
static bool
phones_header(char *line)
{
	char a[16], b[16];

	return sscanf(line, " %15[A-Za-z_] , %15[A-Za-z_] ", a, b) == 2 &&
	    strcasecmp(a, "contract") == 0 && strcasecmp(b, "phone") == 0;
}

/* A data line with a NUL byte: counted and reported. */
static void
phones_unreadable(void *ctx, long lineno, const char *why)
{
	struct phones *im = ctx;

	im->rep->lines++;
	phones_bad(im, lineno, why);
}

static int
phones_read(struct phones *im, FILE *in, char *err, size_t errlen)
{
	struct import_lines il = { .name = im->name,
		.header = "contract,phone",
		.header_ok = phones_header,
		.line = phones_line,
		.bad = phones_unreadable,
		.ctx = im };

	return import_read_lines(&il, in, err, errlen);
}

static const char phones_setup_sql[] =
    "SET client_min_messages = warning;"
    "BEGIN;"
    "CREATE TEMP TABLE import_phones (line integer NOT NULL,"
    " phone text NOT NULL, contract text NOT NULL) ON COMMIT DROP;";

/* Lines naming a contract we do not have: reported, then dropped. */
static const char phones_unknown_sql[] =
    "WITH d AS (DELETE FROM import_phones AS p WHERE NOT EXISTS"
    " (SELECT 1 FROM contracts AS c WHERE c.contract = p.contract)"
    " RETURNING line, contract)"
    " SELECT line, format('contract %s is not imported', contract)"
    " FROM d ORDER BY line";

/* In (phone, contract) order: the store reads the rows in that order. */
static const char phones_insert_sql[] =
    "WITH f AS (SELECT DISTINCT phone, contract FROM import_phones),"
    " i AS (INSERT INTO bindings (phone, contract)"
    "  SELECT phone, contract FROM f ORDER BY phone, contract"
    "  ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM i)";

static int
phones_apply(struct phones *im, char *err, size_t errlen)
{
	struct db_rows *r;

	r = db_sync_query(im->db, phones_unknown_sql, 0, NULL, err, errlen);
	if (r == NULL)
		return -1;
	for (int i = 0; i < db_rows_count(r); i++)
		phones_bad(
		    im, atol(db_rows_get(r, i, 0)), db_rows_get(r, i, 1));
	db_rows_free(r);
	r = db_sync_query(im->db, phones_insert_sql, 0, NULL, err, errlen);
	if (r == NULL)
		return -1;
	im->rep->bindings = atol(db_rows_get(r, 0, 0));
	im->rep->bindings_new = atol(db_rows_get(r, 0, 1));
	db_rows_free(r);
	if (db_sync_exec(im->db, "COMMIT", err, errlen) < 0)
		return -1;
	/* fresh statistics for the store's plans (docs/retention.md) */
	return db_sync_exec(im->db, "ANALYZE bindings", err, errlen);
}

static int
phones_run(struct phones *im, FILE *in, char *err, size_t errlen)
{
	char ignored[256];

	if (db_sync_exec(im->db, phones_setup_sql, err, errlen) < 0 ||
	    db_sync_copy_begin(
	        im->db, "COPY import_phones FROM STDIN", err, errlen) < 0)
		return -1;
	if (phones_read(im, in, err, errlen) < 0 ||
	    phones_flush(im, err, errlen) < 0) {
		db_sync_copy_end(im->db, ignored, sizeof(ignored));
		return -1;
	}
	if (db_sync_copy_end(im->db, err, errlen) < 0)
		return -1;
	return phones_apply(im, err, errlen);
}

/* A fresh import with an empty report; NULL with why in err. */
static struct phones *
phones_new(const char *name, import_bad_cb bad, void *arg,
    struct import_phones_report *rep, char *err, size_t errlen)
{
	struct phones *im = calloc(1, sizeof(*im));

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
import_phones(const char *conninfo, FILE *in, const char *name,
    import_bad_cb bad, void *arg, struct import_phones_report *rep, char *err,
    size_t errlen)
{
	struct phones *im = phones_new(name, bad, arg, rep, err, errlen);
	int64_t t0 = clock_mono_us();
	int rc = -1;

	if (im == NULL)
		return -1;
	if ((im->db = db_sync_open(conninfo, err, errlen)) != NULL) {
		rc = phones_run(im, in, err, errlen);
		db_sync_close(im->db); /* an open transaction is rolled back */
	}
	free(im);
	rep->seconds = (double)(clock_mono_us() - t0) / 1e6;
	return rc;
}

int
import_check_phones(FILE *in, const char *name, import_bad_cb bad, void *arg,
    struct import_phones_report *rep, char *err, size_t errlen)
{
	struct phones *im = phones_new(name, bad, arg, rep, err, errlen);
	int rc;

	if (im == NULL)
		return -1;
	rc = phones_read(im, in, err, errlen);
	free(im);
	return rc;
}
