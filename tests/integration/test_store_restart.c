/*
 * PostgreSQL stopped and started again under a running store, on a
 * cluster of this test's own (the shared one serves the other tests):
 * while it is down, submit refuses at once and the log does not flood;
 * afterwards the store reconnects by itself and a dialog begun before the
 * outage goes on.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/import.h"
#include "meterline/migrate.h"
#include "tstore.h"

static char dir[300], port[16];

static void
cluster(const char *cmd)
{
	char line[800];

	snprintf(line, sizeof(line), "sh '%s' %s '%s' %s >&2",
	    getenv("MLINE_PG_CLUSTER"), cmd, dir,
	    strcmp(cmd, "start") == 0 ? port : "");
	if (system(line) != 0)
		itest_fail("%s", line);
}

static void
cluster_stop(void)
{
	cluster("stop");
}

/* A database on our own cluster, migrated, with the sample contracts. */
static const char *
own_db(void)
{
	static char conninfo[400];
	struct migrate_report mrep;
	struct import_report irep;
	char err[512];
	FILE *f;

	if (getenv("MLINE_PG_CLUSTER") == NULL ||
	    getenv("MLINE_TEST_PGHOST") == NULL) {
		itest_db_create("itest_store_restart"); /* skips or fails */
		itest_fail("MLINE_PG_CLUSTER not set");
	}
	snprintf(dir, sizeof(dir), "%s-restart", getenv("MLINE_TEST_PGHOST"));
	snprintf(
	    port, sizeof(port), "%d", atoi(getenv("MLINE_TEST_PGPORT")) + 1);
	cluster("start");
	atexit(cluster_stop);
	snprintf(conninfo, sizeof(conninfo),
	    "host=%s port=%s user=postgres"
	    " dbname=postgres",
	    dir, port);
	if (migrate_run(conninfo, &mrep, err, sizeof(err)) != 0)
		itest_fail("migrate: %s", err);
	if ((f = fopen(MLINE_TEST_DATA "/contracts-sample.csv", "r")) == NULL ||
	    import_contracts(conninfo, f, "sample", NULL, NULL, &irep, err,
	        sizeof(err)) != 0)
		itest_fail("import: %s", err);
	fclose(f);
	return conninfo;
}

static void
print_file(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	if (f != NULL)
		fclose(f);
}

/* Lines of the file containing s. */
static int
count_lines(const char *path, const char *s)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, s) != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

int
main(void)
{
	const char *conninfo = own_db();
	struct event_base *base = event_base_new();
	struct store_stats st;
	struct tstore t;
	struct tres r;
	char logpath[] = "/tmp/mline-restart-log.XXXXXX";
	int logfd = mkstemp(logpath), saved = dup(2);

	/* Gone from /tmp whatever happens; read back through /proc. */
	snprintf(logpath, sizeof(logpath), "/proc/self/fd/%d", logfd);
	int refused = 0;

	tstore_open(&t, base, conninfo, 64);
	tstore_say(&t, "79660000001", "ПС 123859", tstore_time(0), &r);
	ITEST_EQ_STR(r.outcome, "prompt");
	/*
	 * The store is ready with one connection; the second may still be
	 * connecting on a loaded machine, and its first "connected" line must
	 * not land in the outage's log.
	 */
	for (int i = 0; i < 600; i++) {
		store_stats(t.st, &st);
		if (st.conns_up == 2)
			break;
		tstore_spin(base, 50);
	}
	ITEST_EQ_LONG((long)st.conns_up, 2);

	/* Down: the log goes to a file so that we can count its lines. */
	fflush(stderr);
	dup2(logfd, 2);
	cluster("halt");
	for (int i = 0; i < 60; i++) { /* about 3 s of outage */
		tstore_spin(base, 50);
		if (tstore_try_submit(&t, "sms", "79660000002", "?",
		        tstore_time(1), NULL, &r) != 0)
			refused++;
		else
			tstore_wait((struct tstore *[]){ &t }, 1);
	}
	ITEST_CHECK(!store_ready(t.st));
	ITEST_CHECK(refused > 40);
	cluster("resume");
	tstore_wait_ready(&t);
	store_stats(t.st, &st);
	for (int i = 0; i < 200 && st.reconnects < 2;
	     i++) { /* both connections */
		tstore_spin(base, 25);
		store_stats(t.st, &st);
	}
	fflush(stderr);
	dup2(saved, 2);
	fprintf(stderr,
	    "outage: %d submits refused, %llu connect failures;"
	    " log:\n",
	    refused, (unsigned long long)st.db_failures);
	print_file(logpath);
	/*
	 * Per connection (2): one line for the loss, one per distinct connect
	 * error, one when back; the store says once that it is down.
	 */
	ITEST_CHECK(count_lines(logpath, "db store#") <= 2 * 3);
	ITEST_EQ_LONG(count_lines(logpath, ": connected"), 2);
	ITEST_EQ_LONG(count_lines(logpath, "store: no database"), 1);
	ITEST_EQ_LONG((long)st.reconnects, 2);
	ITEST_CHECK(st.db_failures >= 8); /* several attempts, few lines */

	/* The dialog begun before the outage goes on. */
	tstore_say(&t, "79660000001", "45055", tstore_time(2), &r);
	ITEST_EQ_STR(r.outcome, "prompt");
	tstore_say(&t, "79660000001", "23186", tstore_time(3), &r);
	ITEST_EQ_STR(r.outcome, "accepted");
	tstore_close(&t);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
