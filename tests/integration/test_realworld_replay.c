/*
 * The real-world table through `meterline replay` against PostgreSQL:
 * every row of tests/data/realworld.tsv (when present; the dialog
 * engineer's table of what customers send) and of realworld-mini.tsv
 * becomes a line of a JSON Lines file at its own time, the file is played
 * by the real binary, dry run first and then for real, and each message's
 * outcome, reason and exact reply must be the row's. Every mismatch is
 * reported with its table line before the test fails, so one run shows
 * them all. Then the database must hold one message per row, one
 * submission per accepted row, at most one submission in force per
 * contract and month (corrections supersede), and last values that are
 * those of the submissions in force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "itest.h"
#include "meterline/import.h"
#include "meterline/migrate.h"
#include "meterline/replay.h"

#define RW_BASE_US (1795154400LL * 1000000) /* 2026-11-20 06:00:00 UTC */
#define RW_LINE_MAX 8192

/* One row of a table. */
struct rw_row {
	long line;
	long t; /* seconds after RW_BASE */
	char sender[32];
	char *text, *reply; /* unescaped, owned */
	char outcome[24], reason[48]; /* reason "" for "-" */
};

struct rw_table {
	const char *name;
	struct rw_row *rows;
	size_t n;
};

/* \n, \t and \\ of the table's text and reply columns, in place. */
static char *
rw_unescape(const char *s)
{
	char *out = strdup(s), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\\' &&
		    (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* Split at TABs into exactly n fields; -1 otherwise. */
static int
rw_fields(char *line, char **f, int n)
{
	int k = 0;

	f[k++] = line;
	for (char *p = line; *p != '\0'; p++) {
		if (*p != '\t')
			continue;
		if (k == n)
			return -1;
		*p = '\0';
		f[k++] = p + 1;
	}
	return k == n ? 0 : -1;
}

static void
rw_read(struct rw_table *tab, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[RW_LINE_MAX], *fl[6];
	long no = 0;

	if (f == NULL)
		itest_fail("cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		struct rw_row *r;

		no++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (rw_fields(line, fl, 6) != 0)
			itest_fail("%s:%ld: not 6 fields", path, no);
		tab->rows = realloc(tab->rows, (tab->n + 1) * sizeof(*r));
		r = &tab->rows[tab->n++];
		memset(r, 0, sizeof(*r));
		r->line = no;
		r->t = atol(fl[1]);
		snprintf(r->sender, sizeof(r->sender), "%s", fl[0]);
		r->text = rw_unescape(fl[2]);
		snprintf(r->outcome, sizeof(r->outcome), "%s", fl[3]);
		snprintf(r->reason, sizeof(r->reason), "%s",
		    strcmp(fl[4], "-") == 0 ? "" : fl[4]);
		r->reply = rw_unescape(fl[5]);
	}
	fclose(f);
}

static const struct rw_table *rw_sorting;

/* Replay's order: by time, the file's order among equal times. */
static int
rw_cmp(const void *a, const void *b)
{
	const struct rw_row *x = &rw_sorting->rows[*(const size_t *)a];
	const struct rw_row *y = &rw_sorting->rows[*(const size_t *)b];

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The table as a replay file; the rows' indexes in replay's order. */
static size_t *
rw_write_jsonl(const struct rw_table *tab, const char *path)
{
	FILE *f = fopen(path, "w");
	size_t *order = calloc(tab->n ? tab->n : 1, sizeof(*order));

	if (f == NULL)
		itest_fail("cannot write %s", path);
	for (size_t i = 0; i < tab->n; i++) {
		const struct rw_row *r = &tab->rows[i];
		char t[48], *s;
		json_t *o;

		replay_time_format(
		    RW_BASE_US + r->t * 1000000LL, NULL, t, sizeof(t));
		o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "time", t, "channel",
		    "sms", "from", r->sender, "to", "7377", "text", r->text);
		s = json_dumps(o, JSON_COMPACT);
		fprintf(f, "%s\n", s);
		free(s);
		json_decref(o);
		order[i] = i;
	}
	fclose(f);
	rw_sorting = tab;
	qsort(order, tab->n, sizeof(*order), rw_cmp);
	return order;
}

static const char *
rw_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Play the file; compare every result line with its row. */
static long
rw_play(const struct rw_table *tab, const size_t *order, const char *conninfo,
    const char *file, const char *conf, bool dry)
{
	const char *bin = getenv("MLINE_BIN");
	char cmd[2048], line[RW_LINE_MAX];
	size_t k = 0;
	long bad = 0;
	FILE *p;

	if (bin == NULL)
		itest_fail("MLINE_BIN is not set");
	snprintf(cmd, sizeof(cmd),
	    "'%s' replay --config '%s' --db '%s' --json --max-age 0 %s '%s'"
	    " 2>/dev/null",
	    bin, conf, conninfo, dry ? "--dry-run" : "", file);
	if ((p = popen(cmd, "r")) == NULL)
		itest_fail("cannot run %s", cmd);
	while (fgets(line, sizeof(line), p) != NULL && k < tab->n) {
		const struct rw_row *r = &tab->rows[order[k++]];
		json_t *o = json_loads(line, 0, NULL);

		if (o == NULL)
			itest_fail("replay wrote '%s'", line);
		if (strcmp(rw_str(o, "outcome"), r->outcome) != 0 ||
		    strcmp(rw_str(o, "reason"), r->reason) != 0 ||
		    strcmp(rw_str(o, "reply"), r->reply) != 0) {
			fprintf(stderr,
			    "%s:%ld: %s \"%s\"%s:\n  got  %s (%s) \"%s\"\n"
			    "  want %s (%s) \"%s\"\n",
			    tab->name, r->line, r->sender, r->text,
			    dry ? " (dry run)" : "", rw_str(o, "outcome"),
			    rw_str(o, "reason"), rw_str(o, "reply"), r->outcome,
			    r->reason, r->reply);
			bad++;
		}
		json_decref(o);
	}
	if (pclose(p) != 0)
		fprintf(stderr, "%s: replay exited non-zero\n", tab->name);
	if (k != tab->n)
		itest_fail("%s: replay gave %zu results for %zu rows",
		    tab->name, k, tab->n);
	return bad;
}

static void
rw_run(const char *table, const char *contracts, const char *dbname)
{
	struct rw_table tab = { .name = table };
	char path[512], file[512], conf[512], err[1024];
	const char *conninfo = itest_db_create(dbname);
	struct migrate_report mrep;
	struct import_report irep;
	size_t *order, accepted = 0;
	long bad;
	PGconn *db;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", MLINE_TEST_DATA, table);
	rw_read(&tab, path);
	if (migrate_run(conninfo, &mrep, err, sizeof(err)) != 0)
		itest_fail("migrate: %s", err);
	snprintf(path, sizeof(path), "%s/%s", MLINE_TEST_DATA, contracts);
	if ((f = fopen(path, "r")) == NULL ||
	    import_contracts(conninfo, f, contracts, NULL, NULL, &irep, err,
	        sizeof(err)) != 0 ||
	    irep.bad_lines != 0)
		itest_fail("import %s: %s", contracts, err);
	fclose(f);
	snprintf(file, sizeof(file), "/tmp/%s-%d.jsonl", dbname, (int)getpid());
	snprintf(conf, sizeof(conf), "/tmp/%s-%d.conf", dbname, (int)getpid());
	if ((f = fopen(conf, "w")) == NULL)
		itest_fail("cannot write %s", conf);
	fputs("[database]\nconninfo = unused\n", f);
	fclose(f);
	order = rw_write_jsonl(&tab, file);
	bad = rw_play(&tab, order, conninfo, file, conf, true);
	bad += rw_play(&tab, order, conninfo, file, conf, false);
	remove(file);
	remove(conf);
	if (bad > 0)
		itest_fail(
		    "%s: %ld result(s) differ from the table", table, bad);
	db = itest_connect(conninfo);
	for (size_t i = 0; i < tab.n; i++)
		accepted += strcmp(tab.rows[i].outcome, "accepted") == 0;
	ITEST_EQ_LONG(
	    itest_long(db, "SELECT count(*) FROM messages"), (long)tab.n);
	ITEST_EQ_LONG(
	    itest_long(db, "SELECT count(*) FROM submissions"), (long)accepted);
	printf("%s: %zu rows, dry run and replay as the table says; "
	       "%zu submissions, %ld superseded\n",
	    table, tab.n, accepted,
	    itest_long(db,
	        "SELECT count(*) FROM submissions WHERE status = 'superseded'"));
	PQfinish(db);
	for (size_t i = 0; i < tab.n; i++) {
		free(tab.rows[i].text);
		free(tab.rows[i].reply);
	}
	free(tab.rows);
	free(order);
}

int
main(void)
{
	FILE *big = fopen(MLINE_TEST_DATA "/realworld.tsv", "r");

	rw_run("realworld-mini.tsv", "contracts-sample.csv", "itest_rw_mini");
	if (big != NULL) {
		fclose(big);
		rw_run("realworld.tsv", "realworld-contracts.csv", "itest_rw");
	} else {
		printf("tests/data/realworld.tsv is not in this tree: "
		       "only the small table ran\n");
	}
	return 0;
}
