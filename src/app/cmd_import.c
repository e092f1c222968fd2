/*
 * meterline import contracts FILE.csv|-: load contracts and registers from
 * billing (upsert), report bad lines as FILE:LINE: why, print a summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/db.h"
#include "meterline/import.h"

/* Exit status when the file was loaded but some lines were bad. */
#define EXIT_PARTIAL 3

static const char import_usage[] =
    "usage: meterline import contracts [--config FILE] [--db CONNINFO] FILE.csv|-\n"
    "\n"
    "Load contracts and their registers from billing's CSV (- reads standard\n"
    "input). Header, then one line per register:\n"
    "\n"
    "  contract,resource,position,register,digits,last_value,last_date[,status]\n"
    "  102057522,electricity,1,день,6,11638,2024-05-20,active\n"
    "\n"
    "resource: electricity|hot_water|cold_water; position 1..6 in dialog order;\n"
    "digits 4..9; last_value and last_date may be empty; status active (default)\n"
    "or closed. Contracts in the file are inserted or updated, with exactly the\n"
    "registers listed; contracts not in the file are left alone. A register's\n"
    "last value is kept when ours is newer than billing's. All in one\n"
    "transaction.\n"
    "\n"
    "A bad line is reported on stderr as FILE:LINE: why and skipped with every\n"
    "other line of its contract; the rest is loaded.\n"
    "\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 all loaded, 1 nothing loaded (error), 2 usage,\n"
    "3 loaded except the bad lines reported.\n";

static void
import_report_bad(const char *name, long line, const char *why, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s:%ld: %s\n", name, line, why);
}

static void
import_print(const char *name, const struct import_report *r)
{
	printf(
	    "%s: %ld lines: %ld contracts loaded (%ld new, %ld changed), "
	    "%ld registers (%ld new or changed, %ld removed); %ld bad lines, "
	    "%ld contracts skipped; %.2f s\n",
	    name, r->lines, r->contracts, r->contracts_new,
	    r->contracts_changed, r->registers, r->registers_changed,
	    r->registers_removed, r->bad_lines, r->contracts_skipped,
	    r->seconds);
}

/* Open the file or stdin and run the import. */
static int
import_file(const char *conninfo, const char *path)
{
	struct import_report rep;
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char err[1024];
	int rc;

	if (in == NULL) {
		perror(path);
		return 1;
	}
	rc = import_contracts(conninfo, in, name, import_report_bad, NULL, &rep,
	    err, sizeof(err));
	if (in != stdin)
		fclose(in);
	if (rc < 0) {
		fprintf(stderr, "meterline import: %s\n", err);
		return 1;
	}
	import_print(name, &rep);
	return rep.bad_lines ? EXIT_PARTIAL : 0;
}

int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *db = NULL;
	char conninfo[1024], err[1024];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd': db = optarg; break;
		case 'h': fputs(import_usage, stdout); return 0;
		default: fputs(import_usage, stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "contracts") != 0) {
		fputs(import_usage, stderr);
		return EXIT_USAGE;
	}
	if (db_conninfo_resolve(
	        config, db, conninfo, sizeof(conninfo), err, sizeof(err)) < 0) {
		fprintf(stderr, "meterline import: %s\n", err);
		return 1;
	}
	return import_file(conninfo, argv[optind + 1]);
}
