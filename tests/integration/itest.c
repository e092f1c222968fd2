/* Integration-test helpers: the fixture's cluster, one database per test. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "itest.h"

void
itest_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* No cluster to test against: skip, except in CI where that is a failure. */
static void
itest_no_cluster(const char *why)
{
	const char *ci = getenv("CI");

	if (ci != NULL && strcmp(ci, "true") == 0)
		itest_fail(
		    "no test cluster (%s) and CI=true: not skipping", why);
	fprintf(stderr, "SKIP: no test cluster (%s)\n", why);
	exit(ITEST_SKIP);
}

const char *
itest_admin_conninfo(void)
{
	static char buf[512];
	const char *host = getenv("MLINE_TEST_PGHOST");
	const char *port = getenv("MLINE_TEST_PGPORT");

	if (host == NULL || port == NULL)
		return NULL;
	snprintf(buf, sizeof(buf),
	    "host=%s port=%s user=postgres dbname=postgres "
	    "application_name=itest",
	    host, port);
	return buf;
}

static void
itest_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

PGconn *
itest_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK)
		itest_fail("connect '%s': %s", conninfo, PQerrorMessage(c));
	PQsetNoticeProcessor(c, itest_notice, NULL);
	return c;
}

const char *
itest_db_create(const char *name)
{
	static char buf[512];
	const char *admin = itest_admin_conninfo();
	char sql[256], sock[300];
	struct stat st;
	PGconn *c;

	if (admin == NULL)
		itest_no_cluster("MLINE_TEST_PGHOST/PGPORT not set");
	snprintf(sock, sizeof(sock), "%s/.s.PGSQL.%s",
	    getenv("MLINE_TEST_PGHOST"), getenv("MLINE_TEST_PGPORT"));
	if (stat(sock, &st) != 0)
		itest_no_cluster(sock);
	c = itest_connect(admin);
	snprintf(
	    sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	itest_exec(c, sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	itest_exec(c, sql);
	PQfinish(c);
	snprintf(buf, sizeof(buf), "host=%s port=%s user=postgres dbname=%s",
	    getenv("MLINE_TEST_PGHOST"), getenv("MLINE_TEST_PGPORT"), name);
	return buf;
}

void
itest_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		itest_fail("SQL error: %s\n  in: %s", PQerrorMessage(c), sql);
	PQclear(r);
}

const char *
itest_text(PGconn *c, const char *sql, char *buf, size_t buflen)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		itest_fail("SQL error: %s\n  in: %s", PQerrorMessage(c), sql);
	if (PQntuples(r) < 1 || PQnfields(r) < 1)
		itest_fail("no row from: %s", sql);
	snprintf(buf, buflen, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return buf;
}

long
itest_long(PGconn *c, const char *sql)
{
	char buf[64];

	return strtol(itest_text(c, sql, buf, sizeof(buf)), NULL, 10);
}
