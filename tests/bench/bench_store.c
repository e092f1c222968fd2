/*
 * bench_store: how many messages per second the store commits.
 *
 *   bench_store [--db CONNINFO] [--contracts N] [--messages N] [--runs N]
 *               [--batch N] [--inflight N] [--smoke]
 *               [--pooler transaction] [--store-db CONNINFO]
 *
 * Imports N contracts of one register each (default 1,000,000), then
 * submits single-register submissions ("ПС <contract> <value>", each from
 * its own sender, every one accepted) straight into the store, with at
 * most --inflight waiting at any time, and prints committed messages per
 * second for each run, the median, the batch sizes and where the time
 * went. synchronous_commit stays on.
 *
 * The database: --db, else the test cluster of the ctest fixture
 * (MLINE_TEST_PGHOST/PGPORT), else a throw-away cluster of its own
 * (tests/integration/pg_cluster.sh), stopped at exit. A database named
 * mline_bench is (re)created in it. --smoke: 2,000 contracts, 2,000
 * messages, one run; fails unless every message is applied.
 *
 * --pooler transaction: the store's connections as behind a transaction
 * pooler (db.h: unnamed statements, settings in every transaction), to
 * measure what that mode costs. --store-db: the store connects there (a
 * PgBouncer in front of the bench database) instead; setup stays direct.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "meterline/clock.h"
#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/db.h"
#include "meterline/import.h"
#include "meterline/log.h"
#include "meterline/migrate.h"
#include "meterline/store.h"
#include "meterline/xmalloc.h"

struct bench {
	struct event_base *base;
	struct store *st;
	long contracts, messages, inflight;
	int runs, batch;
	bool smoke;
	const char *store_db; /* --store-db, or NULL: the bench database */
	/* one run */
	long next, done, applied;
	int run;
};

static char cluster_dir[256];

static double
now_s(void)
{
	return (double)clock_mono_us() / 1e6;
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, why);
	exit(1);
}

static void
cluster_stop(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd),
	    "sh '%s/tests/integration/pg_cluster.sh' stop"
	    " '%s' >/dev/null",
	    MLINE_SOURCE_DIR, cluster_dir);
	if (system(cmd) != 0)
		fprintf(
		    stderr, "bench_store: could not stop %s\n", cluster_dir);
}

/* A cluster of our own, for runs outside ctest's fixture. */
static void
cluster_start(char *admin, size_t len)
{
	char cmd[600];
	int port = 30000 + (int)(getpid() % 5000), rc;

	snprintf(cluster_dir, sizeof(cluster_dir), "/tmp/mline-bench-%d",
	    (int)getpid());
	snprintf(cmd, sizeof(cmd),
	    "sh '%s/tests/integration/pg_cluster.sh' start"
	    " '%s' %d >&2",
	    MLINE_SOURCE_DIR, cluster_dir, port);
	rc = system(cmd);
	if (rc != 0) {
		const char *ci = getenv("CI");

		if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77 &&
		    !(ci && strcmp(ci, "true") == 0)) {
			printf("bench_store: no PostgreSQL here, skipped\n");
			exit(0);
		}
		die("pg_cluster.sh start", "failed");
	}
	atexit(cluster_stop);
	snprintf(admin, len, "host=%s port=%d user=postgres dbname=postgres",
	    cluster_dir, port);
}

/* Recreate database mline_bench next to admin; its conninfo into out. */
static void
bench_db(const char *admin, char *out, size_t len)
{
	struct db_sync *db;
	char err[512];

	if ((db = db_sync_open(admin, err, sizeof(err))) == NULL)
		die("connect", err);
	if (db_sync_exec(db, "DROP DATABASE IF EXISTS mline_bench WITH (FORCE)",
	        err, sizeof(err)) < 0 ||
	    db_sync_exec(db, "CREATE DATABASE mline_bench", err, sizeof(err)) <
	        0)
		die("create database", err);
	db_sync_close(db);
	snprintf(out, len, "%s dbname=mline_bench", admin);
}

/* Contract i: number 10000000+i, one 6-digit register, last value (i%1000)*100. */
static long
bench_last(long i)
{
	return (i % 1000) * 100;
}

static void
bench_import(const char *conninfo, long n)
{
	struct import_report rep;
	char err[512];
	FILE *f = tmpfile();
	double t0;

	if (f == NULL)
		die("tmpfile", "failed");
	fprintf(f,
	    "contract,resource,position,register,digits,last_value,last_date\n");
	for (long i = 0; i < n; i++)
		fprintf(f, "%ld,electricity,1,показания,6,%ld,2026-10-20\n",
		    10000000 + i, bench_last(i));
	rewind(f);
	t0 = now_s();
	if (import_contracts(conninfo, f, "bench", NULL, NULL, &rep, err,
	        sizeof(err)) != 0 ||
	    rep.bad_lines != 0)
		die("import", err);
	fclose(f);
	printf("import: %ld contracts (%ld registers) in %.2f s\n",
	    rep.contracts, rep.registers, now_s() - t0);
}

static void bench_submit_next(struct bench *);

static void
bench_done(const struct intake_result *r, void *arg)
{
	struct bench *b = arg;

	b->done++;
	if (r->status == INTAKE_APPLIED && strcmp(r->outcome, "accepted") == 0)
		b->applied++;
	else if (b->done - b->applied <= 3)
		fprintf(stderr, "bench_store: not accepted: %d %s %s\n",
		    r->status, r->outcome ? r->outcome : "-",
		    r->reason ? r->reason : "-");
	if (b->next < b->messages)
		bench_submit_next(b);
	if (b->done == b->messages)
		event_base_loopbreak(b->base);
}

/* Message i of run r: its own sender, a contract no other run uses. */
static void
bench_submit_next(struct bench *b)
{
	long i = b->next++;
	long c = ((long)b->run * b->messages + i) % b->contracts;
	char sender[24], text[64];
	struct inbound_msg m = {
		.channel = "sms",
		.sender = sender,
		.recipient = "7377",
		.text = text,
		/* 2026-11-20 12:00 Moscow: inside the 18-25 window */
		.time_us = 1795165200LL * 1000000LL + i,
	};

	snprintf(sender, sizeof(sender), "79%09ld", c);
	m.text_len = (size_t)snprintf(text, sizeof(text), "ПС %ld %ld",
	    10000000 + c, bench_last(c) + 5 + b->run);
	if (store_submit(b->st, &m, bench_done, b) != 0)
		die("submit", "refused");
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
bench_print_stats(const struct store_stats *s, double wall)
{
	printf("batches: %llu, sizes:", (unsigned long long)s->batches);
	for (int i = 0; i < STORE_HIST; i++)
		if (s->batch_hist[i] > 0)
			printf(" [%d-%d]:%llu", 1 << i, (2 << i) - 1,
			    (unsigned long long)s->batch_hist[i]);
	printf(
	    "\nper batch (mean): round 1 (parse, locks, loads) %.2f ms, decide and build writes %.2f ms, round 2 (writes, commit) %.2f ms\n",
	    (double)s->load_us / 1e3 / (double)s->batches,
	    (double)s->decide_us / 1e3 / (double)s->batches,
	    (double)s->write_us / 1e3 / (double)s->batches);
	printf(
	    "summed over the connections, as a share of wall time: round 1 %.0f%%, decide %.0f%%, round 2 %.0f%%\n",
	    100.0 * (double)s->load_us / 1e6 / wall,
	    100.0 * (double)s->decide_us / 1e6 / wall,
	    100.0 * (double)s->write_us / 1e6 / wall);
}

static void
bench_wait_ready(struct bench *b)
{
	struct timeval tv = { 0, 50000 };

	for (int i = 0; i < 600 && !store_ready(b->st); i++) {
		event_base_loopexit(b->base, &tv);
		event_base_dispatch(b->base);
	}
	if (!store_ready(b->st))
		die("store", "not ready after 30 s");
}

/* One run: keep `inflight` messages submitted until all are committed. */
static double
bench_run(struct bench *b)
{
	struct store_stats before, after, d;
	double t0, t1, c0;

	store_stats(b->st, &before);
	b->next = b->done = b->applied = 0;
	t0 = now_s();
	c0 = cpu_s();
	while (b->next < b->messages && b->next < b->inflight)
		bench_submit_next(b);
	event_base_dispatch(b->base);
	t1 = now_s();
	store_stats(b->st, &after);
	if (b->applied != b->messages)
		die("run", "not every message was accepted");
	memset(&d, 0, sizeof(d));
	d.batches = after.batches - before.batches;
	d.load_us = after.load_us - before.load_us;
	d.decide_us = after.decide_us - before.decide_us;
	d.write_us = after.write_us - before.write_us;
	for (int i = 0; i < STORE_HIST; i++)
		d.batch_hist[i] = after.batch_hist[i] - before.batch_hist[i];
	printf(
	    "run %d: %ld messages in %.2f s = %.0f msgs/s (this process: %.2f s CPU)\n",
	    b->run + 1, b->messages, t1 - t0, (double)b->messages / (t1 - t0),
	    cpu_s() - c0);
	bench_print_stats(&d, t1 - t0);
	return (double)b->messages / (t1 - t0);
}

static void
bench_usage(void)
{
	fprintf(stderr,
	    "usage: bench_store [--db CONNINFO] [--contracts N] [--messages N] [--runs N] [--batch N] [--inflight N] [--smoke] [--pooler none|transaction] [--store-db CONNINFO]\n");
	exit(2);
}

static const char *
bench_options(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "contracts", required_argument, NULL, 'c' },
		{ "messages", required_argument, NULL, 'm' },
		{ "runs", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "smoke", no_argument, NULL, 's' },
		{ "pooler", required_argument, NULL, 'p' },
		{ "store-db", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	int c;

	b->contracts = 1000000;
	b->messages = 200000;
	b->runs = 3;
	b->batch = 2000;
	b->inflight = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': b->contracts = atol(optarg); break;
		case 'm': b->messages = atol(optarg); break;
		case 'r': b->runs = atoi(optarg); break;
		case 'b': b->batch = atoi(optarg); break;
		case 'i': b->inflight = atol(optarg); break;
		case 's': b->smoke = true; break;
		case 'p':
			if (strcmp(optarg, "transaction") == 0)
				db_pooler_set(DB_POOLER_TRANSACTION);
			else if (strcmp(optarg, "none") != 0)
				bench_usage();
			break;
		case 'S': b->store_db = optarg; break;
		default: bench_usage();
		}
	}
	if (b->smoke) {
		b->contracts = b->messages = 2000;
		b->runs = 1;
		b->batch = 256;
	}
	if (b->inflight <= 0)
		b->inflight = 4L * b->batch;
	if (b->contracts < 1 || b->messages < 1 || b->runs < 1 ||
	    b->batch < 1 || b->batch > 10000)
		bench_usage();
	return db;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct store_opts so = { 0 };
	struct config *cfg = xmalloc(sizeof(*cfg));
	char admin[400], conninfo[500], ini[64], err[1024];
	const char *db;
	double rates[16];
	struct migrate_report mrep;

	memset(&b, 0, sizeof(b));
	db = bench_options(&b, argc, argv);
	log_set_level(LOG_WARN);
	if (db != NULL)
		snprintf(admin, sizeof(admin), "%s", db);
	else if (getenv("MLINE_TEST_PGHOST") && getenv("MLINE_TEST_PGPORT"))
		snprintf(admin, sizeof(admin),
		    "host=%s port=%s user=postgres"
		    " dbname=postgres",
		    getenv("MLINE_TEST_PGHOST"), getenv("MLINE_TEST_PGPORT"));
	else
		cluster_start(admin, sizeof(admin));
	bench_db(admin, conninfo, sizeof(conninfo));
	if (migrate_run(conninfo, &mrep, err, sizeof(err)) != 0)
		die("migrate", err);
	bench_import(conninfo, b.contracts);

	snprintf(ini, sizeof(ini), "[store]\nbatch_max = %d\n", b.batch);
	if (config_load_string(cfg, "bench", ini, err, sizeof(err)) != 0)
		die("config", err);
	b.base = event_base_new();
	so.conninfo = b.store_db != NULL ? b.store_db : conninfo;
	so.cfg = cfg;
	so.queue_max = (size_t)b.inflight + 1;
	if ((b.st = store_new(b.base, &so, err, sizeof(err))) == NULL)
		die("store", err);
	bench_wait_ready(&b);
	printf(
	    "store: %ld messages per run, batch_max %d, %ld in flight, synchronous_commit on, %s statements%s\n",
	    b.messages, b.batch, b.inflight,
	    db_pooler_get() == DB_POOLER_TRANSACTION ? "unnamed" : "prepared",
	    b.store_db != NULL ? ", through --store-db" : "");
	for (b.run = 0; b.run < b.runs && b.run < 16; b.run++)
		rates[b.run] = bench_run(&b);
	qsort(rates, (size_t)b.runs, sizeof(rates[0]), cmp_double);
	printf("median: %.0f committed msgs/s over %d run%s\n",
	    rates[b.runs / 2], b.runs, b.runs == 1 ? "" : "s");
	store_free(b.st);
	event_base_free(b.base);
	free(cfg);
	return 0;
}
