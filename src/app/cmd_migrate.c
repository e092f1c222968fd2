/*
 * meterline migrate: bring the database schema to this binary's version.
 * Idempotent; refuses a database newer than the binary.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/migrate.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char migrate_usage[] =
    "usage: meterline migrate [--config FILE] [--db CONNINFO]\n"
    "\n"
    "Apply the schema migrations this binary embeds (schema/NNNN_*.sql) that\n"
    "the database lacks, each in its own transaction, and create the monthly\n"
    "partitions of the coming months. Running it again changes nothing.\n"
    "A database whose schema is newer than this binary is refused.\n"
    "\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n";

static void
migrate_print(const struct migrate_report *rep)
{
	if (rep->applied == 0)
		printf("schema up to date at version %d", rep->to);
	else
		printf("schema migrated from version %d to %d (%d migration%s)",
		    rep->from, rep->to, rep->applied,
		    rep->applied == 1 ? "" : "s");
	printf(", %d partition%s created\n", rep->partitions,
	    rep->partitions == 1 ? "" : "s");
}

struct migrate_args {
	const char *config, *db;
};

static const struct opt migrate_opts[] = {
	OPT_CONFIG(struct migrate_args),
	OPT_DB(struct migrate_args),
};

static const struct opts_spec migrate_spec = { .cmd = "migrate",
	.usage = migrate_usage,
	.opts = migrate_opts,
	.nopts = ARRAY_SIZE(migrate_opts),
	.max_args = 0 };

int
cmd_migrate(int argc, char **argv)
{
	struct migrate_args a = { 0 };
	struct migrate_report rep;
	struct config *cfg;
	char err[4096];
	int rc, first;

	if ((rc = opts_parse(&migrate_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	cfg = xmalloc(sizeof(*cfg));
	rc = conf_resolve(cfg, a.config, a.db, NULL, err, sizeof(err)) != 0 ||
	    migrate_run(cfg->database.conninfo, &rep, err, sizeof(err)) < 0;
	free(cfg);
	if (rc != 0) {
		fprintf(stderr, "meterline migrate: %s\n", err);
		return 1;
	}
	migrate_print(&rep);
	return 0;
}
