/*
 * Helpers for integration tests: find the throw-away cluster started by the
 * ctest fixture (pg_cluster.sh), give each test its own database, and run
 * blocking SQL for setup and checks. Blocking libpq is fine here: this is
 * test code, never the event loop.
 */
#ifndef METERLINE_ITEST_H
#define METERLINE_ITEST_H

#include <libpq-fe.h>

/* Exit code ctest reads as "skipped" (SKIP_RETURN_CODE). */
#define ITEST_SKIP 77

/*
 * Create (or re-create) database `name` on the test cluster and return its
 * conninfo in a static buffer. Without a cluster, exits 77 — or 1 when
 * CI=true, because CI must never skip these tests.
 */
const char *itest_db_create(const char *name);

/* Conninfo of the cluster's `postgres` database, or NULL if none is set. */
const char *itest_admin_conninfo(void);

/* Blocking connection; aborts the test on failure. */
PGconn *itest_connect(const char *conninfo);

/* Run SQL (several statements allowed); aborts the test on an error. */
void itest_exec(PGconn *, const char *sql);

/* First column of the first row as a long (0 for NULL); aborts on error. */
long itest_long(PGconn *, const char *sql);

/* First column of the first row into buf ("" for NULL); returns buf. */
const char *itest_text(PGconn *, const char *sql, char *buf, size_t buflen);

/* printf-style: fail the test with a message. */
void itest_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#define ITEST_CHECK(cond) \
	do { \
		if (!(cond)) \
			itest_fail("%s:%d: check failed: %s", __FILE__, \
			    __LINE__, #cond); \
	} while (0)
#define ITEST_EQ_LONG(a, b) \
	do { \
		long a_ = (a), b_ = (b); \
		if (a_ != b_) \
			itest_fail("%s:%d: %s == %ld, expected %ld", __FILE__, \
			    __LINE__, #a, a_, b_); \
	} while (0)
#define ITEST_EQ_STR(a, b) \
	do { \
		const char *a_ = (a), *b_ = (b); \
		if (strcmp(a_ ? a_ : "(null)", b_ ? b_ : "(null)") != 0) \
			itest_fail("%s:%d: %s == \"%s\", expected \"%s\"", \
			    __FILE__, __LINE__, #a, a_ ? a_ : "(null)", \
			    b_ ? b_ : "(null)"); \
	} while (0)

#endif
