/*
 * meterline import contracts FILE.csv|-: load contracts and registers from
 * billing (upsert), report bad lines as FILE:LINE: why, print a summary.
 * meterline import phones FILE.csv|-: the phones bound to contracts.
 * meterline import houses FILE.csv|-: houses, apartments, meter serials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/import.h"
#include "meterline/xmalloc.h"
#include "opts.h"

/* Exit status when the file was loaded but some lines were bad. */
#define EXIT_PARTIAL 3

static const char import_usage[] =
    "usage: meterline import contracts [--config FILE] [--db CONNINFO] FILE.csv|-\n"
    "       meterline import phones [--config FILE] [--db CONNINFO] FILE.csv|-\n"
    "       meterline import houses [--config FILE] [--db CONNINFO] FILE.csv|-\n"
    "\n"
    "Load contracts and their registers from billing's CSV (- reads standard\n"
    "input). Header, then one line per register:\n"
    "\n"
    "  contract,resource,position,register,digits,last_value,last_date[,status][,serial]\n"
    "  102057522,electricity,1,день,6,11638,2024-05-20,active,CE6803 01234567\n"
    "\n"
    "resource: electricity|hot_water|cold_water; position 1..6 in dialog order;\n"
    "digits 4..9; last_value and last_date may be empty; status active (default)\n"
    "or closed; serial: the meter's serial number (at most 32 bytes), whose\n"
    "last 4 digits [verify] mode = challenge asks for (an empty cell clears it,\n"
    "a file without the column keeps the stored ones). Contracts in the file are inserted or updated, with exactly the\n"
    "registers listed; contracts not in the file are left alone. A register's\n"
    "last value is kept when ours is newer than billing's. All in one\n"
    "transaction.\n"
    "\n"
    "A bad line is reported on stderr as FILE:LINE: why and skipped with every\n"
    "other line of its contract; the rest is loaded.\n"
    "\n"
    "phones: header contract,phone, one binding a line (102057522,+79123456789).\n"
    "Spaces, - ( ) and a leading + are allowed in the phone; 8XXXXXXXXXX is\n"
    "taken as 7XXXXXXXXXX. Lines of contracts not imported are bad lines. The\n"
    "bindings are added; bindings not in the file stay.\n"
    "\n"
    "houses: header contract,city,street,number,apartment,serials, one contract\n"
    "a line (102057522,Новосибирск,Авиастроителей ул.,5,12,123456789); serials\n"
    "are the registers' serial numbers in position order, separated by spaces\n"
    "or ';'. Houses are created as needed; their ids (SELECT id, city, street,\n"
    "number FROM houses) go to `meterline user add NAME --role manager\n"
    "--houses ID,...`.\n"
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

static void
import_phones_print(const char *name, const struct import_phones_report *r)
{
	printf("%s: %ld lines: %ld bindings loaded (%ld new); %ld bad lines;"
	       " %.2f s\n",
	    name, r->lines, r->bindings, r->bindings_new, r->bad_lines,
	    r->seconds);
}

/* The same for phones. */
static int
import_phones_file(const char *conninfo, const char *path)
{
	struct import_phones_report rep;
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char err[1024];
	int rc;

	if (in == NULL) {
		perror(path);
		return 1;
	}
	rc = import_phones(conninfo, in, name, import_report_bad, NULL, &rep,
	    err, sizeof(err));
	if (in != stdin)
		fclose(in);
	if (rc < 0) {
		fprintf(stderr, "meterline import: %s\n", err);
		return 1;
	}
	import_phones_print(name, &rep);
	return rep.bad_lines ? EXIT_PARTIAL : 0;
}

static void
import_houses_print(const char *name, const struct import_houses_report *r)
{
	printf("%s: %ld lines: %ld houses (%ld new), %ld contracts placed, "
	       "%ld serials; %ld bad lines; %.2f s\n",
	    name, r->lines, r->houses, r->houses_new, r->contracts, r->serials,
	    r->bad_lines, r->seconds);
}

/* The same for houses. */
static int
import_houses_file(const char *conninfo, const char *path)
{
	struct import_houses_report rep;
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char err[1024];
	int rc;

	if (in == NULL) {
		perror(path);
		return 1;
	}
	rc = import_houses(conninfo, in, name, import_report_bad, NULL, &rep,
	    err, sizeof(err));
	if (in != stdin)
		fclose(in);
	if (rc < 0) {
		fprintf(stderr, "meterline import: %s\n", err);
		return 1;
	}
	import_houses_print(name, &rep);
	return rep.bad_lines ? EXIT_PARTIAL : 0;
}

struct import_args {
	const char *config, *db;
};

static const struct opt import_opts[] = {
	OPT_CONFIG(struct import_args),
	OPT_DB(struct import_args),
};

/* import contracts FILE, import phones FILE */
static const struct opts_spec import_spec = { .cmd = "import",
	.usage = import_usage,
	.opts = import_opts,
	.nopts = ARRAY_SIZE(import_opts),
	.min_args = 2,
	.max_args = 2 };

int
cmd_import(int argc, char **argv)
{
	struct import_args a = { 0 };
	struct config *cfg;
	char err[4096];
	int rc, first;

	if ((rc = opts_parse(&import_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	if (strcmp(argv[first], "contracts") != 0 &&
	    strcmp(argv[first], "phones") != 0 &&
	    strcmp(argv[first], "houses") != 0) {
		fputs(import_usage, stderr);
		return EXIT_USAGE;
	}
	cfg = xmalloc(sizeof(*cfg));
	if (conf_resolve(cfg, a.config, a.db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline import: %s\n", err);
		free(cfg);
		return 1;
	}
	if (strcmp(argv[first], "phones") == 0)
		rc =
		    import_phones_file(cfg->database.conninfo, argv[first + 1]);
	else if (strcmp(argv[first], "houses") == 0)
		rc =
		    import_houses_file(cfg->database.conninfo, argv[first + 1]);
	else
		rc = import_file(cfg->database.conninfo, argv[first + 1]);
	free(cfg);
	return rc;
}
