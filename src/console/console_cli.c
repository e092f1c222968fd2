/*
 * The console's command-line tools (console_cli.h): blocking libpq, never
 * on the loop. Users and tokens are written with their audit line in one
 * statement; the export reads one snapshot through a cursor, a few
 * thousand rows at a time, so a month of any size streams.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "console_int.h"
#include "meterline/console_cli.h"
#include "meterline/dialog.h"
#include "meterline/xmalloc.h"

#define CLI_FETCH 5000
#define CLI_PASSWORD_MIN 10
#define CLI_PASSWORD_MAX 1024

static const char *const cli_statuses[] = { "accepted", "review", "superseded",
	"corrected", "annulled", "rejected", NULL };

/* "cli:<unix user>" for the audit log. */
static void
cli_actor(const char *actor, char *buf, size_t len)
{
	const struct passwd *pw = getpwuid(getuid());

	if (actor != NULL)
		snprintf(buf, len, "%s", actor);
	else
		snprintf(buf, len, "cli:%s", pw ? pw->pw_name : "?");
}

/* Run one statement with params; 0 or -1 with err. */
static int
cli_exec(const char *conninfo, const char *sql, int n,
    const char *const *params, int *rows_out, char *err, size_t errlen)
{
	struct db_sync *db = db_sync_open(conninfo, err, errlen);
	struct db_rows *rows;

	if (db == NULL)
		return -1;
	rows = db_sync_query(db, sql, n, params, err, errlen);
	db_sync_close(db);
	if (rows == NULL)
		return -1;
	if (rows_out != NULL)
		*rows_out = db_rows_count(rows);
	db_rows_free(rows);
	return 0;
}

int
console_user_add(const char *conninfo, const char *name, const char *role,
    const char *password, bool update, const char *actor, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "WITH u AS (INSERT INTO console_users (name, role, pwhash)"
	    "  VALUES ($1, $2, $3)"
	    "  ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role,"
	    "  pwhash = EXCLUDED.pwhash, disabled = false, updated_at = now()"
	    "  WHERE $5::boolean"
	    "  RETURNING name, role, (xmax <> 0) AS updated)"
	    " INSERT INTO console_audit (actor, action, object, after)"
	    " SELECT $4, CASE WHEN updated THEN 'user.update' ELSE 'user.add' END,"
	    " 'user ' || name, jsonb_build_object('role', role) FROM u"
	    " RETURNING 1";
	char hash[crypto_pwhash_STRBYTES], who[128];
	const char *p[5] = { name, role, hash, who, update ? "true" : "false" };
	int n = 0;

	if (sodium_init() < 0)
		return snprintf(err, errlen, "libsodium failed to start"), -1;
	if (!console_name_ok(name))
		return snprintf(err, errlen,
		           "name: 1-64 of a-z 0-9 . _ - (first a letter or "
		           "digit)"),
		       -1;
	if (console_role_value(role) == 0)
		return snprintf(err, errlen, "role: admin, support or manager"),
		       -1;
	if (strlen(password) < CLI_PASSWORD_MIN ||
	    strlen(password) > CLI_PASSWORD_MAX)
		return snprintf(err, errlen, "password: %d to %d characters",
		           CLI_PASSWORD_MIN, CLI_PASSWORD_MAX),
		       -1;
	if (crypto_pwhash_str(hash, password, strlen(password),
	        crypto_pwhash_OPSLIMIT_INTERACTIVE,
	        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return snprintf(err, errlen, "hashing failed (out of memory?)"),
		       -1;
	cli_actor(actor, who, sizeof(who));
	if (cli_exec(conninfo, sql, 5, p, &n, err, errlen) != 0)
		return -1;
	if (n == 0)
		return snprintf(err, errlen,
		           "user %s exists (--update changes it)", name),
		       -1;
	return 0;
}

int
console_user_houses(const char *conninfo, const char *name, const char *houses,
    const char *actor, char *err, size_t errlen)
{
	/* every id must name a house and the user must be a manager, or no
	   row changes (the count tells which); the houses kept are neither
	   deleted nor inserted (one snapshot: a deleted row would still
	   conflict with its insert) */
	static const char sql[] =
	    "WITH w AS (SELECT DISTINCT x::integer AS id"
	    "  FROM unnest(string_to_array($2, ',')) AS x),"
	    " ok AS (SELECT (SELECT count(*) FROM w) ="
	    "  (SELECT count(*) FROM w JOIN houses USING (id))"
	    "  AND EXISTS (SELECT 1 FROM console_users"
	    "  WHERE name = $1 AND role = 'manager') AS ok),"
	    " d AS (DELETE FROM manager_houses WHERE username = $1"
	    "  AND house_id NOT IN (SELECT id FROM w)"
	    "  AND (SELECT ok FROM ok) RETURNING 1),"
	    " i AS (INSERT INTO manager_houses (username, house_id)"
	    "  SELECT $1, id FROM w WHERE (SELECT ok FROM ok)"
	    "  ON CONFLICT DO NOTHING RETURNING 1)"
	    " INSERT INTO console_audit (actor, action, object, after)"
	    " SELECT $3, 'user.houses', 'user ' || $1,"
	    " jsonb_build_object('houses', $2::text)"
	    " WHERE (SELECT ok FROM ok) RETURNING 1";
	char who[128];
	const char *p[3] = { name, houses, who };
	int n = 0;

	if (houses[0] == '\0' || houses[strlen(houses) - 1] == ',' ||
	    strspn(houses, "0123456789,") != strlen(houses) ||
	    strstr(houses, ",,") != NULL || houses[0] == ',' ||
	    strlen(houses) > 4096)
		return snprintf(err, errlen,
		           "houses: house ids separated by commas (3,7)"),
		       -1;
	cli_actor(actor, who, sizeof(who));
	if (cli_exec(conninfo, sql, 3, p, &n, err, errlen) != 0)
		return -1;
	if (n == 0)
		return snprintf(err, errlen,
		           "houses: user %s is no manager or a house id is "
		           "unknown",
		           name),
		       -1;
	return 0;
}

int
console_token_add(const char *conninfo, const char *name, const char *actor,
    char token[65], char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH t AS (INSERT INTO api_tokens (name, token_hash)"
	    "  VALUES ($1, decode($2, 'hex')) RETURNING name)"
	    " INSERT INTO console_audit (actor, action, object)"
	    " SELECT $3, 'token.add', 'token ' || name FROM t";
	char th[65], who[128];
	const char *p[3] = { name, th, who };

	if (sodium_init() < 0)
		return snprintf(err, errlen, "libsodium failed to start"), -1;
	if (!console_name_ok(name))
		return snprintf(err, errlen,
		           "name: 1-64 of a-z 0-9 . _ - (first a letter or "
		           "digit)"),
		       -1;
	console_random_hex(token, 32);
	console_sha256_hex(token, 64, th);
	cli_actor(actor, who, sizeof(who));
	if (cli_exec(conninfo, sql, 3, p, NULL, err, errlen) != 0) {
		sodium_memzero(token, 65);
		return -1;
	}
	return 0;
}

int
console_parse_period(const char *s, int *year, int *month)
{
	if (s == NULL || strlen(s) != 7 || s[4] != '-' ||
	    strspn(s, "0123456789") != 4 || strspn(s + 5, "0123456789") != 2)
		return -1;
	*year = atoi(s);
	*month = atoi(s + 5);
	return *year >= 2000 && *year <= 2999 && *month >= 1 && *month <= 12
	    ? 0
	    : -1;
}

int
console_check_statuses(const char *s)
{
	const char *p = s;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");
		bool known = false;

		for (int i = 0; cli_statuses[i] != NULL; i++)
			if (strlen(cli_statuses[i]) == n &&
			    strncmp(cli_statuses[i], p, n) == 0)
				known = true;
		if (!known)
			return -1;
		p += n;
		p += *p == ',';
	}
	return s != NULL && s[0] != '\0' ? 0 : -1;
}

/* ---- export -------------------------------------------------------------- */

/* clang-format off */
static const char cli_export_declare[] =
    "DECLARE ml_readings NO SCROLL CURSOR FOR "
    CONSOLE_READING_SELECT_FROM("readings")
    " WHERE s.local_date >= $1::date"
    " AND s.local_date < $1::date + interval '1 month'"
    " AND r.status = ANY (string_to_array($2, ','))"
    " ORDER BY r.contract, s.local_date, r.position, r.id";
/* clang-format on */

static void
cli_csv_field(FILE *out, const char *s, bool last)
{
	if (s != NULL) {
		fputc('"', out);
		for (; *s != '\0'; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	}
	fputs(last ? "\r\n" : ",", out);
}

static void
cli_csv_row(FILE *out, const struct db_rows *rows, int i)
{
	char fl[160];
	const char *tariff = console_tariff(db_rows_get(rows, i, RC_RESOURCE),
	    db_rows_get(rows, i, RC_REGISTER),
	    atoi(db_rows_get(rows, i, RC_POSITION)));
	const char *flags = db_rows_get(rows, i, RC_FLAGS);
	const int cols[] = { RC_CONTRACT, RC_RESOURCE, RC_POSITION, RC_REGISTER,
		-1, RC_VALUE, RC_PREVIOUS, RC_CONSUMPTION, RC_DATE, RC_TIME,
		RC_CHANNEL, RC_STATUS, -2, RC_ID, RC_SUBMISSION };

	for (size_t c = 0; c < ARRAY_SIZE(cols); c++) {
		const char *v = cols[c] == -1 ? tariff
		    : cols[c] == -2
		    ? dialog_flags_str(
		          flags ? (unsigned)atoi(flags) : 0, fl, sizeof(fl))
		    : db_rows_get(rows, i, cols[c]);

		cli_csv_field(out, v, c + 1 == ARRAY_SIZE(cols));
	}
}

static void
cli_json_row(FILE *out, const struct db_rows *rows, int i)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;

	console_reading_json(b, rows, i, false);
	evbuffer_add(b, "\n", 1);
	len = evbuffer_get_length(b);
	fwrite(evbuffer_pullup(b, (ev_ssize_t)len), 1, len, out);
	evbuffer_free(b);
}

static int
cli_fetch_all(struct db_sync *db, const struct console_export_opts *o,
    FILE *out, long *count, char *err, size_t errlen)
{
	char sql[64];

	snprintf(
	    sql, sizeof(sql), "FETCH FORWARD %d FROM ml_readings", CLI_FETCH);
	if (o->format == CONSOLE_EXPORT_CSV)
		fputs("contract,resource,position,register,tariff,value,"
		      "previous,consumption,date,time,channel,status,flags,id,"
		      "submission\r\n",
		    out);
	for (;;) {
		struct db_rows *rows =
		    db_sync_query(db, sql, 0, NULL, err, errlen);
		int n;

		if (rows == NULL)
			return -1;
		n = db_rows_count(rows);
		for (int i = 0; i < n; i++) {
			if (o->format == CONSOLE_EXPORT_CSV)
				cli_csv_row(out, rows, i);
			else
				cli_json_row(out, rows, i);
		}
		*count += n;
		db_rows_free(rows);
		if (ferror(out))
			return snprintf(err, errlen, "write error"), -1;
		if (n < CLI_FETCH)
			return 0;
	}
}

int
console_export_readings(const struct console_export_opts *o, FILE *out,
    long *count, char *err, size_t errlen)
{
	char first[16], tz[160];
	const char *p[2] = { first, o->statuses };
	struct db_sync *db;
	struct db_rows *rows;
	int rc = -1;

	*count = 0;
	if (console_check_statuses(o->statuses) != 0)
		return snprintf(err, errlen, "unknown status in \"%s\"",
		           o->statuses),
		       -1;
	snprintf(first, sizeof(first), "%04d-%02d-01", o->year, o->month);
	if ((db = db_sync_open(o->conninfo, err, errlen)) == NULL)
		return -1;
	snprintf(tz, sizeof(tz), "SET TimeZone = '%s'", o->tzname);
	if (strchr(o->tzname, '\'') == NULL &&
	    db_sync_exec(db, tz, err, errlen) == 0 &&
	    db_sync_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	        err, errlen) == 0 &&
	    (rows = db_sync_query(db, cli_export_declare, 2, p, err, errlen)) !=
	        NULL) {
		db_rows_free(rows);
		rc = cli_fetch_all(db, o, out, count, err, errlen);
	}
	db_sync_close(db);
	if (rc == 0 && fflush(out) != 0)
		return snprintf(err, errlen, "write error"), -1;
	return rc;
}
