/*
 * meterline migrate: bring the database schema to this binary's version.
 * Idempotent; refuses a database newer than the binary.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/db.h"
#include "meterline/migrate.h"

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

int
cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *db = NULL;
	struct migrate_report rep;
	char conninfo[1024], err[1024];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd': db = optarg; break;
		case 'h': fputs(migrate_usage, stdout); return 0;
		default: fputs(migrate_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(migrate_usage, stderr);
		return EXIT_USAGE;
	}
	if (db_conninfo_resolve(
	        config, db, conninfo, sizeof(conninfo), err, sizeof(err)) < 0 ||
	    migrate_run(conninfo, &rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "meterline migrate: %s\n", err);
		return 1;
	}
	migrate_print(&rep);
	return 0;
}
