/*
 * meterline replay FILE...: messages from a log (JSON Lines or CSV) through
 * the store, as live traffic, each at its own time; one line per message,
 * a progress bar on a terminal, a summary by outcome and reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "meterline/clock.h"
#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/replay.h"
#include "meterline/store.h"
#include "meterline/xmalloc.h"
#include "opts.h"

/*
 * Each message of a batch takes its sender's advisory lock until COMMIT,
 * on each of the store's connections: batch x connections locks at once.
 * Beyond a few thousand the server's lock table (max_locks_per_transaction
 * x max_connections: 64 x 100 by default) runs out ("out of shared
 * memory") and every batch fails. Two connections keep both cores of the
 * server busy (one locks and loads while the other writes and commits);
 * a third measured no faster on two cores.
 */
#define REPLAY_BATCH_DEFAULT 2000
#define REPLAY_BATCH_MAX 2000
#define REPLAY_CONNECTIONS_DEFAULT 2
#define REPLAY_CONNECTIONS_MAX 4

static const char replay_usage[] =
    "usage: meterline replay [options] FILE...   (- reads standard input)\n"
    "\n"
    "Apply the messages of a log through the same grammar, dialogs and store\n"
    "as live traffic, each with its own time as \"now\", in time order per\n"
    "sender and per contract. A message already in the log (same channel and id) is a\n"
    "duplicate and changes nothing; a line without an id gets a stable one\n"
    "from its time, channel, from, to and text, so a file replayed twice\n"
    "changes nothing the second time.\n"
    "\n"
    "Formats (detected, or forced with --format):\n"
    "  JSON Lines  {\"time\":\"2026-11-24T12:30:00+03:00\",\"channel\":\"sms\",\n"
    "               \"from\":\"79001234567\",\"to\":\"7377\",\"text\":\"ПС 123859\",\"id\":\"...\"}\n"
    "              (what export-log writes; id optional)\n"
    "  CSV         header time,channel,from,to,text[,id]; RFC 4180 quoting\n"
    "\n"
    "  --dry-run        run everything, then roll back: show what each message\n"
    "                   would do, change nothing\n"
    "  --send-replies   queue SMS replies in the outbox (sent to customers);\n"
    "                   by default nothing is sent\n"
    "  --json           one JSON object per message instead of a text line\n"
    "  -q, --quiet      no line per message, only the summary\n"
    "  --format F       jsonl or csv (default: detected per file)\n"
    "  --batch N        messages per transaction (default 2000, at most 2000;\n"
    "                   batch x connections must fit the server's lock table)\n"
    "  --connections N  PostgreSQL connections, 1 to 4 (default 2; a dry run\n"
    "                   uses one)\n"
    "  --inflight N     messages handed to the store at once\n"
    "                   (default 2 x connections x batch)\n"
    "  --stats          the store's figures at the end (batches, time per phase)\n"
    "  --max-age D      replay lines up to D old (90s, 30m, 2h, 7d; 0: any age);\n"
    "                   default [intake] max_age (7d)\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Malformed lines, and lines dated beyond [intake] max_future_skew ahead\n"
    "of the clock or older than the maximum age, are reported on stderr as\n"
    "FILE:LINE: why and skipped.\n"
    "Exit status: 0 every line processed, 1 some lines malformed or refused,\n"
    "2 usage, config or database error (or messages that could not be stored).\n";

struct replay_args {
	const char *config, *db, *max_age;
	int fmt; /* enum replay_format */
	bool dry_run, send_replies, json, quiet, stats;
	int batch, inflight, connections;
};

static const struct opt_choice replay_formats[] = {
	{ "jsonl", REPLAY_FMT_JSONL },
	{ "csv", REPLAY_FMT_CSV },
	{ NULL, 0 },
};

#define A(field) offsetof(struct replay_args, field)
static const struct opt replay_opts[] = {
	{ "dry-run", 0, OPT_FLAG, A(dry_run) },
	{ "send-replies", 0, OPT_FLAG, A(send_replies) },
	{ "json", 0, OPT_FLAG, A(json) },
	{ "quiet", 'q', OPT_FLAG, A(quiet) },
	{ "format", 0, OPT_CHOICE, A(fmt), .choices = replay_formats },
	{ "batch", 0, OPT_INT, A(batch), 1, REPLAY_BATCH_MAX },
	{ "stats", 0, OPT_FLAG, A(stats) },
	{ "max-age", 0, OPT_STRING, A(max_age) },
	{ "inflight", 0, OPT_INT, A(inflight), 1, 1000000 },
	{ "connections", 0, OPT_INT, A(connections), 1,
	    REPLAY_CONNECTIONS_MAX },
	OPT_CONFIG(struct replay_args),
	OPT_DB(struct replay_args),
};
#undef A

static const struct opts_spec replay_spec = { .cmd = "replay",
	.usage = replay_usage,
	.opts = replay_opts,
	.nopts = ARRAY_SIZE(replay_opts),
	.min_args = 1,
	.max_args = -1 };

/* Counts by (outcome, reason) for the summary. */
struct replay_count {
	char *outcome, *reason; /* owned */
	long n;
};

struct replay_cli {
	struct replay_args a;
	const struct config *cfg;
	bool bar; /* progress bar on stderr */
	bool bar_drawn;
	int64_t t0_us; /* monotonic start of the run */
	struct replay_count *counts;
	size_t ncounts;
	long failed;
	char *esc; /* scratch for escaping */
	size_t esc_cap;
};

static double
replay_elapsed(const struct replay_cli *c)
{
	return (double)(clock_mono_us() - c->t0_us) / 1e6;
}

static void
replay_bad(const char *name, long line, const char *why, void *arg)
{
	struct replay_cli *c = arg;

	if (c->bar_drawn)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "%s:%ld: %s\n", name, line, why);
}

static void
replay_count(struct replay_cli *c, const char *outcome, const char *reason)
{
	for (size_t i = 0; i < c->ncounts; i++) {
		struct replay_count *k = &c->counts[i];

		if (strcmp(k->outcome, outcome) == 0 &&
		    ((k->reason == NULL && reason == NULL) ||
		        (k->reason && reason &&
		            strcmp(k->reason, reason) == 0))) {
			k->n++;
			return;
		}
	}
	c->counts = realloc(c->counts, (c->ncounts + 1) * sizeof(*c->counts));
	if (c->counts == NULL)
		abort();
	/* copies: the names die with the run, the summary comes after */
	c->counts[c->ncounts++] = (struct replay_count){ strdup(outcome),
		reason ? strdup(reason) : NULL, 1 };
}

/* Escaped for a text line (quotes, control bytes). */
static const char *
replay_esc(struct replay_cli *c, const char *s, size_t len)
{
	if (c->esc_cap < len * 4 + 8) {
		c->esc_cap = len * 4 + 8;
		free(c->esc);
		c->esc = xmalloc(c->esc_cap);
	}
	return log_escape(s, len, c->esc, c->esc_cap);
}

static void
replay_print_json(const struct replay_rec *rec, size_t n, const char *time,
    const char *outcome, const char *reason, const char *reply)
{
	json_t *o = json_object();
	char *line;

	json_object_set_new(o, "n", json_integer((json_int_t)n + 1));
	json_object_set_new(o, "time", json_string(time));
	json_object_set_new(o, "channel", json_string(rec->channel));
	json_object_set_new(o, "from", json_string(rec->from));
	json_object_set_new(o, "text", json_stringn(rec->text, rec->text_len));
	json_object_set_new(o, "outcome", json_string(outcome));
	json_object_set_new(
	    o, "reason", reason ? json_string(reason) : json_null());
	json_object_set_new(
	    o, "reply", reply ? json_string(reply) : json_null());
	if ((line = json_dumps(o, JSON_COMPACT)) != NULL)
		puts(line);
	free(line);
	json_decref(o);
}

static void
replay_print_text(struct replay_cli *c, const struct replay_rec *rec, size_t n,
    const char *time, const char *outcome, const char *reason,
    const char *reply)
{
	char channel[4 * 32 + 8], from[4 * 128 + 8];

	/* A log file is untrusted input: nothing in it may reach a
	   terminal unescaped. */
	log_escape(
	    rec->channel, strlen(rec->channel), channel, sizeof(channel));
	log_escape(rec->from, strlen(rec->from), from, sizeof(from));
	printf("%zu %s %s %s \"%s\" -> %s", n + 1, time, channel, from,
	    replay_esc(c, rec->text, rec->text_len), outcome);
	if (reason != NULL)
		printf(" (%s)", reason);
	if (reply != NULL)
		printf(": \"%s\"", replay_esc(c, reply, strlen(reply)));
	putchar('\n');
}

/* One message's result: count it, print it. */
static void
replay_result(const struct replay_rec *rec, size_t n,
    const struct replay_outcome *out, void *arg)
{
	struct replay_cli *c = arg;
	const char *outcome, *reason;
	char time[48];

	if (replay_outcome_shown(out, &outcome, &reason))
		c->failed++;
	replay_count(c, outcome, reason);
	if (c->a.quiet)
		return;
	if (c->bar_drawn) {
		fputs("\r\033[K", stderr);
		c->bar_drawn = false;
	}
	replay_time_format(
	    rec->time_us, &c->cfg->window.tz, time, sizeof(time));
	if (c->a.json)
		replay_print_json(rec, n, time, outcome, reason, out->reply);
	else
		replay_print_text(c, rec, n, time, outcome, reason, out->reply);
}

static void
replay_progress(size_t done, size_t total, void *arg)
{
	struct replay_cli *c = arg;
	double t = replay_elapsed(c), rate = t > 0 ? (double)done / t : 0;
	long eta = rate > 0 ? (long)((double)(total - done) / rate) : 0;
	char bar[31];
	size_t fill = total ? done * 30 / total : 30;

	if (!c->bar)
		return;
	memset(bar, '#', fill);
	memset(bar + fill, '-', 30 - fill);
	bar[30] = '\0';
	fflush(stdout);
	fprintf(stderr, "\r[%s] %zu/%zu %.0f msg/s ETA %ld:%02ld\033[K", bar,
	    done, total, rate, eta / 60, eta % 60);
	c->bar_drawn = true;
}

static int
replay_count_cmp(const void *x, const void *y)
{
	const struct replay_count *a = x, *b = y;
	int d = strcmp(a->outcome, b->outcome);

	if (d != 0)
		return d;
	return strcmp(a->reason ? a->reason : "", b->reason ? b->reason : "");
}

/* Where the store's time went (--stats). */
static void
replay_print_stats(FILE *f, const struct store_stats *s)
{
	double b = s->batches ? (double)s->batches : 1;

	fprintf(f,
	    "store: %llu batches (%.0f messages each), %llu retries, "
	    "%llu splits; per batch: locks and loads %.1f ms, decide %.1f ms, "
	    "writes and commit %.1f ms\n",
	    (unsigned long long)s->batches,
	    (double)(s->applied + s->duplicates) / b,
	    (unsigned long long)s->retries, (unsigned long long)s->splits,
	    (double)s->load_us / b / 1000, (double)s->decide_us / b / 1000,
	    (double)s->write_us / b / 1000);
}

/* The summary by outcome, each with its reasons. */
static void
replay_summary(
    struct replay_cli *c, FILE *f, size_t total, long bad, long refused)
{
	double t = replay_elapsed(c);

	qsort(c->counts, c->ncounts, sizeof(*c->counts), replay_count_cmp);
	fprintf(f, "summary: %zu message%s in %.1f s (%.0f msg/s)%s\n", total,
	    total == 1 ? "" : "s", t, t > 0 ? (double)total / t : 0,
	    c->a.dry_run ? "; dry run: nothing was changed" : "");
	for (size_t i = 0; i < c->ncounts;) {
		size_t j;
		long sum = 0;
		bool first = true;

		for (j = i; j < c->ncounts &&
		     strcmp(c->counts[j].outcome, c->counts[i].outcome) == 0;
		     j++)
			sum += c->counts[j].n;
		fprintf(f, "  %-12s %8ld", c->counts[i].outcome, sum);
		for (size_t k = i; k < j; k++) {
			if (c->counts[k].reason == NULL)
				continue;
			fprintf(f, "%s%s %ld", first ? "  (" : ", ",
			    c->counts[k].reason, c->counts[k].n);
			first = false;
		}
		fprintf(f, "%s\n", first ? "" : ")");
		i = j;
	}
	if (bad > 0)
		fprintf(f, "  malformed lines skipped: %ld\n", bad);
	if (refused > 0)
		fprintf(f, "  lines refused for their time: %ld\n", refused);
}

/* Read every file; a file that cannot be opened is a usage error. */
static int
replay_read_all(
    struct replay_cli *c, struct replay_set *set, int nfiles, char **files)
{
	char err[1024];

	for (int i = 0; i < nfiles; i++) {
		bool in = strcmp(files[i], "-") == 0;
		const char *name = in ? "<stdin>" : files[i];
		FILE *f = in ? stdin : fopen(files[i], "r");
		int rc;

		if (f == NULL) {
			fprintf(stderr, "meterline replay: cannot open ");
			perror(files[i]);
			return -1;
		}
		rc = replay_read(set, f, name, (enum replay_format)c->a.fmt,
		    replay_bad, c, err, sizeof(err));
		if (!in)
			fclose(f);
		if (rc != 0) {
			/* the file as a whole (its header) is malformed */
			fprintf(stderr, "%s\n", err);
			set->bad++;
		}
	}
	return 0;
}

/* Connect once, blocking, to report a connection error plainly. */
static int
replay_check_db(const char *conninfo)
{
	char err[1024];
	struct db_sync *db = db_sync_open(conninfo, err, sizeof(err));

	if (db == NULL) {
		fprintf(stderr, "meterline replay: %s\n", err);
		return -1;
	}
	db_sync_close(db);
	return 0;
}

static int
replay_go(struct replay_cli *c, struct replay_set *set, const char *conninfo)
{
	struct replay_opts o = {
		.conninfo = conninfo,
		.cfg = c->cfg,
		.dry_run = c->a.dry_run,
		.send_replies = c->a.send_replies,
		.connections = c->a.connections,
		.max_inflight = c->a.inflight > 0
		    ? c->a.inflight
		    : 2 * c->a.connections * c->a.batch,
		.progress = replay_progress,
		.progress_arg = c,
		.progress_ms = c->bar ? 200 : 0,
	};
	struct store_stats stats;
	char err[1024];

	if (c->a.stats)
		o.stats = &stats;
	replay_bound(set, &c->cfg->intake, clock_real_us(), replay_bad, c);
	replay_sort(set);
	c->t0_us = clock_mono_us();
	if (replay_run(set, &o, replay_result, c, err, sizeof(err)) != 0) {
		if (c->bar_drawn)
			fputs("\r\033[K", stderr);
		fprintf(stderr, "meterline replay: %s\n", err);
		return EXIT_USAGE;
	}
	if (c->bar_drawn)
		fputs("\r\033[K", stderr);
	fflush(stdout);
	replay_summary(c, c->a.json || c->a.quiet ? stderr : stdout, set->n,
	    set->bad, set->refused);
	if (c->failed > 0 && c->a.dry_run)
		fprintf(stderr,
		    "meterline replay: a batch of the dry run failed: "
		    "the messages after it were decided without the ones before "
		    "it (see the log lines above)\n");
	if (c->a.stats)
		replay_print_stats(
		    c->a.json || c->a.quiet ? stderr : stdout, &stats);
	if (c->failed > 0)
		return EXIT_USAGE;
	return set->bad + set->refused > 0 ? 1 : 0;
}

/*
 * Never twice under [retention] (docs/retention.md): a line older than the
 * ids kept might have been applied with its id since pruned, so the age
 * bound never goes beyond that horizon, whatever --max-age says.
 */
static void
replay_retention_bound(struct config *cfg)
{
	int64_t h = config_id_horizon(cfg);

	if (h > 0 && (cfg->intake.max_age == 0 || cfg->intake.max_age > h)) {
		fprintf(stderr,
		    "meterline replay: [retention] keeps message ids for a limited time: lines older than %lld s are not replayed\n",
		    (long long)h);
		cfg->intake.max_age = h;
	}
}

int
cmd_replay(int argc, char **argv)
{
	struct replay_cli c = { .a = { .batch = REPLAY_BATCH_DEFAULT,
		                    .connections =
		                        REPLAY_CONNECTIONS_DEFAULT } };
	struct replay_set set = { 0 };
	struct config *cfg;
	const char *source, *conninfo;
	char err[4096];
	int rc, first;

	if ((rc = opts_parse(&replay_spec, argc, argv, &c.a, &first)) >= 0)
		return rc;
	cfg = xmalloc(sizeof(*cfg));
	if (conf_resolve(cfg, c.a.config, c.a.db, &source, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "meterline replay: %s\n", err);
		free(cfg);
		return EXIT_USAGE;
	}
	conninfo = cfg->database.conninfo;
	log_set_level(LOG_WARN);
	if (source == NULL)
		fprintf(stderr,
		    "meterline replay: no config file: using the built-in defaults (window, time zone, replies)\n");
	cfg->store.batch_max = c.a.batch;
	if (c.a.max_age != NULL &&
	    config_parse_duration(c.a.max_age, &cfg->intake.max_age) != 0) {
		fprintf(stderr,
		    "meterline replay: --max-age takes a duration: 90s, 30m, 2h, 7d or 0\n");
		free(cfg);
		return EXIT_USAGE;
	}
	replay_retention_bound(cfg);
	/* the store's connections, through a transaction pooler as serve's */
	db_pooler_set(cfg->database.pooler == CONFIG_POOLER_TRANSACTION
	        ? DB_POOLER_TRANSACTION
	        : DB_POOLER_NONE);
	c.cfg = cfg;
	c.bar = isatty(2);
	rc = EXIT_USAGE;
	if (replay_check_db(conninfo) == 0 &&
	    replay_read_all(&c, &set, argc - first, argv + first) == 0)
		rc = replay_go(&c, &set, conninfo);
	replay_set_free(&set);
	for (size_t i = 0; i < c.ncounts; i++) {
		free(c.counts[i].outcome);
		free(c.counts[i].reason);
	}
	free(c.counts);
	free(c.esc);
	free(cfg);
	return rc;
}
