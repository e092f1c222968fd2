/* Blocking libpq for command-line tools and tests (never the event loop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "meterline/db.h"
#include "meterline/xmalloc.h"

struct db_sync {
	PGconn *conn;
};

/* Copy libpq's message without its trailing newline. */
static void
db_sync_err(const char *what, const char *msg, char *err, size_t errlen)
{
	size_t n;

	snprintf(err, errlen, "%s: %s", what, msg);
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

static void
db_sync_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

struct db_sync *
db_sync_open(const char *conninfo, char *err, size_t errlen)
{
	struct db_sync *db;
	PGconn *c = PQconnectdb(conninfo);

	if (c == NULL) {
		snprintf(err, errlen, "connect: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		db_sync_err("connect", PQerrorMessage(c), err, errlen);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, db_sync_notice, NULL);
	db = xcalloc(1, sizeof(*db));
	db->conn = c;
	return db;
}

void
db_sync_close(struct db_sync *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db);
}

int
db_sync_exec(struct db_sync *db, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(db->conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		db_sync_err("SQL", PQerrorMessage(db->conn), err, errlen);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

struct db_rows *
db_sync_query(struct db_sync *db, const char *sql, int nparams,
    const char *const *params, char *err, size_t errlen)
{
	PGresult *r =
	    PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		db_sync_err("SQL", PQerrorMessage(db->conn), err, errlen);
		PQclear(r);
		return NULL;
	}
	return (struct db_rows *)r;
}

int
db_rows_count(const struct db_rows *rows)
{
	return PQntuples((const PGresult *)rows);
}

int
db_rows_columns(const struct db_rows *rows)
{
	return PQnfields((const PGresult *)rows);
}

const char *
db_rows_get(const struct db_rows *rows, int row, int col)
{
	const PGresult *r = (const PGresult *)rows;

	if (PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

void
db_rows_free(struct db_rows *rows)
{
	PQclear((PGresult *)rows);
}

int
db_sync_copy_begin(
    struct db_sync *db, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(db->conn, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		db_sync_err("COPY", PQerrorMessage(db->conn), err, errlen);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int
db_sync_copy_put(
    struct db_sync *db, const char *buf, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;

		if (PQputCopyData(db->conn, buf, n) != 1) {
			db_sync_err(
			    "COPY", PQerrorMessage(db->conn), err, errlen);
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
db_sync_copy_end(struct db_sync *db, char *err, size_t errlen)
{
	PGresult *r;
	int rc = 0;

	if (PQputCopyEnd(db->conn, NULL) != 1) {
		db_sync_err("COPY", PQerrorMessage(db->conn), err, errlen);
		return -1;
	}
	while ((r = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
			db_sync_err(
			    "COPY", PQresultErrorMessage(r), err, errlen);
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}
